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

use super::super::{Leased, LeaseRequest, MessageId, NewMessage, StoreError};
use super::conn::Conn;
use super::{json_text, parse_json, to_u32};

type Result<T> = std::result::Result<T, StoreError>;

/// `messages.state`.
const READY: i16 = 0;
const SCHEDULED: i16 = 3;

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
        let state = if message.visible_at > now {
            SCHEDULED
        } else {
            READY
        };
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

/// Makes the scheduled messages of `queue` that are due at `now` ready, and ends the
/// expired leases: back to ready, or dead when the message has had `max_attempts`
/// leases. Rows another transaction holds are left to it.
pub(super) fn prepare_queue(conn: &mut Conn, queue: &str, now: i64) -> Result<()> {
    conn.query_one(
        "WITH due AS (
             UPDATE messages SET state = 0
             WHERE id IN (SELECT id FROM messages
                          WHERE queue = $1 AND state = 3 AND visible_at <= $2
                          FOR UPDATE SKIP LOCKED)
             RETURNING 1
         ), expired AS (
             UPDATE messages SET
                 state = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                              THEN 2 ELSE 0 END,
                 live_key = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                              THEN NULL ELSE live_key END,
                 dead_reason = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                              THEN 'lease expired after ' || attempts || ' attempt(s)'
                              ELSE dead_reason END,
                 owner = NULL,
                 lease_until = NULL
             WHERE id IN (SELECT id FROM messages
                          WHERE queue = $1 AND state = 1 AND lease_until <= $2
                          FOR UPDATE SKIP LOCKED)
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM due) + (SELECT count(*) FROM expired)",
        &[&queue, &now],
    )?;
    Ok(())
}

/// One page of leasable messages in delivery order, locked for this transaction.
fn candidates(
    conn: &mut Conn,
    request: &LeaseRequest,
    filter: Option<&str>,
    want: usize,
    chosen: &[MessageId],
    excluded_values: &[String],
) -> Result<Vec<(MessageId, Option<String>)>> {
    let mut sql = String::from(
        "SELECT m.id, m.exclusivity FROM messages m
         WHERE m.state = 0 AND m.queue = $1 AND m.visible_at <= $2
           AND (m.exclusivity IS NULL OR (m.exclusivity <> ALL($4) AND NOT EXISTS (
                SELECT 1 FROM messages l
                WHERE l.state = 1 AND l.queue = m.queue AND l.exclusivity = m.exclusivity)))
           AND m.id <> ALL($5)",
    );
    if filter.is_some() {
        sql.push_str("\n           AND m.metadata @> $6::text::jsonb");
    }
    sql.push_str(
        "\n         ORDER BY m.priority DESC, m.deadline_ord, m.id
         LIMIT $3
         FOR UPDATE OF m SKIP LOCKED",
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
                &filter,
            ],
        )?,
    };
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Tries the advisory lock of each exclusivity value; whether each was taken.
fn try_locks(conn: &mut Conn, queue: &str, values: &[String]) -> Result<Vec<bool>> {
    let rows = conn.query(
        "SELECT u.i, pg_try_advisory_xact_lock(hashtextextended(
                 'cosmos' || chr(31) || COALESCE(current_schema(), '') || chr(31) || $1
                 || chr(31) || u.v, 0))
         FROM unnest($2::text[]) WITH ORDINALITY AS u(v, i)",
        &[&queue, &values],
    )?;
    let mut taken = vec![false; values.len()];
    for row in rows {
        let i: i64 = row.get(0);
        let got: Option<bool> = row.get(1);
        if let Some(slot) = usize::try_from(i - 1).ok().and_then(|i| taken.get_mut(i)) {
            *slot = got.unwrap_or(false);
        }
    }
    Ok(taken)
}

pub(super) fn lease_in(conn: &mut Conn, request: &LeaseRequest) -> Result<Vec<Leased>> {
    prepare_queue(conn, &request.queue, request.now)?;
    if request.limit == 0 {
        return Ok(Vec::new());
    }
    let filter = if request.filter.is_empty() {
        None
    } else {
        Some(
            serde_json::to_string(&request.filter)
                .map_err(|e| StoreError::Invalid(format!("unserializable filter: {e}")))?,
        )
    };
    let mut chosen: Vec<MessageId> = Vec::new();
    // Values leased by this call, or locked by another transaction.
    let mut excluded: Vec<String> = Vec::new();
    for _ in 0..MAX_PAGES {
        let want = request.limit - chosen.len();
        let page = candidates(
            conn,
            request,
            filter.as_deref(),
            want,
            &chosen,
            &excluded,
        )?;
        let full = page.len() >= want;
        // In delivery order: (id, index of its value in `values`).
        let mut picked: Vec<(MessageId, Option<usize>)> = Vec::new();
        let mut values: Vec<String> = Vec::new();
        for (id, value) in page {
            match value {
                None => picked.push((id, None)),
                Some(value) if values.contains(&value) => {}
                Some(value) => {
                    picked.push((id, Some(values.len())));
                    values.push(value);
                }
            }
        }
        let locked = if values.is_empty() {
            Vec::new()
        } else {
            try_locks(conn, &request.queue, &values)?
        };
        for (id, value) in picked {
            if value.is_none_or(|i| locked.get(i).copied().unwrap_or(false)) {
                chosen.push(id);
            }
        }
        excluded.extend(values);
        if !full || chosen.len() >= request.limit {
            break;
        }
    }
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let lease_until = request.now.saturating_add(request.lease_ms);
    let rows = conn.query(
        "UPDATE messages m SET state = 1, owner = $2, lease_until = $3,
             attempts = m.attempts + 1
         WHERE m.id = ANY($1) AND m.state = 0
           AND (m.exclusivity IS NULL OR NOT EXISTS (
                SELECT 1 FROM messages l
                WHERE l.state = 1 AND l.queue = m.queue AND l.exclusivity = m.exclusivity))
         RETURNING m.id, m.queue, m.priority, m.payload, m.metadata::text, m.exclusivity,
                   m.attempts, m.lease_until, m.idempotency_key",
        &[&chosen, &request.owner, &lease_until],
    )?;
    let order: HashMap<MessageId, usize> = chosen.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut leased = rows.iter().map(decode_leased).collect::<Result<Vec<_>>>()?;
    leased.sort_by_key(|l| order.get(&l.id).copied().unwrap_or(usize::MAX));
    Ok(leased)
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
        "DELETE FROM messages WHERE id = $1 AND state = 1 AND owner = $2 AND lease_until > $3",
        &[&id, &owner, &now],
    )?;
    Ok(deleted == 1)
}
