//! What goes into and comes out of a workflow's handlers, whichever engine runs their
//! bodies (the interpreter's [`WorkflowHost`](super::WorkflowHost) or the JIT's): JSON
//! fields read by their declared types, a reaction's `result`, an `error` block's
//! `error`, a signal's arguments, and the calls an action asks for.

use super::{ActionValue, CallFailure, CallRequest, HostError};
use crate::interp;
use crate::json::{ShapeError, from_json, to_json, ty_name};
use crate::value::{CallTarget, PendingCall, Value};
use crate::{FieldLayout, Function, Program, Ty};
use serde_json::{Map, Value as Json};

fn object<'j>(json: &'j Json, what: &str) -> Result<&'j Map<String, Json>, HostError> {
    json.as_object().ok_or_else(|| HostError::NotAnObject {
        what: what.to_string(),
    })
}

/// Reads fields (inputs, facts, a signal's parameters) from a JSON object: given ones
/// by type, missing ones from their defaults, optional ones without a default as null;
/// a name that is not a field is refused.
pub fn read_fields(
    program: &Program,
    fields: &[FieldLayout],
    json: &Json,
    what: &str,
) -> Result<Vec<Value>, HostError> {
    let map = object(json, what)?;
    if let Some(extra) = map.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
        return Err(HostError::Shape {
            what: what.to_string(),
            error: ShapeError {
                path: format!("$.{extra}"),
                expected: "a declared name".to_string(),
                found: format!("an unknown field `{extra}`"),
            },
        });
    }
    let mut out = Vec::with_capacity(fields.len());
    for field in fields {
        out.push(match map.get(&field.name) {
            Some(v) => from_json(program, &field.ty, v).map_err(|mut error| {
                error.path = error.path.replacen('$', &format!("$.{}", field.name), 1);
                HostError::Shape {
                    what: what.to_string(),
                    error,
                }
            })?,
            None => default(program, field, what)?,
        });
    }
    Ok(out)
}

/// A field's value when the JSON does not give one: its default, or null when it is
/// optional.
pub fn default(program: &Program, field: &FieldLayout, what: &str) -> Result<Value, HostError> {
    match &field.default {
        Some(d) => interp::eval_const(program, d).map_err(|error| HostError::Default {
            what: what.to_string(),
            field: field.name.clone(),
            error,
        }),
        None if matches!(field.ty, Ty::Optional(_)) => Ok(Value::Null),
        None => Err(HostError::Shape {
            what: what.to_string(),
            error: ShapeError {
                path: format!("$.{}", field.name),
                expected: format!("a value of type {}", ty_name(program, &field.ty)),
                found: "nothing".to_string(),
            },
        }),
    }
}

/// The type of a handler's one parameter (`result`, `error`).
fn parameter_type(f: &Function) -> &Ty {
    f.slots.first().map_or(&Ty::Json, |s| &s.ty)
}

/// A reaction's `result`, from the call's JSON result.
pub fn reaction_argument(
    program: &Program,
    reaction: &Function,
    rule: &str,
    result: &Json,
) -> Result<Value, HostError> {
    from_json(program, parameter_type(reaction), result).map_err(|error| HostError::Shape {
        what: format!("the result for rule {rule:?}"),
        error,
    })
}

/// A failure as the JSON of a `CallError` (an `error` block's `error`, an
/// `Outcome`'s `error`).
pub fn failure_json(failure: &CallFailure) -> Json {
    serde_json::json!({
        "message": failure.message,
        "kind": failure.kind,
        "attempt": failure.attempt,
        "function": failure.function,
        "stderr": failure.stderr,
        "index": failure.index,
        "arguments": failure.arguments,
    })
}

/// The JSON of one `Outcome<T>` of a `settle`: the call's result, or how it failed.
pub fn outcome_json(outcome: Result<&Json, &CallFailure>) -> Json {
    match outcome {
        Ok(value) => serde_json::json!({"ok": true, "value": value, "error": null}),
        Err(failure) => {
            serde_json::json!({"ok": false, "value": null, "error": failure_json(failure)})
        }
    }
}

/// An `error` block's `error`, from the failure the executor reported.
pub fn error_argument(
    program: &Program,
    handler: &Function,
    failure: &CallFailure,
) -> Result<Value, HostError> {
    let json = failure_json(failure);
    from_json(program, parameter_type(handler), &json).map_err(|error| HostError::Shape {
        what: "the call error".to_string(),
        error,
    })
}

/// A signal handler's arguments, from a JSON object keyed by parameter name.
pub fn signal_arguments(
    program: &Program,
    handler: &Function,
    name: &str,
    args: &Json,
) -> Result<Vec<Value>, HostError> {
    let params: Vec<FieldLayout> = handler
        .slots
        .iter()
        .take(handler.params as usize)
        .map(|s| FieldLayout {
            name: s.name.clone(),
            ty: s.ty.clone(),
            default: None,
        })
        .collect();
    read_fields(
        program,
        &params,
        args,
        &format!("the arguments of signal `{name}`"),
    )
}

/// What an action's value asks of the runtime.
pub fn action_value(program: &Program, action: &Function, value: Value) -> ActionValue {
    match value {
        Value::Call(PendingCall {
            target: CallTarget::Settle,
            args,
        }) => ActionValue::Settle(match args.first() {
            Some(Value::List(items)) => call_requests(program, items),
            _ => Vec::new(),
        }),
        Value::Call(call) => ActionValue::Call(call_request(program, &call)),
        Value::List(items) if matches!(&action.ret, Ty::List(t) if matches!(**t, Ty::Call(_))) => {
            ActionValue::Calls(call_requests(program, &items))
        }
        other => ActionValue::Value(to_json(program, &other)),
    }
}

fn call_requests(program: &Program, items: &[Value]) -> Vec<CallRequest> {
    items
        .iter()
        .filter_map(|i| match i {
            Value::Call(c) => Some(call_request(program, c)),
            _ => None,
        })
        .collect()
}

/// A pending call as the runtime makes it: JSON arguments keyed by parameter name.
pub fn call_request(program: &Program, call: &PendingCall) -> CallRequest {
    match call.target {
        // A `settle` nested in a list is refused by the checker; were one to reach
        // here, it asks for nothing.
        CallTarget::Settle => CallRequest::Sleep { ms: 0 },
        CallTarget::Sleep => CallRequest::Sleep {
            ms: match call.args.first() {
                Some(Value::Duration(ms)) => *ms,
                _ => 0,
            },
        },
        CallTarget::Function(id) => {
            let function = program.functions.get(id.0 as usize);
            let mut args = Map::new();
            if let Some(function) = function {
                for ((name, _), v) in function.params.iter().zip(&call.args) {
                    args.insert(name.clone(), to_json(program, v));
                }
            }
            CallRequest::Function {
                name: function.map_or_else(String::new, |f| f.name.clone()),
                args,
            }
        }
        CallTarget::Child(id) => {
            let workflow = program.workflow_by_id(id);
            let mut args = Map::new();
            if let Some(workflow) = workflow {
                for (field, v) in workflow.inputs.iter().zip(&call.args) {
                    args.insert(field.name.clone(), to_json(program, v));
                }
            }
            CallRequest::Workflow {
                name: workflow.map_or_else(String::new, |w| w.name.clone()),
                args,
            }
        }
    }
}
