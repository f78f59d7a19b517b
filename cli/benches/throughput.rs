//! Benchmark: instances completed per second when N instances (200) of a workflow of
//! three warm calls are started at once through the API of one `cosmosc serve` node
//! that runs the functions itself, on SQLite and on PostgreSQL (issue 16's throughput
//! target: at least 2× the code before its changes, on both stores).
//!
//! `COSMOS_BENCH_BASELINE=PATH` names another `cosmosc` (an earlier build): it is
//! measured in the same runs, in turn with this build (round robin: each run measures
//! every (store, binary) pair once, in fresh processes and a fresh store), so that a
//! change is compared with the code before it under one load. The table gives the
//! median of the runs and the ratio to the baseline.
//!
//! Each measurement: a fresh store (a SQLite file, or a new PostgreSQL schema), one
//! node, the instances started by four client threads, and the time from the first
//! start until all of them are COMPLETED, seen by counting them in the store every
//! 10 ms on a connection of the benchmark's own (a SQLite reader of the WAL file, or
//! a PostgreSQL client), so that watching takes nothing from the node: listing them
//! through the API, as the benchmark did at first, holds the node's one SQLite
//! connection for a page of rows each time. The function is this benchmark's
//! own executable, answering `n + 1` as a warm process (pool `default`, 4 processes).
//!
//! Run with `cargo bench -p cosmosc --bench throughput`; results go to
//! docs/benchmarks.md ("Throughput (issue 16)"). `COSMOS_TEST_POSTGRES` names the
//! server (without it, SQLite only), `COSMOS_BENCH_INSTANCES=N` changes N (200) and
//! `COSMOS_BENCH_RUNS=R` the runs (5).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../tests/support/postgres.rs"]
mod pg_schema;
#[allow(dead_code)]
#[path = "../tests/support/server.rs"]
mod server;
mod warm_tick;

use server::Server;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Counts the instances of the benchmark's workflow that completed, on a connection
/// to the node's store of its own.
enum Watcher {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

const COMPLETED: &str =
    "SELECT count(*) FROM instances WHERE workflow = 'Three' AND status = 'COMPLETED'";

impl Watcher {
    fn open(store: &str) -> Watcher {
        if store.starts_with("postgres") {
            Watcher::Postgres(postgres::Client::connect(store, postgres::NoTls).unwrap())
        } else {
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
            Watcher::Sqlite(rusqlite::Connection::open_with_flags(store, flags).unwrap())
        }
    }

    fn completed(&mut self) -> usize {
        let n: i64 = match self {
            Watcher::Sqlite(conn) => conn.query_row(COMPLETED, [], |row| row.get(0)).unwrap(),
            Watcher::Postgres(client) => client.query_one(COMPLETED, &[]).unwrap().get(0),
        };
        usize::try_from(n).unwrap()
    }
}

/// Instances per second of one measurement: `binary` serving on `store`; and the
/// seconds that starting them took (all `POST`s answered).
fn run(binary: &Path, exe: &str, store: &str, instances: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    warm_tick::project(dir.path(), exe, warm_tick::THREE);
    let node = Server::start_binary(binary, dir.path(), &["--store", store], &[]);
    std::thread::sleep(Duration::from_millis(300));
    let base = node.base.clone();
    let start = Instant::now();
    warm_tick::start_three(std::slice::from_ref(&base), instances);
    let started = start.elapsed().as_secs_f64();
    let mut watcher = Watcher::open(store);
    while watcher.completed() < instances {
        assert!(start.elapsed() < Duration::from_secs(600), "too slow");
        std::thread::sleep(Duration::from_millis(10));
    }
    let rate = instances as f64 / start.elapsed().as_secs_f64();
    node.terminate();
    (rate, started)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if warm_tick::serve_if_worker(None) {
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        println!("throughput: benchmark");
        return;
    }
    let exe = std::env::current_exe().unwrap().display().to_string();
    let instances = number("COSMOS_BENCH_INSTANCES", 200);
    let runs = number("COSMOS_BENCH_RUNS", 5).max(1);
    let mut binaries = vec![("this build", PathBuf::from(env!("CARGO_BIN_EXE_cosmosc")))];
    if let Ok(baseline) = std::env::var("COSMOS_BENCH_BASELINE") {
        binaries.push(("baseline", PathBuf::from(baseline)));
    }
    let postgres = std::env::var("COSMOS_TEST_POSTGRES").ok();
    let mut stores = vec!["SQLite"];
    if postgres.is_some() {
        stores.push("PostgreSQL");
    }
    // rates[store][binary] = one figure per run.
    let mut rates = vec![vec![Vec::new(); binaries.len()]; stores.len()];
    for round in 0..runs {
        for (s, store) in stores.iter().enumerate() {
            for (b, (name, binary)) in binaries.iter().enumerate() {
                let (rate, started) = if *store == "SQLite" {
                    let dir = tempfile::tempdir().unwrap();
                    let file = dir.path().join("bench.db").display().to_string();
                    run(binary, &exe, &file, instances)
                } else {
                    // PostgreSQL is in `stores` only when COSMOS_TEST_POSTGRES is set.
                    let schema = pg_schema::schema("throughput").unwrap();
                    run(binary, &exe, &schema.url, instances)
                };
                eprintln!(
                    "run {}: {store}, {name}: {rate:.0} instances/s (starting them took {started:.2} s of {:.2} s)",
                    round + 1,
                    instances as f64 / rate
                );
                rates[s][b].push(rate);
            }
        }
    }
    println!(
        "| store | cosmosc | {instances} instances × 3 warm calls: instances/s (median of {runs}) | runs | ratio to the baseline |"
    );
    println!("| --- | --- | ---: | --- | ---: |");
    for (s, store) in stores.iter().enumerate() {
        let reference = (binaries.len() > 1).then(|| median(rates[s][1].clone()));
        for (b, (name, _)) in binaries.iter().enumerate() {
            let runs: Vec<String> = rates[s][b].iter().map(|r| format!("{r:.0}")).collect();
            let rate = median(rates[s][b].clone());
            let ratio = reference.map_or("—".to_string(), |r| format!("{:.2}", rate / r));
            println!(
                "| {store} | {name} | {rate:.0} | {} | {ratio} |",
                runs.join(", ")
            );
        }
    }
}
