//! The console's whole screen, as the event loop draws it: the sessions view holding 100,000
//! rows at 200×50 with the jobs pane (target < 2 ms a frame), a cursor move to the next
//! frame (target < 1 ms), and the `/` filter typed into the app over those rows (target
//! < 20 ms). Results go in docs/perf.md.

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use uuid::Uuid;

use deskbridge::console::app::{App, Effect, Loaded, Msg, Row, RowRef, Setup, Tone, convert};
use deskbridge::console::client::{CallLog, StreamEvent, Whoami};
use deskbridge::console::keymap::{Keymap, View};
use deskbridge::console::theme::Theme;
use deskbridge::console::ui;
use deskbridge::model::Role;

const ROWS: usize = 100_000;
const STATES: [&str; 4] = ["Active", "Active", "Disconnected", "Connected"];
const SITES: [&str; 4] = ["London", "Cloud", "Frankfurt", "Singapore"];

fn rows() -> Vec<Row> {
    let columns = convert::columns(View::Sessions).len();
    (0..ROWS)
        .map(|i| {
            let site = SITES[i % SITES.len()];
            let user = format!("LAB\\user{:05}", (i * 7919) % ROWS);
            let mut cells = vec![String::new(); columns];
            cells[0] = user.clone();
            cells[1] = format!("Lab User {i}");
            cells[2] = format!("{}-VDA-{:05}", &site[..3].to_uppercase(), i / 3);
            cells[3] = STATES[i % STATES.len()].to_owned();
            cells[4] = site.to_owned();
            cells[5] = format!("Group {}", i % 40);
            cells[6] = format!("CLIENT-{}", i % 900);
            cells[7] = format!("2026-11-27 0{}:{:02}", i % 9, i % 60);
            cells[13] = format!("{i:08x}-0000-4000-8000-000000000000");
            let target = RowRef::Session {
                site: site.to_owned(),
                id: cells[13].clone(),
                user,
            };
            Row::new(target, cells, Tone::Plain)
        })
        .collect()
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(
        Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        Utc::now(),
    )
}

fn loaded_app() -> App {
    let setup = Setup {
        keymap: Keymap::defaults(),
        readonly: false,
        lab: true,
        adapter_url: String::new(),
        theme_names: Vec::new(),
    };
    let mut app = App::new(setup, Utc::now());
    app.start();
    let me = Whoami {
        client_id: Uuid::nil(),
        name: "bench".into(),
        role: Role::Helpdesk,
        token_expires_at: None,
    };
    app.update(Msg::Whoami(Ok(me)), Utc::now());
    app.update(
        Msg::Stream(StreamEvent::Connected {
            resume_after: 0,
            reconnected: false,
        }),
        Utc::now(),
    );
    let generation = key(&mut app, KeyCode::Char('2'))
        .iter()
        .find_map(|e| match e {
            Effect::Load { generation, .. } => Some(*generation),
            _ => None,
        })
        .unwrap_or_default();
    let result = Ok(Loaded {
        rows: rows(),
        note: None,
    });
    app.update(
        Msg::Loaded {
            view: View::Sessions,
            generation,
            result,
        },
        Utc::now(),
    );
    app
}

fn screen(c: &mut Criterion) {
    let theme = Theme::load("default", None).expect("built-in theme");
    let calls = CallLog::new(10);
    let area = Rect::new(0, 0, 200, 50);
    let mut app = loaded_app();
    // The cursor in the middle: the visible slice is not the first one.
    for _ in 0..(ROWS / 2 / 40) {
        key(&mut app, KeyCode::PageDown);
    }
    let mut buf = Buffer::empty(area);
    c.bench_function("console frame: sessions view, 100k rows, 200x50", |b| {
        b.iter(|| {
            buf.reset();
            ui::render(&mut app, &theme, &calls, area, &mut buf);
            black_box(&buf);
        })
    });
    c.bench_function("console cursor move + frame, 100k rows, 200x50", |b| {
        b.iter(|| {
            key(&mut app, KeyCode::Char('j'));
            buf.reset();
            ui::render(&mut app, &theme, &calls, area, &mut buf);
            black_box(&buf);
        })
    });
    // Typing into the `/` line refilters on every key: one iteration is two keys (a
    // character and Backspace), so a keystroke costs half the time reported.
    key(&mut app, KeyCode::Char('/'));
    for ch in "user00".chars() {
        key(&mut app, KeyCode::Char(ch));
    }
    c.bench_function(
        "console filter: two keystrokes, each refiltering 100k rows",
        |b| {
            b.iter(|| {
                key(&mut app, KeyCode::Char('1'));
                key(&mut app, KeyCode::Backspace);
                black_box(app.table().len());
            })
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = screen
}
criterion_main!(benches);
