//! Records the SQLite store's own unit tests write: a new instance, and a step of it.

use serde_json::json;

use crate::engine::{HistoryKind, Status};
use crate::store::{NewHistory, NewInstance, StepCommit};

/// When the tests' records were made.
pub(super) const T0: i64 = 1_000_000;

/// A new instance `id` of workflow `order`.
pub(super) fn new_instance(id: &str) -> NewInstance {
    NewInstance {
        id: id.into(),
        workflow: "order".into(),
        bundle: "b1".into(),
        input: json!({"id": id}),
        idempotency_key: None,
        created_at: T0,
    }
}

/// The step of `instance` from `expected_version`, with one history row (none for the
/// first step, from version 0).
pub(super) fn step(instance: &str, expected_version: i64, now: i64) -> StepCommit {
    let history = (expected_version > 0).then(|| NewHistory {
        at: now,
        kind: HistoryKind::Fired,
        text: format!("step from version {expected_version}"),
        data: json!({"from": expected_version}),
    });
    StepCommit {
        instance: instance.into(),
        expected_version,
        status: Status::Running,
        facts: json!({"step": expected_version}),
        output: None,
        failure: None,
        state: json!({"v": expected_version}),
        now,
        history: history.into_iter().collect(),
        enqueue: Vec::new(),
        ack: None,
        stamp: None,
        children: Vec::new(),
    }
}
