//! Parameters of a run: checking what the console's form or a ServiceNow catalog item gave
//! against the runbook's `[[params]]` ([`bind`]), and putting them into a step's action
//! parameters and selection (`{{param}}`, [`resolve`]) before the step runs.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::model::{
    Field, MAX_WAIT, MachineQuery, ParamDef, ParamType, ParamValue, ResolvedStep, Runbook,
    Selection, SessionQuery, SessionStateFilter, StepDef, UserQuery, Values, parse_duration,
};
use crate::adapter::engine::actions;
use crate::config::AdapterConfig;
use crate::model::{PowerState, RegistrationState};

/// The names of the `{{name}}` placeholders in `text`, in order; an error for a `{{` that
/// is not closed or holds no name.
pub fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("{text:?} has a `{{{{` with no `}}}}`"))?;
        let name = after[..end].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "{text:?}: `{{{{{}}}}}` is not a parameter name; write {{{{name}}}}",
                &after[..end]
            ));
        }
        names.push(name);
        rest = &after[end + 2..];
    }
    Ok(names)
}

/// `Some(name)` when `text` is exactly one placeholder (`"{{site}}"`).
pub fn whole_placeholder(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(inner)
}

/// `text` with every placeholder replaced; an absent optional parameter becomes `""`.
pub fn substitute(text: &str, values: &Values) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start + 2..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = rest[start + 2..start + 2 + end].trim();
        if let Some(v) = values.get(name) {
            out.push_str(&v.text());
        }
        rest = &rest[start + 2 + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Checks one value against a parameter's type. ServiceNow catalog variables are always
/// strings, so ints, bools and durations are also taken as text (`"3"`, `"true"`).
pub fn check_value(def: &ParamDef, value: &Value, sites: &[&str]) -> Result<ParamValue, String> {
    let name = &def.name;
    let wrong = |what: &str| {
        format!(
            "params.{name} must be {what} (type {}), not {}",
            def.kind,
            short(value)
        )
    };
    match def.kind {
        ParamType::Int => match value {
            Value::Number(n) => n.as_i64().ok_or_else(|| wrong("a whole number")),
            Value::String(s) => s.trim().parse::<i64>().map_err(|_| wrong("a whole number")),
            _ => Err(wrong("a whole number")),
        }
        .map(ParamValue::Int),
        ParamType::Bool => match value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(wrong("true or false")),
        }
        .map(ParamValue::Bool),
        ParamType::Duration => match value {
            Value::String(s) => parse_duration(s)
                .map(ParamValue::Duration)
                .map_err(|e| format!("params.{name}: {e}")),
            _ => Err(wrong("a duration such as \"90s\", \"30m\" or \"4h\"")),
        },
        ParamType::String | ParamType::DeliveryGroup | ParamType::Site | ParamType::User => {
            let Value::String(s) = value else {
                return Err(wrong("text"));
            };
            let s = s.trim();
            if s.is_empty() {
                return Err(format!("params.{name} is empty"));
            }
            if s.chars().count() > 256 || s.chars().any(char::is_control) {
                return Err(format!(
                    "params.{name} is longer than 256 characters or holds control characters"
                ));
            }
            match def.kind {
                ParamType::Site if !sites.contains(&s) => Err(format!(
                    "params.{name} is {s:?}, which is not a configured site; the sites: {}",
                    sites.join(", ")
                )),
                ParamType::User if !is_user(s) => Err(format!(
                    "params.{name} is {s:?}; a user is written DOMAIN\\sam"
                )),
                _ => Ok(ParamValue::Text(s.to_owned())),
            }
        }
    }
}

/// `DOMAIN\sam` with both parts present.
pub fn is_user(text: &str) -> bool {
    text.split_once('\\').is_some_and(|(domain, sam)| {
        !domain.trim().is_empty() && !sam.trim().is_empty() && !sam.contains('\\')
    })
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

/// The configured sites' names.
pub fn site_names(config: &AdapterConfig) -> Vec<&str> {
    config.sites.iter().map(|s| s.name.as_str()).collect()
}

/// Checks the parameters given for a run (a JSON object; `null` for none): each known, of
/// its type, sites configured; defaults applied; every missing required one named. An empty
/// string counts as not given (an unfilled catalog variable).
pub fn bind(runbook: &Runbook, given: &Value, config: &AdapterConfig) -> Result<Values, String> {
    bind_with_sites(runbook, given, &site_names(config))
}

/// [`bind`] with the configured site names given directly.
pub fn bind_with_sites(runbook: &Runbook, given: &Value, sites: &[&str]) -> Result<Values, String> {
    let empty = Map::new();
    let given = match given {
        Value::Null => &empty,
        Value::Object(map) => map,
        other => {
            return Err(format!(
                "the parameters of runbook {} must be a JSON object, not {}",
                runbook.name,
                short(other)
            ));
        }
    };
    let mut problems = Vec::new();
    for key in given.keys() {
        if runbook.param(key).is_none() {
            problems.push(format!(
                "runbook {} has no parameter {key:?}; its parameters: {}",
                runbook.name,
                param_names(runbook)
            ));
        }
    }
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for def in &runbook.params {
        let value = given
            .get(&def.name)
            .filter(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
            .or(def.default.as_ref());
        match value {
            Some(v) => match check_value(def, v, sites) {
                Ok(v) => {
                    values.insert(def.name.clone(), v);
                }
                Err(e) => problems.push(e),
            },
            None if def.required => missing.push(def.name.as_str()),
            None => {}
        }
    }
    if !missing.is_empty() {
        problems.push(format!(
            "runbook {} needs {}",
            runbook.name,
            missing
                .iter()
                .map(|m| format!("params.{m}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(Values(values))
    } else {
        Err(problems.join("; "))
    }
}

fn param_names(runbook: &Runbook) -> String {
    if runbook.params.is_empty() {
        "none".to_owned()
    } else {
        let names: Vec<&str> = runbook.params.iter().map(|p| p.name.as_str()).collect();
        names.join(", ")
    }
}

/// Substitutes placeholders in a JSON value: a string that is exactly `"{{p}}"` takes `p`'s
/// typed value (so `on = "{{flag}}"` is a bool) and an object key whose value is an absent
/// parameter is left out; other strings get text substitution.
pub fn substitute_json(value: &Value, values: &Values) -> Option<Value> {
    match value {
        Value::String(s) => match whole_placeholder(s) {
            Some(name) => values.get(name).map(ParamValue::to_json),
            None => Some(Value::String(substitute(s, values))),
        },
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .map(|v| substitute_json(v, values).unwrap_or(Value::String(String::new())))
                .collect(),
        )),
        Value::Object(map) => Some(Value::Object(
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), substitute_json(v, values)?)))
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

/// A step with the run's values put in: the action's parameters checked with the action's
/// own validation and every selection field typed, so a bad combination fails before the
/// step acts on anything.
pub fn resolve(step: &StepDef, values: &Values) -> Result<ResolvedStep, String> {
    let at = |e: String| format!("step {:?}: {e}", step.name);
    let params = substitute_json(&step.params, values).unwrap_or(Value::Null);
    actions::operation(&step.action, &params).map_err(at)?;
    let select = match &step.select {
        Selection::Sessions(q) => Selection::Sessions(SessionQuery {
            site: required_text(&q.site, "site", values).map_err(at)?,
            delivery_group: text(&q.delivery_group, values),
            user: text(&q.user, values),
            state: field(&q.state, "state", values, |v| match v {
                ParamValue::Text(t) => SessionStateFilter::parse(t).ok_or_else(|| {
                    format!("{t:?} is not a state; use active, disconnected or connected")
                }),
                other => Err(format!("{} is not a state", other.text())),
            })
            .map_err(at)?,
            older_than: field(&q.older_than, "older_than", values, |v| match v {
                ParamValue::Duration(d) => Ok(super::model::Dur(*d)),
                ParamValue::Text(t) => parse_duration(t).map(super::model::Dur),
                other => Err(format!("{} is not a duration", other.text())),
            })
            .map_err(at)?,
            machine: text(&q.machine, values),
        }),
        Selection::Machines(q) => Selection::Machines(MachineQuery {
            site: required_text(&q.site, "site", values).map_err(at)?,
            delivery_group: text(&q.delivery_group, values),
            power_state: field(&q.power_state, "power_state", values, |v| {
                known_enum(
                    &v.text(),
                    PowerState::parse,
                    "a power state such as On or Off",
                )
            })
            .map_err(at)?,
            registration_state: field(&q.registration_state, "registration_state", values, |v| {
                known_enum(
                    &v.text(),
                    RegistrationState::parse,
                    "Registered or Unregistered",
                )
            })
            .map_err(at)?,
            in_maintenance: field(&q.in_maintenance, "in_maintenance", values, bool_value)
                .map_err(at)?,
            with_sessions: field(&q.with_sessions, "with_sessions", values, bool_value)
                .map_err(at)?,
            name_prefix: text(&q.name_prefix, values),
        }),
        Selection::Users(q) => Selection::Users(UserQuery {
            site: text(&q.site, values),
            user: {
                let user = required_text(&q.user, "user", values).map_err(at)?;
                if !is_user(&user) {
                    return Err(at(format!("select user is {user:?}; write DOMAIN\\sam")));
                }
                user
            },
        }),
    };
    let wait = match &step.wait {
        None => None,
        Some(Field::Value(d)) => Some(d.0),
        Some(Field::Param(name)) => match values.get(name) {
            Some(ParamValue::Duration(d)) if *d <= MAX_WAIT => Some(*d),
            Some(ParamValue::Duration(_)) => {
                return Err(at(format!("wait (params.{name}) is longer than 24h")));
            }
            Some(other) => return Err(at(format!("wait: {} is not a duration", other.text()))),
            None => None,
        },
    };
    Ok(ResolvedStep {
        name: step.name.clone(),
        action: step.action.clone(),
        params,
        select,
        wait,
        on_failure: step.on_failure,
    })
}

fn bool_value(v: &ParamValue) -> Result<bool, String> {
    match v {
        ParamValue::Bool(b) => Ok(*b),
        other => Err(format!("{} is not true or false", other.text())),
    }
}

fn known_enum<T: PartialEq + Copy + Default>(
    text: &str,
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<T, String> {
    parse(text)
        .filter(|v| *v != T::default())
        .ok_or_else(|| format!("{text:?} is not {what}"))
}

fn text(value: &Option<String>, values: &Values) -> Option<String> {
    let s = value.as_ref()?;
    if let Some(name) = whole_placeholder(s) {
        return values.get(name).map(ParamValue::text);
    }
    Some(substitute(s, values)).filter(|s| !s.trim().is_empty())
}

fn required_text(value: &str, key: &str, values: &Values) -> Result<String, String> {
    text(&Some(value.to_owned()), values).ok_or_else(|| match whole_placeholder(value) {
        Some(name) => format!("select {key} is params.{name}, which was not given"),
        None => format!("select {key} is empty"),
    })
}

fn field<T: Clone>(
    value: &Option<Field<T>>,
    key: &str,
    values: &Values,
    convert: impl Fn(&ParamValue) -> Result<T, String>,
) -> Result<Option<Field<T>>, String> {
    match value {
        None => Ok(None),
        Some(Field::Value(v)) => Ok(Some(Field::Value(v.clone()))),
        Some(Field::Param(name)) => match values.get(name) {
            None => Ok(None),
            Some(v) => convert(v)
                .map(|v| Some(Field::Value(v)))
                .map_err(|e| format!("select {key} (params.{name}): {e}")),
        },
    }
}
