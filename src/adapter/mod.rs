//! The adapter (`deskbridge serve`): the HTTP API ([`api`]), the durable store ([`store`]), the
//! CVAD inventory, the job engine and its workflows, ServiceNow ticket sync and fulfilment,
//! routing, idle power-off, runbooks, reports and metrics.

pub mod api;
pub mod engine;
pub mod idle;
pub mod inventory;
pub mod metrics;
pub mod replicas;
pub mod reports;
pub mod routing;
pub mod runbooks;
pub mod store;
pub mod tickets;
pub mod workflows;
