//! The queue on PostgreSQL, inside a transaction: enqueue, lease (with `FOR UPDATE
//! SKIP LOCKED` and an advisory lock per exclusivity value), ack.
//!
//! # Leasing with several nodes
//!
//! A lease transaction first makes due timers ready and ends expired leases (rows
//! another transaction is already changing are skipped, not waited for), then picks
//! candidates in delivery order with `FOR UPDATE OF m SKIP LOCKED`: a message another
//! node is leasing right now is simply not seen. Exclusivity needs more than row locks
//! (two nodes could lock two *different* messages of one instance): for each value it
//! is about to lease, the transaction takes `pg_try_advisory_xact_lock` on a hash of
//! (schema, queue, value) and skips the value when another transaction holds it. The
//! `UPDATE` that leases runs after the locks are taken, so its snapshot sees every
//! lease committed by an earlier holder of the lock, and its `NOT EXISTS` finds a live
//! lease of the value if there is one. The unique index `messages_leased_exclusive` is
//! the database's last word: two leased messages of one (queue, value) cannot be
//! committed, whatever happens.

use std::collections::{BTreeMap, HashMap};

use postgres::Row;

use super::super::{
    Held, LeaseRequest, Leased, MessageId, MessageState, NewMessage, StoreError, queue_sql,
};
use super::conn::{Conn, Finish};
use super::{json_text, parse_json, to_u32};

type Result<T> = std::result::Result<T, StoreError>;

/// The message `id` if `owner` holds an unexpired lease on it at `now`.
pub(super) fn held_in(
    conn: &mut Conn,
    id: MessageId,
    owner: &str,
    now: i64,
) -> Result<Option<Held>> {
    let Some(row) = conn.query_opt(
        queue_sql!(
            "SELECT payload, attempts, lease_until FROM messages
             WHERE id = $1 AND state = {leased} AND owner = $2 AND lease_until > $3"
        ),
        &[&id, &owner, &now],
    )?
    else {
        return Ok(None);
    };
    let payload: String = row.get(0);
    Ok(Some(Held {
        payload: parse_json(&payload, "messages", &id, "payload")?,
        attempts: to_u32(row.get(1), "messages", &id, "attempts")?,
        lease_until: row.get(2),
    }))
}

/// The `messages.state` code of a message enqueued at `now` to be visible at
/// `visible_at`: ready, or scheduled (a timer).
fn enqueued_state(visible_at: i64, now: i64) -> i16 {
    if visible_at > now {
        MessageState::Scheduled.code()
    } else {
        MessageState::Ready.code()
    }
}

/// Candidate pages one lease looks at, at most (each page is one round trip).
const MAX_PAGES: usize = 8;

const INSERT: &str = "INSERT INTO messages (queue, state, priority, deadline, deadline_ord,
        visible_at, exclusivity, metadata, payload, idempotency_key, live_key, max_attempts,
        attempts, enqueued_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $10, $10, $11, 0, $12)";

pub(super) fn enqueue_in(
    conn: &mut Conn,
    messages: &[NewMessage],
    now: i64,
) -> Result<Vec<MessageId>> {
    let mut ids = Vec::with_capacity(messages.len());
    for message in messages {
        let metadata = serde_json::to_string(&message.metadata)
            .map_err(|e| StoreError::Invalid(format!("unserializable metadata: {e}")))?;
        let payload = json_text(&message.payload)?;
        let state = enqueued_state(message.visible_at, now);
        let deadline_ord = message.deadline.unwrap_or(i64::MAX);
        let max_attempts = message.max_attempts.map(i64::from);
        let params: [&(dyn postgres::types::ToSql + Sync); 12] = [
            &message.queue,
            &state,
            &message.priority,
            &message.deadline,
            &deadline_ord,
            &message.visible_at,
            &message.exclusivity,
            &metadata,
            &payload,
            &message.idempotency_key,
            &max_attempts,
            &now,
        ];
        let Some(key) = &message.idempotency_key else {
            let row = conn.query_one(&format!("{INSERT} RETURNING id"), &params)?;
            ids.push(row.get(0));
            continue;
        };
        // A live message with this key wins; the loop covers it being acked between
        // the insert that saw it and the select that looks for it.
        let mut found = None;
        for _ in 0..3 {
            let inserted = conn.query_opt(
                &format!(
                    "{INSERT} ON CONFLICT (queue, live_key) WHERE live_key IS NOT NULL \
                     DO NOTHING RETURNING id"
                ),
                &params,
            )?;
            if let Some(row) = inserted {
                found = Some(row.get(0));
                break;
            }
            let existing = conn.query_opt(
                "SELECT id FROM messages WHERE queue = $1 AND live_key = $2",
                &[&message.queue, key],
            )?;
            if let Some(row) = existing {
                found = Some(row.get(0));
                break;
            }
        }
        let id = found.ok_or_else(|| {
            StoreError::Unavailable(format!(
                "idempotency key {key:?} of queue {:?} keeps changing",
                message.queue
            ))
        })?;
        ids.push(id);
    }
    Ok(ids)
}

/// Messages to enqueue as the columns `unnest` takes, for [`messages_cte`].
pub(super) struct MessageColumns {
    queue: Vec<String>,
    state: Vec<i16>,
    priority: Vec<i64>,
    deadline: Vec<Option<i64>>,
    deadline_ord: Vec<i64>,
    visible_at: Vec<i64>,
    exclusivity: Vec<Option<String>>,
    metadata: Vec<String>,
    payload: Vec<String>,
    key: Vec<Option<String>>,
    max_attempts: Vec<Option<i64>>,
    /// Leased at once (a step's own calls): the owner, the lease's end and 1 attempt.
    owner: Vec<Option<String>>,
    lease_until: Vec<Option<i64>>,
    attempts: Vec<i64>,
}

impl MessageColumns {
    /// The columns of `messages` as enqueued at `now`, with those at the indexes `own`
    /// inserted already leased by `owner` until `lease_until` (when given).
    pub(super) fn leasing(
        messages: &[NewMessage],
        now: i64,
        own: &[usize],
        owner: Option<(&str, i64)>,
    ) -> Result<MessageColumns> {
        let mut c = MessageColumns {
            owner: Vec::with_capacity(messages.len()),
            lease_until: Vec::with_capacity(messages.len()),
            attempts: Vec::with_capacity(messages.len()),
            queue: Vec::with_capacity(messages.len()),
            state: Vec::with_capacity(messages.len()),
            priority: Vec::with_capacity(messages.len()),
            deadline: Vec::with_capacity(messages.len()),
            deadline_ord: Vec::with_capacity(messages.len()),
            visible_at: Vec::with_capacity(messages.len()),
            exclusivity: Vec::with_capacity(messages.len()),
            metadata: Vec::with_capacity(messages.len()),
            payload: Vec::with_capacity(messages.len()),
            key: Vec::with_capacity(messages.len()),
            max_attempts: Vec::with_capacity(messages.len()),
        };
        for (i, m) in messages.iter().enumerate() {
            let leased = owner.filter(|_| own.contains(&i));
            c.owner.push(leased.map(|(owner, _)| owner.to_string()));
            c.lease_until.push(leased.map(|(_, until)| until));
            c.attempts.push(i64::from(leased.is_some()));
            c.queue.push(m.queue.clone());
            c.state.push(match leased {
                Some(_) => MessageState::Leased.code(),
                None => enqueued_state(m.visible_at, now),
            });
            c.priority.push(m.priority);
            c.deadline.push(m.deadline);
            c.deadline_ord.push(m.deadline.unwrap_or(i64::MAX));
            c.visible_at.push(m.visible_at);
            c.exclusivity.push(m.exclusivity.clone());
            c.metadata.push(
                serde_json::to_string(&m.metadata)
                    .map_err(|e| StoreError::Invalid(format!("unserializable metadata: {e}")))?,
            );
            c.payload.push(json_text(&m.payload)?);
            c.key.push(m.idempotency_key.clone());
            c.max_attempts.push(m.max_attempts.map(i64::from));
        }
        Ok(c)
    }

    /// The 14 parameters [`messages_cte`] numbers from its `first`.
    pub(super) fn params(&self) -> [&(dyn postgres::types::ToSql + Sync); 14] {
        [
            &self.queue,
            &self.state,
            &self.priority,
            &self.deadline,
            &self.deadline_ord,
            &self.visible_at,
            &self.exclusivity,
            &self.metadata,
            &self.payload,
            &self.key,
            &self.max_attempts,
            &self.owner,
            &self.lease_until,
            &self.attempts,
        ]
    }
}

/// A `WITH` clause named `enqueued` inserting the messages of a [`MessageColumns`]
/// (parameters `$first…$first+13`, enqueued at `$now`) in order, if the clause named
/// `gate` returned a row, returning the `id`, `state` and `idempotency_key` of each
/// row inserted. A live duplicate of an idempotency key is skipped, as
/// [`enqueue_in`] does (the callers need no ids).
pub(super) fn messages_cte(gate: &str, first: usize, now: usize) -> String {
    let p: Vec<String> = (first..first + 14).map(|i| format!("${i}")).collect();
    format!(
        "enqueued AS (
             INSERT INTO messages (queue, state, priority, deadline, deadline_ord, visible_at,
                 exclusivity, metadata, payload, idempotency_key, live_key, max_attempts,
                 attempts, enqueued_at, owner, lease_until)
             SELECT u.queue, u.state, u.priority, u.deadline, u.deadline_ord, u.visible_at,
                    u.exclusivity, u.metadata::jsonb, u.payload, u.key, u.key, u.max_attempts,
                    u.attempts, ${now}, u.owner, u.lease_until
             FROM unnest({}::text[], {}::smallint[], {}::bigint[], {}::bigint[], {}::bigint[],
                         {}::bigint[], {}::text[], {}::text[], {}::text[], {}::text[],
                         {}::bigint[], {}::text[], {}::bigint[], {}::bigint[])
                  WITH ORDINALITY AS u(queue, state, priority, deadline, deadline_ord,
                      visible_at, exclusivity, metadata, payload, key, max_attempts, owner,
                      lease_until, attempts, i)
             WHERE EXISTS (SELECT 1 FROM {gate})
             ORDER BY u.i
             ON CONFLICT (queue, live_key) WHERE live_key IS NOT NULL DO NOTHING
             RETURNING id, state, idempotency_key
         )",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13]
    )
}

/// Acks `id` and enqueues `message`, which has no idempotency key, in one statement
/// (a finished call becoming an engine event); false, and nothing enqueued, if the
/// lease was lost.
pub(super) fn ack_and_enqueue_one(
    conn: &mut Conn,
    id: MessageId,
    owner: &str,
    message: &NewMessage,
    now: i64,
) -> Result<bool> {
    let metadata = serde_json::to_string(&message.metadata)
        .map_err(|e| StoreError::Invalid(format!("unserializable metadata: {e}")))?;
    let payload = json_text(&message.payload)?;
    let state = enqueued_state(message.visible_at, now);
    let deadline_ord = message.deadline.unwrap_or(i64::MAX);
    let max_attempts = message.max_attempts.map(i64::from);
    let rows = conn.query(
        queue_sql!(
            "WITH acked AS (
             DELETE FROM messages
             WHERE id = $12 AND state = {leased} AND owner = $13 AND lease_until > $11
             RETURNING 1
         )
         INSERT INTO messages (queue, state, priority, deadline, deadline_ord, visible_at,
             exclusivity, metadata, payload, max_attempts, attempts, enqueued_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $10, 0, $11
         WHERE EXISTS (SELECT 1 FROM acked)
         RETURNING id"
        ),
        &[
            &message.queue,
            &state,
            &message.priority,
            &message.deadline,
            &deadline_ord,
            &message.visible_at,
            &message.exclusivity,
            &metadata,
            &payload,
            &max_attempts,
            &now,
            &id,
            &owner,
        ],
    )?;
    Ok(rows.len() == 1)
}

/// Makes the scheduled messages of `queue` that are due at `now` ready, and ends the
/// expired leases: back to ready, or dead when the message has had `max_attempts`
/// leases. Rows another transaction holds are left to it.
pub(super) fn prepare_queue(conn: &mut Conn, queue: &str, now: i64) -> Result<()> {
    conn.query_one(
        queue_sql!(
            "WITH due AS (
             UPDATE messages SET state = {ready}
             WHERE id IN (SELECT id FROM messages
                          WHERE queue = $1 AND state = {scheduled} AND visible_at <= $2
                          FOR UPDATE SKIP LOCKED)
             RETURNING 1
         ), expired AS (
             UPDATE messages SET
                 state = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                              THEN {dead} ELSE {ready} END,
                 live_key = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                              THEN NULL ELSE live_key END,
                 dead_reason = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                              THEN 'lease expired after ' || attempts || ' attempt(s)'
                              ELSE dead_reason END,
                 owner = NULL,
                 lease_until = NULL
             WHERE id IN (SELECT id FROM messages
                          WHERE queue = $1 AND state = {leased} AND lease_until <= $2
                          FOR UPDATE SKIP LOCKED)
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM due) + (SELECT count(*) FROM expired)"
        ),
        &[&queue, &now],
    )?;
    Ok(())
}

/// A page of [`candidates`]: (id, exclusivity value, whether its advisory lock was
/// taken), and whether the queue has due timers or expired leases to prepare first.
struct Page {
    rows: Vec<(MessageId, Option<String>, bool)>,
    due: bool,
}

/// One page of leasable messages in delivery order, locked for this transaction, with
/// whether the advisory lock of each one's exclusivity value was taken (always true
/// without one). The locks are tried on the page's rows only (after `LIMIT`), and a
/// value twice in a page takes its (reentrant) lock twice: the first row wins below.
/// The same round trip tells whether [`prepare_queue`] has anything to do.
fn candidates(
    conn: &mut Conn,
    request: &LeaseRequest,
    filter: Option<&Filter>,
    want: usize,
    chosen: &[MessageId],
    excluded_values: &[String],
) -> Result<Page> {
    let mut sql = String::from(queue_sql!(
        "SELECT f.due, c.id, c.exclusivity,
                CASE WHEN c.exclusivity IS NULL THEN TRUE
                     ELSE pg_try_advisory_xact_lock(hashtextextended('cosmos' || chr(31)
                          || COALESCE(current_schema(), '') || chr(31) || $1 || chr(31)
                          || c.exclusivity, 0)) END
         FROM (SELECT EXISTS (SELECT 1 FROM messages
                              WHERE queue = $1 AND state = {scheduled} AND visible_at <= $2)
                   OR EXISTS (SELECT 1 FROM messages
                              WHERE queue = $1 AND state = {leased} AND lease_until <= $2)
                   AS due) f
         LEFT JOIN LATERAL (
             SELECT m.id, m.exclusivity, m.priority, m.deadline_ord FROM messages m
             WHERE m.state = {ready} AND m.queue = $1 AND m.visible_at <= $2
               AND (m.exclusivity IS NULL OR (m.exclusivity <> ALL($4) AND NOT EXISTS (
                    SELECT 1 FROM messages l
                    WHERE l.state = {leased} AND l.queue = m.queue
                      AND l.exclusivity = m.exclusivity)))
               AND m.id <> ALL($5)"
    ));
    // Each key of the filter is `$6[i]`, its values `$7[i]` (a JSON array): the
    // message's value for the key must be one of them.
    if filter.is_some() {
        sql.push_str(
            "\n               AND NOT EXISTS (
                    SELECT 1 FROM unnest($6::text[], $7::text[]) f(key, allowed)
                    WHERE NOT COALESCE(f.allowed::jsonb ? (m.metadata ->> f.key), FALSE))",
        );
    }
    sql.push_str(
        "\n             ORDER BY m.priority DESC, m.deadline_ord, m.id
             LIMIT $3
             FOR UPDATE OF m SKIP LOCKED
         ) c ON TRUE
         ORDER BY c.priority DESC, c.deadline_ord, c.id",
    );
    let limit = i64::try_from(want).unwrap_or(i64::MAX);
    let rows = match filter {
        None => conn.query(
            &sql,
            &[
                &request.queue,
                &request.now,
                &limit,
                &excluded_values,
                &chosen,
            ],
        )?,
        Some(filter) => conn.query(
            &sql,
            &[
                &request.queue,
                &request.now,
                &limit,
                &excluded_values,
                &chosen,
                &filter.keys,
                &filter.allowed,
            ],
        )?,
    };
    let mut page = Page {
        rows: Vec::with_capacity(rows.len()),
        due: false,
    };
    for row in &rows {
        page.due |= row.get::<_, Option<bool>>(0).unwrap_or(false);
        if let Some(id) = row.get::<_, Option<MessageId>>(1) {
            let locked: Option<bool> = row.get(3);
            page.rows.push((id, row.get(2), locked.unwrap_or(false)));
        }
    }
    Ok(page)
}

/// A lease request's metadata filter as two parallel arrays: its keys, and for each
/// the JSON array of the values it allows.
struct Filter {
    keys: Vec<String>,
    allowed: Vec<String>,
}

impl Filter {
    fn of(request: &LeaseRequest) -> Result<Filter> {
        let mut filter = Filter {
            keys: Vec::with_capacity(request.filter.len()),
            allowed: Vec::with_capacity(request.filter.len()),
        };
        for (key, values) in &request.filter {
            filter.keys.push(key.clone());
            filter.allowed.push(
                serde_json::to_string(values)
                    .map_err(|e| StoreError::Invalid(format!("unserializable filter: {e}")))?,
            );
        }
        Ok(filter)
    }
}

/// Leases messages for `request`; `Finish::Rollback` when it changed nothing (no
/// message leased, no timer or expired lease to take care of), so that an idle poll
/// commits nothing (and waits for no WAL flush).
pub(super) fn lease_in(conn: &mut Conn, request: &LeaseRequest) -> Result<Finish<Vec<Leased>>> {
    if request.limit == 0 {
        prepare_queue(conn, &request.queue, request.now)?;
        return Ok(Finish::Commit(Vec::new()));
    }
    let filter = if request.filter.is_empty() {
        None
    } else {
        Some(Filter::of(request)?)
    };
    let mut chosen: Vec<MessageId> = Vec::new();
    // Values leased by this call, or locked by another transaction.
    let mut excluded: Vec<String> = Vec::new();
    let mut prepared = false;
    for _ in 0..MAX_PAGES {
        let want = request.limit - chosen.len();
        let page = candidates(conn, request, filter.as_ref(), want, &chosen, &excluded)?;
        if page.due && !prepared {
            // Timers are due or leases expired: make those messages ready, and look
            // again from the start (the rows this page locked stay ours and visible).
            prepare_queue(conn, &request.queue, request.now)?;
            prepared = true;
            chosen.clear();
            excluded.clear();
            continue;
        }
        let full = page.rows.len() >= want;
        for (id, value, locked) in page.rows {
            match value {
                None => chosen.push(id),
                Some(value) if excluded.contains(&value) => {}
                Some(value) => {
                    if locked {
                        chosen.push(id);
                    }
                    excluded.push(value);
                }
            }
        }
        if !full || chosen.len() >= request.limit {
            break;
        }
    }
    if chosen.is_empty() {
        return Ok(if prepared {
            Finish::Commit(Vec::new())
        } else {
            Finish::Rollback(Vec::new())
        });
    }
    let lease_until = request.now.saturating_add(request.lease_ms);
    let rows = conn.query(
        queue_sql!(
            "UPDATE messages m SET state = {leased}, owner = $2, lease_until = $3,
             attempts = m.attempts + 1
         WHERE m.id = ANY($1) AND m.state = {ready}
           AND (m.exclusivity IS NULL OR NOT EXISTS (
                SELECT 1 FROM messages l
                WHERE l.state = {leased} AND l.queue = m.queue
                  AND l.exclusivity = m.exclusivity))
         RETURNING m.id, m.queue, m.priority, m.payload, m.metadata::text, m.exclusivity,
                   m.attempts, m.lease_until, m.idempotency_key"
        ),
        &[&chosen, &request.owner, &lease_until],
    )?;
    let order: HashMap<MessageId, usize> =
        chosen.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut leased = rows.iter().map(decode_leased).collect::<Result<Vec<_>>>()?;
    leased.sort_by_key(|l| order.get(&l.id).copied().unwrap_or(usize::MAX));
    Ok(Finish::Commit(leased))
}

fn decode_leased(row: &Row) -> Result<Leased> {
    let id: MessageId = row.get(0);
    let payload: String = row.get(3);
    let metadata: String = row.get(4);
    let attempts: i64 = row.get(6);
    let metadata: BTreeMap<String, String> = serde_json::from_str(&metadata)
        .map_err(|e| StoreError::Corrupt(format!("messages {id}: column metadata: {e}")))?;
    Ok(Leased {
        id,
        queue: row.get(1),
        priority: row.get(2),
        payload: parse_json(&payload, "messages", &id, "payload")?,
        metadata,
        exclusivity: row.get(5),
        attempts: to_u32(attempts, "messages", &id, "attempts")?,
        lease_until: row.get(7),
        idempotency_key: row.get(8),
    })
}

/// Deletes message `id` if `owner` holds a live lease on it at `now`.
pub(super) fn ack_in(conn: &mut Conn, id: MessageId, owner: &str, now: i64) -> Result<bool> {
    let deleted = conn.execute(
        queue_sql!(
            "DELETE FROM messages
             WHERE id = $1 AND state = {leased} AND owner = $2 AND lease_until > $3"
        ),
        &[&id, &owner, &now],
    )?;
    Ok(deleted == 1)
}
