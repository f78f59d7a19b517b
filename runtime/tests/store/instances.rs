//! Instances and their steps: creation with idempotency, committing a step (all of
//! it, or nothing on a conflict or a lost lease), history, listing, bundles, and
//! corrupt rows.

use cosmos_runtime::engine::{HistoryKind, Status};
use cosmos_runtime::store::{
    Created, InstanceFilter, NewHistory, NewInstance, NewMessage, StepCommit, Store, StoreError,
};
use serde_json::json;

use crate::{Db, T0, first_step, msg, new_instance, request, stamp, stats, step};

fn create_instance_and_idempotency(db: &Db) {
    let store = db.open();
    let mut first = first_step("i1");
    first.enqueue = vec![msg("calls", json!("first call"))];
    first.history = vec![NewHistory {
        at: T0,
        kind: HistoryKind::Started,
        text: "started".into(),
        data: json!(null),
    }];
    assert_eq!(
        store
            .create_instance(new_instance("i1", Some("key-1")), first)
            .unwrap(),
        Created::New
    );
    let record = store.instance("i1").unwrap().unwrap();
    assert_eq!(record.version, 1);
    assert_eq!(record.status, Status::Running);
    assert_eq!(record.input, json!({"id": "i1"}));
    assert_eq!(record.idempotency_key.as_deref(), Some("key-1"));
    assert_eq!(store.history("i1", 0).unwrap().len(), 1);
    // Same key, another id: the existing instance, and nothing written.
    let mut again = first_step("i2");
    again.enqueue = vec![msg("calls", json!("second call"))];
    assert_eq!(
        store
            .create_instance(new_instance("i2", Some("key-1")), again)
            .unwrap(),
        Created::Existing("i1".into())
    );
    assert!(store.instance("i2").unwrap().is_none());
    assert_eq!(stats(&*store, "calls", T0), (1, 0, 0, 0));
    // A key is scoped to its workflow: the same key starts an instance of another.
    let other = NewInstance {
        workflow: "refund".into(),
        ..new_instance("i3", Some("key-1"))
    };
    assert_eq!(
        store.create_instance(other, first_step("i3")).unwrap(),
        Created::New
    );
    let other = NewInstance {
        workflow: "refund".into(),
        ..new_instance("i4", Some("key-1"))
    };
    assert_eq!(
        store.create_instance(other, first_step("i4")).unwrap(),
        Created::Existing("i3".into())
    );
    assert_eq!(
        store
            .create_instance(new_instance("i5", Some("key-1")), first_step("i5"))
            .unwrap(),
        Created::Existing("i1".into())
    );
    // Same id, no key.
    assert!(matches!(
        store.create_instance(new_instance("i1", None), first_step("i1")),
        Err(StoreError::Duplicate(_))
    ));
    assert!(store.instance("nope").unwrap().is_none());
}

fn commit_step_applies_everything(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    let event = store
        .enqueue(
            &[NewMessage {
                exclusivity: Some("i1".into()),
                ..msg("engine", json!("event"))
            }],
            T0,
        )
        .unwrap()[0];
    store.lease(&request("engine", "w", T0, 1)).unwrap();
    let mut commit = step("i1", 1, T0 + 5);
    commit.status = Status::Completed;
    commit.output = Some(json!({"total": 3}));
    commit.ack = Some((event, "w".into()));
    commit.enqueue = vec![msg("calls", json!("next"))];
    store.commit_step(commit).unwrap();
    let record = store.instance("i1").unwrap().unwrap();
    assert_eq!(record.version, 2);
    assert_eq!(record.status, Status::Completed);
    assert_eq!(record.output, Some(json!({"total": 3})));
    assert_eq!(record.facts, json!({"step": 1}));
    assert_eq!(record.updated_at, T0 + 5);
    assert_eq!(stats(&*store, "engine", T0 + 5), (0, 0, 0, 0));
    assert_eq!(stats(&*store, "calls", T0 + 5), (1, 0, 0, 0));
    assert!(store.unfinished_instances().unwrap().is_empty());
    assert!(matches!(
        store.commit_step(step("ghost", 1, T0)),
        Err(StoreError::NotFound(_))
    ));
}

/// What a rejected step must not have touched.
fn assert_untouched(store: &dyn Store) {
    let record = store.instance("i1").unwrap().unwrap();
    assert_eq!(record.version, 1);
    assert_eq!(record.facts, json!({"step": 0}));
    assert!(store.history("i1", 0).unwrap().is_empty());
    assert_eq!(stats(store, "calls", T0), (0, 0, 0, 0));
}

fn commit_step_conflict_writes_nothing(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    let event = store.enqueue(&[msg("engine", json!("e"))], T0).unwrap()[0];
    store.lease(&request("engine", "w", T0, 1)).unwrap();
    let mut commit = step("i1", 7, T0 + 1);
    commit.ack = Some((event, "w".into()));
    commit.enqueue = vec![msg("calls", json!("x"))];
    match store.commit_step(commit) {
        Err(StoreError::Conflict {
            instance,
            expected,
            actual,
        }) => assert_eq!((instance.as_str(), expected, actual), ("i1", 7, 1)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_untouched(store.as_ref());
    // The event is still leased by w: the ack was rolled back.
    assert!(store.ack(event, "w", T0 + 2).unwrap());
}

fn commit_step_lease_lost_writes_nothing(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    let event = store.enqueue(&[msg("engine", json!("e"))], T0).unwrap()[0];
    store.lease(&request("engine", "w1", T0, 1)).unwrap();
    store
        .lease(&request("engine", "w2", T0 + 1_000, 1))
        .unwrap();
    let mut commit = step("i1", 1, T0 + 1_001);
    commit.ack = Some((event, "w1".into()));
    commit.enqueue = vec![msg("calls", json!("x"))];
    match store.commit_step(commit) {
        Err(StoreError::LeaseLost { id, owner }) => assert_eq!((id, owner.as_str()), (event, "w1")),
        other => panic!("expected a lost lease, got {other:?}"),
    }
    assert_untouched(store.as_ref());
    assert_eq!(stats(&*store, "engine", T0 + 1_001), (0, 0, 1, 0));
}

fn history_order_and_paging(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    store
        .create_instance(new_instance("i2", None), first_step("i2"))
        .unwrap();
    for version in 1..=4 {
        let mut commit = step("i1", version, T0 + version);
        if version == 2 {
            commit.history.push(NewHistory {
                at: T0 + 2,
                kind: HistoryKind::Reacted,
                text: "second event of the step".into(),
                data: json!([1, 2]),
            });
        }
        store.commit_step(commit).unwrap();
        store
            .commit_step(step("i2", version, T0 + version))
            .unwrap();
    }
    let all = store.history("i1", 0).unwrap();
    assert_eq!(
        all.iter().map(|h| h.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(all[2].kind, HistoryKind::Reacted);
    assert_eq!(all[2].data, json!([1, 2]));
    // Both rows of the step taken from version 2 carry its stamp.
    assert_eq!(all[1].step, Some(stamp(T0 + 2)));
    assert_eq!(all[2].step, Some(stamp(T0 + 2)));
    assert_eq!(all[4].step, Some(stamp(T0 + 4)));
    let unstamped = StepCommit {
        stamp: None,
        ..step("i2", 5, T0 + 5)
    };
    store.commit_step(unstamped).unwrap();
    assert_eq!(store.history("i2", 4).unwrap()[0].step, None);
    assert_eq!(all[1].text, "step from version 2");
    let page = store.history("i1", 3).unwrap();
    assert_eq!(page.iter().map(|h| h.seq).collect::<Vec<_>>(), vec![4, 5]);
    assert_eq!(page[1].data, json!({"from": 4}));
    assert!(store.history("i1", 5).unwrap().is_empty());
    assert_eq!(store.history("i2", 0).unwrap().len(), 5);
    assert!(store.history("nope", 0).unwrap().is_empty());
}

fn list_and_unfinished_instances(db: &Db) {
    let store = db.open();
    for (id, workflow, status) in [
        ("a", "order", Status::Running),
        ("b", "refund", Status::Running),
        ("c", "order", Status::Completed),
        ("d", "order", Status::Running),
    ] {
        let new = NewInstance {
            workflow: workflow.into(),
            ..new_instance(id, None)
        };
        let first = StepCommit {
            status,
            ..first_step(id)
        };
        store.create_instance(new, first).unwrap();
    }
    let ids = |filter: InstanceFilter| {
        store
            .list_instances(&filter)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(InstanceFilter::default()), vec!["a", "b", "c", "d"]);
    assert_eq!(
        ids(InstanceFilter {
            workflow: Some("order".into()),
            ..InstanceFilter::default()
        }),
        vec!["a", "c", "d"]
    );
    assert_eq!(
        ids(InstanceFilter {
            workflow: Some("order".into()),
            status: Some(Status::Running),
            limit: 1,
            after: Some("a".into()),
            ..InstanceFilter::default()
        }),
        vec!["d"]
    );
    assert_eq!(
        ids(InstanceFilter {
            limit: 2,
            after: Some("b".into()),
            ..InstanceFilter::default()
        }),
        vec!["c", "d"]
    );
    let summary = &store.list_instances(&InstanceFilter::default()).unwrap()[1];
    assert_eq!(
        (summary.workflow.as_str(), summary.status),
        ("refund", Status::Running)
    );
    assert_eq!(store.unfinished_instances().unwrap(), vec!["a", "b", "d"]);
}

/// What the console asks: newest first with paging both ways, a search by the start
/// of an id, a window of creation times, counts per status, and pages of a history.
fn console_queries(db: &Db) {
    let store = db.open();
    for (n, (id, workflow, status)) in [
        ("a1", "order", Status::Running),
        ("a2", "refund", Status::Stalled),
        ("b1", "order", Status::Completed),
        ("b2", "order", Status::Stalled),
        ("c1", "order", Status::Stalled),
    ]
    .into_iter()
    .enumerate()
    {
        let new = NewInstance {
            workflow: workflow.into(),
            created_at: T0 + 1000 * n as i64,
            ..new_instance(id, None)
        };
        let first = StepCommit {
            status,
            ..first_step(id)
        };
        store.create_instance(new, first).unwrap();
    }
    let ids = |filter: InstanceFilter| {
        store
            .list_instances(&filter)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect::<Vec<_>>()
    };
    let newest = InstanceFilter {
        newest_first: true,
        ..InstanceFilter::default()
    };
    assert_eq!(ids(newest.clone()), vec!["c1", "b2", "b1", "a2", "a1"]);
    assert_eq!(
        ids(InstanceFilter {
            limit: 2,
            before: Some("b2".into()),
            ..newest.clone()
        }),
        vec!["b1", "a2"]
    );
    assert_eq!(
        ids(InstanceFilter {
            id_prefix: Some("b".into()),
            ..newest.clone()
        }),
        vec!["b2", "b1"]
    );
    assert_eq!(
        ids(InstanceFilter {
            id_prefix: Some("%".into()),
            ..newest.clone()
        }),
        Vec::<String>::new(),
        "the prefix is text, not a pattern"
    );
    assert_eq!(
        ids(InstanceFilter {
            created_from: Some(T0 + 1000),
            created_until: Some(T0 + 3000),
            ..InstanceFilter::default()
        }),
        vec!["a2", "b1"]
    );
    assert_eq!(
        ids(InstanceFilter {
            workflow: Some("order".into()),
            status: Some(Status::Stalled),
            ..newest
        }),
        vec!["c1", "b2"]
    );
    assert_eq!(
        store.count_instances(None).unwrap(),
        vec![
            (Status::Running, 1),
            (Status::Stalled, 3),
            (Status::Completed, 1)
        ]
    );
    assert_eq!(
        store.count_instances(Some("refund")).unwrap(),
        vec![(Status::Stalled, 1)]
    );
    assert!(store.count_instances(Some("nothing")).unwrap().is_empty());

    for version in 1..=6 {
        store
            .commit_step(step("a1", version, T0 + version))
            .unwrap();
    }
    assert_eq!(store.history_len("a1").unwrap(), 6);
    assert_eq!(store.history_len("nope").unwrap(), 0);
    let seqs = |after, limit| {
        store
            .history_page("a1", after, limit)
            .unwrap()
            .iter()
            .map(|h| h.seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(0, 2), vec![1, 2]);
    assert_eq!(seqs(2, 3), vec![3, 4, 5]);
    assert_eq!(seqs(5, 10), vec![6]);
    assert_eq!(seqs(6, 10), Vec::<i64>::new());
    assert_eq!(
        store.history_page("a1", 1, 1).unwrap(),
        store.history("a1", 1).unwrap()[..1]
    );
}

fn bundles_by_hash(db: &Db) {
    let store = db.open();
    assert!(store.bundle("h1").unwrap().is_none());
    store.put_bundle("h1", &[0, 1, 2, 255], T0).unwrap();
    store.put_bundle("h1", &[0, 1, 2, 255], T0 + 1).unwrap();
    assert_eq!(store.bundle("h1").unwrap(), Some(vec![0, 1, 2, 255]));
}

/// The latest progress of each running call: replaced by a newer report, listed per
/// instance by key, forgotten when the call ends.
fn call_progress_keeps_the_latest_report_per_call(db: &Db) {
    let store = db.open();
    assert!(store.call_progress("i1").unwrap().is_empty());
    store
        .record_progress("i1", "i1/r/1/0/1", &json!({"progress": 0.1}), T0)
        .unwrap();
    store
        .record_progress(
            "i1",
            "i1/r/1/0/1",
            &json!({"progress": 0.5, "detail": "half"}),
            T0 + 5,
        )
        .unwrap();
    store
        .record_progress("i1", "i1/r/1/1/1", &json!({"progress": 0.2}), T0 + 6)
        .unwrap();
    store
        .record_progress("i2", "i2/r/1/0/1", &json!({"progress": 0.9}), T0 + 7)
        .unwrap();
    let latest: Vec<(String, serde_json::Value, i64)> = store
        .call_progress("i1")
        .unwrap()
        .into_iter()
        .map(|p| (p.key, p.report, p.at))
        .collect();
    assert_eq!(
        latest,
        [
            (
                "i1/r/1/0/1".to_string(),
                json!({"progress": 0.5, "detail": "half"}),
                T0 + 5
            ),
            ("i1/r/1/1/1".to_string(), json!({"progress": 0.2}), T0 + 6),
        ]
    );
    store.clear_progress("i1/r/1/0/1").unwrap();
    store.clear_progress("i1/r/1/0/1").unwrap();
    let keys: Vec<String> = store
        .call_progress("i1")
        .unwrap()
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(keys, ["i1/r/1/1/1"]);
    assert_eq!(store.call_progress("i2").unwrap().len(), 1);
}

fn corrupt_rows_are_reported_with_their_id(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    let id = store.enqueue(&[msg("q", json!(1))], T0).unwrap()[0];
    db.exec("UPDATE instances SET facts = '{not json' WHERE id = 'i1'");
    db.exec("UPDATE messages SET payload = 'nope'");
    match store.instance("i1") {
        Err(StoreError::Corrupt(message)) => {
            assert!(
                message.contains("i1") && message.contains("facts"),
                "{message}"
            )
        }
        other => panic!("expected a corrupt row, got {other:?}"),
    }
    match store.lease(&request("q", "w", T0, 1)) {
        Err(StoreError::Corrupt(message)) => {
            assert!(message.contains(&id.to_string()), "{message}")
        }
        other => panic!("expected a corrupt row, got {other:?}"),
    }
}

/// Statuses and history kinds are stored as their strings, and a row holding a string
/// that names none reads back as a corrupt row naming it.
fn statuses_and_history_kinds_are_stored_as_their_names(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    let mut commit = step("i1", 1, T0 + 5);
    commit.status = Status::Stalled;
    store.commit_step(commit).unwrap();
    // Found by the strings, behind the store's back.
    db.exec("UPDATE instances SET workflow = 'seen' WHERE status = 'STALLED'");
    db.exec("UPDATE history SET text = 'seen' WHERE kind = 'fired'");
    assert_eq!(store.instance("i1").unwrap().unwrap().workflow, "seen");
    assert_eq!(store.history("i1", 0).unwrap()[0].text, "seen");

    db.exec("UPDATE history SET kind = 'fact'");
    match store.history("i1", 0) {
        Err(StoreError::Corrupt(message)) => assert!(
            message.contains("i1#1") && message.contains("kind") && message.contains("\"fact\""),
            "{message}"
        ),
        other => panic!("expected a corrupt row, got {other:?}"),
    }
    db.exec("UPDATE instances SET status = 'DONE'");
    for result in [
        store.instance("i1").map(|_| ()),
        store.list_instances(&InstanceFilter::default()).map(|_| ()),
    ] {
        match result {
            Err(StoreError::Corrupt(message)) => assert!(
                message.contains("i1") && message.contains("status") && message.contains("DONE"),
                "{message}"
            ),
            other => panic!("expected a corrupt row, got {other:?}"),
        }
    }
}

on_both_backends!(
    statuses_and_history_kinds_are_stored_as_their_names,
    create_instance_and_idempotency,
    commit_step_applies_everything,
    commit_step_conflict_writes_nothing,
    commit_step_lease_lost_writes_nothing,
    history_order_and_paging,
    list_and_unfinished_instances,
    console_queries,
    bundles_by_hash,
    call_progress_keeps_the_latest_report_per_call,
    corrupt_rows_are_reported_with_their_id,
);
