//! A call's completion and the step it triggers in one transaction
//! ([`Store::complete_call_with_step`](super::super::Store::complete_call_with_step)).
//! The file has one writer at a time (`BEGIN IMMEDIATE`), so what the transaction
//! reads of the instance's events stays true until it commits.

use rusqlite::{Connection, params};

use super::super::{CallStep, CallStepped, StoreError, fill_request, queue_sql};
use super::Result;
use super::instances::commit_in;
use super::queue::{ack_in, enqueue_in, lease_in};

/// See [`Store::complete_call_with_step`](super::super::Store::complete_call_with_step):
/// the completion's writes, in the write transaction `tx` is in (its group's, see
/// `group_commit.rs`). A lost lease writes nothing.
pub(super) fn complete_in(tx: &Connection, step: &CallStep) -> Result<CallStepped> {
    let commit = &step.step;
    if !ack_in(tx, step.call, &step.owner, commit.now)? {
        return Ok(CallStepped::LeaseLost);
    }
    if commit.ack.is_some() {
        return Err(StoreError::Invalid(
            "a call's step acknowledges the call, not another message".into(),
        ));
    }
    if events_free(tx, step)? {
        let own = step.own.as_ref().map(|own| (own, step.owner.as_str()));
        match commit_in(tx, commit, own) {
            Ok((_, leased)) => {
                let fill = own.and_then(|(own, _)| fill_request(step, own, leased.len()));
                let queued = match fill {
                    Some(request) => lease_in(tx, &request)?,
                    None => Vec::new(),
                };
                return Ok(CallStepped::Stepped {
                    own: leased,
                    queued,
                });
            }
            // The instance changed since the step read it (a signal): the event
            // goes through the queue and is applied to the new state.
            Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => {}
            Err(other) => return Err(other),
        }
    }
    enqueue_in(tx, std::slice::from_ref(&step.event), commit.now)?;
    Ok(CallStepped::Enqueued)
}

/// Whether no message of the event's (queue, exclusivity value) is leased (even with
/// an expired lease) or waiting (ready, or a timer that is due).
fn events_free(conn: &Connection, step: &CallStep) -> Result<bool> {
    let Some(value) = &step.event.exclusivity else {
        return Ok(false);
    };
    let busy: bool = conn
        .prepare_cached(queue_sql!(
            "SELECT EXISTS (SELECT 1 FROM messages
                            WHERE queue = ?1 AND exclusivity = ?2 AND state = {leased})
                 OR EXISTS (SELECT 1 FROM messages
                            WHERE queue = ?1 AND exclusivity = ?2
                              AND state IN ({ready}, {scheduled}) AND visible_at <= ?3)"
        ))?
        .query_row(params![step.event.queue, value, step.step.now], |row| {
            row.get(0)
        })?;
    Ok(!busy)
}
