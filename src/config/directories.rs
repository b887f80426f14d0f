//! Checks `[[directories]]`: which backend reaches each domain's accounts (LDAP with its TLS
//! and service account, or a configured CVAD site's Identity API).

use super::check::Ctx;
use super::paths::expand_path;
use super::raw::{DirectoryKind, RawConfig, RawDirectory};
use super::types::{DEFAULT_DIRECTORY_TIMEOUT, DirectoryBackend, DirectoryConfig};
use crate::directory::ldap::LdapConfig;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// Longest NetBIOS domain name Windows accepts.
const MAX_NETBIOS: usize = 15;
/// Longest TCP connect plus TLS handshake; a shorter `timeout` caps it.
const LDAP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Keys only an `ldap` directory takes.
const LDAP_KEYS: &str = "url, starttls, bind, password, base_dn, ca_file, tls_verify, timeout \
     and users_ou";

/// Every `[[directories]]` table; a `cvad-identity` one must name one of the `[[sites]]`.
pub(super) fn check_directories(
    raw: &RawConfig,
    ctx: &mut Ctx<'_>,
) -> Option<Vec<DirectoryConfig>> {
    let sites: Vec<(&str, bool)> = raw
        .sites
        .iter()
        .filter_map(|s| {
            let s = s.get_ref();
            Some((
                s.name.as_ref()?.get_ref().as_str(),
                s.enabled.unwrap_or(true),
            ))
        })
        .collect();
    let checked: Vec<_> = raw
        .directories
        .iter()
        .enumerate()
        .map(|(i, d)| check_directory(d, &format!("directories[{i}]"), &sites, ctx))
        .collect();

    // NetBIOS names are case-insensitive: `corp` and `CORP` are one domain.
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (i, d) in raw.directories.iter().enumerate() {
        let Some(domain) = &d.get_ref().domain else {
            continue;
        };
        let upper = domain.get_ref().trim().to_uppercase();
        match seen.iter().find(|(u, _)| *u == upper) {
            Some((_, first)) => ctx.c.error(
                domain.span(),
                &format!("directories[{i}].domain"),
                format!(
                    "domain {upper} already has a directory (directories[{first}]); each \
                     domain has one, and names are compared ignoring case"
                ),
            ),
            None => seen.push((upper, i)),
        }
    }
    checked.into_iter().collect()
}

fn check_directory(
    directory: &Spanned<RawDirectory>,
    prefix: &str,
    sites: &[(&str, bool)],
    ctx: &mut Ctx<'_>,
) -> Option<DirectoryConfig> {
    let span = directory.span();
    let raw = directory.get_ref();
    let key = |k: &str| format!("{prefix}.{k}");

    let domain = ctx
        .required(
            &raw.domain,
            &span,
            &key("domain"),
            "add the NetBIOS name of the domain, e.g. `domain = \"CORP\"` (as in CORP\\alice)",
        )
        .and_then(|d| match check_domain(d.get_ref()) {
            Ok(domain) => Some(domain),
            Err(e) => {
                ctx.c.error(d.span(), &key("domain"), e);
                None
            }
        });
    let kind = ctx
        .required(
            &raw.kind,
            &span,
            &key("kind"),
            "add `kind = \"ldap\"` (Active Directory over LDAPS) or `kind = \"cvad-identity\"` \
             (accounts through a CVAD site's Identity API)",
        )
        .map(|k| *k.get_ref());
    let backend = match kind? {
        DirectoryKind::Ldap => {
            wrong_keys(
                &[("site", span_of(&raw.site))],
                "an ldap",
                LDAP_KEYS,
                prefix,
                ctx,
            );
            ldap(raw, &span, domain.as_deref(), prefix, ctx).map(DirectoryBackend::Ldap)
        }
        DirectoryKind::CvadIdentity => {
            let wrong = [
                ("url", span_of(&raw.url)),
                ("starttls", span_of(&raw.starttls)),
                ("bind", span_of(&raw.bind)),
                ("password", span_of(&raw.password)),
                ("base_dn", span_of(&raw.base_dn)),
                ("ca_file", span_of(&raw.ca_file)),
                ("tls_verify", span_of(&raw.tls_verify)),
                ("timeout", span_of(&raw.timeout)),
                ("users_ou", span_of(&raw.users_ou)),
            ];
            wrong_keys(
                &wrong,
                "a cvad-identity",
                "`site` only (the site's connectors, credentials and timeouts are used)",
                prefix,
                ctx,
            );
            cvad_identity(raw, &span, sites, prefix, ctx)
        }
    };
    Some(DirectoryConfig {
        domain: domain?,
        backend: backend?,
    })
}

fn span_of<T>(value: &Option<Spanned<T>>) -> Option<Range<usize>> {
    value.as_ref().map(Spanned::span)
}

/// Keys of the other kind are errors rather than ignored: they show a misunderstanding.
fn wrong_keys(
    keys: &[(&str, Option<Range<usize>>)],
    kind: &str,
    takes: &str,
    prefix: &str,
    ctx: &mut Ctx<'_>,
) {
    for (name, at) in keys {
        if let Some(at) = at {
            ctx.c.error(
                at.clone(),
                &format!("{prefix}.{name}"),
                format!("{kind} directory does not use `{name}`; it takes {takes}"),
            );
        }
    }
}

/// A NetBIOS domain name, upper-cased.
fn check_domain(text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() {
        return Err("is empty; give the NetBIOS name of the domain, e.g. \"CORP\"".into());
    }
    if name.contains('.') {
        return Err(format!(
            "{name:?} looks like a DNS name; give the domain's NetBIOS name (the CORP of \
             CORP\\alice), which `(Get-ADDomain).NetBIOSName` shows"
        ));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\\/:*?\"<>|".contains(c))
    {
        return Err(format!(
            "{name:?} is not a NetBIOS domain name (no spaces or \\ / : * ? \" < > |)"
        ));
    }
    if name.chars().count() > MAX_NETBIOS {
        return Err(format!(
            "{name:?} is longer than {MAX_NETBIOS} characters, so it is not a NetBIOS name"
        ));
    }
    Ok(name.to_uppercase())
}

fn ldap(
    raw: &RawDirectory,
    span: &Range<usize>,
    domain: Option<&str>,
    prefix: &str,
    ctx: &mut Ctx<'_>,
) -> Option<LdapConfig> {
    let key = |k: &str| format!("{prefix}.{k}");
    let starttls = raw.starttls.as_ref().is_some_and(|s| *s.get_ref());
    let url = ctx
        .required(
            &raw.url,
            span,
            &key("url"),
            "add `url = \"ldaps://dc1.corp.example.com:636\"`",
        )
        .and_then(|url| {
            let checked = ldap_url(url.get_ref(), starttls);
            if let Err((on_starttls, e)) = &checked {
                let (at, k) = match (&raw.starttls, on_starttls) {
                    (Some(s), true) => (s.span(), key("starttls")),
                    _ => (url.span(), key("url")),
                };
                ctx.c.error(at, &k, e.clone());
            }
            checked.ok()
        });
    let bind = ctx
        .required(
            &raw.bind,
            span,
            &key("bind"),
            "add the service account, as a UPN (`bind = \"svc-deskbridge@corp.example.com\"`) \
             or a DN",
        )
        .and_then(|b| {
            let text = b.get_ref().trim();
            if text.contains('=') || text.contains('@') || text.contains('\\') {
                return Some(text.to_string());
            }
            ctx.c.error(
                b.span(),
                &key("bind"),
                format!(
                    "{text:?} is neither a DN nor a UPN; write the service account as \
                     \"svc-deskbridge@corp.example.com\" or \
                     \"CN=svc-deskbridge,OU=Service Accounts,DC=corp,DC=example,DC=com\""
                ),
            );
            None
        });
    let password = ctx
        .required(
            &raw.password,
            span,
            &key("password"),
            "add the service account's `password = { env = \"VAR\" }` or `{ file = \"/path\" }`",
        )
        .and_then(|p| ctx.secret(p, &key("password")));
    let base_dn = ctx
        .required(
            &raw.base_dn,
            span,
            &key("base_dn"),
            "add where searches start, e.g. `base_dn = \"DC=corp,DC=example,DC=com\"`",
        )
        .and_then(|b| dn(b, &key("base_dn"), "DC=corp,DC=example,DC=com", ctx));
    // `Some(None)`: not set; `None`: set but wrong (already reported).
    let users_ou = match &raw.users_ou {
        Some(ou) => dn(
            ou,
            &key("users_ou"),
            "OU=Staff,DC=corp,DC=example,DC=com",
            ctx,
        )
        .map(Some),
        None => Some(None),
    };
    let tls_verify = raw.tls_verify.as_ref().is_none_or(|v| *v.get_ref());
    if let Some(off) = raw.tls_verify.as_ref().filter(|v| !*v.get_ref()) {
        if let Some(ca) = &raw.ca_file {
            ctx.c.error(
                ca.span(),
                &key("ca_file"),
                "tls_verify = false trusts any certificate, so the CA file would be ignored; \
                 remove `tls_verify = false` (recommended) or `ca_file`",
            );
        } else {
            ctx.c.warn(
                off.span(),
                &key("tls_verify"),
                "certificate verification is off: the connection is encrypted, but anyone on \
                 the path can pose as the domain controller and collect the service account's \
                 password; set `ca_file` to the domain's CA certificate instead (labs only)",
            );
        }
    }
    let ca_file = match &raw.ca_file {
        Some(path) => ca_file(path, &key("ca_file"), ctx).map(Some),
        None => Some(None),
    };
    let timeout = ctx.duration(&raw.timeout, &key("timeout"), DEFAULT_DIRECTORY_TIMEOUT);

    let mut config = LdapConfig::new(url?, bind?, password?, base_dn?, domain?);
    config.starttls = starttls;
    config.ca_file = ca_file?;
    config.tls_verify = tls_verify;
    config.operation_timeout = timeout;
    // A connect that outlasts the whole operation could never succeed in time.
    config.connect_timeout = LDAP_CONNECT_TIMEOUT.min(timeout);
    config.default_ou = users_ou?;
    // The directory's own rules, so that a config that loads also opens.
    if let Err(e) = config.check() {
        ctx.c.error(span.clone(), prefix, e.to_string());
        return None;
    }
    Some(config)
}

/// Checks an LDAP URL against `starttls`; an error says whether `starttls` is to blame.
fn ldap_url(text: &str, starttls: bool) -> Result<String, (bool, String)> {
    let how = "write `url = \"ldaps://dc1.corp.example.com:636\"`";
    let url = url::Url::parse(text.trim())
        .map_err(|e| (false, format!("{text:?} is not a URL ({e}); {how}")))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err((false, format!("{text:?} names no host; {how}")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: the text holds a password.
        return Err((
            false,
            "the URL holds credentials; give the service account as `bind` and its password \
             as a reference"
                .into(),
        ));
    }
    match (url.scheme(), starttls) {
        ("ldaps", false) | ("ldap", true) => Ok(text.trim().to_string()),
        ("ldaps", true) => Err((
            true,
            "the URL is already TLS (ldaps://); StartTLS is for ldap:// only, so remove \
             `starttls = true`"
                .into(),
        )),
        ("ldap", false) => Err((
            false,
            format!(
                "refusing a simple bind without TLS: {text:?} is plain ldap:// and starttls is \
                 off, so the service account's password would cross the network in clear \
                 text; write `url = \"ldaps://{}:636\"`, or keep ldap:// and add \
                 `starttls = true`",
                url.host_str().unwrap_or("HOST")
            ),
        )),
        (other, _) => Err((
            false,
            format!(
                "{text:?} has scheme {other}; a directory URL is ldaps:// (or ldap:// with starttls = true)"
            ),
        )),
    }
}

/// A distinguished name: non-empty, with at least one `attr=value`.
fn dn(value: &Spanned<String>, key: &str, example: &str, ctx: &mut Ctx<'_>) -> Option<String> {
    let text = value.get_ref().trim();
    if text.contains('=') {
        return Some(text.to_string());
    }
    ctx.c.error(
        value.span(),
        key,
        format!("{text:?} is not a distinguished name; write e.g. \"{example}\""),
    );
    None
}

/// A CA file that exists; its certificates are read when the directory is opened.
fn ca_file(value: &Spanned<String>, key: &str, ctx: &mut Ctx<'_>) -> Option<PathBuf> {
    let path = expand_path(value.get_ref(), ctx.base_dir, ctx.env)
        .map_err(|e| ctx.c.error(value.span(), key, e))
        .ok()?;
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Some(path),
        Ok(_) => {
            let message = format!(
                "{} is not a file; give the CA certificate (PEM)",
                path.display()
            );
            ctx.c.error(value.span(), key, message);
            None
        }
        Err(e) => {
            let message = format!(
                "cannot read the CA file {}: {e}; give the domain's CA certificate (PEM), \
                 relative to this file's folder or absolute",
                path.display()
            );
            ctx.c.error(value.span(), key, message);
            None
        }
    }
}

fn cvad_identity(
    raw: &RawDirectory,
    span: &Range<usize>,
    sites: &[(&str, bool)],
    prefix: &str,
    ctx: &mut Ctx<'_>,
) -> Option<DirectoryBackend> {
    let key = format!("{prefix}.site");
    let site = ctx.required(
        &raw.site,
        span,
        &key,
        "add the name of the CVAD site whose Identity API reaches the domain, e.g. \
         `site = \"london\"`",
    )?;
    let name = site.get_ref().trim();
    match sites.iter().find(|(s, _)| *s == name) {
        Some((_, true)) => {}
        Some((_, false)) => ctx.c.warn(
            site.span(),
            &key,
            format!(
                "site {name:?} is disabled (enabled = false), so this domain's accounts cannot \
                 be reached until it is enabled"
            ),
        ),
        None => {
            let known: Vec<&str> = sites.iter().map(|(s, _)| *s).collect();
            let known = if known.is_empty() {
                "none is configured".to_string()
            } else {
                format!("the configured sites are {}", known.join(", "))
            };
            ctx.c.error(
                site.span(),
                &key,
                format!("no site named {name:?}; {known} (see [[sites]] name)"),
            );
            return None;
        }
    }
    Some(DirectoryBackend::CvadIdentity {
        site: name.to_string(),
    })
}
