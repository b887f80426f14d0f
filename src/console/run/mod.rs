//! The console's event loop: messages in (keys, answers, live events, ticks, signals), the
//! pure update, effects out, and a frame drawn only when something changed. A burst of
//! messages (a bulk job's events) is applied whole before the next frame.
//!
//! - [`terminal`]: raw mode, restore on every way out, the key reader thread, ctrl-z;
//! - [`effects`]: loads and actions against the adapter, each in its own task.

pub mod effects;
mod runbooks;
pub mod terminal;
mod workflows;

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::console::app::workflows::WorkflowEffect;
use crate::console::app::{App, Effect, Level, Msg};
use crate::console::client::{ApiClient, StreamOptions};
use crate::console::theme::Theme;
use crate::console::ui;

/// A detail-pane read follows the cursor only once it rests this long, so holding `j` does
/// not send a request per row.
const DETAIL_SETTLE: Duration = Duration::from_millis(150);

/// What the loop needs besides the app.
pub struct Console {
    pub app: App,
    pub client: ApiClient,
    pub theme: Theme,
    /// The config dir, where user themes are looked for.
    pub config_dir: Option<std::path::PathBuf>,
}

/// Runs the console until the operator quits or a signal ends it; the terminal is restored
/// however it ends.
pub async fn run(console: Console) -> anyhow::Result<()> {
    let mut term = terminal::enter().context("cannot set up the terminal")?;
    let result = event_loop(console, &mut term).await;
    terminal::leave();
    result
}

async fn event_loop(console: Console, term: &mut terminal::Term) -> anyhow::Result<()> {
    let Console {
        mut app,
        client,
        theme,
        config_dir,
    } = console;
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut stream = client.events(StreamOptions::default());
    let mut term_signal = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut hup_signal = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    if let Ok(size) = term.size() {
        app.size = (size.width, size.height);
    }
    let mut runner = Runner {
        keys: terminal::KeyReader::start(tx.clone()),
        client,
        tx,
        theme,
        config_dir,
        pending_detail: None,
    };
    let first = app.start();
    runner.perform(first, &mut app, term)?;
    let mut queue: Vec<Msg> = Vec::new();

    loop {
        if app.dirty {
            let (theme, calls) = (&runner.theme, runner.client.calls());
            terminal::draw(term, |frame| ui::draw(frame, &mut app, theme, calls))
                .context("cannot draw")?;
            app.dirty = false;
        }
        for line in app.log.drain(..) {
            tracing::warn!("{line}");
        }
        if app.quit {
            return Ok(());
        }
        let tick = app.next_tick().map(|at| {
            let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::time::Instant::now() + wait
        });
        let detail_at = runner.pending_detail.as_ref().map(|(at, _)| *at);
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(msg) => queue.push(msg),
                None => return Ok(()),
            },
            event = stream.recv() => match event {
                Some(event) => queue.push(Msg::Stream(event)),
                None => return Ok(()),
            },
            _ = sleep_until(tick) => queue.push(Msg::Tick),
            _ = sleep_until(detail_at) => {
                if let Some((_, effect)) = runner.pending_detail.take() {
                    effects::spawn(&runner.client, &runner.tx, effect);
                }
            }
            _ = term_signal.recv() => return Ok(()),
            _ = hup_signal.recv() => return Ok(()),
        }
        // Coalesce: everything already waiting is applied before the next frame.
        while let Ok(msg) = rx.try_recv() {
            queue.push(msg);
        }
        while let Some(event) = stream.try_recv() {
            queue.push(Msg::Stream(event));
        }
        for msg in queue.drain(..) {
            // A load replaces a view's rows: the old ones (up to 100,000) are freed here.
            let replaced_rows = matches!(msg, Msg::Loaded { .. });
            let fx = app.update(msg, Utc::now());
            runner.perform(fx, &mut app, term)?;
            if replaced_rows {
                effects::release_freed_memory();
            }
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The loop's side of effects: what it does itself (quit, suspend, theme, the settled
/// detail read) and what it hands to [`effects`].
struct Runner {
    client: ApiClient,
    tx: mpsc::UnboundedSender<Msg>,
    theme: Theme,
    config_dir: Option<std::path::PathBuf>,
    keys: terminal::KeyReader,
    pending_detail: Option<(tokio::time::Instant, Effect)>,
}

impl Runner {
    fn perform(
        &mut self,
        fx: Vec<Effect>,
        app: &mut App,
        term: &mut terminal::Term,
    ) -> anyhow::Result<()> {
        for effect in fx {
            match effect {
                Effect::Quit => app.quit = true,
                Effect::Suspend => {
                    terminal::suspend(term, &self.keys).context("cannot resume the terminal")?;
                    app.dirty = true;
                }
                Effect::Theme(name) => match Theme::load(&name, self.config_dir.as_deref()) {
                    Ok(loaded) => {
                        self.theme = loaded;
                        app.dirty = true;
                    }
                    Err(err) => app.say(Level::Error, format!("theme {name}: {err}")),
                },
                detail @ (Effect::LoadTicket(_)
                | Effect::LoadJob(_)
                | Effect::LoadAccount { .. }
                | Effect::Workflow(WorkflowEffect::Explain(_))) => {
                    self.pending_detail =
                        Some((tokio::time::Instant::now() + DETAIL_SETTLE, detail));
                }
                other => effects::spawn(&self.client, &self.tx, other),
            }
        }
        Ok(())
    }
}
