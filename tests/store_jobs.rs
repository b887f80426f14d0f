//! Jobs in the store, on SQLite and PostgreSQL: idempotent creation and its answer, claiming and
//! leases, and restart after a crash. Each test runs on both backends (`sqlite::…`, `postgres::…`).

mod support;

use std::collections::HashSet;
use std::time::Duration;

use deskbridge::adapter::store::{JobQuery, JobState, StoreError, TaskState};
use support::stores::{Backend, LEASE, new_job, targets, ticket};

store_tests!(
    concurrent_creates_with_one_idempotency_key_make_one_job,
    concurrent_creates_for_one_ticket_and_action_make_one_job,
    bad_jobs_are_rejected_and_nothing_is_created,
    two_claimers_never_get_the_same_task,
    expired_leases_make_tasks_claimable_again,
    a_reopened_store_finds_unfinished_tasks_after_a_crash,
    a_created_job_is_answered_as_it_reads_back,
);

async fn concurrent_creates_with_one_idempotency_key_make_one_job(b: &Backend) {
    let store = b.open().await;
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

async fn concurrent_creates_for_one_ticket_and_action_make_one_job(b: &Backend) {
    let store = b.open().await;
    let mut handles = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut job = new_job("user.logoff", targets("s1", 1));
            job.ticket = ticket("prod", "INC0010001");
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
    other.ticket = ticket("prod", "INC0010001");
    assert!(store.create_job(other).await.unwrap().created);
}

async fn bad_jobs_are_rejected_and_nothing_is_created(b: &Backend) {
    let store = b.open().await;
    let empty = store.create_job(new_job("session.logoff", vec![])).await;
    assert!(matches!(empty, Err(StoreError::Invalid(_))), "{empty:?}");
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

async fn two_claimers_never_get_the_same_task(b: &Backend) {
    let store = b.open().await;
    store
        .create_job(new_job("session.logoff", targets("s1", 60)))
        .await
        .unwrap();
    store
        .create_job(new_job("session.logoff", targets("s2", 5)))
        .await
        .unwrap();
    // The second claimer has its own pool on the same database, like a second process would.
    let other = b.open().await;
    let claim_all = |store: support::stores::AnyStore, owner: &'static str| {
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

async fn expired_leases_make_tasks_claimable_again(b: &Backend) {
    let store = b.open().await;
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

async fn a_reopened_store_finds_unfinished_tasks_after_a_crash(b: &Backend) {
    let lease = Duration::from_millis(200);
    let (job_id, task_id) = {
        let store = b.open().await;
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
    let store = b.open().await;
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

async fn a_created_job_is_answered_as_it_reads_back(b: &Backend) {
    let store = b.open().await;
    // An earlier job, so the new job's task ids do not start at 1.
    store
        .create_job(new_job("session.logoff", targets("s1", 2)))
        .await
        .expect("first job");
    // Two sites, targets not in id or site order: the answer keeps the order given.
    let mut tasks = targets("s2", 3);
    tasks.extend(targets("s1", 4));
    tasks.reverse();
    let mut job = new_job("machine.restart", tasks.clone());
    job.ticket = ticket("dev", "RITM0010001");
    job.idempotency_key = Some("answer-key".to_owned());
    let created = store.create_job(job).await.expect("create job");
    assert!(created.created);
    let read = store
        .get_job(created.detail.job.id)
        .await
        .expect("get job")
        .expect("the job exists");
    assert_eq!(created.detail, read);
    let order: Vec<(&str, &str)> = created
        .detail
        .tasks
        .iter()
        .map(|t| (t.site.as_str(), t.target_id.as_str()))
        .collect();
    let given: Vec<(&str, &str)> = tasks
        .iter()
        .map(|t| (t.site.as_str(), t.target_id.as_str()))
        .collect();
    assert_eq!(order, given);
}
