//! A fast lexical pass over the whole file, apart from pest: it collects every
//! comment, finds where top-level declarations and workflow members begin (so that
//! each can be parsed on its own and one bad declaration does not hide the rest),
//! and flags nesting too deep to parse safely.
//!
//! It tracks strings (with `${…}` interpolation) and comments so that braces and
//! keywords inside them are not counted.

use std::collections::HashMap;

use crate::Span;
use crate::ast::{Comment, CommentKind};

/// Brackets nested deeper than this are reported instead of parsed, so that neither
/// pest nor the converter can run out of stack. It is the language's one nesting
/// limit; a bracket always opens at least one level of the converter's count.
pub(crate) const MAX_NESTING: u32 = super::convert::MAX_DEPTH;

const DECL_KEYWORDS: [&str; 8] = [
    "import", "type", "enum", "function", "def", "workflow", "test", "schedule",
];
/// Member keywords that are reserved words, so they start a member at any depth
/// inside a workflow (a rule with a missing `}` does not swallow the next rule).
const RESERVED_MEMBER_KEYWORDS: [&str; 4] = ["input", "facts", "rule", "signal"];
/// Contextual member keywords: only at the workflow body's own depth.
const CONTEXTUAL_MEMBER_KEYWORDS: [&str; 2] = ["complete", "output"];

#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub comments: Vec<Comment>,
    /// Byte offsets where a top-level declaration keyword starts.
    pub decl_starts: Vec<usize>,
    /// Byte offsets where a workflow member keyword may start (inside some
    /// top-level braces); only those inside a workflow's range are used.
    pub member_starts: Vec<usize>,
    /// Top-level braces: `(offset, true)` for a `{` that opens depth 1 and
    /// `(offset, false)` for a `}` that closes back to depth 0.
    pub top_braces: Vec<(usize, bool)>,
    /// Offsets where bracket nesting first exceeds [`MAX_NESTING`].
    pub too_deep: Vec<usize>,
    /// Where a `/*` starts that no `*/` closes: the comment runs to the end of the
    /// file.
    pub unclosed_comment: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Double,
    Single,
    TripleDouble,
    TripleSingle,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub(crate) fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut out = Scan::default();
    let mut i = 0usize;
    let mut depth: i64 = 0;
    let mut nest: u32 = 0;
    // Open interpolations: the string to return to and the brace depth at `${`.
    let mut interps: Vec<(Quote, i64)> = Vec::new();
    let mut string: Option<Quote> = None;

    while i < bytes.len() {
        let b = at(i);
        if let Some(quote) = string {
            match (quote, b) {
                (_, b'\\') => i += if at(i + 1) == b'\n' { 1 } else { 2 },
                (Quote::Double | Quote::TripleDouble, b'$') if at(i + 1) == b'{' => {
                    interps.push((quote, depth));
                    string = None;
                    nest += 1;
                    if nest == MAX_NESTING + 1 {
                        out.too_deep.push(i);
                    }
                    i += 2;
                }
                (Quote::Double | Quote::Single, b'\n') => string = None,
                (Quote::Double, b'"') | (Quote::Single, b'\'') => {
                    string = None;
                    i += 1;
                }
                (Quote::TripleDouble, b'"') | (Quote::TripleSingle, b'\'') => {
                    let run = bytes[i..].iter().take_while(|&&c| c == b).count();
                    if run >= 3 {
                        string = None;
                    }
                    i += run;
                }
                _ => i += 1,
            }
            continue;
        }
        match b {
            b'/' if at(i + 1) == b'/' => {
                let end = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |n| i + n);
                let end = if end > i && at(end - 1) == b'\r' {
                    end - 1
                } else {
                    end
                };
                push_comment(&mut out, CommentKind::Line, i, end);
                i = end;
            }
            b'/' if at(i + 1) == b'*' => {
                let end = match text.get(i + 2..).and_then(|rest| rest.find("*/")) {
                    Some(n) => i + 2 + n + 2,
                    None => {
                        out.unclosed_comment = Some(i);
                        bytes.len()
                    }
                };
                let doc = at(i + 2) == b'*' && at(i + 3) != b'/';
                let kind = if doc {
                    CommentKind::Doc
                } else {
                    CommentKind::Block
                };
                push_comment(&mut out, kind, i, end);
                i = end;
            }
            b'"' | b'\'' => {
                let triple = at(i + 1) == b && at(i + 2) == b;
                string = Some(match (b, triple) {
                    (b'"', true) => Quote::TripleDouble,
                    (b'"', false) => Quote::Double,
                    (_, true) => Quote::TripleSingle,
                    (_, false) => Quote::Single,
                });
                i += if triple { 3 } else { 1 };
            }
            b'{' | b'(' | b'[' => {
                if b == b'{' {
                    depth += 1;
                    if depth == 1 && interps.is_empty() {
                        out.top_braces.push((i, true));
                    }
                }
                nest += 1;
                if nest == MAX_NESTING + 1 {
                    out.too_deep.push(i);
                }
                i += 1;
            }
            b'}' | b')' | b']' => {
                nest = nest.saturating_sub(1);
                if b == b'}' {
                    match interps.last() {
                        Some(&(quote, at_depth)) if at_depth == depth => {
                            interps.pop();
                            string = Some(quote);
                        }
                        _ => {
                            depth -= 1;
                            if depth == 0 && interps.is_empty() {
                                out.top_braces.push((i, false));
                            }
                        }
                    }
                }
                i += 1;
            }
            _ if is_ident_start(b) && (i == 0 || !is_ident_char(at(i - 1))) => {
                let len = bytes[i..].iter().take_while(|&&c| is_ident_char(c)).count();
                let word = text.get(i..i + len).unwrap_or("");
                if interps.is_empty() {
                    if DECL_KEYWORDS.contains(&word) {
                        let column0 = i == 0 || at(i - 1) == b'\n';
                        if depth <= 0 || (column0 && starts_declaration(text, word, i + len)) {
                            depth = 0;
                            out.decl_starts.push(i);
                        }
                    } else if (depth >= 1 && RESERVED_MEMBER_KEYWORDS.contains(&word))
                        || (depth == 1 && CONTEXTUAL_MEMBER_KEYWORDS.contains(&word))
                    {
                        out.member_starts.push(i);
                    }
                }
                i += len.max(1);
            }
            _ if b.is_ascii_digit() => {
                i += bytes[i..]
                    .iter()
                    .take_while(|&&c| is_ident_char(c))
                    .count()
                    .max(1);
            }
            _ => i += 1,
        }
    }
    out
}

/// A declaration keyword at column 0 inside braces starts a new declaration (the
/// one before it lacks a `}`) unless it could be a statement: `def x = …` is one,
/// `def name(` is not.
fn starts_declaration(text: &str, word: &str, after: usize) -> bool {
    let rest = text
        .get(after..)
        .unwrap_or("")
        .trim_start_matches([' ', '\t']);
    if word == "schedule" {
        // Not a reserved word: only `schedule "name"` starts a declaration.
        return rest.starts_with(['"', '\'']);
    }
    if word != "def" {
        return true;
    }
    let name_len = rest.bytes().take_while(|&c| is_ident_char(c)).count();
    name_len > 0
        && rest
            .get(name_len..)
            .unwrap_or("")
            .trim_start_matches([' ', '\t'])
            .starts_with('(')
}

fn push_comment(out: &mut Scan, kind: CommentKind, start: usize, end: usize) {
    out.comments.push(Comment {
        kind,
        span: Span::new(offset(start), offset(end)),
    });
}

pub(crate) fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Scan {
    /// Doc comment texts keyed by the offset of the token that follows each.
    pub(crate) fn docs(&self, text: &str) -> HashMap<u32, String> {
        let mut docs = HashMap::new();
        for (index, comment) in self.comments.iter().enumerate() {
            if comment.kind != CommentKind::Doc {
                continue;
            }
            let mut pos = comment.span.end as usize;
            let mut next = index + 1;
            loop {
                pos += text
                    .get(pos..)
                    .unwrap_or("")
                    .bytes()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
                match self.comments.get(next) {
                    Some(c) if c.span.start as usize == pos && c.kind != CommentKind::Doc => {
                        pos = c.span.end as usize;
                        next += 1;
                    }
                    _ => break,
                }
            }
            let raw = text.get(comment.span.range()).unwrap_or("");
            docs.insert(offset(pos), doc_text(raw));
        }
        docs
    }

    /// Whether `text[start..end]` holds only whitespace and comments.
    pub(crate) fn is_trivia(&self, text: &str, start: usize, end: usize) -> bool {
        let mut pos = start;
        let first = self
            .comments
            .partition_point(|c| (c.span.end as usize) <= start);
        let mut comments = self.comments.get(first..).unwrap_or(&[]).iter().peekable();
        while pos < end {
            if let Some(c) = comments.peek()
                && (c.span.start as usize) <= pos
            {
                pos = pos.max(c.span.end as usize);
                comments.next();
                continue;
            }
            if text
                .get(pos..)
                .is_some_and(|rest| rest.starts_with('\u{feff}'))
            {
                pos += '\u{feff}'.len_utf8();
                continue;
            }
            match text.as_bytes().get(pos) {
                Some(b) if b.is_ascii_whitespace() || *b == b';' => pos += 1,
                Some(_) => return false,
                None => break,
            }
        }
        true
    }
}

/// The text of a `/** … */` comment without its delimiters and leading `*`s.
pub(crate) fn doc_text(raw: &str) -> String {
    let inner = raw.strip_prefix("/**").unwrap_or(raw);
    let inner = inner.strip_suffix("*/").unwrap_or(inner);
    let lines: Vec<&str> = inner
        .lines()
        .map(|line| {
            let line = line.trim_start();
            let line = match line.strip_prefix('*') {
                Some(rest) => rest.strip_prefix(' ').unwrap_or(rest),
                None => line,
            };
            line.trim_end()
        })
        .collect();
    let first = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    let last = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(first, |n| n + 1);
    lines.get(first..last).unwrap_or(&[]).join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_in_strings_and_comments_do_not_count() {
        let text = "def a(): Int { \"}\" }\n// }\ntype B { x: Int }\nworkflow W { rule \"${ \"}\" }\" {} }\ntest \"t\" {}";
        let scan = scan(text);
        let words: Vec<&str> = scan.decl_starts.iter().map(|&i| &text[i..i + 3]).collect();
        assert_eq!(words, ["def", "typ", "wor", "tes"]);
        assert_eq!(scan.comments.len(), 1);
        assert_eq!(scan.member_starts.len(), 1);
    }

    #[test]
    fn column_zero_keyword_recovers_from_a_missing_brace() {
        let text = "def a(): Int {\n  1\ntype B { x: Int }\n";
        assert_eq!(scan(text).decl_starts, [0, 19]);
        let statement = "def a(): Int {\ndef x = 1\n x }\n";
        assert_eq!(scan(statement).decl_starts, [0]);
    }

    #[test]
    fn doc_text_strips_stars() {
        assert_eq!(doc_text("/** One line. */"), "One line.");
        assert_eq!(
            doc_text("/**\n * First.\n *\n * Second.\n */"),
            "First.\n\nSecond."
        );
    }
}
