//! The real `cosmosc` on a long program: a 10,000-term chain and a helper with a
//! 100-branch `else if` chain check clean, format, compile and run
//! (docs/architecture.md, "Chains are flat; everything else nests at most 48
//! levels").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::{code, cosmosc, project, stderr, stdout};

fn long_program() -> String {
    let total = vec!["1"; 10_000].join(" + ");
    let mut pick = String::new();
    for i in 0..100 {
        pick.push_str(&format!("if (x == {i}) {}\n    else ", i * 2));
    }
    pick.push_str("-1");
    format!(
        "def total(): Int {{ {total} }}\n\ndef pick(x: Int): Int {{\n    {pick}\n}}\n\n\
         workflow Long {{\n    input {{ n: Int }}\n    complete when {{ true }}\n    \
         output {{ [total: total(), pick: pick(n)] }}\n}}\n"
    )
}

#[test]
fn a_long_chain_and_a_long_else_if_chain_check_format_compile_and_run() {
    let text = long_program();
    let dir = project(&[support::MANIFEST, ("src/main.emx", &text)]);

    let out = cosmosc(&["check", "."], dir.path());
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let out = cosmosc(&["fmt", "--check"], dir.path());
    assert!(matches!(code(&out), 0 | 1), "{}", stderr(&out));
    let out = cosmosc(&["fmt"], dir.path());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = cosmosc(&["check", "."], dir.path());
    assert_eq!(code(&out), 0, "formatted: {}", stderr(&out));

    let out = cosmosc(&["compile", "."], dir.path());
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let out = cosmosc(
        &["run", ".", "Long", "--input", r#"{"n": 57}"#, "--json"],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(doc["status"], "COMPLETED", "{doc}");
    assert_eq!(doc["output"], json!({"total": 10_000, "pick": 114}));
}
