//! The terminal while the console runs: raw mode and the alternate screen, restored on exit,
//! on panic, on SIGTERM/SIGHUP and around ctrl-z; keys read on their own thread so the event
//! loop never blocks on the terminal; each frame drawn inside a synchronized update.

use std::io::{self, Stdout, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event};
use ratatui::crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};
use tokio::sync::mpsc::UnboundedSender;

use crate::console::app::Msg;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Enters raw mode and the alternate screen, and makes a panic restore the terminal before
/// its message is printed (a panic message inside the alternate screen is lost).
pub fn enter() -> io::Result<Term> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        leave();
        hook(info);
    }));
    setup()?;
    Terminal::new(CrosstermBackend::new(io::stdout()))
}

fn setup() -> io::Result<()> {
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)
}

/// Restores the terminal; safe to call more than once.
pub fn leave() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
}

/// Draws one frame between the synchronized-update markers, so terminals that support them
/// show it whole, never half-drawn.
pub fn draw(term: &mut Term, render: impl FnOnce(&mut ratatui::Frame)) -> io::Result<()> {
    execute!(io::stdout(), BeginSynchronizedUpdate)?;
    let drawn = term.draw(render).map(|_| ());
    execute!(io::stdout(), EndSynchronizedUpdate)?;
    io::stdout().flush()?;
    drawn
}

/// ctrl-z: gives the terminal back, stops the process as the shell expects, and takes the
/// terminal again when `fg` continues it.
pub fn suspend(term: &mut Term, keys: &KeyReader) -> io::Result<()> {
    keys.pause(true);
    leave();
    // SAFETY: raise() only sends a signal to this process; SIGTSTP's default action stops
    // it until SIGCONT, and execution resumes here.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    setup()?;
    keys.pause(false);
    term.clear()
}

/// Reads terminal events on a thread of its own and sends them to the loop.
pub struct KeyReader {
    paused: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl KeyReader {
    pub fn start(tx: UnboundedSender<Msg>) -> KeyReader {
        let paused = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (paused.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                // Polling with a timeout lets the thread see `stop` and `paused`; 100 ms is
                // long enough to cost nothing and short enough to end promptly.
                if p.load(Ordering::Relaxed)
                    || !event::poll(Duration::from_millis(100)).unwrap_or(false)
                {
                    if p.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    continue;
                }
                let msg = match event::read() {
                    Ok(Event::Key(key)) => Msg::Key(key),
                    Ok(Event::Resize(width, height)) => Msg::Resize { width, height },
                    Ok(_) => continue,
                    Err(_) => break,
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        KeyReader { paused, stop }
    }

    fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }
}

impl Drop for KeyReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
