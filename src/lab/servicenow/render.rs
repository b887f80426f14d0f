//! Rendering records as Table API JSON: every value a string, reference objects with `link`
//! and `value`, display values and `{display_value, value}` pairs, dot-walked keys.

use super::schema::{Kind, TableDef};
use super::store::{Db, Path, Record};
use serde_json::{Map, Value, json};

/// `sysparm_display_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayMode {
    Raw,
    Display,
    All,
}

impl DisplayMode {
    pub fn parse(value: Option<&str>) -> Self {
        match value.map(str::to_ascii_lowercase).as_deref() {
            Some("true") => DisplayMode::Display,
            Some("all") => DisplayMode::All,
            _ => DisplayMode::Raw,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RenderOpts {
    pub display: DisplayMode,
    pub exclude_links: bool,
    /// `http://127.0.0.1:PORT`, the base of reference links.
    pub base_url: String,
}

/// The fields to render: `sysparm_fields` (invalid names ignored) or every field of the table.
pub fn field_list(db: &Db, def: &'static TableDef, fields: Option<&str>) -> Vec<(String, Path)> {
    match fields.map(str::trim).filter(|f| !f.is_empty()) {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .filter_map(|f| db.resolve(def, f).map(|p| (f.to_string(), p)))
            .collect(),
        None => def
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.to_string(), Path::Fields(vec![(def, i)])))
            .collect(),
    }
}

/// One record as a JSON object.
pub fn render(db: &Db, record: &Record, fields: &[(String, Path)], opts: &RenderOpts) -> Value {
    let mut out = Map::new();
    for (name, path) in fields {
        out.insert(name.clone(), render_value(db, record, path, opts));
    }
    Value::Object(out)
}

fn render_value(db: &Db, record: &Record, path: &Path, opts: &RenderOpts) -> Value {
    let raw = db.value(record, path);
    let kind = path.kind();
    let display = || match kind {
        Kind::Ref(target) => db.reference_display(target, &raw),
        Kind::Choice => path
            .owner()
            .and_then(|(table, element)| db.choice_label(table, element, &raw))
            .map_or_else(|| raw.clone(), str::to_string),
        _ => raw.clone(),
    };
    match kind {
        Kind::Ref(target) => {
            if raw.is_empty() && opts.display != DisplayMode::All {
                return Value::String(String::new());
            }
            let link = format!("{}/api/now/table/{target}/{raw}", opts.base_url);
            match (opts.display, opts.exclude_links) {
                (DisplayMode::Raw, true) => Value::String(raw),
                (DisplayMode::Raw, false) => json!({ "link": link, "value": raw }),
                (DisplayMode::Display, true) => Value::String(display()),
                (DisplayMode::Display, false) => {
                    json!({ "display_value": display(), "link": link })
                }
                (DisplayMode::All, true) => json!({ "display_value": display(), "value": raw }),
                (DisplayMode::All, false) if raw.is_empty() => {
                    json!({ "display_value": "", "value": "" })
                }
                (DisplayMode::All, false) => {
                    json!({ "display_value": display(), "link": link, "value": raw })
                }
            }
        }
        _ => match opts.display {
            DisplayMode::Raw => Value::String(raw),
            DisplayMode::Display => Value::String(display()),
            DisplayMode::All => json!({ "display_value": display(), "value": raw }),
        },
    }
}
