//! Tests of the whole loader: defaults, conversions, warnings, and that secret values never
//! appear in `Debug` output. Error classes are in `errors.rs`; the helpers here serve both.

mod accounts;
mod directories;
mod errors;
mod idle;
mod offboarding;
mod routing;
mod runbook_items;
mod store;

use super::*;
use crate::cvad::CvadAuth;
use crate::model::{SiteKind, TicketKind};
use crate::servicenow::{Auth, OAuthGrant};
use std::path::PathBuf;
use std::time::Duration;

pub(super) const ID_A: &str = "5b0c8f1e-2a4d-4e6f-9a1b-3c5d7e9f0a2b";
pub(super) const ID_B: &str = "7d2e0a3b-4c6f-4081-8b3d-5e7f9a1b2c4d";

/// A small valid config; tests edit it with `replace`.
pub(super) const BASE: &str = r#"[[sites]]
name = "london"
kind = "onprem"
endpoints = ["https://ddc1.example.com", "https://ddc2.example.com"]
site_id = "site-1"
credentials = { username = 'CORP\svc', password = { env = "LONDON_PW" } }

[[servicenow]]
name = "prod"
url = "https://acme.service-now.com"
auth = { method = "basic", username = "svc", password = { env = "SN_PW" } }
auto_fulfil = ["Reset a session"]

[[servicenow.queues]]
name = "requests"
tables = ["sc_req_item"]
assignment_groups = ["Citrix Operations"]
catalog_items = ["Reset a session"]

[[clients]]
name = "console"
id = "5b0c8f1e-2a4d-4e6f-9a1b-3c5d7e9f0a2b"
role = "helpdesk"
secret = { env = "CONSOLE_SECRET" }
"#;

pub(super) const SECRETS: [&str; 3] = [
    "pw-hunter2-london",
    "sn-hunter2-prod",
    "console-hunter2-0123456789abcdef",
];

pub(super) fn env(name: &str) -> Option<String> {
    match name {
        "LONDON_PW" => Some(SECRETS[0].into()),
        "SN_PW" => Some(SECRETS[1].into()),
        "CONSOLE_SECRET" => Some(SECRETS[2].into()),
        "SHORT_SECRET" => Some("hunter2".into()),
        "HOME" => Some("/home/op".into()),
        _ => None,
    }
}

pub(super) fn load(text: &str) -> Result<LoadedConfig, ConfigErrors> {
    AdapterConfig::from_toml(text, "adapter.toml", Path::new("/etc/deskbridge"), &env)
}

pub(super) fn errors(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => {
            let shown = e.to_string();
            for secret in SECRETS {
                assert!(!shown.contains(secret), "secret in: {shown}");
            }
            shown
        }
    }
}

/// `adapter.toml:LINE:COL` of byte `offset` of `text`, counted here independently of the
/// loader.
pub(super) fn position(text: &str, offset: usize) -> String {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("adapter.toml:{line}:{column}")
}

/// The position of the first occurrence of `needle` in `text`.
pub(super) fn at(text: &str, needle: &str) -> String {
    at_nth(text, needle, 0)
}

/// The position of the `n`th occurrence (from 0) of `needle` in `text`.
pub(super) fn at_nth(text: &str, needle: &str, n: usize) -> String {
    let (offset, _) = text
        .match_indices(needle)
        .nth(n)
        .unwrap_or_else(|| panic!("{needle:?} not {n} times in text"));
    position(text, offset)
}

/// Asserts that one error line reads `FILE:LINE:COL: key KEY: ...MESSAGE...`.
pub(super) fn assert_error(shown: &str, position: &str, key: &str, message: &str) {
    let prefix = format!("{position}: key {key}: ");
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains(message)),
        "no line starting {prefix:?} and containing {message:?} in:\n{shown}"
    );
}

#[test]
fn the_base_config_loads_with_defaults() {
    let loaded = load(BASE).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;
    assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(c.token_ttl, crate::config::DEFAULT_TOKEN_TTL);
    assert_eq!(
        c.data_dir,
        PathBuf::from("/home/op/.local/share/deskbridge")
    );
    assert_eq!(
        c.store,
        StoreConfig::Sqlite {
            path: "/home/op/.local/share/deskbridge/deskbridge.db".into()
        }
    );
    let site = &c.sites[0];
    assert_eq!(site.kind, SiteKind::Onprem);
    assert_eq!(site.customer_id, "CitrixOnPremises");
    assert!(site.enabled);
    assert_eq!(site.concurrency, DEFAULT_CONCURRENCY);
    assert_eq!(site.rate_limit, None);
    assert_eq!(site.request_timeout, DEFAULT_SITE_TIMEOUT);
    match &site.auth {
        CvadAuth::OnPrem { username, password } => {
            assert_eq!(username, "CORP\\svc");
            assert_eq!(password.expose(), SECRETS[0]);
        }
        other => panic!("{other:?}"),
    }
    let sn = &c.servicenow[0];
    assert_eq!(sn.poll_interval, DEFAULT_POLL_INTERVAL);
    assert_eq!(sn.request_timeout, DEFAULT_SERVICENOW_TIMEOUT);
    assert_eq!(sn.resolve_close_code, DEFAULT_CLOSE_CODE);
    assert_eq!(sn.failure_assignment_group, None);
    assert_eq!(sn.queues[0].tables, vec![TicketKind::RequestedItem]);
    assert!(sn.is_auto_fulfilled("Reset a session"));
    assert!(matches!(&sn.auth, Auth::Basic { password, .. } if password.expose() == SECRETS[1]));
    let client = &c.clients[0];
    assert_eq!(client.role, Role::Helpdesk);
    assert_eq!(client.id.to_string(), ID_A);
    assert_eq!(client.secret.expose(), SECRETS[2]);
    assert!(client.enabled);
    assert!(Role::Admin.allows(Role::Helpdesk) && !Role::Viewer.allows(Role::Helpdesk));
}

#[test]
fn data_dir_defaults_to_xdg_data_home_and_store_follows_data_dir() {
    let xdg = |name: &str| match name {
        "XDG_DATA_HOME" => Some("/xdg".to_string()),
        other => env(other),
    };
    let loaded = AdapterConfig::from_toml(BASE, "adapter.toml", Path::new("/etc"), &xdg)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.data_dir, PathBuf::from("/xdg/deskbridge"));
    let text = format!("data_dir = \"state\"\nstore = \"sqlite:///db/x.db\"\n{BASE}");
    let c = load(&text).unwrap_or_else(|e| panic!("{e}")).config;
    assert_eq!(c.data_dir, PathBuf::from("/etc/deskbridge/state"));
    assert_eq!(
        c.store,
        StoreConfig::Sqlite {
            path: "/db/x.db".into()
        }
    );
}

#[test]
fn oauth_auth_resolves_both_secrets() {
    let text = BASE.replace(
        "auth = { method = \"basic\", username = \"svc\", password = { env = \"SN_PW\" } }",
        "auth = { method = \"oauth_client_credentials\", client_id = \"cid\", client_secret = { env = \"SN_PW\" } }",
    );
    let c = load(&text).unwrap_or_else(|e| panic!("{e}")).config;
    assert!(matches!(
        &c.servicenow[0].auth,
        Auth::OAuth { client_id, client_secret, grant: OAuthGrant::ClientCredentials }
            if client_id == "cid" && client_secret.expose() == SECRETS[1]
    ));
    let text = text.replace(
        "client_id = \"cid\"",
        "client_id = \"cid\", username = \"u\"",
    );
    assert_error(
        &errors(&text),
        &at(&text, "\"u\""),
        "servicenow[0].auth.username",
        "method oauth_client_credentials does not use `username`",
    );
}

#[test]
fn empty_file_reports_every_missing_section() {
    let shown = errors("");
    assert!(
        shown.contains("adapter.toml: key sites: no CVAD site is configured"),
        "{shown}"
    );
    assert!(
        shown.contains("adapter.toml: key clients: no API client is configured"),
        "{shown}"
    );
}

#[test]
fn debug_output_never_shows_secrets() {
    let loaded = load(BASE).unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{loaded:?} {:?} {:?}",
        loaded.config.sites[0].to_cvad_config(),
        loaded.config.servicenow[0].to_servicenow_config()
    );
    for secret in SECRETS {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn conversions_carry_identity_endpoints_and_timeouts() {
    let text = BASE.replace(
        "site_id = \"site-1\"",
        "site_id = \"site-1\"\nrequest_timeout = \"2s\"",
    );
    let c = load(&text).unwrap_or_else(|e| panic!("{e}")).config;
    let cvad = c.sites[0].to_cvad_config();
    assert!(cvad.validate().is_ok());
    assert_eq!(cvad.site_name, "london");
    assert_eq!(cvad.customer_id, "CitrixOnPremises");
    assert_eq!(cvad.endpoints.len(), 2);
    assert_eq!(cvad.request_timeout, Duration::from_secs(2));
    assert!(cvad.connect_timeout <= cvad.request_timeout);
    let client = c.clients[0].to_new_api_client();
    assert_eq!(client.id, Some(c.clients[0].id));
    assert_eq!(client.role, crate::model::Role::Helpdesk);
    assert_eq!(client.secret, SECRETS[2]);
    let sn = c.servicenow[0].to_servicenow_config();
    assert_eq!(sn.url, "https://acme.service-now.com");
    assert_eq!(sn.timeout, DEFAULT_SERVICENOW_TIMEOUT);
}

#[test]
fn warnings_for_plain_http_and_a_public_listen_address() {
    let text = format!(
        "listen = \"0.0.0.0:8433\"\n{}",
        BASE.replace("https://ddc1", "http://ddc1")
    );
    let loaded = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let shown: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert!(
        shown
            .iter()
            .any(|w| w.starts_with("adapter.toml:1:10: key listen: 0.0.0.0:8433 is reachable")),
        "{shown:?}"
    );
    assert!(
        shown.iter().any(|w| w.starts_with(&format!(
            "{}: key sites[0].endpoints[0]: plain http",
            at(&text, "\"http://ddc1")
        ))),
        "{shown:?}"
    );
}

#[test]
fn without_home_or_xdg_data_dir_must_be_given() {
    let no_home = |name: &str| match name {
        "HOME" => None,
        other => env(other),
    };
    let err = AdapterConfig::from_toml(BASE, "adapter.toml", Path::new("/etc"), &no_home)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with("adapter.toml: key data_dir: neither XDG_DATA_HOME nor HOME is set"),
        "{err}"
    );
    let text = format!("data_dir = \"/srv/deskbridge\"\n{BASE}");
    let c = AdapterConfig::from_toml(&text, "adapter.toml", Path::new("/etc"), &no_home)
        .unwrap_or_else(|e| panic!("{e}"))
        .config;
    assert_eq!(c.data_dir, PathBuf::from("/srv/deskbridge"));
}

#[test]
fn sites_and_clients_can_be_disabled() {
    let text = BASE
        .replace(
            "site_id = \"site-1\"",
            "site_id = \"site-1\"\nenabled = false",
        )
        .replace(
            "role = \"helpdesk\"",
            "role = \"helpdesk\"\nenabled = false",
        );
    let c = load(&text).unwrap_or_else(|e| panic!("{e}")).config;
    assert!(!c.sites[0].enabled);
    assert!(!c.clients[0].enabled);
}

#[test]
fn the_engine_lease_is_left_to_the_engine_unless_set() {
    let loaded = load(BASE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.engine.lease, None);
    let text = format!("{BASE}\n[engine]\nlease = \"5s\"\n");
    let loaded = load(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.engine.lease, Some(Duration::from_secs(5)));
    // An empty table is the defaults.
    let text = format!("{BASE}\n[engine]\n");
    let loaded = load(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.engine, EngineConfig::default());
}

#[test]
fn zones_name_the_site_endpoints_that_serve_them() {
    let zones = "credentials = { username = 'CORP\\svc', password = { env = \"LONDON_PW\" } }\n\n\
                 [[sites.zones]]\nname = \"Manchester\"\nendpoints = [\"https://ddc2.example.com/\"]\n";
    let text = BASE.replacen(
        "credentials = { username = 'CORP\\svc', password = { env = \"LONDON_PW\" } }\n",
        zones,
        1,
    );
    let c = load(&text).unwrap_or_else(|e| panic!("{e}")).config;
    let cvad = c.sites[0].to_cvad_config();
    assert_eq!(cvad.zones.len(), 1);
    assert_eq!(cvad.zones[0].zone, "Manchester");
    assert_eq!(
        cvad.zones[0].endpoints,
        [1],
        "the trailing / is not a different endpoint"
    );

    let wrong = text.replace(
        "[\"https://ddc2.example.com/\"]",
        "[\"https://ddc9.example.com\"]",
    );
    let shown = errors(&wrong);
    assert_error(
        &shown,
        &at(&wrong, "\"https://ddc9.example.com\""),
        "sites[0].zones[0].endpoints[0]",
        "\"https://ddc9.example.com\" is not one of this site's endpoints",
    );
}
