//! The events a refresh emits: one `inventory` event per site and refresh when its counts
//! changed (a summary of what changed, never one per session), one `site` event when its
//! health changed (degraded flag, connectors up, failing or recovering).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::site::SiteState;
use crate::adapter::store::{EventKind, Store};
use crate::model::ConnectorHealth;

/// The events that tell consoles how `before` became `after`: `(kind, payload)`.
pub fn events(site: &str, before: &SiteState, after: &SiteState) -> Vec<(EventKind, Value)> {
    let mut out = Vec::new();
    if let Some(data) = &after.data {
        let first = before.data.is_none();
        let changes = match &before.data {
            Some(old) if !Arc::ptr_eq(old, data) => old.counts.changes(&data.counts),
            _ => Vec::new(),
        };
        if first || !changes.is_empty() {
            let mut changed = Map::new();
            for (name, from, to) in changes {
                changed.insert(name.to_owned(), json!({ "from": from, "to": to }));
            }
            out.push((
                EventKind::Inventory,
                json!({
                    "site": site,
                    "first_load": first,
                    "counts": data.counts,
                    "changed": changed,
                    "fetched_at": data.fetched_at,
                }),
            ));
        }
    }
    let up = |s: &SiteState| {
        s.connectors
            .iter()
            .map(|c| c.health == ConnectorHealth::Up)
            .collect::<Vec<_>>()
    };
    let failing = |s: &SiteState| s.last_error.is_some();
    if before.degraded != after.degraded
        || up(before) != up(after)
        || failing(before) != failing(after)
    {
        out.push((
            EventKind::Site,
            json!({
                "site": site,
                "degraded": after.degraded,
                "connectors": after.connectors,
                "last_error": after.last_error,
                "data_age": after.data_age(chrono::Utc::now()),
            }),
        ));
    }
    out
}

/// Appends the events; a store that cannot take them costs the events, not the refresh.
pub async fn emit(store: &dyn Store, site: &str, before: &SiteState, after: &SiteState) {
    for (kind, payload) in events(site, before, after) {
        if let Err(err) = store.append_event(kind, site, payload).await {
            tracing::warn!(site, error = %err, "cannot record an inventory event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::inventory::SiteData;
    use chrono::Utc;

    fn with_data(sessions: usize) -> SiteState {
        let data = SiteData::new(Utc::now(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut state = SiteState {
            data: Some(Arc::new(data)),
            ..SiteState::default()
        };
        if let Some(d) = state.data.as_mut().and_then(Arc::get_mut) {
            d.counts.sessions = sessions;
        }
        state
    }

    #[test]
    fn first_load_then_only_changes() {
        let empty = SiteState::default();
        let loaded = with_data(5);
        let found = events("x", &empty, &loaded);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, EventKind::Inventory);
        assert_eq!(found[0].1["first_load"], true);

        let same = with_data(5);
        assert!(
            events_of(&loaded, &same).is_empty(),
            "equal counts: no event"
        );
        let more = with_data(7);
        let found = events("x", &loaded, &more);
        assert_eq!(found[0].1["changed"]["sessions"]["to"], 7);

        let degraded = SiteState {
            data: more.data.clone(),
            degraded: true,
            last_error: Some("down".into()),
            ..SiteState::default()
        };
        let found = events("x", &more, &degraded);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, EventKind::Site);
        assert_eq!(found[0].1["degraded"], true);
    }

    fn events_of(a: &SiteState, b: &SiteState) -> Vec<(EventKind, Value)> {
        events("x", a, b)
    }
}
