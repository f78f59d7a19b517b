//! Connections, the pool, transactions and retries of the PostgreSQL store.
//!
//! # Retries
//!
//! Every operation runs as a closure that may be called again: a transient failure
//! (the connection was lost or refused, the server is shutting down or starting, a
//! serialization failure or a deadlock) rolls back whatever the attempt did and the
//! whole operation runs again on another connection, after an exponential backoff
//! with jitter (`backon`), up to [`PostgresOptions::retries`] times.
//!
//! # A commit whose answer was lost
//!
//! When the connection breaks while `COMMIT` is in flight, the transaction may or may
//! not have committed. Each write transaction learns its id when it begins (`BEGIN;
//! SELECT txid_current()`, one round trip), and such a failure is resolved by asking
//! the server on another connection: `txid_status(id)` says `committed` (the attempt's
//! result is returned as if the answer had arrived), `aborted` (the operation runs
//! again) or `in progress` (asked again shortly). A retried operation therefore never
//! applies twice. Independently of that, a retried step would fail with
//! [`StoreError::Conflict`] or [`StoreError::LeaseLost`] rather than apply twice, as
//! its expected version and acked lease are gone.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::Poll;
use std::time::Duration;

use backon::{BlockingRetryable, ExponentialBuilder};
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, SimpleQueryMessage, Statement};

use super::super::StoreError;
use crate::names::UnknownName;

type Result<T> = std::result::Result<T, StoreError>;

/// Prepared statements kept per connection at most (dynamic queries vary a little).
const STATEMENT_CACHE: usize = 256;

/// How the PostgreSQL store connects and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Connections in the pool at most.
    pub pool_size: u32,
    /// How long an operation waits for a connection of the pool (a new connection to
    /// an unreachable server fails after this long).
    pub connect_timeout: Duration,
    /// How many times an operation is tried again after a transient failure.
    pub retries: usize,
    /// The first pause before a retry; pauses double up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
            retries: 10,
            min_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// One connection and its prepared statements.
///
/// The connection is `tokio-postgres`'s, driven by a single-threaded runtime of its own
/// while a request is in flight (as the synchronous `postgres` crate drives it), so
/// that several requests can be written before their answers are read: a write
/// transaction's `BEGIN` goes out with its first statement, one round trip for both.
pub(crate) struct Conn {
    client: tokio_postgres::Client,
    statements: HashMap<String, Statement>,
    /// Dropped after the client (fields drop in order).
    driver: Driver,
}

/// What runs a connection's requests, and where it is.
struct Driver {
    /// Drives the connection while a request is in flight.
    runtime: tokio::runtime::Runtime,
    transaction: Transaction,
    /// Set when the connection's state is unknown (a failed rollback, a lost commit):
    /// the pool drops it instead of handing it out again.
    broken: bool,
}

/// Where a connection is in a write transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transaction {
    /// None asked for (reads: each statement commits alone).
    None,
    /// Asked for: its `BEGIN` is sent with the next statement.
    Pending,
    /// Begun, with its id.
    Open(i64),
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A write transaction's `BEGIN` and its id, as one simple query.
const BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT txid_current()";

impl Driver {
    /// Runs `request`, a request of `client`, after the transaction's `BEGIN` in the
    /// same round trip when that is still to be sent.
    fn run<T>(
        &mut self,
        client: &tokio_postgres::Client,
        request: impl Future<Output = std::result::Result<T, postgres::Error>>,
    ) -> Result<T> {
        if self.transaction != Transaction::Pending {
            return Ok(self.runtime.block_on(request)?);
        }
        let (begun, value) = self
            .runtime
            .block_on(in_order(client.simple_query(BEGIN), request));
        let begun = begun.inspect_err(|_| {
            // What the request did without its transaction is unknown: drop the
            // connection.
            self.broken = true;
        })?;
        let txid = begun.iter().find_map(|message| match message {
            SimpleQueryMessage::Row(row) => row.get(0).and_then(|t| t.parse().ok()),
            _ => None,
        });
        self.transaction = Transaction::Open(txid.unwrap_or(0));
        Ok(value?)
    }
}

/// Both futures' outputs, `first` polled before `second` each time: a request of
/// `tokio-postgres` is queued on its connection when first polled, so `first`'s goes
/// out before `second`'s, and both before either answer is awaited.
async fn in_order<A: Future, B: Future>(first: A, second: B) -> (A::Output, B::Output) {
    let (mut first, mut second) = (std::pin::pin!(first), std::pin::pin!(second));
    let (mut a, mut b) = (None, None);
    std::future::poll_fn(|cx| {
        if a.is_none()
            && let Poll::Ready(value) = first.as_mut().poll(cx)
        {
            a = Some(value);
        }
        if b.is_none()
            && let Poll::Ready(value) = second.as_mut().poll(cx)
        {
            b = Some(value);
        }
        match (a.take(), b.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (left, right) => {
                (a, b) = (left, right);
                Poll::Pending
            }
        }
    })
    .await
}

impl Conn {
    fn statement(&mut self, sql: &str) -> std::result::Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.driver.runtime.block_on(self.client.prepare(sql))?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    pub(crate) fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        let request = self.client.query(&statement, params);
        self.driver.run(&self.client, request)
    }

    pub(crate) fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let statement = self.statement(sql)?;
        let request = self.client.query_opt(&statement, params);
        self.driver.run(&self.client, request)
    }

    pub(crate) fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row> {
        let statement = self.statement(sql)?;
        let request = self.client.query_one(&statement, params);
        self.driver.run(&self.client, request)
    }

    /// Two statements of one row each, sent together: one round trip for both (and
    /// the transaction's `BEGIN`). The second runs whatever the first's answer; when
    /// either fails, so does the transaction.
    pub(crate) fn query_one_both(
        &mut self,
        first: (&str, Params<'_>),
        second: (&str, Params<'_>),
    ) -> Result<(Row, Row)> {
        let statements = (self.statement(first.0)?, self.statement(second.0)?);
        let client = &self.client;
        let request = async {
            let (a, b) = in_order(
                client.query_one(&statements.0, first.1),
                client.query_one(&statements.1, second.1),
            )
            .await;
            Ok((a?, b?))
        };
        self.driver.run(&self.client, request)
    }

    pub(crate) fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64> {
        let statement = self.statement(sql)?;
        let request = self.client.execute(&statement, params);
        self.driver.run(&self.client, request)
    }

    /// Asks for a read-committed write transaction: its `BEGIN` goes with the first
    /// statement.
    fn begin(&mut self) {
        self.driver.transaction = Transaction::Pending;
    }

    /// Runs a simple query (no parameters, no rows wanted) outside the pipelining.
    fn batch_execute(&mut self, sql: &str) -> std::result::Result<(), postgres::Error> {
        self.driver.runtime.block_on(self.client.batch_execute(sql))
    }

    /// Ends the transaction: its id, or `None` when no statement ran in it (nothing was
    /// sent, so there is nothing to commit or roll back).
    fn end(&mut self) -> Option<i64> {
        match std::mem::replace(&mut self.driver.transaction, Transaction::None) {
            Transaction::Open(txid) => Some(txid),
            Transaction::None | Transaction::Pending => None,
        }
    }

    fn rollback(&mut self) {
        if self.end().is_none() {
            return;
        }
        if self.client.is_closed() || self.batch_execute("ROLLBACK").is_err() {
            self.driver.broken = true;
        }
    }
}

/// Opens connections for the pool.
pub(crate) struct Manager {
    pub(crate) config: tokio_postgres::Config,
    /// `None` for `sslmode=disable`.
    pub(crate) tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("config", &self.config)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Manager {
    /// A client of the synchronous `postgres` crate (for the migrations).
    pub(crate) fn connect_client(&self) -> std::result::Result<Client, postgres::Error> {
        let config = postgres::Config::from(self.config.clone());
        match &self.tls {
            Some(tls) => config.connect(tls.clone()),
            None => config.connect(NoTls),
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = StoreError;

    fn connect(&self) -> Result<Conn> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable(format!("no runtime for a connection: {e}")))?;
        let client = match &self.tls {
            Some(tls) => {
                let (client, connection) = runtime.block_on(self.config.connect(tls.clone()))?;
                runtime.spawn(connection);
                client
            }
            None => {
                let (client, connection) = runtime.block_on(self.config.connect(NoTls))?;
                runtime.spawn(connection);
                client
            }
        };
        Ok(Conn {
            client,
            statements: HashMap::new(),
            driver: Driver {
                runtime,
                transaction: Transaction::None,
                broken: false,
            },
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<()> {
        conn.driver.runtime.block_on(conn.client.simple_query(""))?;
        Ok(())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.driver.broken || conn.client.is_closed()
    }
}

/// Whether an error is worth trying again on another connection.
pub(crate) fn transient(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(code) = error.code() {
        let code = code.code();
        return code.starts_with("08") // connection exception
            || code.starts_with("57P") // admin / crash shutdown, cannot connect now
            || matches!(code, "40001" | "40P01" | "53300" | "53400");
    }
    // No SQLSTATE: an I/O error, a failure to connect at all, or a connect timeout.
    std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>())
        || error.to_string() == "timeout waiting for server"
}

/// A failed `COMMIT` whose outcome is unknown: the server went away rather than
/// answering with an ERROR.
fn commit_outcome_unknown(error: &postgres::Error) -> bool {
    match error.as_db_error() {
        None => true,
        Some(db) => db.severity() != "ERROR",
    }
}

/// What a write transaction's closure decides.
pub(crate) enum Finish<T> {
    Commit(T),
    /// Roll back, and return this anyway (an idempotent no-op found late).
    Rollback(T),
}

/// Why an attempt failed.
enum Failure {
    Transient(StoreError),
    Fatal(StoreError),
}

impl Failure {
    fn of(error: StoreError) -> Failure {
        let retry = match &error {
            StoreError::Postgres(e) => transient(e),
            StoreError::Unavailable(_) => true,
            _ => false,
        };
        if retry {
            Failure::Transient(error)
        } else {
            Failure::Fatal(error)
        }
    }

    fn into_inner(self) -> StoreError {
        match self {
            Failure::Transient(e) | Failure::Fatal(e) => e,
        }
    }
}

/// The pool and the retry policy.
pub(crate) struct Db {
    /// Always `Some` until dropped (see `Drop`).
    pool: Option<r2d2::Pool<Manager>>,
    options: PostgresOptions,
    /// Test hook: this many next commits behave as if the answer to `COMMIT` was lost.
    lose_commit_answers: AtomicU32,
}

impl Db {
    pub(crate) fn new(manager: Manager, options: PostgresOptions) -> Db {
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(options.connect_timeout)
            .test_on_check_out(false)
            .error_handler(Box::new(LogErrors))
            .build_unchecked(manager);
        Db {
            pool: Some(pool),
            options,
            lose_commit_answers: AtomicU32::new(0),
        }
    }

    pub(crate) fn lose_commit_answers(&self, n: u32) {
        self.lose_commit_answers.store(n, Ordering::SeqCst);
    }

    fn take_lost_answer(&self) -> bool {
        self.lose_commit_answers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>> {
        self.pool
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("the store is closed".into()))?
            .get()
            .map_err(|e| StoreError::Unavailable(format!("no PostgreSQL connection: {e}")))
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::new()
            .with_min_delay(self.options.min_backoff)
            .with_max_delay(self.options.max_backoff)
            .with_max_times(self.options.retries)
            .with_jitter()
    }

    fn retrying<T>(
        &self,
        what: &'static str,
        attempt: impl FnMut() -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        attempt
            .retry(self.backoff())
            .sleep(std::thread::sleep)
            .when(|failure| matches!(failure, Failure::Transient(_)))
            .notify(|failure, pause| {
                if let Failure::Transient(error) = failure {
                    tracing::warn!(%error, ?pause, what, "PostgreSQL store: retrying");
                }
            })
            .call()
            .map_err(Failure::into_inner)
    }

    /// Runs `f` outside a transaction (each statement commits alone): for reads, and
    /// for single statements that give the same result when done twice.
    pub(crate) fn read<T>(
        &self,
        what: &'static str,
        mut f: impl FnMut(&mut Conn) -> Result<T>,
    ) -> Result<T> {
        self.retrying(what, || {
            let mut conn = self.conn().map_err(Failure::of)?;
            f(&mut conn).map_err(Failure::of)
        })
    }

    /// Runs `f` in one transaction, retried as a whole on transient failures.
    pub(crate) fn write<T>(
        &self,
        what: &'static str,
        mut f: impl FnMut(&mut Conn) -> Result<Finish<T>>,
    ) -> Result<T> {
        self.retrying(what, || self.write_once(&mut f))
    }

    fn write_once<T>(
        &self,
        f: &mut impl FnMut(&mut Conn) -> Result<Finish<T>>,
    ) -> std::result::Result<T, Failure> {
        let mut conn = self.conn().map_err(Failure::of)?;
        conn.begin();
        let value = match f(&mut conn) {
            Err(error) => {
                conn.rollback();
                return Err(Failure::of(error));
            }
            Ok(Finish::Rollback(value)) => {
                conn.rollback();
                return Ok(value);
            }
            Ok(Finish::Commit(value)) => value,
        };
        let Some(txid) = conn.end() else {
            // No statement ran: nothing was begun, nothing to commit.
            return Ok(value);
        };
        match conn.batch_execute("COMMIT") {
            Ok(()) if !self.take_lost_answer() => Ok(value),
            Ok(()) => {
                conn.driver.broken = true;
                drop(conn);
                self.resolve(
                    txid,
                    value,
                    StoreError::Unavailable("lost answer (test)".into()),
                )
            }
            Err(error) if commit_outcome_unknown(&error) => {
                conn.driver.broken = true;
                drop(conn);
                self.resolve(txid, value, StoreError::Postgres(error))
            }
            Err(error) => Err(Failure::of(StoreError::Postgres(error))),
        }
    }

    /// Finds out whether transaction `txid`, whose `COMMIT` got no answer, committed.
    fn resolve<T>(
        &self,
        txid: i64,
        value: T,
        cause: StoreError,
    ) -> std::result::Result<T, Failure> {
        tracing::warn!(txid, error = %cause, "PostgreSQL store: commit outcome unknown, asking");
        let status = self.retrying("txid_status", || {
            let mut conn = self.conn().map_err(Failure::of)?;
            let row = conn
                .query_one("SELECT txid_status($1)", &[&txid])
                .map_err(Failure::of)?;
            let status: Option<String> = row.get(0);
            let unknown = |why: String| {
                Failure::Fatal(StoreError::Unavailable(format!(
                    "cannot tell whether transaction {txid} committed: {why}"
                )))
            };
            match status.as_deref().map(str::parse) {
                Some(Ok(TxStatus::InProgress)) => Err(Failure::Transient(StoreError::Unavailable(
                    format!("transaction {txid} is still in progress"),
                ))),
                Some(Ok(status)) => Ok(status),
                Some(Err(e)) => Err(unknown(e.to_string())),
                None => Err(unknown("it is too old".to_string())),
            }
        });
        match status {
            Ok(TxStatus::Committed) => Ok(value),
            // Aborted: nothing was written; the operation runs again.
            Ok(TxStatus::Aborted | TxStatus::InProgress) => Err(Failure::Transient(cause)),
            Err(error) => Err(Failure::Fatal(error)),
        }
    }
}

/// What PostgreSQL's `txid_status` says of a transaction (NULL aside: too old to
/// tell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxStatus {
    Committed,
    Aborted,
    InProgress,
}

impl std::str::FromStr for TxStatus {
    type Err = UnknownName;

    fn from_str(text: &str) -> std::result::Result<Self, UnknownName> {
        match text {
            "committed" => Ok(TxStatus::Committed),
            "aborted" => Ok(TxStatus::Aborted),
            "in progress" => Ok(TxStatus::InProgress),
            _ => Err(UnknownName {
                what: "transaction status",
                value: text.to_string(),
                expected: &["committed", "aborted", "in progress"],
            }),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            drop_outside_runtime(pool);
        }
    }
}

/// Drops `value`, which holds `postgres` clients, on a thread of its own when this
/// thread may be driving async tasks: a client blocks on its own runtime to close, and
/// tokio forbids that on a runtime's thread (the last `Arc` of a store may well be
/// dropped by an async task).
pub(crate) fn drop_outside_runtime<T: Send + 'static>(value: T) {
    if tokio::runtime::Handle::try_current().is_ok() {
        let _ = std::thread::spawn(move || drop(value)).join();
    } else {
        drop(value);
    }
}

#[derive(Debug)]
struct LogErrors;

impl r2d2::HandleError<StoreError> for LogErrors {
    fn handle_error(&self, error: StoreError) {
        tracing::warn!(%error, "PostgreSQL store: cannot connect");
    }
}

#[cfg(test)]
mod tests {
    use super::TxStatus;

    #[test]
    fn transaction_statuses_are_read_from_txid_status() {
        assert_eq!("committed".parse(), Ok(TxStatus::Committed));
        assert_eq!("aborted".parse(), Ok(TxStatus::Aborted));
        assert_eq!("in progress".parse(), Ok(TxStatus::InProgress));
        let error = "COMMITTED".parse::<TxStatus>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown transaction status \"COMMITTED\"; expected one of committed, aborted, \
             in progress"
        );
    }
}
