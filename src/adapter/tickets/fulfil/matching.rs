//! How catalog variable values find things in the inventory: users by sAMAccountName, UPN or
//! email; resources by delivery group, application or machine name; machines by name with or
//! without the domain, or DNS name. Every comparison ignores case and surrounding spaces.
//!
//! Names are compared whole, never as substrings: "Word" must not reset a "WordPad" session,
//! and "Desktops" must not match every desktop group. A value that finds nothing is reported
//! with what the user does have, so the operator sees the near miss instead of a guess.

use crate::adapter::inventory::SiteData;
use crate::model::{Machine, Ref, Session};

/// `s` trimmed, with inner runs of whitespace made one space, lower-cased: how values typed
/// into a ServiceNow form are compared with names read from a site.
pub(super) fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The part after `DOMAIN\`, or the whole name.
pub(super) fn short(name: &str) -> &str {
    name.rsplit('\\').next().unwrap_or(name)
}

/// A person to find sessions of: every identifier they may appear under, normalized.
#[derive(Debug, Clone)]
pub(super) struct Who {
    /// For messages: "Sam Smith (sam, sam@lab.example)".
    pub label: String,
    /// The user was typed as an address that may be an email rather than the UPN sessions
    /// carry; a miss then says so.
    pub typed_address: bool,
    keys: Vec<String>,
}

impl Who {
    /// `label` for messages; `ids` are the sAMAccountName, `DOMAIN\sam`, UPN or email the user
    /// is known by (empty ones are ignored).
    pub fn new(label: String, ids: &[&str]) -> Who {
        let keys = ids
            .iter()
            .map(|id| norm(id))
            .filter(|k| !k.is_empty())
            .collect();
        Who {
            label,
            typed_address: false,
            keys,
        }
    }

    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Whether `session` is this user's. A session is known by `DOMAIN\sam`, `sam` and its UPN;
    /// the forms cannot collide (only a UPN or email has an `@`, only `DOMAIN\sam` a
    /// backslash), so one key compared with all three is exact.
    pub fn owns(&self, session: &Session) -> bool {
        self.is(&session.user_name, &session.user_upn)
    }

    pub fn is(&self, user_name: &str, upn: &str) -> bool {
        let full = norm(user_name);
        let sam = norm(short(user_name));
        let upn = norm(upn);
        self.keys.iter().any(|k| {
            (!full.is_empty() && *k == full) || (!sam.is_empty() && *k == sam) || *k == upn
        })
    }
}

/// Whether a machine reference (as a session embeds it) carries the name `wanted`.
fn ref_named(machine: &Ref, wanted: &str) -> bool {
    norm(&machine.name) == wanted || norm(short(&machine.name)) == wanted
}

/// Whether `machine` is the one `wanted` names: `DOMAIN\NAME`, `NAME`, its DNS name or the
/// DNS name's host part. `wanted` is normalized.
pub(super) fn machine_named(machine: &Machine, wanted: &str) -> bool {
    let dns = norm(&machine.dns_name);
    let host = dns.split('.').next().unwrap_or("");
    norm(&machine.name) == wanted
        || norm(short(&machine.name)) == wanted
        || (!dns.is_empty() && (dns == wanted || host == wanted))
}

/// Whether `session` runs the resource `wanted` (normalized): its delivery group, one of the
/// applications in use, or the machine it runs on.
pub(super) fn session_runs(session: &Session, wanted: &str) -> bool {
    session
        .delivery_group
        .as_ref()
        .is_some_and(|g| norm(&g.name) == wanted)
        || session
            .applications_in_use
            .iter()
            .any(|app| norm(app) == wanted)
        || ref_named(&session.machine, wanted)
}

/// Every session of `who`, with the name of its site, in site then inventory order.
pub(super) fn sessions_of<'a>(
    who: &Who,
    sites: &[(&'a str, &'a SiteData)],
) -> Vec<(&'a str, &'a Session)> {
    sites
        .iter()
        .flat_map(|(site, data)| {
            data.sessions
                .iter()
                .map(|r| &r.item)
                .filter(|s| who.owns(s))
                .map(move |s| (*site, s))
        })
        .collect()
}

/// Every machine `wanted` (normalized) names, with the name of its site.
pub(super) fn machines_named<'a>(
    wanted: &str,
    sites: &[(&'a str, &'a SiteData)],
) -> Vec<(&'a str, &'a Machine)> {
    sites
        .iter()
        .flat_map(|(site, data)| {
            data.machines
                .iter()
                .map(|r| &r.item)
                .filter(|m| machine_named(m, wanted))
                .map(move |m| (*site, m))
        })
        .collect()
}

/// The machine a session runs on, from the same site's data.
pub(super) fn machine_of<'a>(data: &'a SiteData, session: &Session) -> Option<&'a Machine> {
    data.machines
        .iter()
        .map(|r| &r.item)
        .find(|m| m.id == session.machine.id)
}

/// One session as an operator recognises it: "Desktop London Pooled Desktops on VDI-LON-0004".
pub(super) fn describe(session: &Session) -> String {
    let what = if session.applications_in_use.is_empty() {
        session
            .delivery_group
            .as_ref()
            .map_or_else(|| "(no delivery group)".to_owned(), |g| g.name.clone())
    } else {
        session.applications_in_use.join(", ")
    };
    format!(
        "{} {} on {}",
        session.session_type,
        what,
        short(&session.machine.name)
    )
}

/// Up to `max` items joined with ", ", then "and N more".
pub(super) fn list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!("{} and {} more", items[..max].join(", "), items.len() - max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_compared_whole_ignoring_case_and_spaces() {
        assert_eq!(
            norm("  London   Pooled Desktops \n"),
            "london pooled desktops"
        );
        assert_eq!(short("LAB\\VDI-LON-01"), "VDI-LON-01");
        assert_eq!(short("VDI-LON-01"), "VDI-LON-01");
        assert_eq!(
            list(&["a".into(), "b".into(), "c".into()], 2),
            "a, b and 1 more"
        );
        assert_eq!(list(&["a".into()], 2), "a");
    }

    #[test]
    fn a_user_is_found_by_sam_domain_name_or_upn() {
        let who = Who::new("Sam".into(), &["SAM.Smith", ""]);
        assert!(who.is("LAB\\sam.smith", "sam.smith@lab.example"));
        assert!(!who.is("LAB\\sam.smith2", "sam.smith2@lab.example"));
        let who = Who::new("Sam".into(), &[" Sam.Smith@Lab.Example "]);
        assert!(who.is("LAB\\sam.smith", "sam.smith@lab.example"));
        assert!(!who.is("LAB\\sam.smith", ""));
        let who = Who::new("Sam".into(), &["lab\\sam.smith"]);
        assert!(who.is("LAB\\sam.smith", ""));
        assert!(!who.is("OTHER\\sam.smith", ""));
        // No identifiers: matches nobody, not everybody with an empty UPN.
        let nobody = Who::new("nobody".into(), &["", "  "]);
        assert!(!nobody.has_keys());
        assert!(!nobody.is("LAB\\x", ""));
    }
}
