//! `deskbridge route explain` as an operator runs it: the real binary, a config file in a
//! temporary folder whose sites and directory are a running lab, its lines, its JSON, and exit
//! code 1 with a clear message for an unknown user or a config error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use deskbridge::adapter::routing::Explanation;
use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::directory::Directory;
use deskbridge::directory::cvad_identity::CvadIdentityDirectory;
use deskbridge::lab::{Lab, LabOptions, SiteCredentials};

const BIN: &str = env!("CARGO_BIN_EXE_deskbridge");
const CLIENT_SECRET: &str = "a-console-secret-long-enough-0123456789";

/// A scratch folder removed when the test ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// adapter.toml for the lab's London site with its Identity API as the LAB directory, and
/// `rules` appended. Secrets are env references, resolved from [`env`].
fn config_text(lab: &Lab, dir: &Path, rules: &str) -> String {
    let site = lab.info().site("London").expect("the lab's London site");
    let SiteCredentials::Basic { username, .. } = &site.credentials else {
        panic!("London is on-prem with Basic credentials");
    };
    let endpoints: Vec<String> = site.endpoints.iter().map(|e| format!("{e:?}")).collect();
    format!(
        r#"data_dir = {data_dir:?}

[[sites]]
name = "London"
kind = "onprem"
endpoints = [{endpoints}]
site_id = {site_id:?}
credentials = {{ username = {username:?}, password = {{ env = "LAB_LONDON_PW" }} }}

[[sites]]
name = "Paris"
kind = "onprem"
endpoints = ["https://ddc1.paris.example.com"]
site_id = "paris"
enabled = false
credentials = {{ username = 'LAB\svc', password = {{ env = "LAB_LONDON_PW" }} }}

[[clients]]
name = "console"
id = "5b0c8f1e-2a4d-4e6f-9a1b-3c5d7e9f0a2b"
role = "helpdesk"
secret = {{ env = "ROUTE_TEST_SECRET" }}

[[directories]]
domain = "LAB"
kind = "cvad-identity"
site = "London"
{rules}"#,
        data_dir = dir.display().to_string(),
        endpoints = endpoints.join(", "),
        site_id = site.site_id,
    )
}

const RULES: &str = r#"
[[routing.rules]]
name = "office-london"
match = { location = "London" }
site = "London"
pooled_desktop = { delivery_group = "London Pooled Desktops" }
persistent_desktop = { delivery_group = "London Persistent Desktops", catalog = "LDN Win11 Persistent" }
apps = ["Office Suite"]
groups = ["Citrix Desktop Users"]

[routing.default]
site = "London"
pooled_desktop = { access_group = "Citrix Desktop Users" }
"#;

fn write_config(lab: &Lab, tag: &str, rules: &str) -> (Scratch, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "deskbridge-cli-route-{}-{tag}",
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let path = dir.join("adapter.toml");
    std::fs::write(&path, config_text(lab, &dir, rules)).expect("write adapter.toml");
    (Scratch(dir), path)
}

/// Runs the binary off the runtime's threads (the lab answers it from this process).
async fn run(lab: &Lab, args: Vec<String>) -> Output {
    let SiteCredentials::Basic { password, .. } = &lab
        .info()
        .site("London")
        .expect("London")
        .credentials
        .clone()
    else {
        panic!("London is on-prem");
    };
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env("LAB_LONDON_PW", password)
            .env("ROUTE_TEST_SECRET", CLIENT_SECRET)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("joined")
}

/// Two lab users: one in London and one elsewhere, as `LAB\sam`.
async fn lab_users(lab: &Lab) -> (String, String) {
    let site = lab.info().site("London").expect("London").clone();
    let client = CvadClient::new(CvadConfig::from_lab(&site)).expect("client");
    let directory = CvadIdentityDirectory::new(client, "LAB");
    let found = directory.find("a", 200).await.expect("find over HTTP");
    let people = || found.iter().filter(|a| a.dn.contains("OU=People"));
    let london = people()
        .find(|a| a.location == "London")
        .expect("someone in London");
    let elsewhere = people()
        .find(|a| !a.location.is_empty() && a.location != "London")
        .expect("someone elsewhere");
    (london.qualified_name(), elsewhere.qualified_name())
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_prints_one_line_per_rule_then_the_route() {
    let lab = Lab::start(LabOptions::default()).await.expect("lab");
    let (london, elsewhere) = lab_users(&lab).await;
    let (_dir, path) = write_config(&lab, "text", RULES);
    let config = path.display().to_string();

    let out = run(
        &lab,
        args(&["route", "explain", &london, "--config", &config]),
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("user        {london}")),
        "{stdout}"
    );
    assert!(stdout.contains("location    London"), "{stdout}");
    assert!(
        stdout.contains("unknown     department"),
        "the Identity API gives no department: {stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("MATCH  office-london")
                && l.contains("location is \"London\", as the rule wants")),
        "{stdout}"
    );
    assert!(stdout.contains("route (rule office-london):"), "{stdout}");
    assert!(stdout.contains("site                London"), "{stdout}");
    assert!(
        stdout.contains("pooled desktop      delivery group London Pooled Desktops"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "persistent desktop  delivery group London Persistent Desktops, catalog LDN Win11 \
             Persistent, naming (the catalog's)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("apps                Office Suite"),
        "{stdout}"
    );

    // Someone elsewhere: the London rule is checked and fails, the default applies.
    let out = run(
        &lab,
        args(&[
            "route", "explain", &elsewhere, "--config", &config, "--json",
        ]),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let explanation: Explanation =
        serde_json::from_slice(&out.stdout).expect("--json prints the explanation");
    assert_eq!(explanation.facts.user, elsewhere);
    let rules: Vec<(&str, bool)> = explanation
        .checks
        .iter()
        .map(|c| (c.rule.as_str(), c.matched))
        .collect();
    assert_eq!(rules, vec![("office-london", false), ("default", true)]);
    assert!(
        explanation.checks[0].reasons[0].ends_with("rule wants \"London\""),
        "{:?}",
        explanation.checks[0]
    );
    let route = explanation.route.expect("the default route");
    assert_eq!(route.rule, "default");
    assert_eq!(
        route.pooled_desktop,
        Some(deskbridge::adapter::routing::PooledDesktop::AccessGroup(
            "Citrix Desktop Users".into()
        ))
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_users_and_config_errors_exit_1_with_a_clear_message() {
    let lab = Lab::start(LabOptions::default()).await.expect("lab");
    let (_dir, path) = write_config(&lab, "errors", RULES);
    let config = path.display().to_string();

    let out = run(
        &lab,
        args(&["route", "explain", "LAB\\nobody.here", "--config", &config]),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no account LAB\\nobody.here in the directory of domain LAB"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let out = run(
        &lab,
        args(&["route", "explain", "CORP\\alice", "--config", &config]),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no directory serves domain \"CORP\""),
        "{stderr}"
    );

    // A rule pointing at the disabled site: the file, line and key, and no lookup.
    let rules = RULES.replacen("site = \"London\"", "site = \"Paris\"", 1);
    let (_bad_dir, bad) = write_config(&lab, "bad", &rules);
    let out = run(
        &lab,
        args(&[
            "route",
            "explain",
            "LAB\\x",
            "--config",
            &bad.display().to_string(),
        ]),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(&bad).expect("read back");
    let line = text
        .lines()
        .position(|l| l == "site = \"Paris\"")
        .map(|i| i + 1)
        .expect("the rule's site line");
    assert!(
        stderr.contains(&format!(
            "{}:{line}:8: key routing.rules[0].site: site \"Paris\" is disabled",
            bad.display()
        )),
        "{stderr}"
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_on_the_embedded_lab_uses_the_lab_rules() {
    // The binary's own lab (seed 1) has the same people as this one.
    let lab = Lab::start(LabOptions::default()).await.expect("lab");
    let (london, _) = lab_users(&lab).await;
    let out = run(
        &lab,
        args(&["route", "explain", &london, "--lab", "--json"]),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let explanation: Explanation = serde_json::from_slice(&out.stdout).expect("JSON");
    let route = explanation.route.expect("a route");
    assert_eq!(route.site, "London");
    assert!(
        ["london-engineering", "office-london"].contains(&route.rule.as_str()),
        "{route:?}"
    );
    lab.shutdown().await;
}
