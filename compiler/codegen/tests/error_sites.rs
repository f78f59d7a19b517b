//! A run-time error says where it happened — `path:line:column` of the failing
//! operation and the body that was running — and the JIT says exactly what the
//! interpreter says.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_codegen::JitWorkflowHost;
use cosmos_ir::host::{Handlers, HostError, WorkflowHost};
use serde_json::json;

const SOURCE: &str = r#"def down(n: Int): Int {
    if (n < 0) return 0
    1 + down(n + 1)
}

workflow Divide {
    input { zero: Int = 0 }
    facts { n: Int? }
    rule "split the work" {
        match { n == null }
        action { 10 / zero }
        reaction { n = result }
    }
}

workflow Index {
    input { at: Int = 5 }
    facts { n: Int? }
    rule "pick" {
        match { n == null }
        action { 0 }
        reaction { n = [1, 2][at] }
    }
}

workflow Overflow {
    input { big: Int = 9223372036854775807 }
    facts { n: Int? }
    rule "grow" {
        match { n == null && big * 2 > 0 }
        action { 0 }
        reaction { n = result }
    }
}

workflow Recurse {
    facts { n: Int? }
    rule "descend" {
        match { n == null }
        action { down(0) }
        reaction { n = result }
    }
    signal poke(by: Int) { n = 7 % by }
}
"#;

/// `main.emx:LINE:COLUMN` of the first occurrence of `needle` in [`SOURCE`].
fn at(needle: &str) -> String {
    let offset = SOURCE.find(needle).unwrap();
    let before = &SOURCE[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap().chars().count() + 1;
    format!("main.emx:{line}:{column}")
}

/// The message of a run-time error, from both evaluators, which must agree.
fn both(workflow: &str, run: impl Fn(&dyn Handlers) -> Result<(), HostError>) -> String {
    let program = support::lower_source(SOURCE).unwrap();
    let jit = support::compile("error sites", &program);
    let interpreter = WorkflowHost::new(&program, workflow).unwrap();
    let native = JitWorkflowHost::new(&jit, workflow).unwrap();
    let expected = run(&interpreter).unwrap_err();
    let actual = run(&native).unwrap_err();
    assert!(matches!(expected, HostError::Runtime(_)), "{expected:?}");
    assert_eq!(expected.to_string(), actual.to_string());
    expected.to_string()
}

#[test]
fn division_by_zero_names_the_division_and_the_action() {
    let message = both("Divide", |host| {
        let instance = host.start(&json!({})).unwrap();
        host.action("split the work", &instance, 0).map(drop)
    });
    assert_eq!(
        message,
        format!(
            "division by zero at {}, in rule \"split the work\", action",
            at("10 / zero")
        )
    );
}

#[test]
fn an_index_out_of_range_names_the_index_and_the_reaction() {
    let message = both("Index", |host| {
        let mut instance = host.start(&json!({})).unwrap();
        host.reaction("pick", &mut instance, &json!(0), 0).map(drop)
    });
    assert_eq!(
        message,
        format!(
            "index 5 is out of range for a list of 2 elements at {}, in rule \"pick\", reaction",
            at("[1, 2][at]")
        )
    );
}

#[test]
fn an_overflow_names_the_operation_and_the_match() {
    let message = both("Overflow", |host| {
        let instance = host.start(&json!({})).unwrap();
        host.matches("grow", &instance, 0).map(drop)
    });
    assert_eq!(
        message,
        format!(
            "integer overflow at {}, in rule \"grow\", match",
            at("big * 2")
        )
    );
}

#[test]
fn the_recursion_limit_names_the_call_in_the_helper_and_the_rule_part() {
    let message = both("Recurse", |host| {
        let instance = host.start(&json!({})).unwrap();
        host.action("descend", &instance, 0).map(drop)
    });
    assert_eq!(
        message,
        format!(
            "helpers recurse too deeply at {}, in rule \"descend\", action",
            at("down(n + 1)")
        )
    );
}

#[test]
fn a_signal_handler_is_named_too() {
    let message = both("Recurse", |host| {
        let mut instance = host.start(&json!({})).unwrap();
        host.signal("poke", &mut instance, &json!({"by": 0}), 0)
            .map(drop)
    });
    assert_eq!(
        message,
        format!("division by zero at {}, in signal poke", at("7 % by"))
    );
}
