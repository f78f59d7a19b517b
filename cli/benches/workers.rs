//! Benchmark: function calls per second through `cosmosc worker` processes (1 and 2)
//! working directly on the store (`--store`) and through the node's HTTP worker
//! protocol (`--server`), against the node running the functions itself, on SQLite
//! and on PostgreSQL, in one run (issue 17).
//!
//! Each run: a fresh store (a SQLite file, or a fresh PostgreSQL schema), one node
//! (`cosmosc serve`; with `--no-functions` when workers run the calls) and the
//! workers, N instances of a workflow taking 3 warm calls (this benchmark's own
//! executable is the function's warm process) started at once through the node's API
//! (four client threads), and the time until all of them have completed; calls per
//! second are 3 N over that time. Every configuration runs 3 times; the median is
//! printed.
//!
//! Run with `cargo bench -p cosmosc --bench workers`; results go to
//! docs/benchmarks.md ("Workers (issue 17)"). `COSMOS_TEST_POSTGRES` names the server
//! (`postgres://postgres@127.0.0.1:5432/test` by default); `COSMOS_BENCH_INSTANCES=N`
//! changes N (300).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../tests/support/server.rs"]
mod server;
mod warm_tick;
#[allow(dead_code)]
#[path = "../tests/support/worker.rs"]
mod worker;

use server::Server;
use std::time::{Duration, Instant};
use worker::Worker;

/// A fresh PostgreSQL schema, dropped with the value.
struct Schema {
    base: String,
    name: String,
}

impl Schema {
    fn new(base: &str, n: usize) -> Schema {
        let name = format!("bench_workers_{}_{n}", std::process::id());
        let mut client = postgres::Client::connect(base, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .unwrap();
        Schema {
            base: base.to_string(),
            name,
        }
    }

    fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.base, self.name
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// How workers reach the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// `cosmosc worker --store`: the shared store directly.
    Store,
    /// `cosmosc worker --server`: the node's `/v1/worker/…` endpoints.
    Http,
}

/// Calls per second of one run on `store`: the node runs the functions itself when
/// `workers` is 0, else that many workers do, reaching the calls `via` the store or
/// the node's API.
fn run(exe: &str, store: &str, workers: usize, via: Via, instances: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    warm_tick::project(dir.path(), exe, warm_tick::THREE);
    let mut args = vec!["--store", store];
    if workers > 0 {
        args.push("--no-functions");
    }
    let node = Server::start(dir.path(), &args, &[]);
    let workers: Vec<Worker> = (0..workers)
        .map(|i| {
            let reach = match via {
                Via::Store => ["--store", store],
                Via::Http => ["--server", node.base.as_str()],
            };
            Worker::start(dir.path(), &format!("w{i}"), &reach, &[])
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let base = node.base.clone();
    let start = Instant::now();
    warm_tick::start_three(std::slice::from_ref(&base), instances);
    let agent = server::agent();
    while server::count_instances(&agent, &base, "Three", "COMPLETED") < instances {
        assert!(start.elapsed() < Duration::from_secs(600), "too slow");
        std::thread::sleep(Duration::from_millis(20));
    }
    let rate = (3 * instances) as f64 / start.elapsed().as_secs_f64();
    for worker in workers {
        let (exit, log) = worker.terminate();
        assert!(exit.success(), "{exit:?}\n{log}");
    }
    node.terminate();
    rate
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    if warm_tick::serve_if_worker(None) {
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        println!("workers: benchmark");
        return;
    }
    let exe = std::env::current_exe().unwrap().display().to_string();
    let instances: usize = std::env::var("COSMOS_BENCH_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let postgres = std::env::var("COSMOS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    const RUNS: usize = 3;

    let mut schemas = 0;
    let mut measure = |kind: &str, workers: usize, via: Via| -> f64 {
        let rates: Vec<f64> = (0..RUNS)
            .map(|_| {
                if kind == "SQLite" {
                    let dir = tempfile::tempdir().unwrap();
                    let file = dir.path().join("bench.db").display().to_string();
                    run(&exe, &file, workers, via, instances)
                } else {
                    schemas += 1;
                    let schema = Schema::new(&postgres, schemas);
                    run(&exe, &schema.url(), workers, via, instances)
                }
            })
            .collect();
        eprintln!("{kind}, {workers} worker(s) via {via:?}: {rates:.0?} calls/s");
        median(rates)
    };
    println!(
        "| store | who runs the calls ({instances} instances × 3 warm calls) | calls/s (median of {RUNS}) | ratio to the node itself |"
    );
    println!("| --- | --- | ---: | ---: |");
    for kind in ["SQLite", "PostgreSQL"] {
        let node = measure(kind, 0, Via::Store);
        println!("| {kind} | the node (reference) | {node:.0} | 1.00 |");
        for (via, flag) in [(Via::Store, "--store"), (Via::Http, "--server")] {
            for workers in [1, 2] {
                let rate = measure(kind, workers, via);
                println!(
                    "| {kind} | {workers} `cosmosc worker {flag}`, node with `--no-functions` | {rate:.0} | {:.2} |",
                    rate / node
                );
            }
        }
    }
}
