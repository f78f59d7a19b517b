//! A property test with a fixed seed: every `.emx` file under `tests/` and
//! `examples/` gets comments inserted at random token boundaries (a block comment, a
//! line comment on its own line, one glued to the end of a line, one at the very end
//! of the file without a newline, sometimes behind a byte-order mark). Whatever the
//! place, `format` never fails with an internal error, its output is a fixed point,
//! and checking the output reports the same diagnostics (code, severity, message) as
//! checking the edited file. The seed is fixed, so a failure is reproducible; the
//! failing text is printed whole.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_diagnostics::FileId;
use cosmos_format::{FormatError, format};
use cosmos_semantics::Analysis;
use cosmos_test_support::{read, repo_emx_files};

/// Insertions tried per file.
const PER_FILE: usize = 4;

/// splitmix64: small, deterministic, good enough to pick places.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Byte offsets where a token starts or ends, outside strings and comments: the
/// places where a comment may go without touching a token.
fn boundaries(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut out = vec![0, text.len()];
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = at(i);
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'"' || c == b'\'' {
            // A string, interpolations and all, is one token here.
            let triple = at(i + 1) == c && at(i + 2) == c;
            i += if triple { 3 } else { 1 };
            let mut depth = 0usize;
            while i < b.len() {
                let d = at(i);
                if d == b'\\' {
                    i += 2;
                    continue;
                }
                if d == b'$' && at(i + 1) == b'{' {
                    depth += 1;
                    i += 2;
                    continue;
                }
                if depth > 0 && d == b'}' {
                    depth -= 1;
                } else if depth == 0 && d == c {
                    if !triple {
                        i += 1;
                        break;
                    }
                    if at(i + 1) == c && at(i + 2) == c {
                        i += 3;
                        break;
                    }
                } else if depth == 0 && !triple && d == b'\n' {
                    break;
                }
                i += 1;
            }
        } else if c == b'/' && at(i + 1) == b'/' {
            while i < b.len() && at(i) != b'\n' {
                i += 1;
            }
        } else if c == b'/' && at(i + 1) == b'*' {
            i = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            while i < b.len() && (at(i).is_ascii_alphanumeric() || at(i) == b'_') {
                i += 1;
            }
        } else {
            i += 1;
            while i < b.len() && !text.is_char_boundary(i) {
                i += 1;
            }
        }
        out.push(start);
        out.push(i.min(b.len()));
    }
    out.sort_unstable();
    out.dedup();
    out.retain(|&p| text.is_char_boundary(p));
    out
}

/// `text` with one comment inserted near `at`, in one of the ways a person writes them.
fn insert(text: &str, at: usize, how: usize) -> String {
    let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
    let line_end = if text[..line_end].ends_with('\r') {
        line_end - 1
    } else {
        line_end
    };
    match how {
        0 => format!("{}/* c */{}", &text[..at], &text[at..]),
        1 => format!("{}// c\n{}", &text[..at], &text[at..]),
        // Glued to the end of the line: `import main// c`.
        2 => format!("{}// c{}", &text[..line_end], &text[line_end..]),
        // At the very end, without a final newline.
        3 => format!("{}// c", text.trim_end()),
        4 => format!("{}/* c */", text.trim_end()),
        _ => format!("\u{feff}{}/* c */ {}", &text[..at], &text[at..]),
    }
}

/// The diagnostics of `text` checked as the one module `main`: code, severity and
/// message, sorted (spans move when a file is formatted; nothing else may).
fn diagnostics(analysis: &mut Analysis, text: &str) -> Vec<String> {
    analysis.set_file(FileId(0), "main", text.to_string());
    let mut out: Vec<String> = analysis
        .diagnostics()
        .into_iter()
        .map(|d| format!("{} {:?} {}", d.code.code, d.severity, d.message))
        .collect();
    out.sort();
    out
}

#[test]
fn inserted_comments_never_break_the_formatter() {
    let mut rng = Rng(0x00c0_ffee_2026_1204);
    let mut analysis = Analysis::new();
    let (mut formatted, mut refused) = (0, 0);
    for path in repo_emx_files(&["tests", "examples"]) {
        let original = read(&path);
        let places = boundaries(&original);
        for _ in 0..PER_FILE {
            let at = places[rng.below(places.len())];
            let how = rng.below(6);
            let text = insert(&original, at, how);
            let what = format!("{} (insertion {how} at byte {at})", path.display());
            let output = match format(&text) {
                Ok(output) => output,
                Err(FormatError::Syntax(_)) => {
                    // Only a file that does not parse is refused.
                    assert!(
                        !cosmos_syntax::parse(&text).1.is_empty(),
                        "{what}: refused a file that parses"
                    );
                    refused += 1;
                    continue;
                }
                Err(error @ FormatError::Internal(_)) => {
                    panic!("{what}: {error}\n--- text ---\n{text}")
                }
            };
            formatted += 1;
            let again = format(&output)
                .unwrap_or_else(|e| panic!("{what}: the output does not format: {e}\n{output}"));
            assert_eq!(
                again, output,
                "{what}: not idempotent\n--- text ---\n{text}"
            );
            assert_eq!(
                diagnostics(&mut analysis, &output),
                diagnostics(&mut analysis, &text),
                "{what}: checking the output reports other diagnostics\n--- text ---\n{text}\n--- output ---\n{output}"
            );
        }
    }
    // Most insertions leave a file that parses; the test must have formatted many.
    assert!(
        formatted > 350 && formatted > 4 * refused,
        "formatted {formatted}, refused {refused}"
    );
}
