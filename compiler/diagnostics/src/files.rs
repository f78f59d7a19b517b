//! The texts behind file ids, as the renderers need them: a display path per file and
//! the conversion of byte spans into 1-based lines and columns.
//!
//! Columns count Unicode scalar values (Rust `char`s), not bytes and not UTF-16 code
//! units: `é` is one column whatever its encoding, which is what a person counting
//! along the line sees and what SARIF calls `unicodeCodePoints`. Lines end at `\n`;
//! the `\r` of a CRLF ending counts as the last character of its line. A position's
//! end is exclusive: a span covering `abc` at the start of a line runs from column 1
//! to column 4. Offsets past the end of the text are clamped to it, and offsets inside
//! a multi-byte character move back to its start, so no span can make a renderer fail.

use std::collections::HashMap;
use std::ops::Range;

use crate::{FileId, Span};

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where a span lies: start inclusive, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LineRange {
    pub start: Position,
    pub end: Position,
}

#[derive(Debug, Clone)]
struct SourceText {
    path: String,
    text: String,
    /// Byte offset at which each line starts; the first is 0, or just after a
    /// byte-order mark, which is no column.
    line_starts: Vec<usize>,
}

/// File id → (display path, text), for rendering diagnostics.
#[derive(Debug, Clone, Default)]
pub struct Files {
    files: HashMap<FileId, SourceText>,
}

impl Files {
    pub fn new() -> Self {
        Files::default()
    }

    /// Adds a file, or replaces the one with this id. `path` is shown as is, so give
    /// it with `/` separators, relative to the project root.
    pub fn add(&mut self, file: FileId, path: impl Into<String>, text: impl Into<String>) {
        let text = text.into();
        let first = if text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        let line_starts = std::iter::once(first)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        self.files.insert(
            file,
            SourceText {
                path: path.into(),
                text,
                line_starts,
            },
        );
    }

    pub fn contains(&self, file: FileId) -> bool {
        self.files.contains_key(&file)
    }

    /// The display path of a file; an unknown id shows as `<file N>`.
    pub fn path(&self, file: FileId) -> String {
        match self.files.get(&file) {
            Some(source) => source.path.clone(),
            None => format!("<file {}>", file.0),
        }
    }

    pub fn text(&self, file: FileId) -> Option<&str> {
        self.files.get(&file).map(|source| source.text.as_str())
    }

    /// The position of a byte offset; in an unknown file every offset is at 1:1.
    pub fn position(&self, file: FileId, offset: u32) -> Position {
        let Some(source) = self.files.get(&file) else {
            return Position { line: 1, column: 1 };
        };
        let offset = clamp_offset(&source.text, offset as usize)
            .max(source.line_starts.first().copied().unwrap_or(0));
        let line_index = line_index(&source.line_starts, offset);
        let line_start = source.line_starts.get(line_index).copied().unwrap_or(0);
        let column = source
            .text
            .get(line_start..offset)
            .map_or(0, |prefix| prefix.chars().count());
        Position {
            line: line_index + 1,
            column: column + 1,
        }
    }

    /// The lines and columns a span covers.
    pub fn range(&self, file: FileId, span: Span) -> LineRange {
        let bytes = self.byte_range(file, span);
        LineRange {
            start: self.position(file, bytes.start as u32),
            end: self.position(file, bytes.end as u32),
        }
    }

    /// The span as a byte range that is safe to slice the file's text with: within the
    /// text, on character boundaries, and never reversed.
    pub fn byte_range(&self, file: FileId, span: Span) -> Range<usize> {
        let text = self.text(file).unwrap_or("");
        let first = self
            .files
            .get(&file)
            .and_then(|source| source.line_starts.first().copied())
            .unwrap_or(0);
        let start = clamp_offset(text, span.start as usize).max(first);
        let end = clamp_offset(text, span.end as usize).max(start);
        start..end
    }

    /// For the codespan adapter: the byte range of line `line_index`, with its newline.
    pub(crate) fn line_range(&self, file: FileId, line_index: usize) -> Option<Range<usize>> {
        let source = self.files.get(&file)?;
        let start = *source.line_starts.get(line_index)?;
        let end = source
            .line_starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(source.text.len());
        Some(start..end)
    }

    pub(crate) fn line_index(&self, file: FileId, offset: usize) -> Option<usize> {
        let source = self.files.get(&file)?;
        Some(line_index(
            &source.line_starts,
            clamp_offset(&source.text, offset),
        ))
    }
}

fn line_index(line_starts: &[usize], offset: usize) -> usize {
    line_starts
        .partition_point(|&start| start <= offset)
        .saturating_sub(1)
}

/// `offset` moved into the text and back onto a character boundary.
fn clamp_offset(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(text: &str) -> Files {
        let mut files = Files::new();
        files.add(FileId(0), "src/a.emx", text);
        files
    }

    fn pos(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn ascii_positions() {
        let f = files("ab\ncd\n");
        assert_eq!(f.position(FileId(0), 0), pos(1, 1));
        assert_eq!(f.position(FileId(0), 2), pos(1, 3));
        assert_eq!(f.position(FileId(0), 3), pos(2, 1));
        assert_eq!(f.position(FileId(0), 5), pos(2, 3));
        // At the very end, after the last newline: the start of an empty last line.
        assert_eq!(f.position(FileId(0), 6), pos(3, 1));
    }

    #[test]
    fn columns_count_characters() {
        // `é` is two bytes, `😀` four.
        let f = files("é😀x\n");
        assert_eq!(f.position(FileId(0), 2), pos(1, 2));
        assert_eq!(f.position(FileId(0), 6), pos(1, 3));
        assert_eq!(f.position(FileId(0), 7), pos(1, 4));
        // Inside a character: its start.
        assert_eq!(f.position(FileId(0), 1), pos(1, 1));
        assert_eq!(f.position(FileId(0), 4), pos(1, 2));
    }

    #[test]
    fn a_byte_order_mark_is_no_column() {
        let f = files("\u{feff}ab\ncd\n");
        assert_eq!(f.position(FileId(0), 3), pos(1, 1));
        assert_eq!(f.position(FileId(0), 4), pos(1, 2));
        assert_eq!(f.position(FileId(0), 6), pos(2, 1));
        // A span over the mark starts after it.
        assert_eq!(f.position(FileId(0), 0), pos(1, 1));
        assert_eq!(f.byte_range(FileId(0), Span::new(0, 4)), 3..4);
        assert_eq!(f.byte_range(FileId(0), Span::new(0, 1)), 3..3);
    }

    #[test]
    fn crlf_lines() {
        let f = files("ab\r\ncd\r\n");
        assert_eq!(f.position(FileId(0), 2), pos(1, 3));
        assert_eq!(f.position(FileId(0), 3), pos(1, 4));
        assert_eq!(f.position(FileId(0), 4), pos(2, 1));
        assert_eq!(f.position(FileId(0), 8), pos(3, 1));
    }

    #[test]
    fn out_of_range_spans_are_clamped() {
        let f = files("abc");
        let range = f.range(FileId(0), Span::new(2, 900));
        assert_eq!((range.start, range.end), (pos(1, 3), pos(1, 4)));
        let range = f.range(FileId(0), Span::new(u32::MAX, u32::MAX));
        assert_eq!((range.start, range.end), (pos(1, 4), pos(1, 4)));
        // Reversed spans become empty at their start.
        assert_eq!(f.byte_range(FileId(0), Span::new(2, 1)), 2..2);
        assert_eq!(f.byte_range(FileId(0), Span::new(1, 3)), 1..3);
    }

    #[test]
    fn empty_and_unknown_files() {
        let f = files("");
        assert_eq!(f.position(FileId(0), 10), pos(1, 1));
        assert_eq!(f.position(FileId(7), 10), pos(1, 1));
        assert_eq!(f.path(FileId(7)), "<file 7>");
        assert_eq!(f.byte_range(FileId(7), Span::new(3, 5)), 0..0);
        assert_eq!(f.line_range(FileId(0), 0), Some(0..0));
        assert_eq!(f.line_range(FileId(0), 1), None);
    }
}
