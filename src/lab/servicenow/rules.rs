//! Business rules run on every write: defaults and numbering on insert, system-field bumps,
//! priority from impact × urgency, journal appends, state side effects and the close-fields
//! data policy. The parent closure cascade lives in `cascade`.

use super::cascade;
use super::schema::{Kind, TableDef, table_def};
use super::store::{Db, Record};
use crate::model::Priority;

/// Who writes, when, and under which instance settings.
#[derive(Debug, Clone)]
pub struct WriteCtx {
    pub user_name: String,
    pub user_sys_id: String,
    /// `YYYY-MM-DD HH:MM:SS` UTC from the simulated clock.
    pub now: String,
    pub require_close_fields: bool,
}

/// A write refused by a rule; rendered with ServiceNow's error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub message: String,
    pub detail: String,
}

pub const INACTIVE_TASK_STATES: [&str; 3] = ["3", "4", "7"];

/// Fields a client may never set: the platform owns them.
fn is_system_field(field: &str) -> bool {
    matches!(
        field,
        "sys_created_on"
            | "sys_created_by"
            | "sys_updated_on"
            | "sys_updated_by"
            | "sys_mod_count"
            | "sys_class_name"
    )
}

/// Priority from the default lookup, when impact and urgency are 1 to 3.
pub fn priority(impact: &str, urgency: &str) -> Option<String> {
    let impact: u8 = impact.parse().ok().filter(|v| (1..=3).contains(v))?;
    let urgency: u8 = urgency.parse().ok().filter(|v| (1..=3).contains(v))?;
    Some(Priority::from_impact_urgency(impact, urgency).0.to_string())
}

/// Splits input into plain field values and journal entries, dropping unknown and system fields.
fn apply_input(
    record: &mut Record,
    input: &[(String, String)],
    allow_sys_id: bool,
) -> Vec<(&'static str, String)> {
    let mut journal = Vec::new();
    for (field, value) in input {
        let Some(def_field) = record.def.field(field) else {
            continue;
        };
        if def_field.kind == Kind::Journal {
            if field != "comments_and_work_notes" && !value.is_empty() {
                journal.push((def_field.name, value.clone()));
            }
            continue;
        }
        if is_system_field(field) || (field == "sys_id" && !allow_sys_id) {
            continue;
        }
        record.set(field, value.clone());
    }
    journal
}

/// Inserts a record of `def` built from `input`, with every insert rule applied.
pub fn insert(
    db: &mut Db,
    def: &'static TableDef,
    input: &[(String, String)],
    ctx: &WriteCtx,
) -> Result<Record, Rejection> {
    let mut record = Record::empty(def);
    set_defaults(db, &mut record, ctx);
    let journal = apply_input(&mut record, input, true);
    let valid_id = record.sys_id().len() == 32
        && record.sys_id().chars().all(|c| c.is_ascii_hexdigit())
        && db.get(def.name, record.sys_id()).is_none();
    if !valid_id {
        let id = db.new_sys_id();
        record.set("sys_id", id);
    }
    let before = Record::empty(def);
    derive(&before, &mut record, ctx)?;
    db.insert(record.clone());
    write_journal(db, &record, &journal, ctx);
    cascade::cascade(db, &before, &record, ctx);
    Ok(record)
}

/// Updates a record with `input`; `Ok(None)` when it does not exist.
pub fn update(
    db: &mut Db,
    def: &'static TableDef,
    sys_id: &str,
    input: &[(String, String)],
    ctx: &WriteCtx,
) -> Result<Option<Record>, Rejection> {
    let Some(before) = db.get(def.name, sys_id).cloned() else {
        return Ok(None);
    };
    let mut record = before.clone();
    let journal = apply_input(&mut record, input, false);
    derive(&before, &mut record, ctx)?;
    let count: u64 = record.get("sys_mod_count").parse().unwrap_or(0);
    record.set("sys_mod_count", (count + 1).to_string());
    record.set("sys_updated_on", ctx.now.clone());
    record.set("sys_updated_by", ctx.user_name.clone());
    db.replace(record.clone());
    write_journal(db, &record, &journal, ctx);
    cascade::cascade(db, &before, &record, ctx);
    Ok(Some(record))
}

fn set_defaults(db: &mut Db, record: &mut Record, ctx: &WriteCtx) {
    let def = record.def;
    record.set("sys_created_on", ctx.now.clone());
    record.set("sys_created_by", ctx.user_name.clone());
    record.set("sys_updated_on", ctx.now.clone());
    record.set("sys_updated_by", ctx.user_name.clone());
    record.set("sys_mod_count", "0");
    if let Some(prefix) = def.prefix {
        let number = db.next_number(prefix);
        record.set("number", number);
        record.set("sys_class_name", def.name);
        record.set("state", "1");
        record.set("active", "true");
        record.set("impact", "3");
        record.set("urgency", "3");
        record.set("opened_at", ctx.now.clone());
        record.set("opened_by", ctx.user_sys_id.clone());
    }
    match def.name {
        "incident" => {
            record.set("approval", "not requested");
            record.set("reassignment_count", "0");
            record.set("reopen_count", "0");
        }
        "sc_request" => {
            record.set("approval", "approved");
            record.set("request_state", "in_process");
            record.set("stage", "requested");
        }
        "sc_req_item" => {
            record.set("approval", "approved");
            record.set("stage", "fulfillment");
            record.set("quantity", "1");
        }
        "sys_user" | "sys_user_group" | "sc_cat_item" | "item_option_new" => {
            record.set("active", "true");
        }
        "sys_choice" => {
            record.set("inactive", "false");
            record.set("language", "en");
        }
        _ => {}
    }
}

/// Derived fields and state side effects, comparing the record before and after the write.
fn derive(before: &Record, record: &mut Record, ctx: &WriteCtx) -> Result<(), Rejection> {
    let def = record.def;
    if !def.is_task() {
        return Ok(());
    }
    if let Some(p) = priority(record.get("impact"), record.get("urgency")) {
        record.set("priority", p);
    }
    let old_state = before.get("state").to_string();
    let state = record.get("state").to_string();
    let changed = old_state != state;
    if def.name == "incident" {
        incident_effects(before, record, ctx, changed)?;
    } else if changed {
        if INACTIVE_TASK_STATES.contains(&state.as_str()) {
            record.set("active", "false");
            record.set("closed_at", ctx.now.clone());
            record.set("closed_by", ctx.user_sys_id.clone());
            match def.name {
                "sc_req_item" => {
                    let stage = if state == "4" {
                        "Request Cancelled"
                    } else {
                        "complete"
                    };
                    record.set("stage", stage);
                }
                "sc_request" => {
                    let closed = request_state_for(&state);
                    record.set("request_state", closed);
                    record.set("stage", closed);
                }
                _ => {}
            }
        } else if INACTIVE_TASK_STATES.contains(&old_state.as_str()) {
            record.set("active", "true");
            record.set("closed_at", "");
            record.set("closed_by", "");
        }
    }
    Ok(())
}

fn incident_effects(
    before: &Record,
    record: &mut Record,
    ctx: &WriteCtx,
    changed: bool,
) -> Result<(), Rejection> {
    let state = record.get("state").to_string();
    record.set("incident_state", state.clone());
    if before.get("assignment_group") != record.get("assignment_group")
        && !before.get("assignment_group").is_empty()
    {
        let n: u64 = record.get("reassignment_count").parse().unwrap_or(0);
        record.set("reassignment_count", (n + 1).to_string());
    }
    if state != "3" {
        record.set("hold_reason", "");
    }
    if !changed {
        return Ok(());
    }
    if ctx.require_close_fields
        && matches!(state.as_str(), "6" | "7")
        && (record.get("close_code").is_empty() || record.get("close_notes").is_empty())
    {
        return Err(Rejection {
            status: 403,
            message: "Operation Failed".into(),
            detail: "Data Policy Exception: \n The following fields are mandatory: Resolution code, Resolution notes".into(),
        });
    }
    match state.as_str() {
        "6" => {
            record.set("resolved_at", ctx.now.clone());
            record.set("resolved_by", ctx.user_sys_id.clone());
            // Resolved incidents stay active until they close.
            record.set("active", "true");
        }
        "7" => {
            if record.get("resolved_at").is_empty() {
                record.set("resolved_at", ctx.now.clone());
                record.set("resolved_by", ctx.user_sys_id.clone());
            }
            record.set("closed_at", ctx.now.clone());
            record.set("closed_by", ctx.user_sys_id.clone());
            record.set("active", "false");
        }
        "8" => record.set("active", "false"),
        _ => {
            if matches!(before.get("state"), "6" | "7" | "8") {
                // Reopened: the resolution no longer holds.
                let n: u64 = record.get("reopen_count").parse().unwrap_or(0);
                record.set("reopen_count", (n + 1).to_string());
                for field in ["resolved_at", "resolved_by", "closed_at", "closed_by"] {
                    record.set(field, "");
                }
            }
            record.set("active", "true");
        }
    }
    Ok(())
}

fn request_state_for(state: &str) -> &'static str {
    match state {
        "4" => "closed_incomplete",
        "7" => "closed_skipped",
        _ => "closed_complete",
    }
}

/// Appends one `sys_journal_field` row per journal value written.
fn write_journal(db: &mut Db, record: &Record, entries: &[(&str, String)], ctx: &WriteCtx) {
    let Some(def) = table_def("sys_journal_field") else {
        return;
    };
    for (element, value) in entries {
        let mut row = Record::empty(def);
        let id = db.new_sys_id();
        row.set("sys_id", id);
        row.set("name", record.def.name);
        row.set("element_id", record.sys_id());
        row.set("element", *element);
        row.set("value", value.clone());
        row.set("sys_created_on", ctx.now.clone());
        row.set("sys_created_by", ctx.user_name.clone());
        row.set("sys_updated_on", ctx.now.clone());
        row.set("sys_updated_by", ctx.user_name.clone());
        row.set("sys_mod_count", "0");
        db.insert(row);
    }
}

/// Helpers for the rule and cascade tests: a fresh store, the test writer, and writes by table
/// name with `(field, value)` pairs.
#[cfg(test)]
pub mod testing {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    pub fn db() -> Db {
        Db::new(ChaCha8Rng::seed_from_u64(1))
    }

    pub fn ctx() -> WriteCtx {
        WriteCtx {
            user_name: "svc.test".into(),
            user_sys_id: "u1".into(),
            now: "2026-01-01 10:00:00".into(),
            require_close_fields: true,
        }
    }

    pub fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub fn def(name: &str) -> &'static TableDef {
        table_def(name).expect("known table")
    }

    /// Inserts into `table` as the test writer.
    pub fn add(db: &mut Db, table: &str, pairs: &[(&str, &str)]) -> Result<Record, Rejection> {
        insert(db, def(table), &kv(pairs), &ctx())
    }

    /// Updates a record of `table` as the test writer.
    pub fn patch(
        db: &mut Db,
        table: &str,
        sys_id: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Option<Record>, Rejection> {
        update(db, def(table), sys_id, &kv(pairs), &ctx())
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{add, db, patch};
    use super::*;

    /// Updates an incident that exists and accepts the change.
    fn updated(db: &mut Db, sys_id: &str, pairs: &[(&str, &str)]) -> Record {
        patch(db, "incident", sys_id, pairs)
            .expect("update")
            .expect("exists")
    }

    #[test]
    fn priority_follows_impact_and_urgency() {
        assert_eq!(priority("1", "1").as_deref(), Some("1"));
        assert_eq!(priority("2", "2").as_deref(), Some("3"));
        assert_eq!(priority("3", "1").as_deref(), Some("3"));
        assert_eq!(priority("3", "3").as_deref(), Some("5"));
        assert_eq!(priority("4", "1"), None);
        let mut db = db();
        let inc = add(
            &mut db,
            "incident",
            &[("impact", "1"), ("urgency", "2"), ("priority", "5")],
        )
        .expect("insert");
        assert_eq!(inc.get("priority"), "2");
        assert_eq!(inc.get("number"), "INC0010001");
        let inc = updated(&mut db, inc.sys_id(), &[("urgency", "1")]);
        assert_eq!(inc.get("priority"), "1");
        assert_eq!(inc.get("sys_mod_count"), "1");
    }

    #[test]
    fn resolving_needs_close_fields_and_stamps() {
        let mut db = db();
        let inc = add(&mut db, "incident", &[("short_description", "x")]).expect("insert");
        let err = patch(&mut db, "incident", inc.sys_id(), &[("state", "6")])
            .expect_err("close fields are mandatory");
        assert_eq!(err.status, 403);
        let fields = [
            ("state", "6"),
            ("close_code", "Solution provided"),
            ("close_notes", "done"),
        ];
        let inc = updated(&mut db, inc.sys_id(), &fields);
        assert_eq!(inc.get("resolved_at"), "2026-01-01 10:00:00");
        assert_eq!(inc.get("active"), "true");
        let inc = updated(&mut db, inc.sys_id(), &[("state", "7")]);
        assert_eq!(inc.get("active"), "false");
        assert_eq!(inc.get("closed_by"), "u1");
    }

    #[test]
    fn journal_writes_append_rows_and_read_back_empty() {
        let mut db = db();
        let inc = add(&mut db, "incident", &[("work_notes", "first")]).expect("insert");
        assert_eq!(inc.get("work_notes"), "");
        patch(&mut db, "incident", inc.sys_id(), &[("comments", "second")]).expect("update");
        let rows = db.find_all("sys_journal_field", "element_id", inc.sys_id());
        let values: Vec<_> = rows
            .iter()
            .map(|r| (r.get("element"), r.get("value")))
            .collect();
        assert_eq!(
            values,
            vec![("work_notes", "first"), ("comments", "second")]
        );
    }
}
