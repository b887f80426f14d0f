//! What AD's LDAP answers mean: result codes to [`DirectoryError`], and the sub-codes of a
//! failed bind (`data 773`, `data 775`, …) to a typed [`BindRefusal`].

use ldap3::{LdapError, LdapResult};
use thiserror::Error;

use crate::directory::DirectoryError;

// RFC 4511 result codes that AD uses and we act on.
pub const RC_SIZE_LIMIT_EXCEEDED: u32 = 4;
pub const RC_STRONGER_AUTH_REQUIRED: u32 = 8;
pub const RC_NO_SUCH_ATTRIBUTE: u32 = 16;
pub const RC_CONSTRAINT_VIOLATION: u32 = 19;
pub const RC_ATTRIBUTE_OR_VALUE_EXISTS: u32 = 20;
pub const RC_NO_SUCH_OBJECT: u32 = 32;
pub const RC_INVALID_CREDENTIALS: u32 = 49;
pub const RC_INSUFFICIENT_ACCESS: u32 = 50;
pub const RC_BUSY: u32 = 51;
pub const RC_UNAVAILABLE: u32 = 52;
pub const RC_UNWILLING_TO_PERFORM: u32 = 53;
pub const RC_ENTRY_ALREADY_EXISTS: u32 = 68;
pub const RC_SERVER_DOWN: u32 = 81;

/// AD's extended error for a refused password (complexity, length, history, minimum age).
const PASSWORD_CONSTRAINT: &str = "0000052D";

/// Why AD refused a user's bind, from the `data NNN` sub-code of an invalidCredentials (49).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BindRefusal {
    /// 52e: the password is wrong (or the user does not exist, on some DCs).
    #[error("the password is wrong")]
    BadPassword,
    /// 525: no such user.
    #[error("no such user")]
    NoSuchUser,
    /// 530: not permitted to log on at this time.
    #[error("logon is not permitted at this time of day")]
    LogonHoursRestricted,
    /// 531: not permitted to log on from this workstation.
    #[error("logon is not permitted from this workstation")]
    WorkstationRestricted,
    /// 532: the password has expired.
    #[error("the password has expired")]
    PasswordExpired,
    /// 533: the account is disabled.
    #[error("the account is disabled")]
    AccountDisabled,
    /// 701: the account has expired.
    #[error("the account has expired")]
    AccountExpired,
    /// 773: the user must change the password before logging on.
    #[error("the user must change the password at the next logon")]
    MustChangePassword,
    /// 775: the account is locked out.
    #[error("the account is locked out")]
    AccountLocked,
    /// An empty password: a simple bind without one is anonymous, so it proves nothing.
    #[error("no password given")]
    EmptyPassword,
    /// A sub-code we do not know, or none (non-AD servers), as the server's text.
    #[error("the directory refused the logon ({0})")]
    Other(String),
}

impl BindRefusal {
    /// The refusal a bind's diagnostic text describes, e.g.
    /// `80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 775, v4563`.
    pub fn from_diagnostic(text: &str) -> BindRefusal {
        match sub_code(text).as_deref() {
            Some("52e") => BindRefusal::BadPassword,
            Some("525") => BindRefusal::NoSuchUser,
            Some("530") => BindRefusal::LogonHoursRestricted,
            Some("531") => BindRefusal::WorkstationRestricted,
            Some("532") => BindRefusal::PasswordExpired,
            Some("533") => BindRefusal::AccountDisabled,
            Some("701") => BindRefusal::AccountExpired,
            Some("773") => BindRefusal::MustChangePassword,
            Some("775") => BindRefusal::AccountLocked,
            Some(other) => BindRefusal::Other(format!("data {other}")),
            None if text.trim().is_empty() => BindRefusal::Other("invalid credentials".into()),
            None => BindRefusal::Other(text.trim().to_string()),
        }
    }
}

/// The lower-case hex sub-code after `data ` in AD's diagnostic text.
fn sub_code(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("data ")? + "data ".len();
    let code: String = lower[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (!code.is_empty()).then_some(code)
}

/// The outcome of [`super::LdapDirectory::check_password`] when the bind did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckPasswordError {
    /// The directory refused the user's bind, and why.
    #[error("the directory refused the logon: {0}")]
    Refused(BindRefusal),
    /// The check itself could not be made (unreachable, TLS, unknown user…).
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// An LDAP result code other than success, in the terms of [`DirectoryError`].
pub fn result_error(result: &LdapResult, doing: &str) -> DirectoryError {
    let text = result.text.trim();
    let detail = if text.is_empty() {
        format!("{doing}: result code {}", result.rc)
    } else {
        format!("{doing}: {text} (result code {})", result.rc)
    };
    match result.rc {
        RC_CONSTRAINT_VIOLATION if text.to_ascii_uppercase().contains(PASSWORD_CONSTRAINT) => {
            DirectoryError::PasswordRefused(password_reason(text))
        }
        RC_INSUFFICIENT_ACCESS => DirectoryError::Denied(detail),
        RC_NO_SUCH_OBJECT => DirectoryError::NotFound(detail),
        RC_BUSY | RC_UNAVAILABLE | RC_SERVER_DOWN => DirectoryError::Unreachable(detail),
        RC_STRONGER_AUTH_REQUIRED => DirectoryError::Config(format!(
            "the directory requires a stronger authentication (TLS or signing) than this \
             connection offers: {detail}"
        )),
        RC_INVALID_CREDENTIALS => DirectoryError::Config(format!(
            "the directory refused the service account's credentials ({}): {detail}",
            BindRefusal::from_diagnostic(text)
        )),
        _ => DirectoryError::Other(detail),
    }
}

/// A refused password in words, with the server's reason when it gives one (Samba names the
/// rule; AD only gives the code). Directories do not echo the password, and callers scrub
/// the text again with [`scrub`] anyway.
fn password_reason(text: &str) -> String {
    const GENERIC: &str =
        "the password does not meet the domain's complexity, length or history rules";
    let reason = text
        .split_once("check_password_restrictions:")
        .map(|(_, reason)| reason.trim().trim_end_matches('!').trim())
        .filter(|reason| !reason.is_empty());
    match reason {
        Some(reason) => format!("{GENERIC} ({reason})"),
        None => GENERIC.to_string(),
    }
}

/// The error with any occurrence of `secret` removed from its text: belt and braces for
/// errors raised while a password was on the wire.
pub fn scrub(error: DirectoryError, secret: &str) -> DirectoryError {
    if secret.is_empty() || !error.to_string().contains(secret) {
        return error;
    }
    let clean = |text: String| text.replace(secret, "***");
    match error {
        DirectoryError::NotFound(t) => DirectoryError::NotFound(clean(t)),
        DirectoryError::Ambiguous(t) => DirectoryError::Ambiguous(clean(t)),
        DirectoryError::PasswordRefused(t) => DirectoryError::PasswordRefused(clean(t)),
        DirectoryError::Denied(t) => DirectoryError::Denied(clean(t)),
        DirectoryError::Unreachable(t) => DirectoryError::Unreachable(clean(t)),
        DirectoryError::Tls(t) => DirectoryError::Tls(clean(t)),
        DirectoryError::Config(t) => DirectoryError::Config(clean(t)),
        DirectoryError::Other(t) => DirectoryError::Other(clean(t)),
        // Variants this backend does not raise; keep the words, lose the secret.
        other => DirectoryError::Other(clean(other.to_string())),
    }
}

/// Any ldap3 failure (transport, TLS, timeout, or an LDAP result) as a [`DirectoryError`].
pub fn ldap_error(error: LdapError, doing: &str) -> DirectoryError {
    match error {
        LdapError::LdapResult { result } => result_error(&result, doing),
        LdapError::Io { source } => io_error(&source, doing),
        LdapError::Timeout { .. } => {
            DirectoryError::Unreachable(format!("{doing}: the directory did not answer in time"))
        }
        LdapError::Rustls { source } => DirectoryError::Tls(format!("{doing}: {source}")),
        LdapError::DNSName { source } => DirectoryError::Tls(format!(
            "{doing}: the server name cannot be checked against a certificate ({source})"
        )),
        LdapError::UrlParsing { .. } | LdapError::UnknownScheme(_) => {
            DirectoryError::Config(format!("{doing}: {error}"))
        }
        LdapError::OpSend { .. }
        | LdapError::ResultRecv { .. }
        | LdapError::IdScrubSend { .. }
        | LdapError::MiscSend { .. }
        | LdapError::EndOfStream => DirectoryError::Unreachable(format!(
            "{doing}: the connection to the directory closed ({error})"
        )),
        other => DirectoryError::Other(format!("{doing}: {other}")),
    }
}

fn io_error(source: &std::io::Error, doing: &str) -> DirectoryError {
    // tokio-rustls reports handshake failures (untrusted certificate, wrong name, alerts) as
    // io::Errors that wrap the rustls::Error.
    if let Some(tls) = source
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return DirectoryError::Tls(format!("{doing}: {}", tls_words(tls)));
    }
    DirectoryError::Unreachable(format!("{doing}: {source}"))
}

fn tls_words(error: &rustls::Error) -> String {
    use rustls::CertificateError;
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "the server's certificate is not signed by a trusted CA ({error}); pin the domain's CA \
             with the ca_file setting"
        ),
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName)
        | rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => {
            format!(
                "the server's certificate does not name the host in the URL ({error}); use the \
                 name the certificate was issued for"
            )
        }
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(rc: u32, text: &str) -> LdapResult {
        LdapResult {
            rc,
            matched: String::new(),
            text: text.into(),
            refs: vec![],
            ctrls: vec![],
        }
    }

    #[test]
    fn bind_sub_codes_are_typed() {
        let ad = |code: &str| {
            format!(
                "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data {code}, v4563"
            )
        };
        for (code, want) in [
            ("52e", BindRefusal::BadPassword),
            ("525", BindRefusal::NoSuchUser),
            ("530", BindRefusal::LogonHoursRestricted),
            ("531", BindRefusal::WorkstationRestricted),
            ("532", BindRefusal::PasswordExpired),
            ("533", BindRefusal::AccountDisabled),
            ("701", BindRefusal::AccountExpired),
            ("773", BindRefusal::MustChangePassword),
            ("775", BindRefusal::AccountLocked),
        ] {
            assert_eq!(BindRefusal::from_diagnostic(&ad(code)), want, "{code}");
        }
        assert_eq!(
            BindRefusal::from_diagnostic(&ad("52E")),
            BindRefusal::BadPassword
        );
        assert_eq!(
            BindRefusal::from_diagnostic(&ad("569")),
            BindRefusal::Other("data 569".into())
        );
        assert_eq!(
            BindRefusal::from_diagnostic("invalid credentials"),
            BindRefusal::Other("invalid credentials".into())
        );
    }

    #[test]
    fn a_refused_password_says_why_in_words() {
        let samba = "0000052D: Constraint violation - check_password_restrictions: the password is \
                     too short. It should be equal or longer than 7 characters!";
        let err = result_error(&result(19, samba), "resetting");
        let DirectoryError::PasswordRefused(text) = err else {
            panic!("expected PasswordRefused, got {err:?}");
        };
        assert!(text.contains("complexity, length or history"), "{text}");
        assert!(text.contains("too short"), "{text}");

        let ad = "0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0";
        assert_eq!(
            result_error(&result(19, ad), "resetting"),
            DirectoryError::PasswordRefused(
                "the password does not meet the domain's complexity, length or history rules"
                    .into()
            )
        );
        // Another constraint is not a password problem.
        assert!(matches!(
            result_error(&result(19, "00002082: AtrErr"), "x"),
            DirectoryError::Other(_)
        ));
    }

    #[test]
    fn result_codes_map_to_what_an_operator_can_do() {
        let d = "x";
        assert!(matches!(
            result_error(&result(50, ""), d),
            DirectoryError::Denied(_)
        ));
        assert!(matches!(
            result_error(&result(32, ""), d),
            DirectoryError::NotFound(_)
        ));
        for rc in [51, 52, 81] {
            let err = result_error(&result(rc, ""), d);
            assert!(err.is_retryable(), "{rc}: {err:?}");
        }
        assert!(matches!(
            result_error(&result(8, "BindSimple: Transport encryption required."), d),
            DirectoryError::Config(_)
        ));
        assert!(matches!(
            result_error(&result(1, ""), d),
            DirectoryError::Other(_)
        ));
    }

    #[test]
    fn transport_failures_are_retryable_and_tls_failures_are_not() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = ldap_error(LdapError::Io { source: refused }, "connecting");
        assert!(err.is_retryable(), "{err:?}");

        let tls = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let err = ldap_error(LdapError::Io { source: tls }, "connecting");
        let DirectoryError::Tls(text) = &err else {
            panic!("expected Tls, got {err:?}");
        };
        assert!(text.contains("not signed by a trusted CA"), "{text}");
        assert!(!err.is_retryable());
    }

    #[test]
    fn scrub_removes_a_secret_from_any_variant() {
        let err = DirectoryError::Other("server said Tr0ub4dor&3 is bad".into());
        let clean = scrub(err, "Tr0ub4dor&3");
        assert_eq!(
            clean,
            DirectoryError::Other("server said *** is bad".into())
        );
    }
}
