//! What can go wrong talking to a directory, in words an operator can act on.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DirectoryError {
    /// No account (or group) by that name.
    #[error("no account {0:?} in the directory")]
    NotFound(String),
    /// More than one account matches a name that should be unique.
    #[error("{0:?} matches more than one account; use the sAMAccountName")]
    Ambiguous(String),
    /// The directory refused the new password (AD constraint violation 0000052D). The text
    /// says which rule, never the password.
    #[error("the directory refused the new password: {0}")]
    PasswordRefused(String),
    /// Our service account may not do this.
    #[error("the directory denied the change: {0}")]
    Denied(String),
    /// The directory could not be reached or timed out: worth retrying.
    #[error("the directory is unreachable: {0}")]
    Unreachable(String),
    /// TLS could not be set up or the server's certificate was not trusted.
    #[error("TLS with the directory failed: {0}")]
    Tls(String),
    /// Our side refuses the configuration (for example a simple bind without TLS).
    #[error("{0}")]
    Config(String),
    /// Anything else the directory answered.
    #[error("the directory answered: {0}")]
    Other(String),
    /// The backend has no way to do this (the CVAD Identity API cannot create accounts).
    #[error("not possible through this directory backend: {0}")]
    Unsupported(String),
}

impl DirectoryError {
    /// Transient failures a job retries with backoff; everything else is final.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DirectoryError::Unreachable(_))
    }
}
