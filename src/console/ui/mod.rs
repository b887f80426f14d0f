//! Draws the console from the app state, top to bottom: header, breadcrumbs, the view's table
//! (with the detail pane beside or under it), the jobs pane, the flash or input line, the key
//! hints; then any overlay (help, API log, a dialog). Drawing reads state only, except the
//! table's scroll offset, which it keeps.
//!
//! - [`rows`]: a view's table as the table widget reads it; [`detail`]: the detail pane;
//!   [`jobs`]: the jobs pane; [`overlay`]: help, API log and dialogs.

mod detail;
mod jobs;
mod overlay;
mod reports;
pub mod rows;
mod runbooks;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Direction, Layout, Rect};

use crate::console::app::{App, Link, Mode};
use crate::console::client::CallLog;
use crate::console::keymap::View;
use crate::console::theme::Theme;
use crate::console::widgets::flash::Flash;
use crate::console::widgets::header::{self, Connection, Endpoint, Header};
use crate::console::widgets::hints::render_hints;
use crate::console::widgets::table::{Table as TableWidget, TableTitle};
use crate::console::widgets::text;

/// Wide enough for the detail pane beside the table rather than under it.
const SIDE_BY_SIDE: u16 = 140;

pub fn draw(frame: &mut Frame, app: &mut App, theme: &Theme, calls: &CallLog) {
    let area = frame.area();
    app.size = (area.width, area.height);
    let buf = frame.buffer_mut();
    render(app, theme, calls, area, buf);
}

/// The whole screen into a buffer; what [`draw`] does, callable on a test buffer.
pub fn render(app: &mut App, theme: &Theme, calls: &CallLog, area: Rect, buf: &mut Buffer) {
    text::clear(buf, area, theme.base.text);
    let pane = jobs::height(app);
    let [head, crumbs, main, jobs_area, line, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(pane),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);

    header(app, head, buf, theme);
    let trail = app.breadcrumbs();
    let trail: Vec<&str> = trail.iter().map(String::as_str).collect();
    header::render_breadcrumbs(&trail, crumbs, buf, theme);

    let (table_area, detail_area) = if app.details {
        let direction = if area.width >= SIDE_BY_SIDE {
            Direction::Horizontal
        } else {
            Direction::Vertical
        };
        let [a, b] = Layout::default()
            .direction(direction)
            .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(main);
        (a, Some(b))
    } else {
        (main, None)
    };
    table(app, table_area, buf, theme);
    if let Some(detail_area) = detail_area {
        // Scrolling past the end stops at the end, so K works at once after many J.
        app.detail_scroll = detail::render(app, detail_area, buf, theme);
    }
    if pane > 0 {
        jobs::render(app, jobs_area, buf, theme);
    }
    bottom_line(app, line, buf, theme);
    render_hints(&app.keymap.hints(app.view), hints, buf, theme);
    overlay::render(app, calls, area, buf, theme);
}

fn header(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let retry;
    let since;
    let connection = match &app.link {
        Link::Connecting => Connection::Connecting,
        Link::Live => Connection::Connected,
        Link::Away {
            since: from,
            retry_at,
            ..
        } => {
            retry = (*retry_at - app.now).num_seconds().max(0) as u64;
            since = from.format("%H:%M").to_string();
            Connection::Unreachable {
                retry_in_secs: Some(retry),
                data_from: Some(&since),
            }
        }
    };
    let role = app.me.as_ref().map(|m| m.role.as_str()).unwrap_or("");
    Header {
        product: "deskbridge",
        endpoint: if app.setup.lab {
            Endpoint::Lab
        } else {
            Endpoint::Url(&app.setup.adapter_url)
        },
        readonly: app.setup.readonly,
        connection,
        operator: app.me.as_ref().map(|m| (m.name.as_str(), role)),
    }
    .render(area, buf, theme);
}

fn table(app: &mut App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let view = app.view;
    let t = app.table();
    let rows = rows::ViewRows::new(t, theme);
    let columns = rows.columns();
    let scope = t.scope.as_deref();
    let empty = empty_text(app);
    let widget = TableWidget {
        title: TableTitle {
            view: view.name(),
            scope,
            count: t.len(),
            filter: t.filter.as_ref().map(|f| f.text()),
        },
        columns: &columns,
        source: &rows,
        cursor: t.cursor,
        offset: t.offset,
        sort: rows.sort(),
        focused: true,
        empty: empty.as_deref(),
    };
    let offset = widget.render(area, buf, theme);
    match view {
        View::Groups => rows::group_bars(&rows, &columns, area, offset, buf),
        View::Sites => rows::site_trends(&rows, &columns, area, offset, &app.site_trends, buf),
        _ => {}
    }
    app.table_mut().offset = offset;
}

/// What an empty table says: still loading, the load failed, or nothing matches.
fn empty_text(app: &App) -> Option<String> {
    use crate::console::app::LoadStatus;
    let t = app.table();
    match &t.status {
        LoadStatus::Never | LoadStatus::Loading if t.rows.is_empty() => {
            Some(format!("loading {}…", t.view.name()))
        }
        LoadStatus::Failed(why) if t.rows.is_empty() => {
            Some(format!("cannot load {}: {why}", t.view.name()))
        }
        _ if t.rows.is_empty() => Some(format!("no {}", t.view.name())),
        _ => None,
    }
}

/// The line under the table: the `/` or `:` line while typing, else the flash, else what
/// the view's data is (a note from its load, a failed reload).
fn bottom_line(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    match &app.mode {
        Mode::Filter { .. } => {
            let line = overlay::InputLine {
                prompt: '/',
                value: app.filter_line.value(),
                cursor: app.filter_line.input().visual_cursor(),
                candidates: None,
                error: app.filter_error.as_deref(),
            };
            overlay::input_line(&line, area, buf, theme);
        }
        Mode::Command => {
            let command = &app.command_line;
            let line = overlay::InputLine {
                prompt: ':',
                value: command.value(),
                cursor: command.input().visual_cursor(),
                candidates: command.completion().map(|m| m.candidates.join("  ")),
                error: command.error(),
            };
            overlay::input_line(&line, area, buf, theme);
        }
        _ => {
            use crate::console::app::{Level, LoadStatus};
            let t = app.table();
            let (level, text) = if let Some(flash) = &app.flash {
                (flash.level, flash.text.clone())
            } else if let LoadStatus::Failed(why) = &t.status {
                (
                    Level::Warn,
                    format!("showing earlier data: the last reload failed: {why}"),
                )
            } else if let Some(note) = &t.note {
                (Level::Warn, note.clone())
            } else {
                return;
            };
            Flash { level, text: &text }.render(area, buf, theme);
        }
    }
}
