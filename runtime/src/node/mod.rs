//! A runtime node: one process's engine loop and call loop over a shared store, with
//! the executor that runs functions (the call loop is a [`Runner`] of
//! [`crate::calls`]; a node started with `functions: false` has none, and leaves its
//! calls to `cosmosc worker`s). Several nodes may share one store (PostgreSQL); a
//! SQLite file has one node (and may have workers on the same machine).
//!
//! Everything that happens to an instance reaches it as a message on the `events`
//! queue, exclusive per instance, so an instance takes one step at a time; starting an
//! instance and answering a signal or a cancel are steps taken directly, guarded by
//! the instance's version.

mod completion;
mod events;
pub mod messages;
pub mod schedules;
mod step;

use crate::calls::{Places, Runner, RunnerConfig, StoreSource, settle_leased};
use crate::deployment::{Deployment, DeploymentError};
use crate::engine::{EngineError, Event, Status};
use crate::executor::{Executor, ExecutorLimits, FunctionSpec, PoolSpec};
use crate::store::{InstanceRecord, OwnCalls, Store, StoreError};
use cosmos_ir::host::HostError;
use serde_json::Value as Json;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

pub use step::Applied;
pub(crate) use step::load_state;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    /// The event or input was refused: nothing changed.
    #[error(transparent)]
    Refused(#[from] EngineError),
    #[error("no instance {0:?}")]
    UnknownInstance(String),
    #[error("{0}")]
    State(String),
    #[error("the instance kept changing under this request; try again")]
    Busy,
    /// The store can take no new work until the node restarts ([`Store::fault`]).
    #[error("the store can no longer be written: {0}; restart the node")]
    StoreFailed(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<HostError> for NodeError {
    fn from(e: HostError) -> Self {
        NodeError::Refused(EngineError::Host(e))
    }
}

/// How a node runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Names this node's leases; unique per process.
    pub owner: String,
    /// How long an engine lease lasts before another node may take the message; a
    /// call's lease lasts the function's timeout plus this.
    pub lease_ms: i64,
    /// Calls leased and running at once, across pools, at most; never more than the
    /// pools can run at once (`Executor::capacity`), so that no leased call waits.
    pub max_calls: usize,
    /// How often idle loops look at the store when nothing woke them (other nodes'
    /// messages, timers).
    pub poll: Duration,
    /// How long a graceful stop waits for running calls before releasing their leases.
    pub grace: Duration,
    /// Work on this instance and its children only (`cosmosc run`), leaving others in
    /// the store alone.
    pub only_instance: Option<String>,
    /// Run functions (the call loop); without, the node takes engine steps and answers
    /// the API only, and `cosmosc worker`s run its calls.
    pub functions: bool,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            owner: format!("node-{}-{}", std::process::id(), uuid::Uuid::now_v7()),
            lease_ms: 30_000,
            max_calls: 64,
            poll: Duration::from_millis(200),
            grace: Duration::from_secs(10),
            only_instance: None,
            functions: true,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) deployment: Arc<Deployment>,
    pub(crate) executor: Executor,
    pub(crate) config: NodeConfig,
    /// Woken when events may be waiting (a call's outcome was recorded).
    pub(crate) wake_events: Arc<Notify>,
    /// Woken when calls may be waiting (a step enqueued some).
    pub(crate) wake_calls: Arc<Notify>,
    /// Wakes the schedule loop (a schedule was paused or resumed).
    pub(crate) wake_schedules: Notify,
    stopping: AtomicBool,
    commits: tokio::sync::watch::Sender<u64>,
}

impl Inner {
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Refuses new work when the store has a fault (blocking: one `stat`).
    pub(crate) fn check_store(&self) -> Result<(), NodeError> {
        match self.store.fault() {
            Some(fault) => Err(NodeError::StoreFailed(fault)),
            None => Ok(()),
        }
    }

    /// The metadata a lease must match: the instance this node is limited to.
    pub(crate) fn lease_filter(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        // The instance's children (and theirs) too: they carry its id as their root.
        self.config
            .only_instance
            .iter()
            .map(|id| ("root".to_string(), vec![id.clone()]))
            .collect()
    }

    /// The calls a step of this node leases to it in its own commit, when its runner
    /// has `room` places for them (`None` without room).
    pub(crate) fn own_calls(&self, room: usize) -> Option<OwnCalls> {
        (room > 0).then(|| OwnCalls {
            queue: messages::CALLS.to_string(),
            filter: self.lease_filter(),
            lease_until: now_ms().saturating_add(self.config.lease_ms),
            limit: room,
        })
    }

    /// Counts `steps` committed steps and wakes whoever follows them.
    pub(crate) fn committed(&self, steps: usize) {
        self.commits
            .send_modify(|n| *n = n.wrapping_add(steps as u64));
    }
}

/// A new instance id: a UUIDv7, so that ids sort by creation time.
pub fn new_instance_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Explains the rules of a stored instance running on `program` (see
/// [`crate::explain`]).
pub fn explain_record(
    program: &cosmos_ir::Program,
    record: &InstanceRecord,
) -> Result<Vec<crate::explain::RuleExplanation>, NodeError> {
    let engine = crate::engine::Engine::new(program, &record.workflow)?;
    let state = step::load_state(record)?;
    Ok(crate::explain::explain(&engine, &state, now_ms()))
}

/// How often a signal or cancel is tried again when a concurrent step committed
/// first.
const SEND_ATTEMPTS: usize = 20;

/// How one attempt to send an event went.
enum Sent {
    Done {
        committed: bool,
    },
    /// A concurrent step changed the instance first: try again on the new state.
    Retry,
}

fn sent(id: &str, outcome: Result<Applied, NodeError>) -> Result<Sent, NodeError> {
    match outcome {
        Ok(Applied::Ignored) => Ok(Sent::Done { committed: false }),
        Ok(Applied::Committed { .. }) => Ok(Sent::Done { committed: true }),
        Ok(Applied::Refused(error)) => Err(NodeError::Refused(error)),
        Ok(Applied::Missing) => Err(NodeError::UnknownInstance(id.to_string())),
        Err(NodeError::Store(StoreError::Conflict { .. })) => Ok(Sent::Retry),
        Err(other) => Err(other),
    }
}

/// Sends a signal (or a cancel) to instance `id` straight in `store`, from outside a
/// running node (`cosmosc instances signal --store`): the same step the API takes,
/// named after `owner`, with the instance's own bundle from the store. The calls and
/// timers it starts are messages in the store, which the nodes serving it take
/// when they next look (at most their poll interval later). Blocking.
pub fn send_to_store(
    store: &dyn Store,
    owner: &str,
    id: &str,
    event: Event,
) -> Result<(), NodeError> {
    let record = store
        .instance(id)?
        .ok_or_else(|| NodeError::UnknownInstance(id.to_string()))?;
    let deployment = Deployment::stored(
        store,
        &record.bundle,
        crate::deployment::Evaluator::from_env()?,
    )?;
    if let Some(fault) = store.fault() {
        return Err(NodeError::StoreFailed(fault));
    }
    for _ in 0..SEND_ATTEMPTS {
        let outcome = step::apply(store, &deployment, owner, id, event.clone(), now_ms(), None);
        match sent(id, outcome)? {
            Sent::Done { .. } => return Ok(()),
            Sent::Retry => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    Err(NodeError::Busy)
}

/// The ids of the child instances a stored instance waits for.
pub fn child_ids(record: &InstanceRecord) -> Vec<String> {
    step::load_state(record)
        .map(|s| s.waiting().into_iter().filter_map(|w| w.child).collect())
        .unwrap_or_default()
}

/// How often a node looks at its store's health when nothing else asks.
const STORE_WATCH: Duration = Duration::from_secs(1);

/// Asks the store for a fault every [`STORE_WATCH`], so that one is noticed (and
/// logged, by the store) even while no request comes in.
async fn watch_store(inner: Arc<Inner>) {
    while !inner.stopping() {
        let store = Arc::clone(&inner.store);
        if let Ok(Some(_)) = tokio::task::spawn_blocking(move || store.fault()).await {
            break;
        }
        tokio::time::sleep(STORE_WATCH).await;
    }
}

/// A running node; clone it freely.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
    /// Its call loop, unless it leaves functions to workers.
    runner: Option<Arc<Runner<StoreSource>>>,
}

/// The executor's view of a program: its functions and the project's pools.
pub fn executor_for(
    program: &cosmos_ir::Program,
    root: PathBuf,
    pools: &std::collections::BTreeMap<String, cosmos_project::PoolConfig>,
) -> Executor {
    let functions = program
        .functions
        .iter()
        .map(FunctionSpec::from_ir)
        .collect();
    let pools = pools
        .iter()
        .map(|(name, p)| PoolSpec {
            name: name.clone(),
            max: p.max,
            warm: p.warm,
        })
        .collect();
    Executor::new(root, functions, pools, ExecutorLimits::default())
}

impl Node {
    /// Starts a node's loops on the current tokio runtime.
    pub fn start(
        store: Arc<dyn Store>,
        deployment: Deployment,
        executor: Executor,
        config: NodeConfig,
    ) -> Node {
        let (commits, _) = tokio::sync::watch::channel(0);
        let inner = Arc::new(Inner {
            store,
            deployment: Arc::new(deployment),
            executor,
            config,
            wake_events: Arc::new(Notify::new()),
            wake_calls: Arc::new(Notify::new()),
            wake_schedules: Notify::new(),
            stopping: AtomicBool::new(false),
            commits,
        });
        tokio::spawn(events::run(Arc::clone(&inner)));
        tokio::spawn(watch_store(Arc::clone(&inner)));
        let runner = inner.config.functions.then(|| {
            let source = StoreSource::new(
                Arc::clone(&inner.store),
                Arc::clone(&inner.deployment) as Arc<dyn crate::calls::Programs>,
                inner.config.owner.clone(),
                inner.config.lease_ms,
                inner.lease_filter(),
            )
            .with_steps(Arc::new(completion::NodeSteps::new(Arc::clone(&inner))));
            let config = RunnerConfig {
                kind: crate::store::WorkerKind::Node,
                pools: inner.executor.stats().into_iter().map(|p| p.pool).collect(),
                max_calls: inner.config.max_calls.min(inner.executor.capacity()).max(1),
                poll: inner.config.poll,
                register: inner.config.only_instance.is_none(),
            };
            Runner::start(
                Arc::new(source),
                inner.executor.clone(),
                config,
                Arc::clone(&inner.wake_calls),
                Arc::clone(&inner.wake_events),
            )
        });
        // `cosmosc run` works on its one instance: no schedule starts others.
        if inner.config.only_instance.is_none() {
            tokio::spawn(schedules::run(Arc::clone(&inner)));
        }
        Node { inner, runner }
    }

    /// Whether this node runs functions.
    pub fn runs_functions(&self) -> bool {
        self.runner.is_some()
    }

    /// This node's id: the owner of its leases.
    pub fn owner(&self) -> &str {
        &self.inner.config.owner
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn deployment(&self) -> &Deployment {
        &self.inner.deployment
    }

    pub fn executor(&self) -> &Executor {
        &self.inner.executor
    }

    /// The programs of the bundles calls come from (the deployment's), for completing
    /// calls run elsewhere (the HTTP worker protocol).
    pub fn programs(&self) -> Arc<dyn crate::calls::Programs> {
        Arc::clone(&self.inner.deployment) as Arc<dyn crate::calls::Programs>
    }

    /// Tells the engine a call's outcome was recorded (by a worker over HTTP), so it
    /// takes the step at once.
    pub fn call_recorded(&self) {
        self.inner.wake_events.notify_one();
    }

    /// Tells this node's call runner (if it runs functions) that a call may be leased
    /// again now (a worker over HTTP gave it back).
    pub fn call_released(&self) {
        self.inner.wake_calls.notify_one();
    }

    /// A receiver of how many steps this node committed; it changes after each.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.commits.subscribe()
    }

    /// How many calls this node leased in the transaction of a step (see
    /// [`crate::calls::CallCounters::leased_with_step`]).
    pub fn calls_leased_with_steps(&self) -> u64 {
        self.runner.as_ref().map_or(0, |r| {
            r.counters()
                .leased_with_step
                .load(std::sync::atomic::Ordering::Relaxed)
        })
    }

    /// How many progress reports the calls this node ran have made.
    pub fn progress_reports(&self) -> u64 {
        self.runner.as_ref().map_or(0, |r| r.progress_reports())
    }

    /// The latest progress of each call of instance `id` that reported any.
    pub async fn call_progress(
        &self,
        id: &str,
    ) -> Result<Vec<crate::store::CallProgress>, NodeError> {
        let id = id.to_string();
        self.blocking(move |inner| Ok(inner.store.call_progress(&id)?))
            .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, NodeError> + Send + 'static,
    ) -> Result<T, NodeError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| NodeError::Internal(e.to_string()))?
    }

    /// Starts an instance of `workflow` with `input`; with an idempotency key that
    /// was used before, returns that instance instead. Bad input changes nothing.
    pub async fn start_instance(
        &self,
        workflow: &str,
        input: Json,
        idempotency_key: Option<String>,
    ) -> Result<(String, bool), NodeError> {
        self.start_instance_as(new_instance_id(), workflow, input, idempotency_key)
            .await
    }

    /// [`Node::start_instance`] with the id chosen by the caller (from
    /// [`new_instance_id`]), for a node that works on that instance only.
    pub async fn start_instance_as(
        &self,
        id: String,
        workflow: &str,
        input: Json,
        idempotency_key: Option<String>,
    ) -> Result<(String, bool), NodeError> {
        let (id, record) = self
            .start_returning(id, workflow, input, idempotency_key)
            .await?;
        Ok((id, record.is_some()))
    }

    /// [`Node::start_instance`], returning the instance: as created (without reading
    /// it back), or, for an idempotency key used before, the instance that has it as
    /// it is now; and whether it is new.
    pub async fn start_instance_record(
        &self,
        workflow: &str,
        input: Json,
        idempotency_key: Option<String>,
    ) -> Result<(InstanceRecord, bool), NodeError> {
        let (id, record) = self
            .start_returning(new_instance_id(), workflow, input, idempotency_key)
            .await?;
        Ok(match record {
            Some(record) => (record, true),
            None => (self.instance(&id).await?, false),
        })
    }

    /// Starts the instance; its id, and the record of a new one.
    async fn start_returning(
        &self,
        id: String,
        workflow: &str,
        input: Json,
        idempotency_key: Option<String>,
    ) -> Result<(String, Option<InstanceRecord>), NodeError> {
        let workflow = workflow.to_string();
        // The first call of the instance runs here, leased in the transaction that
        // creates the instance, when this node's runner has a free place for it.
        let places = self.runner.as_ref().map(|runner| runner.reserve(1));
        let room = places.as_ref().map_or(0, Places::len);
        let (id, record, enqueued, events, calls) = self
            .blocking(move |inner| {
                inner.check_store()?;
                let own = inner.own_calls(room);
                let owner = inner.config.owner.as_str();
                let store = inner.store.as_ref();
                let now = now_ms();
                let started = step::start(
                    store,
                    &inner.deployment,
                    owner,
                    id,
                    &workflow,
                    &input,
                    idempotency_key,
                    now,
                    own.as_ref().map(|own| (own, owner)),
                )?;
                let calls = settle_leased(
                    store,
                    inner.deployment.as_ref(),
                    owner,
                    started.leased,
                    now,
                    false,
                );
                Ok((
                    started.id,
                    started.record,
                    started.calls,
                    started.events,
                    calls,
                ))
            })
            .await?;
        let leased = calls.len();
        if let Some(places) = places {
            places.run(calls);
        }
        self.inner.committed(1);
        if leased < enqueued {
            self.inner.wake_calls.notify_one();
        }
        if events {
            self.inner.wake_events.notify_one();
        }
        Ok((id, record))
    }

    /// Sends a signal (or a cancel) to an instance as a step of its own. A refused
    /// event (unknown signal, bad payload, finished instance) changes nothing.
    pub async fn send(&self, id: &str, event: Event) -> Result<(), NodeError> {
        for _ in 0..SEND_ATTEMPTS {
            let id2 = id.to_string();
            let event2 = event.clone();
            let outcome = self
                .blocking(move |inner| {
                    inner.check_store()?;
                    step::apply(
                        inner.store.as_ref(),
                        &inner.deployment,
                        &inner.config.owner,
                        &id2,
                        event2,
                        now_ms(),
                        None,
                    )
                })
                .await;
            match sent(id, outcome)? {
                Sent::Done { committed } => {
                    if committed {
                        self.inner.committed(1);
                        self.inner.wake_calls.notify_one();
                        self.inner.wake_events.notify_one();
                    }
                    return Ok(());
                }
                Sent::Retry => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
        Err(NodeError::Busy)
    }

    /// The current bundle's schedules with their state, in name order.
    pub async fn schedules(&self) -> Result<Vec<schedules::ScheduleView>, NodeError> {
        self.blocking(|inner| {
            Ok(schedules::current(inner.store.as_ref(), &inner.deployment)?
                .iter()
                .map(schedules::ScheduleView::of)
                .collect())
        })
        .await
    }

    /// Pauses or resumes the current bundle's schedule `name`; `None` when the bundle
    /// has no such schedule. Resuming starts nothing for the ticks missed while paused.
    pub async fn set_schedule_paused(
        &self,
        name: &str,
        paused: bool,
    ) -> Result<Option<schedules::ScheduleView>, NodeError> {
        let name = name.to_string();
        let view = self
            .blocking(move |inner| {
                if inner.deployment.current().program.schedule(&name).is_none() {
                    return Ok(None);
                }
                inner.check_store()?;
                Ok(inner
                    .store
                    .set_schedule_paused(&name, paused, now_ms())?
                    .as_ref()
                    .map(schedules::ScheduleView::of))
            })
            .await?;
        self.inner.wake_schedules.notify_one();
        Ok(view)
    }

    /// Whether the node can take new work: `Err(NodeError::StoreFailed)` once its
    /// store has a fault ([`Store::fault`]).
    pub async fn health(&self) -> Result<(), NodeError> {
        self.blocking(|inner| inner.check_store()).await
    }

    pub async fn instance(&self, id: &str) -> Result<InstanceRecord, NodeError> {
        let id2 = id.to_string();
        self.blocking(move |inner| Ok(inner.store.instance(&id2)?))
            .await?
            .ok_or_else(|| NodeError::UnknownInstance(id.to_string()))
    }

    /// The status of instance `id` alone (a lighter read than [`Node::instance`]).
    pub async fn instance_status(&self, id: &str) -> Result<Status, NodeError> {
        let id2 = id.to_string();
        self.blocking(move |inner| Ok(inner.store.instance_status(&id2)?))
            .await?
            .ok_or_else(|| NodeError::UnknownInstance(id.to_string()))
    }

    /// The statuses of the child instances `record` waits for, by id.
    pub async fn child_statuses(
        &self,
        record: &InstanceRecord,
    ) -> Result<std::collections::BTreeMap<String, crate::engine::Status>, NodeError> {
        let ids = child_ids(record);
        if ids.is_empty() {
            return Ok(std::collections::BTreeMap::new());
        }
        self.blocking(move |inner| {
            let mut out = std::collections::BTreeMap::new();
            for id in ids {
                if let Some(status) = inner.store.instance_status(&id)? {
                    out.insert(id, status);
                }
            }
            Ok(out)
        })
        .await
    }

    /// For each rule of instance `id`: in flight, eligible, refracted or not
    /// matching, with the values of its match's conditions, now.
    pub async fn explain(
        &self,
        id: &str,
    ) -> Result<Vec<crate::explain::RuleExplanation>, NodeError> {
        let id2 = id.to_string();
        self.blocking(move |inner| {
            let record = inner
                .store
                .instance(&id2)?
                .ok_or_else(|| NodeError::UnknownInstance(id2.clone()))?;
            let program = inner
                .deployment
                .program(inner.store.as_ref(), &record.bundle)?;
            explain_record(&program, &record)
        })
        .await
    }

    /// Stops leasing, waits up to the grace period for running calls to finish, then
    /// releases every lease this node still holds, marks it stopped in the registry of
    /// workers and stops the warm workers.
    pub async fn stop(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.wake_calls.notify_waiters();
        self.inner.wake_events.notify_waiters();
        self.inner.wake_schedules.notify_waiters();
        if let Some(runner) = &self.runner {
            runner.drain(self.inner.config.grace).await;
        }
        let owner = self.inner.config.owner.clone();
        let store = Arc::clone(&self.inner.store);
        let _ = tokio::task::spawn_blocking(move || store.release_owner(&owner)).await;
        if let Some(runner) = &self.runner {
            runner.finish().await;
        }
        self.inner.executor.shutdown().await;
    }
}
