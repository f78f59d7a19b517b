//! Calls and timers in flight: sending a firing's calls out, taking in their results
//! and failures (with `retry`), and timers firing (`sleep`, retry delays, a rule's
//! `timeout`).

use cosmos_ir::host::{CallFailure, CallRequest, HostError, outcome_json};
use cosmos_ir::interp::Finish;
use cosmos_ir::json::to_json;
use cosmos_ir::value::Value;
use serde_json::Value as Json;

use super::state::{Slot, SlotState, Timer, TimerKind};
use super::{CallErrorKind, CallId, Command, Cx, Engine, Failure, History, InstanceState, TimerId};

impl Engine<'_> {
    pub(super) fn start_timer(
        &self,
        instance: &mut InstanceState,
        at: i64,
        kind: TimerKind,
        cx: &mut Cx,
    ) {
        let id = instance.next_timer;
        instance.next_timer += 1;
        instance.timers.push(Timer { id, at, kind });
        cx.step.commands.push(Command::StartTimer { timer: id, at });
    }

    /// Sends slot `index` of the rule's flight out: a call, a child instance, or a
    /// timer for `sleep`.
    pub(super) fn dispatch(
        &self,
        instance: &mut InstanceState,
        rule: &str,
        index: usize,
        cx: &mut Cx,
    ) {
        let Some(flight) = instance.in_flight.get(rule) else {
            return;
        };
        let firing = flight.firing;
        let Some(slot) = flight.slots.get(index) else {
            return;
        };
        match &slot.request {
            CallRequest::Function { name, args } => {
                let call = CallId {
                    rule: rule.to_string(),
                    firing,
                    index,
                    attempt: slot.attempt,
                };
                cx.step.commands.push(Command::Call {
                    key: format!(
                        "{}/{}/{}/{}/{}",
                        instance.id, rule, firing, index, slot.attempt
                    ),
                    call,
                    function: name.clone(),
                    args: args.clone(),
                });
            }
            CallRequest::Workflow { name, args } => {
                let call = CallId {
                    rule: rule.to_string(),
                    firing,
                    index,
                    attempt: slot.attempt,
                };
                let (name, args, many) = (name.clone(), args.clone(), flight.many);
                self.start_child(instance, call, name, args, many, cx);
            }
            CallRequest::Sleep { ms } => {
                let at = cx.now.saturating_add((*ms).max(0));
                self.start_timer(
                    instance,
                    at,
                    TimerKind::Sleep {
                        rule: rule.to_string(),
                        firing,
                        index,
                    },
                    cx,
                );
            }
        }
    }

    /// The pending slot a call event is about, if the event still matters.
    pub(super) fn live_slot<'i>(
        instance: &'i mut InstanceState,
        call: &CallId,
    ) -> Option<&'i mut Slot> {
        let flight = instance.in_flight.get_mut(&call.rule)?;
        if flight.firing != call.firing {
            return None;
        }
        let slot = flight.slots.get_mut(call.index)?;
        (slot.attempt == call.attempt && slot.state == SlotState::Pending).then_some(slot)
    }

    pub(super) fn call_completed(
        &self,
        instance: &mut InstanceState,
        call: &CallId,
        result: Json,
        cx: &mut Cx,
    ) -> Result<(), HostError> {
        let settle = instance.in_flight.get(&call.rule).is_some_and(|f| f.settle);
        let Some(slot) = Self::live_slot(instance, call) else {
            return Ok(());
        };
        slot.state = SlotState::Done(if settle {
            outcome_json(Ok(&result))
        } else {
            result
        });
        self.react_when_done(instance, &call.rule, cx)
    }

    /// Runs the reaction of the rule's firing once every slot has its result.
    fn react_when_done(
        &self,
        instance: &mut InstanceState,
        rule: &str,
        cx: &mut Cx,
    ) -> Result<(), HostError> {
        let Some(flight) = instance.in_flight.get(rule) else {
            return Ok(());
        };
        if flight.slots.iter().any(|s| s.state == SlotState::Pending) {
            return Ok(());
        }
        let Some(flight) = instance.in_flight.remove(rule) else {
            return Ok(());
        };
        // A retry waiting on its delay is pending, so no timer of the firing is left
        // but its deadline.
        instance.timers.retain(|t| {
            !matches!(&t.kind, TimerKind::Deadline { rule: r, firing } if r == rule && *firing == flight.firing)
        });
        let mut results: Vec<Json> = flight
            .slots
            .into_iter()
            .map(|s| match s.state {
                SlotState::Done(v) => v,
                SlotState::Pending => Json::Null,
            })
            .collect();
        let result = if flight.many {
            Json::Array(results)
        } else {
            results.pop().unwrap_or(Json::Null)
        };
        self.react(instance, rule, &result, cx)
    }

    pub(super) fn call_failed(
        &self,
        instance: &mut InstanceState,
        call: &CallId,
        failure: &Failure,
        cx: &mut Cx,
    ) -> Result<(), HostError> {
        let (many, settle) = instance
            .in_flight
            .get(&call.rule)
            .map_or((false, false), |f| (f.many, f.settle));
        let Some(slot) = Self::live_slot(instance, call) else {
            return Ok(());
        };
        let function = slot.request.callee().to_string();
        let arguments = slot.request.arguments();
        // A child that is still running (the rule's timeout passed) is cancelled: the
        // call is over for the parent, whatever happens next.
        let child = slot.child.take();
        if let Some(child) = child.filter(|_| failure.kind != CallErrorKind::ChildFailed) {
            cx.step.commands.push(Command::CancelChild { child });
        }
        let index = many.then_some(call.index);
        cx.log(History::CallFailed {
            rule: call.rule.clone(),
            function: function.clone(),
            index,
            attempt: call.attempt,
            kind: failure.kind,
            message: failure.message.clone(),
        });
        // Into the language's `ErrorKind`, which is spelled the same.
        let error = CallFailure {
            message: failure.message.clone(),
            kind: failure.kind.as_str().to_string(),
            attempt: call.attempt,
            function: function.clone(),
            stderr: failure.stderr.clone(),
            index,
            arguments,
        };
        if settle {
            // `settle`: the failure is the call's outcome; no `error` block runs.
            slot.state = SlotState::Done(outcome_json(Err(&error)));
            return self.react_when_done(instance, &call.rule, cx);
        }
        let before = instance.values.facts.clone();
        let Some(effects) = self
            .host
            .error(&call.rule, &mut instance.values, &error, cx.now)?
        else {
            self.cancel_children(instance, Some(&call.rule), cx);
            instance.in_flight.remove(&call.rule);
            let name = match index {
                Some(i) => format!("{function} (call {i} of the fan-out)"),
                None => function.clone(),
            };
            self.fail(
                instance,
                format!(
                    "rule {:?}: {name} failed ({}): {}",
                    call.rule, failure.kind, failure.message
                ),
                cx,
            );
            return Ok(());
        };
        let changed = self.changed(&before, &instance.values.facts);
        cx.log(History::ErrorHandled {
            rule: call.rule.clone(),
            changed,
        });
        if let Some(Finish::Retry(after)) = effects.finish {
            for message in effects.log {
                cx.log(History::Log { message });
            }
            return self.retry(instance, call, &function, index, after, cx);
        }
        // The firing is over: calls of it still out are abandoned (their results,
        // when they come, match no live slot and are discarded).
        self.abandon(instance, &call.rule, cx);
        self.effects(instance, effects, cx)
    }

    /// Ends the rule's firing without a reaction: its calls (running children are
    /// cancelled), retry delays and deadline.
    fn abandon(&self, instance: &mut InstanceState, rule: &str, cx: &mut Cx) {
        self.cancel_children(instance, Some(rule), cx);
        if let Some(flight) = instance.in_flight.remove(rule) {
            instance.timers.retain(|t| match &t.kind {
                TimerKind::Sleep {
                    rule: r, firing, ..
                }
                | TimerKind::Retry {
                    rule: r, firing, ..
                }
                | TimerKind::Deadline { rule: r, firing } => {
                    !(r == rule && *firing == flight.firing)
                }
                TimerKind::Wake => true,
            });
        }
    }

    /// `retry()` / `retry(after: d)`: the same call with the same arguments, attempt + 1.
    fn retry(
        &self,
        instance: &mut InstanceState,
        call: &CallId,
        function: &str,
        index: Option<usize>,
        after: Option<i64>,
        cx: &mut Cx,
    ) -> Result<(), HostError> {
        let Some(slot) = Self::live_slot(instance, call) else {
            return Ok(());
        };
        slot.attempt += 1;
        // `retry()` starts the function's retry policy afresh: a wait of the old one
        // (cut short by the rule's `timeout`) is dropped.
        slot.policy_start = slot.attempt;
        let attempt = slot.attempt;
        instance.timers.retain(|t| {
            !matches!(&t.kind, TimerKind::Retry { rule, firing, index }
                if *rule == call.rule && *firing == call.firing && *index == call.index)
        });
        cx.log(History::Retrying {
            rule: call.rule.clone(),
            function: function.to_string(),
            index,
            attempt,
            after_ms: after,
            policy: None,
        });
        match after {
            Some(ms) if ms > 0 => {
                self.start_timer(
                    instance,
                    cx.now.saturating_add(ms),
                    TimerKind::Retry {
                        rule: call.rule.clone(),
                        firing: call.firing,
                        index: call.index,
                    },
                    cx,
                );
            }
            _ => self.dispatch(instance, &call.rule, call.index, cx),
        }
        Ok(())
    }

    pub(super) fn timer_fired(
        &self,
        instance: &mut InstanceState,
        timer: TimerId,
        cx: &mut Cx,
    ) -> Result<(), HostError> {
        let Some(position) = instance.timers.iter().position(|t| t.id == timer) else {
            return Ok(());
        };
        let timer = instance.timers.remove(position);
        match timer.kind {
            TimerKind::Sleep {
                rule,
                firing,
                index,
            } => {
                let attempt = instance
                    .in_flight
                    .get(&rule)
                    .and_then(|f| f.slots.get(index))
                    .map_or(0, |s| s.attempt);
                let call = CallId {
                    rule,
                    firing,
                    index,
                    attempt,
                };
                let now = to_json(self.program, &Value::Time(cx.now));
                self.call_completed(instance, &call, now, cx)
            }
            TimerKind::Retry {
                rule,
                firing,
                index,
            } => {
                if instance
                    .in_flight
                    .get(&rule)
                    .is_some_and(|f| f.firing == firing)
                {
                    self.dispatch(instance, &rule, index, cx);
                }
                Ok(())
            }
            // Time passed a threshold: the step recomputes eligibility, nothing more.
            TimerKind::Wake => Ok(()),
            TimerKind::Deadline { rule, firing } => {
                // Every call of the firing still out has run past the deadline: each
                // fails with `TIMEOUT` (and, in a fan-out, runs the `error` block once)
                // until the firing ends.
                let pending: Vec<(usize, i64)> = instance
                    .in_flight
                    .get(&rule)
                    .filter(|f| f.firing == firing)
                    .map(|f| {
                        f.slots
                            .iter()
                            .enumerate()
                            .filter(|(_, s)| s.state == SlotState::Pending)
                            .map(|(index, s)| (index, s.attempt))
                            .collect()
                    })
                    .unwrap_or_default();
                if pending.is_empty() {
                    return Ok(());
                }
                // The deadline covers the action: a retried call gets a new one.
                let timeout = self
                    .host
                    .workflow()
                    .rules
                    .iter()
                    .find(|r| r.name == rule)
                    .and_then(|r| r.timeout_ms);
                let failure = Failure {
                    message: "the rule's timeout passed".to_string(),
                    kind: CallErrorKind::Timeout,
                    stderr: None,
                };
                for (index, attempt) in pending {
                    if instance.status.is_finished() {
                        return Ok(());
                    }
                    let call = CallId {
                        rule: rule.clone(),
                        firing,
                        index,
                        attempt,
                    };
                    self.call_failed(instance, &call, &failure, cx)?;
                }
                let live = instance
                    .in_flight
                    .get(&rule)
                    .is_some_and(|f| f.firing == firing);
                if let (Some(ms), true, false) = (timeout, live, instance.status.is_finished()) {
                    self.start_timer(
                        instance,
                        cx.now.saturating_add(ms),
                        TimerKind::Deadline { rule, firing },
                        cx,
                    );
                }
                Ok(())
            }
        }
    }
}
