//! Security codes against the real SQLite store on a database file: enrolment, verification,
//! attempt limits and lockout, one-time use, expiry, replacement, the audit trail, no
//! plaintext at rest, and durability across a reopen.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use deskbridge::accounts::{CodeKind, Verification, VerificationPolicy};
use deskbridge::adapter::store::{CodeEvent, CodeStore, SqliteStore, Store, StoreError};
use deskbridge::secret::Secret;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("deskbridge-codes-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("adapter.db")
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.db().display())
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

fn code(s: &str) -> Secret {
    Secret::new(s)
}

const RIGHT: &str = "481516";
const WRONG: &str = "000000";

fn policy() -> VerificationPolicy {
    VerificationPolicy::default()
}

async fn verify(store: &SqliteStore, user: &str, presented: &str) -> Verification {
    store
        .verify_code(user, &code(presented), &policy(), "op.bob")
        .await
        .expect("verify")
}

#[tokio::test]
async fn an_enrolled_code_verifies_for_every_spelling_of_the_user() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let enrolled = store
        .enroll_code(
            "LAB\\Alice.Smith",
            &code(RIGHT),
            CodeKind::Standing,
            None,
            "alice",
        )
        .await
        .expect("enroll");
    assert_eq!(enrolled.user, "alice.smith");
    assert_eq!(enrolled.kind, CodeKind::Standing);
    assert_eq!(
        verify(&store, "alice.smith", RIGHT).await,
        Verification::Verified
    );
    assert_eq!(
        verify(&store, "ALICE.SMITH", " 481516 ").await,
        Verification::Verified
    );
    assert_eq!(
        verify(&store, "LAB\\alice.smith", RIGHT).await,
        Verification::Verified,
        "a standing code can be used again"
    );
    assert_eq!(
        verify(&store, "carol", RIGHT).await,
        Verification::NotEnrolled
    );
}

#[tokio::test]
async fn wrong_codes_count_down_then_lock_out_even_the_right_code() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    store
        .enroll_code("alice", &code(RIGHT), CodeKind::Standing, None, "alice")
        .await
        .expect("enroll");
    let mut left = Vec::new();
    for _ in 0..4 {
        match verify(&store, "alice", WRONG).await {
            Verification::Wrong {
                attempts_left,
                locked_until: None,
            } => left.push(attempts_left),
            other => panic!("expected a wrong code, got {other:?}"),
        }
    }
    assert_eq!(left, vec![4, 3, 2, 1]);
    let Verification::Wrong {
        attempts_left: 0,
        locked_until: Some(until),
    } = verify(&store, "alice", WRONG).await
    else {
        panic!("the fifth wrong code must lock");
    };
    let lock = until - chrono::Utc::now();
    assert!(
        lock > chrono::TimeDelta::minutes(14) && lock <= chrono::TimeDelta::minutes(15),
        "locked for {lock}"
    );
    assert_eq!(
        verify(&store, "alice", RIGHT).await,
        Verification::LockedOut { until }
    );
    let status = store
        .code_status("alice")
        .await
        .expect("status")
        .expect("enrolled");
    assert_eq!(status.locked_until, Some(until));

    // Every attempt is on the trail, newest first, with who presented it.
    let log = store.code_log("alice", 0).await.expect("log");
    let events: Vec<CodeEvent> = log.iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        vec![
            CodeEvent::LockedOut,
            CodeEvent::WrongLocked,
            CodeEvent::Wrong,
            CodeEvent::Wrong,
            CodeEvent::Wrong,
            CodeEvent::Wrong,
            CodeEvent::Enrolled,
        ]
    );
    assert!(log[..6].iter().all(|e| e.actor == "op.bob"));
    assert_eq!(log[6].actor, "alice");
}

#[tokio::test]
async fn the_lock_lifts_after_the_lockout_and_a_success_resets_the_count() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let quick = VerificationPolicy {
        max_attempts: 2,
        lockout: Duration::from_millis(300),
        ..policy()
    };
    store
        .enroll_code("alice", &code(RIGHT), CodeKind::Standing, None, "alice")
        .await
        .expect("enroll");
    let attempt = |c: &'static str| {
        let store = store.clone();
        async move {
            store
                .verify_code("alice", &code(c), &quick, "op.bob")
                .await
                .expect("verify")
        }
    };
    assert!(matches!(
        attempt(WRONG).await,
        Verification::Wrong {
            attempts_left: 1,
            ..
        }
    ));
    assert!(matches!(
        attempt(WRONG).await,
        Verification::Wrong {
            locked_until: Some(_),
            ..
        }
    ));
    assert!(matches!(
        attempt(RIGHT).await,
        Verification::LockedOut { .. }
    ));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(attempt(RIGHT).await, Verification::Verified);
    assert!(matches!(
        attempt(WRONG).await,
        Verification::Wrong {
            attempts_left: 1,
            ..
        }
    ));
    assert_eq!(attempt(RIGHT).await, Verification::Verified);
    assert!(
        matches!(
            attempt(WRONG).await,
            Verification::Wrong {
                attempts_left: 1,
                ..
            }
        ),
        "the success reset the count"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_one_time_code_is_single_use_even_when_presented_concurrently() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    store
        .enroll_code("alice", &code(RIGHT), CodeKind::OneTime, None, "op.bob")
        .await
        .expect("enroll");
    let attempts: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { verify(&store, "alice", RIGHT).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for attempt in attempts {
        outcomes.push(attempt.await.expect("join"));
    }
    let verified = outcomes.iter().filter(|o| o.is_verified()).count();
    assert_eq!(verified, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .filter(|o| !o.is_verified())
            .all(|o| *o == Verification::AlreadyUsed),
        "{outcomes:?}"
    );
    assert_eq!(
        verify(&store, "alice", RIGHT).await,
        Verification::AlreadyUsed
    );
    let status = store
        .code_status("alice")
        .await
        .expect("status")
        .expect("row");
    assert!(status.used_at.is_some());
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let enrolled = store
        .enroll_code(
            "alice",
            &code(RIGHT),
            CodeKind::OneTime,
            Some(Duration::from_millis(300)),
            "op.bob",
        )
        .await
        .expect("enroll");
    assert!(enrolled.expires_at.is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(verify(&store, "alice", RIGHT).await, Verification::Expired);
    assert_eq!(verify(&store, "alice", WRONG).await, Verification::Expired);
}

#[tokio::test]
async fn re_enrolling_replaces_the_old_code_and_clears_the_count() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    store
        .enroll_code("alice", &code(RIGHT), CodeKind::Standing, None, "alice")
        .await
        .expect("enroll");
    for _ in 0..3 {
        verify(&store, "alice", WRONG).await;
    }
    store
        .enroll_code(
            "LAB\\alice",
            &code("271828"),
            CodeKind::Standing,
            None,
            "alice",
        )
        .await
        .expect("re-enroll");
    assert!(matches!(
        verify(&store, "alice", RIGHT).await,
        Verification::Wrong {
            attempts_left: 4,
            ..
        }
    ));
    assert_eq!(
        verify(&store, "alice", "271828").await,
        Verification::Verified
    );
}

#[tokio::test]
async fn bad_enrolments_are_refused_with_a_reason() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    let short = store
        .enroll_code("alice", &code("1234"), CodeKind::Standing, None, "alice")
        .await
        .expect_err("too short");
    assert!(matches!(short, StoreError::Invalid(_)));
    assert!(
        short.to_string().contains("at least 6 characters (has 4)"),
        "{short}"
    );
    assert!(!short.to_string().contains("1234"));
    let nobody = store
        .enroll_code("LAB\\", &code(RIGHT), CodeKind::Standing, None, "alice")
        .await
        .expect_err("no user");
    assert!(
        nobody.to_string().contains("does not name a user"),
        "{nobody}"
    );
    assert!(store.code_status("alice").await.expect("status").is_none());
}

#[tokio::test]
async fn revoking_removes_the_code_and_is_logged() {
    let dir = TempDir::new();
    let store = open(&dir).await;
    store
        .enroll_code("alice", &code(RIGHT), CodeKind::Standing, None, "alice")
        .await
        .expect("enroll");
    assert!(store.revoke_code("ALICE", "op.bob").await.expect("revoke"));
    assert!(
        !store
            .revoke_code("alice", "op.bob")
            .await
            .expect("revoke again")
    );
    assert_eq!(
        verify(&store, "alice", RIGHT).await,
        Verification::NotEnrolled
    );
    let events: Vec<CodeEvent> = store
        .code_log("alice", 10)
        .await
        .expect("log")
        .iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(
        events,
        vec![
            CodeEvent::NotEnrolled,
            CodeEvent::Revoked,
            CodeEvent::Enrolled
        ]
    );
}

#[tokio::test]
async fn no_code_is_stored_in_plaintext_and_codes_survive_a_reopen() {
    let dir = TempDir::new();
    let distinctive = "plain-text-probe-93715";
    {
        let store = open(&dir).await;
        store
            .enroll_code(
                "alice",
                &code(distinctive),
                CodeKind::Standing,
                None,
                "alice",
            )
            .await
            .expect("enroll");
        store
            .enroll_code("bob", &code(distinctive), CodeKind::Standing, None, "bob")
            .await
            .expect("enroll");
        verify(&store, "alice", "wrong-probe-55555").await;
        store.close().await;
    }
    // The stored values are Argon2id PHC strings, salted per code.
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.db().display()))
        .await
        .expect("raw connection");
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT code_hash FROM security_codes ORDER BY user_key")
            .fetch_all(&raw)
            .await
            .expect("read hashes");
    raw.close().await;
    assert_eq!(hashes.len(), 2);
    assert!(
        hashes.iter().all(|h| h.starts_with("$argon2id$")),
        "{hashes:?}"
    );
    assert_ne!(
        hashes[0], hashes[1],
        "the same code hashes differently per user"
    );
    // Nothing in the database files holds the codes, presented or enrolled.
    for entry in std::fs::read_dir(&dir.0).expect("list db dir") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read db file");
        for probe in [distinctive, "wrong-probe-55555"] {
            assert!(
                !bytes.windows(probe.len()).any(|w| w == probe.as_bytes()),
                "found a code in plaintext"
            );
        }
    }

    let store: Arc<dyn Store> = open(&dir).await;
    let outcome = store
        .verify_code("alice", &code(distinctive), &policy(), "op.bob")
        .await
        .expect("verify after reopen");
    assert_eq!(outcome, Verification::Verified);
    let log = store.code_log("alice", 0).await.expect("log");
    assert_eq!(log.len(), 3, "enrolled, wrong, verified survive the reopen");
}
