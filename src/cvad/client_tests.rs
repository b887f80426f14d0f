//! Unit tests of the client's transport, auth, paging and jobs against the scriptable fake.

use super::fake::{Fake, Scripted};
use super::*;
use crate::model::{ConnectorHealth, PowerAction};
use futures::TryStreamExt;
use serde_json::json;
use std::ops::ControlFlow;
use std::time::Duration;

const BUSY_503: &str = r#"{"type":"https://errors-api.cloud.com/common/serviceUnavailable",
  "detail":"try again in 0 seconds","parameters":[{"name":"retryDelay","value":"0"}]}"#;

fn client(fake: &Fake) -> CvadClient {
    CvadClient::new(fake.config()).expect("valid config")
}

#[tokio::test]
async fn pages_until_the_token_is_null_even_after_short_and_empty_pages() {
    let fake = Fake::start(1, 0).await;
    {
        let mut s = fake.lock();
        s.machines = 25;
        s.page_cap = 4;
        s.empty_page_at = Some(8);
    }
    let client = client(&fake);
    let machines = client.machines().await.expect("all machines");
    assert_eq!(machines.len(), 25);
    assert_eq!(machines[24].name, "LAB\\VDI-024");
    let limits: Vec<String> = fake
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/Machines"))
        .map(|s| s.query.clone())
        .collect();
    assert!(
        limits.iter().all(|q| q.contains("limit=1000")),
        "{limits:?}"
    );

    // The stream gives the same items page by page.
    let pages: Vec<Page<crate::model::Machine>> = client
        .machines_pager(10)
        .into_stream()
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(pages.iter().map(|p| p.items.len()).sum::<usize>(), 25);
    assert!(pages.last().is_some_and(|p| p.continuation_token.is_none()));

    // The callback can stop early.
    let mut seen = 0;
    client
        .machines_pager(10)
        .for_each_page(|page| {
            seen += page.items.len();
            ControlFlow::Break(())
        })
        .await
        .expect("first page");
    assert_eq!(seen, 4);
}

#[tokio::test]
async fn a_repeated_continuation_token_is_an_error_not_a_loop() {
    let fake = Fake::start(1, 0).await;
    {
        let mut s = fake.lock();
        s.machines = 25;
        s.page_cap = 4;
        s.repeat_token = true;
    }
    let err = client(&fake).machines().await.expect_err("loop detected");
    assert!(err.to_string().contains("same continuation token"), "{err}");
}

#[tokio::test]
async fn a_dead_endpoint_is_skipped_and_marked_down() {
    // Endpoint 0 refuses connections, endpoint 1 answers.
    let fake = Fake::start(1, 1).await;
    let mut config = fake.config();
    config.endpoints.reverse();
    let client = CvadClient::new(config).expect("config");
    client.me().await.expect("answered by the live endpoint");
    let health: Vec<ConnectorHealth> = client.endpoint_health().into_iter().map(|h| h.1).collect();
    assert_eq!(health, vec![ConnectorHealth::Down, ConnectorHealth::Up]);
    let details = client.endpoint_details();
    assert!(
        details[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("cannot connect")),
        "{details:?}"
    );
    // The next call goes straight to the live endpoint.
    client.me().await.expect("second call");
}

#[tokio::test]
async fn a_sick_endpoint_fails_over_with_the_same_transaction_id() {
    let fake = Fake::start(2, 0).await;
    let client = client(&fake);
    client.authenticate().await.expect("token");
    fake.script(Scripted::status(502).on(0));
    client.me().await.expect("failed over");
    let calls: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/me"))
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0].endpoint, calls[1].endpoint), (0, 1));
    assert_eq!(calls[0].transaction_id, calls[1].transaction_id);
    assert!(!calls[0].transaction_id.is_empty());
    assert_eq!(client.endpoint_health()[0].1, ConnectorHealth::Down);
}

#[tokio::test]
async fn a_stopped_endpoint_is_probed_and_comes_back() {
    let mut fake = Fake::start(2, 0).await;
    let client = client(&fake);
    client.me().await.expect("both up");
    fake.stop_endpoint(0).await;
    client.me().await.expect("failed over");
    assert_eq!(client.endpoint_health()[0].1, ConnectorHealth::Down);
    fake.start_endpoint(0).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    // This call starts the probe in the background.
    client.me().await.expect("call");
    for _ in 0..100 {
        if client.endpoint_health()[0].1 == ConnectorHealth::Up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(client.endpoint_health()[0].1, ConnectorHealth::Up);
    // check_endpoints probes on demand.
    fake.stop_endpoint(1).await;
    let health = client.check_endpoints().await;
    assert_eq!(health[0].1, ConnectorHealth::Up);
    assert_eq!(health[1].1, ConnectorHealth::Down);
}

#[tokio::test]
async fn all_endpoints_dead_gives_a_clear_error() {
    let fake = Fake::start(0, 2).await;
    let err = client(&fake).me().await.expect_err("nobody answers");
    let text = err.to_string();
    assert!(
        text.starts_with("none of the 2 connectors of site Test answered: "),
        "{text}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn throttling_is_waited_out_on_the_same_endpoint() {
    let fake = Fake::start(2, 0).await;
    let client = client(&fake);
    client.authenticate().await.expect("token");
    fake.script(Scripted::status(429).header("retry-after", "0"));
    fake.script(Scripted::status(503).body(BUSY_503));
    client.me().await.expect("after two waits");
    let calls: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/me"))
        .collect();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|c| c.endpoint == 0));
    assert!(
        calls
            .iter()
            .all(|c| c.transaction_id == calls[0].transaction_id)
    );
    assert_eq!(client.endpoint_health()[0].1, ConnectorHealth::Up);
}

#[tokio::test]
async fn the_throttle_budget_is_bounded() {
    let fake = Fake::start(1, 0).await;
    let mut config = fake.config();
    config.retry.max_throttle_retries = 2;
    let client = CvadClient::new(config).expect("config");
    client.authenticate().await.expect("token");
    for _ in 0..3 {
        fake.script(Scripted::status(429).header("retry-after", "0"));
    }
    let err = client.me().await.expect_err("gives up");
    assert!(
        matches!(err, CvadError::Throttled { retries: 2, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_refused_token_is_renewed_once() {
    let fake = Fake::start(1, 0).await;
    let client = client(&fake);
    client.me().await.expect("first token");
    fake.lock().valid_tokens.clear();
    client.me().await.expect("renewed");
    assert_eq!(fake.lock().tokens_issued, 2);
    // A site that refuses every token: one renewal, then a clear error.
    fake.script(Scripted::status(401));
    fake.script(Scripted::status(401));
    let err = client.me().await.expect_err("refused twice");
    assert!(matches!(err, CvadError::Auth { .. }), "{err:?}");
}

#[tokio::test]
async fn bad_credentials_are_an_auth_error_without_the_password() {
    let fake = Fake::start(2, 0).await;
    let mut config = fake.config();
    config.auth = CvadAuth::OnPrem {
        username: "LAB\\admin".into(),
        password: crate::secret::Secret::new("wrong-secret"),
    };
    let client = CvadClient::new(config).expect("config");
    let err = client.me().await.expect_err("refused");
    let text = format!("{err} {err:?}");
    assert!(matches!(err, CvadError::Auth { .. }), "{text}");
    assert!(text.contains("user name and password"), "{text}");
    assert!(!text.contains("wrong-secret"), "{text}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn errors_are_decoded_and_non_replayable_posts_are_not_resent() {
    let fake = Fake::start(2, 0).await;
    let client = client(&fake);
    let err = client.machine("LAB\\NOPE").await.expect_err("404");
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().contains("(404 common/notFound)"), "{err}");
    let path = fake
        .seen()
        .last()
        .map(|s| s.path.clone())
        .unwrap_or_default();
    assert_eq!(path, "/cvad/manage/Machines/LAB|NOPE");

    let admin = AdminCredential {
        username: "LAB\\svc".into(),
        password: crate::secret::Secret::new("pw"),
    };
    fake.script(Scripted::status(504).on(0));
    let request = wire::AddCatalogMachineRequest::default();
    let err = client
        .add_catalog_machine("Cat", &request, &admin)
        .await
        .expect_err("ambiguous");
    assert!(matches!(err, CvadError::Ambiguous { .. }), "{err:?}");
    assert!(err.to_string().contains("check the target"), "{err}");
    // 503 means "not processed": failed over to endpoint 1.
    fake.script(Scripted::status(503).on(1));
    let job = client
        .add_catalog_machine("Cat", &request, &admin)
        .await
        .expect("failed over");
    assert_eq!(job.id, "add-1");
    let sent = fake.seen();
    assert!(
        sent.iter()
            .any(|s| s.admin_credential.as_deref() == Some("Basic TEFCXHN2Yzpwdw=="))
    );
}

fn job_state(status: &str, progress: u32) -> serde_json::Value {
    json!({"Id": "job-LAB|VDI-001-$start", "Type": "StartMachines", "Status": status,
           "OverallProgressPercent": progress, "IsCancellable": true,
           "SubJobs": [{"Id": "s1", "Type": "StartMachines", "Status": status}]})
}

#[tokio::test]
async fn a_job_is_followed_to_completion_with_progress() {
    let fake = Fake::start(1, 0).await;
    let client = client(&fake);
    let job = client
        .power_async("LAB\\VDI-001", PowerAction::Start, false)
        .await
        .expect("accepted");
    assert_eq!(job.id, "job-LAB|VDI-001-$start");
    fake.lock().jobs.insert(
        job.id.clone(),
        [
            job_state("NotStarted", 0),
            job_state("InProgress", 40),
            job_state("Complete", 100),
        ]
        .into(),
    );
    let mut progress = Vec::new();
    let done = client
        .wait_job(
            &job.id,
            Duration::from_millis(10),
            Duration::from_secs(5),
            |j| {
                progress.push(j.progress.unwrap_or(0));
                assert_eq!(j.sub_jobs.len(), 1);
            },
        )
        .await
        .expect("complete");
    assert_eq!(progress, vec![0, 40, 100]);
    assert!(done.succeeded());
}

#[tokio::test]
async fn failed_and_slow_jobs_give_clear_errors() {
    let fake = Fake::start(1, 0).await;
    let client = client(&fake);
    let mut failed = job_state("Failed", 50);
    failed["ErrorString"] = json!("Hcl request is not allowed when connector is in outage mode");
    fake.lock().jobs.insert("f".into(), [failed].into());
    let err = client
        .wait_job(
            "f",
            Duration::from_millis(10),
            Duration::from_secs(5),
            |_| {},
        )
        .await
        .expect_err("failed");
    assert!(
        err.to_string()
            .ends_with("(check the Cloud Connectors of the zone)"),
        "{err}"
    );

    fake.lock()
        .jobs
        .insert("slow".into(), [job_state("InProgress", 10)].into());
    let err = client
        .wait_job(
            "slow",
            Duration::from_millis(20),
            Duration::from_millis(100),
            |_| {},
        )
        .await
        .expect_err("timeout");
    assert!(
        matches!(
            err,
            CvadError::JobTimeout {
                canceled: true,
                progress: Some(10),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        fake.seen()
            .iter()
            .any(|s| s.path == "/cvad/manage/Jobs/slow/$cancel")
    );
}

#[tokio::test]
async fn concurrent_calls_share_one_token_request() {
    let fake = Fake::start(2, 0).await;
    let client = client(&fake);
    let calls = (0..40).map(|_| {
        let client = client.clone();
        async move { client.me().await }
    });
    for result in futures::future::join_all(calls).await {
        result.expect("answered");
    }
    assert_eq!(fake.lock().tokens_issued, 1);
    let token_requests = fake
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/tokens"))
        .count();
    assert_eq!(token_requests, 1);
}

#[tokio::test]
async fn debug_output_never_shows_the_token_or_password() {
    let fake = Fake::start(1, 0).await;
    let client = client(&fake);
    client.me().await.expect("token");
    let text = format!("{client:?} {:?}", client.config());
    assert!(!text.contains("tok-1"), "{text}");
    assert!(!text.contains(super::fake::PASSWORD), "{text}");
}
