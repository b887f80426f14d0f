//! Step conditions (`when = "steps.drain.succeeded > 0"`): one comparison of a parameter or
//! an earlier step's result with a literal. Parsed and type-checked at load; evaluated by the
//! runner with the run's values and the results so far.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::model::{ParamDef, ParamType, ParamValue, StepResult, Values, parse_duration};

/// What a condition looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    /// `params.NAME`.
    Param(String),
    /// `steps.NAME.targets|succeeded|failed`.
    Step { step: String, field: StepField },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepField {
    Targets,
    Succeeded,
    Failed,
}

impl StepField {
    fn parse(text: &str) -> Option<StepField> {
        match text {
            "targets" => Some(StepField::Targets),
            "succeeded" => Some(StepField::Succeeded),
            "failed" => Some(StepField::Failed),
            _ => None,
        }
    }

    fn of(self, r: &StepResult) -> u64 {
        match self {
            StepField::Targets => r.targets,
            StepField::Succeeded => r.succeeded,
            StepField::Failed => r.failed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    const ALL: [(&'static str, Op); 6] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    fn holds<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        match self {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }

    fn is_equality(self) -> bool {
        matches!(self, Op::Eq | Op::Ne)
    }
}

/// The right-hand side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Number(i64),
    Bool(bool),
    Text(String),
}

/// A parsed `when`. Serialized as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub text: String,
    pub left: Ref,
    pub op: Op,
    pub right: Literal,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }
}

const FORM: &str = "write `<ref> <op> <value>`, e.g. `steps.drain.succeeded > 0` or \
                    `params.force == true`";

/// Parses the grammar; names are checked against a runbook by [`check`].
pub fn parse(text: &str) -> Result<Condition, String> {
    let t = text.trim();
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(t.len());
    let (reference, rest) = t.split_at(end);
    let left = parse_ref(reference)?;
    let rest = rest.trim_start();
    let (op_text, op) = Op::ALL
        .into_iter()
        .find(|(s, _)| rest.starts_with(s))
        .ok_or_else(|| {
            format!("no comparison after {reference:?}; use ==, !=, <, <=, > or >=; {FORM}")
        })?;
    let value = rest[op_text.len()..].trim();
    let right = parse_literal(value)?;
    Ok(Condition {
        text: t.to_owned(),
        left,
        op,
        right,
    })
}

fn parse_ref(text: &str) -> Result<Ref, String> {
    let parts: Vec<&str> = text.split('.').collect();
    match parts.as_slice() {
        ["params", name] if !name.is_empty() => Ok(Ref::Param((*name).to_owned())),
        ["steps", step, field] if !step.is_empty() => {
            let field = StepField::parse(field).ok_or_else(|| {
                format!(
                    "{text:?}: a step's result is `targets`, `succeeded` or `failed`, not \
                     {field:?}"
                )
            })?;
            Ok(Ref::Step {
                step: (*step).to_owned(),
                field,
            })
        }
        _ if text.is_empty() => Err(format!("the condition is empty; {FORM}")),
        _ => Err(format!(
            "{text:?} is not a reference; use params.NAME or steps.NAME.targets|succeeded|failed"
        )),
    }
}

fn parse_literal(text: &str) -> Result<Literal, String> {
    match text {
        "" => Err(format!("no value after the comparison; {FORM}")),
        "true" => Ok(Literal::Bool(true)),
        "false" => Ok(Literal::Bool(false)),
        _ if text.starts_with('"') => {
            let inner = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .filter(|inner| !inner.contains('"'))
                .ok_or_else(|| format!("{text} is not a quoted string; write \"text\""))?;
            Ok(Literal::Text(inner.to_owned()))
        }
        _ => text.parse::<i64>().map(Literal::Number).map_err(|_| {
            format!("{text:?} is not a value; use a whole number, true, false or \"text\"")
        }),
    }
}

/// Checks the names and types of a condition of step number `index`, given the runbook's
/// parameters and the names of all its steps in order.
pub fn check(
    c: &Condition,
    params: &[ParamDef],
    steps: &[&str],
    index: usize,
) -> Result<(), String> {
    match &c.left {
        Ref::Step { step, .. } => {
            match steps.iter().position(|s| s == step) {
                Some(at) if at < index => {}
                Some(at) if at == index => {
                    return Err(format!(
                        "refers to this step's own result (steps.{step}); a condition can only \
                         use steps before it"
                    ));
                }
                Some(_) => {
                    return Err(format!(
                        "refers to step {step:?}, which runs later; a condition can only use \
                         steps before it"
                    ));
                }
                None => {
                    return Err(format!(
                        "refers to step {step:?}, which does not exist; earlier steps: {}",
                        list(steps.iter().take(index).copied())
                    ));
                }
            }
            match &c.right {
                Literal::Number(_) => Ok(()),
                _ => Err(format!(
                    "{} is a count; compare it with a whole number",
                    ref_text(&c.left)
                )),
            }
        }
        Ref::Param(name) => {
            let param = params.iter().find(|p| &p.name == name).ok_or_else(|| {
                format!(
                    "refers to params.{name}, which is not a parameter; the parameters: {}",
                    list(params.iter().map(|p| p.name.as_str()))
                )
            })?;
            let always = param.required || param.default.is_some();
            if !always && !param.kind.is_text() {
                return Err(format!(
                    "params.{name} is optional with no default, so it may have no value; give \
                     it a default"
                ));
            }
            check_types(param.kind, c.op, &c.right)
                .map_err(|e| format!("params.{name} is of type {}: {e}", param.kind))
        }
    }
}

fn check_types(kind: ParamType, op: Op, right: &Literal) -> Result<(), String> {
    match (kind, right) {
        (ParamType::Int, Literal::Number(_)) => Ok(()),
        (ParamType::Bool, Literal::Bool(_)) if op.is_equality() => Ok(()),
        (ParamType::Bool, Literal::Bool(_)) => Err("compare it with == or !=".into()),
        (ParamType::Duration, Literal::Text(t)) => parse_duration(t).map(|_| ()),
        (k, Literal::Text(_)) if k.is_text() && op.is_equality() => Ok(()),
        (k, Literal::Text(_)) if k.is_text() => Err("compare text with == or !=".into()),
        (ParamType::Int, _) => Err("compare it with a whole number".into()),
        (ParamType::Bool, _) => Err("compare it with true or false".into()),
        (ParamType::Duration, _) => Err("compare it with a duration such as \"2h\"".into()),
        _ => Err("compare it with a \"quoted text\"".into()),
    }
}

fn ref_text(r: &Ref) -> String {
    match r {
        Ref::Param(name) => format!("params.{name}"),
        Ref::Step { step, field } => {
            let field = match field {
                StepField::Targets => "targets",
                StepField::Succeeded => "succeeded",
                StepField::Failed => "failed",
            };
            format!("steps.{step}.{field}")
        }
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// Whether the condition holds for this run. A step missing from `results` (skipped, or it
/// selected nothing) counts as zeros; an absent optional text parameter as `""`.
pub fn condition_holds(
    c: &Condition,
    values: &Values,
    results: &BTreeMap<String, StepResult>,
) -> Result<bool, String> {
    let mismatch = || {
        format!(
            "condition {:?}: {} and the value it is compared with have different types",
            c.text,
            ref_text(&c.left)
        )
    };
    match (&c.left, &c.right) {
        (Ref::Step { step, field }, Literal::Number(n)) => {
            let got = results.get(step).map_or(0, |r| field.of(r));
            Ok(c.op.holds(&i128::from(got), &i128::from(*n)))
        }
        (Ref::Step { .. }, _) => Err(mismatch()),
        (Ref::Param(name), right) => match (values.get(name), right) {
            (Some(ParamValue::Int(a)), Literal::Number(b)) => Ok(c.op.holds(a, b)),
            (Some(ParamValue::Bool(a)), Literal::Bool(b)) if c.op.is_equality() => {
                Ok(c.op.holds(a, b))
            }
            (Some(ParamValue::Duration(a)), Literal::Text(b)) => {
                let b: Duration = parse_duration(b).map_err(|e| format!("{}: {e}", c.text))?;
                Ok(c.op.holds(a, &b))
            }
            (Some(ParamValue::Text(a)), Literal::Text(b)) if c.op.is_equality() => {
                Ok(c.op.holds(a, b))
            }
            (None, Literal::Text(b)) if c.op.is_equality() => Ok(c.op.holds(&String::new(), b)),
            (None, _) => Err(format!(
                "condition {:?}: params.{name} has no value in this run",
                c.text
            )),
            _ => Err(mismatch()),
        },
    }
}
