//! The call loop: leases call messages, runs them on the executor, checks each result
//! against the function's declared type, and turns it into an engine event — the
//! acknowledgement of the call and the enqueueing of its event in one transaction, so
//! a result is neither lost nor delivered twice.

use super::messages::{self, CallMessage};
use super::{Inner, now_ms};
use crate::engine::{Event, Failure};
use crate::executor::{CallErrorKind, CallJob};
use crate::store::{LeaseRequest, Leased};
use cosmos_ir::json::{result_from_json, to_json, ty_name};
use serde_json::Value as Json;
use std::sync::Arc;

pub(super) async fn run(inner: Arc<Inner>) {
    // Lease no more calls than the pools can run at once: a leased call counts an
    // attempt, and one left waiting for a process would be charged for a crash it
    // never ran in — and withheld from other nodes with room to run it.
    let limit = inner.config.max_calls.min(inner.executor.capacity()).max(1);
    let permits = Arc::new(tokio::sync::Semaphore::new(limit));
    loop {
        if inner.stopping() {
            break;
        }
        let free = permits.available_permits();
        if free == 0 {
            // Every place is taken: wait until a call ends (or the poll passes, to
            // notice a stop).
            if let Ok(Ok(place)) = tokio::time::timeout(inner.config.poll, permits.acquire()).await
            {
                drop(place);
            }
            continue;
        }
        let leased = {
            let store = Arc::clone(&inner.store);
            let request = LeaseRequest {
                queue: messages::CALLS.to_string(),
                owner: inner.config.owner.clone(),
                now: now_ms(),
                lease_ms: inner.config.lease_ms,
                limit: free,
                filter: inner.lease_filter(),
            };
            // A store with a fault (logged when found) gets no more work: a call's
            // result could not be kept.
            let lease = move || match store.fault() {
                Some(_) => Ok(Vec::new()),
                None => store.lease(&request),
            };
            match tokio::task::spawn_blocking(lease).await {
                Ok(Ok(leased)) => leased,
                Ok(Err(error)) => {
                    tracing::error!(%error, "cannot lease calls");
                    Vec::new()
                }
                Err(error) => {
                    tracing::error!(%error, "lease task failed");
                    Vec::new()
                }
            }
        };
        if leased.is_empty() {
            inner.wait_for_calls().await;
            continue;
        }
        for message in leased {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let inner = Arc::clone(&inner);
            inner
                .calls_running
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                run_one(&inner, message).await;
                inner
                    .calls_running
                    .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                inner.idle.notify_waiters();
                drop(permit);
            });
        }
    }
}

/// How long a call whose process could not be started for lack of resources waits
/// before it is leased again.
const RETRY_LATER_MS: i64 = 1_000;

fn failure(kind: CallErrorKind, message: String, stderr: Option<String>) -> Failure {
    Failure {
        message,
        kind,
        stderr,
    }
}

async fn run_one(inner: &Arc<Inner>, message: Leased) {
    let owner = inner.config.owner.clone();
    let call: CallMessage = match serde_json::from_value(message.payload.clone()) {
        Ok(call) => call,
        Err(error) => {
            let store = Arc::clone(&inner.store);
            let reason = format!("unreadable call message: {error}");
            let _ =
                tokio::task::spawn_blocking(move || store.dead_letter(message.id, &owner, &reason))
                    .await;
            return;
        }
    };
    if !still_wanted(inner, &call).await {
        // The instance finished (LANGUAGE.md 10.1: nothing of it runs after it ends),
        // or the firing that asked for this call is over (an `error` block of its
        // fan-out gave up): the call is cancelled before it runs.
        tracing::debug!(key = %call.key, "call no longer wanted; not run");
        let store = Arc::clone(&inner.store);
        let _ = tokio::task::spawn_blocking(move || store.ack(message.id, &owner, now_ms())).await;
        return;
    }
    let program = {
        let store = Arc::clone(&inner.store);
        let inner2 = Arc::clone(inner);
        let bundle = call.bundle.clone();
        tokio::task::spawn_blocking(move || inner2.deployment.program(store.as_ref(), &bundle))
            .await
    };
    let function = match &program {
        Ok(Ok(p)) => p
            .functions
            .iter()
            .find(|f| f.name == call.function)
            .cloned(),
        _ => None,
    };
    let event = if message.attempts > messages::CALL_MAX_ATTEMPTS {
        Event::CallFailed {
            call: call.call.clone(),
            failure: failure(
                CallErrorKind::Crashed,
                format!(
                    "the runtime stopped while running this call {} times",
                    messages::CALL_MAX_ATTEMPTS
                ),
                None,
            ),
        }
    } else if let (Ok(Ok(program)), Some(function)) = (&program, function) {
        let timeout = i64::try_from(
            crate::executor::FunctionSpec::from_ir(&function)
                .timeout
                .as_millis(),
        )
        .unwrap_or(i64::MAX);
        {
            let store = Arc::clone(&inner.store);
            let owner = owner.clone();
            let until = now_ms()
                .saturating_add(timeout)
                .saturating_add(inner.config.lease_ms);
            let _ =
                tokio::task::spawn_blocking(move || store.extend(message.id, &owner, until)).await;
        }
        let job = CallJob {
            key: call.key.clone(),
            function: call.function.clone(),
            args: call.args.clone(),
            priority: 0,
        };
        let progress = Progress::start(inner, &call.instance, &call.key);
        let outcome = inner
            .executor
            .call_with_progress(job, Some(progress.sink()))
            .await;
        progress.finish().await;
        match outcome {
            // A tolerant reader: members the result's records do not declare are
            // dropped here, so the history and the reaction see only declared fields.
            Ok(value) => match result_from_json(program, &function.ret, &value) {
                Ok(read) => Event::CallCompleted {
                    call: call.call.clone(),
                    result: to_json(program, &read),
                },
                Err(shape) => Event::CallFailed {
                    call: call.call.clone(),
                    failure: failure(
                        CallErrorKind::BadOutput,
                        format!(
                            "`{}` returned a value that is not {}: {shape}",
                            call.function,
                            with_article(&ty_name(program, &function.ret))
                        ),
                        None,
                    ),
                },
            },
            // The node could not start the process (no descriptors, no memory): the
            // call never ran, so the workflow hears nothing and the call runs later,
            // here or on another node, without being charged an attempt.
            Err(error) if error.retry_later => {
                tracing::warn!(key = %call.key, %error, "call postponed: the node is out of resources");
                let store = Arc::clone(&inner.store);
                let until = now_ms().saturating_add(RETRY_LATER_MS);
                let id = message.id;
                let _ =
                    tokio::task::spawn_blocking(move || store.retry_later(id, &owner, until)).await;
                return;
            }
            Err(error) => Event::CallFailed {
                call: call.call.clone(),
                failure: failure(error.kind, error.message, error.stderr),
            },
        }
    } else {
        Event::CallFailed {
            call: call.call.clone(),
            failure: failure(
                CallErrorKind::Failed,
                format!("the deployed bundle has no function `{}`", call.function),
                None,
            ),
        }
    };
    let event_message = messages::event(&call.instance, event, now_ms(), 0);
    let store = Arc::clone(&inner.store);
    let acked = tokio::task::spawn_blocking(move || {
        store.ack_and_enqueue(message.id, &owner, &[event_message], now_ms())
    })
    .await;
    match acked {
        Ok(Ok(true)) => inner.wake_events.notify_one(),
        Ok(Ok(false)) => {
            tracing::warn!(key = %call.key, "the call's lease was lost; its result is dropped");
        }
        Ok(Err(error)) => tracing::error!(%error, key = %call.key, "cannot record a call result"),
        Err(error) => tracing::error!(%error, "result task failed"),
    }
}

/// Whether the instance still waits for `call` (its rule, firing, index and attempt).
/// Only a definite no counts: a store error or an unreadable state runs the call, whose
/// result the engine ignores if it does not matter.
async fn still_wanted(inner: &Arc<Inner>, call: &CallMessage) -> bool {
    let store = Arc::clone(&inner.store);
    let id = call.instance.clone();
    let record = match tokio::task::spawn_blocking(move || store.instance(&id)).await {
        Ok(Ok(Some(record))) => record,
        Ok(Ok(None)) => return false,
        _ => return true,
    };
    if record.status.is_finished() {
        return false;
    }
    let Ok(state) = super::step::load_state(&record) else {
        return true;
    };
    let wanted = &call.call;
    state.waiting().iter().any(|w| {
        w.rule == wanted.rule
            && w.firing == wanted.firing
            && w.index == wanted.index
            && w.attempt == wanted.attempt
    })
}

/// How often, at most, the latest progress of one call is written to the store.
const PROGRESS_WRITE_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// A running call's progress reports: counted as they come, and the latest written to
/// the store (at most every [`PROGRESS_WRITE_EVERY`]) for the API and `explain`.
struct Progress {
    latest: Arc<std::sync::Mutex<Option<tokio::sync::watch::Sender<Option<Json>>>>>,
    inner: Arc<Inner>,
    writer: tokio::task::JoinHandle<bool>,
    key: String,
}

impl Progress {
    fn start(inner: &Arc<Inner>, instance: &str, key: &str) -> Progress {
        let (tx, mut rx) = tokio::sync::watch::channel::<Option<Json>>(None);
        let store = Arc::clone(&inner.store);
        let (instance, key_owned) = (instance.to_string(), key.to_string());
        let writer = tokio::spawn(async move {
            let mut wrote = false;
            let mut open = rx.changed().await.is_ok();
            while open {
                let report = rx.borrow_and_update().clone();
                if let Some(report) = report {
                    let (store, instance, key) =
                        (Arc::clone(&store), instance.clone(), key_owned.clone());
                    let written = tokio::task::spawn_blocking(move || {
                        store.record_progress(&instance, &key, &report, now_ms())
                    })
                    .await;
                    match written {
                        Ok(Ok(())) => wrote = true,
                        Ok(Err(error)) => {
                            tracing::warn!(%error, "cannot record a call's progress");
                        }
                        Err(error) => tracing::warn!(%error, "progress task failed"),
                    }
                }
                // A quiet window before the next write; the call's end cuts it short
                // (its progress is then forgotten, not written).
                let until = tokio::time::Instant::now() + PROGRESS_WRITE_EVERY;
                let mut newer = false;
                while open {
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => break,
                        changed = rx.changed() => match changed {
                            Ok(()) => newer = true,
                            Err(_) => open = false,
                        },
                    }
                }
                if open && !newer {
                    open = rx.changed().await.is_ok();
                }
            }
            wrote
        });
        Progress {
            latest: Arc::new(std::sync::Mutex::new(Some(tx))),
            inner: Arc::clone(inner),
            writer,
            key: key.to_string(),
        }
    }

    /// Where the executor sends the call's reports.
    fn sink(&self) -> crate::executor::ProgressSink {
        let latest = Arc::clone(&self.latest);
        let inner = Arc::clone(&self.inner);
        Arc::new(move |report| {
            inner
                .progress_reports
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(tx) = latest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
            {
                tx.send_replace(Some(Json::Object(report)));
            }
        })
    }

    /// The call ended: its last report is written, then forgotten.
    async fn finish(self) {
        drop(
            self.latest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(),
        );
        if let Ok(true) = self.writer.await {
            let store = Arc::clone(&self.inner.store);
            let key = self.key;
            let cleared = tokio::task::spawn_blocking(move || store.clear_progress(&key)).await;
            if let Ok(Err(error)) = cleared {
                tracing::warn!(%error, "cannot clear a call's progress");
            }
        }
    }
}

/// A type's name in backticks after its article: "an `Int`", "a `String`".
fn with_article(ty: &str) -> String {
    let vowel = ty
        .chars()
        .next()
        .is_some_and(|c| matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u'));
    format!("{} `{ty}`", if vowel { "an" } else { "a" })
}
