//! Comments put anywhere the grammar allows them in real files: at the end of any
//! line and before any word. Whatever the place, the formatter keeps the comment,
//! the meaning and its own fixed point (it falls back to printing the node around
//! an odd comment as written).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_test_support::{encode_title, read};

fn check(text: &str, what: &str) {
    let (_, errors) = cosmos_syntax::parse(text);
    if !errors.is_empty() {
        return;
    }
    let output = cosmos_format::format(text).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
    cosmos_format::same::check(text, &output).unwrap();
    let again = cosmos_format::format(&output).unwrap();
    assert_eq!(again, output, "{what}: not idempotent\n{text}");
}

#[test]
fn comments_at_line_ends_and_before_words() {
    let root = encode_title().join("src");
    for name in ["main.emx", "tests.emx", "media/types.emx"] {
        let text = read(&root.join(name));
        let lines: Vec<&str> = text.lines().collect();
        for at in 0..lines.len() {
            let mut edited = lines.clone();
            let line = format!("{} // note", lines[at]);
            edited[at] = &line;
            check(&(edited.join("\n") + "\n"), &format!("{name}: line {at}"));
        }
        let starts: Vec<usize> = text
            .char_indices()
            .filter(|&(i, c)| c == ' ' && text[i + 1..].starts_with(|n: char| n != ' '))
            .map(|(i, _)| i + 1)
            .collect();
        // Every third word keeps the test quick; the words cover every construct.
        for &at in starts.iter().step_by(3) {
            let edited = format!("{}/* c */ {}", &text[..at], &text[at..]);
            check(&edited, &format!("{name}: byte {at}"));
        }
    }
}
