//! Checks `[[routing.rules]]` and `[routing.default]`: every rule has a unique name and a
//! non-empty match of known keys, and points at a configured site that is enabled, so a bad
//! route is a config error at load rather than a surprise when a request arrives.

use super::check::Ctx;
use super::raw::{RawConfig, RawPersistentDesktop, RawPooledDesktop, RawRule, RawTable};
use super::routing::{DEFAULT_RULE, RouteTarget, RoutingConfig, RoutingRule, RuleMatch};
use super::routing_desktops::{persistent, pooled};
use std::ops::Range;
use toml::Spanned;

/// A rule's or the default's destination fields, borrowed from either raw table.
struct TargetFields<'a> {
    site: &'a Option<Spanned<String>>,
    pooled_desktop: &'a Option<Spanned<RawPooledDesktop>>,
    persistent_desktop: &'a Option<Spanned<RawPersistentDesktop>>,
    apps: &'a [Spanned<String>],
    groups: &'a [Spanned<String>],
}

/// What the checks know of the rest of the file.
struct Known<'a> {
    /// `[[sites]]` (name, enabled).
    sites: Vec<(&'a str, bool)>,
    /// `[[directories]] domain`, upper-cased.
    domains: Vec<String>,
}

/// The `[routing]` table; an absent one is no rules and no default.
pub(super) fn check_routing(raw: &RawConfig, ctx: &mut Ctx<'_>) -> Option<RoutingConfig> {
    let Some(routing) = &raw.routing else {
        return Some(RoutingConfig::default());
    };
    let known = Known {
        sites: raw
            .sites
            .iter()
            .filter_map(|s| {
                let s = s.get_ref();
                Some((
                    s.name.as_ref()?.get_ref().as_str(),
                    s.enabled.unwrap_or(true),
                ))
            })
            .collect(),
        domains: raw
            .directories
            .iter()
            .filter_map(|d| Some(d.get_ref().domain.as_ref()?.get_ref().trim().to_uppercase()))
            .collect(),
    };
    let routing = routing.get_ref();
    let rules: Vec<Option<RoutingRule>> = routing
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| check_rule(rule, &format!("routing.rules[{i}]"), &known, ctx))
        .collect();
    unique_names(&routing.rules, ctx);
    let default = routing.default.as_ref().map(|d| {
        let raw = d.get_ref();
        let fields = TargetFields {
            site: &raw.site,
            pooled_desktop: &raw.pooled_desktop,
            persistent_desktop: &raw.persistent_desktop,
            apps: &raw.apps,
            groups: &raw.groups,
        };
        check_target(&fields, &d.span(), "routing.default", &known, ctx)
    });
    let rules: Vec<RoutingRule> = rules.into_iter().collect::<Option<_>>()?;
    shadowed(&rules, routing, ctx);
    Some(RoutingConfig {
        rules,
        default: match default {
            Some(target) => Some(target?),
            None => None,
        },
    })
}

fn check_rule(
    rule: &Spanned<RawRule>,
    prefix: &str,
    known: &Known<'_>,
    ctx: &mut Ctx<'_>,
) -> Option<RoutingRule> {
    let span = rule.span();
    let raw = rule.get_ref();
    let name = ctx.name(&raw.name, &span, &format!("{prefix}.name"));
    let name = name.and_then(|name| {
        if name.eq_ignore_ascii_case(DEFAULT_RULE) {
            let at = raw.name.as_ref().map_or(span.clone(), Spanned::span);
            ctx.c.error(
                at,
                &format!("{prefix}.name"),
                "\"default\" names the [routing.default] route in explanations; give the rule \
                 another name",
            );
            return None;
        }
        Some(name)
    });
    let matches = check_match(raw.matches.as_ref(), &span, prefix, known, ctx);
    let fields = TargetFields {
        site: &raw.site,
        pooled_desktop: &raw.pooled_desktop,
        persistent_desktop: &raw.persistent_desktop,
        apps: &raw.apps,
        groups: &raw.groups,
    };
    let target = check_target(&fields, &span, prefix, known, ctx);
    Some(RoutingRule {
        name: name?,
        matches: matches?,
        target: target?,
    })
}

/// `match = { … }`: known keys, non-empty string values, at least one of them.
fn check_match(
    table: Option<&Spanned<RawTable>>,
    rule: &Range<usize>,
    prefix: &str,
    known: &Known<'_>,
    ctx: &mut Ctx<'_>,
) -> Option<RuleMatch> {
    let key = format!("{prefix}.match");
    let keys = RuleMatch::KEYS.join(", ");
    let how = format!(
        "give at least one of {keys}, e.g. `match = {{ location = \"London\" }}`; the \
         [routing.default] table takes the users no rule matches"
    );
    let Some(table) = table else {
        ctx.c
            .error(rule.clone(), &key, format!("this key is required; {how}"));
        return None;
    };
    if table.get_ref().is_empty() {
        ctx.c.error(
            table.span(),
            &key,
            format!("matches nobody in particular; {how}"),
        );
        return None;
    }
    let mut matches = RuleMatch::default();
    let mut ok = true;
    for (name, value) in table.get_ref() {
        let name_text = name.get_ref().as_str();
        let here = format!("{key}.{name_text}");
        if !RuleMatch::KEYS.contains(&name_text) {
            ctx.c.error(
                name.span(),
                &here,
                format!(
                    "unknown match key `{name_text}`; a rule matches on {keys} (check its \
                     spelling)"
                ),
            );
            ok = false;
            continue;
        }
        let Some(text) = value.get_ref().as_str().map(str::trim) else {
            ctx.c.error(
                value.span(),
                &here,
                format!(
                    "must be a string, e.g. `{name_text} = \"...\"`; one value per key (a rule \
                     per value when several should match)"
                ),
            );
            ok = false;
            continue;
        };
        match check_match_value(name_text, text, known) {
            Ok(warning) => {
                if let Some(warning) = warning {
                    ctx.c.warn(value.span(), &here, warning);
                }
                matches.set(name_text, text.to_string());
            }
            Err(e) => {
                ctx.c.error(value.span(), &here, e);
                ok = false;
            }
        }
    }
    ok.then_some(matches)
}

/// One match value: an error, or fine with perhaps a warning.
fn check_match_value(key: &str, text: &str, known: &Known<'_>) -> Result<Option<String>, String> {
    if text.is_empty() {
        return Err(format!(
            "is empty; give the {key} to match, or leave the key out"
        ));
    }
    match key {
        "domain" => {
            if text.contains('.') || text.contains('\\') {
                return Err(format!(
                    "{text:?} is not a NetBIOS domain name; write the CORP of CORP\\alice"
                ));
            }
            let upper = text.to_uppercase();
            if !known.domains.is_empty() && !known.domains.contains(&upper) {
                return Ok(Some(format!(
                    "no [[directories]] serves domain {upper}, so no user of it can be looked \
                     up and this rule never matches; configured: {}",
                    known.domains.join(", ")
                )));
            }
        }
        "ou" if !text.contains('=') => {
            return Err(format!(
                "{text:?} is not a distinguished name; write the OU as \
                 \"OU=Finance,OU=London,DC=corp,DC=example,DC=com\" (users in it or below it \
                 match)"
            ));
        }
        "group" if text.to_ascii_uppercase().starts_with("CN=") => {
            return Err(format!(
                "{text:?} is a DN; give the group's common name (\"Finance Staff\"): rules \
                 match direct membership by name"
            ));
        }
        _ => {}
    }
    Ok(None)
}

/// The destination: an enabled site, and what the user gets there.
fn check_target(
    raw: &TargetFields<'_>,
    table: &Range<usize>,
    prefix: &str,
    known: &Known<'_>,
    ctx: &mut Ctx<'_>,
) -> Option<RouteTarget> {
    let key = |k: &str| format!("{prefix}.{k}");
    let site = ctx
        .required(
            raw.site,
            table,
            &key("site"),
            "add `site = \"...\"`, the [[sites]] name the matching users are served from",
        )
        .and_then(|site| check_site(site, &key("site"), known, ctx));
    let pooled = raw
        .pooled_desktop
        .as_ref()
        .map(|p| pooled(p, &key("pooled_desktop"), ctx));
    let persistent = raw
        .persistent_desktop
        .as_ref()
        .map(|p| persistent(p, &key("persistent_desktop"), ctx));
    let apps = names(raw.apps, &key("apps"), "application group", ctx);
    let groups = names(raw.groups, &key("groups"), "AD group", ctx);
    if raw.pooled_desktop.is_none() && raw.persistent_desktop.is_none() && raw.apps.is_empty() {
        ctx.c.warn(
            table.clone(),
            prefix,
            "gives no desktop and no applications; add `pooled_desktop`, `persistent_desktop` \
             or `apps`",
        );
    }
    Some(RouteTarget {
        site: site?,
        pooled_desktop: match pooled {
            Some(p) => Some(p?),
            None => None,
        },
        persistent_desktop: match persistent {
            Some(p) => Some(p?),
            None => None,
        },
        apps: apps?,
        groups: groups?,
    })
}

/// A configured site, by its exact name, that is enabled.
fn check_site(
    site: &Spanned<String>,
    key: &str,
    known: &Known<'_>,
    ctx: &mut Ctx<'_>,
) -> Option<String> {
    let name = site.get_ref().trim();
    match known.sites.iter().find(|(n, _)| *n == name) {
        Some((_, true)) => Some(name.to_string()),
        Some((_, false)) => {
            ctx.c.error(
                site.span(),
                key,
                format!(
                    "site {name:?} is disabled (`enabled = false` in its [[sites]] table), so \
                     requests routed here could not be served; enable the site or route these \
                     users elsewhere"
                ),
            );
            None
        }
        None => {
            let configured: Vec<&str> = known.sites.iter().map(|(n, _)| *n).collect();
            let near = configured
                .iter()
                .find(|n| n.eq_ignore_ascii_case(name))
                .map(|n| format!(" (did you mean {n:?}? site names are exact)"))
                .unwrap_or_default();
            ctx.c.error(
                site.span(),
                key,
                format!(
                    "no [[sites]] is named {name:?}{near}; configured: {}",
                    if configured.is_empty() {
                        "none".to_string()
                    } else {
                        configured.join(", ")
                    }
                ),
            );
            None
        }
    }
}

/// A non-empty, trimmed string value.
pub(super) fn text(value: &Spanned<String>, key: &str, ctx: &mut Ctx<'_>) -> Option<String> {
    let text = value.get_ref().trim();
    if text.is_empty() {
        ctx.c.error(value.span(), key, "is empty");
        return None;
    }
    Some(text.to_string())
}

/// A list of names (application groups, AD groups), each non-empty.
fn names(
    list: &[Spanned<String>],
    key: &str,
    what: &str,
    ctx: &mut Ctx<'_>,
) -> Option<Vec<String>> {
    let mut out = Vec::with_capacity(list.len());
    let mut ok = true;
    for (i, item) in list.iter().enumerate() {
        let name = item.get_ref().trim();
        if name.is_empty() {
            ctx.c.error(
                item.span(),
                &format!("{key}[{i}]"),
                format!("is empty; give the {what}'s name"),
            );
            ok = false;
        } else if !out.iter().any(|o: &String| o.eq_ignore_ascii_case(name)) {
            out.push(name.to_string());
        }
    }
    ok.then_some(out)
}

/// Rule names are unique ignoring case: explanations and the console name rules by them.
fn unique_names(rules: &[Spanned<RawRule>], ctx: &mut Ctx<'_>) {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let Some(name) = &rule.get_ref().name else {
            continue;
        };
        let folded = name.get_ref().trim().to_lowercase();
        match seen.iter().find(|(n, _)| *n == folded) {
            Some((_, first)) => ctx.c.error(
                name.span(),
                &format!("routing.rules[{i}].name"),
                format!(
                    "rule {:?} is already defined (routing.rules[{first}]); rule names must be \
                     unique, ignoring case",
                    name.get_ref()
                ),
            ),
            None => seen.push((folded, i)),
        }
    }
}

/// A rule whose match repeats an earlier rule's can never win: the earlier one always does.
fn shadowed(rules: &[RoutingRule], raw: &super::raw::RawRouting, ctx: &mut Ctx<'_>) {
    let folded = |m: &RuleMatch| -> Vec<(&'static str, String)> {
        m.conditions()
            .into_iter()
            .map(|(k, v)| (k, v.to_lowercase()))
            .collect()
    };
    for (i, rule) in rules.iter().enumerate() {
        let here = folded(&rule.matches);
        if let Some(first) = rules[..i].iter().find(|r| folded(&r.matches) == here)
            && let Some(span) = raw.rules.get(i).and_then(|r| r.get_ref().matches.as_ref())
        {
            ctx.c.warn(
                span.span(),
                &format!("routing.rules[{i}].match"),
                format!(
                    "rule {:?} never matches: rule {:?} above has the same match and wins first",
                    rule.name, first.name
                ),
            );
        }
    }
}
