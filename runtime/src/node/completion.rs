//! The step a call's completion triggers, taken by the node that ran the call, in the
//! transaction that records the completion ([`Store::complete_call_with_step`]): no
//! event message, no lease of it by the engine loop, no separate commit of the step.
//! The calls the step starts that this node's runner can take are leased to it in the
//! same transaction and run at once, without a lease of their own.
//!
//! Whenever the step cannot be taken so — the instance is missing or finished, the
//! engine refuses or ignores the event, the bundle cannot be loaded, another node
//! holds one of the instance's events or one is waiting, or the instance changed since
//! it was read — the completion's event is enqueued as before and the engine loop
//! (of any node) applies it.

use super::messages;
use super::step::{self, Computed};
use super::{Inner, now_ms};
use crate::calls::{CallsError, CompletionSteps, LeasedCall};
use crate::engine::Event;
use crate::store::{CallStep, CallStepped, OwnCalls, Store};
use std::sync::Arc;

/// A node's [`CompletionSteps`].
pub(super) struct NodeSteps {
    pub(super) inner: Arc<Inner>,
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
        let computed = if inner.stopping() {
            None
        } else {
            match step::compute(
                store,
                &inner.deployment,
                owner,
                instance,
                event,
                now,
                Some(owner),
            ) {
                Ok(Computed::Step {
                    commit,
                    calls,
                    events,
                }) => Some((commit, calls, events)),
                Ok(Computed::Missing | Computed::Refused(_) | Computed::Ignored) => None,
                Err(error) => {
                    tracing::debug!(%error, %instance, "step left to the engine loop");
                    None
                }
            }
        };
        let Some((commit, calls, events)) = computed else {
            return Ok(if store.ack_and_enqueue(call.id, owner, &[message], now)? {
                CallStepped::Enqueued
            } else {
                CallStepped::LeaseLost
            });
        };
        let new_calls = commit
            .enqueue
            .iter()
            .filter(|m| m.queue == messages::CALLS)
            .count();
        let own = (room > 0).then(|| OwnCalls {
            queue: messages::CALLS.to_string(),
            filter: inner.lease_filter(),
            lease_until: now_ms().saturating_add(inner.config.lease_ms),
            limit: room,
        });
        let stepped = store.complete_call_with_step(CallStep {
            call: call.id,
            owner: owner.to_string(),
            event: message,
            step: *commit,
            own,
        })?;
        if let CallStepped::Stepped(leased) = &stepped {
            inner.committed(1);
            if calls && leased.len() < new_calls {
                inner.wake_calls.notify_one();
            }
            if events {
                inner.wake_events.notify_one();
            }
        }
        Ok(stepped)
    }
}
