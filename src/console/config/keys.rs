//! The config's `[keys]` table: action names and key strings checked with their positions,
//! turned into the keymap, with its conflicts placed at the entry that caused them.

use super::raw::KeyList;
use crate::config::Collector;
use crate::console::keymap::{Action, Key, Keymap, Rebind};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

type RawKeys = Spanned<BTreeMap<Spanned<String>, Spanned<KeyList>>>;

/// The keymap for the `[keys]` table. Unknown actions, unreadable keys and clashes are errors
/// in `c`; keys taken from another action's defaults are warnings.
pub(super) fn keymap(raw: Option<&RawKeys>, c: &mut Collector<'_>) -> Keymap {
    let Some(raw) = raw else {
        return Keymap::defaults();
    };
    let mut entries: Vec<_> = raw.get_ref().iter().collect();
    // Conflicts are settled in file order (the first entry keeps a contested key).
    entries.sort_by_key(|(name, _)| name.span().start);
    let mut rebinds = Vec::new();
    let mut places: Vec<(Action, Range<usize>)> = Vec::new();
    for (name, list) in entries {
        let path = format!("keys.{}", name.get_ref());
        let Some(action) = Action::from_name(name.get_ref()) else {
            c.error(name.span(), &path, unknown_action(name.get_ref()));
            continue;
        };
        let written: Vec<(String, Range<usize>, String)> = match list.get_ref() {
            KeyList::One(text) => vec![(text.clone(), list.span(), path.clone())],
            KeyList::Many(items) => items
                .iter()
                .enumerate()
                .map(|(i, k)| (k.get_ref().clone(), k.span(), format!("{path}[{i}]")))
                .collect(),
        };
        let mut keys = Vec::new();
        for (text, span, key_path) in written {
            match text.parse::<Key>() {
                Ok(key) => keys.push(key),
                Err(e) => c.error(span, &key_path, e.to_string()),
            }
        }
        places.push((action, name.span()));
        rebinds.push(Rebind { action, keys });
    }
    let (keymap, conflicts) = Keymap::with_rebinds(&rebinds);
    for conflict in conflicts {
        // A clash points at the entry that lost the key; a taken default at the entry that
        // took it (the losing action is not in the file).
        let at = if conflict.is_error() {
            conflict.lost
        } else {
            conflict.kept
        };
        let span = places
            .iter()
            .find(|(a, _)| *a == at)
            .map_or(raw.span(), |(_, s)| s.clone());
        let path = format!("keys.{}", at.name());
        if conflict.is_error() {
            c.error(span, &path, conflict.to_string());
        } else {
            c.warn(span, &path, conflict.to_string());
        }
    }
    keymap
}

fn unknown_action(name: &str) -> String {
    let nearest = Action::all()
        .map(|a| (distance(name, a.name()), a.name()))
        .min()
        .filter(|(d, _)| *d <= 3);
    match nearest {
        Some((_, near)) => format!(
            "unknown action `{name}`; did you mean `{near}`? (`deskbridge info` lists them)"
        ),
        None => format!("unknown action `{name}`; `deskbridge info` lists the actions"),
    }
}

/// Levenshtein distance, for the "did you mean" hint.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}
