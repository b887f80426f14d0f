//! A typed builder for ServiceNow encoded queries (`sysparm_query`).
//!
//! The builder never emits a broken query: field names are checked, a literal `^` in a value is
//! doubled, and `IN`/`NOT IN` elements that hold a comma (which the list syntax cannot carry) are
//! rewritten into equivalent `=`/`!=` conditions. Validation errors surface from
//! [`Query::build`], so the chaining methods stay infallible.
//!
//! Semantics follow ServiceNow: `^OR` binds tighter than `^`, so a group is an AND of OR-clauses,
//! and `^NQ` ORs whole groups together. The builder keeps exactly that shape internally.

use cnf::clauses;
use std::fmt;

mod cnf;

/// A condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
}

impl Op {
    /// The operator as written in an encoded query.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "IN",
            Op::NotIn => "NOT IN",
            Op::Like => "LIKE",
            Op::NotLike => "NOT LIKE",
            Op::StartsWith => "STARTSWITH",
            Op::EndsWith => "ENDSWITH",
            Op::IsEmpty => "ISEMPTY",
            Op::IsNotEmpty => "ISNOTEMPTY",
        }
    }
}

/// Why a query could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("invalid field name {0:?}: field names are letters, digits, `_` and `.`")]
    InvalidField(String),
    #[error("field name {0:?} is ambiguous in an encoded query (it starts with OR, NQ or ORDERBY)")]
    AmbiguousField(String),
    #[error("{op} on `{field}` needs at least one value")]
    EmptyList { field: String, op: &'static str },
    #[error("value for `{field}{op}` starts with `=`, which would read as a different operator")]
    AmbiguousValue { field: String, op: &'static str },
    #[error("the query expands to more than {0} clauses after rewriting NOT IN values with commas")]
    TooComplex(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Operand {
    None,
    One(String),
    List(Vec<String>),
}

/// A condition as the caller wrote it, before list rewriting.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    field: String,
    op: Op,
    operand: Operand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    And,
    Or,
}

/// An encoded-query builder. Chain conditions, then call [`Query::build`].
///
/// ```
/// use deskbridge::servicenow::Query;
/// let q = Query::new()
///     .eq("active", "true")
///     .in_("state", ["1", "2"])
///     .like("short_description", "vpn")
///     .or_like("number", "vpn")
///     .order_by("priority")
///     .order_by_desc("sys_updated_on")
///     .build()?;
/// assert_eq!(
///     q.to_string(),
///     "active=true^stateIN1,2^short_descriptionLIKEvpn^ORnumberLIKEvpn\
///      ^ORDERBYpriority^ORDERBYDESCsys_updated_on"
/// );
/// # Ok::<(), deskbridge::servicenow::QueryError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// `^NQ`-separated groups; each group is a list of (join, condition).
    groups: Vec<Vec<(Join, Condition)>>,
    order: Vec<(String, bool)>,
    /// The first invalid field met while chaining; reported by `build`.
    error: Option<QueryError>,
}

/// Generates an AND method and an OR method for an operator that takes one value.
macro_rules! value_ops {
    ($($and:ident, $or:ident => $op:expr, $doc:literal;)+) => {$(
        #[doc = concat!("AND a `", $doc, "` condition.")]
        pub fn $and(self, field: impl Into<String>, value: impl Into<String>) -> Self {
            self.push(Join::And, field.into(), $op, Operand::One(value.into()))
        }
        #[doc = concat!("OR a `", $doc, "` condition with the previous one.")]
        pub fn $or(self, field: impl Into<String>, value: impl Into<String>) -> Self {
            self.push(Join::Or, field.into(), $op, Operand::One(value.into()))
        }
    )+};
}

impl Query {
    pub fn new() -> Self {
        Self::default()
    }

    value_ops! {
        eq, or_eq => Op::Eq, "=";
        ne, or_ne => Op::Ne, "!=";
        lt, or_lt => Op::Lt, "<";
        le, or_le => Op::Le, "<=";
        gt, or_gt => Op::Gt, ">";
        ge, or_ge => Op::Ge, ">=";
        like, or_like => Op::Like, "LIKE";
        not_like, or_not_like => Op::NotLike, "NOT LIKE";
        starts_with, or_starts_with => Op::StartsWith, "STARTSWITH";
        ends_with, or_ends_with => Op::EndsWith, "ENDSWITH";
    }

    /// AND `field IN (values)`.
    pub fn in_<I, S>(self, field: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.push(Join::And, field.into(), Op::In, list(values))
    }

    /// OR `field IN (values)` with the previous condition.
    pub fn or_in<I, S>(self, field: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.push(Join::Or, field.into(), Op::In, list(values))
    }

    /// AND `field NOT IN (values)`.
    pub fn not_in<I, S>(self, field: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.push(Join::And, field.into(), Op::NotIn, list(values))
    }

    /// OR `field NOT IN (values)` with the previous condition.
    pub fn or_not_in<I, S>(self, field: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.push(Join::Or, field.into(), Op::NotIn, list(values))
    }

    /// AND `field ISEMPTY`.
    pub fn is_empty(self, field: impl Into<String>) -> Self {
        self.push(Join::And, field.into(), Op::IsEmpty, Operand::None)
    }

    /// OR `field ISEMPTY` with the previous condition.
    pub fn or_is_empty(self, field: impl Into<String>) -> Self {
        self.push(Join::Or, field.into(), Op::IsEmpty, Operand::None)
    }

    /// AND `field ISNOTEMPTY`.
    pub fn is_not_empty(self, field: impl Into<String>) -> Self {
        self.push(Join::And, field.into(), Op::IsNotEmpty, Operand::None)
    }

    /// OR `field ISNOTEMPTY` with the previous condition.
    pub fn or_is_not_empty(self, field: impl Into<String>) -> Self {
        self.push(Join::Or, field.into(), Op::IsNotEmpty, Operand::None)
    }

    /// AND a condition with any operator; `value` is ignored for ISEMPTY/ISNOTEMPTY and split
    /// on nothing for IN/NOT IN (use [`Query::in_`] for lists).
    pub fn cond(self, field: impl Into<String>, op: Op, value: impl Into<String>) -> Self {
        self.push(Join::And, field.into(), op, operand(op, value.into()))
    }

    /// OR a condition with any operator with the previous one.
    pub fn or_cond(self, field: impl Into<String>, op: Op, value: impl Into<String>) -> Self {
        self.push(Join::Or, field.into(), op, operand(op, value.into()))
    }

    /// Starts a new query group (`^NQ`): the groups are OR'ed together.
    pub fn new_query(mut self) -> Self {
        if self.groups.last().is_some_and(|g| !g.is_empty()) {
            self.groups.push(Vec::new());
        }
        self
    }

    /// Both queries must hold. Groups (`^NQ`) are distributed, `(A ∨ B) ∧ (C ∨ D)` becoming
    /// `A∧C ∨ A∧D ∨ B∧C ∨ B∧D`, since an encoded query cannot nest them; sorts are appended.
    pub fn and(self, other: Query) -> Self {
        let error = self.error.or(other.error);
        let left: Vec<_> = self.groups.into_iter().filter(|g| !g.is_empty()).collect();
        let right: Vec<_> = other.groups.into_iter().filter(|g| !g.is_empty()).collect();
        let groups = match (left.is_empty(), right.is_empty()) {
            (true, _) => right,
            (_, true) => left,
            _ => {
                let mut out = Vec::with_capacity(left.len() * right.len());
                for l in &left {
                    for r in &right {
                        let mut g = l.clone();
                        for (i, (join, cond)) in r.iter().enumerate() {
                            // The first condition of a group starts a new AND clause.
                            let join = if i == 0 { Join::And } else { *join };
                            g.push((join, cond.clone()));
                        }
                        out.push(g);
                    }
                }
                out
            }
        };
        let mut order = self.order;
        order.extend(other.order);
        Query {
            groups,
            order,
            error,
        }
    }

    /// Sorts ascending by `field` (repeatable; earlier sorts take precedence).
    pub fn order_by(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.check_field(&field);
        self.order.push((field, false));
        self
    }

    /// Sorts descending by `field`.
    pub fn order_by_desc(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.check_field(&field);
        self.order.push((field, true));
        self
    }

    /// Whether no condition and no ordering was added.
    pub fn is_blank(&self) -> bool {
        self.order.is_empty() && self.groups.iter().all(Vec::is_empty)
    }

    /// Validates and encodes the query.
    pub fn build(&self) -> Result<EncodedQuery, QueryError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let mut parts: Vec<String> = Vec::new();
        for group in self.groups.iter().filter(|g| !g.is_empty()) {
            let clauses = clauses(group)?;
            let encoded: Vec<String> = clauses
                .iter()
                .map(|clause| {
                    let mut out = String::new();
                    for (i, atom) in clause.iter().enumerate() {
                        if i > 0 {
                            out.push_str("^OR");
                        }
                        atom.encode(&mut out);
                    }
                    out
                })
                .collect();
            parts.push(encoded.join("^"));
        }
        let mut out = parts.join("^NQ");
        for (field, desc) in &self.order {
            if !out.is_empty() {
                out.push('^');
            }
            out.push_str(if *desc { "ORDERBYDESC" } else { "ORDERBY" });
            out.push_str(field);
        }
        Ok(EncodedQuery(out))
    }

    fn check_field(&mut self, field: &str) {
        if self.error.is_none() {
            self.error = validate_field(field).err();
        }
    }

    fn push(mut self, join: Join, field: String, op: Op, operand: Operand) -> Self {
        self.check_field(&field);
        if self.error.is_none() {
            self.error = check_operand(&field, op, &operand).err();
        }
        if self.groups.is_empty() {
            self.groups.push(Vec::new());
        }
        if let Some(group) = self.groups.last_mut() {
            group.push((join, Condition { field, op, operand }));
        }
        self
    }
}

/// A validated encoded query, ready for `sysparm_query`. `Display` gives the encoded string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct EncodedQuery(String);

impl EncodedQuery {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Wraps an encoded query written elsewhere (for example a filter copied from an instance's
    /// list view into configuration). It is passed on unchecked.
    pub fn from_raw(raw: impl Into<String>) -> Self {
        EncodedQuery(raw.into())
    }
}

impl fmt::Display for EncodedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EncodedQuery {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Checks a field name against `[A-Za-z0-9_.]+`, and refuses names an encoded-query parser
/// would read as a keyword after `^`.
pub fn validate_field(field: &str) -> Result<(), QueryError> {
    let valid = !field.is_empty()
        && field
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    if !valid {
        return Err(QueryError::InvalidField(field.to_owned()));
    }
    if field.starts_with("OR") || field.starts_with("NQ") {
        return Err(QueryError::AmbiguousField(field.to_owned()));
    }
    Ok(())
}

fn check_operand(field: &str, op: Op, operand: &Operand) -> Result<(), QueryError> {
    match operand {
        Operand::List(values) if values.is_empty() => Err(QueryError::EmptyList {
            field: field.to_owned(),
            op: op.as_str(),
        }),
        // `f<` + `=5` reads as `f<=5`; refuse rather than change the meaning.
        Operand::One(v) if matches!(op, Op::Lt | Op::Gt) && v.starts_with('=') => {
            Err(QueryError::AmbiguousValue {
                field: field.to_owned(),
                op: op.as_str(),
            })
        }
        _ => Ok(()),
    }
}

fn list<I, S>(values: I) -> Operand
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Operand::List(values.into_iter().map(Into::into).collect())
}

fn operand(op: Op, value: String) -> Operand {
    match op {
        Op::IsEmpty | Op::IsNotEmpty => Operand::None,
        Op::In | Op::NotIn => Operand::List(vec![value]),
        _ => Operand::One(value),
    }
}

/// Doubles every `^`, the only character a value cannot carry as is.
pub fn escape(value: &str) -> String {
    value.replace('^', "^^")
}

#[cfg(test)]
mod tests;
