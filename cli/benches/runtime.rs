//! Benchmark: the runtime as a user runs it — the real `cosmosc` binary on a SQLite
//! file, with a real warm worker process (this benchmark's own executable, which acts
//! as the worker when the executor starts it with `COSMOS_PROTOCOL=lines`).
//!
//! 1. Engine overhead per step: a 100-step workflow alternating a warm-function rule
//!    and a pure rule. The worker stamps when it writes each answer and when the next
//!    call arrives; the gap is the runtime's work between a call's completion and the
//!    next call's dispatch (read the answer, commit the call result, lease the event,
//!    step the engine, commit the step, lease the call, write it to the worker).
//!    Reference, same run: the same worker answering the same 100 calls in a loop
//!    with no runtime in between (only the pipe round trip).
//! 2. Instances completed per second, N instances started at once through the HTTP
//!    API of `cosmosc serve`, each taking 3 warm calls.
//! 3. Resident memory of `cosmosc serve` at rest, and with 10,000 parked instances
//!    (each waiting for a signal).
//!
//! Run with `cargo bench -p cosmosc --bench runtime`; results go to
//! docs/benchmarks.md. `COSMOS_BENCH_INSTANCES=N` changes N (200),
//! `COSMOS_BENCH_PARKED=N` the parked count (10,000).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../tests/support/server.rs"]
mod server;
mod warm_tick;

use serde_json::{Value, json};
use server::Server;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The benchmark's workflows besides `Three`.
const WORKFLOWS: &str = r#"
/** 100 steps: a warm call, then a pure rule, in turn. */
workflow Steps {
    facts {
        n: Int = 0
        pure: Int = 0
    }
    rule "call" {
        match { n < 100 && pure == n }
        action { tick(n: n) }
        reaction { n = result }
    }
    rule "pure" {
        match { pure < n }
        action { n }
        reaction { pure = result }
    }
    complete when { n >= 100 && pure == n }
}

/** Waits for a signal. */
workflow Parked {
    input { seed: Int }
    facts { by: String? }
    signal go(who: String) { by = who }
    complete when { by != null }
}
"#;

fn project(dir: &Path, exe: &str) {
    warm_tick::project(dir, exe, &format!("{}{WORKFLOWS}", warm_tick::THREE));
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Gaps (ms) between each `answered` and the next `received` in ticks.log.
fn gaps(log: &str) -> Vec<f64> {
    let mut gaps = Vec::new();
    let mut last_answer: Option<u128> = None;
    for line in log.lines() {
        let (kind, ns) = line.split_once(' ').unwrap();
        let ns: u128 = ns.parse().unwrap();
        match kind {
            "received" => {
                if let Some(a) = last_answer.take() {
                    gaps.push((ns - a) as f64 / 1e6);
                }
            }
            _ => last_answer = Some(ns),
        }
    }
    gaps.sort_by(f64::total_cmp);
    gaps
}

fn step_overhead(cosmosc: &str, exe: &str) -> (Vec<f64>, Vec<f64>) {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), exe);
    let out = Command::new(cosmosc)
        .args(["run", ".", "Steps", "--json", "--store", "bench.db"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runtime = gaps(&std::fs::read_to_string(dir.path().join("ticks.log")).unwrap());

    // Reference: the same worker, the same 100 calls, answered in a plain loop.
    let reference_dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(exe)
        .env("COSMOS_PROTOCOL", "lines")
        .current_dir(reference_dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for n in 0..100 {
        writeln!(stdin, "{}", json!({"id": n, "calls": [{"n": n}]})).unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
    }
    drop(stdin);
    child.wait().unwrap();
    let reference = gaps(&std::fs::read_to_string(reference_dir.path().join("ticks.log")).unwrap());
    (runtime, reference)
}

/// `cosmosc serve` on the project in `root`, its state in `serve.db` there.
fn serve(root: &Path) -> Server {
    Server::start(root, &["--store", "serve.db"], &[])
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap()
}

fn post(agent: &ureq::Agent, url: &str, body: &Value) -> Value {
    let mut response = agent.post(url).send_json(body).unwrap();
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

fn main() {
    if warm_tick::serve_if_worker(Some("ticks.log")) {
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        println!("runtime: benchmark");
        return;
    }
    let cosmosc = env!("CARGO_BIN_EXE_cosmosc");
    let exe = std::env::current_exe().unwrap().display().to_string();
    let instances: usize = std::env::var("COSMOS_BENCH_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let parked: usize = std::env::var("COSMOS_BENCH_PARKED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);

    // 1. Step overhead.
    let (runtime, reference) = step_overhead(cosmosc, &exe);
    let (m, p99) = (percentile(&runtime, 0.5), percentile(&runtime, 0.99));
    let (rm, rp99) = (percentile(&reference, 0.5), percentile(&reference, 0.99));
    println!("| measure | runtime | reference (bare pipe) | ratio |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| call completion → next dispatch, median ({} steps) | {m:.3} ms | {rm:.3} ms | {:.1}× |",
        runtime.len(),
        m / rm
    );
    println!(
        "| call completion → next dispatch, p99 | {p99:.3} ms | {rp99:.3} ms | {:.1}× |",
        p99 / rp99
    );

    // 2. Instances per second.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), &exe);
    let server = serve(dir.path());
    std::thread::sleep(Duration::from_millis(300));
    let rest = rss_kib(server.child.id());
    let start = Instant::now();
    for seed in 0..instances {
        post(
            &agent,
            &format!("{}/v1/workflows/Three/instances", server.base),
            &json!({"seed": seed}),
        );
    }
    let started = start.elapsed();
    while server::count_instances(&agent, &server.base, "Three", "COMPLETED") < instances {
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = start.elapsed();
    println!(
        "| {instances} instances × 3 warm calls, started at once (HTTP) | {:.0} instances/s ({:.2} s; starting took {:.2} s) | | |",
        instances as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        started.as_secs_f64()
    );

    // 3. Memory.
    for seed in 0..parked {
        post(
            &agent,
            &format!("{}/v1/workflows/Parked/instances", server.base),
            &json!({"seed": seed}),
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    let loaded = rss_kib(server.child.id());
    println!(
        "| resident memory of `cosmosc serve` at rest | {:.1} MB | | |",
        rest as f64 / 1024.0
    );
    println!(
        "| … with {parked} parked instances (and {instances} finished) | {:.1} MB | | |",
        loaded as f64 / 1024.0
    );
}
