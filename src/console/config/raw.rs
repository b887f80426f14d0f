//! The TOML schema of the console's `config.toml` as serde types, as written: every value
//! keeps its span for error messages, and nothing is checked beyond TOML types.

use crate::config::{Collector, ConfigErrors, KeyMap, SecretSpec};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConsole {
    pub theme: Option<Spanned<String>>,
    pub readonly: Option<Spanned<bool>>,
    pub log_file: Option<Spanned<String>>,
    pub adapter: Option<Spanned<RawAdapter>>,
    /// Action name → keys. Read in file order by sorting on the spans.
    pub keys: Option<Spanned<BTreeMap<Spanned<String>, Spanned<KeyList>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdapter {
    pub url: Option<Spanned<String>>,
    pub client_id: Option<Spanned<String>>,
    pub secret: Option<Spanned<SecretSpec>>,
}

/// `"q"` or `["q", "ctrl-c"]`; a single string has the span of the whole value.
#[derive(Debug)]
pub(super) enum KeyList {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KeyListVisitor)
    }
}

struct KeyListVisitor;

impl<'de> Visitor<'de> for KeyListVisitor {
    type Value = KeyList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key or a list of keys, such as \"q\" or [\"q\", \"ctrl-c\"]")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyList, E> {
        Ok(KeyList::One(v.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyList, A::Error> {
        let mut keys = Vec::new();
        while let Some(key) = seq.next_element::<Spanned<String>>()? {
            keys.push(key);
        }
        Ok(KeyList::Many(keys))
    }
}

/// TOML syntax and serde type checks: every syntax error, else the first type error, each
/// with its line, column and key.
pub(super) fn parse(text: &str, collector: &Collector<'_>) -> Result<RawConsole, ConfigErrors> {
    let (_, syntax) = toml::de::DeTable::parse_recoverable(text);
    let errors = if syntax.is_empty() {
        match toml::from_str::<RawConsole>(text) {
            Ok(raw) => return Ok(raw),
            Err(e) => vec![e],
        }
    } else {
        syntax
    };
    let keys = KeyMap::new(text);
    Err(ConfigErrors(
        errors
            .iter()
            .map(|e| {
                let key = e.span().and_then(|s| keys.path_at(text, &s));
                collector.diagnostic(e.span(), key, explain(e.message()))
            })
            .collect(),
    ))
}

/// Rewords serde's messages in the config's terms.
fn explain(message: &str) -> String {
    let message = message.trim();
    match message.strip_prefix("unknown field") {
        Some(rest) => format!(
            "unknown key{rest}; check its spelling and the table it is in (`theme`, \
             `readonly` and `log_file` go above the first [table])"
        ),
        None => message.to_string(),
    }
}
