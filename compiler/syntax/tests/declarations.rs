//! Declarations, workflow members, tests, doc comments and comments.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers may fail loudly.

mod common;

use common::*;
use cosmos_syntax::ast::*;

#[test]
fn imports() {
    let module = parse_ok("import media.types\nimport a.b { X, Y as Z }\nimport c {}\n");
    let imports: Vec<&Import> = module
        .items
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Import(import) => import,
            other => panic!("{other:?}"),
        })
        .collect();
    let path: Vec<&str> = imports[0].path.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(path, ["media", "types"]);
    assert_eq!(imports[0].names, None);
    let names = imports[1].names.as_ref().unwrap();
    assert_eq!(names[0].name.text, "X");
    assert_eq!(names[1].alias.as_ref().unwrap().text, "Z");
    assert_eq!(imports[2].names, Some(vec![]));
}

#[test]
fn types_enums_functions_and_helpers() {
    let text = r#"
type Encoded { codec: Codec, location: String, bytes: Int = 0, maybe: types.Thing? }
enum Codec { H264, HEVC,
  AV1, }
function encode(url: String, codec: Codec = Codec.H264): Map<String, List<Int>> {
    command ["python3", "functions/encode.py"]
    pool "encoders"; timeout 1.h
    warm 2
    batch 4
    priority -1
}
def ladder(height: Int): List<Int> {
    [2160, 1080, 720].findAll { it <= height }
}
"#;
    let module = parse_ok(text);
    let [ty, en, func, def] = &module.items[..] else {
        panic!()
    };
    let ItemKind::Type(ty) = &ty.kind else {
        panic!()
    };
    assert_eq!(ty.fields.len(), 4);
    assert_eq!(type_sexp(&ty.fields[3].ty), "types.Thing?");
    assert_eq!(
        ty.fields[2].default.as_ref().map(sexp).as_deref(),
        Some("0")
    );
    let ItemKind::Enum(en) = &en.kind else {
        panic!()
    };
    let names: Vec<&str> = en.variants.iter().map(|v| v.name.text.as_str()).collect();
    assert_eq!(names, ["H264", "HEVC", "AV1"]);
    let ItemKind::Function(func) = &func.kind else {
        panic!()
    };
    assert_eq!(type_sexp(&func.ret), "Map<String, List<Int>>");
    assert_eq!(
        sexp(func.params[1].default.as_ref().unwrap()),
        "(. Codec H264)"
    );
    let kinds: Vec<SettingKind> = func.settings.iter().map(|s| s.kind).collect();
    use SettingKind::*;
    assert_eq!(kinds, [Command, Pool, Timeout, Warm, Batch, Priority]);
    assert_eq!(&text[func.settings[1].keyword.range()], "pool");
    assert_eq!(&text[func.settings[1].span.range()], "pool \"encoders\"");
    let ItemKind::Def(def) = &def.kind else {
        panic!()
    };
    assert_eq!(def.name.text, "ladder");
    assert_eq!(def.body.stmts.len(), 1);
}

#[test]
fn workflow_members_and_rule_clauses() {
    let text = r#"workflow W {
    input { source: String, codecs: List<Codec> = [Codec.H264] }
    facts {
        inspection: Inspection?
        output: Int = 0
    }
    rule "say \"hi\"" {
        priority 10
        timeout 2.h
        match { inspection == null }
        action { inspect(url: source) }
        reaction { inspection = result }
        error { retry() }
    }
    signal approve(by: String) { approved_by = by }
    signal poke { log("poked") }
    complete when { output > 0 }
    output { [count: output] }
}
"#;
    let module = parse_ok(text);
    let item = &module.items[0];
    assert_eq!(
        item.span,
        cosmos_syntax::Span::new(0, text.trim_end().len() as u32)
    );
    let ItemKind::Workflow(wf) = &item.kind else {
        panic!()
    };
    assert_eq!(wf.members.len(), 7);
    let MemberKind::Rule(rule) = &wf.members[2].kind else {
        panic!()
    };
    assert_eq!(rule.name.text, "say \"hi\"");
    assert_eq!(&text[rule.name.span.range()], r#""say \"hi\"""#);
    assert_eq!(rule.clauses.len(), 6);
    assert_eq!(&text[rule.clauses[3].keyword.range()], "action");
    assert!(matches!(rule.clauses[5].kind, ClauseKind::Error(_)));
    assert_eq!(&text[wf.members[6].keyword.range()], "output");
    assert_eq!(&text[wf.members[5].keyword.range()], "complete when");
    let MemberKind::Signal(poke) = &wf.members[4].kind else {
        panic!()
    };
    assert!(poke.params.is_empty());
    let MemberKind::Facts(facts) = &wf.members[1].kind else {
        panic!()
    };
    assert_eq!(facts[1].name.text, "output");
}

#[test]
fn test_blocks() {
    let text = r#"test "encodes once approved" {
    start EncodeTitle(source: "s3://clip.mov")
    mock inspect(url) = Inspection(width: 1920)
    mock encode fails "no such object"
    run
    assert status == STALLED && approved_by == null
    signal approve(by: "ana")
    advance 10.s
    def n = 2
    assert output == n; run
}
"#;
    let module = parse_ok(text);
    let ItemKind::Test(test) = &module.items[0].kind else {
        panic!()
    };
    assert_eq!(test.name.text, "encodes once approved");
    assert_eq!(
        &text[test.body_span.range()],
        text[text.find('{').unwrap()..].trim_end()
    );
    let kinds: Vec<String> = test
        .body
        .iter()
        .map(|s| match &s.kind {
            TestStmtKind::Start { workflow, args } => {
                format!("start {} {}", workflow[0].text, args.len())
            }
            TestStmtKind::Mock {
                function,
                params,
                answer,
            } => match answer {
                MockAnswer::Value(v) => {
                    format!("mock {}({}) = {}", function.text, params.len(), sexp(v))
                }
                MockAnswer::Fails(m) => format!("mock {} fails {}", function.text, sexp(m)),
            },
            TestStmtKind::Run => "run".into(),
            TestStmtKind::Signal { name, args } => format!("signal {} {}", name.text, args.len()),
            TestStmtKind::Advance(d) => format!("advance {}", sexp(d)),
            TestStmtKind::Assert(e) => format!("assert {}", sexp(e)),
            TestStmtKind::Stmt(s) => stmt_sexp(s),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "start EncodeTitle 1",
            "mock inspect(1) = (call Inspection width: 1920)",
            "mock encode fails (str \"no such object\")",
            "run",
            "assert (&& (== status STALLED) (== approved_by null))",
            "signal approve 1",
            "advance 10.s",
            "(def n 2)",
            "assert (== output n)",
            "run",
        ]
    );
}

#[test]
fn doc_comments_attach_and_comments_are_collected() {
    let text = r#"// leading
/** The module's record.
 *
 * More text. */
type T {
    /** A field. */
    a: Int // trailing
    /* block */ b: Int
}
enum E {
    /** First. */
    A,
    B
}
/** Helper. */
// a line comment between is fine
def f(): Int { 1 }
workflow W {
    /** Inspects. */
    rule "r" {
        match { true }
        action { 1 }
    }
}
"#;
    let module = parse_ok(text);
    let docs: Vec<Option<&str>> = module.items.iter().map(|i| i.doc.as_deref()).collect();
    assert_eq!(
        docs,
        [
            Some("The module's record.\n\nMore text."),
            None,
            Some("Helper."),
            None
        ]
    );
    let ItemKind::Type(ty) = &module.items[0].kind else {
        panic!()
    };
    assert_eq!(ty.fields[0].doc.as_deref(), Some("A field."));
    assert_eq!(ty.fields[1].doc, None);
    let ItemKind::Enum(en) = &module.items[1].kind else {
        panic!()
    };
    assert_eq!(en.variants[0].doc.as_deref(), Some("First."));
    let ItemKind::Workflow(wf) = &module.items[3].kind else {
        panic!()
    };
    assert_eq!(wf.members[0].doc.as_deref(), Some("Inspects."));
    // Item spans start at the keyword, not the doc comment.
    assert!(text[module.items[0].span.range()].starts_with("type T"));

    let comments: Vec<(CommentKind, &str)> = module
        .comments
        .iter()
        .map(|c| (c.kind, &text[c.span.range()]))
        .collect();
    assert_eq!(
        comments,
        [
            (CommentKind::Line, "// leading"),
            (
                CommentKind::Doc,
                "/** The module's record.\n *\n * More text. */"
            ),
            (CommentKind::Doc, "/** A field. */"),
            (CommentKind::Line, "// trailing"),
            (CommentKind::Block, "/* block */"),
            (CommentKind::Doc, "/** First. */"),
            (CommentKind::Doc, "/** Helper. */"),
            (CommentKind::Line, "// a line comment between is fine"),
            (CommentKind::Doc, "/** Inspects. */"),
        ]
    );
}

#[test]
fn comments_inside_strings_are_not_comments() {
    let module = parse_ok("def f(): String { \"// not ${ \"/* nor */\" }\" }\n");
    assert!(module.comments.is_empty());
}

#[test]
fn crlf_line_endings() {
    let module = parse_ok(
        "type T {\r\n  a: Int // x\r\n  b: Int\r\n}\r\ndef f(): Int {\r\n  def x = 1\r\n  x\r\n}\r\n",
    );
    assert_eq!(module.items.len(), 2);
    assert_eq!(module.comments.len(), 1);
    let module = parse_ok("\u{feff}// bom\ntype T { a: Int }\n");
    assert_eq!(module.items.len(), 1);
}

#[test]
fn debug_dump_of_a_small_module() {
    let module = parse_ok("/** Doc. */\nenum E { A }\ndef f(x: Int): Int { x + 1 }\n");
    insta::assert_debug_snapshot!(module);
}

#[test]
fn retry_and_heartbeat_settings() {
    let text = "function f(x: Int): Int {\n    command \"f\"\n    heartbeat 30.s\n    retry attempts: 4, delay: 2.s,\n        on: [FAILED, TIMEOUT]\n    retry\n}\n";
    let module = parse_ok(text);
    let ItemKind::Function(func) = &module.items[0].kind else {
        panic!()
    };
    let kinds: Vec<SettingKind> = func.settings.iter().map(|s| s.kind).collect();
    use SettingKind::*;
    assert_eq!(kinds, [Command, Heartbeat, Retry, Retry]);
    assert_eq!(sexp(&func.settings[1].value), "30.s");
    // `retry a: 1, b: 2` is a call of `retry` with the named arguments.
    let retry = &func.settings[2];
    assert_eq!(&text[retry.keyword.range()], "retry");
    assert_eq!(
        &text[retry.span.range()],
        "retry attempts: 4, delay: 2.s,\n        on: [FAILED, TIMEOUT]"
    );
    let ExprKind::Call { callee, args, .. } = &retry.value.kind else {
        panic!("{:?}", retry.value)
    };
    assert!(matches!(&callee.kind, ExprKind::Name(n) if n.text == "retry"));
    let names: Vec<&str> = args
        .iter()
        .map(|a| a.name.as_ref().map_or("", |n| n.text.as_str()))
        .collect();
    assert_eq!(names, ["attempts", "delay", "on"]);
    // With no arguments it still parses: the checker says what is missing.
    assert!(matches!(&func.settings[3].value.kind, ExprKind::Call { args, .. } if args.is_empty()));
}

#[test]
fn schedules() {
    let text = r#"
/** Nightly. */
schedule "nightly cleanup" {
    cron "0 3 * * *"
    every 6.h; overlap skip
    start {
        def d = 30.d
        Cleanup(olderThan: d)
    }
}
"#;
    let module = parse_ok(text);
    assert_eq!(module.items[0].doc.as_deref(), Some("Nightly."));
    let ItemKind::Schedule(schedule) = &module.items[0].kind else {
        panic!()
    };
    assert_eq!(schedule.name.text, "nightly cleanup");
    assert_eq!(&text[schedule.name.span.range()], "\"nightly cleanup\"");
    let clauses: Vec<String> = schedule
        .clauses
        .iter()
        .map(|c| match &c.kind {
            ScheduleClauseKind::Cron(e) | ScheduleClauseKind::Every(e) => {
                format!("{} {}", c.kind.keyword(), sexp(e))
            }
            ScheduleClauseKind::Overlap(word) => format!("overlap {}", word.text),
            ScheduleClauseKind::Start(block) => format!("start {}", block.stmts.len()),
        })
        .collect();
    assert_eq!(
        clauses,
        [
            "cron (str \"0 3 * * *\")",
            "every 6.h",
            "overlap skip",
            "start 2"
        ]
    );
    assert_eq!(&text[schedule.clauses[2].keyword.range()], "overlap");
    assert_eq!(schedule.start().map(|b| b.stmts.len()), Some(2));
}

#[test]
fn schedule_is_a_keyword_only_before_a_name() {
    // A local called `schedule` at the start of a line inside a body is a statement.
    let module =
        parse_ok("def f(): Int {\nschedule = 1\n    schedule\n}\nschedule \"s\" { every 1.h }\n");
    assert_eq!(module.items.len(), 2);
    assert!(matches!(module.items[1].kind, ItemKind::Schedule(_)));
}
