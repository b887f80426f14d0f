//! The directories the adapter knows, by NetBIOS domain: which [`Directory`] answers for
//! `LAB\alice.smith`. Built once at start-up from the `[[directories]]` of adapter.toml
//! ([`Directories::open`]), or from ready backends in tests and the lab
//! ([`Directories::from_directories`]).
//!
//! Domains are matched ignoring case, as Windows does (`lab`, `Lab` and `LAB` are one domain).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::cvad_identity::CvadIdentityDirectory;
use super::ldap::{LdapConfig, LdapDirectory};
use super::{Directory, DirectoryError};
use crate::cvad::CvadClient;

/// One configured directory: the domain it serves and the backend that reaches it.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// NetBIOS domain name (`LAB`), as written in the config.
    pub domain: String,
    pub backend: DirectoryBackend,
}

/// How a domain's accounts are reached.
#[derive(Debug, Clone)]
pub enum DirectoryBackend {
    /// Active Directory over LDAPS or StartTLS; the service account's password is resolved.
    Ldap(LdapConfig),
    /// The CVAD Identity API of the named site (`[[sites]] name`).
    CvadIdentity { site: String },
}

impl DirectoryBackend {
    /// The `kind` as written in adapter.toml.
    pub fn kind(&self) -> &'static str {
        match self {
            DirectoryBackend::Ldap(_) => "ldap",
            DirectoryBackend::CvadIdentity { .. } => "cvad-identity",
        }
    }
}

/// Directories by domain. Cheap to clone; every clone shares the same backends.
#[derive(Clone, Default)]
pub struct Directories {
    /// In configuration order, for listings.
    list: Vec<Arc<dyn Directory>>,
    /// Upper-cased domain → index into `list`.
    by_domain: HashMap<String, usize>,
}

impl fmt::Debug for Directories {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Directories")
            .field("domains", &self.domains())
            .finish()
    }
}

impl Directories {
    /// Builds a backend for every configured directory. `sites` gives the CVAD client of a
    /// site by name (the adapter passes the clients it already has, so a `cvad-identity`
    /// directory shares its site's connectors, failover and limits). Nothing is contacted
    /// here: LDAP connections are opened per operation.
    pub fn open(
        configs: &[DirectoryConfig],
        sites: &dyn Fn(&str) -> Option<CvadClient>,
    ) -> Result<Directories, DirectoryError> {
        let mut list: Vec<Arc<dyn Directory>> = Vec::with_capacity(configs.len());
        for config in configs {
            let directory: Arc<dyn Directory> = match &config.backend {
                DirectoryBackend::Ldap(ldap) => {
                    let mut ldap = ldap.clone();
                    // The config's domain is the one the registry files it under; keep the
                    // backend's answers (`Account::domain`) the same.
                    ldap.domain = config.domain.clone();
                    Arc::new(LdapDirectory::new(ldap).map_err(|e| in_domain(&config.domain, e))?)
                }
                DirectoryBackend::CvadIdentity { site } => {
                    let client = sites(site).ok_or_else(|| {
                        DirectoryError::Config(format!(
                            "directory {}: no CVAD site {site:?} to reach its Identity API \
                             through; name one of the [[sites]]",
                            config.domain
                        ))
                    })?;
                    Arc::new(CvadIdentityDirectory::new(client, config.domain.clone()))
                }
            };
            list.push(directory);
        }
        Directories::from_directories(list)
    }

    /// Directories from ready backends, each filed under its own [`Directory::domain`].
    /// Two backends for one domain are an error.
    pub fn from_directories(list: Vec<Arc<dyn Directory>>) -> Result<Directories, DirectoryError> {
        let mut by_domain = HashMap::with_capacity(list.len());
        for (index, directory) in list.iter().enumerate() {
            let domain = directory.domain().trim();
            if domain.is_empty() {
                return Err(DirectoryError::Config(
                    "a directory has an empty domain name; give its NetBIOS name (LAB)".into(),
                ));
            }
            if let Some(first) = by_domain.insert(key(domain), index) {
                return Err(DirectoryError::Config(format!(
                    "two directories serve domain {domain} (entries {first} and {index}); \
                     each domain has one"
                )));
            }
        }
        Ok(Directories { list, by_domain })
    }

    /// The directory of `domain` (any case), if one is configured.
    pub fn get(&self, domain: &str) -> Option<Arc<dyn Directory>> {
        self.by_domain
            .get(&key(domain))
            .map(|&i| Arc::clone(&self.list[i]))
    }

    /// The directory of a `DOMAIN\sam` name; a name without a domain has the only directory
    /// when exactly one is configured, none otherwise.
    pub fn for_user(&self, user: &str) -> Option<Arc<dyn Directory>> {
        match user.split_once('\\') {
            Some((domain, _)) => self.get(domain),
            None if self.list.len() == 1 => self.list.first().cloned(),
            None => None,
        }
    }

    /// The configured domains, in configuration order, as their backends name them.
    pub fn domains(&self) -> Vec<String> {
        self.list.iter().map(|d| d.domain().to_string()).collect()
    }

    /// Every directory, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Directory>> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

fn key(domain: &str) -> String {
    domain.trim().to_uppercase()
}

fn in_domain(domain: &str, error: DirectoryError) -> DirectoryError {
    match error {
        DirectoryError::Config(m) => DirectoryError::Config(format!("directory {domain}: {m}")),
        DirectoryError::Tls(m) => DirectoryError::Tls(format!("directory {domain}: {m}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cvad::CvadConfig;
    use crate::lab::{Lab, LabOptions};
    use crate::secret::Secret;

    /// A loopback port nothing listens on (bound, then released).
    fn unused_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port")
    }

    fn ldap(domain: &str, url: &str) -> DirectoryConfig {
        let mut config = LdapConfig::new(
            url,
            "svc-deskbridge@lab.example",
            Secret::new("hunter2-service"),
            "DC=lab,DC=example",
            domain,
        );
        // No CA file to hand here; verification is exercised in tests/directory_ldap.rs.
        config.tls_verify = false;
        DirectoryConfig {
            domain: domain.to_string(),
            backend: DirectoryBackend::Ldap(config),
        }
    }

    fn no_sites(_: &str) -> Option<CvadClient> {
        None
    }

    #[tokio::test]
    async fn an_ldap_directory_is_built_without_contacting_the_server() {
        let url = format!("ldaps://127.0.0.1:{}", unused_port());
        let dirs = Directories::open(&[ldap("LAB", &url)], &no_sites).expect("builds offline");
        assert_eq!(dirs.domains(), vec!["LAB".to_string()]);
        assert_eq!(dirs.len(), 1);
        assert!(!dirs.is_empty());
        for name in ["lab", "LAB", "Lab", " lab "] {
            let dir = dirs
                .get(name)
                .unwrap_or_else(|| panic!("{name:?} not found"));
            assert_eq!(dir.domain(), "LAB");
        }
        assert!(dirs.get("CORP").is_none());
        assert!(dirs.for_user("lab\\alice.smith").is_some());
        assert!(dirs.for_user("alice.smith").is_some(), "the only directory");
        assert!(dirs.for_user("CORP\\alice.smith").is_none());

        // The first use is where the network comes in: nothing listens, so it is retryable.
        let dir = dirs.get("lab").expect("LAB");
        let err = dir
            .find("alice", 5)
            .await
            .expect_err("nothing listens there");
        assert!(err.is_retryable(), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn a_cvad_identity_directory_answers_through_its_site() {
        let lab = Lab::start(LabOptions::default()).await.expect("lab starts");
        let site = lab.info().sites[0].clone();
        let sites = |name: &str| {
            (name == site.name)
                .then(|| CvadClient::new(CvadConfig::from_lab(&site)).expect("client"))
        };
        let configs = [DirectoryConfig {
            domain: crate::lab::people::DOMAIN.to_string(),
            backend: DirectoryBackend::CvadIdentity {
                site: site.name.clone(),
            },
        }];
        let dirs = Directories::open(&configs, &sites).expect("opens");
        let dir = dirs.get("lab").expect("LAB by any case");
        let found = dir.find("", 3).await.expect("find over HTTP");
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().all(|a| a.domain == "LAB"), "{found:?}");
        let one = dir.account(&found[0].sam_name).await.expect("account");
        assert_eq!(one.sam_name, found[0].sam_name);
    }

    #[test]
    fn an_unknown_site_or_a_bad_ldap_config_names_the_domain() {
        let configs = [DirectoryConfig {
            domain: "LAB".into(),
            backend: DirectoryBackend::CvadIdentity {
                site: "paris".into(),
            },
        }];
        let err = Directories::open(&configs, &no_sites).expect_err("no such site");
        assert!(err.to_string().contains("\"paris\""), "{err}");
        assert!(err.to_string().contains("directory LAB"), "{err}");

        let mut plain = ldap("CORP", "ldap://127.0.0.1:389");
        if let DirectoryBackend::Ldap(c) = &mut plain.backend {
            c.tls_verify = true;
        }
        let err = Directories::open(&[plain], &no_sites).expect_err("no simple bind in clear");
        let text = err.to_string();
        assert!(
            text.starts_with("directory CORP: refusing a simple bind"),
            "{text}"
        );
    }

    #[test]
    fn one_domain_has_one_directory_whatever_its_case() {
        let a = ldap("LAB", "ldaps://127.0.0.1:636");
        let b = ldap("lab", "ldaps://127.0.0.1:637");
        let err = Directories::open(&[a, b], &no_sites).expect_err("duplicate");
        assert!(
            err.to_string().contains("two directories serve domain lab"),
            "{err}"
        );
        let empty = Directories::from_directories(Vec::new()).expect("empty is fine");
        assert!(empty.is_empty());
        assert!(empty.get("LAB").is_none());
        assert!(empty.for_user("alice").is_none());
    }
}
