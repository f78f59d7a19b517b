//! Writes committed in groups: a call's completion with its step
//! ([`Store::complete_call_with_step`](super::super::Store::complete_call_with_step))
//! and a new instance with its first step
//! ([`Store::create_instance_leasing`](super::super::Store::create_instance_leasing))
//! wait in a list, and whoever next holds the connection commits every write waiting
//! then (up to [`GROUP`], the first to arrive first) in one write transaction, each in
//! a savepoint of its own, before any of them hears its answer.
//!
//! The file has one writer at a time, so writes that arrive together wait for one
//! another anyway; committed one by one, each paid for its own `BEGIN`, `COMMIT` and
//! log pages, and the connection sat idle between them while the next waiting thread
//! woke up. In a group the connection goes from one write to the next without waiting
//! for anyone, and the group writes the pages its writes share (the queue's indexes,
//! the history's last page) once.
//!
//! What each write changes, and what it answers, are exactly what it would change and
//! answer in a transaction of its own, in the order of the group: a savepoint undoes
//! the changes of one whose statements fail, and the others go on (a write alone needs
//! none). A write is answered only after the group's `COMMIT`; if the transaction
//! cannot begin or commit, or SQLite rolls it back (a full disk, an I/O error), every
//! write of the group is answered with that error and nothing of the group is written.
//!
//! No write waits for a holder that has let go: the connection's guard ([`ConnGuard`])
//! looks at the list after every release and commits what is waiting if the connection
//! is free, and a write that finds the connection held leaves its commit to that
//! holder.

use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError, mpsc};

use rusqlite::Connection;

use super::super::{
    CallStep, CallStepped, Created, Leased, NewInstance, OwnCalls, StepCommit, StoreError,
};
use super::call_step::complete_in;
use super::instances::create_in;
use super::{Db, Result, WriteTx};

/// Writes in one group, at most (the others wait for the next).
const GROUP: usize = 64;

/// A write waiting to be committed.
pub(super) struct Waiting {
    work: Work,
    /// Where its answer goes; dropped unanswered (a panic part way), its writer hears
    /// that nothing of it was written.
    answer: mpsc::Sender<Result<Done>>,
}

/// What a waiting write is.
enum Work {
    /// A call's completion with its step.
    Completion(CallStep),
    /// A new instance with its first step, and the calls of it its node leases.
    Creation {
        new: NewInstance,
        first: StepCommit,
        own: Option<(OwnCalls, String)>,
    },
}

/// What a write answers.
enum Done {
    Completion(CallStepped),
    Creation(Created, Vec<Leased>),
}

impl Done {
    /// Whether its writes are kept: not those of a completion whose lease was lost
    /// (there are none), nor of an instance that existed already.
    fn writes(&self) -> bool {
        match self {
            Done::Completion(stepped) => !matches!(stepped, CallStepped::LeaseLost),
            Done::Creation(created, _) => matches!(created, Created::New),
        }
    }
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.work {
            Work::Completion(step) => f
                .debug_struct("Completion")
                .field("call", &step.call)
                .finish_non_exhaustive(),
            Work::Creation { new, .. } => f
                .debug_struct("Creation")
                .field("instance", &new.id)
                .finish_non_exhaustive(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The connection, held; on release, commits the writes waiting meanwhile.
pub(super) struct ConnGuard<'a> {
    db: &'a Db,
    guard: Option<MutexGuard<'a, Connection>>,
}

impl<'a> ConnGuard<'a> {
    pub(super) fn new(db: &'a Db, guard: MutexGuard<'a, Connection>) -> Self {
        ConnGuard {
            db,
            guard: Some(guard),
        }
    }
}

impl std::ops::Deref for ConnGuard<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // Some until dropped.
        self.guard.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for ConnGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        self.db.commit_waiting();
    }
}

impl Db {
    /// Completes a call with its step in the next group commit (see the module
    /// documentation), and answers once that group is committed.
    pub(super) fn complete_in_group(&self, step: CallStep) -> Result<CallStepped> {
        match self.in_group(Work::Completion(step))? {
            Done::Completion(stepped) => Ok(stepped),
            Done::Creation(..) => Err(mismatch()),
        }
    }

    /// Creates an instance with its first step in the next group commit (see the
    /// module documentation), and answers once that group is committed.
    pub(super) fn create_in_group(
        &self,
        new: NewInstance,
        first: StepCommit,
        own: Option<(OwnCalls, String)>,
    ) -> Result<(Created, Vec<Leased>)> {
        match self.in_group(Work::Creation { new, first, own })? {
            Done::Creation(created, leased) => Ok((created, leased)),
            Done::Completion(_) => Err(mismatch()),
        }
    }

    fn in_group(&self, work: Work) -> Result<Done> {
        let (answer, answered) = mpsc::channel();
        lock(&self.waiting).push(Waiting { work, answer });
        self.commit_waiting();
        answered.recv().unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the transaction recording this write was interrupted; nothing of it \
                 was written"
                    .into(),
            ))
        })
    }

    /// While writes wait and the connection is free, commits them in groups. Called
    /// after every release of the connection: a write that found the connection held
    /// is committed by its holder once it lets go (or by the next one, if another takes
    /// the connection first).
    fn commit_waiting(&self) {
        loop {
            if lock(&self.waiting).is_empty() {
                return;
            }
            let conn = match self.conn.try_lock() {
                Ok(conn) => conn,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            // The first to arrive first; any beyond a group's size in the next one.
            let group: Vec<Waiting> = {
                let mut waiting = lock(&self.waiting);
                let n = waiting.len().min(GROUP);
                waiting.drain(..n).collect()
            };
            commit(&conn, group);
        }
    }
}

/// Writes each of `group` in a savepoint, commits, and answers them all.
fn commit(conn: &Connection, group: Vec<Waiting>) {
    let results = match write(conn, &group) {
        Ok(results) => results,
        Err(error) => group.iter().map(|_| Err(copy(&error))).collect(),
    };
    for (waiting, result) in group.into_iter().zip(results) {
        // A writer that is gone needs no answer.
        let _ = waiting.answer.send(result);
    }
}

/// An answer of the other kind than the write asked for: not reached.
fn mismatch() -> StoreError {
    StoreError::Invalid("a group commit answered a write with another's answer".into())
}

/// The group's transaction: each write's answer, once committed; or the error that
/// kept the whole group from being committed.
fn write(conn: &Connection, waiting: &[Waiting]) -> Result<Vec<Result<Done>>> {
    let tx = WriteTx::begin(conn)?;
    // A write alone needs no savepoint: its transaction is its own.
    let alone = waiting.len() == 1;
    let mut results = Vec::with_capacity(waiting.len());
    for waiting in waiting {
        if !alone {
            tx.prepare_cached("SAVEPOINT write")?.execute([])?;
        }
        let result = match &waiting.work {
            Work::Completion(step) => complete_in(&tx, step).map(Done::Completion),
            Work::Creation { new, first, own } => {
                let own = own.as_ref().map(|(own, owner)| (own, owner.as_str()));
                create_in(&tx, new, first, own)
                    .map(|(created, leased)| Done::Creation(created, leased))
            }
        };
        let keep = result.as_ref().is_ok_and(Done::writes);
        if alone {
            if keep {
                tx.commit()?;
            }
            // Otherwise rolled back as `tx` is dropped.
            return Ok(vec![result]);
        }
        if !keep {
            if tx.is_autocommit() {
                // SQLite rolled the whole transaction back (a full disk, an I/O
                // error): nothing of the group was written.
                return Err(match result {
                    Err(error) => error,
                    Ok(_) => StoreError::Unavailable("the transaction was rolled back".into()),
                });
            }
            tx.prepare_cached("ROLLBACK TO write")?.execute([])?;
        }
        tx.prepare_cached("RELEASE write")?.execute([])?;
        results.push(result);
    }
    tx.commit()?;
    Ok(results)
}

/// `error` again, for another write of the group: SQLite's own errors keep their
/// code (the store's health watch reads it), others their message.
fn copy(error: &StoreError) -> StoreError {
    match error {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, message)) => {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(*failure, message.clone()))
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::super::SqliteStore;
    use super::super::fixtures::{T0, new_instance, step};
    use super::*;
    use crate::store::{LeaseRequest, NewMessage, Store};
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    /// Instance `id` at version 1 with a call leased by `node-a` at `T0`; its message.
    fn running_call(store: &SqliteStore, id: &str) -> i64 {
        store
            .create_instance(new_instance(id), step(id, 0, T0))
            .unwrap();
        let mut call = NewMessage::new("calls", json!({"call": id}), T0);
        call.metadata = BTreeMap::from([("instance".to_string(), id.to_string())]);
        store.enqueue(&[call], T0).unwrap();
        let leased = store
            .lease(&LeaseRequest {
                queue: "calls".into(),
                owner: "node-a".into(),
                now: T0,
                lease_ms: 10_000,
                limit: 1,
                filter: BTreeMap::new(),
            })
            .unwrap();
        leased[0].id
    }

    fn completion(call: i64, instance: &str, now: i64) -> CallStep {
        let mut event = NewMessage::new("events", json!("completed"), now);
        event.exclusivity = Some(instance.to_string());
        CallStep {
            call,
            owner: "node-a".into(),
            event,
            step: step(instance, 1, now),
            own: None,
            fill: false,
        }
    }

    /// Writes that wait while the connection is held are committed in one group when
    /// it is let go, each as it would be alone: a completion whose step fails after
    /// acknowledging its call leaves the call leased (its savepoint is rolled back),
    /// and the others of the group are committed.
    #[test]
    fn a_group_commits_each_write_as_if_alone() {
        let store = std::sync::Arc::new(SqliteStore::open_in_memory().unwrap());
        let c1 = running_call(&store, "i1");
        let c2 = running_call(&store, "i2");
        let now = T0 + 10;
        let held = store.db.conn();
        let writers = vec![
            std::thread::spawn({
                let store = Arc::clone(&store);
                move || {
                    format!(
                        "{:?}",
                        store.db.complete_in_group(completion(c1, "i1", now))
                    )
                }
            }),
            std::thread::spawn({
                let store = Arc::clone(&store);
                // Invalid: a call's step must not acknowledge another message; found
                // only after the call was acknowledged.
                let mut bad = completion(c2, "i2", now);
                bad.step.ack = Some((c1, "node-a".into()));
                move || format!("{:?}", store.db.complete_in_group(bad))
            }),
            std::thread::spawn({
                let store = Arc::clone(&store);
                move || {
                    let first = StepCommit {
                        history: Vec::new(),
                        ..step("i3", 0, now)
                    };
                    format!(
                        "{:?}",
                        store.db.create_in_group(new_instance("i3"), first, None)
                    )
                }
            }),
        ];
        while lock(&store.db.waiting).len() < 3 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // Letting go of the connection commits the three in one transaction, here.
        drop(held);
        assert!(lock(&store.db.waiting).is_empty());
        let answers: Vec<String> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        assert!(answers[0].starts_with("Ok(Stepped"), "{}", answers[0]);
        assert!(answers[1].starts_with("Err(Invalid"), "{}", answers[1]);
        assert_eq!(answers[2], "Ok((New, []))");
        assert_eq!(store.instance("i1").unwrap().unwrap().version, 2);
        assert_eq!(store.instance("i2").unwrap().unwrap().version, 1);
        assert_eq!(store.instance("i3").unwrap().unwrap().version, 1);
        // The failed completion's acknowledgement was undone: node-a still holds c2.
        assert!(store.ack(c2, "node-a", now).unwrap());
        assert!(!store.ack(c1, "node-a", now).unwrap());
    }

    /// More writes than a group holds, waiting at once: the first `GROUP` to arrive
    /// are committed together, then the rest; every one is answered.
    #[test]
    fn writes_beyond_a_group_are_committed_in_the_next() {
        let store = std::sync::Arc::new(SqliteStore::open_in_memory().unwrap());
        let held = store.db.conn();
        let writes = GROUP + 6;
        let (answer, answers) = std::sync::mpsc::channel();
        for i in 0..writes {
            let (store, answer) = (Arc::clone(&store), answer.clone());
            std::thread::spawn(move || {
                let id = format!("i{i}");
                let created = store
                    .db
                    .create_in_group(new_instance(&id), step(&id, 0, T0), None);
                let _ = answer.send(format!("{created:?}"));
            });
        }
        while lock(&store.db.waiting).len() < writes {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(held);
        for _ in 0..writes {
            let created = answers
                .recv_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            assert_eq!(created, "Ok((New, []))");
        }
        let listed = store.list_instances(&Default::default()).unwrap();
        assert_eq!(listed.len(), writes);
    }

    #[test]
    fn copied_errors_keep_sqlite_codes() {
        let full = StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        ));
        let StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, message)) = copy(&full)
        else {
            panic!("not a SQLite failure");
        };
        assert_eq!(failure.code, rusqlite::ErrorCode::DiskFull);
        assert_eq!(message.as_deref(), Some("database or disk is full"));
    }
}
