//! Account self-service rules: the password policy a new password must meet, temporary
//! passwords generated to that policy, and identity verification by security codes.
//!
//! The password-reset workflow runs: ticket or operator request → identity verification →
//! policy check → reset → ticket resolved. This module holds the parts of it that are rules
//! rather than I/O:
//!
//! - [`policy`]: [`PasswordPolicy`] checks a candidate password against length, character
//!   classes, the user's names and a deny list. It is pure and fast (no I/O once the deny list
//!   is loaded), so the console runs it on every keystroke; its messages are for people and
//!   never repeat the password.
//! - [`generate`]: [`generate()`] makes a random temporary password that passes the policy it
//!   is given. It is shown once and never stored.
//! - [`verify`]: security codes a user enrolled earlier ([`CodeKind::Standing`] or
//!   [`CodeKind::OneTime`]), the attempt limits around them ([`VerificationPolicy`]) and the
//!   outcome of presenting one ([`Verification`]). The codes themselves live in the adapter's
//!   store ([`crate::adapter::store::CodeStore`]), as Argon2id hashes only.
//!
//! Nothing here depends on the adapter, so the console can use the policy directly.

pub mod deny_list;
pub mod generate;
pub mod policy;
pub mod verify;

pub use deny_list::DenyList;
pub use generate::generate;
pub use policy::{
    AccountNames, CharClass, PasswordPolicy, PolicyError, RuleCheck, Strength, Summary, Violation,
    ViolationCode,
};
pub use verify::{
    CodeKind, CodeState, Verification, VerificationPolicy, check_new_code, normalise_code,
    normalise_user,
};
