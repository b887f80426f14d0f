//! Active Directory over LDAP: the [`Directory`](crate::directory::Directory) backend that
//! talks to a domain controller over LDAPS or StartTLS, bound as a service account.
//!
//! Simple binds only ever travel inside TLS: a plain `ldap://` URL without StartTLS is refused
//! before any connection is made. Each operation opens its own connection and binds; AD
//! answers a bind in tens of milliseconds and nothing has to be kept alive between jobs.

pub mod attrs;
pub mod codes;
pub mod config;
pub mod connect;
mod ops;
pub mod search;

pub use codes::{BindRefusal, CheckPasswordError};
pub use config::LdapConfig;

use connect::{Connector, Session};

use crate::directory::DirectoryError;
use crate::secret::Secret;

/// A directory backed by one AD domain.
pub struct LdapDirectory {
    connector: Connector,
    bind_user: String,
    bind_password: Secret,
    base_dn: String,
    domain: String,
    default_ou: String,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("url", &self.connector.url)
            .field("starttls", &self.connector.starttls)
            .field("bind_user", &self.bind_user)
            .field("base_dn", &self.base_dn)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl LdapDirectory {
    /// Checks the configuration and sets up TLS; no connection is made yet.
    pub fn new(config: LdapConfig) -> Result<Self, DirectoryError> {
        let url = config.check()?;
        if !config.tls_verify {
            tracing::warn!(
                url = %config.url,
                "LDAP certificate verification is OFF (tls_verify = false): the connection is \
                 encrypted but anyone on the path can pose as the domain controller"
            );
        }
        let tls = connect::tls_config(&config)?;
        Ok(LdapDirectory {
            connector: Connector {
                url: url.to_string(),
                starttls: config.starttls,
                tls,
                connect_timeout: config.connect_timeout,
                operation_timeout: config.operation_timeout,
            },
            default_ou: config.default_ou(),
            bind_user: config.bind_user.trim().to_string(),
            bind_password: config.bind_password,
            base_dn: config.base_dn.trim().to_string(),
            domain: config.domain.trim().to_string(),
        })
    }

    /// Binds as `user` with `password` on a connection of its own: `Ok` when the directory
    /// accepts the logon, otherwise why not ([`BindRefusal`]: wrong password, locked,
    /// disabled, must change…). Each wrong password counts towards the lockout threshold.
    pub async fn check_password(
        &self,
        user: &str,
        password: &Secret,
    ) -> Result<(), CheckPasswordError> {
        let dn = self.user_dn(user).await?;
        self.connector
            .check_bind(&dn, password.expose())
            .await
            .map_err(|e| match e {
                CheckPasswordError::Directory(d) => {
                    CheckPasswordError::Directory(codes::scrub(d, password.expose()))
                }
                refused => refused,
            })
    }

    /// A connection bound as the service account.
    async fn session(&self) -> Result<Session, DirectoryError> {
        self.connector
            .bind(&self.bind_user, self.bind_password.expose())
            .await
            .map_err(|e| codes::scrub(e, self.bind_password.expose()))
    }
}
