//! Server-Sent Events across replicas, with real processes on one PostgreSQL database: a
//! console connected to replica A follows a job created through replica B and run by B and C
//! (A's sites are switched off in its config, so it runs none of it), to the job's end; it
//! reconnects to C halfway with `Last-Event-ID` and misses nothing and sees nothing twice.
//!
//! Needs `DESKBRIDGE_TEST_DATABASE_URL` (scripts/test): skipped without it, failed under CI.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use support::postgres::TestDatabase;
use support::processes::{
    Adapter, ConfigOptions, LabProcess, StoreSpec, attempts_by_replica, scratch, start_replicas,
    write_config,
};
use support::sse::{Message, Reader};

/// `GET /api/v1/events` at `adapter`, resuming after `last` if given.
async fn open(adapter: &Adapter, last: Option<i64>) -> Reader {
    let mut request = adapter
        .http
        .get(format!("{}/api/v1/events", adapter.url))
        .bearer_auth(&adapter.token);
    if let Some(id) = last {
        request = request.header("Last-Event-ID", id.to_string());
    }
    Reader::new(request.send().await.expect("events request"))
}

/// What a console keeps of the stream: every event id in order, and the job's last state and
/// each of its tasks' last state as the events said.
#[derive(Default)]
struct Console {
    ids: Vec<i64>,
    job_state: Option<String>,
    task_states: BTreeMap<i64, String>,
}

impl Console {
    fn see(&mut self, message: &Message, job: &str) {
        let id = message.numeric_id().expect("every event has a numeric id");
        self.ids.push(id);
        let payload = &message.data["payload"];
        if payload["job_id"] != job {
            return;
        }
        let state = payload["state"].as_str().unwrap_or_default().to_owned();
        match message.event.as_str() {
            "job" => self.job_state = Some(state),
            "task" => {
                let task = payload["task_id"].as_i64().expect("task_id");
                self.task_states.insert(task, state);
            }
            _ => {}
        }
    }

    fn tasks_ended(&self, n: usize) -> bool {
        self.task_states.len() == n
            && self
                .task_states
                .values()
                .all(|s| !matches!(s.as_str(), "queued" | "running"))
    }

    fn job_ended(&self) -> bool {
        self.job_state
            .as_deref()
            .is_some_and(|s| !matches!(s, "queued" | "running"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_console_on_one_replica_follows_a_job_run_by_others_and_resumes_on_a_third() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let dir = scratch("replicas-events");
    let lab = LabProcess::start(&dir, &["--clock-speed", "20"]);
    let (targets, sessions) = lab.hung_targets(&["London", "Cloud"], 80).await;
    let (url, password) = db.url_and_password();
    let options = ConfigOptions {
        store: StoreSpec::Postgres { url, password },
        // Shared by the three live replicas, A included: two calls at a time each.
        concurrency: 6,
        rate_limit: None,
        lease: "5s".to_owned(),
        sites_enabled: true,
    };
    let mut replicas = start_replicas(&dir, &lab.info, &["b", "c"], &options).await;
    // A serves the API only: its sites are off, so its engine takes none of the tasks.
    let (config, env) = write_config(
        &dir.join("a"),
        &lab.info,
        &ConfigOptions {
            sites_enabled: false,
            ..options.clone()
        },
    );
    let a = Adapter::start("replica a", &config, &env, dir.join("a.log")).await;
    let a_owner = a.replica().await;
    let c = replicas.pop().expect("c");
    let b = replicas.pop().expect("b");

    // Slow sites, and every replica counting the three: the job lasts long enough for both B
    // and C to take part (a replica joining a group waits a heartbeat before it claims).
    for site in ["London", "Cloud"] {
        let response = lab
            .http
            .post(format!("{}/sites/{site}/faults", lab.info.control))
            .json(&serde_json::json!({ "latency_ms": 50 }))
            .send()
            .await
            .expect("set latency");
        assert!(response.status().is_success());
    }
    for replica in [&a, &b, &c] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let metrics = replica
                .http
                .get(format!("{}/metrics", replica.url))
                .send()
                .await
                .expect("metrics")
                .text()
                .await
                .unwrap_or_default();
            if metrics
                .lines()
                .any(|l| l.trim() == "deskbridge_replicas_alive 3")
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} never counted three replicas",
                replica.process.what
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // The console connects to A before the job exists; it starts at "now".
    let mut console = Console::default();
    let mut reader = open(&a, None).await;
    let hello = reader.next().await;
    assert_eq!(hello.event, "hello", "{hello:?}");
    let start = hello.data["resume_after"].as_i64().expect("resume_after");

    let id = b.create(targets).await;
    // Follow on A until the job is under way and half its tasks are done, then drop the
    // connection as a console losing its network would.
    loop {
        let message = reader.next().await;
        console.see(&message, &id);
        let done = console
            .task_states
            .values()
            .filter(|s| *s == "succeeded")
            .count();
        if done >= sessions.len() / 2 {
            break;
        }
        assert!(!console.job_ended(), "the job ended before half its tasks");
    }
    drop(reader);
    let last = *console.ids.last().expect("events seen");

    // Reconnect to C where A's stream stopped, and follow to the job's end.
    let mut reader = open(&c, Some(last)).await;
    let hello = reader.next().await;
    assert_eq!(hello.event, "hello", "{hello:?}");
    assert_eq!(hello.data["resume_after"], last);
    // To the job's end and every task's: the order of a batch's events is the store's.
    while !(console.job_ended() && console.tasks_ended(sessions.len())) {
        let message = reader.next().await;
        assert_ne!(message.event, "reset", "nothing was pruned: {message:?}");
        console.see(&message, &id);
    }
    drop(reader);
    assert_eq!(console.job_state.as_deref(), Some("succeeded"));
    assert_eq!(
        console.task_states.len(),
        sessions.len(),
        "an event for every task"
    );
    assert!(
        console.task_states.values().all(|s| s == "succeeded"),
        "every task's last event says succeeded: {:?}",
        console.task_states
    );

    // Ids only increase: nothing repeated across the reconnect.
    assert!(
        console.ids.windows(2).all(|w| w[0] < w[1]),
        "event ids not increasing: {:?}",
        console.ids
    );
    // Nothing missed: a replay of the same range from B (the store's whole record) has
    // exactly the ids the console saw.
    let through = *console.ids.last().expect("events");
    let mut replay = open(&b, Some(start)).await;
    assert_eq!(replay.next().await.event, "hello");
    let mut all = Vec::new();
    while all.last().is_none_or(|&id| id < through) {
        all.push(replay.next().await.numeric_id().expect("id"));
    }
    let seen: BTreeSet<i64> = console.ids.iter().copied().collect();
    let recorded: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(
        recorded.difference(&seen).collect::<Vec<_>>(),
        Vec::<&i64>::new(),
        "events the console missed"
    );
    assert_eq!(seen, recorded);

    // The job ran on B and C only, and acted on each session once.
    let job = b.get(&format!("/api/v1/jobs/{id}")).await;
    let owners: BTreeSet<String> = attempts_by_replica(&job).into_keys().collect();
    assert_eq!(
        owners,
        [b.replica().await, c.replica().await].into_iter().collect(),
        "A ({a_owner}) ran nothing"
    );
    lab.assert_logged_off_once(&sessions).await;

    for replica in [a, b, c] {
        replica.process.terminate();
    }
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}
