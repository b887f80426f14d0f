//! Reading Table API requests: query parameters, `Accept` and `Content-Type` checks, JSON
//! bodies as string fields, and the write context of the caller.

use super::auth::Caller;
use super::envelope;
use super::instance::Instance;
use super::rules::{self, WriteCtx};
use super::schema::{TableDef, table_def};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// A handler's early answer (boxed: a response is large). `?` turns the boxed answers of the
/// checks here into one, and axum sends it unchanged.
pub struct Refusal(Box<Response>);

impl From<Box<Response>> for Refusal {
    fn from(response: Box<Response>) -> Self {
        Refusal(response)
    }
}

impl From<Response> for Refusal {
    fn from(response: Response) -> Self {
        Refusal(Box::new(response))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// The checks every Table and Aggregate API call starts with, in ServiceNow's order: a
/// JSON-compatible `Accept`, then a table the API exposes.
pub fn target(headers: &HeaderMap, table: &str) -> Result<&'static TableDef, Refusal> {
    if !accepts_json(headers) {
        return Err(not_acceptable().into());
    }
    table_def(table).ok_or_else(|| envelope::invalid_table(table).into())
}

/// A write's input, checked after its target: `Content-Type: application/json` and a JSON
/// object body.
pub fn write_input(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    if !json_content(headers) {
        return Err(bad_content_type().into());
    }
    Ok(body_fields(body)?)
}

/// Query parameters in order, decoded.
pub fn params(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub fn flag(params: &[(String, String)], name: &str) -> bool {
    param(params, name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// GET needs a JSON-compatible `Accept` (a missing one means JSON, the default format).
pub fn accepts_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|part| {
        let media = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            media.as_str(),
            "application/json" | "application/*" | "*/*" | ""
        )
    })
}

pub fn not_acceptable() -> Response {
    envelope::error(
        406,
        "Not Acceptable",
        "The Accept header must allow application/json",
    )
}

/// Writes need `Content-Type: application/json`.
pub fn json_content(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"))
}

pub fn bad_content_type() -> Response {
    envelope::error(
        400,
        "Invalid Content-Type",
        "POST, PUT and PATCH need Content-Type: application/json",
    )
}

/// A JSON body's fields as strings: numbers and booleans are accepted, as ServiceNow does.
pub fn body_fields(body: &[u8]) -> Result<Vec<(String, String)>, Box<Response>> {
    let value: Value = serde_json::from_slice(body).map_err(|err| {
        Box::new(envelope::error(
            400,
            "Exception while reading request",
            &format!("The payload is not valid JSON: {err}"),
        ))
    })?;
    // Several records in one POST: only the first is processed.
    let value = match value {
        Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
        other => other,
    };
    let Value::Object(map) = value else {
        return Err(Box::new(envelope::error(
            400,
            "Exception while reading request",
            "The payload must be a JSON object",
        )));
    };
    Ok(map.into_iter().map(|(k, v)| (k, stringify(v))).collect())
}

/// A JSON value as the string ServiceNow would store.
pub fn stringify(value: Value) -> String {
    match value {
        Value::String(s) => s,
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .into_iter()
            .map(stringify)
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(mut map) => map.remove("value").map(stringify).unwrap_or_default(),
    }
}

pub fn write_ctx(instance: &Instance, caller: &Caller) -> WriteCtx {
    WriteCtx {
        user_name: caller.user_name.clone(),
        user_sys_id: caller.sys_id.clone(),
        now: instance.now_string(),
        require_close_fields: instance.settings().require_close_fields,
    }
}

pub fn rejection(r: rules::Rejection) -> Response {
    envelope::error(r.status, &r.message, &r.detail)
}

pub fn wants_body(headers: &HeaderMap) -> bool {
    !headers
        .get("X-no-response-body")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn accept_headers() {
        let mut h = HeaderMap::new();
        assert!(accepts_json(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/xml"));
        assert!(!accepts_json(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html, */*;q=0.1"),
        );
        assert!(accepts_json(&h));
    }
}
