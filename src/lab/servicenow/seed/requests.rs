//! Seeded and live catalog requests: variables that refer to real people, delivery groups and
//! applications, then claim and closure of the fulfilment task (which cascades to RITM and REQ).

use super::backlog::{Seeder, between, desktop_for, kv, machine, pick_agent};
use super::catalog_defs::*;
use super::ctx_for;
use super::texts::{NEW_FIRST, NEW_LAST, REQUEST_WEIGHTS};
use crate::lab::people::Person;
use crate::lab::servicenow::catalog::{Order, place};
use crate::lab::servicenow::instance::format_time;
use crate::lab::servicenow::rules;
use crate::lab::servicenow::schema::table_def;
use crate::lab::servicenow::store::Db;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

pub fn variables_for(
    rng: &mut ChaCha8Rng,
    key: &str,
    person: &Person,
    person_id: &str,
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    let dg = desktop_for(rng, person);
    let how_many = rng.random_range(1..=3);
    let apps: Vec<&str> = APPLICATIONS
        .choose_multiple(rng, how_many)
        .copied()
        .collect();
    let app = apps.first().copied().unwrap_or("Microsoft Outlook");
    let machine = machine(rng, person.office.city);
    let password = format!("Welcome-{:04}!", rng.random_range(0..10_000));
    let date = (now + Duration::days(rng.random_range(2..21)))
        .format("%Y-%m-%d")
        .to_string();
    let pairs: Vec<(&str, String)> = match key {
        "request_desktop" => vec![
            ("requested_for", person_id.into()),
            ("delivery_group", dg.clone()),
            ("operating_system", "Windows 11".into()),
            (
                "justification",
                format!("New role in {}", person.department),
            ),
        ],
        "request_applications" => vec![
            ("requested_for", person_id.into()),
            ("applications", apps.join(",")),
            ("delivery_group", dg.clone()),
            ("justification", "Needed for month-end reporting".into()),
        ],
        "reset_session" => vec![
            ("requested_for", person_id.into()),
            ("session_type", "Desktop".into()),
            ("resource_name", dg.clone()),
        ],
        "reset_session_other" => vec![
            ("target_user_upn", person.upn.clone()),
            ("resource_name", app.into()),
            ("reason", "User's application session is stuck".into()),
        ],
        "troubleshoot" => vec![
            ("requested_for", person_id.into()),
            ("resource_name", dg.clone()),
            (
                "action",
                TROUBLESHOOT_ACTIONS
                    .choose(rng)
                    .copied()
                    .unwrap_or("Report issues")
                    .into(),
            ),
            (
                "issue_description",
                "Desktop stops responding after lunch every day".into(),
            ),
        ],
        "power_manage" => vec![
            ("machine_name", machine),
            (
                "power_action",
                POWER_ACTIONS
                    .choose(rng)
                    .copied()
                    .unwrap_or("Restart")
                    .into(),
            ),
            ("delivery_group", dg.clone()),
        ],
        "reset_password" => vec![
            ("requested_for", person_id.into()),
            ("user", person.qualified()),
            ("security_code", security_code(person)),
            ("new_password", password),
            ("unlock_account", "true".into()),
        ],
        "unlock_account" => vec![("requested_for", person_id.into())],
        "onboarding" => vec![
            (
                "first_name",
                NEW_FIRST.choose(rng).copied().unwrap_or("Amelia").into(),
            ),
            (
                "last_name",
                NEW_LAST.choose(rng).copied().unwrap_or("Hartmann").into(),
            ),
            ("department", person.department.into()),
            ("office", person.office.city.into()),
            ("manager", person_id.into()),
            ("start_date", date),
            ("delivery_group", pooled_desktop(zone_of(person))),
            ("applications", apps.join(",")),
            ("initial_password", password),
        ],
        _ => vec![
            ("departing_user_upn", person.upn.clone()),
            ("requested_for", person_id.into()),
            ("last_day", date),
            (
                "deprovisioning_type",
                DEPROVISIONING
                    .choose(rng)
                    .copied()
                    .unwrap_or("Delete desktop")
                    .into(),
            ),
        ],
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A six-digit code standing for the one the person enrolled; derived from the person, not
/// drawn from the seed's generator, so the seed's choices (who asked for what, and when) are
/// the same as before the item had a code.
fn security_code(person: &Person) -> String {
    format!("{:06}", (person.index * 7_919 + 104_729) % 1_000_000)
}

/// One catalog request (REQ, RITM, task, variables) and, when `progress`, its fulfilment.
pub(super) fn seed_request(s: Seeder<'_>, opened: DateTime<Utc>, progress: bool) -> Option<String> {
    let (db, rng, dir, people, now) = (s.db, s.rng, s.dir, s.people, s.now);
    let key = REQUEST_WEIGHTS.choose_weighted(rng, |(_, w)| *w).ok()?.0;
    let item = ITEMS.iter().find(|i| i.key == key)?;
    let item_id = dir.items.get(key)?.clone();
    // Separations pick contractors (about one in twelve people), everything else anyone;
    // sampling beats scanning a large population on every request.
    let mut person = people.choose(rng)?;
    if key == "separation" {
        for _ in 0..200 {
            if person.contractor {
                break;
            }
            person = people.choose(rng)?;
        }
    }
    let person_id = dir.users.get(person.index)?.clone();
    // The leaver's manager files a separation; a hiring manager (`person`) files an
    // onboarding for their new hire; agents file resets for others; the rest is self-service.
    let requester = match key {
        "separation" => person
            .manager
            .and_then(|m| dir.users.get(m).cloned())
            .unwrap_or_else(|| person_id.clone()),
        "reset_session_other" => {
            pick_agent(rng, dir, SERVICE_DESK).unwrap_or_else(|| person_id.clone())
        }
        _ => person_id.clone(),
    };
    let for_user = person_id.clone();
    let roll = rng.random_range(0..100);
    let order = Order {
        quantity: 1,
        requested_for: vec![for_user],
        variables: variables_for(rng, key, person, &person_id, now),
        approved: !progress || roll >= 10,
    };
    let ordered = place(
        db,
        &item_id,
        &order,
        &ctx_for(db, &requester, &format_time(opened)),
    )
    .ok()?;
    if matches!(key, "unlock_account" | "reset_password")
        && roll < 68
        && let Some(user) = db.get_mut("sys_user", &person_id)
    {
        user.set("locked_out", "true");
        user.set("failed_attempts", "5");
    }
    let task = ordered.tasks.first()?.clone();
    let task_def = table_def("sc_task")?;
    if !progress || roll < 45 {
        return Some(ordered.request_id);
    }
    let agent = pick_agent(rng, dir, item.group)?;
    let t1 = between(opened, now, rng.random_range(0.05..0.4));
    let note = format!("Working on {} for {}.", item.name, person.display_name);
    let claim = kv(&[
        ("state", "2"),
        ("assigned_to", &agent),
        ("work_notes", &note),
    ]);
    rules::update(
        db,
        task_def,
        &task,
        &claim,
        &ctx_for(db, &agent, &format_time(t1)),
    )
    .ok()?;
    if roll < 68 {
        return Some(ordered.request_id);
    }
    let t2 = between(t1, now, rng.random_range(0.1..0.8));
    let ctx = ctx_for(db, &agent, &format_time(t2));
    let close = if roll < 90 {
        kv(&[
            ("state", "3"),
            ("close_notes", "Done; the user confirmed access."),
        ])
    } else {
        kv(&[
            ("state", "4"),
            (
                "close_notes",
                "Could not complete: the user did not respond.",
            ),
        ])
    };
    clear_masked(db, ordered.items.first()?, &ctx);
    rules::update(db, task_def, &task, &close, &ctx).ok()?;
    Some(ordered.request_id)
}

/// Clears masked (password) variables of a RITM once they have been used.
fn clear_masked(db: &mut Db, ritm: &str, ctx: &rules::WriteCtx) {
    let Some(def) = table_def("sc_item_option") else {
        return;
    };
    let options: Vec<String> = db
        .find_all("sc_item_option_mtom", "request_item", ritm)
        .iter()
        .map(|m| m.get("sc_item_option").to_string())
        .filter(|option| {
            db.get("sc_item_option", option)
                .and_then(|o| db.get("item_option_new", o.get("item_option_new")))
                .is_some_and(|q| q.get("type") == MASKED)
        })
        .collect();
    for option in options {
        let _ = rules::update(db, def, &option, &kv(&[("value", "")]), ctx);
    }
}
