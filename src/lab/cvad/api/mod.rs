//! The Orchestration API one connector serves: routes under `/cvad/manage`, the on-prem token
//! route, and the gate every request passes (transaction id, faults, authentication).

mod groups;
mod machines;
mod misc;
mod sessions;

use super::Site;
use super::actions::{self, Action};
use super::auth::{self, Caller};
use super::error::{ApiError, ApiResult};
use super::jobs;
use super::state::SiteState;
use crate::cvad::wire::NameValue;
use crate::lab::faults::Fault;
use crate::model::SiteKind;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

/// State of one connector's router: the site plus which endpoint this is (for `Location`).
#[derive(Clone)]
pub struct ApiState {
    pub site: Arc<Site>,
    pub endpoint: usize,
}

impl ApiState {
    /// This connector's base URL.
    pub fn base(&self) -> String {
        self.site.endpoint_url(self.endpoint)
    }

    /// The site's state, brought up to date with the simulated clock.
    pub fn state(&self) -> MutexGuard<'_, SiteState> {
        self.site.lock_current()
    }
}

const TRANSACTION: HeaderName = HeaderName::from_static("citrix-transactionid");

/// Builds the router one connector listener serves.
pub fn router(site: Arc<Site>, endpoint: usize) -> Router {
    let api = ApiState {
        site: site.clone(),
        endpoint,
    };
    let manage = Router::new()
        .merge(misc::routes())
        .merge(machines::routes())
        .merge(sessions::routes())
        .merge(groups::routes());
    let manage = manage.fallback(unknown_route);
    let mut router: Router = Router::new()
        .nest("/cvad/manage", manage)
        .with_state(api.clone());
    if site.meta.kind == SiteKind::Onprem {
        // On-prem controllers hand out tokens themselves; the cloud uses the trust service.
        let token = Router::new()
            .route("/citrix/orchestration/api/tokens", post(auth::onprem_token))
            .with_state(site);
        router = router.merge(token);
    }
    router.layer(middleware::from_fn_with_state(api, gate))
}

/// Paths the simulator does not serve get the API's JSON 404 rather than an empty body.
async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found("Route", uri.path())
}

/// Runs before every API request: echoes or creates `Citrix-TransactionId`, applies injected
/// faults, then checks authentication for `/cvad/manage` calls.
async fn gate(State(api): State<ApiState>, mut request: Request, next: Next) -> Response {
    let transaction = request
        .headers()
        .get(&TRANSACTION)
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap_or(
                HeaderValue::from_static("00000000-0000-0000-0000-000000000000"),
            )
        });
    let mut response = match admit(&api, &mut request).await {
        Ok(()) => next.run(request).await,
        Err(err) => err.into_response(),
    };
    response.headers_mut().insert(TRANSACTION, transaction);
    response
}

async fn admit(api: &ApiState, request: &mut Request) -> ApiResult<()> {
    match api.site.faults.check().await {
        Some(Fault::Throttle { retry_after }) => {
            return Err(ApiError::rate_limited(retry_after.as_secs().max(1)));
        }
        Some(Fault::Error {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return Err(ApiError::unavailable(status, retry_after.as_secs().max(1)));
        }
        Some(Fault::Outage) => {
            return Err(ApiError::unavailable(StatusCode::SERVICE_UNAVAILABLE, 30));
        }
        None => {}
    }
    let path = request.uri().path().to_ascii_lowercase();
    let Some(rest) = path.strip_prefix("/cvad/manage") else {
        return Ok(());
    };
    let needs_instance = !matches!(rest, "/me" | "/sites" | "/me/" | "/sites/");
    let caller = auth::check(&api.site, request.headers(), needs_instance)?;
    request.extensions_mut().insert(caller);
    Ok(())
}

/// Query parameters as a map (never fails: bad encodings are decoded lossily).
pub fn query_map(raw: Option<String>) -> HashMap<String, String> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// Whether a boolean query flag (`async`, `force`) is set.
pub fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    super::paging::query_param(query, name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Parses a JSON body into a wire model with CVAD's 400 answers.
pub fn parse_body<T: DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    if body.is_empty() {
        return Err(ApiError::invalid_json("A JSON request body is required"));
    }
    serde_json::from_slice(body).map_err(|err| {
        if err.is_data() {
            ApiError::invalid_json(format!("The request body does not match the model: {err}"))
        } else {
            ApiError::invalid_json(format!("The request body is not valid JSON: {err}"))
        }
    })
}

/// What a synchronous call answers once the action has run.
pub type SyncAnswer = Box<dyn FnOnce(&SiteState) -> Response + Send>;

/// Runs an action synchronously, or accepts it as a job when `async=true` (202 + `Location`).
pub fn run_action(
    api: &ApiState,
    caller: &Caller,
    query: &HashMap<String, String>,
    action: Action,
    parameters: Vec<NameValue>,
    result_path: String,
    answer: SyncAnswer,
) -> Response {
    let now = api.site.clock.now();
    let mut state = api.state();
    if flag(query, "async") {
        let base = api.base();
        let id = jobs::create(
            &mut state,
            &caller.principal,
            action,
            parameters,
            result_path,
            &base,
            now,
        );
        drop(state);
        let location = format!("{base}/cvad/manage/Jobs/{id}");
        let mut response = StatusCode::ACCEPTED.into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        return response;
    }
    if let Err(err) = actions::check_zone(&state, &action) {
        return err.into_response();
    }
    match actions::perform(&mut state, &action, now) {
        Ok(_) => answer(&state),
        Err(err) => err.into_response(),
    }
}

/// `[{Name, Value}]` job parameters.
pub fn params(pairs: &[(&str, &str)]) -> Vec<NameValue> {
    pairs
        .iter()
        .map(|(name, value)| NameValue {
            name: name.to_string(),
            value: value.to_string(),
        })
        .collect()
}

/// Empty-bodied success for actions whose sync answer has no content.
pub fn no_content() -> SyncAnswer {
    Box::new(|_| StatusCode::NO_CONTENT.into_response())
}
