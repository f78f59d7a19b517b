//! The HTTP API of DESIGN.md (axum): start, read, history, signal, cancel, list and
//! filter instances, queue and pool stats, `/metrics` (Prometheus text) and
//! `/healthz`; and the web [`console`] at `/`. Bearer tokens guard everything but
//! `/healthz` when any is configured ([`Tokens`]: admin tokens may use everything,
//! worker tokens only `/v1/worker/…`); bodies are limited in size; bad requests get a 4xx that names the
//! problem and change nothing.

pub mod console;
mod error;
mod extract;
pub mod listen;
mod metrics;
pub mod openapi;
mod schedules;
mod token;
pub mod views;
mod worker_calls;
mod workers;
pub mod workflows;

pub use console::{ConsoleConfig, ConsoleSource};
pub use error::ApiError;
pub use token::{Holder, Scope, TokenError, Tokens};

use crate::engine::{Event, Status};
use crate::node::{Node, NodeError};
use crate::store::{InstanceFilter, InstanceRecord, StoreError};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use extract::{ApiBody, ApiPath, ApiQuery};
use serde::Deserialize;
use serde_json::{Map, Value as Json_, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The largest request body accepted, by default.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Clone)]
pub struct ApiConfig {
    /// Required as `Authorization: Bearer TOKEN` when not empty.
    pub tokens: Tokens,
    pub body_limit: usize,
    /// What the web console shows beyond the store (the bundle's sources).
    pub console: ConsoleConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            tokens: Tokens::none(),
            body_limit: DEFAULT_BODY_LIMIT,
            console: ConsoleConfig::default(),
        }
    }
}

#[derive(Clone)]
struct AppState {
    node: Node,
    tokens: Arc<Tokens>,
    body_limit: usize,
}

/// The API's routes over `node`.
pub fn router(node: Node, config: ApiConfig) -> Router {
    let tokens = Arc::new(config.tokens);
    let console = console::router(node.clone(), Arc::clone(&tokens), config.console);
    let state = AppState {
        node,
        tokens,
        body_limit: config.body_limit,
    };
    let guarded = Router::new()
        .route("/v1/workflows", get(list_workflows))
        .route("/v1/openapi.json", get(openapi_document))
        .route("/v1/workflows/{name}/instances", post(start))
        .route("/v1/instances", get(list))
        .route("/v1/instances/{id}", get(instance))
        .route("/v1/instances/{id}/history", get(history))
        .route("/v1/instances/{id}/rules", get(rules))
        .route("/v1/instances/{id}/signals/{signal}", post(signal))
        .route("/v1/instances/{id}/cancel", post(cancel))
        .route("/v1/queues", get(queues))
        .route("/v1/pools", get(pools))
        .route("/v1/node", get(node_info))
        .route("/v1/workers", get(workers::list))
        .route("/v1/schedules", get(schedules::list))
        .route("/v1/schedules/{name}/pause", post(schedules::pause))
        .route("/v1/schedules/{name}/resume", post(schedules::resume))
        .route("/metrics", get(metrics::metrics))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            authorize_admin,
        ));
    let worker = Router::new()
        .route("/v1/worker/lease", post(worker_calls::lease))
        .route(
            "/v1/worker/calls/{id}/heartbeat",
            post(worker_calls::heartbeat),
        )
        .route(
            "/v1/worker/calls/{id}/complete",
            post(worker_calls::complete),
        )
        .route("/v1/worker/calls/{id}/release", post(worker_calls::release))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            authorize_worker,
        ));
    // The console's pages are HTML, errors included: the JSON error layer wraps the
    // API's routes only.
    Router::new()
        .route("/healthz", get(healthz))
        .merge(guarded)
        .merge(worker)
        .fallback(|| async {
            ApiError::not_found("no_route", "no such endpoint; see docs/runtime.md")
        })
        .layer(middleware::map_response(extract::json_errors))
        .merge(console)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .with_state(state)
}

/// `ok` while the node can take new work; a 503 `store_failed` naming the store's
/// fault once it cannot (a load balancer or supervisor should take it out and
/// restart it).
async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.node.health().await?;
    Ok("ok\n")
}

async fn authorize_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    authorize(&state, Scope::Admin, request, next).await
}

async fn authorize_worker(State(state): State<AppState>, request: Request, next: Next) -> Response {
    authorize(&state, Scope::Worker, request, next).await
}

/// Lets `request` through when no token is configured, or when it carries one whose
/// scope allows `needed`: a 401 without a known token, a 403 with a token of too
/// narrow a scope. The token itself is never logged nor echoed.
async fn authorize(state: &AppState, needed: Scope, request: Request, next: Next) -> Response {
    if !state.tokens.is_empty() {
        let holder = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|given| state.tokens.holder(given));
        let Some(holder) = holder else {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this runtime requires `Authorization: Bearer <token>`",
            )
            .into_response();
        };
        if !holder.scope.allows(needed) {
            tracing::warn!(
                token = %holder.name,
                scope = %holder.scope,
                path = %request.uri().path(),
                "a token was used outside its scope"
            );
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "the token `{}` is a {} token: it may only use the worker endpoints \
                     (/v1/worker/…); this endpoint needs an {} token",
                    holder.name, holder.scope, needed
                ),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// A JSON object from a request body, or a 4xx naming what is wrong with it.
fn object_body(body: &Bytes, what: &str) -> Result<Map<String, Json_>, ApiError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Json_>(body) {
        Ok(Json_::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "bad_json",
            format!("{what} must be a JSON object"),
        )),
        Err(e) => Err(ApiError::bad_request(
            "bad_json",
            format!("{what} is not valid JSON: {e}"),
        )),
    }
}

async fn blocking<T: Send + 'static>(
    node: &Node,
    f: impl FnOnce(&dyn crate::store::Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = Arc::clone(node.store());
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::from)
}

/// The bundle new instances start on, for the documents that describe it.
fn describe<T>(node: &Node, build: impl FnOnce(workflows::BundleInfo<'_>) -> T) -> T {
    let current = node.deployment().current();
    build(workflows::BundleInfo {
        project: &current.project,
        hash: &current.hash,
        compiler_version: crate::deployment::COMPILER_VERSION,
        program: &current.program,
    })
}

async fn list_workflows(State(state): State<AppState>) -> Json<Json_> {
    Json(describe(&state.node, workflows::document))
}

async fn openapi_document(State(state): State<AppState>) -> Json<Json_> {
    Json(describe(&state.node, openapi::document))
}

async fn start(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let input = object_body(&body, "the input")?;
    let (record, new) = state
        .node
        .start_instance_record(&name, Json_::Object(input), key)
        .await?;
    let code = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(view(&record))).into_response())
}

/// The `Idempotency-Key` header: any non-empty UTF-8 text, scoped to the workflow it
/// starts. A key that is empty, not UTF-8 or given twice is a 400
/// `bad_idempotency_key`: silently ignoring it would start a second instance.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all("idempotency-key").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let refuse = |why: &str| {
        Err(ApiError::bad_request(
            "bad_idempotency_key",
            format!("the Idempotency-Key header {why}; send one non-empty UTF-8 key"),
        ))
    };
    if values.next().is_some() {
        return refuse("is given more than once");
    }
    let Ok(key) = std::str::from_utf8(value.as_bytes()) else {
        return refuse("is not UTF-8");
    };
    if key.is_empty() {
        return refuse("is empty");
    }
    Ok(Some(key.to_string()))
}

/// An instance as the API shows it.
fn view(record: &InstanceRecord) -> Json_ {
    views::instance(record, &[], &BTreeMap::new())
}

/// The longest `GET /v1/instances/{id}?wait_ms=` waits (a longer wait is read as this).
const MAX_INSTANCE_WAIT_MS: u64 = 30_000;

/// How long a waiting `GET /v1/instances/{id}` goes without looking again when no step
/// of this node commits (another node may step the instance).
const INSTANCE_LOOK_AGAIN: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Deserialize)]
struct InstanceQuery {
    wait_ms: Option<u64>,
}

async fn instance(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<InstanceQuery>,
) -> Result<Json<Json_>, ApiError> {
    let wait = query.wait_ms.unwrap_or(0).min(MAX_INSTANCE_WAIT_MS);
    let record =
        no_longer_running(&state.node, &id, std::time::Duration::from_millis(wait)).await?;
    let progress = state.node.call_progress(&id).await?;
    let children = state.node.child_statuses(&record).await?;
    Ok(Json(views::instance(&record, &progress, &children)))
}

/// Instance `id` as soon as it is no longer `RUNNING` (finished, or stalled waiting
/// for a signal), or as it is once `wait` has passed: at once when `wait` is zero. A
/// step this node commits makes it look again at once; steps of other nodes are seen
/// by looking again, at most [`INSTANCE_LOOK_AGAIN`] apart.
async fn no_longer_running(
    node: &Node,
    id: &str,
    wait: std::time::Duration,
) -> Result<InstanceRecord, NodeError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut steps = node.commits();
    // While waiting, each look reads the status alone (every commit of the node wakes
    // every waiter); the whole instance is read once, for the answer.
    loop {
        steps.borrow_and_update();
        let now = tokio::time::Instant::now();
        if now >= deadline || node.instance_status(id).await? != Status::Running {
            return node.instance(id).await;
        }
        let pause = deadline
            .saturating_duration_since(now)
            .min(INSTANCE_LOOK_AGAIN);
        if let Ok(Err(_stopped)) = tokio::time::timeout(pause, steps.changed()).await {
            // The node is stopping: no more commits will say anything.
            tokio::time::sleep(pause).await;
        }
    }
}

async fn rules(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Json_>, ApiError> {
    let rules = state.node.explain(&id).await?;
    Ok(Json(json!({ "rules": rules })))
}

#[derive(Deserialize)]
struct HistoryQuery {
    after: Option<i64>,
}

async fn history(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<Json_>, ApiError> {
    let id2 = id.clone();
    let after = query.after.unwrap_or(0);
    let (record, rows) = blocking(&state.node, move |store| {
        Ok((store.instance(&id2)?, store.history(&id2, after)?))
    })
    .await?;
    if record.is_none() {
        return Err(NodeError::UnknownInstance(id).into());
    }
    Ok(Json(views::history(rows)))
}

async fn signal(
    State(state): State<AppState>,
    ApiPath((id, name)): ApiPath<(String, String)>,
    ApiBody(body): ApiBody,
) -> Result<Json<Json_>, ApiError> {
    let args = object_body(&body, "the signal's arguments")?;
    state
        .node
        .send(
            &id,
            Event::Signal {
                name,
                args: Json_::Object(args),
            },
        )
        .await?;
    let record = state.node.instance(&id).await?;
    Ok(Json(view(&record)))
}

async fn cancel(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Json_>, ApiError> {
    state.node.send(&id, Event::Cancel).await?;
    let record = state.node.instance(&id).await?;
    Ok(Json(view(&record)))
}

#[derive(Deserialize)]
struct ListQuery {
    workflow: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

/// The `status` of a list query, in any case (`running` is `RUNNING`); a string that
/// names no status is a 400 `bad_status` naming the ones there are.
fn status_filter(status: Option<&str>) -> Result<Option<Status>, ApiError> {
    views::status_filter(status).map_err(|e| ApiError::bad_request("bad_status", e.to_string()))
}

/// The rows a list page holds ([`views::page_limit`]); a limit of 0 is a 400
/// `bad_query`.
fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    views::page_limit(limit).map_err(|e| ApiError::bad_request("bad_query", e.to_string()))
}

async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Json_>, ApiError> {
    let filter = InstanceFilter {
        status: status_filter(query.status.as_deref())?,
        workflow: query.workflow,
        limit: page_limit(query.limit)?,
        after: query.after,
        ..InstanceFilter::default()
    };
    let rows = blocking(&state.node, move |store| store.list_instances(&filter)).await?;
    Ok(Json(views::instance_list(rows)))
}

async fn queues(State(state): State<AppState>) -> Result<Json<Json_>, ApiError> {
    let now = crate::node::now_ms();
    let stats = blocking(&state.node, move |store| store.queue_stats(now)).await?;
    Ok(Json(json!({ "queues": stats })))
}

/// The node answering: its id, its live leases by queue, its pools.
async fn node_info(State(state): State<AppState>) -> Result<Json<Json_>, ApiError> {
    let now = crate::node::now_ms();
    let owner = state.node.owner().to_string();
    let mine = owner.clone();
    let leases = blocking(&state.node, move |store| store.leases_by_owner(now)).await?;
    let leases: Vec<Json_> = leases
        .into_iter()
        .filter(|l| l.owner == mine)
        .map(|l| json!({"queue": l.queue, "leases": l.leases}))
        .collect();
    Ok(Json(json!({
        "node": owner,
        "version": env!("CARGO_PKG_VERSION"),
        "leases": leases,
        "pools": state.node.executor().stats(),
    })))
}

async fn pools(State(state): State<AppState>) -> Json<Json_> {
    Json(json!({ "pools": state.node.executor().stats() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON body of an error response.
    async fn body(error: ApiError) -> (StatusCode, Json_) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn a_status_filter_is_any_status_in_any_case() {
        assert_eq!(status_filter(None).unwrap(), None);
        for &status in Status::ALL {
            let text = status.as_str();
            assert_eq!(status_filter(Some(text)).unwrap(), Some(status));
            let lower = text.to_ascii_lowercase();
            assert_eq!(status_filter(Some(&lower)).unwrap(), Some(status));
        }
    }

    #[tokio::test]
    async fn an_unknown_status_is_a_400_naming_the_statuses() {
        for bogus in ["BOGUS", "done", ""] {
            let error = status_filter(Some(bogus)).unwrap_err();
            let (status, body) = body(error).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(
                body,
                json!({"error": {
                    "code": "bad_status",
                    "message": format!(
                        "unknown status {:?}; expected one of \
                         RUNNING, STALLED, COMPLETED, FAILED, CANCELLED",
                        bogus.to_ascii_uppercase()
                    ),
                }})
            );
        }
    }
}
