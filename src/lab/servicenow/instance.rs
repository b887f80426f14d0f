//! One simulated instance's shared state: its database, settings, credentials, tokens, faults
//! and call counters, handed to every route as `Arc<Instance>`.

use super::auth::Tokens;
use super::store::Db;
use crate::lab::{FaultInjector, SimClock};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Per-instance switches, changed through the control API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// `glide.invalid_query.returns_no_rows`.
    pub invalid_query_returns_no_rows: bool,
    /// The data policy that resolving or closing an incident needs close_code and close_notes.
    pub require_close_fields: bool,
    /// Access-token lifetime in simulated seconds.
    pub token_ttl_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            invalid_query_returns_no_rows: false,
            require_close_fields: true,
            token_ttl_secs: 1800,
        }
    }
}

/// A partial settings change, as posted to the control API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsPatch {
    pub invalid_query_returns_no_rows: Option<bool>,
    pub require_close_fields: Option<bool>,
    pub token_ttl_secs: Option<u64>,
}

/// The integration account and OAuth client of the instance.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    pub client_id: String,
    pub client_secret: String,
}

/// What the instance has been asked to do, for tests that check the adapter's behaviour.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Calls {
    /// API requests that reached the instance (faulted ones included).
    pub requests: u64,
    /// Table → method → count of successful writes.
    pub writes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Successful `order_now` calls.
    pub orders: u64,
    /// Tokens issued by `/oauth_token.do`.
    pub tokens_issued: u64,
}

pub struct Instance {
    pub name: String,
    /// Set once the listener is bound; reference links and `Link` headers use it.
    pub base_url: OnceLock<String>,
    pub clock: SimClock,
    pub faults: FaultInjector,
    pub credentials: Credentials,
    /// sys_id of the integration user, the actor of Basic and token calls.
    pub integration_sys_id: String,
    db: Mutex<Db>,
    settings: Mutex<Settings>,
    pub tokens: Mutex<Tokens>,
    calls: Mutex<Calls>,
}

/// Locks a mutex, recovering from poisoning: every guarded value stays consistent between
/// statements, so a panicking request cannot leave it half-written.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Instance {
    pub fn new(
        name: String,
        clock: SimClock,
        faults: FaultInjector,
        credentials: Credentials,
        integration_sys_id: String,
        db: Db,
        tokens: Tokens,
    ) -> Self {
        Instance {
            name,
            base_url: OnceLock::new(),
            clock,
            faults,
            credentials,
            integration_sys_id,
            db: Mutex::new(db),
            settings: Mutex::new(Settings::default()),
            tokens: Mutex::new(tokens),
            calls: Mutex::new(Calls::default()),
        }
    }

    pub fn db(&self) -> MutexGuard<'_, Db> {
        lock(&self.db)
    }

    pub fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    pub fn update_settings(&self, patch: &SettingsPatch) -> Result<Settings, String> {
        let mut settings = lock(&self.settings);
        if let Some(ttl) = patch.token_ttl_secs {
            if ttl == 0 {
                return Err("token_ttl_secs must be at least 1".into());
            }
            settings.token_ttl_secs = ttl;
        }
        if let Some(v) = patch.invalid_query_returns_no_rows {
            settings.invalid_query_returns_no_rows = v;
        }
        if let Some(v) = patch.require_close_fields {
            settings.require_close_fields = v;
        }
        Ok(settings.clone())
    }

    /// The simulated time as ServiceNow writes it: UTC `YYYY-MM-DD HH:MM:SS`.
    pub fn now_string(&self) -> String {
        format_time(self.clock.now())
    }

    pub fn calls(&self) -> Calls {
        lock(&self.calls).clone()
    }

    pub fn reset_calls(&self) {
        *lock(&self.calls) = Calls::default();
    }

    pub fn count_request(&self) {
        lock(&self.calls).requests += 1;
    }

    pub fn count_write(&self, table: &str, method: &str) {
        *lock(&self.calls)
            .writes
            .entry(table.to_string())
            .or_default()
            .entry(method.to_string())
            .or_default() += 1;
    }

    pub fn count_order(&self) {
        lock(&self.calls).orders += 1;
    }

    pub fn count_token(&self) {
        lock(&self.calls).tokens_issued += 1;
    }
}

/// UTC `YYYY-MM-DD HH:MM:SS`.
pub fn format_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}
