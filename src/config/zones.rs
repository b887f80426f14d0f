//! Checks a site's `[[sites.zones]]` tables: each names a zone and the site endpoints that
//! serve it, so the adapter can show connector health per zone.

use super::check::Ctx;
use super::raw::RawZone;
use super::types::SiteZone;
use super::values::parse_base_url;
use toml::Spanned;

/// The zones of a site whose (already checked) endpoints are `endpoints`; `None` after an
/// error, which is reported with its line.
pub(super) fn check_zones(
    raw: Option<&Vec<Spanned<RawZone>>>,
    endpoints: Option<&[String]>,
    prefix: &str,
    ctx: &mut Ctx<'_>,
) -> Option<Vec<SiteZone>> {
    let mut zones = Vec::new();
    let mut ok = true;
    for (i, zone) in raw.into_iter().flatten().enumerate() {
        let key = format!("{prefix}.zones[{i}]");
        let Some(name) = zone.get_ref().name.as_ref() else {
            ctx.c.error(
                zone.span(),
                &format!("{key}.name"),
                "add the zone's name as CVAD shows it",
            );
            ok = false;
            continue;
        };
        let name_text = name.get_ref().trim().to_string();
        if name_text.is_empty()
            || zones
                .iter()
                .any(|z: &SiteZone| z.name.eq_ignore_ascii_case(&name_text))
        {
            let why = if name_text.is_empty() {
                "is empty".to_string()
            } else {
                format!("zone {name_text:?} is listed twice")
            };
            ctx.c.error(name.span(), &format!("{key}.name"), why);
            ok = false;
            continue;
        }
        let list_key = format!("{key}.endpoints");
        let Some(list) = zone.get_ref().endpoints.as_ref() else {
            ctx.c.error(
                zone.span(),
                &list_key,
                "list the site endpoints that serve this zone",
            );
            ok = false;
            continue;
        };
        let mut indices = Vec::new();
        for (j, url) in list.get_ref().iter().enumerate() {
            let found = parse_base_url(url.get_ref()).ok().and_then(|(base, _)| {
                endpoints.and_then(|all| all.iter().position(|e| *e == base))
            });
            match found {
                Some(index) => indices.push(index),
                // Without the site's endpoints (their own error is reported) nothing to match.
                None if endpoints.is_none() => ok = false,
                None => {
                    let message = format!(
                        "{:?} is not one of this site's endpoints; a zone lists some of them",
                        url.get_ref()
                    );
                    ctx.c
                        .error(url.span(), &format!("{list_key}[{j}]"), message);
                    ok = false;
                }
            }
        }
        zones.push(SiteZone {
            name: name_text,
            endpoints: indices,
        });
    }
    ok.then_some(zones)
}
