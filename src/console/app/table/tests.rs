//! Motions, marks, sort and filter of one table, as the operator sees them.

use super::*;
use crate::console::app::rows::{Row, RowRef, Tone};

fn session(user: &str, machine: &str, state: &str) -> Row {
    let cells = vec![
        user.to_owned(),
        String::new(),
        machine.to_owned(),
        state.to_owned(),
        "London".to_owned(),
    ];
    let target = RowRef::Session {
        site: "London".into(),
        id: format!("{user}-{machine}"),
        user: user.into(),
    };
    Row::new(target, cells, Tone::Plain)
}

fn table(n: usize) -> Table {
    let mut t = Table::new(View::Sessions, None);
    t.set_rows(
        (0..n)
            .map(|i| {
                session(
                    &format!("CORP\\user{i:03}"),
                    &format!("VDA-{:03}", n - i),
                    "Active",
                )
            })
            .collect(),
    );
    t
}

#[test]
fn the_cursor_stops_at_both_ends() {
    let mut t = table(10);
    t.move_by(-3);
    assert_eq!(t.cursor, 0);
    t.move_by(25);
    assert_eq!(t.cursor, 9);
    t.move_to(usize::MAX);
    assert_eq!(t.cursor, 9);
    let mut empty = Table::new(View::Sessions, None);
    empty.move_by(5);
    assert_eq!(empty.cursor, 0);
    assert!(empty.current().is_none());
}

#[test]
fn marks_toggle_move_down_and_range_from_the_last_mark() {
    let mut t = table(10);
    t.toggle_mark();
    assert_eq!(t.cursor, 1, "space marks and moves down, as in htop");
    t.move_to(4);
    t.mark_range();
    assert_eq!(t.marks.len(), 5, "rows 0..=4");
    t.toggle_mark();
    assert_eq!(t.marks.len(), 4, "space on a marked row unmarks it");
    t.clear_marks();
    assert!(
        t.targets().len() == 1,
        "no marks: the cursor row is the target"
    );
}

#[test]
fn targets_are_the_marked_rows_even_those_the_filter_hides() {
    let mut t = table(10);
    t.toggle_mark();
    t.toggle_mark();
    let names = t.column_names();
    t.set_filter(Some(
        Filter::parse("user005", &names).expect("valid filter"),
    ));
    assert_eq!(t.len(), 1);
    t.mark_all();
    let targets = t.targets();
    assert_eq!(
        targets.len(),
        3,
        "user005 (visible) and the two marked before filtering"
    );
    assert_eq!(targets[0].cell(0), "CORP\\user005", "visible marks first");
}

#[test]
fn a_reload_keeps_the_cursor_on_the_same_object_and_drops_marks_of_gone_rows() {
    let mut t = table(10);
    t.move_to(3);
    t.toggle_mark();
    t.move_to(3);
    let at = t.current().map(|r| r.target.clone());
    let mut rows: Vec<Row> = t.rows.clone();
    rows.remove(0);
    rows.remove(2); // the marked row 3 is now gone (indices shift after the first removal)
    let marked_gone = !rows.iter().any(|r| t.marks.contains(&r.target));
    t.set_rows(rows);
    if marked_gone {
        assert!(t.marks.is_empty());
    }
    if let Some(at) = at
        && t.rows.iter().any(|r| r.target == at)
    {
        assert_eq!(t.current().map(|r| &r.target), Some(&at));
    }
}

#[test]
fn sorting_moves_between_shown_columns_and_reverses() {
    let mut t = table(5);
    let first = t.next_sort(true);
    assert_eq!(first, Some((0, false)));
    t.set_sort(first);
    assert_eq!(t.current().map(|r| r.cell(0)), Some("CORP\\user000"));
    t.set_sort(Some((0, true)));
    assert_eq!(t.shown(0).map(|r| r.cell(0)), Some("CORP\\user004"));
    // Machine names run the other way.
    t.set_sort(Some((2, false)));
    assert_eq!(t.shown(0).map(|r| r.cell(2)), Some("VDA-001"));
    let back = t.next_sort(false);
    assert_eq!(back.map(|(c, _)| c), Some(1));
}

#[test]
fn the_filter_keeps_the_cursor_on_its_row_when_still_shown() {
    let mut t = table(20);
    t.move_to(12);
    let names = t.column_names();
    t.set_filter(Some(Filter::parse("user01", &names).expect("valid")));
    assert_eq!(t.current().map(|r| r.cell(0)), Some("CORP\\user012"));
    t.set_filter(None);
    assert_eq!(t.len(), 20);
    assert_eq!(t.current().map(|r| r.cell(0)), Some("CORP\\user012"));
}
