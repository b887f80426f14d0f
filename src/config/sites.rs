//! Checks one `[[sites]]` table: identity, connector endpoints, credentials by kind, limits.

use super::check::Ctx;
use super::raw::{RawSite, RawSiteCredentials};
use super::types::{DEFAULT_CONCURRENCY, DEFAULT_SITE_TIMEOUT, MAX_CONCURRENCY, SiteConfig};
use super::values::{is_plain_http_remote, parse_base_url};
use crate::cvad::{CvadAuth, ONPREM_CUSTOMER_ID};
use crate::model::SiteKind;
use std::ops::Range;
use toml::Spanned;

pub(super) fn check_site(
    site: &Spanned<RawSite>,
    prefix: &str,
    ctx: &mut Ctx<'_>,
) -> Option<SiteConfig> {
    let span = site.span();
    let raw = site.get_ref();
    let key = |k: &str| format!("{prefix}.{k}");

    let name = ctx.name(&raw.name, &span, &key("name"));
    let kind = ctx
        .required(
            &raw.kind,
            &span,
            &key("kind"),
            "add `kind = \"onprem\"` or `kind = \"cloud\"`",
        )
        .map(|k| *k.get_ref());
    let endpoints = endpoints(raw, &span, prefix, ctx);
    let site_id = ctx
        .required(
            &raw.site_id,
            &span,
            &key("site_id"),
            "add the site's id (`Citrix-InstanceId`; `GET /cvad/manage/me` lists it)",
        )
        .and_then(|id| non_empty(id, &key("site_id"), ctx));

    let customer_id = match (kind, &raw.customer_id) {
        (_, Some(id)) => non_empty(id, &key("customer_id"), ctx),
        (Some(SiteKind::Onprem), None) => Some(ONPREM_CUSTOMER_ID.to_string()),
        (Some(SiteKind::Cloud), None) => {
            ctx.c.error(
                span.clone(),
                &key("customer_id"),
                "a cloud site needs its Citrix Cloud customer id; add `customer_id = \"...\"`",
            );
            None
        }
        (None, None) => None,
    };

    let auth = match kind {
        Some(kind) => credentials(raw, kind, customer_id.as_deref(), &span, prefix, ctx),
        None => None,
    };

    let concurrency = match &raw.concurrency {
        None => Some(DEFAULT_CONCURRENCY),
        Some(n) => match u32::try_from(*n.get_ref()) {
            Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Some(n),
            _ => {
                ctx.c.error(
                    n.span(),
                    &key("concurrency"),
                    format!("must be between 1 and {MAX_CONCURRENCY} (calls in flight at once)"),
                );
                None
            }
        },
    };
    let rate_limit = match &raw.rate_limit {
        None => Some(None),
        Some(r) if r.get_ref().is_finite() && *r.get_ref() > 0.0 => Some(Some(*r.get_ref())),
        Some(r) => {
            ctx.c.error(
                r.span(),
                &key("rate_limit"),
                "must be a number of requests per second above zero; leave it out for no limit",
            );
            None
        }
    };
    let request_timeout = ctx.duration(
        &raw.request_timeout,
        &key("request_timeout"),
        DEFAULT_SITE_TIMEOUT,
    );

    let zones = super::zones::check_zones(raw.zones.as_ref(), endpoints.as_deref(), prefix, ctx);

    Some(SiteConfig {
        name: name?,
        kind: kind?,
        endpoints: endpoints?,
        customer_id: customer_id?,
        site_id: site_id?,
        auth: auth?,
        enabled: raw.enabled.unwrap_or(true),
        concurrency: concurrency?,
        rate_limit: rate_limit?,
        request_timeout,
        zones: zones?,
    })
}

fn non_empty(value: &Spanned<String>, key: &str, ctx: &mut Ctx<'_>) -> Option<String> {
    if value.get_ref().trim().is_empty() {
        ctx.c.error(value.span(), key, "is empty");
        return None;
    }
    Some(value.get_ref().trim().to_string())
}

fn endpoints(
    raw: &RawSite,
    span: &Range<usize>,
    prefix: &str,
    ctx: &mut Ctx<'_>,
) -> Option<Vec<String>> {
    let key = format!("{prefix}.endpoints");
    let how = "list each connector's base URL, e.g. `endpoints = [\"https://ddc1.corp.example.com\", \
               \"https://ddc2.corp.example.com\"]` (cloud: [\"https://api.cloud.com\"])";
    let Some(list) = &raw.endpoints else {
        ctx.c
            .error(span.clone(), &key, format!("this key is required; {how}"));
        return None;
    };
    if list.get_ref().is_empty() {
        ctx.c
            .error(list.span(), &key, format!("no endpoints; {how}"));
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, endpoint) in list.get_ref().iter().enumerate() {
        let key = format!("{key}[{i}]");
        match parse_base_url(endpoint.get_ref()) {
            Ok((base, url)) => {
                if is_plain_http_remote(&url) {
                    ctx.c.warn(
                        endpoint.span(),
                        &key,
                        "plain http to a remote connector sends credentials unencrypted; use https",
                    );
                }
                if out.contains(&base) {
                    ctx.c
                        .error(endpoint.span(), &key, format!("{base} is listed twice"));
                    ok = false;
                }
                out.push(base);
            }
            Err(e) => {
                ctx.c.error(endpoint.span(), &key, e);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn credentials(
    raw: &RawSite,
    kind: SiteKind,
    customer_id: Option<&str>,
    span: &Range<usize>,
    prefix: &str,
    ctx: &mut Ctx<'_>,
) -> Option<CvadAuth> {
    let key = format!("{prefix}.credentials");
    let Some(creds) = &raw.credentials else {
        let how = match kind {
            SiteKind::Onprem => {
                "add `[sites.credentials]` with `username` and `password = { env = \"VAR\" }`"
            }
            SiteKind::Cloud => {
                "add `[sites.credentials]` with `client_id` and `client_secret = { env = \"VAR\" }`"
            }
        };
        ctx.c
            .error(span.clone(), &key, format!("this key is required; {how}"));
        return None;
    };
    let cspan = creds.span();
    let c: &RawSiteCredentials = creds.get_ref();
    // Keys of the other kind are errors rather than ignored: they show a misunderstanding.
    let (wrong, right) = match kind {
        SiteKind::Onprem => (
            [
                ("client_id", c.client_id.as_ref().map(|v| v.span())),
                ("client_secret", c.client_secret.as_ref().map(|v| v.span())),
            ],
            "username and password",
        ),
        SiteKind::Cloud => (
            [
                ("username", c.username.as_ref().map(|v| v.span())),
                ("password", c.password.as_ref().map(|v| v.span())),
            ],
            "client_id and client_secret",
        ),
    };
    for (name, at) in wrong {
        if let Some(at) = at {
            ctx.c.error(
                at,
                &format!("{key}.{name}"),
                format!("a {kind} site does not use `{name}`; it takes {right}"),
            );
        }
    }
    if let (SiteKind::Onprem, Some(url)) = (kind, &raw.token_url) {
        ctx.c.error(
            url.span(),
            &format!("{prefix}.token_url"),
            "on-prem sites get tokens from their Delivery Controllers; remove `token_url` \
             (it is for cloud sites)",
        );
    }
    match kind {
        SiteKind::Onprem => {
            let username = ctx.required(
                &c.username,
                &cspan,
                &format!("{key}.username"),
                "add `username = \"DOMAIN\\\\account\"`",
            );
            let username = username.and_then(|u| non_empty(u, &format!("{key}.username"), ctx));
            let password = ctx.required(
                &c.password,
                &cspan,
                &format!("{key}.password"),
                "add `password = { env = \"VAR\" }` or `{ file = \"/path\" }`",
            );
            let password = password.and_then(|p| ctx.secret(p, &format!("{key}.password")));
            Some(CvadAuth::OnPrem {
                username: username?,
                password: password?,
            })
        }
        SiteKind::Cloud => {
            let token_url = match &raw.token_url {
                Some(url) => parse_base_url(url.get_ref())
                    .map(|(u, _)| u)
                    .map_err(|e| ctx.c.error(url.span(), &format!("{prefix}.token_url"), e))
                    .ok(),
                None => {
                    let example = format!(
                        "https://api.cloud.com/cctrustoauth2/{}/tokens/clients",
                        customer_id.unwrap_or("CUSTOMER_ID")
                    );
                    ctx.c.error(span.clone(), &format!("{prefix}.token_url"), format!("a cloud site needs the token URL of its region; add `token_url = \"{example}\"` (api-eu.cloud.com, api-ap-s.cloud.com or api.citrixcloud.jp elsewhere)"));
                    None
                }
            };
            let client_id = ctx.required(
                &c.client_id,
                &cspan,
                &format!("{key}.client_id"),
                "add the API client's `client_id = \"...\"`",
            );
            let client_id = client_id.and_then(|u| non_empty(u, &format!("{key}.client_id"), ctx));
            let secret = ctx.required(
                &c.client_secret,
                &cspan,
                &format!("{key}.client_secret"),
                "add `client_secret = { env = \"VAR\" }` or `{ file = \"/path\" }`",
            );
            let client_secret = secret.and_then(|s| ctx.secret(s, &format!("{key}.client_secret")));
            Some(CvadAuth::Cloud {
                token_url: token_url?,
                client_id: client_id?,
                client_secret: client_secret?,
            })
        }
    }
}
