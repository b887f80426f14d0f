//! A helpdesk backlog that looks lived-in: incidents across states, priorities and groups
//! (some claimed, some waiting, some resolved), interleaved in time with catalog requests
//! (`requests`), all written through the business rules so numbers, journals, stamps and mod
//! counts come out as a real instance would have them.

use super::catalog_defs::*;
use super::requests::seed_request;
use super::texts::*;
use super::{Directory, ctx_for};
use crate::lab::Scale;
use crate::lab::people::Person;
use crate::lab::servicenow::instance::format_time;
use crate::lab::servicenow::rules;
use crate::lab::servicenow::schema::table_def;
use crate::lab::servicenow::store::Db;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

/// How many tickets to seed.
#[derive(Debug, Clone, Copy)]
pub struct Backlog {
    pub incidents: usize,
    pub requests: usize,
    /// How far back tickets were opened.
    pub days: i64,
}

impl Backlog {
    pub fn for_scale(scale: Scale) -> Self {
        match scale {
            Scale::Small => Backlog {
                incidents: 90,
                requests: 32,
                days: 7,
            },
            Scale::Large => Backlog {
                incidents: 2_500,
                requests: 900,
                days: 45,
            },
        }
    }
}

/// A machine name in the person's office, like `LON-W11-0042`.
pub fn machine(rng: &mut ChaCha8Rng, city: &str) -> String {
    let code: String = city
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .take(3)
        .collect::<String>()
        .to_ascii_uppercase();
    format!("{code}-W11-{:04}", rng.random_range(1..400))
}

/// The desktop a person uses: finance and engineering staff often have a persistent one.
pub fn desktop_for(rng: &mut ChaCha8Rng, person: &Person) -> String {
    let zone = zone_of(person);
    match person.department {
        "Finance" | "Engineering" if rng.random_bool(0.5) => persistent_desktop(zone),
        _ => pooled_desktop(zone),
    }
}

pub fn fill(text: &str, dg: &str, app: &str, machine: &str) -> String {
    text.replace("{dg}", dg)
        .replace("{app}", app)
        .replace("{machine}", machine)
}

pub fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A moment between `from` and `now`, `share` of the way.
pub fn between(from: DateTime<Utc>, now: DateTime<Utc>, share: f64) -> DateTime<Utc> {
    let span = (now - from).num_seconds().max(1) as f64;
    from + Duration::seconds((span * share) as i64)
}

pub fn pick_agent(rng: &mut ChaCha8Rng, dir: &Directory, group: &str) -> Option<String> {
    dir.group(group).1.choose(rng).cloned()
}

/// Seeds the backlog: tickets opened over the last `days`, oldest first so numbers follow time.
pub fn seed_backlog(
    db: &mut Db,
    rng: &mut ChaCha8Rng,
    dir: &Directory,
    people: &[Person],
    backlog: Backlog,
    now: DateTime<Utc>,
) {
    if people.is_empty() {
        return;
    }
    let mut arrivals: Vec<(DateTime<Utc>, bool)> = (0..backlog.incidents + backlog.requests)
        .map(|n| {
            let secs = rng.random_range(600..backlog.days * 86_400);
            (now - Duration::seconds(secs), n < backlog.incidents)
        })
        .collect();
    arrivals.sort_by_key(|(when, _)| *when);
    for (opened, is_incident) in arrivals {
        let seeder = Seeder {
            db,
            rng,
            dir,
            people,
            now,
        };
        seeder.ticket(is_incident, opened, true);
    }
}

/// What every seeded ticket draws on: the store, the random source, the directory, the people
/// and the present.
pub struct Seeder<'a> {
    pub db: &'a mut Db,
    pub rng: &'a mut ChaCha8Rng,
    pub dir: &'a Directory,
    pub people: &'a [Person],
    pub now: DateTime<Utc>,
}

impl Seeder<'_> {
    /// One incident or catalog request opened at `opened` and, when `progress`, its history
    /// up to `now`. Returns the sys_id of the incident or request.
    pub fn ticket(self, incident: bool, opened: DateTime<Utc>, progress: bool) -> Option<String> {
        if incident {
            seed_incident(self, opened, progress)
        } else {
            seed_request(self, opened, progress)
        }
    }
}

/// One incident and, when `progress`, its history up to `now`; returns its sys_id.
fn seed_incident(s: Seeder<'_>, opened: DateTime<Utc>, progress: bool) -> Option<String> {
    let (db, rng, dir, people, now) = (s.db, s.rng, s.dir, s.people, s.now);
    let def = table_def("incident")?;
    let template = TEMPLATES.choose(rng)?;
    let caller = people.choose(rng)?;
    let caller_id = dir.users.get(caller.index)?.clone();
    let dg = desktop_for(rng, caller);
    let app = *APPLICATIONS.choose(rng)?;
    let machine = machine(rng, caller.office.city);
    let (group_id, _) = dir.group(template.group);
    let impact = ["1", "2", "2", "3", "3", "3"].choose(rng)?.to_string();
    let urgency = ["1", "2", "2", "3", "3"].choose(rng)?.to_string();
    let contact = ["self-service", "email", "phone", "virtual_agent"]
        .choose(rng)?
        .to_string();
    let location = crate::lab::servicenow::seed::stable_id("cmn_location", caller.office.city);
    let description = fill(template.description, &dg, app, &machine);
    let mut input = kv(&[
        ("short_description", template.short),
        ("description", &description),
        ("caller_id", &caller_id),
        ("category", template.category),
        ("subcategory", template.subcategory),
        ("assignment_group", &group_id),
        ("impact", &impact),
        ("urgency", &urgency),
        ("contact_type", &contact),
        ("location", &location),
        ("cmdb_ci", &machine),
    ]);
    if rng.random_bool(0.3) {
        input.push(("comments".into(), CALLER_COMMENTS.choose(rng)?.to_string()));
    }
    let opener = if contact == "self-service" || contact == "virtual_agent" {
        caller_id.clone()
    } else {
        pick_agent(rng, dir, SERVICE_DESK).unwrap_or_else(|| caller_id.clone())
    };
    let record =
        rules::insert(db, def, &input, &ctx_for(db, &opener, &format_time(opened))).ok()?;
    let id = record.sys_id().to_string();
    let roll = rng.random_range(0..100);
    if template.short == "Account locked out"
        && roll < 63
        && let Some(user) = db.get_mut("sys_user", &caller_id)
    {
        user.set("locked_out", "true");
        user.set("failed_attempts", "5");
    }
    if !progress || roll < 22 {
        return Some(id);
    }
    let agent = pick_agent(rng, dir, template.group)?;
    let t1 = between(opened, now, rng.random_range(0.05..0.3));
    let claim_state = if roll < 30 { "1" } else { "2" };
    let note = CLAIM_NOTES.choose(rng)?.to_string();
    let claim = kv(&[
        ("assigned_to", &agent),
        ("state", claim_state),
        ("work_notes", &note),
    ]);
    rules::update(db, def, &id, &claim, &ctx_for(db, &agent, &format_time(t1))).ok()?;
    if roll < 55 {
        return Some(id);
    }
    let t2 = between(t1, now, rng.random_range(0.1..0.6));
    let agent_ctx = ctx_for(db, &agent, &format_time(t2));
    let next = if roll < 63 {
        let comment = HOLD_COMMENTS.choose(rng)?.to_string();
        kv(&[("state", "3"), ("hold_reason", "1"), ("comments", &comment)])
    } else if roll < 94 {
        let code = [
            "Solution provided",
            "Solution provided",
            "Workaround provided",
            "Resolved by caller",
        ]
        .choose(rng)?
        .to_string();
        let notes = fill(template.close_notes, &dg, app, &machine);
        kv(&[
            ("state", "6"),
            ("close_code", &code),
            ("close_notes", &notes),
        ])
    } else {
        kv(&[
            ("state", "8"),
            (
                "close_notes",
                "Duplicate of an existing incident; caller informed.",
            ),
        ])
    };
    rules::update(db, def, &id, &next, &agent_ctx).ok()?;
    if (78..94).contains(&roll) {
        // Auto-close after the resolution period.
        let t3 = between(t2, now, rng.random_range(0.3..0.9));
        rules::update(
            db,
            def,
            &id,
            &kv(&[("state", "7")]),
            &ctx_for(db, "", &format_time(t3)),
        )
        .ok()?;
    }
    Some(id)
}
