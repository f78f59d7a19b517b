//! The HTTP API of DESIGN.md (axum): start, read, history, signal, cancel, list and
//! filter instances, queue and pool stats, `/metrics` (Prometheus text) and
//! `/healthz`; and the web [`console`] at `/`. A bearer token guards everything but `/healthz` when one is
//! configured; bodies are limited in size; bad requests get a 4xx that names the
//! problem and change nothing.

pub mod console;
mod error;
mod extract;
pub mod listen;
mod metrics;
mod token;

pub use console::{ConsoleConfig, ConsoleSource};
pub use error::ApiError;

use crate::engine::{Event, InstanceState, Status};
use crate::node::{Node, NodeError};
use crate::store::{CallProgress, InstanceFilter, InstanceRecord, StoreError};
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
    /// Required as `Authorization: Bearer TOKEN` when set.
    pub token: Option<String>,
    pub body_limit: usize,
    /// What the web console shows beyond the store (the bundle's sources).
    pub console: ConsoleConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            token: None,
            body_limit: DEFAULT_BODY_LIMIT,
            console: ConsoleConfig::default(),
        }
    }
}

#[derive(Clone)]
struct AppState {
    node: Node,
    token: Option<Arc<str>>,
    body_limit: usize,
}

/// The API's routes over `node`.
pub fn router(node: Node, config: ApiConfig) -> Router {
    let console = console::router(node.clone(), config.token.clone(), config.console);
    let state = AppState {
        node,
        token: config.token.map(Arc::from),
        body_limit: config.body_limit,
    };
    let guarded = Router::new()
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
        .route("/metrics", get(metrics::metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    // The console's pages are HTML, errors included: the JSON error layer wraps the
    // API's routes only.
    Router::new()
        .route("/healthz", get(healthz))
        .merge(guarded)
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

async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|given| token::matches(token, given)) {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this runtime requires `Authorization: Bearer <token>`",
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

async fn start(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let input = object_body(&body, "the input")?;
    let (id, new) = state
        .node
        .start_instance(&name, Json_::Object(input), key)
        .await?;
    let record = state.node.instance(&id).await?;
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
    view_with_progress(record, &[], &BTreeMap::new())
}

/// An instance as the API shows it, each call in flight with its latest progress
/// report (`null` when it reported none) and when it came (`progress_at`), and each
/// child workflow it waits for with its id and status (`children` gives the statuses).
fn view_with_progress(
    record: &InstanceRecord,
    progress: &[CallProgress],
    children: &BTreeMap<String, Status>,
) -> Json_ {
    let state = serde_json::from_value::<InstanceState>(record.state.clone()).ok();
    let wakes_at = state
        .as_ref()
        .and_then(InstanceState::wakes_at)
        .filter(|_| !record.status.is_finished())
        .map(cosmos_ir::format_time);
    let waiting: Vec<Json_> = state
        .as_ref()
        .map(|s| s.waiting())
        .unwrap_or_default()
        .into_iter()
        .map(|w| {
            let key = w.key(&record.id);
            let latest = progress.iter().find(|p| p.key == key);
            let child = w.child.clone();
            let mut entry = serde_json::to_value(&w).unwrap_or(Json_::Null);
            if let Json_::Object(fields) = &mut entry {
                if let Some(child) = child {
                    let status = children.get(&child).map(|s| s.as_str());
                    fields.insert("child".to_string(), json!({"id": child, "status": status}));
                }
                fields.insert(
                    "progress".to_string(),
                    latest.map_or(Json_::Null, |p| p.report.clone()),
                );
                fields.insert(
                    "progress_at".to_string(),
                    latest.map_or(Json_::Null, |p| json!(cosmos_ir::format_time(p.at))),
                );
            }
            entry
        })
        .collect();
    let parent = state.as_ref().and_then(|s| s.parent.as_ref()).map(|p| {
        json!({
            "id": p.instance,
            "rule": p.call.rule,
            "firing": p.call.firing,
            "index": p.call.index,
            "attempt": p.call.attempt,
        })
    });
    json!({
        "id": record.id,
        "workflow": record.workflow,
        "status": record.status,
        "parent": parent,
        "input": record.input,
        "facts": record.facts,
        "output": record.output,
        "failure": record.failure,
        "in_flight": waiting,
        "wakes_at": wakes_at,
        "bundle": record.bundle,
        "created_at": cosmos_ir::format_time(record.created_at),
        "updated_at": cosmos_ir::format_time(record.updated_at),
    })
}

async fn instance(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Json_>, ApiError> {
    let record = state.node.instance(&id).await?;
    let progress = state.node.call_progress(&id).await?;
    let children = state.node.child_statuses(&record).await?;
    Ok(Json(view_with_progress(&record, &progress, &children)))
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
    let rows: Vec<Json_> = rows
        .into_iter()
        .map(|row| {
            let mut line = json!({
                "seq": row.seq,
                "at": cosmos_ir::format_time(row.at),
                "kind": row.kind,
                "text": row.text,
                "data": row.data,
            });
            if let (Some(stamp), Some(fields)) = (row.step, line.as_object_mut()) {
                fields.insert("step".into(), json!(stamp));
            }
            line
        })
        .collect();
    Ok(Json(json!({ "history": rows })))
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
    status
        .map(|s| s.to_ascii_uppercase().parse::<Status>())
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_status", e.to_string()))
}

/// The rows a list page holds: `limit` (100 when not given), at most 1000; a limit of
/// 0 is a 400 `bad_query` (a page of nothing would page forever).
fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(100),
        Some(0) => Err(ApiError::bad_request(
            "bad_query",
            "limit must be at least 1 (pages hold at most 1000 instances)",
        )),
        Some(n) => Ok(n.min(1000)),
    }
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
    let rows: Vec<Json_> = rows
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "workflow": r.workflow,
                "status": r.status,
                "created_at": cosmos_ir::format_time(r.created_at),
                "updated_at": cosmos_ir::format_time(r.updated_at),
            })
        })
        .collect();
    Ok(Json(json!({ "instances": rows })))
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
