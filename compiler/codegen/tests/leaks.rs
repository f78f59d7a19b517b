//! No leaks: many evaluations (values, errors, assignments through paths, loops
//! that build lists) under a counting global allocator leave the number of live
//! allocations where it started. The arena of each evaluation owns every value it
//! made and frees them when the evaluation ends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(unsafe_code)]

mod support;

use cosmos_ir::host::Handlers;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use cosmos_codegen::JitWorkflowHost;
use cosmos_ir::value::Value;
use serde_json::json;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to the system allocator unchanged and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SOURCE: &str = r#"
type Item { name: String, tags: List<String>, size: Int }
def total(xs: List<Item>): Int { xs.sum { it.size } }
def explode(n: Int): Int { n * 9223372036854775807 }
workflow Leaky {
    input { names: List<String> }
    facts {
        items: List<Item> = []
        index: Map<String, Int> = [:]
        log: String = ""
        count: Int = 0
    }
    rule "grow" {
        match { items.size() < 50 && names.any { it != "" } }
        action { names.collect { n -> Item(name: n, tags: [n, "${n}!"], size: n.size()) } }
        reaction {
            for (i in result) {
                items << i
                index[i.name] = total(items)
            }
            log += "${result.size()} "
            count += 1
        }
    }
    rule "overflow" {
        match { count > 1000000 || explode(count + 1) > 0 }
        action { count }
    }
    output { [items: items.size(), log: log, sorted: items.sortBy { it.size }.collect { it.name }] }
}
"#;

#[test]
fn evaluations_free_everything_they_allocate() {
    let program = support::lower_source(SOURCE).unwrap();
    let jit = support::compile("leaky", &program);
    let host = JitWorkflowHost::new(&jit, "Leaky").unwrap();
    let input = json!({"names": ["alpha", "beta", "gamma"]});
    let template = host.start(&input).unwrap();
    let total = program
        .helpers
        .iter()
        .position(|h| h.name.contains("total"))
        .unwrap();

    let run = |rounds: usize| {
        for _ in 0..rounds {
            let mut instance = template.clone();
            for _ in 0..5 {
                assert!(host.matches("grow", &instance, 0).unwrap());
                let cosmos_ir::host::ActionValue::Value(v) =
                    host.action("grow", &instance, 0).unwrap()
                else {
                    panic!("a value")
                };
                host.reaction("grow", &mut instance, &v, 0).unwrap();
            }
            // A runtime error in the middle of an evaluation frees its arena too.
            assert!(host.matches("overflow", &instance, 0).is_err());
            assert!(host.output(&instance, 0).unwrap().is_some());
            let items = instance.facts[0].clone();
            let Value::List(_) = items else {
                panic!("a list")
            };
            assert!(jit.run_helper(total, vec![items]).is_ok());
        }
    };
    // Warm up: lazily initialised state (thread locals, caches) is not a leak.
    run(3);
    let before = LIVE.load(Ordering::SeqCst);
    run(200);
    let after = LIVE.load(Ordering::SeqCst);
    assert_eq!(after, before, "live allocations grew by {}", after - before);
}
