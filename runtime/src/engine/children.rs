//! Child workflows (LANGUAGE.md 10.6) as the engine sees them: a call of a workflow
//! starts a child instance, a finished child answers its parent's call, and a parent
//! that stops waiting (cancelled, finished, its firing over) cancels the children it
//! still waits for.

use cosmos_ir::json::from_json;
use serde_json::{Map, Value as Json};

use super::state::SlotState;
use super::{
    CallErrorKind, CallId, Command, Cx, Engine, Event, Failure, History, InstanceState, Status,
};

impl Engine<'_> {
    /// Starts the child instance of slot `call`: its id is this instance's id, a dot
    /// and a number counted per instance, so a replayed history names the same child.
    pub(super) fn start_child(
        &self,
        instance: &mut InstanceState,
        call: CallId,
        workflow: String,
        input: Map<String, Json>,
        many: bool,
        cx: &mut Cx,
    ) {
        let child = format!("{}.{}", instance.id, instance.next_child);
        instance.next_child += 1;
        if let Some(slot) = instance
            .in_flight
            .get_mut(&call.rule)
            .and_then(|f| f.slots.get_mut(call.index))
        {
            slot.child = Some(child.clone());
        }
        cx.log(History::ChildStarted {
            rule: call.rule.clone(),
            workflow: workflow.clone(),
            index: many.then_some(call.index),
            attempt: call.attempt,
            child: child.clone(),
        });
        cx.step.commands.push(Command::StartChild {
            key: format!(
                "{}/{}/{}/{}/{}",
                instance.id, call.rule, call.firing, call.index, call.attempt
            ),
            call,
            child,
            workflow,
            input,
        });
    }

    /// Cancels the children still running for the firing of `rule` (every rule when
    /// `None`): the instance no longer waits for them.
    pub(super) fn cancel_children(
        &self,
        instance: &mut InstanceState,
        rule: Option<&str>,
        cx: &mut Cx,
    ) {
        for (name, flight) in instance.in_flight.iter_mut() {
            if rule.is_some_and(|r| r != name) {
                continue;
            }
            for slot in &mut flight.slots {
                if slot.state != SlotState::Pending {
                    continue;
                }
                if let Some(child) = slot.child.take() {
                    cx.step.commands.push(Command::CancelChild { child });
                }
            }
        }
    }

    /// When a child instance finished in this step: the event that answers its
    /// parent's call, the output (checked against the declared output type, as a
    /// function's result is) or the failure as `CHILD_FAILED`.
    pub(super) fn notify_parent(&self, instance: &InstanceState, cx: &mut Cx) {
        let Some(parent) = &instance.parent else {
            return;
        };
        let finished = cx.step.history.iter().any(|entry| {
            matches!(
                entry.event,
                History::Completed { .. } | History::Failed { .. } | History::Cancelled
            )
        });
        if !finished || !instance.status.is_finished() {
            return;
        }
        let workflow = self.host.workflow();
        let failed = |message: String| Failure {
            message,
            kind: CallErrorKind::ChildFailed,
            stderr: None,
        };
        let call = parent.call.clone();
        let event = match instance.status {
            Status::Completed => {
                let output = instance.output.clone().unwrap_or(Json::Null);
                match from_json(self.program, &workflow.output_ty(), &output) {
                    Ok(_) => Event::CallCompleted {
                        call,
                        result: output,
                    },
                    Err(error) => Event::CallFailed {
                        call,
                        failure: failed(format!(
                            "child {} {} completed with an output that is not its declared type: {error}",
                            workflow.name, instance.id
                        )),
                    },
                }
            }
            Status::Cancelled => Event::CallFailed {
                call,
                failure: failed(format!(
                    "child {} {} was cancelled",
                    workflow.name, instance.id
                )),
            },
            _ => {
                Event::CallFailed {
                    call,
                    failure: failed(instance.failure.clone().unwrap_or_else(|| {
                        format!("child {} {} failed", workflow.name, instance.id)
                    })),
                }
            }
        };
        cx.step.commands.push(Command::NotifyParent {
            parent: parent.instance.clone(),
            event,
        });
    }
}
