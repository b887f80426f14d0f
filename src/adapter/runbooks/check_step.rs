//! Checking one `[[steps]]` table: its action, the action's parameters (with the action's own
//! validation when they can be known at load), the selection and whether it fits the action's
//! targets, every `{{param}}` it uses, its condition's grammar, `on_failure` and `wait`.

use std::ops::Range;

use serde_json::Value;
use toml::Spanned;

use super::bind::{placeholders, substitute_json, whole_placeholder};
use super::condition::{self, Condition};
use super::load::FileCtx;
use super::model::{
    Dur, Field, MAX_WAIT, OnFailure, ParamDef, ParamType, ParamValue, StepDef, Values,
    parse_duration,
};
use super::raw::RawStep;
use crate::adapter::engine::actions::{self, TargetKind};
use crate::adapter::store::Role;

/// Actions a runbook may not run, and why.
const REFUSED: &[(&str, &str)] = &[
    (
        "account.password_reset",
        "a password reset needs a verified requester and a new password, which a runbook file \
         must not hold; reset passwords from the console",
    ),
    (
        "user.onboard",
        "onboarding returns a temporary password once to whoever asked; run it from the \
         console or a catalog item",
    ),
    (
        "runbook.run",
        "a runbook step cannot run a runbook; put the steps in this runbook",
    ),
];

/// A checked step (`None` when it has problems), and what the runbook-level checks need
/// from it, known even when other parts of the step are wrong.
pub(super) struct Checked {
    pub step: Option<StepDef>,
    pub when: Option<(Condition, Range<usize>)>,
    /// The role the step needs, with the reason for a person, and the place of its action.
    pub needs: Option<(Role, String, Range<usize>)>,
}

/// The name errors are reported under: the step's name, else `#N` (from 1).
pub(super) fn label(step: &RawStep, index: usize) -> String {
    step.name
        .as_ref()
        .map_or_else(|| format!("#{}", index + 1), |n| n.get_ref().clone())
}

pub(super) struct StepCtx<'c, 'a> {
    pub ctx: &'c mut FileCtx<'a>,
    label: &'c str,
    params: &'c [ParamDef],
}

impl StepCtx<'_, '_> {
    pub(super) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.ctx.error(Some(span), Some(self.label), message);
    }

    /// Every placeholder of `text` names a parameter.
    pub(super) fn templates(&mut self, text: &str, span: Range<usize>, key: &str) -> bool {
        match placeholders(text) {
            Err(e) => {
                self.error(span, format!("{key}: {e}"));
                false
            }
            Ok(names) => {
                let mut ok = true;
                for name in names {
                    if !self.params.iter().any(|p| p.name == name) {
                        let known: Vec<&str> =
                            self.params.iter().map(|p| p.name.as_str()).collect();
                        self.error(
                            span.clone(),
                            format!(
                                "{key}: {{{{{name}}}}} names no parameter; the parameters: {}",
                                if known.is_empty() {
                                    "none".to_owned()
                                } else {
                                    known.join(", ")
                                }
                            ),
                        );
                        ok = false;
                    }
                }
                ok
            }
        }
    }

    pub(super) fn text(
        &mut self,
        value: &Option<Spanned<String>>,
        key: &str,
    ) -> Option<Option<String>> {
        let Some(v) = value else { return Some(None) };
        self.templates(v.get_ref(), v.span(), key)
            .then(|| Some(v.get_ref().clone()))
    }

    fn param_of(&self, name: &str) -> Option<&ParamDef> {
        self.params.iter().find(|p| p.name == name)
    }

    /// A typed field: a literal `parse` accepts, or exactly `"{{p}}"` with `p` of a type in
    /// `types`.
    pub(super) fn typed<T>(
        &mut self,
        value: Option<(&str, Range<usize>)>,
        key: &str,
        types: &[ParamType],
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<Option<Field<T>>> {
        let Some((text, span)) = value else {
            return Some(None);
        };
        if let Some(name) = whole_placeholder(text) {
            let Some(p) = self.param_of(name) else {
                self.templates(text, span, key);
                return None;
            };
            if !types.contains(&p.kind) {
                let kind = p.kind;
                let want: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
                self.error(
                    span,
                    format!(
                        "{key} is {{{{{name}}}}}, a parameter of type {kind}; it takes a \
                         parameter of type {}",
                        want.join(" or ")
                    ),
                );
                return None;
            }
            return Some(Some(Field::Param(name.to_owned())));
        }
        if text.contains("{{") {
            self.error(
                span,
                format!("{key} takes a value or exactly one parameter as \"{{{{name}}}}\""),
            );
            return None;
        }
        match parse(text) {
            Ok(v) => Some(Some(Field::Value(v))),
            Err(e) => {
                self.error(span, format!("{key}: {e}"));
                None
            }
        }
    }

    pub(super) fn bool_field(
        &mut self,
        value: &Option<Spanned<toml::Value>>,
        key: &str,
    ) -> Option<Option<Field<bool>>> {
        let Some(v) = value else { return Some(None) };
        match v.get_ref() {
            toml::Value::Boolean(b) => Some(Some(Field::Value(*b))),
            toml::Value::String(s) => {
                self.typed(Some((s, v.span())), key, &[ParamType::Bool], |_| {
                    Err("takes true or false".to_owned())
                })
            }
            _ => {
                self.error(
                    v.span(),
                    format!("{key} takes true, false or \"{{{{param}}}}\""),
                );
                None
            }
        }
    }

    /// `site`: a configured site, or exactly a parameter of type site.
    pub(super) fn site(&mut self, value: &Spanned<String>, key: &str) -> Option<String> {
        let text = value.get_ref();
        if whole_placeholder(text).is_some() {
            self.typed(Some((text, value.span())), key, &[ParamType::Site], |_| {
                Ok(())
            })?;
            return Some(text.clone());
        }
        if text.contains("{{") || !self.ctx.sites.contains(&text.as_str()) {
            let sites = self.ctx.sites.join(", ");
            self.error(
                value.span(),
                format!(
                    "{key} is {text:?}, which is not a configured site; use one of {sites} or a \
                     parameter of type site as \"{{{{name}}}}\""
                ),
            );
            return None;
        }
        Some(text.clone())
    }
}

pub(super) fn step(
    raw: &Spanned<RawStep>,
    label: &str,
    params: &[ParamDef],
    ctx: &mut FileCtx<'_>,
) -> Checked {
    let span = raw.span();
    let s = raw.get_ref();
    let before = ctx.errors.len();
    let mut c = StepCtx { ctx, label, params };
    let when = match &s.when {
        None => None,
        Some(w) => match condition::parse(w.get_ref()) {
            Ok(cond) => Some((cond, w.span())),
            Err(e) => {
                c.error(w.span(), format!("when: {e}"));
                None
            }
        },
    };
    let mut checked = Checked {
        step: None,
        when,
        needs: None,
    };
    match &s.name {
        None => c.error(
            span.clone(),
            "name: this key is required; add `name = \"...\"`",
        ),
        Some(n) if !super::check::is_slug(n.get_ref()) => c.error(
            n.span(),
            format!(
                "the step name {:?} is not lower-case letters, digits and `-`",
                n.get_ref()
            ),
        ),
        Some(_) => {}
    }
    let Some(action) = &s.action else {
        c.error(
            span,
            "action: this key is required; add e.g. `action = \"session.logoff\"`",
        );
        return checked;
    };
    let Some(spec) = actions::lookup(action.get_ref()) else {
        c.error(
            action.span(),
            format!(
                "unknown action {:?}; known: {}",
                action.get_ref(),
                actions::names()
            ),
        );
        return checked;
    };
    if let Some((_, why)) = REFUSED.iter().find(|(name, _)| *name == spec.name) {
        c.error(
            action.span(),
            format!("{} cannot be a runbook step: {why}", spec.name),
        );
        return checked;
    }
    checked.needs = Some((
        spec.role,
        format!("{} needs role {}", spec.name, spec.role),
        action.span(),
    ));
    let select = match &s.select {
        None => {
            c.error(
                span.clone(),
                format!(
                    "select: this key is required; {} acts on {}",
                    spec.name,
                    wanted_kind(spec.target)
                ),
            );
            None
        }
        Some(sel) => super::check_select::select(&mut c, sel, spec.name, spec.target),
    };
    let action_params = match &s.params {
        None => Value::Object(Default::default()),
        Some(p) => {
            let json = serde_json::to_value(p.get_ref()).unwrap_or(Value::Null);
            let mut ok = true;
            for_each_string(&json, &mut |text| {
                ok &= c.templates(text, p.span(), "params")
            });
            if !ok {
                return checked;
            }
            json
        }
    };
    let params_span = s.params.as_ref().map_or(action.span(), |p| p.span());
    // With every parameter it uses known at load (none, or all with defaults), the action's
    // own validation runs now; otherwise at `resolve`, before the step acts.
    if let Some(sample) = sample_values(&action_params, params) {
        let substituted = substitute_json(&action_params, &sample).unwrap_or(Value::Null);
        match actions::operation(spec.name, &substituted) {
            Ok(op) => {
                if let Some((role, why)) = actions::params_role(&op)
                    && role > spec.role
                {
                    checked.needs = Some((role, why.to_owned(), params_span.clone()));
                }
            }
            Err(e) => c.error(params_span.clone(), format!("params: {e}")),
        }
    }
    let on_failure = match s
        .on_failure
        .as_ref()
        .map(|o| (o.get_ref().as_str(), o.span()))
    {
        None | Some(("stop", _)) => OnFailure::Stop,
        Some(("continue", _)) => OnFailure::Continue,
        Some((other, at)) => {
            c.error(at, format!("on_failure is {other:?}; use stop or continue"));
            OnFailure::Stop
        }
    };
    let wait = c.typed(
        s.wait.as_ref().map(|w| (w.get_ref().as_str(), w.span())),
        "wait",
        &[ParamType::Duration],
        |t| {
            let d = parse_duration(t)?;
            if d > MAX_WAIT {
                return Err(format!("{t:?} is longer than 24h"));
            }
            Ok(Dur(d))
        },
    );
    let title = s.title.as_ref().map_or_else(
        || spec.summary.to_owned(),
        |t| t.get_ref().trim().to_owned(),
    );
    let (Some(name), Some(select), Some(wait)) = (&s.name, select, wait) else {
        return checked;
    };
    if c.ctx.errors.len() == before {
        checked.step = Some(StepDef {
            name: name.get_ref().clone(),
            title,
            action: spec.name.to_owned(),
            params: action_params,
            select,
            when: checked.when.as_ref().map(|(w, _)| w.clone()),
            on_failure,
            wait,
        });
    }
    checked
}

pub(super) fn wanted_kind(target: TargetKind) -> &'static str {
    match target {
        TargetKind::Session => "sessions: use `select = { sessions = { site = ... } }`",
        TargetKind::Machine => "machines: use `select = { machines = { site = ... } }`",
        TargetKind::User | TargetKind::Account | TargetKind::Person => {
            "a user: use `select = { users = { user = ... } }`"
        }
        TargetKind::Runbook => "nothing: a runbook step cannot run a runbook",
    }
}

fn for_each_string(value: &Value, f: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| for_each_string(v, f)),
        Value::Object(map) => map.values().for_each(|v| for_each_string(v, f)),
        _ => {}
    }
}

/// The values of the parameters `params` uses when all of them have defaults.
fn sample_values(json: &Value, defs: &[ParamDef]) -> Option<Values> {
    let mut names = Vec::new();
    for_each_string(json, &mut |text| {
        names.extend(
            placeholders(text)
                .unwrap_or_default()
                .into_iter()
                .map(str::to_owned),
        );
    });
    let mut values = Values::default();
    for name in names {
        let def = defs.iter().find(|d| d.name == name)?;
        let default = def.default.as_ref()?;
        let value = super::bind::check_value(def, default, &[])
            .ok()
            .or_else(|| {
                // Site defaults were checked at their own line; any text stands in here.
                default.as_str().map(|s| ParamValue::Text(s.to_owned()))
            })?;
        values.0.insert(name, value);
    }
    Some(values)
}
