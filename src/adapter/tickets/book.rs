//! The ticket book: every queue ticket of one instance, as the last polls left it, with the
//! rows the queue API pages over. Merging a poll reports what changed, for events.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use super::row::QueueTicket;
use crate::adapter::inventory::Indexed;

/// What a merge changed.
#[derive(Debug, Default)]
pub struct Changes {
    pub added: Vec<Arc<QueueTicket>>,
    pub updated: Vec<Arc<QueueTicket>>,
    pub removed: Vec<Arc<QueueTicket>>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

#[derive(Default)]
struct State {
    by_number: BTreeMap<String, Arc<QueueTicket>>,
    rows: Arc<Vec<Indexed<QueueTicket>>>,
    /// The newest `sys_updated_on` seen: the next delta asks for changes from then on.
    watermark: Option<DateTime<Utc>>,
    synced_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

/// Sync status for the API: when the book was last refreshed and why the last poll failed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncStatus {
    pub tickets: usize,
    pub synced_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

#[derive(Default)]
pub struct Book {
    state: RwLock<State>,
}

impl Book {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every write is one swap).
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn rows(&self) -> Arc<Vec<Indexed<QueueTicket>>> {
        Arc::clone(&self.read().rows)
    }

    /// Every ticket of the book.
    pub fn all(&self) -> Vec<Arc<QueueTicket>> {
        self.read().by_number.values().cloned().collect()
    }

    pub fn get(&self, number: &str) -> Option<Arc<QueueTicket>> {
        self.read().by_number.get(number).cloned()
    }

    pub fn watermark(&self) -> Option<DateTime<Utc>> {
        self.read().watermark
    }

    pub fn status(&self) -> SyncStatus {
        let s = self.read();
        SyncStatus {
            tickets: s.by_number.len(),
            synced_at: s.synced_at,
            last_error: s.last_error.clone(),
        }
    }

    /// Moves the delta watermark to `seen` (the newest `sys_updated_on` a poll returned, closed
    /// tickets included, so they are not asked for again).
    pub fn advance_watermark(&self, seen: Option<DateTime<Utc>>) {
        let mut s = self.write();
        s.watermark = s.watermark.max(seen);
    }

    pub fn set_error(&self, error: Option<String>) {
        self.write().last_error = error;
    }

    /// A full poll: `tickets` is the whole queue now; anything else leaves it.
    pub fn replace(&self, tickets: Vec<QueueTicket>) -> Changes {
        let mut s = self.write();
        let mut next = BTreeMap::new();
        let mut changes = Changes::default();
        for t in tickets {
            let t = Arc::new(t);
            note_change(s.by_number.get(&t.number), &t, &mut changes);
            next.insert(t.number.clone(), t);
        }
        for (number, old) in &s.by_number {
            if !next.contains_key(number) {
                changes.removed.push(Arc::clone(old));
            }
        }
        s.by_number = next;
        finish(&mut s);
        changes
    }

    /// A delta poll or one ticket read after a write: open tickets still in a queue are
    /// upserted (`Some(queue row)`), the others (`None` for the number) leave.
    pub fn merge(&self, seen: Vec<(String, Option<QueueTicket>)>) -> Changes {
        let mut s = self.write();
        let mut changes = Changes::default();
        for (number, ticket) in seen {
            match ticket.filter(|t| t.open) {
                Some(t) => {
                    let t = Arc::new(t);
                    note_change(s.by_number.get(&number), &t, &mut changes);
                    s.by_number.insert(number, t);
                }
                None => {
                    if let Some(old) = s.by_number.remove(&number) {
                        changes.removed.push(old);
                    }
                }
            }
        }
        finish(&mut s);
        changes
    }
}

fn note_change(old: Option<&Arc<QueueTicket>>, new: &Arc<QueueTicket>, changes: &mut Changes) {
    match old {
        None => changes.added.push(Arc::clone(new)),
        Some(old) if old.as_ref() != new.as_ref() => changes.updated.push(Arc::clone(new)),
        Some(_) => {}
    }
}

fn finish(s: &mut State) {
    let newest = s.by_number.values().filter_map(|t| t.updated_at).max();
    s.watermark = s.watermark.max(newest);
    s.synced_at = Some(Utc::now());
    s.last_error = None;
    s.rows = Arc::new(
        s.by_number
            .values()
            .map(|t| t.as_ref().clone().indexed())
            .collect(),
    );
}
