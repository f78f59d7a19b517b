//! A call's completion and the step it triggers in one transaction
//! ([`Store::complete_call_with_step`](super::super::Store::complete_call_with_step)).
//!
//! The first statement acknowledges the call and inserts its event already leased by
//! the completing owner, unless an event of the instance is waiting or another lease
//! of its exclusivity value exists: the unique index `messages_leased_exclusive`
//! decides, as it does for every lease (an insert waits for a concurrent lease of the
//! value to commit or roll back, then gives way to it). The second statement is the
//! step, which acknowledges that event (see `instances::StepStatement`). Both are sent
//! together, with the transaction's `BEGIN`, in one round trip: the step cannot name
//! the held event by its id, not known yet, so the held event carries a key of its own
//! (`held by call N`, unique as the call is) that the step acknowledges it by, and
//! every write of the step depends on that acknowledgement — when nothing was held,
//! the step writes nothing. When the event could not be held, or the instance changed
//! since the step read it, the event stays in the queue (ready), as a completion always
//! left it. When the step leaves room in the owner's places, the calls waiting in the
//! queue are leased to it before the commit (`CallStep::fill`).

use super::super::{CallStep, CallStepped, StoreError, fill_request, queue_sql};
use super::conn::{Conn, Finish};
use super::instances::{StepAck, StepStatement};
use super::{json_text, queue};
use postgres::types::ToSql;

type Result<T> = std::result::Result<T, StoreError>;

/// How long the event inserted leased is held: it is acknowledged by the step in the
/// same transaction, so this only has to outlast the transaction's own `now`.
const HOLD_MS: i64 = 60_000;

pub(super) fn complete_in(conn: &mut Conn, step: &CallStep) -> Result<Finish<CallStepped>> {
    let commit = &step.step;
    if commit.ack.is_some() {
        return Err(StoreError::Invalid(
            "a call's step acknowledges the call, not another message".into(),
        ));
    }
    let event = &step.event;
    let metadata = serde_json::to_string(&event.metadata)
        .map_err(|e| StoreError::Invalid(format!("unserializable metadata: {e}")))?;
    let payload = json_text(&event.payload)?;
    let deadline_ord = event.deadline.unwrap_or(i64::MAX);
    let max_attempts = event.max_attempts.map(i64::from);
    let hold_until = commit.now.saturating_add(HOLD_MS);
    // Only an event that is visible now and has an exclusivity value can be held; any
    // other goes through the queue.
    let holdable = event.exclusivity.is_some() && event.visible_at <= commit.now;
    // The held event's key: what the step's statement, sent before the first one's
    // answer, acknowledges it by. Unique, as the call is; it never outlives the
    // transaction (the step's statement deletes the event, or the transaction rolls
    // back).
    let key = format!("held by call {}", step.call);
    let first = queue_sql!(
        "WITH acked AS (
             DELETE FROM messages
             WHERE id = $1 AND state = {leased} AND owner = $2 AND lease_until > $3
             RETURNING 1
         ), held AS (
             INSERT INTO messages (queue, state, priority, deadline, deadline_ord,
                 visible_at, exclusivity, metadata, payload, max_attempts, attempts,
                 owner, lease_until, enqueued_at, idempotency_key, live_key)
             SELECT $4, {leased}, $5, $6, $7, $8, $9, $10::text::jsonb, $11, $12, 1,
                    $2, $13, $3, $15, $15
             WHERE $14 AND EXISTS (SELECT 1 FROM acked)
               AND NOT EXISTS (
                   SELECT 1 FROM messages
                   WHERE queue = $4 AND exclusivity = $9
                     AND state IN ({ready}, {scheduled}) AND visible_at <= $3)
             ON CONFLICT (queue, exclusivity) WHERE state = {leased}
                 AND exclusivity IS NOT NULL
             DO NOTHING
             RETURNING id
         )
         SELECT (SELECT count(*) FROM acked), (SELECT id FROM held)"
    );
    let params: [&(dyn ToSql + Sync); 15] = [
        &step.call,
        &step.owner,
        &commit.now,
        &event.queue,
        &event.priority,
        &event.deadline,
        &deadline_ord,
        &event.visible_at,
        &event.exclusivity,
        &metadata,
        &payload,
        &max_attempts,
        &hold_until,
        &holdable,
        &key,
    ];
    let own = step.own.as_ref().map(|own| (own, step.owner.as_str()));
    let statement = if holdable {
        let ack = StepAck::Held {
            queue: &event.queue,
            key: &key,
            owner: &step.owner,
        };
        Some(StepStatement::new(commit, own, ack)?)
    } else {
        None
    };
    // Both statements in one round trip: the step's writes all depend on its
    // acknowledging the held event, so when the first statement held none, the
    // second wrote nothing.
    let (row, stepped) = match &statement {
        Some(statement) => {
            let (row, stepped) =
                conn.query_one_both((first, &params), (&statement.sql, &statement.params()))?;
            (row, Some(stepped))
        }
        None => (conn.query_one(first, &params)?, None),
    };
    let (acked, held): (i64, Option<i64>) = (row.get(0), row.get(1));
    if acked != 1 {
        return Ok(Finish::Rollback(CallStepped::LeaseLost));
    }
    if let (Some(_), Some(statement), Some(stepped)) = (held, statement, stepped) {
        match statement.finish(conn, &stepped) {
            Ok(own) => {
                let fill = step
                    .own
                    .as_ref()
                    .and_then(|o| fill_request(step, o, own.len()));
                let queued = match fill {
                    Some(request) => match queue::lease_in(conn, &request)? {
                        Finish::Commit(leased) | Finish::Rollback(leased) => leased,
                    },
                    None => Vec::new(),
                };
                return Ok(Finish::Commit(CallStepped::Stepped { own, queued }));
            }
            // The instance changed since the step read it (a signal); the statement
            // acknowledged the held event and wrote nothing else: the event goes
            // through the queue and is applied to the new state.
            Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => {}
            Err(other) => return Err(other),
        }
    }
    queue::enqueue_in(conn, std::slice::from_ref(event), commit.now)?;
    Ok(Finish::Commit(CallStepped::Enqueued))
}
