//! The table of every endpoint, and the router built from it. The OpenAPI document is built
//! from the same table, so what is documented is what is served.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::Method;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::routing::{MethodFilter, MethodRouter, on};

use super::{
    AppState, MAX_BODY_BYTES, audit_log, error, guard, health, inventory, oauth, openapi,
    request_id, sites, whoami,
};
use crate::adapter::store::Role;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token: the token endpoint itself and the probes of process managers.
    Public,
    /// A bearer token of a client with at least this role.
    Role(Role),
}

/// Which handler serves an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Token,
    Healthz,
    Readyz,
    /// Prometheus metrics (src/adapter/metrics).
    Metrics,
    OpenApi,
    Whoami,
    Audit,
    Sites,
    SiteEnable,
    SiteDisable,
    DeliveryGroups,
    Machines,
    Sessions,
    Users,
    SiteSessions,
    SiteMachines,
    // Jobs (src/adapter/api/jobs.rs).
    JobCreate,
    JobList,
    JobGet,
    JobCancel,
    JobRetry,
    /// A workflow job's routing and steps, creating nothing (src/adapter/api/jobs/workflow.rs).
    WorkflowPreview,
    /// Server-Sent Events (src/adapter/api/events.rs).
    Events,
    // Tickets (src/adapter/api/tickets.rs).
    Tickets,
    TicketGet,
    TicketTake,
    TicketNote,
    TicketResolve,
    /// Zero-touch catalog requests (src/adapter/api/requests.rs).
    ServiceNowRequest,
    // Directory accounts (src/adapter/api/accounts.rs).
    Accounts,
    AccountGet,
    PasswordPolicy,
    PasswordCheck,
    SecurityCodeEnroll,
    /// Power off idle machines of delivery groups (src/adapter/api/idle.rs).
    IdlePowerOff,
    // Reports (src/adapter/api/reports.rs).
    Reports,
    ReportGet,
    // Routing rules (src/adapter/api/routing.rs).
    RoutingExplain,
    RoutingRules,
    /// The loaded runbooks (src/adapter/api/runbooks.rs).
    Runbooks,
}

/// One endpoint.
#[derive(Debug)]
pub struct RouteSpec {
    pub method: Method,
    /// axum path syntax, which is also OpenAPI's: `/api/v1/sites/{name}/enable`.
    pub path: &'static str,
    pub operation: Operation,
    pub access: Access,
    /// Name of the action in the audit log.
    pub action: &'static str,
    /// Changes state: every call is audited, not only denied ones.
    pub mutating: bool,
    /// What the path's one parameter names, for the audit entry's targets (`site`).
    pub target: Option<&'static str>,
    pub summary: &'static str,
}

impl RouteSpec {
    /// `POST /api/v1/sites/{name}/disable`, as messages show it.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Every endpoint the adapter serves.
pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/token",
        operation: Operation::Token,
        access: Access::Public,
        action: "token.issue",
        mutating: true,
        target: None,
        summary: "Get an access token with the OAuth 2 client-credentials grant",
    },
    RouteSpec {
        method: Method::GET,
        path: "/healthz",
        operation: Operation::Healthz,
        access: Access::Public,
        action: "healthz",
        mutating: false,
        target: None,
        summary: "The process is up",
    },
    RouteSpec {
        method: Method::GET,
        path: "/readyz",
        operation: Operation::Readyz,
        access: Access::Public,
        action: "readyz",
        mutating: false,
        target: None,
        summary: "The adapter can serve: its store answers",
    },
    // Public like the probes: scrapers carry no token, the output holds no secrets, and the
    // adapter listens on loopback by default (see src/adapter/metrics/http.rs).
    RouteSpec {
        method: Method::GET,
        path: "/metrics",
        operation: Operation::Metrics,
        access: Access::Public,
        action: "metrics",
        mutating: false,
        target: None,
        summary: "Prometheus metrics (text format 0.0.4): jobs, task attempts, CVAD and ServiceNow calls, outbox, API requests",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/openapi.json",
        operation: Operation::OpenApi,
        access: Access::Role(Role::Viewer),
        action: "openapi.read",
        mutating: false,
        target: None,
        summary: "This document",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/whoami",
        operation: Operation::Whoami,
        access: Access::Role(Role::Viewer),
        action: "whoami",
        mutating: false,
        target: None,
        summary: "The calling client: id, name, role and token expiry",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/audit",
        operation: Operation::Audit,
        access: Access::Role(Role::Viewer),
        action: "audit.read",
        mutating: false,
        target: None,
        summary: "The audit log, newest first, filtered and cursor-paged",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/sites",
        operation: Operation::Sites,
        access: Access::Role(Role::Viewer),
        action: "sites.read",
        mutating: false,
        target: None,
        summary: "The configured CVAD sites and whether each is enabled",
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/sites/{name}/enable",
        operation: Operation::SiteEnable,
        access: Access::Role(Role::Admin),
        action: "site.enable",
        mutating: true,
        target: Some("site"),
        summary: "Enable a site: it takes actions again",
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/sites/{name}/disable",
        operation: Operation::SiteDisable,
        access: Access::Role(Role::Admin),
        action: "site.disable",
        mutating: true,
        target: Some("site"),
        summary: "Disable a site: it takes no actions until enabled",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/delivery-groups",
        operation: Operation::DeliveryGroups,
        access: Access::Role(Role::Viewer),
        action: "delivery_groups.read",
        mutating: false,
        target: None,
        summary: "Delivery groups with their counters, across sites; filtered, sorted, paged",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/machines",
        operation: Operation::Machines,
        access: Access::Role(Role::Viewer),
        action: "machines.read",
        mutating: false,
        target: None,
        summary: "Machines across sites; filtered, sorted, cursor-paged",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/sessions",
        operation: Operation::Sessions,
        access: Access::Role(Role::Viewer),
        action: "sessions.read",
        mutating: false,
        target: None,
        summary: "Sessions across sites; filtered, sorted, cursor-paged",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/users",
        operation: Operation::Users,
        access: Access::Role(Role::Viewer),
        action: "users.read",
        mutating: false,
        target: None,
        summary: "Users seen in sessions and machine assignments, with counts and sites",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/sites/{name}/sessions",
        operation: Operation::SiteSessions,
        access: Access::Role(Role::Viewer),
        action: "site.sessions.read",
        mutating: false,
        target: Some("site"),
        summary: "Every session of one site in one response",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/sites/{name}/machines",
        operation: Operation::SiteMachines,
        access: Access::Role(Role::Viewer),
        action: "site.machines.read",
        mutating: false,
        target: Some("site"),
        summary: "Every machine of one site in one response",
    },
    // Jobs (src/adapter/api/jobs.rs): the route needs helpdesk; each action's own role is
    // checked by the handler (machine.* needs admin).
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/jobs",
        operation: Operation::JobCreate,
        access: Access::Role(Role::Helpdesk),
        action: "job.create",
        mutating: true,
        target: None,
        summary: "Run an action over targets as a durable job; 202 with the job",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/jobs",
        operation: Operation::JobList,
        access: Access::Role(Role::Viewer),
        action: "jobs.read",
        mutating: false,
        target: None,
        summary: "Jobs, newest first, filtered by state and action, cursor-paged",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/jobs/{id}",
        operation: Operation::JobGet,
        access: Access::Role(Role::Viewer),
        action: "job.read",
        mutating: false,
        target: Some("job"),
        summary: "One job with its tasks, their attempts, and its result or error",
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/jobs/{id}/cancel",
        operation: Operation::JobCancel,
        access: Access::Role(Role::Helpdesk),
        action: "job.cancel",
        mutating: true,
        target: Some("job"),
        summary: "Cancel a job: queued tasks are dropped, running ones finish or are cancelled at the site",
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/jobs/{id}/retry",
        operation: Operation::JobRetry,
        access: Access::Role(Role::Helpdesk),
        action: "job.retry",
        mutating: true,
        target: Some("job"),
        summary: "Run a job's failed targets again",
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/workflows/preview",
        operation: Operation::WorkflowPreview,
        access: Access::Role(Role::Helpdesk),
        action: "workflow.preview",
        mutating: false,
        target: None,
        summary: "What a workflow job (request.*, user.onboard, user.offboard) would do: the \
                  routing decision and every step; creates nothing",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/events",
        operation: Operation::Events,
        access: Access::Role(Role::Viewer),
        action: "events.read",
        mutating: false,
        target: None,
        summary: "Server-Sent Events for jobs, tasks, inventory, tickets and sites; resume with Last-Event-ID",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tickets",
        operation: Operation::Tickets,
        access: Access::Role(Role::Viewer),
        action: "tickets.read",
        mutating: false,
        target: None,
        summary: "One queue across instances: filter by instance, queue, kind, group, assigned_to (me, none), state, text; sorted, cursor-paged",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tickets/{instance}/{number}",
        operation: Operation::TicketGet,
        access: Access::Role(Role::Viewer),
        action: "ticket.read",
        mutating: false,
        target: Some("ticket"),
        summary: "A ticket read live from ServiceNow, with its catalog variables, journal and jobs",
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/tickets/{instance}/{number}/take",
        operation: Operation::TicketTake,
        access: Access::Role(Role::Helpdesk),
        action: "ticket.take",
        mutating: true,
        target: Some("ticket"),
        summary: "Take a ticket: assign it (to the adapter's user unless assigned_to is given) and set it In Progress",
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/tickets/{instance}/{number}/notes",
        operation: Operation::TicketNote,
        access: Access::Role(Role::Helpdesk),
        action: "ticket.note",
        mutating: true,
        target: Some("ticket"),
        summary: "Add a work note (or a comment the requester sees)",
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/tickets/{instance}/{number}/resolve",
        operation: Operation::TicketResolve,
        access: Access::Role(Role::Helpdesk),
        action: "ticket.resolve",
        mutating: true,
        target: Some("ticket"),
        summary: "Resolve an incident (close code and notes) or close a catalog task complete",
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/servicenow/{instance}/requests",
        operation: Operation::ServiceNowRequest,
        access: Access::Role(Role::Helpdesk),
        action: "servicenow.request",
        mutating: true,
        target: Some("instance"),
        summary: "Zero-touch: fulfil a catalog request ({table, sys_id}) with the job its item maps to, and resolve it",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/accounts",
        operation: Operation::Accounts,
        access: Access::Role(Role::Viewer),
        action: "accounts.list",
        mutating: false,
        target: None,
        summary: "Directory accounts matching a text, with locked, disabled, must-change and expiry state",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/accounts/{domain}/{user}",
        operation: Operation::AccountGet,
        access: Access::Role(Role::Viewer),
        action: "accounts.read",
        mutating: false,
        target: Some("account"),
        summary: "One directory account and its state",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/password-policy",
        operation: Operation::PasswordPolicy,
        access: Access::Role(Role::Viewer),
        action: "password_policy.read",
        mutating: false,
        target: None,
        summary: "The rules a new password must meet, and the security-code attempt limits",
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/password-policy/check",
        operation: Operation::PasswordCheck,
        access: Access::Role(Role::Helpdesk),
        action: "password_policy.check",
        mutating: false,
        target: None,
        summary: "Check a candidate password for an account against the policy (nothing is stored)",
    },
    RouteSpec {
        method: Method::PUT,
        path: "/api/v1/accounts/{domain}/{user}/security-code",
        operation: Operation::SecurityCodeEnroll,
        access: Access::Role(Role::Admin),
        action: "account.security_code.enroll",
        mutating: true,
        target: Some("account"),
        summary: "Enrol the security code a user will give to verify a password reset (stored only as an Argon2 hash)",
    },
    // Viewer may preview (dry run); the handler asks admin for a real run.
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/power/idle",
        operation: Operation::IdlePowerOff,
        access: Access::Role(Role::Viewer),
        action: "power.idle",
        mutating: true,
        target: None,
        summary: "Power off idle machines of delivery groups: preview (dry run) or one machine.shutdown job",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/reports",
        operation: Operation::Reports,
        access: Access::Role(Role::Viewer),
        action: "reports.list",
        mutating: false,
        target: None,
        summary: "The reports (resources, tickets, jobs) with their descriptions and parameters",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/reports/{name}",
        operation: Operation::ReportGet,
        access: Access::Role(Role::Viewer),
        action: "report.read",
        mutating: false,
        target: Some("report"),
        summary: "One report as columns and rows: machines per delivery group, tickets by state and age, job outcomes over time",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/routing/explain",
        operation: Operation::RoutingExplain,
        access: Access::Role(Role::Viewer),
        action: "routing.explain",
        mutating: false,
        target: None,
        summary: "Which routing rule sends a user (?user=DOMAIN\\sam) to which site, desktops and apps, and why",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/routing/rules",
        operation: Operation::RoutingRules,
        access: Access::Role(Role::Viewer),
        action: "routing.rules",
        mutating: false,
        target: None,
        summary: "The routing rules in order, and the default route",
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/runbooks",
        operation: Operation::Runbooks,
        access: Access::Role(Role::Viewer),
        action: "runbooks.list",
        mutating: false,
        target: None,
        summary: "The runbooks of the runbooks folder: parameters (types, defaults) and steps",
    },
];

fn handler(spec: &RouteSpec) -> MethodRouter<AppState> {
    // Every method in the table is a standard one, which MethodFilter covers.
    let filter = MethodFilter::try_from(spec.method.clone()).unwrap_or(MethodFilter::GET);
    match spec.operation {
        Operation::Token => on(filter, oauth::token),
        Operation::Healthz => on(filter, health::healthz),
        Operation::Readyz => on(filter, health::readyz),
        Operation::Metrics => on(filter, crate::adapter::metrics::serve),
        Operation::OpenApi => on(filter, openapi::serve),
        Operation::Whoami => on(filter, whoami::whoami),
        Operation::Audit => on(filter, audit_log::list),
        Operation::Sites => on(filter, inventory::sites),
        Operation::SiteEnable => on(filter, sites::enable),
        Operation::SiteDisable => on(filter, sites::disable),
        Operation::JobCreate => on(filter, super::jobs::create),
        Operation::JobList => on(filter, super::jobs::list),
        Operation::JobGet => on(filter, super::jobs::get),
        Operation::JobCancel => on(filter, super::jobs::cancel),
        Operation::JobRetry => on(filter, super::jobs::retry),
        Operation::WorkflowPreview => on(filter, super::jobs::preview),
        Operation::DeliveryGroups => on(filter, inventory::delivery_groups),
        Operation::Machines => on(filter, inventory::machines),
        Operation::Sessions => on(filter, inventory::sessions),
        Operation::Users => on(filter, inventory::users),
        Operation::SiteSessions => on(filter, inventory::site_sessions),
        Operation::SiteMachines => on(filter, inventory::site_machines),
        Operation::Events => on(filter, super::events::stream),
        Operation::Tickets => on(filter, super::tickets::list),
        Operation::TicketGet => on(filter, super::tickets::get),
        Operation::TicketTake => on(filter, super::tickets::take),
        Operation::TicketNote => on(filter, super::tickets::note),
        Operation::TicketResolve => on(filter, super::tickets::resolve),
        Operation::ServiceNowRequest => on(filter, super::requests::fulfil),
        Operation::Accounts => on(filter, super::accounts::list),
        Operation::AccountGet => on(filter, super::accounts::get),
        Operation::PasswordPolicy => on(filter, super::accounts::policy),
        Operation::PasswordCheck => on(filter, super::accounts::check),
        Operation::SecurityCodeEnroll => on(filter, super::accounts::enroll),
        Operation::RoutingExplain => on(filter, super::routing::explain),
        Operation::RoutingRules => on(filter, super::routing::rules),
        Operation::Runbooks => on(filter, super::runbooks::list),
        Operation::IdlePowerOff => on(filter, super::idle::power_off_idle),
        Operation::Reports => on(filter, super::reports::list),
        Operation::ReportGet => on(filter, super::reports::get),
    }
}

/// The router: each table entry with its guard, JSON answers for unknown paths and methods,
/// the body limit, and the request id around everything.
pub fn build(state: AppState) -> Router {
    let mut router = Router::new();
    for spec in ROUTES {
        let mut method_router = handler(spec);
        if let Access::Role(_) = spec.access {
            // route_layer: the guard runs only when the route matched, so an unknown method
            // is still a 405, not a 401.
            method_router = method_router.route_layer(from_fn_with_state(
                state.clone(),
                move |state: State<AppState>, request: Request, next: Next| {
                    guard::guard(state, spec, request, next)
                },
            ));
        }
        router = router.route(spec.path, method_router);
    }
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn(request_id::layer))
        // Outermost, so every answer is counted, the guard's 401s and the 404s included.
        .layer(from_fn_with_state(
            state.clone(),
            crate::adapter::metrics::track_requests,
        ))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_standard_method_and_a_unique_place() {
        for spec in ROUTES {
            assert!(
                MethodFilter::try_from(spec.method.clone()).is_ok(),
                "{spec:?}"
            );
            assert_eq!(spec.target.is_some(), spec.path.contains('{'), "{spec:?}");
        }
        let mut seen: Vec<String> = ROUTES.iter().map(RouteSpec::describe).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), ROUTES.len());
    }
}
