//! The scheduler: one queue and one process budget per pool.
//!
//! Accounting, per pool (all under one lock, never held across an `.await`):
//! - `alive` counts every process of the pool from the moment a slot is granted
//!   until it is reaped: one-shot calls, warm workers starting, busy, idle or being
//!   stopped. It never exceeds `max`.
//! - `busy` counts the processes doing work (one-shot calls and warm workers
//!   serving a message); `idle` holds the warm workers waiting for work;
//!   `stopping` the workers being stopped (still alive).
//! - `workers` counts the live warm workers of each function (at most its `warm`).
//!
//! [`Pool::pump`] runs whenever something changes (a call arrives, a process
//! ends, a worker becomes idle) and starts what can start, walking the queue by
//! priority (highest first, FIFO among equals): a warm call reuses an idle worker
//! of its function, or starts one while the function has fewer than `warm` and the
//! pool has a free slot; a one-shot call takes a free slot. When the best waiting
//! call needs a slot and none is free, no lower call may take one, and an idle
//! worker of another function is killed to make room.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::oneshot::Sender;

use super::output::lock;
use super::warm::{Served, Worker};
use super::{
    CallError, CallJob, ExecutorError, ExecutorLimits, FunctionSpec, PoolStats, ProgressSink,
    oneshot,
};

/// How long a stopped worker may take to exit after its stdin closes.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// What the executor shares with its tasks.
pub(crate) struct Inner {
    pub(crate) root: PathBuf,
    pub(crate) functions: HashMap<String, Arc<FunctionSpec>>,
    pub(crate) limits: ExecutorLimits,
    pub(crate) state: Mutex<State>,
}

/// Every pool, and whether the executor was shut down.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) pools: BTreeMap<String, Pool>,
    pub(crate) shut_down: bool,
    seq: u64,
}

/// Queue order: highest priority first, then arrival.
type QueueKey = (Reverse<i64>, u64);

/// A call waiting for capacity.
struct Waiting {
    function: Arc<FunctionSpec>,
    key: String,
    args: Map<String, Value>,
    progress: Option<ProgressSink>,
    reply: Sender<Result<Value, CallError>>,
}

/// What the pump decided for the call at a queue key.
enum Action {
    OneShot,
    StartWorker,
    UseIdle(u64),
}

/// One pool: its budget, queue, idle workers and counters.
pub(crate) struct Pool {
    name: String,
    max: u32,
    warm_keep: u32,
    alive: u32,
    busy: u32,
    stopping: u32,
    queue: BTreeMap<QueueKey, Waiting>,
    idle: VecDeque<Worker>,
    workers: HashMap<String, u32>,
    started: u64,
    completed: u64,
    failed: u64,
}

impl State {
    /// Queues a call in its function's pool and starts what can start.
    pub(crate) fn enqueue(
        &mut self,
        inner: &Arc<Inner>,
        function: Arc<FunctionSpec>,
        job: CallJob,
        progress: Option<ProgressSink>,
        reply: Sender<Result<Value, CallError>>,
    ) {
        let seq = self.seq;
        self.seq += 1;
        let pool = self
            .pools
            .entry(function.pool.clone())
            .or_insert_with(|| Pool::with_defaults(&function.pool));
        let priority = function.priority.saturating_add(job.priority);
        pool.queue.insert(
            (Reverse(priority), seq),
            Waiting {
                function,
                key: job.key,
                args: job.args,
                progress,
                reply,
            },
        );
        pool.pump(inner);
    }
}

impl Pool {
    /// A pool of at most `max` processes (at least 1) keeping at most `warm` idle
    /// workers (0: no bound beyond `max`).
    pub(crate) fn new(name: &str, max: u32, warm: u32) -> Pool {
        Pool {
            name: name.to_string(),
            max: max.max(1),
            warm_keep: warm,
            alive: 0,
            busy: 0,
            stopping: 0,
            queue: BTreeMap::new(),
            idle: VecDeque::new(),
            workers: HashMap::new(),
            started: 0,
            completed: 0,
            failed: 0,
        }
    }

    /// A pool with no configuration.
    pub(crate) fn with_defaults(name: &str) -> Pool {
        Pool::new(name, cosmos_project::DEFAULT_POOL_MAX, 0)
    }

    pub(crate) fn stats(&self) -> PoolStats {
        PoolStats {
            pool: self.name.clone(),
            max: self.max,
            running: self.busy,
            waiting: u32::try_from(self.queue.len()).unwrap_or(u32::MAX),
            warm_idle: u32::try_from(self.idle.len()).unwrap_or(u32::MAX),
            started_processes: self.started,
            completed: self.completed,
            failed: self.failed,
        }
    }

    fn workers_of(&self, function: &str) -> u32 {
        self.workers.get(function).copied().unwrap_or(0)
    }

    /// A worker of `function` is gone (reaped).
    fn forget_worker(&mut self, function: &str) {
        self.alive = self.alive.saturating_sub(1);
        if let Some(n) = self.workers.get_mut(function) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.workers.remove(function);
            }
        }
    }

    fn count(&mut self, result: &Result<Value, CallError>) {
        match result {
            Ok(_) => self.completed += 1,
            Err(_) => self.failed += 1,
        }
    }

    /// Starts every waiting call that can start now (see the module docs).
    fn pump(&mut self, inner: &Arc<Inner>) {
        self.queue.retain(|_, w| !w.reply.is_closed());
        loop {
            let (decision, evict_for) = self.decide();
            // Make room for the best call first, so that lower calls reusing idle
            // workers cannot starve it; this evicts at most once per pump.
            if let Some(function) = evict_for
                && self.evict_one(inner, &function)
            {
                continue;
            }
            let Some((key, action)) = decision else {
                break;
            };
            match action {
                Action::OneShot => {
                    let Some(waiting) = self.queue.remove(&key) else {
                        break;
                    };
                    self.alive += 1;
                    self.busy += 1;
                    self.started += 1;
                    tokio::spawn(run_oneshot(inner.clone(), self.name.clone(), waiting));
                }
                Action::StartWorker => {
                    let Some(function) = self.queue.get(&key).map(|w| w.function.clone()) else {
                        break;
                    };
                    let batch = self.take_batch(&function);
                    self.alive += 1;
                    self.busy += 1;
                    self.started += 1;
                    *self.workers.entry(function.name.clone()).or_insert(0) += 1;
                    tracing::debug!(pool = %self.name, function = %function.name, "starting a warm worker");
                    tokio::spawn(serve(
                        inner.clone(),
                        self.name.clone(),
                        None,
                        function,
                        batch,
                    ));
                }
                Action::UseIdle(id) => {
                    let Some(mut worker) = self
                        .idle
                        .iter()
                        .position(|w| w.id == id)
                        .and_then(|pos| self.idle.remove(pos))
                    else {
                        break;
                    };
                    let function = worker.function.clone();
                    if worker.has_exited() {
                        // Died while idle: forget it and decide again.
                        self.forget_worker(&function.name);
                        continue;
                    }
                    let batch = self.take_batch(&function);
                    self.busy += 1;
                    tokio::spawn(serve(
                        inner.clone(),
                        self.name.clone(),
                        Some(worker),
                        function,
                        batch,
                    ));
                }
            }
        }
        self.trim_idle(inner);
    }

    /// The first waiting call that can start, and the function of the best call
    /// that waits for a slot when none is free (to make room for).
    fn decide(&self) -> (Option<(QueueKey, Action)>, Option<String>) {
        let free = self.alive < self.max;
        let mut blocked: HashSet<&str> = HashSet::new();
        let mut evict_for = None;
        for (key, waiting) in &self.queue {
            let f = &waiting.function;
            if blocked.contains(f.name.as_str()) {
                continue;
            }
            if f.warm > 0 {
                if let Some(w) = self.idle.iter().rev().find(|w| w.function.name == f.name) {
                    return (Some((*key, Action::UseIdle(w.id))), evict_for);
                }
                if self.workers_of(&f.name) >= f.warm {
                    // Waits for one of its own workers, not for a slot.
                    blocked.insert(&f.name);
                    continue;
                }
                if free {
                    return (Some((*key, Action::StartWorker)), None);
                }
            } else if free {
                return (Some((*key, Action::OneShot)), None);
            }
            // Needs a slot and none is free: lower calls may only reuse idle workers.
            blocked.insert(&f.name);
            if evict_for.is_none() {
                evict_for = Some(f.name.clone());
            }
        }
        (None, evict_for)
    }

    /// Removes the first waiting calls of `function`, up to its batch size.
    fn take_batch(&mut self, function: &FunctionSpec) -> Vec<Waiting> {
        let n = usize::try_from(function.batch.max(1)).unwrap_or(1);
        let keys: Vec<QueueKey> = self
            .queue
            .iter()
            .filter(|(_, w)| w.function.name == function.name)
            .take(n)
            .map(|(k, _)| *k)
            .collect();
        keys.iter().filter_map(|k| self.queue.remove(k)).collect()
    }

    /// Kills one idle worker of a function other than `except` (preferring
    /// workers no waiting call wants, then the longest idle), unless a slot is
    /// already being freed. Whether it did.
    fn evict_one(&mut self, inner: &Arc<Inner>, except: &str) -> bool {
        if self.stopping > 0 {
            return false;
        }
        let wanted = |name: &str| self.queue.values().any(|w| w.function.name == name);
        let victim = self
            .idle
            .iter()
            .position(|w| w.function.name != except && !wanted(&w.function.name))
            .or_else(|| self.idle.iter().position(|w| w.function.name != except));
        let Some(worker) = victim.and_then(|pos| self.idle.remove(pos)) else {
            return false;
        };
        self.stopping += 1;
        tracing::debug!(
            pool = %self.name,
            function = %worker.function.name,
            "killing an idle warm worker to make room"
        );
        tokio::spawn(stop_worker(inner.clone(), self.name.clone(), worker, false));
        true
    }

    /// Stops the longest-idle workers beyond the pool's `warm` bound.
    fn trim_idle(&mut self, inner: &Arc<Inner>) {
        let keep = usize::try_from(self.warm_keep).unwrap_or(usize::MAX);
        while self.warm_keep > 0 && self.idle.len() > keep {
            let Some(worker) = self.idle.pop_front() else {
                break;
            };
            self.stopping += 1;
            tokio::spawn(stop_worker(inner.clone(), self.name.clone(), worker, true));
        }
    }
}

/// Runs one one-shot call and gives its slot back.
async fn run_oneshot(inner: Arc<Inner>, pool: String, waiting: Waiting) {
    let result = oneshot::run(
        &inner.root,
        &waiting.function,
        &inner.limits,
        &waiting.key,
        &waiting.args,
        waiting.progress.as_ref(),
    )
    .await;
    {
        let mut state = lock(&inner.state);
        if let Some(p) = state.pools.get_mut(&pool) {
            p.alive = p.alive.saturating_sub(1);
            p.busy = p.busy.saturating_sub(1);
            p.count(&result);
            p.pump(&inner);
        }
    }
    let _ = waiting.reply.send(result);
}

/// Sends `batch` to a warm worker (starting one when `worker` is `None`), then
/// returns the worker to the idle list, or forgets it if it died.
async fn serve(
    inner: Arc<Inner>,
    pool: String,
    worker: Option<Worker>,
    function: Arc<FunctionSpec>,
    batch: Vec<Waiting>,
) {
    let worker = match worker {
        Some(w) => Ok(w),
        None => Worker::spawn(&inner.root, function.clone(), &inner.limits),
    };
    let mut worker = match worker {
        Ok(w) => w,
        Err(e) => {
            let err = CallError::from(e);
            let results = vec![Err(err); batch.len()];
            finish_batch(&inner, &pool, None, &function, batch, results);
            return;
        }
    };
    let args: Vec<&Map<String, Value>> = batch.iter().map(|w| &w.args).collect();
    let sinks: Vec<Option<ProgressSink>> = batch.iter().map(|w| w.progress.clone()).collect();
    let served = worker.serve(&args, &sinks).await;
    drop(args);
    match served {
        Served::Healthy(results) => {
            finish_batch(&inner, &pool, Some(worker), &function, batch, results);
        }
        Served::Dead(err) => {
            tracing::warn!(
                pool,
                function = %function.name,
                kind = err.kind.as_str(),
                "warm worker lost: {}",
                err.message
            );
            let results = vec![Err(err); batch.len()];
            finish_batch(&inner, &pool, None, &function, batch, results);
        }
    }
}

/// Accounts for a served batch (`worker` is `Some` when it can serve again) and
/// answers its calls.
fn finish_batch(
    inner: &Arc<Inner>,
    pool: &str,
    worker: Option<Worker>,
    function: &FunctionSpec,
    batch: Vec<Waiting>,
    results: Vec<Result<Value, CallError>>,
) {
    {
        let mut state = lock(&inner.state);
        let shut_down = state.shut_down;
        if let Some(p) = state.pools.get_mut(pool) {
            p.busy = p.busy.saturating_sub(1);
            for r in &results {
                p.count(r);
            }
            match worker {
                Some(w) if shut_down => {
                    p.stopping += 1;
                    tokio::spawn(stop_worker(inner.clone(), pool.to_string(), w, true));
                }
                Some(w) => p.idle.push_back(w),
                None => p.forget_worker(&function.name),
            }
            p.pump(inner);
        }
    }
    for (waiting, result) in batch.into_iter().zip(results) {
        let _ = waiting.reply.send(result);
    }
}

/// Stops (gracefully: stdin closed first) or kills a worker, then frees its slot.
async fn stop_worker(inner: Arc<Inner>, pool: String, worker: Worker, graceful: bool) {
    let function = worker.function.name.clone();
    if graceful {
        worker.stop(STOP_GRACE).await;
    } else {
        worker.kill().await;
    }
    let mut state = lock(&inner.state);
    if let Some(p) = state.pools.get_mut(&pool) {
        p.stopping = p.stopping.saturating_sub(1);
        p.forget_worker(&function);
        p.pump(&inner);
    }
}

/// Fails queued calls, stops idle workers and waits for them to exit; refuses
/// later calls and stops busy workers when they finish.
pub(crate) async fn shutdown(inner: &Arc<Inner>) {
    let mut stops = tokio::task::JoinSet::new();
    let mut abandoned = Vec::new();
    {
        let mut state = lock(&inner.state);
        state.shut_down = true;
        for p in state.pools.values_mut() {
            let queued = std::mem::take(&mut p.queue);
            p.failed += queued.len() as u64;
            abandoned.extend(queued.into_values());
            while let Some(w) = p.idle.pop_front() {
                p.stopping += 1;
                stops.spawn(stop_worker(inner.clone(), p.name.clone(), w, true));
            }
        }
    }
    for waiting in abandoned {
        let _ = waiting.reply.send(Err(ExecutorError::ShutDown.into()));
    }
    while stops.join_next().await.is_some() {}
}
