//! Where a span is in its source file, as people count: `src/flows.emx:12:17`.
//!
//! A [`Program`] carries, for each of its files, the byte offsets at which lines
//! start and where multi-byte characters are, but not the text: enough to turn the
//! span of a run-time error into a 1-based line and a column counted in characters
//! (as the diagnostics count them) long after the sources are gone.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Program, Span};

/// The lines of one source file, without its text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LineTable {
    /// The file's path as people know it, with `/` separators (`src/media/probe.emx`).
    pub path: String,
    /// Byte offset at which each line starts; the first is 0 (or just past a
    /// byte-order mark).
    pub line_starts: Vec<u32>,
    /// Each character longer than one byte: its byte offset and its length in bytes,
    /// in order.
    pub wide: Vec<(u32, u8)>,
}

impl LineTable {
    /// The table of `text`, shown as `path`.
    pub fn new(path: impl Into<String>, text: &str) -> LineTable {
        let first = if text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        let offset = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        LineTable {
            path: path.into(),
            line_starts: std::iter::once(first)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .map(offset)
                .collect(),
            wide: text
                .char_indices()
                .filter(|(i, c)| c.len_utf8() > 1 && *i >= first)
                .map(|(i, c)| (offset(i), c.len_utf8() as u8))
                .collect(),
        }
    }

    /// The 1-based line and character column of a byte offset.
    pub fn position(&self, offset: u32) -> (u32, u32) {
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let offset = offset.max(start);
        // Characters before `offset` on this line: bytes, less the extra bytes of the
        // wide characters that end before it.
        let from = self.wide.partition_point(|&(at, _)| at < start);
        let to = self.wide.partition_point(|&(at, _)| at < offset);
        let extra: u32 = self
            .wide
            .get(from..to)
            .unwrap_or(&[])
            .iter()
            .map(|&(at, len)| {
                // A wide character that `offset` falls inside counts as one column.
                let end = at.saturating_add(u32::from(len));
                if end > offset {
                    offset - at
                } else {
                    u32::from(len) - 1
                }
            })
            .sum();
        let column = (offset - start).saturating_sub(extra) + 1;
        (u32::try_from(line).unwrap_or(u32::MAX), column)
    }
}

/// A place in a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub path: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path, self.line, self.column)
    }
}

impl Program {
    /// Where `span` starts, when the program knows its file's lines.
    pub fn locate(&self, span: Span) -> Option<Location> {
        let table = self.lines.get(span.file as usize)?;
        let (line, column) = table.position(span.start);
        Some(Location {
            path: table.path.clone(),
            line,
            column,
        })
    }

    /// Shows each file under the path `path_of` gives for its module name (files it
    /// gives none for keep theirs): lowering names them after their modules, a host
    /// that knows the real paths names them again.
    pub fn name_files(&mut self, mut path_of: impl FnMut(&str) -> Option<String>) {
        for (module, table) in self.files.iter().zip(self.lines.iter_mut()) {
            if let Some(path) = path_of(module) {
                table.path = path;
            }
        }
    }
}

/// The path lowering shows a module's file under until a host names it:
/// `media.probe` is `media/probe.emx`.
pub fn module_path(module: &str) -> String {
    format!("{}.emx", module.replace('.', "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_from_one_and_columns_in_characters() {
        let table = LineTable::new("src/a.emx", "ab\ncdé f\n\nx");
        assert_eq!(table.position(0), (1, 1));
        assert_eq!(table.position(1), (1, 2));
        assert_eq!(table.position(3), (2, 1));
        // `é` is two bytes and one column: the space after it is column 4.
        assert_eq!(table.position(7), (2, 4));
        assert_eq!(table.position(8), (2, 5));
        assert_eq!(table.position(10), (3, 1));
        assert_eq!(table.position(11), (4, 1));
        // Past the end: the last line.
        assert_eq!(table.position(40), (4, 30));
    }

    #[test]
    fn a_byte_order_mark_is_no_column() {
        let table = LineTable::new("a.emx", "\u{feff}ab");
        assert_eq!(table.position(3), (1, 1));
        assert_eq!(table.position(4), (1, 2));
    }

    #[test]
    fn programs_locate_spans_and_take_real_paths() {
        let mut program = Program {
            files: vec!["media.probe".to_string()],
            lines: vec![LineTable::new(module_path("media.probe"), "x\n  y")],
            ..Program::default()
        };
        let span = Span {
            file: 0,
            start: 4,
            end: 5,
        };
        assert_eq!(
            program.locate(span).map(|l| l.to_string()).as_deref(),
            Some("media/probe.emx:2:3")
        );
        program.name_files(|m| (m == "media.probe").then(|| "src/media/probe.emx".to_string()));
        assert_eq!(
            program.locate(span).map(|l| l.to_string()).as_deref(),
            Some("src/media/probe.emx:2:3")
        );
        assert_eq!(program.locate(Span { file: 3, ..span }), None);
    }
}
