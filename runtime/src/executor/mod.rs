//! The function executor of DESIGN.md ("The runtime", **Executor**): runs the
//! project's external `function`s as processes in the project's root folder.
//!
//! - `oneshot`: one process per call (JSON arguments on stdin, one JSON value on
//!   stdout), killed with its whole process group on timeout.
//! - `warm`: long-lived workers speaking the `COSMOS_PROTOCOL=lines` protocol,
//!   which is also how `batch N` micro-batches reach them.
//! - `pool`: the scheduler: pools bound how many processes are alive at once,
//!   keep idle warm workers, and hand capacity to the highest-priority waiting call.
//! - `output`: process plumbing shared by the others (bounded reads, stderr tails,
//!   process-group kills, exit descriptions).
//! - `environment`: the clean environment a process starts with (`env [...]`).
//! - `tree`: a process's tree, every descendant included (`setsid` or orphaned),
//!   found in `/proc` and ended whole when its call or worker ends.
//!
//! Nothing a process does can bring the runtime down: every failure becomes a
//! [`CallError`] for the call.

mod environment;
mod oneshot;
mod output;
mod pool;
mod progress;
mod tree;
mod warm;

pub use progress::{PROGRESS_VAR, ProgressSink};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::oneshot as reply;

pub use self::environment::SECRETS_DIR_VAR;
pub use crate::engine::CallErrorKind;

use self::output::lock;
use self::pool::{Inner, Pool, State};

/// Timeout used when the compiled settings give none (LANGUAGE.md: `10.min`).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// How to run one external function (its compiled `function` settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The name calls use ([`CallJob::function`]).
    pub name: String,
    /// Program and arguments, run as argv (never through a shell).
    pub command: Vec<String>,
    /// The pool whose capacity the function's processes use.
    pub pool: String,
    /// Per call (one-shot) or per message (warm worker).
    pub timeout: Duration,
    /// Worker processes kept running between calls; 0 runs one process per call.
    pub warm: u32,
    /// Up to this many calls in one message to a warm worker (1: no batching).
    pub batch: u32,
    /// Higher runs first.
    pub priority: i64,
    /// The node's variables its processes get (`env [...]`); see `environment`.
    pub env: Vec<String>,
    /// A call that reports no progress for this long times out (`heartbeat D`).
    pub heartbeat: Option<Duration>,
}

impl FunctionSpec {
    /// The spec of a compiled external function.
    pub fn from_ir(f: &cosmos_ir::ExternFunction) -> FunctionSpec {
        let s = &f.settings;
        let timeout = match u64::try_from(s.timeout_ms) {
            Ok(ms) if ms > 0 => Duration::from_millis(ms),
            _ => DEFAULT_TIMEOUT,
        };
        let to_u32 = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
        FunctionSpec {
            name: f.name.clone(),
            command: s.command.clone(),
            pool: if s.pool.is_empty() {
                "default".to_string()
            } else {
                s.pool.clone()
            },
            timeout,
            warm: to_u32(s.warm),
            batch: to_u32(s.batch).max(1),
            priority: s.priority,
            env: s.env.clone(),
            heartbeat: s
                .heartbeat_ms
                .and_then(|ms| u64::try_from(ms).ok())
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis),
        }
    }
}

/// A pool's configuration (`[pools.NAME]` in cosmos.toml).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSpec {
    pub name: String,
    /// At most this many processes alive at once, warm workers included.
    pub max: u32,
    /// At most this many idle warm workers kept; 0 means no bound beyond `max`.
    pub warm: u32,
}

/// Bounds on what the executor reads from a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorLimits {
    /// Largest stdout of a one-shot call (or line of a warm worker) accepted.
    pub max_stdout_bytes: usize,
    /// How much of the end of stderr is attached to errors.
    pub stderr_tail_bytes: usize,
}

impl Default for ExecutorLimits {
    fn default() -> Self {
        ExecutorLimits {
            max_stdout_bytes: 16 * 1024 * 1024,
            stderr_tail_bytes: 4 * 1024,
        }
    }
}

/// One call to run.
#[derive(Clone, Debug, PartialEq)]
pub struct CallJob {
    /// Idempotency key; one-shot processes get it as `COSMOS_IDEMPOTENCY_KEY`.
    pub key: String,
    /// The function's name.
    pub function: String,
    /// The arguments, keyed by parameter name.
    pub args: Map<String, Value>,
    /// Extra priority, added to the function's own.
    pub priority: i64,
}

/// A failed call: what happened, and the tail of the process's stderr.
#[derive(Clone, Debug, PartialEq)]
pub struct CallError {
    pub kind: CallErrorKind,
    pub message: String,
    /// The last `stderr_tail_bytes` of stderr (lossy UTF-8), when it was non-empty.
    pub stderr: Option<String>,
    /// The node, not the function, failed: its process could not be started for lack
    /// of resources (descriptors, processes, memory). The call never ran; it is to be
    /// run again later, not reported to the workflow.
    pub retry_later: bool,
}

impl CallError {
    pub(crate) fn new(kind: CallErrorKind, message: impl Into<String>) -> CallError {
        CallError {
            kind,
            message: message.into(),
            stderr: None,
            retry_later: false,
        }
    }

    pub(crate) fn with_stderr(mut self, stderr: Option<String>) -> CallError {
        self.stderr = stderr;
        self
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for CallError {}

/// What goes wrong before a process produces anything; each becomes a
/// [`CallError`] of kind [`CallErrorKind::Failed`].
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// `call` named a function the executor was not given.
    #[error("unknown function `{0}`")]
    UnknownFunction(String),
    /// The function's `command` is empty.
    #[error("function `{0}` has an empty command")]
    EmptyCommand(String),
    /// The program was not found, not executable, or could not be spawned.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The arguments could not be written as JSON.
    #[error("cannot encode the arguments: {0}")]
    Encode(#[from] serde_json::Error),
    /// `shutdown` was called: queued and later calls fail with this.
    #[error("the executor is shut down")]
    ShutDown,
    /// The task running the call went away without answering (the async
    /// runtime is shutting down).
    #[error("the call was abandoned by the executor")]
    Abandoned,
}

impl ExecutorError {
    /// Whether starting a process failed for lack of resources on this node (too many
    /// open files in the process or the system, too many processes, no memory): a
    /// passing condition of the node, not a fault of the function.
    pub fn is_resource_exhaustion(&self) -> bool {
        use nix::errno::Errno;
        let ExecutorError::Spawn { source, .. } = self else {
            return false;
        };
        source.raw_os_error().is_some_and(|code| {
            [Errno::EMFILE, Errno::ENFILE, Errno::EAGAIN, Errno::ENOMEM]
                .iter()
                .any(|e| *e as i32 == code)
        })
    }
}

impl From<ExecutorError> for CallError {
    fn from(e: ExecutorError) -> CallError {
        let retry_later = e.is_resource_exhaustion();
        CallError {
            retry_later,
            ..CallError::new(CallErrorKind::Failed, e.to_string())
        }
    }
}

/// A pool's counters, as the API and `/metrics` show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolStats {
    pub pool: String,
    pub max: u32,
    /// Processes alive doing work (one-shot calls, busy or starting warm workers).
    pub running: u32,
    /// Calls queued for capacity.
    pub waiting: u32,
    /// Warm workers alive and idle.
    pub warm_idle: u32,
    /// Processes started since the executor was made.
    pub started_processes: u64,
    /// Calls that returned a value.
    pub completed: u64,
    /// Calls that ended with an error.
    pub failed: u64,
}

/// Runs calls to external functions; cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("root", &self.inner.root)
            .field("functions", &self.inner.functions.len())
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// An executor running `functions` in `root`. Pools named by a function but
    /// absent from `pools` get `max = DEFAULT_POOL_MAX`, `warm = 0`.
    pub fn new(
        root: PathBuf,
        functions: Vec<FunctionSpec>,
        pools: Vec<PoolSpec>,
        limits: ExecutorLimits,
    ) -> Executor {
        tree::adopt_orphans();
        let mut state = State::default();
        for p in pools {
            state
                .pools
                .insert(p.name.clone(), Pool::new(&p.name, p.max, p.warm));
        }
        for f in &functions {
            state
                .pools
                .entry(f.pool.clone())
                .or_insert_with(|| Pool::with_defaults(&f.pool));
        }
        let functions = functions
            .into_iter()
            .map(|f| (f.name.clone(), Arc::new(f)))
            .collect();
        Executor {
            inner: Arc::new(Inner {
                root,
                functions,
                limits,
                state: std::sync::Mutex::new(state),
            }),
        }
    }

    /// Runs one call: waits for capacity in the function's pool, runs it, and
    /// returns the JSON value it produced (not yet checked against the result type).
    pub async fn call(&self, job: CallJob) -> Result<Value, CallError> {
        self.call_with_progress(job, None).await
    }

    /// [`Executor::call`], sending the call's progress reports to `progress`.
    pub async fn call_with_progress(
        &self,
        job: CallJob,
        progress: Option<ProgressSink>,
    ) -> Result<Value, CallError> {
        let Some(spec) = self.inner.functions.get(&job.function).cloned() else {
            return Err(ExecutorError::UnknownFunction(job.function).into());
        };
        if spec.command.is_empty() {
            return Err(ExecutorError::EmptyCommand(job.function).into());
        }
        let (tx, rx) = reply::channel();
        {
            let mut state = lock(&self.inner.state);
            if state.shut_down {
                return Err(ExecutorError::ShutDown.into());
            }
            state.enqueue(&self.inner, spec, job, progress, tx);
        }
        rx.await
            .unwrap_or_else(|_| Err(ExecutorError::Abandoned.into()))
    }

    /// How many calls the pools can run at once: each pool's `max` processes, times
    /// the largest `batch` of its functions (a warm worker takes that many calls in
    /// one message). A caller that holds more calls than this has some waiting.
    pub fn capacity(&self) -> usize {
        self.capacity_of(&self.pool_names())
    }

    /// [`Executor::capacity`] of the pools named in `pools` alone (a worker serving
    /// some of them); names of no pool count nothing.
    pub fn capacity_of(&self, pools: &[String]) -> usize {
        let state = lock(&self.inner.state);
        state
            .pools
            .iter()
            .filter(|(name, _)| pools.contains(name))
            .map(|(name, pool)| {
                let batch = self
                    .inner
                    .functions
                    .values()
                    .filter(|f| &f.pool == name)
                    .map(|f| f.batch.max(1))
                    .max()
                    .unwrap_or(1);
                usize::try_from(pool.stats().max.saturating_mul(batch)).unwrap_or(usize::MAX)
            })
            .fold(0, usize::saturating_add)
    }

    /// The names of its pools, in order: every `[pools.NAME]` it was given, and every
    /// pool a function names (`default` for a function without one).
    pub fn pool_names(&self) -> Vec<String> {
        lock(&self.inner.state).pools.keys().cloned().collect()
    }

    /// The counters of every pool, by pool name.
    pub fn stats(&self) -> Vec<PoolStats> {
        lock(&self.inner.state)
            .pools
            .values()
            .map(Pool::stats)
            .collect()
    }

    /// Stops the warm workers (closes their stdin, kills their group after a grace
    /// period) and fails queued calls. Calls already running finish; their workers
    /// are stopped when they do. Later calls fail.
    pub async fn shutdown(&self) {
        pool::shutdown(&self.inner).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::errno::Errno;

    fn spawn_error(errno: Errno) -> CallError {
        CallError::from(ExecutorError::Spawn {
            program: "sh".into(),
            source: std::io::Error::from_raw_os_error(errno as i32),
        })
    }

    /// A process that cannot start for lack of descriptors, processes or memory is the
    /// node's trouble: the call is to run later. A missing or forbidden program is the
    /// function's: it fails.
    #[test]
    fn only_resource_exhaustion_is_retried_later() {
        for errno in [Errno::EMFILE, Errno::ENFILE, Errno::EAGAIN, Errno::ENOMEM] {
            assert!(spawn_error(errno).retry_later, "{errno}");
        }
        for errno in [Errno::ENOENT, Errno::EACCES, Errno::ENOEXEC] {
            let error = spawn_error(errno);
            assert!(!error.retry_later, "{errno}");
            assert_eq!(error.kind, CallErrorKind::Failed);
        }
        let empty = CallError::from(ExecutorError::EmptyCommand("f".into()));
        assert!(!empty.retry_later);
    }
}
