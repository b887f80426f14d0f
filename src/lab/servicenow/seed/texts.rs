//! The words of the seeded backlog: incident templates, journal lines, new-hire names and how
//! often each catalog item is ordered.

use super::catalog_defs::{CITRIX_OPS, DESKTOP_L2, IDENTITY, SERVICE_DESK};

/// One kind of incident the helpdesk sees, with the note it is usually resolved with.
pub struct Template {
    pub short: &'static str,
    pub description: &'static str,
    pub category: &'static str,
    pub subcategory: &'static str,
    pub group: &'static str,
    pub close_notes: &'static str,
}

const fn t(
    short: &'static str,
    description: &'static str,
    subcategory: &'static str,
    group: &'static str,
    close_notes: &'static str,
) -> Template {
    Template {
        short,
        description,
        category: "software",
        subcategory,
        group,
        close_notes,
    }
}

pub const TEMPLATES: &[Template] = &[
    t(
        "Citrix session frozen",
        "My session on {dg} froze. Mouse and keyboard do not respond and I cannot log off.",
        "citrix",
        CITRIX_OPS,
        "Session reset; the user logged on again without problems.",
    ),
    t(
        "Cannot log on to desktop",
        "Logon to {dg} stops at 'Preparing Windows' and then disconnects.",
        "citrix",
        SERVICE_DESK,
        "Profile lock cleared and the session reset; logon works again.",
    ),
    t(
        "Outlook hangs in Citrix",
        "Microsoft Outlook stops responding a few minutes after I start it in Citrix.",
        "email",
        DESKTOP_L2,
        "Outlook cache rebuilt and the session reset.",
    ),
    t(
        "Account locked out",
        "I am locked out of my account after changing my password.",
        "identity",
        IDENTITY,
        "Account unlocked; old password removed from the phone's mail app.",
    ),
    t(
        "Password expired",
        "My password expired while I was on leave and I cannot log on to Citrix.",
        "identity",
        IDENTITY,
        "Password reset; the user changed it at next logon.",
    ),
    t(
        "Published app does not start",
        "{app} does not start from Citrix Workspace; the launch bar stays at 'Starting'.",
        "citrix",
        CITRIX_OPS,
        "Stuck application session logged off; the app starts again.",
    ),
    t(
        "Session disconnects every few minutes",
        "My desktop on {dg} disconnects every few minutes and I have to reconnect.",
        "citrix",
        DESKTOP_L2,
        "Machine {machine} put in maintenance mode and the user moved to a healthy machine.",
    ),
    t(
        "Black screen after logon",
        "After logging on to {dg} I only see a black screen.",
        "citrix",
        CITRIX_OPS,
        "Session reset; explorer started normally.",
    ),
    t(
        "Virtual desktop is very slow",
        "Everything in my desktop on {dg} is very slow since this morning.",
        "citrix",
        DESKTOP_L2,
        "Machine {machine} restarted; performance is back to normal.",
    ),
    t(
        "Printer not mapped in Citrix session",
        "My default printer does not appear in my Citrix session.",
        "printing",
        SERVICE_DESK,
        "Printer mapping policy corrected; the user logged off and on.",
    ),
    t(
        "Cannot reconnect to disconnected session",
        "I cannot reconnect to my disconnected session on {dg}.",
        "citrix",
        CITRIX_OPS,
        "Disconnected session logged off; a new session started.",
    ),
    t(
        "Teams audio not working in VDI",
        "Microsoft Teams calls have no audio in my virtual desktop.",
        "collaboration",
        DESKTOP_L2,
        "HDX optimisation re-enabled; audio works.",
    ),
    t(
        "No machines available for desktop",
        "Citrix Workspace says no machines are available for {dg}.",
        "citrix",
        CITRIX_OPS,
        "Machines powered on in the delivery group; the user could connect.",
    ),
    t(
        "Citrix Workspace keeps asking for credentials",
        "Workspace asks for my password every time I open {app}.",
        "citrix",
        SERVICE_DESK,
        "Stored credentials cleared in Workspace app.",
    ),
];

pub const CLAIM_NOTES: &[&str] = &[
    "Picked up. Checking the user's sessions and machine.",
    "Looking into this now; reviewing the session history in Director.",
    "Reproduced. Checking the delivery group and machine registration.",
];

pub const HOLD_COMMENTS: &[&str] = &[
    "Could you tell us when this last worked and whether other applications are affected?",
    "Please send a screenshot of the error message.",
    "Can you confirm which device you connect from (office PC, laptop, home)?",
];

pub const CALLER_COMMENTS: &[&str] = &[
    "This is blocking my work, please help.",
    "Still happening after a restart of my laptop.",
    "Colleagues in my team see the same problem.",
];

pub const NEW_FIRST: &[&str] = &[
    "Amelia", "Benedikt", "Camille", "Dario", "Elif", "Finn", "Gabriela", "Henrik", "Isla",
    "Jonas", "Kiara", "Lorenzo", "Mila", "Nils", "Ophelia", "Pablo", "Rania", "Stefan", "Thea",
    "Valentin",
];

pub const NEW_LAST: &[&str] = &[
    "Hartmann",
    "Lindqvist",
    "Moreau",
    "Bianchi",
    "Yilmaz",
    "Andersen",
    "Ferreira",
    "Nakamura",
    "Kovacs",
    "Dunn",
];

pub const REQUEST_WEIGHTS: &[(&str, u32)] = &[
    ("request_desktop", 14),
    ("request_applications", 16),
    ("reset_session", 8),
    ("reset_session_other", 4),
    ("troubleshoot", 6),
    ("power_manage", 5),
    ("reset_password", 15),
    ("unlock_account", 10),
    ("onboarding", 11),
    ("separation", 11),
];
