//! Checks the desktops of a routing rule: `pooled_desktop` (a delivery group or an access
//! group, exactly one) and `persistent_desktop` (its delivery group, catalog and naming scheme).

use super::check::Ctx;
use super::raw::{RawPersistentDesktop, RawPooledDesktop};
use super::routing::{PersistentDesktop, PooledDesktop};
use super::routing_check::text;
use toml::Spanned;

/// Longest machine name Windows accepts (NetBIOS), hence longest naming scheme.
const MAX_MACHINE_NAME: usize = 15;

pub(super) fn pooled(
    raw: &Spanned<RawPooledDesktop>,
    key: &str,
    ctx: &mut Ctx<'_>,
) -> Option<PooledDesktop> {
    let p = raw.get_ref();
    match (&p.delivery_group, &p.access_group) {
        (Some(group), None) => {
            text(group, &format!("{key}.delivery_group"), ctx).map(PooledDesktop::DeliveryGroup)
        }
        (None, Some(group)) => {
            text(group, &format!("{key}.access_group"), ctx).map(PooledDesktop::AccessGroup)
        }
        (Some(_), Some(_)) => {
            ctx.c.error(
                raw.span(),
                key,
                "give either `delivery_group` (assign the user in the delivery group) or \
                 `access_group` (add the user to an AD group the delivery group admits), not both",
            );
            None
        }
        (None, None) => {
            ctx.c.error(
                raw.span(),
                key,
                "give `delivery_group = \"...\"` (assign the user in the delivery group) or \
                 `access_group = \"...\"` (add the user to an AD group the delivery group admits)",
            );
            None
        }
    }
}

pub(super) fn persistent(
    raw: &Spanned<RawPersistentDesktop>,
    key: &str,
    ctx: &mut Ctx<'_>,
) -> Option<PersistentDesktop> {
    let p = raw.get_ref();
    let span = raw.span();
    let group = ctx
        .required(
            &p.delivery_group,
            &span,
            &format!("{key}.delivery_group"),
            "add the delivery group the desktop is assigned in",
        )
        .and_then(|g| text(g, &format!("{key}.delivery_group"), ctx));
    let catalog = ctx
        .required(
            &p.catalog,
            &span,
            &format!("{key}.catalog"),
            "add the machine catalog that provisions the desktop",
        )
        .and_then(|c| text(c, &format!("{key}.catalog"), ctx));
    let naming = match &p.naming {
        None => Some(None),
        Some(n) => {
            let here = format!("{key}.naming");
            text(n, &here, ctx).and_then(|scheme| match naming_problem(&scheme) {
                Some(problem) => {
                    ctx.c.error(n.span(), &here, problem);
                    None
                }
                None => Some(Some(scheme)),
            })
        }
    };
    Some(PersistentDesktop {
        delivery_group: group?,
        catalog: catalog?,
        naming: naming?,
    })
}

/// What is wrong with a CVAD naming scheme, if anything.
fn naming_problem(scheme: &str) -> Option<String> {
    if !scheme.contains('#') {
        return Some(format!(
            "{scheme:?} has no `#`; a naming scheme numbers machines with # (\"VDI-####\")"
        ));
    }
    let length = scheme.chars().count();
    if length > MAX_MACHINE_NAME {
        return Some(format!(
            "{scheme:?} makes names of {length} characters; Windows machine names have at most \
             {MAX_MACHINE_NAME}"
        ));
    }
    if scheme
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '#'))
    {
        return Some(format!(
            "{scheme:?} has characters a machine name cannot have; use letters, digits, - and #"
        ));
    }
    None
}
