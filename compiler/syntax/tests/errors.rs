//! Syntax errors: what was expected, in words, at the right span; and recovery, so
//! that one bad declaration or workflow member does not hide the rest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers may fail loudly.

mod common;

use common::*;
use cosmos_syntax::ast::*;
use cosmos_syntax::{SyntaxErrorKind, parse};

/// The errors of `text` as (message, text under the span).
fn errors(text: &str) -> Vec<(String, String)> {
    parse(text)
        .1
        .iter()
        .map(|e| (e.message(), text[e.span.range()].to_string()))
        .collect()
}

fn one_error(text: &str) -> (String, String) {
    let all = errors(text);
    assert_eq!(all.len(), 1, "{text}: {all:#?}");
    all.into_iter().next().unwrap()
}

#[test]
fn errors_say_what_was_expected() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "def f(): Int { f(1, }\n",
            "expected an argument or `)`, found `}`",
            "}",
        ),
        (
            "def f(): Int {\n  def x = \n}\n",
            "expected an expression, found `}`",
            "}",
        ),
        (
            "def f(): Int {\n  x y\n}\n",
            "expected an operator, a newline or `}`, found `y`",
            "y",
        ),
        ("type T { a: }\n", "expected a name, found `}`", "}"),
        ("def if = 1\n", "expected a name, found `if`", "if"),
        (
            "def f(): Int {\n  1\n",
            "expected `}`, found end of file",
            "",
        ),
        (
            "def f(): Int { \"open }\n",
            "expected `\"`, found a newline",
            "\n",
        ),
        (
            "def f(): Int { [1, 2 }\n",
            "expected an operator, `,`, `:` or `]`, found `}`",
            "}",
        ),
        (
            "enum E { A B }\n",
            "expected a newline, `,` or `}`, found `B`",
            "B",
        ),
        (
            "function f(x: Int) { command \"x\" }\n",
            "expected `:`, found `{`",
            "{",
        ),
        (
            "test \"t\" { mock f(x) 3 }\n",
            "expected `=`, found `3`",
            "3",
        ),
        (
            "garbage\ntype A {}\n",
            "expected a declaration, found `garbage`",
            "garbage",
        ),
        (
            "function f(): Int { commando \"x\" }\n",
            "expected a function setting, found `commando`",
            "commando",
        ),
    ];
    for (text, message, under) in cases {
        assert_eq!(
            one_error(text),
            (message.to_string(), under.to_string()),
            "{text}"
        );
    }
}

#[test]
fn error_kinds_are_facts() {
    let (_, errors) = parse("def f(): Int { 9223372036854775808 + \"\\q\" }\n");
    assert!(matches!(
        &errors[0].kind,
        SyntaxErrorKind::InvalidLiteral { .. }
    ));
    assert!(
        matches!(&errors[1].kind, SyntaxErrorKind::InvalidLiteral { message } if message.contains("\\q"))
    );
    let (_, errors) = parse("def f(): Int { x }}\n");
    let SyntaxErrorKind::Unexpected { expected, found } = &errors[0].kind else {
        panic!()
    };
    assert_eq!(
        (expected.as_slice(), found.as_str()),
        (&["a declaration".to_string()][..], "`}`")
    );
}

#[test]
fn invalid_literals_and_targets() {
    assert_eq!(
        one_error("def f(): Int { 9223372036854775808 }\n"),
        (
            "invalid literal: integer literal out of range".into(),
            "9223372036854775808".into()
        )
    );
    assert_eq!(
        one_error("def f(): Int { \"a\\qb\" }\n"),
        ("invalid literal: unknown escape `\\q`".into(), "\\q".into())
    );
    assert_eq!(
        one_error("def f(): Int { \"\\u{110000}\" }\n").1,
        "\\u{110000}"
    );
    assert_eq!(
        one_error("def f(): Int { a + b = 3 }\n"),
        (
            "only a name, a field or an index can be assigned to".into(),
            "a + b".into()
        )
    );
    assert_eq!(
        one_error("workflow W { rule \"${x}\" { match { true } } }\n").1,
        "\"${x}\""
    );
    assert_eq!(
        one_error("def f(): Int { f(a.b: 1) }\n"),
        ("an argument name must be a plain name".into(), "a.b".into())
    );
    assert_eq!(
        one_error("def f(): Int { [1, a: 2] }\n"),
        (
            "a literal mixes list items and map entries".into(),
            "[1, a: 2]".into()
        )
    );
}

#[test]
fn a_bad_declaration_does_not_hide_the_others() {
    let text =
        "type A { x: Int }\n\ndef broken(): Int { f(1, }\n\n/** Doc. */\ntype C { z: Int }\n";
    let (module, errors) = parse(text);
    assert_eq!(errors.len(), 1);
    assert_eq!(&text[errors[0].span.range()], "}");
    let names: Vec<&str> = module
        .items
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Type(t) => t.name.text.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["A", "C"]);
    assert_eq!(module.items[1].doc.as_deref(), Some("Doc."));
    // Spans stay file offsets after the bad chunk.
    assert_eq!(&text[module.items[1].span.range()], "type C { z: Int }");
}

#[test]
fn a_missing_brace_is_recovered_at_the_next_column_zero_declaration() {
    let text = "def f(): Int {\n    1\n\ntype B { y: Int }\n";
    let (module, errors) = parse(text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].message(), "expected `}`, found `type`");
    assert_eq!(module.items.len(), 1);
}

#[test]
fn a_bad_rule_does_not_hide_the_other_members() {
    let text = r#"workflow W {
    facts { x: Int = 0 }
    rule "bad" {
        match { x == }
        action { 1 }
    }
    rule "good" {
        match { x > 0 }
        action { 2 }
    }
    signal poke() { x = 1 }
    output { x }
}
type After { a: Int }
"#;
    let (module, errors) = parse(text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].message(), "expected an expression, found `}`");
    assert_eq!(module.items.len(), 2);
    let ItemKind::Workflow(wf) = &module.items[0].kind else {
        panic!()
    };
    assert_eq!(wf.name.text, "W");
    let kinds: Vec<String> = wf
        .members
        .iter()
        .map(|m| match &m.kind {
            MemberKind::Rule(r) => format!("rule {}", r.name.text),
            MemberKind::Facts(_) => "facts".into(),
            MemberKind::Signal(s) => format!("signal {}", s.name.text),
            MemberKind::Output(_) => "output".into(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["facts", "rule good", "signal poke", "output"]);
    assert_eq!(
        &text[module.items[0].span.range()],
        text.split("\ntype").next().unwrap()
    );
}

#[test]
fn a_rule_missing_its_brace_does_not_swallow_the_next() {
    let text = "workflow W {\n  rule \"a\" {\n    match { x }\n\n  rule \"b\" {\n    match { true }\n  }\n}\n";
    let (module, errors) = parse(text);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message(), "expected `}`, found `rule`");
    let ItemKind::Workflow(wf) = &module.items[0].kind else {
        panic!()
    };
    assert_eq!(wf.members.len(), 1);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let depth = 5_000;
    let text = format!(
        "def f(): Int {{ {}1{} }}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let (_, errors) = parse(&text);
    assert!(matches!(
        errors[0].kind,
        SyntaxErrorKind::TooDeeplyNested { .. }
    ));
    let chain = format!(
        "def f(): Int {{ if (a) 1 {} else 2 }}\n",
        "else if (a) 1 ".repeat(3_000)
    );
    // An `else if` chain is not nesting: any length parses, as one flat node.
    let module = parse_ok(&chain);
    let ItemKind::Def(def) = &module.items[0].kind else {
        panic!("not a def")
    };
    let StmtKind::Expr(Expr {
        kind: ExprKind::If { branches, .. },
        ..
    }) = &def.body.stmts[0].kind
    else {
        panic!("not an if")
    };
    assert_eq!(branches.len(), 3_001);
    // Neither is an operator chain.
    parse_ok(&format!(
        "def f(): Int {{ {} }}\n",
        vec!["1"; 100_000].join(" + ")
    ));
    // A unary operator is: one past the limit is reported.
    let past = cosmos_syntax::MAX_NESTING as usize + 1;
    let (_, errors) = parse(&format!("def f(): Bool {{ {}true }}\n", "!".repeat(past)));
    assert!(matches!(
        errors[0].kind,
        SyntaxErrorKind::TooDeeplyNested { limit } if limit == cosmos_syntax::MAX_NESTING
    ));
    // Just under it parses (the body's block and its statement take a level each).
    let under = cosmos_syntax::MAX_NESTING as usize - 2;
    parse_ok(&format!("def f(): Bool {{ {}true }}\n", "!".repeat(under)));
    let ok = format!(
        "def f(): Int {{ {}1{} }}\n",
        "(".repeat(under),
        ")".repeat(under)
    );
    parse_ok(&ok);
}

/// A `/*` that no `*/` closes is one error at the `/*`, wherever it is: at the
/// start of the file (where it used to hide everything without a word), between
/// declarations, or inside one. What lies before it is still parsed.
#[test]
fn an_unclosed_block_comment_is_an_error_at_its_start() {
    let unclosed = "this comment is never closed: without a `*/` it runs to the end of the file";
    let cases: &[(&str, &[&str])] = &[
        ("/* Encodes.\nworkflow W {\n  output { 1 }\n}\n", &[]),
        ("/** Doc.\nworkflow W {\n  output { 1 }\n}", &[]),
        ("type A { x: Int }\n/* later\ntype B { y: Int }\n", &["A"]),
        ("type A { x: Int } /* later", &["A"]),
        ("type A { x: Int }\ndef f(): Int {\n  1 /* one\n}\n", &["A"]),
        (
            "type A { x: Int }\nworkflow W {\n  input { x: Int }\n  /* out\n  output { x }\n}\n",
            &["A", "W"],
        ),
    ];
    for &(text, kept) in cases {
        let (module, errors) = parse(text);
        let described: Vec<String> = errors.iter().map(|e| describe(text, e)).collect();
        assert_eq!(errors.len(), 1, "{text:?}: {described:#?}");
        assert_eq!(errors[0].kind, SyntaxErrorKind::UnclosedComment, "{text:?}");
        assert_eq!(errors[0].message(), unclosed);
        assert!(text[errors[0].span.range()].starts_with("/*"), "{text:?}");
        assert_eq!(errors[0].span.len(), 2, "{text:?}");
        let names: Vec<&str> = module
            .items
            .iter()
            .map(|i| match &i.kind {
                ItemKind::Type(t) => t.name.text.as_str(),
                ItemKind::Workflow(w) => w.name.text.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, kept, "{text:?}");
        // The comment is still a comment, to the end of the file.
        let last = module.comments.last().unwrap();
        assert_eq!(last.span.end as usize, text.len());
    }
    // An error before the comment is still reported, and first.
    let text = "def f(): Int { f(1, }\n/* never closed\n";
    let messages: Vec<String> = parse(text).1.iter().map(|e| e.message()).collect();
    assert_eq!(
        messages,
        ["expected an argument or `)`, found `}`", unclosed]
    );
}
