//! The console's client for the account endpoints, over real HTTP against a stub adapter that
//! answers exactly the contract of `/api/v1/accounts`, `/api/v1/password-policy[/check]` and
//! `account.password_reset` jobs: the password and security code reach the adapter in the
//! request body, a generated password comes back once, and none of them reaches the call log
//! or any `Debug` output.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use deskbridge::accounts::PasswordPolicy;
use deskbridge::console::client::{ApiClient, IdempotencyKey, JobRequest, Target};
use deskbridge::secret::Secret;

const PASSWORD: &str = "Quartz-Orbit-93!";
const CODE: &str = "482913";
const TEMPORARY: &str = "Tmp-7h8J-kq2P-x9Wm";

type Bodies = Arc<Mutex<Vec<Value>>>;

fn job(action: &str) -> Value {
    json!({
        "id": "00000000-0000-0000-0000-000000000009",
        "action": action,
        "requested_by": "console",
        "ticket": null,
        "params": {"source": "generated", "must_change": true},
        "idempotency_key": null,
        "state": "queued",
        "progress": {"total": 1, "queued": 1, "running": 0, "succeeded": 0, "failed": 0,
                     "cancelled": 0},
        "cancel_requested_at": null,
        "created_at": "2026-11-27T09:00:00Z",
        "updated_at": "2026-11-27T09:00:00Z",
        "result": null,
        "error": null,
    })
}

async fn stub() -> (String, Bodies, tokio::task::JoinHandle<()>) {
    let bodies: Bodies = Arc::default();
    let app = Router::new()
        .route(
            "/api/v1/token",
            post(|| async { Json(json!({"access_token": "t0ken", "expires_in": 300})) }),
        )
        .route(
            "/api/v1/password-policy",
            get(|| async {
                Json(json!({"policy": PasswordPolicy::default(), "verification": {"max_attempts": 5}}))
            }),
        )
        .route(
            "/api/v1/password-policy/check",
            post(|State(b): State<Bodies>, Json(body): Json<Value>| async move {
                let denied = body["password"] == "Password123!";
                b.lock().expect("lock").push(body);
                let violations = if denied {
                    json!([{"code": "denied", "message": "is on the list of common passwords"}])
                } else {
                    json!([])
                };
                Json(json!({"ok": !denied, "violations": violations}))
            }),
        )
        .route(
            "/api/v1/jobs",
            post(|State(b): State<Bodies>, Json(body): Json<Value>| async move {
                let generate = body["params"]["generate"] == true;
                let action = body["action"].as_str().unwrap_or_default().to_owned();
                b.lock().expect("lock").push(body);
                let mut answer = job(&action);
                if generate {
                    answer["temporary_password"] = json!(TEMPORARY);
                }
                (StatusCode::ACCEPTED, Json(answer))
            }),
        )
        .route(
            "/api/v1/accounts/{domain}/{user}",
            get(|Path((domain, user)): Path<(String, String)>| async move {
                if user != "ada" {
                    return Err((
                        StatusCode::NOT_FOUND,
                        Json(json!({"error": {"code": "not_found",
                                               "message": format!("no account {domain}\\{user}")}})),
                    ));
                }
                Ok(Json(json!({
                    "sam_name": "ada", "domain": domain, "upn": "ada@lab.example",
                    "display_name": "Ada Lovelace", "mail": "ada@lab.example", "dn": "",
                    "locked": true, "disabled": false, "must_change": false,
                    "password_expires": "2026-12-24T08:00:00Z", "groups": ["Staff"]
                })))
            }),
        )
        .with_state(bodies.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, bodies, server)
}

fn reset(params: Value, secrets: Vec<(&'static [&'static str], Secret)>) -> JobRequest {
    JobRequest {
        action: "account.password_reset".into(),
        targets: vec![Target {
            site: "LAB".into(),
            id: "ada".into(),
        }],
        ticket: None,
        params,
        idempotency_key: IdempotencyKey::generate(),
        secrets,
    }
}

#[tokio::test]
async fn secrets_go_in_the_body_and_never_in_the_call_log() {
    let (url, bodies, server) = stub().await;
    let client = ApiClient::new(&url, "console", Secret::new("client-secret")).expect("client");

    let policy = client.password_policy().await.expect("the policy");
    assert_eq!(
        policy.policy.min_length,
        PasswordPolicy::default().min_length
    );

    let account = client.account("LAB", "ada").await.expect("the account");
    assert!(account.locked && !account.disabled);
    assert_eq!(account.login(), "LAB\\ada");
    let missing = client.account("LAB", "nobody").await;
    assert!(
        missing.is_err_and(|e| e.message().contains("no account LAB\\nobody")),
        "a clear refusal"
    );

    let refused = client
        .check_password("LAB", "ada", &Secret::new("Password123!"))
        .await
        .expect("an answer");
    assert!(!refused.ok);
    assert_eq!(refused.violations[0].code, "denied");
    let accepted = client
        .check_password("LAB", "ada", &Secret::new(PASSWORD))
        .await
        .expect("an answer");
    assert!(accepted.ok);

    // A typed password and a security code: in the body the adapter reads, not in `params`.
    let typed = reset(
        json!({"must_change": true, "unlock": true,
               "verification": {"method": "code"}}),
        vec![
            (&["password"], Secret::new(PASSWORD)),
            (&["verification", "code"], Secret::new(CODE)),
        ],
    );
    assert!(!format!("{typed:?}").contains(PASSWORD));
    let submitted = client.create_job(&typed).await.expect("the job");
    assert!(submitted.created && submitted.temporary_password.is_none());

    // Generated: the password comes back once, in the answer only.
    let generated = reset(
        json!({"generate": true, "must_change": true, "unlock": false,
               "verification": {"method": "callback", "note": "called back"}}),
        vec![],
    );
    let submitted = client.create_job(&generated).await.expect("the job");
    let temporary = submitted
        .temporary_password
        .clone()
        .expect("a generated password");
    assert_eq!(temporary.expose(), TEMPORARY);
    assert!(!format!("{submitted:?}").contains(TEMPORARY));
    assert_eq!(submitted.job.action, "account.password_reset");

    let seen = bodies.lock().expect("lock").clone();
    assert_eq!(seen[1]["password"], PASSWORD, "the check gets the password");
    assert_eq!(seen[2]["params"]["password"], PASSWORD);
    assert_eq!(seen[2]["params"]["verification"]["code"], CODE);
    assert_eq!(seen[2]["params"]["verification"]["method"], "code");
    assert_eq!(seen[2]["targets"], json!([{"site": "LAB", "id": "ada"}]));
    assert!(seen[3]["params"].get("password").is_none());

    let log = client.calls().snapshot();
    assert!(
        log.iter()
            .any(|c| c.path == "/api/v1/password-policy/check")
    );
    assert!(
        log.iter()
            .any(|c| c.path == "/api/v1/jobs" && c.status() == Some(202))
    );
    let text = format!("{log:?}");
    for secret in [
        PASSWORD,
        CODE,
        TEMPORARY,
        "Password123!",
        "client-secret",
        "t0ken",
    ] {
        assert!(!text.contains(secret), "the call log shows {secret}");
    }
    server.abort();
}
