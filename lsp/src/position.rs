//! Byte offsets (the compiler's spans) to and from LSP positions, whose character is
//! counted in UTF-16 code units as LSP requires by default.

use tower_lsp_server::ls_types::{Position, Range};

/// Where each line of a text starts, so that a position is found by binary search
/// instead of a scan from the start of the text: one table per text, built once per
/// request (a linear pass over the bytes), then every conversion costs a search plus
/// the length of one line.
pub struct LineIndex<'a> {
    text: &'a str,
    /// The byte offset of each line's first character; the first is 0.
    starts: Vec<u32>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i as u32 + 1));
        LineIndex { text, starts }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The LSP position of a byte offset. An offset inside a character or past the end
    /// is clamped to the character's start or the end of the text.
    pub fn position(&self, offset: u32) -> Position {
        let text = self.text;
        let mut offset = (offset as usize).min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .starts
            .partition_point(|&start| start as usize <= offset)
            .saturating_sub(1);
        let line_start = self.starts.get(line).map_or(0, |&s| s as usize);
        let character: usize = text
            .get(line_start..offset)
            .unwrap_or_default()
            .chars()
            .map(char::len_utf16)
            .sum();
        Position::new(line as u32, character as u32)
    }

    /// The byte offset of an LSP position. A character past the end of its line means
    /// the line's end; a line past the end of the text means the end of the text; a
    /// position inside a surrogate pair means the character's start.
    pub fn offset(&self, position: Position) -> u32 {
        let text = self.text;
        let Some(&line_start) = self.starts.get(position.line as usize) else {
            return text.len() as u32;
        };
        let line_start = line_start as usize;
        // The line ends at its `\n` (excluded), or at the end of the text.
        let line_end = self
            .starts
            .get(position.line as usize + 1)
            .map_or(text.len(), |&next| next as usize - 1);
        let mut units = 0u32;
        for (i, c) in text
            .get(line_start..line_end)
            .unwrap_or_default()
            .char_indices()
        {
            let next = units + c.len_utf16() as u32;
            if next > position.character {
                return (line_start + i) as u32;
            }
            units = next;
        }
        line_end as u32
    }

    /// The LSP range of a byte span.
    pub fn range(&self, span: cosmos_diagnostics::Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }
}

/// UTF-16 code units in `text`: its length in bytes when it is ASCII, as most code is.
fn utf16_units(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().map(char::len_utf16).sum()
    }
}

/// Positions of offsets taken in increasing order (a file's tokens), each found by
/// walking on from the last one rather than searching and counting from its line's
/// start; an offset behind the last one is found by the index as usual.
pub struct Walk<'i, 'a> {
    index: &'i LineIndex<'a>,
    line: usize,
    offset: usize,
    character: usize,
}

impl<'i, 'a> Walk<'i, 'a> {
    pub fn new(index: &'i LineIndex<'a>) -> Self {
        Walk {
            index,
            line: 0,
            offset: 0,
            character: 0,
        }
    }

    /// The position of `offset`, as [`LineIndex::position`] gives it.
    pub fn position(&mut self, offset: u32) -> Position {
        let text = self.index.text;
        let mut offset = (offset as usize).min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        if offset < self.offset {
            let position = self.index.position(offset as u32);
            self.line = position.line as usize;
            self.offset = offset;
            self.character = position.character as usize;
            return position;
        }
        while let Some(&next) = self.index.starts.get(self.line + 1)
            && next as usize <= offset
        {
            self.line += 1;
            self.offset = next as usize;
            self.character = 0;
        }
        self.character += utf16_units(text.get(self.offset..offset).unwrap_or_default());
        self.offset = offset;
        Position::new(self.line as u32, self.character as u32)
    }
}

/// The LSP position of a byte offset (see [`LineIndex::position`]). Builds the line
/// table: for one conversion only; use a [`LineIndex`] for several.
pub fn to_position(text: &str, offset: u32) -> Position {
    LineIndex::new(text).position(offset)
}

/// The byte offset of an LSP position (see [`LineIndex::offset`]).
pub fn to_offset(text: &str, position: Position) -> u32 {
    LineIndex::new(text).offset(position)
}

/// The LSP range of a byte span (see [`LineIndex::range`]).
pub fn to_range(text: &str, span: cosmos_diagnostics::Span) -> Range {
    LineIndex::new(text).range(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) {
        for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
            let position = to_position(text, offset as u32);
            assert_eq!(
                to_offset(text, position),
                offset as u32,
                "offset {offset} in {text:?}"
            );
        }
    }

    #[test]
    fn ascii_positions_count_bytes() {
        let text = "ab\ncd";
        assert_eq!(to_position(text, 4), Position::new(1, 1));
        assert_eq!(to_offset(text, Position::new(1, 1)), 4);
        round_trip(text);
    }

    #[test]
    fn accented_letters_are_one_unit_but_two_bytes() {
        let text = "def é = \"café\"\nx";
        // `é` is 2 bytes and 1 UTF-16 unit: the `=` after it is at byte 7, unit 6.
        assert_eq!(to_position(text, 7), Position::new(0, 6));
        assert_eq!(to_offset(text, Position::new(0, 6)), 7);
        round_trip(text);
    }

    #[test]
    fn emoji_are_two_units_and_four_bytes() {
        let text = "\"😀\" + x";
        assert_eq!(to_position(text, 5), Position::new(0, 3));
        assert_eq!(to_offset(text, Position::new(0, 3)), 5);
        // Inside the surrogate pair: the emoji's start.
        assert_eq!(to_offset(text, Position::new(0, 2)), 1);
        round_trip(text);
    }

    #[test]
    fn cjk_is_one_unit_and_three_bytes() {
        let text = "// 日本語\nfacts { x: Int }";
        assert_eq!(to_position(text, 12), Position::new(0, 6));
        assert_eq!(to_position(text, 13), Position::new(1, 0));
        assert_eq!(to_offset(text, Position::new(1, 6)), 19);
        round_trip(text);
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let text = "ab\ncd";
        assert_eq!(to_offset(text, Position::new(0, 99)), 2);
        assert_eq!(to_offset(text, Position::new(9, 0)), 5);
        assert_eq!(to_position(text, 99), Position::new(1, 2));
        // Inside a multi-byte character: its start.
        assert_eq!(to_position("é", 1), Position::new(0, 0));
    }

    #[test]
    fn one_index_answers_every_line() {
        let text = "ab\ncd\n\né😀\n";
        let index = LineIndex::new(text);
        for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
            let position = index.position(offset as u32);
            assert_eq!(position, to_position(text, offset as u32));
            assert_eq!(index.offset(position), offset as u32);
        }
        assert_eq!(index.position(6), Position::new(2, 0));
        assert_eq!(index.offset(Position::new(2, 5)), 6);
        assert_eq!(index.offset(Position::new(4, 0)), text.len() as u32);
        assert_eq!(index.offset(Position::new(9, 0)), text.len() as u32);
    }

    #[test]
    fn a_walk_gives_what_the_index_gives() {
        let text = "ab\ncd\n\né😀 x\n日本 y\r\nz";
        let index = LineIndex::new(text);
        let mut walk = Walk::new(&index);
        let offsets: Vec<u32> = text
            .char_indices()
            .map(|(i, _)| i as u32)
            .chain([text.len() as u32, 3, 1, 12, 99])
            .collect();
        for offset in offsets {
            assert_eq!(
                walk.position(offset),
                index.position(offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn crlf_lines() {
        let text = "a\r\nb";
        assert_eq!(to_position(text, 3), Position::new(1, 0));
        assert_eq!(to_offset(text, Position::new(1, 0)), 3);
    }
}
