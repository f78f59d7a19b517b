//! A reaction that puts into a map fact or appends to a list fact it never reads as a
//! value changes the instance's value in place (the change logged, and taken back
//! if the reaction fails) instead of copying the whole map or list first; one that
//! also reads the fact keeps copying, so that what it read does not change.
//! Counted with a global allocator: a put into a map of 2,000 entries makes a
//! handful of allocations, not thousands.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(unsafe_code)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use cosmos_codegen::JitWorkflowHost;
use cosmos_ir::host::{Handlers, Instance, WorkflowHost};
use serde_json::json;

struct Counting;

thread_local! {
    /// Allocations made by this thread (the tests run on several at once).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to the system allocator unchanged and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SOURCE: &str = r#"
workflow Owned {
    facts {
        meta: Map<String, String> = [:]
        names: List<String> = []
        counts: Map<String, Int> = [:]
        seen: Int = 0
        zero: Int = 0
        first: String = "one"
        second: String = "two"
        kept: String = ""
    }
    rule "put" {
        match { seen < 0 }
        action { 1 }
        reaction {
            meta["k"] = "v"
            names << "n"
            counts["c"] += 1
            seen += 1
        }
    }
    rule "put-then-fail" {
        match { seen < 0 }
        action { 1 }
        reaction {
            meta["k"] = "changed"
            meta["new"] = "added"
            names << "n"
            counts["c"] += 1
            seen = seen / zero
        }
    }
    rule "swap" {
        match { seen < 0 }
        action { 1 }
        reaction {
            kept = first
            def t = first
            first = second
            second = t
            meta["k"] = kept
        }
    }
    rule "read-then-put" {
        match { seen < 0 }
        action { 1 }
        reaction {
            def before = meta
            def items = names
            meta["k"] = "v"
            names << "n"
            seen = before.size() * 1000 + items.size()
        }
    }
}
"#;

/// An instance whose map and list facts hold `n` entries and items (and the
/// counter "c").
fn big(host: &WorkflowHost<'_>, n: usize) -> Instance {
    let mut instance = host.start(&json!({})).unwrap();
    let meta: serde_json::Map<String, serde_json::Value> = (0..n)
        .map(|i| (format!("key{i}"), json!(format!("value{i}"))))
        .collect();
    let names: Vec<String> = (0..n).map(|i| format!("name{i}")).collect();
    instance.facts = host
        .facts_from_json(&json!({
            "meta": meta, "names": names, "counts": {"c": 1}, "seen": 0, "zero": 0,
            "first": "one", "second": "two", "kept": "",
        }))
        .unwrap();
    instance
}

/// Runs `f` with the interpreter's and the JIT's hosts of the workflow.
fn with_hosts(f: impl FnOnce(&WorkflowHost<'_>, &JitWorkflowHost<'_>)) {
    let program = support::lower_source(SOURCE).unwrap();
    let jit = cosmos_codegen::Jit::compile(&program).unwrap();
    let interp = WorkflowHost::new(&program, "Owned").unwrap();
    let host = JitWorkflowHost::new(&jit, "Owned").unwrap();
    f(&interp, &host);
}

fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn a_put_and_an_append_to_facts_the_reaction_owns_do_not_copy_them() {
    with_hosts(|interp, host| {
        let instance = big(interp, 2_000);

        let mut a = instance.clone();
        let mut b = instance.clone();
        // A warm-up, so that no one-time allocation (the thread's spare cells) counts.
        host.reaction("put", &mut a.clone(), &json!(1), 0).unwrap();
        let made = allocations(|| {
            host.reaction("put", &mut a, &json!(1), 0).unwrap();
        });
        interp.reaction("put", &mut b, &json!(1), 0).unwrap();
        assert_eq!(a, b, "the JIT and the interpreter disagree");
        assert_ne!(a, instance);
        // Copying the map alone would be 4,000 strings and the list 2,000 more.
        assert!(made < 50, "a put and an append made {made} allocations");
    });
}

#[test]
fn a_reaction_that_fails_after_changing_owned_facts_in_place_leaves_them_as_they_were() {
    with_hosts(|interp, host| {
        for n in [0, 1, 2_000] {
            let instance = big(interp, n);
            let mut a = instance.clone();
            let error = host
                .reaction("put-then-fail", &mut a, &json!(1), 0)
                .unwrap_err();
            assert!(format!("{error:?}").contains("DivisionByZero"), "{error:?}");
            assert_eq!(
                a, instance,
                "the failed reaction left a change ({n} entries)"
            );
            // And the same instance reacts normally afterwards.
            let mut b = instance.clone();
            host.reaction("put", &mut a, &json!(1), 0).unwrap();
            interp.reaction("put", &mut b, &json!(1), 0).unwrap();
            assert_eq!(a, b, "{n} entries");
        }
    });
}

#[test]
fn a_fact_read_as_a_value_is_copied_before_it_changes() {
    with_hosts(|interp, host| {
        for n in [0, 3] {
            let instance = big(interp, n);
            let (mut a, mut b) = (instance.clone(), instance.clone());
            host.reaction("read-then-put", &mut a, &json!(1), 0)
                .unwrap();
            interp
                .reaction("read-then-put", &mut b, &json!(1), 0)
                .unwrap();
            assert_eq!(a, b, "{n} entries");
            // `before` and `items` kept what they read: n entries and n items.
            let seen = host.facts_to_json(&a)["seen"].clone();
            assert_eq!(seen, json!(n * 1000 + n), "{n} entries");
        }
    });
}

/// Facts assigned from other facts that are assigned too get the values those had
/// before the reaction, as in the interpreter: what a fact read held is written
/// after every other assigned fact was read.
#[test]
fn facts_assigned_from_each_other_take_the_values_they_read() {
    with_hosts(|interp, host| {
        let instance = big(interp, 2);
        let (mut a, mut b) = (instance.clone(), instance.clone());
        for _ in 0..3 {
            host.reaction("swap", &mut a, &json!(1), 0).unwrap();
            interp.reaction("swap", &mut b, &json!(1), 0).unwrap();
            assert_eq!(a, b);
        }
        let facts = host.facts_to_json(&a);
        assert_eq!(
            (
                &facts["first"],
                &facts["second"],
                &facts["kept"],
                &facts["meta"]["k"]
            ),
            (&json!("two"), &json!("one"), &json!("one"), &json!("one"))
        );
    });
}
