//! User sessions running on machines.

use super::enums::{AppState, SessionState, SessionType};
use super::machine::Ref;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One session as the broker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    /// `DOMAIN\user`.
    pub user_name: String,
    pub user_upn: String,
    pub user_display_name: String,
    pub machine: Ref,
    pub delivery_group: Option<Ref>,
    pub state: SessionState,
    pub session_type: SessionType,
    pub app_state: AppState,
    pub applications_in_use: Vec<String>,
    pub client_name: String,
    pub client_address: String,
    pub protocol: String,
    pub start_time: Option<DateTime<Utc>>,
    pub state_change_time: Option<DateTime<Utc>>,
    pub logon_in_progress: bool,
    pub logoff_in_progress: bool,
    pub hidden: bool,
}
