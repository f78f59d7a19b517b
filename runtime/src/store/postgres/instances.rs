//! Instances on PostgreSQL, inside a transaction: creating one with its first step,
//! and committing a step. Each is as few statements as it can be (data-modifying
//! `WITH` clauses): every statement is a round trip to the server, unless it is sent
//! with others (`Conn::query_one_both`).

use postgres::Row;
use postgres::types::ToSql;

use super::super::{
    Created, InstanceRecord, Leased, MessageState, NewInstance, OwnCalls, StepCommit, StoreError,
    parse_name,
};
use super::conn::{Conn, Finish};
use super::{json_text, optional_json, parse_json, queue};

type Result<T> = std::result::Result<T, StoreError>;

/// A step's history as the columns `unnest` takes.
struct HistoryColumns {
    at: Vec<i64>,
    kind: Vec<&'static str>,
    text: Vec<String>,
    data: Vec<String>,
    node: Option<String>,
    started_us: Option<i64>,
    finished_us: Option<i64>,
}

impl HistoryColumns {
    fn of(commit: &StepCommit) -> Result<HistoryColumns> {
        let mut columns = HistoryColumns {
            at: Vec::with_capacity(commit.history.len()),
            kind: Vec::with_capacity(commit.history.len()),
            text: Vec::with_capacity(commit.history.len()),
            data: Vec::with_capacity(commit.history.len()),
            node: commit.stamp.as_ref().map(|s| s.node.clone()),
            started_us: commit.stamp.as_ref().map(|s| s.started_us),
            finished_us: commit.stamp.as_ref().map(|s| s.finished_us),
        };
        for event in &commit.history {
            columns.at.push(event.at);
            columns.kind.push(event.kind.as_str());
            columns.text.push(event.text.clone());
            columns.data.push(json_text(&event.data)?);
        }
        Ok(columns)
    }
}

/// Inserts a step's history rows after the instance's last one, if the CTE named
/// `gate` returned a row; `$1` is the instance, `$N…$N+3` the columns and
/// `$N+4…$N+6` the step's stamp.
fn history_cte(gate: &str, first: usize) -> String {
    format!(
        "history_rows AS (
             INSERT INTO history (instance, seq, at, kind, text, data, node, started_us,
                 finished_us)
             SELECT $1, (SELECT COALESCE(MAX(seq), 0) FROM history WHERE instance = $1) + u.i,
                    u.at, u.kind, u.text, u.data, ${}::text, ${}::bigint, ${}::bigint
             FROM unnest(${}::bigint[], ${}::text[], ${}::text[], ${}::text[])
                  WITH ORDINALITY AS u(at, kind, text, data, i)
             WHERE EXISTS (SELECT 1 FROM {gate})
             RETURNING 1
         )",
        first + 4,
        first + 5,
        first + 6,
        first,
        first + 1,
        first + 2,
        first + 3
    )
}

impl HistoryColumns {
    /// The parameters `history_cte` expects, in order.
    fn params(&self) -> [&(dyn ToSql + Sync); 7] {
        [
            &self.at,
            &self.kind,
            &self.text,
            &self.data,
            &self.node,
            &self.started_us,
            &self.finished_us,
        ]
    }
}

pub(super) fn decode_instance(row: &Row) -> Result<InstanceRecord> {
    let id: String = row.get(0);
    let input: String = row.get(4);
    let facts: String = row.get(5);
    let output: Option<String> = row.get(6);
    let status: String = row.get(3);
    let state: String = row.get(8);
    Ok(InstanceRecord {
        status: parse_name(&status, "instances", &id, "status")?,
        input: parse_json(&input, "instances", &id, "input")?,
        facts: parse_json(&facts, "instances", &id, "facts")?,
        output: output
            .as_deref()
            .map(|text| parse_json(text, "instances", &id, "output"))
            .transpose()?,
        state: parse_json(&state, "instances", &id, "state")?,
        workflow: row.get(1),
        bundle: row.get(2),
        failure: row.get(7),
        version: row.get(9),
        created_at: row.get(10),
        updated_at: row.get(11),
        idempotency_key: row.get(12),
        id,
    })
}

/// The instance of `new`'s workflow started with `new`'s idempotency key, if any:
/// keys are scoped to their workflow.
fn existing_by_key(conn: &mut Conn, new: &NewInstance) -> Result<Option<String>> {
    let Some(key) = &new.idempotency_key else {
        return Ok(None);
    };
    Ok(conn
        .query_opt(
            "SELECT id FROM instances WHERE workflow = $1 AND idempotency_key = $2",
            &[&new.workflow, key],
        )?
        .map(|row| row.get(0)))
}

/// The instance and its first step (see `Store::create_instance`): the instance row,
/// its history and the step's messages in one statement.
pub(super) fn create_in(
    conn: &mut Conn,
    new: &NewInstance,
    first: &StepCommit,
    own: Option<(&OwnCalls, &str)>,
) -> Result<Finish<(Created, Vec<Leased>)>> {
    if let Some(id) = existing_by_key(conn, new)? {
        return Ok(Finish::Rollback((Created::Existing(id), Vec::new())));
    }
    if first.expected_version != 0 {
        return Err(StoreError::Conflict {
            instance: new.id.clone(),
            expected: first.expected_version,
            actual: 0,
        });
    }
    if let Some((id, owner)) = &first.ack
        && !queue::ack_in(conn, *id, owner, first.now)?
    {
        return Err(StoreError::LeaseLost {
            id: *id,
            owner: owner.clone(),
        });
    }
    let history = HistoryColumns::of(first)?;
    let sql = format!(
        "WITH inserted AS (
             INSERT INTO instances (id, workflow, bundle, status, input, facts, output,
                 failure, state, version, created_at, updated_at, idempotency_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12)
             ON CONFLICT DO NOTHING
             RETURNING 1
         ), {}, {}
         SELECT (SELECT count(*) FROM inserted),
                ARRAY(SELECT id FROM enqueued WHERE state = {leased}),
                ARRAY(SELECT idempotency_key FROM enqueued WHERE state = {leased})",
        history_cte("inserted", 13),
        queue::messages_cte("inserted", 20, 11),
        leased = MessageState::Leased.code(),
    );
    let picked = own.map_or_else(Vec::new, |(own, _)| own.pick(&first.enqueue, first.now));
    let owner = own.map(|(own, owner)| (owner, own.lease_until));
    let messages = queue::MessageColumns::leasing(&first.enqueue, first.now, &picked, owner)?;
    let (input, facts) = (json_text(&new.input)?, json_text(&first.facts)?);
    let (output, state) = (
        optional_json(first.output.as_ref())?,
        json_text(&first.state)?,
    );
    let status = first.status.as_str();
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![
        &new.id,
        &new.workflow,
        &new.bundle,
        &status,
        &input,
        &facts,
        &output,
        &first.failure,
        &state,
        &new.created_at,
        &first.now,
        &new.idempotency_key,
    ];
    params.extend(history.params());
    params.extend(messages.params());
    let row = conn.query_one(&sql, &params)?;
    if row.get::<_, i64>(0) != 1 {
        // Taken since the checks above, by another node: its key, or its id.
        if let Some(id) = existing_by_key(conn, new)? {
            return Ok(Finish::Rollback((Created::Existing(id), Vec::new())));
        }
        return Err(StoreError::Duplicate(format!("instance {}", new.id)));
    }
    insert_children(conn, first)?;
    let leased = match own {
        Some((own, _)) => own_leased(first, picked, own.lease_until, row.get(1), row.get(2)),
        None => Vec::new(),
    };
    Ok(Finish::Commit((Created::New, leased)))
}

/// The child instances a step starts, in its transaction; an id that exists is left
/// as it is.
fn insert_children(conn: &mut Conn, commit: &StepCommit) -> Result<()> {
    for child in &commit.children {
        let (input, facts, state) = (
            json_text(&child.instance.input)?,
            json_text(&child.facts)?,
            json_text(&child.state)?,
        );
        let status = child.status.as_str();
        conn.execute(
            "INSERT INTO instances (id, workflow, bundle, status, input, facts, output, failure,
                 state, version, created_at, updated_at, idempotency_key)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, 1, $8, $8, NULL)
             ON CONFLICT (id) DO NOTHING",
            &[
                &child.instance.id,
                &child.instance.workflow,
                &child.instance.bundle,
                &status,
                &input,
                &facts,
                &state,
                &child.instance.created_at,
            ],
        )?;
    }
    Ok(())
}

/// One step (see [`StepCommit`]): the ack of its message, the instance row, its
/// history and its messages in one statement. The ack is checked first: a
/// lost lease wins over a version conflict, being its cause when exclusivity keeps one
/// step of an instance at a time.
pub(super) fn commit_in(conn: &mut Conn, commit: &StepCommit) -> Result<()> {
    commit_leasing_in(conn, commit, None).map(|_| ())
}

/// [`commit_in`], with the step's messages that `own` picks inserted already leased
/// by `owner` (in the same statement); returns them as leased.
pub(super) fn commit_leasing_in(
    conn: &mut Conn,
    commit: &StepCommit,
    own: Option<(&OwnCalls, &str)>,
) -> Result<Vec<Leased>> {
    let statement = StepStatement::new(commit, own, StepAck::Own)?;
    let row = conn.query_one(&statement.sql, &statement.params())?;
    statement.finish(conn, &row)
}

/// Which message a step's statement acknowledges.
pub(super) enum StepAck<'a> {
    /// The step's own `ack` (an id and its owner), if it has one.
    Own,
    /// The event that a call's completion inserted leased earlier in the same
    /// transaction, found by its idempotency key in its queue (its id is not known
    /// yet when the two statements are sent together).
    Held {
        queue: &'a str,
        key: &'a str,
        owner: &'a str,
    },
}

/// What a step's statement acknowledges, as its parameters give it.
enum AckParams<'a> {
    /// `$9`: the id of the step's own `ack`, or NULL.
    Id(Option<i64>),
    /// `$9` and `$32`: the held event's key and queue ([`StepAck::Held`]).
    Held { key: &'a str, queue: &'a str },
}

/// A step's one statement (see [`commit_in`]): its SQL, the values of its parameters,
/// and how its answer is read.
pub(super) struct StepStatement<'a> {
    commit: &'a StepCommit,
    own: Option<(&'a OwnCalls, &'a str)>,
    pub(super) sql: String,
    ack: AckParams<'a>,
    /// `$10`: the owner of the message acknowledged, if any.
    ack_owner: Option<&'a str>,
    status: &'static str,
    facts: String,
    output: Option<String>,
    state: String,
    history: HistoryColumns,
    messages: queue::MessageColumns,
    picked: Vec<usize>,
}

impl<'a> StepStatement<'a> {
    pub(super) fn new(
        commit: &'a StepCommit,
        own: Option<(&'a OwnCalls, &'a str)>,
        ack: StepAck<'a>,
    ) -> Result<StepStatement<'a>> {
        let leased = MessageState::Leased.code();
        let (acked, ack, ack_owner) = match ack {
            StepAck::Own => (
                format!(
                    "DELETE FROM messages
                     WHERE $9::bigint IS NOT NULL AND id = $9 AND state = {leased}
                       AND owner = $10 AND lease_until > $8"
                ),
                AckParams::Id(commit.ack.as_ref().map(|(id, _)| *id)),
                commit.ack.as_ref().map(|(_, owner)| owner.as_str()),
            ),
            StepAck::Held { queue, key, owner } => (
                format!(
                    "DELETE FROM messages
                     WHERE queue = $32 AND live_key = $9::text AND state = {leased}
                       AND owner = $10 AND lease_until > $8"
                ),
                AckParams::Held { key, queue },
                Some(owner),
            ),
        };
        let sql = format!(
            "WITH acked AS (
                 {acked}
                 RETURNING 1
             ), updated AS (
                 UPDATE instances SET status = $3, facts = $4, output = $5, failure = $6,
                     state = $7, version = version + 1, updated_at = $8
                 WHERE id = $1 AND version = $2
                   AND ($10::text IS NULL OR EXISTS (SELECT 1 FROM acked))
                 RETURNING 1
             ), {}, {}
             SELECT (SELECT count(*) FROM acked), (SELECT count(*) FROM updated),
                    ARRAY(SELECT id FROM enqueued WHERE state = {leased}),
                    ARRAY(SELECT idempotency_key FROM enqueued WHERE state = {leased})",
            history_cte("updated", 11),
            queue::messages_cte("updated", 18, 8),
        );
        let picked = own.map_or_else(Vec::new, |(own, _)| own.pick(&commit.enqueue, commit.now));
        let owner = own.map(|(own, owner)| (owner, own.lease_until));
        let messages = queue::MessageColumns::leasing(&commit.enqueue, commit.now, &picked, owner)?;
        Ok(StepStatement {
            commit,
            own,
            sql,
            ack,
            ack_owner,
            status: commit.status.as_str(),
            facts: json_text(&commit.facts)?,
            output: optional_json(commit.output.as_ref())?,
            state: json_text(&commit.state)?,
            history: HistoryColumns::of(commit)?,
            messages,
            picked,
        })
    }

    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let commit = self.commit;
        let ack: &(dyn ToSql + Sync) = match &self.ack {
            AckParams::Id(id) => id,
            AckParams::Held { key, .. } => key,
        };
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &commit.instance,
            &commit.expected_version,
            &self.status,
            &self.facts,
            &self.output,
            &commit.failure,
            &self.state,
            &commit.now,
            ack,
            &self.ack_owner,
        ];
        params.extend(self.history.params());
        params.extend(self.messages.params());
        if let AckParams::Held { queue, .. } = &self.ack {
            params.push(queue);
        }
        params
    }

    /// Reads the statement's answer `row`: the calls leased with the step, or why
    /// nothing was written (the acknowledged message's lease was lost, or the instance
    /// is not at the step's expected version).
    pub(super) fn finish(self, conn: &mut Conn, row: &Row) -> Result<Vec<Leased>> {
        let commit = self.commit;
        let (acked, updated): (i64, i64) = (row.get(0), row.get(1));
        let own_ids: Vec<i64> = row.get(2);
        let own_keys: Vec<Option<String>> = row.get(3);
        if self.ack_owner.is_some() && acked != 1 {
            return Err(StoreError::LeaseLost {
                id: match self.ack {
                    AckParams::Id(id) => id.unwrap_or_default(),
                    // Not an id yet: the held event was never seen (`call_step`).
                    AckParams::Held { .. } => 0,
                },
                owner: self.ack_owner.unwrap_or_default().to_string(),
            });
        }
        if updated != 1 {
            let actual = conn.query_opt(
                "SELECT version FROM instances WHERE id = $1",
                &[&commit.instance],
            )?;
            return Err(match actual {
                None => StoreError::NotFound(format!("instance {}", commit.instance)),
                Some(row) => StoreError::Conflict {
                    instance: commit.instance.clone(),
                    expected: commit.expected_version,
                    actual: row.get(0),
                },
            });
        }
        insert_children(conn, commit)?;
        let Some((own, _)) = self.own else {
            return Ok(Vec::new());
        };
        Ok(own_leased(
            commit,
            self.picked,
            own.lease_until,
            own_ids,
            own_keys,
        ))
    }
}

/// The messages of `commit` at the indexes `picked` that its statement inserted
/// leased (their ids and idempotency keys, as it returned them), as leased until
/// `lease_until`, in the step's order.
fn own_leased(
    commit: &StepCommit,
    picked: Vec<usize>,
    lease_until: i64,
    own_ids: Vec<i64>,
    own_keys: Vec<Option<String>>,
) -> Vec<Leased> {
    // The rows inserted leased, back in the step's order (by idempotency key: the
    // order of `RETURNING` is not promised), each once.
    let mut rows: Vec<Option<(i64, String)>> = own_ids
        .into_iter()
        .zip(own_keys)
        .map(|(id, key)| key.map(|key| (id, key)))
        .collect();
    let mut leased = Vec::with_capacity(rows.len());
    for i in picked {
        let Some(message) = commit.enqueue.get(i) else {
            continue;
        };
        let Some(key) = &message.idempotency_key else {
            continue;
        };
        let Some(id) = rows
            .iter_mut()
            .find(|row| row.as_ref().is_some_and(|(_, k)| k == key))
            .and_then(Option::take)
            .map(|(id, _)| id)
        else {
            continue;
        };
        leased.push(Leased::inserted(id, message, lease_until));
    }
    leased
}
