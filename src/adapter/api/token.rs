//! Stateless access tokens: `db1.<payload>.<mac>`, the payload base64url JSON
//! `{"sub":client id,"role":…,"iat":…,"exp":…}`, the MAC HMAC-SHA256 over `db1.<payload>` with
//! the store's signing key.
//!
//! Why not JWT: the adapter is the only issuer and the only audience, so a fixed format with
//! one algorithm leaves nothing to negotiate (no `alg` header to confuse, no key types), and
//! `hmac` + `sha2` are already in the dependency tree. Any replica that shares the database
//! shares the key and so accepts every replica's tokens, with no token table to consult.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::adapter::store::Role;

/// Format marker and version: a future format gets a new prefix and old tokens simply fail.
const PREFIX: &str = "db1";

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The API client's id.
    pub sub: Uuid,
    /// The client's role when the token was issued.
    pub role: Role,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
}

impl Claims {
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        Utc.timestamp_opt(self.exp, 0).single()
    }

    /// An error once `now` has reached the expiry.
    pub fn check_expiry(&self, now: DateTime<Utc>) -> Result<(), TokenError> {
        if self.exp <= now.timestamp() {
            let at = self
                .expires_at()
                .map_or_else(|| self.exp.to_string(), |t| t.to_rfc3339());
            return Err(TokenError::Expired(at));
        }
        Ok(())
    }
}

/// Why a token is refused; the `Display` text goes to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the bearer token is malformed: {0}")]
    Malformed(&'static str),
    #[error(
        "the bearer token's signature does not verify (tampered, or issued by another adapter)"
    )]
    BadSignature,
    #[error("the bearer token expired at {0}; get a new one from POST /api/v1/token")]
    Expired(String),
}

/// Signs and verifies tokens. `Debug` does not show the key.
#[derive(Clone)]
pub struct TokenSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(***)")
    }
}

impl TokenSigner {
    pub fn new(key: Vec<u8>) -> Self {
        TokenSigner { key }
    }

    fn mac(&self, signed: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length, so this cannot fail; the fallback keeps it total.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        mac.update(signed.as_bytes());
        mac
    }

    /// The token text for `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        // Serialising this struct cannot fail; the fallback keeps this total without unwrap.
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let signed = format!("{PREFIX}.{}", URL_SAFE_NO_PAD.encode(payload));
        let tag = self.mac(&signed).finalize().into_bytes();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Checks the format, the signature (in constant time) and then the expiry, in that order:
    /// nothing from an unsigned payload is trusted or reported.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        let claims = self.open(token)?;
        claims.check_expiry(now)?;
        Ok(claims)
    }

    /// Checks the format and the signature only; the claims of an expired token are still
    /// authentic, which lets the audit log name who presented it.
    pub fn open(&self, token: &str) -> Result<Claims, TokenError> {
        let (signed, tag) = token
            .rsplit_once('.')
            .ok_or(TokenError::Malformed("expected three dot-separated parts"))?;
        let (prefix, payload) = signed
            .split_once('.')
            .ok_or(TokenError::Malformed("expected three dot-separated parts"))?;
        if prefix != PREFIX {
            return Err(TokenError::Malformed(
                "not a deskbridge access token (unknown prefix)",
            ));
        }
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Malformed("the signature is not base64url"))?;
        self.mac(signed)
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed("the payload is not base64url"))?;
        serde_json::from_slice(&payload)
            .map_err(|_| TokenError::Malformed("the payload is not valid claims"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: Uuid::nil(),
            role: Role::Helpdesk,
            iat: 0,
            exp,
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let signer = TokenSigner::new(vec![7; 32]);
        let now = Utc::now();
        let good = claims(now.timestamp() + 60);
        let token = signer.sign(&good);
        assert_eq!(signer.verify(&token, now), Ok(good.clone()));

        let other = TokenSigner::new(vec![8; 32]);
        assert_eq!(other.verify(&token, now), Err(TokenError::BadSignature));

        // Changing the role in the payload breaks the signature.
        let forged = signer.sign(&Claims {
            role: Role::Admin,
            ..good
        });
        let (_, forged_payload, _) = split3(&forged);
        let (p, _, t) = split3(&token);
        let tampered = format!("{p}.{forged_payload}.{t}");
        assert_eq!(signer.verify(&tampered, now), Err(TokenError::BadSignature));

        let expired = signer.sign(&claims(now.timestamp() - 1));
        assert!(matches!(
            signer.verify(&expired, now),
            Err(TokenError::Expired(_))
        ));
        assert!(matches!(
            signer.verify("nonsense", now),
            Err(TokenError::Malformed(_))
        ));
        assert!(!format!("{signer:?}").contains('7'));
    }

    fn split3(t: &str) -> (&str, &str, &str) {
        let mut parts = t.splitn(3, '.');
        (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        )
    }
}
