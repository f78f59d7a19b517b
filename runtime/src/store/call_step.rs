//! A call's completion and the step it triggers, committed together
//! ([`super::Store::complete_call_with_step`]): what a node that ran a call itself
//! writes instead of an event message that its own engine loop would lease a moment
//! later.
//!
//! The step was computed on the instance as read before the transaction; it commits
//! only if, in the transaction, the call's lease is still held, the instance is still
//! at the version the step read, and no event of the instance is held (leased, by any
//! owner, even with an expired lease) or waiting (ready and visible): the instance's
//! exclusivity is as strong as when the event went through the queue, and no event is
//! overtaken by a later one. Otherwise the completion's event is enqueued as it always
//! was, in the same transaction as the call's acknowledgement.

use std::collections::BTreeMap;

use super::{LeaseRequest, Leased, MessageId, NewMessage, StepCommit};

/// What [`super::Store::complete_call_with_step`] takes.
#[derive(Debug, Clone, PartialEq)]
pub struct CallStep {
    /// The call message, leased by `owner`: acknowledged in any case (unless its lease
    /// was lost, when nothing is written).
    pub call: MessageId,
    pub owner: String,
    /// The completion's event message (on the events queue, exclusive per instance):
    /// enqueued when the step is not taken. Its exclusivity value names the instance
    /// whose events must be neither held nor waiting.
    pub event: NewMessage,
    /// The step the event triggers; its `ack` must be `None` (the call is acked).
    pub step: StepCommit,
    /// Which of the step's new messages `owner` leases in the same transaction.
    pub own: Option<OwnCalls>,
    /// When the step is taken and leases fewer of its own calls than `own.limit`
    /// allows, lease the rest from the calls waiting in `own.queue` (ready, passing
    /// `own.filter`, in delivery order, as [`super::Store::lease`] would) in the same
    /// transaction: the place the completed call leaves goes to the next call waiting,
    /// without a lease of its own.
    pub fill: bool,
}

/// Messages a step enqueues that the committing node leases at once, as a
/// [`super::Store::lease`] by `owner` with `filter` would: those of `queue` without an
/// exclusivity value, with an idempotency key (as calls have), visible at the step's
/// `now`, whose metadata pass `filter`, in the step's order, at most `limit`. A
/// message not inserted (a live duplicate of its idempotency key) is not leased.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OwnCalls {
    pub queue: String,
    pub filter: BTreeMap<String, Vec<String>>,
    pub lease_until: i64,
    pub limit: usize,
}

impl OwnCalls {
    /// The indexes in `enqueue` of the messages to lease.
    pub(crate) fn pick(&self, enqueue: &[NewMessage], now: i64) -> Vec<usize> {
        enqueue
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                m.queue == self.queue
                    && m.exclusivity.is_none()
                    && m.idempotency_key.is_some()
                    && m.visible_at <= now
                    && self.filter.iter().all(|(key, allowed)| {
                        m.metadata.get(key).is_some_and(|v| allowed.contains(v))
                    })
            })
            .map(|(i, _)| i)
            .take(self.limit)
            .collect()
    }
}

/// The lease of the calls waiting that fill the room `own` leaves after a step
/// leased `leased` of its own calls (see [`CallStep::fill`]), if any.
pub(crate) fn fill_request(step: &CallStep, own: &OwnCalls, leased: usize) -> Option<LeaseRequest> {
    let limit = own.limit.saturating_sub(leased);
    (step.fill && limit > 0).then(|| LeaseRequest {
        queue: own.queue.clone(),
        owner: step.owner.clone(),
        now: step.step.now,
        lease_ms: own.lease_until.saturating_sub(step.step.now),
        limit,
        filter: own.filter.clone(),
    })
}

/// What [`super::Store::complete_call_with_step`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum CallStepped {
    /// The call was acknowledged and the step committed; `own` of its messages are
    /// leased to the owner (see [`OwnCalls`]), in the step's order, and `queued` are
    /// the calls that were waiting in the queue, leased with it ([`CallStep::fill`]).
    Stepped {
        own: Vec<Leased>,
        queued: Vec<Leased>,
    },
    /// The call was acknowledged and its event enqueued: the instance's events were
    /// held or waiting, or the instance changed since the step read it.
    Enqueued,
    /// The call's lease was no longer held: nothing was written.
    LeaseLost,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn own_calls_are_picked_by_queue_filter_visibility_and_limit() {
        let call = |pool: &str, visible_at: i64| {
            let mut m = NewMessage::new("calls", json!(null), visible_at);
            m.metadata.insert("pool".into(), pool.into());
            m.idempotency_key = Some(format!("k{pool}{visible_at}"));
            m
        };
        let mut exclusive = call("a", 0);
        exclusive.exclusivity = Some("x".into());
        let mut unkeyed = call("a", 0);
        unkeyed.idempotency_key = None;
        let enqueue = vec![
            call("a", 0),
            NewMessage::new("events", json!(null), 0),
            call("b", 0),
            call("a", 10),
            exclusive,
            unkeyed,
            call("a", 0),
            call("a", 0),
        ];
        let own = OwnCalls {
            queue: "calls".into(),
            filter: BTreeMap::from([("pool".to_string(), vec!["a".to_string()])]),
            lease_until: 100,
            limit: 2,
        };
        assert_eq!(own.pick(&enqueue, 5), vec![0, 6]);
        let all = OwnCalls {
            filter: BTreeMap::new(),
            limit: 10,
            ..own.clone()
        };
        assert_eq!(all.pick(&enqueue, 5), vec![0, 2, 6, 7]);
        let none = OwnCalls { limit: 0, ..own };
        assert!(none.pick(&enqueue, 5).is_empty());
    }
}
