//! The workflow lane: each task is one person's workflow ([`crate::adapter::workflows`]), run
//! step by step. A step's start and end are committed before the next step begins, so a
//! retried or resumed task continues from the first step not done: done steps are never
//! repeated, and a step that was running when its engine stopped checks before acting.
//!
//! A failed step fails the task with the steps done before it listed, which is what the
//! ticket's work note says; the job's retry re-queues the task and it continues from there.

use std::future::Future;
use std::sync::Arc;

use chrono::Utc;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::Shared;
use super::actions::Operation;
use super::lane::{self, Claimed, Lane, Opened};
use super::lease;
use super::run::Outcome;
use super::worker::{Ended, TaskSlot, record};
use crate::adapter::store::{StepRecord, StepState, Task, TaskWrite};
use crate::adapter::workflows::params::WorkflowParams;
use crate::adapter::workflows::plan::{Step, plan};
use crate::adapter::workflows::steps::{self, StepCtx, StepNotes, StepOutcome};
use crate::adapter::workflows::{LANE, WorkflowKind};

/// Workflows in flight at once. Most of a workflow's time is waiting (for MCS, a machine to
/// register, a runbook's drain time), so this is generous; what a site sees is bounded by
/// its own call slots, which every step's CVAD call takes.
const CONCURRENCY: u32 = 32;

/// The one workflow lane of an engine.
pub struct WorkflowCtx;

impl Lane for WorkflowCtx {
    fn name(&self) -> &str {
        LANE
    }

    fn concurrency(&self) -> u32 {
        CONCURRENCY
    }

    fn enabled_in_config(&self) -> bool {
        true
    }

    fn run(
        self: &Arc<Self>,
        shared: Arc<Shared>,
        claimed: Claimed,
        slot: TaskSlot,
    ) -> impl Future<Output = ()> + Send + 'static {
        run_claimed(shared, claimed, slot)
    }
}

async fn run_claimed(shared: Arc<Shared>, claimed: Claimed, slot: TaskSlot) {
    let Some(Opened {
        task,
        interrupted,
        lost,
        job,
    }) = lane::open(&shared, claimed).await
    else {
        return;
    };
    let started = Instant::now();
    let cancelled = !interrupted && shared.jobs.cancel_requested(&shared, task.job_id).await;
    let outcome = match &job.op {
        _ if cancelled => Outcome::Cancelled("cancelled before this attempt started".into()),
        Ok(Operation::Workflow { kind, params }) => {
            let run = WorkflowRun {
                shared: &shared,
                task: &task,
                kind: *kind,
                params,
                job_params: &job.params,
                requested_by: &job.requested_by,
            };
            tokio::select! {
                biased;
                () = lease::lost(lost) => Outcome::LeaseLost,
                outcome = run.run() => outcome,
            }
        }
        Ok(_) => Outcome::Failed("only workflows run in the workflow lane".into()),
        Err(e) => Outcome::Failed(format!("the job's parameters are not valid: {e}")),
    };
    slot.release();
    if let Some(hook) = &shared.options.after_action
        && let Ok(Operation::Workflow { params, .. }) = &job.op
        && let Some(resources) = &params.resources
    {
        hook.refresh_now(&resources.site);
    }
    let ended = Ended {
        action: &job.action,
        attempt: task.attempts,
        started,
    };
    record(&shared, (LANE, None), task.id, ended, outcome, None);
}

struct WorkflowRun<'a> {
    shared: &'a Shared,
    task: &'a Task,
    kind: WorkflowKind,
    params: &'a WorkflowParams,
    job_params: &'a Value,
    requested_by: &'a str,
}

impl WorkflowRun<'_> {
    /// The task's target, `DOMAIN\\sam`, as (domain, account name).
    fn person(&self) -> (&str, &str) {
        self.task
            .target_id
            .split_once('\\')
            .unwrap_or(("", self.task.target_id.as_str()))
    }

    async fn store_step(&self, step: &StepRecord) -> Result<(), Outcome> {
        match self
            .shared
            .store
            .record_step(self.task.id, &self.shared.owner, step)
            .await
        {
            Ok(()) => Ok(()),
            Err(crate::adapter::store::StoreError::LeaseLost { .. }) => Err(Outcome::LeaseLost),
            // Without the record a later attempt could not tell this step apart from one never
            // started; stop here and let the retry look again.
            Err(e) => Err(Outcome::Retry(format!(
                "cannot record a workflow step: {e}"
            ))),
        }
    }

    async fn run(&self) -> Outcome {
        match self.steps().await {
            Ok(outcome) | Err(outcome) => outcome,
        }
    }

    async fn steps(&self) -> Result<Outcome, Outcome> {
        let planned = plan(self.kind, self.params).map_err(Outcome::Failed)?;
        let recorded = self
            .shared
            .store
            .task_steps(self.task.id)
            .await
            .map_err(|e| Outcome::Retry(format!("cannot read the workflow's steps: {e}")))?;
        let (domain, user) = self.person();
        let qualified = format!("{domain}\\{user}");
        let directory = self.shared.options.directories.get(domain);
        let secrets = self.shared.secrets.get(self.job_params);
        let mut outputs = Map::new();
        let mut done: Vec<String> = Vec::new();
        for (number, step) in planned.iter().enumerate() {
            let number = u32::try_from(number).unwrap_or(u32::MAX);
            let title = step.title(&qualified);
            let before = recorded.iter().find(|r| r.number == number);
            if let Some(record) = before
                && record.state.is_finished()
            {
                if let Value::Object(map) = &record.output {
                    outputs.extend(map.clone());
                }
                done.push(title);
                continue;
            }
            let mut record = StepRecord {
                number,
                kind: step.kind().to_owned(),
                title: title.clone(),
                state: StepState::Running,
                detail: None,
                output: Value::Null,
                started_at: Some(Utc::now()),
                ended_at: None,
            };
            self.store_step(&record).await?;
            let notes = Notes {
                run: self,
                record: std::sync::Mutex::new(record.clone()),
            };
            let resumed = before.is_some_and(may_have_acted);
            let ctx = StepCtx {
                user,
                domain,
                params: self.params,
                sites: &self.shared.sites,
                directory: directory.as_ref(),
                password: secrets.as_ref().and_then(|s| s.password.as_ref()),
                outputs: &outputs,
                resumed,
                previous: before.map(|r| &r.output),
                notes: &notes,
                store: self.shared.store.as_ref(),
                submitter: self.shared.options.submitter.as_ref(),
                task_id: self.task.id,
                requested_by: self.requested_by,
                poll_interval: self.shared.options.poll_interval,
                job_timeout: self.shared.options.job_timeout,
            };
            let ended = steps::execute(step, &ctx).await;
            let noted = notes.output();
            record.ended_at = Some(Utc::now());
            let (state, detail, output) = match &ended {
                StepOutcome::Done { detail, output } => (StepState::Done, detail, output.clone()),
                StepOutcome::Skipped(detail) => (StepState::Skipped, detail, Value::Null),
                // A transient failure may have come after the change was made (an answer
                // lost on the way back); the next attempt must look before it acts again.
                StepOutcome::Retry(why) => (StepState::Failed, why, with_transient(noted)),
                // What it noted stays: a retry of the step reads it (a runbook step starts
                // its next child job under a new key).
                StepOutcome::Failed(why) => (StepState::Failed, why, noted),
            };
            record.state = state;
            record.detail = Some(detail.clone());
            record.output = output;
            self.store_step(&record).await?;
            if state.is_finished() {
                // The task's percent follows its steps, for the gauges that show only that.
                let percent = (done.len() + 1) * 100 / planned.len().max(1);
                self.shared.recorder.submit_for(
                    None,
                    TaskWrite::Progress {
                        task_id: self.task.id,
                        percent: u8::try_from(percent.min(100)).unwrap_or(100),
                        external_job_id: None,
                    },
                );
            }
            match ended {
                StepOutcome::Done { output, .. } => {
                    if let Value::Object(map) = output {
                        outputs.extend(map);
                    }
                    done.push(title);
                }
                StepOutcome::Skipped(_) => done.push(title),
                StepOutcome::Retry(why) => {
                    return Err(Outcome::Retry(failure(
                        number, &planned, &title, &why, &done,
                    )));
                }
                StepOutcome::Failed(why) => {
                    return Err(Outcome::Failed(failure(
                        number, &planned, &title, &why, &done,
                    )));
                }
            }
        }
        Ok(Outcome::Done(format!(
            "{} step(s) done: {}",
            done.len(),
            done.join("; ")
        )))
    }
}

/// What a running step notes for a resumed run of it ([`StepNotes`]): merged into its record's
/// output and committed at once.
struct Notes<'r, 'a> {
    run: &'r WorkflowRun<'a>,
    record: std::sync::Mutex<StepRecord>,
}

impl Notes<'_, '_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, StepRecord> {
        self.record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn output(&self) -> Value {
        self.lock().output.clone()
    }
}

#[async_trait::async_trait]
impl StepNotes for Notes<'_, '_> {
    async fn note(&self, output: Value) -> Result<(), String> {
        let record = {
            let mut record = self.lock();
            if !record.output.is_object() {
                record.output = json!({});
            }
            if let (Value::Object(into), Value::Object(from)) = (&mut record.output, output) {
                into.extend(from);
            }
            record.clone()
        };
        match self.run.store_step(&record).await {
            Ok(()) => Ok(()),
            Err(Outcome::LeaseLost) => Err("the task was taken over by another engine".into()),
            Err(_) => Err("the store cannot be written".into()),
        }
    }
}

/// A transient failure's output: what the step noted, marked transient.
fn with_transient(noted: Value) -> Value {
    let mut output = match noted {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    output.insert(TRANSIENT.into(), Value::Bool(true));
    Value::Object(output)
}

/// Marks a step's record whose failure was transient.
const TRANSIENT: &str = "transient";

/// Whether an earlier run of this step may have made its change: it was interrupted while
/// running, or failed in a way that does not prove it did nothing. A step refused for good
/// (an account name already taken) acted on nothing, and its retry must not take the
/// refusal's cause for its own work.
fn may_have_acted(record: &StepRecord) -> bool {
    record.state == StepState::Running
        || record.output.get(TRANSIENT).and_then(Value::as_bool) == Some(true)
}

/// "step 3 of 5 (Assign …) failed: why. Done before it: 1 …; 2 …" — what the ticket's work
/// note and the job show.
fn failure(number: u32, planned: &[Step], title: &str, why: &str, done: &[String]) -> String {
    let mut text = format!(
        "step {} of {} ({title}) failed: {why}.",
        number + 1,
        planned.len()
    );
    if done.is_empty() {
        text.push_str(" No step was done before it.");
    } else {
        let listed: Vec<String> = done
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{} {t}", i + 1))
            .collect();
        text.push_str(&format!(" Done before it: {}.", listed.join("; ")));
    }
    text.push_str(" A retry continues from this step.");
    text
}
