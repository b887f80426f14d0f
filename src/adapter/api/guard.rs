//! The per-endpoint guard: bearer authentication, the role check, and the audit entries that
//! go with them (every denial; for mutating calls also the permission and the outcome).

use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::error::{ApiError, AuditNote};
use super::request_id::RequestId;
use super::routes::{Access, RouteSpec};
use crate::adapter::store::{AuditOutcome, NewAuditEntry, Role};

/// The authenticated client of a request, put into the request's extensions by the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: Uuid,
    pub name: String,
    /// The lower of the token's role and the client's current role: a downgrade in the
    /// config takes effect at once, an upgrade with the next token.
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Actor name recorded when a request carries no authentic identity.
pub const ANONYMOUS: &str = "anonymous";

/// Who an audit entry is about: a known client, or a name claimed by an unauthenticated
/// caller (recorded without an id, since nothing proves it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub name: String,
}

impl Actor {
    pub fn client(id: Uuid, name: impl Into<String>) -> Self {
        Actor {
            id: Some(id),
            name: name.into(),
        }
    }

    pub fn anonymous() -> Self {
        Actor {
            id: None,
            name: ANONYMOUS.to_owned(),
        }
    }
}

/// A refusal, with whatever identity could be established for the audit entry.
struct Denial {
    actor: Actor,
    error: ApiError,
}

impl Denial {
    fn anonymous(error: ApiError) -> Self {
        Denial {
            actor: Actor::anonymous(),
            error,
        }
    }
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, Denial> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(Denial::anonymous(ApiError::unauthorized(
            "no bearer token; send `Authorization: Bearer <token>` with a token from \
             POST /api/v1/token",
        )));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Denial::anonymous(ApiError::unauthorized(
                "the Authorization header is not `Bearer <token>`",
            ))
        })?;
    let claims = state
        .signer
        .open(token)
        .map_err(|e| Denial::anonymous(ApiError::unauthorized(e.to_string())))?;
    let client = match state.store.get_client(claims.sub).await {
        Ok(client) => client,
        Err(e) => return Err(Denial::anonymous(ApiError::store(e))),
    };
    let Some(client) = client else {
        return Err(Denial {
            actor: Actor::client(claims.sub, claims.sub.to_string()),
            error: ApiError::unauthorized(format!(
                "client {} no longer exists; the token is void",
                claims.sub
            )),
        });
    };
    let actor = Actor::client(client.id, client.name.clone());
    if let Err(e) = claims.check_expiry(Utc::now()) {
        return Err(Denial {
            actor,
            error: ApiError::unauthorized(e.to_string()),
        });
    }
    if !client.enabled {
        return Err(Denial {
            actor,
            error: ApiError::unauthorized(format!(
                "client '{}' is disabled; its tokens are refused",
                client.name
            )),
        });
    }
    Ok(Caller {
        id: client.id,
        name: client.name,
        role: claims.role.min(client.role),
        expires_at: claims.expires_at(),
    })
}

/// Appends one audit entry; a failure is logged and reported to the caller of this function.
pub async fn audit(
    state: &AppState,
    actor: Actor,
    action: &str,
    targets: serde_json::Value,
    outcome: AuditOutcome,
    message: Option<String>,
    request_id: &str,
) -> Result<(), ApiError> {
    let entry = NewAuditEntry {
        actor_id: actor.id,
        actor_name: actor.name,
        action: action.to_owned(),
        targets,
        ticket: None,
        outcome,
        message,
        request_id: Some(request_id.to_owned()),
    };
    state
        .store
        .append_audit(entry)
        .await
        .map(|_| ())
        .map_err(|e| {
            tracing::error!(error = %e, action, "cannot append to the audit log");
            ApiError::store(e)
        })
}

fn targets(spec: &RouteSpec, params: Option<&RawPathParams>) -> serde_json::Value {
    // A ticket's path names its instance and number: the target is `instance/number`.
    let value = params
        .map(|p| p.iter().map(|(_, v)| v).collect::<Vec<_>>().join("/"))
        .filter(|v| !v.is_empty());
    match (spec.target, value) {
        (Some(kind), Some(value)) => json!([{ kind: value }]),
        _ => json!([]),
    }
}

/// The middleware for every endpoint that needs a token (see [`super::routes::build`]).
pub async fn guard(
    State(state): State<AppState>,
    spec: &'static RouteSpec,
    request: Request,
    next: Next,
) -> Response {
    let Access::Role(required) = spec.access else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let params = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .ok();
    let targets = targets(spec, params.as_ref());

    let caller = match authenticate(&state, &parts.headers).await {
        Ok(caller) => caller,
        // A store outage while authenticating is a 503, not a denial, and the audit log
        // (in the same store) could not take the entry anyway.
        Err(Denial { error, .. }) if error.status != StatusCode::UNAUTHORIZED => {
            return error.into_response();
        }
        Err(Denial { actor, error }) => {
            let message = Some(error.message.clone());
            // The denial is answered even when it cannot be recorded: refusing is safe.
            let _ = audit(
                &state,
                actor,
                spec.action,
                targets,
                AuditOutcome::Denied,
                message,
                &request_id,
            )
            .await;
            return error.into_response();
        }
    };
    let actor = Actor::client(caller.id, caller.name.clone());
    if !caller.role.allows(required) {
        let error = ApiError::forbidden(format!(
            "{} needs role {}; client '{}' has {}",
            spec.describe(),
            required,
            caller.name,
            caller.role,
        ));
        let message = Some(error.message.clone());
        let _ = audit(
            &state,
            actor,
            spec.action,
            targets,
            AuditOutcome::Denied,
            message,
            &request_id,
        )
        .await;
        return error.into_response();
    }
    if spec.mutating {
        // Recorded before the call runs: a change the audit log cannot record is not made.
        if let Err(e) = audit(
            &state,
            actor.clone(),
            spec.action,
            targets.clone(),
            AuditOutcome::Allowed,
            None,
            &request_id,
        )
        .await
        {
            return e.into_response();
        }
    }
    parts.extensions.insert(caller);
    let response = next
        .run(axum::extract::Request::from_parts(parts, body))
        .await;
    if spec.mutating {
        let outcome = if response.status().is_success() {
            AuditOutcome::Succeeded
        } else {
            AuditOutcome::Failed
        };
        let note = response.extensions().get::<AuditNote>();
        let message = note.and_then(|n| n.message.clone());
        let targets = note.and_then(|n| n.targets.clone()).unwrap_or(targets);
        let _ = audit(
            &state,
            actor,
            spec.action,
            targets,
            outcome,
            message,
            &request_id,
        )
        .await;
    }
    response
}
