//! Argon2id hashing of the secrets the store keeps only as hashes (API client secrets, users'
//! security codes), shared by every backend.
//!
//! Argon2id is memory-hard, the OWASP recommendation for stored credentials: a stolen
//! database yields no usable secrets, and guessing them offline is expensive. Each hash is a
//! PHC string with its own random salt. Hashing and verifying run on the blocking pool because
//! they deliberately take tens of milliseconds of CPU.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngCore;

use super::StoreError;

/// The Argon2id PHC string of `secret`, with a fresh random salt.
pub(crate) async fn hash_secret(secret: String) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(secret.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| StoreError::Hash(format!("hashing task failed: {e}")))?
}

/// Whether `secret` matches the PHC string `hash`, on the blocking pool. A hash that does not
/// parse matches nothing.
pub(crate) async fn verify_secret(secret: String, hash: String) -> Result<bool, StoreError> {
    tokio::task::spawn_blocking(move || verify_hash(&secret, &hash))
        .await
        .map_err(|e| StoreError::Hash(format!("verification task failed: {e}")))
}

/// A real argon2id hash of a random secret, verified against when there is nothing stored to
/// compare with, so that "no such client" or "no code enrolled" costs the same time as a
/// wrong secret.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        Argon2::default()
            .hash_password(&secret)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

fn verify_hash(secret: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        // argon2 compares the derived hashes in constant time.
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}
