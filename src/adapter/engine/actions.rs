//! The action registry: every action a job can run, with the role it needs, the kind of
//! target it takes, and the validation of its parameters. What each action does at a site is in
//! [`super::run`]; this module is pure data and checks, shared by the API and the workers.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::account_params::{self, AccountOp};
use crate::adapter::store::Role;
use crate::adapter::workflows::params::WorkflowParams;
use crate::adapter::workflows::{self, WorkflowKind};
use crate::cvad::MessageStyle;
use crate::model::PowerAction;

/// What a target id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A session id.
    Session,
    /// A machine id or `DOMAIN\NAME`.
    Machine,
    /// A user (`DOMAIN\user`): expanded into one task per session when the job is created.
    User,
    /// A directory account: the target's `site` names the domain, its `id` the account.
    Account,
    /// A person a workflow is for, named like an account (`site` the domain, `id` the
    /// account name); the account need not exist yet (onboarding creates it).
    Person,
    /// A runbook: the target's `site` is `runbook`, its `id` the runbook's name.
    Runbook,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Session => "session",
            TargetKind::Machine => "machine",
            TargetKind::User => "user",
            TargetKind::Account => "account",
            TargetKind::Person => "person",
            TargetKind::Runbook => "runbook",
        }
    }
}

/// One entry of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionSpec {
    pub name: &'static str,
    pub role: Role,
    pub target: TargetKind,
    /// The parameters, as the API documents them.
    pub params: &'static str,
    pub summary: &'static str,
}

/// Every action jobs can run. Later issues add entries here and an arm in [`super::run`].
pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "session.logoff",
        role: Role::Helpdesk,
        target: TargetKind::Session,
        params: "escalate_after (duration such as \"90s\", \"2m\", \"1h\"; optional, admin only: \
                 if the logoff has not finished by then and the session's machine is \
                 single-session, the machine is restarted with force)",
        summary: "Log a session off (the helpdesk \"reset\")",
    },
    ActionSpec {
        name: "session.disconnect",
        role: Role::Helpdesk,
        target: TargetKind::Session,
        params: "none",
        summary: "Disconnect a session; it keeps running",
    },
    ActionSpec {
        name: "session.message",
        role: Role::Helpdesk,
        target: TargetKind::Session,
        params: "title (string), text (string), style (Information|Exclamation|Question|Critical, default Information)",
        summary: "Show a message box in a session",
    },
    ActionSpec {
        name: "user.logoff",
        role: Role::Helpdesk,
        target: TargetKind::User,
        params: "none",
        summary: "Log off every session of a user (one task per session found)",
    },
    ActionSpec {
        name: "machine.start",
        role: Role::Admin,
        target: TargetKind::Machine,
        params: "none",
        summary: "Power a machine on",
    },
    ActionSpec {
        name: "machine.shutdown",
        role: Role::Admin,
        target: TargetKind::Machine,
        params: "force (bool, default false: power off instead of shutting down), if_idle \
                 (bool, default false: leave the machine on if it has a session when the task \
                 acts, as idle power-off does)",
        summary: "Shut a machine down",
    },
    ActionSpec {
        name: "machine.restart",
        role: Role::Admin,
        target: TargetKind::Machine,
        params: "force (bool, default false: reset instead of restart)",
        summary: "Restart a machine",
    },
    ActionSpec {
        name: "machine.maintenance",
        role: Role::Admin,
        target: TargetKind::Machine,
        params: "on (bool, required)",
        summary: "Turn a machine's maintenance mode on or off",
    },
    ActionSpec {
        name: "account.password_reset",
        role: Role::Helpdesk,
        target: TargetKind::Account,
        params: "password (string; the new password, never stored) or generate (bool: the \
                 adapter makes one and returns it once as temporary_password), must_change \
                 (bool, default true), unlock (bool, default false), verification \
                 ({\"method\":\"callback\",\"note\":…} or {\"method\":\"code\",\"code\":…}, \
                 required); exactly one target",
        summary: "Reset an account's password after verifying the requester",
    },
    ActionSpec {
        name: "account.unlock",
        role: Role::Helpdesk,
        target: TargetKind::Account,
        params: "none",
        summary: "Clear an account's lockout",
    },
    ActionSpec {
        name: "account.enable",
        role: Role::Admin,
        target: TargetKind::Account,
        params: "none",
        summary: "Enable an account",
    },
    ActionSpec {
        name: "account.disable",
        role: Role::Admin,
        target: TargetKind::Account,
        params: "none",
        summary: "Disable an account",
    },
    ActionSpec {
        name: "account.group_add",
        role: Role::Admin,
        target: TargetKind::Account,
        params: "group (string: a group's name or DN)",
        summary: "Add an account to a group",
    },
    ActionSpec {
        name: "account.group_remove",
        role: Role::Admin,
        target: TargetKind::Account,
        params: "group (string: a group's name or DN)",
        summary: "Remove an account from a group",
    },
    ActionSpec {
        name: "request.pooled_desktop",
        role: Role::Helpdesk,
        target: TargetKind::Person,
        params: "requester (string DOMAIN\\user, optional: who asked, when not the person \
                 themself); the delivery group or AD group comes from the routing rules; \
                 exactly one target",
        summary: "Entitle a person to the pooled desktop routing gives them",
    },
    ActionSpec {
        name: "request.persistent_desktop",
        role: Role::Admin,
        target: TargetKind::Person,
        params: "requester (optional); the static delivery group and MCS catalog come from the \
                 routing rules; exactly one target",
        summary: "Assign a free machine of the routed static group to a person, provisioning \
                  one through MCS if none is free, and wait until it registers",
    },
    ActionSpec {
        name: "request.apps",
        role: Role::Helpdesk,
        target: TargetKind::Person,
        params: "requester (optional); the application groups come from the routing rules; \
                 exactly one target",
        summary: "Entitle a person to the application groups routing gives them",
    },
    ActionSpec {
        name: "user.onboard",
        role: Role::Admin,
        target: TargetKind::Person,
        params: "person ({given_name, surname, display_name?, upn?, mail?, department?, \
                 location?, ou?, groups?[]}, required), include ([pooled_desktop, \
                 persistent_desktop, apps], default pooled_desktop and apps), requester \
                 (optional); the initial password is generated and returned once as \
                 temporary_password; exactly one target (the new account's name)",
        summary: "Create an account, add its groups and entitle the resources routing gives",
    },
    ActionSpec {
        name: "user.offboard",
        role: Role::Admin,
        target: TargetKind::Person,
        params: "machines (unassign|delete, default unassign: what happens to machines \
                 assigned to the person), requester (optional)",
        summary: "Log off every session, remove entitlements, disable the account and release \
                  dedicated machines",
    },
    ActionSpec {
        name: "runbook.run",
        role: Role::Helpdesk,
        target: TargetKind::Runbook,
        params: "the runbook's parameters by name (GET /api/v1/runbooks lists them); the \
                 runbook's own role is needed; exactly one target {\"site\": \"runbook\", \
                 \"id\": NAME}",
        summary: "Run an administrator's runbook: each step one job over targets it selects",
    },
];

/// The action called `name`, if it exists.
pub fn lookup(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// The names of every action, for error messages.
pub fn names() -> String {
    ACTIONS
        .iter()
        .map(|a| a.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a task does at its site, with typed parameters. `user.logoff` jobs run
/// [`Operation::Logoff`] on each session they were expanded into.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// `escalate_after`: restart a single-session machine whose logoff has not finished by
    /// then (see [`super::run`]).
    Logoff {
        escalate_after: Option<Duration>,
    },
    Disconnect,
    Message {
        title: String,
        text: String,
        style: MessageStyle,
    },
    Power {
        action: PowerAction,
        force: bool,
        /// Shutdown only: leave a machine that has a session when the task acts.
        if_idle: bool,
    },
    Maintenance {
        on: bool,
    },
    /// A directory change ([`super::account_params`]).
    Account(AccountOp),
    /// A multi-step workflow ([`crate::adapter::workflows`]).
    Workflow {
        kind: WorkflowKind,
        params: Box<WorkflowParams>,
    },
}

/// Longest message title and text accepted: what a Windows message box shows sensibly.
pub const MAX_TITLE: usize = 256;
pub const MAX_TEXT: usize = 4096;

fn params_object<'a>(action: &str, params: &'a Value) -> Result<&'a Map<String, Value>, String> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match params {
        Value::Null => Ok(EMPTY.get_or_init(Map::new)),
        Value::Object(map) => Ok(map),
        other => Err(format!(
            "params of {action} must be a JSON object, not {}",
            kind_of(other)
        )),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Refuses parameters the action does not know: a misspelt `forse` must not silently do a
/// graceful restart.
fn only(action: &str, map: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            let known = if allowed.is_empty() {
                "it takes no parameters".to_owned()
            } else {
                format!("it takes: {}", allowed.join(", "))
            };
            return Err(format!("{action} has no parameter {key:?}; {known}"));
        }
    }
    Ok(())
}

fn bool_param(
    action: &str,
    map: &Map<String, Value>,
    key: &str,
    default: Option<bool>,
) -> Result<bool, String> {
    match map.get(key) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!(
            "params.{key} of {action} must be true or false, not {}",
            kind_of(other)
        )),
        None => default.ok_or_else(|| format!("{action} needs params.{key} (true or false)")),
    }
}

fn string_param(
    action: &str,
    map: &Map<String, Value>,
    key: &str,
    max: usize,
) -> Result<String, String> {
    match map.get(key) {
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(format!("params.{key} of {action} must not be empty"))
        }
        Some(Value::String(s)) if s.chars().count() > max => Err(format!(
            "params.{key} of {action} is {} characters long; at most {max} are allowed",
            s.chars().count()
        )),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "params.{key} of {action} must be a string, not {}",
            kind_of(other)
        )),
        None => Err(format!("{action} needs params.{key} (a string)")),
    }
}

fn style(action: &str, map: &Map<String, Value>) -> Result<MessageStyle, String> {
    const STYLES: [MessageStyle; 4] = [
        MessageStyle::Information,
        MessageStyle::Exclamation,
        MessageStyle::Question,
        MessageStyle::Critical,
    ];
    match map.get("style") {
        None => Ok(MessageStyle::Information),
        Some(Value::String(s)) => STYLES
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "params.style of {action} is {s:?}; use one of Information, Exclamation, \
                     Question, Critical"
                )
            }),
        Some(other) => Err(format!(
            "params.style of {action} must be a string, not {}",
            kind_of(other)
        )),
    }
}

/// Shortest and longest `escalate_after`: a logoff takes seconds, and a task follows its
/// session for at most an hour before it decides.
pub const MIN_ESCALATE: Duration = Duration::from_secs(1);
pub const MAX_ESCALATE: Duration = Duration::from_secs(3600);

/// `params.escalate_after`: a whole number and a unit (`s`, `m`, `h`).
fn escalate_after(action: &str, map: &Map<String, Value>) -> Result<Option<Duration>, String> {
    let how = "write a whole number and a unit, such as \"90s\", \"2m\" or \"1h\"";
    let text = match map.get("escalate_after") {
        None => return Ok(None),
        Some(Value::String(text)) => text.trim(),
        Some(other) => {
            return Err(format!(
                "params.escalate_after of {action} must be a duration string, not {}; {how}",
                kind_of(other)
            ));
        }
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || format!("params.escalate_after of {action} is {text:?}, not a duration; {how}");
    let n: u64 = number.parse().map_err(|_| bad())?;
    let after = match unit.trim() {
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(bad()),
    };
    if !(MIN_ESCALATE..=MAX_ESCALATE).contains(&after) {
        return Err(format!(
            "params.escalate_after of {action} is {text:?}; it must be between {} and {}",
            duration_text(MIN_ESCALATE),
            duration_text(MAX_ESCALATE)
        ));
    }
    Ok(Some(after))
}

/// A duration the way `escalate_after` is written: `"2m"`, `"90s"`, `"1h"`.
pub fn duration_text(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// The role some parameters need beyond the action's own, with the reason for a person:
/// escalating a logoff restarts machines, which is `machine.restart`'s role (admin).
pub fn params_role(op: &Operation) -> Option<(Role, &'static str)> {
    match op {
        Operation::Logoff {
            escalate_after: Some(_),
        } => Some((
            Role::Admin,
            "params.escalate_after may restart a machine (as machine.restart does), which \
             needs role admin",
        )),
        _ => None,
    }
}

/// Checks `params` for `action` and returns what a task runs. The message for a person says
/// which parameter is wrong and what is expected.
pub fn operation(action: &str, params: &Value) -> Result<Operation, String> {
    let map = params_object(action, params)?;
    match action {
        "session.logoff" => {
            only(action, map, &["escalate_after"])?;
            Ok(Operation::Logoff {
                escalate_after: escalate_after(action, map)?,
            })
        }
        "user.logoff" => {
            only(action, map, &[])?;
            Ok(Operation::Logoff {
                escalate_after: None,
            })
        }
        "session.disconnect" => {
            only(action, map, &[])?;
            Ok(Operation::Disconnect)
        }
        "session.message" => {
            only(action, map, &["title", "text", "style"])?;
            Ok(Operation::Message {
                title: string_param(action, map, "title", MAX_TITLE)?,
                text: string_param(action, map, "text", MAX_TEXT)?,
                style: style(action, map)?,
            })
        }
        "machine.start" => {
            only(action, map, &[])?;
            Ok(Operation::Power {
                action: PowerAction::Start,
                force: false,
                if_idle: false,
            })
        }
        "machine.shutdown" => {
            only(action, map, &["force", "if_idle"])?;
            Ok(Operation::Power {
                action: PowerAction::Shutdown,
                force: bool_param(action, map, "force", Some(false))?,
                if_idle: bool_param(action, map, "if_idle", Some(false))?,
            })
        }
        "machine.restart" => {
            only(action, map, &["force"])?;
            Ok(Operation::Power {
                action: PowerAction::Reboot,
                force: bool_param(action, map, "force", Some(false))?,
                if_idle: false,
            })
        }
        "machine.maintenance" => {
            only(action, map, &["on"])?;
            Ok(Operation::Maintenance {
                on: bool_param(action, map, "on", None)?,
            })
        }
        other if other.starts_with("account.") && lookup(other).is_some() => {
            account_params::parse(action, map).map(Operation::Account)
        }
        other if let Some(kind) = WorkflowKind::from_action(other) => {
            let params = workflows::params::parse_request(kind, params)?;
            Ok(Operation::Workflow {
                kind,
                params: Box::new(params),
            })
        }
        other => Err(format!("unknown action {other:?}; known: {}", names())),
    }
}

/// What each task of a stored job runs. `user.logoff` jobs store the users asked for in
/// `params.users` (for idempotency and display); their tasks are session logoffs.
pub fn task_operation(action: &str, params: &Value) -> Result<Operation, String> {
    match action {
        "user.logoff" => Ok(Operation::Logoff {
            escalate_after: None,
        }),
        // Stored with what the API added (routed resources, a secret reference).
        other if let Some(kind) = WorkflowKind::from_action(other) => {
            let params = workflows::params::stored(action, params)?;
            Ok(Operation::Workflow {
                kind,
                params: Box::new(params),
            })
        }
        _ => operation(action, params),
    }
}

/// The parameters as stored with the job: defaults filled in, so two requests that mean the
/// same compare equal (idempotency) and the job shows exactly what ran.
pub fn normalized_params(op: &Operation) -> Value {
    match op {
        Operation::Logoff {
            escalate_after: Some(after),
        } => json!({ "escalate_after": duration_text(*after) }),
        Operation::Logoff { .. } | Operation::Disconnect => json!({}),
        Operation::Message { title, text, style } => {
            json!({ "title": title, "text": text, "style": style.as_str() })
        }
        // machine.start takes no force; the others store it.
        Operation::Power {
            action: PowerAction::Start,
            ..
        } => json!({}),
        // `if_idle` only when set, so jobs stored before it existed compare equal.
        Operation::Power {
            force,
            if_idle: true,
            ..
        } => json!({ "force": force, "if_idle": true }),
        Operation::Power { force, .. } => json!({ "force": force }),
        Operation::Maintenance { on } => json!({ "on": on }),
        Operation::Account(op) => account_params::normalized(op),
        Operation::Workflow { params, .. } => json!(params),
    }
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;
