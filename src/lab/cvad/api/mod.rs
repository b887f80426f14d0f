//! The Orchestration API one connector serves: routes under `/cvad/manage`, the on-prem token
//! route, the gate every request passes (transaction id, faults, authentication, simulated
//! `Date`), and what handlers share: listings ([`listing`], [`collection`]) and writes
//! ([`Call::run`], sync or as a job).

mod catalogs;
mod entitle;
mod groups;
pub mod http;
mod identity;
mod machines;
mod misc;
mod sessions;

use super::Site;
use super::actions::{self, Action};
use super::auth::{self, Caller};
use super::error::{ApiError, ApiResult};
use super::jobs;
use super::paging::{self, PageRequest, take_page};
use super::state::{MachineRec, SiteState};
use crate::cvad::wire::{Collection, NameValue};
use crate::lab::faults::Fault;
use crate::model::SiteKind;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
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
        .merge(groups::routes())
        .merge(catalogs::routes())
        .merge(identity::routes())
        .merge(entitle::routes())
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route);
    let mut router: Router = Router::new()
        .nest("/cvad/manage", manage)
        .fallback(unknown_route)
        .with_state(api.clone());
    if site.meta.kind == SiteKind::Onprem {
        // On-prem controllers hand out tokens themselves; the cloud uses the trust service.
        let token = Router::new()
            .route("/citrix/orchestration/api/tokens", post(auth::onprem_token))
            .with_state(site);
        router = router.merge(token);
    }
    let gated = router.layer(middleware::from_fn_with_state(api, gate));
    // Layers on a router run after routing; this outer router's only route is its fallback,
    // so the path is made canonical before the inner router matches it.
    Router::new()
        .fallback_service(gated)
        .layer(middleware::from_fn(http::canonical_request))
}

/// Paths (and methods) the simulator does not serve get the API's JSON 404, never plain text.
async fn unknown_route(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::not_found("Route", &format!("{method} {}", uri.path()))
}

/// Runs before every API request: echoes or creates `Citrix-TransactionId`, applies injected
/// faults, then checks authentication for `/cvad/manage` calls. Every answer carries `Date`
/// in simulated time.
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
        Err(answer) => answer,
    };
    response.headers_mut().insert(TRANSACTION, transaction);
    http::set_date(response.headers_mut(), &api.site.clock);
    response
}

/// The injected fault's answer, or authentication's, or `Ok` to serve the request.
///
/// The site-wide outage is not answered here: reads go on, and writes fail in
/// [`actions::check_zone`] exactly as in a zone whose connectors are all down.
async fn admit(api: &ApiState, request: &mut Request) -> Result<(), Response> {
    let method = request.method().as_str().to_string();
    let fault = api
        .site
        .faults
        .check_request(&method, request.uri().path())
        .await;
    match fault {
        Some(Fault::Throttle { retry_after }) => {
            return Err(ApiError::rate_limited(retry_after.as_secs().max(1)).into_response());
        }
        Some(Fault::Error {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            if matches!(
                status,
                StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT
            ) {
                return Err(http::gateway_answer(status));
            }
            let err = ApiError::unavailable(status, retry_after.as_secs().max(1));
            return Err(err.into_response());
        }
        Some(Fault::Outage) | None => {}
    }
    let path = request.uri().path().to_ascii_lowercase();
    let Some(rest) = path.strip_prefix("/cvad/manage") else {
        return Ok(());
    };
    let needs_instance = !matches!(rest, "/me" | "/sites" | "/me/" | "/sites/");
    let caller = auth::check(&api.site, request.headers(), needs_instance)
        .map_err(IntoResponse::into_response)?;
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
    paging::query_param(query, name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The page a listing asks for (`limit`, `continuationToken`), with the limit capped by the
/// short-page fault.
pub fn listing(api: &ApiState, raw: Option<String>, kind: &str) -> ApiResult<PageRequest> {
    let mut page = paging::parse(&query_map(raw), kind)?;
    page.limit = api.site.faults.page_cap(page.limit);
    Ok(page)
}

/// One page of a collection; `total` only for `$search` answers.
pub fn collection<T: Serialize>(
    (items, continuation_token): (Vec<T>, Option<String>),
    total: Option<usize>,
) -> Response {
    Json(Collection {
        items,
        continuation_token,
        total_items: total.map(|n| n as u64),
    })
    .into_response()
}

/// A small collection paged by record index.
pub fn index_page<T: Serialize>(
    api: &ApiState,
    raw: Option<String>,
    kind: &str,
    len: impl Fn(&SiteState) -> usize,
    item: impl Fn(&SiteState, usize) -> Option<T>,
) -> ApiResult<Response> {
    let page = listing(api, raw, kind)?;
    let state = api.state();
    let start = page.after.map_or(0, |a| a as usize + 1);
    let iter = (start..len(&state)).filter_map(|i| item(&state, i).map(|x| (i as u64, x)));
    Ok(collection(take_page(iter, page.limit, kind), None))
}

/// Resolves users as clients write them (`DOMAIN\sam`, `sam`, UPN); an unknown one is a 404.
pub fn people(state: &SiteState, names: &[String]) -> ApiResult<Vec<usize>> {
    names
        .iter()
        .map(|u| {
            state
                .find_person(u)
                .ok_or_else(|| ApiError::not_found("User", u))
        })
        .collect()
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

/// What every write handler starts from: the connector, the authenticated caller (set by
/// [`gate`]) and the query parameters.
pub struct Call {
    pub api: ApiState,
    pub caller: Caller,
    pub query: HashMap<String, String>,
}

impl FromRequestParts<ApiState> for Call {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &ApiState) -> ApiResult<Call> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthenticated("missing"))?;
        Ok(Call {
            api: api.clone(),
            caller,
            query: query_map(parts.uri.query().map(str::to_string)),
        })
    }
}

impl Call {
    /// Runs an action synchronously, or accepts it as a job when `async=true` (202 +
    /// `Location`). Either way a zone that cannot take writes refuses it through
    /// [`actions::check_zone`]: now (503), or when the job starts (job Failed).
    pub fn run(self, action: Action, target: Target, answer: SyncAnswer) -> Response {
        let Target {
            parameters,
            result_path,
        } = target;
        let api = &self.api;
        let now = api.site.clock.now();
        let mut state = api.state();
        if flag(&self.query, "async") {
            let base = api.base();
            let principal = &self.caller.principal;
            let id = jobs::create(
                &mut state,
                principal,
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
}

/// What a write names: its job's `[{Name, Value}]` parameters and the object (path under
/// `/cvad/manage`) that `Results` and `ResultLocation` point to.
pub struct Target {
    parameters: Vec<NameValue>,
    result_path: String,
}

impl Target {
    pub fn new(result_path: String, pairs: &[(&str, &str)]) -> Target {
        let parameters = pairs
            .iter()
            .map(|(name, value)| NameValue {
                name: name.to_string(),
                value: value.to_string(),
            })
            .collect();
        Target {
            parameters,
            result_path,
        }
    }

    /// A machine, by id and qualified name.
    pub fn machine(m: &MachineRec) -> Target {
        let path = format!("/Machines/{}", m.id);
        Target::new(path, &[("Id", &m.id), ("Name", &m.qualified_name())])
    }
}

/// Empty-bodied success for actions whose sync answer has no content.
pub fn no_content() -> SyncAnswer {
    Box::new(|_| StatusCode::NO_CONTENT.into_response())
}
