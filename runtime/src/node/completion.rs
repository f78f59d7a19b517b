//! The step a call's completion triggers, taken by the node that ran the call, in the
//! transaction that records the completion ([`Store::complete_call_with_step`]): no
//! event message, no lease of it by the engine loop, no separate commit of the step.
//! The calls the step starts that this node's runner can take are leased to it in the
//! same transaction and run at once, without a lease of their own; when the step starts
//! none (the instance finished, or waits), the place is given to a call waiting in the
//! queue, leased in that transaction too ([`CallStep::fill`]).
//!
//! Whenever the step cannot be taken so — the instance is missing or finished, the
//! engine refuses or ignores the event, the bundle cannot be loaded, another node
//! holds one of the instance's events or one is waiting, or the instance changed since
//! it was read — the completion's event is enqueued as before and the engine loop
//! (of any node) applies it.
//!
//! The node keeps the instances it stepped so, as it committed them, and computes the
//! next completion's step on that copy instead of reading the instance again: a copy
//! that is outdated (a signal, another node's step) fails the commit's version check,
//! and the completion goes through the queue.

use super::Inner;
use super::messages;
use super::step::{self, Computed};
use crate::calls::{CallsError, CompletionSteps, LeasedCall};
use crate::engine::Event;
use crate::store::{CallStep, CallStepped, InstanceRecord, StepCommit, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Instances kept as last committed, at most (beyond, the copies are dropped).
const KEPT: usize = 4_096;

/// A node's [`CompletionSteps`].
pub(super) struct NodeSteps {
    inner: Arc<Inner>,
    /// The instances this node last stepped on a completion, as committed.
    kept: Mutex<HashMap<String, InstanceRecord>>,
}

impl NodeSteps {
    pub(super) fn new(inner: Arc<Inner>) -> NodeSteps {
        NodeSteps {
            inner,
            kept: Mutex::new(HashMap::new()),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<String, InstanceRecord>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The instance `id` as this node last committed it, or as read now (`None` when
    /// it cannot be read: the engine loop will).
    fn record(&self, store: &dyn Store, id: &str) -> Option<InstanceRecord> {
        if let Some(record) = self.kept().remove(id) {
            return Some(record);
        }
        match store.instance(id) {
            Ok(record) => record,
            Err(error) => {
                tracing::debug!(%error, instance = %id, "step left to the engine loop");
                None
            }
        }
    }

    /// Keeps `record` after `commit`, unless the instance finished.
    fn keep(&self, mut record: InstanceRecord, commit: &StepCommit) {
        if commit.status.is_finished() {
            return;
        }
        record.status = commit.status;
        record.facts = commit.facts.clone();
        record.output = commit.output.clone();
        record.failure = commit.failure.clone();
        record.state = commit.state.clone();
        record.version = commit.expected_version.saturating_add(1);
        record.updated_at = commit.now;
        let mut kept = self.kept();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(record.id.clone(), record);
    }
}

impl CompletionSteps for NodeSteps {
    fn complete(
        &self,
        store: &dyn Store,
        owner: &str,
        call: &LeasedCall,
        event: Event,
        now: i64,
        room: usize,
    ) -> Result<CallStepped, CallsError> {
        let inner = &self.inner;
        let instance = &call.call.instance;
        let message = messages::event_from(instance, event.clone(), now, 0, Some(owner));
        let record = if inner.stopping() {
            None
        } else {
            self.record(store, instance)
        };
        let computed = record.and_then(|record| {
            match step::compute_on(
                store,
                &inner.deployment,
                owner,
                &record,
                event,
                now,
                Some(owner),
            ) {
                Ok(Computed::Step {
                    commit,
                    calls,
                    events,
                }) => Some((record, commit, calls, events)),
                Ok(Computed::Missing | Computed::Refused(_) | Computed::Ignored) => None,
                Err(error) => {
                    tracing::debug!(%error, %instance, "step left to the engine loop");
                    None
                }
            }
        });
        let Some((record, commit, calls, events)) = computed else {
            return Ok(if store.ack_and_enqueue(call.id, owner, &[message], now)? {
                CallStepped::Enqueued
            } else {
                CallStepped::LeaseLost
            });
        };
        let own = inner.own_calls(room);
        let kept = commit.clone();
        let stepped = store.complete_call_with_step(CallStep {
            call: call.id,
            owner: owner.to_string(),
            event: message,
            step: *commit,
            own,
            fill: true,
        })?;
        if let CallStepped::Stepped { own, .. } = &stepped {
            self.keep(record, &kept);
            inner.committed(1);
            if own.len() < calls {
                inner.wake_calls.notify_one();
            }
            if events {
                inner.wake_events.notify_one();
            }
        }
        Ok(stepped)
    }
}
