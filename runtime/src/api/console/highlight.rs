//! Emx source as highlighted HTML: comments, strings, numbers, keywords and type names
//! in spans of their own class, everything escaped. A lexical pass only: it never
//! fails, whatever the text.

use super::html::esc;
use std::fmt::Write;

const KEYWORDS: &[&str] = &[
    "import",
    "type",
    "enum",
    "function",
    "def",
    "workflow",
    "input",
    "facts",
    "rule",
    "signal",
    "test",
    "if",
    "else",
    "for",
    "in",
    "return",
    "true",
    "false",
    "null",
    "as",
    "match",
    "action",
    "reaction",
    "error",
    "priority",
    "complete",
    "when",
    "output",
    "timeout",
    "command",
    "pool",
    "batch",
    "warm",
    "retry",
    "heartbeat",
    "schedule",
    "cron",
    "every",
    "overlap",
    "start",
    "mock",
    "run",
    "assert",
    "advance",
    "fails",
];

/// `source` as HTML, one `<span class="line">` per line.
pub fn highlight(source: &str) -> String {
    let mut out = String::with_capacity(source.len() * 2);
    out.push_str("<span class=\"line\">");
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        let (class, len) = if rest.starts_with("//") {
            ("c", rest.find('\n').unwrap_or(rest.len()))
        } else if let Some(body) = rest.strip_prefix("/*") {
            ("c", body.find("*/").map_or(rest.len(), |n| n + 4))
        } else if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
            (
                "s",
                rest[3..].find(&rest[..3]).map_or(rest.len(), |n| n + 6),
            )
        } else if rest.starts_with('"') || rest.starts_with('\'') {
            ("s", quoted(rest))
        } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
            (
                "n",
                rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len()),
            )
        } else if rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let word = &rest[..len];
            let class = if KEYWORDS.contains(&word) {
                "k"
            } else if word.starts_with(|c: char| c.is_ascii_uppercase()) {
                "t"
            } else {
                ""
            };
            (class, len)
        } else {
            ("", rest.chars().next().map_or(1, char::len_utf8))
        };
        let piece = &rest[..len];
        // Lines are closed and reopened inside multi-line tokens, so each line's span
        // holds balanced markup.
        for (n, line) in piece.split('\n').enumerate() {
            if n > 0 {
                out.push_str("</span>\n<span class=\"line\">");
            }
            if line.is_empty() {
                continue;
            }
            if class.is_empty() {
                let _ = write!(out, "{}", esc(line));
            } else {
                let _ = write!(out, "<span class=\"{class}\">{}</span>", esc(line));
            }
        }
        i += len;
    }
    out.push_str("</span>");
    out
}

/// The length of the quoted string at the start of `text` (to its closing quote, or
/// the end of its line when it has none).
fn quoted(text: &str) -> usize {
    let quote = text.as_bytes()[0];
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_get_their_classes_and_text_is_escaped() {
        let html = highlight("rule \"a<b\" { match { x < 2 } } // done & <ok>\nType");
        assert_eq!(
            html,
            "<span class=\"line\"><span class=\"k\">rule</span> <span class=\"s\">&quot;a&lt;b&quot;</span> { \
             <span class=\"k\">match</span> { x &lt; <span class=\"n\">2</span> } } \
             <span class=\"c\">// done &amp; &lt;ok&gt;</span></span>\n\
             <span class=\"line\"><span class=\"t\">Type</span></span>"
        );
    }

    #[test]
    fn multi_line_tokens_keep_each_line_balanced() {
        let html = highlight("/* a\nb */ x\n\"\"\"p\nq\"\"\"");
        assert_eq!(html.matches("<span class=\"line\">").count(), 4);
        assert_eq!(
            html.matches("<span").count(),
            html.matches("</span>").count()
        );
    }

    #[test]
    fn unterminated_tokens_and_odd_text_do_not_fail() {
        for text in ["\"open", "/* open", "'''", "é ✓ \\", "", "\"\\"] {
            let html = highlight(text);
            assert_eq!(
                html.matches("<span").count(),
                html.matches("</span>").count()
            );
        }
    }
}
