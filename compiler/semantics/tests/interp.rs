//! The reference interpreter, through lowering: each built-in family, value semantics,
//! formatting and each runtime error with its span.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod lower_support;

use lower_support::{eval, eval_error};

#[test]
fn string_builtins() {
    let src = r#"def f(): String {
        def s = "  Hello, World  "
        "${s.trim().size()} ${s.isEmpty()} ${s.contains("World")} ${s.trim().startsWith("He")} ${s.trim().endsWith("ld")} " +
        s.trim().toUpperCase() + " " + s.trim().toLowerCase() + " " + "a,b,,c".split(",") + " " + "aXbX".replace("X", "-") +
        " " + "héllo".substring(1, 3) + " " + "hello".substring(2) + " " + "42".toInteger() + " " + "x".toInteger() + " " + "1.5".toFloat() +
        " " + "abc123".matches("[a-z]+[0-9]+") + " " + "abc123x".matches("[a-z]+[0-9]+")
    }"#;
    assert_eq!(
        eval(src),
        "12 false true true true HELLO, WORLD hello, world [a, b, , c] a-b- él llo 42 null 1.5 true false"
    );
}

#[test]
fn list_builtins() {
    let src = r#"def f(): String {
        def xs = [3, 1, 2, 3]
        "${xs.size()} ${xs.isEmpty()} ${xs.contains(2)} ${xs.first()} ${xs.last()} ${xs.sum()} ${xs.min()} ${xs.max()} " +
        "${xs.sort()} ${xs.join("-")} ${xs.indexOf(3)} ${xs.indexOf(9)} ${xs.take(2)} ${xs.drop(3)} ${xs.unique()} " +
        "${[[1], [2, 3]].flatten()} ${[1, 2].flatten()} ${[1].take(-1)}"
    }"#;
    assert_eq!(
        eval(src),
        "4 false true 3 3 9 1 3 [1, 2, 3, 3] 3-1-2-3 0 -1 [3, 1] [3] [3, 1, 2] [1, 2, 3] [1, 2] []"
    );
}

#[test]
fn closures_are_loops() {
    let src = r#"def f(): String {
        def xs = [1, 2, 3, 4]
        def total = 0
        xs.each { total += it }
        def indexed = 0
        xs.eachWithIndex { x, i -> indexed += x * i }
        "${xs.any { it > 3 }} ${xs.every { it > 0 }} ${xs.find { it % 2 == 0 }} ${xs.find { it > 9 }} " +
        "${xs.findAll { it % 2 == 1 }} ${xs.collect { x -> x * 10 }} ${xs.count { it > 1 }} ${xs.sum { it * 2 }} " +
        "${["bb", "a", "ccc"].sortBy { it.size() }} $total $indexed ${[1.5, 2.5].sum { it }}"
    }"#;
    assert_eq!(
        eval(src),
        "true true 2 null [1, 3] [10, 20, 30, 40] 3 20 [a, bb, ccc] 10 20 4.0"
    );
}

#[test]
fn map_builtins_keep_insertion_order() {
    let src = r#"def f(): String {
        def m = [b: 2, a: 1]
        m["c"] = 3
        m["b"] = 20
        def seen = ""
        def empty: Map<String, Int> = [:]
        m.each { k, v -> seen += k }
        "${m} ${m.size()} ${m.isEmpty()} ${m.containsKey("a")} ${m.get("z")} ${m["a"]} ${m["zz"]} ${m.keys()} ${m.values()} " +
        "${m.any { k, v -> v > 10 }} ${m.findAll { k, v -> v < 10 }} ${m.collect { k, v -> k + v }} $seen ${empty} ${"a" in m} ${m + [a: 9]}"
    }"#;
    assert_eq!(
        eval(src),
        "[b: 20, a: 1, c: 3] 3 false true null 1 null [b, a, c] [20, 1, 3] true [a: 1, c: 3] [b20, a1, c3] bac [:] true [b: 20, a: 9, c: 3]"
    );
}

#[test]
fn numbers_durations_and_enums() {
    let src = r#"
    enum Codec { H264, HEVC }
    def f(): String {
        "${(-3).abs()} ${(-2.5).abs()} ${3.toFloat()} ${2.5.round()} ${(-2.5).round()} ${2.7.floor()} ${2.1.ceil()} ${min(2, 1.5)} ${max(2, 3)} " +
        "${1 + 2.5} ${7 / 2} ${7 % 3} ${7.0 / 2} ${90.s} ${1.5.s} ${2.h + 30.min} ${30.s * 2} ${Codec.HEVC.name()} ${Codec.valueOf("H264")} ${Codec.valueOf("x")} " +
        "${0..3} ${0..<3} ${1 == 1.0} ${3 in 0..<5} ${"ell" in "hello"} ${1.0 / 0}"
    }"#;
    assert_eq!(
        eval(src),
        "3 2.5 3.0 3 -3 2 3 1.5 3 3.5 3 1 3.5 90s 1500ms 150min 1min HEVC H264 null [0, 1, 2, 3] [0, 1, 2] true true true Infinity"
    );
}

#[test]
fn values_are_copied_and_compared_structurally() {
    let src = r#"
    type Job { id: Int, tags: List<String> = [], note: String? }
    def f(): String {
        def a = Job(id: 1)
        def b = a
        b.tags << "x"
        def xs = [1, 2]
        def ys = xs
        ys << 3
        "${a} ${b} ${a == Job(1, [], null)} ${xs} ${ys} ${[a: [1]] == [a: [1]]} ${b.note?.size()} ${b.note ?: "none"}"
    }"#;
    assert_eq!(
        eval(src),
        "Job(id: 1, tags: [], note: null) Job(id: 1, tags: [x], note: null) true [1, 2] [1, 2, 3] true null none"
    );
}

#[test]
fn helpers_recurse_and_return_early() {
    let src = r#"
    def fact(n: Int): Int {
        if (n <= 1) return 1
        n * fact(n - 1)
    }
    def first_even(xs: List<Int>, fallback: Int = -1): Int {
        for (x in xs) {
            if (x % 2 == 0) return x
        }
        fallback
    }
    def f(): String { "${fact(10)} ${first_even([1, 3, 4, 6])} ${first_even([1])} ${first_even(xs: [], fallback: 7)}" }
    "#;
    assert_eq!(eval(src), "3628800 4 -1 7");
}

#[test]
fn int_overflow_is_an_error_at_its_operator() {
    let (kind, text) = eval_error("def f(): Int { def big = 9223372036854775807\n big + 1 }");
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("integer overflow", "big + 1")
    );
    let (kind, text) = eval_error("def f(): Int { def n = -9223372036854775807 - 1\n n.abs() }");
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("integer overflow", "n.abs()")
    );
    let (kind, _) = eval_error("def f(): Int { [9223372036854775807, 1].sum() }");
    assert_eq!(kind, "integer overflow");
    let (kind, _) = eval_error("def f(): Int { 1e300.round() }");
    assert_eq!(kind, "integer overflow");
}

#[test]
fn division_by_zero_is_an_error() {
    let (kind, text) = eval_error("def f(): Int { def zero = 0\n 10 / zero }");
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("division by zero", "10 / zero")
    );
    let (kind, text) = eval_error("def f(): Int { def zero = 0\n 10 % zero }");
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("division by zero", "10 % zero")
    );
}

#[test]
fn list_index_out_of_range_is_an_error() {
    let (kind, text) = eval_error("def f(): Int { def xs = [1, 2]\n xs[2] }");
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("index 2 is out of range for a list of 2 elements", "xs[2]")
    );
    let (kind, _) = eval_error("def f(): Int { def xs = [1]\n xs[-1] }");
    assert_eq!(kind, "index -1 is out of range for a list of 1 element");
    let (kind, text) = eval_error("def f(): Int { def xs = [1]\n xs[3] = 2\n 0 }");
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("index 3 is out of range for a list of 1 element", "xs[3]")
    );
    let (kind, _) = eval_error("def f(): Bool { \"abc\".matches(\"(\") }");
    assert!(
        kind.starts_with("`(` is not a regular expression"),
        "{kind}"
    );
    let (kind, _) = eval_error("def f(): String { \"abc\".substring(1, 9) }");
    assert_eq!(
        kind,
        "`substring(1, 9)`: index 9 is out of range for a string of 3 characters"
    );
    let (kind, text) = eval_error("def f(): String { \"é\".substring(-1) }");
    assert_eq!(
        (kind.as_str(), text.as_str()),
        (
            "`substring(-1)`: index -1 is out of range for a string of 1 character",
            "\"é\".substring(-1)"
        )
    );
}

/// `substring(from, to: Int?)`: `to` may be `null`, or an `Int?` that is `null`,
/// meaning the end of the string (docs/language.md, built-ins), as when it is left out.
#[test]
fn substring_to_may_be_null() {
    let src = r#"def f(): String {
        def none: Int? = null
        def two: Int? = 2
        "${"héllo".substring(1, null)} ${"héllo".substring(1, none)} ${"héllo".substring(1, two)} ${"héllo".substring(5, null)}"
    }"#;
    assert_eq!(eval(src), "éllo éllo é ");
    let (kind, text) = eval_error("def f(): String { \"abc\".substring(4, null) }");
    assert_eq!(
        (kind.as_str(), text.as_str()),
        (
            "`substring(4, null)`: index 4 is out of range for a string of 3 characters",
            "\"abc\".substring(4, null)"
        )
    );
    let (kind, _) = eval_error("def f(): String { \"abc\".substring(2, 1) }");
    assert_eq!(kind, "`substring(2, 1)`: `from` is after `to`");
}

#[test]
fn runaway_recursion_is_an_error() {
    let (kind, _) = eval_error("def loop(n: Int): Int { loop(n + 1) }\ndef f(): Int { loop(0) }");
    assert!(kind.ends_with("too deeply"), "{kind}");
}

#[test]
fn every_builtin_method_has_an_implementation() {
    use cosmos_ir::Receiver as R;
    use cosmos_semantics::builtins::{BUILTINS, Receiver};
    for b in BUILTINS {
        let receivers: &[R] = match b.receiver {
            Receiver::String => &[R::String],
            Receiver::List => &[R::List],
            Receiver::Map => &[R::Map],
            Receiver::Number => &[R::Int, R::Float],
            Receiver::Duration => &[R::Duration],
            Receiver::Time => &[R::Time],
            Receiver::EnumValue => &[R::Enum],
            // valueOf, log, sleep, complete, fail, retry and now are IR operations;
            // min and max are built-ins.
            Receiver::EnumType => continue,
            Receiver::Global if !matches!(b.name, "min" | "max") => continue,
            Receiver::Global => &[R::Global],
        };
        let closure_only = b.signature.starts_with(&format!("{} {{", b.name));
        if closure_only {
            continue;
        }
        for r in receivers {
            assert!(
                cosmos_ir::interp::builtins::IMPLEMENTED.contains(&(*r, b.name)),
                "{:?}.{} is not implemented",
                r,
                b.name
            );
        }
    }
}

#[test]
fn assignments_through_fields_indices_and_keys() {
    let src = r#"
    type Job { id: Int, tags: List<String> = [] }
    def f(): String {
        def m = [a: 1]
        m["a"] += 10
        def xs = [1, 2]
        xs[0] += 5
        def grid = [[1, 2], [3, 4]]
        grid[0][1] = 9
        def jobs = [Job(id: 1)]
        jobs[0].id = 3
        jobs[0].tags << "t"
        def nested = [k: [1]]
        nested["k"] << 2
        def d = 1.s
        d *= 3
        def s = "a"
        s += 1
        "$m $xs $grid $jobs $nested $d $s"
    }"#;
    assert_eq!(
        eval(src),
        "[a: 11] [6, 2] [[1, 9], [3, 4]] [Job(id: 3, tags: [t])] [k: [1, 2]] 3s a1"
    );
}

#[test]
fn compound_assignment_to_an_absent_map_entry_is_an_error() {
    let (kind, text) = eval_error("def f(): Int { def m = [a: 1]\n m[\"b\"] += 1\n 0 }");
    assert_eq!(kind, "`m[k]` has no entry to update");
    assert_eq!(text, "m[\"b\"] += 1");
}

#[test]
fn long_operator_chains_evaluate() {
    let terms = vec!["1"; 120].join(" + ");
    assert_eq!(eval(&format!("def f(): Int {{ {terms} }}")), "120");
}

#[test]
fn long_operator_chains_lower_and_evaluate_on_a_small_stack() {
    // A chain is one flat node however long (docs/architecture.md): no stack to
    // spare is needed, on a thread of a tokio worker's size.
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let terms = vec!["1"; 10_000].join(" + ");
            eval(&format!("def f(): Int {{ {terms} }}"))
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), "10000");
}

#[test]
fn deep_recursion_with_nested_expressions_is_an_error_not_a_crash() {
    let src = "def down(n: Int): Int { if (n == 0) 0 else 1 + (1 + (1 + (1 + (1 + (1 + (1 + (1 + down(n - 1)))))))) }\ndef f(): Int { down(190) }";
    let (kind, _) = eval_error(src);
    assert!(kind.ends_with("too deeply"), "{kind}");
}

/// The examples of "Formatting values" in docs/language.md.
#[test]
fn formatting_follows_the_documented_rules() {
    assert_eq!(
        eval(r#"def f(): String { "${[1.0, 2.5]} ${90.s} ${[a: [1]]} ${1.5.s}" }"#),
        "[1.0, 2.5] 90s [a: [1]] 1500ms"
    );
    assert_eq!(
        eval(
            r#"def f(): String { "${now()} ${now() + 1500.ms} ${0.s} ${2.d} ${-3} ${1e21} ${true}" }"#
        ),
        "1970-01-01T00:00:00Z 1970-01-01T00:00:01.500Z 0s 2d -3 1e21 true"
    );
}
