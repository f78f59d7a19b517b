//! What `check` accepts, every later stage accepts too, for long and deep programs
//! (docs/architecture.md, "Chains are flat; everything else nests at most 200
//! levels"). Generated programs — long chains of every operator, long `else if`
//! chains, shallow nesting of every kind — check clean, lower, survive the bundle's
//! encoding and decoding, and run to the same value in the interpreter and the JIT;
//! nesting past the limit gets `E0003 nested-too-deeply` and nothing worse. Every
//! case runs on a thread with a 2 MiB stack, the size of the runtime's and the
//! language server's tokio workers. (Nesting just under the limit is not yet held
//! to this: see the known gap in docs/architecture.md.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_codegen::Jit;
use cosmos_diagnostics::{Code, FileId, Severity};
use cosmos_ir::bundle::Bundle;
use cosmos_ir::interp::{self, Env, Facts};
use cosmos_ir::value::Value;
use cosmos_semantics::Analysis;
use cosmos_syntax::MAX_NESTING;

/// The stack of a spawned thread and of a tokio worker.
const WORKER_STACK: usize = 2 << 20;

/// What happened to a program.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// `check` reported `E0003` (and no other error).
    TooDeep,
    /// It checked clean and `f()` evaluated to this (in both engines).
    Value(String),
}

/// Checks `text` (one module whose helper `f()` is the program's value) and, when
/// clean, lowers it, round-trips it through a bundle and runs `f` in both engines;
/// on a 2 MiB thread. Panics (failing the test) on anything else.
fn outcome(text: String) -> Outcome {
    let handle = std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || outcome_here(&text))
        .unwrap();
    match handle.join() {
        Ok(result) => result.unwrap_or_else(|e| panic!("{e}")),
        Err(_) => panic!("the pipeline panicked"),
    }
}

fn outcome_here(text: &str) -> Result<Outcome, String> {
    let mut analysis = Analysis::new();
    analysis.set_threads(1);
    analysis.set_file(FileId(0), "main", text.to_string());
    let errors: Vec<_> = analysis
        .diagnostics()
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if !errors.is_empty() {
        if errors.iter().all(|d| d.code == Code::NESTED_TOO_DEEPLY) {
            return Ok(Outcome::TooDeep);
        }
        let first = &errors[0];
        return Err(format!(
            "{}: {} in\n{}",
            first.code.code,
            first.message,
            preview(text)
        ));
    }
    let program = analysis.lower_project().map_err(|e| e.to_string())?;
    let bundle = Bundle::new("test", "nesting", Vec::new(), program);
    let bytes = bundle.to_bytes().map_err(|e| e.to_string())?;
    let program = Bundle::read(&bytes, "test")
        .map_err(|e| e.to_string())?
        .program;
    let index = program
        .helpers
        .iter()
        .position(|h| h.name.ends_with(" f") || h.name == "f")
        .ok_or("no helper f")?;
    let env = Env {
        inputs: &[],
        facts: Facts::Read(&[]),
        now: 0,
    };
    let expected = interp::run(&program, &program.helpers[index], Vec::new(), env)
        .map(|(v, _)| v)
        .map_err(|e| format!("interpreter: {e:?}"))?;
    let jit = Jit::compile(&program).map_err(|e| format!("jit: {e}"))?;
    let actual = jit
        .run_helper(index, Vec::new())
        .map_err(|e| format!("jit: {e:?}"))?;
    let (a, b) = (show(&expected), show(&actual));
    if a != b {
        return Err(format!("interpreter {a}, jit {b}"));
    }
    Ok(Outcome::Value(a))
}

fn show(v: &Value) -> String {
    format!("{v:?}")
}

fn preview(text: &str) -> String {
    text.chars().take(300).collect()
}

/// `n` operands of a chain: `first op operand op operand …`.
fn chain(first: &str, op_operands: &[(&str, &str)], n: usize) -> String {
    let mut out = String::with_capacity(n * 8);
    out.push_str(first);
    for i in 1..n {
        let (op, operand) = op_operands[i % op_operands.len()];
        out.push(' ');
        out.push_str(op);
        out.push(' ');
        out.push_str(operand);
    }
    out
}

/// A program whose `f()` is a chain of `n` terms of one of the operator families.
fn chain_program(family: usize, n: usize) -> (String, Option<String>) {
    let n = n.max(2);
    match family % 9 {
        0 => (
            format!("def f(): Int {{ {} }}", chain("1", &[("+", "1")], n)),
            Some(format!("Int({n})")),
        ),
        // Every operator of one level, mixed: stays small.
        1 => (
            format!(
                "def f(): Int {{ {} }}",
                chain("7", &[("+", "3"), ("-", "2"), ("-", "1")], n)
            ),
            None,
        ),
        2 => (
            format!(
                "def f(): Int {{ {} }}",
                chain("5", &[("*", "1"), ("/", "1"), ("%", "1000")], n)
            ),
            Some("Int(5)".to_string()),
        ),
        3 => (
            format!(
                "def f(): Float {{ {} }}",
                chain("0.5", &[("+", "1"), ("-", "0.5")], n)
            ),
            None,
        ),
        4 => (
            format!(
                "def f(): Int {{ ({}).size() }}",
                chain("\"\"", &[("+", "\"ab\""), ("+", "1")], n)
            ),
            None,
        ),
        5 => (
            format!(
                "def f(): Bool {{ {} }}",
                chain("true", &[("&&", "1 < 2"), ("&&", "!false")], n)
            ),
            Some("Bool(true)".to_string()),
        ),
        6 => (
            format!(
                "def f(): Bool {{ {} }}",
                chain("false", &[("||", "1 > 2"), ("||", "false")], n)
            ),
            Some("Bool(false)".to_string()),
        ),
        7 => (
            format!(
                "def f(): Bool {{ {} }}",
                chain("1 == 1", &[("==", "true"), ("!=", "false")], n)
            ),
            Some("Bool(true)".to_string()),
        ),
        _ => {
            let (value, stmt) = (n.is_multiple_of(2), n.is_multiple_of(3));
            let program = else_if_program(n, value, stmt);
            let expected = if value {
                Some(format!("Int({})", n / 2))
            } else {
                None
            };
            (program, expected)
        }
    }
}

/// A helper with `n` `else if` links, as a value or as statements assigning a
/// local; `f()` picks the middle branch.
fn else_if_program(n: usize, value: bool, stmt: bool) -> String {
    let pick = n / 2;
    let mut body = String::new();
    if value && !stmt {
        for i in 0..n {
            if i > 0 {
                body.push_str(" else ");
            }
            body.push_str(&format!("if (x == {i}) {i}"));
        }
        body.push_str(" else -1");
        return format!("def pick(x: Int): Int {{ {body} }}\ndef f(): Int {{ pick({pick}) }}");
    }
    for i in 0..n {
        if i > 0 {
            body.push_str(" else ");
        }
        body.push_str(&format!("if (x == {i}) {{ r = {i} }}"));
    }
    if value {
        body.push_str(" else { r = -1 }");
    }
    format!(
        "def pick(x: Int): Int {{\n    def r = -2\n    {body}\n    r\n}}\ndef f(): Int {{ pick({pick}) }}"
    )
}

/// A program whose `f()` nests `depth` levels of one kind of construct.
fn nested_program(kind: usize, depth: usize) -> String {
    let rep = |s: &str| s.repeat(depth);
    match kind % 8 {
        0 => format!("def f(): Int {{ {}1{} }}", rep("("), rep(")")),
        1 => format!("def f(): Int {{ {}1{} }}", rep("(1 + "), rep(")")),
        2 => format!(
            "def h(x: Int): Int {{ x + 1 }}\ndef f(): Int {{ {}0{} }}",
            rep("h("),
            rep(")")
        ),
        3 => format!("def f(): Int {{ {}1{}.size() }}", rep("["), rep("]")),
        4 => format!("def f(): Int {{ {}1 }}", rep("-")),
        5 => format!("def f(): Bool {{ {}true }}", rep("!")),
        6 => format!(
            "def f(): Int {{ {}1{} }}",
            rep("if (true) { "),
            rep(" } else { 0 }")
        ),
        _ => format!("def f(): Int {{ [1]{}.size() }}", rep(".collect { it }")),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 16,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x0deb_2026),
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Long chains of every operator, and long `else if` chains: always clean,
    /// and the same value in both engines.
    #[test]
    fn long_chains_check_compile_and_run(family in 0usize..9, n in 2usize..3000) {
        let (text, expected) = chain_program(family, n);
        let outcome = outcome(text);
        proptest::prop_assert!(matches!(outcome, Outcome::Value(_)), "{outcome:?}");
        if let (Some(expected), Outcome::Value(v)) = (expected, &outcome) {
            proptest::prop_assert_eq!(&expected, v);
        }
    }

    /// Shallow enough nesting of every kind always checks clean and runs (each
    /// repetition of a kind opens at most three levels, so a quarter of the limit in
    /// repetitions stays under it; `nesting_up_to_the_limit_runs` covers the rest).
    #[test]
    fn nesting_well_under_the_limit_runs(kind in 0usize..8, depth in 1usize..(MAX_NESTING as usize / 4)) {
        let outcome = outcome(nested_program(kind, depth));
        proptest::prop_assert!(matches!(outcome, Outcome::Value(_)), "{outcome:?}");
    }
}

#[test]
fn chains_of_ten_and_a_hundred_thousand_terms_run() {
    for n in [10_000, 100_000] {
        assert_eq!(
            outcome(chain_program(0, n).0),
            Outcome::Value(format!("Int({n})"))
        );
    }
    assert_eq!(
        outcome(chain_program(5, 10_000).0),
        Outcome::Value("Bool(true)".to_string())
    );
    assert_eq!(
        outcome(else_if_program(10_000, true, false)),
        Outcome::Value("Int(5000)".to_string())
    );
    assert_eq!(
        outcome(else_if_program(10_000, true, true)),
        Outcome::Value("Int(5000)".to_string())
    );
}

/// Nesting right up to the limit checks clean, compiles and runs in both engines on a
/// 2 MiB thread, for every kind of nesting: for each kind, the deepest program that
/// is not refused as too deep must run. (What `check` accepts, every stage accepts.)
#[test]
fn nesting_up_to_the_limit_runs() {
    for kind in 0..8 {
        let deepest = (1..=MAX_NESTING as usize)
            .rev()
            .map(|depth| (depth, outcome(nested_program(kind, depth))))
            .find(|(_, outcome)| *outcome != Outcome::TooDeep);
        match deepest {
            Some((_, Outcome::Value(_))) => {}
            other => panic!("kind {kind}: the deepest accepted program gave {other:?}"),
        }
    }
}

/// Nesting past the limit is `E0003` and nothing worse, for every kind of nesting.
#[test]
fn nesting_past_the_limit_is_an_error() {
    for kind in 0..8 {
        for depth in [MAX_NESTING as usize + 1, MAX_NESTING as usize + 7, 5_000] {
            assert_eq!(
                outcome(nested_program(kind, depth)),
                Outcome::TooDeep,
                "kind {kind}"
            );
        }
    }
}
