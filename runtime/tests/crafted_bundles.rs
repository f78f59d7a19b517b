//! Crafted bundles are refused at load time, with an error naming what failed, on
//! both evaluators' load paths (`Deployment::deploy` with the interpreter and with
//! the JIT, and `Jit::compile` given the program directly), and never reach the
//! store. Each bundle carries a hash line that matches its content, as a bundle
//! crafted on purpose would: only validation stands between it and native code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_codegen::{CodegenError, Jit};
use cosmos_ir::bundle::{Bundle, BundleError, MAGIC};
use cosmos_ir::validate::{MAX_BODY_ITEMS, MAX_STRING_BYTES};
use cosmos_runtime::deployment::{COMPILER_VERSION, Deployment, DeploymentError, Evaluator};
use cosmos_runtime::store::{SqliteStore, Store};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

const SOURCE: &str = r#"
enum Tier { Low, High }
function probe(path: String): Int { command "true" }

def double(n: Int): Int { n * 2 }

workflow Crafted {
    input { path: String }
    facts {
        size: Int?
        tier: Tier?
    }
    rule "probe" {
        match { size == null }
        action { probe(path: path) }
        reaction {
            size = double(n: result)
            tier = Tier.High
        }
    }
}
"#;

fn bundle_json() -> Json {
    serde_json::to_value(Bundle::new(
        COMPILER_VERSION,
        "crafted",
        Vec::new(),
        support::program(SOURCE),
    ))
    .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A bundle file of `json`, with a hash line that matches it.
fn file(json: &Json) -> Vec<u8> {
    let mut body = serde_json::to_vec(json).unwrap();
    body.push(b'\n');
    let mut bytes = MAGIC.to_vec();
    bytes.extend(format!("sha256 {}\n", hex(&body)).as_bytes());
    bytes.extend(body);
    bytes
}

/// The rule's body `which` (`matcher`, `reaction`, …).
fn body<'j>(json: &'j mut Json, which: &str) -> &'j mut Json {
    &mut json["program"]["workflows"][0]["rules"][0][which]["body"]
}

fn expr(kind: Json, ty: Json) -> Json {
    json!({"kind": kind, "ty": ty})
}

/// The first assignment statement of the reaction (`size = double(n: result)`).
fn assignment(json: &mut Json) -> &mut Json {
    let stmts = body(json, "reaction")["stmts"].as_array_mut().unwrap();
    stmts
        .iter_mut()
        .find_map(|s| s.get_mut("Assign"))
        .expect("the reaction assigns a fact")
}

/// Each case: a name, how to craft it, and what the refusal must say.
fn cases() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let span = json!({"file": 0, "start": 0, "end": 0});
    let mut cases = Vec::new();
    let mut craft = |name: &'static str, expect: &'static str, edit: &dyn Fn(&mut Json)| {
        let mut json = bundle_json();
        edit(&mut json);
        cases.push((name, file(&json), expect));
    };
    craft(
        "a fact read out of range",
        "fact 268435455 does not exist",
        &|j| body(j, "matcher")["value"] = expr(json!({"Fact": 268435455u32}), json!("Bool")),
    );
    craft(
        "a fact assigned out of range",
        "fact 268435455 does not exist",
        &|j| assignment(j)["place"]["root"] = json!({"Fact": 268435455u32}),
    );
    craft(
        "a fact assigned in a `match`",
        "assigned in a body that cannot",
        &|j| {
            let stmt = json!({"Assign": assignment(j).clone()});
            body(j, "matcher")["stmts"] = json!([stmt]);
        },
    );
    craft("an input out of range", "input 7 does not exist", &|j| {
        body(j, "action")["value"]["kind"]["Call"]["args"][0] =
            expr(json!({"Input": 7}), json!("String"))
    });
    craft("a slot out of range", "slot 42 does not exist", &|j| {
        body(j, "matcher")["value"] = expr(json!({"Local": 42}), json!("Bool"))
    });
    craft(
        "a constant of the wrong type",
        "an `Int` constant has type Int where String is expected",
        &|j| {
            body(j, "action")["value"]["kind"]["Call"]["args"][0] =
                expr(json!({"Const": {"Int": 7}}), json!("String"))
        },
    );
    craft("a fact read as another type", "fact 0 has type", &|j| {
        body(j, "matcher")["value"] = expr(json!({"Fact": 0}), json!("String"))
    });
    craft("an unknown helper", "helper #99 does not exist", &|j| {
        body(j, "matcher")["value"] = expr(
            json!({"CallHelper": {"helper": 99, "args": [], "span": span}}),
            json!("Bool"),
        )
    });
    craft(
        "a helper called with too few arguments",
        "is called with 0 arguments (it takes 1)",
        &|j| {
            body(j, "matcher")["value"] = expr(
                json!({"CallHelper": {"helper": 0, "args": [], "span": span}}),
                json!("Bool"),
            )
        },
    );
    craft(
        "an unknown external function",
        "function #5 does not exist",
        &|j| body(j, "action")["value"]["kind"]["Call"]["function"] = json!(5),
    );
    craft("an enum variant out of range", "has no variant 9", &|j| {
        let stmts = body(j, "reaction")["stmts"].as_array_mut().unwrap();
        let last = stmts.last_mut().unwrap();
        last["Assign"]["value"]["kind"]["EnumValue"]["variant"] = json!(9);
    });
    craft("an unknown built-in", "is not a built-in", &|j| {
        body(j, "matcher")["value"] = expr(
            json!({"Builtin": {"receiver": "String", "name": "launchMissiles", "args": [], "span": span}}),
            json!("Bool"),
        )
    });
    craft("an oversized string", "a string constant of", &|j| {
        body(j, "action")["value"]["kind"]["Call"]["args"][0] = expr(
            json!({"Const": {"Str": "x".repeat(MAX_STRING_BYTES + 1)}}),
            json!("String"),
        )
    });
    craft("an oversized list", "items in all", &|j| {
        let item = expr(json!({"Const": {"Int": 1}}), json!("Int"));
        let list = expr(
            json!({"List": vec![item; MAX_BODY_ITEMS + 1]}),
            json!({"List": "Int"}),
        );
        body(j, "matcher")["stmts"] = json!([{"Expr": list}]);
    });
    craft(
        "a record that does not exist",
        "record #999 does not exist",
        &|j| j["program"]["workflows"][0]["facts"][0]["ty"] = json!({"Optional": {"Record": 999}}),
    );
    cases
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
    (dir, store)
}

#[test]
fn the_uncrafted_bundle_loads_on_both_evaluators() {
    let bytes = file(&bundle_json());
    for evaluator in [Evaluator::Interpreter, Evaluator::Jit] {
        let (_dir, store) = store();
        Deployment::deploy(&store, &bytes, 0, evaluator).unwrap();
    }
}

#[test]
fn crafted_bundles_are_refused_on_both_load_paths_naming_what_failed() {
    for (name, bytes, expect) in cases() {
        for evaluator in [Evaluator::Interpreter, Evaluator::Jit] {
            let (_dir, store) = store();
            let error = match Deployment::deploy(&store, &bytes, 0, evaluator) {
                Ok(_) => panic!("{name}: loaded on {evaluator:?}"),
                Err(e) => e,
            };
            let DeploymentError::Bundle(BundleError::Invalid(invalid)) = &error else {
                panic!("{name} on {evaluator:?}: {error:?}");
            };
            assert!(invalid.problem.contains(expect), "{name}: {invalid:?}");
            assert!(invalid.body.contains("Crafted") || invalid.body.contains("def double"));
            let message = error.to_string();
            assert!(
                message.contains("invalid") && message.contains(expect),
                "{message}"
            );
            assert!(
                store
                    .bundle(&cosmos_ir::bundle::content_hash(&bytes))
                    .unwrap()
                    .is_none(),
                "{name}: a refused bundle was stored"
            );
        }
        // The JIT validates a program it is given directly, too.
        let json: Json =
            serde_json::from_slice(&bytes[bytes.iter().position(|b| *b == b'{').unwrap()..])
                .unwrap();
        let program: cosmos_ir::Program = serde_json::from_value(json["program"].clone()).unwrap();
        match Jit::compile(&program) {
            Err(CodegenError::Invalid(invalid)) => {
                assert!(invalid.problem.contains(expect), "{name}: {invalid:?}")
            }
            Err(other) => panic!("{name}: {other:?}"),
            Ok(_) => panic!("{name}: compiled"),
        }
    }
}

#[test]
fn bundles_of_another_schema_or_with_a_bad_hash_are_refused() {
    let mut json = bundle_json();
    json["ir_version"] = json!(cosmos_ir::IR_VERSION + 1);
    let wrong_ir = file(&json);
    let mut json = bundle_json();
    json["format"] = json!(1);
    let wrong_format = file(&json);
    let mut bad_hash = file(&bundle_json());
    let at = bad_hash.len() - 10;
    bad_hash[at] ^= 1;
    for evaluator in [Evaluator::Interpreter, Evaluator::Jit] {
        let (_dir, store) = store();
        let error = Deployment::deploy(&store, &wrong_ir, 0, evaluator)
            .err()
            .unwrap();
        assert!(
            matches!(error, DeploymentError::Bundle(BundleError::Version { .. })),
            "{error:?}"
        );
        let error = Deployment::deploy(&store, &wrong_format, 0, evaluator)
            .err()
            .unwrap();
        assert!(
            matches!(
                error,
                DeploymentError::Bundle(BundleError::Format { found: 1, .. })
            ),
            "{error:?}"
        );
        let error = Deployment::deploy(&store, &bad_hash, 0, evaluator)
            .err()
            .unwrap();
        assert!(
            matches!(error, DeploymentError::Bundle(BundleError::Hash { .. })),
            "{error:?}"
        );
        assert!(error.to_string().contains("corrupt"), "{error}");
    }
}

#[test]
fn a_bundle_changed_in_the_store_is_refused_when_read_back() {
    let good = file(&bundle_json());
    for evaluator in [Evaluator::Interpreter, Evaluator::Jit] {
        let (_dir, store) = store();
        let deployment = Deployment::deploy(&store, &good, 0, evaluator).unwrap();
        // Another bundle stored under a name that is not its hash: it is not
        // loaded, even though it is a valid bundle.
        let mut json = bundle_json();
        json["project"] = json!("impostor");
        let other = file(&json);
        let name = "a".repeat(64);
        store.put_bundle(&name, &other, 0).unwrap();
        let error = deployment.loaded(&store, &name).err().unwrap();
        assert!(
            matches!(&error, DeploymentError::Bundle(BundleError::Stored { name: n, .. }) if *n == name),
            "{error:?}"
        );
        assert!(error.to_string().contains("corrupt"), "{error}");
    }
}
