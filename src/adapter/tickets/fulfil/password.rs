//! The self-service password reset ("Reset my password"): the account named by the `user`
//! variable, verified by the security code the user enrolled, gets the password from the
//! masked `new_password` variable or a generated temporary one.
//!
//! The code and the password are secrets: they go into [`Plan::secret_params`], never into
//! [`Plan::params`] (which is stored, logged and quoted in work notes), and the masked
//! variables that held them are listed in [`Plan::clear_variables`] for the caller to clear in
//! ServiceNow once read.

use serde_json::{Value, json};

use super::{NotAutomatable, Person, Plan, PlanTarget, RESET_PASSWORD, Vars};
use crate::secret::Secret;

/// The masked variables of the item: cleared in ServiceNow once read, whatever the outcome.
pub(crate) const MASKED_VARIABLES: &[&str] = &["security_code", "new_password"];

/// Longest code or password taken from a request (the engine refuses longer ones too).
const MAX_SECRET: usize = 256;

/// An account as the job API's account target takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    /// NetBIOS domain (`LAB`): the account target's `site`.
    pub domain: String,
    pub sam: String,
}

/// Reads `DOMAIN\sam`, `sam` or a UPN `sam@dns.domain`. `domains` are the NetBIOS names of the
/// directories the adapter knows; a bare `sam` needs exactly one of them, and a UPN's suffix
/// must name one of them when any are known (its first label, `lab` of `lab.example`).
pub(crate) fn parse_account(value: &str, domains: &[String]) -> Result<Account, NotAutomatable> {
    let invalid = |why: String| NotAutomatable::InvalidValue {
        name: "user",
        value: value.to_owned(),
        why,
    };
    let value = value.trim();
    let sam_ok = |sam: &str| {
        !sam.is_empty()
            && sam.chars().count() <= 20
            && !sam
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "\"/\\[]:;|=,+*?<>@".contains(c))
    };
    let known = |domain: &str| -> Option<String> {
        domains
            .iter()
            .find(|d| d.eq_ignore_ascii_case(domain))
            .cloned()
    };
    let (domain, sam) = if let Some((domain, sam)) = value.split_once('\\') {
        let domain = domain.trim();
        if domain.is_empty() || domain.contains('.') || domain.contains(char::is_whitespace) {
            return Err(invalid(
                "expected DOMAIN\\user with the NetBIOS domain name, such as LAB\\sam".to_owned(),
            ));
        }
        let domain = match (known(domain), domains.is_empty()) {
            (Some(d), _) => d,
            (None, true) => domain.to_ascii_uppercase(),
            (None, false) => {
                return Err(invalid(format!(
                    "deskbridge knows no directory {domain}; it has {}",
                    domains.join(", ")
                )));
            }
        };
        (domain, sam.trim())
    } else if let Some((sam, suffix)) = value.split_once('@') {
        let label = suffix.split('.').next().unwrap_or_default().trim();
        if label.is_empty() || suffix.contains('@') || !suffix.contains('.') {
            return Err(invalid(
                "expected a UPN such as sam@lab.example, DOMAIN\\sam or sam".to_owned(),
            ));
        }
        let domain = match (known(label), domains) {
            (Some(d), _) => d,
            (None, []) => label.to_ascii_uppercase(),
            (None, [only]) => only.clone(),
            (None, many) => {
                return Err(invalid(format!(
                    "{suffix} matches none of deskbridge's directories ({}); write it as \
                     DOMAIN\\user",
                    many.join(", ")
                )));
            }
        };
        (domain, sam.trim())
    } else {
        match domains {
            [only] => (only.clone(), value),
            [] => {
                return Err(invalid(
                    "a user name without a domain needs deskbridge to know its directory, and \
                     none is configured; write it as DOMAIN\\user"
                        .to_owned(),
                ));
            }
            many => {
                return Err(invalid(format!(
                    "a user name without a domain is ambiguous with several directories ({}); \
                     write it as DOMAIN\\user",
                    many.join(", ")
                )));
            }
        }
    };
    if !sam_ok(sam) {
        return Err(invalid(
            "the account name is empty, longer than 20 characters or has characters an \
             account name cannot have"
                .to_owned(),
        ));
    }
    Ok(Account {
        domain,
        sam: sam.to_owned(),
    })
}

/// A masked variable's value as a secret; `None` when absent or blank. Spaces are part of a
/// password, so the value is kept as typed; only the blank test trims.
fn secret(vars: &Vars<'_>, name: &'static str) -> Result<Option<Secret>, NotAutomatable> {
    let raw = vars.map.get(name).or_else(|| {
        vars.map
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    });
    let Some(raw) = raw.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    if raw.chars().count() > MAX_SECRET {
        // The value is a secret: the refusal says what is wrong, never what it is.
        return Err(NotAutomatable::InvalidValue {
            name,
            value: "(masked)".to_owned(),
            why: format!("longer than {MAX_SECRET} characters"),
        });
    }
    Ok(Some(Secret::new(raw.clone())))
}

fn yes(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "yes" | "1" | "on"
        )
    })
}

/// The job for a "Reset my password" request.
pub(super) fn reset_password(
    vars: &Vars<'_>,
    requester: Option<&Person>,
    domains: &[String],
) -> Result<Plan, NotAutomatable> {
    let account = parse_account(vars.required("user")?, domains)?;
    // "Reset my password": a requester whose ServiceNow user name is a plain account name
    // must name their own account; the code check would stop anyone else, but a request for
    // another account is a person's decision, not a self-service one.
    if let Some(person) = requester {
        let own = person.user_name.trim();
        if !own.is_empty() && !own.contains(['@', '\\']) && !own.eq_ignore_ascii_case(&account.sam)
        {
            return Err(NotAutomatable::Unsafe {
                why: format!(
                    "{} ({own}) asked to reset the password of {}\\{}, which is not their \
                     account; self-service resets only one's own password",
                    person.name.trim(),
                    account.domain,
                    account.sam
                ),
            });
        }
    }
    let code = secret(vars, "security_code")?.ok_or(NotAutomatable::MissingVariable {
        item: RESET_PASSWORD,
        name: "security_code",
    })?;
    let password = secret(vars, "new_password")?;
    let unlock = yes(vars.get("unlock_account"));
    let mut params = json!({
        "verification": { "method": "code" },
        "must_change": true,
    });
    if let Value::Object(map) = &mut params {
        if password.is_none() {
            map.insert("generate".into(), Value::Bool(true));
        }
        if unlock {
            map.insert("unlock".into(), Value::Bool(true));
        }
    }
    let qualified = format!("{}\\{}", account.domain, account.sam);
    let summary = format!(
        "Reset the password of {qualified} after checking the security code: {}, to be \
         changed at next logon{}",
        if password.is_some() {
            "the password the user chose"
        } else {
            "a temporary password"
        },
        if unlock { "; unlock the account" } else { "" }
    );
    let mut secret_params = vec![("verification.code".to_owned(), code)];
    if let Some(password) = password {
        secret_params.push(("password".to_owned(), password));
    }
    let clear_variables = MASKED_VARIABLES
        .iter()
        .filter(|name| vars.get(name).is_some())
        .map(|name| (*name).to_owned())
        .collect();
    Ok(Plan {
        action: "account.password_reset",
        targets: vec![PlanTarget {
            site: account.domain,
            id: account.sam,
            display: qualified,
        }],
        params,
        summary,
        secret_params,
        clear_variables,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::{CatalogRequest, plan, plan_in};
    use super::*;

    const CODE: &str = "884213";
    const PASSWORD: &str = "Horse-Battery-9!";

    fn request(vars: &[(&str, &str)], user_name: &str) -> CatalogRequest {
        CatalogRequest {
            item: "Reset my password".to_owned(),
            variables: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            requested_for: Some(Person {
                sys_id: "a".repeat(32),
                user_name: user_name.to_owned(),
                email: format!("{user_name}@lab.example"),
                name: "Sam Smith".to_owned(),
            }),
        }
    }

    fn lab() -> Vec<String> {
        vec!["LAB".to_owned()]
    }

    #[test]
    fn every_form_of_the_user_names_the_domain_and_account() {
        for user in [
            "LAB\\sam",
            "lab\\sam",
            " sam ",
            "sam@lab.example",
            "SAM@Lab.Example",
        ] {
            let plan = plan_in(
                &request(&[("user", user), ("security_code", CODE)], "sam"),
                &[],
                &lab(),
            )
            .unwrap_or_else(|e| panic!("{user}: {e}"));
            assert_eq!(plan.action, "account.password_reset");
            assert_eq!(plan.targets.len(), 1, "{user}");
            assert_eq!(plan.targets[0].site, "LAB", "{user}");
            assert!(plan.targets[0].id.eq_ignore_ascii_case("sam"), "{user}");
        }
        // Without configured directories, DOMAIN\sam and a UPN still say which domain.
        let upn = plan(
            &request(
                &[("user", "sam@lab.example"), ("security_code", CODE)],
                "sam",
            ),
            &[],
        )
        .expect("a UPN names its domain");
        assert_eq!(
            (upn.targets[0].site.as_str(), upn.targets[0].id.as_str()),
            ("LAB", "sam")
        );
        let err = plan(
            &request(&[("user", "sam"), ("security_code", CODE)], "sam"),
            &[],
        )
        .expect_err("a bare name with no directory known");
        assert!(err.to_string().contains("DOMAIN\\user"), "{err}");
        let two = ["LAB".to_owned(), "CORP".to_owned()];
        let err = plan_in(
            &request(&[("user", "sam"), ("security_code", CODE)], "sam"),
            &[],
            &two,
        )
        .expect_err("a bare name with two directories");
        assert!(err.to_string().contains("ambiguous"), "{err}");
        let err = plan_in(
            &request(&[("user", "OTHER\\sam"), ("security_code", CODE)], "sam"),
            &[],
            &two,
        )
        .expect_err("an unknown domain");
        assert!(err.to_string().contains("no directory OTHER"), "{err}");
        for bad in [
            "LAB\\",
            "LAB\\s am",
            "sam@",
            "a@b@c.d",
            "LAB\\thisnameiswaytoolongforsam",
        ] {
            let err = plan_in(
                &request(&[("user", bad), ("security_code", CODE)], ""),
                &[],
                &lab(),
            )
            .expect_err(bad);
            assert!(
                matches!(err, NotAutomatable::InvalidValue { name: "user", .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_params_say_how_and_the_secrets_travel_apart() {
        let chosen = plan_in(
            &request(
                &[
                    ("user", "LAB\\sam"),
                    ("security_code", CODE),
                    ("new_password", PASSWORD),
                    ("unlock_account", "true"),
                ],
                "sam",
            ),
            &[],
            &lab(),
        )
        .expect("a complete request");
        assert_eq!(
            chosen.params,
            json!({"verification": {"method": "code"}, "must_change": true, "unlock": true})
        );
        assert_eq!(
            chosen.request_params(),
            json!({
                "verification": {"method": "code", "code": CODE},
                "must_change": true,
                "unlock": true,
                "password": PASSWORD,
            })
        );
        assert_eq!(chosen.clear_variables, ["security_code", "new_password"]);
        let generated = plan_in(
            &request(&[("user", "LAB\\sam"), ("security_code", CODE)], "sam"),
            &[],
            &lab(),
        )
        .expect("no new password: a temporary one");
        assert_eq!(
            generated.request_params(),
            json!({
                "verification": {"method": "code", "code": CODE},
                "must_change": true,
                "generate": true,
            })
        );
        assert_eq!(generated.clear_variables, ["security_code"]);
        for plan in [&chosen, &generated] {
            let outside = format!(
                "{} {} {plan:?} {:?}",
                plan.params,
                plan.summary,
                request(
                    &[("security_code", CODE), ("new_password", PASSWORD)],
                    "sam"
                )
            );
            assert!(!outside.contains(CODE), "the code leaked: {outside}");
            assert!(
                !outside.contains(PASSWORD),
                "the password leaked: {outside}"
            );
        }
    }

    #[test]
    fn missing_user_or_code_and_someone_elses_account_are_refused() {
        let err =
            plan_in(&request(&[("security_code", CODE)], "sam"), &[], &lab()).expect_err("no user");
        assert_eq!(
            err.to_string(),
            "The request has no value for the variable \"user\", which \"Reset my password\" \
             needs; fill it in or fulfil the request by hand."
        );
        let err = plan_in(
            &request(&[("user", "LAB\\sam"), ("security_code", "  ")], "sam"),
            &[],
            &lab(),
        )
        .expect_err("blank code");
        assert!(
            matches!(
                err,
                NotAutomatable::MissingVariable {
                    name: "security_code",
                    ..
                }
            ),
            "{err}"
        );
        let err = plan_in(
            &request(&[("user", "LAB\\bob"), ("security_code", CODE)], "sam"),
            &[],
            &lab(),
        )
        .expect_err("another person's account");
        assert!(matches!(err, NotAutomatable::Unsafe { .. }), "{err}");
        assert!(err.to_string().contains("LAB\\bob"), "{err}");
        let long = "x".repeat(MAX_SECRET + 1);
        let err = plan_in(
            &request(&[("user", "LAB\\sam"), ("security_code", &long)], "sam"),
            &[],
            &lab(),
        )
        .expect_err("an overlong code");
        assert!(!err.to_string().contains(&long), "{err}");
    }
}
