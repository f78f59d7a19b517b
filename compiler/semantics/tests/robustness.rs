//! No input makes the checker panic or hang: random mutations of valid programs
//! (deletions, duplications, character flips, truncations) must come back with
//! diagnostics, in bounded time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_diagnostics::FileId;
use cosmos_semantics::Analysis;
use cosmos_test_support as support;
use proptest::prelude::*;
use std::sync::mpsc;
use std::time::Duration;

fn corpus() -> Vec<(String, String)> {
    let mut out = support::modules(&support::encode_title(), &["main", "media.types", "tests"]);
    for area in ["null", "contexts", "builtins", "testing"] {
        for path in support::emx_files(&support::repo_path(&format!("tests/ui/{area}"))) {
            out.push(("main".to_string(), support::read(&path)));
        }
    }
    assert!(out.len() > 10);
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Duplicate { at: usize, len: usize },
    Replace { at: usize, with: char },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(vec![
        '{', '}', '(', ')', '[', ']', '"', '\'', '$', '.', ':', '?', '\n', ',', '=', '<', '>', '!',
        '-', 'x', '0', ' ', 'é', '😀', '/', '*', '\\',
    ]);
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 1usize..80).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (any::<usize>(), interesting).prop_map(|(at, with)| Mutation::Replace { at, with }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

/// Applies a mutation at character boundaries, so the text stays UTF-8.
fn apply(text: &str, mutation: &Mutation) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let clamp = |at: usize| at % chars.len();
    let mut out: Vec<char> = chars.clone();
    match *mutation {
        Mutation::Delete { at, len } => {
            let start = clamp(at);
            let end = (start + len).min(chars.len());
            out.drain(start..end);
        }
        Mutation::Duplicate { at, len } => {
            let start = clamp(at);
            let end = (start + len).min(chars.len());
            let piece: Vec<char> = chars[start..end].to_vec();
            out.splice(end..end, piece);
        }
        Mutation::Replace { at, with } => {
            let at = clamp(at);
            out[at] = with;
        }
        Mutation::Truncate { at } => out.truncate(clamp(at)),
    }
    out.into_iter().collect()
}

fn check_in_time(module: String, text: String) {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut analysis = Analysis::new();
        analysis.set_file(FileId(0), &module, text);
        let count = analysis.diagnostics().len();
        let _ = sender.send(count);
    });
    match receiver.recv_timeout(Duration::from_secs(20)) {
        Ok(_) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the checker hung"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the checker panicked"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5e4a_2026), ..ProptestConfig::default() })]

    #[test]
    fn mutated_programs_get_diagnostics(index in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..4)) {
        let corpus = corpus();
        let (module, original) = &corpus[index % corpus.len()];
        let mut text = original.clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        check_in_time(module.clone(), text);
    }
}

#[test]
fn empty_and_odd_inputs() {
    for text in [
        "",
        "\n",
        "{",
        "}",
        "\"",
        "\"${",
        "workflow",
        "workflow W {",
        "rule",
        "import",
        "import .",
        "def f(",
        "/*",
        "/**",
        "'''",
        "\"\"\"",
        "test \"t\" { start",
        "\u{feff}type A {}",
    ] {
        check_in_time("main".to_string(), text.to_string());
    }
}
