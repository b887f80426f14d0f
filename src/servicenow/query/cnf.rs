//! Rewriting one `^NQ` group into the AND-of-ORs shape an encoded query can express, after
//! `IN`/`NOT IN` elements holding commas have been turned into `=`/`!=` conditions.

use super::{Condition, Join, Op, Operand, QueryError, escape};

/// Upper bound on clauses produced by distributing rewritten `NOT IN` lists over OR-clauses.
pub(super) const MAX_CLAUSES: usize = 1_000;

/// One `<field><OP><value>` condition, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Atom {
    field: String,
    op: Op,
    value: String,
}

impl Atom {
    pub(super) fn encode(&self, out: &mut String) {
        out.push_str(&self.field);
        out.push_str(self.op.as_str());
        out.push_str(&escape(&self.value));
    }
}

/// Expands a condition into a conjunction of disjunctions of atoms (CNF).
fn expand(cond: &Condition) -> Vec<Vec<Atom>> {
    let atom = |op: Op, value: String| Atom {
        field: cond.field.clone(),
        op,
        value,
    };
    match (&cond.operand, cond.op) {
        (Operand::None, op) => vec![vec![atom(op, String::new())]],
        (Operand::One(v), op) => vec![vec![atom(op, v.clone())]],
        (Operand::List(values), Op::NotIn) => {
            // x NOT IN {a, "b,c"}  ==  x NOT IN a  AND  x != "b,c"
            let (plain, commas): (Vec<&String>, Vec<&String>) =
                values.iter().partition(|v| !v.contains(','));
            let mut out = Vec::new();
            if !plain.is_empty() {
                out.push(vec![atom(Op::NotIn, join_plain(&plain))]);
            }
            out.extend(commas.into_iter().map(|v| vec![atom(Op::Ne, v.clone())]));
            out
        }
        (Operand::List(values), op) => {
            // x IN {a, "b,c"}  ==  x IN a  OR  x = "b,c"
            let (plain, commas): (Vec<&String>, Vec<&String>) =
                values.iter().partition(|v| !v.contains(','));
            let mut clause = Vec::new();
            if !plain.is_empty() {
                clause.push(atom(op, join_plain(&plain)));
            }
            clause.extend(commas.into_iter().map(|v| atom(Op::Eq, v.clone())));
            vec![clause]
        }
    }
}

fn join_plain(values: &[&String]) -> String {
    values
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Turns one `^NQ` group into CNF clauses, distributing OR over expanded conjunctions.
pub(super) fn clauses(group: &[(Join, Condition)]) -> Result<Vec<Vec<Atom>>, QueryError> {
    let mut out: Vec<Vec<Vec<Atom>>> = Vec::new(); // clauses; each in CNF (AND of ORs)
    for (join, cond) in group {
        let cnf = expand(cond);
        match (join, out.last_mut()) {
            (Join::Or, Some(prev)) => {
                // (A1 ∧ A2) ∨ (B1 ∧ B2) = ∧ over pairs of (Ai ∨ Bj)
                let mut merged = Vec::with_capacity(prev.len() * cnf.len());
                for a in prev.iter() {
                    for b in &cnf {
                        let mut clause = a.clone();
                        clause.extend(b.iter().cloned());
                        merged.push(clause);
                    }
                }
                if merged.len() > MAX_CLAUSES {
                    return Err(QueryError::TooComplex(MAX_CLAUSES));
                }
                *prev = merged;
            }
            _ => out.push(cnf),
        }
    }
    let flat: Vec<Vec<Atom>> = out.into_iter().flatten().collect();
    if flat.len() > MAX_CLAUSES {
        return Err(QueryError::TooComplex(MAX_CLAUSES));
    }
    Ok(flat)
}
