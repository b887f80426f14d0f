//! Evaluating a parsed encoded query against one record, and the value ordering used by ORDERBY.
//!
//! Semantics follow ServiceNow: `=` is exact and case-sensitive, the text operators are
//! case-insensitive, range operators compare numbers as numbers and other values (dates in
//! `YYYY-MM-DD HH:MM:SS` form included) as text, and an empty value never satisfies a range.
//! Negative operators (`!=`, `NOT IN`, `NOT LIKE`) also match empty values, as ServiceNow adds
//! `OR field IS NULL` to them.

use super::parse::{Cond, Op, Query};
use std::cmp::Ordering;

/// Whether a record matches: any `^NQ` group whose every clause has a matching condition.
/// `get` returns the (possibly dot-walked) field's raw value, `""` when empty.
pub fn matches(query: &Query, get: &mut dyn FnMut(&str) -> String) -> bool {
    if query.groups.is_empty() {
        return true;
    }
    query.groups.iter().any(|group| {
        group.iter().all(|clause| {
            clause
                .iter()
                .any(|cond| cond_matches(cond, &get(&cond.field)))
        })
    })
}

fn cond_matches(cond: &Cond, actual: &str) -> bool {
    let expected = cond.value.as_str();
    match cond.op {
        Op::Eq => actual == expected,
        Op::Ne => actual != expected,
        Op::Lt => range(actual, expected, |o| o == Ordering::Less),
        Op::Le => range(actual, expected, |o| o != Ordering::Greater),
        Op::Gt => range(actual, expected, |o| o == Ordering::Greater),
        Op::Ge => range(actual, expected, |o| o != Ordering::Less),
        Op::In => expected.split(',').any(|v| v == actual),
        Op::NotIn => !expected.split(',').any(|v| v == actual),
        Op::Like => lower(actual).contains(&lower(expected)),
        Op::NotLike => !lower(actual).contains(&lower(expected)),
        Op::StartsWith => lower(actual).starts_with(&lower(expected)),
        Op::EndsWith => lower(actual).ends_with(&lower(expected)),
        Op::IsEmpty => actual.is_empty(),
        Op::IsNotEmpty => !actual.is_empty(),
        Op::Between => match expected.split_once('@') {
            Some((low, high)) => {
                range(actual, low, |o| o != Ordering::Less)
                    && range(actual, high, |o| o != Ordering::Greater)
            }
            None => false,
        },
    }
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn range(actual: &str, bound: &str, accept: impl Fn(Ordering) -> bool) -> bool {
    !actual.is_empty() && accept(compare_values(actual, bound))
}

/// Orders two raw values: numerically when both are numbers, else as text; empty first.
pub fn compare_values(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;
    use std::collections::HashMap;

    fn record(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn eval(q: &str, rec: &HashMap<String, String>) -> bool {
        let query = parse(q, &|f: &str| {
            [
                "state",
                "impact",
                "short_description",
                "assigned_to",
                "number",
                "caller_id.user_name",
                "sys_updated_on",
            ]
            .contains(&f)
        });
        matches(&query, &mut |f: &str| {
            rec.get(f).cloned().unwrap_or_default()
        })
    }

    #[test]
    fn each_operator_evaluates() {
        let r = record(&[
            ("state", "2"),
            ("impact", "10"),
            ("short_description", "Citrix session FROZEN"),
            ("number", "INC0010001"),
            ("caller_id.user_name", "alice.smith"),
            ("sys_updated_on", "2026-01-02 10:00:00"),
        ]);
        let yes = [
            "state=2",
            "state!=3",
            "impact>9",
            "impact>=10",
            "impact<11",
            "impact<=10",
            "stateIN1,2",
            "stateNOT IN3,4",
            "short_descriptionLIKEsession frozen",
            "short_descriptionNOT LIKEoutlook",
            "numberSTARTSWITHinc",
            "numberENDSWITH001",
            "assigned_toISEMPTY",
            "short_descriptionISNOTEMPTY",
            "impactBETWEEN5@10",
            "caller_id.user_name=alice.smith",
            "sys_updated_on>=2026-01-02 09:59:59",
        ];
        for q in yes {
            assert!(eval(q, &r), "{q} should match");
        }
        let no = [
            "state=3",
            "state!=2",
            "impact>10",
            "impact<10",
            "stateIN1,3",
            "stateNOT IN2",
            "short_descriptionLIKEoutlook",
            "short_descriptionNOT LIKEfrozen",
            "numberSTARTSWITHRITM",
            "numberENDSWITH2",
            "assigned_toISNOTEMPTY",
            "short_descriptionISEMPTY",
            "impactBETWEEN1@9",
            "caller_id.user_name=Alice.Smith",
            "sys_updated_on<2026-01-02 10:00:00",
            "assigned_to<5",
        ];
        for q in no {
            assert!(!eval(q, &r), "{q} should not match");
        }
    }

    #[test]
    fn equality_is_case_sensitive_like_is_not() {
        let r = record(&[("short_description", "Outlook hangs")]);
        assert!(!eval("short_description=outlook hangs", &r));
        assert!(eval("short_descriptionLIKEOUTLOOK", &r));
    }

    #[test]
    fn negative_operators_match_empty_values() {
        let r = record(&[]);
        assert!(eval("assigned_to!=abc", &r));
        assert!(eval("assigned_toNOT INabc,def", &r));
    }

    #[test]
    fn or_and_nq_combine() {
        let r = record(&[("state", "3"), ("impact", "1")]);
        assert!(eval("state=1^ORstate=3^impact=1", &r));
        assert!(!eval("state=1^ORstate=2^impact=1", &r));
        assert!(eval("state=1^NQimpact=1", &r));
        assert!(!eval("state=1^NQimpact=2", &r));
    }

    #[test]
    fn escaped_carets_match_literal_values() {
        let r = record(&[("short_description", "a^b"), ("state", "1")]);
        assert!(eval("short_description=a^^b^state=1", &r));
        assert!(!eval("short_description=a^state=1", &r));
    }

    #[test]
    fn invalid_parts_are_ignored() {
        let r = record(&[("state", "1")]);
        assert!(eval("nosuch=5^state=1", &r));
    }

    #[test]
    fn values_order_numbers_numerically_and_empty_first() {
        assert_eq!(compare_values("9", "10"), Ordering::Less);
        assert_eq!(compare_values("", "1"), Ordering::Less);
        assert_eq!(compare_values("INC2", "INC10"), Ordering::Greater);
        assert_eq!(compare_values("-5", "1"), Ordering::Less);
    }
}
