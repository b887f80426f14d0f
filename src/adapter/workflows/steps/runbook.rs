//! One step of a runbook run: its condition checked against the parameters and the earlier
//! steps' results, its targets selected live from the site, and its action run over them as
//! one child job through the adapter's own job submission (validated, audited and durable like
//! any job), followed to its end.
//!
//! The child job's idempotency key names the parent task, the step and a generation that
//! grows each time the step is retried after failing for good: a resumed parent finds the
//! child its earlier run started (the id is noted before waiting), and a retried one starts
//! a fresh child for what is still to do.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{StepCtx, StepOutcome, StepResult, from_cvad};
use crate::adapter::engine::submit::{ChildJob, SubmitError};
use crate::adapter::runbooks::{
    self, ResolvedStep, Runbook, Selection, StepResult as Counts, machine_matches, session_matches,
    user_target,
};
use crate::adapter::store::JobState;
use crate::cvad::search::property;
use crate::cvad::{Search, SearchOp};

/// Where a step's counts are kept in the run's outputs, for later conditions.
fn result_key(step: &str) -> String {
    format!("runbook:{step}")
}

/// The counts of the steps done so far, from the run's outputs.
fn results(outputs: &serde_json::Map<String, Value>) -> BTreeMap<String, Counts> {
    outputs
        .iter()
        .filter_map(|(key, value)| {
            let step = key.strip_prefix("runbook:")?;
            let count = |field: &str| value.get(field).and_then(Value::as_u64).unwrap_or(0);
            Some((
                step.to_owned(),
                Counts {
                    targets: count("targets"),
                    succeeded: count("succeeded"),
                    failed: count("failed"),
                },
            ))
        })
        .collect()
}

fn counts_json(counts: &Counts) -> Value {
    json!({ "targets": counts.targets, "succeeded": counts.succeeded, "failed": counts.failed })
}

/// The job targets `(site, id)` the step's selection finds now.
async fn select(
    ctx: &StepCtx<'_>,
    step: &ResolvedStep,
) -> Result<Vec<(String, String)>, StepOutcome> {
    let site_of = |name: &str| ctx.site(name);
    match &step.select {
        Selection::Users(q) => user_target(&step.action, q)
            .map(|t| vec![t])
            .map_err(StepOutcome::Failed),
        Selection::Sessions(q) => {
            let site = site_of(&q.site)?;
            let search = match &q.delivery_group {
                Some(group) => {
                    Search::new().filter(property::DELIVERY_GROUP, SearchOp::Equals, group)
                }
                None => Search::new(),
            }
            .build();
            let found = ctx
                .call(site, |c| c.search_sessions(&search))
                .await
                .map_err(|e| {
                    from_cvad(&format!("cannot list the sessions of {}", site.name), &e)
                })?;
            let now = Utc::now();
            Ok(found
                .items
                .iter()
                .filter(|s| session_matches(q, s, now))
                .map(|s| (site.name.clone(), s.id.clone()))
                .collect())
        }
        Selection::Machines(q) => {
            let site = site_of(&q.site)?;
            let search = match &q.delivery_group {
                Some(group) => {
                    Search::new().filter(property::DELIVERY_GROUP, SearchOp::Equals, group)
                }
                None => Search::new(),
            }
            .build();
            let found = ctx
                .call(site, |c| c.search_machines(&search))
                .await
                .map_err(|e| {
                    from_cvad(&format!("cannot list the machines of {}", site.name), &e)
                })?;
            Ok(found
                .items
                .iter()
                .filter(|m| machine_matches(q, m))
                .map(|m| (site.name.clone(), m.name.clone()))
                .collect())
        }
    }
}

/// Follows child job `id` to its end; its counts.
async fn follow(ctx: &StepCtx<'_>, id: Uuid) -> Result<(JobState, Counts), StepOutcome> {
    loop {
        match ctx.store.get_job(id).await {
            Ok(Some(detail)) if detail.job.state.is_terminal() => {
                let p = detail.job.progress;
                return Ok((
                    detail.job.state,
                    Counts {
                        targets: u64::from(p.total),
                        succeeded: u64::from(p.succeeded),
                        failed: u64::from(p.failed) + u64::from(p.cancelled),
                    },
                ));
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(StepOutcome::Failed(format!(
                    "the step's job {id} is gone from the store"
                )));
            }
            Err(e) => {
                return Err(StepOutcome::Retry(format!(
                    "cannot read the step's job {id}: {e}"
                )));
            }
        }
        tokio::time::sleep(ctx.poll_interval.max(Duration::from_millis(50))).await;
    }
}

pub(super) async fn run(ctx: &StepCtx<'_>, index: usize) -> StepResult {
    let Some((book, given)) = ctx
        .params
        .runbook
        .as_ref()
        .and_then(|r| r.definition.as_ref().map(|d| (d, &r.values)))
    else {
        return Err(StepOutcome::Failed("the job carries no runbook".into()));
    };
    let Some(step) = book.steps.get(index) else {
        return Err(StepOutcome::Failed(format!(
            "runbook {} has no step {}",
            book.name,
            index + 1
        )));
    };
    let sites: Vec<&str> = ctx.sites.keys().map(String::as_str).collect();
    let values = runbooks::bind_with_sites(book, given, &sites).map_err(StepOutcome::Failed)?;
    if let Some(condition) = &step.when {
        let holds = runbooks::condition_holds(condition, &values, &results(ctx.outputs))
            .map_err(StepOutcome::Failed)?;
        if !holds {
            return Ok(StepOutcome::skipped(format!(
                "its condition {:?} does not hold",
                condition.text
            )));
        }
    }
    let resolved = runbooks::resolve(step, &values).map_err(StepOutcome::Failed)?;
    let previous = |key: &str| ctx.previous.and_then(|p| p.get(key));
    let noted_child = previous("child_job")
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id).ok());
    let child = match noted_child {
        Some(id) if ctx.resumed => id,
        _ => {
            if let Some(wait) = resolved.wait {
                tokio::time::sleep(wait).await;
            }
            let targets = select(ctx, &resolved).await?;
            if targets.is_empty() {
                let none = Counts {
                    targets: 0,
                    succeeded: 0,
                    failed: 0,
                };
                return Ok(StepOutcome::Done {
                    detail: "no target matched its selection: nothing to do".into(),
                    output: json!({ result_key(&step.name): counts_json(&none) }),
                });
            }
            // A step refused for good and retried starts a new child for what is left.
            let generation = previous("generation").and_then(Value::as_u64).unwrap_or(0)
                + u64::from(ctx.previous.is_some() && !ctx.resumed);
            ctx.note(json!({ "generation": generation })).await?;
            let id = submit(ctx, book, &resolved, targets, generation).await?;
            ctx.note(json!({ "child_job": id.to_string() })).await?;
            id
        }
    };
    let (state, counts) = follow(ctx, child).await?;
    let output =
        json!({ result_key(&step.name): counts_json(&counts), "child_job": child.to_string() });
    let summary = format!(
        "job {child} ({}): {} of {} target(s) succeeded{}",
        resolved.action,
        counts.succeeded,
        counts.targets,
        if counts.failed > 0 {
            format!(", {} failed", counts.failed)
        } else {
            String::new()
        }
    );
    if state != JobState::Succeeded && resolved.on_failure == runbooks::OnFailure::Stop {
        return Err(StepOutcome::Failed(format!(
            "{summary}; the runbook stops here (on_failure = \"stop\")"
        )));
    }
    Ok(StepOutcome::Done {
        detail: summary,
        output,
    })
}

async fn submit(
    ctx: &StepCtx<'_>,
    book: &Runbook,
    step: &ResolvedStep,
    targets: Vec<(String, String)>,
    generation: u64,
) -> Result<Uuid, StepOutcome> {
    let Some(submitter) = ctx.submitter else {
        return Err(StepOutcome::Failed(
            "this engine cannot start jobs of its own (no job submission is installed)".into(),
        ));
    };
    let job = ChildJob {
        action: step.action.clone(),
        targets,
        params: step.params.clone(),
        idempotency_key: format!("runbook:{}:{}:{generation}", ctx.task_id, step.name),
        requested_by: format!("runbook {} for {}", book.name, ctx.requested_by),
        role: book.role,
    };
    submitter.submit(job).await.map_err(|e| match e {
        SubmitError::Refused(why) => StepOutcome::Failed(format!("its job was refused: {why}")),
        SubmitError::Unavailable(why) => {
            StepOutcome::Retry(format!("its job cannot be started now: {why}"))
        }
    })
}
