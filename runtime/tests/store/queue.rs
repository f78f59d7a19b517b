//! The durable queue: delivery order, delays and timers, metadata filters,
//! exclusivity, leases and their expiry, attempts, dead letters and idempotency keys.

use std::collections::BTreeMap;

use cosmos_runtime::store::{MessageState, NewMessage};
use serde_json::{Value as Json, json};

use crate::{Db, T0, msg, payloads, request, stats};

// ---- queue ordering, delays, filters ----

fn priority_then_earliest_deadline_then_oldest(db: &Db) {
    let store = db.open();
    let m = |name: &str, priority: i64, deadline: Option<i64>| NewMessage {
        priority,
        deadline,
        ..msg("q", json!(name))
    };
    store
        .enqueue(
            &[
                m("low-none", 0, None),
                m("high-none", 5, None),
                m("high-50", 5, Some(T0 + 50)),
                m("low-5", 0, Some(T0 + 5)),
                m("high-10", 5, Some(T0 + 10)),
                m("high-10-later", 5, Some(T0 + 10)),
                m("mid-none", 1, None),
            ],
            T0,
        )
        .unwrap();
    let leased = store.lease(&request("q", "w", T0, 100)).unwrap();
    assert_eq!(
        payloads(&leased),
        vec![
            json!("high-10"),
            json!("high-10-later"),
            json!("high-50"),
            json!("high-none"),
            json!("mid-none"),
            json!("low-5"),
            json!("low-none"),
        ]
    );
    // One at a time gives the same order.
    let m = |name: &str, priority: i64, deadline: Option<i64>| NewMessage {
        queue: "q2".into(),
        ..m(name, priority, deadline)
    };
    store
        .enqueue(
            &[
                m("a", 0, None),
                m("b", 1, Some(T0 + 9)),
                m("c", 1, Some(T0 + 3)),
            ],
            T0,
        )
        .unwrap();
    let mut order = Vec::new();
    while let Some(l) = store.lease(&request("q2", "w", T0, 1)).unwrap().pop() {
        order.push(l.payload);
    }
    assert_eq!(order, vec![json!("c"), json!("b"), json!("a")]);
}

fn visible_at_delays_delivery(db: &Db) {
    let store = db.open();
    store
        .enqueue(
            &[
                NewMessage::new("timers", json!("later"), T0 + 100),
                NewMessage::new("timers", json!("much later"), T0 + 500),
            ],
            T0,
        )
        .unwrap();
    assert!(
        store
            .lease(&request("timers", "w", T0, 10))
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_visible_at("timers", T0).unwrap(), Some(T0 + 100));
    assert_eq!(store.next_visible_at("other", T0).unwrap(), None);
    assert_eq!(stats(&*store, "timers", T0), (0, 2, 0, 0));
    assert!(
        store
            .lease(&request("timers", "w", T0 + 99, 10))
            .unwrap()
            .is_empty()
    );
    let leased = store.lease(&request("timers", "w", T0 + 100, 10)).unwrap();
    assert_eq!(payloads(&leased), vec![json!("later")]);
    assert_eq!(
        store.next_visible_at("timers", T0 + 100).unwrap(),
        Some(T0 + 500)
    );
    assert_eq!(
        store.next_lease_expiry("timers", T0 + 100).unwrap(),
        Some(T0 + 1_100)
    );
    assert_eq!(stats(&*store, "timers", T0 + 100), (0, 1, 1, 0));
}

fn a_release_into_the_future_is_a_timer(db: &Db) {
    let store = db.open();
    let id = store.enqueue(&[msg("q", json!("retry me"))], T0).unwrap()[0];
    store.lease(&request("q", "w", T0, 1)).unwrap();
    assert!(store.release(id, "w", T0 + 5_000).unwrap());
    assert_eq!(stats(&*store, "q", T0 + 1), (0, 1, 0, 0));
    assert_eq!(
        store.next_visible_at("q", T0 + 1).unwrap(),
        Some(T0 + 5_000)
    );
    assert!(
        store
            .lease(&request("q", "w", T0 + 4_999, 1))
            .unwrap()
            .is_empty()
    );
    let again = store.lease(&request("q", "w", T0 + 5_000, 1)).unwrap();
    assert_eq!((again[0].id, again[0].attempts), (id, 2));
    // Released "now": leasable at once.
    assert!(store.release(id, "w", T0 + 5_000).unwrap());
    assert_eq!(
        store
            .lease(&request("q", "w", T0 + 5_000, 1))
            .unwrap()
            .len(),
        1
    );
}

fn metadata_filters(db: &Db) {
    let store = db.open();
    let m = |name: &str, metadata: &[(&str, &str)]| NewMessage {
        metadata: metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..msg("calls", json!(name))
    };
    store
        .enqueue(
            &[
                m("a", &[("pool", "py")]),
                m("b", &[("pool", "sh")]),
                m("c", &[("pool", "py"), ("kind", "batch")]),
                m("d", &[("we\"ird.key", "v")]),
                m("e", &[]),
            ],
            T0,
        )
        .unwrap();
    let lease = |filter: &[(&str, &str)]| {
        let mut r = request("calls", "w", T0, 10);
        r.filter = filter
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect();
        let leased = store.lease(&r).unwrap();
        for l in &leased {
            store.release(l.id, "w", T0).unwrap();
        }
        payloads(&leased)
    };
    assert_eq!(lease(&[("pool", "py")]), vec![json!("a"), json!("c")]);
    assert_eq!(
        lease(&[("pool", "py"), ("kind", "batch")]),
        vec![json!("c")]
    );
    assert_eq!(lease(&[("pool", "rb")]), Vec::<Json>::new());
    assert_eq!(lease(&[("missing", "x")]), Vec::<Json>::new());
    assert_eq!(lease(&[("we\"ird.key", "v")]), vec![json!("d")]);
    assert_eq!(lease(&[]).len(), 5);
    let leased = store.lease(&request("calls", "w", T0, 1)).unwrap();
    assert_eq!(
        leased[0].metadata,
        BTreeMap::from([("pool".to_string(), "py".to_string())])
    );
}

/// A filter key with several values takes the messages with any of them (how a
/// worker serving pools `py` and `sh` leases); a key with none takes nothing.
fn metadata_filters_with_several_values(db: &Db) {
    let store = db.open();
    let m = |name: &str, pool: &str, function: &str| NewMessage {
        metadata: BTreeMap::from([
            ("pool".to_string(), pool.to_string()),
            ("function".to_string(), function.to_string()),
        ]),
        ..msg("calls", json!(name))
    };
    store
        .enqueue(
            &[
                m("a", "py", "f"),
                m("b", "sh", "g"),
                m("c", "rb", "f"),
                m("d", "py", "g"),
            ],
            T0,
        )
        .unwrap();
    let lease = |filter: &[(&str, &[&str])]| {
        let mut r = request("calls", "w", T0, 10);
        r.filter = filter
            .iter()
            .map(|(k, values)| {
                (
                    k.to_string(),
                    values.iter().map(|v| v.to_string()).collect(),
                )
            })
            .collect();
        let leased = store.lease(&r).unwrap();
        for l in &leased {
            store.release(l.id, "w", T0).unwrap();
        }
        payloads(&leased)
    };
    assert_eq!(
        lease(&[("pool", &["py", "sh"])]),
        vec![json!("a"), json!("b"), json!("d")]
    );
    assert_eq!(
        lease(&[("pool", &["sh", "rb", "nowhere"])]),
        vec![json!("b"), json!("c")]
    );
    assert_eq!(
        lease(&[("pool", &["py", "rb"]), ("function", &["f"])]),
        vec![json!("a"), json!("c")]
    );
    assert_eq!(lease(&[("pool", &[])]), Vec::<Json>::new());
    assert_eq!(lease(&[("missing", &["py"])]), Vec::<Json>::new());
}

// ---- exclusivity ----

fn exclusivity_one_lease_per_value(db: &Db) {
    let store = db.open();
    let m = |name: &str, value: &str| NewMessage {
        exclusivity: Some(value.into()),
        ..msg("engine", json!(name))
    };
    store
        .enqueue(&[m("i1-a", "i1"), m("i1-b", "i1"), m("i2-a", "i2")], T0)
        .unwrap();
    // Different values are both leasable; the same value only once.
    let first = store.lease(&request("engine", "w1", T0, 10)).unwrap();
    assert_eq!(payloads(&first), vec![json!("i1-a"), json!("i2-a")]);
    assert_eq!(first[0].exclusivity.as_deref(), Some("i1"));
    // The second i1 message is not leasable while the first is held.
    assert!(
        store
            .lease(&request("engine", "w2", T0 + 1, 10))
            .unwrap()
            .is_empty()
    );
    assert!(store.ack(first[0].id, "w1", T0 + 2).unwrap());
    let second = store.lease(&request("engine", "w2", T0 + 3, 10)).unwrap();
    assert_eq!(payloads(&second), vec![json!("i1-b")]);
    // Exclusivity is per queue.
    store
        .enqueue(
            &[NewMessage {
                exclusivity: Some("i1".into()),
                ..msg("other", json!("x"))
            }],
            T0,
        )
        .unwrap();
    assert_eq!(
        store
            .lease(&request("other", "w", T0 + 3, 10))
            .unwrap()
            .len(),
        1
    );
}

fn exclusivity_is_freed_by_lease_expiry(db: &Db) {
    let store = db.open();
    let m = |name: &str| NewMessage {
        exclusivity: Some("i1".into()),
        ..msg("engine", json!(name))
    };
    store.enqueue(&[m("a"), m("b")], T0).unwrap();
    let first = store.lease(&request("engine", "w1", T0, 10)).unwrap();
    assert_eq!(payloads(&first), vec![json!("a")]);
    assert!(
        store
            .lease(&request("engine", "w2", T0 + 999, 10))
            .unwrap()
            .is_empty()
    );
    // Expired: "a" is redelivered first (it is older), still one per value.
    let again = store
        .lease(&request("engine", "w2", T0 + 1_000, 10))
        .unwrap();
    assert_eq!(payloads(&again), vec![json!("a")]);
    assert_eq!(again[0].attempts, 2);
    assert!(!store.ack(first[0].id, "w1", T0 + 1_001).unwrap());
    assert!(store.ack(again[0].id, "w2", T0 + 1_001).unwrap());
    let last = store
        .lease(&request("engine", "w2", T0 + 1_002, 10))
        .unwrap();
    assert_eq!(payloads(&last), vec![json!("b")]);
}

// ---- leases, attempts, dead letters ----

fn lease_expiry_redelivers_with_attempts_plus_one(db: &Db) {
    let store = db.open();
    let id = store.enqueue(&[msg("q", json!("m"))], T0).unwrap()[0];
    let mut r = request("q", "w1", T0, 1);
    r.lease_ms = 100;
    let first = store.lease(&r).unwrap();
    assert_eq!(
        (first[0].id, first[0].attempts, first[0].lease_until),
        (id, 1, T0 + 100)
    );
    r.now = T0 + 99;
    assert!(store.lease(&r).unwrap().is_empty());
    r.now = T0 + 100;
    r.owner = "w2".into();
    let second = store.lease(&r).unwrap();
    assert_eq!((second[0].id, second[0].attempts), (id, 2));
    // Extending keeps the lease alive.
    assert!(store.extend(id, "w2", T0 + 100, T0 + 10_000).unwrap());
    r.now = T0 + 5_000;
    assert!(store.lease(&r).unwrap().is_empty());
    assert!(store.ack(id, "w2", T0 + 5_000).unwrap());
}

fn max_attempts_moves_to_dead_letters(db: &Db) {
    let store = db.open();
    let id = store
        .enqueue(
            &[NewMessage {
                max_attempts: Some(2),
                ..msg("q", json!("poison"))
            }],
            T0,
        )
        .unwrap()[0];
    let mut r = request("q", "w", T0, 1);
    r.lease_ms = 10;
    assert_eq!(store.lease(&r).unwrap()[0].attempts, 1);
    r.now += 10;
    assert_eq!(store.lease(&r).unwrap()[0].attempts, 2);
    r.now += 10;
    assert!(store.lease(&r).unwrap().is_empty());
    let dead = store.dead_letters("q", 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].0, &dead[0].1), (id, &json!("poison")));
    assert!(dead[0].2.contains("expired"), "{}", dead[0].2);
    assert_eq!(stats(&*store, "q", r.now), (0, 0, 0, 1));

    // A release after the last attempt dead-letters too; before it, it retries.
    let id = store
        .enqueue(
            &[NewMessage {
                max_attempts: Some(2),
                ..msg("r", json!("flaky"))
            }],
            T0,
        )
        .unwrap()[0];
    let mut r = request("r", "w", T0, 1);
    store.lease(&r).unwrap();
    assert!(store.release(id, "w", T0 + 50).unwrap());
    assert!(store.lease(&r).unwrap().is_empty()); // not visible before T0 + 50
    r.now = T0 + 50;
    assert_eq!(store.lease(&r).unwrap()[0].attempts, 2);
    assert!(store.release(id, "w", T0 + 60).unwrap());
    r.now = T0 + 100;
    assert!(store.lease(&r).unwrap().is_empty());
    assert_eq!(store.dead_letters("r", 0).unwrap()[0].0, id);

    // An explicit dead letter keeps the reason.
    let id = store.enqueue(&[msg("s", json!("bad"))], T0).unwrap()[0];
    store.lease(&request("s", "w", T0, 1)).unwrap();
    assert!(store.dead_letter(id, "w", "result does not match").unwrap());
    assert_eq!(
        store.dead_letters("s", 10).unwrap(),
        vec![(id, json!("bad"), "result does not match".to_string())]
    );
}

/// A message whose work never began (its process could not be started) goes back
/// without being charged the attempt, however often that happens, and waits until
/// the time given; only a lost lease is refused.
fn retry_later_gives_the_attempt_back(db: &Db) {
    let store = db.open();
    let id = store
        .enqueue(
            &[NewMessage {
                max_attempts: Some(2),
                ..msg("c", json!("call"))
            }],
            T0,
        )
        .unwrap()[0];
    let mut r = request("c", "w", T0, 1);
    for round in 0..5 {
        let leased = store.lease(&r).unwrap();
        assert_eq!(leased.len(), 1, "round {round}");
        assert_eq!(
            leased[0].attempts, 1,
            "round {round}: no attempt was charged"
        );
        assert!(store.retry_later(id, "w", r.now + 1_000).unwrap());
        assert!(store.lease(&r).unwrap().is_empty(), "not before its time");
        r.now += 1_000;
    }
    assert!(!store.retry_later(id, "w", r.now).unwrap(), "not leased");
    assert!(store.dead_letters("c", 0).unwrap().is_empty());
}

fn idempotency_key_dedupes_live_messages(db: &Db) {
    let store = db.open();
    let m = |queue: &str, key: &str, payload: i64| NewMessage {
        idempotency_key: Some(key.into()),
        ..msg(queue, json!(payload))
    };
    let ids = store
        .enqueue(&[m("q", "k", 1), m("q", "k", 2)], T0)
        .unwrap();
    assert_eq!(ids[0], ids[1]);
    let again = store.enqueue(&[m("q", "k", 3)], T0).unwrap();
    assert_eq!(again, vec![ids[0]]);
    let other_queue = store.enqueue(&[m("p", "k", 4)], T0).unwrap();
    assert_ne!(other_queue[0], ids[0]);
    // Still deduplicated while leased.
    let leased = store.lease(&request("q", "w", T0, 10)).unwrap();
    assert_eq!(payloads(&leased), vec![json!(1)]);
    assert_eq!(leased[0].idempotency_key.as_deref(), Some("k"));
    assert_eq!(store.enqueue(&[m("q", "k", 5)], T0).unwrap(), vec![ids[0]]);
    // Once acked, the key can be used again.
    assert!(store.ack(ids[0], "w", T0).unwrap());
    let fresh = store.enqueue(&[m("q", "k", 6)], T0).unwrap();
    assert_ne!(fresh[0], ids[0]);
}

fn an_expired_lease_is_neither_renewed_nor_held(db: &Db) {
    let store = db.open();
    let id = store.enqueue(&[msg("q", json!({"call": 1}))], T0).unwrap()[0];
    store.lease(&request("q", "a", T0, 1)).unwrap();
    // Held by "a" until T0 + 1000: read as stored, and renewable.
    let held = store.held(id, "a", T0 + 999).unwrap().unwrap();
    assert_eq!(held.payload, json!({"call": 1}));
    assert_eq!((held.attempts, held.lease_until), (1, T0 + 1_000));
    assert_eq!(store.held(id, "b", T0 + 999).unwrap(), None);
    assert_eq!(store.held(id + 1, "a", T0 + 999).unwrap(), None);
    assert!(store.extend(id, "a", T0 + 999, T0 + 2_000).unwrap());
    assert_eq!(
        store
            .held(id, "a", T0 + 1_500)
            .unwrap()
            .unwrap()
            .lease_until,
        T0 + 2_000
    );
    // Expired at T0 + 2000, though no one took it again: not renewed, not held.
    assert!(!store.extend(id, "a", T0 + 2_000, T0 + 3_000).unwrap());
    assert_eq!(store.held(id, "a", T0 + 2_000).unwrap(), None);
    let again = store.lease(&request("q", "b", T0 + 2_000, 1)).unwrap();
    assert_eq!((again[0].id, again[0].attempts), (id, 2));
    assert_eq!(
        store.held(id, "b", T0 + 2_001).unwrap().unwrap().attempts,
        2
    );
}

fn lost_leases_are_refused(db: &Db) {
    let store = db.open();
    let id = store.enqueue(&[msg("q", json!("m"))], T0).unwrap()[0];
    store.lease(&request("q", "a", T0, 1)).unwrap();
    // Expired at T0 + 1000: refused even before anyone else takes it.
    assert!(!store.ack(id, "a", T0 + 1_000).unwrap());
    store.lease(&request("q", "b", T0 + 1_000, 1)).unwrap();
    assert!(!store.ack(id, "a", T0 + 1_001).unwrap());
    assert!(!store.release(id, "a", T0).unwrap());
    assert!(!store.extend(id, "a", T0 + 1_001, T0 + 9_999).unwrap());
    assert_eq!(store.held(id, "a", T0 + 1_001).unwrap(), None);
    assert!(!store.dead_letter(id, "a", "no").unwrap());
    assert!(
        !store
            .ack_and_enqueue(id, "a", &[msg("q", json!("x"))], T0 + 1_001)
            .unwrap()
    );
    assert_eq!(stats(&*store, "q", T0 + 1_001), (0, 0, 1, 0));
    assert!(store.ack(id, "b", T0 + 1_001).unwrap());
    assert!(!store.ack(id, "b", T0 + 1_001).unwrap());
    assert!(!store.ack(12_345, "b", T0).unwrap());
}

fn ack_many_reports_each_lease(db: &Db) {
    let store = db.open();
    let ids = store
        .enqueue(
            &[msg("q", json!(1)), msg("q", json!(2)), msg("q", json!(3))],
            T0,
        )
        .unwrap();
    store.lease(&request("q", "a", T0, 2)).unwrap();
    store.lease(&request("q", "b", T0, 1)).unwrap();
    assert_eq!(
        store
            .ack_many(&[ids[0], ids[2], ids[1], 999], "a", T0 + 1)
            .unwrap(),
        vec![true, false, true, false]
    );
    assert_eq!(stats(&*store, "q", T0 + 1), (0, 0, 1, 0));
}

fn ack_and_enqueue_is_atomic(db: &Db) {
    let store = db.open();
    let id = store.enqueue(&[msg("calls", json!("call"))], T0).unwrap()[0];
    store.lease(&request("calls", "w", T0, 1)).unwrap();
    let event = NewMessage {
        exclusivity: Some("i1".into()),
        ..msg("engine", json!("result"))
    };
    assert!(
        store
            .ack_and_enqueue(id, "w", std::slice::from_ref(&event), T0 + 1)
            .unwrap()
    );
    assert_eq!(stats(&*store, "calls", T0 + 1), (0, 0, 0, 0));
    assert_eq!(stats(&*store, "engine", T0 + 1), (1, 0, 0, 0));
    // Done twice (a retried completion): the second is refused and enqueues nothing.
    assert!(!store.ack_and_enqueue(id, "w", &[event], T0 + 2).unwrap());
    assert_eq!(stats(&*store, "engine", T0 + 2), (1, 0, 0, 0));
}

fn release_owner_and_release_all_leases(db: &Db) {
    let store = db.open();
    store
        .enqueue(
            &[
                msg("q", json!(1)),
                msg("q", json!(2)),
                NewMessage {
                    max_attempts: Some(1),
                    ..msg("q", json!(3))
                },
            ],
            T0,
        )
        .unwrap();
    store.lease(&request("q", "a", T0, 2)).unwrap();
    store.lease(&request("q", "b", T0, 1)).unwrap();
    // Graceful: a's leases go back and their attempt is given back.
    assert_eq!(store.release_owner("a").unwrap(), 2);
    assert_eq!(stats(&*store, "q", T0), (2, 0, 1, 0));
    let again = store.lease(&request("q", "c", T0, 2)).unwrap();
    assert_eq!(
        again.iter().map(|l| l.attempts).collect::<Vec<_>>(),
        vec![1, 1]
    );
    // After a crash: every lease ends as if expired; max_attempts applies.
    assert_eq!(store.release_all_leases().unwrap(), 3);
    assert_eq!(stats(&*store, "q", T0), (2, 0, 0, 1));
    assert_eq!(store.dead_letters("q", 10).unwrap()[0].1, json!(3));
}

fn leases_by_owner_counts_live_leases(db: &Db) {
    let store = db.open();
    store
        .enqueue(
            &[
                msg("q", json!(1)),
                msg("q", json!(2)),
                msg("q", json!(3)),
                msg("p", json!(4)),
            ],
            T0,
        )
        .unwrap();
    store.lease(&request("q", "b", T0, 2)).unwrap();
    store.lease(&request("q", "a", T0 + 500, 1)).unwrap();
    store.lease(&request("p", "a", T0 + 500, 1)).unwrap();
    let held = |now| {
        store
            .leases_by_owner(now)
            .unwrap()
            .into_iter()
            .map(|l| (l.owner, l.queue, l.leases))
            .collect::<Vec<_>>()
    };
    let row = |owner: &str, queue: &str, n| (owner.to_string(), queue.to_string(), n);
    assert_eq!(
        held(T0 + 999),
        vec![row("a", "p", 1), row("a", "q", 1), row("b", "q", 2)]
    );
    // b's leases have expired: not held any more, even before anyone takes them.
    assert_eq!(held(T0 + 1_000), vec![row("a", "p", 1), row("a", "q", 1)]);
    assert!(held(T0 + 1_500).is_empty());
}

/// Every state is stored as its code, which the schema accepts: a message put into a
/// state behind the store's back, by code, is counted (and leased) as in that state.
fn states_are_stored_as_their_codes(db: &Db) {
    let store = db.open();
    store.enqueue(&[msg("q", json!(1))], T0).unwrap();
    for (state, visible_at, counts) in [
        (MessageState::Dead, T0, (0, 0, 0, 1)),
        (MessageState::Scheduled, T0 + 500, (0, 1, 0, 0)),
        (MessageState::Leased, T0, (0, 0, 1, 0)),
        (MessageState::Ready, T0, (1, 0, 0, 0)),
    ] {
        db.exec(&format!(
            "UPDATE messages SET state = {}, visible_at = {visible_at}, owner = 'w',
                 lease_until = {}",
            state.code(),
            T0 + 1_000
        ));
        assert_eq!(stats(&*store, "q", T0), counts, "{state}");
    }
    assert_eq!(
        payloads(&store.lease(&request("q", "w", T0, 1)).unwrap()),
        [json!(1)]
    );
    let live = db.live_messages("q");
    assert_eq!(live.len(), 1);
    assert_eq!(MessageState::from_code(live[0].1), Ok(MessageState::Leased));
}

on_both_backends!(
    states_are_stored_as_their_codes,
    priority_then_earliest_deadline_then_oldest,
    visible_at_delays_delivery,
    a_release_into_the_future_is_a_timer,
    metadata_filters,
    metadata_filters_with_several_values,
    exclusivity_one_lease_per_value,
    exclusivity_is_freed_by_lease_expiry,
    lease_expiry_redelivers_with_attempts_plus_one,
    max_attempts_moves_to_dead_letters,
    retry_later_gives_the_attempt_back,
    idempotency_key_dedupes_live_messages,
    lost_leases_are_refused,
    an_expired_lease_is_neither_renewed_nor_held,
    ack_many_reports_each_lease,
    ack_and_enqueue_is_atomic,
    release_owner_and_release_all_leases,
    leases_by_owner_counts_live_leases,
);
