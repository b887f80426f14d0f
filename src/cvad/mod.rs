//! Client for the CVAD REST API (Orchestration API), on-prem and DaaS.
//!
//! One [`CvadClient`] per site: it authenticates (on-prem Basic or cloud client credentials),
//! shares one token between concurrent callers, fails over between the site's connector
//! endpoints, retries when the site asks it to slow down, pages through collections, follows
//! asynchronous jobs and converts the wire models into [`crate::model`] types.
//!
//! ```no_run
//! # async fn demo(site: &deskbridge::lab::SiteInfo) -> Result<(), deskbridge::cvad::CvadError> {
//! use deskbridge::cvad::{CvadClient, CvadConfig};
//! let client = CvadClient::new(CvadConfig::from_lab(site))?;
//! let sessions = client.sessions().await?;
//! # let _ = sessions; Ok(()) }
//! ```

mod actions;
mod auth;
mod classify;
mod client;
mod config;
pub mod convert;
mod endpoints;
mod entitle;
mod error;
mod identity;
mod jobs;
mod paging;
pub mod path;
mod provision;
mod resources;
pub mod search;
mod transport;
pub mod wire;
pub mod wire_entitle;
pub mod wire_identity;

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod fake;

pub use actions::{AdminCredential, MessageStyle};
pub use client::{CvadClient, EndpointStatus, JobRef};
pub use config::{CvadAuth, CvadConfig, ONPREM_CUSTOMER_ID, RetryPolicy, ZoneEndpoints};
pub use entitle::{Entitlement, EntitlementChange};
pub use error::{CONNECTOR_HINT, CvadError, is_retryable_status, job_failure_hint};
pub use identity::{IdentityQuery, IdentityText};
pub use jobs::{Job, JobState, job_types};
pub use paging::{MAX_PAGE_SIZE, Page, Pager, SearchResult, clamp_limit};
pub use provision::DeleteMachineOptions;
pub use search::{Search, SearchOp};
pub use wire::JobStatus;
pub use wire::{
    AddCatalogMachineRequest, AssignMachineToUsers, DeliveryGroupAddMachinesRequest,
    MachineAccountCreationRules, UpdateMachineRequest,
};
