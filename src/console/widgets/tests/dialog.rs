//! Tests of the confirmation dialog: focus starts on Cancel, the keys, typed-count gating,
//! and what is drawn (targets, `… and N more`, the typed line, button styles).

use super::*;
use ratatui::crossterm::event::KeyEvent;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::from(code)
}

fn line(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

/// Where `s` starts on screen, as (x, y).
fn find(buf: &Buffer, s: &str) -> Option<(u16, u16)> {
    (0..buf.area.height).find_map(|y| {
        let l = line(buf, y);
        let at = l.find(s)?;
        Some((l[..at].chars().count() as u16, y))
    })
}

#[test]
fn focus_starts_on_cancel_so_enter_cancels() {
    let mut s = ConfirmState::new(3);
    assert_eq!(s.focus, ConfirmFocus::Cancel);
    assert_eq!(s.required, None);
    assert_eq!(
        s.clone().handle_key(key(KeyCode::Enter)),
        ConfirmOutcome::Cancelled
    );
    assert_eq!(s.handle_key(key(KeyCode::Tab)), ConfirmOutcome::Pending);
    assert_eq!(s.focus, ConfirmFocus::Confirm);
    assert_eq!(
        s.clone().handle_key(key(KeyCode::Enter)),
        ConfirmOutcome::Confirmed
    );
    assert_eq!(s.handle_key(key(KeyCode::Left)), ConfirmOutcome::Pending);
    assert_eq!(s.focus, ConfirmFocus::Cancel);
    assert_eq!(
        s.clone().handle_key(key(KeyCode::Char('y'))),
        ConfirmOutcome::Confirmed
    );
    assert_eq!(
        s.clone().handle_key(key(KeyCode::Char('n'))),
        ConfirmOutcome::Cancelled
    );
    assert_eq!(s.handle_key(key(KeyCode::Esc)), ConfirmOutcome::Cancelled);
}

#[test]
fn many_targets_need_the_count_typed() {
    assert_eq!(ConfirmState::new(50).required, None);
    let mut s = ConfirmState::new(120);
    assert_eq!(s.required, Some(120));
    // `y` is no shortcut here, and Enter on Confirm waits for the count.
    assert_eq!(
        s.handle_key(key(KeyCode::Char('y'))),
        ConfirmOutcome::Pending
    );
    s.handle_key(key(KeyCode::Right));
    assert_eq!(s.handle_key(key(KeyCode::Enter)), ConfirmOutcome::Pending);
    for c in "1290".chars() {
        s.handle_key(key(KeyCode::Char(c)));
    }
    assert_eq!(s.typed, "1290");
    assert_eq!(s.handle_key(key(KeyCode::Enter)), ConfirmOutcome::Pending);
    s.handle_key(key(KeyCode::Backspace));
    s.handle_key(key(KeyCode::Backspace));
    s.handle_key(key(KeyCode::Char('0')));
    assert_eq!(s.typed, "120");
    assert!(s.can_confirm());
    assert_eq!(s.handle_key(key(KeyCode::Enter)), ConfirmOutcome::Confirmed);
}

#[test]
fn the_dialog_lists_targets_and_styles_the_buttons() -> anyhow::Result<()> {
    let theme = Theme::load("default", None)?;
    let targets: Vec<String> = (1..=7)
        .map(|i| format!("alice-{i} on VDA-{i:02}"))
        .collect();
    let state = ConfirmState::new(3);
    let dialog = ConfirmDialog {
        title: "log off",
        question: "Log off 50 sessions?",
        targets: &targets,
        count: 50,
        state: &state,
    };
    let mut buf = Buffer::empty(Rect::new(0, 0, 80, 24));
    dialog.render(buf.area, &mut buf, &theme);
    assert!(find(&buf, " log off ").is_some());
    assert!(find(&buf, "Log off 50 sessions?").is_some());
    assert!(find(&buf, "alice-5 on VDA-05").is_some());
    assert!(find(&buf, "alice-6").is_none());
    assert!(find(&buf, "… and 45 more").is_some());
    let (cx, cy) = find(&buf, CANCEL).unwrap_or_default();
    let (kx, ky) = find(&buf, CONFIRM).unwrap_or_default();
    assert_eq!(cy, ky);
    assert!(kx > cx);
    assert_eq!(Some(buf[(cx + 2, cy)].bg), theme.dialog.button_focused.bg);
    assert_eq!(Some(buf[(kx + 2, ky)].fg), theme.dialog.danger.fg);

    let mut state = state.clone();
    state.focus = ConfirmFocus::Confirm;
    let dialog = ConfirmDialog {
        state: &state,
        ..dialog
    };
    dialog.render(buf.area, &mut buf, &theme);
    assert_eq!(Some(buf[(kx + 2, ky)].bg), theme.dialog.danger_focused.bg);
    assert_eq!(Some(buf[(cx + 2, cy)].bg), theme.dialog.button.bg);
    Ok(())
}

#[test]
fn the_typed_count_line_shows_what_was_typed() -> anyhow::Result<()> {
    let theme = Theme::load("mono", None)?;
    let mut state = ConfirmState::new(120);
    state.handle_key(key(KeyCode::Char('1')));
    state.handle_key(key(KeyCode::Char('2')));
    let targets = ["alice"];
    let dialog = ConfirmDialog {
        title: "log off",
        question: "Log off 120 sessions?",
        targets: &targets,
        count: 120,
        state: &state,
    };
    let mut buf = Buffer::empty(Rect::new(0, 0, 80, 24));
    dialog.render(buf.area, &mut buf, &theme);
    assert!(find(&buf, "Type 120 to confirm: 12").is_some());
    assert!(find(&buf, "… and 119 more").is_some());
    let (cx, cy) = find(&buf, CANCEL).unwrap_or_default();
    assert!(
        buf[(cx + 2, cy)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
    Ok(())
}
