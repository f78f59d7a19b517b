//! Byte offsets (the compiler's spans) to and from LSP positions, whose character is
//! counted in UTF-16 code units as LSP requires by default.

use tower_lsp::lsp_types::{Position, Range};

/// The LSP position of a byte offset. An offset inside a character or past the end
/// is clamped to the character's start or the end of the text.
pub fn to_position(text: &str, offset: u32) -> Position {
    let mut offset = (offset as usize).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count();
    let character: usize = before[line_start..].chars().map(char::len_utf16).sum();
    Position::new(line as u32, character as u32)
}

/// The byte offset of an LSP position. A character past the end of its line means
/// the line's end; a line past the end of the text means the end of the text; a
/// position inside a surrogate pair means the character's start.
pub fn to_offset(text: &str, position: Position) -> u32 {
    let mut line_start = 0;
    for _ in 0..position.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len() as u32,
        }
    }
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let mut units = 0u32;
    for (i, c) in text[line_start..line_end].char_indices() {
        let next = units + c.len_utf16() as u32;
        if next > position.character {
            return (line_start + i) as u32;
        }
        units = next;
    }
    line_end as u32
}

/// The LSP range of a byte span.
pub fn to_range(text: &str, span: cosmos_diagnostics::Span) -> Range {
    Range::new(to_position(text, span.start), to_position(text, span.end))
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
    fn crlf_lines() {
        let text = "a\r\nb";
        assert_eq!(to_position(text, 3), Position::new(1, 0));
        assert_eq!(to_offset(text, Position::new(1, 0)), 3);
    }
}
