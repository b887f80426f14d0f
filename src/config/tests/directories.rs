//! `[[directories]]`: a full example (with `[password_policy]` and `[verification]`) loads
//! with every setting, and each mistake is reported at its line and key without repeating a
//! secret. The helpers here serve `accounts.rs` too.

use super::*;
use crate::accounts::{AccountNames, CharClass, ViolationCode};

const AD_SECRET: &str = "ad-hunter2-service";

fn env(name: &str) -> Option<String> {
    match name {
        "AD_PW" => Some(AD_SECRET.into()),
        other => super::env(other),
    }
}

/// A folder standing for the config file's, with a CA file and a deny list in it.
pub(super) struct Scratch(pub(super) PathBuf);

impl Scratch {
    pub(super) fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "deskbridge-config-dirs-{}-{tag}",
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(dir.join("certs")).expect("create scratch folder");
        // Only its existence is checked at load; the certificates are read when the
        // directory is opened (see tests/directory_ldap.rs).
        std::fs::write(
            dir.join("certs/corp-ca.pem"),
            "-----BEGIN CERTIFICATE-----\n",
        )
        .expect("write CA file");
        std::fs::write(dir.join("deny.txt"), "# company words\nacme\nsummer\n")
            .expect("write deny list");
        Scratch(dir)
    }

    pub(super) fn load(&self, text: &str) -> Result<LoadedConfig, ConfigErrors> {
        AdapterConfig::from_toml(text, "adapter.toml", &self.0, &env)
    }

    pub(super) fn errors(&self, text: &str) -> String {
        match self.load(text) {
            Ok(_) => panic!("expected errors for:\n{text}"),
            Err(e) => {
                let shown = e.to_string();
                for secret in SECRETS.iter().chain([&AD_SECRET]) {
                    assert!(!shown.contains(secret), "secret in: {shown}");
                }
                shown
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const LDAP: &str = r#"
[[directories]]
domain = "corp"
kind = "ldap"
url = "ldaps://dc1.corp.example.com:636"
bind = "svc-deskbridge@corp.example.com"
password = { env = "AD_PW" }
base_dn = "DC=corp,DC=example,DC=com"
ca_file = "certs/corp-ca.pem"
timeout = "5s"
users_ou = "OU=Staff,DC=corp,DC=example,DC=com"
"#;

const IDENTITY: &str = r#"
[[directories]]
domain = "LAB"
kind = "cvad-identity"
site = "london"
"#;

const ACCOUNTS: &str = r#"
[password_policy]
min_length = 14
max_length = 64
min_classes = 3
required_classes = ["digit"]
forbid_names = true
deny_list = "deny.txt"

[verification]
max_attempts = 3
window = "10m"
lockout = "1h"
"#;

/// Every new section, with every key set.
pub(super) fn full() -> String {
    format!("{BASE}{LDAP}{IDENTITY}{ACCOUNTS}")
}

#[test]
fn a_full_example_loads_with_every_setting() {
    let scratch = Scratch::new("full");
    let loaded = scratch.load(&full()).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;

    let [corp, lab] = &c.directories[..] else {
        panic!("two directories expected: {:?}", c.directories)
    };
    assert_eq!(corp.domain, "CORP", "NetBIOS names are upper-cased");
    let DirectoryBackend::Ldap(ldap) = &corp.backend else {
        panic!("ldap expected: {corp:?}")
    };
    assert_eq!(ldap.url, "ldaps://dc1.corp.example.com:636");
    assert!(!ldap.starttls);
    assert_eq!(ldap.bind_user, "svc-deskbridge@corp.example.com");
    assert_eq!(ldap.bind_password.expose(), AD_SECRET);
    assert_eq!(ldap.base_dn, "DC=corp,DC=example,DC=com");
    assert_eq!(ldap.domain, "CORP");
    assert_eq!(
        ldap.ca_file.as_deref(),
        Some(scratch.0.join("certs/corp-ca.pem").as_path()),
        "relative to the config file's folder"
    );
    assert!(ldap.tls_verify);
    assert_eq!(ldap.operation_timeout, Duration::from_secs(5));
    assert_eq!(ldap.connect_timeout, Duration::from_secs(5), "capped");
    assert_eq!(ldap.default_ou(), "OU=Staff,DC=corp,DC=example,DC=com");
    assert_eq!(corp.backend.kind(), "ldap");

    assert_eq!(lab.domain, "LAB");
    assert!(
        matches!(&lab.backend, DirectoryBackend::CvadIdentity { site } if site == "london"),
        "{lab:?}"
    );

    let policy = &c.accounts.policy;
    assert_eq!((policy.min_length, policy.max_length), (14, 64));
    assert_eq!(policy.required_classes, vec![CharClass::Digit]);
    assert_eq!(policy.deny_list, Some(scratch.0.join("deny.txt")));
    assert_eq!(policy.denied.len(), 2, "the deny list is loaded");
    let someone = AccountNames::new("alice.smith", "Alice Smith");
    let codes: Vec<ViolationCode> = policy
        .check("Summer2026!!!!", &someone)
        .iter()
        .map(|v| v.code)
        .collect();
    assert_eq!(codes, vec![ViolationCode::Denied]);
    assert!(policy.check("Blue-Harbour-Kettle-42", &someone).is_empty());

    let v = c.accounts.verification;
    assert_eq!(v.max_attempts, 3);
    assert_eq!(v.window, Duration::from_secs(600));
    assert_eq!(v.lockout, Duration::from_secs(3600));

    let dump = format!("{c:?}");
    assert!(!dump.contains(AD_SECRET), "{dump}");
}

#[test]
fn without_the_new_sections_the_defaults_apply() {
    let c = load(BASE).unwrap_or_else(|e| panic!("{e}")).config;
    assert!(c.directories.is_empty());
    let policy = &c.accounts.policy;
    assert_eq!((policy.min_length, policy.min_classes), (12, 3));
    assert!(policy.denied.is_empty());
    assert_eq!(c.accounts.verification, Default::default());
    // An LDAP directory with only the required keys gets the defaults.
    let scratch = Scratch::new("defaults");
    let text = full()
        .replace("timeout = \"5s\"\n", "")
        .replace("users_ou = \"OU=Staff,DC=corp,DC=example,DC=com\"\n", "");
    let c = scratch.load(&text).unwrap_or_else(|e| panic!("{e}")).config;
    let DirectoryBackend::Ldap(ldap) = &c.directories[0].backend else {
        panic!("ldap expected")
    };
    assert_eq!(ldap.operation_timeout, DEFAULT_DIRECTORY_TIMEOUT);
    assert_eq!(ldap.connect_timeout, Duration::from_secs(10));
    assert_eq!(ldap.default_ou(), "CN=Users,DC=corp,DC=example,DC=com");
}

#[test]
fn plain_ldap_is_refused_unless_starttls_is_on() {
    let scratch = Scratch::new("starttls");
    let text = full().replace(
        "ldaps://dc1.corp.example.com:636",
        "ldap://dc1.corp.example.com:389",
    );
    let shown = scratch.errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"ldap://"),
        "directories[0].url",
        "refusing a simple bind without TLS",
    );
    assert!(
        shown.contains("url = \"ldaps://dc1.corp.example.com:636\"")
            && shown.contains("starttls = true"),
        "says what to write: {shown}"
    );
    assert_eq!(shown.lines().count(), 1, "{shown}");

    let text = text.replace("kind = \"ldap\"\n", "kind = \"ldap\"\nstarttls = true\n");
    let c = scratch.load(&text).unwrap_or_else(|e| panic!("{e}")).config;
    assert!(matches!(&c.directories[0].backend, DirectoryBackend::Ldap(l) if l.starttls));

    let text = full().replace("kind = \"ldap\"\n", "kind = \"ldap\"\nstarttls = true\n");
    assert_error(
        &scratch.errors(&text),
        &at(&text, "true"),
        "directories[0].starttls",
        "already TLS (ldaps://)",
    );
}

#[test]
fn required_keys_and_keys_of_the_other_kind() {
    let scratch = Scratch::new("keys");
    let text = format!(
        "{BASE}\n[[directories]]\nkind = \"ldap\"\nsite = \"london\"\n\n\
         [[directories]]\ndomain = \"LAB\"\nkind = \"cvad-identity\"\n\
         url = \"ldaps://dc1:636\"\npassword = {{ env = \"AD_PW\" }}\n"
    );
    let shown = scratch.errors(&text);
    let first = at_nth(&text, "[[directories]]", 0);
    for key in ["domain", "url", "bind", "password", "base_dn"] {
        assert_error(
            &shown,
            &first,
            &format!("directories[0].{key}"),
            "this key is required",
        );
    }
    assert_error(
        &shown,
        &at(&text, "\"london\"\n\n"),
        "directories[0].site",
        "an ldap directory does not use `site`",
    );
    assert_error(
        &shown,
        &at_nth(&text, "[[directories]]", 1),
        "directories[1].site",
        "this key is required",
    );
    assert_error(
        &shown,
        &at(&text, "\"ldaps://dc1:636\""),
        "directories[1].url",
        "a cvad-identity directory does not use `url`",
    );
    assert_error(
        &shown,
        &at_nth(&text, "{ env = \"AD_PW\" }", 0),
        "directories[1].password",
        "does not use `password`",
    );
    assert_eq!(shown.lines().count(), 9, "{shown}");

    let text = full().replace("kind = \"ldap\"", "kind = \"ad\"");
    assert_error(
        &scratch.errors(&text),
        &at(&text, "\"ad\""),
        "directories[0].kind",
        "unknown variant `ad`, expected `ldap` or `cvad-identity`",
    );
}

#[test]
fn an_unknown_site_is_named_with_the_configured_ones() {
    let scratch = Scratch::new("site");
    let text = full().replace("site = \"london\"", "site = \"paris\"");
    let shown = scratch.errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"paris\""),
        "directories[1].site",
        "no site named \"paris\"; the configured sites are london",
    );
    assert_eq!(shown.lines().count(), 1, "{shown}");

    // A disabled site works once enabled again: a warning, not an error.
    let text = full().replace(
        "site_id = \"site-1\"",
        "site_id = \"site-1\"\nenabled = false",
    );
    let warnings = scratch
        .load(&text)
        .unwrap_or_else(|e| panic!("{e}"))
        .warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].to_string().starts_with(&format!(
            "{}: key directories[1].site: site \"london\" is disabled",
            at_nth(&text, "\"london\"\n", 1)
        )),
        "{warnings:?}"
    );
}

#[test]
fn domains_are_netbios_names_and_unique_ignoring_case() {
    let scratch = Scratch::new("domains");
    let text = full().replace("domain = \"LAB\"", "domain = \"Corp\"");
    let shown = scratch.errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"Corp\""),
        "directories[1].domain",
        "domain CORP already has a directory (directories[0])",
    );
    assert_eq!(shown.lines().count(), 1, "{shown}");

    let text = full().replace("domain = \"corp\"", "domain = \"corp.example.com\"");
    assert_error(
        &scratch.errors(&text),
        &at(&text, "\"corp.example.com\""),
        "directories[0].domain",
        "looks like a DNS name; give the domain's NetBIOS name",
    );
    let text = full().replace("domain = \"corp\"", "domain = \"CORP\\\\ops\"");
    assert_error(
        &scratch.errors(&text),
        &at(&text, "\"CORP"),
        "directories[0].domain",
        "is not a NetBIOS domain name",
    );
}

#[test]
fn the_service_password_is_a_reference() {
    let scratch = Scratch::new("password");
    let text = full().replace("{ env = \"AD_PW\" }", "\"ad-hunter2-inline\"");
    let shown = scratch.errors(&text);
    assert!(!shown.contains("ad-hunter2-inline"), "{shown}");
    assert_error(
        &shown,
        &at(&text, "\"ad-hunter2-inline\""),
        "directories[0].password",
        "a secret cannot be written in the config (a string given); write a reference instead",
    );
    let text = full().replace("AD_PW", "MISSING_AD_PW");
    assert_error(
        &scratch.errors(&text),
        &at(&text, "{ env = \"MISSING_AD_PW\" }"),
        "directories[0].password",
        "environment variable MISSING_AD_PW is not set",
    );
}

#[test]
fn bad_values_name_line_and_key() {
    let scratch = Scratch::new("values");
    let text = full()
        .replace(
            "bind = \"svc-deskbridge@corp.example.com\"",
            "bind = \"svc\"",
        )
        .replace(
            "base_dn = \"DC=corp,DC=example,DC=com\"",
            "base_dn = \"corp.example.com\"",
        )
        .replace("timeout = \"5s\"", "timeout = \"5\"")
        .replace(
            "users_ou = \"OU=Staff,DC=corp,DC=example,DC=com\"",
            "users_ou = \"Staff\"",
        )
        .replace("certs/corp-ca.pem", "certs/missing-ca.pem");
    let shown = scratch.errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"svc\"\n"),
        "directories[0].bind",
        "neither a DN nor a UPN",
    );
    assert_error(
        &shown,
        &at(&text, "\"corp.example.com\""),
        "directories[0].base_dn",
        "is not a distinguished name",
    );
    assert_error(
        &shown,
        &at(&text, "\"5\""),
        "directories[0].timeout",
        "has no unit",
    );
    assert_error(
        &shown,
        &at(&text, "\"Staff\""),
        "directories[0].users_ou",
        "is not a distinguished name",
    );
    assert_error(
        &shown,
        &at(&text, "\"certs/missing-ca.pem\""),
        "directories[0].ca_file",
        &format!(
            "cannot read the CA file {}",
            scratch.0.join("certs/missing-ca.pem").display()
        ),
    );
    assert_eq!(shown.lines().count(), 5, "{shown}");

    let text = full().replace(
        "ldaps://dc1.corp.example.com:636",
        "https://dc1.corp.example.com",
    );
    assert_error(
        &scratch.errors(&text),
        &at(&text, "\"https://dc1"),
        "directories[0].url",
        "has scheme https; a directory URL is ldaps://",
    );
}

#[test]
fn turning_certificate_verification_off_warns() {
    let scratch = Scratch::new("verify");
    let text = full().replace("ca_file = \"certs/corp-ca.pem\"\n", "tls_verify = false\n");
    let loaded = scratch.load(&text).unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!(
            "{}: key directories[0].tls_verify: certificate verification is off",
            at(&text, "false")
        )),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("ca_file"), "says what to do instead");
    assert!(
        matches!(&loaded.config.directories[0].backend, DirectoryBackend::Ldap(l) if !l.tls_verify)
    );

    // Both at once contradict each other.
    let text = full().replace("kind = \"ldap\"\n", "kind = \"ldap\"\ntls_verify = false\n");
    assert_error(
        &scratch.errors(&text),
        &at(&text, "\"certs/corp-ca.pem\""),
        "directories[0].ca_file",
        "tls_verify = false trusts any certificate",
    );
}
