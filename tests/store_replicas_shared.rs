//! Several replicas sharing one database, agreeing on shared state: starting at once on a
//! fresh database, refusing a newer schema, singleton leases, heartbeats, the signing key and
//! idempotent job creation. Each test runs on SQLite (stores on one file) and PostgreSQL
//! (stores on one database).

mod support;

use std::collections::HashSet;
use std::time::Duration;

use deskbridge::adapter::store::{JobQuery, ReplicaHeartbeat, StoreError};
use support::stores::{AnyStore, Backend, LEASE, new_job, targets};

store_tests!(
    three_replicas_starting_at_once_on_a_fresh_database_all_open_it,
    replicas_refuse_a_database_at_a_newer_schema_version,
    a_singleton_lease_has_one_holder_at_a_time_and_moves_on_expiry,
    heartbeats_count_live_replicas_and_drop_expired_ones,
    replicas_share_one_signing_key,
    one_idempotency_key_from_three_replicas_makes_one_job,
);

async fn three_replicas_starting_at_once_on_a_fresh_database_all_open_it(b: &Backend) {
    let (r1, r2, r3) = tokio::join!(b.try_open(), b.try_open(), b.try_open());
    let replicas: Vec<AnyStore> = [r1, r2, r3]
        .into_iter()
        .map(|r| r.expect("every replica opens the fresh database"))
        .collect();
    let latest = b.supported_schema_version();
    for store in &replicas {
        assert_eq!(store.schema_version().await, latest);
    }
    let applied = b
        .raw()
        .await
        .scalar_i64("SELECT count(*) FROM _sqlx_migrations")
        .await;
    assert_eq!(applied, latest, "each migration applied once");
    // The schema is whole: a job written by one replica is read by the others.
    let job = replicas[0]
        .create_job(new_job("session.logoff", targets("s1", 2)))
        .await
        .expect("create job");
    for store in &replicas[1..] {
        let got = store.get_job(job.detail.job.id).await.expect("get job");
        assert_eq!(got.map(|d| d.tasks.len()), Some(2));
    }
}

async fn replicas_refuse_a_database_at_a_newer_schema_version(b: &Backend) {
    let running = b.open().await;
    let future = b.supported_schema_version() + 1;
    let raw = b.raw().await;
    raw.insert_migration(future).await;
    raw.close().await;
    let (r1, r2, r3) = tokio::join!(b.try_open(), b.try_open(), b.try_open());
    for refused in [r1, r2, r3] {
        let err = refused.err().expect("a newer schema is refused");
        assert!(
            matches!(
                err,
                StoreError::SchemaTooNew { found, supported }
                    if found == future && supported == future - 1
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("upgrade deskbridge"), "{err}");
    }
    // The refusal changed nothing: the version recorded is still the newer one.
    assert_eq!(running.schema_version().await, future);
}

async fn a_singleton_lease_has_one_holder_at_a_time_and_moves_on_expiry(b: &Backend) {
    let replicas = [b.open().await, b.open().await, b.open().await];
    for round in 0..10 {
        let attempts: Vec<_> = replicas
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.hold_singleton("outbox", &format!("replica-{i}"), LEASE)
                        .await
                        .expect("hold singleton")
                })
            })
            .collect();
        let mut holders = Vec::new();
        for (i, a) in attempts.into_iter().enumerate() {
            if a.await.expect("holder") {
                holders.push(i);
            }
        }
        assert_eq!(holders.len(), 1, "round {round}: holders {holders:?}");
        let holder = holders[0];
        let (me, other) = (
            format!("replica-{holder}"),
            format!("replica-{}", (holder + 1) % 3),
        );
        let other_store = &replicas[(holder + 1) % 3];
        assert!(
            replicas[holder]
                .hold_singleton("outbox", &me, LEASE)
                .await
                .expect("renew"),
            "the holder renews"
        );
        // Releasing a lease one does not hold gives nothing away.
        other_store
            .release_singleton("outbox", &other)
            .await
            .expect("release");
        assert!(
            !other_store
                .hold_singleton("outbox", &other, LEASE)
                .await
                .expect("hold")
        );
        replicas[holder]
            .release_singleton("outbox", &me)
            .await
            .expect("release");
    }

    // A holder that stops renewing loses the lease when it expires, and cannot take it back.
    // Long enough that a loaded test machine makes the next two calls within it.
    let short = Duration::from_millis(1500);
    assert!(
        replicas[0]
            .hold_singleton("report", "a", short)
            .await
            .expect("hold")
    );
    assert!(
        !replicas[1]
            .hold_singleton("report", "b", LEASE)
            .await
            .expect("hold")
    );
    assert!(
        replicas[2]
            .hold_singleton("other", "c", LEASE)
            .await
            .expect("hold"),
        "leases of other names are independent"
    );
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(
        replicas[1]
            .hold_singleton("report", "b", LEASE)
            .await
            .expect("take over")
    );
    assert!(
        !replicas[0]
            .hold_singleton("report", "a", short)
            .await
            .expect("hold")
    );
}

fn me(id: &str) -> ReplicaHeartbeat {
    ReplicaHeartbeat {
        id: id.to_owned(),
        host: format!("host-{id}"),
        version: "0.0.0-test".to_owned(),
    }
}

async fn heartbeats_count_live_replicas_and_drop_expired_ones(b: &Backend) {
    let (a, c, d) = (b.open().await, b.open().await, b.open().await);
    let beat = |s: &AnyStore, id: &'static str, ttl: Duration| {
        let s = s.clone();
        async move { s.heartbeat(&me(id), ttl).await.expect("heartbeat") }
    };
    assert_eq!(beat(&a, "a", LEASE).await, 1);
    assert_eq!(beat(&c, "c", LEASE).await, 2);
    assert_eq!(beat(&d, "d", Duration::from_millis(1500)).await, 3);
    assert_eq!(beat(&a, "a", LEASE).await, 3, "a repeated beat counts once");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(beat(&a, "a", LEASE).await, 2, "d stopped beating");
    c.leave("c").await.expect("leave");
    assert_eq!(beat(&a, "a", LEASE).await, 1, "c left");
    assert_eq!(beat(&d, "d", LEASE).await, 2, "d is back");
}

async fn replicas_share_one_signing_key(b: &Backend) {
    let (a, c) = (b.open().await, b.open().await);
    // Both ask on a fresh database at once: one key is made, and both get it.
    let (ka, kc) = tokio::join!(a.signing_key(), c.signing_key());
    let (ka, kc) = (ka.expect("key"), kc.expect("key"));
    assert_eq!(ka.len(), 32);
    assert_eq!(ka, kc);
    a.close().await;
    let later = b.open().await.signing_key().await.expect("key");
    assert_eq!(later, ka, "kept for replicas that start later");
}

async fn one_idempotency_key_from_three_replicas_makes_one_job(b: &Backend) {
    let replicas = [b.open().await, b.open().await, b.open().await];
    let mut handles = Vec::new();
    for store in &replicas {
        for _ in 0..5 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut job = new_job("session.logoff", targets("s1", 3));
                job.idempotency_key = Some("request-42".to_owned());
                store.create_job(job).await.expect("create job")
            }));
        }
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for h in handles {
        let r = h.await.expect("creator");
        created += usize::from(r.created);
        assert_eq!(r.detail.tasks.len(), 3, "the existing job, with its tasks");
        ids.insert(r.detail.job.id);
    }
    assert_eq!((created, ids.len()), (1, 1));
    for store in &replicas {
        let page = store.list_jobs(JobQuery::default()).await.expect("list");
        assert_eq!(page.items.len(), 1);
    }
}
