//! Writing HTML safely: every piece of text from outside the console's own code (fact
//! values, inputs, ids, names, messages) goes through [`esc`], which escapes the five
//! characters that can change the meaning of HTML text or of a quoted attribute.

use std::fmt::{self, Display, Write};

/// `text`, escaped for HTML text and double- or single-quoted attribute values.
pub fn esc<T: Display>(text: T) -> Escaped<T> {
    Escaped(text)
}

pub struct Escaped<T>(T);

impl<T: Display> Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = EscapingWriter(f);
        write!(out, "{}", self.0)
    }
}

struct EscapingWriter<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Write for EscapingWriter<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut last = 0;
        for (i, c) in s.char_indices() {
            let replacement = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            self.0.write_str(&s[last..i])?;
            self.0.write_str(replacement)?;
            last = i + c.len_utf8();
        }
        self.0.write_str(&s[last..])
    }
}

/// `text` percent-encoded for a path segment or a query value of a URL (everything but
/// unreserved characters is encoded), so an id or a name can never end a segment.
pub fn url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            esc("<script>alert('x') & \"y\"</script>").to_string(),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(esc("plain é ✓").to_string(), "plain é ✓");
        assert_eq!(esc(42).to_string(), "42");
    }

    #[test]
    fn url_parts_encode_everything_but_unreserved_characters() {
        assert_eq!(url("a b/c?d#e&f"), "a%20b%2Fc%3Fd%23e%26f");
        assert_eq!(url("0193-ab_c.d~"), "0193-ab_c.d~");
        assert_eq!(url("é"), "%C3%A9");
    }
}
