//! `[[idle_power_off]]`: schedules that power off idle machines of delivery groups (see
//! `crate::adapter::idle` and docs/idle.md). Each entry names its delivery groups, optionally
//! one site, the idle threshold in minutes and how often it runs (`every = "15m"`).

use super::check::Ctx;
use super::raw::{RawConfig, RawIdlePowerOff};
use super::values::parse_duration;
use std::time::Duration;
use toml::Spanned;

/// Shortest `every` accepted: each run refreshes the sites it looks at.
pub const MIN_IDLE_EVERY: Duration = Duration::from_secs(1);
/// Largest `idle_minutes` accepted (a year), as the API takes.
pub const MAX_IDLE_MINUTES: i64 = 525_600;

/// One `[[idle_power_off]]` schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdlePowerOff {
    /// Delivery group names or ids.
    pub delivery_groups: Vec<String>,
    /// Only this site; every site when `None`.
    pub site: Option<String>,
    /// Machines whose last connection is more than this many minutes ago are shut down.
    pub idle_minutes: u32,
    /// How often the schedule runs.
    pub every: Duration,
    /// Also machines whose VDA is not registered.
    pub include_unregistered: bool,
}

/// Every `[[idle_power_off]]` entry; `None` when one of them is wrong (each problem is
/// recorded with its line and key).
pub(super) fn check_idle(raw: &RawConfig, ctx: &mut Ctx<'_>) -> Option<Vec<IdlePowerOff>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, entry) in raw.idle_power_off.iter().enumerate() {
        match check_one(entry, &format!("idle_power_off[{i}]"), raw, ctx) {
            Some(rule) => out.push(rule),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn check_one(
    entry: &Spanned<RawIdlePowerOff>,
    key: &str,
    raw: &RawConfig,
    ctx: &mut Ctx<'_>,
) -> Option<IdlePowerOff> {
    let span = entry.span();
    let e = entry.get_ref();
    let k = |name: &str| format!("{key}.{name}");
    let groups = ctx
        .required(
            &e.delivery_groups,
            &span,
            &k("delivery_groups"),
            "add `delivery_groups = [\"London Pooled Desktops\"]`",
        )
        .and_then(|groups| {
            if groups.get_ref().is_empty() {
                ctx.c.error(
                    groups.span(),
                    &k("delivery_groups"),
                    "is empty; name at least one delivery group",
                );
                return None;
            }
            let mut names = Vec::new();
            for (j, g) in groups.get_ref().iter().enumerate() {
                if g.get_ref().trim().is_empty() {
                    ctx.c.error(
                        g.span(),
                        &format!("{key}.delivery_groups[{j}]"),
                        "is empty; give a delivery group's name or id",
                    );
                    return None;
                }
                names.push(g.get_ref().trim().to_owned());
            }
            Some(names)
        });
    let site = match &e.site {
        None => Some(None),
        Some(site) => {
            let name = site.get_ref();
            let known = raw
                .sites
                .iter()
                .filter_map(|s| s.get_ref().name.as_ref().map(|n| n.get_ref().as_str()))
                .collect::<Vec<_>>();
            if known.iter().any(|k| k == name) {
                Some(Some(name.clone()))
            } else {
                ctx.c.error(
                    site.span(),
                    &k("site"),
                    format!(
                        "no site named {name:?} is configured; the sites are: {} (leave `site` \
                         out for every site)",
                        known.join(", ")
                    ),
                );
                None
            }
        }
    };
    let idle_minutes = ctx
        .required(
            &e.idle_minutes,
            &span,
            &k("idle_minutes"),
            "add `idle_minutes = 60` (machines idle longer than this are shut down)",
        )
        .and_then(|m| {
            let value = *m.get_ref();
            if (1..=MAX_IDLE_MINUTES).contains(&value) {
                u32::try_from(value).ok()
            } else {
                ctx.c.error(
                    m.span(),
                    &k("idle_minutes"),
                    format!(
                        "{value} is out of range; give whole minutes from 1 to {MAX_IDLE_MINUTES}"
                    ),
                );
                None
            }
        });
    let every = ctx
        .required(
            &e.every,
            &span,
            &k("every"),
            "add `every = \"15m\"` (how often the schedule runs)",
        )
        .and_then(|every| match parse_duration(every.get_ref()) {
            Ok(d) if d >= MIN_IDLE_EVERY => Some(d),
            Ok(_) => {
                ctx.c.error(
                    every.span(),
                    &k("every"),
                    format!(
                        "{:?} is too short; each run refreshes its sites, so use at least \"1s\" \
                         (\"15m\" is typical)",
                        every.get_ref()
                    ),
                );
                None
            }
            Err(why) => {
                ctx.c.error(every.span(), &k("every"), why);
                None
            }
        });
    Some(IdlePowerOff {
        delivery_groups: groups?,
        site: site?,
        idle_minutes: idle_minutes?,
        every: every?,
        include_unregistered: e.include_unregistered.unwrap_or(false),
    })
}
