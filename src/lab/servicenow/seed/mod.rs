//! Deterministic seed data: the directory (users from the lab's people, helpdesk groups,
//! locations, departments), choice lists, the Citrix service catalog, and a helpdesk backlog.
//!
//! Reference records get stable sys_ids derived from their natural key ([`stable_id`]) so that
//! tests and demos can name them; tickets get sys_ids from the instance's seeded random source.

mod backlog;
pub mod catalog_defs;
mod choices;
mod requests;
mod texts;

pub use backlog::{Backlog, Seeder, seed_backlog};

use super::rules::WriteCtx;
use super::schema::table_def;
use super::store::{Db, Record};
use crate::lab::people::{DEPARTMENTS, DNS_DOMAIN, OFFICES, Person};
use catalog_defs::{GROUPS, ITEMS};
use rand::Rng;
use std::collections::HashMap;

/// The integration account every API call of the adapter runs as.
pub const INTEGRATION_USER: &str = "svc.deskbridge";

/// A 32-hex sys_id that depends only on the table and a natural key (two FNV-1a passes).
pub fn stable_id(table: &str, key: &str) -> String {
    let hash = |mut h: u64| {
        for b in table.bytes().chain([b':']).chain(key.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    format!(
        "{:016x}{:016x}",
        hash(0xcbf2_9ce4_8422_2325),
        hash(0x8422_2325_cbf2_9ce4)
    )
}

/// sys_ids of the seeded directory and catalog, for the backlog and live arrivals.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// sys_user sys_id of each person, by person index.
    pub users: Vec<String>,
    pub integration: String,
    /// Group name → (sys_id, members that take tickets).
    pub groups: HashMap<&'static str, (String, Vec<String>)>,
    /// Catalog item key → sys_id.
    pub items: HashMap<&'static str, String>,
}

impl Directory {
    pub fn group(&self, name: &str) -> (String, Vec<String>) {
        self.groups.get(name).cloned().unwrap_or_default()
    }
}

/// Inserts a reference record with the given fields and system fields stamped at `when`.
fn put(db: &mut Db, table: &str, sys_id: &str, fields: &[(&str, &str)], when: &str) {
    let Some(def) = table_def(table) else {
        return;
    };
    let mut record = Record::empty(def);
    record.set("sys_id", sys_id);
    for (field, value) in [
        ("sys_created_on", when),
        ("sys_created_by", "admin"),
        ("sys_updated_on", when),
        ("sys_updated_by", "admin"),
        ("sys_mod_count", "0"),
    ] {
        record.set(field, value);
    }
    for (field, value) in fields {
        record.set(field, *value);
    }
    db.insert(record);
}

fn phone(country: &str, n: usize) -> String {
    let prefix = match country {
        "GB" => "+44 20 7946",
        "DE" => "+49 69 9075",
        "FR" => "+33 1 7098",
        "SG" => "+65 6601",
        _ => "+1 212 555",
    };
    format!("{prefix} {:04}", n % 10_000)
}

/// Seeds locations, departments, users, groups, choices and the catalog.
pub fn seed_directory(db: &mut Db, people: &[Person], long_ago: &str, now: &str) -> Directory {
    for office in OFFICES {
        let id = stable_id("cmn_location", office.city);
        let street = format!("{} Market Street", 10 + office.city.len());
        put(
            db,
            "cmn_location",
            &id,
            &[
                ("name", office.city),
                ("city", office.city),
                ("country", office.country),
                ("street", &street),
            ],
            long_ago,
        );
    }
    for (n, dept) in DEPARTMENTS.iter().enumerate() {
        let code = format!("D{:03}", n + 1);
        put(
            db,
            "cmn_department",
            &stable_id("cmn_department", dept),
            &[("name", dept), ("id", &code)],
            long_ago,
        );
    }
    let mut dir = Directory {
        users: people
            .iter()
            .map(|p| stable_id("sys_user", &p.sam))
            .collect(),
        ..Directory::default()
    };
    let departments: HashMap<&str, String> = DEPARTMENTS
        .iter()
        .map(|d| (*d, stable_id("cmn_department", d)))
        .collect();
    let locations: HashMap<&str, String> = OFFICES
        .iter()
        .map(|o| (o.city, stable_id("cmn_location", o.city)))
        .collect();
    let now_parsed = chrono::NaiveDateTime::parse_from_str(now, "%Y-%m-%d %H:%M:%S").ok();
    for person in people {
        let id = &dir.users[person.index];
        let manager = person
            .manager
            .and_then(|m| dir.users.get(m))
            .cloned()
            .unwrap_or_default();
        let minutes_ago = db.rng().random_range(5..60 * 24 * 5);
        let last_login = now_parsed
            .map(|t| {
                (t - chrono::Duration::minutes(minutes_ago))
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        let employee = format!("E{:06}", 100_000 + person.index);
        put(
            db,
            "sys_user",
            id,
            &[
                ("user_name", &person.sam),
                ("first_name", &person.first),
                ("last_name", &person.last),
                ("name", &person.display_name),
                ("email", &person.mail),
                ("phone", &phone(person.office.country, person.index)),
                ("title", person.title),
                (
                    "department",
                    departments
                        .get(person.department)
                        .map_or("", String::as_str),
                ),
                (
                    "location",
                    locations.get(person.office.city).map_or("", String::as_str),
                ),
                ("manager", &manager),
                ("company", "Lab Example Ltd"),
                ("employee_number", &employee),
                ("u_contractor", bool_str(person.contractor)),
                ("vip", bool_str(person.title == "Director")),
                ("active", "true"),
                ("locked_out", "false"),
                ("failed_attempts", "0"),
                ("last_login_time", &last_login),
                ("password_needs_reset", "false"),
                ("web_service_access_only", "false"),
                ("internal_integration_user", "false"),
            ],
            long_ago,
        );
    }
    dir.integration = stable_id("sys_user", INTEGRATION_USER);
    let integration_mail = format!("{INTEGRATION_USER}@{DNS_DOMAIN}");
    put(
        db,
        "sys_user",
        &dir.integration,
        &[
            ("user_name", INTEGRATION_USER),
            ("first_name", "Deskbridge"),
            ("last_name", "Integration"),
            ("name", "Deskbridge Integration"),
            ("email", &integration_mail),
            ("title", "Integration account"),
            ("department", &stable_id("cmn_department", "IT")),
            ("active", "true"),
            ("locked_out", "false"),
            ("web_service_access_only", "true"),
            ("internal_integration_user", "true"),
        ],
        long_ago,
    );
    seed_groups(db, people, &mut dir, long_ago);
    choices::seed_choices(db, long_ago);
    seed_catalog(db, &mut dir, long_ago);
    dir
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Helpdesk groups staffed from the IT department (topped up from everyone if IT is small).
fn seed_groups(db: &mut Db, people: &[Person], dir: &mut Directory, when: &str) {
    let mut pool: Vec<usize> = people
        .iter()
        .filter(|p| p.department == "IT")
        .map(|p| p.index)
        .collect();
    pool.extend(
        people
            .iter()
            .filter(|p| p.department != "IT")
            .map(|p| p.index),
    );
    let sizes = [10usize, 6, 5, 5];
    let mut next = 0;
    for ((name, description), size) in GROUPS.iter().zip(sizes) {
        let group_id = stable_id("sys_user_group", name);
        let members: Vec<String> = pool
            .iter()
            .skip(next)
            .take(size)
            .filter_map(|&i| dir.users.get(i).cloned())
            .collect();
        next += size;
        let manager = members.first().cloned().unwrap_or_default();
        let email = format!(
            "{}@{DNS_DOMAIN}",
            name.to_ascii_lowercase().replace(' ', ".")
        );
        put(
            db,
            "sys_user_group",
            &group_id,
            &[
                ("name", name),
                ("description", description),
                ("active", "true"),
                ("manager", &manager),
                ("email", &email),
            ],
            when,
        );
        for member in members.iter().chain([&dir.integration]) {
            let id = stable_id("sys_user_grmember", &format!("{group_id}:{member}"));
            put(
                db,
                "sys_user_grmember",
                &id,
                &[("group", &group_id), ("user", member)],
                when,
            );
        }
        dir.groups.insert(name, (group_id, members));
    }
}

fn seed_catalog(db: &mut Db, dir: &mut Directory, when: &str) {
    for item in ITEMS {
        let item_id = stable_id("sc_cat_item", item.key);
        let group = stable_id("sys_user_group", item.group);
        put(
            db,
            "sc_cat_item",
            &item_id,
            &[
                ("name", item.name),
                ("short_description", item.description),
                ("description", item.description),
                ("category", "Citrix Virtual Apps and Desktops"),
                (
                    "sc_catalogs",
                    "Citrix IT Service Management Connector Services",
                ),
                ("group", &group),
                ("active", "true"),
                ("price", "0"),
            ],
            when,
        );
        for (n, var) in item.vars.iter().enumerate() {
            let order = ((n + 1) * 100).to_string();
            let reference = if var.kind == catalog_defs::REFERENCE {
                "sys_user"
            } else {
                ""
            };
            put(
                db,
                "item_option_new",
                &stable_id("item_option_new", &format!("{}.{}", item.key, var.name)),
                &[
                    ("name", var.name),
                    ("question_text", var.question),
                    ("type", var.kind),
                    ("cat_item", &item_id),
                    ("order", &order),
                    ("mandatory", bool_str(var.mandatory)),
                    ("active", "true"),
                    ("reference", reference),
                ],
                when,
            );
        }
        dir.items.insert(item.key, item_id);
    }
}

/// The write context of a seeded or live write by `user_sys_id`.
pub fn ctx_for(db: &Db, user_sys_id: &str, now: &str) -> WriteCtx {
    let user_name = db
        .get("sys_user", user_sys_id)
        .map(|u| u.get("user_name").to_string())
        .unwrap_or_else(|| "system".to_string());
    WriteCtx {
        user_name,
        user_sys_id: user_sys_id.to_string(),
        now: now.to_string(),
        require_close_fields: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_are_32_hex_and_distinct() {
        let a = stable_id("sys_user", "alice.smith");
        let b = stable_id("sys_user", "alice.smith2");
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(a, stable_id("sys_user", "alice.smith"));
    }
}
