//! The closure cascade: a catalog task's state rolls up to its RITM and a RITM's to its REQ,
//! following ServiceNow's state-closure rules for execution plans.

use super::rules::{INACTIVE_TASK_STATES, WriteCtx, update};
use super::schema::table_def;
use super::store::{Db, Record};

/// The state a parent takes once every child is inactive: any Closed Incomplete makes it
/// Closed Incomplete, all Closed Skipped makes it Closed Skipped, anything else Closed Complete.
pub fn rollup(child_states: &[&str]) -> Option<&'static str> {
    if child_states.is_empty()
        || !child_states
            .iter()
            .all(|s| INACTIVE_TASK_STATES.contains(s))
    {
        return None;
    }
    if child_states.contains(&"4") {
        Some("4")
    } else if child_states.iter().all(|s| *s == "7") {
        Some("7")
    } else {
        Some("3")
    }
}

/// Closes (or starts) the parent RITM and REQ when a child's state changes.
pub fn cascade(db: &mut Db, before: &Record, record: &Record, ctx: &WriteCtx) {
    if before.get("state") == record.get("state") {
        return;
    }
    let (parent_table, link, parent_id) = match record.def.name {
        "sc_task" => ("sc_req_item", "request_item", record.get("request_item")),
        "sc_req_item" => ("sc_request", "request", record.get("request")),
        _ => return,
    };
    let Some(parent) = db.get(parent_table, parent_id).cloned() else {
        return;
    };
    let Some(parent_def) = table_def(parent_table) else {
        return;
    };
    let state = record.get("state");
    let mut changes: Vec<(String, String)> = Vec::new();
    if INACTIVE_TASK_STATES.contains(&state) {
        let siblings = db.find_all(record.def.name, link, parent.sys_id());
        let states: Vec<&str> = siblings.iter().map(|r| r.get("state")).collect();
        if let Some(closed) = rollup(&states)
            && parent.get("active") == "true"
        {
            changes.push(("state".into(), closed.into()));
        }
    } else if state == "2" && matches!(parent.get("state"), "-5" | "1") {
        changes.push(("state".into(), "2".into()));
        if parent_table == "sc_request" {
            changes.push(("request_state".into(), "in_process".into()));
        }
    }
    if changes.is_empty() {
        return;
    }
    // A cascade is the platform acting: its own rules may not refuse it.
    let system = WriteCtx {
        require_close_fields: false,
        ..ctx.clone()
    };
    let _ = update(db, parent_def, parent.sys_id(), &changes, &system);
}

#[cfg(test)]
mod tests {
    use super::super::rules::testing::{add, db, patch};
    use super::*;

    #[test]
    fn rollup_follows_the_closure_rules() {
        assert_eq!(rollup(&["3", "3"]), Some("3"));
        assert_eq!(rollup(&["3", "7"]), Some("3"));
        assert_eq!(rollup(&["3", "4"]), Some("4"));
        assert_eq!(rollup(&["7", "7"]), Some("7"));
        assert_eq!(rollup(&["3", "2"]), None);
        assert_eq!(rollup(&[]), None);
    }

    #[test]
    fn closing_every_task_closes_the_ritm_and_the_request() {
        let mut db = db();
        let req = add(&mut db, "sc_request", &[]).expect("req");
        let ritm = add(&mut db, "sc_req_item", &[("request", req.sys_id())]).expect("ritm");
        let link = [("request_item", ritm.sys_id()), ("request", req.sys_id())];
        let t1 = add(&mut db, "sc_task", &link).expect("t1");
        let t2 = add(&mut db, "sc_task", &link).expect("t2");
        patch(&mut db, "sc_task", t1.sys_id(), &[("state", "3")]).expect("t1 closes");
        assert_eq!(
            db.get("sc_req_item", ritm.sys_id()).map(|r| r.get("state")),
            Some("1")
        );
        patch(&mut db, "sc_task", t2.sys_id(), &[("state", "4")]).expect("t2 closes");
        let ritm = db.get("sc_req_item", ritm.sys_id()).expect("ritm");
        assert_eq!((ritm.get("state"), ritm.get("active")), ("4", "false"));
        let req = db.get("sc_request", req.sys_id()).expect("req");
        assert_eq!(req.get("request_state"), "closed_incomplete");
        assert_eq!(req.get("active"), "false");
    }
}
