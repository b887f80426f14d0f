//! The Samba AD DC that `scripts/test` starts (scripts/lib/servers.sh): its settings from the
//! environment, an [`LdapConfig`] for it, and uniquely named accounts, so tests that share
//! the one DC (its ports are fixed) never touch each other's users; plus the small helpers
//! its tests need (a group made over raw LDAP, a foreign CA, log capture, scratch dirs).
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use deskbridge::directory::NewAccount;
use deskbridge::directory::ldap::LdapConfig;
use deskbridge::secret::Secret;
use ldap3::{LdapConnAsync, LdapConnSettings};

/// Where the DC is and how to bind to it as Administrator.
#[derive(Debug, Clone)]
pub struct SambaDc {
    /// `ldaps://127.0.0.1:636`
    pub url: String,
    /// `ldap://127.0.0.1:389` (StartTLS)
    pub starttls_url: String,
    pub bind: String,
    pub password: String,
    pub base_dn: String,
    /// The test CA that signed the DC's certificate.
    pub ca: PathBuf,
}

/// The DC from `DESKBRIDGE_TEST_LDAP_*`. Without them the test is skipped (returns `None`)
/// on a developer machine, and fails under CI, where a skipped directory test would hide a
/// broken setup.
pub fn dc() -> Option<SambaDc> {
    let Ok(url) = std::env::var("DESKBRIDGE_TEST_LDAP_URL") else {
        if std::env::var_os("CI").is_some() {
            panic!("DESKBRIDGE_TEST_LDAP_URL is not set under CI: run the tests with scripts/test");
        }
        eprintln!("skipped: no Samba AD DC (DESKBRIDGE_TEST_LDAP_URL unset); run scripts/test");
        return None;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    Some(SambaDc {
        url,
        starttls_url: var("DESKBRIDGE_TEST_LDAP_STARTTLS_URL"),
        bind: var("DESKBRIDGE_TEST_LDAP_BIND"),
        password: var("DESKBRIDGE_TEST_LDAP_PASSWORD"),
        base_dn: var("DESKBRIDGE_TEST_LDAP_BASE_DN"),
        ca: PathBuf::from(var("DESKBRIDGE_TEST_LDAP_CA")),
    })
}

impl SambaDc {
    /// LDAPS to the DC with the test CA pinned, bound as Administrator.
    pub fn config(&self) -> LdapConfig {
        let mut config = LdapConfig::new(
            &self.url,
            &self.bind,
            Secret::new(&self.password),
            &self.base_dn,
            "LAB",
        );
        config.ca_file = Some(self.ca.clone());
        config
    }

    /// The DNS domain of UPNs (`lab.example` from `DC=lab,DC=example`).
    pub fn dns_domain(&self) -> String {
        self.base_dn
            .split(',')
            .filter_map(|rdn| rdn.trim().split_once('='))
            .map(|(_, v)| v.to_string())
            .collect::<Vec<_>>()
            .join(".")
    }

    /// A new enabled account named `<tag><unique>`, with a password that meets the default
    /// complexity rules.
    pub fn new_account(&self, tag: &str) -> NewAccount {
        let sam = unique_name(tag);
        let dns = self.dns_domain();
        NewAccount {
            given_name: "Test".into(),
            surname: sam.clone(),
            display_name: format!("Test {sam}"),
            upn: format!("{sam}@{dns}"),
            mail: format!("{sam}.mail@{dns}"),
            ou: String::new(),
            password: Secret::new(format!("First#{}", &sam[sam.len() - 6..])),
            must_change: false,
            sam_name: sam,
        }
    }
}

/// A name no other test (or earlier run against the same DC) uses: tag + pid + counter +
/// random, at most 20 characters (AD's sAMAccountName limit).
pub fn unique_name(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let random = uuid::Uuid::new_v4().simple().to_string();
    let mut name = format!("{tag}{:x}{n}{}", std::process::id() % 0xfff, &random[..6]);
    name.truncate(20);
    name
}

/// A security group made directly over LDAP as Administrator; returns its DN.
pub async fn create_group(dc: &SambaDc, cn: &str) -> String {
    let config = dc.config();
    let tls = deskbridge::directory::ldap::connect::tls_config(&config).expect("tls");
    let (conn, mut ldap) =
        LdapConnAsync::with_settings(LdapConnSettings::new().set_config(tls), &dc.url)
            .await
            .expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(&dc.bind, &dc.password)
        .await
        .expect("bind")
        .success()
        .expect("bind ok");
    let dn = format!("CN={cn},CN=Users,{}", dc.base_dn);
    let attrs: Vec<(&str, HashSet<&str>)> = vec![
        ("objectClass", HashSet::from(["top", "group"])),
        ("sAMAccountName", HashSet::from([cn])),
    ];
    ldap.add(&dn, attrs)
        .await
        .expect("add group")
        .success()
        .expect("group created");
    let _ = ldap.unbind().await;
    dn
}

/// A CA that signed nothing the DC has.
pub fn other_ca(scratch: &Scratch) -> std::path::PathBuf {
    let pem = scratch.0.join("other-ca.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=some other CA"])
        .arg("-keyout")
        .arg(scratch.0.join("other-ca.key"))
        .arg("-out")
        .arg(&pem)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl failed");
    pem
}

/// Log lines written by a test's own tracing subscriber.
#[derive(Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// A scratch directory removed when the test ends.
pub struct Scratch(pub std::path::PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(unique_name(tag));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
