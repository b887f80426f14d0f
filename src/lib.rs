//! deskbridge: an open, self-hosted bridge between ServiceNow and Citrix Virtual Apps and
//! Desktops, with simulators of both (the lab) so that everything runs over real HTTP.

pub mod accounts;
pub mod adapter;
pub mod cli;
pub mod config;
pub mod console;
pub mod cvad;
pub mod directory;
pub mod lab;
pub mod model;
pub mod observe;
pub mod secret;
pub mod servicenow;
