//! What travels on the runtime's two queues, and how an engine step's commands become
//! queue messages.
//!
//! - `events`: everything that happens to an instance (call results, timer firings),
//!   exclusive per instance id, so one instance takes one step at a time however many
//!   runtime processes share the store. A timer is an event message that becomes
//!   visible when it is due.
//! - `calls`: function calls for the executor, by the function's priority, with the
//!   call's idempotency key (instance, rule, firing, index, attempt), so a call is
//!   enqueued once per attempt and a redelivery after a crash is recognisable.

use crate::engine::{CallId, Command, Event};
use crate::store::NewMessage;
use cosmos_ir::Program;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

pub const EVENTS: &str = "events";
pub const CALLS: &str = "calls";

/// How many times a call message may be leased (a runtime that dies while running it
/// counts one) before its rule is told, instead of running it again, that it crashed.
pub const CALL_MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMessage {
    pub instance: String,
    pub event: Event,
    /// For a call's result or failure: the worker (or node) that ran the call, which
    /// the step's `received` history row records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallMessage {
    pub instance: String,
    /// The bundle the instance runs on: it declares the function's result type.
    pub bundle: String,
    pub call: CallId,
    pub key: String,
    pub function: String,
    pub args: Map<String, Json>,
}

/// The root of the tree of instances that `instance` belongs to: a child's id is its
/// parent's id, a dot and a number (LANGUAGE.md 10.6), so the root is the id up to
/// the first dot. Messages carry it as their `root` metadata, so that `cosmosc run`
/// can work on one instance and its children only.
pub fn root_of(instance: &str) -> &str {
    instance.split('.').next().unwrap_or(instance)
}

fn metadata(instance: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("instance".to_string(), instance.to_string()),
        ("root".to_string(), root_of(instance).to_string()),
    ])
}

pub fn event(instance: &str, event: Event, visible_at: i64, priority: i64) -> NewMessage {
    event_from(instance, event, visible_at, priority, None)
}

/// [`event`] with the worker that ran the call whose result or failure it carries.
pub fn event_from(
    instance: &str,
    event: Event,
    visible_at: i64,
    priority: i64,
    worker: Option<&str>,
) -> NewMessage {
    NewMessage {
        queue: EVENTS.to_string(),
        priority,
        deadline: None,
        visible_at,
        exclusivity: Some(instance.to_string()),
        metadata: metadata(instance),
        payload: serde_json::to_value(EventMessage {
            instance: instance.to_string(),
            event,
            worker: worker.map(str::to_string),
        })
        .unwrap_or(Json::Null),
        idempotency_key: None,
        max_attempts: None,
    }
}

/// The messages for an engine step's commands; [`Command::StartChild`] is the
/// caller's (it creates an instance besides its message).
pub fn for_commands(
    program: &Program,
    instance: &str,
    bundle: &str,
    commands: Vec<Command>,
    now: i64,
) -> Vec<NewMessage> {
    commands
        .into_iter()
        .filter_map(|command| match command {
            Command::Call {
                call,
                key,
                function,
                args,
            } => {
                let settings = program
                    .functions
                    .iter()
                    .find(|f| f.name == function)
                    .map(|f| (f.settings.priority, f.settings.pool.clone()));
                let (priority, pool) = settings.unwrap_or((0, "default".to_string()));
                let payload = CallMessage {
                    instance: instance.to_string(),
                    bundle: bundle.to_string(),
                    call,
                    key: key.clone(),
                    function: function.clone(),
                    args,
                };
                let mut metadata = metadata(instance);
                metadata.insert("function".to_string(), function);
                metadata.insert("pool".to_string(), pool);
                Some(NewMessage {
                    queue: CALLS.to_string(),
                    priority,
                    deadline: None,
                    visible_at: now,
                    exclusivity: None,
                    metadata,
                    payload: serde_json::to_value(payload).unwrap_or(Json::Null),
                    idempotency_key: Some(key),
                    // Counted by the call loop, which tells the rule rather than
                    // dead-lettering in silence.
                    max_attempts: None,
                })
            }
            Command::StartTimer { timer, at } => {
                Some(event(instance, Event::TimerFired { timer }, at, 0))
            }
            Command::CancelChild { child } => Some(event(&child, Event::Cancel, now, 0)),
            Command::NotifyParent { parent, event: e } => Some(event(&parent, e, now, 0)),
            Command::StartChild { .. } => None,
        })
        .collect()
}
