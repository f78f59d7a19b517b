//! Benchmark: cold `cosmosc check` of a generated 100,000-line project, against the
//! same binary checking a one-module project (its start-up cost) in the same run.
//! Run with `cargo bench -p cosmosc --bench check`; results go to docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_test_support::generate;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn write_project(dir: &Path, modules: usize) {
    std::fs::write(dir.join("cosmos.toml"), "[project]\nname = \"generated\"\n")
        .expect("write cosmos.toml");
    for (module, text) in generate::project(modules) {
        let path = dir
            .join("src")
            .join(format!("{}.emx", module.replace('.', "/")));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create src");
        std::fs::write(path, text).expect("write module");
    }
}

fn time_check(dir: &Path, runs: usize) -> Duration {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let output = Command::new(env!("CARGO_BIN_EXE_cosmosc"))
                .args(["check", "--format", "json"])
                .arg(dir)
                .output()
                .expect("run cosmosc");
            let elapsed = start.elapsed();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stdout)
            );
            elapsed
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    // `COSMOS_BENCH_WRITE=DIR` writes the generated project there, for profiling.
    if let Ok(dir) = std::env::var("COSMOS_BENCH_WRITE") {
        let dir = Path::new(&dir);
        std::fs::create_dir_all(dir).expect("create project folder");
        write_project(dir, 100);
        return;
    }
    let large = tempfile::tempdir().expect("tempdir");
    let small = tempfile::tempdir().expect("tempdir");
    write_project(large.path(), 100);
    write_project(small.path(), 1);
    let lines: usize = generate::project(100)
        .iter()
        .map(|(_, t)| t.lines().count())
        .sum();
    let startup = time_check(small.path(), 11);
    let cold = time_check(large.path(), 11);
    println!("project: 100 modules, {lines} lines");
    println!("cosmosc check, 1 module (start-up): {:>10.2?}", startup);
    println!("cosmosc check, 100 modules (cold):  {:>10.2?}", cold);
    println!(
        "ratio to start-up:                  {:>10.1}x",
        cold.as_secs_f64() / startup.as_secs_f64()
    );
    println!(
        "ratio to the 1 s target:            {:>10.2}",
        cold.as_secs_f64()
    );
}
