//! Client for the CVAD REST API (Orchestration API), on-prem and DaaS.

pub mod wire;
