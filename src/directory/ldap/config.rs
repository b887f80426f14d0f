//! How to reach one Active Directory domain: URL, TLS, service account, search base, timeouts.
//!
//! A plain struct: adapter.toml parsing builds it. [`LdapConfig::check`] holds the rules our
//! side enforces before any network traffic (for example, no simple bind without TLS).

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::directory::DirectoryError;
use crate::secret::Secret;

/// The connection and account settings of one LDAP directory (an AD domain).
#[derive(Debug, Clone)]
pub struct LdapConfig {
    /// `ldaps://dc.example.com:636`, or `ldap://dc.example.com:389` with [`Self::starttls`].
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding. Required for `ldap://`.
    pub starttls: bool,
    /// The service account: a DN or a UPN (`svc-deskbridge@example.com`).
    pub bind_user: String,
    pub bind_password: Secret,
    /// Where user and group searches start (`DC=example,DC=com`).
    pub base_dn: String,
    /// NetBIOS domain name (`EXAMPLE`), used for `DOMAIN\sam` names.
    pub domain: String,
    /// A PEM file with the CA certificate(s) to trust instead of the platform's roots.
    pub ca_file: Option<PathBuf>,
    /// Verify the server's certificate. Turning this off is for labs only and is logged.
    pub tls_verify: bool,
    /// TCP connect plus TLS handshake (and StartTLS).
    pub connect_timeout: Duration,
    /// Each LDAP operation (bind, search, modify, add).
    pub operation_timeout: Duration,
    /// DN of the OU new accounts go to when the request names none; `CN=Users,<base>` if unset.
    pub default_ou: Option<String>,
}

impl LdapConfig {
    /// A configuration with the defaults: certificate verification on, platform roots,
    /// 10 s to connect, 30 s per operation.
    pub fn new(
        url: impl Into<String>,
        bind_user: impl Into<String>,
        bind_password: Secret,
        base_dn: impl Into<String>,
        domain: impl Into<String>,
    ) -> Self {
        LdapConfig {
            url: url.into(),
            starttls: false,
            bind_user: bind_user.into(),
            bind_password,
            base_dn: base_dn.into(),
            domain: domain.into(),
            ca_file: None,
            tls_verify: true,
            connect_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(30),
            default_ou: None,
        }
    }

    /// The OU new accounts go to when the request names none.
    pub fn default_ou(&self) -> String {
        match &self.default_ou {
            Some(ou) if !ou.trim().is_empty() => ou.trim().to_string(),
            _ => format!("CN=Users,{}", self.base_dn),
        }
    }

    /// The rules our side enforces before connecting; returns the parsed URL.
    pub fn check(&self) -> Result<Url, DirectoryError> {
        let url = Url::parse(self.url.trim()).map_err(|e| {
            DirectoryError::Config(format!(
                "the LDAP URL {:?} is not a URL ({e}); use ldaps://host:636 or ldap://host:389 with starttls",
                self.url
            ))
        })?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(DirectoryError::Config(format!(
                "the LDAP URL {:?} names no host; use ldaps://host:636",
                self.url
            )));
        }
        match url.scheme() {
            "ldaps" => {
                if self.starttls {
                    return Err(DirectoryError::Config(format!(
                        "the LDAP URL {:?} is already TLS (ldaps://); StartTLS applies to ldap:// only, turn starttls off",
                        self.url
                    )));
                }
            }
            "ldap" => {
                if !self.starttls {
                    return Err(DirectoryError::Config(format!(
                        "refusing a simple bind without TLS: {:?} is plain ldap:// and starttls is off, so the \
                         service account's password would cross the network in clear text; use ldaps://host:636 \
                         or set starttls = true",
                        self.url
                    )));
                }
            }
            other => {
                return Err(DirectoryError::Config(format!(
                    "the LDAP URL {:?} has scheme {other:?}; use ldaps://host:636 or ldap://host:389 with starttls",
                    self.url
                )));
            }
        }
        if self.bind_user.trim().is_empty() {
            return Err(DirectoryError::Config(
                "the LDAP service account (bind user) is empty; give a DN or a UPN".into(),
            ));
        }
        if self.bind_password.is_empty() {
            // An empty password turns a simple bind into an anonymous one, which AD accepts and
            // which would then fail later in confusing ways.
            return Err(DirectoryError::Config(format!(
                "the LDAP service account {:?} has an empty password",
                self.bind_user
            )));
        }
        if self.base_dn.trim().is_empty() {
            return Err(DirectoryError::Config(
                "the LDAP base DN is empty; give the domain's DN (DC=example,DC=com)".into(),
            ));
        }
        if self.domain.trim().is_empty() {
            return Err(DirectoryError::Config(
                "the directory's NetBIOS domain name is empty".into(),
            ));
        }
        if self.connect_timeout.is_zero() || self.operation_timeout.is_zero() {
            return Err(DirectoryError::Config(
                "the LDAP timeouts must be longer than zero".into(),
            ));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, starttls: bool) -> LdapConfig {
        let mut c = LdapConfig::new(
            url,
            "svc@lab.example",
            Secret::new("pw"),
            "DC=lab,DC=example",
            "LAB",
        );
        c.starttls = starttls;
        c
    }

    #[test]
    fn plain_ldap_needs_starttls() {
        let err = config("ldap://dc:389", false).check().unwrap_err();
        let DirectoryError::Config(text) = err else {
            panic!("expected a Config error, got {err:?}");
        };
        assert!(text.contains("without TLS"), "{text}");
        assert!(text.contains("ldaps://"), "{text}");
        assert!(config("ldap://dc:389", true).check().is_ok());
        assert!(config("ldaps://dc:636", false).check().is_ok());
    }

    #[test]
    fn bad_urls_and_empty_settings_are_refused() {
        assert!(matches!(
            config("https://dc", false).check(),
            Err(DirectoryError::Config(_))
        ));
        assert!(matches!(
            config("dc.lab.example", false).check(),
            Err(DirectoryError::Config(_))
        ));
        assert!(matches!(
            config("ldaps://dc", true).check(),
            Err(DirectoryError::Config(_))
        ));
        let mut c = config("ldaps://dc", false);
        c.bind_password = Secret::new("");
        assert!(matches!(c.check(), Err(DirectoryError::Config(_))));
    }

    #[test]
    fn default_ou_falls_back_to_the_users_container() {
        let mut c = config("ldaps://dc", false);
        assert_eq!(c.default_ou(), "CN=Users,DC=lab,DC=example");
        c.default_ou = Some("OU=Staff,DC=lab,DC=example".into());
        assert_eq!(c.default_ou(), "OU=Staff,DC=lab,DC=example");
    }
}
