//! Users' security codes (identity verification for password resets) and the trail of every
//! enrolment, revocation and attempt.
//!
//! A code is stored only as an Argon2id PHC hash with its own salt, and compared only by the
//! Argon2 verifier; nothing this API returns carries the code or its hash. The attempt rules
//! are [`CodeState::decide`]'s, so every backend applies them identically.
//!
//! **Auditing:** `verify_code` appends a [`CodeLogEntry`] (user, time, outcome, who presented
//! the code; never the code) in the same transaction as the state change, for every attempt
//! including the refused ones. The adapter reads the trail with [`CodeStore::code_log`]; the
//! job that runs the reset still writes its own audit entry for the reset itself.
//!
//! Users are keyed by [`normalise_user`]: `LAB\Alice`, `alice` and `ALICE` are one user.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
pub use crate::accounts::verify::{
    CodeKind, CodeState, Verification, VerificationPolicy, normalise_user,
};
use crate::secret::Secret;

/// What is known about a user's enrolled code, without the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolledCode {
    /// The normalised user key.
    pub user: String,
    pub kind: CodeKind,
    pub enrolled_at: DateTime<Utc>,
    /// Who enrolled it: the user through self-service, or the operator who did it for them.
    pub enrolled_by: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// Wrong attempts counted in the current window.
    pub failed_attempts: u32,
    pub locked_until: Option<DateTime<Utc>>,
    /// When a one-time code was consumed.
    pub used_at: Option<DateTime<Utc>>,
}

/// What happened to a user's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeEvent {
    Enrolled,
    Revoked,
    Verified,
    Wrong,
    /// A wrong code that used up the last attempt and locked the code.
    WrongLocked,
    LockedOut,
    NotEnrolled,
    Expired,
    AlreadyUsed,
}

impl CodeEvent {
    const ALL: [CodeEvent; 9] = [
        CodeEvent::Enrolled,
        CodeEvent::Revoked,
        CodeEvent::Verified,
        CodeEvent::Wrong,
        CodeEvent::WrongLocked,
        CodeEvent::LockedOut,
        CodeEvent::NotEnrolled,
        CodeEvent::Expired,
        CodeEvent::AlreadyUsed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CodeEvent::Enrolled => "enrolled",
            CodeEvent::Revoked => "revoked",
            CodeEvent::Verified => "verified",
            CodeEvent::Wrong => "wrong",
            CodeEvent::WrongLocked => "wrong_locked",
            CodeEvent::LockedOut => "locked_out",
            CodeEvent::NotEnrolled => "not_enrolled",
            CodeEvent::Expired => "expired",
            CodeEvent::AlreadyUsed => "already_used",
        }
    }

    pub fn parse(s: &str) -> Option<CodeEvent> {
        CodeEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The trail's word for an attempt's outcome.
    pub fn of(outcome: &Verification) -> CodeEvent {
        match outcome {
            Verification::Verified => CodeEvent::Verified,
            Verification::Wrong {
                locked_until: Some(_),
                ..
            } => CodeEvent::WrongLocked,
            Verification::Wrong { .. } => CodeEvent::Wrong,
            Verification::LockedOut { .. } => CodeEvent::LockedOut,
            Verification::NotEnrolled => CodeEvent::NotEnrolled,
            Verification::Expired => CodeEvent::Expired,
            Verification::AlreadyUsed => CodeEvent::AlreadyUsed,
        }
    }
}

/// One line of a user's code trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeLogEntry {
    pub id: i64,
    pub user: String,
    pub at: DateTime<Utc>,
    pub event: CodeEvent,
    /// Who acted: the operator, API client or ticket that presented or enrolled the code.
    pub actor: String,
}

#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Enrols `code` for `user`, replacing any code they had (and its attempt count and
    /// lockout: enrolling is done by the user or for them after another check). The code
    /// must pass [`crate::accounts::verify::check_new_code`]; `valid_for` counts from the
    /// store's clock. Logged as `enrolled`.
    async fn enroll_code(
        &self,
        user: &str,
        code: &Secret,
        kind: CodeKind,
        valid_for: Option<Duration>,
        by: &str,
    ) -> Result<EnrolledCode, StoreError>;

    /// Presents `code` for `user` under `policy` and records the attempt. Refusals that need
    /// no comparison (locked, used, expired) do not count as wrong attempts. Concurrent
    /// attempts are serialised: a one-time code verifies at most once, and every wrong
    /// attempt is counted.
    async fn verify_code(
        &self,
        user: &str,
        code: &Secret,
        policy: &VerificationPolicy,
        by: &str,
    ) -> Result<Verification, StoreError>;

    /// The user's enrolled code, if any.
    async fn code_status(&self, user: &str) -> Result<Option<EnrolledCode>, StoreError>;

    /// Removes the user's code; `false` when there was none. Logged as `revoked`.
    async fn revoke_code(&self, user: &str, by: &str) -> Result<bool, StoreError>;

    /// The user's trail, newest first; `limit` 0 means 100, at most 1000.
    async fn code_log(&self, user: &str, limit: u32) -> Result<Vec<CodeLogEntry>, StoreError>;
}

/// The key a user's code is stored under, or why `user` names nobody.
pub(crate) fn user_key(user: &str) -> Result<String, StoreError> {
    normalise_user(user).map_err(StoreError::Invalid)
}

/// Who acts on a code, as the trail records it: never empty.
pub(crate) fn actor(by: &str) -> Result<&str, StoreError> {
    let by = by.trim();
    if by.is_empty() {
        return Err(StoreError::Invalid(
            "say who is acting on the security code (operator, client or ticket)".to_owned(),
        ));
    }
    Ok(by)
}
