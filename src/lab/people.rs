//! The lab's population: one deterministic list of people shared by every simulator, so the
//! same `alice.smith` is a ServiceNow caller, a CVAD session owner and a directory account.

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

/// The lab's Active Directory domain (NetBIOS name) and DNS suffix.
pub const DOMAIN: &str = "LAB";
pub const DNS_DOMAIN: &str = "lab.example";

/// An office: where people sit and which site they are normally served from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Office {
    pub city: &'static str,
    pub country: &'static str,
    /// The region key used to pick a site zone (`emea`, `amer`, `apac`).
    pub region: &'static str,
}

pub const OFFICES: &[Office] = &[
    Office {
        city: "London",
        country: "GB",
        region: "emea",
    },
    Office {
        city: "Manchester",
        country: "GB",
        region: "emea",
    },
    Office {
        city: "Frankfurt",
        country: "DE",
        region: "emea",
    },
    Office {
        city: "Paris",
        country: "FR",
        region: "emea",
    },
    Office {
        city: "New York",
        country: "US",
        region: "amer",
    },
    Office {
        city: "Boston",
        country: "US",
        region: "amer",
    },
    Office {
        city: "Singapore",
        country: "SG",
        region: "apac",
    },
];

pub const DEPARTMENTS: &[&str] = &[
    "Finance",
    "Sales",
    "Engineering",
    "Human Resources",
    "Legal",
    "Operations",
    "Marketing",
    "Customer Support",
    "IT",
];

const FIRST: &[&str] = &[
    "Alice", "Bob", "Carol", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "James", "Keiko",
    "Liam", "Maria", "Nikolai", "Olivia", "Priya", "Quentin", "Rosa", "Samir", "Tara", "Umar",
    "Vera", "Wei", "Xavier", "Yara", "Zoe", "Aaron", "Bianca", "Chen", "Dmitri", "Elena", "Felix",
    "Greta", "Hannah", "Ivan", "Julia", "Kwame", "Lena", "Mateo", "Nora", "Oscar", "Paula",
    "Rahul", "Sofia", "Tomás", "Ursula", "Viktor", "Wanda", "Yusuf", "Zainab",
];

const LAST: &[&str] = &[
    "Smith", "Jones", "Williams", "Brown", "Taylor", "Müller", "Schmidt", "Dubois", "Martin",
    "Rossi", "Garcia", "Lopez", "Nguyen", "Tan", "Lim", "Kumar", "Patel", "Okafor", "Mensah",
    "Kowalski", "Novak", "Jensen", "Larsen", "O'Brien", "Murphy", "Walsh", "Cohen", "Levi",
    "Yamamoto", "Sato", "Kim", "Park", "Chen", "Wang", "Silva", "Santos", "Costa", "Fischer",
    "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Clarke", "Evans", "Hughes", "Wright",
    "Green", "Hall", "Wood",
];

const TITLES: &[&str] = &[
    "Analyst",
    "Senior Analyst",
    "Manager",
    "Engineer",
    "Senior Engineer",
    "Consultant",
    "Coordinator",
    "Specialist",
    "Director",
    "Associate",
];

/// One person of the lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Stable index in the population; simulators derive their own ids from it.
    pub index: usize,
    /// `sAMAccountName`, lower case, unique.
    pub sam: String,
    pub first: String,
    pub last: String,
    pub display_name: String,
    pub upn: String,
    pub mail: String,
    pub department: &'static str,
    pub office: Office,
    pub title: &'static str,
    /// Distinguished name of the OU the account lives in.
    pub ou: String,
    /// Index of the person's manager, if any.
    pub manager: Option<usize>,
    /// Whether the person is a contractor (offboarding tickets pick these more often).
    pub contractor: bool,
}

impl Person {
    /// `LAB\sam`.
    pub fn qualified(&self) -> String {
        format!("{DOMAIN}\\{}", self.sam)
    }
}

/// Generates `count` people from `rng`. The same seed gives the same people.
pub fn generate(rng: &mut ChaCha8Rng, count: usize) -> Vec<Person> {
    let mut taken = HashSet::with_capacity(count);
    let mut people = Vec::with_capacity(count);
    for index in 0..count {
        let first = *FIRST.choose(rng).unwrap_or(&"Alex");
        let last = *LAST.choose(rng).unwrap_or(&"Doe");
        let base = format!("{}.{}", ascii_login(first), ascii_login(last));
        let sam = unique_login(&base, &mut taken);
        let office = OFFICES[rng.random_range(0..OFFICES.len())];
        let department = DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())];
        let title = TITLES[rng.random_range(0..TITLES.len())];
        let contractor = rng.random_bool(0.08);
        let ou = format!(
            "OU={},OU={},OU=People,DC=lab,DC=example",
            department,
            office.city.replace(' ', "")
        );
        let manager = (index >= 10).then(|| rng.random_range(0..10.min(index)));
        people.push(Person {
            index,
            upn: format!("{sam}@{DNS_DOMAIN}"),
            mail: format!("{sam}@{DNS_DOMAIN}"),
            display_name: format!("{first} {last}"),
            first: first.to_string(),
            last: last.to_string(),
            sam,
            department,
            office,
            title,
            ou,
            manager,
            contractor,
        });
    }
    people
}

/// Lower-case ASCII login part: accents folded, apostrophes and spaces dropped.
fn ascii_login(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'á' | 'à' | 'â' | 'ä' => Some('a'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'í' | 'ì' | 'î' | 'ï' => Some('i'),
            'ó' | 'ò' | 'ô' | 'ö' => Some('o'),
            'ú' | 'ù' | 'û' | 'ü' => Some('u'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// sAMAccountName is limited to 20 characters and must be unique; number the duplicates.
fn unique_login(base: &str, taken: &mut HashSet<String>) -> String {
    let base: String = base.chars().take(16).collect();
    if taken.insert(base.clone()) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}{n}"))
        .find(|candidate| taken.insert(candidate.clone()))
        .unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn same_seed_same_people_and_logins_are_unique() {
        let a = generate(&mut ChaCha8Rng::seed_from_u64(7), 2_000);
        let b = generate(&mut ChaCha8Rng::seed_from_u64(7), 2_000);
        assert_eq!(a, b);
        let logins: HashSet<_> = a.iter().map(|p| p.sam.as_str()).collect();
        assert_eq!(logins.len(), a.len());
        assert!(a.iter().all(|p| p.sam.len() <= 20 && p.sam.is_ascii()));
    }

    #[test]
    fn accents_are_folded_in_logins() {
        assert_eq!(ascii_login("Müller"), "muller");
        assert_eq!(ascii_login("O'Brien"), "obrien");
    }
}
