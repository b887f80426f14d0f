//! The header line (product, adapter or `lab` badge, `readonly` badge, connection state,
//! operator) and the breadcrumbs of the view stack (`tickets › INC0010001 › alice ›
//! sessions`).

use super::text;
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

/// Which adapter the console talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// `https://bridge.example.com`
    Url(&'a str),
    /// The embedded lab: shown as a badge, so nobody mistakes it for production.
    Lab,
}

/// The state of the link to the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection<'a> {
    Connecting,
    Connected,
    /// The adapter is gone: when the next try is, and the time of the data on screen.
    Unreachable {
        retry_in_secs: Option<u64>,
        /// `10:42`, formatted by the caller.
        data_from: Option<&'a str>,
    },
}

impl Connection<'_> {
    /// `adapter unreachable — retrying in 4s, showing data from 10:42`.
    pub fn text(&self) -> String {
        match *self {
            Connection::Connecting => "connecting…".to_string(),
            Connection::Connected => "connected".to_string(),
            Connection::Unreachable {
                retry_in_secs,
                data_from,
            } => {
                let mut s = "adapter unreachable".to_string();
                let mut parts = Vec::new();
                if let Some(secs) = retry_in_secs {
                    parts.push(format!("retrying in {secs}s"));
                }
                if let Some(at) = data_from {
                    parts.push(format!("showing data from {at}"));
                }
                if !parts.is_empty() {
                    s.push_str(" — ");
                    s.push_str(&parts.join(", "));
                }
                s
            }
        }
    }
}

/// What the header line shows.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    pub product: &'a str,
    pub endpoint: Endpoint<'a>,
    pub readonly: bool,
    pub connection: Connection<'a>,
    /// The operator's user name and role, right-aligned.
    pub operator: Option<(&'a str, &'a str)>,
}

impl Header<'_> {
    /// Draws the header on the first line of `area`. When it is too narrow the operator goes
    /// first, then the adapter URL; the badges and the connection state stay.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let area = buf.area.intersection(area);
        if area.height == 0 {
            return;
        }
        let hd = &theme.header;
        let base = theme.base.text.patch(hd.text);
        text::clear(buf, Rect { height: 1, ..area }, base);
        let conn_style = match self.connection {
            Connection::Unreachable { .. } => base.patch(hd.disconnected),
            Connection::Connected => base.patch(hd.connected),
            Connection::Connecting => base.patch(theme.status.muted),
        };
        let endpoint = match self.endpoint {
            Endpoint::Url(url) => (url.to_string(), base),
            Endpoint::Lab => (" LAB ".to_string(), base.patch(hd.lab)),
        };
        let mut parts: Vec<(String, Style, bool)> = vec![
            (
                self.product.to_string(),
                base.patch(Style::new().bold()),
                false,
            ),
            (
                endpoint.0,
                endpoint.1,
                matches!(self.endpoint, Endpoint::Url(_)),
            ),
        ];
        if self.readonly {
            parts.push((" READ-ONLY ".to_string(), base.patch(hd.readonly), false));
        }
        parts.push((self.connection.text(), conn_style, false));
        let operator = self.operator.map(|(user, role)| format!("{user} ({role})"));
        let left_w = |parts: &[(String, Style, bool)]| -> usize {
            parts.iter().map(|p| text::width(&p.0) + 2).sum::<usize>()
        };
        let width = usize::from(area.width);
        let mut operator_w = operator.as_deref().map_or(0, |o| text::width(o) + 1);
        if left_w(&parts) + operator_w > width {
            operator_w = 0;
        }
        if left_w(&parts) + operator_w > width {
            parts.retain(|p| !p.2);
        }
        let mut x = area.x;
        for (s, style, _) in &parts {
            let room = usize::from(area.right() - x).saturating_sub(operator_w);
            if room == 0 {
                break;
            }
            x = text::put(buf, x, area.y, s, room, *style);
            x = (x + 2).min(area.right());
        }
        if let (Some(op), true) = (operator, operator_w > 0) {
            text::put_right(buf, area.right(), area.y, &op, operator_w, base);
        }
    }
}

/// The separator between breadcrumbs.
pub const CRUMB_SEPARATOR: &str = " › ";

/// Draws the view stack on the first line of `area`, the last crumb as the current one.
/// When it does not fit, the oldest crumbs give way to `…`.
pub fn render_breadcrumbs(crumbs: &[&str], area: Rect, buf: &mut Buffer, theme: &Theme) {
    let area = buf.area.intersection(area);
    if area.height == 0 || crumbs.is_empty() {
        return;
    }
    let b = &theme.breadcrumbs;
    let base = theme.base.text;
    text::clear(buf, Rect { height: 1, ..area }, base);
    let sep_w = text::width(CRUMB_SEPARATOR);
    let width_from = |first: usize| -> usize {
        let crumbs_w: usize = crumbs[first..].iter().map(|c| text::width(c) + 2).sum();
        let lead = if first > 0 { 1 + sep_w } else { 0 };
        crumbs_w + sep_w * (crumbs.len() - first - 1) + lead
    };
    let mut first = 0;
    while first + 1 < crumbs.len() && width_from(first) > usize::from(area.width) {
        first += 1;
    }
    let mut x = area.x;
    let sep_style = base.patch(b.separator);
    if first > 0 {
        x = text::put(buf, x, area.y, text::ELLIPSIS, 1, sep_style);
        x = text::put(buf, x, area.y, CRUMB_SEPARATOR, sep_w, sep_style);
    }
    for (i, crumb) in crumbs.iter().enumerate().skip(first) {
        if i > first {
            let room = usize::from(area.right() - x);
            x = text::put(buf, x, area.y, CRUMB_SEPARATOR, room, sep_style);
        }
        let style = if i + 1 == crumbs.len() {
            base.patch(b.current)
        } else {
            base.patch(b.item)
        };
        let room = usize::from(area.right() - x);
        x = text::put(buf, x, area.y, &format!(" {crumb} "), room, style);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(buf: &Buffer) -> String {
        (0..buf.area.width).map(|x| buf[(x, 0)].symbol()).collect()
    }

    fn at(buf: &Buffer, s: &str) -> u16 {
        let l = line(buf);
        l.find(s)
            .map_or(u16::MAX, |i| l[..i].chars().count() as u16)
    }

    #[test]
    fn lab_readonly_and_disconnected_are_badged() -> anyhow::Result<()> {
        let theme = Theme::load("default", None)?;
        let header = Header {
            product: "deskbridge",
            endpoint: Endpoint::Lab,
            readonly: true,
            connection: Connection::Unreachable {
                retry_in_secs: Some(4),
                data_from: Some("10:42"),
            },
            operator: Some(("alice", "helpdesk")),
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 140, 1));
        header.render(buf.area, &mut buf, &theme);
        let l = line(&buf);
        assert!(l.contains("adapter unreachable — retrying in 4s, showing data from 10:42"));
        assert!(l.trim_end().ends_with("alice (helpdesk)"));
        assert_eq!(
            buf[(at(&buf, "LAB"), 0)].bg,
            theme.header.lab.bg.unwrap_or_default()
        );
        let ro = at(&buf, "READ-ONLY");
        assert_eq!(
            buf[(ro, 0)].bg,
            theme.header.readonly.bg.unwrap_or_default()
        );
        let down = at(&buf, "adapter unreachable");
        let want = theme
            .base
            .text
            .patch(theme.header.text)
            .patch(theme.header.disconnected);
        assert_eq!(buf[(down, 0)].style().fg, want.fg);

        // At 80 columns the operator gives way; the state stays.
        let mut narrow = Buffer::empty(Rect::new(0, 0, 80, 1));
        header.render(narrow.area, &mut narrow, &theme);
        assert!(line(&narrow).contains("adapter unreachable"));
        assert!(!line(&narrow).contains("alice"));
        Ok(())
    }

    #[test]
    fn breadcrumbs_mark_the_current_view_and_drop_the_oldest() -> anyhow::Result<()> {
        let theme = Theme::load("mono", None)?;
        let crumbs = ["tickets", "INC0010001", "alice", "sessions"];
        let mut buf = Buffer::empty(Rect::new(0, 0, 60, 1));
        render_breadcrumbs(&crumbs, buf.area, &mut buf, &theme);
        assert!(line(&buf).starts_with(" tickets  ›  INC0010001  ›  alice  ›  sessions "));
        let cur = at(&buf, "sessions");
        assert_eq!(
            buf[(cur, 0)].modifier,
            theme.breadcrumbs.current.add_modifier
        );
        assert_ne!(buf[(at(&buf, "alice"), 0)].modifier, buf[(cur, 0)].modifier);

        let mut narrow = Buffer::empty(Rect::new(0, 0, 30, 1));
        render_breadcrumbs(&crumbs, narrow.area, &mut narrow, &theme);
        assert!(
            line(&narrow).starts_with("… ›  alice  ›  sessions "),
            "{}",
            line(&narrow)
        );
        Ok(())
    }
}
