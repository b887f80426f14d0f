//! The lab domain's records: one account per person of the lab (same `sam`, UPN, mail and
//! display name as in ServiceNow and the CVAD sessions), a few built-in accounts, and the
//! groups, seeded deterministically from the lab's seed.
//!
//! Passwords are kept as [`Secret`]s so that no `Debug` of a record shows one; nothing here
//! renders them.

use super::policy::Policy;
use crate::lab::LabContext;
use crate::lab::people::{DEPARTMENTS, DNS_DOMAIN, DOMAIN, OFFICES, Person};
use crate::secret::Secret;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The random stream of the directory (people use 0, ServiceNow 2, the sites 11 and up).
const STREAM: u64 = 7;
/// The domain SID every account and group SID starts with (the sessions use the same one).
pub const DOMAIN_SID: &str = "S-1-5-21-3623811015-3361044348-30300820";
/// The domain controller that answers for the lab domain.
pub const DIRECTORY_SERVER: &str = "DC01.lab.example";
/// RID of the first person; people keep `1000 + index`, as in the CVAD sessions.
const PERSON_RID_BASE: u32 = 1000;

/// One user account.
#[derive(Debug, Clone)]
pub struct AccountRec {
    pub sam: String,
    pub upn: String,
    pub display_name: String,
    pub mail: String,
    pub given_name: String,
    pub surname: String,
    pub city: String,
    pub country: String,
    /// Distinguished name of the account.
    pub dn: String,
    pub rid: u32,
    pub guid: String,
    pub password: Secret,
    /// Previous passwords, newest last (self-service changes only).
    pub history: Vec<Secret>,
    pub enabled: bool,
    /// `badPwdCount`.
    pub bad_logons: u32,
    /// `lockoutTime`; locked until an administrator unlocks (lockout duration "forever").
    pub locked_at: Option<DateTime<Utc>>,
    /// `pwdLastSet`; `None` is `pwdLastSet = 0`, "must change at next logon".
    pub password_set: Option<DateTime<Utc>>,
    /// `DONT_EXPIRE_PASSWORD`.
    pub password_never_expires: bool,
    /// Direct group memberships (indexes into [`DirState::groups`]).
    pub groups: BTreeSet<usize>,
    /// Protected by AdminSDHolder: the helpdesk's delegation may not change it.
    pub protected: bool,
    pub built_in: bool,
}

impl AccountRec {
    pub fn sid(&self) -> String {
        format!("{DOMAIN_SID}-{}", self.rid)
    }

    pub fn qualified(&self) -> String {
        format!("{DOMAIN}\\{}", self.sam)
    }

    pub fn common_name(&self) -> &str {
        self.dn
            .strip_prefix("CN=")
            .and_then(|rest| rest.split(",OU=").next())
            .and_then(|cn| cn.split(",CN=").next())
            .unwrap_or(&self.display_name)
    }

    /// When the password expires; `None` if it never does. A must-change account has an
    /// expired password, as in AD (`pwdLastSet = 0`).
    pub fn password_expires(&self, policy: &Policy) -> Option<DateTime<Utc>> {
        if self.password_never_expires {
            return None;
        }
        Some(match self.password_set {
            Some(set) => set + Duration::days(policy.max_age_days),
            None => DateTime::<Utc>::MIN_UTC,
        })
    }
}

/// One security group.
#[derive(Debug, Clone)]
pub struct GroupRec {
    pub name: String,
    pub dn: String,
    pub rid: u32,
    pub guid: String,
    pub description: String,
    pub protected: bool,
    pub built_in: bool,
}

impl GroupRec {
    pub fn sid(&self) -> String {
        format!("{DOMAIN_SID}-{}", self.rid)
    }
}

/// Either kind of directory object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    Account(usize),
    Group(usize),
}

/// Everything the directory holds.
#[derive(Debug, Default)]
pub struct DirState {
    /// Ordered by `sam` (case-insensitive): the index is the paging key.
    pub accounts: Vec<AccountRec>,
    pub groups: Vec<GroupRec>,
    /// Lower-cased names (sam, `LAB\sam`, `LAB|sam`, UPN, SID, group CN, DN) → object.
    names: HashMap<String, Object>,
}

impl DirState {
    /// An object by any name clients use: `sam`, `LAB\sam`, `LAB|sam`, UPN, SID, DN, or a
    /// group's common name; any case.
    pub fn find(&self, name: &str) -> Option<Object> {
        let key = name.trim().to_lowercase();
        self.names.get(&key).copied().or_else(|| {
            let bare = key
                .rsplit_once(['\\', '|'])
                .filter(|(domain, _)| is_our_domain(domain))
                .map(|(_, rest)| rest)?;
            self.names.get(bare).copied()
        })
    }

    pub fn account(&self, name: &str) -> Option<usize> {
        match self.find(name) {
            Some(Object::Account(i)) => Some(i),
            _ => None,
        }
    }

    pub fn group(&self, name: &str) -> Option<usize> {
        match self.find(name) {
            Some(Object::Group(g)) => Some(g),
            _ => None,
        }
    }

    fn index(&mut self) {
        let mut names = HashMap::new();
        for (i, a) in self.accounts.iter().enumerate() {
            for key in [a.sam.clone(), a.upn.clone(), a.sid(), a.dn.clone()] {
                names.insert(key.to_lowercase(), Object::Account(i));
            }
        }
        for (g, group) in self.groups.iter().enumerate() {
            for key in [group.name.clone(), group.sid(), group.dn.clone()] {
                names.insert(key.to_lowercase(), Object::Group(g));
            }
        }
        self.names = names;
    }
}

/// `LAB` or `lab.example`, any case.
pub fn is_our_domain(name: &str) -> bool {
    name.eq_ignore_ascii_case(DOMAIN) || name.eq_ignore_ascii_case(DNS_DOMAIN)
}

fn guid(rng: &mut ChaCha8Rng) -> String {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A password that passes the policy for anyone: the seeded accounts' initial passwords.
fn seeded_password(rng: &mut ChaCha8Rng) -> Secret {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let word: String = (0..10)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    Secret::new(format!("Lab#{word}9Q"))
}

/// The groups every lab has: department and office groups, application groups, and the
/// protected built-in ones.
fn seed_groups(rng: &mut ChaCha8Rng) -> Vec<GroupRec> {
    let mut groups = Vec::new();
    let mut push =
        |name: String, description: &str, rid: u32, protected: bool, rng: &mut ChaCha8Rng| {
            let container = if protected {
                "CN=Users,DC=lab,DC=example".to_string()
            } else {
                "OU=Groups,DC=lab,DC=example".to_string()
            };
            groups.push(GroupRec {
                dn: format!("CN={name},{container}"),
                name,
                rid,
                guid: guid(rng),
                description: description.to_string(),
                protected,
                built_in: protected,
            });
        };
    push(
        "Domain Admins".into(),
        "Designated administrators of the domain",
        512,
        true,
        rng,
    );
    // Above every person RID (1000 + index, up to the large scale's 60,000 people).
    let mut rid = 100_000;
    let mut next = || {
        rid += 1;
        rid
    };
    for name in [
        "Helpdesk Operators",
        "Citrix Desktop Users",
        "Citrix Office Apps",
        "VPN Users",
        "Contractors",
    ] {
        push(name.to_string(), "Lab group", next(), false, rng);
    }
    for dept in DEPARTMENTS {
        push(format!("{dept} Users"), "Department", next(), false, rng);
    }
    for office in OFFICES {
        push(
            format!("Office {}", office.city),
            "Office",
            next(),
            false,
            rng,
        );
    }
    groups
}

fn group_index(groups: &[GroupRec], name: &str) -> Option<usize> {
    groups.iter().position(|g| g.name == name)
}

fn person_account(
    p: &Person,
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
    dns: &mut HashSet<String>,
) -> AccountRec {
    let mut dn = format!("CN={},{}", p.display_name, p.ou);
    if !dns.insert(dn.to_lowercase()) {
        dn = format!("CN={} ({}),{}", p.display_name, p.sam, p.ou);
        dns.insert(dn.to_lowercase());
    }
    AccountRec {
        sam: p.sam.clone(),
        upn: p.upn.clone(),
        display_name: p.display_name.clone(),
        mail: p.mail.clone(),
        given_name: p.first.clone(),
        surname: p.last.clone(),
        city: p.office.city.to_string(),
        country: p.office.country.to_string(),
        dn,
        rid: PERSON_RID_BASE + p.index as u32,
        guid: guid(rng),
        password: seeded_password(rng),
        history: Vec::new(),
        enabled: true,
        bad_logons: 0,
        locked_at: None,
        password_set: Some(now - Duration::days(rng.random_range(1..80))),
        password_never_expires: false,
        groups: BTreeSet::new(),
        protected: false,
        built_in: false,
    }
}

/// Seeds the directory from the lab's people. The same seed gives the same directory; about
/// 2% of the accounts start locked, 2% disabled, 3% must change their password and 4% have a
/// password that expires within a week, so the console has something to show.
pub fn seed(ctx: &LabContext, policy: &Policy) -> DirState {
    let mut rng = ctx.rng(STREAM);
    let now = ctx.clock.now();
    let groups = seed_groups(&mut rng);
    let group = |name: &str| group_index(&groups, name);
    let mut dns = HashSet::new();
    let mut accounts = Vec::with_capacity(ctx.people.len() + 2);
    let mut admins = 0;
    for p in ctx.people.iter() {
        let mut a = person_account(p, &mut rng, now, &mut dns);
        let mut member = |name: &str| {
            if let Some(g) = group(name) {
                a.groups.insert(g);
            }
        };
        member(&format!("{} Users", p.department));
        member(&format!("Office {}", p.office.city));
        if rng.random_bool(0.7) {
            member("Citrix Desktop Users");
        }
        if rng.random_bool(0.5) {
            member("Citrix Office Apps");
        }
        if rng.random_bool(0.4) {
            member("VPN Users");
        }
        if p.contractor {
            member("Contractors");
        }
        if p.department == "IT" {
            if admins < 2 {
                member("Domain Admins");
                a.protected = true;
                admins += 1;
            } else {
                member("Helpdesk Operators");
            }
        }
        if !a.protected {
            match rng.random_range(0..100) {
                0..2 => {
                    a.bad_logons = policy.lockout_threshold;
                    a.locked_at = Some(now - Duration::minutes(rng.random_range(2..240)));
                }
                2..4 => a.enabled = false,
                4..7 => a.password_set = None,
                7..11 => {
                    let left = Duration::hours(rng.random_range(2..24 * 7));
                    a.password_set = Some(now - Duration::days(policy.max_age_days) + left);
                }
                _ => {}
            }
        }
        accounts.push(a);
    }
    for (sam, name, rid, group_name) in [
        ("administrator", "Administrator", 500, "Domain Admins"),
        (
            "svc-deskbridge",
            "deskbridge service",
            900,
            "Helpdesk Operators",
        ),
    ] {
        let dn = format!("CN={name},CN=Users,DC=lab,DC=example");
        accounts.push(AccountRec {
            sam: sam.to_string(),
            upn: format!("{sam}@{DNS_DOMAIN}"),
            display_name: name.to_string(),
            mail: String::new(),
            given_name: String::new(),
            surname: String::new(),
            city: String::new(),
            country: String::new(),
            dn,
            rid,
            guid: guid(&mut rng),
            password: seeded_password(&mut rng),
            history: Vec::new(),
            enabled: true,
            bad_logons: 0,
            locked_at: None,
            password_set: Some(now - Duration::days(10)),
            password_never_expires: true,
            groups: group(group_name).into_iter().collect(),
            protected: true,
            built_in: sam == "administrator",
        });
    }
    accounts.sort_by_key(|a| a.sam.to_lowercase());
    let mut state = DirState {
        accounts,
        groups,
        names: HashMap::new(),
    };
    state.index();
    state
}

#[cfg(test)]
pub fn test_state() -> (DirState, crate::lab::SimClock) {
    use rand::SeedableRng as _;
    use std::sync::Arc;
    let clock = crate::lab::SimClock::starting_now(0.0);
    let people = crate::lab::people::generate(&mut ChaCha8Rng::seed_from_u64(5), 300);
    let ctx = LabContext {
        seed: 5,
        scale: crate::lab::Scale::Small,
        live: false,
        clock: clock.clone(),
        people: Arc::new(people),
        faults: crate::lab::FaultPlan::default(),
    };
    (seed(&ctx, &Policy::default()), clock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_is_deterministic_and_covers_every_state() {
        let (a, _) = test_state();
        let (b, _) = test_state();
        let sams = |s: &DirState| s.accounts.iter().map(|a| a.sam.clone()).collect::<Vec<_>>();
        assert_eq!(sams(&a), sams(&b));
        assert_eq!(a.accounts.len(), 302);
        assert!(a.accounts.iter().any(|a| a.locked_at.is_some()));
        assert!(a.accounts.iter().any(|a| !a.enabled));
        assert!(a.accounts.iter().any(|a| a.password_set.is_none()));
        assert!(a.accounts.iter().any(|a| a.protected && !a.built_in));
        let sorted = sams(&a)
            .windows(2)
            .all(|w| w[0].to_lowercase() <= w[1].to_lowercase());
        assert!(sorted, "accounts are ordered by sam");
    }

    #[test]
    fn accounts_are_found_by_every_name_clients_use() {
        let (s, _) = test_state();
        let i = s
            .accounts
            .iter()
            .position(|a| !a.built_in)
            .expect("a person");
        let a = &s.accounts[i];
        for name in [
            a.sam.to_uppercase(),
            format!("LAB\\{}", a.sam),
            format!("lab|{}", a.sam),
            format!("lab.example\\{}", a.sam),
            a.upn.clone(),
            a.sid(),
            a.dn.clone(),
        ] {
            assert_eq!(s.account(&name), Some(i), "{name}");
        }
        assert_eq!(s.account("OTHER\\nobody"), None);
        assert!(s.group("vpn users").is_some());
        assert_eq!(s.account("VPN Users"), None);
    }
}
