//! The detail pane's workflow parts: a job's steps moving with step events, and the routing
//! explanation of the user under the cursor.

use super::*;
use crate::console::client::{StepInfo, StepState, TaskInfo, TaskState};

fn step(number: u32, state: StepState, detail: Option<&str>) -> StepInfo {
    StepInfo {
        number,
        kind: "k".into(),
        title: format!("Step {number}"),
        state,
        detail: detail.map(str::to_owned),
        started_at: None,
        ended_at: None,
    }
}

#[test]
fn step_events_update_the_open_job_detail() {
    let mut app = app(Role::Admin, false);
    let mut info = job("request.persistent_desktop");
    info.tasks = Some(vec![TaskInfo {
        id: 4,
        site: "LAB".into(),
        target_id: "ada".into(),
        display_name: "LAB\\ada".into(),
        state: TaskState::Running,
        percent: 0,
        attempt_count: 1,
        next_attempt_at: now(),
        result: None,
        error: None,
        external_job_id: None,
        attempts: Vec::new(),
        steps: vec![
            step(0, StepState::Done, None),
            step(1, StepState::Pending, None),
        ],
    }]);
    app.job = Some(Ok(info));
    let event = crate::console::client::StepEvent {
        job_id: Uuid::from_u128(9),
        task_id: 4,
        step: step(1, StepState::Failed, Some("no free machine")),
    };
    app.apply_step(&event);
    let Some(Ok(job)) = &app.job else {
        panic!("the job stays");
    };
    let steps = &job.tasks.as_ref().expect("tasks")[0].steps;
    assert_eq!(steps[1].state, StepState::Failed);
    assert_eq!(steps[1].detail.as_deref(), Some("no free machine"));
    // Another job's step changes nothing here.
    let other = crate::console::client::StepEvent {
        job_id: Uuid::from_u128(1),
        task_id: 4,
        step: step(1, StepState::Done, Some("elsewhere")),
    };
    app.apply_step(&other);
    let Some(Ok(job)) = &app.job else {
        panic!("the job stays");
    };
    let steps = &job.tasks.as_ref().expect("tasks")[0].steps;
    assert_eq!(steps[1].state, StepState::Failed);
}

#[test]
fn the_user_detail_reads_the_routing_explanation_of_the_cursor_user() {
    let mut app = app(Role::Viewer, false);
    users(&mut app);
    let effects = press(&mut app, KeyCode::Char('i'));
    assert!(
        effects.contains(&Effect::Workflow(WorkflowEffect::Explain(
            "LAB\\ada".into()
        ))),
        "{effects:?}"
    );
    // Not again while the cursor stays.
    assert!(
        !app.follow_cursor()
            .iter()
            .any(|e| matches!(e, Effect::Workflow(_)))
    );
    let routing = preview("LAB\\ada", &[]).routing.expect("routing");
    app.update(
        Msg::Workflow(WorkflowMsg::Explained {
            login: "LAB\\ada".into(),
            result: Ok(Box::new(routing)),
        }),
        now(),
    );
    assert!(matches!(&app.routing, Some((l, Ok(_))) if l == "LAB\\ada"));
    let effects = press(&mut app, KeyCode::Char('j'));
    assert!(
        effects.contains(&Effect::Workflow(WorkflowEffect::Explain(
            "LAB\\bob".into()
        ))),
        "{effects:?}"
    );
}
