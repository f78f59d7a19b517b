//! The queue on SQLite, inside a transaction: enqueue, lease (in delivery order,
//! one message per exclusivity value), ack. The single-statement queue operations
//! (release, extend, dead letters, statistics) are in the [`Store`] impl.
//!
//! [`Store`]: super::super::Store

use std::collections::HashSet;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::super::{
    Held, LeaseRequest, Leased, MessageId, MessageState, NewMessage, OwnCalls, StoreError,
    queue_sql,
};
use super::{json_text, parse_json, parse_metadata, to_u32};

type Result<T> = std::result::Result<T, StoreError>;

/// Enqueues `messages` at `now`; their ids, in order (an existing message's for one
/// whose idempotency key is live already, which is not enqueued again).
pub(super) fn enqueue_in(
    conn: &Connection,
    messages: &[NewMessage],
    now: i64,
) -> Result<Vec<MessageId>> {
    Ok(enqueue_leasing_in(conn, messages, now, None)?.0)
}

/// [`enqueue_in`], the messages `own` picks inserted already leased by `owner` (see
/// [`OwnCalls`]): their ids, and the leased ones as leased, in the step's order. A
/// picked message whose key is live already is not inserted, so not leased.
pub(super) fn enqueue_leasing_in(
    conn: &Connection,
    messages: &[NewMessage],
    now: i64,
    own: Option<(&OwnCalls, &str)>,
) -> Result<(Vec<MessageId>, Vec<Leased>)> {
    let picked = own.map_or_else(Vec::new, |(own, _)| own.pick(messages, now));
    let mut ids = Vec::with_capacity(messages.len());
    let mut leased = Vec::with_capacity(picked.len());
    for (i, message) in messages.iter().enumerate() {
        if let Some(key) = &message.idempotency_key {
            let existing: Option<MessageId> = conn
                .prepare_cached(
                    "SELECT id FROM messages
                     WHERE queue = ?1 AND live_key = ?2",
                )?
                .query_row(params![message.queue, key], |row| row.get(0))
                .optional()?;
            if let Some(id) = existing {
                ids.push(id);
                continue;
            }
        }
        let lease = own.filter(|_| picked.contains(&i));
        let state = match lease {
            Some(_) => MessageState::Leased,
            None if message.visible_at > now => MessageState::Scheduled,
            None => MessageState::Ready,
        };
        let metadata = serde_json::to_string(&message.metadata)
            .map_err(|e| StoreError::Invalid(format!("unserializable metadata: {e}")))?;
        let payload = json_text(&message.payload)?;
        let id = conn
            .prepare_cached(
                "INSERT INTO messages (queue, state, priority, deadline, deadline_ord, visible_at,
                     exclusivity, metadata, payload, idempotency_key, live_key, max_attempts,
                     attempts, enqueued_at, owner, lease_until)
                 VALUES (?1, ?12, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?13, ?11, ?14, ?15)",
            )?
            .insert(params![
                message.queue,
                message.priority,
                message.deadline,
                message.deadline.unwrap_or(i64::MAX),
                message.visible_at,
                message.exclusivity,
                metadata,
                payload,
                message.idempotency_key,
                message.max_attempts.map(i64::from),
                now,
                state.code(),
                i64::from(lease.is_some()),
                lease.map(|(_, owner)| owner),
                lease.map(|(own, _)| own.lease_until),
            ])?;
        ids.push(id);
        if let Some((own, _)) = lease {
            leased.push(Leased::inserted(id, message, own.lease_until));
        }
    }
    Ok((ids, leased))
}

/// Makes the scheduled messages of `queue` that are due at `now` ready, and ends the
/// expired leases: back to ready, or dead when the message has had `max_attempts`
/// leases. One read-only probe of the two indexes first: usually there is nothing
/// to do, and an `UPDATE` that finds no row still costs more than the probe (SQLite
/// sets up a two-pass update, with a temporary table, before it looks).
fn prepare_queue(conn: &Connection, queue: &str, now: i64) -> Result<()> {
    let (due, expired): (bool, bool) = conn
        .prepare_cached(queue_sql!(
            "SELECT EXISTS (SELECT 1 FROM messages
                            WHERE queue = ?1 AND state = {scheduled} AND visible_at <= ?2),
                    EXISTS (SELECT 1 FROM messages
                            WHERE queue = ?1 AND state = {leased} AND lease_until <= ?2)"
        ))?
        .query_row(params![queue, now], |row| Ok((row.get(0)?, row.get(1)?)))?;
    if due {
        conn.prepare_cached(queue_sql!(
            "UPDATE messages SET state = {ready}
             WHERE queue = ?1 AND state = {scheduled} AND visible_at <= ?2"
        ))?
        .execute(params![queue, now])?;
    }
    if expired {
        conn.prepare_cached(queue_sql!(
            "UPDATE messages SET state = {dead}, live_key = NULL, owner = NULL,
                 lease_until = NULL,
                 dead_reason = 'lease expired after ' || attempts || ' attempt(s)'
             WHERE queue = ?1 AND state = {leased} AND lease_until <= ?2
               AND max_attempts IS NOT NULL AND attempts >= max_attempts"
        ))?
        .execute(params![queue, now])?;
        conn.prepare_cached(queue_sql!(
            "UPDATE messages SET state = {ready}, owner = NULL, lease_until = NULL
             WHERE queue = ?1 AND state = {leased} AND lease_until <= ?2"
        ))?
        .execute(params![queue, now])?;
    }
    Ok(())
}

/// Deletes message `id` if `owner` holds a live lease on it at `now`.
pub(super) fn ack_in(conn: &Connection, id: MessageId, owner: &str, now: i64) -> Result<bool> {
    let deleted = conn
        .prepare_cached(queue_sql!(
            "DELETE FROM messages
             WHERE id = ?1 AND state = {leased} AND owner = ?2 AND lease_until > ?3"
        ))?
        .execute(params![id, owner, now])?;
    Ok(deleted == 1)
}

/// The message `id` if `owner` holds an unexpired lease on it at `now`.
pub(super) fn held_in(
    conn: &Connection,
    id: MessageId,
    owner: &str,
    now: i64,
) -> Result<Option<Held>> {
    let row: Option<(String, i64, i64)> = conn
        .prepare_cached(queue_sql!(
            "SELECT payload, attempts, lease_until FROM messages
             WHERE id = ?1 AND state = {leased} AND owner = ?2 AND lease_until > ?3"
        ))?
        .query_row(params![id, owner, now], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let Some((payload, attempts, lease_until)) = row else {
        return Ok(None);
    };
    Ok(Some(Held {
        payload: parse_json(&payload, "messages", &id, "payload")?,
        attempts: to_u32(attempts, "messages", &id, "attempts")?,
        lease_until,
    }))
}

/// The query listing the leasable messages of a request in delivery order, with what
/// a lease returns of them, and its parameters. It walks `messages_ready` in delivery
/// order and stops as soon as the lease is full (the planner, not knowing that, may
/// prefer to sort every visible message, hence `INDEXED BY`); delayed messages are
/// skipped on the index entry.
fn candidates_query(request: &LeaseRequest) -> (String, Vec<Value>) {
    let mut sql = String::from(queue_sql!(
        "SELECT m.id, m.exclusivity, m.priority, m.payload, m.metadata, m.attempts,
                m.idempotency_key
         FROM messages m INDEXED BY messages_ready
         WHERE m.state = {ready} AND m.queue = ?1 AND m.visible_at <= ?2
           AND (m.exclusivity IS NULL OR NOT EXISTS (
                SELECT 1 FROM messages l
                WHERE l.state = {leased} AND l.queue = m.queue
                  AND l.exclusivity = m.exclusivity))"
    ));
    let mut values = vec![
        Value::Text(request.queue.clone()),
        Value::Integer(request.now),
    ];
    for (key, allowed) in &request.filter {
        let k = values.len() + 1;
        values.push(Value::Text(key.clone()));
        let places: Vec<String> = allowed
            .iter()
            .map(|value| {
                values.push(Value::Text(value.clone()));
                format!("?{}", values.len())
            })
            .collect();
        let test = match places.as_slice() {
            [] => "0".to_string(),
            [one] => format!("j.value = {one}"),
            many => format!("j.value IN ({})", many.join(", ")),
        };
        sql.push_str(&format!(
            "\n           AND EXISTS (SELECT 1 FROM json_each(m.metadata) j \
             WHERE j.key = ?{k} AND {test})"
        ));
    }
    sql.push_str("\n         ORDER BY m.priority DESC, m.deadline_ord, m.id");
    (sql, values)
}

pub(super) fn lease_in(conn: &Connection, request: &LeaseRequest) -> Result<Vec<Leased>> {
    prepare_queue(conn, &request.queue, request.now)?;
    if request.limit == 0 {
        return Ok(Vec::new());
    }
    let (sql, values) = candidates_query(request);
    let mut chosen = Vec::new();
    {
        let mut statement = conn.prepare_cached(&sql)?;
        let mut rows = statement.query(params_from_iter(values))?;
        let mut taken_values = HashSet::new();
        while let Some(row) = rows.next()? {
            let exclusivity: Option<String> = row.get(1)?;
            if let Some(value) = &exclusivity
                && !taken_values.insert(value.clone())
            {
                continue;
            }
            chosen.push(RawLeased {
                id: row.get(0)?,
                exclusivity,
                priority: row.get(2)?,
                payload: row.get(3)?,
                metadata: row.get(4)?,
                attempts: row.get(5)?,
                idempotency_key: row.get(6)?,
            });
            if chosen.len() >= request.limit {
                break;
            }
        }
    }

    // The rows were read in this transaction: each is still ready, and the update
    // below is what `UPDATE … RETURNING` would return, without the temporary table
    // SQLite fills for RETURNING.
    let lease_until = request.now.saturating_add(request.lease_ms);
    let mut leased = Vec::with_capacity(chosen.len());
    let mut statement = conn.prepare_cached(queue_sql!(
        "UPDATE messages SET state = {leased}, owner = ?2, lease_until = ?3,
             attempts = attempts + 1
         WHERE id = ?1 AND state = {ready}"
    ))?;
    for raw in chosen {
        let changed = statement.execute(params![raw.id, request.owner, lease_until])?;
        if changed != 1 {
            return Err(StoreError::Corrupt(format!(
                "messages {}: ready when read, not when leased",
                raw.id
            )));
        }
        leased.push(raw.decode(&request.queue, lease_until)?);
    }
    Ok(leased)
}

/// A leasable message as read, before the lease is applied to it.
struct RawLeased {
    id: MessageId,
    priority: i64,
    payload: String,
    metadata: String,
    exclusivity: Option<String>,
    /// Before this lease.
    attempts: i64,
    idempotency_key: Option<String>,
}

impl RawLeased {
    /// The message as leased: `attempts` counts this lease.
    fn decode(self, queue: &str, lease_until: i64) -> Result<Leased> {
        Ok(Leased {
            payload: parse_json(&self.payload, "messages", &self.id, "payload")?,
            metadata: parse_metadata(&self.metadata, self.id)?,
            attempts: to_u32(
                self.attempts.saturating_add(1),
                "messages",
                &self.id,
                "attempts",
            )?,
            id: self.id,
            queue: queue.to_string(),
            priority: self.priority,
            exclusivity: self.exclusivity,
            lease_until,
            idempotency_key: self.idempotency_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::SqliteStore;
    use super::*;

    fn plan(conn: &Connection, sql: &str, values: Vec<Value>) -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = statement
            .query_map(params_from_iter(values), |row| row.get::<_, String>(3))
            .unwrap();
        rows.map(|row| row.unwrap()).collect::<Vec<_>>().join("\n")
    }

    /// The statements of one enqueue, lease and ack build no temporary table (a B-tree
    /// opened and closed per execution: a `CHECK … IN (…)` list, `RETURNING`, a
    /// two-pass `UPDATE`), which showed in the queue benchmark's profile.
    #[test]
    fn hot_statements_build_no_temporary_table() {
        let store = SqliteStore::open_in_memory().unwrap();
        let conn = store.conn();
        for sql in [
            "INSERT INTO messages (queue, state, priority, deadline, deadline_ord, visible_at,
                 exclusivity, metadata, payload, idempotency_key, live_key, max_attempts,
                 attempts, enqueued_at)
             VALUES ('q', 0, 0, NULL, 0, 0, NULL, '{}', '0', 'k', 'k', NULL, 0, 0)",
            "SELECT EXISTS (SELECT 1 FROM messages
                            WHERE queue = 'q' AND state = 3 AND visible_at <= 0),
                    EXISTS (SELECT 1 FROM messages
                            WHERE queue = 'q' AND state = 1 AND lease_until <= 0)",
            "UPDATE messages SET state = 1, owner = 'w', lease_until = 1, attempts = attempts + 1
             WHERE id = 1 AND state = 0",
            "DELETE FROM messages WHERE id = 1 AND state = 1 AND owner = 'w' AND lease_until > 0",
        ] {
            let mut statement = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
            let opcodes = statement
                .query_map([], |row| row.get::<_, String>(1))
                .unwrap()
                .map(|row| row.unwrap())
                .collect::<Vec<_>>();
            assert!(
                !opcodes.iter().any(|op| op == "OpenEphemeral"),
                "{sql}: {opcodes:?}"
            );
        }
    }

    #[test]
    fn lease_reads_the_ready_index_in_delivery_order() {
        let store = SqliteStore::open_in_memory().unwrap();
        let conn = store.conn();
        let mut request = LeaseRequest {
            queue: "q".into(),
            ..LeaseRequest::default()
        };
        for filter in [
            BTreeMap::new(),
            BTreeMap::from([("k".to_string(), vec!["v".to_string()])]),
            BTreeMap::from([("k".to_string(), vec!["v".to_string(), "w".to_string()])]),
        ] {
            request.filter = filter;
            let (sql, values) = candidates_query(&request);
            let plan = plan(&conn, &sql, values);
            assert!(plan.contains("USING INDEX messages_ready"), "{plan}");
            assert!(plan.contains("messages_leased_exclusive"), "{plan}");
            assert!(
                !plan.contains("TEMP B-TREE"),
                "sorts instead of using the index:\n{plan}"
            );
        }
        let plan = plan(
            &conn,
            "UPDATE messages SET state = 0 WHERE queue = ?1 AND state = 1 AND lease_until <= ?2",
            vec![Value::Text("q".into()), Value::Integer(0)],
        );
        assert!(plan.contains("messages_leased"), "{plan}");
    }
}
