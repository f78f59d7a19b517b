//! Where a runner's calls come from and where their outcomes go. [`StoreSource`] works
//! directly on the store (a node, or a worker given the store's URL); a remote source
//! (a worker speaking HTTP to a node) implements the same trait.

use super::complete::completion_event;
use super::lease::settle_leased;
use super::{
    CallsError, Completion, CompletionSteps, Continued, LeasedCall, Outcome, Programs,
    complete_call, lease_calls,
};
use crate::engine::Event;
use crate::node::{messages, now_ms};
use crate::store::{CallStepped, LeaseRequest, Store, WorkerRecord};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// The operations a [`Runner`](super::Runner) needs from whoever holds the calls.
/// Every lease is held under [`CallSource::name`].
pub trait CallSource: Send + Sync + 'static {
    /// The name the calls are leased under: the worker's (or node's) name.
    fn name(&self) -> &str;
    /// How long a lease lasts without renewal, in milliseconds.
    fn lease_ms(&self) -> i64;
    /// Up to `want` calls to run (see [`lease_calls`]), each leased for
    /// [`CallSource::lease_ms`].
    fn lease(
        &self,
        want: usize,
    ) -> impl Future<Output = Result<Vec<LeasedCall>, CallsError>> + Send;
    /// Extends `call`'s lease to [`CallSource::lease_ms`] from now; false when the
    /// lease was lost.
    fn renew(&self, call: &LeasedCall) -> impl Future<Output = Result<bool, CallsError>> + Send;
    /// Keeps `report` as `call`'s latest progress.
    fn progress(
        &self,
        call: &LeasedCall,
        report: Json,
    ) -> impl Future<Output = Result<(), CallsError>> + Send;
    /// Forgets `call`'s progress (it ended).
    fn clear_progress(
        &self,
        call: &LeasedCall,
    ) -> impl Future<Output = Result<(), CallsError>> + Send;
    /// Records how `call` ended (see [`complete_call`]).
    fn complete(
        &self,
        call: &LeasedCall,
        outcome: Outcome,
    ) -> impl Future<Output = Result<Completion, CallsError>> + Send;
    /// Records how `call` ended, and takes the step it triggers when this source can
    /// (a node's own store, see [`CompletionSteps`]), leasing up to `room` of that
    /// step's calls to run at once. Without, the same as [`CallSource::complete`].
    fn complete_and_continue(
        &self,
        call: &LeasedCall,
        outcome: Outcome,
        room: usize,
    ) -> impl Future<Output = Result<Continued, CallsError>> + Send {
        let _ = room;
        async move {
            Ok(Continued {
                completion: self.complete(call, outcome).await?,
                stepped: false,
                calls: Vec::new(),
            })
        }
    }
    /// Gives `call` back without charging it an attempt, to be leased again from
    /// `visible_at`: its process could not be started for lack of resources here.
    fn retry_later(
        &self,
        call: &LeasedCall,
        visible_at: i64,
    ) -> impl Future<Output = Result<bool, CallsError>> + Send;
    /// Gives back every lease held under [`CallSource::name`], at once leasable by
    /// others and without charging an attempt (a graceful stop); returns how many.
    fn release_all(&self) -> impl Future<Output = Result<u64, CallsError>> + Send;
    /// Writes `worker` to the registry of workers.
    fn heartbeat(
        &self,
        worker: WorkerRecord,
    ) -> impl Future<Output = Result<(), CallsError>> + Send;
}

/// A [`CallSource`] on the store itself.
pub struct StoreSource {
    store: Arc<dyn Store>,
    programs: Arc<dyn Programs>,
    name: String,
    lease_ms: i64,
    filter: BTreeMap<String, Vec<String>>,
    /// The engine that takes the step a completion triggers (a node's).
    steps: Option<Arc<dyn CompletionSteps>>,
}

impl StoreSource {
    /// Leases the calls whose message metadata passes `filter` (`{"pool": [...]}` for a
    /// worker serving some pools; `{"instance": [id]}` for `cosmosc run`) under `name`,
    /// for `lease_ms` at a time; reads bundles' programs from `programs`.
    pub fn new(
        store: Arc<dyn Store>,
        programs: Arc<dyn Programs>,
        name: String,
        lease_ms: i64,
        filter: BTreeMap<String, Vec<String>>,
    ) -> StoreSource {
        StoreSource {
            store,
            programs,
            name,
            lease_ms: lease_ms.max(1),
            filter,
            steps: None,
        }
    }

    /// Completions take the step they trigger through `steps` (see
    /// [`CallSource::complete_and_continue`]).
    pub fn with_steps(mut self, steps: Arc<dyn CompletionSteps>) -> StoreSource {
        self.steps = Some(steps);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs `f` on the store on a blocking thread.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store, &dyn Programs) -> Result<T, CallsError> + Send + 'static,
    ) -> Result<T, CallsError> {
        let store = Arc::clone(&self.store);
        let programs = Arc::clone(&self.programs);
        tokio::task::spawn_blocking(move || f(store.as_ref(), programs.as_ref()))
            .await
            .map_err(|e| CallsError::Task(e.to_string()))?
    }
}

impl CallSource for StoreSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn lease_ms(&self) -> i64 {
        self.lease_ms
    }

    async fn lease(&self, want: usize) -> Result<Vec<LeasedCall>, CallsError> {
        let request = LeaseRequest {
            queue: messages::CALLS.to_string(),
            owner: self.name.clone(),
            now: now_ms(),
            lease_ms: self.lease_ms,
            limit: want,
            filter: self.filter.clone(),
        };
        self.blocking(move |store, programs| {
            // A store with a fault (logged when found) gets no more work: a call's
            // result could not be kept.
            if store.fault().is_some() {
                return Ok(Vec::new());
            }
            lease_calls(store, programs, &request)
        })
        .await
    }

    async fn renew(&self, call: &LeasedCall) -> Result<bool, CallsError> {
        let (id, owner, lease_ms) = (call.id, self.name.clone(), self.lease_ms);
        self.blocking(move |store, _| {
            let now = now_ms();
            Ok(store.extend(id, &owner, now, now.saturating_add(lease_ms))?)
        })
        .await
    }

    async fn progress(&self, call: &LeasedCall, report: Json) -> Result<(), CallsError> {
        let (instance, key) = (call.call.instance.clone(), call.call.key.clone());
        self.blocking(move |store, _| {
            Ok(store.record_progress(&instance, &key, &report, now_ms())?)
        })
        .await
    }

    async fn clear_progress(&self, call: &LeasedCall) -> Result<(), CallsError> {
        let key = call.call.key.clone();
        self.blocking(move |store, _| Ok(store.clear_progress(&key)?))
            .await
    }

    async fn complete(
        &self,
        call: &LeasedCall,
        outcome: Outcome,
    ) -> Result<Completion, CallsError> {
        let (call, owner) = (call.clone(), self.name.clone());
        self.blocking(move |store, programs| {
            complete_call(store, programs, &owner, &call, outcome, now_ms())
        })
        .await
    }

    async fn complete_and_continue(
        &self,
        call: &LeasedCall,
        outcome: Outcome,
        room: usize,
    ) -> Result<Continued, CallsError> {
        let Some(steps) = self.steps.clone() else {
            return Ok(Continued {
                completion: self.complete(call, outcome).await?,
                stepped: false,
                calls: Vec::new(),
            });
        };
        let (call, owner) = (call.clone(), self.name.clone());
        self.blocking(move |store, programs| {
            let now = now_ms();
            let event = completion_event(store, programs, &call, outcome)?;
            let completion = Completion::of(matches!(event, Event::CallCompleted { .. }));
            let (own, queued) = match steps.complete(store, &owner, &call, event, now, room)? {
                CallStepped::LeaseLost => {
                    return Ok(Continued {
                        completion: Completion::LeaseLost,
                        stepped: false,
                        calls: Vec::new(),
                    });
                }
                CallStepped::Enqueued => {
                    return Ok(Continued {
                        completion,
                        stepped: false,
                        calls: Vec::new(),
                    });
                }
                CallStepped::Stepped { own, queued } => (own, queued),
            };
            let mut calls = settle_leased(store, programs, &owner, own, now, false);
            calls.extend(settle_leased(store, programs, &owner, queued, now, true));
            Ok(Continued {
                completion,
                stepped: true,
                calls,
            })
        })
        .await
    }

    async fn retry_later(&self, call: &LeasedCall, visible_at: i64) -> Result<bool, CallsError> {
        let (id, owner) = (call.id, self.name.clone());
        self.blocking(move |store, _| Ok(store.retry_later(id, &owner, visible_at)?))
            .await
    }

    async fn release_all(&self) -> Result<u64, CallsError> {
        let owner = self.name.clone();
        self.blocking(move |store, _| Ok(store.release_owner(&owner)?))
            .await
    }

    async fn heartbeat(&self, worker: WorkerRecord) -> Result<(), CallsError> {
        self.blocking(move |store, _| Ok(store.record_worker(&worker)?))
            .await
    }
}
