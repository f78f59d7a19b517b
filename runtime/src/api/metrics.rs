//! `/metrics` in Prometheus' text format: queue depths by state, live leases by node
//! (every node sharing the store, as the store sees them), pool occupancy and call
//! counts, and the node's own counters.

use super::{AppState, blocking};
use crate::api::ApiError;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::fmt::Write;

pub(super) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let now = crate::node::now_ms();
    let queues = blocking(&state.node, move |store| store.queue_stats(now)).await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP cosmos_queue_messages Messages in a queue, by state.\n# TYPE cosmos_queue_messages gauge"
    );
    for q in &queues {
        for (s, n) in q.counts() {
            let _ = writeln!(
                out,
                "cosmos_queue_messages{{queue=\"{}\",state=\"{s}\"}} {n}",
                q.queue
            );
        }
    }
    let leases = blocking(&state.node, move |store| store.leases_by_owner(now)).await?;
    let _ = writeln!(
        out,
        "# HELP cosmos_node_info The node answering: its id, which owns its leases.\n# TYPE cosmos_node_info gauge\ncosmos_node_info{{node=\"{}\",version=\"{}\"}} 1",
        label(state.node.owner()),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        out,
        "# HELP cosmos_leases_held Live leases by node (lease owner) and queue, for every node sharing the store.\n# TYPE cosmos_leases_held gauge"
    );
    for l in &leases {
        let _ = writeln!(
            out,
            "cosmos_leases_held{{node=\"{}\",queue=\"{}\"}} {}",
            label(&l.owner),
            label(&l.queue),
            l.leases
        );
    }
    let pools = state.node.executor().stats();
    let gauges: [(&str, &str); 4] = [
        ("cosmos_pool_max", "Processes a pool may run at once."),
        ("cosmos_pool_running", "Processes of a pool running a call."),
        (
            "cosmos_pool_waiting",
            "Calls waiting for a pool's capacity.",
        ),
        ("cosmos_pool_warm_idle", "Idle warm workers of a pool."),
    ];
    for (name, help) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for p in &pools {
            let v = match name {
                "cosmos_pool_max" => u64::from(p.max),
                "cosmos_pool_running" => p.running as u64,
                "cosmos_pool_waiting" => p.waiting as u64,
                _ => p.warm_idle as u64,
            };
            let _ = writeln!(out, "{name}{{pool=\"{}\"}} {v}", p.pool);
        }
    }
    let counters: [(&str, &str); 3] = [
        (
            "cosmos_pool_processes_started_total",
            "Processes a pool started.",
        ),
        (
            "cosmos_calls_completed_total",
            "Calls that returned a value.",
        ),
        ("cosmos_calls_failed_total", "Calls that failed."),
    ];
    for (name, help) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for p in &pools {
            let v = match name {
                "cosmos_pool_processes_started_total" => p.started_processes,
                "cosmos_calls_completed_total" => p.completed,
                _ => p.failed,
            };
            let _ = writeln!(out, "{name}{{pool=\"{}\"}} {v}", p.pool);
        }
    }
    let _ = writeln!(
        out,
        "# HELP cosmos_call_progress_reports_total Progress reports of the calls this node ran.\n# TYPE cosmos_call_progress_reports_total counter\ncosmos_call_progress_reports_total {}",
        state.node.progress_reports()
    );
    let _ = writeln!(
        out,
        "# HELP cosmos_calls_leased_with_step_total Calls this node leased in the transaction of a step (a new instance's first calls, a completion's next ones, or a call waiting in the queue that takes a completed call's place), without a lease of their own.\n# TYPE cosmos_calls_leased_with_step_total counter\ncosmos_calls_leased_with_step_total {}",
        state.node.calls_leased_with_steps()
    );
    let workers = blocking(&state.node, |store| store.workers()).await?;
    super::workers::metrics(&mut out, &workers, now);
    let _ = writeln!(
        out,
        "# HELP cosmos_steps_total Engine steps this node committed.\n# TYPE cosmos_steps_total counter\ncosmos_steps_total {}",
        *state.node.commits().borrow()
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}

/// A label value as Prometheus' text format writes it.
pub(super) fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
