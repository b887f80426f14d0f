//! Identity verification by security codes: the rules, with no I/O.
//!
//! A user enrols a code in advance (a reusable [`CodeKind::Standing`] code, like a PIN, or a
//! [`CodeKind::OneTime`] code consumed by its first successful use, either optionally
//! expiring). A password-reset request later carries the code the requester gives; the
//! adapter presents it and gets a [`Verification`]. The other way to verify is an operator's
//! attestation, which needs no code and is audited by the job that carries it.
//!
//! Storage is the adapter store's job ([`crate::adapter::store::CodeStore`]): codes are kept
//! only as Argon2id PHC hashes with a salt per code, and compared only by the Argon2 verifier
//! (constant time). The store runs [`CodeState::decide`] on every attempt, so every backend
//! applies the same limits: after `max_attempts` wrong codes within `window`, the code is
//! locked for `lockout`, during which even the right code is refused; a success resets the
//! count. **Auditing:** the store writes one row per attempt (user, time, outcome, who
//! presented it; never the code) in the same transaction as the state change, so no
//! attempt goes unrecorded whatever the caller does afterwards.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::directory::account_name;

/// The shortest code that can be enrolled. With the default limits (5 tries per 15 minutes)
/// guessing a 6-digit code takes years.
pub const MIN_CODE_CHARS: usize = 6;
/// The longest code accepted (Argon2 does not care, but a megabyte "code" is a mistake).
pub const MAX_CODE_CHARS: usize = 128;

/// How a code may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// Reusable until replaced or expired, like a PIN.
    Standing,
    /// Consumed by its first successful verification.
    OneTime,
}

impl CodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Standing => "standing",
            CodeKind::OneTime => "one_time",
        }
    }

    pub fn parse(s: &str) -> Option<CodeKind> {
        match s {
            "standing" => Some(CodeKind::Standing),
            "one_time" => Some(CodeKind::OneTime),
            _ => None,
        }
    }
}

/// Attempt limits, as written in the `[verification]` table of adapter.toml. Durations are
/// written like the rest of the config: `"15m"`, `"30s"`, `"1h"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerificationPolicy {
    /// Wrong codes allowed within `window` before the code locks.
    pub max_attempts: u32,
    /// The window over which wrong codes are counted, from the first of them.
    #[serde(deserialize_with = "duration_text", serialize_with = "duration_out")]
    pub window: Duration,
    /// How long a locked code stays locked.
    #[serde(deserialize_with = "duration_text", serialize_with = "duration_out")]
    pub lockout: Duration,
}

impl Default for VerificationPolicy {
    fn default() -> VerificationPolicy {
        VerificationPolicy {
            max_attempts: 5,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// The outcome of presenting a code. `as_str` is the stable word recorded in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verification {
    /// The code matched; the requester is who they claim to be.
    Verified,
    /// The code did not match. `locked_until` is set when this attempt used up the last try.
    Wrong {
        attempts_left: u32,
        locked_until: Option<DateTime<Utc>>,
    },
    /// Too many wrong codes: every code, right or wrong, is refused until `until`.
    LockedOut { until: DateTime<Utc> },
    /// The user has no code enrolled.
    NotEnrolled,
    /// The enrolled code is past its expiry.
    Expired,
    /// The one-time code was already used.
    AlreadyUsed,
}

impl Verification {
    pub fn is_verified(&self) -> bool {
        matches!(self, Verification::Verified)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Verification::Verified => "verified",
            Verification::Wrong {
                locked_until: Some(_),
                ..
            } => "wrong_locked",
            Verification::Wrong { .. } => "wrong",
            Verification::LockedOut { .. } => "locked_out",
            Verification::NotEnrolled => "not_enrolled",
            Verification::Expired => "expired",
            Verification::AlreadyUsed => "already_used",
        }
    }

    /// What the operator is told. Never contains the code.
    pub fn message(&self) -> String {
        let at = |t: &DateTime<Utc>| t.format("%H:%M UTC").to_string();
        match self {
            Verification::Verified => "identity verified by security code".to_owned(),
            Verification::Wrong {
                locked_until: Some(until),
                ..
            } => format!(
                "wrong security code; too many wrong codes, so codes are refused until {}",
                at(until)
            ),
            Verification::Wrong {
                attempts_left: 1, ..
            } => "wrong security code; 1 attempt left before the code locks".to_owned(),
            Verification::Wrong { attempts_left, .. } => {
                format!("wrong security code; {attempts_left} attempts left before the code locks")
            }
            Verification::LockedOut { until } => format!(
                "security code locked after too many wrong attempts; try again after {}, or \
                 verify the caller another way",
                at(until)
            ),
            Verification::NotEnrolled => {
                "the user has not enrolled a security code; verify the caller another way"
                    .to_owned()
            }
            Verification::Expired => {
                "the user's security code has expired; they need to enrol a new one".to_owned()
            }
            Verification::AlreadyUsed => {
                "this one-time security code has already been used; they need a new one".to_owned()
            }
        }
    }
}

/// The state kept beside a code's hash, and the one place the attempt rules live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeState {
    pub kind: CodeKind,
    pub expires_at: Option<DateTime<Utc>>,
    /// Wrong attempts in the current window.
    pub failed_attempts: u32,
    /// When the current window's first wrong attempt happened.
    pub window_started_at: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
    /// When a one-time code was consumed.
    pub used_at: Option<DateTime<Utc>>,
}

impl CodeState {
    /// A freshly enrolled code.
    pub fn new(kind: CodeKind, expires_at: Option<DateTime<Utc>>) -> CodeState {
        CodeState {
            kind,
            expires_at,
            failed_attempts: 0,
            window_started_at: None,
            locked_until: None,
            used_at: None,
        }
    }

    /// The refusal that needs no comparison of the code, if any: locked, used or expired.
    /// Checked before hashing so a locked code costs an attacker nothing to learn from.
    pub fn gate(&self, now: DateTime<Utc>) -> Option<Verification> {
        if let Some(until) = self.locked_until
            && now < until
        {
            return Some(Verification::LockedOut { until });
        }
        if self.kind == CodeKind::OneTime && self.used_at.is_some() {
            return Some(Verification::AlreadyUsed);
        }
        if self.expires_at.is_some_and(|at| now >= at) {
            return Some(Verification::Expired);
        }
        None
    }

    /// The outcome of an attempt at `now` whose code did (`matches`) or did not match, and
    /// the state to store afterwards.
    pub fn decide(
        &self,
        now: DateTime<Utc>,
        matches: bool,
        policy: &VerificationPolicy,
    ) -> (Verification, CodeState) {
        if let Some(refusal) = self.gate(now) {
            return (refusal, self.clone());
        }
        let mut next = self.clone();
        let lock_over = next.locked_until.is_some();
        let window_over = next
            .window_started_at
            .is_some_and(|start| now >= after(start, policy.window));
        if lock_over || window_over {
            next.locked_until = None;
            next.failed_attempts = 0;
            next.window_started_at = None;
        }
        if matches {
            next.failed_attempts = 0;
            next.window_started_at = None;
            if next.kind == CodeKind::OneTime {
                next.used_at = Some(now);
            }
            return (Verification::Verified, next);
        }
        let max = policy.max_attempts.max(1);
        next.failed_attempts = next.failed_attempts.saturating_add(1);
        next.window_started_at.get_or_insert(now);
        if next.failed_attempts >= max {
            let until = after(now, policy.lockout);
            // The next window starts fresh once the lock is over.
            next.failed_attempts = 0;
            next.window_started_at = None;
            next.locked_until = Some(until);
            return (
                Verification::Wrong {
                    attempts_left: 0,
                    locked_until: Some(until),
                },
                next,
            );
        }
        (
            Verification::Wrong {
                attempts_left: max - next.failed_attempts,
                locked_until: None,
            },
            next,
        )
    }
}

/// The key a user's code is stored under: the account name without its domain, lower-cased,
/// so `LAB\Alice.Smith`, `alice.smith` and `ALICE.SMITH` are the same user (as in AD, where
/// sAMAccountName is case-insensitive). A UPN is kept whole: resolve it to the account name
/// through the directory first.
pub fn normalise_user(user: &str) -> Result<String, String> {
    let name = account_name(user).to_lowercase();
    if name.is_empty() {
        return Err(format!("{user:?} does not name a user account"));
    }
    Ok(name)
}

/// The code as compared: surrounding whitespace dropped (codes are read out on the phone and
/// pasted from tickets), nothing else changed.
pub fn normalise_code(code: &str) -> &str {
    code.trim()
}

/// Whether `code` may be enrolled. The message never repeats the code.
pub fn check_new_code(code: &str) -> Result<(), String> {
    let code = normalise_code(code);
    let length = code.chars().count();
    if length < MIN_CODE_CHARS {
        return Err(format!(
            "a security code needs at least {MIN_CODE_CHARS} characters (has {length})"
        ));
    }
    if length > MAX_CODE_CHARS {
        return Err(format!(
            "a security code can have at most {MAX_CODE_CHARS} characters (has {length})"
        ));
    }
    if code.chars().any(char::is_control) {
        return Err("a security code cannot contain control characters".to_owned());
    }
    Ok(())
}

/// `t + d`, saturating at the latest representable time instead of panicking.
pub fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn duration_text<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    // The config's own parser, so that `[verification]` reads durations like every other key.
    crate::config::parse_duration(&text).map_err(serde::de::Error::custom)
}

fn duration_out<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    if d.subsec_millis() == 0 {
        s.serialize_str(&format!("{}s", d.as_secs()))
    } else {
        s.serialize_str(&format!("{}ms", d.as_millis()))
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
