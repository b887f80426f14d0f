//! Masked (password) catalog variables: a requested item's variables read with their type, so
//! callers know which values are secrets, and the call that clears one once it has been read,
//! so a password or security code does not stay in the record.
//!
//! A variable's type is `item_option_new.type`; ServiceNow's "Masked" type is 25. Values of
//! masked variables come back as [`Secret`]s, never as plain strings, so a `Debug` of what
//! this module returns cannot show them.

use super::error::Error;
use super::query::Query;
use super::table::ListParams;
use super::transport::ServiceNowClient;
use crate::secret::Secret;
use serde_json::{Map, Value};

/// `item_option_new.type` of ServiceNow's "Masked" variable type.
pub const MASKED_TYPE: &str = "25";

const OPTION: &str = "sc_item_option";
const NAME: &str = "sc_item_option.item_option_new.name";
const TYPE: &str = "sc_item_option.item_option_new.type";
const VALUE: &str = "sc_item_option.value";

/// A variable's value: masked ones are secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableValue {
    Plain(String),
    Masked(Secret),
}

impl VariableValue {
    pub fn is_masked(&self) -> bool {
        matches!(self, VariableValue::Masked(_))
    }

    pub fn is_empty(&self) -> bool {
        match self {
            VariableValue::Plain(v) => v.is_empty(),
            VariableValue::Masked(s) => s.is_empty(),
        }
    }
}

/// One variable of a requested item with its type and the `sc_item_option` row holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedVariable {
    /// sys_id of the `sc_item_option` row.
    pub option: String,
    /// `item_option_new.name`.
    pub name: String,
    /// `item_option_new.type` (ServiceNow's type code, e.g. `"6"` single-line text).
    pub kind: String,
    pub value: VariableValue,
}

impl TypedVariable {
    pub fn is_masked(&self) -> bool {
        self.kind == MASKED_TYPE
    }
}

/// Splits typed variables into plain ones (name → value) and masked ones (name → secret), the
/// shapes a recipe takes.
pub fn split_masked(
    vars: Vec<TypedVariable>,
) -> (
    std::collections::BTreeMap<String, String>,
    std::collections::BTreeMap<String, Secret>,
) {
    let mut plain = std::collections::BTreeMap::new();
    let mut masked = std::collections::BTreeMap::new();
    for v in vars {
        match v.value {
            VariableValue::Plain(value) => {
                plain.insert(v.name, value);
            }
            VariableValue::Masked(secret) => {
                masked.insert(v.name, secret);
            }
        }
    }
    (plain, masked)
}

impl ServiceNowClient {
    /// The variables of a requested item (`sc_req_item` sys_id) with their types; values of
    /// masked variables are [`VariableValue::Masked`].
    pub async fn typed_variables(&self, ritm: &str) -> Result<Vec<TypedVariable>, Error> {
        self.check_sys_id(ritm)?;
        let params = ListParams::new()
            .query(Query::new().eq("request_item", ritm).build()?)
            .fields([OPTION, NAME, TYPE, VALUE])
            .exclude_reference_link(true);
        let rows = self.list("sc_item_option_mtom", &params).await?;
        rows.iter()
            .map(|r| {
                let kind = r.text(TYPE);
                let value = r.text(VALUE);
                Ok(TypedVariable {
                    option: r
                        .reference(OPTION)
                        .ok_or_else(|| r.error(OPTION, "missing"))?
                        .to_owned(),
                    name: r.str(NAME)?.to_owned(),
                    value: if kind == MASKED_TYPE {
                        VariableValue::Masked(Secret::new(value))
                    } else {
                        VariableValue::Plain(value)
                    },
                    kind,
                })
            })
            .collect()
    }

    /// Clears the value of the variable `name` of requested item `ritm` (PATCHes its
    /// `sc_item_option` row's `value` to `""`). A name the item does not have is an error: a
    /// caller that meant to wipe a password must not believe it did.
    pub async fn clear_variable(&self, ritm: &str, name: &str) -> Result<(), Error> {
        self.check_sys_id(ritm)?;
        let params = ListParams::new()
            .query(
                Query::new()
                    .eq("request_item", ritm)
                    .eq(NAME, name)
                    .build()?,
            )
            .fields([OPTION, NAME])
            .exclude_reference_link(true);
        let rows = self.list("sc_item_option_mtom", &params).await?;
        // The query's dot-walked condition is matched again here: an instance ignores
        // conditions it cannot evaluate, and clearing another variable would be worse.
        let options: Vec<&str> = rows
            .iter()
            .filter(|r| r.value(NAME) == Some(name))
            .filter_map(|r| r.reference(OPTION))
            .collect();
        if options.is_empty() {
            return Err(self.invalid(format!(
                "requested item {ritm} has no variable named {name:?}; nothing was cleared"
            )));
        }
        for option in options {
            self.blank_option(option).await?;
        }
        Ok(())
    }

    /// Clears every masked variable of requested item `ritm` that holds a value; returns the
    /// names it cleared.
    pub async fn clear_masked_variables(&self, ritm: &str) -> Result<Vec<String>, Error> {
        let mut cleared = Vec::new();
        for var in self.typed_variables(ritm).await? {
            if var.is_masked() && !var.value.is_empty() {
                self.blank_option(&var.option).await?;
                cleared.push(var.name);
            }
        }
        Ok(cleared)
    }

    async fn blank_option(&self, option: &str) -> Result<(), Error> {
        let mut fields = Map::new();
        fields.insert("value".into(), Value::String(String::new()));
        self.patch("sc_item_option", option, &fields).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, kind: &str, value: &str) -> TypedVariable {
        TypedVariable {
            option: format!("opt_{name}"),
            name: name.into(),
            kind: kind.into(),
            value: if kind == MASKED_TYPE {
                VariableValue::Masked(Secret::new(value))
            } else {
                VariableValue::Plain(value.into())
            },
        }
    }

    #[test]
    fn masked_values_never_show_in_debug() {
        let vars = vec![
            var("user", "6", "LAB\\alice"),
            var("security_code", MASKED_TYPE, "884213"),
        ];
        let shown = format!("{vars:?}");
        assert!(shown.contains("LAB"), "plain values stay readable: {shown}");
        assert!(!shown.contains("884213"), "a masked value leaked: {shown}");
        let (plain, masked) = split_masked(vars);
        assert_eq!(plain.get("user").map(String::as_str), Some("LAB\\alice"));
        assert!(!plain.contains_key("security_code"));
        assert_eq!(
            masked.get("security_code").map(Secret::expose),
            Some("884213")
        );
    }
}
