//! TLS settings and connections: a rustls client (aws-lc-rs) that trusts a pinned CA or the
//! platform's roots, and a bound LDAP session over LDAPS or StartTLS.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::codes::{self, BindRefusal, CheckPasswordError, RC_INVALID_CREDENTIALS};
use super::config::LdapConfig;
use crate::directory::DirectoryError;

/// The rustls client configuration for a directory.
pub fn tls_config(config: &LdapConfig) -> Result<Arc<ClientConfig>, DirectoryError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| DirectoryError::Tls(format!("cannot set up TLS: {e}")))?;
    if !config.tls_verify {
        return Ok(Arc::new(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
                .with_no_client_auth(),
        ));
    }
    let roots = match &config.ca_file {
        Some(path) => pinned_roots(path)?,
        None => platform_roots()?,
    };
    Ok(Arc::new(
        builder.with_root_certificates(roots).with_no_client_auth(),
    ))
}

/// The CA certificates of a PEM file, as the only roots to trust.
fn pinned_roots(path: &Path) -> Result<RootCertStore, DirectoryError> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| {
        DirectoryError::Config(format!("cannot read the LDAP CA file {shown}: {e}"))
    })?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| {
            DirectoryError::Config(format!("the LDAP CA file {shown} is not valid PEM: {e}"))
        })?;
        roots.add(cert).map_err(|e| {
            DirectoryError::Config(format!(
                "the LDAP CA file {shown} holds a certificate that cannot be used as a CA: {e}"
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(DirectoryError::Config(format!(
            "the LDAP CA file {shown} holds no certificate (expected PEM \"BEGIN CERTIFICATE\" blocks)"
        )));
    }
    Ok(roots)
}

/// The operating system's trusted roots (where an enterprise CA is usually installed).
fn platform_roots() -> Result<RootCertStore, DirectoryError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(DirectoryError::Config(format!(
            "no trusted CA certificates found on this system{why}; set the LDAP ca_file to the \
             domain's CA certificate (PEM)"
        )));
    }
    Ok(roots)
}

/// `tls_verify = false`: any certificate is accepted, signatures are still checked so the
/// handshake itself is sound.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Where and how to connect; cheap to clone, shared by all operations of a directory.
#[derive(Clone)]
pub struct Connector {
    pub url: String,
    pub starttls: bool,
    pub tls: Arc<ClientConfig>,
    pub connect_timeout: Duration,
    pub operation_timeout: Duration,
}

/// One connection, bound, with the per-operation timeout applied to every request.
pub struct Session {
    ldap: Ldap,
    timeout: Duration,
}

impl Connector {
    /// A TLS connection (LDAPS, or ldap:// upgraded by StartTLS), not yet bound.
    async fn open(&self) -> Result<Ldap, DirectoryError> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.connect_timeout)
            .set_starttls(self.starttls)
            .set_config(self.tls.clone());
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.url)
            .await
            .map_err(|e| codes::ldap_error(e, &format!("connecting to {}", self.url)))?;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    /// A connection bound as the service account (or anyone whose failure is a config error).
    pub async fn bind(&self, user: &str, password: &str) -> Result<Session, DirectoryError> {
        let mut ldap = self.open().await?;
        let result = ldap
            .with_timeout(self.operation_timeout)
            .simple_bind(user, password)
            .await
            .map_err(|e| codes::ldap_error(e, &format!("binding as {user}")))?;
        if result.rc != 0 {
            let _ = ldap.unbind().await;
            return Err(codes::result_error(&result, &format!("binding as {user}")));
        }
        Ok(Session {
            ldap,
            timeout: self.operation_timeout,
        })
    }

    /// Binds as a user to check their password; a refusal is typed by AD's sub-code.
    pub async fn check_bind(&self, user: &str, password: &str) -> Result<(), CheckPasswordError> {
        if password.is_empty() {
            return Err(CheckPasswordError::Refused(BindRefusal::EmptyPassword));
        }
        let mut ldap = self.open().await?;
        let result = ldap
            .with_timeout(self.operation_timeout)
            .simple_bind(user, password)
            .await
            .map_err(|e| codes::ldap_error(e, &format!("binding as {user}")));
        let _ = ldap.unbind().await;
        let result = result?;
        match result.rc {
            0 => Ok(()),
            RC_INVALID_CREDENTIALS => Err(CheckPasswordError::Refused(
                BindRefusal::from_diagnostic(&result.text),
            )),
            _ => Err(codes::result_error(&result, &format!("binding as {user}")).into()),
        }
    }
}

impl Session {
    /// The connection, with the operation timeout set for its next request.
    pub fn ldap(&mut self) -> &mut Ldap {
        self.ldap.with_timeout(self.timeout)
    }

    /// Ends the session politely; the connection closes either way.
    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}
