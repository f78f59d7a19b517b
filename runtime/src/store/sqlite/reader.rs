//! The store's second connection, read-only, for the reads made outside any write
//! transaction: an instance (which a completion reads when the node kept no copy of
//! it, and the call loop to ask whether a call is still wanted), its status, listings
//! and history pages. They no longer queue behind the writer's transactions; a reader
//! of the write-ahead log sees every transaction committed before its read began, so a
//! read still sees every write this process made before it.
//!
//! An in-memory database (tests, simulations) cannot be opened twice: it has no
//! reader, and reads go to the one connection.

use std::ops::Deref;
use std::path::Path;
use std::sync::{MutexGuard, PoisonError};

use rusqlite::{Connection, OpenFlags};

use super::group_commit::ConnGuard;
use super::{Db, Result, SqliteOptions};

/// Opens the reader of the database file at `path` (its schema already written).
pub(super) fn open(path: &Path, options: &SqliteOptions) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let reader = Connection::open_with_flags(path, flags)?;
    reader.busy_timeout(options.busy_timeout)?;
    reader.set_prepared_statement_cache_capacity(64);
    Ok(reader)
}

/// A connection to read from: the reader, or the connection itself.
pub(super) enum ReadGuard<'a> {
    Reader(MutexGuard<'a, Connection>),
    Writer(ConnGuard<'a>),
}

impl Deref for ReadGuard<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            ReadGuard::Reader(conn) => conn,
            ReadGuard::Writer(conn) => conn,
        }
    }
}

impl Db {
    /// A connection for a read outside any write transaction.
    pub(super) fn read(&self) -> ReadGuard<'_> {
        match &self.reader {
            Some(reader) => {
                ReadGuard::Reader(reader.lock().unwrap_or_else(PoisonError::into_inner))
            }
            None => ReadGuard::Writer(self.conn()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::SqliteStore;
    use super::super::fixtures::{new_instance, step};
    use crate::engine::Status;
    use crate::store::Store;
    use std::sync::Arc;
    use std::time::Duration;

    /// A read made while the writer's connection is held answers at once, and sees
    /// what was committed before it.
    #[test]
    fn reads_do_not_wait_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
        store
            .create_instance(new_instance("i1"), step("i1", 0, 1))
            .unwrap();
        let held = store.db.conn();
        let (answer, answered) = std::sync::mpsc::channel();
        let reading = Arc::clone(&store);
        std::thread::spawn(move || {
            let read = reading.instance("i1").map(|r| r.map(|r| r.facts));
            let status = reading.instance_status("i1");
            let listed = reading.list_instances(&Default::default()).map(|l| l.len());
            let _ = answer.send((read, status, listed));
        });
        let (read, status, listed) = answered.recv_timeout(Duration::from_secs(10)).unwrap();
        drop(held);
        assert_eq!(read.unwrap(), Some(serde_json::json!({"step": 0})));
        assert_eq!(status.unwrap(), Some(Status::Running));
        assert_eq!(listed.unwrap(), 1);
    }
}
