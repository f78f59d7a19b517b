//! Schedules (LANGUAGE.md 10.7): each node's loop that starts one instance per tick
//! of the deployed bundle's schedules.
//!
//! **Exactly once.** A tick's instance is created with the idempotency key
//! `schedule/NAME/TICK` (the tick in RFC 3339), so however many nodes handle the same
//! tick at once, the store creates one instance and hands the others its id. The tick
//! is then recorded in the schedule's row (`last_tick`, `last_instance`), which only
//! moves forward. A node that dies between the two leaves the tick unrecorded; the
//! next pass handles it again and finds the instance by its key.
//!
//! **Catch-up.** The tick handled at `now` is the latest tick at or before `now` that
//! is after the last one handled: ticks missed while no node ran start one instance,
//! for the latest of them.
//!
//! **Overlap.** With `overlap skip` (the default), a tick whose schedule's last
//! instance has not finished (it is `RUNNING` or `STALLED`) starts nothing and is
//! recorded as handled; with `allow` it starts an instance anyway.
//!
//! **Time.** [`run_due`] takes `now`, so tests drive it on a virtual clock; the node's
//! loop passes the wall clock and sleeps until the next tick (or at most
//! [`RECHECK`], to notice pauses and resumes made by other nodes or the CLI).

use std::sync::Arc;
use std::time::Duration;

use cosmos_ir::interp::{self, Env, Facts};
use cosmos_ir::json::to_json;
use cosmos_ir::{Overlap, Program, ScheduleIr};
use serde::Serialize;
use serde_json::Value as Json;

use super::{Inner, NodeError, new_instance_id, now_ms, step};
use crate::deployment::Deployment;
use crate::engine::Status;
use crate::store::{ScheduleRow, ScheduleSpec, Store};

/// The longest the loop sleeps without reading the schedules again.
pub const RECHECK: Duration = Duration::from_secs(5);

/// What handling one due tick did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tick {
    /// The tick's instance was started (`new`), or found started by another node.
    Started {
        schedule: String,
        tick: i64,
        instance: String,
        new: bool,
    },
    /// `overlap skip` and the last instance had not finished: nothing started.
    Skipped {
        schedule: String,
        tick: i64,
        running: String,
    },
    /// The `start` block failed at run time, or the workflow refused its input;
    /// nothing started, and the tick is not tried again.
    Failed {
        schedule: String,
        tick: i64,
        message: String,
    },
}

/// The idempotency key of the instance a schedule starts for `tick`.
pub fn tick_key(schedule: &str, tick: i64) -> String {
    format!("schedule/{schedule}/{}", cosmos_ir::format_time(tick))
}

/// Stores the current bundle's schedules (see [`Store::sync_schedules`]).
pub fn register(store: &dyn Store, deployment: &Deployment, now: i64) -> Result<(), NodeError> {
    let specs: Vec<ScheduleSpec> = deployment
        .current()
        .program
        .schedules
        .iter()
        .map(ScheduleSpec::of)
        .collect();
    store.sync_schedules(&specs, now)?;
    Ok(())
}

/// The stored schedules of the current bundle, in name order.
pub fn current(store: &dyn Store, deployment: &Deployment) -> Result<Vec<ScheduleRow>, NodeError> {
    let program = &deployment.current().program;
    Ok(store
        .schedules()?
        .into_iter()
        .filter(|row| program.schedule(&row.spec.name).is_some())
        .collect())
}

/// Handles every tick of the current bundle's schedules that is due at `now`, as node
/// `node`; returns what it did and the earliest tick still to come.
pub fn run_due(
    store: &dyn Store,
    deployment: &Deployment,
    node: &str,
    now: i64,
) -> Result<(Vec<Tick>, Option<i64>), NodeError> {
    let loaded = Arc::clone(deployment.current());
    let program = &loaded.program;
    let mut done = Vec::new();
    let mut next: Option<i64> = None;
    for mut row in store.schedules()? {
        let Some(schedule) = program.schedule(&row.spec.name) else {
            continue;
        };
        if let Some(tick) = row.due(now) {
            done.push(handle(
                store, deployment, node, program, schedule, &row, tick, now,
            )?);
            row.last_tick = Some(tick);
        }
        if let Some(t) = row.next_tick() {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
    }
    Ok((done, next))
}

#[allow(clippy::too_many_arguments)]
fn handle(
    store: &dyn Store,
    deployment: &Deployment,
    node: &str,
    program: &Program,
    schedule: &ScheduleIr,
    row: &ScheduleRow,
    tick: i64,
    now: i64,
) -> Result<Tick, NodeError> {
    let name = schedule.name.clone();
    if schedule.overlap == Overlap::Skip
        && let Some(last) = &row.last_instance
        && matches!(
            store.instance_status(last)?,
            Some(Status::Running | Status::Stalled)
        )
    {
        store.record_schedule_tick(&name, tick, None, now)?;
        tracing::info!(schedule = %name, tick = %cosmos_ir::format_time(tick), running = %last, "tick skipped: the last instance has not finished");
        return Ok(Tick::Skipped {
            schedule: name,
            tick,
            running: last.clone(),
        });
    }
    let failed = |message: String| -> Result<Tick, NodeError> {
        store.record_schedule_tick(&schedule.name, tick, None, now)?;
        tracing::error!(schedule = %schedule.name, tick = %cosmos_ir::format_time(tick), %message, "tick started nothing");
        Ok(Tick::Failed {
            schedule: schedule.name.clone(),
            tick,
            message,
        })
    };
    let input = match start_input(program, schedule, tick) {
        Ok(input) => input,
        Err(message) => return failed(message),
    };
    let started = step::start(
        store,
        deployment,
        node,
        new_instance_id(),
        &schedule.workflow,
        &input,
        Some(tick_key(&name, tick)),
        now,
        None,
    );
    let (instance, new) = match started {
        Ok(started) => {
            let new = started.record.is_some();
            (started.id, new)
        }
        Err(NodeError::Refused(error)) => return failed(error.to_string()),
        Err(other) => return Err(other),
    };
    store.record_schedule_tick(&name, tick, Some(&instance), now)?;
    if new {
        tracing::info!(schedule = %name, tick = %cosmos_ir::format_time(tick), %instance, "tick started an instance");
    }
    Ok(Tick::Started {
        schedule: name,
        tick,
        instance,
        new,
    })
}

/// The input the `start` block gives at `tick` (evaluated by the interpreter, with
/// `now()` the tick's time).
pub fn start_input(program: &Program, schedule: &ScheduleIr, tick: i64) -> Result<Json, String> {
    let env = Env {
        inputs: &[],
        facts: Facts::Read(&[]),
        now: tick,
    };
    match interp::run(program, &schedule.start, Vec::new(), env) {
        Ok((value, _)) => Ok(to_json(program, &value)),
        Err(error) => Err(error
            .in_body(program, format!("schedule {:?}, start", schedule.name))
            .to_string()),
    }
}

/// A schedule as the API and `cosmosc schedules` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleView {
    pub name: String,
    pub workflow: String,
    /// The cron expression, for a `cron` schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// The period as Emx writes it (`6.h`), for an `every` schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    /// The period in milliseconds, for an `every` schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every_ms: Option<i64>,
    /// `skip` or `allow`.
    pub overlap: &'static str,
    pub paused: bool,
    /// RFC 3339; `None` while paused.
    pub next_tick: Option<String>,
    pub last_tick: Option<String>,
    pub last_instance: Option<String>,
}

impl ScheduleView {
    pub fn of(row: &ScheduleRow) -> ScheduleView {
        let (cron, every_ms) = match &row.spec.trigger {
            cosmos_ir::Trigger::Cron(text) => (Some(text.clone()), None),
            cosmos_ir::Trigger::Every { ms } => (None, Some(*ms)),
        };
        ScheduleView {
            name: row.spec.name.clone(),
            workflow: row.spec.workflow.clone(),
            cron,
            every: every_ms.map(cosmos_ir::duration_literal),
            every_ms,
            overlap: row.spec.overlap.as_str(),
            paused: row.paused,
            next_tick: row.next_tick().map(cosmos_ir::format_time),
            last_tick: row.last_tick.map(cosmos_ir::format_time),
            last_instance: row.last_instance.clone(),
        }
    }
}

/// The node's schedule loop: registers the bundle's schedules, then handles due
/// ticks, sleeping until the next one.
pub(super) async fn run(inner: Arc<Inner>) {
    let registered = {
        let inner = Arc::clone(&inner);
        tokio::task::spawn_blocking(move || {
            register(inner.store.as_ref(), &inner.deployment, now_ms())
        })
        .await
    };
    match registered {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%error, "cannot store the schedules"),
        Err(error) => tracing::error!(%error, "schedule task failed"),
    }
    if inner.deployment.current().program.schedules.is_empty() {
        return;
    }
    while !inner.stopping() {
        let now = now_ms();
        let pass = {
            let inner = Arc::clone(&inner);
            tokio::task::spawn_blocking(move || {
                inner.check_store()?;
                run_due(
                    inner.store.as_ref(),
                    &inner.deployment,
                    &inner.config.owner,
                    now,
                )
            })
            .await
        };
        let wait = match pass {
            Ok(Ok((ticks, next))) => {
                if ticks
                    .iter()
                    .any(|t| matches!(t, Tick::Started { new: true, .. }))
                {
                    inner.committed(1);
                    inner.wake_calls.notify_one();
                    inner.wake_events.notify_one();
                }
                next.map_or(RECHECK, |at| {
                    Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0))
                })
                .min(RECHECK)
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "schedule pass failed");
                RECHECK
            }
            Err(error) => {
                tracing::error!(%error, "schedule task failed");
                RECHECK
            }
        };
        let _ = tokio::time::timeout(wait, inner.wake_schedules.notified()).await;
    }
}
