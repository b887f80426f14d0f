//! The adapter config as files on disk: the documented example loads, secret files are read
//! relative to the config and trimmed, loose permissions warn, and errors name the file.

use deskbridge::accounts::{PasswordPolicy, VerificationPolicy};
use deskbridge::config::{AdapterConfig, DirectoryBackend, LoadedConfig, Role, StoreConfig};
use deskbridge::cvad::CvadAuth;
use deskbridge::model::{SiteKind, TicketKind};
use deskbridge::servicenow::{Auth, OAuthGrant};
use std::path::{Path, PathBuf};

const EXAMPLE: &str = include_str!("../adapter.example.toml");

/// Every secret the example refers to, with a recognisable value.
const ENV: &[(&str, &str)] = &[
    ("DESKBRIDGE_LONDON_PASSWORD", "london-hunter2-password"),
    ("DESKBRIDGE_SN_PASSWORD", "sn-hunter2-password"),
    ("DESKBRIDGE_SN_CLIENT_SECRET", "sn-hunter2-client-secret"),
    (
        "DESKBRIDGE_CLIENT_WALLBOARD_SECRET",
        "wallboard-hunter2-0123456789abcdef",
    ),
    (
        "DESKBRIDGE_CLIENT_ADMINS_SECRET",
        "admins-hunter2-0123456789abcdef",
    ),
    ("DESKBRIDGE_AD_PASSWORD", "ad-hunter2-password"),
];
const DAAS_SECRET: &str = "daas-hunter2-client-secret";
const CONSOLE_SECRET: &str = "console-hunter2-0123456789abcdef";

fn env(name: &str) -> Option<String> {
    ENV.iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A fresh folder for one test (removed first if a previous run left it).
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deskbridge-config-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("secrets")).expect("create scratch folder");
    std::fs::create_dir_all(dir.join("certs")).expect("create scratch folder");
    dir
}

fn write_secret(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).expect("write secret file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .expect("chmod secret file");
    }
    #[cfg(not(unix))]
    let _ = mode;
}

/// The example installed in a scratch folder with its secret files, as an operator would.
fn install_example(test: &str, mode: u32) -> PathBuf {
    let dir = scratch(test);
    let config = dir.join("adapter.toml");
    std::fs::write(&config, EXAMPLE).expect("write config");
    // Trailing newlines as `echo` would leave them; the loader drops one.
    write_secret(
        &dir.join("secrets/daas-eu-client-secret"),
        &format!("{DAAS_SECRET}\n"),
        mode,
    );
    write_secret(
        &dir.join("secrets/helpdesk-console-secret"),
        &format!("{CONSOLE_SECRET}\r\n"),
        mode,
    );
    // The directory's pinned CA: the loader checks that it is there; its certificates are read
    // when the directory is opened.
    std::fs::write(
        dir.join("certs/corp-root-ca.pem"),
        "-----BEGIN CERTIFICATE-----\n",
    )
    .expect("write CA file");
    config
}

fn load(path: &Path) -> LoadedConfig {
    AdapterConfig::load_with_env(path, &env).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_env_var_the_example_refers_to_is_set_here() {
    // Comment lines show the syntax with placeholder names; only settings count.
    let settings = EXAMPLE.lines().filter(|l| !l.trim_start().starts_with('#'));
    let mut seen = 0;
    for line in settings {
        if let Some(i) = line.find("{ env = \"") {
            let rest = &line[i + 9..];
            let name = &rest[..rest.find('"').unwrap_or(0)];
            assert!(
                env(name).is_some(),
                "the example uses {name}; add it to ENV"
            );
            seen += 1;
        }
    }
    assert_eq!(
        seen,
        ENV.len(),
        "ENV lists a variable the example no longer uses"
    );
}

#[test]
fn the_example_loads() {
    let path = install_example("example", 0o600);
    let loaded = load(&path);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;

    assert_eq!(c.listen.to_string(), "127.0.0.1:8433");
    assert_eq!(c.token_ttl, std::time::Duration::from_secs(3600));
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/deskbridge"));
    assert_eq!(
        c.store,
        StoreConfig::Sqlite {
            path: "/var/lib/deskbridge/deskbridge.db".into()
        }
    );

    let [london, daas] = &c.sites[..] else {
        panic!("two sites expected: {:?}", c.sites)
    };
    assert_eq!(london.kind, SiteKind::Onprem);
    assert_eq!(london.endpoints.len(), 2);
    assert_eq!(london.customer_id, "CitrixOnPremises");
    assert_eq!((london.concurrency, london.rate_limit), (16, Some(50.0)));
    assert!(
        matches!(&london.auth, CvadAuth::OnPrem { username, password }
            if username == "CORP\\svc-deskbridge" && password.expose() == ENV[0].1)
    );
    assert_eq!(daas.kind, SiteKind::Cloud);
    assert_eq!(daas.endpoints, vec!["https://api.cloud.com".to_string()]);
    assert_eq!(daas.customer_id, "acmecorp1a2b");
    match &daas.auth {
        CvadAuth::Cloud {
            token_url,
            client_secret,
            ..
        } => {
            assert!(token_url.starts_with("https://api-eu.cloud.com/cctrustoauth2/acmecorp1a2b"));
            assert_eq!(
                client_secret.expose(),
                DAAS_SECRET,
                "one trailing newline dropped"
            );
        }
        other => panic!("{other:?}"),
    }
    for site in &c.sites {
        assert!(site.enabled);
        site.to_cvad_config()
            .validate()
            .unwrap_or_else(|e| panic!("{e}"));
    }

    let [sn] = &c.servicenow[..] else {
        panic!("one instance expected")
    };
    assert_eq!(sn.url, "https://acme.service-now.com");
    assert!(matches!(
        &sn.auth,
        Auth::OAuth { client_secret, grant: OAuthGrant::Password { password, .. }, .. }
            if client_secret.expose() == ENV[2].1 && password.expose() == ENV[1].1
    ));
    assert_eq!(sn.queues.len(), 2);
    assert_eq!(sn.queues[0].tables, vec![TicketKind::Incident]);
    assert_eq!(
        sn.queues[1].tables,
        vec![TicketKind::RequestedItem, TicketKind::CatalogTask]
    );
    assert!(sn.is_auto_fulfilled("Reset a session"));
    assert!(!sn.is_auto_fulfilled("Request a desktop"));
    assert_eq!(
        sn.failure_assignment_group.as_deref(),
        Some("Desktop Support L2")
    );
    assert_eq!(sn.to_servicenow_config().name, "prod");

    let roles: Vec<Role> = c.clients.iter().map(|c| c.role).collect();
    assert_eq!(roles, vec![Role::Viewer, Role::Helpdesk, Role::Admin]);
    assert_eq!(c.clients[1].secret.expose(), CONSOLE_SECRET, "CRLF dropped");

    let [corp] = &c.directories[..] else {
        panic!("one directory expected: {:?}", c.directories)
    };
    assert_eq!(corp.domain, "CORP");
    let DirectoryBackend::Ldap(ldap) = &corp.backend else {
        panic!("an ldap directory expected: {corp:?}")
    };
    assert!(ldap.url.starts_with("ldaps://"), "{}", ldap.url);
    assert!(ldap.tls_verify && !ldap.starttls);
    assert_eq!(ldap.bind_password.expose(), "ad-hunter2-password");
    let dir = path.parent().expect("the config's folder");
    assert_eq!(
        ldap.ca_file.as_deref(),
        Some(dir.join("certs/corp-root-ca.pem").as_path())
    );
    assert_eq!(ldap.default_ou(), "OU=Staff,DC=corp,DC=example,DC=com");
    // The two account tables are written out with their defaults.
    let policy = &c.accounts.policy;
    let defaults = PasswordPolicy::default();
    assert_eq!(
        (policy.min_length, policy.max_length, policy.min_classes),
        (
            defaults.min_length,
            defaults.max_length,
            defaults.min_classes
        )
    );
    assert_eq!(policy.required_classes, defaults.required_classes);
    assert_eq!(policy.forbid_names, defaults.forbid_names);
    assert_eq!(policy.deny_list, None);
    assert_eq!(c.accounts.verification, VerificationPolicy::default());

    // Nothing secret in a debug dump of the whole configuration.
    let dump = format!("{c:?}");
    assert!(!dump.contains("hunter2"), "{dump}");
}

#[cfg(unix)]
#[test]
fn a_world_readable_secret_file_loads_with_a_warning() {
    let path = install_example("world-readable", 0o644);
    let loaded = load(&path);
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    let line = EXAMPLE
        .lines()
        .position(|l| l.starts_with("client_secret = { file"))
        .map_or(0, |i| i + 1);
    let prefix = format!(
        "{}:{line}:17: key sites[1].credentials.client_secret: secret file ",
        path.display()
    );
    assert!(warnings[0].starts_with(&prefix), "{warnings:?}");
    assert!(warnings[0].contains("readable by every user (mode 0644)"));
    assert!(!warnings.concat().contains("hunter2"));
}

#[test]
fn errors_name_the_file_as_given() {
    let dir = scratch("errors");
    let path = dir.join("adapter.toml");
    // The example, with its secret files missing and a typo in a key.
    let text = EXAMPLE.replace("poll_interval = \"30s\"", "pol_interval = \"30s\"");
    std::fs::write(&path, &text).expect("write config");
    let err = AdapterConfig::load_with_env(&path, &env)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let line = text
        .lines()
        .position(|l| l.starts_with("pol_interval"))
        .map_or(0, |i| i + 1);
    assert!(
        err.starts_with(&format!(
            "{}:{line}:1: key servicenow[0].pol_interval: unknown key `pol_interval`",
            path.display()
        )),
        "{err}"
    );

    // With the typo fixed, the missing secret files and CA file are reported, all at once.
    std::fs::write(&path, EXAMPLE).expect("write config");
    let err = AdapterConfig::load_with_env(&path, &env)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(err.lines().count(), 3, "{err}");
    assert!(
        err.contains("key directories[0].ca_file: cannot read the CA file"),
        "{err}"
    );
    assert!(
        err.contains("key sites[1].credentials.client_secret: cannot read file"),
        "{err}"
    );
    assert!(
        err.contains("key clients[1].secret: cannot read file"),
        "{err}"
    );
    assert!(err.contains("secrets/helpdesk-console-secret"), "{err}");

    let missing = dir.join("nope.toml");
    let err = AdapterConfig::load_with_env(&missing, &env)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with(&format!(
            "{}: cannot read the config file",
            missing.display()
        )),
        "{err}"
    );
}
