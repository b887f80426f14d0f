//! AD attributes to [`Account`]: `userAccountControl`, `lockoutTime`, `pwdLastSet`, the
//! computed UAC and password expiry (FILETIME), `memberOf`; and the `unicodePwd` encoding.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ldap3::SearchEntry;

use crate::directory::Account;

/// The attributes a search asks for to build an [`Account`].
pub const ACCOUNT_ATTRS: &[&str] = &[
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "mail",
    "userAccountControl",
    "lockoutTime",
    "pwdLastSet",
    "msDS-User-Account-Control-Computed",
    "msDS-UserPasswordExpiryTimeComputed",
    "memberOf",
    // For routing rules (src/adapter/routing): where the user works and in which department.
    "department",
    "l",
    "physicalDeliveryOfficeName",
];

/// `userAccountControl` ACCOUNTDISABLE.
pub const UAC_ACCOUNTDISABLE: u32 = 0x2;
/// `userAccountControl` NORMAL_ACCOUNT: what a new user gets (512), enabled.
pub const UAC_NORMAL_ACCOUNT: u32 = 0x200;
/// `msDS-User-Account-Control-Computed` LOCKOUT: locked now, with the lockout duration applied.
const UAC_COMPUTED_LOCKOUT: u32 = 0x10;

/// Seconds between 1601-01-01 (the FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET_SECS: i64 = 11_644_473_600;

/// The account an entry describes. `domain` is the directory's NetBIOS name.
pub fn account_from_entry(entry: &SearchEntry, domain: &str) -> Account {
    let attrs = Attrs::new(entry);
    let uac = attrs.number("userAccountControl").unwrap_or(0) as u32;
    let computed = attrs
        .number("msDS-User-Account-Control-Computed")
        .unwrap_or(0) as u32;
    Account {
        sam_name: attrs.text("sAMAccountName"),
        domain: domain.to_string(),
        upn: attrs.text("userPrincipalName"),
        display_name: attrs.text("displayName"),
        mail: attrs.text("mail"),
        dn: entry.dn.clone(),
        locked: is_locked(attrs.number("lockoutTime"), computed),
        disabled: uac & UAC_ACCOUNTDISABLE != 0,
        must_change: attrs.number("pwdLastSet") == Some(0),
        password_expires: attrs
            .number("msDS-UserPasswordExpiryTimeComputed")
            .and_then(filetime),
        groups: attrs
            .values("memberOf")
            .iter()
            .filter_map(|dn| common_name(dn))
            .collect(),
        department: attrs.text("department").trim().to_string(),
        location: location(&attrs),
    }
}

/// The city (`l`), else the office (`physicalDeliveryOfficeName`), which many directories fill
/// instead.
fn location(attrs: &Attrs<'_>) -> String {
    ["l", "physicalDeliveryOfficeName"]
        .iter()
        .map(|name| attrs.text(name).trim().to_string())
        .find(|value| !value.is_empty())
        .unwrap_or_default()
}

/// Locked when the DC's computed flag says so. Without that attribute (other DCs), a
/// non-zero `lockoutTime` is the best we know (it may have expired by the lockout duration).
fn is_locked(lockout_time: Option<i64>, computed: u32) -> bool {
    computed & UAC_COMPUTED_LOCKOUT != 0 || lockout_time.is_some_and(|t| t > 0)
}

/// A FILETIME (100 ns ticks since 1601) as a time; `None` for 0 and `i64::MAX`, which AD
/// uses for "never".
pub fn filetime(ticks: i64) -> Option<DateTime<Utc>> {
    if ticks <= 0 || ticks == i64::MAX {
        return None;
    }
    let secs = ticks / 10_000_000 - FILETIME_UNIX_OFFSET_SECS;
    let nanos = (ticks % 10_000_000) as u32 * 100;
    DateTime::from_timestamp(secs, nanos)
}

/// The first RDN's value of a DN (`CN=Help Desk,OU=Groups,DC=…` → `Help Desk`), unescaped.
pub fn common_name(dn: &str) -> Option<String> {
    let mut value = String::new();
    let mut chars = dn.chars();
    // Skip the attribute type (`CN=`).
    for c in chars.by_ref() {
        if c == '=' {
            break;
        }
    }
    let mut escaped = false;
    for c in chars {
        if escaped {
            value.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' || c == '+' {
            break;
        } else {
            value.push(c);
        }
    }
    (!value.is_empty()).then_some(value)
}

/// The `unicodePwd` value AD wants: the password in double quotes, UTF-16LE.
pub fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// Case-insensitive access to an entry's attributes (servers may change the case).
struct Attrs<'a>(HashMap<String, &'a Vec<String>>);

impl<'a> Attrs<'a> {
    fn new(entry: &'a SearchEntry) -> Self {
        Attrs(
            entry
                .attrs
                .iter()
                .map(|(name, values)| (name.to_ascii_lowercase(), values))
                .collect(),
        )
    }

    fn values(&self, name: &str) -> &[String] {
        self.0
            .get(&name.to_ascii_lowercase())
            .map_or(&[], |v| v.as_slice())
    }

    fn text(&self, name: &str) -> String {
        self.values(name).first().cloned().unwrap_or_default()
    }

    fn number(&self, name: &str) -> Option<i64> {
        self.values(name).first()?.trim().parse().ok()
    }
}

/// `userAccountControl` of an entry, if it has a readable one.
pub fn uac(entry: &SearchEntry) -> Option<u32> {
    Attrs::new(entry)
        .number("userAccountControl")
        .and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(attrs: &[(&str, &[&str])]) -> SearchEntry {
        SearchEntry {
            dn: "CN=Jane Doe,CN=Users,DC=lab,DC=example".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
            bin_attrs: HashMap::new(),
        }
    }

    #[test]
    fn a_normal_account() {
        let account = account_from_entry(
            &entry(&[
                ("sAMAccountName", &["jane.doe"]),
                ("userPrincipalName", &["jane.doe@lab.example"]),
                ("displayName", &["Jane Doe"]),
                ("mail", &["jane@lab.example"]),
                ("userAccountControl", &["512"]),
                ("lockoutTime", &["0"]),
                ("pwdLastSet", &["133800000000000000"]),
                ("msDS-User-Account-Control-Computed", &["0"]),
                (
                    "msDS-UserPasswordExpiryTimeComputed",
                    &["9223372036854775807"],
                ),
                (
                    "memberOf",
                    &[
                        "CN=Help Desk,OU=Groups,DC=lab,DC=example",
                        "CN=Smith\\, J. fans,CN=Users,DC=lab,DC=example",
                    ],
                ),
            ]),
            "LAB",
        );
        assert_eq!(account.qualified_name(), "LAB\\jane.doe");
        assert_eq!(account.upn, "jane.doe@lab.example");
        assert_eq!(account.dn, "CN=Jane Doe,CN=Users,DC=lab,DC=example");
        assert!(!account.locked && !account.disabled && !account.must_change);
        assert_eq!(account.password_expires, None);
        assert_eq!(account.groups, vec!["Help Desk", "Smith, J. fans"]);
        assert_eq!(account.department, "");
        assert_eq!(account.location, "");
    }

    #[test]
    fn department_and_location_with_the_office_as_fallback() {
        let account = account_from_entry(
            &entry(&[
                ("sAMAccountName", &["jane.doe"]),
                ("department", &["Finance"]),
                ("l", &["London"]),
                ("physicalDeliveryOfficeName", &["LDN-2"]),
            ]),
            "LAB",
        );
        assert_eq!(account.department, "Finance");
        assert_eq!(account.location, "London");
        let office_only = account_from_entry(
            &entry(&[
                ("sAMAccountName", &["bob"]),
                ("physicaldeliveryofficename", &["Paris"]),
                ("l", &[" "]),
            ]),
            "LAB",
        );
        assert_eq!(office_only.location, "Paris");
    }

    #[test]
    fn states_come_from_the_flags() {
        let account = account_from_entry(
            &entry(&[
                ("sAMAccountName", &["bob"]),
                ("userAccountControl", &["514"]),
                ("lockoutTime", &["133800000000000000"]),
                ("pwdLastSet", &["0"]),
                // 2026-01-01T00:00:00Z
                (
                    "msDS-UserPasswordExpiryTimeComputed",
                    &["134116992000000000"],
                ),
            ]),
            "LAB",
        );
        assert!(account.disabled);
        assert!(account.locked);
        assert!(account.must_change);
        assert_eq!(
            account.password_expires.map(|t| t.to_rfc3339()),
            Some("2026-01-01T00:00:00+00:00".to_string())
        );
    }

    #[test]
    fn computed_lockout_counts_and_case_does_not_matter() {
        let account = account_from_entry(
            &entry(&[
                ("samaccountname", &["carol"]),
                ("msds-user-account-control-computed", &["16"]),
            ]),
            "LAB",
        );
        assert_eq!(account.sam_name, "carol");
        assert!(account.locked);
        assert!(!account.must_change, "no pwdLastSet is not 'must change'");
    }

    #[test]
    fn filetime_never_values() {
        assert_eq!(filetime(0), None);
        assert_eq!(filetime(i64::MAX), None);
        assert_eq!(filetime(-1), None);
        assert_eq!(
            filetime(116_444_736_000_000_000).map(|t| t.timestamp()),
            Some(0)
        );
    }

    #[test]
    fn unicode_pwd_is_quoted_utf16le() {
        assert_eq!(unicode_pwd("Ab1"), b"\"\0A\0b\x001\0\"\0".to_vec());
    }
}
