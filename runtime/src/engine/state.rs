//! What the engine keeps of one instance between steps ([`InstanceState`]): its
//! values, the firings waiting for calls, pending timers and refraction.

use std::collections::BTreeMap;

use cosmos_ir::host::{CallRequest, Instance};
use cosmos_ir::value::Value;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{HistoryEntry, ParentLink, Status, TimerId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum SlotState {
    Pending,
    Done(Json),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Slot {
    pub(super) request: CallRequest,
    pub(super) attempt: i64,
    pub(super) state: SlotState,
    /// The attempt the function's retry policy began counting at: 1, or the attempt
    /// an `error` block's `retry()` started afresh.
    #[serde(default = "first_attempt")]
    pub(super) policy_start: i64,
    /// For a call of a child workflow: the id of the child instance of the current
    /// attempt, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) child: Option<String>,
}

impl Slot {
    pub(super) fn new(request: CallRequest) -> Slot {
        Slot {
            request,
            attempt: 1,
            state: SlotState::Pending,
            policy_start: 1,
            child: None,
        }
    }
}

fn first_attempt() -> i64 {
    1
}

/// One firing of a rule whose action is waiting for calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Flight {
    pub(super) firing: u64,
    /// A `List<Call<T>>` (the result is a list) rather than one `Call<T>`.
    pub(super) many: bool,
    /// `settle(calls)`: a failed call is an `Outcome` like a result, no `error` block
    /// runs, and each slot's result is already its `Outcome`'s JSON.
    #[serde(default)]
    pub(super) settle: bool,
    pub(super) slots: Vec<Slot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum TimerKind {
    /// `sleep(d)`, as slot `index` of a firing.
    Sleep {
        rule: String,
        firing: u64,
        index: usize,
    },
    /// `retry(after:)`: the slot's call runs again when the timer fires.
    Retry {
        rule: String,
        firing: u64,
        index: usize,
    },
    /// The rule's `timeout`.
    Deadline { rule: String, firing: u64 },
    /// The instance's one wake-up: a comparison of `now()` in a `match` changes its
    /// answer (LANGUAGE.md 10.1).
    Wake,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Timer {
    pub(super) id: TimerId,
    pub(super) at: i64,
    pub(super) kind: TimerKind,
}

/// One workflow instance as the engine sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    pub id: String,
    pub values: Instance,
    pub status: Status,
    /// The `output` (or `complete(value)`'s value) once completed.
    pub output: Option<Json>,
    /// Why the instance failed.
    pub failure: Option<String>,
    /// Kept in memory for simulations; a store keeps history in its own table.
    #[serde(skip)]
    pub history: Vec<HistoryEntry>,
    /// Per rule: the values of its read set when it last fired.
    pub(super) refraction: BTreeMap<String, Vec<Value>>,
    pub(super) in_flight: BTreeMap<String, Flight>,
    pub(super) timers: Vec<Timer>,
    pub(super) fired: BTreeMap<String, u64>,
    pub(super) next_timer: TimerId,
    /// Set when the instance is a child workflow's: who called it, and which call it
    /// answers when it finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentLink>,
    /// The number the next child instance's id ends with (`{id}.{n}`).
    #[serde(default = "first_child")]
    pub(super) next_child: u64,
}

fn first_child() -> u64 {
    1
}

impl InstanceState {
    /// How many times a rule fired.
    pub fn fired(&self, rule: &str) -> u64 {
        self.fired.get(rule).copied().unwrap_or(0)
    }

    pub fn fired_counts(&self) -> &BTreeMap<String, u64> {
        &self.fired
    }

    /// The rules waiting for calls or timers.
    pub fn in_flight(&self) -> impl Iterator<Item = &str> {
        self.in_flight.keys().map(String::as_str)
    }

    /// Pending timers and when they are due.
    pub fn timers(&self) -> impl Iterator<Item = (TimerId, i64)> + '_ {
        self.timers.iter().map(|t| (t.id, t.at))
    }

    /// When the instance's wake-up is due: the earliest time a comparison of `now()`
    /// in a rule's `match` changes its answer (LANGUAGE.md 10.1).
    pub fn wakes_at(&self) -> Option<i64> {
        self.timers
            .iter()
            .find(|t| t.kind == TimerKind::Wake)
            .map(|t| t.at)
    }

    /// The calls (and `sleep`s) the instance is waiting for.
    pub fn waiting(&self) -> Vec<Waiting> {
        let mut out = Vec::new();
        for (rule, flight) in &self.in_flight {
            for (index, slot) in flight.slots.iter().enumerate() {
                if slot.state != SlotState::Pending {
                    continue;
                }
                out.push(Waiting {
                    rule: rule.clone(),
                    firing: flight.firing,
                    index,
                    function: slot.request.callee().to_string(),
                    attempt: slot.attempt,
                    child: slot.child.clone(),
                });
            }
        }
        out
    }
}

/// A call an instance is waiting for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub rule: String,
    pub firing: u64,
    pub index: usize,
    pub function: String,
    pub attempt: i64,
    /// For a call of a child workflow (`function` is then the workflow's name): the
    /// child instance's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
}

impl Waiting {
    /// The call's idempotency key, as the engine gives it to the call of `instance`.
    pub fn key(&self, instance: &str) -> String {
        format!(
            "{instance}/{}/{}/{}/{}",
            self.rule, self.firing, self.index, self.attempt
        )
    }
}
