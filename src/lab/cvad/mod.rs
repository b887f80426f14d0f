//! Simulated CVAD sites (placeholder until the simulator lands).

use super::{LabContext, SiteInfo};
use axum::Router;

pub struct CvadLab {}

impl CvadLab {
    pub async fn start(_ctx: &LabContext) -> anyhow::Result<CvadLab> {
        Ok(CvadLab {})
    }

    pub fn sites(&self) -> Vec<SiteInfo> {
        Vec::new()
    }

    pub fn control_router(&self) -> Router {
        Router::new()
    }

    pub async fn shutdown(self) {}
}
