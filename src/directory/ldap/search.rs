//! Finding users and groups: escaped filters, one-entry resolution, size-limited searches.

use ldap3::controls::RawControl;
use ldap3::{Scope, SearchEntry, SearchOptions, ldap_escape};

use super::codes::{self, RC_NO_SUCH_OBJECT, RC_SIZE_LIMIT_EXCEEDED};
use super::connect::Session;
use crate::directory::{DirectoryError, account_name};

/// People, not computers (which are `objectClass=user` too) nor contacts.
const USERS: &str = "(objectCategory=person)(objectClass=user)";

/// The filter that selects the one account `user` names: `sam`, `DOMAIN\sam` or a UPN.
pub fn user_filter(user: &str, domain: &str) -> Result<String, DirectoryError> {
    if let Some((prefix, _)) = user.trim().rsplit_once('\\')
        && !prefix.trim().eq_ignore_ascii_case(domain)
    {
        return Err(DirectoryError::NotFound(format!(
            "{user} (the account is in domain {prefix:?}; this directory serves {domain})"
        )));
    }
    let name = account_name(user);
    if name.is_empty() {
        return Err(DirectoryError::NotFound(user.to_string()));
    }
    let attr = if name.contains('@') {
        "userPrincipalName"
    } else {
        "sAMAccountName"
    };
    Ok(format!("(&{USERS}({attr}={}))", ldap_escape(name)))
}

/// Accounts whose names, mail or display name contain `text`, case-insensitively (AD
/// compares these attributes without regard to case).
pub fn find_filter(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return format!("(&{USERS})");
    }
    let t = ldap_escape(text);
    format!(
        "(&{USERS}(|(sAMAccountName=*{t}*)(userPrincipalName=*{t}*)(mail=*{t}*)(displayName=*{t}*)))"
    )
}

/// Every account after `cursor` (a sAMAccountName) in sAMAccountName order: the filter of
/// one page of the whole directory. AD and Samba compare sAMAccountName without regard to
/// case, for `>=` and for the sort control alike, so pages follow each other without a gap.
pub fn after_filter(cursor: Option<&str>) -> String {
    match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        None => format!("(&{USERS})"),
        Some(cursor) => {
            let c = ldap_escape(cursor);
            format!("(&{USERS}(sAMAccountName>={c})(!(sAMAccountName={c})))")
        }
    }
}

/// Whether `group` is given as a DN rather than a common name.
fn is_dn(group: &str) -> bool {
    let lower = group.to_ascii_lowercase();
    lower.contains(',') && (lower.contains("dc=") || lower.starts_with("cn="))
}

/// The server-side sort control (1.2.840.113556.1.4.473) on `sAMAccountName`, so that a
/// size-limited search returns the first accounts by name rather than whichever the DC
/// finds first. Not critical: a DC without it still answers, and we sort again anyway.
fn sort_by_sam() -> RawControl {
    const ATTR: &[u8] = b"sAMAccountName";
    // SortKeyList ::= SEQUENCE OF SEQUENCE { attributeType OCTET STRING, … }
    let mut val = vec![0x30, (ATTR.len() + 4) as u8, 0x30, (ATTR.len() + 2) as u8];
    val.extend_from_slice(&[0x04, ATTR.len() as u8]);
    val.extend_from_slice(ATTR);
    RawControl {
        ctype: "1.2.840.113556.1.4.473".into(),
        crit: false,
        val: Some(val),
    }
}

/// A search's entries (continuation references dropped). A size limit reached is not an
/// error: the entries up to it are the answer.
pub async fn search(
    session: &mut Session,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[&str],
    size_limit: Option<usize>,
    sorted: bool,
) -> Result<Vec<SearchEntry>, DirectoryError> {
    let doing = format!("searching {base}");
    let ldap = session.ldap();
    if let Some(limit) = size_limit {
        ldap.with_search_options(
            SearchOptions::new().sizelimit(i32::try_from(limit).unwrap_or(i32::MAX)),
        );
    }
    if sorted {
        ldap.with_controls(sort_by_sam());
    }
    let result = ldap
        .search(base, scope, filter, attrs.to_vec())
        .await
        .map_err(|e| codes::ldap_error(e, &doing))?;
    let (entries, outcome) = (result.0, result.1);
    match outcome.rc {
        0 | RC_SIZE_LIMIT_EXCEEDED => {}
        RC_NO_SUCH_OBJECT => {
            return Err(DirectoryError::NotFound(format!("{base} (no such entry)")));
        }
        _ => return Err(codes::result_error(&outcome, &doing)),
    }
    Ok(entries
        .into_iter()
        .filter(|e| !e.is_ref() && !e.is_intermediate())
        .map(SearchEntry::construct)
        .collect())
}

/// The one account `user` names, with `attrs`.
pub async fn resolve_user(
    session: &mut Session,
    base_dn: &str,
    domain: &str,
    user: &str,
    attrs: &[&str],
) -> Result<SearchEntry, DirectoryError> {
    let filter = user_filter(user, domain)?;
    let mut found = search(
        session,
        base_dn,
        Scope::Subtree,
        &filter,
        attrs,
        Some(2),
        false,
    )
    .await
    .map_err(|e| base_dn_missing(e, base_dn))?;
    match found.len() {
        0 => Err(DirectoryError::NotFound(user.to_string())),
        1 => Ok(found.remove(0)),
        _ => Err(DirectoryError::Ambiguous(user.to_string())),
    }
}

/// The DN of the group named by `group` (a common name, sAMAccountName or DN).
pub async fn resolve_group(
    session: &mut Session,
    base_dn: &str,
    group: &str,
) -> Result<String, DirectoryError> {
    let group = group.trim();
    let not_found = || DirectoryError::NotFound(format!("group {group}"));
    if group.is_empty() {
        return Err(not_found());
    }
    let mut found = if is_dn(group) {
        search(
            session,
            group,
            Scope::Base,
            "(objectClass=group)",
            &["cn"],
            None,
            false,
        )
        .await
        .map_err(|e| match e {
            DirectoryError::NotFound(_) => not_found(),
            other => other,
        })?
    } else {
        let name = ldap_escape(group);
        let filter = format!("(&(objectClass=group)(|(cn={name})(sAMAccountName={name})))");
        search(
            session,
            base_dn,
            Scope::Subtree,
            &filter,
            &["cn"],
            Some(2),
            false,
        )
        .await
        .map_err(|e| base_dn_missing(e, base_dn))?
    };
    match found.len() {
        0 => Err(not_found()),
        1 => Ok(found.remove(0).dn),
        _ => Err(DirectoryError::Ambiguous(format!("group {group}"))),
    }
}

/// A search base that does not exist is a configuration mistake, not a missing account.
pub fn base_dn_missing(error: DirectoryError, base_dn: &str) -> DirectoryError {
    match error {
        DirectoryError::NotFound(_) => DirectoryError::Config(format!(
            "the LDAP base DN {base_dn:?} does not exist in the directory"
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_filters_escape_and_pick_the_attribute() {
        assert_eq!(
            user_filter("LAB\\jane.doe", "LAB").unwrap(),
            "(&(objectCategory=person)(objectClass=user)(sAMAccountName=jane.doe))"
        );
        assert_eq!(
            user_filter("jane@lab.example", "LAB").unwrap(),
            "(&(objectCategory=person)(objectClass=user)(userPrincipalName=jane@lab.example))"
        );
        assert_eq!(
            user_filter("x*)(cn=*", "LAB").unwrap(),
            "(&(objectCategory=person)(objectClass=user)(sAMAccountName=x\\2a\\29\\28cn=\\2a))"
        );
        assert!(matches!(
            user_filter("OTHER\\jane", "LAB"),
            Err(DirectoryError::NotFound(_))
        ));
        assert!(user_filter("lab\\jane", "LAB").is_ok());
        assert!(matches!(
            user_filter("  ", "LAB"),
            Err(DirectoryError::NotFound(_))
        ));
    }

    #[test]
    fn find_filters_escape_the_text() {
        let f = find_filter("a*b");
        assert!(f.contains("(sAMAccountName=*a\\2ab*)"), "{f}");
        assert!(f.contains("(displayName=*a\\2ab*)"), "{f}");
        assert_eq!(
            find_filter(" "),
            "(&(objectCategory=person)(objectClass=user))"
        );
    }

    #[test]
    fn page_filters_start_after_the_cursor_escaped() {
        assert_eq!(
            after_filter(None),
            "(&(objectCategory=person)(objectClass=user))"
        );
        assert_eq!(after_filter(Some(" ")), after_filter(None));
        assert_eq!(
            after_filter(Some("a*b")),
            "(&(objectCategory=person)(objectClass=user)(sAMAccountName>=a\\2ab)\
             (!(sAMAccountName=a\\2ab)))"
        );
    }

    #[test]
    fn the_sort_control_is_well_formed_ber() {
        let val = sort_by_sam().val.unwrap();
        assert_eq!(&val[..6], &[0x30, 18, 0x30, 16, 0x04, 14]);
        assert_eq!(&val[6..], b"sAMAccountName");
    }

    #[test]
    fn groups_by_dn_or_name() {
        assert!(is_dn("CN=Staff,OU=Groups,DC=lab,DC=example"));
        assert!(!is_dn("Staff"));
        assert!(!is_dn("Sales, EMEA"));
    }
}
