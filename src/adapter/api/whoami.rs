//! `GET /api/v1/whoami`: the client the token belongs to, so a console can show who it is and
//! hide what its role cannot do.

use axum::{Extension, Json};
use serde_json::json;

use super::guard::Caller;

pub async fn whoami(Extension(caller): Extension<Caller>) -> Json<serde_json::Value> {
    Json(json!({
        "client_id": caller.id,
        "name": caller.name,
        "role": caller.role.as_str(),
        "token_expires_at": caller.expires_at,
    }))
}
