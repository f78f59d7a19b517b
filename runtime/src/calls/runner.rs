//! The runner: leases calls from its [`CallSource`] as long as the pools it serves can
//! run them, runs each on the executor while renewing its lease, and completes it; and
//! writes its row in the registry of workers every [`HEARTBEAT`].

use super::progress::Progress;
use super::{CallSource, Completion, LeasedCall, Outcome};
use crate::engine::Failure;
use crate::executor::{CallJob, Executor};
use crate::node::now_ms;
use crate::store::{WorkerKind, WorkerRecord};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// How often a runner writes its row in the registry of workers.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// How long a call whose process could not be started for lack of resources waits
/// before it is leased again.
const RETRY_LATER_MS: i64 = 1_000;

/// Places reserved in a runner ([`Runner::reserve`]) for calls leased elsewhere than
/// in its lease loop; given back when dropped.
pub struct Places<S: CallSource> {
    runner: Arc<Runner<S>>,
    permits: Vec<OwnedSemaphorePermit>,
}

impl<S: CallSource> Places<S> {
    /// How many places there are.
    pub fn len(&self) -> usize {
        self.permits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.permits.is_empty()
    }

    /// Runs `calls` (at most as many as there are places) in the places; the places
    /// left over are given back.
    pub fn run(mut self, calls: Vec<LeasedCall>) {
        let permits = std::mem::take(&mut self.permits);
        self.runner.hand_over(calls, permits);
    }
}

impl<S: CallSource> Drop for Places<S> {
    fn drop(&mut self) {
        // The reservation counted as a lease in flight.
        self.runner.ended();
    }
}

impl<S: CallSource> std::fmt::Debug for Places<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Places")
            .field("places", &self.permits.len())
            .finish_non_exhaustive()
    }
}

/// How a runner runs.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// What the registry shows it as.
    pub kind: WorkerKind,
    /// The pools it serves, as the registry shows them.
    pub pools: Vec<String>,
    /// Calls leased and running at once, at most: no more than its pools can run at
    /// once, so that no leased call waits (a leased call counts an attempt, and one
    /// left waiting for a process would be charged for a crash it never ran in — and
    /// withheld from others with room to run it).
    pub max_calls: usize,
    /// How often an idle runner looks at its source when nothing woke it. After it was
    /// woken or leased calls it looks again sooner, [`QUICK_POLL`] at first, twice as
    /// long after each empty look, up to `poll`: the next call of a chain is usually
    /// enqueued a moment after the previous one's result was recorded.
    pub poll: Duration,
    /// Keep a row in the registry of workers (not for `cosmosc run`'s node, whose
    /// rows would pile up, one per run).
    pub register: bool,
}

/// The first wait of an idle runner after some activity.
pub const QUICK_POLL: Duration = Duration::from_millis(5);

/// A runner's counters since it started.
#[derive(Debug, Default)]
pub struct CallCounters {
    pub leased: AtomicU64,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    /// Of the calls leased, those leased in the transaction of a step (a new
    /// instance's first calls, the next calls of a completion's step, or a call waiting
    /// in the queue that takes the place of a completed call whose step started none),
    /// without a lease of their own.
    pub leased_with_step: AtomicU64,
}

/// Runs calls from a source on an executor; see the module documentation.
pub struct Runner<S: CallSource> {
    source: Arc<S>,
    executor: Executor,
    config: RunnerConfig,
    started_at: i64,
    counters: CallCounters,
    progress_reports: Arc<AtomicU64>,
    stopping: AtomicBool,
    running: AtomicUsize,
    /// One permit per call running (or being leased), `max_calls` in all.
    permits: Arc<Semaphore>,
    /// Woken when new calls may be waiting.
    wake: Arc<Notify>,
    /// Woken after each call's outcome is recorded.
    recorded: Arc<Notify>,
    /// Woken after each call ends.
    idle: Notify,
    /// Held while writing the registry, so that no heartbeat lands after the stop;
    /// true once the stop is written.
    finished: tokio::sync::Mutex<bool>,
}

impl<S: CallSource> Runner<S> {
    /// Starts the runner's loops on the current tokio runtime. `wake` is notified by
    /// whoever enqueues calls (a node's engine); `recorded` is notified after each
    /// outcome is recorded (so a node's engine takes the step at once).
    pub fn start(
        source: Arc<S>,
        executor: Executor,
        config: RunnerConfig,
        wake: Arc<Notify>,
        recorded: Arc<Notify>,
    ) -> Arc<Runner<S>> {
        let permits = Arc::new(Semaphore::new(config.max_calls.max(1)));
        let runner = Arc::new(Runner {
            source,
            executor,
            config,
            started_at: now_ms(),
            counters: CallCounters::default(),
            progress_reports: Arc::new(AtomicU64::new(0)),
            stopping: AtomicBool::new(false),
            running: AtomicUsize::new(0),
            permits,
            wake,
            recorded,
            idle: Notify::new(),
            finished: tokio::sync::Mutex::new(false),
        });
        tokio::spawn(Arc::clone(&runner).lease_loop());
        if runner.config.register {
            tokio::spawn(Arc::clone(&runner).heartbeats());
        }
        runner
    }

    /// The name its calls are leased under.
    pub fn name(&self) -> &str {
        self.source.name()
    }

    pub fn counters(&self) -> &CallCounters {
        &self.counters
    }

    /// How many progress reports the calls it ran have made.
    pub fn progress_reports(&self) -> u64 {
        self.progress_reports.load(Ordering::Relaxed)
    }

    /// How many calls it runs at once, at most.
    pub fn max_calls(&self) -> usize {
        self.config.max_calls.max(1)
    }

    /// Calls running now (a lease in flight counts as one).
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Up to `n` free places for calls that a step of this runner's node leases to it
    /// in the step's own transaction (a new instance's first calls), to be run with
    /// [`Places::run`]; none while the runner stops. The places count as a lease in
    /// flight until run or dropped, so that a stop waits for the calls they bring.
    pub fn reserve(self: &Arc<Self>, n: usize) -> Places<S> {
        // As the lease loop: count first, then look at `stopping` (see `lease_loop`).
        self.running.fetch_add(1, Ordering::SeqCst);
        let mut permits = Vec::new();
        if !self.stopping.load(Ordering::SeqCst) {
            while permits.len() < n {
                let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
                    break;
                };
                permits.push(permit);
            }
        }
        Places {
            runner: Arc::clone(self),
            permits,
        }
    }

    /// Stops leasing; running calls go on.
    pub fn stop_leasing(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    /// Stops leasing and waits up to `grace` for the running calls to end; returns how
    /// many are still running.
    pub async fn drain(&self, grace: Duration) -> usize {
        self.stop_leasing();
        let deadline = tokio::time::Instant::now() + grace;
        while self.running() > 0 {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(50)), self.idle.notified())
                .await;
        }
        self.running()
    }

    /// Gives back every lease still held (see [`CallSource::release_all`]) and marks
    /// the runner stopped in the registry; returns how many leases were given back.
    pub async fn finish(&self) -> u64 {
        self.stop_leasing();
        let released = match self.source.release_all().await {
            Ok(n) => n,
            Err(error) => {
                tracing::error!(%error, "cannot release the leases of running calls");
                0
            }
        };
        let mut finished = self.finished.lock().await;
        *finished = true;
        if self.config.register
            && let Err(error) = self.source.heartbeat(self.record(Some(now_ms()))).await
        {
            tracing::warn!(%error, "cannot record the worker's stop");
        }
        released
    }

    /// Its row in the registry of workers, now.
    fn record(&self, stopped_at: Option<i64>) -> WorkerRecord {
        let now = now_ms();
        WorkerRecord {
            name: self.source.name().to_string(),
            kind: self.config.kind,
            pools: self.config.pools.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: self.started_at,
            last_seen: now,
            heartbeat_ms: i64::try_from(HEARTBEAT.as_millis()).unwrap_or(i64::MAX),
            stopped_at,
            leased: self.counters.leased.load(Ordering::Relaxed),
            completed: self.counters.completed.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }

    async fn heartbeats(self: Arc<Self>) {
        loop {
            {
                let finished = self.finished.lock().await;
                if *finished {
                    return;
                }
                if let Err(error) = self.source.heartbeat(self.record(None)).await {
                    tracing::warn!(%error, "cannot record a heartbeat");
                }
            }
            tokio::time::sleep(HEARTBEAT).await;
        }
    }

    async fn lease_loop(self: Arc<Self>) {
        let permits = Arc::clone(&self.permits);
        let mut wait = self.config.poll;
        while !self.stopping.load(Ordering::SeqCst) {
            let free = permits.available_permits();
            if free == 0 {
                // Every place is taken: wait until a call ends (or the poll passes, to
                // notice a stop).
                if let Ok(Ok(place)) =
                    tokio::time::timeout(self.config.poll, permits.acquire()).await
                {
                    drop(place);
                }
                continue;
            }
            // The lease in flight counts as running, so that a stop waits for the calls
            // it brings (the stop sets `stopping`, then reads `running`; this adds to
            // `running`, then reads `stopping`: one of the two sees the other).
            self.running.fetch_add(1, Ordering::SeqCst);
            if self.stopping.load(Ordering::SeqCst) {
                self.ended();
                break;
            }
            let leased = match self.source.lease(free).await {
                Ok(leased) => leased,
                Err(error) => {
                    tracing::error!(%error, "cannot lease calls");
                    Vec::new()
                }
            };
            self.running.fetch_add(leased.len(), Ordering::SeqCst);
            self.ended();
            if leased.is_empty() {
                let woken = tokio::time::timeout(wait, self.wake.notified()).await;
                wait = if woken.is_ok() {
                    QUICK_POLL
                } else {
                    wait.saturating_mul(2).min(self.config.poll)
                };
                continue;
            }
            wait = QUICK_POLL.min(self.config.poll);
            for call in leased {
                // There are as many places as calls leased: this does not wait.
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                    break;
                };
                self.counters.leased.fetch_add(1, Ordering::Relaxed);
                Arc::clone(&self).spawn(call, permit);
            }
        }
    }

    /// Runs `call` in a task of its own, in the place `permit` holds; whoever counted
    /// it in `running` already.
    fn spawn(self: Arc<Self>, call: LeasedCall, permit: OwnedSemaphorePermit) {
        tokio::spawn(async move {
            self.run_one(call, permit).await;
            self.ended();
        });
    }

    /// Runs the calls a step leased to this runner when it recorded a completion, each
    /// in one of `places` (there are as many); the places left over are given back.
    fn hand_over(self: &Arc<Self>, calls: Vec<LeasedCall>, places: Vec<OwnedSemaphorePermit>) {
        let mut places = places.into_iter();
        for call in calls {
            let Some(permit) = places.next() else {
                // The store leases no more than the room it was given: not reached.
                tracing::error!(key = %call.call.key, "a step leased a call with no place to run it");
                continue;
            };
            self.running.fetch_add(1, Ordering::SeqCst);
            self.counters.leased.fetch_add(1, Ordering::Relaxed);
            self.counters
                .leased_with_step
                .fetch_add(1, Ordering::Relaxed);
            Arc::clone(self).spawn(call, permit);
        }
    }

    /// A call (or a lease in flight) ended.
    fn ended(&self) {
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.idle.notify_waiters();
    }

    /// Renews `call`'s lease every third of the lease's length until dropped (the
    /// call ended) or the lease is lost.
    fn renewing(&self, call: &LeasedCall) -> tokio::task::JoinHandle<()> {
        let source = Arc::clone(&self.source);
        let call = call.clone();
        let every = Duration::from_millis(u64::try_from(source.lease_ms() / 3).unwrap_or(1).max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match source.renew(&call).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(key = %call.call.key, "a running call's lease was lost");
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(%error, key = %call.call.key, "cannot renew a call's lease");
                    }
                }
            }
        })
    }

    async fn run_one(self: &Arc<Self>, call: LeasedCall, permit: OwnedSemaphorePermit) {
        let renewal = self.renewing(&call);
        let job = CallJob {
            key: call.call.key.clone(),
            function: call.call.function.clone(),
            args: call.call.args.clone(),
            priority: 0,
        };
        let progress = Progress::start(&self.source, &call, &self.progress_reports);
        let outcome = self
            .executor
            .call_with_progress(job, Some(progress.sink()))
            .await;
        progress.finish().await;
        renewal.abort();
        let outcome = match outcome {
            Ok(value) => Outcome::Value(value),
            // The process could not be started (no descriptors, no memory): the call
            // never ran, so the workflow hears nothing and the call runs later, here
            // or elsewhere, without being charged an attempt.
            Err(error) if error.retry_later => {
                tracing::warn!(key = %call.call.key, %error, "call postponed: out of resources");
                let until = now_ms().saturating_add(RETRY_LATER_MS);
                if let Err(error) = self.source.retry_later(&call, until).await {
                    tracing::error!(%error, key = %call.call.key, "cannot postpone a call");
                }
                return;
            }
            Err(error) => Outcome::Failed(Failure {
                message: error.message,
                kind: error.kind,
                stderr: error.stderr,
            }),
        };
        // The calls of the step this completion triggers may run in this call's place:
        // one of them is leased with the step (the others, if any, wait in the queue
        // for the lease loop, or for another runner with room).
        let room = usize::from(!self.stopping.load(Ordering::SeqCst));
        let continued = self
            .source
            .complete_and_continue(&call, outcome, room)
            .await;
        let continued = match continued {
            Ok(continued) => continued,
            Err(error) => {
                tracing::error!(%error, key = %call.call.key, "cannot record a call result");
                return;
            }
        };
        match continued.completion {
            Completion::Completed => {
                self.counters.completed.fetch_add(1, Ordering::Relaxed);
            }
            Completion::Failed => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
            }
            Completion::LeaseLost => {
                tracing::warn!(key = %call.call.key, "the call's lease was lost; its result is dropped");
                return;
            }
        }
        if !continued.stepped {
            self.recorded.notify_one();
        }
        self.hand_over(continued.calls, vec![permit]);
    }
}
