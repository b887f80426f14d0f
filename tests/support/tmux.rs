//! The real `deskbridge` binary in a tmux pane of its own (own socket, own config, data and
//! state folders), driven with keys and read back from the screen; every wait polls with a
//! deadline.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Generous: the first frame may need a lab, an adapter and its first inventory.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub struct Pane {
    pub session: String,
    pub home: PathBuf,
}

impl Pane {
    /// Starts `deskbridge ARGS` in a detached tmux session of `width`×`height`, with `env`
    /// set for it.
    pub fn start(args: &[&str], width: u16, height: u16, env: &[(&str, &str)]) -> Pane {
        let session = format!(
            "deskbridge-test-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let home = std::env::temp_dir().join(&session);
        for dir in ["config", "data", "state"] {
            std::fs::create_dir_all(home.join(dir)).expect("scratch folders");
        }
        let mut command = format!(
            "env XDG_CONFIG_HOME={} XDG_DATA_HOME={} XDG_STATE_HOME={} TERM=xterm-256color",
            home.join("config").display(),
            home.join("data").display(),
            home.join("state").display()
        );
        for (k, v) in env {
            command.push_str(&format!(" {k}={v}"));
        }
        command.push(' ');
        command.push_str(env!("CARGO_BIN_EXE_deskbridge"));
        for arg in args {
            command.push(' ');
            command.push_str(arg);
        }
        // Keep the pane after the program exits, to read how it left the screen.
        command.push_str("; echo deskbridge-exited-$?; sleep 600");
        let pane = Pane { session, home };
        pane.tmux(&[
            "new-session",
            "-d",
            "-s",
            &pane.session,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            &command,
        ]);
        pane
    }

    pub fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.session)
            .args(args)
            .output()
            .expect("tmux runs (scripts/test installs it)")
    }

    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", &self.session]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends tmux key names (`Enter`, `Escape`, `C-r`) or single characters.
    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.tmux(&["send-keys", "-t", &self.session, key]);
        }
    }

    /// Types `text` literally.
    pub fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", &self.session, "-l", text]);
    }

    /// Waits until the screen satisfies `ok`; on timeout fails with the screen.
    pub fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if start.elapsed() > DEADLINE {
                panic!("timed out waiting for {what}; the screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait(&format!("{text:?}"), |s| s.contains(text))
    }

    /// The console's log file.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("state/deskbridge/console.log")).unwrap_or_default()
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
        let _ = std::fs::remove_dir_all(&self.home);
    }
}
