//! Whether a SQLite store can still be written where a restarted node will find it.
//!
//! A node writes through the file descriptor it opened. Deleting, moving or replacing
//! the file (or its write-ahead log) under a running node does not stop those writes:
//! they go on into a file no path names, and vanish with the process. So the path's
//! device and inode are compared with the ones recorded when the store was opened,
//! whenever [`Health::fault`] is asked. A write that fails because the disk is
//! read-only, full or failing is a fault too. A fault is logged once, as an error,
//! and kept until the process ends: the node refuses new work from then on.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use rusqlite::ErrorCode;

use crate::store::StoreError;

/// A file's identity: the device and inode a path led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
}

impl Identity {
    fn of(path: &Path) -> io::Result<Identity> {
        let meta = std::fs::metadata(path)?;
        Ok(Identity {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

/// A file the open store uses, and the identity it had when the store opened it.
#[derive(Debug)]
struct Watched {
    path: PathBuf,
    identity: Identity,
}

impl Watched {
    /// What is wrong with the file at `path`, if it is no longer the one open.
    fn problem(&self) -> Option<String> {
        let path = self.path.display();
        match Identity::of(&self.path) {
            Ok(now) if now == self.identity => None,
            Ok(_) => Some(format!(
                "the store file {path} was replaced while this node had it open; \
                 this node writes into the file that was there before"
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Some(format!(
                "the store file {path} was deleted or moved while this node had it open; \
                 what this node writes now is lost when it stops"
            )),
            Err(e) => Some(format!("the store file {path} cannot be checked: {e}")),
        }
    }
}

/// The watch on one store's files, and its fault once it has one.
#[derive(Debug)]
pub(super) struct Health {
    files: Vec<Watched>,
    fault: Mutex<Option<String>>,
}

impl Health {
    /// Watches the database file at `path` and, when it exists, its write-ahead log.
    pub(super) fn of_file(path: &Path) -> Result<Health, StoreError> {
        let mut files = vec![Watched {
            path: path.to_path_buf(),
            identity: Identity::of(path)?,
        }];
        let mut wal = path.as_os_str().to_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        if let Ok(identity) = Identity::of(&wal) {
            files.push(Watched {
                path: wal,
                identity,
            });
        }
        Ok(Health {
            files,
            fault: Mutex::new(None),
        })
    }

    /// An in-memory database: no file to lose.
    pub(super) fn in_memory() -> Health {
        Health {
            files: Vec::new(),
            fault: Mutex::new(None),
        }
    }

    /// The store's fault: the one already found, or one its files show now.
    pub(super) fn fault(&self) -> Option<String> {
        if let Some(fault) = self.current() {
            return Some(fault);
        }
        let problem = self.files.iter().find_map(Watched::problem)?;
        Some(self.record(problem))
    }

    /// Passes `result` through, recording a failed write to a read-only, full or
    /// failing disk as the store's fault.
    pub(super) fn watch<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(error) = &result
            && let Some(cause) = disk_failure(error)
        {
            let on = self
                .files
                .first()
                .map(|f| format!(" on {}", f.path.display()))
                .unwrap_or_default();
            self.record(format!(
                "a write to the store{on} failed: {cause} ({error})"
            ));
        }
        result
    }

    fn current(&self) -> Option<String> {
        self.fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Keeps the first fault found (logging it) and returns the fault kept.
    fn record(&self, problem: String) -> String {
        let mut fault = self.fault.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(first) = fault.as_ref() {
            return first.clone();
        }
        tracing::error!(
            "{problem}; this node refuses new instances, signals and cancels, and \
             /healthz fails, until it is restarted (docs/operations.md, \"When the \
             store fails\")"
        );
        *fault = Some(problem.clone());
        problem
    }
}

/// What a failure says about the disk under the store, when it says that it cannot
/// be written.
fn disk_failure(error: &StoreError) -> Option<&'static str> {
    let StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) = error else {
        return None;
    };
    match failure.code {
        ErrorCode::ReadOnly => Some("the database is read-only"),
        ErrorCode::DiskFull => Some("the disk is full"),
        ErrorCode::SystemIoFailure => Some("the disk failed an I/O operation"),
        ErrorCode::DatabaseCorrupt => Some("the database file is damaged"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::SqliteStore;
    use crate::store::{NewMessage, Store, StoreError};
    use serde_json::json;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        (dir, store)
    }

    /// Enqueues a message big enough to need new pages.
    fn write(store: &SqliteStore) -> Result<(), StoreError> {
        let pad = "x".repeat(64 * 1024);
        store
            .enqueue(&[NewMessage::new("q", json!({ "pad": pad }), 0)], 0)
            .map(drop)
    }

    #[test]
    fn a_healthy_file_store_has_no_fault() {
        let (_dir, store) = store();
        write(&store).unwrap();
        assert_eq!(store.fault(), None);
    }

    #[test]
    fn a_full_disk_is_a_fault_that_stays() {
        let (_dir, store) = store();
        {
            // SQLite's own size limit: the write fails with SQLITE_FULL, as on a full disk.
            let conn = store.conn();
            let pages: i64 = conn
                .query_row("PRAGMA page_count", [], |row| row.get(0))
                .unwrap();
            conn.pragma_update(None, "max_page_count", pages).unwrap();
        }
        let error = write(&store).unwrap_err();
        assert!(error.to_string().contains("full"), "{error}");
        let fault = store.fault().unwrap();
        assert!(fault.contains("the disk is full"), "{fault}");
        assert!(fault.contains("state.db"), "{fault}");
        store
            .conn()
            .pragma_update(None, "max_page_count", 1_000_000)
            .unwrap();
        write(&store).unwrap();
        assert_eq!(store.fault(), Some(fault), "a fault stays until a restart");
    }

    #[test]
    fn a_read_only_database_is_a_fault() {
        let (_dir, store) = store();
        store
            .conn()
            .pragma_update(None, "query_only", true)
            .unwrap();
        write(&store).unwrap_err();
        let fault = store.fault().unwrap();
        assert!(fault.contains("read-only"), "{fault}");
    }

    #[test]
    fn a_replaced_file_or_a_deleted_log_is_a_fault() {
        let (dir, store) = store();
        let path = dir.path().join("state.db");
        std::fs::copy(&path, dir.path().join("copy.db")).unwrap();
        std::fs::rename(dir.path().join("copy.db"), &path).unwrap();
        let fault = store.fault().unwrap();
        assert!(fault.contains("was replaced"), "{fault}");

        let (dir, store) = self::store();
        std::fs::remove_file(dir.path().join("state.db-wal")).unwrap();
        let fault = store.fault().unwrap();
        assert!(fault.contains("state.db-wal was deleted"), "{fault}");
    }
}
