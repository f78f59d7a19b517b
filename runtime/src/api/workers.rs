//! The registry of workers through the API: `GET /v1/workers` and the `cosmos_worker_*`
//! series of `/metrics`.

use super::metrics::label;
use super::{AppState, blocking};
use crate::api::ApiError;
use crate::store::WorkerRecord;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use std::fmt::Write;

/// `{"workers": [...]}`: every worker the store has a row for, by name, each with
/// whether it is alive now.
pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let now = crate::node::now_ms();
    let workers = blocking(&state.node, |store| store.workers()).await?;
    Ok(Json(json!({
        "workers": workers.iter().map(|w| worker_json(w, now)).collect::<Vec<_>>(),
    })))
}

/// One worker as the API shows it.
pub fn worker_json(worker: &WorkerRecord, now: i64) -> Value {
    json!({
        "name": worker.name,
        "kind": worker.kind,
        "pools": worker.pools,
        "version": worker.version,
        "alive": worker.alive(now),
        "started_at": cosmos_ir::format_time(worker.started_at),
        "last_seen": cosmos_ir::format_time(worker.last_seen),
        "heartbeat_ms": worker.heartbeat_ms,
        "stopped_at": worker.stopped_at.map(cosmos_ir::format_time),
        "leased": worker.leased,
        "completed": worker.completed,
        "failed": worker.failed,
    })
}

/// `cosmos_worker_alive{worker,kind}` (1 or 0), `cosmos_worker_last_seen_seconds{worker}`
/// and `cosmos_worker_calls_total{worker,outcome}` (outcome `leased`, `completed`,
/// `failed`) for every worker of the registry.
pub(super) fn metrics(out: &mut String, workers: &[WorkerRecord], now: i64) {
    let _ = writeln!(
        out,
        "# HELP cosmos_worker_alive Whether a worker (or node running functions) is alive: seen within its last heartbeats and not stopped.\n# TYPE cosmos_worker_alive gauge"
    );
    for w in workers {
        let _ = writeln!(
            out,
            "cosmos_worker_alive{{worker=\"{}\",kind=\"{}\"}} {}",
            label(&w.name),
            w.kind.as_str(),
            u8::from(w.alive(now))
        );
    }
    let _ = writeln!(
        out,
        "# HELP cosmos_worker_last_seen_seconds When a worker last wrote its heartbeat, in seconds since the epoch.\n# TYPE cosmos_worker_last_seen_seconds gauge"
    );
    for w in workers {
        let _ = writeln!(
            out,
            "cosmos_worker_last_seen_seconds{{worker=\"{}\"}} {:.3}",
            label(&w.name),
            w.last_seen as f64 / 1000.0
        );
    }
    let _ = writeln!(
        out,
        "# HELP cosmos_worker_calls_total Calls a worker leased, and of those the ones it recorded as completed or failed, since it started.\n# TYPE cosmos_worker_calls_total counter"
    );
    for w in workers {
        for (outcome, n) in [
            ("leased", w.leased),
            ("completed", w.completed),
            ("failed", w.failed),
        ] {
            let _ = writeln!(
                out,
                "cosmos_worker_calls_total{{worker=\"{}\",outcome=\"{outcome}\"}} {n}",
                label(&w.name)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(name: &str, last_seen: i64, stopped_at: Option<i64>) -> WorkerRecord {
        WorkerRecord {
            name: name.to_string(),
            kind: crate::store::WorkerKind::Worker,
            pools: vec!["default".to_string()],
            version: "0.1.0".to_string(),
            started_at: 1_000,
            last_seen,
            heartbeat_ms: 2_000,
            stopped_at,
            leased: 5,
            completed: 3,
            failed: 1,
        }
    }

    #[test]
    fn metrics_name_each_worker_with_its_liveness_and_counts() {
        let mut out = String::new();
        let workers = [
            worker("w\"1", 10_000, None),
            worker("w2", 1_000, None),
            worker("w3", 10_000, Some(10_500)),
        ];
        metrics(&mut out, &workers, 11_000);
        assert!(
            out.contains("cosmos_worker_alive{worker=\"w\\\"1\",kind=\"worker\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("cosmos_worker_alive{worker=\"w2\",kind=\"worker\"} 0\n"),
            "{out}"
        );
        assert!(
            out.contains("cosmos_worker_alive{worker=\"w3\",kind=\"worker\"} 0\n"),
            "{out}"
        );
        assert!(
            out.contains("cosmos_worker_last_seen_seconds{worker=\"w2\"} 1.000\n"),
            "{out}"
        );
        for outcome in ["leased 5", "completed 3", "failed 1"] {
            let (outcome, n) = outcome.split_once(' ').unwrap();
            assert!(
                out.contains(&format!(
                    "cosmos_worker_calls_total{{worker=\"w2\",outcome=\"{outcome}\"}} {n}\n"
                )),
                "{out}"
            );
        }
    }

    #[test]
    fn a_worker_as_json_says_whether_it_is_alive() {
        let json = worker_json(&worker("w", 10_000, None), 11_000);
        assert_eq!(json["alive"], true);
        assert_eq!(json["stopped_at"], Value::Null);
        assert_eq!(json["pools"], json!(["default"]));
        assert_eq!(json["completed"], 3);
        let json = worker_json(&worker("w", 10_000, Some(10_500)), 11_000);
        assert_eq!(json["alive"], false);
        assert!(json["stopped_at"].is_string());
    }
}
