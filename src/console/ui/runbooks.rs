//! Draws the `:runbooks` screen from [`App::runbooks`](crate::console::app::App::runbooks):
//! the picker, and a runbook's parameter form over it when one is open.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;

use crate::console::app::App;
use crate::console::app::reports::Status;
use crate::console::client::RunbookInfo;
use crate::console::theme::Theme;
use crate::console::widgets::runbook_dialog::{RunbookDialog, Tone};
use crate::console::widgets::runbook_list::{PickerDetail, PickerItem, RunbookList};

/// The keys of the picker.
pub const PICKER_HINT: &str = "enter fill in and run · j/k move · r reload · esc back";

/// What the picker says about a runbook under the list.
pub fn detail(runbook: &RunbookInfo) -> PickerDetail {
    PickerDetail {
        description: reflowed(&runbook.description),
        params: runbook
            .params
            .iter()
            .map(|p| {
                let default = p.default_text();
                match (p.required, default.is_empty()) {
                    (true, _) => format!("{} *", p.name),
                    (false, false) => format!("{} = {default}", p.name),
                    (false, true) => p.name.clone(),
                }
            })
            .collect(),
        steps: runbook
            .steps
            .iter()
            .map(|s| {
                let mut text = if s.title.is_empty() {
                    s.name.clone()
                } else {
                    s.title.clone()
                };
                if let Some(wait) = &s.wait {
                    text.push_str(&format!(" (after {wait})"));
                }
                if let Some(when) = &s.when {
                    text.push_str(&format!(" (when {when})"));
                }
                text
            })
            .collect(),
    }
}

/// A description written in a file, its lines joined so that the picker wraps it to its own
/// width; a blank line still starts a paragraph.
fn reflowed(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .map(|para| para.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let r = &app.runbooks;
    let role = |rb: &RunbookInfo| rb.role.as_str();
    let items: Vec<PickerItem<'_>> = r
        .catalog
        .iter()
        .map(|rb| PickerItem {
            name: &rb.name,
            title: &rb.title,
            role: role(rb),
            startable: app.runbook_refusal(rb).is_none(),
        })
        .collect();
    let status = match (&r.status, &r.notice) {
        (_, Some(notice)) => Some(notice.clone()),
        (Status::Never | Status::Loading, _) if items.is_empty() => {
            Some("loading the runbooks…".to_owned())
        }
        (Status::Failed(why), _) => Some(format!("cannot read the runbooks: {why}")),
        (Status::Loaded, _) if items.is_empty() => {
            Some("the adapter has no runbooks (docs/runbooks.md says where they live)".to_owned())
        }
        _ if app.setup.readonly => Some("read-only console: runbooks are listed only".to_owned()),
        _ => None,
    };
    let detail = r.catalog.get(r.cursor).map(detail);
    RunbookList {
        items: &items,
        cursor: r.cursor,
        detail: detail.as_ref(),
        status: status.as_deref(),
        hint: PICKER_HINT,
    }
    .render(area, buf, theme);
    let Some(form) = &r.form else {
        return;
    };
    let mut intro = vec![(
        format!("{}: {}", form.runbook.name, form.runbook.title),
        Tone::Heading,
    )];
    if let Some(t) = &form.ticket {
        intro.push((
            format!("For ticket {} (linked to the job)", t.number),
            Tone::Muted,
        ));
    }
    let title = format!("Run {}", form.runbook.name);
    let dialog = RunbookDialog {
        title: &title,
        intro: &intro,
        state: &form.state,
        question: &form.question,
    };
    if let Some((x, y)) = dialog.render(area, buf, theme)
        && let Some(cell) = buf.cell_mut((x, y))
    {
        // The terminal's own cursor stays hidden; draw one where typing goes.
        cell.set_style(theme.command.input.add_modifier(Modifier::REVERSED));
    }
}
