//! The real `cosmosc serve --bundle` on crafted bundle files: a bundle whose IR
//! would make native code write outside its cells, and one whose content no longer
//! matches its hash line, are refused with a clear error and exit code 2 on both
//! evaluators, before a port is bound (never a signal).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use cosmos_ir::bundle::{MAGIC, content_hash};
use serde_json::{Value as Json, json};
use support::{MANIFEST, code, cosmosc, project, stderr};

const SOURCE: &str = r#"
workflow Count {
    input { n: Int }
    facts { seen: Int? }
    rule "see" {
        match { seen == null }
        action { sleep(1.ms) }
        reaction { seen = n }
    }
}
"#;

/// The bundle's JSON document (after the magic and hash lines).
fn document(bytes: &[u8]) -> Json {
    let rest = bytes.strip_prefix(MAGIC).unwrap();
    let newline = rest.iter().position(|b| *b == b'\n').unwrap();
    serde_json::from_slice(&rest[newline + 1..]).unwrap()
}

/// A bundle file of `json` whose hash line matches it.
fn file(json: &Json) -> Vec<u8> {
    let mut body = serde_json::to_vec(json).unwrap();
    body.push(b'\n');
    let mut bytes = MAGIC.to_vec();
    bytes.extend(format!("sha256 {}\n", content_hash(&body)).as_bytes());
    bytes.extend(body);
    bytes
}

fn serve(root: &Path, bundle: &str, evaluator: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args([
            "serve",
            ".",
            "--bundle",
            bundle,
            "--store",
            "state.db",
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(root)
        .env("COSMOS_EVALUATOR", evaluator)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

#[test]
fn serve_refuses_a_crafted_bundle_with_an_error_not_a_signal() {
    let project = project(&[MANIFEST, ("src/main.emx", SOURCE)]);
    let root = project.path();
    let out = cosmosc(&["compile", ".", "-o", "app.cosmos"], root);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let bytes = std::fs::read(root.join("app.cosmos")).unwrap();

    // `seen = n` assigned to a fact far past the workflow's one fact.
    let mut json = document(&bytes);
    let stmts = json["program"]["workflows"][0]["rules"][0]["reaction"]["body"]["stmts"]
        .as_array_mut()
        .unwrap();
    let assign = stmts.iter_mut().find_map(|s| s.get_mut("Assign")).unwrap();
    assert_eq!(assign["place"]["root"], json!({"Fact": 0}));
    assign["place"]["root"] = json!({"Fact": 268435455u32});
    std::fs::write(root.join("crafted.cosmos"), file(&json)).unwrap();

    // The same bytes as compiled, with the program's last digit changed: still a
    // well-formed document, but not the one the hash line names.
    let mut damaged = bytes.clone();
    let at = damaged.iter().rposition(u8::is_ascii_digit).unwrap();
    damaged[at] = if damaged[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(root.join("damaged.cosmos"), &damaged).unwrap();

    for evaluator in ["jit", "interpreter"] {
        let out = serve(root, "crafted.cosmos", evaluator);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{evaluator}: {:?}\n{err}",
            out.status
        );
        assert!(
            err.starts_with("error: the bundle's program is invalid"),
            "{err}"
        );
        assert!(
            err.contains("workflow Count") && err.contains("fact 268435455 does not exist"),
            "{err}"
        );
        assert!(err.contains("recompile the project"), "{err}");

        let out = serve(root, "damaged.cosmos", evaluator);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{evaluator}: {:?}\n{err}",
            out.status
        );
        assert!(err.starts_with("error: the bundle is corrupt"), "{err}");
        assert!(err.contains("SHA-256"), "{err}");
    }
}
