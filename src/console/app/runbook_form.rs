//! A runbook's parameter form as data: one field per parameter (the default filled in), the
//! checks made before anything is sent (required given, an int a whole number, a duration
//! like `90s` or `4h`, a site one of the adapter's, a user `DOMAIN\sam`), the typed
//! `params` of the run, and which field an adapter's refusal is about.

use serde_json::{Map, Value};

use crate::console::client::{ParamKind, RunbookInfo, RunbookParam};
use crate::console::widgets::input_dialog::InputState;
use crate::console::widgets::runbook_dialog::{FieldValue, ParamField};

/// Names the console knows, offered in site and delivery group fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub sites: Vec<String>,
    /// `(site, group)`.
    pub groups: Vec<(String, String)>,
}

/// The fields of `runbook`'s form.
pub fn fields(runbook: &RunbookInfo, known: &Known) -> Vec<ParamField> {
    runbook.params.iter().map(|p| field(p, known)).collect()
}

fn field(p: &RunbookParam, known: &Known) -> ParamField {
    let default = p.default_text();
    let value = match p.kind {
        ParamKind::Bool => FieldValue::Check(match &p.default {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => Some(s.eq_ignore_ascii_case("true")),
            // A required bool is always given: unticked is `false`.
            _ if p.required => Some(false),
            _ => None,
        }),
        _ => FieldValue::Text(InputState::new(&default)),
    };
    let choices = match p.kind {
        ParamKind::Site => known.sites.clone(),
        ParamKind::DeliveryGroup => {
            let mut names: Vec<String> = known.groups.iter().map(|(_, g)| g.clone()).collect();
            names.sort();
            names.dedup();
            names
        }
        _ => Vec::new(),
    };
    ParamField {
        name: p.name.clone(),
        description: p.description.clone(),
        kind: p.kind.as_str(),
        required: p.required,
        default,
        value,
        choices,
        error: None,
    }
}

/// Offers the delivery groups of the site typed in the form's site field (all groups when
/// none is typed or it names no known site).
pub fn narrow_groups(form: &mut [ParamField], runbook: &RunbookInfo, known: &Known) {
    let site = runbook
        .params
        .iter()
        .zip(form.iter())
        .find(|(p, _)| p.kind == ParamKind::Site)
        .and_then(|(_, f)| match &f.value {
            FieldValue::Text(input) => Some(input.text.trim().to_lowercase()),
            FieldValue::Check(_) => None,
        })
        .filter(|s| known.sites.iter().any(|k| k.to_lowercase() == *s));
    for (p, f) in runbook.params.iter().zip(form.iter_mut()) {
        if p.kind != ParamKind::DeliveryGroup {
            continue;
        }
        let mut names: Vec<String> = known
            .groups
            .iter()
            .filter(|(s, _)| site.as_ref().is_none_or(|want| s.to_lowercase() == *want))
            .map(|(_, g)| g.clone())
            .collect();
        names.sort();
        names.dedup();
        f.choices = names;
    }
}

/// `90s`, `30m`, `4h`: a whole number above zero and a unit.
pub fn is_duration(text: &str) -> bool {
    let Some(unit) = text.chars().last() else {
        return false;
    };
    let number = &text[..text.len() - unit.len_utf8()];
    matches!(unit, 's' | 'm' | 'h')
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
        && number.parse::<u64>().is_ok_and(|n| n > 0)
}

/// Checks every field, noting each refusal on its field, and returns the run's `params`
/// (optional fields left empty are not sent), or `None` when a field is refused. Site names
/// are sent as the adapter spells them.
pub fn params(form: &mut [ParamField], known: &Known) -> Option<Map<String, Value>> {
    let mut params = Map::new();
    let mut ok = true;
    for field in form.iter_mut() {
        field.error = None;
        let value = match &field.value {
            FieldValue::Check(None) if field.required => Err("required: space ticks it".into()),
            FieldValue::Check(None) => continue,
            FieldValue::Check(Some(b)) => Ok(Value::Bool(*b)),
            FieldValue::Text(input) => {
                let text = input.text.trim();
                if text.is_empty() {
                    if field.required {
                        Err("required".to_owned())
                    } else {
                        continue;
                    }
                } else {
                    typed(field, text, known)
                }
            }
        };
        match value {
            Ok(v) => {
                params.insert(field.name.clone(), v);
            }
            Err(why) => {
                field.error = Some(why);
                ok = false;
            }
        }
    }
    ok.then_some(params)
}

fn typed(field: &ParamField, text: &str, known: &Known) -> Result<Value, String> {
    match field.kind {
        "int" => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("{text:?} is not a whole number")),
        "duration" if is_duration(text) => Ok(Value::from(text)),
        "duration" => Err(format!(
            "{text:?} is not a duration: a whole number and s, m or h (\"90s\", \"30m\", \"4h\")"
        )),
        _ if text.chars().count() > 256 => Err("longer than 256 characters".to_owned()),
        "site" if !known.sites.is_empty() => known
            .sites
            .iter()
            .find(|s| s.eq_ignore_ascii_case(text))
            .map(|s| Value::from(s.as_str()))
            .ok_or_else(|| {
                format!(
                    "{text:?} is not a site; the sites: {}",
                    known.sites.join(", ")
                )
            }),
        "user" => {
            let ok = text.split_once('\\').is_some_and(|(d, s)| {
                !d.trim().is_empty() && !s.trim().is_empty() && !s.contains('\\')
            });
            if ok {
                Ok(Value::from(text))
            } else {
                Err(format!("{text:?}: a user is written DOMAIN\\sam"))
            }
        }
        _ => Ok(Value::from(text)),
    }
}

/// The field an adapter's message is about: it names the parameter (`params.older_than`,
/// `older_than`), as the adapter's refusals do. The longest name wins, so `site_group` is
/// not taken for `site`.
pub fn blamed(form: &[ParamField], message: &str) -> Option<usize> {
    let named = |name: &str| {
        message.match_indices(name).any(|(at, _)| {
            let before = message[..at].chars().next_back();
            let after = message[at + name.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !word(before) && !word(after)
        })
    };
    form.iter()
        .enumerate()
        .filter(|(_, f)| named(&f.name))
        .max_by_key(|(_, f)| f.name.len())
        .map(|(i, _)| i)
}

/// `site=London, older_than=1m` for the confirmation: what will be sent.
pub fn summary(params: &Map<String, Value>) -> String {
    if params.is_empty() {
        return "no parameters".to_owned();
    }
    params
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
