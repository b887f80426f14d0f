//! Encoded queries (`active=true^stateIN1,2^ORDERBYnumber`): parsing and evaluation.

mod eval;
mod parse;

pub use eval::{compare_values, matches};
pub use parse::{Cond, Op, Query, parse};
