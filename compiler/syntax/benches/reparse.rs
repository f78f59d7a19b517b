//! `parse` against `parse_incremental` after a one-rule edit of a generated module
//! of about a thousand lines: the median of 50 runs of each, and their ratio.
//!
//! Run with `cargo bench -p cosmos-syntax --bench reparse`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A bench may fail loudly.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cosmos_syntax::{ReparseCache, parse, parse_incremental};

use cosmos_test_support::generate;

const RUNS: usize = 50;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let before = generate::project(1).remove(0).1;
    let after = before.replacen(generate::EDIT_FROM, generate::EDIT_TO, 1);
    assert_ne!(before, after, "the edit did not apply");

    let (full, incremental) = time(&before, &after);
    println!(
        "{} lines, {} bytes; one-rule edit, median of {RUNS}",
        after.lines().count(),
        after.len()
    );
    report(full, incremental);

    // The same rule with a syntax error (the workflow is then recovered member by
    // member).
    let broken = before.replacen(generate::EDIT_FROM, "total += (result.width", 1);
    let (full, incremental) = time(&before, &broken);
    println!("the same rule with a syntax error, median of {RUNS}");
    report(full, incremental);
}

/// Medians of `parse(after)` and of `parse_incremental(after)` with a cache that
/// holds `before`, as in an editor.
fn time(before: &str, after: &str) -> (Duration, Duration) {
    assert!(parse(after) == parse_incremental(after, &mut ReparseCache::default()));
    let full: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(parse(black_box(after)));
            start.elapsed()
        })
        .collect();
    let mut cache = ReparseCache::default();
    let incremental: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let _ = parse_incremental(before, &mut cache);
            let start = Instant::now();
            black_box(parse_incremental(black_box(after), &mut cache));
            start.elapsed()
        })
        .collect();
    (median(full), median(incremental))
}

fn report(full: Duration, incremental: Duration) {
    println!("  parse:             {full:>10.3?}");
    println!("  parse_incremental: {incremental:>10.3?}");
    println!(
        "  ratio:             {:>9.1}x",
        full.as_secs_f64() / incremental.as_secs_f64().max(1e-12)
    );
}
