//! Several `deskbridge serve` replicas on one PostgreSQL database, as real processes over real
//! HTTP in front of a real `deskbridge lab`: they share a bulk job's tasks with none run twice,
//! the survivors finish the tasks of a replica killed with SIGKILL, and a token issued by one
//! is accepted by the others.
//!
//! Every session in a job has its logoff made to hang at the lab first: the logoff completes
//! but the session stays, so a second logoff of it (from a second replica, or a resumed task
//! acting blindly) reaches it and is counted by the lab.
//!
//! The API does not say which replica ran an attempt; the store's `task_attempts.owner` does,
//! and each replica logs its engine's owner name at start, so the tests read both.
//!
//! Needs `DESKBRIDGE_TEST_DATABASE_URL` (scripts/test): skipped without it, failed under CI.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use support::postgres::TestDatabase;
use support::processes::{
    Adapter, ConfigOptions, LabProcess, StoreSpec, attempts, attempts_by_replica, is_interrupted,
    login, progress, scratch, start_replicas, tasks, write_config,
};

/// Options for replicas on `db`: per-site limits (shared among the live replicas) and a short
/// lease so a dead replica's tasks move on within seconds.
fn options(db: &TestDatabase, concurrency: u32) -> ConfigOptions {
    let (url, password) = db.url_and_password();
    ConfigOptions {
        store: StoreSpec::Postgres { url, password },
        concurrency,
        rate_limit: None,
        lease: "3s".to_owned(),
        sites_enabled: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_share_a_bulk_logoff_and_act_on_each_target_once() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let dir = scratch("replicas-share");
    // A lab with tens of thousands of sessions; its clock 50× faster (a logoff takes 2 s).
    let lab = LabProcess::start(&dir, &["--scale", "large", "--clock-speed", "50"]);
    let (targets, sessions) = lab.hung_targets(&["London", "Cloud"], 1500).await;
    assert_eq!(targets.len(), 3000);

    let replicas = start_replicas(&dir, &lab.info, &["a", "b", "c"], &options(&db, 48)).await;
    let mut owners = Vec::new();
    for replica in &replicas {
        owners.push(replica.replica().await);
    }
    let id = replicas[0].create(targets).await;
    // Any replica answers for the job, wherever its tasks run.
    let job = replicas[1].wait_ended(&id, Duration::from_secs(120)).await;
    assert_eq!(
        (job["state"].as_str(), progress(&job, "succeeded")),
        (Some("succeeded"), 3000),
        "{} {}",
        job["progress"],
        job["error"]
    );
    lab.assert_logged_off_once(&sessions).await;
    // One attempt per task: nobody ran a task another replica had.
    let tasks = tasks(&job);
    assert_eq!(tasks.len(), 3000);
    for task in &tasks {
        assert_eq!(task["attempt_count"], 1, "{task}");
        assert_eq!(task["state"], "succeeded", "{task}");
    }

    // Every replica did some of the work, and only these three did any.
    let counts = attempts_by_replica(&job);
    assert_eq!(counts.values().sum::<usize>(), 3000);
    for (name, owner) in ["a", "b", "c"].iter().zip(&owners) {
        assert!(
            counts.get(owner).copied().unwrap_or(0) > 0,
            "replica {name} ({owner}) ran none of the tasks: {counts:?}"
        );
    }
    assert_eq!(
        counts.keys().cloned().collect::<BTreeSet<_>>(),
        owners.iter().cloned().collect(),
        "attempts by owners other than the three replicas"
    );
    for replica in replicas {
        replica.process.terminate();
    }
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_mid_job_leaves_its_tasks_to_the_others_and_none_runs_twice() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let dir = scratch("replicas-kill");
    let lab = LabProcess::start(&dir, &["--scale", "large", "--clock-speed", "20"]);
    let (targets, sessions) = lab.hung_targets(&["London", "Cloud"], 400).await;

    // Small limits, so the job lasts long enough to kill a replica in the middle of it.
    let mut replicas = start_replicas(&dir, &lab.info, &["a", "b", "c"], &options(&db, 12)).await;
    let mut owners = Vec::new();
    for replica in &replicas {
        owners.push(replica.replica().await);
    }
    let id = replicas[0].create(targets).await;

    // Kill replica c while it has attempts under way and the job is well along.
    let victim = replicas.pop().expect("three replicas");
    let victim_owner = owners[2].clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let job = replicas[0].get(&format!("/api/v1/jobs/{id}")).await;
        let victim_busy = attempts(&job)
            .iter()
            .any(|a| a["replica"] == victim_owner.as_str() && a["ended_at"].is_null());
        if progress(&job, "succeeded") >= 100 && victim_busy {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline
                && matches!(job["state"].as_str(), Some("queued" | "running")),
            "replica c never had attempts under way mid-job: {} {}",
            job["state"],
            job["progress"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    victim.process.kill_9();

    // The two left finish it once the dead replica's leases lapse.
    let job = replicas[1].wait_ended(&id, Duration::from_secs(120)).await;
    assert_eq!(
        job["state"], "succeeded",
        "{} {}",
        job["progress"], job["error"]
    );
    lab.assert_logged_off_once(&sessions).await;

    // The tasks c was running show an interrupted attempt (c's), then a finished one by a
    // survivor.
    let interrupted: Vec<_> = tasks(&job)
        .into_iter()
        .filter(|t| {
            t["attempts"]
                .as_array()
                .is_some_and(|a| a.iter().any(is_interrupted))
        })
        .collect();
    assert!(!interrupted.is_empty(), "no interrupted attempt");
    for task in &interrupted {
        let views = task["attempts"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            views.last().map(|a| a["outcome"].clone()),
            Some("succeeded".into()),
            "{task}"
        );
        for view in views.iter().filter(|v| is_interrupted(v)) {
            assert_eq!(
                view["replica"],
                victim_owner.as_str(),
                "interrupted: {task}"
            );
        }
        let last = views
            .last()
            .and_then(|a| a["replica"].as_str())
            .unwrap_or_default();
        assert!(
            owners[..2].iter().any(|o| o == last),
            "the last attempt is a survivor's: {task}"
        );
    }
    // Nothing else was interrupted: only what c had under way.
    for attempt in attempts(&job).iter().filter(|a| is_interrupted(a)) {
        assert_eq!(attempt["replica"], victim_owner.as_str(), "{attempt}");
    }
    for replica in replicas {
        replica.process.terminate();
    }
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_token_issued_by_one_replica_is_accepted_by_the_others() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let dir = scratch("replicas-token");
    let lab = LabProcess::start(&dir, &[]);
    let replicas = start_replicas(&dir, &lab.info, &["a", "b", "c"], &options(&db, 8)).await;
    let http = reqwest::Client::new();
    let token = login(&http, &replicas[0].url)
        .await
        .expect("a token from a");
    for (name, replica) in ["a", "b", "c"].iter().zip(&replicas) {
        let response = http
            .get(format!("{}/api/v1/whoami", replica.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("whoami");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "a's token at {name}: {}",
            replica.process.stderr()
        );
        let me: serde_json::Value = response.json().await.expect("whoami JSON");
        assert_eq!(me["role"], "helpdesk", "{me}");
        // A token no replica issued is refused by each of them.
        let forged = format!("{token}x");
        let response = http
            .get(format!("{}/api/v1/whoami", replica.url))
            .bearer_auth(&forged)
            .send()
            .await
            .expect("whoami");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "at {name}");
    }
    for replica in replicas {
        replica.process.terminate();
    }
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_started_together_on_an_empty_database_all_come_up() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let dir = scratch("replicas-together");
    let lab = LabProcess::start(&dir, &[]);
    let options = options(&db, 8);
    // All three at once on an empty database, as an orchestrator starts a deployment: they
    // agree on one schema, one signing key and one record of the configured clients.
    let starts: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            let (config, env) = write_config(&dir.join(name), &lab.info, &options);
            let log = dir.join(format!("{name}.log"));
            tokio::spawn(async move {
                Adapter::start(&format!("replica {name}"), &config, &env, log).await
            })
        })
        .collect();
    let mut replicas = Vec::new();
    for start in starts {
        replicas.push(start.await.expect("a replica starts"));
    }
    let http = reqwest::Client::new();
    let token = login(&http, &replicas[0].url)
        .await
        .expect("a token from a");
    for replica in &replicas {
        let response = http
            .get(format!("{}/api/v1/whoami", replica.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("whoami");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            replica.process.what
        );
    }
    for replica in replicas {
        replica.process.terminate();
    }
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}
