//! The rebindable keymap of the console: which key runs which [`Action`] in which [`View`],
//! the conflicts a rebinding causes, filtering by role and `--readonly`, and the rows of the
//! `?` help and the footer's key hints, all generated from one table ([`action`]).
//!
//! Rebinding an action replaces all its default keys. A rebound key that another action has
//! by default in an overlapping view is taken from that action, with a warning (user bindings
//! win, as in yazi's `prepend`); two rebound actions on one key in an overlapping view is an
//! error, and the one rebound first keeps the key. Nothing here panics on user input.

mod action;
mod key;

#[cfg(test)]
mod tests;

pub use action::{Action, ActionInfo, Group, View, ViewSet};
pub use key::{Key, KeyParseError};

use crate::model::Role;
use ratatui::crossterm::event::KeyEvent;
use std::collections::HashMap;
use std::fmt;

/// One action's keys from the config's `[keys]` table; they replace its defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebind {
    pub action: Action,
    pub keys: Vec<Key>,
}

/// Two actions that want one key in the same view(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub key: Key,
    /// The action the key runs.
    pub kept: Action,
    /// The action that does not get the key in `views`.
    pub lost: Action,
    pub views: ViewSet,
    pub kind: ConflictKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// A rebound action took one of `lost`'s default keys: expected when moving keys around,
    /// so a warning.
    TakesDefault,
    /// Both actions were given the key explicitly (or both have it by default): an error.
    Clash,
}

impl Conflict {
    pub fn is_error(&self) -> bool {
        self.kind == ConflictKind::Clash
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let views: Vec<_> = self.views.iter().map(View::name).collect();
        let scope = if self.views == ViewSet::ALL {
            "in every view".to_string()
        } else {
            format!("in {}", views.join(", "))
        };
        let (key, kept, lost) = (self.key, self.kept.name(), self.lost.name());
        match self.kind {
            ConflictKind::TakesDefault => write!(
                f,
                "`{key}` now runs `{kept}` {scope}; it was a default key of `{lost}`, which no \
                 longer has it there (rebind `{lost}` to give it another key)"
            ),
            ConflictKind::Clash => write!(
                f,
                "`{key}` is bound to both `{kept}` and `{lost}` {scope}; it runs `{kept}` \
                 there; give one of them another key"
            ),
        }
    }
}

/// Resolved bindings: fast lookup per view, plus what the help and `info` show.
#[derive(Debug, Clone)]
pub struct Keymap {
    rebinds: Vec<Rebind>,
    /// Each action's keys (defaults or rebound), in [`Action`] order; empty when the action
    /// is filtered out.
    keys: Vec<Vec<Key>>,
    rebound: Vec<bool>,
    by_view: [HashMap<Key, Action>; View::ALL.len()],
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::defaults()
    }
}

impl Keymap {
    /// The built-in keymap.
    pub fn defaults() -> Keymap {
        Keymap::build(&[], &|_| true).0
    }

    /// The defaults with `rebinds` applied, and the conflicts found (warnings and errors, in
    /// the order of `rebinds`). Rebinds later in the list for an action already rebound
    /// replace the earlier one.
    pub fn with_rebinds(rebinds: &[Rebind]) -> (Keymap, Vec<Conflict>) {
        Keymap::build(rebinds, &|_| true)
    }

    /// Only the actions `role` may run, and under `readonly` only those that change nothing:
    /// the others have no keys, resolve to nothing and are absent from help and hints.
    pub fn visible(&self, role: Role, readonly: bool) -> Keymap {
        Keymap::build(&self.rebinds, &|a: Action| a.allowed(role, readonly)).0
    }

    fn build(rebinds: &[Rebind], allowed: &dyn Fn(Action) -> bool) -> (Keymap, Vec<Conflict>) {
        let count = Action::all().count();
        let mut keys: Vec<Vec<Key>> = Action::all()
            .map(|a| a.info().default_keys.to_vec())
            .collect();
        let mut rebound = vec![false; count];
        // Order of insertion decides who keeps a contested key: rebinds first, in file order.
        let mut order: Vec<Action> = Vec::with_capacity(count);
        for rebind in rebinds {
            let i = rebind.action as usize;
            keys[i] = dedup(&rebind.keys);
            rebound[i] = true;
            order.retain(|a| *a != rebind.action);
            order.push(rebind.action);
        }
        order.extend(Action::all().filter(|a| !rebound[*a as usize]));

        let mut by_view: [HashMap<Key, Action>; View::ALL.len()] = Default::default();
        let mut conflicts: Vec<Conflict> = Vec::new();
        for action in order.iter().copied().filter(|a| allowed(*a)) {
            let info = action.info();
            for &key in &keys[action as usize] {
                for view in info.views.iter() {
                    let Some(&kept) = by_view[view as usize].get(&key) else {
                        by_view[view as usize].insert(key, action);
                        continue;
                    };
                    let kind = if rebound[kept as usize] && !rebound[action as usize] {
                        ConflictKind::TakesDefault
                    } else {
                        ConflictKind::Clash
                    };
                    let single = ViewSet::of(&[view]);
                    match conflicts
                        .iter_mut()
                        .find(|c| c.key == key && c.kept == kept && c.lost == action)
                    {
                        Some(c) => c.views = ViewSet::union(c.views, single),
                        None => conflicts.push(Conflict {
                            key,
                            kept,
                            lost: action,
                            views: single,
                            kind,
                        }),
                    }
                }
            }
        }
        for action in Action::all().filter(|a| !allowed(*a)) {
            keys[action as usize].clear();
        }
        let keymap = Keymap {
            rebinds: rebinds.to_vec(),
            keys,
            rebound,
            by_view,
        };
        (keymap, conflicts)
    }

    /// The action `event` runs in `view`, if any. Key releases run nothing.
    pub fn action(&self, view: View, event: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(event)?;
        self.action_for_key(view, key)
    }

    pub fn action_for_key(&self, view: View, key: Key) -> Option<Action> {
        self.by_view[view as usize].get(&key).copied()
    }

    /// The keys configured for `action` (its defaults unless rebound), whether or not a
    /// conflict took some of them in some views; empty when filtered out or unbound.
    pub fn keys(&self, action: Action) -> &[Key] {
        &self.keys[action as usize]
    }

    /// The keys that run `action` in `view`.
    pub fn keys_in(&self, view: View, action: Action) -> Vec<Key> {
        self.keys(action)
            .iter()
            .copied()
            .filter(|k| self.action_for_key(view, *k) == Some(action))
            .collect()
    }

    /// Whether the config rebound `action`.
    pub fn is_rebound(&self, action: Action) -> bool {
        self.rebound[action as usize]
    }

    /// The `?` help for `view`: its actions with the keys that run them there, by group.
    pub fn help(&self, view: View) -> Vec<HelpSection> {
        let mut sections: Vec<HelpSection> = Vec::new();
        let mut actions: Vec<Action> = Action::all()
            .filter(|a| a.info().views.contains(view))
            .collect();
        actions.sort_by_key(|a| a.info().group);
        for action in actions {
            let keys = self.keys_in(view, action);
            if keys.is_empty() {
                continue;
            }
            let info = action.info();
            let row = HelpRow {
                action,
                keys: join_keys(&keys),
                help: info.help,
            };
            match sections.last_mut() {
                Some(s) if s.group == info.group => s.rows.push(row),
                _ => sections.push(HelpSection {
                    group: info.group,
                    title: info.group.title(),
                    rows: vec![row],
                }),
            }
        }
        sections
    }

    /// Short hints for the footer in `view`: that view's operator actions first, then the
    /// console keys worth a reminder (`?`, `:`, `/`…), one key each.
    pub fn hints(&self, view: View) -> Vec<Hint> {
        let mut actions: Vec<Action> = Action::all()
            .filter(|a| a.info().hint.is_some() && a.info().views.contains(view))
            .collect();
        actions.sort_by_key(|a| a.info().group != Group::Actions);
        actions
            .into_iter()
            .filter_map(|action| {
                let key = *self.keys_in(view, action).first()?;
                Some(Hint {
                    action,
                    key: key.to_string(),
                    label: action.info().hint?,
                })
            })
            .collect()
    }
}

/// A section of the `?` help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpSection {
    pub group: Group,
    pub title: &'static str,
    pub rows: Vec<HelpRow>,
}

/// One line of the `?` help: `j, down   Move the cursor down`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRow {
    pub action: Action,
    pub keys: String,
    pub help: &'static str,
}

/// One footer hint: `<r> reset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub action: Action,
    pub key: String,
    pub label: &'static str,
}

/// Keys as the help shows them: `j, down`.
pub fn join_keys(keys: &[Key]) -> String {
    keys.iter()
        .map(Key::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn dedup(keys: &[Key]) -> Vec<Key> {
    let mut out: Vec<Key> = Vec::with_capacity(keys.len());
    for key in keys {
        if !out.contains(key) {
            out.push(*key);
        }
    }
    out
}
