//! Resolution of the console config as a user meets it: precedence, secrets, errors with
//! positions, and `info` output.

use super::*;
use crate::console::keymap::{Action, Key, View};
use std::collections::HashMap;

/// A config folder of its own under the system temp dir, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!(
            "deskbridge-console-config-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("deskbridge")).expect("temp dir");
        Dir(dir)
    }

    /// Writes `$XDG_CONFIG_HOME/deskbridge/<name>`.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join("deskbridge").join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn env(&self, vars: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.insert("XDG_CONFIG_HOME".into(), self.0.display().to_string());
        env.insert("HOME".into(), "/home/op".into());
        env
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn resolve(env: &HashMap<String, String>, flags: &Flags) -> Result<ConsoleConfig, ConfigErrors> {
    ConsoleConfig::resolve(flags, &|k: &str| env.get(k).cloned())
}

fn ok(env: &HashMap<String, String>) -> ConsoleConfig {
    match resolve(env, &Flags::default()) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn errors(env: &HashMap<String, String>) -> String {
    match resolve(env, &Flags::default()) {
        Ok(c) => panic!("resolved: {c:?}"),
        Err(e) => e.to_string(),
    }
}

const REMOTE: &str = "[adapter]\nurl = \"https://adapter.example.net:8433\"\n\
                      client_id = \"console-alice\"\nsecret = { env = \"MY_SECRET\" }\n";

#[test]
fn a_missing_file_gives_the_embedded_lab_and_xdg_defaults() {
    let dir = Dir::new("missing");
    let config = ok(&dir.env(&[("XDG_STATE_HOME", "/state")]));
    assert!(!config.file_found);
    assert_eq!(config.file, Some(dir.0.join("deskbridge/config.toml")));
    assert!(config.embedded_lab());
    assert_eq!(
        config.theme,
        Sourced::new("default".into(), Origin::Default)
    );
    assert!(!config.readonly.value);
    let log = config.log_file.map(|l| l.value);
    assert_eq!(log, Some(PathBuf::from("/state/deskbridge/console.log")));
    let env = HashMap::from([("HOME".to_string(), "/home/op".to_string())]);
    let config = ok(&env);
    assert_eq!(
        config.file,
        Some(PathBuf::from("/home/op/.config/deskbridge/config.toml"))
    );
    let log = config.log_file.map(|l| l.value);
    assert_eq!(
        log,
        Some(PathBuf::from(
            "/home/op/.local/state/deskbridge/console.log"
        ))
    );
    // An explicit --config must exist.
    let flags = Flags {
        config: Some(dir.0.join("nope.toml")),
        ..Flags::default()
    };
    let err = resolve(&dir.env(&[]), &flags).expect_err("missing --config");
    assert!(
        err.to_string().contains("cannot read the config file"),
        "{err}"
    );
}

#[test]
fn the_file_is_read_and_each_value_says_where_it_came_from() {
    let dir = Dir::new("file");
    let path = dir.write(
        "config.toml",
        &format!("theme = \"light\"\nreadonly = true\nlog_file = \"logs/c.log\"\n{REMOTE}"),
    );
    let config = ok(&dir.env(&[("MY_SECRET", "s3cret-value")]));
    assert!(config.file_found);
    assert_eq!(
        config.theme,
        Sourced::new(
            "light".into(),
            Origin::File {
                path: path.clone(),
                line: 1
            }
        )
    );
    assert!(config.readonly.value);
    let log = config.log_file.map(|l| l.value);
    assert_eq!(log, Some(dir.0.join("deskbridge/logs/c.log")));
    let url = config.adapter_url.map(|u| (u.value.to_string(), u.origin));
    assert_eq!(
        url,
        Some((
            "https://adapter.example.net:8433/".into(),
            Origin::File { path, line: 5 }
        ))
    );
    let secret = config
        .secret
        .map(|s| (s.value.expose().to_string(), s.origin));
    assert_eq!(
        secret,
        Some(("s3cret-value".into(), Origin::Env("MY_SECRET".into())))
    );
}

#[test]
fn the_environment_overrides_the_file_and_flags_override_both() {
    let dir = Dir::new("precedence");
    dir.write("config.toml", &format!("theme = \"light\"\n{REMOTE}"));
    let env = dir.env(&[
        ("MY_SECRET", "from-file-ref"),
        (ENV_ADAPTER_URL, "https://env.example.net/"),
        (ENV_CLIENT_ID, "env-client"),
        (ENV_CLIENT_SECRET, "from-env"),
    ]);
    let config = ok(&env);
    let url = config.adapter_url.as_ref().map(|u| u.value.as_str());
    assert_eq!(url, Some("https://env.example.net/"));
    let id = config
        .client_id
        .as_ref()
        .map(|c| (c.value.as_str(), &c.origin));
    assert_eq!(id, Some(("env-client", &Origin::Env(ENV_CLIENT_ID.into()))));
    let secret = config.secret.as_ref().map(|s| s.value.expose());
    assert_eq!(secret, Some("from-env"));
    let flags = Flags {
        adapter: Some("http://127.0.0.1:9000".into()),
        theme: Some("mono".into()),
        readonly: true,
        ..Flags::default()
    };
    let config = resolve(&env, &flags).expect("flags");
    let url = config.adapter_url.map(|u| (u.value.to_string(), u.origin));
    assert_eq!(
        url,
        Some(("http://127.0.0.1:9000/".into(), Origin::Flag("--adapter")))
    );
    assert_eq!(config.theme.origin, Origin::Flag("--theme"));
    assert_eq!(config.readonly.origin, Origin::Flag("--readonly"));
}

#[test]
fn no_color_picks_mono_unless_a_theme_is_named() {
    let dir = Dir::new("nocolor");
    let config = ok(&dir.env(&[("NO_COLOR", "1")]));
    assert_eq!(config.theme.value, "mono");
    assert_eq!(config.theme.origin, Origin::Env("NO_COLOR".into()));
    dir.write("config.toml", "theme = \"light\"\n");
    assert_eq!(ok(&dir.env(&[("NO_COLOR", "1")])).theme.value, "light");
}

#[test]
fn secrets_come_from_env_or_files_and_never_inline() {
    let dir = Dir::new("secrets");
    let secret_file = dir.write("secret", "from-a-file\n");
    let remote_env = [
        (ENV_ADAPTER_URL, "https://adapter.example.net/"),
        (ENV_CLIENT_ID, "c"),
    ];
    // DESKBRIDGE_CLIENT_SECRET_FILE.
    let path = secret_file.display().to_string();
    let mut vars = remote_env.to_vec();
    vars.push((ENV_CLIENT_SECRET_FILE, &path));
    let config = ok(&dir.env(&vars));
    let secret = config
        .secret
        .map(|s| (s.value.expose().to_string(), s.origin));
    assert_eq!(
        secret,
        Some((
            "from-a-file".into(),
            Origin::SecretFile(secret_file.clone())
        ))
    );
    // A file reference relative to the config's folder.
    dir.write("config.toml", "[adapter]\nsecret = { file = \"secret\" }\n");
    let config = ok(&dir.env(&remote_env));
    assert_eq!(
        config.secret.map(|s| s.origin),
        Some(Origin::SecretFile(secret_file))
    );
    // An unset variable is named, with advice for a console user.
    dir.write(
        "config.toml",
        "[adapter]\nsecret = { env = \"UNSET_VAR\" }\n",
    );
    let err = errors(&dir.env(&remote_env));
    assert!(
        err.contains("config.toml:2:10: key adapter.secret: environment variable UNSET_VAR is not set; export it before starting the console"),
        "{err}"
    );
    // Both env forms at once is ambiguous.
    vars.push((ENV_CLIENT_SECRET, "x"));
    let err = errors(&dir.env(&vars));
    assert!(err.contains("unset one"), "{err}");
    // Inline: refused at its place, the value not repeated, even for the embedded lab.
    dir.write("config.toml", "[adapter]\nsecret = \"hunter2-inline\"\n");
    let err = errors(&dir.env(&[]));
    assert!(
        err.contains("config.toml:2:10: key adapter.secret: a secret cannot be written"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    // A remote adapter with no secret anywhere says what to set.
    dir.write("config.toml", "");
    let err = errors(&dir.env(&remote_env));
    assert!(
        err.contains("key adapter.secret") && err.contains(ENV_CLIENT_SECRET),
        "{err}"
    );
}

#[test]
fn bad_values_are_reported_with_file_line_column_and_key() {
    let dir = Dir::new("errors");
    dir.write(
        "config.toml",
        "readonly = \"yes\"\n[keys]\nreset = [\"r\", \"ctrl-shift-1\"]\n",
    );
    let err = errors(&dir.env(&[]));
    assert!(err.contains("config.toml:1:12: key readonly:"), "{err}");
    dir.write("config.toml", "thme = \"light\"\n");
    let err = errors(&dir.env(&[]));
    assert!(
        err.contains("config.toml:1:1: key thme: unknown key"),
        "{err}"
    );
    // Past the TOML types, every problem of the file at once, in file order.
    dir.write(
        "config.toml",
        "theme = \"no spaces\"\n[adapter]\nurl = \"ftp://x\"\n[keys]\nrest = \"r\"\n\
         reset = [\"r\", \"gg\"]\n",
    );
    let err = errors(&dir.env(&[]));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(
        lines[0].contains("config.toml:1:9: key theme: a theme name"),
        "{err}"
    );
    assert!(
        lines[1].contains("config.toml:3:7: key adapter.url: "),
        "{err}"
    );
    assert!(
        lines[2].contains(
            "config.toml:5:1: key keys.rest: unknown action `rest`; did you mean `reset`?"
        ),
        "{err}"
    );
    assert!(
        lines[3].contains("config.toml:6:15: key keys.reset[1]: \"gg\" is not a key"),
        "{err}"
    );
}

#[test]
fn an_adapter_url_with_credentials_is_refused_without_echoing_it() {
    let dir = Dir::new("urlcreds");
    let env = dir.env(&[(ENV_ADAPTER_URL, "https://bob:hunter2@adapter/")]);
    let err = errors(&env);
    assert!(
        err.contains("$DESKBRIDGE_ADAPTER_URL: the adapter URL carries"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn keys_rebind_from_the_file_and_conflicts_name_both_actions() {
    let dir = Dir::new("keys");
    dir.write(
        "config.toml",
        "[keys]\nreset = \"X\"\nquit = [\"q\", \"ctrl-c\"]\n",
    );
    let config = ok(&dir.env(&[]));
    let at = |text: &str| {
        let key: Key = text.parse().expect("key");
        config.keymap.action_for_key(View::Sessions, key)
    };
    assert_eq!(at("X"), Some(Action::Reset));
    assert_eq!(at("r"), None);
    assert_eq!(at("ctrl-c"), Some(Action::Quit));
    let warnings: Vec<String> = config.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("config.toml:3:1: key keys.quit:"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("`quit_now`"), "{warnings:?}");
    // Two entries of the file on one key: an error at the second, naming both.
    dir.write(
        "config.toml",
        "[keys]\ntake = \"t\"\nlogoff_user = [\"t\"]\n",
    );
    let err = errors(&dir.env(&[]));
    assert!(
        err.contains("config.toml:3:1: key keys.logoff_user:"),
        "{err}"
    );
    assert!(
        err.contains("`take`") && err.contains("`logoff_user`"),
        "{err}"
    );
}

#[test]
fn info_shows_where_settings_came_from_and_never_the_secret() {
    let dir = Dir::new("info");
    dir.write("config.toml", &format!("[keys]\nreset = \"X\"\n{REMOTE}"));
    let env = dir.env(&[
        ("MY_SECRET", "s3cret-value"),
        (ENV_CLIENT_SECRET, "env-s3cret"),
    ]);
    let text = render_info(&ok(&env));
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        text.contains("(set, from env DESKBRIDGE_CLIENT_SECRET)"),
        "{text}"
    );
    assert!(
        text.contains("https://adapter.example.net:8433/ (from "),
        "{text}"
    );
    assert!(text.contains("config.toml:4)"), "{text}");
    assert!(text.contains("1 action(s) rebound"), "{text}");
    let reset = text
        .lines()
        .find(|l| l.contains(" reset "))
        .unwrap_or_default();
    assert!(reset.contains("X") && reset.contains("rebound"), "{reset}");
    assert!(
        text.contains("theme        default (default; built in)"),
        "{text}"
    );
    // The embedded lab needs no secret; with no HOME the paths say why they are absent.
    let lab_dir = Dir::new("info-lab");
    let env: HashMap<_, _> = lab_dir
        .env(&[])
        .into_iter()
        .filter(|(k, _)| k != "HOME")
        .collect();
    let lab = render_info(&ok(&env));
    assert!(lab.contains("embedded lab"), "{lab}");
    assert!(lab.contains("(not needed by the embedded lab)"), "{lab}");
    assert!(
        lab.contains("log file     (none: neither XDG_STATE_HOME nor HOME is set)"),
        "{lab}"
    );
}
