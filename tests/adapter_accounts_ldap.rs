//! Account jobs through the whole adapter against the real Samba AD DC (started by
//! scripts/test): lookups, password resets, lockouts, disable/enable and the DC's own
//! password rules, each requested over HTTP as a job and proven by what the DC then does when
//! the user binds (AD's sub-codes 773, 775 and 533); and no password used anywhere appears in
//! the log, the audit log, a job or the metrics.

mod support;

use deskbridge::config::{DirectoryBackend, DirectoryConfig};
use deskbridge::directory::Directory;
use deskbridge::directory::ldap::{BindRefusal, CheckPasswordError, LdapDirectory};
use deskbridge::lab::Scale;
use deskbridge::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::{Api, log};
use support::samba::{self, SambaDc};
use support::{LabAdapter, token};

/// An adapter whose only directory is the DC, one account made for the test, and every
/// password the test used (to look for afterwards).
struct Env {
    base: LabAdapter,
    api: Api,
    helpdesk: String,
    admin: String,
    viewer: String,
    /// Our own way to the DC, to make accounts and to bind as their users.
    dc: LdapDirectory,
    sam: String,
    password: Secret,
    secrets: Vec<String>,
}

impl Env {
    /// `None` when no DC is configured (the test is skipped; see [`samba::dc`]).
    async fn start(tag: &str) -> Option<Env> {
        let dc: SambaDc = samba::dc()?;
        // Before anything logs, so every callsite sees the capturing subscriber.
        log();
        let config = dc.config();
        let base = LabAdapter::start(Scale::Small, &|adapter| {
            // The DC's NetBIOS domain is the lab's domain too: it replaces the lab's
            // directory instead of standing beside it.
            adapter.directories = vec![DirectoryConfig {
                domain: config.domain.clone(),
                backend: DirectoryBackend::Ldap(config.clone()),
            }];
            // Lenient on our side, so a weak password reaches the DC and is refused there.
            let policy = &mut adapter.accounts.policy;
            policy.min_length = 4;
            policy.min_classes = 1;
            policy.required_classes.clear();
            policy.forbid_names = false;
        })
        .await;
        let http = reqwest::Client::new();
        let helpdesk = token(&http, &base.url, base.id("helpdesk")).await;
        let admin = token(&http, &base.url, base.id("admin")).await;
        let viewer = token(&http, &base.url, base.id("viewer")).await;
        let directory = LdapDirectory::new(dc.config()).expect("a valid LDAP configuration");
        let new = dc.new_account(tag);
        let account = directory.create(&new).await.expect("create a test account");
        let password = new.password;
        Some(Env {
            api: Api::new(&base.url),
            base,
            helpdesk,
            admin,
            viewer,
            dc: directory,
            sam: account.sam_name,
            secrets: vec![password.expose().to_owned()],
            password,
        })
    }

    /// A password the DC accepts, unique to this account, remembered as a secret.
    fn strong(&mut self, word: &str) -> Secret {
        let text = format!("{word}#{}-42", &self.sam[self.sam.len() - 5..]);
        self.secrets.push(text.clone());
        Secret::new(text)
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.api.get(token, path).await
    }

    /// The account as the adapter shows it.
    async fn account(&self) -> Value {
        let (status, account) = self
            .get(&self.viewer, &format!("/api/v1/accounts/LAB/{}", self.sam))
            .await;
        assert_eq!(status, StatusCode::OK, "{account}");
        account
    }

    /// Runs `action` on the test's account as `token` and waits for the job to end.
    async fn job(&self, token: &str, action: &str, params: Value) -> Value {
        let (status, created) = self
            .api
            .post(
                token,
                "/api/v1/jobs",
                json!({
                    "action": action,
                    "targets": [{ "site": "LAB", "id": self.sam }],
                    "params": params,
                }),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{created}");
        self.api.finished(&self.viewer, &created).await
    }

    /// A password reset verified by call-back, with the operator's typed password.
    async fn reset(&self, password: &str, params: Value) -> Value {
        let mut params = params;
        params["password"] = json!(password);
        params["verification"] =
            json!({ "method": "callback", "note": "called back on the HR number" });
        self.job(&self.helpdesk, "account.password_reset", params)
            .await
    }

    /// What the DC answers when the user binds with `password`.
    async fn bind(&self, password: &Secret) -> Result<(), BindRefusal> {
        match self.dc.check_password(&self.sam, password).await {
            Ok(()) => Ok(()),
            Err(CheckPasswordError::Refused(why)) => Err(why),
            Err(other) => panic!("the bind did not reach a verdict: {other:?}"),
        }
    }

    /// None of the test's passwords is in the log, the audit log, any job or the metrics.
    async fn assert_no_secret_written(self) {
        let places = self.api.written_places(&self.admin).await;
        for secret in &self.secrets {
            for (place, text) in &places {
                assert!(
                    !text.contains(secret.as_str()),
                    "a password appears in {place}"
                );
            }
        }
        self.base.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_dc_account_is_found_with_its_state() {
    let Some(env) = Env::start("afind").await else {
        return;
    };
    // A middle part of the name, as an operator types it.
    let part = &env.sam[1..env.sam.len() - 1];
    let (status, page) = env
        .get(
            &env.viewer,
            &format!("/api/v1/accounts?q={part}&domain=LAB"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{page}");
    let found = &items[0];
    assert_eq!(found["sam_name"], env.sam.as_str(), "{found}");
    assert_eq!(found["domain"], "LAB", "{found}");
    assert_eq!(found["locked"], false, "{found}");
    assert_eq!(found["disabled"], false, "{found}");
    assert_eq!(found["must_change"], false, "{found}");
    assert_eq!(found, &env.account().await);
    let (status, page) = env
        .get(
            &env.viewer,
            "/api/v1/accounts?q=no-such-person-anywhere&domain=LAB",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"], json!([]), "{page}");
    env.assert_no_secret_written().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_by_call_back_sets_the_password_the_user_then_logs_on_with() {
    let Some(mut env) = Env::start("areset").await else {
        return;
    };
    env.bind(&env.password)
        .await
        .expect("the first password logs on");
    let new = env.strong("Harbour");
    let job = env
        .reset(new.expose(), json!({ "must_change": false }))
        .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["tasks"][0]["result"], "password reset", "{job}");
    env.bind(&new).await.expect("the new password logs on");
    assert_eq!(
        env.bind(&env.password).await,
        Err(BindRefusal::BadPassword),
        "the old password no longer does"
    );
    assert_eq!(env.account().await["must_change"], false);
    // Who vouched for the caller is on record, against this account.
    let (_, audit) = env
        .get(
            &env.admin,
            "/api/v1/audit?action=account.verification&limit=100",
        )
        .await;
    let attested = audit["items"].as_array().into_iter().flatten().any(|e| {
        e["outcome"] == "succeeded"
            && e["targets"].to_string().contains(&env.sam)
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("called back"))
    });
    assert!(attested, "the call-back is in the audit log: {audit}");
    env.assert_no_secret_written().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_asks_for_a_new_password_at_next_logon_by_default() {
    let Some(mut env) = Env::start("amust").await else {
        return;
    };
    let new = env.strong("Meadow");
    let job = env.reset(new.expose(), json!({})).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let result = job["tasks"][0]["result"].as_str().unwrap_or_default();
    assert!(result.contains("must change it"), "{job}");
    // The right password, but the DC wants it changed first.
    assert_eq!(env.bind(&new).await, Err(BindRefusal::MustChangePassword));
    assert_eq!(env.account().await["must_change"], true);
    env.assert_no_secret_written().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlock_job_ends_a_real_lockout() {
    let Some(env) = Env::start("alock").await else {
        return;
    };
    // Wrong passwords until the DC locks the account (the test policy's threshold is 3).
    let wrong = Secret::new("Wrong#Pass-000");
    let mut locked = false;
    for _ in 0..6 {
        match env.bind(&wrong).await {
            Err(BindRefusal::BadPassword) => continue,
            Err(BindRefusal::AccountLocked) => {
                locked = true;
                break;
            }
            other => panic!("unexpected answer to a wrong password: {other:?}"),
        }
    }
    assert!(locked, "the DC never locked {} out", env.sam);
    assert_eq!(env.account().await["locked"], true);
    // The right password does not help while locked.
    assert_eq!(
        env.bind(&env.password).await,
        Err(BindRefusal::AccountLocked)
    );

    let job = env.job(&env.helpdesk, "account.unlock", json!({})).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["tasks"][0]["result"], "unlocked", "{job}");
    assert_eq!(env.account().await["locked"], false);
    env.bind(&env.password)
        .await
        .expect("the right password logs on after the unlock");
    env.assert_no_secret_written().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_and_enable_jobs_stop_and_restore_logons() {
    let Some(env) = Env::start("adis").await else {
        return;
    };
    // Disabling needs admin.
    let (status, body) = env
        .api
        .post(
            &env.helpdesk,
            "/api/v1/jobs",
            json!({ "action": "account.disable", "targets": [{ "site": "LAB", "id": env.sam }] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    env.bind(&env.password).await.expect("logs on before");

    let job = env.job(&env.admin, "account.disable", json!({})).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["tasks"][0]["result"], "disabled", "{job}");
    assert_eq!(env.account().await["disabled"], true);
    assert_eq!(
        env.bind(&env.password).await,
        Err(BindRefusal::AccountDisabled)
    );

    let job = env.job(&env.admin, "account.enable", json!({})).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["tasks"][0]["result"], "enabled", "{job}");
    assert_eq!(env.account().await["disabled"], false);
    env.bind(&env.password).await.expect("logs on once enabled");
    env.assert_no_secret_written().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_the_dc_refuses_fails_the_job_once_in_words_without_the_password() {
    let Some(mut env) = Env::start("aweak").await else {
        return;
    };
    // Passes our lenient policy, fails the DC's length and complexity rules.
    let weak = "Qzw4";
    env.secrets.push(weak.to_owned());
    let job = env.reset(weak, json!({ "must_change": false })).await;
    assert_eq!(job["state"], "failed", "{job}");
    let task = &job["tasks"][0];
    assert_eq!(task["attempt_count"], 1, "not retried: {job}");
    let error = task["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("the directory refused the new password"),
        "{error}"
    );
    assert!(!error.contains(weak), "{error}");
    // Nothing changed: the old password still logs on, the weak one does not.
    env.bind(&env.password).await.expect("the old password");
    assert_eq!(
        env.bind(&Secret::new(weak)).await,
        Err(BindRefusal::BadPassword)
    );
    env.assert_no_secret_written().await;
}
