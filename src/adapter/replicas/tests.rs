//! The share arithmetic, live resizing of a limit, and membership and singletons on a real
//! (SQLite) store.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};

use super::*;
use crate::adapter::store;

#[test]
fn shares_divide_the_limits_and_never_reach_zero() {
    assert_eq!(slot_share(16, 1), 16);
    assert_eq!(slot_share(16, 2), 8);
    assert_eq!(slot_share(16, 3), 5);
    assert_eq!(slot_share(2, 3), 1);
    assert_eq!(slot_share(1, 8), 1);
    // A count of zero (never answered by a store) is taken as alone.
    assert_eq!(slot_share(8, 0), 8);
    assert!((rate_share(50.0, 2) - 25.0).abs() < 1e-9);
    assert!((rate_share(10.0, 4) - 2.5).abs() < 1e-9);
    assert!((rate_share(10.0, 0) - 10.0).abs() < 1e-9);
    // Whatever the group size, the shares add up to no more than the limit while every
    // replica gets at least one slot.
    for concurrency in 1..40u32 {
        for alive in 1..12u32 {
            let total = slot_share(concurrency, alive) * alive;
            assert!(total <= concurrency.max(alive), "{concurrency}/{alive}");
        }
    }
}

async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[tokio::test]
async fn a_limit_follows_the_group_size_without_interrupting_holders() {
    let sem = Arc::new(Semaphore::new(8));
    let (alive, watched) = watch::channel(1u32);
    let keeper = tokio::spawn(keep_share(Arc::clone(&sem), 8, watched));
    settle().await;
    assert_eq!(sem.available_permits(), 8);
    alive.send_replace(2);
    settle().await;
    assert_eq!(sem.available_permits(), 4);
    // Six slots in use when the group grows to four (share 2): nothing is taken from the
    // holders; the share is reached as they finish.
    alive.send_replace(1);
    settle().await;
    let held: Vec<_> = (0..6)
        .map(|_| Arc::clone(&sem).try_acquire_owned().expect("a free slot"))
        .collect();
    alive.send_replace(4);
    settle().await;
    assert_eq!(sem.available_permits(), 0);
    drop(held);
    settle().await;
    assert_eq!(sem.available_permits(), 2);
    // Back to one replica: every slot is free again.
    alive.send_replace(1);
    settle().await;
    assert_eq!(sem.available_permits(), 8);
    // The group gone (engine stopped): the keeper ends and returns what it held.
    alive.send_replace(2);
    settle().await;
    drop(alive);
    keeper.await.expect("keeper ends");
    assert_eq!(sem.available_permits(), 8);
}

async fn shared_store() -> (Arc<dyn Store>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("deskbridge-replicas-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let url = format!("sqlite://{}", dir.join("store.db").display());
    (store::open(&url).await.expect("store"), dir)
}

async fn wait_for(what: &str, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !probe() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_count_each_other_and_a_newcomer_waits_before_claiming() {
    let (store, dir) = shared_store().await;
    let options = ReplicaOptions {
        every: Duration::from_millis(200),
        ttl: Duration::from_millis(1000),
    };
    let first = Membership::start(Arc::clone(&store), "replica-a", options);
    let a = first.group();
    // Alone at its first heartbeat: claims at once.
    wait_for("the first replica to claim", || a.may_claim()).await;
    assert_eq!(a.alive(), 1);

    let joined = Instant::now();
    let second = Membership::start(Arc::clone(&store), "replica-b", options);
    let b = second.group();
    wait_for("the newcomer to count two", || b.alive() == 2).await;
    assert_eq!(b.standing(), Standing::Joining);
    wait_for("the newcomer to claim", || b.may_claim()).await;
    // Not before the first replica's next heartbeat has seen it.
    assert!(joined.elapsed() >= options.every, "{:?}", joined.elapsed());
    assert_eq!(a.alive(), 2, "the first replica saw the newcomer first");

    // A clean stop hands the share back at the next heartbeat.
    second.leave().await;
    wait_for("the first replica to be alone again", || a.alive() == 1).await;

    // A replica that dies silently is counted until its heartbeat expires.
    let third = Membership::start(Arc::clone(&store), "replica-c", options);
    wait_for("two alive", || a.alive() == 2).await;
    third.abort();
    wait_for("the dead replica to expire", || a.alive() == 1).await;
    first.leave().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn one_replica_at_a_time_holds_a_singleton() {
    let (store, dir) = shared_store().await;
    let ttl = Duration::from_millis(300);
    let mut a = Singleton::new(Arc::clone(&store), "idle:test", "replica-a", ttl);
    let mut b = Singleton::new(Arc::clone(&store), "idle:test", "replica-b", ttl);
    assert!(a.hold().await);
    assert!(!b.hold().await);
    // Renewing keeps it.
    assert!(a.hold().await);
    assert!(!b.hold().await);
    // Its holder dead (no renewal), it moves after the ttl.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert!(b.hold().await);
    assert!(!a.hold().await);
    // Released, it moves at once.
    b.release().await;
    assert!(a.hold().await);
    let _ = std::fs::remove_dir_all(dir);
}
