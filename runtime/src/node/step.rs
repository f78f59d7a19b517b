//! One engine step against the store: load the instance, hand the engine one event,
//! and commit the new state, its history lines, the messages its commands become and
//! the acknowledgement of the message that carried the event — all in one
//! transaction, so a step happens exactly once or not at all.

use super::NodeError;
use super::messages;
use crate::deployment::Deployment;
use crate::deployment::Loaded;
use crate::engine::{
    CallErrorKind, CallId, Command, Engine, EngineError, Event, Failure, InstanceState, ParentLink,
    Step,
};
use crate::store::{
    InstanceRecord, Leased, MessageId, NewChild, NewHistory, NewInstance, NewMessage, OwnCalls,
    StepCommit, StepStamp, Store,
};
use cosmos_ir::Program;
use serde_json::Value as Json;

/// How a step went.
#[derive(Debug)]
pub enum Applied {
    /// Committed; `calls` and `events` say which queues got new messages.
    Committed { calls: bool, events: bool },
    /// The engine refused the event (a signal it does not have, a finished instance).
    Refused(EngineError),
    /// The event no longer mattered (a finished instance's timer or call, a replaced
    /// wake-up): its message was acknowledged and nothing else written, not even a
    /// history row.
    Ignored,
    /// The instance does not exist.
    Missing,
}

/// What a step ran on: the engine of the instance's workflow, its program and the
/// hash of that program's bundle.
pub(super) struct Ran<'a> {
    pub engine: &'a Engine<'a>,
    pub program: &'a Program,
    pub bundle: &'a str,
    /// The bundle's loaded program: the engines of the child workflows a step starts.
    pub loaded: &'a Loaded,
}

/// The commit of `step` taken on `state`, which was at `version`; how many call
/// messages it enqueues, and whether it enqueues events.
pub(super) fn commit_of(
    ran: &Ran<'_>,
    state: &InstanceState,
    step: Step,
    version: i64,
    now: i64,
    ack: Option<(MessageId, String)>,
) -> Result<(StepCommit, usize, bool), NodeError> {
    let Ran {
        engine,
        program,
        bundle,
        loaded,
    } = ran;
    let history = step
        .history
        .iter()
        .map(|entry| NewHistory {
            at: entry.at,
            kind: entry.event.kind(),
            text: entry.to_string(),
            data: serde_json::to_value(&entry.event).unwrap_or(Json::Null),
        })
        .collect();
    let mut children = Vec::new();
    let mut enqueue = Vec::new();
    for command in &step.commands {
        if let Command::StartChild {
            call,
            child,
            workflow,
            input,
            ..
        } = command
        {
            let (new, message) =
                new_child(loaded, bundle, state, call, child, workflow, input, now);
            children.extend(new);
            enqueue.push(message);
        }
    }
    enqueue.extend(messages::for_commands(
        program,
        &state.id,
        bundle,
        step.commands,
        now,
    ));
    let calls = enqueue
        .iter()
        .filter(|m| m.queue == messages::CALLS)
        .count();
    let events = enqueue.iter().any(|m| m.queue == messages::EVENTS);
    let commit = StepCommit {
        instance: state.id.clone(),
        expected_version: version,
        status: state.status,
        facts: engine.host().facts_to_json(&state.values),
        output: state.output.clone(),
        failure: state.failure.clone(),
        state: serde_json::to_value(state).map_err(|e| NodeError::State(e.to_string()))?,
        now,
        history,
        enqueue,
        ack,
        stamp: None,
        children,
    };
    Ok((commit, calls, events))
}

/// The child instance a [`Command::StartChild`] asks for, not yet started, and the
/// message that starts it; when it cannot be made (its input's defaults fail), no
/// instance and the message that fails the parent's call as `CHILD_FAILED`.
#[allow(clippy::too_many_arguments)]
fn new_child(
    loaded: &Loaded,
    bundle: &str,
    parent: &InstanceState,
    call: &CallId,
    child: &str,
    workflow: &str,
    input: &serde_json::Map<String, Json>,
    now: i64,
) -> (Option<NewChild>, NewMessage) {
    let input = Json::Object(input.clone());
    let made = loaded.engine(workflow).and_then(|engine| {
        let mut state = engine.instantiate(child, &input)?;
        state.parent = Some(ParentLink {
            instance: parent.id.clone(),
            call: call.clone(),
        });
        let facts = engine.host().facts_to_json(&state.values);
        Ok((state, facts))
    });
    let made = made.map_err(|e| e.to_string()).and_then(|(state, facts)| {
        let state = serde_json::to_value(&state).map_err(|e| e.to_string())?;
        Ok((state, facts))
    });
    match made {
        Ok((state, facts)) => (
            Some(NewChild {
                instance: NewInstance {
                    id: child.to_string(),
                    workflow: workflow.to_string(),
                    bundle: bundle.to_string(),
                    input,
                    idempotency_key: None,
                    created_at: now,
                },
                status: crate::engine::Status::Running,
                facts,
                state,
            }),
            messages::event(child, Event::Start, now, 0),
        ),
        Err(error) => {
            let failure = Failure {
                message: format!("child {workflow} {child} could not start: {error}"),
                kind: CallErrorKind::ChildFailed,
                stderr: None,
            };
            let event = Event::CallFailed {
                call: call.clone(),
                failure,
            };
            (None, messages::event(&parent.id, event, now, 0))
        }
    }
}

pub(crate) fn load_state(record: &InstanceRecord) -> Result<InstanceState, NodeError> {
    serde_json::from_value(record.state.clone()).map_err(|e| {
        NodeError::State(format!(
            "instance {}: unreadable engine state: {e}",
            record.id
        ))
    })
}

/// Microseconds since the Unix epoch, for [`StepStamp`]s.
fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Applies `event` to instance `id` as node `node`, acknowledging `ack` in the same
/// transaction.
pub(super) fn apply(
    store: &dyn Store,
    deployment: &Deployment,
    node: &str,
    id: &str,
    event: Event,
    now: i64,
    ack: Option<(MessageId, String)>,
) -> Result<Applied, NodeError> {
    apply_from(store, deployment, node, id, event, now, ack, None)
}

/// [`apply`] for a call's result or failure that `worker` ran: the step's `received`
/// row names it.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_from(
    store: &dyn Store,
    deployment: &Deployment,
    node: &str,
    id: &str,
    event: Event,
    now: i64,
    ack: Option<(MessageId, String)>,
    worker: Option<&str>,
) -> Result<Applied, NodeError> {
    let (mut commit, calls, events) =
        match compute(store, deployment, node, id, event, now, worker)? {
            Computed::Step {
                commit,
                calls,
                events,
            } => (commit, calls, events),
            Computed::Missing => return Ok(Applied::Missing),
            Computed::Refused(refused) => return Ok(Applied::Refused(refused)),
            Computed::Ignored => {
                if let Some((id, owner)) = &ack
                    && !store.ack(*id, owner, now)?
                {
                    return Err(NodeError::Store(crate::store::StoreError::LeaseLost {
                        id: *id,
                        owner: owner.clone(),
                    }));
                }
                return Ok(Applied::Ignored);
            }
        };
    commit.ack = ack;
    store.commit_step(*commit)?;
    Ok(Applied::Committed {
        calls: calls > 0,
        events,
    })
}

/// A step computed on the instance as read, not yet committed.
pub(super) enum Computed {
    /// The commit (without an ack), how many calls it enqueues, and whether it
    /// enqueues events.
    Step {
        commit: Box<StepCommit>,
        calls: usize,
        events: bool,
    },
    Refused(EngineError),
    Ignored,
    Missing,
}

/// Reads instance `id` and computes the step `event` takes it through as node `node`
/// (see [`apply_from`]); writes nothing.
pub(super) fn compute(
    store: &dyn Store,
    deployment: &Deployment,
    node: &str,
    id: &str,
    event: Event,
    now: i64,
    worker: Option<&str>,
) -> Result<Computed, NodeError> {
    let Some(record) = store.instance(id)? else {
        return Ok(Computed::Missing);
    };
    compute_on(store, deployment, node, &record, event, now, worker)
}

/// [`compute`] on `record`, the instance as read (or as this node last committed it:
/// a step computed on an outdated record fails its version check).
pub(super) fn compute_on(
    store: &dyn Store,
    deployment: &Deployment,
    node: &str,
    record: &InstanceRecord,
    event: Event,
    now: i64,
    worker: Option<&str>,
) -> Result<Computed, NodeError> {
    // After the read: a step that saw the previous step's commit began after it.
    let started_us = now_us();
    let loaded = deployment.loaded(store, &record.bundle)?;
    let engine = loaded.engine(&record.workflow)?;
    let mut state = load_state(record)?;
    let received = crate::replay::received_from(&event, now, worker);
    let step = match engine.handle(&mut state, now, event) {
        Ok(step) => step,
        Err(refused) => return Ok(Computed::Refused(refused)),
    };
    if step.ignored {
        return Ok(Computed::Ignored);
    }
    let ran = Ran {
        engine: &engine,
        program: &loaded.program,
        bundle: &record.bundle,
        loaded: &loaded,
    };
    let (mut commit, calls, events) = commit_of(&ran, &state, step, record.version, now, None)?;
    commit.history.insert(0, received);
    commit.stamp = Some(StepStamp {
        node: node.to_string(),
        started_us,
        finished_us: now_us(),
    });
    Ok(Computed::Step {
        commit: Box::new(commit),
        calls,
        events,
    })
}

/// What [`start`] did.
#[derive(Debug)]
pub(super) struct Started {
    /// The instance's id: a new one, or the one its idempotency key started before.
    pub id: String,
    /// How many calls the first step enqueued (0 for an existing instance).
    pub calls: usize,
    /// Those of them leased to the node in the creating transaction.
    pub leased: Vec<Leased>,
    /// Whether the first step enqueued events (a timer, a child's start): the engine
    /// loop has work, or a new time to wake up at.
    pub events: bool,
    /// The instance as created, or `None` for an instance its idempotency key
    /// started before: what reading it back at once would give, without the read.
    pub record: Option<InstanceRecord>,
}

/// Creates an instance of `workflow` on the current bundle and takes its first step
/// as node `node` (an instance its idempotency key started before is returned as it
/// is). The first step's calls that `own` picks are leased to its owner in the
/// creating transaction (see [`Store::create_instance_leasing`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn start(
    store: &dyn Store,
    deployment: &Deployment,
    node: &str,
    id: String,
    workflow: &str,
    input: &Json,
    idempotency_key: Option<String>,
    now: i64,
    own: Option<(&OwnCalls, &str)>,
) -> Result<Started, NodeError> {
    let started_us = now_us();
    let loaded = deployment.current();
    let (bundle, program) = (loaded.hash.as_str(), &loaded.program);
    let engine = loaded.engine(workflow)?;
    let mut state = engine.instantiate(&id, input)?;
    let step = engine.handle(&mut state, now, Event::Start)?;
    let ran = Ran {
        engine: &engine,
        program,
        bundle,
        loaded,
    };
    let (mut commit, calls, events) = commit_of(&ran, &state, step, 0, now, None)?;
    commit.stamp = Some(StepStamp {
        node: node.to_string(),
        started_us,
        finished_us: now_us(),
    });
    let new = NewInstance {
        id: id.clone(),
        workflow: workflow.to_string(),
        bundle: bundle.to_string(),
        input: input.clone(),
        idempotency_key,
        created_at: now,
    };
    let record = InstanceRecord {
        id: new.id.clone(),
        workflow: new.workflow.clone(),
        bundle: new.bundle.clone(),
        status: commit.status,
        input: new.input.clone(),
        facts: commit.facts.clone(),
        output: commit.output.clone(),
        failure: commit.failure.clone(),
        state: commit.state.clone(),
        version: 1,
        created_at: new.created_at,
        updated_at: commit.now,
        idempotency_key: new.idempotency_key.clone(),
    };
    Ok(match store.create_instance_leasing(new, commit, own)? {
        (crate::store::Created::New, leased) => Started {
            id,
            calls,
            events,
            leased,
            record: Some(record),
        },
        (crate::store::Created::Existing(existing), _) => Started {
            id: existing,
            calls: 0,
            events: false,
            leased: Vec::new(),
            record: None,
        },
    })
}
