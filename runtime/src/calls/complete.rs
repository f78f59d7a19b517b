//! The store side of completing a call: whoever holds the store — the process that ran
//! the call, or (later) a server answering a remote worker — checks the outcome and
//! records it, so that a result is neither lost nor delivered twice.

use super::{CallsError, Completion, LeasedCall, Outcome, Programs};
use crate::engine::{CallErrorKind, Event, Failure};
use crate::node::messages;
use crate::store::Store;
use cosmos_ir::json::{result_from_json, to_json, ty_name};

/// Completes `call`, leased by `owner`, with `outcome` at `now`: a value is read as the
/// function's declared result type (the type of the call's own bundle) with a tolerant
/// reader — record members it does not declare are dropped, so the history and the
/// reaction see only declared fields; a value not of the type becomes a `BAD_OUTPUT`
/// failure naming its JSON path. Then, in one transaction, the call message is
/// acknowledged if `owner` still holds its lease, and the `CallCompleted` or
/// `CallFailed` event enqueued for the instance, naming `owner` as the worker that ran
/// it. A lease that is no longer held ([`Completion::LeaseLost`]: expired, taken by
/// another worker, or completed already) changes nothing.
///
/// Blocking: call it from `spawn_blocking`.
pub fn complete_call(
    store: &dyn Store,
    programs: &dyn Programs,
    owner: &str,
    call: &LeasedCall,
    outcome: Outcome,
    now: i64,
) -> Result<Completion, CallsError> {
    let event = completion_event(store, programs, call, outcome)?;
    let completed = matches!(event, Event::CallCompleted { .. });
    let event = messages::event_from(&call.call.instance, event, now, 0, Some(owner));
    if !store.ack_and_enqueue(call.id, owner, &[event], now)? {
        return Ok(Completion::LeaseLost);
    }
    Ok(Completion::of(completed))
}

impl Completion {
    /// A recorded completion: of a result, or of a failure.
    pub(crate) fn of(completed: bool) -> Completion {
        if completed {
            Completion::Completed
        } else {
            Completion::Failed
        }
    }
}

/// The engine event `outcome` of `call` is: a value read as the function's declared
/// result type (see [`complete_call`]), or a failure.
pub(crate) fn completion_event(
    store: &dyn Store,
    programs: &dyn Programs,
    call: &LeasedCall,
    outcome: Outcome,
) -> Result<Event, CallsError> {
    let message = &call.call;
    Ok(match outcome {
        Outcome::Value(value) => {
            let program = programs.program(store, &message.bundle)?;
            let declared = program
                .functions
                .iter()
                .find(|f| f.name == message.function)
                .map(|f| f.ret.clone());
            match declared {
                Some(ret) => match result_from_json(&program, &ret, &value) {
                    Ok(read) => Event::CallCompleted {
                        call: message.call.clone(),
                        result: to_json(&program, &read),
                    },
                    Err(shape) => Event::CallFailed {
                        call: message.call.clone(),
                        failure: Failure {
                            message: format!(
                                "`{}` returned a value that is not {}: {shape}",
                                message.function,
                                with_article(&ty_name(&program, &ret))
                            ),
                            kind: CallErrorKind::BadOutput,
                            stderr: None,
                        },
                    },
                },
                None => Event::CallFailed {
                    call: message.call.clone(),
                    failure: no_such_function(&message.function),
                },
            }
        }
        Outcome::Failed(failure) => Event::CallFailed {
            call: message.call.clone(),
            failure,
        },
    })
}

/// The failure of a call whose bundle declares no function of its name.
pub(super) fn no_such_function(function: &str) -> Failure {
    Failure {
        message: format!("the deployed bundle has no function `{function}`"),
        kind: CallErrorKind::Failed,
        stderr: None,
    }
}

/// A type's name in backticks after its article: "an `Int`", "a `String`".
fn with_article(ty: &str) -> String {
    let vowel = ty
        .chars()
        .next()
        .is_some_and(|c| matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u'));
    format!("{} `{ty}`", if vowel { "an" } else { "a" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_take_their_article() {
        assert_eq!(with_article("Int"), "an `Int`");
        assert_eq!(with_article("String"), "a `String`");
        assert_eq!(with_article("Outcome<Int>"), "an `Outcome<Int>`");
    }
}
