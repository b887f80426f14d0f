//! What a key can do: the console's actions, the views they apply in, and for each its default
//! keys, help line, help group, whether it changes anything and the role it needs.
//!
//! Key choices (see docs in the `?` help and `reference/tui-conventions.md`):
//! - vim motions (`j`/`k`, `g`/`G`, `ctrl-d`/`ctrl-u`, `ctrl-f`/`ctrl-b`) beside the arrows and
//!   PgUp/PgDn; `esc` and `-` go back (k9s); `q` goes back and quits from the root view,
//!   `ctrl-c` quits at once (htop, lazygit, k9s).
//! - Views on `1`–`8` (lazygit's panels), besides `:tickets` … in command mode.
//! - Marks as in k9s and htop: `space`, `ctrl-a` all visible, `U` clears; the range mark is
//!   `V` (vim's and yazi's visual line), marking from the last mark to the cursor.
//! - Sorting as in htop: `<` and `>` move the sort column, `I` reverses the order. Not
//!   `shift-1`…`shift-9`: a shifted digit reaches the console as the character it types, which
//!   depends on the keyboard layout (`shift-2` is `@` on US keyboards, already the API log, and
//!   `"` on UK ones). Not k9s's `shift-letter` per column either: columns differ per view and
//!   capitals are operator actions here (`L`, `M`, `R`).

use crate::console::keymap::Key;
use crate::model::Role;

/// The console's list views. A key can mean different things in different views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum View {
    Tickets,
    Sessions,
    Machines,
    Groups,
    Sites,
    Users,
    Jobs,
    Audit,
}

impl View {
    pub const ALL: [View; 8] = [
        View::Tickets,
        View::Sessions,
        View::Machines,
        View::Groups,
        View::Sites,
        View::Users,
        View::Jobs,
        View::Audit,
    ];

    /// The name used in titles and in command mode (`:sessions`).
    pub fn name(self) -> &'static str {
        match self {
            View::Tickets => "tickets",
            View::Sessions => "sessions",
            View::Machines => "machines",
            View::Groups => "groups",
            View::Sites => "sites",
            View::Users => "users",
            View::Jobs => "jobs",
            View::Audit => "audit",
        }
    }
}

/// A set of views, as a bit set so that overlap checks and membership are one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ViewSet(u16);

impl ViewSet {
    pub const ALL: ViewSet = ViewSet((1 << View::ALL.len()) - 1);
    pub const NONE: ViewSet = ViewSet(0);

    pub const fn of(views: &[View]) -> ViewSet {
        let mut bits = 0;
        let mut i = 0;
        while i < views.len() {
            bits |= 1 << views[i] as u16;
            i += 1;
        }
        ViewSet(bits)
    }

    pub fn contains(self, view: View) -> bool {
        self.0 & (1 << view as u16) != 0
    }

    pub fn intersection(self, other: ViewSet) -> ViewSet {
        ViewSet(self.0 & other.0)
    }

    pub fn union(self, other: ViewSet) -> ViewSet {
        ViewSet(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = View> {
        View::ALL.into_iter().filter(move |v| self.contains(*v))
    }
}

/// Sections of the `?` help, in the order they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    Actions,
    Navigation,
    Views,
    Marks,
    Sorting,
    Console,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Actions => "Actions",
            Group::Navigation => "Navigation",
            Group::Views => "Views",
            Group::Marks => "Marks",
            Group::Sorting => "Sorting",
            Group::Console => "Console",
        }
    }
}

/// Everything a key can trigger. The name used in the config's `[keys]` table is
/// [`Action::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    Enter,
    Back,
    Tickets,
    Sessions,
    Machines,
    Groups,
    Sites,
    Users,
    Jobs,
    Audit,
    Command,
    Filter,
    Help,
    Mark,
    MarkAll,
    ClearMarks,
    RangeMark,
    SortNext,
    SortPrev,
    SortReverse,
    Refresh,
    JobsPane,
    ApiLog,
    Details,
    DetailDown,
    DetailUp,
    Quit,
    QuitNow,
    Suspend,
    Reset,
    LogoffUser,
    Disconnect,
    Message,
    Power,
    Maintenance,
    TakeTicket,
    WorkNote,
    Resolve,
    Fulfil,
    CancelJob,
    RetryFailed,
    ResetPassword,
    Unlock,
    EnableAccount,
    DisableAccount,
    IdlePowerOff,
    NewRequest,
    Offboard,
}

/// The fixed facts about one action.
#[derive(Debug)]
pub struct ActionInfo {
    pub action: Action,
    /// The name in the config's `[keys]` table.
    pub name: &'static str,
    pub default_keys: &'static [Key],
    /// One line for the `?` help.
    pub help: &'static str,
    /// A word or two for the footer's key hints; `None` keeps it out of the footer.
    pub hint: Option<&'static str>,
    pub group: Group,
    pub views: ViewSet,
    /// Changes something (an adapter job or a ticket write): hidden under `--readonly`.
    pub mutates: bool,
    /// The least role that may run it; the adapter enforces the same rule.
    pub role: Role,
}

use ratatui::crossterm::event::KeyCode as C;

const fn nav(
    action: Action,
    name: &'static str,
    keys: &'static [Key],
    help: &'static str,
    group: Group,
    hint: Option<&'static str>,
) -> ActionInfo {
    ActionInfo {
        action,
        name,
        default_keys: keys,
        help,
        hint,
        group,
        views: ViewSet::ALL,
        mutates: false,
        role: Role::Viewer,
    }
}

const fn op(
    action: Action,
    name: &'static str,
    keys: &'static [Key],
    help: &'static str,
    hint: &'static str,
    views: ViewSet,
    role: Role,
) -> ActionInfo {
    ActionInfo {
        action,
        name,
        default_keys: keys,
        help,
        hint: Some(hint),
        group: Group::Actions,
        views,
        mutates: true,
        role,
    }
}

use Action as A;
use Group as G;
use View as V;

/// In [`Action`] order, so that an action's facts are one index away. One action per line,
/// so the keymap reads as a table.
#[rustfmt::skip]
pub(super) static ACTIONS: [ActionInfo; 56] = [
    nav(A::Up, "up", &[Key::char('k'), Key::new(C::Up)], "Move the cursor up", G::Navigation, None),
    nav(A::Down, "down", &[Key::char('j'), Key::new(C::Down)], "Move the cursor down", G::Navigation, None),
    nav(A::Top, "top", &[Key::char('g'), Key::new(C::Home)], "Go to the first row", G::Navigation, None),
    nav(A::Bottom, "bottom", &[Key::char('G'), Key::new(C::End)], "Go to the last row", G::Navigation, None),
    nav(A::PageUp, "page_up", &[Key::new(C::PageUp), Key::ctrl('b')], "Page up", G::Navigation, None),
    nav(A::PageDown, "page_down", &[Key::new(C::PageDown), Key::ctrl('f')], "Page down", G::Navigation, None),
    nav(A::HalfPageUp, "half_page_up", &[Key::ctrl('u')], "Half a page up", G::Navigation, None),
    nav(A::HalfPageDown, "half_page_down", &[Key::ctrl('d')], "Half a page down", G::Navigation, None),
    nav(A::Enter, "enter", &[Key::new(C::Enter)],
        "Drill down: ticket → requester → sessions and machines → details", G::Navigation, None),
    nav(A::Back, "back", &[Key::new(C::Esc), Key::char('-')], "Go back to the previous view", G::Navigation, None),
    nav(A::Tickets, "tickets", &[Key::char('1')], "Tickets view (:tickets)", G::Views, None),
    nav(A::Sessions, "sessions", &[Key::char('2')], "Sessions view (:sessions)", G::Views, None),
    nav(A::Machines, "machines", &[Key::char('3')], "Machines view (:machines)", G::Views, None),
    nav(A::Groups, "groups", &[Key::char('4')], "Delivery groups view (:groups)", G::Views, None),
    nav(A::Sites, "sites", &[Key::char('5')], "Sites view (:sites)", G::Views, None),
    nav(A::Users, "users", &[Key::char('6')], "Users view (:users)", G::Views, None),
    nav(A::Jobs, "jobs", &[Key::char('7')], "Jobs view (:jobs)", G::Views, None),
    nav(A::Audit, "audit", &[Key::char('8')], "Audit log view (:audit)", G::Views, None),
    nav(A::Command, "command", &[Key::char(':')], "Command mode (:sessions, :q …)", G::Console, Some("command")),
    nav(A::Filter, "filter", &[Key::char('/')], "Filter rows: text, fuzzy, field=value, ! inverts",
        G::Console, Some("filter")),
    nav(A::Help, "help", &[Key::char('?')], "Show this help", G::Console, Some("help")),
    nav(A::Mark, "mark", &[Key::char(' ')],
        "Mark or unmark the row; actions apply to marked rows, else the cursor row", G::Marks, Some("mark")),
    nav(A::MarkAll, "mark_all", &[Key::ctrl('a')], "Mark every visible (filtered) row", G::Marks, None),
    nav(A::ClearMarks, "clear_marks", &[Key::char('U')], "Clear all marks", G::Marks, None),
    nav(A::RangeMark, "range_mark", &[Key::char('V')], "Mark every row from the last mark to the cursor",
        G::Marks, None),
    nav(A::SortNext, "sort_next", &[Key::char('>')], "Sort by the next column", G::Sorting, None),
    nav(A::SortPrev, "sort_prev", &[Key::char('<')], "Sort by the previous column", G::Sorting, None),
    nav(A::SortReverse, "sort_reverse", &[Key::char('I')], "Reverse the sort order", G::Sorting, None),
    nav(A::Refresh, "refresh", &[Key::ctrl('r')], "Refresh now", G::Console, None),
    nav(A::JobsPane, "jobs_pane", &[Key::char('w')], "Show or hide the jobs pane", G::Console, Some("jobs")),
    nav(A::ApiLog, "api_log", &[Key::char('@')], "Show the log of API calls with status and latency",
        G::Console, None),
    nav(A::Details, "details", &[Key::char('i')],
        "Show or hide the detail pane: every field, a ticket's description, variables and journal",
        G::Console, Some("details")),
    nav(A::DetailDown, "detail_down", &[Key::char('J'), Key::ctrl('e')], "Scroll the detail pane down",
        G::Console, None),
    nav(A::DetailUp, "detail_up", &[Key::char('K'), Key::ctrl('y')], "Scroll the detail pane up",
        G::Console, None),
    nav(A::Quit, "quit", &[Key::char('q')], "Go back; quit from the root view", G::Console, Some("quit")),
    nav(A::QuitNow, "quit_now", &[Key::ctrl('c')], "Quit now", G::Console, None),
    nav(A::Suspend, "suspend", &[Key::ctrl('z')], "Suspend to the shell (fg resumes)", G::Console, None),
    op(A::Reset, "reset", &[Key::char('r')], "Reset the session (log it off)", "reset",
        ViewSet::of(&[V::Sessions]), Role::Helpdesk),
    op(A::LogoffUser, "logoff_user", &[Key::char('L')], "Log off all of the user's sessions", "log off user",
        ViewSet::of(&[V::Sessions, V::Users, V::Tickets]), Role::Helpdesk),
    op(A::Disconnect, "disconnect", &[Key::char('d')], "Disconnect the session", "disconnect",
        ViewSet::of(&[V::Sessions]), Role::Helpdesk),
    op(A::Message, "message", &[Key::char('m')], "Send a message to the user's sessions", "message",
        ViewSet::of(&[V::Sessions, V::Users]), Role::Helpdesk),
    op(A::Power, "power", &[Key::char('p')], "Power menu: start, shutdown, restart, force", "power",
        ViewSet::of(&[V::Machines, V::Sessions]), Role::Admin),
    op(A::Maintenance, "maintenance", &[Key::char('M')], "Turn maintenance mode on or off", "maintenance",
        ViewSet::of(&[V::Machines]), Role::Admin),
    op(A::TakeTicket, "take", &[Key::char('t')], "Take the ticket (assign it to me)", "take",
        ViewSet::of(&[V::Tickets]), Role::Helpdesk),
    op(A::WorkNote, "work_note", &[Key::char('n')], "Add a work note to the ticket", "note",
        ViewSet::of(&[V::Tickets]), Role::Helpdesk),
    op(A::Resolve, "resolve", &[Key::char('R')], "Resolve the ticket", "resolve",
        ViewSet::of(&[V::Tickets]), Role::Helpdesk),
    // Fulfilling runs the action the catalog item maps to; the adapter also checks that
    // action's own role (an admin-only workflow fails for a helpdesk operator).
    op(A::Fulfil, "fulfil", &[Key::char('f')],
        "Fulfil: run the action the ticket's catalog item maps to (its own role applies too)", "fulfil",
        ViewSet::of(&[V::Tickets]), Role::Helpdesk),
    op(A::CancelJob, "cancel_job", &[Key::char('x')], "Cancel the job", "cancel",
        ViewSet::of(&[V::Jobs]), Role::Helpdesk),
    op(A::RetryFailed, "retry_failed", &[Key::ctrl('t')], "Retry the job's failed targets", "retry failed",
        ViewSet::of(&[V::Jobs]), Role::Helpdesk),
    // Account actions: on a user, or on a ticket for its requester. `P`, `u`, `E` and `D`
    // are free in those views (`p` is power, `U` clears marks, `d` disconnects sessions).
    op(A::ResetPassword, "reset_password", &[Key::char('P')],
        "Reset the user's password (dialog: policy check, generate, must-change, unlock)", "password",
        ViewSet::of(&[V::Users, V::Tickets]), Role::Helpdesk),
    op(A::Unlock, "unlock", &[Key::char('u')], "Unlock the user's directory account", "unlock",
        ViewSet::of(&[V::Users, V::Tickets]), Role::Helpdesk),
    op(A::EnableAccount, "enable_account", &[Key::char('E')], "Enable the user's directory account",
        "enable", ViewSet::of(&[V::Users]), Role::Admin),
    op(A::DisableAccount, "disable_account", &[Key::char('D')],
        "Disable the user's directory account (they can no longer log on)", "disable",
        ViewSet::of(&[V::Users]), Role::Admin),
    // `o` for "off": the groups view has no other action keys.
    op(A::IdlePowerOff, "power_off_idle", &[Key::char('o')],
        "Power off the groups' idle machines: preview which and why, then confirm", "power off idle",
        ViewSet::of(&[V::Groups]), Role::Admin),
    // Workflows (docs/workflows.md): `N` for a new request (`n` is the work note), `O` for
    // offboarding (`o` powers off idle machines, on the groups view only).
    op(A::NewRequest, "new_request", &[Key::char('N')],
        "New request for the user: pooled or persistent desktop, or apps (preview, then confirm)",
        "request", ViewSet::of(&[V::Users, V::Tickets]), Role::Helpdesk),
    op(A::Offboard, "offboard", &[Key::char('O')],
        "Offboard the user: log off, remove entitlements, disable, release machines (type the name)",
        "offboard", ViewSet::of(&[V::Users]), Role::Admin),
];

impl Action {
    /// Every action, in declaration order.
    pub fn all() -> impl Iterator<Item = Action> {
        ACTIONS.iter().map(|info| info.action)
    }

    pub fn info(self) -> &'static ActionInfo {
        &ACTIONS[self as usize]
    }

    /// The name used in the config's `[keys]` table.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn from_name(name: &str) -> Option<Action> {
        ACTIONS.iter().find(|i| i.name == name).map(|i| i.action)
    }

    /// Whether `role` may run it and, under `readonly`, whether it changes nothing.
    pub fn allowed(self, role: Role, readonly: bool) -> bool {
        let info = self.info();
        role.allows(info.role) && !(readonly && info.mutates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_enum_order_with_unique_names() {
        for (i, info) in ACTIONS.iter().enumerate() {
            assert_eq!(info.action as usize, i, "{}", info.name);
            assert_eq!(Action::from_name(info.name), Some(info.action));
        }
        let mut names: Vec<_> = ACTIONS.iter().map(|i| i.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ACTIONS.len());
    }

    #[test]
    fn every_action_has_a_help_line_a_key_and_a_view() {
        for info in &ACTIONS {
            assert!(!info.help.trim().is_empty(), "{}", info.name);
            assert!(!info.default_keys.is_empty(), "{}", info.name);
            assert!(!info.views.is_empty(), "{}", info.name);
        }
    }

    #[test]
    fn roles_follow_the_adapter() {
        for a in [
            Action::Power,
            Action::Maintenance,
            Action::EnableAccount,
            Action::DisableAccount,
            Action::IdlePowerOff,
            Action::Offboard,
        ] {
            assert_eq!(a.info().role, Role::Admin, "{a:?}");
        }
        for a in [
            Action::Reset,
            Action::LogoffUser,
            Action::Disconnect,
            Action::Message,
            Action::TakeTicket,
            Action::WorkNote,
            Action::Resolve,
            Action::Fulfil,
            Action::CancelJob,
            Action::RetryFailed,
            Action::ResetPassword,
            Action::Unlock,
            Action::NewRequest,
        ] {
            assert_eq!(a.info().role, Role::Helpdesk, "{a:?}");
            assert!(a.info().mutates, "{a:?}");
        }
        // Whatever reads or moves needs no more than viewer.
        for info in ACTIONS.iter().filter(|i| !i.mutates) {
            assert_eq!(info.role, Role::Viewer, "{}", info.name);
        }
    }
}
