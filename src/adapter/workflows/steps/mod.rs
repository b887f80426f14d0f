//! What each workflow step does. Every step looks before it acts: an account that already
//! exists (made by an earlier attempt), a user already entitled, a machine already on are
//! recorded as skipped, so a retried or resumed workflow never repeats a change.
//!
//! CVAD calls take a call slot of their site ([`SiteCtx::pace`]), as bulk tasks' calls do, so
//! a site's `concurrency` bounds everything the adapter sends it.

mod account;
mod entitle;
mod machine;
mod offboard;
mod runbook;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::params::WorkflowParams;
use super::plan::Step;
use crate::adapter::engine::follow::{JobWatch, Polled};
use crate::adapter::engine::submit::JobSubmitter;
use crate::adapter::engine::worker::SiteCtx;
use crate::adapter::store::Store;
use crate::cvad::{CvadClient, CvadError};
use crate::directory::{Directory, DirectoryError};
use crate::secret::Secret;

/// How a step ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// It changed something; `output` is what later steps need (`{"machine": …}`) or null.
    Done { detail: String, output: Value },
    /// Nothing to do: already as asked.
    Skipped(String),
    /// A transient failure (site or directory unreachable, throttled): the task is retried
    /// from this step after a backoff.
    Retry(String),
    /// A permanent failure: the workflow stops here; a retry starts again from this step.
    Failed(String),
}

impl StepOutcome {
    pub fn done(detail: impl Into<String>) -> StepOutcome {
        StepOutcome::Done {
            detail: detail.into(),
            output: Value::Null,
        }
    }

    pub fn skipped(detail: impl Into<String>) -> StepOutcome {
        StepOutcome::Skipped(detail.into())
    }
}

/// A CVAD error as a step's end: unreachable or throttled is retried, the rest is final.
pub fn from_cvad(what: &str, err: &CvadError) -> StepOutcome {
    let text = format!("{what}: {err}");
    if err.is_retryable() {
        StepOutcome::Retry(text)
    } else {
        StepOutcome::Failed(text)
    }
}

/// A directory error as a step's end.
pub fn from_directory(what: &str, err: &DirectoryError) -> StepOutcome {
    let text = format!("{what}: {err}");
    if err.is_retryable() {
        StepOutcome::Retry(text)
    } else {
        StepOutcome::Failed(text)
    }
}

/// Where a running step writes down what a resumed run of it must know before it waits (the
/// CVAD job it started), committed before the step goes on.
#[async_trait::async_trait]
pub trait StepNotes: Send + Sync {
    /// Merges `output` into the step's stored output. An error means the task is no longer
    /// ours or the store is down; the step should stop.
    async fn note(&self, output: Value) -> Result<(), String>;
}

/// What a step runs with.
pub struct StepCtx<'a> {
    /// The beneficiary's account name, without the domain.
    pub user: &'a str,
    /// The beneficiary's NetBIOS domain.
    pub domain: &'a str,
    pub params: &'a WorkflowParams,
    /// The engine's sites.
    pub sites: &'a BTreeMap<String, Arc<SiteCtx>>,
    /// The beneficiary's domain's directory, if one is configured.
    pub directory: Option<&'a Arc<dyn Directory>>,
    /// An onboarding's initial password, while the engine still holds it.
    pub password: Option<&'a Secret>,
    /// The outputs of the steps done before this one, merged.
    pub outputs: &'a Map<String, Value>,
    /// An earlier run of this step may have made its change (it was interrupted, or failed
    /// transiently): look before acting, and take what is found as this step's work.
    pub resumed: bool,
    /// What an earlier run of this step noted ([`StepNotes`]), whether or not it may have
    /// acted (a step refused for good is retried with what it noted).
    pub previous: Option<&'a Value>,
    pub notes: &'a dyn StepNotes,
    /// For steps that start child jobs (runbooks): the store to follow them in, the adapter's
    /// job submission, the task, and who asked for the workflow.
    pub store: &'a dyn Store,
    pub submitter: Option<&'a Arc<dyn JobSubmitter>>,
    pub task_id: i64,
    pub requested_by: &'a str,
    pub poll_interval: Duration,
    pub job_timeout: Duration,
}

impl StepCtx<'_> {
    /// `DOMAIN\user`, the form CVAD lists users in.
    pub fn qualified_user(&self) -> String {
        format!("{}\\{}", self.domain, self.user)
    }

    fn site(&self, name: &str) -> Result<&Arc<SiteCtx>, StepOutcome> {
        self.sites.get(name).ok_or_else(|| {
            StepOutcome::Failed(format!("site {name} is not configured in this adapter"))
        })
    }

    fn directory(&self) -> Result<&Arc<dyn Directory>, StepOutcome> {
        self.directory.ok_or_else(|| {
            StepOutcome::Failed(format!(
                "no directory is configured for domain {}",
                self.domain
            ))
        })
    }

    /// The machine an earlier step picked or provisioned.
    fn machine(&self) -> Result<&str, StepOutcome> {
        self.outputs
            .get("machine")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                StepOutcome::Failed(
                    "no machine was picked or provisioned by the steps before".into(),
                )
            })
    }

    /// Notes `output` for a resumed run of this step; the step fails if it cannot be stored,
    /// since a resumed run would then not know what this one started.
    async fn note(&self, output: Value) -> Result<(), StepOutcome> {
        self.notes
            .note(output)
            .await
            .map_err(|e| StepOutcome::Retry(format!("cannot note the step's progress: {e}")))
    }

    /// Runs one CVAD call on `site` holding one of its call slots.
    async fn call<'s, T, F, Fut>(&self, site: &'s Arc<SiteCtx>, f: F) -> Result<T, CvadError>
    where
        F: FnOnce(&'s CvadClient) -> Fut,
        Fut: Future<Output = Result<T, CvadError>>,
    {
        let _slot = site.pace().await;
        f(&site.client).await
    }

    /// Waits for a site's async job of `kind` (its CVAD job type) to end: `Ok` when it
    /// succeeded, the step's failure else.
    async fn wait_job(
        &self,
        site: &Arc<SiteCtx>,
        job_id: &str,
        kind: &str,
    ) -> Result<crate::cvad::Job, StepOutcome> {
        let deadline = tokio::time::Instant::now() + self.job_timeout;
        let mut updates = JobWatch::subscribe(site, job_id, kind, self.poll_interval);
        let mut last = None;
        loop {
            match tokio::time::timeout_at(deadline, updates.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => {
                    return Err(StepOutcome::Retry(format!(
                        "lost track of CVAD job {job_id} at site {}",
                        site.name
                    )));
                }
                Err(_) => {
                    return Err(StepOutcome::Failed(format!(
                        "CVAD job {job_id} at site {} did not finish within {} s",
                        site.name,
                        self.job_timeout.as_secs()
                    )));
                }
            }
            let polled = updates.borrow_and_update().clone();
            match polled {
                None => {}
                Some(Polled::Gone) => {
                    return Err(StepOutcome::Retry(format!(
                        "site {} no longer knows its job {job_id}",
                        site.name
                    )));
                }
                Some(Polled::Failed(e)) => return Err(StepOutcome::Failed(e)),
                Some(Polled::Job(job)) if job.is_terminal() => {
                    if job.succeeded() {
                        return Ok(*job);
                    }
                    let why = job
                        .failure_message()
                        .unwrap_or_else(|| "the site gave no reason".into());
                    return Err(StepOutcome::Failed(format!(
                        "CVAD job {} {} at site {} failed: {why}",
                        job.job_type, job.id, site.name
                    )));
                }
                Some(Polled::Job(job)) => {
                    // The site job's own progress, live in the step (provisioning takes minutes).
                    if let Some(percent) = job.progress
                        && last != Some(percent)
                    {
                        last = Some(percent);
                        self.note(json!({ "cvad_job": job.id, "cvad_percent": percent }))
                            .await?;
                    }
                }
            }
        }
    }
}

/// Runs one step.
pub async fn execute(step: &Step, ctx: &StepCtx<'_>) -> StepOutcome {
    let ended = match step {
        Step::AccountCreate => account::create(ctx).await,
        Step::GroupAdd { group } => account::group_add(ctx, group).await,
        Step::AccountDisable => account::disable(ctx).await,
        Step::EntitleDeliveryGroup {
            site,
            delivery_group,
        } => entitle::entitle(ctx, site, entitle::Group::Delivery, delivery_group).await,
        Step::EntitleApplicationGroup {
            site,
            application_group,
        } => entitle::entitle(ctx, site, entitle::Group::Application, application_group).await,
        Step::PickMachine {
            site,
            delivery_group,
        } => machine::pick(ctx, site, delivery_group).await,
        Step::ProvisionMachine {
            site,
            catalog,
            naming,
        } => machine::provision(ctx, site, catalog, naming.as_deref()).await,
        Step::AddToDeliveryGroup {
            site,
            delivery_group,
        } => machine::add_to_group(ctx, site, delivery_group).await,
        Step::AssignMachine { site } => machine::assign(ctx, site).await,
        Step::PowerOn { site } => machine::power_on(ctx, site).await,
        Step::WaitRegistered { site } => machine::wait_registered(ctx, site).await,
        Step::LogoffSessions => offboard::logoff_sessions(ctx).await,
        Step::RemoveEntitlements => offboard::remove_entitlements(ctx).await,
        Step::ReleaseMachines { delete } => offboard::release_machines(ctx, *delete).await,
        Step::Runbook { index, .. } => runbook::run(ctx, *index).await,
    };
    ended.unwrap_or_else(|outcome| outcome)
}

/// Steps return `Err` for an early end, so `?` works on the context's lookups.
type StepResult = Result<StepOutcome, StepOutcome>;
