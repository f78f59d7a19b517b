//! Syntax errors that have a usual cause, said in words: a module import renamed with
//! `as`, a closure used as a value, a reserved word used as a name, a helper without
//! its result type. The parser reports what it expected and found; here the text
//! around the error tells which mistake it was, and the diagnostic says so and how to
//! fix it. Anything else keeps the parser's message.

use cosmos_diagnostics::{Code, Diagnostic, FileId, Label};
use cosmos_syntax::{SyntaxError, SyntaxErrorKind};

/// Words no name may be (LANGUAGE.md section 2); record fields are the exception.
const RESERVED: [&str; 20] = [
    "import", "type", "enum", "function", "def", "workflow", "input", "facts", "rule", "signal",
    "test", "if", "else", "for", "in", "return", "true", "false", "null", "as",
];

/// The diagnostic for a syntax error in `text`.
pub(crate) fn syntax_diagnostic(file: FileId, text: &str, error: &SyntaxError) -> Diagnostic {
    let code = match error.kind {
        SyntaxErrorKind::InvalidLiteral { .. } => Code::INVALID_LITERAL,
        SyntaxErrorKind::TooDeeplyNested { .. } => Code::NESTED_TOO_DEEPLY,
        _ => Code::SYNTAX_ERROR,
    };
    let label = Label::new(file, error.span, "");
    match hint(text, error) {
        Some((message, note)) => Diagnostic::new(code, message, label).with_note(note),
        None => Diagnostic::new(code, error.message(), label),
    }
}

/// Words that begin a top-level declaration.
const DECLARATION_KEYWORDS: [&str; 7] = [
    "import", "type", "enum", "function", "def", "workflow", "test",
];

/// A message and a note for a mistake recognised at `error`.
fn hint(text: &str, error: &SyntaxError) -> Option<(String, String)> {
    if error.kind == SyntaxErrorKind::UnclosedComment {
        return Some((error.message(), unclosed_comment_note(text, error)));
    }
    let SyntaxErrorKind::Unexpected { expected, found } = &error.kind else {
        return None;
    };
    let start = error.span.start as usize;
    let line_start = text.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
    let before = text.get(line_start..start)?.trim();
    let expects = |word: &str| expected.iter().any(|e| e == word);
    let found_word = found.trim_matches('`');

    // `import a.b as c`
    if found_word == "as"
        && let Some(path) = before.strip_prefix("import ")
        && !path.contains('{')
    {
        let path = path.trim();
        let last = path.rsplit('.').next().unwrap_or(path);
        return Some((
            "a module import cannot be renamed: there are no module aliases, `as` renames only a listed name".to_string(),
            format!(
                "import the names you use and rename them there: `import {path} {{ Name as Other }}`; or keep `import {path}` and write `{last}.Name`"
            ),
        ));
    }

    // `def f = { it + 1 }`, `x = { … }`
    if found_word == "{" && expects("an expression") {
        return Some((
            "a closure is not a value: it can only follow a method or helper call".to_string(),
            "pass it to the call that uses it, as in `xs.collect { it + 1 }`, or declare a helper: `def f(x: Int): Int { x + 1 }` (a map is written `[key: value]`)".to_string(),
        ));
    }

    // `def f(x: Int) { … }`
    if before.starts_with("def ") && before.contains('(') && before.ends_with(')') && expects("`:`")
    {
        return Some((
            "a helper must declare its result type".to_string(),
            "write it after the parameters: `def f(x: Int): Int { … }`".to_string(),
        ));
    }

    // `def in = 3`, `fun(type: Int)`
    if RESERVED.contains(&found_word) && expects("a name") {
        return Some((
            format!("`{found_word}` is a reserved word and cannot be used as a name"),
            format!(
                "choose another name, such as `{found_word}_` or a longer one; only a record field may be called `{found_word}`"
            ),
        ));
    }
    None
}

/// Where a `/*` that is never closed needs its `*/`: before the first later line that
/// starts a declaration at column 0, where the code most likely resumes.
fn unclosed_comment_note(text: &str, error: &SyntaxError) -> String {
    let start = error.span.start as usize;
    let line_of_start = text.get(..start).map_or(0, |t| t.matches('\n').count());
    let resumes = text
        .lines()
        .enumerate()
        .skip(line_of_start + 1)
        .find(|(_, line)| {
            DECLARATION_KEYWORDS.iter().any(|word| {
                line.strip_prefix(word)
                    .is_some_and(|rest| rest.starts_with([' ', '\t']))
            })
        });
    match resumes {
        Some((index, line)) => format!(
            "add `*/` where the comment should end; if the code resumes at line {} (`{}`), put `*/` on the line before it",
            index + 1,
            line.trim_end()
        ),
        None => "add `*/` where the comment should end".to_string(),
    }
}
