//! The event feed and the ServiceNow outbox in the store, on SQLite and PostgreSQL: ids,
//! pruning, per-ticket order and delivery once. Each test runs on both backends.

mod support;

use std::time::Duration;

use deskbridge::adapter::store::{EventKind, EventRetention, StoreError};
use serde_json::json;
use support::stores::{Backend, LEASE, write};

store_tests!(
    events_since_id_and_pruning,
    outbox_keeps_per_ticket_order_and_delivers_once,
    an_outbox_write_claimed_again_after_its_lease_expired_counts_the_lost_try,
);

async fn events_since_id_and_pruning(b: &Backend) {
    let store = b.open().await;
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

async fn outbox_keeps_per_ticket_order_and_delivers_once(b: &Backend) {
    let store = b.open().await;
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

async fn an_outbox_write_claimed_again_after_its_lease_expired_counts_the_lost_try(b: &Backend) {
    let store = b.open().await;
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
