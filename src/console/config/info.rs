//! `deskbridge info`: the resolved console config as text, each setting with where it came
//! from, then the keymap and any warnings. Secrets appear only as "(set, from …)".

use super::ConsoleConfig;
use crate::console::keymap::{Action, ViewSet, join_keys};
use crate::model::Role;
use std::fmt::Write;

/// The text `deskbridge info` prints.
pub fn render_info(config: &ConsoleConfig) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{label:<12} {value}");
    };
    line(
        "config file",
        match (&config.file, config.file_found) {
            (Some(path), true) => path.display().to_string(),
            (Some(path), false) => format!("{} (not found; using defaults)", path.display()),
            (None, _) => "(none: neither XDG_CONFIG_HOME nor HOME is set)".to_string(),
        },
    );
    match &config.adapter_url {
        None => line(
            "adapter",
            "embedded lab and adapter, in-process on loopback (no adapter URL set)".into(),
        ),
        Some(url) => line("adapter", format!("{} ({})", url.value, url.origin)),
    }
    if let Some(id) = &config.client_id {
        line("client id", format!("{} ({})", id.value, id.origin));
    }
    line(
        "secret",
        match (&config.secret, config.embedded_lab()) {
            (Some(secret), _) => format!("(set, {})", secret.origin),
            (None, true) => "(not needed by the embedded lab)".to_string(),
            (None, false) => "(not set)".to_string(),
        },
    );
    let theme = &config.theme;
    let theme_file = config
        .file
        .as_deref()
        .and_then(|f| f.parent())
        .map(|dir| dir.join("themes").join(format!("{}.toml", theme.value)));
    let theme_source = match theme_file {
        Some(path) if path.is_file() => format!("file {}", path.display()),
        _ => "built in".to_string(),
    };
    line(
        "theme",
        format!("{} ({}; {theme_source})", theme.value, theme.origin),
    );
    let readonly = &config.readonly;
    line(
        "readonly",
        format!(
            "{} ({})",
            if readonly.value { "yes" } else { "no" },
            readonly.origin
        ),
    );
    line(
        "log file",
        match &config.log_file {
            Some(log) => format!("{} ({})", log.value.display(), log.origin),
            None => "(none: neither XDG_STATE_HOME nor HOME is set)".to_string(),
        },
    );
    line(
        "data dir",
        match &config.data_dir {
            Some(dir) => format!("{} (the embedded adapter's store)", dir.display()),
            None => "(none: neither XDG_DATA_HOME nor HOME is set)".to_string(),
        },
    );
    let rebound = Action::all()
        .filter(|a| config.keymap.is_rebound(*a))
        .count();
    line(
        "keymap",
        match rebound {
            0 => "defaults".to_string(),
            n => format!("defaults, {n} action(s) rebound in [keys]"),
        },
    );
    render_keymap(config, &mut out);
    if !config.warnings.is_empty() {
        out.push_str("\nwarnings\n");
        for warning in &config.warnings {
            let _ = writeln!(out, "  {warning}");
        }
    }
    out
}

/// Every action, by help group: keys, config name, help line, where it applies, the role it
/// needs and whether `--readonly` hides it.
fn render_keymap(config: &ConsoleConfig, out: &mut String) {
    out.push_str("\nkeys (rebind in the config: [keys] NAME = [\"key\", ...])\n");
    let mut actions: Vec<Action> = Action::all().collect();
    actions.sort_by_key(|a| a.info().group);
    let mut group = None;
    for action in actions {
        let info = action.info();
        if group != Some(info.group) {
            group = Some(info.group);
            let _ = writeln!(out, "\n{}", info.group.title());
        }
        let keys = config.keymap.keys(action);
        let keys = if keys.is_empty() {
            "(unbound)".to_string()
        } else {
            join_keys(keys)
        };
        let mut notes = Vec::new();
        if info.views != ViewSet::ALL {
            let views: Vec<_> = info.views.iter().map(|v| v.name()).collect();
            notes.push(views.join(","));
        }
        if info.role != Role::Viewer {
            notes.push(info.role.to_string());
        }
        if info.mutates {
            notes.push("hidden by --readonly".to_string());
        }
        if config.keymap.is_rebound(action) {
            notes.push("rebound".to_string());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", notes.join("; "))
        };
        let _ = writeln!(out, "  {keys:<16} {:<15} {}{notes}", info.name, info.help);
    }
}
