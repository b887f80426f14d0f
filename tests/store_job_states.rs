//! Job state in the store, on SQLite and PostgreSQL: progress over mixed outcomes, cancel and
//! retry, paging, and the engine's `dyn Store`. Each test runs on both backends.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use deskbridge::adapter::store::{
    AttemptOutcome, JobQuery, JobState, Store, StoreError, TaskState,
};
use support::stores::{Backend, LEASE, new_job, targets};

store_tests!(
    job_state_and_progress_follow_mixed_outcomes,
    cancel_drops_queued_tasks_and_retry_requeues_failed_ones,
    jobs_list_with_cursor_paging,
    the_engine_can_hold_a_dyn_store,
    cancelling_a_job_whose_tasks_all_run_is_recorded_for_the_workers,
);

async fn job_state_and_progress_follow_mixed_outcomes(b: &Backend) {
    let store = b.open().await;
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

async fn cancel_drops_queued_tasks_and_retry_requeues_failed_ones(b: &Backend) {
    let store = b.open().await;
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

async fn jobs_list_with_cursor_paging(b: &Backend) {
    let store = b.open().await;
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

async fn the_engine_can_hold_a_dyn_store(b: &Backend) {
    let store: Arc<dyn Store> = b.open().await.as_dyn();
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

async fn cancelling_a_job_whose_tasks_all_run_is_recorded_for_the_workers(b: &Backend) {
    let store = b.open().await;
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
    assert_eq!(attempts[0].outcome, Some(AttemptOutcome::Cancelled));
    // Retrying the failed target withdraws the cancel.
    let retried = store.retry_job(id).await.unwrap();
    assert!(retried.job.cancel_requested_at.is_none());
    assert_eq!(retried.job.progress.queued, 1);
}
