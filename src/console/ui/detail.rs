//! What the detail pane shows for the cursor row: every field of the object; for a ticket
//! also its description, catalog variables and journal (read live); for a job its
//! per-target results.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::console::app::{App, RowRef, convert};
use crate::console::theme::Theme;
use crate::console::widgets::detail::{DetailBlock, DetailEntry, DetailPane};

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
                    })
                    .collect();
                blocks.push(("Targets".into(), tasks));
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
}

impl OwnedEntry {
    fn text(text: &str) -> OwnedEntry {
        OwnedEntry {
            time: None,
            author: None,
            text: text.to_owned(),
        }
    }

    fn borrow(&self) -> DetailEntry<'_> {
        DetailEntry {
            time: self.time.as_deref(),
            author: self.author.as_deref(),
            text: &self.text,
        }
    }
}
