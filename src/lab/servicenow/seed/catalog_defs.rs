//! The Citrix service catalog: items with their fulfilment group and variable definitions,
//! plus the delivery groups and applications the variables refer to.

use crate::lab::people::Person;

/// One catalog variable (`item_option_new`). `kind` is ServiceNow's variable type code.
#[derive(Debug, Clone, Copy)]
pub struct VarDef {
    pub name: &'static str,
    pub question: &'static str,
    pub kind: &'static str,
    pub mandatory: bool,
}

/// One catalog item (`sc_cat_item`).
#[derive(Debug, Clone, Copy)]
pub struct ItemDef {
    /// Stable key; the item's sys_id derives from it.
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub group: &'static str,
    pub vars: &'static [VarDef],
}

pub const YES_NO: &str = "1";
pub const MULTI_LINE: &str = "2";
pub const SELECT: &str = "5";
pub const TEXT: &str = "6";
pub const REFERENCE: &str = "8";
pub const DATE: &str = "9";
pub const LIST: &str = "21";
/// Masked (password) variables: the adapter clears them once used.
pub const MASKED: &str = "25";

const fn var(
    name: &'static str,
    question: &'static str,
    kind: &'static str,
    mandatory: bool,
) -> VarDef {
    VarDef {
        name,
        question,
        kind,
        mandatory,
    }
}

pub const SERVICE_DESK: &str = "Service Desk";
pub const CITRIX_OPS: &str = "Citrix Operations";
pub const DESKTOP_L2: &str = "Desktop Support L2";
pub const IDENTITY: &str = "Identity and Access";
pub const GROUPS: &[(&str, &str)] = &[
    (SERVICE_DESK, "First-line helpdesk: triage and quick fixes"),
    (CITRIX_OPS, "Citrix Virtual Apps and Desktops operations"),
    (DESKTOP_L2, "Second-line desktop and application support"),
    (IDENTITY, "Accounts, passwords and access requests"),
];

pub const ITEMS: &[ItemDef] = &[
    ItemDef {
        key: "request_desktop",
        name: "Request a desktop",
        description: "Request a Citrix virtual desktop",
        group: CITRIX_OPS,
        vars: &[
            var("requested_for", "Requested for", REFERENCE, true),
            var("delivery_group", "Desktop", SELECT, true),
            var("operating_system", "Operating system", SELECT, false),
            var("justification", "Business justification", MULTI_LINE, false),
        ],
    },
    ItemDef {
        key: "request_applications",
        name: "Request applications",
        description: "Request access to published Citrix applications",
        group: CITRIX_OPS,
        vars: &[
            var("requested_for", "Requested for", REFERENCE, true),
            var("applications", "Applications", LIST, true),
            var("delivery_group", "Delivery group", SELECT, false),
            var("justification", "Business justification", MULTI_LINE, false),
        ],
    },
    ItemDef {
        key: "reset_session",
        name: "Reset a session",
        description: "Reset one of your Citrix desktop or application sessions",
        group: CITRIX_OPS,
        vars: &[
            var("requested_for", "User", REFERENCE, true),
            var("session_type", "Session type", SELECT, false),
            var("resource_name", "Desktop or application", TEXT, true),
        ],
    },
    ItemDef {
        key: "reset_session_other",
        name: "Reset a session for other users",
        description: "Reset a Citrix session on behalf of another user",
        group: SERVICE_DESK,
        vars: &[
            var("target_user_upn", "User (email or UPN)", TEXT, true),
            var("resource_name", "Desktop or application", TEXT, true),
            var("reason", "Reason", MULTI_LINE, false),
        ],
    },
    ItemDef {
        key: "troubleshoot",
        name: "Troubleshoot and report app and desktop failures",
        description: "Reset sessions, power manage VDA machines or report an issue to IT",
        group: DESKTOP_L2,
        vars: &[
            var("requested_for", "Affected user", REFERENCE, true),
            var("resource_name", "Desktop or application", TEXT, true),
            var("action", "Action", SELECT, true),
            var(
                "issue_description",
                "Describe the problem",
                MULTI_LINE,
                false,
            ),
        ],
    },
    ItemDef {
        key: "power_manage",
        name: "Power manage VDI desktops",
        description: "Restart, shut down or start a VDI desktop",
        group: CITRIX_OPS,
        vars: &[
            var("machine_name", "Machine", TEXT, true),
            var("power_action", "Power action", SELECT, true),
            var("delivery_group", "Delivery group", SELECT, false),
        ],
    },
    ItemDef {
        key: "reset_password",
        name: "Reset my password",
        description: "Reset your directory password",
        group: IDENTITY,
        vars: &[
            var("requested_for", "User", REFERENCE, true),
            var("user", "Account (DOMAIN\\user or user)", TEXT, true),
            var("security_code", "Your security code", MASKED, true),
            var(
                "new_password",
                "New password (empty: a temporary one is issued)",
                MASKED,
                false,
            ),
            var("unlock_account", "Also unlock the account", YES_NO, false),
        ],
    },
    ItemDef {
        key: "unlock_account",
        name: "Unlock my account",
        description: "Unlock your directory account after too many failed logons",
        group: IDENTITY,
        vars: &[var("requested_for", "User", REFERENCE, true)],
    },
    ItemDef {
        key: "onboarding",
        name: "New hire onboarding",
        description: "Account, desktop and applications for a new employee",
        group: IDENTITY,
        vars: &[
            var("first_name", "First name", TEXT, true),
            var("last_name", "Last name", TEXT, true),
            var("department", "Department", TEXT, true),
            var("office", "Office", TEXT, true),
            var("manager", "Manager", REFERENCE, true),
            var("start_date", "Start date", DATE, true),
            var("delivery_group", "Desktop", SELECT, false),
            var("applications", "Applications", LIST, false),
            var("initial_password", "Initial password", MASKED, false),
        ],
    },
    ItemDef {
        key: "separation",
        name: "Process employee separation",
        description: "Log off, reclaim desktops and applications of a departing user",
        group: CITRIX_OPS,
        vars: &[
            var("departing_user_upn", "Departing user (UPN)", TEXT, true),
            var("requested_for", "Departing user", REFERENCE, true),
            var("last_day", "Last working day", DATE, true),
            var("deprovisioning_type", "Deprovisioning type", SELECT, true),
        ],
    },
    // Not a Citrix ITSM item: an example of one an admin maps to a runbook
    // (`[servicenow.runbooks]`, docs/fulfilment.md). Seeded requests never pick it.
    ItemDef {
        key: "reset_stale_sessions",
        name: "Reset stale Citrix sessions",
        description: "Log off sessions left disconnected at a site (runs a runbook)",
        group: CITRIX_OPS,
        vars: &[
            var("site", "Site", TEXT, true),
            var("older_than", "Disconnected longer than (4h)", TEXT, false),
        ],
    },
];

/// The CVAD zone that serves an office, as the lab's CVAD sites are laid out, so that catalog
/// variables name delivery groups the adapter can find.
pub fn zone_of(person: &Person) -> &'static str {
    match (person.office.city, person.office.region) {
        ("London", _) => "London",
        ("Manchester", _) => "Manchester",
        (_, "amer") => "Virginia",
        (_, "apac") => "Singapore",
        _ => "Frankfurt",
    }
}

/// The pooled desktop delivery group of a zone.
pub fn pooled_desktop(zone: &str) -> String {
    format!("{zone} Pooled Desktops")
}

/// The persistent (static) desktop delivery group of a zone.
pub fn persistent_desktop(zone: &str) -> String {
    format!("{zone} Persistent Desktops")
}

/// Published applications of the lab's CVAD sites.
pub const APPLICATIONS: &[&str] = &[
    "Microsoft Word",
    "Microsoft Excel",
    "Microsoft Outlook",
    "Microsoft Teams",
    "Adobe Acrobat Reader",
    "Notepad++",
    "SAP GUI",
    "Epic Hyperspace",
];

pub const POWER_ACTIONS: &[&str] = &["Restart", "Shutdown", "TurnOn", "Reset"];

pub const DEPROVISIONING: &[&str] = &["Delete desktop", "Keep desktop but remove user assignment"];

pub const TROUBLESHOOT_ACTIONS: &[&str] = &[
    "Reset sessions",
    "Power manage VDA machines",
    "Report issues",
];
