//! Each view's fields: which are table columns, their widths and priorities, and which are
//! only for the detail pane and the filter. The order is the order of a row's cells.

use super::rows::Column;
use crate::console::keymap::View;

/// The columns of a view, in cell order.
pub fn columns(view: View) -> &'static [Column] {
    match view {
        View::Tickets => TICKETS,
        View::Sessions => SESSIONS,
        View::Machines => MACHINES,
        View::Groups => GROUPS,
        View::Sites => SITES,
        View::Users => USERS,
        View::Jobs => JOBS,
        View::Audit => AUDIT,
    }
}

/// The index of a column by name; views are static, so a miss is a bug caught by tests.
pub fn column_index(view: View, name: &str) -> Option<usize> {
    columns(view).iter().position(|c| c.name == name)
}

const TICKETS: &[Column] = &[
    Column::text("number", "NUMBER", 11, 0),
    Column::number("priority", "P", 2, 1),
    Column::text("state", "STATE", 12, 2),
    Column::text("age", "AGE", 7, 3),
    Column::text("short", "SHORT DESCRIPTION", 40, 0),
    Column::text("requester", "REQUESTER", 16, 4),
    Column::text("assigned", "ASSIGNED TO", 16, 5),
    Column::text("group", "GROUP", 16, 6),
    Column::text("instance", "INSTANCE", 10, 7),
    Column::hidden("kind", "Kind"),
    Column::hidden("item", "Catalog item"),
    Column::hidden("opened", "Opened (UTC)"),
    Column::hidden("updated", "Updated (UTC)"),
    Column::hidden("queue", "Queue"),
    Column::hidden("url", "Link"),
    Column::hidden("table", "Table"),
    Column::hidden("sys_id", "sys_id"),
];

const SESSIONS: &[Column] = &[
    Column::text("user", "USER", 20, 0),
    Column::text("name", "NAME", 18, 4),
    Column::text("machine", "MACHINE", 20, 1),
    Column::text("state", "STATE", 12, 0),
    Column::text("site", "SITE", 10, 3),
    Column::text("group", "DELIVERY GROUP", 18, 5),
    Column::text("client", "CLIENT", 14, 6),
    Column::text("started", "STARTED (UTC)", 16, 2),
    Column::hidden("type", "Type"),
    Column::hidden("apps", "Applications"),
    Column::hidden("protocol", "Protocol"),
    Column::hidden("address", "Client address"),
    Column::hidden("upn", "UPN"),
    Column::hidden("id", "Session id"),
];

const MACHINES: &[Column] = &[
    Column::text("name", "NAME", 20, 0),
    Column::text("state", "STATE", 13, 0),
    Column::text("power", "POWER", 10, 1),
    Column::text("registration", "REGISTRATION", 13, 3),
    Column::text("maintenance", "MAINT", 5, 2),
    Column::number("sessions", "SESS", 4, 2),
    Column::text("site", "SITE", 10, 4),
    Column::text("group", "DELIVERY GROUP", 18, 5),
    Column::text("users", "ASSIGNED", 18, 6),
    Column::hidden("fault", "Fault"),
    Column::hidden("support", "Session support"),
    Column::hidden("catalog", "Catalog"),
    Column::hidden("zone", "Zone"),
    Column::hidden("os", "OS"),
    Column::hidden("ip", "IP address"),
    Column::hidden("load", "Load index"),
    Column::hidden("dns", "DNS name"),
    Column::hidden("id", "Machine id"),
];

const GROUPS: &[Column] = &[
    Column::text("name", "NAME", 22, 0),
    Column::text("site", "SITE", 10, 2),
    Column::text("machines", "MACHINES", 30, 0),
    Column::number("total", "TOTAL", 5, 1),
    Column::number("available", "AVAIL", 5, 3),
    Column::number("in_use", "IN USE", 6, 3),
    Column::number("disconnected", "DISC", 5, 4),
    Column::number("unregistered", "UNREG", 5, 4),
    Column::number("faulted", "FAULT", 5, 3),
    Column::number("sessions", "SESS", 5, 5),
    Column::text("maintenance", "MAINT", 5, 6),
    Column::hidden("support", "Session support"),
    Column::hidden("delivery", "Delivers"),
    Column::hidden("enabled", "Enabled"),
    Column::hidden("description", "Description"),
    Column::hidden("id", "Group id"),
];

const SITES: &[Column] = &[
    Column::text("name", "NAME", 14, 0),
    Column::text("health", "HEALTH", 9, 0),
    Column::text("connectors", "CONNECTORS", 10, 1),
    Column::text("zones", "ZONES", 18, 4),
    Column::number("sessions", "SESSIONS", 8, 2),
    Column::text("trend", "SESSIONS TREND", 16, 3),
    Column::number("machines", "MACHINES", 8, 3),
    Column::text("age", "DATA AGE", 8, 1),
    Column::text("enabled", "ENABLED", 7, 2),
    Column::text("kind", "KIND", 7, 5),
    Column::hidden("error", "Last error"),
    Column::hidden("endpoints", "Endpoints"),
    Column::hidden("fetched", "Fetched (UTC)"),
    Column::hidden("changed_by", "Switched by"),
    Column::hidden("site_id", "Site id"),
];

const USERS: &[Column] = &[
    Column::text("user", "USER", 22, 0),
    Column::text("name", "NAME", 22, 1),
    Column::text("upn", "UPN", 26, 3),
    Column::number("sessions", "SESS", 4, 2),
    Column::number("machines", "MACH", 4, 2),
    Column::text("sites", "SITES", 16, 4),
    // From the directory, filled in for each user once their account has been read.
    Column::text("locked", "LOCKED", 6, 2),
    Column::text("disabled", "DISABLED", 8, 2),
    Column::text("must_change", "MUST CHG", 8, 5),
    Column::text("expires", "PWD EXPIRES", 16, 5),
    Column::hidden("mail", "Mail"),
    Column::hidden("groups", "Groups"),
];

const JOBS: &[Column] = &[
    Column::text("action", "ACTION", 18, 0),
    Column::text("state", "STATE", 16, 0),
    Column::text("progress", "DONE", 11, 1),
    Column::number("failed", "FAILED", 6, 2),
    Column::text("ticket", "TICKET", 11, 3),
    Column::text("by", "BY", 12, 4),
    Column::text("created", "CREATED (UTC)", 16, 2),
    Column::text("error", "RESULT / ERROR", 30, 5),
    Column::hidden("ticket_status", "Ticket status"),
    Column::hidden("id", "Job id"),
];

const AUDIT: &[Column] = &[
    Column::text("at", "AT (UTC)", 19, 0),
    Column::text("actor", "ACTOR", 14, 1),
    Column::text("action", "ACTION", 22, 0),
    Column::text("outcome", "OUTCOME", 9, 1),
    Column::text("targets", "TARGETS", 30, 2),
    Column::text("ticket", "TICKET", 11, 3),
    Column::text("message", "MESSAGE", 30, 4),
    Column::hidden("request", "Request id"),
    Column::hidden("id", "Entry"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_has_unique_lower_case_column_names() {
        for view in View::ALL {
            let cols = columns(view);
            for (i, c) in cols.iter().enumerate() {
                assert_eq!(c.name, c.name.to_lowercase(), "{view:?}");
                assert!(
                    cols[i + 1..].iter().all(|o| o.name != c.name),
                    "{view:?} {}",
                    c.name
                );
            }
            assert!(cols.iter().any(|c| c.shown && c.priority == 0), "{view:?}");
        }
    }
}
