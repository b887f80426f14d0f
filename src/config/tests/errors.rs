//! Each class of config error produces a message with the right file, line and key, and
//! none repeats a secret.

use super::*;

#[test]
fn a_syntax_error_names_line_and_key() {
    let text = BASE.replace("role = \"helpdesk\"", "role = \"helpdesk");
    let shown = errors(&text);
    // The unterminated string is reported at the end of its line.
    let line = text
        .lines()
        .position(|l| l == "role = \"helpdesk")
        .map_or(0, |i| i + 1);
    assert!(
        shown.starts_with(&format!("adapter.toml:{line}:17: key clients[0].role: ")),
        "{shown}"
    );
}

#[test]
fn a_wrong_type_names_line_and_key() {
    let text = BASE.replace(
        "site_id = \"site-1\"",
        "site_id = \"site-1\"\nconcurrency = \"many\"",
    );
    let shown = errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"many\""),
        "sites[0].concurrency",
        "invalid type: string \"many\", expected i64",
    );
}

#[test]
fn an_unknown_key_names_line_and_key() {
    let text = BASE.replace("endpoints = [", "endpoint = [");
    let shown = errors(&text);
    assert_error(
        &shown,
        &at(&text, "endpoint ="),
        "sites[0].endpoint",
        "unknown key `endpoint`, expected one of",
    );
    let text = format!("listne = \"127.0.0.1:1\"\n{BASE}");
    assert_error(
        &errors(&text),
        "adapter.toml:1:1",
        "listne",
        "unknown key `listne`",
    );
}

#[test]
fn missing_keys_are_all_reported_at_their_table() {
    let text = BASE
        .replace("site_id = \"site-1\"\n", "")
        .replace("role = \"helpdesk\"\n", "");
    let shown = errors(&text);
    assert_error(
        &shown,
        "adapter.toml:1:1",
        "sites[0].site_id",
        "this key is required",
    );
    assert_error(
        &shown,
        &at(&text, "[[clients]]"),
        "clients[0].role",
        "this key is required",
    );
    assert_eq!(shown.lines().count(), 2, "{shown}");
}

#[test]
fn invalid_values_name_line_and_key() {
    let text = BASE
        .replace(
            "site_id = \"site-1\"",
            "site_id = \"site-1\"\nconcurrency = 0\nrequest_timeout = \"30\"",
        )
        .replace(
            "name = \"prod\"",
            "name = \"prod\"\npoll_interval = \"soon\"",
        );
    let text = format!("listen = \"localhost\"\ntoken_ttl = \"forever\"\n{text}");
    let shown = errors(&text);
    assert_error(
        &shown,
        "adapter.toml:1:10",
        "listen",
        "is not an address and port",
    );
    assert_error(&shown, "adapter.toml:2:13", "token_ttl", "not a duration");
    assert_error(
        &shown,
        &at(&text, "0\nrequest"),
        "sites[0].concurrency",
        "must be between 1 and 1024",
    );
    assert_error(
        &shown,
        &at(&text, "\"30\""),
        "sites[0].request_timeout",
        "has no unit",
    );
    assert_error(
        &shown,
        &at(&text, "\"soon\""),
        "servicenow[0].poll_interval",
        "not a duration",
    );
    assert_eq!(shown.lines().count(), 5, "{shown}");
}

#[test]
fn duplicate_names_are_errors() {
    let split = |from: &str, to: Option<&str>| {
        let start = BASE.find(from).unwrap_or(0);
        let end = to.and_then(|t| BASE.find(t)).unwrap_or(BASE.len());
        BASE[start..end].to_string()
    };
    let site = split("[[sites]]", Some("[[servicenow]]"));
    let instance = split("[[servicenow]]", Some("[[clients]]"));
    let client = split("[[clients]]", None).replace(ID_A, ID_B);
    let text = format!("{BASE}{site}{instance}{client}");
    let shown = errors(&text);
    assert_error(
        &shown,
        &at_nth(&text, "\"london\"", 1),
        "sites[1].name",
        "site \"london\" is already defined",
    );
    assert_error(
        &shown,
        &at_nth(&text, "\"prod\"", 1),
        "servicenow[1].name",
        "ServiceNow instance \"prod\" is already defined",
    );
    assert_error(
        &shown,
        &at_nth(&text, "\"console\"", 1),
        "clients[1].name",
        "API client \"console\" is already defined",
    );
    assert_eq!(shown.lines().count(), 3, "{shown}");
}

#[test]
fn client_ids_must_be_uuids_and_unique() {
    let client = &BASE[BASE.find("[[clients]]").unwrap_or(0)..]
        .replace("\"console\"", "\"other\"")
        .replace(ID_A, &ID_A.to_uppercase());
    let text = format!("{BASE}{client}");
    let upper = ID_A.to_uppercase();
    assert_error(
        &errors(&text),
        &at(&text, &format!("\"{upper}\"")),
        "clients[1].id",
        &format!("client id {ID_A} is already used by clients[0]"),
    );
    let text = BASE.replace(ID_A, "console-1");
    assert_error(
        &errors(&text),
        &at(&text, "\"console-1\""),
        "clients[0].id",
        "is not a UUID",
    );
}

#[test]
fn a_short_client_secret_is_refused_without_being_repeated() {
    let text = BASE.replace("CONSOLE_SECRET", "SHORT_SECRET");
    let shown = errors(&text);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_error(
        &shown,
        &at(&text, "{ env = \"SHORT_SECRET\" }"),
        "clients[0].secret",
        "the secret from environment variable SHORT_SECRET is shorter than 24 characters",
    );
}

#[test]
fn bad_urls_and_missing_endpoints_name_line_and_key() {
    let text = BASE
        .replace("\"https://ddc2.example.com\"", "\"ddc2.example.com\"")
        .replace("https://acme.service-now.com", "ftp://acme");
    let shown = errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"ddc2.example.com\""),
        "sites[0].endpoints[1]",
        "is not a URL",
    );
    assert_error(
        &shown,
        &at(&text, "\"ftp://acme\""),
        "servicenow[0].url",
        "only http and https",
    );

    let text = BASE.replace(
        "[\"https://ddc1.example.com\", \"https://ddc2.example.com\"]",
        "[]",
    );
    assert_error(
        &errors(&text),
        &at(&text, "[]"),
        "sites[0].endpoints",
        "no endpoints; list each connector's base URL",
    );
    let text = BASE.replace(
        "endpoints = [\"https://ddc1.example.com\", \"https://ddc2.example.com\"]\n",
        "",
    );
    assert_error(
        &errors(&text),
        "adapter.toml:1:1",
        "sites[0].endpoints",
        "this key is required; list each",
    );
}

#[test]
fn an_unknown_role_names_line_and_key() {
    let text = BASE.replace("\"helpdesk\"", "\"superuser\"");
    assert_error(
        &errors(&text),
        &at(&text, "\"superuser\""),
        "clients[0].role",
        "unknown variant `superuser`, expected one of `viewer`, `helpdesk`, `admin`",
    );
}

#[test]
fn an_auto_fulfil_item_in_no_queue_is_an_error() {
    let text = BASE.replace(
        "auto_fulfil = [\"Reset a session\"]",
        "auto_fulfil = [\"Reset a session\", \"Unlock my account\"]",
    );
    assert_error(
        &errors(&text),
        &at(&text, "\"Unlock my account\""),
        "servicenow[0].auto_fulfil[1]",
        "catalog item \"Unlock my account\" is in no queue",
    );
}

#[test]
fn unresolvable_secrets_name_the_variable_or_path() {
    let text = BASE.replace("LONDON_PW", "MISSING_PW").replace(
        "{ env = \"SN_PW\" }",
        "{ file = \"/nonexistent/deskbridge/sn\" }",
    );
    let shown = errors(&text);
    assert_error(
        &shown,
        &at(&text, "{ env = \"MISSING_PW\" }"),
        "sites[0].credentials.password",
        "environment variable MISSING_PW is not set",
    );
    assert_error(
        &shown,
        &at(&text, "{ file ="),
        "servicenow[0].auth.password",
        "cannot read file /nonexistent/deskbridge/sn",
    );
}

#[test]
fn an_inline_secret_is_refused_with_how_to_write_a_reference() {
    let text = BASE
        .replace("{ env = \"SN_PW\" }", "\"sn-hunter2-inline\"")
        .replace(
            "site_id = \"site-1\"",
            "site_id = \"site-1\"\nconcurrency = 0",
        );
    let shown = errors(&text);
    // Reported with the file's other problems, not instead of them.
    assert_error(
        &shown,
        &at(&text, "0\n"),
        "sites[0].concurrency",
        "must be between",
    );
    assert!(!shown.contains("sn-hunter2-inline"), "{shown}");
    assert_error(
        &shown,
        &at(&text, "\"sn-hunter2-inline\""),
        "servicenow[0].auth.password",
        "a secret cannot be written in the config (a string given); write a reference instead: `{ env = \"VAR_NAME\" }`",
    );
    // The same in a [table] with a syntax error on the secret's line: still not repeated.
    let text = BASE.replace("{ env = \"SN_PW\" }", "\"sn-hunter2-inline");
    assert!(!errors(&text).contains("sn-hunter2-inline"));
}

#[test]
fn credentials_must_match_the_site_kind() {
    let text = BASE.replace("kind = \"onprem\"", "kind = \"cloud\"");
    let shown = errors(&text);
    assert_error(
        &shown,
        "adapter.toml:1:1",
        "sites[0].customer_id",
        "a cloud site needs its Citrix Cloud customer id",
    );
    assert_error(
        &shown,
        "adapter.toml:1:1",
        "sites[0].token_url",
        "cctrustoauth2",
    );
    assert_error(
        &shown,
        &at(&text, "'CORP"),
        "sites[0].credentials.username",
        "a cloud site does not use `username`",
    );
    assert_error(
        &shown,
        &at(&text, "{ env = \"LONDON_PW\" }"),
        "sites[0].credentials.password",
        "a cloud site does not use `password`",
    );
    assert_error(
        &shown,
        &at(&text, "{ username"),
        "sites[0].credentials.client_id",
        "this key is required",
    );
}

#[test]
fn a_bad_engine_lease_names_line_and_key() {
    let text = format!("{BASE}\n[engine]\nlease = \"500ms\"\n");
    let shown = errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"500ms\""),
        "engine.lease",
        "too short; the engine renews a lease every third of it, so use at least \"1s\"",
    );
    assert_eq!(shown.lines().count(), 1, "{shown}");

    let text = format!("{BASE}\n[engine]\nlease = \"soon\"\n");
    assert_error(
        &errors(&text),
        &at(&text, "\"soon\""),
        "engine.lease",
        "not a duration",
    );

    let text = format!("{BASE}\n[engine]\nleases = \"5s\"\n");
    assert_error(
        &errors(&text),
        &at(&text, "leases"),
        "engine.leases",
        "unknown key `leases`",
    );
}
