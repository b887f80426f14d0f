//! The instance's in-memory database: tables of string-valued records indexed by sys_id, number
//! counters, the choice-label cache, dot-walk resolution and query selection.
//!
//! Business rules live in `rules`; this module only stores, finds and orders records.

use super::query::{Query, compare_values, matches, parse};
use super::schema::{Kind, TableDef, table_def, tables};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// One record: values aligned with its table's fields.
#[derive(Debug, Clone)]
pub struct Record {
    pub def: &'static TableDef,
    pub values: Vec<String>,
}

impl Record {
    /// An empty record of `def` (every field `""`).
    pub fn empty(def: &'static TableDef) -> Self {
        Record {
            def,
            values: vec![String::new(); def.fields.len()],
        }
    }

    pub fn sys_id(&self) -> &str {
        &self.values[0]
    }

    /// The raw value of a direct field, `""` when empty or unknown.
    pub fn get(&self, field: &str) -> &str {
        self.def
            .index(field)
            .and_then(|i| self.values.get(i))
            .map_or("", String::as_str)
    }

    /// Sets a direct field; unknown fields are ignored, as ServiceNow ignores them on insert.
    pub fn set(&mut self, field: &str, value: impl Into<String>) {
        if let Some(i) = self.def.index(field) {
            self.values[i] = value.into();
        }
    }
}

/// A resolved (possibly dot-walked) field path.
#[derive(Debug, Clone)]
pub enum Path {
    /// Field indices, one per hop; every hop but the last is a reference.
    Fields(Vec<(&'static TableDef, usize)>),
    /// `variables.<name>` on a requested item or catalog task.
    Variable(String),
}

impl Path {
    /// The kind of the final field.
    pub fn kind(&self) -> Kind {
        match self {
            Path::Fields(steps) => steps
                .last()
                .map_or(Kind::Str, |(def, i)| def.fields[*i].kind),
            Path::Variable(_) => Kind::Str,
        }
    }

    /// The table and field name that own the final value (for choice labels).
    pub fn owner(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Path::Fields(steps) => steps.last().map(|(def, i)| (def.name, def.fields[*i].name)),
            Path::Variable(_) => None,
        }
    }
}

#[derive(Debug)]
struct Table {
    pub def: &'static TableDef,
    pub rows: Vec<Record>,
    by_id: HashMap<String, usize>,
}

/// All tables of one instance.
#[derive(Debug)]
pub struct Db {
    tables: HashMap<&'static str, Table>,
    numbers: HashMap<&'static str, u64>,
    /// (table, element, value) → label, rebuilt whenever `sys_choice` changes.
    choices: HashMap<(String, String, String), String>,
    /// RITM sys_id → its `sc_item_option` sys_ids, for `variables.<name>`.
    variables: HashMap<String, Vec<String>>,
    rng: ChaCha8Rng,
}

impl Db {
    pub fn new(rng: ChaCha8Rng) -> Self {
        let tables = tables()
            .iter()
            .map(|def| {
                (
                    def.name,
                    Table {
                        def,
                        rows: Vec::new(),
                        by_id: HashMap::new(),
                    },
                )
            })
            .collect();
        Db {
            tables,
            numbers: HashMap::new(),
            choices: HashMap::new(),
            variables: HashMap::new(),
            rng,
        }
    }

    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// A fresh random sys_id (32 lower-case hex digits).
    pub fn new_sys_id(&mut self) -> String {
        format!("{:032x}", self.rng.random::<u128>())
    }

    /// The next number for a task table: `INC0010001`, `INC0010002`…
    pub fn next_number(&mut self, prefix: &'static str) -> String {
        let n = self.numbers.entry(prefix).or_insert(10_000);
        *n += 1;
        format!("{prefix}{n:07}")
    }

    pub fn get(&self, table: &str, sys_id: &str) -> Option<&Record> {
        let t = self.tables.get(table)?;
        t.by_id.get(sys_id).and_then(|&i| t.rows.get(i))
    }

    pub fn get_mut(&mut self, table: &str, sys_id: &str) -> Option<&mut Record> {
        let t = self.tables.get_mut(table)?;
        let i = *t.by_id.get(sys_id)?;
        t.rows.get_mut(i)
    }

    /// Stores a record as is (its sys_id must be set), keeping the side indexes current.
    pub fn insert(&mut self, record: Record) {
        let name = record.def.name;
        if name == "sc_item_option_mtom" {
            let ritm = record.get("request_item").to_string();
            let option = record.get("sc_item_option").to_string();
            self.variables.entry(ritm).or_default().push(option);
        }
        let is_choice = name == "sys_choice";
        if let Some(t) = self.tables.get_mut(name) {
            let id = record.sys_id().to_string();
            match t.by_id.get(&id) {
                Some(&i) => t.rows[i] = record,
                None => {
                    t.by_id.insert(id, t.rows.len());
                    t.rows.push(record);
                }
            }
        }
        if is_choice {
            self.rebuild_choices();
        }
    }

    /// Replaces a stored record (after an update).
    pub fn replace(&mut self, record: Record) {
        self.insert(record);
    }

    /// Deletes a record; returns whether it existed.
    pub fn delete(&mut self, table: &str, sys_id: &str) -> bool {
        let Some(t) = self.tables.get_mut(table) else {
            return false;
        };
        let Some(i) = t.by_id.remove(sys_id) else {
            return false;
        };
        let removed = t.rows.remove(i);
        // Rows after the removed one moved down by one.
        for (pos, row) in t.rows.iter().enumerate().skip(i) {
            t.by_id.insert(row.sys_id().to_string(), pos);
        }
        match table {
            "sc_item_option_mtom" => {
                if let Some(list) = self.variables.get_mut(removed.get("request_item")) {
                    list.retain(|o| o != removed.get("sc_item_option"));
                }
            }
            "sys_choice" => self.rebuild_choices(),
            _ => {}
        }
        true
    }

    fn rebuild_choices(&mut self) {
        self.choices = self
            .tables
            .get("sys_choice")
            .map(|t| {
                t.rows
                    .iter()
                    .map(|r| {
                        (
                            (
                                r.get("name").to_string(),
                                r.get("element").to_string(),
                                r.get("value").to_string(),
                            ),
                            r.get("label").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
    }

    /// The label of a choice value, if `sys_choice` has one.
    pub fn choice_label(&self, table: &str, element: &str, value: &str) -> Option<&str> {
        let get = |t: &str| {
            self.choices
                .get(&(t.to_string(), element.to_string(), value.to_string()))
        };
        // Task tables inherit the labels defined on `task`.
        get(table)
            .or_else(|| {
                table_def(table)
                    .filter(|d| d.is_task())
                    .and_then(|_| get("task"))
            })
            .map(String::as_str)
    }

    /// Resolves `caller_id.user_name`-style paths against `def`.
    pub fn resolve(&self, def: &'static TableDef, path: &str) -> Option<Path> {
        if let Some(name) = path.strip_prefix("variables.")
            && matches!(def.name, "sc_req_item" | "sc_task")
            && !name.is_empty()
            && !name.contains('.')
        {
            return Some(Path::Variable(name.to_string()));
        }
        let mut current = def;
        let mut steps = Vec::new();
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let i = current.index(part)?;
            steps.push((current, i));
            if parts.peek().is_some() {
                match current.fields[i].kind {
                    Kind::Ref(target) => current = table_def(target)?,
                    _ => return None,
                }
            }
        }
        Some(Path::Fields(steps))
    }

    /// The raw value at `path` for `record`, `""` when empty or a reference dangles.
    pub fn value(&self, record: &Record, path: &Path) -> String {
        match path {
            Path::Fields(steps) => {
                let mut current = record;
                for (n, (_, i)) in steps.iter().enumerate() {
                    let value = current.values.get(*i).map_or("", String::as_str);
                    if n + 1 == steps.len() {
                        if current.def.fields[*i].kind == Kind::Journal {
                            return String::new();
                        }
                        return value.to_string();
                    }
                    let Kind::Ref(target) = current.def.fields[*i].kind else {
                        return String::new();
                    };
                    match self.get(target, value) {
                        Some(next) => current = next,
                        None => return String::new(),
                    }
                }
                String::new()
            }
            Path::Variable(name) => self.variable(record, name).unwrap_or_default(),
        }
    }

    /// The value of catalog variable `name` for a RITM (or a task's RITM).
    pub fn variable(&self, record: &Record, name: &str) -> Option<String> {
        let ritm = match record.def.name {
            "sc_task" => record.get("request_item"),
            _ => record.sys_id(),
        };
        self.variables.get(ritm)?.iter().find_map(|option_id| {
            let option = self.get("sc_item_option", option_id)?;
            let question = self.get("item_option_new", option.get("item_option_new"))?;
            (question.get("name") == name).then(|| option.get("value").to_string())
        })
    }

    /// The display value of a reference: the target's display field.
    pub fn reference_display(&self, target: &str, sys_id: &str) -> String {
        self.get(target, sys_id)
            .map(|r| r.get(r.def.display).to_string())
            .unwrap_or_default()
    }

    /// Parses an encoded query against `def`'s fields.
    pub fn parse_query(&self, def: &'static TableDef, query: &str) -> Query {
        parse(query, &|field: &str| self.resolve(def, field).is_some())
    }

    /// The records of `def` matching `query`, in the query's order (insertion order otherwise).
    pub fn select(&self, def: &'static TableDef, query: &Query) -> Vec<&Record> {
        let Some(table) = self.tables.get(def.name) else {
            return Vec::new();
        };
        let mut paths: HashMap<&str, Path> = HashMap::new();
        for cond in query.groups.iter().flatten().flatten() {
            if let Some(p) = self.resolve(def, &cond.field) {
                paths.insert(cond.field.as_str(), p);
            }
        }
        let mut rows: Vec<&Record> = table
            .rows
            .iter()
            .filter(|record| {
                matches(query, &mut |field: &str| {
                    paths
                        .get(field)
                        .map(|p| self.value(record, p))
                        .unwrap_or_default()
                })
            })
            .collect();
        let order: Vec<(Path, bool)> = query
            .order
            .iter()
            .filter_map(|o| self.resolve(def, &o.field).map(|p| (p, o.desc)))
            .collect();
        if !order.is_empty() {
            // Computing the keys once keeps dot-walked sorts linear in lookups.
            let mut keyed: Vec<(Vec<String>, &Record)> = rows
                .into_iter()
                .map(|r| (order.iter().map(|(p, _)| self.value(r, p)).collect(), r))
                .collect();
            keyed.sort_by(|(a, _), (b, _)| {
                for (n, (_, desc)) in order.iter().enumerate() {
                    let o = compare_values(&a[n], &b[n]);
                    let o = if *desc { o.reverse() } else { o };
                    if o.is_ne() {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            });
            rows = keyed.into_iter().map(|(_, r)| r).collect();
        }
        rows
    }

    /// Every record of `table` whose `field` equals `value`.
    pub fn find_all(&self, table: &str, field: &str, value: &str) -> Vec<&Record> {
        self.tables
            .get(table)
            .map(|t| t.rows.iter().filter(|r| r.get(field) == value).collect())
            .unwrap_or_default()
    }

    /// How many records each table holds.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<_> = self
            .tables
            .values()
            .map(|t| (t.def.name, t.rows.len()))
            .collect();
        counts.sort_unstable();
        counts
    }
}
