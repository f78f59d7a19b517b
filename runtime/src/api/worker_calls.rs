//! The HTTP worker protocol (`/v1/worker/…`, docs/runtime.md "HTTP workers"): a worker
//! in any language leases calls, renews their leases (with progress) and completes
//! them through the node, which does on its behalf what a `cosmosc worker --store`
//! does on the store: [`lease_calls`], [`Store::extend`], [`complete_call`]. The
//! leases are held under the worker's name, so the registry of workers and the
//! history name it.

use super::{AppState, blocking};
use crate::api::ApiError;
use crate::api::extract::ApiBody;
use crate::calls::{CallsError, Completion, LeasedCall, Outcome, complete_call, lease_calls};
use crate::engine::{CallErrorKind, Failure};
use crate::executor::FunctionSpec;
use crate::node::messages::{self, CallMessage};
use crate::node::now_ms;
use crate::store::{LeaseRequest, MessageId, Store, StoreError, WorkerKind, WorkerReport};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// The longest a lease request waits for calls.
pub const MAX_WAIT_MS: u64 = 30_000;
/// The most calls one lease request returns.
pub const MAX_CALLS: usize = 100;
/// A lease's length when the request names none.
pub const DEFAULT_LEASE_MS: i64 = 30_000;
/// The bounds of a requested lease length.
pub const LEASE_MS_RANGE: (i64, i64) = (100, 3_600_000);
/// The registry's `kind` of a worker speaking HTTP.
pub const KIND: WorkerKind = WorkerKind::Http;

/// What a lease token carries: the message and attempt leased, and under which
/// worker's name, for how long at a time. It is a handle, not a credential of the
/// call: a completion or heartbeat reads the call itself from the store
/// ([`Store::held`]), checks that the worker still holds that very attempt's lease,
/// and uses the stored call — a worker cannot point a result at another call than
/// the one it leased. (A worker token may lease any pool's calls: worker tokens are
/// given to trusted workers.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LeaseToken {
    id: MessageId,
    attempt: u32,
    worker: String,
    lease_ms: i64,
}

impl LeaseToken {
    fn of(call: &LeasedCall, worker: &str, lease_ms: i64) -> LeaseToken {
        LeaseToken {
            id: call.id,
            attempt: call.attempts,
            worker: worker.to_string(),
            lease_ms,
        }
    }

    /// Hex of its JSON: opaque to the worker, safe in any JSON string.
    fn encode(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn decode(text: &str) -> Option<LeaseToken> {
        if !text.len().is_multiple_of(2) || !text.is_ascii() {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect();
        serde_json::from_slice(&bytes?).ok()
    }

    /// The call this token leased, as the store holds it, if the token's worker still
    /// holds this attempt's lease at `now` (not expired, not taken again, not
    /// completed); `None` otherwise.
    fn held(&self, store: &dyn Store, now: i64) -> Result<Option<LeasedCall>, StoreError> {
        let Some(held) = store.held(self.id, &self.worker, now)? else {
            return Ok(None);
        };
        if held.attempts != self.attempt {
            return Ok(None);
        }
        let call: CallMessage = serde_json::from_value(held.payload)
            .map_err(|e| StoreError::Corrupt(format!("messages {}: payload: {e}", self.id)))?;
        Ok(Some(LeasedCall {
            id: self.id,
            call,
            attempts: held.attempts,
        }))
    }
}

fn bad_body(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("bad_body", message)
}

fn lease_lost() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "lease_lost",
        "this lease is no longer held: it expired (and the call may be running elsewhere), \
         or the call was completed already; drop the call and lease again",
    )
}

/// The JSON object of a request body, or a 400 (`bad_json`, `bad_body`).
fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "bad_json",
            "the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(
            "bad_json",
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

fn strings(value: Option<&Value>, what: &str) -> Result<Option<Vec<String>>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let list = value
        .as_array()
        .and_then(|a| {
            a.iter()
                .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                .collect::<Option<Vec<_>>>()
        })
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad_body(format!("`{what}` must be a non-empty array of names")))?;
    Ok(Some(list))
}

fn integer(
    map: &Map<String, Value>,
    what: &str,
    default: i64,
    range: (i64, i64),
) -> Result<i64, ApiError> {
    match map.get(what) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_i64()
            .filter(|n| (range.0..=range.1).contains(n))
            .ok_or_else(|| {
                bad_body(format!(
                    "`{what}` must be an integer from {} to {}",
                    range.0, range.1
                ))
            }),
    }
}

/// The lease token of a body, for the call of the path: 400 `bad_lease` when it is
/// missing or not one this protocol issued; 404 `unknown_call` when it is for
/// another call.
fn token_for(map: &Map<String, Value>, id: &str) -> Result<LeaseToken, ApiError> {
    let token = map
        .get("lease")
        .and_then(Value::as_str)
        .and_then(LeaseToken::decode)
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_lease",
                "`lease` must be the lease token the lease response gave for this call",
            )
        })?;
    if id.parse::<MessageId>().ok() != Some(token.id) {
        return Err(ApiError::not_found(
            "unknown_call",
            format!("no call {id:?} is leased under this lease token"),
        ));
    }
    Ok(token)
}

/// What this request tells the registry of `worker`: seen `now`, with these counts
/// (leased, completed, failed) to add ([`Store::count_worker`]).
fn report(worker: &str, now: i64, counts: (u64, u64, u64)) -> WorkerReport {
    WorkerReport {
        name: worker.to_string(),
        kind: KIND,
        pools: None,
        heartbeat_ms: None,
        now,
        leased: counts.0,
        completed: counts.1,
        failed: counts.2,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A calls error inside a store closure (the deployment's errors become `Invalid`).
fn store_error(e: CallsError) -> crate::store::StoreError {
    match e {
        CallsError::Store(e) => e,
        other => crate::store::StoreError::Invalid(other.to_string()),
    }
}

/// `POST /v1/worker/lease`.
pub(super) async fn lease(
    State(state): State<AppState>,
    ApiBody(body): ApiBody,
) -> Result<Json<Value>, ApiError> {
    let map = body_object(&body)?;
    let worker = map
        .get("worker")
        .and_then(Value::as_str)
        .filter(|w| !w.trim().is_empty())
        .ok_or_else(|| bad_body("`worker` must be the worker's name, a non-empty string"))?
        .to_string();
    let pools = strings(map.get("pools"), "pools")?
        .ok_or_else(|| bad_body("`pools` must name the pools the worker serves"))?;
    let functions = strings(map.get("functions"), "functions")?;
    let max = integer(&map, "max", 1, (1, MAX_CALLS as i64))?;
    let wait_ms = integer(&map, "wait_ms", 0, (0, i64::MAX))?;
    let lease_ms = integer(&map, "lease_ms", DEFAULT_LEASE_MS, LEASE_MS_RANGE)?;
    let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0).min(MAX_WAIT_MS));
    let mut filter = BTreeMap::from([("pool".to_string(), pools.clone())]);
    if let Some(functions) = functions {
        filter.insert("function".to_string(), functions);
    }
    // Seen at least once per long poll, or per lease renewal while it runs calls.
    let heartbeat_ms = i64::try_from(wait.as_millis())
        .unwrap_or(i64::MAX)
        .max(lease_ms / 3)
        .max(1_000);
    let deadline = tokio::time::Instant::now() + wait;
    // A step this node commits may enqueue calls: a waiting lease looks again at once
    // (steps of other nodes are found by looking again, at most 250 ms apart).
    let mut steps = state.node.commits();
    steps.borrow_and_update();
    let mut pause = Duration::from_millis(5);
    let mut first = true;
    loop {
        let request = LeaseRequest {
            queue: messages::CALLS.to_string(),
            owner: worker.clone(),
            now: now_ms(),
            lease_ms,
            limit: usize::try_from(max).unwrap_or(1),
            filter: filter.clone(),
        };
        let deployment = state.node.programs();
        let (name, pools2, register) = (worker.clone(), pools.clone(), first);
        let calls = blocking(&state.node, move |store| {
            if store.fault().is_some() {
                return Ok(Vec::new());
            }
            let calls = lease_calls(store, deployment.as_ref(), &request).map_err(store_error)?;
            if register || !calls.is_empty() {
                store.count_worker(&WorkerReport {
                    pools: Some(pools2),
                    heartbeat_ms: Some(heartbeat_ms),
                    ..report(&name, now_ms(), (calls.len() as u64, 0, 0))
                })?;
            }
            Ok(calls)
        })
        .await?;
        first = false;
        if !calls.is_empty() || tokio::time::Instant::now() >= deadline {
            let programs = state.node.programs();
            let store = std::sync::Arc::clone(state.node.store());
            let leased_until = now_ms().saturating_add(lease_ms);
            let calls: Vec<Value> = calls
                .iter()
                .map(|call| {
                    let spec = programs
                        .program(store.as_ref(), &call.call.bundle)
                        .ok()
                        .and_then(|p| {
                            p.functions
                                .iter()
                                .find(|f| f.name == call.call.function)
                                .map(FunctionSpec::from_ir)
                        });
                    let pool = spec
                        .as_ref()
                        .map_or_else(|| "default".to_string(), |s| s.pool.clone());
                    json!({
                        "id": call.id.to_string(),
                        "lease": LeaseToken::of(call, &worker, lease_ms).encode(),
                        "function": call.call.function,
                        "pool": pool,
                        "arguments": Value::Object(call.call.args.clone()),
                        "attempt": call.attempts,
                        "timeout_ms": spec.as_ref().map(|s| millis(s.timeout)),
                        "heartbeat_ms": spec.as_ref().and_then(|s| s.heartbeat).map(millis),
                        "lease_expires_at": cosmos_ir::format_time(leased_until),
                        "instance": call.call.instance,
                        "idempotency_key": call.call.key,
                    })
                })
                .collect();
            return Ok(Json(json!({ "calls": calls })));
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        tokio::select! {
            changed = steps.changed() => {
                if changed.is_ok() {
                    pause = Duration::from_millis(5);
                } else {
                    tokio::time::sleep(pause.min(left)).await;
                }
            }
            () = tokio::time::sleep(pause.min(left)) => {
                pause = (pause * 2).min(Duration::from_millis(250));
            }
        }
    }
}

/// `POST /v1/worker/calls/{id}/heartbeat`.
pub(super) async fn heartbeat(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiBody(body): ApiBody,
) -> Result<Json<Value>, ApiError> {
    let map = body_object(&body)?;
    let token = token_for(&map, &id)?;
    let progress = match map.get("progress") {
        None | Some(Value::Null) => None,
        Some(Value::Object(report)) => Some(Value::Object(report.clone())),
        Some(_) => return Err(bad_body("`progress` must be a JSON object")),
    };
    let now = now_ms();
    let until = now.saturating_add(token.lease_ms);
    let held = blocking(&state.node, move |store| {
        // Held: this attempt still leased under the worker's name, unexpired (not
        // completed, not taken by another worker after it expired).
        let Some(call) = token.held(store, now)? else {
            return Ok(false);
        };
        if !store.extend(token.id, &token.worker, now, until)? {
            return Ok(false);
        }
        if let Some(report) = progress {
            store.record_progress(&call.call.instance, &call.call.key, &report, now)?;
        }
        store.count_worker(&report(&token.worker, now, (0, 0, 0)))?;
        Ok(true)
    })
    .await?;
    if !held {
        return Err(lease_lost());
    }
    Ok(Json(
        json!({ "lease_expires_at": cosmos_ir::format_time(until) }),
    ))
}

/// The outcome a completion body gives: `result`, or `error` with a `kind` and a
/// `message`.
fn outcome_of(map: &Map<String, Value>) -> Result<Outcome, ApiError> {
    match (map.get("result"), map.get("error")) {
        (Some(result), None) => Ok(Outcome::Value(result.clone())),
        (None, Some(error)) => {
            let kind = error
                .get("kind")
                .and_then(Value::as_str)
                .and_then(|k| k.parse::<CallErrorKind>().ok())
                .ok_or_else(|| {
                    bad_body("`error.kind` must be one of FAILED, TIMEOUT, BAD_OUTPUT, CRASHED")
                })?;
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .ok_or_else(|| bad_body("`error.message` must be a string"))?
                .to_string();
            let stderr = error
                .get("stderr")
                .and_then(Value::as_str)
                .map(str::to_string);
            Ok(Outcome::Failed(Failure {
                message,
                kind,
                stderr,
            }))
        }
        _ => Err(bad_body(
            "a completion has exactly one of `result` (the function's value) and `error` \
             ({\"kind\", \"message\"})",
        )),
    }
}

/// `POST /v1/worker/calls/{id}/complete`.
pub(super) async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiBody(body): ApiBody,
) -> Result<Json<Value>, ApiError> {
    let map = body_object(&body)?;
    let token = token_for(&map, &id)?;
    let outcome = outcome_of(&map)?;
    let deployment = state.node.programs();
    let completion = blocking(&state.node, move |store| {
        let now = now_ms();
        let Some(call) = token.held(store, now)? else {
            return Ok(Completion::LeaseLost);
        };
        let done = complete_call(
            store,
            deployment.as_ref(),
            &token.worker,
            &call,
            outcome,
            now,
        )
        .map_err(store_error)?;
        let counts = match done {
            Completion::Completed => (0, 1, 0),
            Completion::Failed => (0, 0, 1),
            Completion::LeaseLost => return Ok(done),
        };
        store.clear_progress(&call.call.key)?;
        store.count_worker(&report(&token.worker, now, counts))?;
        Ok(done)
    })
    .await?;
    let outcome = match completion {
        Completion::Completed => "completed",
        Completion::Failed => "failed",
        Completion::LeaseLost => return Err(lease_lost()),
    };
    state.node.call_recorded();
    Ok(Json(json!({ "outcome": outcome })))
}

/// The longest a released call may wait before it can be leased again.
pub const MAX_RETRY_AFTER_MS: i64 = 3_600_000;

/// `POST /v1/worker/calls/{id}/release`: gives a leased call back without charging it
/// an attempt (its work did not happen here: the worker is stopping, or could not
/// start it), leasable again at once or after `retry_after_ms`.
pub(super) async fn release(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiBody(body): ApiBody,
) -> Result<Json<Value>, ApiError> {
    let map = body_object(&body)?;
    let token = token_for(&map, &id)?;
    let after = integer(&map, "retry_after_ms", 0, (0, MAX_RETRY_AFTER_MS))?;
    let released = blocking(&state.node, move |store| {
        let now = now_ms();
        if token.held(store, now)?.is_none() {
            return Ok(false);
        }
        store.retry_later(token.id, &token.worker, now.saturating_add(after))
    })
    .await?;
    if !released {
        return Err(lease_lost());
    }
    state.node.call_released();
    Ok(Json(json!({ "released": true })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_token_round_trips_and_nothing_else_decodes() {
        let token = LeaseToken {
            id: 42,
            attempt: 2,
            worker: "py-1".to_string(),
            lease_ms: 5_000,
        };
        assert_eq!(LeaseToken::decode(&token.encode()), Some(token));
        for bogus in ["", "abc", "zz", "7b7d", "é"] {
            assert_eq!(LeaseToken::decode(bogus), None, "{bogus}");
        }
    }
}
