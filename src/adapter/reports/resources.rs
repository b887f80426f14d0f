//! The `resources` report: per site and delivery group, machines in total and by power,
//! registration and summary state, and sessions; what `Get-BrokerMachine | Group-Object
//! DesktopGroupName` and `Get-BrokerSession | Group-Object DesktopGroupName` give an
//! administrator, for every site at once.
//!
//! State columns are the common states (always there, so a CSV keeps its shape from one day
//! to the next) and any other state some machine is in (a `TurningOn` column appears while
//! machines are starting).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Column, Report, Source, SourceKind};
use crate::adapter::inventory::SiteState;
use crate::model::{PowerState, RegistrationState, SummaryState};

/// The row of machines and sessions that name no delivery group.
pub const NO_GROUP: &str = "(no delivery group)";

const ALWAYS_POWER: &[PowerState] = &[PowerState::On, PowerState::Off];
const ALWAYS_REGISTRATION: &[RegistrationState] = &[
    RegistrationState::Registered,
    RegistrationState::Unregistered,
];
const ALWAYS_SUMMARY: &[SummaryState] = &[
    SummaryState::Available,
    SummaryState::InUse,
    SummaryState::Disconnected,
    SummaryState::Unregistered,
    SummaryState::Off,
    SummaryState::Preparing,
];

#[derive(Default)]
struct Tally {
    machines: u64,
    power: BTreeMap<PowerState, u64>,
    registration: BTreeMap<RegistrationState, u64>,
    summary: BTreeMap<SummaryState, u64>,
    sessions: u64,
}

/// `TurningOn` → `turning_on`.
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Builds the report from each site's state, in config order; `site` keeps only that one.
pub fn build(now: DateTime<Utc>, sites: &[(&str, &SiteState)], site: Option<&str>) -> Report {
    let chosen: Vec<&(&str, &SiteState)> = sites
        .iter()
        .filter(|(name, _)| site.is_none_or(|s| s.eq_ignore_ascii_case(name)))
        .collect();
    let mut tallies: Vec<(&str, BTreeMap<String, Tally>)> = Vec::new();
    let mut sources = Vec::new();
    for (name, state) in &chosen {
        let data = state.data.as_deref();
        let mut source = Source::new(SourceKind::Site, name, data.map(|d| d.fetched_at), now);
        source.degraded = state.degraded;
        source.error = state.last_error.clone();
        sources.push(source);
        let Some(data) = data else {
            continue;
        };
        let mut groups: BTreeMap<String, Tally> = data
            .groups
            .iter()
            .map(|g| (g.item.name.clone(), Tally::default()))
            .collect();
        for m in &data.machines {
            let m = &m.item;
            let group = m
                .delivery_group
                .as_ref()
                .map_or(NO_GROUP, |g| g.name.as_str());
            let tally = groups.entry(group.to_owned()).or_default();
            tally.machines += 1;
            *tally.power.entry(m.power_state).or_default() += 1;
            *tally.registration.entry(m.registration_state).or_default() += 1;
            *tally.summary.entry(m.summary_state).or_default() += 1;
        }
        for s in &data.sessions {
            let group = s
                .item
                .delivery_group
                .as_ref()
                .map_or(NO_GROUP, |g| g.name.as_str());
            groups.entry(group.to_owned()).or_default().sessions += 1;
        }
        tallies.push((name, groups));
    }

    let all = || tallies.iter().flat_map(|(_, groups)| groups.values());
    let power: BTreeSet<PowerState> = ALWAYS_POWER
        .iter()
        .copied()
        .chain(all().flat_map(|t| t.power.keys().copied()))
        .collect();
    let registration: BTreeSet<RegistrationState> = ALWAYS_REGISTRATION
        .iter()
        .copied()
        .chain(all().flat_map(|t| t.registration.keys().copied()))
        .collect();
    let summary: BTreeSet<SummaryState> = ALWAYS_SUMMARY
        .iter()
        .copied()
        .chain(all().flat_map(|t| t.summary.keys().copied()))
        .collect();

    let mut columns = vec![
        Column::text("site", "Site"),
        Column::text("delivery_group", "Delivery group"),
        Column::count("machines", "Machines"),
    ];
    columns.extend(power.iter().map(|p| {
        Column::count(
            &format!("power_{}", snake(p.as_str())),
            &format!("Power {p}"),
        )
    }));
    columns.extend(registration.iter().map(|r| {
        Column::count(
            &format!("registration_{}", snake(r.as_str())),
            &format!("Reg {r}"),
        )
    }));
    columns.extend(
        summary
            .iter()
            .map(|s| Column::count(&format!("summary_{}", snake(s.as_str())), s.as_str())),
    );
    columns.push(Column::count("sessions", "Sessions"));

    let mut rows = Vec::new();
    for (site, groups) in &tallies {
        for (group, t) in groups {
            let mut row: Vec<Value> = vec![json!(site), json!(group), json!(t.machines)];
            row.extend(
                power
                    .iter()
                    .map(|p| json!(t.power.get(p).copied().unwrap_or(0))),
            );
            row.extend(
                registration
                    .iter()
                    .map(|r| json!(t.registration.get(r).copied().unwrap_or(0))),
            );
            row.extend(
                summary
                    .iter()
                    .map(|s| json!(t.summary.get(s).copied().unwrap_or(0))),
            );
            row.push(json!(t.sessions));
            rows.push(row);
        }
    }

    let mut parameters = BTreeMap::new();
    if let Some(site) = site {
        parameters.insert("site".to_owned(), site.to_owned());
    }
    Report {
        name: "resources".to_owned(),
        title: super::info("resources").map_or("", |i| i.title).to_owned(),
        parameters,
        columns,
        rows,
        generated_at: now,
        sources,
    }
}
