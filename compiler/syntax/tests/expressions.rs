//! Expressions and statements: precedence, newlines, literals, strings, closures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers may fail loudly.

mod common;

use common::*;
use cosmos_syntax::ast::*;

#[test]
fn precedence_follows_the_reference() {
    assert_eq!(expr_sexp("a || b && c"), "(|| a (&& b c))");
    assert_eq!(expr_sexp("a && b == c"), "(&& a (== b c))");
    assert_eq!(expr_sexp("a == b < c"), "(== a (< b c))");
    assert_eq!(expr_sexp("a < b .. c"), "(< a (.. b c))");
    assert_eq!(expr_sexp("x in 0..<n"), "(in x (..< 0 n))");
    assert_eq!(expr_sexp("a .. b + c"), "(.. a (+ b c))");
    assert_eq!(expr_sexp("a + b * c - d"), "(- (+ a (* b c)) d)");
    assert_eq!(expr_sexp("a / b % c"), "(% (/ a b) c)");
    assert_eq!(expr_sexp("-a * !b"), "(* (neg a) (! b))");
    assert_eq!(expr_sexp("!a.b(c)[0]"), "(! (idx (call (. a b) c) 0))");
    assert_eq!(expr_sexp("a?.b.c"), "(. (?. a b) c)");
    assert_eq!(expr_sexp("a ?: b || c"), "(?: a (|| b c))");
    assert_eq!(expr_sexp("a ?: b ?: c"), "(?: a (?: b c))");
    assert_eq!(expr_sexp("c ? a : b"), "(? c a b)");
    assert_eq!(
        expr_sexp("c || d ? a + 1 : b ?: e"),
        "(? (|| c d) (+ a 1) (?: b e))"
    );
    assert_eq!(expr_sexp("c ? x ? 1 : 2 : 3"), "(? c (? x 1 2) 3)");
    assert_eq!(expr_sexp("(a + b) * c"), "(* (paren (+ a b)) c)");
    assert_eq!(expr_sexp("a - -b"), "(- a (neg b))");
}

#[test]
fn spans_cover_operands() {
    let e = expr("foo.bar(1) + 2");
    // The body starts after "def f(): Int {\n".
    let base = "def f(): Int {\n".len() as u32;
    assert_eq!((e.span.start - base, e.span.end - base), (0, 14));
    let ExprKind::Chain { first, .. } = e.kind else {
        panic!()
    };
    assert_eq!(first.span.end - base, 10);
}

#[test]
fn newlines_end_statements() {
    assert_eq!(stmts_sexp("a\nb"), ["a", "b"]);
    assert_eq!(stmts_sexp("a; b;\n\nc"), ["a", "b", "c"]);
    assert_eq!(stmts_sexp("a\n- b"), ["a", "(neg b)"]);
    assert_eq!(stmts_sexp("f\n(x)"), ["f", "(paren x)"]);
    assert_eq!(stmts_sexp("xs\n[0]"), ["xs", "[0]"]);
}

#[test]
fn lines_continue_after_operators_and_inside_brackets() {
    assert_eq!(expr_sexp("a +\n  b"), "(+ a b)");
    assert_eq!(expr_sexp("a &&\n  b ||\n  c"), "(|| (&& a b) c)");
    assert_eq!(expr_sexp("a\n  && b\n  || c"), "(|| (&& a b) c)");
    assert_eq!(expr_sexp("a\n  ?: b"), "(?: a b)");
    assert_eq!(expr_sexp("c\n  ? a\n  : b"), "(? c a b)");
    assert_eq!(expr_sexp("f(\n  a,\n  b: c,\n)"), "(call f a b: c)");
    assert_eq!(expr_sexp("(a\n + b)"), "(paren (+ a b))");
    assert_eq!(expr_sexp("[\n  1,\n  2\n]"), "[1 2]");
    assert_eq!(expr_sexp("xs.\n  size()"), "(call (. xs size))");
    assert_eq!(
        expr_sexp("xs\n  .findAll { it > 1 }\n  ?.size()"),
        "(call (?. (call (. xs findAll) {(> it 1)}) size))"
    );
    assert_eq!(
        expr_sexp("xs.collect { x ->\n  x * 2\n}"),
        "(call (. xs collect) {x -> (* x 2)})"
    );
}

#[test]
fn statements() {
    assert_eq!(stmts_sexp("def x = 1"), ["(def x 1)"]);
    assert_eq!(
        stmts_sexp("def x: List<Int?>? = []"),
        ["(def x: List<Int?>? [])"]
    );
    assert_eq!(
        stmts_sexp("x = 1\nx += 1\nx -= 1\nx *= 2\nx /= 2\nxs << 3\nm[k] = v\na.b = c"),
        [
            "(= x 1)",
            "(+= x 1)",
            "(-= x 1)",
            "(*= x 2)",
            "(/= x 2)",
            "(<< xs 3)",
            "(= (idx m k) v)",
            "(= (. a b) c)"
        ]
    );
    assert_eq!(
        stmts_sexp("for (i in 0..<n) { log(i) }"),
        ["(for i (..< 0 n) {(call log i)})"]
    );
    assert_eq!(
        stmts_sexp("return\nreturn x + 1"),
        ["(return)", "(return (+ x 1))"]
    );
    assert_eq!(stmts_sexp("x == 1"), ["(== x 1)"]);
}

#[test]
fn if_else_forms() {
    assert_eq!(stmts_sexp("if (a) b else c"), ["(if a b else c)"]);
    assert_eq!(
        stmts_sexp("if (a) x = 1 else x = 2"),
        ["(if a (= x 1) else (= x 2))"]
    );
    assert_eq!(
        stmts_sexp("if (error.attempt < 3) retry(after: 1.s * error.attempt)\nelse fail(\"no\")"),
        [
            "(if (< (. error attempt) 3) (call retry after: (* 1.s (. error attempt))) else (call fail (str \"no\")))"
        ]
    );
    assert_eq!(
        stmts_sexp("if (a) {\n  b\n}\nelse if (c) {\n  d\n} else {\n  e\n}"),
        ["(if a {b} else (if c {d} else {e}))"]
    );
    assert_eq!(stmts_sexp("if (a) b\nc"), ["(if a b)", "c"]);
    assert_eq!(
        stmts_sexp("def x = if (a) 1 else 2"),
        ["(def x (if a 1 else 2))"]
    );
    let e = expr("if (a) b else c");
    let ExprKind::If { branches, .. } = e.kind else {
        panic!()
    };
    assert!(!branches[0].then.braced);
}

#[test]
fn numbers() {
    assert_eq!(expr_sexp("42"), "42");
    assert_eq!(expr_sexp("1_000_000"), "1000000");
    assert_eq!(expr_sexp("0x1F"), "31");
    assert_eq!(expr_sexp("3.14"), "3.14");
    assert_eq!(expr_sexp("1e9"), "1000000000.0");
    assert_eq!(expr_sexp("2.5e-3"), "0.0025");
    assert_eq!(expr_sexp("9223372036854775807"), "9223372036854775807");
}

#[test]
fn durations_and_field_access() {
    assert_eq!(expr_sexp("30.s"), "30.s");
    assert_eq!(expr_sexp("1.5.h"), "1.5.h");
    assert_eq!(expr_sexp("2.min + 10.ms + 1.d"), "(+ (+ 2.min 10.ms) 1.d)");
    assert_eq!(expr_sexp("x.s"), "(. x s)");
    assert_eq!(expr_sexp("3.size()"), "(call (. 3 size))");
    assert_eq!(expr_sexp("2.seconds"), "(. 2 seconds)");
    assert_eq!(expr_sexp("1..5"), "(.. 1 5)");
    assert_eq!(
        expr_sexp("10.s * error.attempt"),
        "(* 10.s (. error attempt))"
    );
}

#[test]
fn lists_maps_and_closures() {
    assert_eq!(expr_sexp("[]"), "[]");
    assert_eq!(expr_sexp("[:]"), "[:]");
    assert_eq!(expr_sexp("[a, b]"), "[a b]");
    assert_eq!(
        expr_sexp("[codec: \"h264\", \"with space\": 2, (k): 3, 4: x]"),
        "['codec: (str \"h264\"), (str \"with space\"): 2, (paren k): 3, 4: x]"
    );
    assert_eq!(
        expr_sexp("[\n  a: 1,\n  b: c ?: d,\n]"),
        "['a: 1, 'b: (?: c d)]"
    );
    assert_eq!(
        expr_sexp("xs.any { it > 2 }"),
        "(call (. xs any) {(> it 2)})"
    );
    assert_eq!(
        expr_sexp("m.each { k, v -> log(k) }"),
        "(call (. m each) {k, v -> (call log k)})"
    );
    assert_eq!(expr_sexp("f(x) { it }"), "(call f x {it})");
    assert_eq!(expr_sexp("f() {}"), "(call f {})");
    assert_eq!(
        expr_sexp(
            "codecs.collect { c -> rungs.collect { h -> encode(codec: c, height: h) } }.flatten()"
        ),
        "(call (. (call (. codecs collect) {c -> (call (. rungs collect) {h -> (call encode codec: c height: h)})}) flatten))"
    );
    assert_eq!(expr_sexp("[a ? b : c]"), "[(? a b c)]");
}

#[test]
fn strings_interpolate() {
    assert_eq!(expr_sexp(r#""a ${b} c""#), r#"(str "a " ${b} " c")"#);
    assert_eq!(expr_sexp(r#""$source.mp4""#), r#"(str ${source} ".mp4")"#);
    assert_eq!(
        expr_sexp(r#""cost: $ 5 and $""#),
        r#"(str "cost: $ 5 and $")"#
    );
    assert_eq!(
        expr_sexp(r#""${m["k"]} ${xs.collect { "${it}!" }}""#),
        r#"(str ${(idx m (str "k"))} " " ${(call (. xs collect) {(str ${it} "!")})})"#
    );
    assert_eq!(
        expr_sexp(r#"'no $interp ${here}'"#),
        r#"(str "no $interp ${here}")"#
    );
    assert_eq!(expr_sexp(r#""""#), r#"(str )"#);
}

#[test]
fn interpolation_spans_are_file_offsets() {
    let text = "def f(): String {\n    \"x ${ a.b } $name\"\n}\n";
    let module = parse_ok(text);
    let ItemKind::Def(def) = &module.items[0].kind else {
        panic!()
    };
    let StmtKind::Expr(e) = &def.body.stmts[0].kind else {
        panic!()
    };
    let ExprKind::Str(lit) = &e.kind else {
        panic!()
    };
    let spans: Vec<&str> = lit
        .parts
        .iter()
        .filter_map(|p| match p {
            StrPart::Expr(e) => Some(&text[e.span.range()]),
            StrPart::Text(_) => None,
        })
        .collect();
    assert_eq!(spans, ["a.b", "name"]);
}

#[test]
fn escapes() {
    let e = expr(r#""\n\t\r\\\"\'\$\u{1F600}""#);
    let ExprKind::Str(lit) = e.kind else { panic!() };
    assert_eq!(lit.as_plain().unwrap(), "\n\t\r\\\"'$\u{1F600}");
    assert_eq!(lit.quote, QuoteKind::Double);
}

#[test]
fn triple_quoted_strings_span_lines() {
    let e = expr("\"\"\"line one\n  \"quoted\" ${x}\n\"\"\"");
    let ExprKind::Str(lit) = &e.kind else {
        panic!()
    };
    assert_eq!(lit.quote, QuoteKind::TripleDouble);
    assert_eq!(
        str_sexp(lit),
        r#"(str "line one\n  \"quoted\" " ${x} "\n")"#
    );
    let e = expr("'''it's ${raw}\n'''");
    let ExprKind::Str(lit) = &e.kind else {
        panic!()
    };
    assert_eq!(lit.quote, QuoteKind::TripleSingle);
    assert_eq!(lit.as_plain().unwrap(), "it's ${raw}\n");
}

#[test]
fn contextual_keywords_are_names_elsewhere() {
    assert_eq!(expr_sexp("error.message"), "(. error message)");
    assert_eq!(
        stmts_sexp("output = match + action"),
        ["(= output (+ match action))"]
    );
    assert_eq!(expr_sexp("complete(when)"), "(call complete when)");
    assert_eq!(expr_sexp("timeout.priority"), "(. timeout priority)");
}
