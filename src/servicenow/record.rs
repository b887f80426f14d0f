//! One Table API record and typed access to its string-valued fields.
//!
//! ServiceNow sends every value as a JSON string; reference and choice fields may instead be
//! `{"link","value"}`, `{"display_value","link"}` or `{"display_value","value"}` depending on
//! `sysparm_display_value` and `sysparm_exclude_reference_link`. The accessors hide those shapes.

use super::error::Error;
use super::table::DisplayValue;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

/// The format of raw date-time values (always UTC).
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// One row of a table, as the instance returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    instance: String,
    table: String,
    display: DisplayValue,
    fields: Map<String, Value>,
}

impl Record {
    /// Wraps a decoded JSON object; `display` is the `sysparm_display_value` it was read with.
    pub fn new(
        instance: impl Into<String>,
        table: impl Into<String>,
        display: DisplayValue,
        fields: Map<String, Value>,
    ) -> Self {
        Record {
            instance: instance.into(),
            table: table.into(),
            display,
            fields,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The raw JSON fields.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    pub fn into_fields(self) -> Map<String, Value> {
        self.fields
    }

    /// The record's `sys_id`, if it was among the fields read.
    pub fn sys_id(&self) -> Option<&str> {
        self.value("sys_id").filter(|s| !s.is_empty())
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    /// The stored (raw) value of a field, whatever shape it came in. `None` when the field is
    /// absent, or when only a display value was sent for a non-reference field.
    pub fn value(&self, field: &str) -> Option<&str> {
        match self.fields.get(field)? {
            // With display_value=true a plain string is the display value, which for choice
            // and reference fields is not the stored value; the caller asked for labels.
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => match o.get("value") {
                Some(Value::String(s)) => Some(s.as_str()),
                _ => o.get("link").and_then(Value::as_str).and_then(link_sys_id),
            },
            _ => None,
        }
    }

    /// The display value: the `display_value` member, or the plain string when the record was
    /// read with `sysparm_display_value=true`.
    pub fn display(&self, field: &str) -> Option<&str> {
        match self.fields.get(field)? {
            Value::Object(o) => o.get("display_value").and_then(Value::as_str),
            Value::String(s) if self.display == DisplayValue::True => Some(s.as_str()),
            _ => None,
        }
    }

    /// A required text field (may be empty).
    pub fn str(&self, field: &str) -> Result<&str, Error> {
        self.value(field)
            .ok_or_else(|| self.error(field, "missing (not returned, or not a string)"))
    }

    /// A text field, `None` when absent or empty.
    pub fn opt_str(&self, field: &str) -> Option<&str> {
        self.value(field).filter(|s| !s.is_empty())
    }

    /// A text field, empty when absent.
    pub fn text(&self, field: &str) -> String {
        self.value(field).unwrap_or_default().to_owned()
    }

    /// A required integer field.
    pub fn i64(&self, field: &str) -> Result<i64, Error> {
        let raw = self.str(field)?;
        raw.trim()
            .parse()
            .map_err(|_| self.error(field, format!("expected an integer, got {raw:?}")))
    }

    /// An integer field, `None` when absent or empty.
    pub fn opt_i64(&self, field: &str) -> Result<Option<i64>, Error> {
        match self.opt_str(field) {
            None => Ok(None),
            Some(_) => self.i64(field).map(Some),
        }
    }

    /// A boolean field (`"true"`/`"false"`; `"1"`/`"0"` are accepted too).
    pub fn bool(&self, field: &str) -> Result<bool, Error> {
        match self.str(field)?.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" | "" => Ok(false),
            other => Err(self.error(field, format!("expected true or false, got {other:?}"))),
        }
    }

    /// A date-time field (`YYYY-MM-DD HH:MM:SS`, UTC); `None` when absent or empty.
    pub fn datetime(&self, field: &str) -> Result<Option<DateTime<Utc>>, Error> {
        let Some(raw) = self.opt_str(field) else {
            return Ok(None);
        };
        NaiveDateTime::parse_from_str(raw.trim(), DATETIME_FORMAT)
            .map(|dt| Some(dt.and_utc()))
            .map_err(|_| {
                self.error(
                    field,
                    format!("expected a date-time YYYY-MM-DD HH:MM:SS, got {raw:?}"),
                )
            })
    }

    /// The `sys_id` a reference field points to; `None` when empty.
    pub fn reference(&self, field: &str) -> Option<&str> {
        self.opt_str(field)
    }

    /// A decode error naming this record and `field`.
    pub fn error(&self, field: &str, message: impl Into<String>) -> Error {
        Error::decode(
            &self.instance,
            &self.table,
            self.sys_id(),
            Some(field),
            message,
        )
    }
}

/// Takes the sys_id from the end of a reference link (`…/table/sys_user/<sys_id>`).
fn link_sys_id(link: &str) -> Option<&str> {
    let path = link.split(['?', '#']).next()?;
    path.rsplit('/').next().filter(|s| !s.is_empty())
}

/// Formats a date-time the way ServiceNow stores it, for queries and writes.
pub fn format_datetime(dt: DateTime<Utc>) -> String {
    dt.format(DATETIME_FORMAT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(display: DisplayValue, v: Value) -> Record {
        match v {
            Value::Object(map) => Record::new("lab", "incident", display, map),
            _ => panic!("test records are objects"),
        }
    }

    #[test]
    fn values_come_out_of_every_shape() {
        let r = record(
            DisplayValue::False,
            json!({
                "sys_id": "abc",
                "state": "2",
                "active": "true",
                "caller_id": {"link": "https://x/api/now/table/sys_user/u1", "value": "u1"},
                "assigned_to": "u2",
                "assignment_group": {"display_value": "Service Desk", "value": "g1"},
                "opened_by": {"display_value": "Fred", "link": "https://x/api/now/table/sys_user/u3"},
                "location": "",
                "opened_at": "2016-01-19 04:52:04",
            }),
        );
        assert_eq!(r.sys_id(), Some("abc"));
        assert_eq!(r.i64("state").ok(), Some(2));
        assert_eq!(r.bool("active").ok(), Some(true));
        assert_eq!(r.reference("caller_id"), Some("u1"));
        assert_eq!(r.reference("assigned_to"), Some("u2"));
        assert_eq!(r.reference("assignment_group"), Some("g1"));
        assert_eq!(r.display("assignment_group"), Some("Service Desk"));
        assert_eq!(r.reference("opened_by"), Some("u3"));
        assert_eq!(r.display("opened_by"), Some("Fred"));
        assert_eq!(r.reference("location"), None);
        assert_eq!(r.display("state"), None);
        let at = r.datetime("opened_at").ok().flatten().map(format_datetime);
        assert_eq!(at.as_deref(), Some("2016-01-19 04:52:04"));
        assert_eq!(r.datetime("location").ok(), Some(None));
    }

    #[test]
    fn display_mode_true_reads_plain_strings_as_labels() {
        let r = record(DisplayValue::True, json!({"state": "In Progress"}));
        assert_eq!(r.display("state"), Some("In Progress"));
    }

    #[test]
    fn decode_errors_name_table_record_and_field() {
        let r = record(
            DisplayValue::False,
            json!({"sys_id": "abc", "state": "two", "opened_at": "yesterday"}),
        );
        let msg = r.i64("state").err().map(|e| e.to_string());
        assert_eq!(
            msg.as_deref(),
            Some("ServiceNow lab: incident/abc field `state`: expected an integer, got \"two\"")
        );
        assert!(r.datetime("opened_at").is_err());
        assert!(r.str("missing").is_err());
        assert!(r.bool("state").is_err());
    }
}
