//! Hand-written checks that the JIT computes what the language says, beside the
//! differential tests that hold it to the interpreter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_codegen::JitWorkflowHost;
use cosmos_ir::host::Handlers;
use cosmos_ir::interp::RuntimeErrorKind;
use cosmos_ir::value::Value;
use serde_json::json;
use support::{compile, lower_source};

fn helper(program: &cosmos_ir::Program, name: &str) -> usize {
    program
        .helpers
        .iter()
        .position(|h| h.name.contains(name))
        .unwrap()
}

#[test]
fn integer_arithmetic_is_checked() {
    let program = lower_source(
        "def add(a: Int, b: Int): Int { a + b }\ndef div(a: Int, b: Int): Int { a / b }\ndef fact(n: Int): Int { if (n <= 1) 1 else n * fact(n - 1) }\n",
    )
    .unwrap();
    let jit = compile("arith", &program);
    let add = helper(&program, "add");
    assert_eq!(
        jit.run_helper(add, vec![Value::Int(2), Value::Int(3)]),
        Ok(Value::Int(5))
    );
    let e = jit
        .run_helper(add, vec![Value::Int(i64::MAX), Value::Int(1)])
        .unwrap_err();
    assert_eq!(e.kind, RuntimeErrorKind::IntOverflow);
    let div = helper(&program, "div");
    let e = jit
        .run_helper(div, vec![Value::Int(1), Value::Int(0)])
        .unwrap_err();
    assert_eq!(e.kind, RuntimeErrorKind::DivisionByZero);
    let fact = helper(&program, "fact");
    assert_eq!(
        jit.run_helper(fact, vec![Value::Int(10)]),
        Ok(Value::Int(3_628_800))
    );
    let e = jit.run_helper(fact, vec![Value::Int(30)]).unwrap_err();
    assert_eq!(e.kind, RuntimeErrorKind::IntOverflow);
}

#[test]
fn a_workflow_runs_through_the_jit_host() {
    let program = lower_source(
        r#"
workflow Count {
    input { names: List<String> }
    facts { seen: Int = 0, last: String? }
    rule "count" {
        match { seen < names.size() }
        action { names[seen] }
        reaction { seen += 1; last = "${result}!" }
    }
    complete when { seen == names.size() }
    output { [seen: seen, last: last] }
}
"#,
    )
    .unwrap();
    let jit = compile("count", &program);
    let host = JitWorkflowHost::new(&jit, "Count").unwrap();
    let mut instance = host.start(&json!({"names": ["a", "b"]})).unwrap();
    let mut steps = 0;
    while host.matches("count", &instance, 0).unwrap() {
        let cosmos_ir::host::ActionValue::Value(v) = host.action("count", &instance, 0).unwrap()
        else {
            panic!("a value action")
        };
        host.reaction("count", &mut instance, &v, 0).unwrap();
        steps += 1;
        assert!(steps < 10);
    }
    assert!(host.complete_when(&instance, 0).unwrap());
    assert_eq!(
        host.output(&instance, 0).unwrap(),
        Some(json!({"seen": 2, "last": "b!"}))
    );
}

#[test]
fn a_compiled_program_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<cosmos_codegen::CompiledProgram>();
    let program = lower_source("def twice(n: Int): Int { n * 2 }\n").unwrap();
    let jit = std::sync::Arc::new(compile("threads", &program));
    let index = helper(&program, "twice");
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let jit = jit.clone();
            std::thread::spawn(move || jit.run_helper(index, vec![Value::Int(i)]))
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), Ok(Value::Int(2 * i as i64)));
    }
}
