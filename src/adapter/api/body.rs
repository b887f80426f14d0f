//! Extractors that answer bad input with the JSON error shape and a message naming what is
//! wrong (axum's own rejections answer in plain text).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::{ApiError, from_rejection};

/// An optional JSON body: an empty body is `None`; anything else must be
/// `application/json`, well-formed, within [`super::MAX_BODY_BYTES`] and match `T` exactly
/// (the body types deny unknown fields, so a misspelt field is an error, not ignored).
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|r| from_rejection(r.status(), r.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        match content_type.as_deref() {
            Some(ct) if is_json(ct) => {}
            Some(ct) => {
                return Err(ApiError::unsupported_media_type(format!(
                    "the body must be JSON (Content-Type: application/json), not {ct:?}"
                )));
            }
            None => {
                return Err(ApiError::unsupported_media_type(
                    "the body has no Content-Type; send it as application/json",
                ));
            }
        }
        serde_json::from_slice(&bytes)
            .map(|v| OptionalJson(Some(v)))
            .map_err(|e| {
                use serde_json::error::Category;
                let what = match e.classify() {
                    Category::Syntax | Category::Eof | Category::Io => "malformed JSON",
                    Category::Data => "the JSON body does not fit this endpoint",
                };
                ApiError::bad_request(format!("{what}: {e}"))
            })
    }
}

/// `application/json`, with parameters (`; charset=utf-8`) and `+json` suffixes allowed.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Query parameters; an unknown or ill-typed parameter is a 400 naming it.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|r| from_rejection(r.status(), r.body_text()))
    }
}

/// Path parameters, with rejections in the JSON shape.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|r| from_rejection(r.status(), r.body_text()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_content_types() {
        assert!(super::is_json("application/json"));
        assert!(super::is_json("Application/JSON; charset=utf-8"));
        assert!(super::is_json("application/merge-patch+json"));
        assert!(!super::is_json("text/plain"));
        assert!(!super::is_json("application/x-www-form-urlencoded"));
    }
}
