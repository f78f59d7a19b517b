//! JIT rule-match benchmark (DESIGN.md "Targets"): 20 `match` predicates over 10,000
//! instances' facts, evaluated by the JIT, by the reference interpreter and by
//! hand-written Rust over a plain struct, in one run; a reaction that updates facts;
//! JIT compile time per body; bytes per instance of facts; a list built in a local
//! with `<<`. Prints a markdown table.
//!
//! `cargo bench -p cosmos-codegen --bench match`; with
//! `COSMOS_BENCH_PROFILE=each_match|each_match_hot|held_all|tally|tally_hot` it repeats that one measure for
//! ten seconds and prints nothing else, for a sampling profiler.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(unsafe_code)]

use cosmos_ir::host::Handlers;
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
    rule "tally" {
        match { attempts < 0 }
        action { 1 }
        reaction {
            attempts += 1
            status = "seen"
            meta["last"] = "yes"
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

/// A list built in a local with `xs << i` (a helper of its own program), against
/// `Vec::push` and the interpreter: each `<<` appends to the local's own value, not
/// to a copy of it.
fn local_list() {
    use cosmos_ir::interp::{self, Env, Facts as EnvFacts};
    use cosmos_ir::value::Value;
    const SOURCE: &str = r#"
def build(n: Int): List<Int> {
    def xs: List<Int> = []
    for (i in 0..<n) { xs << i }
    xs
}
"#;
    const N: i64 = 1_000;
    let mut analysis = Analysis::new();
    analysis.set_file(FileId(0), "main", SOURCE.to_string());
    let program = analysis.lower_project().unwrap();
    let jit = Jit::compile(&program).unwrap();
    let f = &program.helpers[0];
    let args = || vec![Value::Int(N)];
    let interp_run = || {
        let env = Env {
            inputs: &[],
            facts: EnvFacts::Read(&[]),
            now: 0,
        };
        interp::run(&program, f, args(), env).unwrap().0
    };
    assert_eq!(jit.run_helper(0, args()).unwrap(), interp_run());
    let (j, _) = median(|| match jit.run_helper(0, black_box(args())).unwrap() {
        Value::List(items) => items.len(),
        _ => 0,
    });
    let (t, _) = median(|| match interp_run() {
        Value::List(items) => items.len(),
        _ => 0,
    });
    let (h, _) = median(|| {
        let mut xs = Vec::new();
        for i in 0..black_box(N) {
            xs.push(i);
        }
        xs.len()
    });
    println!(
        "\nA list of {N} `Int`s built in a local (`xs << i`): JIT {:.1} µs, interpreter {:.1} µs, hand-written `Vec::push` {:.1} µs ({:.1}× hand-written).",
        j.as_secs_f64() * 1e6,
        t.as_secs_f64() * 1e6,
        h.as_secs_f64() * 1e6,
        j.as_secs_f64() / h.as_secs_f64().max(1e-12)
    );
}

/// One measure repeated for ten seconds ([`main`]'s `COSMOS_BENCH_PROFILE`).
fn profile(what: &str, host: &JitWorkflowHost<'_>, instances: &[Instance], indices: &[usize]) {
    let start = Instant::now();
    let result = json!(7);
    let mut n = 0usize;
    while start.elapsed() < Duration::from_secs(10) {
        match what {
            "each_match" => {
                for instance in instances {
                    host.each_match(indices.iter().copied(), instance, 0, |_, holds| {
                        n += usize::from(holds);
                        true
                    })
                    .unwrap();
                }
            }
            "held_all" => {
                // Laid out once, as the "held in its layout" rows measure.
                let mut held: Vec<_> = instances.iter().map(|i| host.prepare(i)).collect();
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(10) {
                    for prepared in held.iter_mut() {
                        host.each_match_prepared(
                            indices.iter().copied(),
                            prepared,
                            0,
                            |_, holds| {
                                n += usize::from(holds);
                                true
                            },
                        )
                        .unwrap();
                    }
                }
            }
            "each_match_hot" => {
                // The first 50 instances again and again: their facts stay in cache.
                for instance in &instances[..50] {
                    host.each_match(indices.iter().copied(), instance, 0, |_, holds| {
                        n += usize::from(holds);
                        true
                    })
                    .unwrap();
                }
            }
            "tally" => {
                let mut copies: Vec<Instance> = instances[..2_000].to_vec();
                for c in &mut copies {
                    host.reaction("tally", c, &result, 0).unwrap();
                }
                n += copies.len();
            }
            "tally_hot" => {
                let mut one = instances[0].clone();
                for _ in 0..2_000 {
                    host.reaction("tally", &mut one, &result, 0).unwrap();
                }
                n += 2_000;
            }
            other => {
                panic!(
                    "COSMOS_BENCH_PROFILE: no measure {other:?} (each_match, each_match_hot, held_all, tally, tally_hot)"
                )
            }
        }
    }
    println!("{n}");
}

/// The median of `RUNS` timed runs of `f` after one warm-up run, each on a fresh
/// `setup()` made outside the timing (dropped outside it too).
fn median_of<T>(setup: impl Fn() -> T, mut f: impl FnMut(&mut T)) -> (Duration, T) {
    let mut data = setup();
    f(&mut data);
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        data = setup();
        let start = Instant::now();
        f(black_box(&mut data));
        times.push(start.elapsed());
    }
    times.sort();
    (times[RUNS / 2], data)
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

    // `COSMOS_BENCH_PROFILE=each_match|each_match_hot|held_all|tally|tally_hot` repeats one measure for ten seconds
    // and prints nothing else, for a sampling profiler (`perf record`).
    if let Ok(what) = std::env::var("COSMOS_BENCH_PROFILE") {
        profile(&what, &host, &instances, &indices);
        return;
    }

    let (hand, hand_count) = median(|| {
        let mut n = 0;
        for f in &plain {
            for p in &HAND {
                n += usize::from(black_box(p)(f));
            }
        }
        n
    });
    let (jit_prepared, jit_count) = median(|| {
        let mut n = 0;
        for instance in &instances {
            let mut prepared = host.prepare(instance);
            for rule in &indices {
                n += usize::from(host.matches_prepared(*rule, &mut prepared, 0).unwrap());
            }
        }
        n
    });
    // The instances held in the JIT's layout, as the hand-written baseline holds its
    // structs: laid out once, outside the timing.
    let mut held: Vec<_> = instances.iter().map(|i| host.prepare(i)).collect();
    let (jit_held, jit_held_count) = median(|| {
        let mut n = 0;
        for prepared in held.iter_mut() {
            for rule in &indices {
                n += usize::from(host.matches_prepared(*rule, prepared, 0).unwrap());
            }
        }
        n
    });
    // The same, with every rule's `match` in the workflow's one native call.
    let (jit_held_all, jit_held_all_count) = median(|| {
        let mut n = 0;
        for prepared in held.iter_mut() {
            host.each_match_prepared(indices.iter().copied(), prepared, 0, |_, holds| {
                n += usize::from(holds);
                true
            })
            .unwrap();
        }
        n
    });
    drop(held);
    let (jit_host, jit_host_count) = median(|| {
        let mut n = 0;
        for instance in &instances {
            for name in &names {
                n += usize::from(host.matches(name, instance, 0).unwrap());
            }
        }
        n
    });
    // The runtime's path since issue 16: every rule's `match` for an instance in one
    // call (`each_match`, which the engine's `first_match` uses): the instance laid
    // out once, no rule found by name, one context.
    let mut all = Vec::with_capacity(names.len());
    let (jit_all, jit_all_count) = median(|| {
        let mut n = 0;
        for instance in &instances {
            host.each_match(indices.iter().copied(), instance, 0, |_, holds| {
                n += usize::from(holds);
                true
            })
            .unwrap();
        }
        n
    });
    host.matches_all(&instances[0], 0, &mut all).unwrap();
    assert_eq!(all.len(), names.len() + 2);
    let (interpreted, interp_count) = median(|| {
        let mut n = 0;
        for instance in &instances {
            for name in &names {
                n += usize::from(interp.matches(name, instance, 0).unwrap());
            }
        }
        n
    });
    assert_eq!(hand_count, jit_count);
    assert_eq!(hand_count, jit_held_count);
    assert_eq!(hand_count, jit_held_all_count);
    assert_eq!(hand_count, jit_host_count);
    assert_eq!(hand_count, jit_all_count);
    assert_eq!(hand_count, interp_count);

    // A reaction that updates facts (three assignments), on copies of the instances
    // made before each timed run (only the reactions are timed).
    let reactions = 2_000;
    let result = json!(7);
    let copies = || instances[..reactions].to_vec();
    let (react_jit, _) = median_of(copies, |copies| {
        for c in copies.iter_mut() {
            host.reaction("bump", c, &result, 0).unwrap();
        }
    });
    let (react_interp, _) = median_of(copies, |copies| {
        for c in copies.iter_mut() {
            interp.reaction("bump", c, &result, 0).unwrap();
        }
    });

    // The three-assignment reaction (an `Int +=`, a `String` assignment, a map put),
    // against the same three assignments written in Rust over the plain struct.
    let (tally_jit, _) = median_of(copies, |copies| {
        for c in copies.iter_mut() {
            host.reaction("tally", c, &result, 0).unwrap();
        }
    });
    let (tally_interp, _) = median_of(copies, |copies| {
        for c in copies.iter_mut() {
            interp.reaction("tally", c, &result, 0).unwrap();
        }
    });
    let (tally_hand, _) = median_of(
        || plain[..reactions].to_vec(),
        |copies| {
            for f in copies.iter_mut() {
                black_box(&mut *f).attempts += 1;
                f.status = "seen".to_string();
                f.meta.insert("last".to_string(), "yes".to_string());
            }
        },
    );
    {
        // The engines agree on the reaction's facts.
        let mut a = instances[..50].to_vec();
        let mut b = a.clone();
        for (x, y) in a.iter_mut().zip(&mut b) {
            host.reaction("tally", x, &result, 0).unwrap();
            interp.reaction("tally", y, &result, 0).unwrap();
        }
        assert_eq!(a, b);
    }
    let tally_jit = ns_per(tally_jit, reactions);
    let tally_interp = ns_per(tally_interp, reactions);
    let tally_hand = ns_per(tally_hand, reactions);

    let hand_ns = ns_per(hand, evaluations);
    let prepared_ns = ns_per(jit_prepared, evaluations);
    let held_ns = ns_per(jit_held, evaluations);
    let held_all_ns = ns_per(jit_held_all, evaluations);
    let host_ns = ns_per(jit_host, evaluations);
    let all_ns = ns_per(jit_all, evaluations);
    let interp_ns = ns_per(interpreted, evaluations);
    println!("| measure | value | ratio |");
    println!("| --- | --- | --- |");
    println!("| hand-written Rust, per match | {hand_ns:.1} ns | 1.0× |");
    println!(
        "| JIT, prepared instance (`matches_prepared`), per match | {prepared_ns:.1} ns | {:.1}× hand-written; {:.1}× faster than the interpreter |",
        prepared_ns / hand_ns,
        interp_ns / prepared_ns
    );
    println!(
        "| JIT, instances held in its layout (laid out once, untimed, as the plain structs are), per match | {held_ns:.1} ns | {:.1}× hand-written; {:.1}× faster than the interpreter |",
        held_ns / hand_ns,
        interp_ns / held_ns
    );
    println!(
        "| JIT, instances held in its layout, all of a workflow's matches in one native call (`each_match_prepared`), per match | {held_all_ns:.1} ns | {:.1}× hand-written; {:.1}× faster than the interpreter |",
        held_all_ns / hand_ns,
        interp_ns / held_all_ns
    );
    println!(
        "| JIT through `JitWorkflowHost::matches`, per match | {host_ns:.1} ns | {:.1}× hand-written; {:.1}× faster than the interpreter |",
        host_ns / hand_ns,
        interp_ns / host_ns
    );
    println!(
        "| JIT through `JitWorkflowHost::each_match` (the runtime's path: all 20 rules of an instance in one call), per match | {all_ns:.1} ns | {:.1}× hand-written; {:.1}× faster than the interpreter |",
        all_ns / hand_ns,
        interp_ns / all_ns
    );
    println!(
        "| interpreter through `WorkflowHost::matches`, per match | {interp_ns:.1} ns | {:.1}× hand-written |",
        interp_ns / hand_ns
    );
    println!(
        "| reaction (3 fact updates), JIT | {:.0} ns | {:.1}× faster than the interpreter |",
        ns_per(react_jit, reactions),
        react_interp.as_nanos() as f64 / react_jit.as_nanos().max(1) as f64
    );
    println!(
        "| reaction (3 fact updates), interpreter | {:.0} ns | |",
        ns_per(react_interp, reactions)
    );
    println!(
        "| three-assignment reaction (`+=`, a `String`, a map put), hand-written Rust | {tally_hand:.0} ns | 1.0× |"
    );
    println!(
        "| three-assignment reaction, JIT through `JitWorkflowHost::reaction` | {tally_jit:.0} ns | {:.1}× hand-written |",
        tally_jit / tally_hand
    );
    println!(
        "| three-assignment reaction, interpreter | {tally_interp:.0} ns | {:.1}× hand-written |",
        tally_interp / tally_hand
    );
    println!(
        "| JIT compile, per body ({bodies} bodies: 22 rules' parts and the standard library's helpers) | {:.1} µs | whole program {:.2} ms |",
        compile.as_secs_f64() * 1e6 / bodies as f64,
        compile.as_secs_f64() * 1e3
    );
    println!(
        "| facts per instance: `Instance` (`Vec<Value>`, inputs and facts) | {instance_bytes:.0} B | JIT cells while evaluating: {cells_bytes} B |"
    );
    println!("| facts per instance: plain struct | {plain_bytes:.0} B | |");
    println!(
        "\n{INSTANCES} instances × 20 predicates, median of {RUNS} runs after a warm-up; {hand_count} matches."
    );

    // The fixed cost of a call into native code: one instance, in cache.
    let hot = 1_000_000;
    let p14 = indices[13];
    let mut one = host.prepare(&instances[0]);
    let (hot_jit, _) = median(|| {
        let mut n = 0;
        for _ in 0..hot {
            n += usize::from(host.matches_prepared(black_box(p14), &mut one, 0).unwrap());
        }
        n
    });
    let (hot_hand, _) = median(|| {
        let mut n = 0;
        for _ in 0..hot {
            n += usize::from(black_box(HAND[13])(black_box(&plain[0])));
        }
        n
    });
    println!(
        "\n`deadline - size > 500` on one instance in cache: JIT (prepared) {:.1} ns, hand-written {:.1} ns per match.",
        ns_per(hot_jit, hot),
        ns_per(hot_hand, hot)
    );

    // The three-assignment reaction on one instance in cache, again and again (after
    // the first, the map put replaces the entry): what the engines do per reaction
    // without the cache misses of reaching 2,000 instances' facts.
    let hot_reactions = 200_000;
    let (hot_tally_jit, _) = median_of(
        || instances[0].clone(),
        |one| {
            for _ in 0..hot_reactions {
                host.reaction("tally", black_box(&mut *one), &result, 0)
                    .unwrap();
            }
        },
    );
    let (hot_tally_hand, _) = median_of(
        || plain[0].clone(),
        |f| {
            for _ in 0..hot_reactions {
                black_box(&mut *f).attempts += 1;
                f.status = "seen".to_string();
                f.meta.insert("last".to_string(), "yes".to_string());
            }
        },
    );
    println!(
        "\nThe three-assignment reaction on one instance in cache: JIT {:.1} ns, hand-written {:.1} ns per reaction ({:.1}×).",
        ns_per(hot_tally_jit, hot_reactions),
        ns_per(hot_tally_hand, hot_reactions),
        hot_tally_jit.as_nanos() as f64 / hot_tally_hand.as_nanos().max(1) as f64
    );
    local_list();

    // Per predicate, against instances prepared once (preparing is timed above).
    let mut prepared: Vec<_> = instances.iter().map(|i| host.prepare(i)).collect();
    println!(
        "\n| predicate | hand-written | JIT (prepared) | interpreter | JIT / hand | interpreter / JIT |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (p, name) in names.iter().enumerate() {
        let (h, _) = median(|| plain.iter().filter(|f| black_box(HAND[p])(f)).count());
        let (j, _) = median(|| {
            let mut n = 0;
            for i in prepared.iter_mut() {
                n += usize::from(host.matches_prepared(indices[p], i, 0).unwrap());
            }
            n
        });
        let (t, _) = median(|| {
            instances
                .iter()
                .filter(|i| interp.matches(name, i, 0).unwrap())
                .count()
        });
        let (h, j, t) = (
            ns_per(h, INSTANCES),
            ns_per(j, INSTANCES),
            ns_per(t, INSTANCES),
        );
        println!(
            "| `{}` | {h:.1} ns | {j:.1} ns | {t:.1} ns | {:.1}× | {:.1}× |",
            match_text(name),
            j / h,
            t / j
        );
    }
}
