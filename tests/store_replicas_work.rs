//! Several replicas sharing one database, doing the work: task claims from three stores on one
//! large job, a replica that dies mid-attempt, the event feed read while three stores append,
//! and outbox delivery from two. Each test runs on SQLite (stores on one file) and PostgreSQL
//! (stores on one database), which is where replicas really run.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deskbridge::adapter::store::{EventKind, JobState, TaskEnd, TaskState, TaskWrite};
use serde_json::json;
use support::stores::{AnyStore, Backend, LEASE, new_job, targets, write};

store_tests!(
    three_replicas_claim_disjoint_attempts_covering_a_large_job,
    a_dead_replicas_tasks_are_claimed_by_another_after_lease_expiry,
    a_follower_sees_every_event_once_in_order_while_three_replicas_append,
    two_replicas_deliver_each_outbox_write_once_in_ticket_order,
);

/// Claims attempts of `site` for `owner` until none is left; the ids claimed.
async fn claim_until_empty(store: AnyStore, site: &'static str, owner: String) -> Vec<i64> {
    let mut got = Vec::new();
    loop {
        let batch = store
            .claim_attempts(site, &owner, 100, LEASE)
            .await
            .expect("claim attempts");
        if batch.is_empty() {
            return got;
        }
        for c in &batch {
            assert_eq!(c.task.state, TaskState::Running);
            assert_eq!(c.task.lease_owner.as_deref(), Some(owner.as_str()));
            assert_eq!((c.attempt(), c.interrupted), (1, false));
        }
        got.extend(batch.into_iter().map(|c| c.task.id));
    }
}

async fn three_replicas_claim_disjoint_attempts_covering_a_large_job(b: &Backend) {
    let first = b.open().await;
    let created = first
        .create_job(new_job("session.logoff", targets("s1", 3000)))
        .await
        .expect("create a job of 3,000 targets");
    let job_id = created.detail.job.id;
    assert_eq!(created.detail.tasks.len(), 3000);
    let replicas = [first, b.open().await, b.open().await];
    let handles: Vec<_> = replicas
        .iter()
        .enumerate()
        .map(|(i, s)| tokio::spawn(claim_until_empty(s.clone(), "s1", format!("replica-{i}"))))
        .collect();
    let mut claimed = HashSet::new();
    let mut shares = Vec::new();
    for h in handles {
        let got = h.await.expect("claimer");
        shares.push(got.len());
        for id in got {
            assert!(claimed.insert(id), "task {id} claimed by two replicas");
        }
    }
    eprintln!("shares of the three replicas: {shares:?}");
    let expected: HashSet<i64> = created.detail.tasks.iter().map(|t| t.id).collect();
    assert_eq!(
        claimed, expected,
        "every task claimed, by exactly one replica"
    );
    let attempts = replicas[1]
        .list_job_attempts(job_id)
        .await
        .expect("attempts");
    assert_eq!(attempts.len(), 3000, "one attempt per task, none twice");
    assert!(
        attempts
            .iter()
            .all(|a| a.number == 1 && a.ended_at.is_none())
    );
    let job = replicas[2]
        .job(job_id)
        .await
        .expect("job")
        .expect("job kept");
    assert_eq!((job.state, job.progress.running), (JobState::Running, 3000));
}

async fn a_dead_replicas_tasks_are_claimed_by_another_after_lease_expiry(b: &Backend) {
    let survivor = b.open().await;
    let job = survivor
        .create_job(new_job("machine.restart", targets("s1", 5)))
        .await
        .expect("create job");
    // Long enough that a loaded test machine takes the fresh tasks within it.
    let lease = Duration::from_millis(1500);
    let mut held = {
        let dying = b.open().await;
        let claimed = dying
            .claim_attempts("s1", "dying", 3, lease)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 3);
        let mut ids: Vec<i64> = claimed.iter().map(|c| c.task.id).collect();
        ids.sort_unstable();
        // While alive it renews and reports progress...
        let mut renewed = dying
            .renew_leases("dying", &ids, lease)
            .await
            .expect("renew");
        renewed.sort_unstable();
        assert_eq!(renewed, ids);
        let progress = TaskWrite::Progress {
            task_id: ids[0],
            percent: 30,
            external_job_id: Some("cvad-job-9".to_owned()),
        };
        let recorded = dying
            .record_tasks("dying", &[progress])
            .await
            .expect("record progress");
        assert_eq!(recorded.applied, vec![true]);
        // ...then it is gone, as if killed: no close, no release, no more renewals.
        ids
    };
    held.sort_unstable();
    let fresh = survivor
        .claim_attempts("s1", "survivor", 10, LEASE)
        .await
        .expect("claim");
    assert_eq!(fresh.len(), 2, "live leases are not taken over");
    assert!(fresh.iter().all(|c| !c.interrupted && c.attempt() == 1));

    tokio::time::sleep(Duration::from_millis(2000)).await;
    let mut expired: Vec<i64> = survivor
        .expired_leases(10)
        .await
        .expect("expired leases")
        .iter()
        .map(|t| t.id)
        .collect();
    expired.sort_unstable();
    assert_eq!(expired, held);
    let mut taken = survivor
        .claim_attempts("s1", "survivor", 10, LEASE)
        .await
        .expect("claim after expiry");
    taken.sort_by_key(|c| c.task.id);
    assert_eq!(taken.iter().map(|c| c.task.id).collect::<Vec<_>>(), held);
    for c in &taken {
        assert!(c.interrupted, "the dead replica's attempt is reported");
        assert_eq!(c.attempt(), 2);
        assert_eq!(c.task.lease_owner.as_deref(), Some("survivor"));
    }
    assert_eq!(
        taken[0].task.external_job_id.as_deref(),
        Some("cvad-job-9"),
        "the site's job id survives, so the new attempt can look it up"
    );
    let attempts = survivor.list_attempts(held[0]).await.expect("attempts");
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].owner, "dying");
    assert!(attempts[0].ended_at.is_some());
    assert!(
        attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("interrupted")),
        "{:?}",
        attempts[0]
    );
    assert_eq!(
        (attempts[1].owner.as_str(), attempts[1].ended_at),
        ("survivor", None)
    );

    // The dead replica's writes, arriving late (a paused process resuming), change nothing.
    let zombie = b.open().await;
    let late = TaskWrite::End {
        task_id: held[0],
        end: TaskEnd::Succeeded {
            result: "late".to_owned(),
        },
        external_job_id: None,
    };
    let recorded = zombie.record_tasks("dying", &[late]).await.expect("record");
    assert_eq!(recorded.applied, vec![false]);
    assert!(
        zombie
            .renew_leases("dying", &held, lease)
            .await
            .expect("renew")
            .is_empty()
    );

    let ends: Vec<TaskWrite> = taken
        .iter()
        .chain(&fresh)
        .map(|c| TaskWrite::End {
            task_id: c.task.id,
            end: TaskEnd::Succeeded {
                result: "restarted".to_owned(),
            },
            external_job_id: None,
        })
        .collect();
    let recorded = survivor.record_tasks("survivor", &ends).await.expect("end");
    assert_eq!(recorded.applied, vec![true; 5]);
    let job = survivor
        .job(job.detail.job.id)
        .await
        .expect("job")
        .expect("kept");
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.progress.succeeded, 5);
}

async fn a_follower_sees_every_event_once_in_order_while_three_replicas_append(b: &Backend) {
    let replicas = [b.open().await, b.open().await, b.open().await];
    let follower = b.open().await;
    replicas[2]
        .create_job(new_job("session.logoff", targets("s1", 150)))
        .await
        .expect("create job");
    let start = follower.last_event_id().await.expect("last event id");
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let (follower, done) = (follower.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut last = start;
            loop {
                // Read the flag first: once it is set, every append has committed.
                let finished = done.load(Ordering::SeqCst);
                let page = follower.events_since(last, 50).await.expect("events");
                assert!(!page.missed);
                for e in &page.events {
                    assert!(e.id > last, "id {} after {last}: not increasing", e.id);
                    last = e.id;
                    seen.push(e.id);
                }
                if page.events.is_empty() {
                    if finished {
                        return seen;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
    };
    // Two replicas append events directly; the third through its task batches, which append
    // theirs in the same transactions as the task changes.
    let mut writers = Vec::new();
    for (i, store) in replicas.iter().take(2).enumerate() {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for n in 0..300 {
                store
                    .append_event(EventKind::Site, &format!("r{i}"), json!({"r": i, "n": n}))
                    .await
                    .expect("append event");
            }
        }));
    }
    let worker = replicas[2].clone();
    writers.push(tokio::spawn(async move {
        loop {
            let claimed = worker
                .claim_attempts("s1", "r2", 10, LEASE)
                .await
                .expect("claim");
            if claimed.is_empty() {
                return;
            }
            let ends: Vec<TaskWrite> = claimed
                .iter()
                .map(|c| TaskWrite::End {
                    task_id: c.task.id,
                    end: TaskEnd::Succeeded {
                        result: "ok".to_owned(),
                    },
                    external_job_id: None,
                })
                .collect();
            worker.record_tasks("r2", &ends).await.expect("record");
        }
    }));
    for w in writers {
        w.await.expect("writer");
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.expect("follower");

    let mut all = Vec::new();
    let mut after = start;
    loop {
        let page = follower.events_since(after, 1000).await.expect("events");
        let Some(last) = page.events.last() else {
            break;
        };
        after = last.id;
        all.extend(page.events);
    }
    let ids: Vec<i64> = all.iter().map(|e| e.id).collect();
    assert_eq!(seen.len(), ids.len(), "the follower skipped events");
    assert_eq!(seen, ids, "the follower saw exactly the feed, in order");
    let direct: HashSet<(i64, i64)> = all
        .iter()
        .filter(|e| e.kind == EventKind::Site)
        .map(|e| {
            let r = e.payload["r"].as_i64().expect("r");
            (r, e.payload["n"].as_i64().expect("n"))
        })
        .collect();
    assert_eq!(direct.len(), 600, "every appended event once");
    let ended = all
        .iter()
        .filter(|e| e.kind == EventKind::Task && e.payload["state"] == json!("succeeded"))
        .count();
    assert_eq!(ended, 150, "a task event for every task the batches ended");
}

async fn two_replicas_deliver_each_outbox_write_once_in_ticket_order(b: &Backend) {
    let first = b.open().await;
    let mut enqueued: HashMap<String, Vec<i64>> = HashMap::new();
    for n in 0..8 {
        for t in 0..6 {
            let ticket = format!("INC00{t}");
            let item = first
                .enqueue_outbox(write(&ticket, n))
                .await
                .expect("enqueue");
            enqueued.entry(ticket).or_default().push(item.id);
        }
    }
    // Each claim is logged before any write of the batch is marked delivered, so a ticket's
    // next write (claimable only after this one is delivered) is always logged after it.
    let log: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let replicas = [first, b.open().await];
    let handles: Vec<_> = replicas
        .iter()
        .enumerate()
        .map(|(i, store)| {
            let (store, log) = (store.clone(), log.clone());
            tokio::spawn(async move {
                let owner = format!("replica-{i}");
                loop {
                    let batch = store.claim_outbox(&owner, 4, LEASE).await.expect("claim");
                    if batch.is_empty() {
                        if store.outbox_depth().await.expect("depth").is_empty() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        continue;
                    }
                    log.lock()
                        .expect("log")
                        .extend(batch.iter().map(|w| (w.ticket.clone(), w.id)));
                    for w in &batch {
                        store
                            .mark_outbox_delivered(w.id, &owner, Some(1))
                            .await
                            .expect("a claimed write is delivered once");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.await.expect("delivery worker");
    }
    let log = log.lock().expect("log").clone();
    assert_eq!(log.len(), 48, "every write claimed once: {log:?}");
    let mut per_ticket: HashMap<String, Vec<i64>> = HashMap::new();
    for (ticket, id) in log {
        per_ticket.entry(ticket).or_default().push(id);
    }
    assert_eq!(
        per_ticket, enqueued,
        "each ticket's writes in the order queued"
    );
    for (ticket, ids) in &enqueued {
        for id in ids {
            let item = replicas[1]
                .get_outbox(*id)
                .await
                .expect("get")
                .expect("kept");
            assert!(item.delivered_at.is_some() && item.abandoned_at.is_none());
        }
        let last = replicas[0]
            .last_delivered("prod", ticket)
            .await
            .expect("last delivered")
            .expect("delivered");
        assert_eq!(Some(last.id), ids.last().copied());
    }
}
