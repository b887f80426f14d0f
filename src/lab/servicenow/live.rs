//! Live mode: new incidents and catalog requests keep arriving every 20 to 40 s of wall time,
//! so a demo console has something to pick up.

use super::instance::Instance;
use super::seed::{Directory, Seeder};
use super::store::Db;
use crate::lab::people::Person;
use chrono::{DateTime, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::Duration;

/// One instance fed by the live loop.
pub struct Feed {
    pub instance: Arc<Instance>,
    pub directory: Arc<Directory>,
}

/// One new ticket: an incident (60 %) or a catalog request, untouched by any agent yet.
/// Returns the sys_id of the incident or request created.
pub fn arrive(
    db: &mut Db,
    rng: &mut ChaCha8Rng,
    directory: &Directory,
    people: &[Person],
    now: DateTime<Utc>,
) -> Option<String> {
    let incident = rng.random_bool(0.6);
    let seeder = Seeder {
        db,
        rng,
        dir: directory,
        people,
        now,
    };
    seeder.ticket(incident, now, false)
}

/// Runs until the task is aborted.
pub async fn run(feeds: Vec<Feed>, people: Arc<Vec<Person>>, mut rng: ChaCha8Rng) {
    loop {
        let wait = Duration::from_secs(rng.random_range(20..=40));
        tokio::time::sleep(wait).await;
        for feed in &feeds {
            let now = feed.instance.clock.now();
            let created = arrive(
                &mut feed.instance.db(),
                &mut rng,
                &feed.directory,
                &people,
                now,
            );
            if let Some(id) = created {
                tracing::debug!(instance = %feed.instance.name, sys_id = %id, "live ticket arrived");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::seed::seed_directory;
    use super::*;
    use crate::lab::people::generate;
    use rand::SeedableRng;

    #[test]
    fn arrivals_are_new_open_tickets() {
        let people = generate(&mut ChaCha8Rng::seed_from_u64(3), 60);
        let mut db = Db::new(ChaCha8Rng::seed_from_u64(4));
        let dir = seed_directory(
            &mut db,
            &people,
            "2025-01-01 00:00:00",
            "2026-01-01 00:00:00",
        );
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let now = Utc::now();
        for _ in 0..20 {
            let id = arrive(&mut db, &mut rng, &dir, &people, now).expect("a ticket arrives");
            let (table, record) = match db.get("incident", &id) {
                Some(r) => ("incident", r),
                None => ("sc_request", db.get("sc_request", &id).expect("a request")),
            };
            assert_eq!(record.get("active"), "true", "{table}");
            assert!(matches!(record.get("state"), "1" | "-5"), "{table}");
            assert_eq!(record.get("sys_mod_count"), "0", "{table}");
        }
    }
}
