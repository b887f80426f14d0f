//! Directory accounts as the console reads them, the password policy, the adapter's check
//! of a new password, and the redaction of secrets from anything the client logs.
//!
//! The console's own mirror of the adapter's account JSON (serde of `crate::directory::Account`):
//! the console depends on the adapter's HTTP API only. Passwords and security codes travel
//! as [`Secret`]s, put on the wire in the request body and nowhere else.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiClient, ClientError};
use crate::accounts::PasswordPolicy;
use crate::secret::Secret;

/// A directory account (`GET /api/v1/accounts/{domain}/{user}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct AccountInfo {
    pub sam_name: String,
    /// NetBIOS domain (`LAB`).
    pub domain: String,
    pub upn: String,
    pub display_name: String,
    pub mail: String,
    pub dn: String,
    pub locked: bool,
    pub disabled: bool,
    pub must_change: bool,
    /// `None`: never expires, or unknown.
    pub password_expires: Option<DateTime<Utc>>,
    pub groups: Vec<String>,
}

impl AccountInfo {
    /// `DOMAIN\sam`, the form the users view shows.
    pub fn login(&self) -> String {
        format!("{}\\{}", self.domain, self.sam_name)
    }
}

/// A page of `GET /api/v1/accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountPage {
    pub items: Vec<AccountInfo>,
    #[serde(default)]
    pub next_cursor: Option<String>,
    #[serde(default)]
    pub total: usize,
}

/// `GET /api/v1/password-policy`: the policy the console checks as the operator types (the
/// deny list stays at the adapter) and how identities are verified.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyAnswer {
    pub policy: PasswordPolicy,
    #[serde(default)]
    pub verification: Value,
}

/// One rule the adapter says a password breaks; `message` never quotes the password.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckViolation {
    pub code: String,
    pub message: String,
}

/// `POST /api/v1/password-policy/check`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PasswordCheck {
    pub ok: bool,
    #[serde(default)]
    pub violations: Vec<CheckViolation>,
}

/// Names whose values are secrets wherever they appear in what the client logs.
pub const SECRET_NAMES: [&str; 3] = ["password", "code", "temporary_password"];

/// `text` with the value of every `name=value` whose name is a secret's replaced by `***`:
/// for query strings and error text that echo a request.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for name in SECRET_NAMES {
            let boundary = out
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            if boundary
                && let Some(after) = rest.strip_prefix(name)
                && let Some(value) = after.strip_prefix('=')
            {
                out.push_str(name);
                out.push_str("=***");
                let end = value
                    .find(|c: char| c == '&' || c == '#' || c.is_whitespace())
                    .unwrap_or(value.len());
                rest = &value[end..];
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

impl ApiClient {
    /// Accounts matching `q` (name, login, mail), optionally in one domain.
    pub async fn accounts(
        &self,
        q: &str,
        domain: Option<&str>,
        limit: Option<u32>,
    ) -> Result<AccountPage, ClientError> {
        let mut query = vec![("q", q.to_owned())];
        if let Some(d) = domain {
            query.push(("domain", d.to_owned()));
        }
        if let Some(n) = limit {
            query.push(("limit", n.to_string()));
        }
        self.get(&["accounts"], &query).await
    }

    /// One account, read live from the directory.
    pub async fn account(&self, domain: &str, user: &str) -> Result<AccountInfo, ClientError> {
        self.get(&["accounts", domain, user], &[]).await
    }

    /// The adapter's password policy (without its deny list).
    pub async fn password_policy(&self) -> Result<PolicyAnswer, ClientError> {
        self.get(&["password-policy"], &[]).await
    }

    /// The adapter's full check of a new password for one account: the policy, its deny list
    /// and the account's own names.
    pub async fn check_password(
        &self,
        domain: &str,
        user: &str,
        password: &Secret,
    ) -> Result<PasswordCheck, ClientError> {
        let body = json!({ "domain": domain, "user": user, "password": password.expose() });
        Ok(self
            .post(&["password-policy", "check"], Some(&body))
            .await?
            .1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_secret_values_only() {
        assert_eq!(
            redact("/api/v1/x?password=hunter2&q=ada&code=123456"),
            "/api/v1/x?password=***&q=ada&code=***"
        );
        assert_eq!(
            redact("temporary_password=Ab3!xyz end"),
            "temporary_password=*** end"
        );
        // `zipcode=` is not `code=`.
        assert_eq!(redact("zipcode=1234"), "zipcode=1234");
        assert_eq!(redact("naïve text"), "naïve text");
    }

    #[test]
    fn an_account_reads_with_missing_fields() {
        let a: AccountInfo = serde_json::from_value(json!({
            "sam_name": "ada", "domain": "LAB", "locked": true,
            "password_expires": "2026-12-01T00:00:00Z"
        }))
        .unwrap_or_default();
        assert_eq!(a.login(), "LAB\\ada");
        assert!(a.locked && !a.disabled);
        assert!(a.password_expires.is_some());
    }
}
