//! The `tickets` report: open queue tickets per instance, queue and state, counted by the
//! time since they were opened. A ticket ServiceNow gives no `opened_at` for is counted in an
//! `unknown_age` column, which appears only when there is one.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{Column, Report, Source, SourceKind};
use crate::adapter::tickets::row::QueueTicket;

/// The age buckets: (column name, title, upper bound exclusive; `None` is open-ended).
pub const BUCKETS: [(&str, &str, Option<i64>); 5] = [
    ("under_1h", "<1h", Some(3_600)),
    ("1h_4h", "1–4h", Some(4 * 3_600)),
    ("4h_24h", "4–24h", Some(24 * 3_600)),
    ("1d_3d", "1–3d", Some(3 * 24 * 3_600)),
    ("over_3d", ">3d", None),
];

/// The bucket index of a ticket opened `age` ago (a ticket "opened in the future" by clock
/// skew is under an hour old).
pub fn bucket_of(age: Duration) -> usize {
    let seconds = age.num_seconds();
    BUCKETS
        .iter()
        .position(|(_, _, upper)| upper.is_none_or(|u| seconds < u))
        .unwrap_or(BUCKETS.len() - 1)
}

/// One instance's book as the report reads it.
pub struct InstanceTickets<'a> {
    pub name: &'a str,
    /// When its queues were last synced; `None` before the first poll.
    pub synced_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub tickets: Vec<&'a QueueTicket>,
}

#[derive(Default)]
struct Tally {
    buckets: [u64; BUCKETS.len()],
    unknown: u64,
}

pub fn build(now: DateTime<Utc>, instances: &[InstanceTickets<'_>]) -> Report {
    // Keyed so rows sort by instance, queue, then the state's ServiceNow order.
    let mut tallies: BTreeMap<(&str, &str, i32, &str), Tally> = BTreeMap::new();
    let mut sources = Vec::new();
    for instance in instances {
        let mut source = Source::new(SourceKind::Instance, instance.name, instance.synced_at, now);
        source.error = instance.error.clone();
        sources.push(source);
        for t in instance.tickets.iter().filter(|t| t.open) {
            let tally = tallies
                .entry((instance.name, t.queue.as_str(), t.state_code, t.state))
                .or_default();
            match t.opened_at {
                Some(opened) => tally.buckets[bucket_of(now - opened)] += 1,
                None => tally.unknown += 1,
            }
        }
    }
    let with_unknown = tallies.values().any(|t| t.unknown > 0);
    let mut columns = vec![
        Column::text("instance", "Instance"),
        Column::text("queue", "Queue"),
        Column::text("state", "State"),
    ];
    columns.extend(
        BUCKETS
            .iter()
            .map(|(name, title, _)| Column::count(name, title)),
    );
    if with_unknown {
        columns.push(Column::count("unknown_age", "No date"));
    }
    columns.push(Column::count("total", "Total"));
    let rows = tallies
        .into_iter()
        .map(|((instance, queue, _, state), t)| {
            let mut row: Vec<Value> = vec![json!(instance), json!(queue), json!(state)];
            row.extend(t.buckets.iter().map(|n| json!(n)));
            if with_unknown {
                row.push(json!(t.unknown));
            }
            row.push(json!(t.buckets.iter().sum::<u64>() + t.unknown));
            row
        })
        .collect();
    Report {
        name: "tickets".to_owned(),
        title: super::info("tickets").map_or("", |i| i.title).to_owned(),
        parameters: BTreeMap::new(),
        columns,
        rows,
        generated_at: now,
        sources,
    }
}
