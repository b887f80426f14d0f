//! The encoded-query parser: `^` (AND), `^OR`, `^NQ`, `^^` escapes, operators and ORDERBY.
//!
//! The parser is told which field names exist, because keyword operators (`IN`, `LIKE`…) follow
//! the field name with no separator and field names may contain upper-case letters: the split is
//! the shortest known field followed by an operator.

/// A condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Like,
    NotLike,
    StartsWith,
    EndsWith,
    IsEmpty,
    IsNotEmpty,
    Between,
}

/// Operators by their spelling, longest first so that `<=` wins over `<`, `NOT IN` over nothing.
const OPS: &[(&str, Op)] = &[
    ("ISNOTEMPTY", Op::IsNotEmpty),
    ("STARTSWITH", Op::StartsWith),
    ("NOT LIKE", Op::NotLike),
    ("ENDSWITH", Op::EndsWith),
    ("BETWEEN", Op::Between),
    ("ISEMPTY", Op::IsEmpty),
    ("NOT IN", Op::NotIn),
    ("LIKE", Op::Like),
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("IN", Op::In),
    ("=", Op::Eq),
    ("<", Op::Lt),
    (">", Op::Gt),
];

/// One `<field><OP><value>` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    pub field: String,
    pub op: Op,
    pub value: String,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub field: String,
    pub desc: bool,
}

/// A parsed query: OR'ed groups (`^NQ`) of AND'ed clauses, each clause OR'ed conditions (`^OR`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub groups: Vec<Vec<Vec<Cond>>>,
    pub order: Vec<Order>,
    /// Some part was not understood (unknown field or operator) and was dropped.
    pub invalid: bool,
}

/// Splits on single `^`, turning `^^` into a literal `^`.
fn split_parts(query: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '^' {
            if chars.peek() == Some(&'^') {
                chars.next();
                current.push('^');
            } else {
                parts.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
}

fn is_field_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Parses one condition, or `None` when no known field is followed by a known operator.
fn parse_cond(part: &str, is_field: &dyn Fn(&str) -> bool) -> Option<Cond> {
    let run = part.find(|c: char| !is_field_char(c)).unwrap_or(part.len());
    // Field characters are ASCII, so every index up to `run` is a char boundary.
    for split in 1..=run {
        let (field, rest) = part.split_at(split);
        let Some(&(spelling, op)) = OPS.iter().find(|(s, _)| rest.starts_with(s)) else {
            continue;
        };
        if !is_field(field) {
            continue;
        }
        let value = &rest[spelling.len()..];
        if matches!(op, Op::IsEmpty | Op::IsNotEmpty) && !value.is_empty() {
            continue;
        }
        return Some(Cond {
            field: field.to_string(),
            op,
            value: value.to_string(),
        });
    }
    None
}

/// Parses an encoded query; `is_field` says whether a (possibly dot-walked) field exists.
pub fn parse(query: &str, is_field: &dyn Fn(&str) -> bool) -> Query {
    let mut out = Query::default();
    let mut group: Vec<Vec<Cond>> = Vec::new();
    for part in split_parts(query) {
        if part.is_empty() {
            continue;
        }
        if let Some(field) = part.strip_prefix("ORDERBYDESC") {
            push_order(&mut out, field, true, is_field);
            continue;
        }
        if let Some(field) = part.strip_prefix("ORDERBY") {
            push_order(&mut out, field, false, is_field);
            continue;
        }
        let (body, joint) = if let Some(rest) = part.strip_prefix("NQ") {
            (rest, Joint::NewQuery)
        } else if let Some(rest) = part.strip_prefix("OR") {
            // A field may itself start with "OR" only in upper case, which ServiceNow never uses.
            (rest, Joint::Or)
        } else {
            (part.as_str(), Joint::And)
        };
        if joint == Joint::NewQuery && !group.is_empty() {
            out.groups.push(std::mem::take(&mut group));
        }
        let Some(cond) = parse_cond(body, is_field) else {
            out.invalid = true;
            continue;
        };
        match (joint, group.last_mut()) {
            (Joint::Or, Some(clause)) => clause.push(cond),
            _ => group.push(vec![cond]),
        }
    }
    if !group.is_empty() {
        out.groups.push(group);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Joint {
    And,
    Or,
    NewQuery,
}

fn push_order(out: &mut Query, field: &str, desc: bool, is_field: &dyn Fn(&str) -> bool) {
    if is_field(field) {
        out.order.push(Order {
            field: field.to_string(),
            desc,
        });
    } else {
        out.invalid = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(field: &str) -> bool {
        [
            "state",
            "active",
            "impact",
            "short_description",
            "description",
            "number",
            "caller_id.user_name",
            "assigned_to",
            "subcategory",
        ]
        .contains(&field)
    }

    fn p(q: &str) -> Query {
        parse(q, &known)
    }

    fn cond(field: &str, op: Op, value: &str) -> Cond {
        Cond {
            field: field.into(),
            op,
            value: value.into(),
        }
    }

    #[test]
    fn every_operator_parses() {
        let cases = [
            ("state=2", Op::Eq, "2"),
            ("state!=2", Op::Ne, "2"),
            ("impact<2", Op::Lt, "2"),
            ("impact<=2", Op::Le, "2"),
            ("impact>2", Op::Gt, "2"),
            ("impact>=2", Op::Ge, "2"),
            ("stateIN1,2,3", Op::In, "1,2,3"),
            ("stateNOT IN6,7", Op::NotIn, "6,7"),
            ("short_descriptionLIKEcitrix", Op::Like, "citrix"),
            ("short_descriptionNOT LIKEcitrix", Op::NotLike, "citrix"),
            ("numberSTARTSWITHINC", Op::StartsWith, "INC"),
            ("numberENDSWITH01", Op::EndsWith, "01"),
            ("assigned_toISEMPTY", Op::IsEmpty, ""),
            ("assigned_toISNOTEMPTY", Op::IsNotEmpty, ""),
            ("impactBETWEEN1@2", Op::Between, "1@2"),
        ];
        for (q, op, value) in cases {
            let parsed = p(q);
            let field = q
                .split(|c: char| !c.is_ascii_lowercase() && c != '_')
                .next()
                .unwrap_or_default();
            assert_eq!(
                parsed.groups,
                vec![vec![vec![cond(field, op, value)]]],
                "{q}"
            );
            assert!(!parsed.invalid, "{q}");
        }
    }

    #[test]
    fn values_keep_operators_spaces_and_unicode() {
        let q = p("short_description=a=b!c<d Müller ✓");
        assert_eq!(
            q.groups[0][0][0],
            cond("short_description", Op::Eq, "a=b!c<d Müller ✓")
        );
    }

    #[test]
    fn doubled_carets_are_literal() {
        let q = p("short_description=x^^y^^^state=1");
        assert_eq!(q.groups[0][0][0].value, "x^y^");
        assert_eq!(q.groups[0][1][0], cond("state", Op::Eq, "1"));
    }

    #[test]
    fn or_joins_the_previous_condition_and_nq_starts_a_group() {
        let q = p("active=true^stateIN1,2^ORassigned_toISEMPTY^NQnumber=INC1");
        assert_eq!(q.groups.len(), 2);
        assert_eq!(q.groups[0].len(), 2);
        assert_eq!(q.groups[0][1].len(), 2);
        assert_eq!(q.groups[1], vec![vec![cond("number", Op::Eq, "INC1")]]);
    }

    #[test]
    fn order_by_parses_and_is_not_mistaken_for_or() {
        let q = p("active=true^ORDERBYnumber^ORDERBYDESCstate");
        assert_eq!(
            q.order,
            vec![
                Order {
                    field: "number".into(),
                    desc: false
                },
                Order {
                    field: "state".into(),
                    desc: true
                }
            ]
        );
        assert_eq!(q.groups, vec![vec![vec![cond("active", Op::Eq, "true")]]]);
    }

    #[test]
    fn dot_walked_fields_parse() {
        let q = p("caller_id.user_name=alice.smith");
        assert_eq!(
            q.groups[0][0][0],
            cond("caller_id.user_name", Op::Eq, "alice.smith")
        );
    }

    #[test]
    fn invalid_parts_are_dropped_and_flagged() {
        let q = p("nosuch=1^state=2^stateFOO3^ORDERBYnosuch");
        assert!(q.invalid);
        assert_eq!(q.groups, vec![vec![vec![cond("state", Op::Eq, "2")]]]);
        assert!(q.order.is_empty());
        assert!(!p("").invalid);
        assert!(p("").groups.is_empty());
    }

    #[test]
    fn keyword_values_after_keyword_operators() {
        let q = p("short_descriptionLIKEISEMPTY");
        assert_eq!(
            q.groups[0][0][0],
            cond("short_description", Op::Like, "ISEMPTY")
        );
    }
}
