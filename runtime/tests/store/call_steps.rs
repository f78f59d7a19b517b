//! A call's completion and the step it triggers in one transaction
//! (`Store::complete_call_with_step`): all of it or, when the instance's events are
//! held or waiting elsewhere or the instance changed, the completion's event in the
//! queue as before; never both, and nothing at all when the call's lease was lost. The
//! step's own calls are leased in its commit, and nobody else can lease them.

use std::collections::BTreeMap;

use cosmos_runtime::store::{
    CallStep, CallStepped, Created, LeaseRequest, Leased, NewMessage, OwnCalls, StepCommit, Store,
};
use serde_json::json;

use crate::{Db, T0, first_step, msg, new_instance, payloads, request, stats, step};

/// A call message of `instance` for `pool`, with its idempotency key.
fn call(instance: &str, pool: &str, key: &str) -> NewMessage {
    let mut m = msg("calls", json!({"call": key}));
    m.metadata = BTreeMap::from([
        ("instance".to_string(), instance.to_string()),
        ("pool".to_string(), pool.to_string()),
    ]);
    m.idempotency_key = Some(key.to_string());
    m
}

/// An event message of `instance` (exclusive per instance), visible at `at`.
fn event(instance: &str, payload: &str, at: i64) -> NewMessage {
    let mut m = NewMessage::new("events", json!(payload), at);
    m.exclusivity = Some(instance.to_string());
    m
}

/// Instance `i1` at version 1 with a call leased by `node-a` at `T0`; its message id.
fn running_call(store: &dyn Store) -> i64 {
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    store.enqueue(&[call("i1", "a", "k1")], T0).unwrap();
    let leased = store.lease(&request("calls", "node-a", T0, 1)).unwrap();
    assert_eq!(leased.len(), 1);
    leased[0].id
}

/// The step of `i1` from version 1 that starts calls `k2` (pool a) and `k3` (pool b).
fn next_step(now: i64) -> StepCommit {
    let mut commit = step("i1", 1, now);
    commit.enqueue = vec![call("i1", "a", "k2"), call("i1", "b", "k3")];
    commit
}

fn own(lease_until: i64, limit: usize) -> OwnCalls {
    OwnCalls {
        queue: "calls".into(),
        filter: BTreeMap::from([("pool".to_string(), vec!["a".to_string()])]),
        lease_until,
        limit,
    }
}

fn completion(id: i64, owner: &str, now: i64, own: Option<OwnCalls>) -> CallStep {
    CallStep {
        call: id,
        owner: owner.into(),
        event: event("i1", "k1 completed", now),
        step: next_step(now),
        own,
        fill: false,
    }
}

fn a_completion_and_its_step_commit_together(db: &Db) {
    let store = db.open();
    let id = running_call(&*store);
    let now = T0 + 10;
    let stepped = store
        .complete_call_with_step(completion(id, "node-a", now, Some(own(now + 1_000, 4))))
        .unwrap();
    let CallStepped::Stepped {
        own: leased,
        queued,
    } = stepped
    else {
        panic!("expected the step, got {stepped:?}");
    };
    assert!(queued.is_empty());
    // The step's call of pool a is leased to node-a in the same transaction.
    assert_eq!(payloads(&leased), vec![json!({"call": "k2"})]);
    assert_eq!(leased[0].attempts, 1);
    assert_eq!(leased[0].lease_until, now + 1_000);
    assert_eq!(leased[0].idempotency_key.as_deref(), Some("k2"));
    // The step is there, the call is acked, and no event message was left behind.
    let record = store.instance("i1").unwrap().unwrap();
    assert_eq!(record.version, 2);
    assert_eq!(store.history("i1", 0).unwrap().len(), 1);
    assert_eq!(stats(&*store, "events", now), (0, 0, 0, 0));
    assert_eq!(stats(&*store, "calls", now), (1, 0, 1, 0));
    assert_eq!(db.live_messages("events"), vec![]);
    // Nobody else can lease the call leased with the step; the other one is free.
    let other = store
        .lease(&LeaseRequest {
            limit: 10,
            ..request("calls", "node-b", now + 1, 10)
        })
        .unwrap();
    assert_eq!(payloads(&other), vec![json!({"call": "k3"})]);
    // node-a holds its lease: it can complete the call.
    assert!(store.ack(leased[0].id, "node-a", now + 2).unwrap());
    db.check_integrity();
}

fn own_calls_are_leased_up_to_the_room_given(db: &Db) {
    let store = db.open();
    let id = running_call(&*store);
    let now = T0 + 10;
    let stepped = store
        .complete_call_with_step(completion(id, "node-a", now, Some(own(now + 1_000, 0))))
        .unwrap();
    assert_eq!(
        stepped,
        CallStepped::Stepped {
            own: Vec::new(),
            queued: Vec::new()
        }
    );
    assert_eq!(stats(&*store, "calls", now), (2, 0, 0, 0));
}

/// A step that starts no call of the room it was given leaves its place to the calls
/// waiting in the queue (`CallStep::fill`): they are leased in its transaction, as a
/// lease would take them (pool filter, delivery order); one it starts itself comes
/// first.
fn a_completion_fills_its_place_with_a_waiting_call(db: &Db) {
    let store = db.open();
    let id = running_call(&*store);
    // Calls of another instance wait: one of pool a, one of pool b.
    store
        .enqueue(&[call("i2", "a", "q1"), call("i2", "b", "q2")], T0 + 1)
        .unwrap();
    let now = T0 + 10;
    let mut step = completion(id, "node-a", now, Some(own(now + 1_000, 1)));
    step.step.enqueue.clear();
    step.fill = true;
    let stepped = store.complete_call_with_step(step).unwrap();
    let CallStepped::Stepped { own: mine, queued } = stepped else {
        panic!("expected the step, got {stepped:?}");
    };
    assert!(mine.is_empty());
    assert_eq!(payloads(&queued), vec![json!({"call": "q1"})]);
    assert_eq!(queued[0].attempts, 1);
    assert_eq!(queued[0].lease_until, now + 1_000);
    assert_eq!(store.instance("i1").unwrap().unwrap().version, 2);
    assert_eq!(stats(&*store, "calls", now), (1, 0, 1, 0));
    // Nobody else can lease it; the call of pool b is still free.
    let other = store
        .lease(&request("calls", "node-b", now + 1, 10))
        .unwrap();
    assert_eq!(payloads(&other), vec![json!({"call": "q2"})]);
    assert!(store.ack(queued[0].id, "node-a", now + 2).unwrap());

    // A step that starts a call of its own takes its place with it: nothing more is
    // leased from the queue.
    store.enqueue(&[call("i3", "a", "q3")], T0 + 20).unwrap();
    let again = store
        .lease(&request("calls", "node-a", T0 + 30, 1))
        .unwrap();
    assert_eq!(payloads(&again), vec![json!({"call": "q3"})]);
    store.enqueue(&[call("i3", "a", "q4")], T0 + 31).unwrap();
    let now = T0 + 40;
    let mut step = completion(again[0].id, "node-a", now, Some(own(now + 1_000, 1)));
    step.step = next_step(now);
    step.step.expected_version = 2;
    step.fill = true;
    let stepped = store.complete_call_with_step(step).unwrap();
    let CallStepped::Stepped { own: mine, queued } = stepped else {
        panic!("expected the step, got {stepped:?}");
    };
    assert_eq!(payloads(&mine), vec![json!({"call": "k2"})]);
    assert!(queued.is_empty());
    let waiting = store
        .lease(&request("calls", "node-b", now + 1, 10))
        .unwrap();
    let mut waiting = payloads(&waiting);
    waiting.sort_by_key(|p| p.to_string());
    assert_eq!(waiting, vec![json!({"call": "k3"}), json!({"call": "q4"})]);
    db.check_integrity();
}

/// `i1`'s running call (leased by node-a) completes at `T0 + 10` while `holder` holds
/// a timer event of the instance: the completion goes through the queue, and the step
/// is not taken. The store, and the held timer's lease.
fn complete_while_an_event_is_held(db: &Db, holder: &str) -> (Box<dyn Store>, Leased) {
    let store = db.open();
    let id = running_call(&*store);
    store.enqueue(&[event("i1", "timer", T0)], T0).unwrap();
    let mut held = store.lease(&request("events", holder, T0 + 1, 1)).unwrap();
    assert_eq!(held.len(), 1);
    let now = T0 + 10;
    let stepped = store
        .complete_call_with_step(completion(id, "node-a", now, Some(own(now + 1_000, 4))))
        .unwrap();
    assert_eq!(stepped, CallStepped::Enqueued);
    assert_eq!(store.instance("i1").unwrap().unwrap().version, 1);
    assert_eq!(store.history("i1", 0).unwrap().len(), 0);
    assert_eq!(stats(&*store, "events", now), (1, 0, 1, 0));
    (store, held.remove(0))
}

fn a_held_event_sends_the_completion_through_the_queue(db: &Db) {
    // node-b holds an event of the instance (it is taking a step).
    let (store, _) = complete_while_an_event_is_held(db, "node-b");
    let now = T0 + 10;
    // The call is acked and its event waits, ready; the step was not taken.
    assert_eq!(stats(&*store, "calls", now), (0, 0, 0, 0));
    let mut live = db.live_messages("events");
    live.sort();
    assert_eq!(
        live,
        vec![
            ("\"k1 completed\"".to_string(), 0),
            ("\"timer\"".to_string(), 1)
        ]
    );
}

/// The completing node's own engine loop holds an event of the instance: the step
/// acknowledges only the event its completion held, never another lease of the same
/// owner, so that event stays leased to the engine loop and the completion waits in
/// the queue.
fn an_event_held_by_the_same_node_is_left_to_it(db: &Db) {
    let (store, held) = complete_while_an_event_is_held(db, "node-a");
    // The timer is still leased to node-a, and its ack still works.
    assert!(store.ack(held.id, "node-a", T0 + 11).unwrap());
    assert_eq!(
        db.live_messages("events"),
        vec![("\"k1 completed\"".to_string(), 0)]
    );
}

fn an_expired_event_lease_still_holds_the_instance(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    // node-b leased an event of the instance until T0 + 1000 and died.
    store.enqueue(&[event("i1", "timer", T0)], T0).unwrap();
    assert_eq!(
        store
            .lease(&request("events", "node-b", T0, 1))
            .unwrap()
            .len(),
        1
    );
    let later = T0 + 1_500;
    store.enqueue(&[call("i1", "a", "k1")], later).unwrap();
    let id = store.lease(&request("calls", "node-a", later, 1)).unwrap()[0].id;
    // The expired lease has not been taken back yet: the event is still held.
    let now = later + 10;
    assert_eq!(
        store
            .complete_call_with_step(completion(id, "node-a", now, None))
            .unwrap(),
        CallStepped::Enqueued
    );
    assert_eq!(store.instance("i1").unwrap().unwrap().version, 1);
}

fn a_waiting_event_is_not_overtaken(db: &Db) {
    let store = db.open();
    let id = running_call(&*store);
    // A timer of the instance is due, not yet taken.
    store.enqueue(&[event("i1", "timer", T0 + 5)], T0).unwrap();
    let now = T0 + 10;
    assert_eq!(
        store
            .complete_call_with_step(completion(id, "node-a", now, None))
            .unwrap(),
        CallStepped::Enqueued
    );
    assert_eq!(store.instance("i1").unwrap().unwrap().version, 1);
    assert_eq!(stats(&*store, "events", now), (2, 0, 0, 0));
}

fn a_timer_not_yet_due_does_not_hold_the_instance(db: &Db) {
    let store = db.open();
    let id = running_call(&*store);
    store
        .enqueue(&[event("i1", "timer", T0 + 60_000)], T0)
        .unwrap();
    let now = T0 + 10;
    assert!(matches!(
        store
            .complete_call_with_step(completion(id, "node-a", now, None))
            .unwrap(),
        CallStepped::Stepped { .. }
    ));
    assert_eq!(store.instance("i1").unwrap().unwrap().version, 2);
    // Without `own`, the step's calls wait in the queue.
    assert_eq!(stats(&*store, "calls", now), (2, 0, 0, 0));
    assert_eq!(stats(&*store, "events", now), (0, 1, 0, 0));
}

fn a_changed_instance_sends_the_completion_through_the_queue(db: &Db) {
    let store = db.open();
    let id = running_call(&*store);
    // A signal took a step since the completion's step read version 1.
    store.commit_step(step("i1", 1, T0 + 5)).unwrap();
    let now = T0 + 10;
    assert_eq!(
        store
            .complete_call_with_step(completion(id, "node-a", now, Some(own(now + 1_000, 4))))
            .unwrap(),
        CallStepped::Enqueued
    );
    assert_eq!(store.instance("i1").unwrap().unwrap().version, 2);
    assert_eq!(store.history("i1", 0).unwrap().len(), 1);
    // Neither of the step's calls was enqueued; the event waits for the engine loop.
    assert_eq!(stats(&*store, "calls", now), (0, 0, 0, 0));
    assert_eq!(
        db.live_messages("events"),
        vec![("\"k1 completed\"".to_string(), 0)]
    );
}

fn a_lost_call_lease_writes_nothing(db: &Db) {
    let store = db.open();
    let id = running_call(&*store);
    // The call's lease (1 s) expired.
    let now = T0 + 1_000;
    assert_eq!(
        store
            .complete_call_with_step(completion(id, "node-a", now, Some(own(now + 1_000, 4))))
            .unwrap(),
        CallStepped::LeaseLost
    );
    assert_eq!(store.instance("i1").unwrap().unwrap().version, 1);
    assert_eq!(store.history("i1", 0).unwrap().len(), 0);
    assert_eq!(db.live_messages("events"), vec![]);
    assert_eq!(
        db.live_messages("calls"),
        vec![("{\"call\":\"k1\"}".to_string(), 1)]
    );
}

fn a_new_instance_leases_its_first_calls_in_its_creation(db: &Db) {
    let store = db.open();
    let mut first = first_step("i1");
    first.enqueue = vec![call("i1", "a", "k1"), call("i1", "b", "k2")];
    let own = own(T0 + 1_000, 4);
    let (created, leased) = store
        .create_instance_leasing(
            new_instance("i1", Some("key")),
            first,
            Some((&own, "node-a")),
        )
        .unwrap();
    assert_eq!(created, Created::New);
    // The call of pool a is leased to node-a in the creating transaction.
    assert_eq!(payloads(&leased), vec![json!({"call": "k1"})]);
    assert_eq!(leased[0].attempts, 1);
    assert_eq!(leased[0].lease_until, T0 + 1_000);
    assert_eq!(leased[0].idempotency_key.as_deref(), Some("k1"));
    assert_eq!(store.instance("i1").unwrap().unwrap().version, 1);
    assert_eq!(stats(&*store, "calls", T0), (1, 0, 1, 0));
    // Nobody else can lease it; the call of pool b is free.
    let other = store
        .lease(&request("calls", "node-b", T0 + 1, 10))
        .unwrap();
    assert_eq!(payloads(&other), vec![json!({"call": "k2"})]);
    assert!(store.ack(leased[0].id, "node-a", T0 + 2).unwrap());
    // The same idempotency key again: the instance that has it, and nothing written
    // or leased.
    let mut again = first_step("i2");
    again.enqueue = vec![call("i2", "a", "k3")];
    let (created, leased) = store
        .create_instance_leasing(
            new_instance("i2", Some("key")),
            again,
            Some((&own, "node-a")),
        )
        .unwrap();
    assert_eq!(created, Created::Existing("i1".into()));
    assert!(leased.is_empty());
    assert!(store.instance("i2").unwrap().is_none());
    assert_eq!(stats(&*store, "calls", T0 + 3), (0, 0, 1, 0));
    db.check_integrity();
}

/// A step's own call whose idempotency key is live already (here, waiting in the
/// queue) is not enqueued again, so not leased with the step: the one waiting stays
/// ready for whoever leases it.
fn an_own_call_already_waiting_is_not_leased_with_the_step(db: &Db) {
    let store = db.open();
    let id = running_call(&*store);
    store.enqueue(&[call("i1", "a", "k2")], T0).unwrap();
    let now = T0 + 10;
    let stepped = store
        .complete_call_with_step(completion(id, "node-a", now, Some(own(now + 1_000, 4))))
        .unwrap();
    let CallStepped::Stepped { own: leased, .. } = stepped else {
        panic!("expected the step, got {stepped:?}");
    };
    assert!(leased.is_empty(), "{leased:?}");
    // k2 waits as it did, and k3 (pool b) was enqueued: both ready, none leased.
    assert_eq!(stats(&*store, "calls", now), (2, 0, 0, 0));
    let other = store
        .lease(&LeaseRequest {
            limit: 10,
            ..request("calls", "node-b", now + 1, 10)
        })
        .unwrap();
    let mut keys: Vec<_> = other
        .iter()
        .filter_map(|l| l.idempotency_key.clone())
        .collect();
    keys.sort();
    assert_eq!(keys, vec!["k2", "k3"]);
    db.check_integrity();
}

on_both_backends!(
    a_new_instance_leases_its_first_calls_in_its_creation,
    a_completion_and_its_step_commit_together,
    own_calls_are_leased_up_to_the_room_given,
    a_held_event_sends_the_completion_through_the_queue,
    a_completion_fills_its_place_with_a_waiting_call,
    an_event_held_by_the_same_node_is_left_to_it,
    a_waiting_event_is_not_overtaken,
    an_expired_event_lease_still_holds_the_instance,
    a_timer_not_yet_due_does_not_hold_the_instance,
    a_changed_instance_sends_the_completion_through_the_queue,
    a_lost_call_lease_writes_nothing,
    an_own_call_already_waiting_is_not_leased_with_the_step,
);
