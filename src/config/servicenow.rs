//! Checks one `[[servicenow]]` table: URL, auth by method, queues and auto-fulfilled items.

use super::check::Ctx;
use super::raw::{AuthMethod, RawInstance, RawQueue, RawServiceNowAuth};
use super::types::{
    DEFAULT_CLOSE_CODE, DEFAULT_POLL_INTERVAL, DEFAULT_SERVICENOW_TIMEOUT, QueueConfig,
    ServiceNowInstanceConfig,
};
use super::values::{is_plain_http_remote, parse_base_url};
use crate::model::TicketKind;
use crate::servicenow::{Auth, OAuthGrant};
use toml::Spanned;

/// The tables a queue may hold.
const QUEUE_TABLES: [TicketKind; 3] = [
    TicketKind::Incident,
    TicketKind::RequestedItem,
    TicketKind::CatalogTask,
];

pub(super) fn check_instance(
    instance: &Spanned<RawInstance>,
    prefix: &str,
    ctx: &mut Ctx<'_>,
) -> Option<ServiceNowInstanceConfig> {
    let span = instance.span();
    let raw = instance.get_ref();
    let key = |k: &str| format!("{prefix}.{k}");

    let name = ctx.name(&raw.name, &span, &key("name"));
    let url = ctx
        .required(
            &raw.url,
            &span,
            &key("url"),
            "add `url = \"https://INSTANCE.service-now.com\"`",
        )
        .and_then(|u| match parse_base_url(u.get_ref()) {
            Ok((base, parsed)) => {
                if is_plain_http_remote(&parsed) {
                    ctx.c.warn(
                        u.span(),
                        &key("url"),
                        "plain http sends ServiceNow credentials unencrypted; use https",
                    );
                }
                Some(base)
            }
            Err(e) => {
                ctx.c.error(u.span(), &key("url"), e);
                None
            }
        });
    let auth = match &raw.auth {
        Some(auth) => check_auth(auth, &key("auth"), ctx),
        None => {
            ctx.c.error(
                span.clone(),
                &key("auth"),
                "this key is required; add `[servicenow.auth]` with `method = \"basic\"`, \
                 \"oauth_password\" or \"oauth_client_credentials\" and its credentials",
            );
            None
        }
    };
    let poll_interval = ctx.duration(
        &raw.poll_interval,
        &key("poll_interval"),
        DEFAULT_POLL_INTERVAL,
    );
    let request_timeout = ctx.duration(
        &raw.request_timeout,
        &key("request_timeout"),
        DEFAULT_SERVICENOW_TIMEOUT,
    );
    let resolve_close_code = match &raw.resolve_close_code {
        None => Some(DEFAULT_CLOSE_CODE.to_string()),
        Some(code) if code.get_ref().trim().is_empty() => {
            ctx.c.error(
                code.span(),
                &key("resolve_close_code"),
                "is empty; give a close_code value of the instance (its sys_choice list), or \
                 leave it out for \"Solution provided\"",
            );
            None
        }
        Some(code) => Some(code.get_ref().clone()),
    };
    let failure_assignment_group = match &raw.failure_assignment_group {
        Some(g) if g.get_ref().trim().is_empty() => {
            ctx.c.error(
                g.span(),
                &key("failure_assignment_group"),
                "is empty; name a group, or leave the key out to keep failed tickets in their group",
            );
            None
        }
        other => other.as_ref().map(|g| g.get_ref().clone()),
    };

    if raw.queues.is_empty() {
        ctx.c.error(
            span.clone(),
            &key("queues"),
            "no queue is defined, so no ticket would be picked up; add a \
             `[[servicenow.queues]]` table",
        );
    }
    let queues: Vec<_> = raw
        .queues
        .iter()
        .enumerate()
        .map(|(i, q)| check_queue(q, &format!("{prefix}.queues[{i}]"), ctx))
        .collect();
    ctx.unique(
        raw.queues.iter().enumerate().filter_map(|(i, q)| {
            Some((
                q.get_ref().name.as_ref()?,
                format!("{prefix}.queues[{i}].name"),
            ))
        }),
        "queue",
    );
    let auto_fulfil = check_auto_fulfil(raw, prefix, ctx);
    let runbooks = super::runbook_items::check_items(raw, prefix, ctx);

    Some(ServiceNowInstanceConfig {
        name: name?,
        url: url?,
        auth: auth?,
        poll_interval,
        request_timeout,
        queues: queues.into_iter().collect::<Option<_>>()?,
        auto_fulfil: auto_fulfil?,
        resolve_close_code: resolve_close_code?,
        failure_assignment_group,
        runbooks: runbooks?,
    })
}

fn check_auth(auth: &Spanned<RawServiceNowAuth>, key: &str, ctx: &mut Ctx<'_>) -> Option<Auth> {
    let span = auth.span();
    let a = auth.get_ref();
    let method = *ctx
        .required(
            &a.method,
            &span,
            &format!("{key}.method"),
            "add `method = \"basic\"`, \"oauth_password\" or \"oauth_client_credentials\"",
        )?
        .get_ref();
    let (needs_user, needs_client) = match method {
        AuthMethod::Basic => (true, false),
        AuthMethod::OauthPassword => (true, true),
        AuthMethod::OauthClientCredentials => (false, true),
    };
    let method_name = match method {
        AuthMethod::Basic => "basic",
        AuthMethod::OauthPassword => "oauth_password",
        AuthMethod::OauthClientCredentials => "oauth_client_credentials",
    };
    let unused = [
        (
            "username",
            !needs_user,
            a.username.as_ref().map(|v| v.span()),
        ),
        (
            "password",
            !needs_user,
            a.password.as_ref().map(|v| v.span()),
        ),
        (
            "client_id",
            !needs_client,
            a.client_id.as_ref().map(|v| v.span()),
        ),
        (
            "client_secret",
            !needs_client,
            a.client_secret.as_ref().map(|v| v.span()),
        ),
    ];
    for (name, not_used, at) in unused {
        if let (true, Some(at)) = (not_used, at) {
            ctx.c.error(
                at,
                &format!("{key}.{name}"),
                format!("method {method_name} does not use `{name}`; remove it"),
            );
        }
    }
    let secret_hint = "add it as `{ env = \"VAR\" }` or `{ file = \"/path\" }`";
    let user = if needs_user {
        let u = ctx.required(
            &a.username,
            &span,
            &format!("{key}.username"),
            "add `username = \"...\"`",
        );
        let p = ctx.required(&a.password, &span, &format!("{key}.password"), secret_hint);
        let p = p.and_then(|p| ctx.secret(p, &format!("{key}.password")));
        Some((u.map(|u| u.get_ref().clone()), p))
    } else {
        None
    };
    let client = if needs_client {
        let id = ctx.required(
            &a.client_id,
            &span,
            &format!("{key}.client_id"),
            "add `client_id = \"...\"` (System OAuth > Application Registry)",
        );
        let s = ctx.required(
            &a.client_secret,
            &span,
            &format!("{key}.client_secret"),
            secret_hint,
        );
        let s = s.and_then(|s| ctx.secret(s, &format!("{key}.client_secret")));
        Some((id.map(|i| i.get_ref().clone()), s))
    } else {
        None
    };
    Some(match (user, client) {
        (Some((username, password)), None) => Auth::Basic {
            username: username?,
            password: password?,
        },
        (Some((username, password)), Some((client_id, client_secret))) => Auth::OAuth {
            client_id: client_id?,
            client_secret: client_secret?,
            grant: OAuthGrant::Password {
                username: username?,
                password: password?,
            },
        },
        (None, Some((client_id, client_secret))) => Auth::OAuth {
            client_id: client_id?,
            client_secret: client_secret?,
            grant: OAuthGrant::ClientCredentials,
        },
        (None, None) => return None,
    })
}

fn check_queue(queue: &Spanned<RawQueue>, prefix: &str, ctx: &mut Ctx<'_>) -> Option<QueueConfig> {
    let span = queue.span();
    let q = queue.get_ref();
    let name = ctx.name(&q.name, &span, &format!("{prefix}.name"));
    let mut tables = Vec::new();
    let mut ok = true;
    if q.tables.is_empty() {
        ctx.c.error(
            span.clone(),
            &format!("{prefix}.tables"),
            "list the tables of this queue, e.g. `tables = [\"incident\"]` or \
             [\"sc_req_item\", \"sc_task\"]",
        );
        ok = false;
    }
    for (i, table) in q.tables.iter().enumerate() {
        match TicketKind::from_table(table.get_ref()).filter(|k| QUEUE_TABLES.contains(k)) {
            Some(kind) if !tables.contains(&kind) => tables.push(kind),
            Some(_) => {
                ctx.c.error(
                    table.span(),
                    &format!("{prefix}.tables[{i}]"),
                    format!("{:?} is listed twice", table.get_ref()),
                );
                ok = false;
            }
            None => {
                ctx.c.error(
                    table.span(),
                    &format!("{prefix}.tables[{i}]"),
                    format!(
                        "{:?} is not a queue table; use \"incident\", \"sc_req_item\" or \"sc_task\"",
                        table.get_ref()
                    ),
                );
                ok = false;
            }
        }
    }
    if q.assignment_groups.is_empty() {
        // Without a group a queue would take every ticket of its tables, instance-wide.
        ctx.c.error(
            span.clone(),
            &format!("{prefix}.assignment_groups"),
            "list the assignment groups (names or sys_ids) whose tickets this queue takes, e.g. \
             `assignment_groups = [\"Citrix Operations\"]`",
        );
        ok = false;
    }
    ok &= non_empty_strings(
        &q.assignment_groups,
        &format!("{prefix}.assignment_groups"),
        ctx,
    );
    ok &= non_empty_strings(&q.catalog_items, &format!("{prefix}.catalog_items"), ctx);
    if !q.catalog_items.is_empty() && !tables.is_empty() && tables == [TicketKind::Incident] {
        ctx.c.error(
            q.catalog_items[0].span(),
            &format!("{prefix}.catalog_items"),
            "incidents have no catalog item; add \"sc_req_item\" or \"sc_task\" to `tables`, or \
             remove `catalog_items`",
        );
        ok = false;
    }
    let strings = |v: &[Spanned<String>]| v.iter().map(|s| s.get_ref().clone()).collect();
    Some(QueueConfig {
        name: name?,
        tables,
        assignment_groups: strings(&q.assignment_groups),
        catalog_items: strings(&q.catalog_items),
    })
    .filter(|_| ok)
}

fn non_empty_strings(values: &[Spanned<String>], key: &str, ctx: &mut Ctx<'_>) -> bool {
    let mut ok = true;
    for (i, v) in values.iter().enumerate() {
        if v.get_ref().trim().is_empty() {
            ctx.c.error(v.span(), &format!("{key}[{i}]"), "is empty");
            ok = false;
        }
    }
    ok
}

/// Every auto-fulfilled item must be one a queue takes, or it would never be seen.
fn check_auto_fulfil(raw: &RawInstance, prefix: &str, ctx: &mut Ctx<'_>) -> Option<Vec<String>> {
    let known: Vec<&str> = raw
        .queues
        .iter()
        .flat_map(|q| {
            q.get_ref()
                .catalog_items
                .iter()
                .map(|i| i.get_ref().as_str())
        })
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut ok = true;
    for (i, item) in raw.auto_fulfil.iter().enumerate() {
        let key = format!("{prefix}.auto_fulfil[{i}]");
        let name = item.get_ref();
        if out.contains(name) {
            ctx.c
                .error(item.span(), &key, format!("{name:?} is listed twice"));
            ok = false;
        } else if !known.contains(&name.as_str()) {
            ctx.c.error(
                item.span(),
                &key,
                format!(
                    "catalog item {name:?} is in no queue of this instance, so its requests \
                     would never be picked up; add it to a queue's `catalog_items`"
                ),
            );
            ok = false;
        }
        out.push(name.clone());
    }
    ok.then_some(out)
}
