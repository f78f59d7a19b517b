//! The forward-chaining engine of LANGUAGE.md section 5, pure and in memory.
//!
//! An [`InstanceState`] changes only through [`Engine::handle`], which takes one
//! [`Event`] (a closed enum, handled in one `match`) and the event's logical time, and
//! returns the [`Command`]s for the outside world (calls to enqueue, timers to start)
//! together with the history entries it appended. The engine has no store, no
//! processes and no clock: whoever drives it (the runtime, or `cosmosc test` on a
//! virtual clock) delivers call results and timer firings as events.
//!
//! The rules, in the order section 5 states them:
//! - a rule is eligible when it is not in flight, its `match` holds, and it never
//!   fired or a value in its read set differs from the one it saw when it last fired;
//! - eligible rules fire by priority (higher first), then declaration order; a pure
//!   action's reaction runs at once and eligibility is computed again before the next
//!   rule fires;
//! - after every change `complete when` is checked; `complete()`, `complete(v)` and
//!   `fail(m)` finish the instance; `output` is evaluated on completion;
//! - an unfinished instance with nothing in flight, no eligible rule and no pending
//!   timer is `STALLED`;
//! - after every step, an instance whose rules compare `now()` with a threshold in
//!   their `match` keeps one wake-up timer at the earliest threshold still ahead, and
//!   refraction counts a passed threshold as a change (LANGUAGE.md 10.1, `clock.rs`);
//! - an event that no longer matters (a finished instance's timer or call, a replaced
//!   wake-up) changes nothing and is marked [`Step::ignored`].

mod calls;
mod children;
mod clock;
mod history;
mod policy;
mod state;

use cosmos_ir::Program;
use cosmos_ir::host::{ActionValue, Handlers, HostError, WorkflowHost};
use cosmos_ir::interp::{Effects, Finish};
use cosmos_ir::json::to_json;
use cosmos_ir::value::{Value, equal};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

pub use clock::Wake;
pub use history::{History, HistoryEntry, HistoryKind};
use state::{Flight, Slot, SlotState, TimerKind};
pub use state::{InstanceState, Waiting};

/// How many rules may fire in one step before the engine decides that pure rules are
/// re-enabling each other forever and fails the instance.
pub const MAX_FIRINGS_PER_STEP: usize = 10_000;

crate::names::named_enum! {
    /// Where an instance is (`std.core.Status` in Emx, spelled the same).
    pub enum Status("status") {
        Running = "RUNNING",
        /// Unfinished, with nothing in flight, no rule eligible and no timer: it waits
        /// for a signal.
        Stalled = "STALLED",
        Completed = "COMPLETED",
        Failed = "FAILED",
        Cancelled = "CANCELLED",
    }
}

impl Status {
    pub fn is_finished(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled)
    }
}

crate::names::named_enum! {
    /// Why a call failed (`std.core.ErrorKind` in Emx, spelled the same).
    pub enum CallErrorKind("error kind") {
        /// Non-zero exit, `{"error": …}` from a worker, or the process could not start.
        Failed = "FAILED",
        /// Did not finish within the function's timeout (its process group was killed),
        /// or the rule's `timeout` passed.
        Timeout = "TIMEOUT",
        /// Output that is not one JSON value, too much of it, or not of the function's
        /// declared result type.
        BadOutput = "BAD_OUTPUT",
        /// Terminated by a signal, or a worker that died while serving.
        Crashed = "CRASHED",
        /// A child workflow failed or was cancelled (LANGUAGE.md 10.6).
        ChildFailed = "CHILD_FAILED",
    }
}

/// One call of one firing: `index` is its place in a fan-out (0 for a single call).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CallId {
    pub rule: String,
    pub firing: u64,
    pub index: usize,
    pub attempt: i64,
}

pub type TimerId = u64;

/// What links a child instance to its parent: the parent's id and the call of the
/// parent's firing that the child answers (LANGUAGE.md 10.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    pub instance: String,
    pub call: CallId,
}

/// Why a call failed, as the executor reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub message: String,
    pub kind: CallErrorKind,
    pub stderr: Option<String>,
}

/// Everything that can happen to an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The instance begins: the first rules fire.
    Start,
    CallCompleted {
        call: CallId,
        result: Json,
    },
    CallFailed {
        call: CallId,
        failure: Failure,
    },
    TimerFired {
        timer: TimerId,
    },
    Signal {
        name: String,
        args: Json,
    },
    Cancel,
}

/// What the engine asks of the outside world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Run `function` with `args`; `key` is the idempotency key (instance, rule,
    /// firing, index, attempt) that makes a redelivered call recognisable.
    Call {
        call: CallId,
        key: String,
        function: String,
        args: Map<String, Json>,
    },
    /// Deliver [`Event::TimerFired`] at `at` (milliseconds since the epoch).
    StartTimer { timer: TimerId, at: i64 },
    /// Create instance `child` of `workflow` with `input`, as the answer to `call`
    /// (its parent link is this instance and `call`), and start it. `key` is the
    /// call's idempotency key, as for [`Command::Call`].
    StartChild {
        call: CallId,
        key: String,
        child: String,
        workflow: String,
        input: Map<String, Json>,
    },
    /// Cancel the child instance `child` (and, through its own cancel, its children).
    CancelChild { child: String },
    /// Deliver `event` to the parent instance `parent`: this child finished.
    NotifyParent { parent: String, event: Event },
}

/// What one step produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    pub commands: Vec<Command>,
    /// The entries this step appended to the instance's history.
    pub history: Vec<HistoryEntry>,
    /// The event no longer mattered — the instance is finished, or it no longer waits
    /// for that call or timer (a replaced wake-up) — so nothing changed and there is
    /// nothing to record: its message is simply acknowledged.
    pub ignored: bool,
}

/// An event the engine refuses; the instance is left exactly as it was.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("the instance is {0}; it takes no more events")]
    Finished(Status),
}

/// The engine for one workflow of a program.
pub struct Engine<'p> {
    program: &'p Program,
    host: Box<dyn Handlers + 'p>,
    /// Rule indices in firing order: priority (higher first), then declaration order.
    order: Vec<usize>,
    /// By rule index: whether the rule's `match` reads `now()`.
    watched: Vec<bool>,
}

/// The step in progress: what goes out, and the time it happens at.
struct Cx {
    now: i64,
    step: Step,
}

impl Cx {
    fn log(&mut self, event: History) {
        self.step.history.push(HistoryEntry {
            at: self.now,
            event,
        });
    }
}

impl<'p> Engine<'p> {
    /// The engine for `workflow`, its bodies run by the reference interpreter.
    pub fn new(program: &'p Program, workflow: &str) -> Result<Self, EngineError> {
        let host = WorkflowHost::new(program, workflow)?;
        Ok(Engine::with_handlers(program, Box::new(host)))
    }

    /// The engine for the workflow `host` runs (the JIT's handlers, say).
    pub fn with_handlers(program: &'p Program, host: Box<dyn Handlers + 'p>) -> Self {
        let mut order: Vec<usize> = (0..host.workflow().rules.len()).collect();
        order.sort_by_key(|&i| {
            std::cmp::Reverse(host.workflow().rules.get(i).map_or(0, |r| r.priority))
        });
        let watched = clock::watched_rules(program, &host.workflow().rules);
        Engine {
            program,
            host,
            order,
            watched,
        }
    }

    pub fn host(&self) -> &dyn Handlers {
        self.host.as_ref()
    }

    pub fn program(&self) -> &'p Program {
        self.program
    }

    /// A new instance from its JSON input, not yet started: send [`Event::Start`].
    pub fn instantiate(&self, id: &str, input: &Json) -> Result<InstanceState, EngineError> {
        let values = self.host.start(input)?;
        Ok(InstanceState {
            id: id.to_string(),
            values,
            status: Status::Running,
            output: None,
            failure: None,
            history: Vec::new(),
            refraction: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            timers: Vec::new(),
            fired: BTreeMap::new(),
            next_timer: 1,
            parent: None,
            next_child: 1,
        })
    }

    /// Handles one event at logical time `now`. A refused event (a signal the workflow
    /// does not have or with a bad payload, a signal or a cancel for a finished
    /// instance) changes nothing; events for calls or timers that no longer matter are
    /// ignored.
    pub fn handle(
        &self,
        instance: &mut InstanceState,
        now: i64,
        event: Event,
    ) -> Result<Step, EngineError> {
        let mut cx = Cx {
            now,
            step: Step::default(),
        };
        if instance.status.is_finished() {
            return match event {
                Event::Signal { .. } | Event::Start | Event::Cancel => {
                    Err(EngineError::Finished(instance.status))
                }
                _ => {
                    cx.step.ignored = true;
                    Ok(cx.step)
                }
            };
        }
        if self.stale(instance, &event) {
            cx.step.ignored = true;
            return Ok(cx.step);
        }
        let outcome = match event {
            Event::Start => {
                let input = self.inputs_json(instance);
                cx.log(History::Started {
                    input,
                    parent: instance.parent.clone(),
                });
                self.start_time_defaults(instance, now)
            }
            Event::CallCompleted { call, result } => {
                self.call_completed(instance, &call, result, &mut cx)
            }
            Event::CallFailed { call, failure } => {
                if self.retry_by_policy(instance, &call, &failure, &mut cx) {
                    Ok(())
                } else {
                    self.call_failed(instance, &call, &failure, &mut cx)
                }
            }
            Event::TimerFired { timer } => self.timer_fired(instance, timer, &mut cx),
            Event::Signal { name, args } => {
                let before = instance.values.facts.clone();
                match self.host.signal(&name, &mut instance.values, &args, now) {
                    Ok(effects) => {
                        let changed = self.changed(&before, &instance.values.facts);
                        cx.log(History::Signalled { name, changed });
                        self.effects(instance, effects, &mut cx)
                    }
                    Err(failed @ (HostError::Runtime(_) | HostError::Default { .. })) => {
                        Err(failed)
                    }
                    Err(refused) => return Err(refused.into()),
                }
            }
            Event::Cancel => {
                self.cancel_children(instance, None, &mut cx);
                instance.status = Status::Cancelled;
                instance.in_flight.clear();
                instance.timers.clear();
                cx.log(History::Cancelled);
                Ok(())
            }
        };
        let outcome = outcome.and_then(|()| self.settle(instance, &mut cx));
        if let Err(error) = outcome {
            self.fail(instance, format!("run-time error: {error}"), &mut cx);
        }
        self.schedule_wake(instance, &mut cx);
        self.update_status(instance, &mut cx);
        self.notify_parent(instance, &mut cx);
        instance.history.extend(cx.step.history.iter().cloned());
        Ok(cx.step)
    }

    /// Whether a call result or timer no longer matters to a running instance: it no
    /// longer waits for that call (attempt) or knows that timer.
    fn stale(&self, instance: &InstanceState, event: &Event) -> bool {
        match event {
            Event::CallCompleted { call, .. } | Event::CallFailed { call, .. } => !instance
                .in_flight
                .get(&call.rule)
                .filter(|f| f.firing == call.firing)
                .and_then(|f| f.slots.get(call.index))
                .is_some_and(|s| s.attempt == call.attempt && s.state == SlotState::Pending),
            Event::TimerFired { timer } => !instance.timers.iter().any(|t| t.id == *timer),
            Event::Start | Event::Signal { .. } | Event::Cancel => false,
        }
    }

    fn inputs_json(&self, instance: &InstanceState) -> Json {
        let mut out = Map::new();
        for (field, v) in self
            .host
            .workflow()
            .inputs
            .iter()
            .zip(&instance.values.inputs)
        {
            out.insert(field.name.clone(), to_json(self.program, v));
        }
        Json::Object(out)
    }

    fn changed(&self, before: &[Value], after: &[Value]) -> Vec<(String, Json)> {
        self.host
            .workflow()
            .facts
            .iter()
            .zip(before.iter().zip(after))
            .filter(|(_, (a, b))| !equal(a, b))
            .map(|(f, (_, b))| (f.name.clone(), to_json(self.program, b)))
            .collect()
    }

    /// Fires eligible rules until none is left, checking `complete when` after every
    /// change.
    fn settle(&self, instance: &mut InstanceState, cx: &mut Cx) -> Result<(), HostError> {
        let mut budget = MAX_FIRINGS_PER_STEP;
        while !instance.status.is_finished() {
            if self.host.complete_when(&instance.values, cx.now)? {
                self.complete(instance, None, cx)?;
                break;
            }
            let Some(rule) = self.next_eligible(instance, cx.now)? else {
                break;
            };
            if budget == 0 {
                self.fail(
                    instance,
                    format!(
                        "more than {MAX_FIRINGS_PER_STEP} rules fired in one step: pure rules keep enabling each other"
                    ),
                    cx,
                );
                break;
            }
            budget -= 1;
            self.fire(instance, &rule, cx)?;
        }
        Ok(())
    }

    /// What refraction remembers of a rule: the values of its read set, and for a rule
    /// whose match reads `now()`, the answers of its comparisons of `now()` at `now`.
    fn seen(&self, instance: &InstanceState, rule: &cosmos_ir::RuleIr, now: i64) -> Vec<Value> {
        let mut seen = self.read_set(instance, &rule.reads);
        seen.extend(self.seen_time(instance, rule, now));
        seen
    }

    fn read_set(&self, instance: &InstanceState, reads: &[String]) -> Vec<Value> {
        let w = self.host.workflow();
        reads
            .iter()
            .map(|name| {
                if let Some(i) = w.facts.iter().position(|f| &f.name == name) {
                    instance.values.facts.get(i).cloned().unwrap_or(Value::Null)
                } else if let Some(i) = w.inputs.iter().position(|f| &f.name == name) {
                    instance
                        .values
                        .inputs
                        .get(i)
                        .cloned()
                        .unwrap_or(Value::Null)
                } else {
                    Value::Null
                }
            })
            .collect()
    }

    /// Whether `rule` fired before and nothing it reads changed since (at `now`: a
    /// threshold of its match passing counts as a change).
    pub fn refracted(&self, instance: &InstanceState, rule: &str, now: i64) -> bool {
        let Some(seen) = instance.refraction.get(rule) else {
            return false;
        };
        let Some(ir) = self.host.workflow().rules.iter().find(|r| r.name == rule) else {
            return false;
        };
        let mut current = self.seen(instance, ir, now);
        // Recorded before refraction remembered time: its read set alone.
        if seen.len() == ir.reads.len() {
            current.truncate(ir.reads.len());
        }
        seen.len() == current.len() && seen.iter().zip(&current).all(|(a, b)| equal(a, b))
    }

    fn next_eligible(
        &self,
        instance: &InstanceState,
        now: i64,
    ) -> Result<Option<String>, HostError> {
        let rules = &self.host.workflow().rules;
        // Rules in flight or refracted are skipped before their `match` runs; the
        // host evaluates the others in order against one laying-out of the facts.
        let mut candidates = self.order.iter().copied().filter(|&i| {
            rules.get(i).is_some_and(|rule| {
                !instance.in_flight.contains_key(&rule.name)
                    && !self.refracted(instance, &rule.name, now)
            })
        });
        let first = self
            .host
            .first_match(&mut candidates, &instance.values, now)?;
        Ok(first
            .and_then(|i| rules.get(i))
            .map(|rule| rule.name.clone()))
    }

    fn fire(&self, instance: &mut InstanceState, rule: &str, cx: &mut Cx) -> Result<(), HostError> {
        let Some(ir) = self.host.workflow().rules.iter().find(|r| r.name == rule) else {
            return Ok(());
        };
        let seen = self.seen(instance, ir, cx.now);
        instance.refraction.insert(rule.to_string(), seen);
        let count = instance.fired.entry(rule.to_string()).or_insert(0);
        *count += 1;
        let firing = *count;
        let (many, settle, requests) = match self.host.action(rule, &instance.values, cx.now)? {
            ActionValue::Value(json) => {
                cx.log(History::Fired {
                    rule: rule.to_string(),
                    firing,
                    calls: 0,
                });
                return self.react(instance, rule, &json, cx);
            }
            ActionValue::Call(request) => (false, false, vec![request]),
            ActionValue::Calls(requests) => (true, false, requests),
            ActionValue::Settle(requests) => (true, true, requests),
        };
        cx.log(History::Fired {
            rule: rule.to_string(),
            firing,
            calls: requests.len(),
        });
        if requests.is_empty() {
            return self.react(instance, rule, &Json::Array(Vec::new()), cx);
        }
        let slots = requests.into_iter().map(Slot::new).collect();
        instance.in_flight.insert(
            rule.to_string(),
            Flight {
                firing,
                many,
                settle,
                slots,
            },
        );
        let count = instance.in_flight.get(rule).map_or(0, |f| f.slots.len());
        for index in 0..count {
            self.dispatch(instance, rule, index, cx);
        }
        if let Some(ms) = ir.timeout_ms {
            self.start_timer(
                instance,
                cx.now.saturating_add(ms),
                TimerKind::Deadline {
                    rule: rule.to_string(),
                    firing,
                },
                cx,
            );
        }
        Ok(())
    }

    fn react(
        &self,
        instance: &mut InstanceState,
        rule: &str,
        result: &Json,
        cx: &mut Cx,
    ) -> Result<(), HostError> {
        let before = instance.values.facts.clone();
        let effects = self
            .host
            .reaction(rule, &mut instance.values, result, cx.now)?;
        let changed = self.changed(&before, &instance.values.facts);
        cx.log(History::Reacted {
            rule: rule.to_string(),
            changed,
        });
        self.effects(instance, effects, cx)
    }

    /// Logs and `complete`/`fail` of a handler (a `retry` is the caller's business).
    fn effects(
        &self,
        instance: &mut InstanceState,
        effects: Effects,
        cx: &mut Cx,
    ) -> Result<(), HostError> {
        for message in effects.log {
            cx.log(History::Log { message });
        }
        match effects.finish {
            Some(Finish::Complete(value)) => self.complete(instance, value, cx),
            Some(Finish::Fail(message)) => {
                self.fail(instance, message, cx);
                Ok(())
            }
            Some(Finish::Retry(_)) | None => Ok(()),
        }
    }

    fn complete(
        &self,
        instance: &mut InstanceState,
        value: Option<Json>,
        cx: &mut Cx,
    ) -> Result<(), HostError> {
        let output = match value {
            Some(v) => Some(v),
            None => self.host.output(&instance.values, cx.now)?,
        };
        self.cancel_children(instance, None, cx);
        instance.status = Status::Completed;
        instance.output = output.clone();
        instance.in_flight.clear();
        instance.timers.clear();
        cx.log(History::Completed { output });
        Ok(())
    }

    fn fail(&self, instance: &mut InstanceState, message: String, cx: &mut Cx) {
        self.cancel_children(instance, None, cx);
        instance.status = Status::Failed;
        instance.failure = Some(message.clone());
        instance.in_flight.clear();
        instance.timers.clear();
        cx.log(History::Failed { message });
    }

    fn update_status(&self, instance: &mut InstanceState, cx: &mut Cx) {
        if instance.status.is_finished() {
            return;
        }
        if instance.in_flight.is_empty() && instance.timers.is_empty() {
            if instance.status != Status::Stalled {
                cx.log(History::Stalled);
            }
            instance.status = Status::Stalled;
        } else {
            instance.status = Status::Running;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_strings() {
        crate::names::tests::round_trip(
            Status::ALL,
            &["RUNNING", "STALLED", "COMPLETED", "FAILED", "CANCELLED"],
            Status::as_str,
            "status",
            &["BOGUS", "DONE", "RUNNING "],
        );
        let finished: Vec<Status> = Status::ALL
            .iter()
            .copied()
            .filter(|s| s.is_finished())
            .collect();
        assert_eq!(
            finished,
            [Status::Completed, Status::Failed, Status::Cancelled]
        );
    }

    #[test]
    fn call_error_kinds_round_trip_through_their_strings() {
        crate::names::tests::round_trip(
            CallErrorKind::ALL,
            &["FAILED", "TIMEOUT", "BAD_OUTPUT", "CRASHED", "CHILD_FAILED"],
            CallErrorKind::as_str,
            "error kind",
            &["BADOUTPUT", "BAD-OUTPUT", "ERROR"],
        );
    }

    /// A failure travels in event messages as JSON: its kind is the string.
    #[test]
    fn a_failure_serialises_its_kind_as_the_string() {
        let failure = Failure {
            message: "boom".into(),
            kind: CallErrorKind::Crashed,
            stderr: None,
        };
        let json = serde_json::to_value(&failure).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"message": "boom", "kind": "CRASHED", "stderr": null})
        );
        assert_eq!(serde_json::from_value::<Failure>(json).unwrap(), failure);
        let bad = serde_json::json!({"message": "m", "kind": "EXPLODED", "stderr": null});
        let error = serde_json::from_value::<Failure>(bad).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unknown error kind \"EXPLODED\""),
            "{error}"
        );
    }
}
