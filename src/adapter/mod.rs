//! The adapter (`deskbridge serve`), being built: its durable store and the HTTP API
//! foundation (tokens, roles, audit, sites); inventory, jobs, tickets and events come next.

pub mod api;
pub mod engine;
pub mod inventory;
pub mod metrics;
pub mod store;
pub mod tickets;
