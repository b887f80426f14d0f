//! The lab: simulated CVAD sites and ServiceNow instances serving the real products' HTTP APIs
//! on loopback, seeded with a helpdesk's worth of data, with fault injection and a simulated clock.

pub mod clock;
mod control;
pub mod cvad;
pub mod faults;
pub mod identity;
mod info;
pub mod people;
pub mod server;
pub mod servicenow;

pub use clock::SimClock;
pub use faults::{FaultInjector, FaultPatch, FaultPlan};
pub use info::{LabInfo, ServiceNowInfo, SiteCredentials, SiteInfo, ZoneInfo};

use anyhow::Context as _;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use server::HttpServer;
use std::sync::Arc;

/// How much data the lab generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// A few hundred machines and users: quick to start, easy to read.
    #[default]
    Small,
    /// 100,000 sessions across the sites: for performance work.
    Large,
}

impl Scale {
    /// How many people the lab's directory holds at this scale.
    pub fn people(self) -> usize {
        match self {
            Scale::Small => 400,
            Scale::Large => 60_000,
        }
    }
}

/// How to start a lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub seed: u64,
    pub scale: Scale,
    /// Keep new tickets, logons, logoffs and disconnects arriving.
    pub live: bool,
    /// How many times faster than wall time the simulated clock runs.
    pub clock_speed: f64,
    /// Faults active from the start on every simulated service.
    pub faults: FaultPlan,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            seed: 1,
            scale: Scale::Small,
            live: false,
            clock_speed: 1.0,
            faults: FaultPlan::default(),
        }
    }
}

/// What every simulator is started with.
#[derive(Debug, Clone)]
pub struct LabContext {
    pub seed: u64,
    pub scale: Scale,
    pub live: bool,
    pub clock: SimClock,
    pub people: Arc<Vec<people::Person>>,
    pub faults: FaultPlan,
}

impl LabContext {
    /// A deterministic random source for one simulator; `stream` keeps simulators independent
    /// so adding data to one never changes another's.
    pub fn rng(&self, stream: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(stream);
        rng
    }
}

/// A running lab.
pub struct Lab {
    info: LabInfo,
    clock: SimClock,
    cvad: cvad::CvadLab,
    servicenow: servicenow::SnLab,
    control: HttpServer,
}

impl Lab {
    /// Generates the data and starts every server on 127.0.0.1 with ephemeral ports.
    pub async fn start(options: LabOptions) -> anyhow::Result<Lab> {
        let clock = SimClock::starting_now(options.clock_speed);
        let ctx = LabContext {
            seed: options.seed,
            scale: options.scale,
            live: options.live,
            clock: clock.clone(),
            people: Arc::new(Vec::new()),
            faults: options.faults.clone(),
        };
        let people = people::generate(&mut ctx.rng(0), options.scale.people());
        let ctx = LabContext {
            people: Arc::new(people),
            ..ctx
        };

        let cvad = cvad::CvadLab::start(&ctx)
            .await
            .context("starting the simulated CVAD sites")?;
        let servicenow = servicenow::SnLab::start(&ctx)
            .await
            .context("starting the simulated ServiceNow instances")?;
        let router = control::router(clock.clone(), &cvad, &servicenow);
        let control = HttpServer::bind_loopback(router)
            .await
            .context("starting the lab control API")?;
        let info = LabInfo {
            servicenow: servicenow.instances(),
            sites: cvad.sites(),
            control: format!("{}/_lab", control.url()),
        };
        Ok(Lab {
            info,
            clock,
            cvad,
            servicenow,
            control,
        })
    }

    /// Where everything is and how to log in: the `deskbridge lab --json` line.
    pub fn info(&self) -> &LabInfo {
        &self.info
    }

    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    /// Stops every server.
    pub async fn shutdown(mut self) {
        self.control.stop().await;
        self.servicenow.shutdown().await;
        self.cvad.shutdown().await;
    }
}
