//! `cosmosc worker --server URL`: the calls come from a node's API over the HTTP worker
//! protocol (docs/runtime.md, "HTTP workers") instead of the store; the same runner
//! and executor run them.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use cosmos_runtime::calls::{CallSource, CallsError, Completion, LeasedCall, Outcome};
use cosmos_runtime::node::messages::CallMessage;
use cosmos_runtime::store::WorkerRecord;
use serde_json::{Value, json};

use crate::remote::{RemoteError, Server};

/// How long a lease request waits on the node for a call when none is ready: the node
/// answers as soon as one of its steps enqueues one, so a call that follows another in
/// its instance reaches the worker without polling; short enough that a stop is not
/// held up by a lease in flight.
const LONG_POLL_MS: u64 = 200;

/// A [`CallSource`] on a node's `/v1/worker/…` endpoints.
pub(crate) struct HttpSource {
    server: Arc<Server>,
    name: String,
    pools: Vec<String>,
    lease_ms: i64,
    /// The lease token of each call held, by call id.
    leases: Mutex<HashMap<i64, String>>,
}

impl HttpSource {
    pub(crate) fn new(server: Server, name: String, pools: Vec<String>, lease_ms: i64) -> Self {
        HttpSource {
            server: Arc::new(server),
            name,
            pools,
            lease_ms: lease_ms.clamp(100, 3_600_000),
            leases: Mutex::new(HashMap::new()),
        }
    }

    fn lease_of(&self, call: &LeasedCall) -> Option<String> {
        self.leases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&call.id)
            .cloned()
    }

    fn forget(&self, call: &LeasedCall) {
        self.leases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&call.id);
    }

    /// POSTs `body` to `path` on a blocking thread.
    async fn post(&self, path: String, body: Value) -> Result<Value, RemoteError> {
        let server = Arc::clone(&self.server);
        tokio::task::spawn_blocking(move || server.post(&path, Some(&body)))
            .await
            .map_err(|e| RemoteError::Unreachable {
                url: String::new(),
                reason: e.to_string(),
            })?
    }
}

impl HttpSource {
    /// Gives call `id` back (`/release`), leasable again after `after_ms`; false when
    /// its lease was lost already.
    async fn release(&self, id: i64, lease: String, after_ms: i64) -> Result<bool, CallsError> {
        let path = format!("/v1/worker/calls/{id}/release");
        let body = json!({ "lease": lease, "retry_after_ms": after_ms.min(3_600_000) });
        match self.post(path, body).await {
            Ok(_) => Ok(true),
            Err(e) if lost(&e) => Ok(false),
            Err(e) => Err(task_error(e)),
        }
    }
}

fn task_error(e: RemoteError) -> CallsError {
    CallsError::Task(e.to_string())
}

fn lost(e: &RemoteError) -> bool {
    matches!(e, RemoteError::Refused { code, .. } if code == "lease_lost")
}

/// A call of a lease answer.
fn leased(call: &Value) -> Option<(LeasedCall, String)> {
    let id = call["id"].as_str()?.parse::<i64>().ok()?;
    let lease = call["lease"].as_str()?.to_string();
    // The call's engine identity stays on the server (in the lease token); the
    // runner needs its function, arguments and idempotency key.
    let message = CallMessage {
        instance: call["instance"].as_str()?.to_string(),
        bundle: String::new(),
        call: cosmos_runtime::engine::CallId {
            rule: String::new(),
            firing: 0,
            index: 0,
            attempt: 0,
        },
        key: call["idempotency_key"].as_str()?.to_string(),
        function: call["function"].as_str()?.to_string(),
        args: call["arguments"].as_object()?.clone(),
    };
    let attempts = u32::try_from(call["attempt"].as_u64()?).ok()?;
    Some((
        LeasedCall {
            id,
            call: message,
            attempts,
        },
        lease,
    ))
}

impl CallSource for HttpSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn lease_ms(&self) -> i64 {
        self.lease_ms
    }

    async fn lease(&self, want: usize) -> Result<Vec<LeasedCall>, CallsError> {
        let body = json!({
            "worker": self.name, "pools": self.pools, "max": want.clamp(1, 100),
            "wait_ms": LONG_POLL_MS, "lease_ms": self.lease_ms,
        });
        let answer = self
            .post("/v1/worker/lease".to_string(), body)
            .await
            .map_err(task_error)?;
        let mut calls = Vec::new();
        for call in answer["calls"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            match leased(call) {
                Some((call, lease)) => {
                    self.leases
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(call.id, lease);
                    calls.push(call);
                }
                None => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "cosmosc worker: the node leased a call this worker cannot read: {call}"
                    );
                }
            }
        }
        Ok(calls)
    }

    async fn renew(&self, call: &LeasedCall) -> Result<bool, CallsError> {
        let Some(lease) = self.lease_of(call) else {
            return Ok(false);
        };
        let path = format!("/v1/worker/calls/{}/heartbeat", call.id);
        match self.post(path, json!({ "lease": lease })).await {
            Ok(_) => Ok(true),
            Err(e) if lost(&e) => Ok(false),
            Err(e) => Err(task_error(e)),
        }
    }

    async fn progress(&self, call: &LeasedCall, report: Value) -> Result<(), CallsError> {
        let Some(lease) = self.lease_of(call) else {
            return Ok(());
        };
        // A report that is not an object is not sent (the protocol takes objects).
        if !report.is_object() {
            return Ok(());
        }
        let path = format!("/v1/worker/calls/{}/heartbeat", call.id);
        match self
            .post(path, json!({ "lease": lease, "progress": report }))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if lost(&e) => Ok(()),
            Err(e) => Err(task_error(e)),
        }
    }

    async fn clear_progress(&self, _call: &LeasedCall) -> Result<(), CallsError> {
        // The node clears a call's progress when it completes.
        Ok(())
    }

    async fn complete(
        &self,
        call: &LeasedCall,
        outcome: Outcome,
    ) -> Result<Completion, CallsError> {
        let Some(lease) = self.lease_of(call) else {
            return Ok(Completion::LeaseLost);
        };
        let body = match outcome {
            Outcome::Value(value) => json!({ "lease": lease, "result": value }),
            Outcome::Failed(failure) => json!({
                "lease": lease,
                "error": {
                    "kind": failure.kind.as_str(),
                    "message": failure.message,
                    "stderr": failure.stderr,
                },
            }),
        };
        let path = format!("/v1/worker/calls/{}/complete", call.id);
        let answer = self.post(path, body).await;
        self.forget(call);
        match answer {
            Ok(answer) if answer["outcome"] == "completed" => Ok(Completion::Completed),
            Ok(_) => Ok(Completion::Failed),
            Err(e) if lost(&e) => Ok(Completion::LeaseLost),
            Err(e) => Err(task_error(e)),
        }
    }

    async fn retry_later(&self, call: &LeasedCall, visible_at: i64) -> Result<bool, CallsError> {
        let Some(lease) = self.lease_of(call) else {
            return Ok(false);
        };
        self.forget(call);
        let after = visible_at
            .saturating_sub(cosmos_runtime::node::now_ms())
            .max(0);
        self.release(call.id, lease, after).await
    }

    async fn release_all(&self) -> Result<u64, CallsError> {
        // Every call still held at a stop goes back at once, not charged an attempt.
        let leases: Vec<(i64, String)> = self
            .leases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .collect();
        let mut released = 0;
        for (id, lease) in leases {
            if self.release(id, lease, 0).await? {
                released += 1;
            }
        }
        Ok(released)
    }

    async fn heartbeat(&self, _worker: WorkerRecord) -> Result<(), CallsError> {
        // The node writes an HTTP worker's row in the registry when it leases.
        Ok(())
    }
}
