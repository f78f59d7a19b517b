//! Instances on SQLite, inside a transaction: the parts of a step besides the
//! instance row (its ack, history rows and new messages), and reading one instance.

use rusqlite::{Connection, OptionalExtension, params};

use super::super::{
    Created, InstanceRecord, Leased, MessageId, NewInstance, OwnCalls, StepCommit, StoreError,
    parse_name,
};
use super::queue::{ack_in, enqueue_leasing_in};
use super::{json_text, optional_json, parse_json};

type Result<T> = std::result::Result<T, StoreError>;

/// The ack of a step: checked (and applied) before anything else it writes, so that
/// a lost lease fails first. A lost lease wins over a version conflict, being its
/// cause when exclusivity keeps one step of an instance at a time.
pub(super) fn step_ack(conn: &Connection, commit: &StepCommit) -> Result<()> {
    if let Some((id, owner)) = &commit.ack
        && !ack_in(conn, *id, owner, commit.now)?
    {
        return Err(StoreError::LeaseLost {
            id: *id,
            owner: owner.clone(),
        });
    }
    Ok(())
}

/// One step (see [`StepCommit`]) inside a write transaction: its ack, the instance
/// row, its history rows and new messages, those that `own` picks leased to its owner
/// (see [`OwnCalls`]). Returns the ids of the messages it enqueued, in order, and
/// those leased. Nothing is written when it fails, besides the ack when the instance
/// row is what failed (the caller rolls back, or writes something else).
pub(super) fn commit_in(
    conn: &Connection,
    commit: &StepCommit,
    own: Option<(&OwnCalls, &str)>,
) -> Result<(Vec<MessageId>, Vec<Leased>)> {
    step_ack(conn, commit)?;
    let updated = conn
        .prepare_cached(
            "UPDATE instances SET status = ?3, facts = ?4, output = ?5, failure = ?6,
                 state = ?7, version = version + 1, updated_at = ?8
             WHERE id = ?1 AND version = ?2",
        )?
        .execute(params![
            commit.instance,
            commit.expected_version,
            commit.status.as_str(),
            json_text(&commit.facts)?,
            optional_json(commit.output.as_ref())?,
            commit.failure,
            json_text(&commit.state)?,
            commit.now,
        ])?;
    if updated != 1 {
        let actual: Option<i64> = conn
            .prepare_cached("SELECT version FROM instances WHERE id = ?1")?
            .query_row(params![commit.instance], |row| row.get(0))
            .optional()?;
        return Err(match actual {
            None => StoreError::NotFound(format!("instance {}", commit.instance)),
            Some(actual) => StoreError::Conflict {
                instance: commit.instance.clone(),
                expected: commit.expected_version,
                actual,
            },
        });
    }
    step_rest(conn, commit, own)
}

/// The rest of a step besides the instance row: its history rows and new messages
/// (their ids, in order, and those `own` picks, inserted leased).
pub(super) fn step_rest(
    conn: &Connection,
    commit: &StepCommit,
    own: Option<(&OwnCalls, &str)>,
) -> Result<(Vec<MessageId>, Vec<Leased>)> {
    if !commit.history.is_empty() {
        let last: i64 = conn
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM history WHERE instance = ?1")?
            .query_row(params![commit.instance], |row| row.get(0))?;
        let mut insert = conn.prepare_cached(
            "INSERT INTO history (instance, seq, at, kind, text, data, node, started_us,
                 finished_us)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let stamp = commit.stamp.as_ref();
        for (seq, event) in (last + 1..).zip(&commit.history) {
            insert.execute(params![
                commit.instance,
                seq,
                event.at,
                event.kind.as_str(),
                event.text,
                json_text(&event.data)?,
                stamp.map(|s| &s.node),
                stamp.map(|s| s.started_us),
                stamp.map(|s| s.finished_us),
            ])?;
        }
    }
    let (ids, leased) = enqueue_leasing_in(conn, &commit.enqueue, commit.now, own)?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO instances (id, workflow, bundle, status, input, facts, output, failure,
             state, version, created_at, updated_at, idempotency_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL, ?7, 1, ?8, ?8, NULL)
         ON CONFLICT (id) DO NOTHING",
    )?;
    for child in &commit.children {
        insert.execute(params![
            child.instance.id,
            child.instance.workflow,
            child.instance.bundle,
            child.status.as_str(),
            json_text(&child.instance.input)?,
            json_text(&child.facts)?,
            json_text(&child.state)?,
            child.instance.created_at,
        ])?;
    }
    Ok((ids, leased))
}

/// Instance `id`, if there is one.
pub(super) fn instance_in(conn: &Connection, id: &str) -> Result<Option<InstanceRecord>> {
    let raw = conn
        .prepare_cached(
            "SELECT id, workflow, bundle, status, input, facts, output, failure, state,
                    version, created_at, updated_at, idempotency_key
             FROM instances WHERE id = ?1",
        )?
        .query_row(params![id], |row| {
            Ok(RawInstance {
                id: row.get(0)?,
                workflow: row.get(1)?,
                bundle: row.get(2)?,
                status: row.get(3)?,
                input: row.get(4)?,
                facts: row.get(5)?,
                output: row.get(6)?,
                failure: row.get(7)?,
                state: row.get(8)?,
                version: row.get(9)?,
                created_at: row.get(10)?,
                updated_at: row.get(11)?,
                idempotency_key: row.get(12)?,
            })
        })
        .optional()?;
    raw.map(RawInstance::decode).transpose()
}

struct RawInstance {
    id: String,
    workflow: String,
    bundle: String,
    status: String,
    input: String,
    facts: String,
    output: Option<String>,
    failure: Option<String>,
    state: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
    idempotency_key: Option<String>,
}

impl RawInstance {
    fn decode(self) -> Result<InstanceRecord> {
        let id = &self.id;
        Ok(InstanceRecord {
            input: parse_json(&self.input, "instances", id, "input")?,
            facts: parse_json(&self.facts, "instances", id, "facts")?,
            output: self
                .output
                .as_deref()
                .map(|text| parse_json(text, "instances", id, "output"))
                .transpose()?,
            state: parse_json(&self.state, "instances", id, "state")?,
            status: parse_name(&self.status, "instances", id, "status")?,
            id: self.id,
            workflow: self.workflow,
            bundle: self.bundle,
            failure: self.failure,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            idempotency_key: self.idempotency_key,
        })
    }
}

/// See [`Store::create_instance_leasing`](super::super::Store::create_instance_leasing): the creation's writes, in the write
/// transaction `tx` is in (its group's, see `group_commit.rs`); the caller checked
/// `first` against `new`.
pub(super) fn create_in(
    tx: &Connection,
    new: &NewInstance,
    first: &StepCommit,
    own: Option<(&OwnCalls, &str)>,
) -> Result<(Created, Vec<Leased>)> {
    if let Some(key) = &new.idempotency_key {
        let existing: Option<String> = tx
            .prepare_cached(
                "SELECT id FROM instances WHERE workflow = ?1 AND idempotency_key = ?2",
            )?
            .query_row(params![new.workflow, key], |row| row.get(0))
            .optional()?;
        if let Some(id) = existing {
            return Ok((Created::Existing(id), Vec::new()));
        }
    }
    if first.expected_version != 0 {
        return Err(StoreError::Conflict {
            instance: new.id.clone(),
            expected: first.expected_version,
            actual: 0,
        });
    }
    let exists = tx
        .prepare_cached("SELECT 1 FROM instances WHERE id = ?1")?
        .exists(params![new.id])?;
    if exists {
        return Err(StoreError::Duplicate(format!("instance {}", new.id)));
    }
    step_ack(tx, first)?;
    tx.prepare_cached(
        "INSERT INTO instances (id, workflow, bundle, status, input, facts, output, failure,
             state, version, created_at, updated_at, idempotency_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?12)",
    )?
    .execute(params![
        new.id,
        new.workflow,
        new.bundle,
        first.status.as_str(),
        json_text(&new.input)?,
        json_text(&first.facts)?,
        optional_json(first.output.as_ref())?,
        first.failure,
        json_text(&first.state)?,
        new.created_at,
        first.now,
        new.idempotency_key,
    ])?;
    let (_, leased) = step_rest(tx, first, own)?;
    Ok((Created::New, leased))
}
