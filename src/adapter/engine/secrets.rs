//! Secrets a job needs while it runs (a new password, a security code), held in this
//! process's memory only and never written to the store.
//!
//! A job's stored params carry a `secret_ref`, a random id that names its entry here. Why
//! memory only: a password at rest, even encrypted, is a password someone can steal, and a
//! reset is cheap to ask for again. The price is that a password-reset task outliving its
//! adapter (a crash, a restart) fails with a message saying so instead of resetting; an entry
//! is also dropped when its job ends, and after [`MAX_AGE`] in any case.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

use super::account_params::JobSecrets;
use crate::adapter::store::Job;

/// The longest a secret waits for its task.
pub const MAX_AGE: Duration = Duration::from_secs(3600);

/// The key of a job's params that names its secrets.
pub const SECRET_REF: &str = "secret_ref";

#[derive(Default)]
pub struct Vault {
    entries: Mutex<HashMap<Uuid, (Instant, JobSecrets)>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("entries", &self.lock().len())
            .finish()
    }
}

impl Vault {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Instant, JobSecrets)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `secrets` and returns the reference to store in the job's params.
    pub fn keep(&self, secrets: JobSecrets) -> Uuid {
        let id = Uuid::new_v4();
        let mut entries = self.lock();
        entries.retain(|_, (at, _)| at.elapsed() < MAX_AGE);
        entries.insert(id, (Instant::now(), secrets));
        id
    }

    /// The secrets of the job whose params are `params`, if this process still has them.
    pub fn get(&self, params: &Value) -> Option<JobSecrets> {
        let id = reference(params)?;
        self.lock()
            .get(&id)
            .filter(|(at, _)| at.elapsed() < MAX_AGE)
            .map(|(_, secrets)| secrets.clone())
    }

    /// Forgets the security code once it has been checked: a one-time code is spent, and
    /// a retried attempt must not present it again.
    pub fn spend_code(&self, params: &Value) {
        if let Some(id) = reference(params)
            && let Some((_, secrets)) = self.lock().get_mut(&id)
        {
            secrets.code = None;
        }
    }

    /// Drops a reference that never became a job (the request was refused or repeated).
    pub fn drop_ref(&self, id: Uuid) {
        self.lock().remove(&id);
    }

    /// Drops the secrets of a job that has ended.
    pub fn forget_job(&self, job: &Job) {
        if let Some(id) = reference(&job.params) {
            self.lock().remove(&id);
        }
    }
}

fn reference(params: &Value) -> Option<Uuid> {
    params
        .get(SECRET_REF)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use serde_json::json;

    #[test]
    fn secrets_are_found_by_the_reference_in_the_params_and_spent_codes_go() {
        let vault = Vault::default();
        let id = vault.keep(JobSecrets {
            password: Some(Secret::new("N3w!passphrase")),
            code: Some(Secret::new("493817")),
        });
        let params = json!({ SECRET_REF: id.to_string() });
        let found = vault.get(&params).expect("kept");
        assert_eq!(
            found.password.as_ref().map(Secret::expose),
            Some("N3w!passphrase")
        );
        vault.spend_code(&params);
        assert!(vault.get(&params).is_some_and(|s| s.code.is_none()));
        vault.drop_ref(id);
        assert!(vault.get(&params).is_none());
        assert!(vault.get(&json!({})).is_none());
        assert!(!format!("{vault:?}").contains("passphrase"));
    }
}
