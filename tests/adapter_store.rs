//! The adapter store (SQLite backend) on real database files: migrations, idempotent jobs,
//! claiming and leases, restart after a crash, job state, audit, events, outbox, clients.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use deskbridge::adapter::store::{
    AuditOutcome, AuditQuery, AuditStore, ClientStore, EventKind, EventRetention, EventStore,
    JobQuery, JobState, JobStore, NewApiClient, NewAuditEntry, NewJob, NewOutboxItem, NewTask,
    OutboxStore, Role, SqliteStore, Store, StoreError, TaskState, TicketRef,
};
use serde_json::json;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("deskbridge-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// A store URL inside a not-yet-existing subdirectory, to check it gets created.
    fn url(&self) -> String {
        format!("sqlite://{}", self.0.join("data/adapter.db").display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open(dir: &TempDir) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(&dir.url()).await.expect("open store"))
}

/// A second, raw connection to the same file, for looking under the store's API.
async fn raw(dir: &TempDir) -> sqlx::SqlitePool {
    let path = dir.0.join("data/adapter.db");
    sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("raw connection")
}

fn targets(site: &str, n: usize) -> Vec<NewTask> {
    (0..n)
        .map(|i| NewTask {
            site: site.to_owned(),
            target_id: format!("{site}-t{i}"),
            display_name: format!("target {i}"),
        })
        .collect()
}

fn new_job(action: &str, tasks: Vec<NewTask>) -> NewJob {
    NewJob {
        action: action.to_owned(),
        requested_by: "alice".to_owned(),
        ticket: None,
        params: json!({"force": false}),
        idempotency_key: None,
        tasks,
    }
}

const LEASE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn migrations_apply_and_reopen_is_idempotent() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let latest = SqliteStore::supported_schema_version();
    assert!(latest >= 1);
    assert_eq!(store.schema_version().await.unwrap(), latest);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw(&dir).await)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let job = store
        .create_job(new_job("session.logoff", targets("s1", 2)))
        .await
        .unwrap();
    store.close().await;
    drop(store);

    let store = open(&dir).await;
    assert_eq!(store.schema_version().await.unwrap(), latest);
    let again = store
        .get_job(job.detail.job.id)
        .await
        .unwrap()
        .expect("job kept");
    assert_eq!(again.tasks.len(), 2);
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&raw(&dir).await)
        .await
        .unwrap();
    assert_eq!(applied, latest, "reopening applies nothing twice");
}

#[tokio::test]
async fn memory_store_and_open_by_url() {
    let store = deskbridge::adapter::store::open("sqlite::memory:")
        .await
        .unwrap();
    let created = store
        .create_job(new_job("machine.start", targets("s", 1)))
        .await
        .unwrap();
    assert!(created.created);
    let err = deskbridge::adapter::store::open("mysql://x")
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("unsupported store URL"), "{err}");
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let dir = TempDir::new();
    open(&dir).await.close().await;
    let pool = raw(&dir).await;
    let future = SqliteStore::supported_schema_version() + 1;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (?, 'from the future', 1, x'00', 0)",
    )
    .bind(future)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let err = SqliteStore::open(&dir.url())
        .await
        .expect_err("must refuse");
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew { found, supported }
                if found == future && supported == future - 1
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
}

#[tokio::test]
async fn concurrent_creates_with_one_idempotency_key_make_one_job() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let mut handles = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut job = new_job("session.logoff", targets("s1", 3));
            job.idempotency_key = Some("key-1".to_owned());
            store.create_job(job).await
        }));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for h in handles {
        let r = h.await.unwrap().unwrap();
        created += usize::from(r.created);
        assert_eq!(r.detail.tasks.len(), 3);
        ids.insert(r.detail.job.id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    let page = store.list_jobs(JobQuery::default()).await.unwrap();
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn concurrent_creates_for_one_ticket_and_action_make_one_job() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let mut handles = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut job = new_job("user.logoff", targets("s1", 1));
            job.ticket = Some(TicketRef {
                instance: "prod".to_owned(),
                number: "INC0010001".to_owned(),
            });
            // Distinct keys: the ticket guard alone must hold.
            job.idempotency_key = Some(format!("k{i}"));
            store.create_job(job).await
        }));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for h in handles {
        let r = h.await.unwrap().unwrap();
        created += usize::from(r.created);
        ids.insert(r.detail.job.id);
    }
    assert_eq!((created, ids.len()), (1, 1));
    // Another action on the same ticket is a different job.
    let mut other = new_job("machine.restart", targets("s1", 1));
    other.ticket = Some(TicketRef {
        instance: "prod".to_owned(),
        number: "INC0010001".to_owned(),
    });
    assert!(store.create_job(other).await.unwrap().created);
}

#[tokio::test]
async fn bad_jobs_are_rejected_and_nothing_is_created() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    let empty = store.create_job(new_job("session.logoff", vec![])).await;
    assert!(matches!(empty, Err(StoreError::Invalid(_))));
    let mut dup = targets("s1", 1);
    dup.extend(targets("s1", 1));
    let err = store
        .create_job(new_job("session.logoff", dup))
        .await
        .expect_err("dup");
    assert!(err.to_string().contains("listed twice"), "{err}");
    assert!(
        store
            .list_jobs(JobQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn two_claimers_never_get_the_same_task() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    store
        .create_job(new_job("session.logoff", targets("s1", 60)))
        .await
        .unwrap();
    store
        .create_job(new_job("session.logoff", targets("s2", 5)))
        .await
        .unwrap();
    // The second claimer has its own pool on the same file, like a second process would.
    let other = open(&dir).await;
    let claim_all = |store: Arc<SqliteStore>, owner: &'static str| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = store.claim_tasks("s1", owner, 4, LEASE).await.unwrap();
                if batch.is_empty() {
                    return got;
                }
                for t in &batch {
                    assert_eq!(t.state, TaskState::Running);
                    assert_eq!(t.lease_owner.as_deref(), Some(owner));
                }
                got.extend(batch.into_iter().map(|t| t.id));
            }
        })
    };
    let (a, b) = (claim_all(store.clone(), "a"), claim_all(other, "b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let a: HashSet<i64> = a.into_iter().collect();
    let b: HashSet<i64> = b.into_iter().collect();
    assert!(a.is_disjoint(&b));
    assert_eq!(
        a.len() + b.len(),
        60,
        "every s1 task claimed once, no s2 task"
    );
    assert_eq!(
        store.sites_with_due_tasks().await.unwrap(),
        vec!["s2".to_owned()]
    );
}

#[tokio::test]
async fn expired_leases_make_tasks_claimable_again() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    store
        .create_job(new_job("machine.restart", targets("s1", 1)))
        .await
        .unwrap();
    // Long enough that a loaded test machine still claims within it; short enough to wait out.
    let short = Duration::from_millis(600);
    let first = store.claim_tasks("s1", "w1", 10, short).await.unwrap();
    assert_eq!(first.len(), 1);
    let id = first[0].id;
    assert!(
        store
            .claim_tasks("s1", "w2", 10, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    // Renewing keeps it; the renewal itself is short too.
    store.renew_lease(id, "w1", short).await.unwrap();
    assert!(matches!(
        store.renew_lease(id, "w2", short).await,
        Err(StoreError::LeaseLost { .. })
    ));
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(store.expired_leases(10).await.unwrap().len(), 1);
    let second = store.claim_tasks("s1", "w2", 10, LEASE).await.unwrap();
    assert_eq!(second.iter().map(|t| t.id).collect::<Vec<_>>(), vec![id]);
    // The stalled worker can no longer finish or touch it.
    assert!(matches!(
        store.complete_task(id, "w1", None).await,
        Err(StoreError::LeaseLost { .. })
    ));
    let done = store
        .complete_task(id, "w2", Some("logged off"))
        .await
        .unwrap();
    assert_eq!(done.task.state, TaskState::Succeeded);
    assert_eq!(done.job.state, JobState::Succeeded);
}

#[tokio::test]
async fn a_reopened_store_finds_unfinished_tasks_after_a_crash() {
    let dir = TempDir::new();
    let lease = Duration::from_millis(200);
    let (job_id, task_id) = {
        let store = open(&dir).await;
        let job = store
            .create_job(new_job("session.logoff", targets("s1", 3)))
            .await
            .unwrap();
        let claimed = store
            .claim_tasks("s1", "old-process", 1, lease)
            .await
            .unwrap();
        let task = &claimed[0];
        store.start_attempt(task.id, "old-process").await.unwrap();
        store
            .update_task_progress(task.id, "old-process", 40, Some("cvad-job-7"))
            .await
            .unwrap();
        // No close(): the process is gone as if killed with -9.
        (job.detail.job.id, task.id)
    };
    let store = open(&dir).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let expired = store.expired_leases(10).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].id, task_id);
    assert_eq!(expired[0].external_job_id.as_deref(), Some("cvad-job-7"));
    let mut claimed = store
        .claim_tasks("s1", "new-process", 10, LEASE)
        .await
        .unwrap();
    assert_eq!(
        claimed.len(),
        3,
        "the interrupted task and the two never started"
    );
    claimed.sort_by_key(|t| t.id);
    assert_eq!(claimed[0].id, task_id);
    assert_eq!(claimed[0].attempts, 1);
    let attempt = store.start_attempt(task_id, "new-process").await.unwrap();
    assert_eq!(attempt.number, 2);
    let attempts = store.list_attempts(task_id).await.unwrap();
    assert_eq!(attempts.len(), 2);
    // The whole job's attempts in one read: the same two, and none of the other tasks (never
    // started).
    assert_eq!(store.list_job_attempts(job_id).await.unwrap(), attempts);
    assert!(
        attempts[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("interrupted")
    );
    assert!(attempts[0].ended_at.is_some());
    for t in &claimed {
        store
            .complete_task(t.id, "new-process", None)
            .await
            .unwrap();
    }
    let job = store.get_job(job_id).await.unwrap().unwrap().job;
    assert_eq!(job.state, JobState::Succeeded);
    assert!(store.expired_leases(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn job_state_and_progress_follow_mixed_outcomes() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let job = store
        .create_job(new_job("session.logoff", targets("s1", 4)))
        .await
        .unwrap();
    assert_eq!(job.detail.job.state, JobState::Queued);
    assert_eq!(job.detail.job.progress.total, 4);
    let tasks = store.claim_tasks("s1", "w", 4, LEASE).await.unwrap();
    let job_id = job.detail.job.id;
    let j = store.get_job(job_id).await.unwrap().unwrap().job;
    assert_eq!((j.state, j.progress.running), (JobState::Running, 4));

    for t in &tasks {
        store.start_attempt(t.id, "w").await.unwrap();
    }
    store
        .complete_task(tasks[0].id, "w", Some("ok"))
        .await
        .unwrap();
    store
        .complete_task(tasks[1].id, "w", Some("ok"))
        .await
        .unwrap();
    store
        .fail_task(tasks[2].id, "w", "404 session not found")
        .await
        .unwrap();
    // A transient failure: back to queued, due later; the job stays running.
    let t = store
        .reschedule_task(
            tasks[3].id,
            "w",
            "503 connector down",
            Duration::from_millis(50),
        )
        .await
        .unwrap();
    assert_eq!(t.task.state, TaskState::Queued);
    assert_eq!(t.job.state, JobState::Running);
    assert_eq!(t.job.progress.queued, 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = store.claim_tasks("s1", "w", 4, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    let a = store.start_attempt(again[0].id, "w").await.unwrap();
    assert_eq!(a.number, 2);
    let last = store
        .fail_task(again[0].id, "w", "503 again, giving up")
        .await
        .unwrap();
    assert_eq!(last.job.state, JobState::PartiallyFailed);
    let p = last.job.progress;
    assert_eq!(
        (p.total, p.succeeded, p.failed, p.running, p.queued),
        (4, 2, 2, 0, 0)
    );
    let attempts = store.list_attempts(again[0].id).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert!(attempts.iter().all(|a| a.ended_at.is_some()));
}

#[tokio::test]
async fn cancel_drops_queued_tasks_and_retry_requeues_failed_ones() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let job = store
        .create_job(new_job("machine.shutdown", targets("s1", 3)))
        .await
        .unwrap();
    let id = job.detail.job.id;
    let running = store.claim_tasks("s1", "w", 1, LEASE).await.unwrap();
    let cancelled = store.cancel_job(id).await.unwrap();
    let states: Vec<TaskState> = cancelled.tasks.iter().map(|t| t.state).collect();
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == TaskState::Cancelled)
            .count(),
        2
    );
    assert_eq!(
        cancelled.job.state,
        JobState::Running,
        "one task still runs"
    );
    assert!(
        store
            .claim_tasks("s1", "w2", 10, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    let end = store.complete_task(running[0].id, "w", None).await.unwrap();
    assert_eq!(end.job.state, JobState::Cancelled);

    let job = store
        .create_job(new_job("machine.start", targets("s2", 2)))
        .await
        .unwrap();
    let id = job.detail.job.id;
    let tasks = store.claim_tasks("s2", "w", 2, LEASE).await.unwrap();
    for t in &tasks {
        store.start_attempt(t.id, "w").await.unwrap();
    }
    store.complete_task(tasks[0].id, "w", None).await.unwrap();
    let failed = store
        .fail_task(tasks[1].id, "w", "power action refused")
        .await
        .unwrap();
    assert_eq!(failed.job.state, JobState::PartiallyFailed);
    let retried = store.retry_job(id).await.unwrap();
    assert_eq!(retried.job.state, JobState::Running);
    let t1 = retried.tasks.iter().find(|t| t.id == tasks[1].id).unwrap();
    assert_eq!((t1.state, t1.error.as_deref()), (TaskState::Queued, None));
    assert_eq!(
        retried
            .tasks
            .iter()
            .find(|t| t.id == tasks[0].id)
            .unwrap()
            .state,
        TaskState::Succeeded
    );
    let again = store.claim_tasks("s2", "w", 10, LEASE).await.unwrap();
    assert_eq!(again.len(), 1, "only the failed target runs again");
    assert_eq!(
        store.start_attempt(again[0].id, "w").await.unwrap().number,
        2
    );
    let done = store.complete_task(again[0].id, "w", None).await.unwrap();
    assert_eq!(done.job.state, JobState::Succeeded);
    assert!(matches!(
        store.cancel_job(uuid::Uuid::new_v4()).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn jobs_list_with_cursor_paging() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    for i in 0..7 {
        let mut job = new_job("session.logoff", targets("s1", 1));
        job.idempotency_key = Some(format!("k{i}"));
        store.create_job(job).await.unwrap();
    }
    let mut seen = HashSet::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_jobs(JobQuery {
                cursor: cursor.clone(),
                limit: 3,
                ..Default::default()
            })
            .await
            .unwrap();
        for j in &page.items {
            assert!(seen.insert(j.id));
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 7);
}

fn audit(actor: &str, action: &str, message: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor_id: None,
        actor_name: actor.to_owned(),
        action: action.to_owned(),
        targets: json!([{"site": "s1", "id": "m-1"}]),
        ticket: Some(TicketRef {
            instance: "prod".to_owned(),
            number: "INC001".to_owned(),
        }),
        outcome: AuditOutcome::Allowed,
        message: Some(message.to_owned()),
        request_id: Some("req-1".to_owned()),
    }
}

#[tokio::test]
async fn audit_is_append_only_with_filters_and_paging() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    for i in 0..25 {
        let actor = if i % 2 == 0 { "alice" } else { "bob" };
        let action = if i % 5 == 0 {
            "machine.restart"
        } else {
            "session.logoff"
        };
        store
            .append_audit(audit(actor, action, &format!("call number {i}")))
            .await
            .unwrap();
    }
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .query_audit(AuditQuery {
                cursor,
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        ids.extend(page.items.iter().map(|e| e.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(ids.len(), 25);
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );

    let alice = store
        .query_audit(AuditQuery {
            actor: Some("alice".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(alice.items.len(), 13);
    let restarts = store
        .query_audit(AuditQuery {
            action: Some("machine.restart".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(restarts.items.len(), 5);
    let text = store
        .query_audit(AuditQuery {
            text: Some("NUMBER 17".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(text.items.len(), 1);
    assert_eq!(
        text.items[0].ticket.as_ref().map(|t| t.number.as_str()),
        Some("INC001")
    );
    let future = chrono::Utc::now() + chrono::Duration::hours(1);
    let none = store
        .query_audit(AuditQuery {
            since: Some(future),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.items.is_empty());

    // Even bypassing the API, the database refuses to rewrite history.
    let pool = raw(&dir).await;
    let upd = sqlx::query("UPDATE audit_log SET actor_name = 'mallory'")
        .execute(&pool)
        .await;
    assert!(upd.is_err());
    let del = sqlx::query("DELETE FROM audit_log").execute(&pool).await;
    assert!(del.unwrap_err().to_string().contains("append-only"));
}

#[tokio::test]
async fn events_since_id_and_pruning() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    assert_eq!(store.last_event_id().await.unwrap(), 0);
    for i in 0..10 {
        store
            .append_event(EventKind::Task, &format!("t{i}"), json!({"i": i}))
            .await
            .unwrap();
    }
    let all = store.events_since(0, 100).await.unwrap();
    assert_eq!(all.events.len(), 10);
    assert!(!all.missed);
    let first = all.events[0].id;
    let after5 = store.events_since(first + 4, 100).await.unwrap();
    assert_eq!(after5.events.len(), 5);
    assert_eq!(after5.events[0].payload, json!({"i": 5}));

    let report = store
        .prune_events(EventRetention {
            max_age: Duration::from_secs(3600),
            max_events: 3,
        })
        .await
        .unwrap();
    assert_eq!(report.deleted, 7);
    assert_eq!(report.oldest_retained, Some(first + 7));
    let stale = store.events_since(first + 1, 100).await.unwrap();
    assert!(
        stale.missed,
        "a client that was at an early id is told it missed events"
    );
    assert_eq!(stale.oldest_retained, Some(first + 7));
    let fresh = store.events_since(first + 6, 100).await.unwrap();
    assert!(!fresh.missed);
    assert_eq!(fresh.events.len(), 3);

    let report = store
        .prune_events(EventRetention {
            max_age: Duration::ZERO,
            max_events: 1000,
        })
        .await
        .unwrap();
    assert_eq!((report.deleted, report.oldest_retained), (3, None));
    assert_eq!(store.last_event_id().await.unwrap(), first + 9);
    let next = store
        .append_event(EventKind::Job, "j", json!({}))
        .await
        .unwrap();
    assert_eq!(next.id, first + 10, "ids are never reused after pruning");
}

fn write(ticket: &str, n: u32) -> NewOutboxItem {
    NewOutboxItem {
        instance: "prod".to_owned(),
        table: "incident".to_owned(),
        ticket: ticket.to_owned(),
        job_id: None,
        payload: json!({"work_notes": format!("note {n}")}),
    }
}

#[tokio::test]
async fn outbox_keeps_per_ticket_order_and_delivers_once() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let a1 = store.enqueue_outbox(write("A", 1)).await.unwrap();
    let a2 = store.enqueue_outbox(write("A", 2)).await.unwrap();
    let b1 = store.enqueue_outbox(write("B", 1)).await.unwrap();
    let batch = store.claim_outbox("w", 10, LEASE).await.unwrap();
    assert_eq!(
        batch.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![a1.id, b1.id]
    );
    assert!(
        store
            .claim_outbox("w2", 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );

    // ServiceNow refuses A1: A2 must wait, B is unaffected.
    let failed = store
        .mark_outbox_failed(
            a1.id,
            "w",
            "503 Service Unavailable",
            Some(Duration::from_millis(1000)),
        )
        .await
        .unwrap();
    assert_eq!(
        (failed.attempts, failed.last_error.as_deref()),
        (1, Some("503 Service Unavailable"))
    );
    store
        .mark_outbox_delivered(b1.id, "w", Some(7))
        .await
        .unwrap();
    let b2 = store.enqueue_outbox(write("B", 2)).await.unwrap();
    let batch = store.claim_outbox("w", 10, LEASE).await.unwrap();
    assert_eq!(batch.iter().map(|i| i.id).collect::<Vec<_>>(), vec![b2.id]);
    store
        .mark_outbox_delivered(b2.id, "w", Some(7))
        .await
        .unwrap();
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        vec![("prod".to_owned(), 2)]
    );

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let batch = store.claim_outbox("w", 10, LEASE).await.unwrap();
    assert_eq!(batch.iter().map(|i| i.id).collect::<Vec<_>>(), vec![a1.id]);
    let delivered = store
        .mark_outbox_delivered(a1.id, "w", Some(7))
        .await
        .unwrap();
    assert_eq!(delivered.attempts, 2);
    assert!(
        matches!(
            store.mark_outbox_delivered(a1.id, "w", Some(7)).await,
            Err(StoreError::OutboxLeaseLost { .. })
        ),
        "a write is recorded delivered once"
    );
    let batch = store.claim_outbox("w", 10, LEASE).await.unwrap();
    assert_eq!(batch.iter().map(|i| i.id).collect::<Vec<_>>(), vec![a2.id]);
    // A conflicting write is abandoned, not forced; nothing stays pending.
    let gave_up = store
        .mark_outbox_failed(a2.id, "w", "conflict", None)
        .await
        .unwrap();
    assert!(gave_up.abandoned_at.is_some());
    assert!(store.claim_outbox("w", 10, LEASE).await.unwrap().is_empty());
    assert!(store.outbox_depth().await.unwrap().is_empty());
}

#[tokio::test]
async fn client_secrets_are_hashed_and_verified() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let secret = "s3cret-Value-that-must-not-leak";
    let client = store
        .create_client(NewApiClient {
            id: None,
            name: "helpdesk-1".to_owned(),
            role: Role::Helpdesk,
            secret: secret.to_owned(),
            enabled: true,
        })
        .await
        .unwrap();
    let id = client.id.to_string();
    let ok = store.verify_client(&id, secret).await.unwrap();
    assert_eq!(ok.map(|c| c.role), Some(Role::Helpdesk));
    assert!(store.verify_client(&id, "wrong").await.unwrap().is_none());
    assert!(
        store
            .verify_client("no-such-client", secret)
            .await
            .unwrap()
            .is_none()
    );
    store.set_client_enabled(client.id, false).await.unwrap();
    assert!(
        store.verify_client(&id, secret).await.unwrap().is_none(),
        "disabled"
    );
    store.set_client_enabled(client.id, true).await.unwrap();
    store.set_client_secret(client.id, "rotated").await.unwrap();
    assert!(store.verify_client(&id, secret).await.unwrap().is_none());
    assert!(store.verify_client(&id, "rotated").await.unwrap().is_some());

    let pool = raw(&dir).await;
    let (name, hash): (String, String) =
        sqlx::query_as("SELECT name, secret_hash FROM api_clients")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(name, "helpdesk-1");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("rotated") && !hash.contains(secret));
    let dump: Vec<String> =
        sqlx::query_scalar("SELECT quote(secret_hash) || name || role FROM api_clients")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(dump.iter().all(|row| !row.contains("rotated")));

    let key = store.signing_key().await.unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(store.signing_key().await.unwrap(), key);
    store.close().await;
    assert_eq!(
        open(&dir).await.signing_key().await.unwrap(),
        key,
        "kept across restarts"
    );
}

#[tokio::test]
async fn the_engine_can_hold_a_dyn_store() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
    let job = store
        .create_job(new_job("site.disable", targets("s1", 1)))
        .await
        .unwrap();
    let tasks = store.claim_tasks("s1", "w", 1, LEASE).await.unwrap();
    store.complete_task(tasks[0].id, "w", None).await.unwrap();
    let detail = store.get_job(job.detail.job.id).await.unwrap().unwrap();
    assert_eq!(detail.job.state, JobState::Succeeded);
    assert_eq!(detail.tasks[0].percent, 100);
}

#[tokio::test]
async fn cancelling_a_job_whose_tasks_all_run_is_recorded_for_the_workers() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    let job = store
        .create_job(new_job("session.logoff", targets("s1", 2)))
        .await
        .unwrap();
    let id = job.detail.job.id;
    assert!(job.detail.job.cancel_requested_at.is_none());
    let tasks = store.claim_tasks("s1", "w", 2, LEASE).await.unwrap();
    for t in &tasks {
        store.start_attempt(t.id, "w").await.unwrap();
    }
    let after = store.cancel_job(id).await.unwrap();
    assert!(
        after.job.cancel_requested_at.is_some(),
        "workers can see it"
    );
    assert_eq!(after.job.state, JobState::Running);
    store
        .fail_task(tasks[0].id, "w", "logoff refused")
        .await
        .unwrap();
    let end = store
        .cancel_task(tasks[1].id, "w", "cancelled at the site")
        .await
        .unwrap();
    assert_eq!(end.task.state, TaskState::Cancelled);
    assert_eq!(end.job.state, JobState::Failed);
    let attempts = store.list_attempts(tasks[1].id).await.unwrap();
    assert_eq!(
        attempts[0].outcome,
        Some(deskbridge::adapter::store::AttemptOutcome::Cancelled)
    );
    // Retrying the failed target withdraws the cancel.
    let retried = store.retry_job(id).await.unwrap();
    assert!(retried.job.cancel_requested_at.is_none());
    assert_eq!(retried.job.progress.queued, 1);
}

#[tokio::test]
async fn ticket_phases_advance_once_with_their_writes() {
    use deskbridge::adapter::store::{TicketLinkStore, TicketPhase};
    let dir = TempDir::new();
    let store = open(&dir).await;
    let created = store
        .create_job(NewJob {
            action: "session.logoff".to_owned(),
            requested_by: "helpdesk".to_owned(),
            ticket: Some(TicketRef {
                instance: "prod".to_owned(),
                number: "INC0010001".to_owned(),
            }),
            params: json!({}),
            idempotency_key: None,
            tasks: vec![NewTask {
                site: "london".to_owned(),
                target_id: "s1".to_owned(),
                display_name: "s1".to_owned(),
            }],
        })
        .await
        .unwrap();
    let id = created.detail.job.id;
    // Queued: nothing to tell the ticket yet.
    assert!(store.ticket_lags(10).await.unwrap().is_empty());
    // Running: the ticket lags until a worker reports it; only the first report counts.
    let claimed = store.claim_tasks("london", "w", 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let lags = store.ticket_lags(10).await.unwrap();
    assert_eq!(lags.len(), 1);
    assert_eq!(lags[0].reported, TicketPhase::None);
    let writes = vec![write("INC0010001", 1)];
    assert!(
        store
            .advance_ticket_phase(id, TicketPhase::None, TicketPhase::Started, writes.clone())
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_ticket_phase(id, TicketPhase::None, TicketPhase::Started, writes)
            .await
            .unwrap(),
        "a second reporter queues nothing"
    );
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        vec![("prod".to_owned(), 1)]
    );
    assert!(store.ticket_lags(10).await.unwrap().is_empty());
    assert_eq!(
        store.jobs_for_ticket("prod", "INC0010001").await.unwrap(),
        vec![id]
    );
    store
        .set_ticket_status(id, "job started: written")
        .await
        .unwrap();
    assert_eq!(
        store.ticket_status(id).await.unwrap().as_deref(),
        Some("job started: written")
    );
    // A refusal is recorded once.
    assert!(
        store
            .record_refusal("prod", "SCTASK1", "no recipe")
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_refusal("prod", "SCTASK1", "no recipe")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn an_outbox_write_claimed_again_after_its_lease_expired_counts_the_lost_try() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let item = store.enqueue_outbox(write("INC1", 1)).await.unwrap();
    assert_eq!(item.attempts, 0);
    let first = store
        .claim_outbox("dead", 10, Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 0, "a first claim is no try yet");
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The claimer died mid-delivery; the next one learns that a try may have reached
    // ServiceNow (the delivery worker then looks for the note before sending it again).
    let again = store.claim_outbox("next", 10, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
}
