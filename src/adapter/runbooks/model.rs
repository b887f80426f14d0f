//! The runbook as loaded and checked: what a job stores as its snapshot (JSON), what the
//! console's form and the API describe, and what the runner walks step by step.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::condition::Condition;
use crate::adapter::store::Role;
use crate::model::{PowerState, RegistrationState};

/// One runbook file, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runbook {
    /// The file's stem, `[a-z0-9-]`.
    pub name: String,
    pub title: String,
    pub description: String,
    /// Who may run it; never lower than the strongest action of its steps.
    pub role: Role,
    pub params: Vec<ParamDef>,
    pub steps: Vec<StepDef>,
    /// The file it was loaded from.
    pub file: PathBuf,
}

impl Runbook {
    pub fn param(&self, name: &str) -> Option<&ParamDef> {
        self.params.iter().find(|p| p.name == name)
    }

    pub fn step(&self, name: &str) -> Option<&StepDef> {
        self.steps.iter().find(|s| s.name == name)
    }
}

/// The type of a parameter: what the console's form asks for and what [`super::bind`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    String,
    Int,
    Bool,
    /// `"90s"`, `"30m"`, `"4h"`: whole seconds at least.
    Duration,
    /// The name of a configured CVAD site.
    Site,
    /// A delivery group's name (not checked until a step selects by it).
    DeliveryGroup,
    /// `DOMAIN\sam`.
    User,
}

impl ParamType {
    pub const ALL: [ParamType; 7] = [
        ParamType::String,
        ParamType::Int,
        ParamType::Bool,
        ParamType::Duration,
        ParamType::Site,
        ParamType::DeliveryGroup,
        ParamType::User,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Int => "int",
            ParamType::Bool => "bool",
            ParamType::Duration => "duration",
            ParamType::Site => "site",
            ParamType::DeliveryGroup => "delivery_group",
            ParamType::User => "user",
        }
    }

    pub fn parse(text: &str) -> Option<ParamType> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Compared as text in conditions (`==`, `!=` only); an absent value is `""`.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            ParamType::String | ParamType::Site | ParamType::DeliveryGroup | ParamType::User
        )
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[params]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamType,
    pub required: bool,
    /// In its normalized JSON form (`"4h"`, `3`, `true`, `"text"`), already checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    pub description: String,
}

/// A bound parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Text(String),
    Int(i64),
    Bool(bool),
    Duration(Duration),
}

impl ParamValue {
    /// The value as text inside a `{{param}}` substitution and in JSON.
    pub fn to_json(&self) -> Value {
        match self {
            ParamValue::Text(s) => Value::String(s.clone()),
            ParamValue::Int(n) => Value::from(*n),
            ParamValue::Bool(b) => Value::Bool(*b),
            ParamValue::Duration(d) => Value::String(duration_text(*d)),
        }
    }

    pub fn text(&self) -> String {
        match self {
            ParamValue::Text(s) => s.clone(),
            ParamValue::Int(n) => n.to_string(),
            ParamValue::Bool(b) => b.to_string(),
            ParamValue::Duration(d) => duration_text(*d),
        }
    }
}

impl Serialize for ParamValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// The parameters of one run, checked and with defaults applied; optional parameters that
/// were not given and have no default are absent. `to_json()` is a valid input of
/// [`super::bind`] again (a job can store it and bind it after a restart).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Values(pub BTreeMap<String, ParamValue>);

impl Values {
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.0.get(name)
    }

    pub fn to_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }
}

/// One `[[steps]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepDef {
    /// Unique in the runbook, `[a-z0-9-]`; conditions refer to it.
    pub name: String,
    /// What the console shows; the file's `title`, else a sentence made from the action.
    pub title: String,
    /// A registry action (`crate::adapter::engine::actions`).
    pub action: String,
    /// The action's parameters; strings may hold `{{param}}`.
    pub params: Value,
    /// Which targets the step acts on, chosen live when the step is reached.
    pub select: Selection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    #[serde(default)]
    pub on_failure: OnFailure,
    /// A pause before the step; at most [`MAX_WAIT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Field<Dur>>,
}

/// Longest `wait` before a step.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// What happens when a step's job has failed targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// The runbook stops; later steps do not run.
    #[default]
    Stop,
    /// Later steps run; conditions can look at `steps.NAME.failed`.
    Continue,
}

impl OnFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Stop => "stop",
            OnFailure::Continue => "continue",
        }
    }
}

/// A step's targets: sessions or machines of one site, or one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Selection {
    Sessions(SessionQuery),
    Machines(MachineQuery),
    Users(UserQuery),
}

impl Selection {
    /// The CVAD site the runner fetches from (`None` for account and request actions, whose
    /// user's domain or routing decide).
    pub fn site(&self) -> Option<&str> {
        match self {
            Selection::Sessions(q) => Some(&q.site),
            Selection::Machines(q) => Some(&q.site),
            Selection::Users(q) => q.site.as_deref(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Selection::Sessions(_) => "sessions",
            Selection::Machines(_) => "machines",
            Selection::Users(_) => "users",
        }
    }
}

/// `select = { sessions = { … } }`. Text fields compare without regard to ASCII case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionQuery {
    pub site: String,
    /// The delivery group's name or id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_group: Option<String>,
    /// `DOMAIN\sam` or UPN of the session's user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Field<SessionStateFilter>>,
    /// Only sessions whose state has not changed for longer than this (the state change
    /// time, else the start time; a session with neither is not selected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than: Option<Field<Dur>>,
    /// The machine's `DOMAIN\NAME`, its name without the domain, or its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
}

/// `select = { machines = { … } }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineQuery {
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_state: Option<Field<PowerState>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_state: Option<Field<RegistrationState>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_maintenance: Option<Field<bool>>,
    /// `true`: machines with at least one session; `false`: machines with none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_sessions: Option<Field<bool>>,
    /// Start of the machine's name, with or without its domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
}

/// `select = { users = { … } }`: the target is the user itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserQuery {
    /// The CVAD site whose sessions `user.logoff` logs off; not used by account and request
    /// actions (the domain comes from the user, the site from routing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// `DOMAIN\sam`.
    pub user: String,
}

/// A session state a selection asks for, in the runbook's lower-case words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStateFilter {
    Active,
    Disconnected,
    Connected,
}

impl SessionStateFilter {
    pub fn parse(text: &str) -> Option<SessionStateFilter> {
        match text.trim().to_ascii_lowercase().as_str() {
            "active" => Some(SessionStateFilter::Active),
            "disconnected" => Some(SessionStateFilter::Disconnected),
            "connected" => Some(SessionStateFilter::Connected),
            _ => None,
        }
    }
}

/// A typed field of a step that may instead name a parameter, written `"{{name}}"`: after
/// [`super::resolve`] every field holds a value. Serialized as the value or as the
/// placeholder text, so the JSON reads like the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<T> {
    Value(T),
    Param(String),
}

impl<T> Field<T> {
    /// The value, or `None` while the field still names a parameter.
    pub fn value(&self) -> Option<&T> {
        match self {
            Field::Value(v) => Some(v),
            Field::Param(_) => None,
        }
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Value(v) => v.serialize(s),
            Field::Param(name) => s.serialize_str(&format!("{{{{{name}}}}}")),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        if let Value::String(text) = &value
            && let Some(name) = super::bind::whole_placeholder(text)
        {
            return Ok(Field::Param(name.to_owned()));
        }
        serde_json::from_value(value)
            .map(Field::Value)
            .map_err(serde::de::Error::custom)
    }
}

/// A duration written as text (`"90s"`, `"4h"`), in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&duration_text(self.0))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text)
            .map(Dur)
            .map_err(serde::de::Error::custom)
    }
}

/// `"90s"`, `"30m"`, `"4h"`: a whole number and a unit, at least one second, whole seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = crate::config::parse_duration(text)?;
    if d.subsec_nanos() != 0 {
        return Err(format!(
            "{text:?} is not a whole number of seconds; write e.g. \"90s\", \"30m\" or \"4h\""
        ));
    }
    Ok(d)
}

/// The text form of a duration (`"4h"`, `"90s"`).
pub fn duration_text(d: Duration) -> String {
    crate::adapter::engine::actions::duration_text(d)
}

/// How a step's job ended, for the conditions of later steps. A step that was skipped, or
/// selected nothing, counts as zeros.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    pub targets: u64,
    pub succeeded: u64,
    pub failed: u64,
}

/// A step ready to run: every `{{param}}` substituted, the action's parameters checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedStep {
    pub name: String,
    pub action: String,
    /// The action's parameters as the child job takes them.
    pub params: Value,
    /// Every field a value (no `{{param}}` left).
    pub select: Selection,
    /// Written as text (`"30m"`) in JSON.
    #[serde(serialize_with = "wait_text")]
    pub wait: Option<Duration>,
    pub on_failure: OnFailure,
}

fn wait_text<S: Serializer>(wait: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    wait.map(duration_text).serialize(s)
}
