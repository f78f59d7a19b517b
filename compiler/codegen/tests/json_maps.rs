//! Map literals mixing value types are `Map<String, Json>` wherever they stand —
//! in helpers, closures, branches, reactions — and the JIT builds, reads and
//! compares them as the interpreter does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_codegen::JitWorkflowHost;
use cosmos_ir::host::{Handlers, WorkflowHost};
use cosmos_ir::json::to_json;
use cosmos_ir::value::Value;
use serde_json::json;

const SOURCE: &str = r#"enum Codec { H264, HEVC }

def rows(xs: List<Int>): List<Map<String, Json>> {
    xs.collect { [n: it, label: "n${it}", even: it % 2 == 0, codec: Codec.HEVC] }
}

def pick(flag: Bool, n: Int): Map<String, Json> {
    def plain = [n: n]
    def mixed = [n: n, label: "x"]
    if (flag) mixed else plain
}

def same(n: Int): Bool {
    [a: n, b: "s"] == [a: n, b: "s"] && [a: n, b: "s"] != [a: n + 1, b: "s"]
}

workflow Table {
    input { xs: List<Int> }
    facts { table: List<Map<String, Json>> = [], last: Map<String, Json>? }
    rule "tabulate" {
        match { table.isEmpty() }
        action { xs.collect { [n: it, big: it > 10] } }
        reaction {
            table = result
            last = [size: result.size(), first: result.first()]
        }
    }
}
"#;

#[test]
fn helpers_build_the_same_json_maps_in_both_evaluators() {
    let program = support::lower_source(SOURCE).unwrap();
    let jit = support::compile("json maps", &program);
    let index = |name: &str| {
        program
            .helpers
            .iter()
            .position(|h| h.name == format!("def {name}"))
            .unwrap()
    };
    let ints = |xs: &[i64]| Value::List(xs.iter().map(|&n| Value::Int(n)).collect());
    for args in [vec![ints(&[])], vec![ints(&[1, 2, 3])], vec![ints(&[-4])]] {
        assert_eq!(
            support::compare_helper(&program, &jit, index("rows"), args),
            None
        );
    }
    for flag in [true, false] {
        let args = vec![Value::Bool(flag), Value::Int(7)];
        assert_eq!(
            support::compare_helper(&program, &jit, index("pick"), args),
            None
        );
    }
    assert_eq!(
        support::compare_helper(&program, &jit, index("same"), vec![Value::Int(3)]),
        None
    );
    let rows = jit.run_helper(index("rows"), vec![ints(&[1, 2])]).unwrap();
    assert_eq!(
        to_json(&program, &rows),
        json!([
            {"n": 1, "label": "n1", "even": false, "codec": "HEVC"},
            {"n": 2, "label": "n2", "even": true, "codec": "HEVC"},
        ])
    );
    assert_eq!(
        jit.run_helper(index("same"), vec![Value::Int(3)]).unwrap(),
        Value::Bool(true)
    );
}

#[test]
fn an_action_and_a_reaction_build_the_same_json_maps_in_both_evaluators() {
    let program = support::lower_source(SOURCE).unwrap();
    let jit = support::compile("json maps", &program);
    let hosts: [Box<dyn Handlers>; 2] = [
        Box::new(WorkflowHost::new(&program, "Table").unwrap()),
        Box::new(JitWorkflowHost::new(&jit, "Table").unwrap()),
    ];
    let mut facts = Vec::new();
    for host in &hosts {
        let mut instance = host.start(&json!({"xs": [5, 20]})).unwrap();
        let result = match host.action("tabulate", &instance, 0).unwrap() {
            cosmos_ir::host::ActionValue::Value(json) => json,
            other => panic!("a pure action gives a value, not {other:?}"),
        };
        assert_eq!(
            result,
            json!([{"n": 5, "big": false}, {"n": 20, "big": true}])
        );
        host.reaction("tabulate", &mut instance, &result, 0)
            .unwrap();
        facts.push(host.facts_to_json(&instance));
    }
    assert_eq!(facts[0], facts[1]);
    assert_eq!(
        facts[0]["last"],
        json!({"size": 2, "first": {"n": 5, "big": false}})
    );
}
