//! Benchmark: instances per second with 1, 2 and 3 `cosmosc serve` nodes on one
//! PostgreSQL database, and SQLite against PostgreSQL on one node (issue 7).
//!
//! Each run: a fresh store (a SQLite file, or a fresh PostgreSQL schema), the nodes
//! started, N instances of a workflow taking 3 warm calls (this benchmark's own
//! executable acts as the worker) started at once through the nodes' HTTP APIs (four
//! client threads, round robin over the nodes), and the time until all of them have
//! completed. Every configuration runs 3 times; the median is printed. PostgreSQL
//! runs with its default durability (`synchronous_commit=on`: a commit waits for
//! its WAL flush) and, on one node, with `synchronous_commit=off` (closer to the
//! SQLite store's `synchronous=NORMAL`).
//!
//! Run with `cargo bench -p cosmosc --bench cluster`; results go to
//! docs/benchmarks.md ("Cluster (issue 7)"). `COSMOS_TEST_POSTGRES` names the server
//! (`postgres://postgres@127.0.0.1:5432/test` by default); `COSMOS_BENCH_INSTANCES=N`
//! changes N (300).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../tests/support/server.rs"]
mod server;
mod warm_tick;

use server::Server;
use std::time::{Duration, Instant};

/// A fresh PostgreSQL schema, dropped with the value.
struct Schema {
    base: String,
    name: String,
}

impl Schema {
    fn new(base: &str, n: usize) -> Schema {
        let name = format!("bench_{}_{n}", std::process::id());
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

/// Instances per second of one run: `nodes` nodes on `store`.
fn run(exe: &str, store: &str, nodes: usize, instances: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    warm_tick::project(dir.path(), exe, warm_tick::THREE);
    let servers: Vec<Server> = (0..nodes)
        .map(|_| Server::start(dir.path(), &["--store", store], &[]))
        .collect();
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    warm_tick::start_three(&bases, instances);
    let agent = server::agent();
    while server::count_instances(&agent, &bases[0], "Three", "COMPLETED") < instances {
        assert!(start.elapsed() < Duration::from_secs(600), "too slow");
        std::thread::sleep(Duration::from_millis(20));
    }
    instances as f64 / start.elapsed().as_secs_f64()
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
        println!("cluster: benchmark");
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
    let mut measure = |kind: &str, nodes: usize| -> f64 {
        let rates: Vec<f64> = (0..RUNS)
            .map(|_| {
                if kind == "sqlite" {
                    let dir = tempfile::tempdir().unwrap();
                    let file = dir.path().join("bench.db").display().to_string();
                    run(&exe, &file, nodes, instances)
                } else {
                    schemas += 1;
                    let schema = Schema::new(&postgres, schemas);
                    let mut url = schema.url();
                    if kind == "postgres, synchronous_commit=off" {
                        url.push_str("%20-c%20synchronous_commit%3Doff");
                    }
                    run(&exe, &url, nodes, instances)
                }
            })
            .collect();
        eprintln!("{kind}, {nodes} node(s): {rates:.1?} instances/s");
        median(rates)
    };
    let sqlite = measure("sqlite", 1);
    let pg: Vec<f64> = (1..=3).map(|nodes| measure("postgres", nodes)).collect();
    let pg_async = measure("postgres, synchronous_commit=off", 1);

    println!("| configuration | instances/s (median of {RUNS}) | ratio |");
    println!("| --- | --- | --- |");
    println!(
        "| SQLite, 1 node ({instances} instances × 3 warm calls) | {sqlite:.0} | 1.00 (reference) |"
    );
    println!(
        "| PostgreSQL, 1 node, `synchronous_commit=off` | {pg_async:.0} | {:.2}× SQLite, {:.2}× PostgreSQL 1 node |",
        pg_async / sqlite,
        pg_async / pg[0]
    );
    for (i, rate) in pg.iter().enumerate() {
        println!(
            "| PostgreSQL, {} node(s) | {rate:.0} | {:.2}× SQLite, {:.2}× PostgreSQL 1 node |",
            i + 1,
            rate / sqlite,
            rate / pg[0]
        );
    }
}
