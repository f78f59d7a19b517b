//! JIT rule-match benchmark (DESIGN.md "Targets"): 20 `match` predicates over 10,000
//! instances' facts, evaluated by the JIT, by the reference interpreter and by
//! hand-written Rust over a plain struct, in one run; a reaction that updates facts;
//! JIT compile time per body; bytes per instance of facts. Prints a markdown table.
//!
//! `cargo bench -p cosmos-codegen --bench match`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use cosmos_codegen::{Jit, JitWorkflowHost};
use cosmos_diagnostics::FileId;
use cosmos_ir::host::{Instance, WorkflowHost};
use cosmos_semantics::Analysis;
use serde_json::json;

struct Counting;

static BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to the system allocator unchanged and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const INSTANCES: usize = 10_000;
const RUNS: usize = 7;

const SOURCE: &str = r#"
enum Tier { FREE, PRO, ENTERPRISE }
workflow Bench {
    input { region: String, tier: Tier }
    facts {
        status: String = "new"
        attempts: Int = 0
        size: Int = 0
        tags: List<String> = []
        scores: List<Int> = []
        meta: Map<String, String> = [:]
        owner: String?
        approved: Bool = false
        deadline: Int = 0
    }
    rule "p01" { match { status == "new" }; action { 1 } }
    rule "p02" { match { attempts < 3 && !approved }; action { 1 } }
    rule "p03" { match { size * 2 + 1 > 1000 }; action { 1 } }
    rule "p04" { match { tags.contains("urgent") }; action { 1 } }
    rule "p05" { match { scores.any { it > 90 } }; action { 1 } }
    rule "p06" { match { meta.containsKey("owner") }; action { 1 } }
    rule "p07" { match { owner != null }; action { 1 } }
    rule "p08" { match { owner == null || status == "done" }; action { 1 } }
    rule "p09" { match { region == "eu" && tier == Tier.PRO }; action { 1 } }
    rule "p10" { match { size % 7 == 3 || attempts == 2 }; action { 1 } }
    rule "p11" { match { !tags.isEmpty() && tags.contains("video") }; action { 1 } }
    rule "p12" { match { scores.size() > 2 && scores[0] < scores[1] }; action { 1 } }
    rule "p13" { match { meta.containsKey("priority") && attempts > 0 }; action { 1 } }
    rule "p14" { match { deadline - size > 500 }; action { 1 } }
    rule "p15" { match { status != "failed" && approved }; action { 1 } }
    rule "p16" { match { tier != Tier.FREE || size < 100 }; action { 1 } }
    rule "p17" { match { region == "us" || region == "eu" }; action { 1 } }
    rule "p18" { match { scores.any { it == attempts } }; action { 1 } }
    rule "p19" { match { !(approved || owner != null) }; action { 1 } }
    rule "p20" { match { size >= 1000 && size <= 5000 && attempts == 0 }; action { 1 } }
    rule "bump" {
        match { attempts < 1000000 }
        action { size + 1 }
        reaction {
            attempts += 1
            size = result
            if (attempts % 2 == 0) { status = "even" } else { status = "odd" }
        }
    }
}
"#;

/// The facts as a plain struct, for the hand-written reference.
#[derive(Clone)]
struct Facts {
    region: String,
    tier: u8,
    status: String,
    attempts: i64,
    size: i64,
    tags: Vec<String>,
    scores: Vec<i64>,
    meta: HashMap<String, String>,
    owner: Option<String>,
    approved: bool,
    deadline: i64,
}

type Predicate = fn(&Facts) -> bool;

const PRO: u8 = 1;
const FREE: u8 = 0;

/// The 20 predicates as a Rust programmer would write them.
const HAND: [Predicate; 20] = [
    |f| f.status == "new",
    |f| f.attempts < 3 && !f.approved,
    |f| {
        f.size
            .checked_mul(2)
            .and_then(|x| x.checked_add(1))
            .is_some_and(|x| x > 1000)
    },
    |f| f.tags.iter().any(|t| t == "urgent"),
    |f| f.scores.iter().any(|s| *s > 90),
    |f| f.meta.contains_key("owner"),
    |f| f.owner.is_some(),
    |f| f.owner.is_none() || f.status == "done",
    |f| f.region == "eu" && f.tier == PRO,
    |f| f.size % 7 == 3 || f.attempts == 2,
    |f| !f.tags.is_empty() && f.tags.iter().any(|t| t == "video"),
    |f| f.scores.len() > 2 && f.scores[0] < f.scores[1],
    |f| f.meta.contains_key("priority") && f.attempts > 0,
    |f| f.deadline.checked_sub(f.size).is_some_and(|x| x > 500),
    |f| f.status != "failed" && f.approved,
    |f| f.tier != FREE || f.size < 100,
    |f| f.region == "us" || f.region == "eu",
    |f| f.scores.contains(&f.attempts),
    |f| !(f.approved || f.owner.is_some()),
    |f| f.size >= 1000 && f.size <= 5000 && f.attempts == 0,
];

/// A small deterministic generator.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn facts(i: usize) -> Facts {
    let mut r = Rng(i as u64 * 2_654_435_761 + 1);
    let pick = |r: &mut Rng, xs: &[&str]| xs[r.below(xs.len() as u64) as usize].to_string();
    let tags = (0..r.below(4))
        .map(|_| pick(&mut r, &["urgent", "video", "audio", "hdr", "draft"]))
        .collect();
    let scores = (0..r.below(5)).map(|_| r.below(100) as i64).collect();
    let mut meta = HashMap::new();
    for _ in 0..r.below(3) {
        meta.insert(
            pick(&mut r, &["owner", "priority", "team"]),
            pick(&mut r, &["a", "b"]),
        );
    }
    Facts {
        region: pick(&mut r, &["eu", "us", "ap"]),
        tier: r.below(3) as u8,
        status: pick(&mut r, &["new", "done", "failed", "running"]),
        attempts: r.below(5) as i64,
        size: r.below(6000) as i64,
        tags,
        scores,
        meta,
        owner: (r.below(2) == 0).then(|| pick(&mut r, &["ana", "bo"])),
        approved: r.below(2) == 0,
        deadline: r.below(7000) as i64,
    }
}

fn instance(host: &WorkflowHost<'_>, f: &Facts) -> Instance {
    let tier = ["FREE", "PRO", "ENTERPRISE"][f.tier as usize];
    let mut instance = host
        .start(&json!({"region": f.region, "tier": tier}))
        .unwrap();
    let mut meta: Vec<(&String, &String)> = f.meta.iter().collect();
    meta.sort();
    let meta: serde_json::Map<String, serde_json::Value> = meta
        .into_iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    instance.facts = host
        .facts_from_json(&json!({
            "status": f.status, "attempts": f.attempts, "size": f.size, "tags": f.tags,
            "scores": f.scores, "meta": meta, "owner": f.owner, "approved": f.approved,
            "deadline": f.deadline,
        }))
        .unwrap();
    instance
}

/// The text of a predicate's `match`, from the source.
fn match_text(rule: &str) -> String {
    let needle = format!("rule \"{rule}\" {{ match {{ ");
    SOURCE
        .lines()
        .find_map(|l| l.trim().strip_prefix(&needle))
        .and_then(|rest| rest.split(" }; action").next())
        .unwrap_or(rule)
        .replace('|', "\\|")
}

/// The median of `RUNS` timed runs of `f` after one warm-up run.
fn median(mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut count = f();
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        count = black_box(f());
        times.push(start.elapsed());
    }
    times.sort();
    (times[RUNS / 2], count)
}

fn ns_per(d: Duration, n: usize) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn main() {
    let mut analysis = Analysis::new();
    analysis.set_file(FileId(0), "main", SOURCE.to_string());
    let errors: Vec<String> = analysis
        .diagnostics()
        .iter()
        .filter(|d| d.severity == cosmos_diagnostics::Severity::Error)
        .map(|d| format!("{}: {} at {:?}", d.code.code, d.message, d.primary.span))
        .collect();
    assert!(
        errors.is_empty(),
        "the benchmark program has errors: {errors:?}"
    );
    let program = analysis.lower_project().unwrap();

    // Compile time: several compiles of the whole program, per body.
    let mut compile_times = Vec::new();
    let mut bodies = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let compiled = Jit::compile(&program).unwrap();
        compile_times.push(start.elapsed());
        bodies = compiled.compile_stats().1;
    }
    compile_times.sort();
    let compile = compile_times[compile_times.len() / 2];
    let jit = Jit::compile(&program).unwrap();

    let interp = WorkflowHost::new(&program, "Bench").unwrap();
    let host = JitWorkflowHost::new(&jit, "Bench").unwrap();
    let plain: Vec<Facts> = (0..INSTANCES).map(facts).collect();

    let before = BYTES.load(Ordering::Relaxed);
    let instances: Vec<Instance> = plain.iter().map(|f| instance(&interp, f)).collect();
    let instance_bytes = (BYTES.load(Ordering::Relaxed) - before) as f64 / INSTANCES as f64;
    let before = BYTES.load(Ordering::Relaxed);
    let copies: Vec<Facts> = plain.clone();
    let plain_bytes = (BYTES.load(Ordering::Relaxed) - before) as f64 / INSTANCES as f64
        + std::mem::size_of::<Facts>() as f64;
    drop(copies);
    let cells_bytes = 8 * (program.workflows[0].facts.len() + program.workflows[0].inputs.len());

    let names: Vec<String> = (1..=20).map(|i| format!("p{i:02}")).collect();
    let indices: Vec<usize> = names.iter().map(|n| host.rule_index(n).unwrap()).collect();
    let evaluations = INSTANCES * names.len();

    // The three engines must agree before they are timed.
    for (i, f) in plain.iter().enumerate().take(500) {
        for (p, name) in names.iter().enumerate() {
            let expected = HAND[p](f);
            assert_eq!(
                interp.matches(name, &instances[i], 0).unwrap(),
                expected,
                "{name} #{i}"
            );
            assert_eq!(
                host.matches(name, &instances[i], 0).unwrap(),
                expected,
                "{name} #{i}"
            );
        }
    }

    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode == "clif" {
        println!("{}", jit.clif_text());
        return;
    }
    let reps: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    for _ in 0..reps {
        if mode == "matches" {
            let mut n = 0;
            for instance in &instances {
                for name in &names {
                    n += usize::from(host.matches(name, instance, 0).unwrap());
                }
            }
            black_box(n);
        } else if mode == "prep" {
            let mut n = 0;
            for instance in &instances {
                let prepared = host.prepare(instance);
                n += black_box(&prepared) as *const _ as usize & 1;
            }
            black_box(n);
        } else if mode == "prepsmall" {
            let mut n = 0;
            for _ in 0..(INSTANCES / 64) {
                for instance in &instances[..64] {
                    let prepared = host.prepare(instance);
                    n += black_box(&prepared) as *const _ as usize & 1;
                }
            }
            black_box(n);
        } else if mode == "prepsmallm" {
            let mut n = 0;
            for _ in 0..(INSTANCES / 64) {
                for instance in &instances[..64] {
                    let mut prepared = host.prepare(instance);
                    for rule in &indices {
                        n += usize::from(host.matches_prepared(*rule, &mut prepared, 0).unwrap());
                    }
                }
            }
            black_box(n);
        } else if mode == "handsmall" {
            let mut n = 0;
            for _ in 0..(INSTANCES / 64) {
                for f in &plain[..64] {
                    for p in &HAND {
                        n += usize::from(black_box(p)(f));
                    }
                }
            }
            black_box(n);
        } else if mode == "hand" {
            let mut n = 0;
            for f in &plain {
                for p in &HAND {
                    n += usize::from(black_box(p)(f));
                }
            }
            black_box(n);
        } else {
            let mut n = 0;
            for instance in &instances {
                let mut prepared = host.prepare(instance);
                for rule in &indices {
                    n += usize::from(host.matches_prepared(*rule, &mut prepared, 0).unwrap());
                }
            }
            black_box(n);
        }
    }
    let _ = (instance_bytes, plain_bytes, cells_bytes, compile, bodies, evaluations);

}
