//! Differential tests: every body of every program in the repository (clean ui
//! cases, the standard library's tests, the example projects) and of randomly
//! generated programs evaluates identically in the reference interpreter and in the
//! JIT, runtime errors included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{compare_program, compile, corpus};

#[test]
fn every_program_in_the_repository_runs_the_same_in_the_jit() {
    let programs = corpus();
    assert!(
        programs.len() > 20,
        "expected a corpus, found {}",
        programs.len()
    );
    let mut diffs = Vec::new();
    let mut bodies = 0;
    for (name, program) in &programs {
        let jit = compile(name, program);
        bodies += program.bodies().count();
        for d in compare_program(program, &jit) {
            diffs.push(format!("{name}: {d}"));
        }
    }
    assert!(bodies > 100, "only {bodies} bodies");
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// Generates random well-typed programs; returns how many the checker accepted and
/// the differences found.
fn random_programs(seeds: impl Iterator<Item = u64>) -> (usize, usize, Vec<String>) {
    random(seeds, false)
}

/// Generates random workflows (facts of every type, assigned in reactions); returns
/// how many the checker accepted and the differences found.
fn random_workflows(seeds: impl Iterator<Item = u64>) -> (usize, usize, Vec<String>) {
    random(seeds, true)
}

fn random(seeds: impl Iterator<Item = u64>, workflows: bool) -> (usize, usize, Vec<String>) {
    let (mut accepted, mut total, mut diffs) = (0, 0, Vec::new());
    for seed in seeds {
        total += 1;
        let mut g = support::generate::Gen::new(seed);
        let text = if workflows {
            let helper = g.program();
            format!("{helper}{}", g.workflow())
        } else {
            g.program()
        };
        let program = match support::lower_source(&text) {
            Ok(p) => p,
            Err(e) => {
                if std::env::var_os("JIT_GEN_DEBUG").is_some() {
                    eprintln!("rejected: {e}\n{text}");
                }
                continue;
            }
        };
        accepted += 1;
        let jit = compile(&format!("seed {seed}"), &program);
        if workflows {
            for d in support::compare_program(&program, &jit) {
                diffs.push(format!("seed {seed}:\n{text}\n{d}"));
            }
            continue;
        }
        let f = program
            .helpers
            .iter()
            .position(|h| h.name.ends_with(" f") || h.name == "f")
            .unwrap_or(program.helpers.len() - 1);
        for _ in 0..6 {
            let args = g.args(&program);
            if let Some(d) = support::compare_helper(&program, &jit, f, args) {
                diffs.push(format!("seed {seed}:\n{text}\n{d}"));
                break;
            }
        }
    }
    (accepted, total, diffs)
}

#[test]
fn the_generator_writes_programs_the_checker_accepts() {
    let (accepted, total, diffs) = random_programs(0..60);
    eprintln!("{accepted} of {total} generated programs check");
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
    assert!(
        accepted * 10 >= total * 8,
        "only {accepted} of {total} generated programs check"
    );
}

#[test]
fn the_generator_writes_workflows_the_checker_accepts() {
    let (accepted, total, diffs) = random_workflows(1000..1040);
    eprintln!("{accepted} of {total} generated workflows check");
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
    assert!(
        accepted * 10 >= total * 7,
        "only {accepted} of {total} generated workflows check"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(150))]

    #[test]
    fn random_programs_run_the_same_in_the_jit(seed in proptest::prelude::any::<u64>()) {
        let (_, _, diffs) = random_programs(std::iter::once(seed));
        proptest::prop_assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
    }

    #[test]
    fn random_workflows_run_the_same_in_the_jit(seed in proptest::prelude::any::<u64>()) {
        let (_, _, diffs) = random_workflows(std::iter::once(seed));
        proptest::prop_assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
    }
}
