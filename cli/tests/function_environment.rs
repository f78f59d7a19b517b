//! A function's process starts with a clean environment: `PATH`, `HOME`, `LANG`, the
//! runtime's own `COSMOS_*` variables for it, and only the variables its `env`
//! setting names — read from the node's environment or from `COSMOS_SECRETS_DIR`.
//! The node's token and store URL never reach it, one-shot or warm.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::process::Command;
use support::project;

/// Prints what it sees of its environment as the fields of `Seen`.
const SHOW: &str = r#"show() {
  printf '{"token":"%s","store":"%s","profile":"%s","license":"%s","other":"%s","path":"%s","key":"%s","protocol":"%s","tmp":"%s"}' \
    "${COSMOS_TOKEN-unset}" "${COSMOS_STORE-unset}" "${AWS_PROFILE-unset}" \
    "${ENCODER_LICENSE-unset}" "${UNNAMED_SECRET-unset}" "${PATH:+set}" \
    "${COSMOS_IDEMPOTENCY_KEY:+set}" "${COSMOS_PROTOCOL-unset}" "${TMPDIR-unset}"
}
if [ "$COSMOS_PROTOCOL" = lines ]; then
  while read -r line; do
    id=$(printf '%s' "$line" | sed 's/.*"id": *\([0-9]*\).*/\1/')
    printf '{"id": %s, "results": [{"ok": %s}]}\n' "$id" "$(show)"
  done
else
  cat >/dev/null
  show
fi
"#;

const SOURCE: &str = r#"
type Seen {
    token: String, store: String, profile: String, license: String,
    other: String, path: String, key: String, protocol: String, tmp: String
}
function once(): Seen {
    command ["sh", "functions/show.sh"]
    env ["AWS_PROFILE", "ENCODER_LICENSE"]
}
function kept(): Seen {
    command ["sh", "functions/show.sh"]
    warm 1
    env ["AWS_PROFILE", "ENCODER_LICENSE"]
}
function bare(): Seen { command ["sh", "functions/show.sh"] }
workflow Look {
    facts { a: Seen?, b: Seen?, c: Seen? }
    rule "one-shot" { match { a == null }; action { once() }; reaction { a = result } }
    rule "warm" { match { b == null }; action { kept() }; reaction { b = result } }
    rule "bare" { match { c == null }; action { bare() }; reaction { c = result } }
    complete when { a != null && b != null && c != null }
    output { [a: a, b: b, c: c] }
}
"#;

#[test]
fn functions_see_only_the_variables_they_name_never_the_nodes_token() {
    let dir = project(&[
        support::MANIFEST,
        ("functions/show.sh", SHOW),
        ("src/main.emx", SOURCE),
    ]);
    let secrets = tempfile::tempdir().unwrap();
    std::fs::write(secrets.path().join("ENCODER_LICENSE"), "lic-42\n").unwrap();
    std::fs::write(secrets.path().join("UNNAMED_SECRET"), "nope\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args(["run", ".", "Look", "--json"])
        .current_dir(dir.path())
        .env("COSMOS_TOKEN", "node-token-must-not-leak")
        .env("COSMOS_STORE", "sqlite:.cosmos/node-only.db")
        .env("AWS_PROFILE", "media")
        .env("UNNAMED_SECRET", "not-named-so-not-passed")
        .env("COSMOS_SECRETS_DIR", secrets.path())
        .env("TMPDIR", "/tmp/node-scratch")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["status"], "COMPLETED", "{stderr}");
    // The node did use the store its environment names.
    assert!(dir.path().join(".cosmos/node-only.db").exists());
    let named = json!({
        "token": "unset", "store": "unset", "profile": "media", "license": "lic-42",
        "other": "unset", "path": "set", "key": "set", "protocol": "unset",
        "tmp": "/tmp/node-scratch"
    });
    assert_eq!(doc["output"]["a"], named, "one-shot: {stderr}");
    // A warm worker gets the same, plus its protocol; it has no per-call key in its
    // environment (the key travels with each call).
    let mut warm = named.clone();
    warm["protocol"] = json!("lines");
    warm["key"] = json!("");
    assert_eq!(doc["output"]["b"], warm, "warm: {stderr}");
    let bare = json!({
        "token": "unset", "store": "unset", "profile": "unset", "license": "unset",
        "other": "unset", "path": "set", "key": "set", "protocol": "unset",
        "tmp": "/tmp/node-scratch"
    });
    assert_eq!(doc["output"]["c"], bare, "no env: {stderr}");
}

#[test]
fn check_refuses_reserved_and_malformed_names() {
    let dir = project(&[
        support::MANIFEST,
        (
            "src/main.emx",
            r#"
function f(): Int {
    command "true"
    env ["COSMOS_TOKEN", "1ABC", "OK", "OK"]
}
"#,
        ),
    ]);
    let out = support::cosmosc(&["check", "."], dir.path());
    let text = support::stderr(&out) + &support::stdout(&out);
    assert_eq!(support::code(&out), 1, "{text}");
    assert!(text.contains("`COSMOS_TOKEN` is reserved"), "{text}");
    assert!(
        text.contains("`1ABC` is not an environment variable name"),
        "{text}"
    );
    assert!(text.contains("`OK` is named twice"), "{text}");
}
