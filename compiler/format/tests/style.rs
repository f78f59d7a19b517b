//! The style rules, one behaviour per test: input, the expected output, and for
//! each the formatter's promises (a fixed point, same tree, same comments).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_format::{FormatError, format};

/// Formats `input`, checks that formatting again changes nothing, and compares.
fn assert_formats(input: &str, expected: &str) {
    let output = format(input).unwrap();
    assert_eq!(output, expected, "\n--- got:\n{output}");
    assert_eq!(format(&output).unwrap(), output, "not idempotent");
    cosmos_format::same::check(input, &output).unwrap();
}

#[test]
fn spaces_around_operators_and_after_colons() {
    assert_formats(
        "type   A{a:Int,b :String=\"x\"}\ndef f(x:Int):Int{x*2+1}\n",
        "type A { a: Int, b: String = \"x\" }\n\ndef f(x: Int): Int {\n    x * 2 + 1\n}\n",
    );
}

#[test]
fn closures_sit_on_one_line_when_short() {
    assert_formats(
        "def f(xs:List<Int>):Bool{xs.collect{x->x*2}.any(){it>2}}\n",
        "def f(xs: List<Int>): Bool {\n    xs.collect { x -> x * 2 }.any { it > 2 }\n}\n",
    );
}

#[test]
fn one_statement_per_line_and_at_most_one_blank_line() {
    assert_formats(
        "def f(): Int {\n\n    def a = 1; def b = 2\n\n\n\n    a + b\n\n}\n",
        "def f(): Int {\n    def a = 1\n    def b = 2\n\n    a + b\n}\n",
    );
}

#[test]
fn one_blank_line_between_declarations_and_members_and_imports_packed() {
    assert_formats(
        "import a.b\nimport c { D }\ntype T { x: Int }\nworkflow W {\n    facts { n: Int = 0 }\n    complete   when { n > 0 }\n    output { n }\n}\n",
        "import a.b\nimport c { D }\n\ntype T { x: Int }\n\nworkflow W {\n    facts {\n        n: Int = 0\n    }\n\n    complete when { n > 0 }\n\n    output { n }\n}\n",
    );
}

#[test]
fn long_lists_and_arguments_break_one_per_line_with_a_trailing_comma() {
    assert_formats(
        "def f(): List<String> { g(\"aaaaaaaaaaaaaaaaaaaa\", [\"bbbbbbbbbbbbbbbbbbbbbbbbb\", \"cccccccccccccccccccccccccc\", \"ddddddddddddd\"]) }\n",
        "def f(): List<String> {\n    g(\n        \"aaaaaaaaaaaaaaaaaaaa\",\n        [\"bbbbbbbbbbbbbbbbbbbbbbbbb\", \"cccccccccccccccccccccccccc\", \"ddddddddddddd\"],\n    )\n}\n",
    );
}

#[test]
fn short_multi_line_lists_are_joined() {
    assert_formats(
        "def f(): List<Int> {\n    [\n        1,\n        2,\n    ]\n}\n",
        "def f(): List<Int> {\n    [1, 2]\n}\n",
    );
}

#[test]
fn rule_clauses_keep_their_order_and_short_blocks_stay_on_one_line() {
    assert_formats(
        "workflow W {\n    facts { n: Int = 0 }\n    rule \"r\" {\n        reaction { n = result }\n        match { n == 0 }\n        action { 1 }\n        priority 2\n    }\n}\n",
        "workflow W {\n    facts {\n        n: Int = 0\n    }\n\n    rule \"r\" {\n        reaction { n = result }\n        match { n == 0 }\n        action { 1 }\n        priority 2\n    }\n}\n",
    );
}

#[test]
fn literals_print_as_written() {
    let input = "def f(): List<String> {\n    [\"a\\n\\$x ${1_000}\", 'it\\'s', \"\"\"two\n  lines\"\"\", \"${0x1F} ${1e9} ${1.5.h} ${2.5e-3}\"]\n}\n";
    assert_formats(input, input);
}

#[test]
fn unbraced_branches_stay_unbraced() {
    assert_formats(
        "def f(a: Int): Int {\n    if (a > 1) return a\n    else return 0\n}\n",
        "def f(a: Int): Int {\n    if (a > 1) return a else return 0\n}\n",
    );
}

#[test]
fn end_of_line_comments_stay_at_the_end_of_their_line() {
    assert_formats(
        "def f(): Int {   // why\n    def a = 1     // one\n    a // result\n} // after\n",
        "def f(): Int { // why\n    def a = 1 // one\n    a // result\n} // after\n",
    );
}

#[test]
fn comments_between_statements_stay_between_them() {
    assert_formats(
        "def f(): Int {\n  // first\n  def a = 1\n\n\n  /* block */\n  a\n  // last\n}\n",
        "def f(): Int {\n    // first\n    def a = 1\n\n    /* block */\n    a\n    // last\n}\n",
    );
}

#[test]
fn comments_in_lists_force_one_item_per_line() {
    assert_formats(
        "def f(): List<Int> { [1, // one\n 2] }\n",
        "def f(): List<Int> {\n    [\n        1, // one\n        2,\n    ]\n}\n",
    );
}

#[test]
fn doc_comments_sit_directly_above_their_declaration() {
    assert_formats(
        "// header\n\n/** Doc. */\n\ntype T { x: Int }\n",
        "// header\n\n/** Doc. */\ntype T { x: Int }\n",
    );
}

#[test]
fn a_comment_inside_an_expression_keeps_the_expression_as_written() {
    assert_formats(
        "def f(a: Int): Int {\n    a +   /* why */ 1\n}\n",
        "def f(a: Int): Int {\n    a +   /* why */ 1\n}\n",
    );
}

#[test]
fn tests_are_formatted_statement_by_statement() {
    assert_formats(
        "test \"t\" {\n  start W(src:\"x\")\n  mock f(url,n) = A(a:1)\n  mock g fails \"no\"\n  run\n  advance 10.s\n  signal s(by:\"me\")\n  assert status==COMPLETED\n}\n",
        "test \"t\" {\n    start W(src: \"x\")\n    mock f(url, n) = A(a: 1)\n    mock g fails \"no\"\n    run\n    advance 10.s\n    signal s(by: \"me\")\n    assert status == COMPLETED\n}\n",
    );
}

#[test]
fn long_conditions_break_after_their_operators() {
    assert_formats(
        "def f(aaaaaaaaaaaaaaaaaaaa: Bool, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb: Bool, cccccccccccccccccccccccccccc: Bool): Bool {\n    aaaaaaaaaaaaaaaaaaaa && bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb && cccccccccccccccccccccccccccc && aaaaaaaaaaaaaaaaaaaa\n}\n",
        "def f(\n    aaaaaaaaaaaaaaaaaaaa: Bool,\n    bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb: Bool,\n    cccccccccccccccccccccccccccc: Bool,\n): Bool {\n    aaaaaaaaaaaaaaaaaaaa &&\n        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb &&\n        cccccccccccccccccccccccccccc &&\n        aaaaaaaaaaaaaaaaaaaa\n}\n",
    );
}

#[test]
fn a_file_with_syntax_errors_is_not_formatted() {
    match format("def f(: Int { }\n") {
        Err(FormatError::Syntax(errors)) => assert!(!errors.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_file_stays_empty() {
    assert_formats("", "");
    assert_formats("\n\n// only a comment\n\n", "// only a comment\n");
}

/// Comments at the edges of a file: one at the very end without a final newline,
/// one glued to an import (`import main// x`), one after the last declaration.
#[test]
fn comments_at_the_end_of_a_file_and_glued_to_an_import() {
    assert_formats(
        "workflow W {\n  input { x: Int }\n  output { x }\n}\n// end",
        "workflow W {\n    input {\n        x: Int\n    }\n\n    output { x }\n}\n// end\n",
    );
    assert_formats("import main// x", "import main // x\n");
    // Blanks after the comment's text, before the newline (a CRLF file too).
    assert_formats("import main // x \n", "import main // x\n");
    assert_formats("import a // x\t\nimport b\n", "import a // x\nimport b\n");
    assert_formats("import main// x \r\n", "import main // x\n");
    assert_formats("import a.b { X }// x\n", "import a.b { X } // x\n");
    assert_formats(
        "import a.b { X }// x\nimport main// y\n\ndef f(): Int { 1 }// z",
        "import a.b { X } // x\nimport main // y\n\ndef f(): Int {\n    1\n} // z\n",
    );
    assert_formats(
        "def f(): Int { 1 }\n/* last */",
        "def f(): Int {\n    1\n}\n/* last */\n",
    );
}

/// A UTF-8 byte-order mark is kept, as the first character of the output (see
/// docs/formatting.md), and formatting stays a fixed point.
#[test]
fn a_byte_order_mark_is_kept() {
    assert_formats(
        "\u{feff}workflow W {\n  input { x: Int }\n  output { x }\n}\n",
        "\u{feff}workflow W {\n    input {\n        x: Int\n    }\n\n    output { x }\n}\n",
    );
    assert_formats(
        "\u{feff}// header\nimport main",
        "\u{feff}// header\nimport main\n",
    );
    assert_formats("\u{feff}import main// x", "\u{feff}import main // x\n");
}

/// A comment after the `{` of an empty block stays on the brace's line, and the
/// block closes on the next line: no blank line appears inside it.
#[test]
fn a_comment_in_an_empty_block_stays_after_its_brace() {
    let cases = [
        ("workflow W { // c\n}\n", "workflow W { // c\n}\n"),
        ("type T { // c\n}\n", "type T { // c\n}\n"),
        ("enum E { /* c */ }\n", "enum E { /* c */\n}\n"),
        ("test \"t\" { /* c */ }\n", "test \"t\" { /* c */\n}\n"),
        (
            "function g(): Int { // c\n}\n",
            "function g(): Int { // c\n}\n",
        ),
        ("import a.b { // c\n}\n", "import a.b { // c\n}\n"),
        (
            "def f(): Int { // c\n  if (true) { // d\n  }\n  1\n}\n",
            "def f(): Int { // c\n    if (true) { // d\n    }\n    1\n}\n",
        ),
        (
            "workflow W {\n  rule \"r\" { // c\n  }\n  signal s() { /* d */ }\n  facts { // e\n  }\n}",
            "workflow W {\n    rule \"r\" { // c\n    }\n\n    signal s() { /* d */\n    }\n\n    facts { // e\n    }\n}\n",
        ),
        (
            "def f(): Int { g( // c\n) }\n",
            "def f(): Int {\n    g( // c\n    )\n}\n",
        ),
    ];
    for (input, expected) in cases {
        assert_formats(input, expected);
    }
}

#[test]
fn a_retry_policy_is_one_line_of_named_arguments() {
    assert_formats(
        "function f(x: Int): Int {\n    command \"f\"\n    retry attempts:3,delay:2.s,\n        on:[FAILED,TIMEOUT]\n    heartbeat   30.s\n}\n",
        "function f(x: Int): Int {\n    command \"f\"\n    retry attempts: 3, delay: 2.s, on: [FAILED, TIMEOUT]\n    heartbeat 30.s\n}\n",
    );
}

#[test]
fn schedules_put_one_clause_per_line_and_keep_their_order() {
    assert_formats(
        "/** Nightly. */\nschedule   \"nightly cleanup\"{cron   \"0 3 * * *\";overlap    allow\n\n\nstart{Cleanup(olderThan:30.d,asOf:now())}}\nschedule 'every' { every 6.h ; start { def d = 1.d\nCleanup(olderThan: d) } }\n",
        "/** Nightly. */\nschedule \"nightly cleanup\" {\n    cron \"0 3 * * *\"\n    overlap allow\n\n    start { Cleanup(olderThan: 30.d, asOf: now()) }\n}\n\nschedule 'every' {\n    every 6.h\n    start {\n        def d = 1.d\n        Cleanup(olderThan: d)\n    }\n}\n",
    );
}

#[test]
fn a_typed_output_and_a_child_call_are_spaced_like_other_declarations() {
    assert_formats(
        "type M { n: Int }\nworkflow C {\n    input { n: Int }\n    output :M{ M(n:n) }\n}\nworkflow P {\n    facts { m: M? }\n    rule \"r\" {\n        match { m == null }\n        action { C(n:1) }\n        reaction { m = result }\n    }\n}\n",
        "type M { n: Int }\n\nworkflow C {\n    input {\n        n: Int\n    }\n\n    output: M { M(n: n) }\n}\n\nworkflow P {\n    facts {\n        m: M?\n    }\n\n    rule \"r\" {\n        match { m == null }\n        action { C(n: 1) }\n        reaction { m = result }\n    }\n}\n",
    );
}
