//! End to end: the real `deskbridge` binary with no arguments (lab + adapter + console in one
//! process) in a tmux pane, driven with keys, read back from the screen. Every wait polls the
//! screen with a deadline; nothing sleeps a fixed time.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::tmux::Pane;

fn rand_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// The number in a title like `sessions[1,234]`.
fn count_in_title(screen: &str, view: &str) -> Option<usize> {
    let start = screen.find(&format!("{view}["))? + view.len() + 1;
    let end = screen[start..].find(']')? + start;
    screen[start..end].replace(',', "").parse().ok()
}

#[test]
fn the_embedded_default_resets_marked_sessions_and_shows_the_job_end() {
    let pane = Pane::start(&[], 120, 40, &[]);
    let first = pane.wait("the first frame with the lab badge", |s| {
        s.contains("LAB") && s.contains("tickets")
    });
    assert!(first.contains("deskbridge"), "{first}");
    pane.wait("the operator's identity", |s| s.contains("admin"));

    pane.keys(&["2"]);
    let screen = pane.wait("sessions loaded", |s| {
        count_in_title(s, "sessions").is_some_and(|n| n > 0)
    });
    let total = count_in_title(&screen, "sessions").unwrap_or(0);

    // Filter to the active sessions, mark three, reset them.
    pane.keys(&["/"]);
    pane.text("state==active");
    pane.keys(&["Enter"]);
    let screen = pane.wait("the filter in the title", |s| {
        s.contains("</state==active>")
    });
    let shown = count_in_title(&screen, "sessions").unwrap_or(0);
    assert!(
        shown > 3 && shown < total,
        "the filter narrows {total} to {shown}"
    );

    pane.keys(&["Space", "Space", "Space", "r"]);
    pane.wait_for("Log off 3 sessions?");
    pane.keys(&["y"]);
    pane.wait("the job's end", |s| s.contains("Reset 3/3 sessions"));

    // The jobs view lists it.
    pane.keys(&["7"]);
    pane.wait("the job in the jobs view", |s| {
        s.contains("session.logoff") && s.contains("succeeded")
    });

    // An invalid filter is shown, not ignored.
    pane.keys(&["/"]);
    pane.text("nosuchfield=1");
    let screen = pane.wait("the filter error", |s| s.contains("nosuchfield"));
    assert!(screen.to_lowercase().contains("unknown"), "{screen}");
    pane.keys(&["Escape"]);
    // Wait for esc to land: an ESC followed at once by `q` reads as alt-q.
    pane.wait("esc to close the line and drop the filter", |s| {
        !s.contains("nosuchfield")
    });

    pane.keys(&["q"]);
    let screen = pane.wait_for("deskbridge-exited-0");
    assert!(
        !screen.contains("sessions["),
        "the terminal is restored after quitting:\n{screen}"
    );
    assert!(!pane.log().contains("panicked"), "{}", pane.log());
}

#[test]
fn readonly_hides_actions_and_survives_a_resize_to_80_by_24() {
    let pane = Pane::start(&["console", "--readonly"], 140, 40, &[]);
    pane.wait("the first frame", |s| {
        s.contains("READ-ONLY") && s.contains("tickets[")
    });
    pane.keys(&["2"]);
    pane.wait("sessions loaded", |s| {
        count_in_title(s, "sessions").is_some_and(|n| n > 0)
    });
    pane.keys(&["?"]);
    let help = pane.wait("the help overlay", |s| {
        s.contains("help: sessions") && s.contains("Filter rows")
    });
    assert!(
        !help.contains("Reset the session"),
        "no actions under --readonly:\n{help}"
    );
    pane.keys(&["Escape"]);
    pane.wait("the help closed", |s| !s.contains("help: sessions"));
    pane.tmux(&["resize-window", "-t", &pane.session, "-x", "80", "-y", "24"]);
    let screen = pane.wait("a redraw at 80 columns", |s| {
        s.lines().all(|l| l.chars().count() <= 80) && s.contains("sessions[")
    });
    assert!(screen.lines().count() <= 24, "{screen}");
    pane.keys(&["r"]);
    let screen = pane.screen();
    assert!(
        !screen.contains("Log off"),
        "r does nothing under --readonly:\n{screen}"
    );
    pane.keys(&["C-c"]);
    pane.wait_for("deskbridge-exited-0");
}

#[test]
fn ctrl_z_gives_the_terminal_back_and_sigterm_restores_it() {
    let pane = Pane::start(&[], 100, 30, &[]);
    pane.wait("the first frame", |s| s.contains("tickets["));
    let shell = pane.tmux(&["display-message", "-p", "-t", &pane.session, "#{pane_pid}"]);
    let shell = String::from_utf8_lossy(&shell.stdout).trim().to_owned();
    let child = Command::new("pgrep")
        .args(["-P", &shell])
        .output()
        .expect("pgrep");
    let pid = String::from_utf8_lossy(&child.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !pid.is_empty(),
        "the console's pid under the pane's shell {shell}"
    );

    pane.keys(&["C-z"]);
    pane.wait("the terminal given back on ctrl-z", |s| {
        !s.contains("tickets[")
    });
    let _ = Command::new("kill").args(["-CONT", &pid]).status();
    pane.wait("the console drawn again after SIGCONT", |s| {
        s.contains("tickets[")
    });

    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let screen = pane.wait_for("deskbridge-exited-0");
    assert!(
        !screen.contains("tickets["),
        "the terminal is restored on SIGTERM:\n{screen}"
    );
}

#[test]
fn a_key_taken_from_another_action_is_reported_on_the_first_screen() {
    // Its own config folder, given after the pane's defaults (a later env assignment wins).
    let config = std::env::temp_dir().join(format!("deskbridge-keys-{}", rand_suffix()));
    std::fs::create_dir_all(config.join("deskbridge")).expect("config folder");
    std::fs::write(
        config.join("deskbridge/config.toml"),
        "[keys]\nrefresh = [\"w\"]\n",
    )
    .expect("config file");
    let xdg = config.display().to_string();
    let pane = Pane::start(&[], 140, 30, &[("XDG_CONFIG_HOME", xdg.as_str())]);
    pane.wait("the key conflict flashed", |s| {
        s.contains("config:") && s.contains("keys.refresh")
    });
    pane.keys(&["C-c"]);
    pane.wait_for("deskbridge-exited-0");
    let _ = std::fs::remove_dir_all(&config);
}

#[test]
fn info_prints_the_resolved_paths_without_starting_anything() {
    let home = std::env::temp_dir().join(format!("deskbridge-info-{}", rand_suffix()));
    let out = Command::new(env!("CARGO_BIN_EXE_deskbridge"))
        .arg("info")
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("NO_COLOR")
        .output()
        .expect("deskbridge info runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = home.join("config/deskbridge/config.toml");
    assert!(text.contains(&config.display().to_string()), "{text}");
    assert!(text.contains("embedded lab"), "{text}");
    assert!(text.contains("default"), "the theme: {text}");
    assert!(
        text.contains(&Path::new(&home).join("state").display().to_string()),
        "the log path: {text}"
    );
}

/// Every file under `dir` (log, store), as bytes, for a search.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The cells of the users view's first row, split on runs of spaces.
fn first_user_row(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains("LAB\\"))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_password_reset_from_the_users_view_runs_against_the_lab_directory() {
    const TYPED: &str = "Quartz-Orbit-93!";
    let pane = Pane::start(&[], 140, 45, &[]);
    pane.wait("the operator's identity", |s| s.contains("admin"));
    pane.keys(&["6"]);
    // The account under the cursor is read and fills its row's flags.
    let screen = pane.wait("the first user's account flags", |s| {
        s.contains("PWD EXPIRES") && first_user_row(s).contains(" no ")
    });
    let row = first_user_row(&screen);
    let login = row
        .split_whitespace()
        .find(|c| c.starts_with("LAB\\"))
        .unwrap_or_default()
        .to_owned();

    pane.keys(&["P"]);
    pane.wait("the reset dialog", |s| {
        s.contains("Reset password") && s.contains(&format!("Account: {login}"))
    });
    pane.text(TYPED);
    let screen = pane.wait("the policy checklist passing", |s| {
        s.contains("strength: strong")
    });
    assert!(!screen.contains(TYPED), "the password is masked:\n{screen}");
    assert!(screen.contains("✓ 12 to 128 characters"), "{screen}");
    // Unlock too, then the call-back note, then reset.
    pane.keys(&["Tab", "Tab", "Tab", "Space", "Tab", "Tab"]);
    pane.text("called back on the number on file");
    pane.wait("the note typed", |s| {
        s.contains("called back on the number")
    });
    pane.keys(&["Enter"]);
    pane.wait("the reset job's end", |s| {
        s.contains("account.password_reset") && s.contains("succeeded")
    });
    // The directory now says the user must change it at next logon.
    pane.wait("the must-change flag re-read", |s| {
        let row = first_user_row(s);
        row.contains(&login) && row.contains(" yes ")
    });

    // The next user: the adapter generates one, shown once.
    pane.keys(&["j", "P", "Tab", "Space", "Tab", "Tab", "Tab", "Tab"]);
    pane.text("verified in person");
    pane.wait("the note typed", |s| s.contains("verified in person"));
    pane.keys(&["Enter"]);
    let screen = pane.wait("the generated password", |s| {
        s.contains("Temporary password for")
    });
    let generated = screen
        .lines()
        .skip_while(|l| !l.contains("Temporary password for"))
        .nth(2)
        // The table's border, the row under the box, then the box's own border.
        .and_then(|l| l.split('│').nth(2))
        .map(|cell| cell.trim().to_owned())
        .unwrap_or_default();
    assert!(
        generated.chars().count() >= 12 && !generated.contains(' '),
        "a generated password on:\n{screen}"
    );
    pane.keys(&["Enter"]);
    pane.wait("the box closed", |s| !s.contains("Temporary password for"));

    // Neither password is in the console's log or the embedded adapter's data.
    for (path, bytes) in files_under(&pane.home) {
        for secret in [TYPED, generated.as_str()] {
            assert!(
                !holds(&bytes, secret),
                "{} holds a password",
                path.display()
            );
        }
    }
    assert!(!pane.log().contains("Quartz"));
}
