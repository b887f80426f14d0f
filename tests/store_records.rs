//! The store's schema, audit log, API clients and ticket links, on SQLite and PostgreSQL:
//! migrations and the refusal of a newer schema, append-only audit, hashed secrets, the
//! signing key, and ticket phases. Each test runs on both backends.

mod support;

use deskbridge::adapter::store::{
    AuditQuery, NewApiClient, NewJob, NewTask, Role, StoreError, TicketPhase,
};
use serde_json::json;
use support::stores::{Backend, LEASE, audit, new_job, targets, ticket, write};

store_tests!(
    migrations_apply_and_reopen_is_idempotent,
    newer_schema_is_refused,
    audit_is_append_only_with_filters_and_paging,
    client_secrets_are_hashed_and_verified,
    ticket_phases_advance_once_with_their_writes,
);

async fn migrations_apply_and_reopen_is_idempotent(b: &Backend) {
    let store = b.open().await;
    let latest = b.supported_schema_version();
    assert!(latest >= 1);
    assert_eq!(store.schema_version().await, latest);
    let job = store
        .create_job(new_job("session.logoff", targets("s1", 2)))
        .await
        .unwrap();
    store.close().await;
    drop(store);

    let store = b.open().await;
    assert_eq!(store.schema_version().await, latest);
    let again = store
        .get_job(job.detail.job.id)
        .await
        .unwrap()
        .expect("job kept");
    assert_eq!(again.tasks.len(), 2);
    let applied = b
        .raw()
        .await
        .scalar_i64("SELECT count(*) FROM _sqlx_migrations")
        .await;
    assert_eq!(applied, latest, "reopening applies nothing twice");
}

async fn newer_schema_is_refused(b: &Backend) {
    b.open().await.close().await;
    let raw = b.raw().await;
    let future = b.supported_schema_version() + 1;
    raw.insert_migration(future).await;
    raw.close().await;
    let err = b.try_open().await.err().expect("must refuse");
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

async fn audit_is_append_only_with_filters_and_paging(b: &Backend) {
    let store = b.open().await;
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
    let raw = b.raw().await;
    let upd = raw
        .execute("UPDATE audit_log SET actor_name = 'mallory'")
        .await;
    assert!(upd.is_err());
    let del = raw.execute("DELETE FROM audit_log").await;
    assert!(del.unwrap_err().to_string().contains("append-only"));
}

async fn client_secrets_are_hashed_and_verified(b: &Backend) {
    let store = b.open().await;
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

    let raw = b.raw().await;
    let (name, hash) = raw
        .string_pair("SELECT name, secret_hash FROM api_clients")
        .await;
    assert_eq!(name, "helpdesk-1");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("rotated") && !hash.contains(secret));
    let dump = raw
        .strings(b.dialect(
            "SELECT quote(secret_hash) || name || role FROM api_clients",
            "SELECT quote_literal(secret_hash) || name || role FROM api_clients",
        ))
        .await;
    assert!(dump.iter().all(|row| !row.contains("rotated")));

    let key = store.signing_key().await.unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(store.signing_key().await.unwrap(), key);
    store.close().await;
    assert_eq!(
        b.open().await.signing_key().await.unwrap(),
        key,
        "kept across restarts"
    );
}

async fn ticket_phases_advance_once_with_their_writes(b: &Backend) {
    let store = b.open().await;
    let created = store
        .create_job(NewJob {
            action: "session.logoff".to_owned(),
            requested_by: "helpdesk".to_owned(),
            ticket: ticket("prod", "INC0010001"),
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
