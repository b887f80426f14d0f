//! Client for the ServiceNow Table API: encoded queries, Basic and OAuth authentication,
//! paging, typed records, ticket lifecycle writes, journals and the service catalog.
//!
//! Wire shapes (string-valued JSON, reference objects) stay in this module; callers get
//! [`Record`]s with typed accessors or the domain types of [`crate::model`].
//!
//! ```no_run
//! # async fn demo(info: &deskbridge::lab::ServiceNowInfo) -> Result<(), deskbridge::servicenow::Error> {
//! use deskbridge::servicenow::*;
//! let client = ServiceNowClient::new(ServiceNowConfig::from_lab(info, AuthMode::OAuthPassword))?;
//! let query = Query::new().eq("active", "true").in_("state", ["1", "2"]).order_by("priority").build()?;
//! let queue = client.tickets(deskbridge::model::TicketKind::Incident, &ListParams::new().query(query)).await?;
//! # let _ = queue; Ok(()) }
//! ```

mod auth;
mod catalog;
mod config;
mod error;
mod masked;
mod paging;
mod query;
mod record;
mod table;
mod tickets;
mod transport;
mod users;

pub use auth::AuthStats;
pub use catalog::{ItemVariable, Order};
pub use config::{Auth, AuthMode, OAuthGrant, RetryPolicy, ServiceNowConfig};
pub use error::{ApiError, Error, TransportKind};
pub use masked::{MASKED_TYPE, TypedVariable, VariableValue, split_masked};
pub use paging::{LinkEntry, next_link, next_offset, parse_link_header, total_count};
pub use query::{EncodedQuery, Op, Query, QueryError, escape, validate_field};
pub use record::{DATETIME_FORMAT, Record, format_datetime};
pub use table::{DisplayValue, ListParams, Page, Pager, ReadOptions};
pub use tickets::{TICKET_FIELDS, TicketUpdate, ticket_fields};
pub use transport::ServiceNowClient;
pub use users::{SnUser, USER_FIELDS};
