//! Benchmark: checking a generated 100,000-line project through the salsa database,
//! cold and after editing one rule body. Run with
//! `cargo bench -p cosmos-semantics --bench check`; results go to docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_test_support::generate;

use cosmos_diagnostics::FileId;
use cosmos_semantics::Analysis;
use std::time::{Duration, Instant};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let modules = std::env::var("COSMOS_BENCH_MODULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let project = generate::project(modules);
    let lines: usize = project.iter().map(|(_, t)| t.lines().count()).sum();

    // The parser alone, as the reference measured in the same run.
    let mut parse_only = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for (_, text) in &project {
            let (module, errors) = cosmos_syntax::parse(text);
            assert!(errors.is_empty() && !module.items.is_empty());
        }
        parse_only.push(start.elapsed());
    }

    let mut cold = Vec::new();
    let mut analysis = Analysis::new();
    for _ in 0..5 {
        analysis = Analysis::new();
        let start = Instant::now();
        for (i, (module, text)) in project.iter().enumerate() {
            analysis.set_file(FileId(i as u32), module, text.clone());
        }
        let diagnostics = analysis.diagnostics();
        cold.push(start.elapsed());
        assert!(
            diagnostics.is_empty(),
            "generated project has diagnostics: {:?}",
            &diagnostics[..diagnostics.len().min(3)]
        );
    }

    let (module, text) = &project[modules / 2];
    let mut recheck = Vec::new();
    let rounds = std::env::var("COSMOS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    for round in 0..rounds {
        let edited = if round % 2 == 0 {
            text.replacen(generate::EDIT_FROM, generate::EDIT_TO, 1)
        } else {
            text.clone()
        };
        let start = Instant::now();
        analysis.set_file(FileId((modules / 2) as u32), module, edited);
        let diagnostics = analysis.diagnostics();
        recheck.push(start.elapsed());
        assert!(diagnostics.is_empty());
    }
    let one_file = median(
        (0..20)
            .map(|_| {
                let start = Instant::now();
                let _ = cosmos_syntax::parse(&project[modules / 2].1);
                start.elapsed()
            })
            .collect(),
    );
    let cold = median(cold);
    let parse_only = median(parse_only);
    let recheck = median(recheck);
    println!("project: {modules} modules, {lines} lines");
    println!("parse only (reference):      {:>10.2?}", parse_only);
    println!("parse one module (reference):{:>10.2?}", one_file);
    println!("cold check (in process):     {:>10.2?}", cold);
    println!("re-check after a body edit:  {:>10.2?}", recheck);
    println!(
        "ratio cold / re-check:       {:>10.1}x",
        cold.as_secs_f64() / recheck.as_secs_f64()
    );
}
