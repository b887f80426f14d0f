//! Finds the key path (`sites[1].endpoints[0]`) of a place in a TOML file, for errors that
//! come with a byte span but no key (serde's type errors, TOML syntax errors).

use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// Every key and array element of a document, with its dotted path and spans.
pub(crate) struct KeyMap {
    entries: Vec<Entry>,
}

struct Entry {
    path: String,
    /// The key itself (for array elements, the element).
    key: Range<usize>,
    /// The value; for `[[array]]` tables and `[table]` headers only the header.
    value: Range<usize>,
}

impl KeyMap {
    /// Parses `text` with error recovery, so that even a file with a syntax error yields the
    /// keys around it.
    pub(crate) fn new(text: &str) -> Self {
        let (root, _errors) = DeTable::parse_recoverable(text);
        let mut entries = Vec::new();
        walk_table(root.get_ref(), "", &mut entries);
        KeyMap { entries }
    }

    /// The path of the innermost key or value whose span holds `span`; failing that, the last
    /// key that starts before it on the same line (for syntax errors after a key).
    pub(crate) fn path_at(&self, text: &str, span: &Range<usize>) -> Option<String> {
        let contains = |r: &Range<usize>| r.start <= span.start && span.end <= r.end;
        let innermost = self
            .entries
            .iter()
            .flat_map(|e| [(&e.key, e), (&e.value, e)])
            .filter(|(r, _)| contains(r))
            .min_by_key(|(r, _)| r.end - r.start)
            .map(|(_, e)| e.path.clone());
        if innermost.is_some() {
            return innermost;
        }
        let line_start = text
            .get(..span.start)
            .and_then(|before| before.rfind('\n'))
            .map_or(0, |i| i + 1);
        self.entries
            .iter()
            .filter(|e| e.key.start >= line_start && e.key.start <= span.start)
            .max_by_key(|e| e.key.start)
            .map(|e| e.path.clone())
    }
}

fn join(prefix: &str, key: &str) -> String {
    // Keys that are not bare TOML keys are quoted so the path reads back unambiguously.
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk_table(table: &DeTable<'_>, prefix: &str, out: &mut Vec<Entry>) {
    for (key, value) in table.iter() {
        let path = join(prefix, key.get_ref());
        out.push(Entry {
            path: path.clone(),
            key: key.span(),
            value: value.span(),
        });
        walk_value(value.get_ref(), &path, out);
    }
}

fn walk_value(value: &DeValue<'_>, path: &str, out: &mut Vec<Entry>) {
    match value {
        DeValue::Table(table) => walk_table(table, path, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("{path}[{i}]");
                out.push(Entry {
                    path: path.clone(),
                    key: item.span(),
                    value: item.span(),
                });
                walk_value(item.get_ref(), &path, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(text: &str, needle: &str) -> Option<String> {
        let start = text.find(needle)?;
        KeyMap::new(text).path_at(text, &(start..start + needle.len()))
    }

    #[test]
    fn finds_keys_in_array_tables_and_inline_arrays() {
        let text = "listen = \"x\"\n[[sites]]\nname = \"a\"\n[[sites]]\nname = \"b\"\n\
                    endpoints = [\"e0\", \"e1\"]\n[sites.credentials]\nusername = \"u\"\n";
        assert_eq!(path_of(text, "\"x\"").as_deref(), Some("listen"));
        assert_eq!(path_of(text, "\"b\"").as_deref(), Some("sites[1].name"));
        assert_eq!(
            path_of(text, "\"e1\"").as_deref(),
            Some("sites[1].endpoints[1]")
        );
        assert_eq!(
            path_of(text, "username").as_deref(),
            Some("sites[1].credentials.username")
        );
    }

    #[test]
    fn a_syntax_error_is_placed_at_the_key_on_its_line() {
        let text = "[[clients]]\nname = \"a\"\nrole = \"admin\n";
        let at = text.len() - 1;
        let path = KeyMap::new(text).path_at(text, &(at..at));
        assert_eq!(path.as_deref(), Some("clients[0].role"));
    }
}
