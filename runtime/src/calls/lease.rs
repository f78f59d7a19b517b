//! The store side of leasing calls: what is handed out is a call to run. A call the
//! instance no longer waits for, an unreadable message, a call whose bundle has no
//! such function and a call leased too often (its runners died while running it) are
//! settled here instead.

use super::complete::{complete_call, no_such_function};
use super::{CallsError, LeasedCall, Outcome, Programs};
use crate::engine::{CallErrorKind, Failure};
use crate::node::messages::{self, CallMessage};
use crate::store::{LeaseRequest, Leased, Store};

/// Leases up to `request.limit` call messages for `request.owner` (see
/// [`Store::lease`]; `request.filter` picks pools or functions) and returns the calls
/// to run. Of the messages leased, those not to run are settled in place:
///
/// - unreadable: dead-lettered;
/// - no longer wanted (the instance finished, or the firing that asked for it is
///   over — an `error` block of its fan-out gave up): acknowledged without running
///   (LANGUAGE.md 10.1: nothing of an instance runs after it ends);
/// - leased more than [`messages::CALL_MAX_ATTEMPTS`] times: completed as `CRASHED`;
/// - naming a function its bundle does not declare: completed as failed.
///
/// Blocking: call it from `spawn_blocking`.
pub fn lease_calls(
    store: &dyn Store,
    programs: &dyn Programs,
    request: &LeaseRequest,
) -> Result<Vec<LeasedCall>, CallsError> {
    let mut calls = Vec::new();
    for message in store.lease(request)? {
        calls.extend(settle(
            store,
            programs,
            &request.owner,
            message,
            request.now,
            true,
        )?);
    }
    Ok(calls)
}

/// The calls to run of the messages leased to `owner` in a step's own transaction,
/// settled as [`settle`] does: the step's own calls (see [`crate::store::OwnCalls`]),
/// which the instance still waits for (`wanted` false: not asked), or calls that were
/// waiting in the queue (see [`crate::store::CallStep::fill`]; `wanted` true: asked,
/// as [`lease_calls`] asks). A message that cannot be settled now stays leased and
/// comes back when its lease expires.
pub(crate) fn settle_leased(
    store: &dyn Store,
    programs: &dyn Programs,
    owner: &str,
    leased: Vec<Leased>,
    now: i64,
    wanted: bool,
) -> Vec<LeasedCall> {
    let mut calls = Vec::with_capacity(leased.len());
    for message in leased {
        match settle(store, programs, owner, message, now, wanted) {
            Ok(call) => calls.extend(call),
            Err(error) => tracing::warn!(%error, "cannot settle a call leased with a step"),
        }
    }
    calls
}

/// A call message leased by `owner` as a call to run, or `None` when it was settled
/// in place instead (see [`lease_calls`]). Without `wanted`, whether the instance
/// still waits for the call is not asked: a call its step just enqueued is wanted.
fn settle(
    store: &dyn Store,
    programs: &dyn Programs,
    owner: &str,
    message: Leased,
    now: i64,
    wanted: bool,
) -> Result<Option<LeasedCall>, CallsError> {
    let call: CallMessage = match serde_json::from_value(message.payload.clone()) {
        Ok(call) => call,
        Err(error) => {
            let reason = format!("unreadable call message: {error}");
            store.dead_letter(message.id, owner, &reason)?;
            return Ok(None);
        }
    };
    let leased = LeasedCall {
        id: message.id,
        call,
        attempts: message.attempts,
    };
    if wanted && !still_wanted(store, &leased.call) {
        tracing::debug!(key = %leased.call.key, "call no longer wanted; not run");
        store.ack(message.id, owner, now)?;
        return Ok(None);
    }
    let failure = if message.attempts > messages::CALL_MAX_ATTEMPTS {
        Some(Failure {
            message: format!(
                "the runtime stopped while running this call {} times",
                messages::CALL_MAX_ATTEMPTS
            ),
            kind: CallErrorKind::Crashed,
            stderr: None,
        })
    } else {
        let declared = programs
            .program(store, &leased.call.bundle)
            .ok()
            .is_some_and(|p| p.functions.iter().any(|f| f.name == leased.call.function));
        (!declared).then(|| no_such_function(&leased.call.function))
    };
    match failure {
        Some(failure) => {
            complete_call(
                store,
                programs,
                owner,
                &leased,
                Outcome::Failed(failure),
                now,
            )?;
            Ok(None)
        }
        None => Ok(Some(leased)),
    }
}

/// Whether the instance still waits for `call` (its rule, firing, index and attempt).
/// Only a definite no counts: a store error or an unreadable state runs the call, whose
/// result the engine ignores if it does not matter.
fn still_wanted(store: &dyn Store, call: &CallMessage) -> bool {
    let record = match store.instance(&call.instance) {
        Ok(Some(record)) => record,
        Ok(None) => return false,
        Err(_) => return true,
    };
    if record.status.is_finished() {
        return false;
    }
    let Ok(state) = crate::node::load_state(&record) else {
        return true;
    };
    let wanted = &call.call;
    state.waiting().iter().any(|w| {
        w.rule == wanted.rule
            && w.firing == wanted.firing
            && w.index == wanted.index
            && w.attempt == wanted.attempt
    })
}
