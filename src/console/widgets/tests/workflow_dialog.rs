//! The workflow form's keys: fields, the confirmation's focus and the typed confirmation.
use super::*;

fn press(s: &mut FormState, code: KeyCode) -> FormOutcome {
    s.handle_key(KeyEvent::from(code))
}

fn form(confirm: Option<&str>) -> FormState {
    FormState::new(
        vec![
            Field::choice(FieldId::Type, "Type", vec![("a", "A"), ("b", "B")]),
            Field::text(FieldId::Beneficiary, "For", "LAB\\ada"),
            Field::check(FieldId::IncludeApps, "Apps", true),
        ],
        confirm.map(str::to_owned),
    )
}

#[test]
fn fields_change_with_their_keys_and_say_so() {
    let mut s = form(None);
    assert_eq!(
        press(&mut s, KeyCode::Right),
        FormOutcome::Changed(FieldId::Type)
    );
    assert_eq!(s.choice(FieldId::Type), Some("b"));
    press(&mut s, KeyCode::Tab);
    assert_eq!(
        press(&mut s, KeyCode::Char('x')),
        FormOutcome::Changed(FieldId::Beneficiary)
    );
    assert_eq!(s.text(FieldId::Beneficiary), "LAB\\adax");
    // A key that edits nothing changes nothing.
    assert_eq!(press(&mut s, KeyCode::Left), FormOutcome::Pending);
    press(&mut s, KeyCode::Tab);
    assert_eq!(
        press(&mut s, KeyCode::Char(' ')),
        FormOutcome::Changed(FieldId::IncludeApps)
    );
    assert!(!s.checked(FieldId::IncludeApps));
    assert_eq!(press(&mut s, KeyCode::Enter), FormOutcome::Submitted);
    assert_eq!(press(&mut s, KeyCode::Esc), FormOutcome::Cancelled);
}

#[test]
fn the_confirmation_starts_on_cancel_and_y_confirms() {
    let mut s = form(None);
    s.ask_confirm();
    // Enter on Cancel goes back to the form.
    assert_eq!(press(&mut s, KeyCode::Enter), FormOutcome::Pending);
    assert_eq!(s.stage, Stage::Edit);
    s.ask_confirm();
    assert_eq!(press(&mut s, KeyCode::Char('y')), FormOutcome::Confirmed);
    s.ask_confirm();
    press(&mut s, KeyCode::Tab);
    assert_eq!(press(&mut s, KeyCode::Enter), FormOutcome::Confirmed);
}

#[test]
fn a_typed_confirmation_needs_the_exact_text() {
    let mut s = form(Some("ada"));
    s.ask_confirm();
    // `y` is text here, not a yes.
    assert_eq!(press(&mut s, KeyCode::Char('y')), FormOutcome::Pending);
    press(&mut s, KeyCode::Tab);
    assert_eq!(press(&mut s, KeyCode::Enter), FormOutcome::Pending);
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Backspace);
    for c in "ada".chars() {
        press(&mut s, KeyCode::Char(c));
    }
    assert!(s.can_confirm());
    press(&mut s, KeyCode::Tab);
    assert_eq!(press(&mut s, KeyCode::Enter), FormOutcome::Confirmed);
}
