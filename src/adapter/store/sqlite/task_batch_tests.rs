//! Tests of the task batches: claims that start attempts, group-committed writes guarded by
//! the lease, renewal and release, and the events they append.

use super::*;
use crate::adapter::store::{EventStore, JobStore, NewJob, NewTask};

const LEASE: Duration = Duration::from_secs(60);

async fn store_with_job(targets: usize) -> (SqliteStore, uuid::Uuid) {
    let store = SqliteStore::open("sqlite::memory:").await.expect("store");
    let created = store
        .create_job(NewJob {
            action: "session.logoff".into(),
            requested_by: "test".into(),
            ticket: None,
            params: json!({}),
            idempotency_key: None,
            tasks: (0..targets)
                .map(|i| NewTask {
                    site: "s1".into(),
                    target_id: format!("t{i}"),
                    display_name: format!("target {i}"),
                })
                .collect(),
        })
        .await
        .expect("job");
    (store, created.detail.job.id)
}

#[tokio::test]
async fn a_claim_starts_attempts_and_a_reclaim_is_never_a_first_attempt() {
    let (store, job) = store_with_job(3).await;
    let first = store
        .claim_attempts("s1", "dead", 2, Duration::from_millis(1))
        .await
        .expect("claim");
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|c| c.attempt() == 1 && !c.interrupted));
    let open = store
        .list_attempts(first[0].task.id)
        .await
        .expect("attempts");
    assert_eq!(open.len(), 1, "the attempt start is part of the claim");
    assert!(open[0].ended_at.is_none());
    tokio::time::sleep(Duration::from_millis(5)).await;
    // The dead owner's two come back first, as second attempts, marked interrupted.
    let second = store
        .claim_attempts("s1", "alive", 10, LEASE)
        .await
        .expect("claim");
    assert_eq!(second.len(), 3);
    let resumed: Vec<_> = second.iter().filter(|c| c.interrupted).collect();
    assert_eq!(resumed.len(), 2);
    assert!(resumed.iter().all(|c| c.attempt() == 2));
    let attempts = store
        .list_attempts(first[0].task.id)
        .await
        .expect("attempts");
    assert!(
        attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("interrupted"))
    );
    let job = store.job(job).await.expect("read").expect("job");
    assert_eq!((job.progress.running, job.progress.queued), (3, 0));
}

#[tokio::test]
async fn a_batch_applies_only_what_its_writer_holds_and_emits_every_change() {
    let (store, job) = store_with_job(3).await;
    let claimed = store
        .claim_attempts("s1", "w", 3, LEASE)
        .await
        .expect("claim");
    let ids: Vec<i64> = claimed.iter().map(|c| c.task.id).collect();
    let before = store.last_event_id().await.expect("id");
    let writes = [
        TaskWrite::Progress {
            task_id: ids[0],
            percent: 40,
            external_job_id: Some("cvad-1".into()),
        },
        TaskWrite::End {
            task_id: ids[0],
            end: TaskEnd::Succeeded {
                result: "done".into(),
            },
            external_job_id: None,
        },
        TaskWrite::End {
            task_id: ids[1],
            end: TaskEnd::Retry {
                error: "503".into(),
                delay: Duration::from_secs(30),
            },
            external_job_id: None,
        },
        // Not this writer's lease: changes nothing.
        TaskWrite::End {
            task_id: ids[2],
            end: TaskEnd::Failed { error: "no".into() },
            external_job_id: None,
        },
    ];
    let done = store.record_tasks("w", &writes[..3]).await.expect("batch");
    assert_eq!(done.applied, vec![true, true, true]);
    let other = store
        .record_tasks("other", &writes[3..])
        .await
        .expect("batch");
    assert_eq!(other.applied, vec![false]);
    let detail = store.get_job(job).await.expect("read").expect("job");
    let task = |id: i64| detail.tasks.iter().find(|t| t.id == id).expect("task");
    assert_eq!(task(ids[0]).state, TaskState::Succeeded);
    assert_eq!(task(ids[0]).external_job_id.as_deref(), Some("cvad-1"));
    assert_eq!(task(ids[1]).state, TaskState::Queued);
    assert_eq!(task(ids[2]).state, TaskState::Running);
    assert_eq!(
        (detail.job.progress.succeeded, detail.job.progress.queued),
        (1, 1)
    );
    let attempts = store.list_attempts(ids[1]).await.expect("attempts");
    assert!(attempts[0].ended_at.is_some());
    // Progress, two ends, one job: in that order, ids increasing.
    let events = store
        .events_since(before, 100)
        .await
        .expect("events")
        .events;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.kind.as_str(), e.payload["state"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("task", "running"),
            ("task", "succeeded"),
            ("task", "queued"),
            ("job", "running")
        ]
    );
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    // The SQL-built payload is the one the rest of the adapter builds.
    let ended = &events[1];
    assert_eq!(
        ended.payload,
        crate::adapter::store::events::task_payload(task(ids[0]))
    );
    assert_eq!(ended.subject, ids[0].to_string());
}

#[tokio::test]
async fn renewal_reports_lost_leases_and_release_undoes_a_claim() {
    let (store, job) = store_with_job(2).await;
    let claimed = store
        .claim_attempts("s1", "w", 2, LEASE)
        .await
        .expect("claim");
    let ids: Vec<i64> = claimed.iter().map(|c| c.task.id).collect();
    let kept = store.renew_leases("w", &ids, LEASE).await.expect("renew");
    assert_eq!(kept.len(), 2);
    assert!(
        store
            .renew_leases("x", &ids, LEASE)
            .await
            .expect("renew")
            .is_empty()
    );
    store.release_tasks("w", &ids[..1]).await.expect("release");
    let detail = store.get_job(job).await.expect("read").expect("job");
    let released = detail.tasks.iter().find(|t| t.id == ids[0]).expect("task");
    assert_eq!((released.state, released.attempts), (TaskState::Queued, 0));
    assert!(
        store
            .list_attempts(ids[0])
            .await
            .expect("attempts")
            .is_empty()
    );
    assert_eq!(detail.job.progress.queued, 1);
    let kept = store.renew_leases("w", &ids, LEASE).await.expect("renew");
    assert_eq!(kept, vec![ids[1]]);
    // Claimed again, it is a first attempt again: nothing was sent.
    let again = store
        .claim_attempts("s1", "w", 1, LEASE)
        .await
        .expect("claim");
    assert_eq!((again[0].task.id, again[0].attempt()), (ids[0], 1));
}
