//! The tables the simulated instance serves: their fields, field kinds, number prefixes and
//! display fields, as a static catalogue that the store, the query compiler and the renderer share.

use std::collections::HashMap;
use std::sync::LazyLock;

/// How a field is stored and rendered. Every value is stored as a string, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    /// A reference to a record of the named table; the stored value is its sys_id.
    Ref(&'static str),
    /// A choice list; the display value comes from `sys_choice`.
    Choice,
    Bool,
    Int,
    /// UTC `YYYY-MM-DD HH:MM:SS`.
    DateTime,
    /// A journal field: writes append to `sys_journal_field`, reads give `""`.
    Journal,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
}

/// One table. Field 0 is always `sys_id`.
#[derive(Debug)]
pub struct TableDef {
    pub name: &'static str,
    /// Number prefix for task tables (`INC`).
    pub prefix: Option<&'static str>,
    /// The field whose value is a reference's display value.
    pub display: &'static str,
    pub fields: Vec<Field>,
    /// Field name → position, because every get and set looks fields up by name.
    positions: HashMap<&'static str, usize>,
}

impl TableDef {
    pub fn index(&self, name: &str) -> Option<usize> {
        self.positions.get(name).copied()
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.index(name).and_then(|i| self.fields.get(i))
    }

    /// Whether the table belongs to the task family (number, state, journals, closure).
    pub fn is_task(&self) -> bool {
        self.prefix.is_some()
    }
}

use Kind::*;

const SYS: &[(&str, Kind)] = &[
    ("sys_id", Str),
    ("sys_created_on", DateTime),
    ("sys_created_by", Str),
    ("sys_updated_on", DateTime),
    ("sys_updated_by", Str),
    ("sys_mod_count", Int),
];

/// Fields every task-family table has (ServiceNow's `task` table).
const TASK: &[(&str, Kind)] = &[
    ("sys_class_name", Str),
    ("number", Str),
    ("short_description", Str),
    ("description", Str),
    ("state", Choice),
    ("active", Bool),
    ("impact", Choice),
    ("urgency", Choice),
    ("priority", Choice),
    ("approval", Choice),
    ("assignment_group", Ref("sys_user_group")),
    ("assigned_to", Ref("sys_user")),
    ("opened_by", Ref("sys_user")),
    ("opened_at", DateTime),
    ("closed_by", Ref("sys_user")),
    ("closed_at", DateTime),
    ("close_notes", Str),
    ("contact_type", Choice),
    ("correlation_id", Str),
    ("watch_list", Str),
    ("work_notes", Journal),
    ("comments", Journal),
    ("comments_and_work_notes", Journal),
];

const INCIDENT: &[(&str, Kind)] = &[
    ("incident_state", Choice),
    ("hold_reason", Choice),
    ("category", Choice),
    ("subcategory", Str),
    ("caller_id", Ref("sys_user")),
    ("location", Ref("cmn_location")),
    ("cmdb_ci", Str),
    ("company", Str),
    ("close_code", Choice),
    ("resolved_by", Ref("sys_user")),
    ("resolved_at", DateTime),
    ("reassignment_count", Int),
    ("reopen_count", Int),
    ("sla_due", DateTime),
    ("parent_incident", Ref("incident")),
    ("problem_id", Str),
    ("rfc", Str),
    ("caused_by", Str),
];

const SC_REQUEST: &[(&str, Kind)] = &[
    ("requested_for", Ref("sys_user")),
    ("request_state", Choice),
    ("stage", Choice),
    ("price", Str),
    ("special_instructions", Str),
    ("delivery_address", Str),
];

const SC_REQ_ITEM: &[(&str, Kind)] = &[
    ("request", Ref("sc_request")),
    ("cat_item", Ref("sc_cat_item")),
    ("requested_for", Ref("sys_user")),
    ("quantity", Int),
    ("stage", Choice),
];

const SC_TASK: &[(&str, Kind)] = &[
    ("request_item", Ref("sc_req_item")),
    ("request", Ref("sc_request")),
];

const SYS_USER: &[(&str, Kind)] = &[
    ("user_name", Str),
    ("first_name", Str),
    ("last_name", Str),
    ("name", Str),
    ("email", Str),
    ("phone", Str),
    ("mobile_phone", Str),
    ("title", Str),
    ("department", Ref("cmn_department")),
    ("location", Ref("cmn_location")),
    ("manager", Ref("sys_user")),
    ("company", Str),
    ("employee_number", Str),
    ("u_contractor", Bool),
    ("vip", Bool),
    ("active", Bool),
    ("locked_out", Bool),
    ("failed_attempts", Int),
    ("last_login_time", DateTime),
    ("password_needs_reset", Bool),
    ("web_service_access_only", Bool),
    ("internal_integration_user", Bool),
];

const SYS_USER_GROUP: &[(&str, Kind)] = &[
    ("name", Str),
    ("description", Str),
    ("active", Bool),
    ("manager", Ref("sys_user")),
    ("email", Str),
];

const SYS_USER_GRMEMBER: &[(&str, Kind)] =
    &[("group", Ref("sys_user_group")), ("user", Ref("sys_user"))];

const CMN_LOCATION: &[(&str, Kind)] = &[
    ("name", Str),
    ("street", Str),
    ("city", Str),
    ("state", Str),
    ("zip", Str),
    ("country", Str),
    ("parent", Ref("cmn_location")),
];

const CMN_DEPARTMENT: &[(&str, Kind)] = &[("name", Str), ("id", Str), ("head", Ref("sys_user"))];

const SYS_JOURNAL_FIELD: &[(&str, Kind)] = &[
    ("name", Str),
    ("element_id", Str),
    ("element", Str),
    ("value", Str),
];

const SC_ITEM_OPTION: &[(&str, Kind)] = &[
    ("item_option_new", Ref("item_option_new")),
    ("value", Str),
    ("order", Int),
];

const SC_ITEM_OPTION_MTOM: &[(&str, Kind)] = &[
    ("request_item", Ref("sc_req_item")),
    ("sc_item_option", Ref("sc_item_option")),
];

const ITEM_OPTION_NEW: &[(&str, Kind)] = &[
    ("name", Str),
    ("question_text", Str),
    ("type", Choice),
    ("cat_item", Ref("sc_cat_item")),
    ("order", Int),
    ("mandatory", Bool),
    ("active", Bool),
    ("reference", Str),
    ("default_value", Str),
];

const SC_CAT_ITEM: &[(&str, Kind)] = &[
    ("name", Str),
    ("short_description", Str),
    ("description", Str),
    ("category", Str),
    ("sc_catalogs", Str),
    ("group", Ref("sys_user_group")),
    ("active", Bool),
    ("price", Str),
];

const SYS_CHOICE: &[(&str, Kind)] = &[
    ("name", Str),
    ("element", Str),
    ("value", Str),
    ("label", Str),
    ("sequence", Int),
    ("inactive", Bool),
    ("language", Str),
];

fn table(
    name: &'static str,
    prefix: Option<&'static str>,
    display: &'static str,
    parts: &[&[(&'static str, Kind)]],
) -> TableDef {
    let fields: Vec<Field> = parts
        .iter()
        .flat_map(|p| p.iter())
        .map(|&(name, kind)| Field { name, kind })
        .collect();
    let positions = fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name, i))
        .collect();
    TableDef {
        name,
        prefix,
        display,
        fields,
        positions,
    }
}

static TABLES: LazyLock<Vec<TableDef>> = LazyLock::new(|| {
    vec![
        table("incident", Some("INC"), "number", &[SYS, TASK, INCIDENT]),
        table(
            "sc_request",
            Some("REQ"),
            "number",
            &[SYS, TASK, SC_REQUEST],
        ),
        table(
            "sc_req_item",
            Some("RITM"),
            "number",
            &[SYS, TASK, SC_REQ_ITEM],
        ),
        table("sc_task", Some("SCTASK"), "number", &[SYS, TASK, SC_TASK]),
        table("sys_user", None, "name", &[SYS, SYS_USER]),
        table("sys_user_group", None, "name", &[SYS, SYS_USER_GROUP]),
        table(
            "sys_user_grmember",
            None,
            "sys_id",
            &[SYS, SYS_USER_GRMEMBER],
        ),
        table("cmn_location", None, "name", &[SYS, CMN_LOCATION]),
        table("cmn_department", None, "name", &[SYS, CMN_DEPARTMENT]),
        table(
            "sys_journal_field",
            None,
            "value",
            &[SYS, SYS_JOURNAL_FIELD],
        ),
        table("sc_item_option", None, "value", &[SYS, SC_ITEM_OPTION]),
        table(
            "sc_item_option_mtom",
            None,
            "sys_id",
            &[SYS, SC_ITEM_OPTION_MTOM],
        ),
        table(
            "item_option_new",
            None,
            "question_text",
            &[SYS, ITEM_OPTION_NEW],
        ),
        table("sc_cat_item", None, "name", &[SYS, SC_CAT_ITEM]),
        table("sys_choice", None, "label", &[SYS, SYS_CHOICE]),
    ]
});

/// Every table the instance serves.
pub fn tables() -> &'static [TableDef] {
    &TABLES
}

/// The definition of `name`, if the instance serves it.
pub fn table_def(name: &str) -> Option<&'static TableDef> {
    TABLES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_starts_with_sys_id_and_has_unique_fields() {
        for def in tables() {
            assert_eq!(def.fields[0].name, "sys_id", "{}", def.name);
            let mut names: Vec<_> = def.fields.iter().map(|f| f.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), def.fields.len(), "{}", def.name);
            assert!(def.index(def.display).is_some(), "{}", def.name);
            for f in &def.fields {
                if let Kind::Ref(target) = f.kind {
                    assert!(table_def(target).is_some(), "{}.{}", def.name, f.name);
                }
            }
        }
    }
}
