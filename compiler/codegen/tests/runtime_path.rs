//! The runtime's path through the JIT (issue 16): every rule's `match` for an
//! instance against one laying-out of its facts (`each_match`, `first_match`), the
//! native reads of optional fields (`String?` compared with a constant, `Int?` read
//! after a null check or compared with an `Int`), and reactions that change facts
//! in place — each against the reference interpreter, on null, empty, multi-byte and
//! failing cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_codegen::JitWorkflowHost;
use cosmos_ir::host::{Handlers, Instance, WorkflowHost};
use serde_json::{Value as Json, json};

const SOURCE: &str = r#"
enum Tier { FREE, PRO }
workflow Paths {
    input { region: String? }
    facts {
        error: String?
        retries: Int?
        wait: Duration?
        tier: Tier?
        status: String = "new"
        attempts: Int = 0
        zero: Int = 0
        tags: List<String> = []
        scores: List<Int> = []
        meta: Map<String, String> = [:]
    }
    rule "oom" { match { error == "oom" }; action { 1 } }
    rule "not-oom" { match { error != "oom" && "héllo" != error }; action { 1 } }
    rule "empty" { match { error == "" || error == "héllo" }; action { 1 } }
    rule "long" { match { error == "abcdefghijklmnopqrstuvwxyz012345" }; action { 1 } }
    rule "region" { match { region == "eu" || region == null }; action { 1 } }
    rule "retries" { match { retries != null && retries > 2 }; action { 1 } }
    rule "three" { match { retries == 3 || 0 == retries }; action { 1 } }
    rule "not-three" { match { retries != 3 && attempts + 3 != retries }; action { 1 } }
    rule "wait" { match { wait != null && wait > 1.s }; action { 1 } }
    rule "tier" { match { tier == Tier.PRO || (tier != null && tier != Tier.FREE) }; action { 1 } }
    rule "always" { match { true }; action { 1 } }
    rule "scores" { match { scores.any { it > 2 } && scores[0] >= 0 }; action { 1 } }
    rule "tags" { match { tags.contains("é") || tags.isEmpty() }; action { 1 } }
    rule "meta" { match { meta.containsKey("k") && meta.size() < 3 }; action { 1 } }
    rule "fields" { match { error == status || region == error }; action { 1 } }
    rule "fields-ne" { match { status != error && tags.any { it == status || it == error } }; action { 1 } }
    rule "closure-any" { match { tags.any { it == "é" || it == "" } }; action { 1 } }
    rule "closure-every" { match { tags.every { it != "a" && it.size() < 3 } }; action { 1 } }
    rule "closure-count" { match { tags.count { it == "t" } == 1 || tags.find { it != "é" } == "a" }; action { 1 } }
    rule "closure-nested" { match { tags.any { t -> tags.count { it == t } > 1 } }; action { 1 } }
    rule "closure-return" { match { tags.findAll { it != "t" }.size() == 2 }; action { 1 } }
    rule "tally" {
        match { attempts < 0 }
        action { 1 }
        reaction {
            attempts += 1
            status = "seen"
            meta["k"] = "v${attempts}"
            tags << "t"
            scores << attempts
        }
    }
    rule "twice" {
        match { attempts < 0 }
        action { 1 }
        reaction {
            meta["a"] = "1"
            meta["b"] = status
            status += "!"
            error = status
            retries = attempts
        }
    }
    rule "fails" {
        match { attempts < 0 }
        action { 1 }
        reaction {
            attempts += 1
            status = "changed"
            meta["k"] = "changed"
            meta["new"] = "added"
            tags << "changed"
            scores << 1
            error = null
            meta["j"] += "!"
            tags = []
            tags << "again"
            attempts = attempts / zero
        }
    }
    rule "concat" {
        match { attempts < 0 }
        action { 1 }
        reaction {
            meta["new"] = "n"
            scores << 2
            meta["k"] += "!"
        }
    }
}
"#;

const STATUSES: [&str; 7] = [
    "new",
    "héllo wörld",
    "oom",
    "",
    "t",
    "abcdefghijklmnopqrstuvwxyz012345",
    "eu",
];

/// Instances covering null, empty, multi-byte and present values of every field.
fn instances(host: &WorkflowHost<'_>) -> Vec<Instance> {
    let errors = [
        json!(null),
        json!(""),
        json!("oom"),
        json!("oo"),
        json!("oomm"),
        json!("héllo"),
        json!("hello"),
        json!("abcdefghijklmnopqrstuvwxyz012345"),
        json!("abcdefghijklmnopqrstuvwxyz01234"),
        json!("eu"),
        json!("t"),
    ];
    let ints = [
        json!(null),
        json!(0),
        json!(2),
        json!(3),
        json!(4),
        json!(-1),
    ];
    let waits = [json!(null), json!(1000), json!(1001)];
    let tiers = [json!(null), json!("FREE"), json!("PRO")];
    let regions = [json!(null), json!("eu"), json!("us")];
    let mut out = Vec::new();
    for k in 0..54usize {
        let mut instance = host
            .start(&json!({ "region": regions[k % regions.len()] }))
            .unwrap();
        let tags: Vec<&str> = ["é", "a", "t", "", "t"]
            .into_iter()
            .skip(k % 2)
            .take(k % 5)
            .collect();
        let scores: Vec<i64> = (0..(k % 3) as i64)
            .map(|i| (i * 5 + k as i64) % 7)
            .collect();
        let meta: serde_json::Map<String, Json> = [("k", "x"), ("j", "é")]
            .into_iter()
            .take(k % 3)
            .map(|(a, b)| (a.to_string(), json!(b)))
            .collect();
        instance.facts = host
            .facts_from_json(&json!({
                "error": errors[k % errors.len()],
                "retries": ints[k % ints.len()],
                "wait": waits[k % waits.len()],
                "tier": tiers[(k / 3) % tiers.len()],
                "status": STATUSES[k % STATUSES.len()],
                "attempts": (k % 3) as i64,
                "zero": 0,
                "tags": tags,
                "scores": scores,
                "meta": meta,
            }))
            .unwrap();
        out.push(instance);
    }
    out
}

/// The names of the first workflow's rules, in order.
fn rule_names(program: &cosmos_ir::Program) -> Vec<String> {
    program.workflows[0]
        .rules
        .iter()
        .map(|r| r.name.clone())
        .collect()
}

fn hosts(program: &cosmos_ir::Program) -> cosmos_codegen::CompiledProgram {
    support::compile("paths", program)
}

/// Every rule's `match`, through the interpreter, the JIT rule by rule, the JIT
/// with the instance laid out once (`matches_all`, `each_match` over a subset in
/// another order), agrees on every instance.
#[test]
fn every_match_of_an_instance_at_once_agrees_with_the_interpreter() {
    let program = support::lower_source(SOURCE).unwrap();
    let jit = hosts(&program);
    let ih = WorkflowHost::new(&program, "Paths").unwrap();
    let jh = JitWorkflowHost::new(&jit, "Paths").unwrap();
    let rules = rule_names(&program);
    let mut all = Vec::new();
    let mut held = 0;
    for (k, instance) in instances(&ih).iter().enumerate() {
        jh.matches_all(instance, 0, &mut all).unwrap();
        assert_eq!(all.len(), rules.len());
        for (r, name) in rules.iter().enumerate() {
            let i = ih.matches(name, instance, 0).unwrap();
            let j = jh.matches(name, instance, 0).unwrap();
            assert_eq!((i, j, all[r]), (i, i, i), "{name} on instance {k}");
            held += usize::from(i);
        }
        // A subset, backwards: each result in the order asked.
        let order: Vec<usize> = (0..rules.len()).rev().step_by(2).collect();
        let mut seen = Vec::new();
        jh.each_match(order.iter().copied(), instance, 0, |r, holds| {
            seen.push((r, holds));
            true
        })
        .unwrap();
        let expected: Vec<(usize, bool)> = order.iter().map(|&r| (r, all[r])).collect();
        assert_eq!(seen, expected, "instance {k}");
    }
    // The instances make most rules both hold and not.
    assert!(held > 100, "only {held} matches held");
}

/// `first_match` finds the same rule in both engines for every order and subset of
/// candidates, and stops at it: a failing `match` after it is not evaluated, one
/// before it fails the search in both engines alike.
#[test]
fn the_first_matching_rule_is_the_same_in_both_engines() {
    let source = SOURCE.replace(
        r#"rule "always" { match { true }; action { 1 } }"#,
        r#"rule "always" { match { true }; action { 1 } }
    rule "broken" { match { scores[5] > 0 }; action { 1 } }"#,
    );
    let program = support::lower_source(&source).unwrap();
    let jit = hosts(&program);
    let ih = WorkflowHost::new(&program, "Paths").unwrap();
    let jh = JitWorkflowHost::new(&jit, "Paths").unwrap();
    let count = program.workflows[0].rules.len();
    let broken = program.workflows[0]
        .rules
        .iter()
        .position(|r| r.name == "broken")
        .unwrap();
    let mut errors = 0;
    for (k, instance) in instances(&ih).iter().enumerate() {
        for start in 0..count {
            // Every rule from `start` on, wrapping round, then an index past the end.
            let order: Vec<usize> = (0..count)
                .map(|i| (start + i) % count)
                .chain([count + 3])
                .collect();
            let i = ih.first_match(&mut order.iter().copied(), instance, 0);
            let j = jh.first_match(&mut order.iter().copied(), instance, 0);
            assert_eq!(
                format!("{i:?}"),
                format!("{j:?}"),
                "instance {k} from {start}"
            );
            errors += usize::from(i.is_err());
            if start == broken {
                assert!(i.is_err(), "the broken rule came first");
            }
        }
        let none: Vec<usize> = Vec::new();
        assert_eq!(
            jh.first_match(&mut none.into_iter(), instance, 0).unwrap(),
            None
        );
    }
    assert!(errors > 0);
}

fn reacted(host: &dyn Handlers, rule: &str, instance: &Instance) -> (Instance, String) {
    let mut copy = instance.clone();
    let out = host.reaction(rule, &mut copy, &json!(1), 0);
    (copy, format!("{out:?}"))
}

/// Reactions that assign whole facts, put into maps, append to lists and update in
/// place leave the same facts in both engines, applied twice in a row; a reaction
/// that fails half way leaves the facts exactly as they were, in both.
#[test]
fn reactions_change_facts_in_place_as_the_interpreter_does() {
    let program = support::lower_source(SOURCE).unwrap();
    let jit = hosts(&program);
    let ih = WorkflowHost::new(&program, "Paths").unwrap();
    let jh = JitWorkflowHost::new(&jit, "Paths").unwrap();
    for (k, instance) in instances(&ih).iter().enumerate() {
        for rules in [["tally", "twice"], ["twice", "tally"], ["tally", "tally"]] {
            let (mut a, mut b) = (instance.clone(), instance.clone());
            for rule in rules {
                let (x, ex) = reacted(&ih, rule, &a);
                let (y, ey) = reacted(&jh, rule, &b);
                assert_eq!(ex, ey, "{rule} on instance {k}");
                assert_eq!(x, y, "{rule} on instance {k}");
                assert!(!ex.contains("Err"), "{ex}");
                (a, b) = (x, y);
            }
            assert_ne!(&a, instance);
        }
        let (x, ex) = reacted(&ih, "fails", instance);
        let (y, ey) = reacted(&jh, "fails", instance);
        // `meta["j"] += "!"` fails first where `meta` has no "j".
        assert!(
            ex.contains("DivisionByZero") || ex.contains("no entry to update"),
            "{ex}"
        );
        assert_eq!(ex, ey, "instance {k}");
        assert_eq!(
            &x, instance,
            "the interpreter left a change on instance {k}"
        );
        assert_eq!(&y, instance, "the JIT left a change on instance {k}");
        // A compound assignment through a key: done where the key is, an error
        // that undoes the put and the append before it where it is not.
        let (x, ex) = reacted(&ih, "concat", instance);
        let (y, ey) = reacted(&jh, "concat", instance);
        assert_eq!(ex, ey, "instance {k}");
        assert_eq!(x, y, "instance {k}");
        if ex.contains("Err") {
            assert_eq!(&x, instance, "instance {k}");
        } else {
            assert_ne!(&x, instance, "instance {k}");
        }
    }
}

/// The fast paths are taken: these rules' `match`es compare strings (with a
/// constant, between fields, a closure's `it`), read `Int?` facts and loop over a
/// list of strings without calling a host function.
#[test]
fn optional_fields_strings_and_string_closures_need_no_host_call() {
    let program = support::lower_source(SOURCE).unwrap();
    let jit = hosts(&program);
    let clif = jit.clif_text();
    let body = |rule: &str| {
        let head = format!(";; rule \"{rule}\" match\n");
        let start = clif.find(&head).unwrap_or_else(|| panic!("no body {head}"));
        let rest = &clif[start + head.len()..];
        rest[..rest.find(";; ").unwrap_or(rest.len())].to_string()
    };
    for rule in [
        "oom",
        "not-oom",
        "empty",
        "long",
        "region",
        "retries",
        "three",
        "not-three",
        "tier",
        "fields",
        "fields-ne",
        "closure-any",
    ] {
        let text = body(rule);
        // Declared functions other than `rt.raise` (an overflow's cold path).
        let called: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().split_once(" = %"))
            .map(|(_, f)| f)
            .filter(|f| !f.starts_with("rt.raise "))
            .collect();
        assert!(called.is_empty(), "rule {rule} calls {called:?}:\n{text}");
    }
    // `it.size()` and comparing `find`'s result are host calls; the loops are not.
    for rule in ["closure-every", "closure-count", "closure-nested"] {
        let text = body(rule);
        assert!(
            !text.contains("%rt.list_at") && !text.contains("%rt.len"),
            "{rule}:\n{text}"
        );
    }
}

/// A workflow with more rules than the entry of all matches holds itself (64: it
/// calls the `match`es after those) gives every rule's result as the interpreter
/// does, and a failing `match` past the 64th still sends the search rule by rule,
/// failing it as the interpreter fails it.
#[test]
fn rules_past_the_ones_the_entry_holds_are_called_from_it() {
    let mut source = String::from(
        "workflow Many {\n    facts { x: Int = 0, tags: List<String> = [], scores: List<Int> = [] }\n",
    );
    for k in 0..90 {
        source.push_str(&format!(
            "    rule \"r{k}\" {{ match {{ x % 7 == {} || tags.contains(\"t{}\") }}; action {{ 1 }} }}\n",
            k % 7,
            k % 5
        ));
    }
    source.push_str("    rule \"late\" { match { scores[3] > 0 }; action { 1 } }\n}\n");
    let program = support::lower_source(&source).unwrap();
    let jit = hosts(&program);
    let ih = WorkflowHost::new(&program, "Many").unwrap();
    let jh = JitWorkflowHost::new(&jit, "Many").unwrap();
    let rules = rule_names(&program);
    let mut all = Vec::new();
    let (mut held, mut failed) = (0, 0);
    for x in 0..14 {
        for tags in [json!([]), json!(["t3"]), json!(["a", "t0", "t4"])] {
            for scores in [json!([1, 2, 3, 4]), json!([])] {
                let mut instance = ih.start(&json!({})).unwrap();
                instance.facts = ih
                    .facts_from_json(&json!({"x": x, "tags": tags, "scores": scores}))
                    .unwrap();
                let everything = jh.matches_all(&instance, 0, &mut all);
                let late = ih.matches("late", &instance, 0);
                match late {
                    Err(error) => {
                        // The one native call stopped at `late`, the rule-by-rule way
                        // reports its failure as the interpreter does.
                        failed += 1;
                        let j = everything.unwrap_err();
                        assert_eq!(format!("{j:?}"), format!("{error:?}"), "x = {x}");
                    }
                    Ok(late) => {
                        everything.unwrap();
                        assert_eq!(all.len(), rules.len());
                        for (r, name) in rules.iter().enumerate() {
                            let i = ih.matches(name, &instance, 0).unwrap();
                            assert_eq!(all[r], i, "{name}, x = {x}, tags {tags}");
                            held += usize::from(i);
                        }
                        assert!(late);
                    }
                }
            }
        }
    }
    assert!(held > 500, "only {held} matches held");
    assert!(failed > 0);
}
