//! Simulated ServiceNow instances (placeholder until the simulator lands).

use super::{LabContext, ServiceNowInfo};
use axum::Router;

pub struct SnLab {}

impl SnLab {
    pub async fn start(_ctx: &LabContext) -> anyhow::Result<SnLab> {
        Ok(SnLab {})
    }

    pub fn instances(&self) -> Vec<ServiceNowInfo> {
        Vec::new()
    }

    pub fn control_router(&self) -> Router {
        Router::new()
    }

    pub async fn shutdown(self) {}
}
