//! What the detail pane shows for the cursor row: every field of the object; for a ticket
//! also its description, catalog variables and journal (read live); for a job its
//! per-target results and a workflow's steps; for a user the routing explanation (read
//! live).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::console::app::workflows::routing_lines;
use crate::console::app::{App, RowRef, convert};
use crate::console::theme::Theme;
use crate::console::widgets::detail::{DetailBlock, DetailEntry, DetailPane};
use crate::console::widgets::workflow_dialog::Tone;

/// Draws the pane and returns the scroll it used (clamped to the text).
pub fn render(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) -> usize {
    let table = app.table();
    let Some(row) = table.current() else {
        let pane = DetailPane {
            title: "details",
            fields: &[],
            blocks: &[],
            scroll: 0,
            focused: false,
        };
        return pane.render(area, buf, theme);
    };
    let mut fields: Vec<(&str, &str)> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| !row.cell(*i).is_empty())
        .map(|(i, c)| (c.title, row.cell(i)))
        .collect();
    let mut owned_fields: Vec<(String, String)> = Vec::new();
    let mut blocks: Vec<(String, Vec<OwnedEntry>)> = Vec::new();
    match &row.target {
        RowRef::Ticket(link) => match &app.ticket {
            Some((l, Ok(detail))) if l == link => {
                if !detail.live {
                    let why = detail.error.clone().unwrap_or_default();
                    owned_fields.push((
                        "Note".into(),
                        format!("ServiceNow unreachable; last synced copy ({why})"),
                    ));
                }
                blocks.push((
                    "Description".into(),
                    vec![OwnedEntry::text(&detail.ticket.description)],
                ));
                if !detail.variables.is_empty() {
                    let vars = detail
                        .variables
                        .iter()
                        .map(|v| OwnedEntry::text(&format!("{}: {}", v.question, v.value)))
                        .collect();
                    blocks.push(("Catalog variables".into(), vars));
                }
                let journal = detail
                    .journal
                    .iter()
                    .map(|j| OwnedEntry {
                        time: Some(convert::time(j.created_on)),
                        author: Some(format!(
                            "{} ({})",
                            j.created_by,
                            j.element.replace('_', " ")
                        )),
                        text: j.value.clone(),
                        alert: false,
                    })
                    .collect();
                blocks.push(("Journal".into(), journal));
                if !detail.jobs.is_empty() {
                    let jobs = detail
                        .jobs
                        .iter()
                        .map(|id| OwnedEntry::text(&id.to_string()))
                        .collect();
                    blocks.push(("Jobs".into(), jobs));
                }
            }
            Some((l, Err(why))) if l == link => owned_fields.push(("Detail".into(), why.clone())),
            _ => owned_fields.push(("Detail".into(), "loading…".into())),
        },
        RowRef::Job { id } => match &app.job {
            Some(Ok(job)) if job.id == *id => {
                if let Some(status) = &job.ticket_status {
                    owned_fields.push(("Ticket status".into(), status.clone()));
                }
                let tasks = job
                    .tasks
                    .iter()
                    .flatten()
                    .map(|t| OwnedEntry {
                        time: None,
                        author: Some(format!(
                            "{} {} ({} attempts)",
                            t.state, t.display_name, t.attempt_count
                        )),
                        text: t
                            .error
                            .clone()
                            .or_else(|| t.result.clone())
                            .unwrap_or_default(),
                        alert: false,
                    })
                    .collect();
                blocks.push(("Targets".into(), tasks));
                blocks.extend(step_blocks(job));
            }
            Some(Err(why)) => owned_fields.push(("Targets".into(), why.clone())),
            _ => owned_fields.push(("Targets".into(), "loading…".into())),
        },
        RowRef::User { login, .. } => {
            use crate::console::app::AccountSlot;
            let status = match app.accounts.get(login) {
                Some(AccountSlot::Loaded(a)) => {
                    if !a.dn.is_empty() {
                        owned_fields.push(("DN".into(), a.dn.clone()));
                    }
                    None
                }
                Some(AccountSlot::Failed(why)) => Some(why.clone()),
                Some(AccountSlot::Loading) => Some("loading…".to_owned()),
                None => None,
            };
            if let Some(status) = status {
                owned_fields.push(("Account".into(), status));
            }
            match &app.routing {
                Some((l, Ok(explanation))) if l == login => blocks.push((
                    "Routing".into(),
                    routing_lines(explanation)
                        .into_iter()
                        .map(|(line, tone)| OwnedEntry {
                            alert: tone == Tone::Bad,
                            ..OwnedEntry::text(line.trim_start())
                        })
                        .collect(),
                )),
                Some((l, Err(why))) if l == login => {
                    owned_fields.push(("Routing".into(), why.clone()));
                }
                _ => {}
            }
        }
        _ => {}
    }
    fields.extend(owned_fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let entries: Vec<Vec<DetailEntry<'_>>> = blocks
        .iter()
        .map(|(_, e)| e.iter().map(OwnedEntry::borrow).collect())
        .collect();
    let blocks: Vec<DetailBlock<'_>> = blocks
        .iter()
        .zip(&entries)
        .map(|((heading, _), entries)| DetailBlock { heading, entries })
        .collect();
    let title = format!("{} {}", table.view.name(), row.cell(0));
    DetailPane {
        title: &title,
        fields: &fields,
        blocks: &blocks,
        scroll: app.detail_scroll,
        focused: false,
    }
    .render(area, buf, theme)
}

struct OwnedEntry {
    time: Option<String>,
    author: Option<String>,
    text: String,
    alert: bool,
}

/// Each workflow task's steps with their state and detail; a failed step in the error
/// colour (the retry continues from it).
fn step_blocks(job: &crate::console::client::JobInfo) -> Vec<(String, Vec<OwnedEntry>)> {
    use crate::console::client::StepState;
    let tasks = job.tasks.iter().flatten().filter(|t| !t.steps.is_empty());
    tasks
        .map(|t| {
            let total = t.steps.len();
            let entries = t
                .steps
                .iter()
                .map(|s| OwnedEntry {
                    time: None,
                    author: Some(format!(
                        "{} {} {}/{total} {}",
                        s.state.sign(),
                        s.state.as_str(),
                        s.number + 1,
                        s.title
                    )),
                    text: s.detail.clone().unwrap_or_default(),
                    alert: s.state == StepState::Failed,
                })
                .collect();
            (format!("Steps of {}", t.display_name), entries)
        })
        .collect()
}

impl OwnedEntry {
    fn text(text: &str) -> OwnedEntry {
        OwnedEntry {
            time: None,
            author: None,
            text: text.to_owned(),
            alert: false,
        }
    }

    fn borrow(&self) -> DetailEntry<'_> {
        DetailEntry {
            time: self.time.as_deref(),
            author: self.author.as_deref(),
            text: &self.text,
            alert: self.alert,
        }
    }
}
