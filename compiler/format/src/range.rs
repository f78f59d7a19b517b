//! Formatting part of a file: the whole file is formatted, its changes are split into
//! hunks of lines, and only the hunks that touch the range are kept. The text with
//! just those hunks applied must still parse to the same tree and comments
//! ([`same::check`]); when it does not, no edit is returned, so a partial format
//! never breaks a file.

use cosmos_syntax::Span;
use similar::{DiffOp, TextDiff};

use crate::{FormatError, format, same};

/// One replacement in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeEdit {
    pub span: Span,
    pub text: String,
}

/// The edits that format the lines `range` touches (the whole file when it covers the
/// file), in order; empty when that part is formatted already, or when formatting only
/// that part would change the file's meaning.
pub fn format_range(text: &str, range: Span) -> Result<Vec<RangeEdit>, FormatError> {
    let formatted = format(text)?;
    if formatted == text {
        return Ok(Vec::new());
    }
    let len = to_u32(text.len());
    if range.start == 0 && range.end >= len {
        return Ok(vec![RangeEdit {
            span: Span::new(0, len),
            text: formatted,
        }]);
    }
    let edits: Vec<RangeEdit> = hunks(text, &formatted)
        .into_iter()
        .filter(|edit| touches(edit.span, range))
        .collect();
    let mut partial = text.to_string();
    for edit in edits.iter().rev() {
        partial.replace_range(edit.span.range(), &edit.text);
    }
    if same::check(text, &partial).is_err() {
        return Ok(Vec::new());
    }
    Ok(edits)
}

/// Whether a hunk over `span` is in `range`: they overlap, or an insertion sits inside.
fn touches(span: Span, range: Span) -> bool {
    if span.is_empty() {
        range.start <= span.start && span.start <= range.end
    } else {
        span.start < range.end.max(range.start + 1) && range.start < span.end
    }
}

/// The changes from `old` to `new` as replacements of whole lines of `old`.
fn hunks(old: &str, new: &str) -> Vec<RangeEdit> {
    let diff = TextDiff::from_lines(old, new);
    let (old_lines, new_lines) = (starts(old), starts(new));
    let mut out: Vec<RangeEdit> = Vec::new();
    for group in diff.grouped_ops(0) {
        let changed: Vec<&DiffOp> = group
            .iter()
            .filter(|op| !matches!(op, DiffOp::Equal { .. }))
            .collect();
        let (Some(first), Some(last)) = (changed.first(), changed.last()) else {
            continue;
        };
        let (old_start, new_start) = (first.old_range().start, first.new_range().start);
        let (old_end, new_end) = (last.old_range().end, last.new_range().end);
        let span = Span::new(to_u32(old_lines[old_start]), to_u32(old_lines[old_end]));
        let text = new[new_lines[new_start]..new_lines[new_end]].to_string();
        out.push(RangeEdit { span, text });
    }
    out
}

/// The offset of each line's start, and the text's length after the last line.
fn starts(text: &str) -> Vec<usize> {
    let mut out: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    if out.last() != Some(&text.len()) {
        out.push(text.len());
    }
    out
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const MESSY: &str = "def   one(): Int {\n        1\n}\n\ndef two(): Int {\n    2\n}\n\ndef   three(): Int {\n  3\n}\n";

    fn apply(text: &str, edits: &[RangeEdit]) -> String {
        let mut out = text.to_string();
        for edit in edits.iter().rev() {
            out.replace_range(edit.span.range(), &edit.text);
        }
        out
    }

    #[test]
    fn only_the_lines_in_the_range_change() {
        let start = MESSY.find("def   three").unwrap() as u32;
        let edits = format_range(MESSY, Span::new(start, start + 3)).unwrap();
        assert_eq!(
            apply(MESSY, &edits),
            "def   one(): Int {\n        1\n}\n\ndef two(): Int {\n    2\n}\n\ndef three(): Int {\n    3\n}\n"
        );
        let start = MESSY.find("1\n").unwrap() as u32;
        let edits = format_range(MESSY, Span::new(start, start)).unwrap();
        assert_eq!(
            apply(MESSY, &edits),
            "def one(): Int {\n    1\n}\n\ndef two(): Int {\n    2\n}\n\ndef   three(): Int {\n  3\n}\n"
        );
    }

    #[test]
    fn the_whole_file_is_one_edit_and_formatted_text_has_none() {
        let whole = Span::new(0, MESSY.len() as u32);
        let edits = format_range(MESSY, whole).unwrap();
        assert_eq!(edits.len(), 1);
        let formatted = apply(MESSY, &edits);
        assert_eq!(formatted, format(MESSY).unwrap());
        assert!(
            format_range(&formatted, Span::new(0, 5))
                .unwrap()
                .is_empty()
        );
        // Between the changes, nothing to do.
        let two = MESSY.find("def two").unwrap() as u32;
        assert!(
            format_range(MESSY, Span::new(two, two + 5))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_broken_file_is_left_alone() {
        assert!(matches!(
            format_range("def f(: Int {", Span::new(0, 3)),
            Err(FormatError::Syntax(_))
        ));
    }

    #[test]
    fn every_partial_format_keeps_the_meaning() {
        // Every range of lines of a messy file: the result always parses to the same tree.
        let text = "import media.types { Probe }\nworkflow   W {\n  facts { n: Int = 0\n  m: Int = 1 }\n    // a comment\n  signal go() { n = 1; m = 2 }\n    complete when { n > 0 &&\n  m > 0 }\n}\n";
        let lines = starts(text);
        for a in 0..lines.len() {
            for b in a..lines.len() {
                let range = Span::new(lines[a] as u32, lines[b] as u32);
                let edits = format_range(text, range).unwrap();
                let result = apply(text, &edits);
                assert!(same::check(text, &result).is_ok(), "{range:?}: {result}");
            }
        }
    }
}
