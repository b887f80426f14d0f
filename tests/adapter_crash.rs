//! Crash safety with real processes: `deskbridge lab` and `deskbridge serve --config` run as
//! children of the test, the adapter is killed with SIGKILL in the middle of a bulk logoff and
//! started again on the same SQLite file. Every session must be logged off exactly once (the
//! lab counts the calls), the interrupted tasks must show it, the audit log must survive, and
//! a further restart with nothing left to do must do nothing.
//!
//! The job's sessions are set to hang at the lab before it runs: their logoff jobs complete
//! but they stay, logging off, so a logoff sent twice reaches a session and is counted, however
//! long after the first it came. (Without that, a repeated logoff of a session already gone is
//! a 404 the lab does not count, and a resumed task acting blindly would go unnoticed.)
//!
//! The in-process version (tests/adapter_jobs.rs) aborts the engine's tasks; this one proves
//! the same of the binary an operator runs, with its config file, secrets by reference and
//! `[engine] lease`.

mod support;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use support::processes::{
    Adapter, ConfigOptions, LabProcess, StoreSpec, is_interrupted, scratch, tasks, write_config,
};

/// Sessions per site in the job: most of what the small lab has, with a few left over for the
/// job after the last restart.
const PER_SITE: usize = 90;

/// What the test talks to: the lab process and the adapter's config.
struct World {
    lab: LabProcess,
    dir: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
    starts: usize,
}

impl World {
    async fn serve(&mut self) -> Adapter {
        self.starts += 1;
        Adapter::start(
            &format!("deskbridge serve (start {})", self.starts),
            &self.config,
            &self.env,
            self.dir.join(format!("serve-{}.log", self.starts)),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_serve_process_killed_mid_job_is_resumed_after_restart_and_nothing_runs_twice() {
    let dir = scratch("crash");
    // Actions take simulated time (a logoff 2 s); run the lab's clock 20× faster.
    let lab = LabProcess::start(&dir, &["--clock-speed", "20"]);
    // A SQLite file store, slow sites (four calls at a time, 40 a second: slow enough to be
    // caught mid-job) and a short lease so that a dead adapter's tasks resume within seconds.
    let (config, env) = write_config(
        &dir,
        &lab.info,
        &ConfigOptions {
            store: StoreSpec::Sqlite("deskbridge.db".to_owned()),
            concurrency: 4,
            rate_limit: Some(40),
            lease: "5s".to_owned(),
            sites_enabled: true,
        },
    );
    let mut world = World {
        lab,
        dir: dir.clone(),
        config,
        env,
        starts: 0,
    };

    let mut targets = Vec::new();
    let mut sessions: Vec<(String, String)> = Vec::new();
    for site in ["London", "Cloud"] {
        let ids = world.lab.sessions(site, PER_SITE).await;
        assert_eq!(ids.len(), PER_SITE, "lab too small at {site}");
        for id in ids {
            // Their logoffs hang (the logoff job still completes): every session stays, logging
            // off, so a second logoff would reach it and be counted, however late it came.
            world.lab.hang_logoff(site, &id).await;
            targets.push(json!({ "site": site, "id": id }));
            sessions.push((site.to_owned(), id));
        }
    }

    // Start 1: the job runs until some tasks are done and others are still at the sites.
    let first = world.serve().await;
    let id = first.create(targets.clone()).await;
    let before_kill = first
        .wait_until(&id, Duration::from_secs(60), |j| {
            j["progress"]["succeeded"].as_u64().unwrap_or(0) >= 20
                && j["progress"]["running"].as_u64().unwrap_or(0) > 0
        })
        .await;
    first.process.kill_9();
    let done_before_kill: HashSet<i64> = tasks(&before_kill)
        .iter()
        .filter(|t| t["state"] == "succeeded")
        .filter_map(|t| t["id"].as_i64())
        .collect();
    let token_before_kill = first.token.clone();

    // Start 2 on the same store file: the dead adapter's leases lapse and its tasks resume.
    let mut second = world.serve().await;
    // A token from before the crash still works: consoles need not log in again.
    second.token = token_before_kill;
    let job = second.wait_ended(&id, Duration::from_secs(120)).await;
    assert_eq!(
        job["state"], "succeeded",
        "{} {}",
        job["progress"], job["error"]
    );

    // Exactly one logoff per session, and none of anything else.
    let calls = world.lab.all_calls().await;
    for (site, session) in &sessions {
        let count = calls[site]
            .get("logoff")
            .and_then(|t| t.get(session))
            .copied();
        assert_eq!(count, Some(1), "{site} session {session}: logoffs");
    }
    let logoffs: u64 = calls
        .values()
        .filter_map(|c| c.get("logoff"))
        .flat_map(|t| t.values())
        .sum();
    assert_eq!(logoffs, sessions.len() as u64, "no other logoff: {calls:?}");

    // The tasks that were at the sites when the adapter died show it: an attempt closed as
    // interrupted, then the resumed attempts, the last of which succeeded. None of them had
    // finished before the kill.
    let resumed: Vec<Value> = tasks(&job)
        .into_iter()
        .filter(|t| {
            t["attempts"]
                .as_array()
                .is_some_and(|a| a.iter().any(is_interrupted))
        })
        .collect();
    assert!(
        !resumed.is_empty(),
        "no interrupted attempt: {}",
        job["progress"]
    );
    for task in &resumed {
        let attempts = task["attempts"].as_array().cloned().unwrap_or_default();
        let killed = attempts.iter().position(is_interrupted).unwrap_or_default();
        assert!(
            killed + 1 < attempts.len(),
            "resumed after the kill: {task}"
        );
        assert_eq!(
            attempts[attempts.len() - 1]["outcome"],
            "succeeded",
            "{task}"
        );
        let task_id = task["id"].as_i64().unwrap_or_default();
        assert!(
            !done_before_kill.contains(&task_id),
            "done before the kill: {task}"
        );
    }

    // The audit log kept the job's creation from before the kill.
    let audit = second
        .get("/api/v1/audit?action=job.create&limit=1000")
        .await;
    let entries = audit["items"].as_array().cloned().unwrap_or_default();
    assert!(
        entries.iter().any(|e| {
            e["outcome"] == "succeeded"
                && e["actor_name"] == "helpdesk"
                && e["message"].as_str().is_some_and(|m| m.contains(&id))
        }),
        "job {id} created in the audit log: {audit}"
    );

    // Start 3, after a clean stop, with nothing left to do: it does nothing. A new job of one
    // session per site shows that its workers ran; it is the only thing they did.
    second.process.terminate();
    let calls_before = world.lab.all_calls().await;
    let third = world.serve().await;
    let mut fresh = Vec::new();
    for site in ["London", "Cloud"] {
        let already: HashSet<&str> = sessions
            .iter()
            .filter(|(s, _)| s == site)
            .map(|(_, id)| id.as_str())
            .collect();
        let session = world
            .lab
            .sessions(site, usize::MAX)
            .await
            .into_iter()
            .find(|id| !already.contains(id.as_str()))
            .expect("a session not in the first job");
        fresh.push((site.to_owned(), session));
    }
    let probe = third
        .create(
            fresh
                .iter()
                .map(|(site, id)| json!({ "site": site, "id": id }))
                .collect(),
        )
        .await;
    let probe = third.wait_ended(&probe, Duration::from_secs(120)).await;
    assert_eq!(probe["state"], "succeeded", "{probe}");
    let mut expected = calls_before;
    for (site, id) in &fresh {
        *expected
            .entry(site.clone())
            .or_default()
            .entry("logoff".to_owned())
            .or_default()
            .entry(id.clone())
            .or_default() += 1;
    }
    assert_eq!(
        world.lab.all_calls().await,
        expected,
        "only the new job's calls"
    );
    let again = third.get(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(again["state"], "succeeded");
    assert_eq!(
        tasks(&again),
        tasks(&job),
        "the finished job is left as it was"
    );
    third.process.terminate();
    drop(world);
    let _ = std::fs::remove_dir_all(&dir);
}
