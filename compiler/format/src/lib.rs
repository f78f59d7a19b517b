//! The Emx formatter: `format(text)` lays a file out in the one canonical style
//! (see `docs/formatting.md`), keeping every comment where it was and the meaning
//! exactly as it was. A file with syntax errors is never formatted.
//!
//! The layout is a [`doc::Doc`] printed at 100 columns. Before it returns, `format`
//! parses its own output and checks that the tree (spans aside) and the comments
//! are unchanged, so a formatter bug can cost a file its formatting but never its
//! meaning.

mod doc;
mod print;
mod range;
pub mod same;

pub use range::{RangeEdit, format_range};

use std::collections::HashSet;

use cosmos_syntax::SyntaxError;

/// Why a file was not formatted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The file does not parse; it is left as it is. The errors are in file order.
    #[error("the file has {} syntax error(s)", .0.len())]
    Syntax(Vec<SyntaxError>),
    /// The formatter could not lay the file out without changing its tree or its
    /// comments (a formatter bug); the file is left as it is.
    #[error("internal formatter error: {0}")]
    Internal(String),
}

/// Formats one file. The result ends with a newline (an empty file stays empty).
pub fn format(text: &str) -> Result<String, FormatError> {
    let (module, errors) = cosmos_syntax::parse(text);
    if !errors.is_empty() {
        return Err(FormatError::Syntax(errors));
    }
    let mut verbatim: HashSet<(u32, u32)> = HashSet::new();
    // A comment that no layout placed makes the smallest node around it print as
    // written; one more pass then places everything.
    let mut output = None;
    for _ in 0..3 {
        let mut printer = print::Printer::new(text, &module.comments, &verbatim);
        let doc = printer.module(&module);
        let missed = printer.missed();
        if missed.is_empty() {
            output = Some(doc::print(doc));
            break;
        }
        let nodes = same::node_spans(&module);
        for comment in missed {
            let smallest = nodes
                .iter()
                .filter(|&&(start, end)| start <= comment.start && comment.end <= end)
                .min_by_key(|&&(start, end)| end - start);
            if let Some(&span) = smallest {
                verbatim.insert(span);
            }
        }
    }
    let Some(mut output) = output else {
        return Err(FormatError::Internal(
            "a comment could not be placed".to_string(),
        ));
    };
    if !output.is_empty() {
        output.push('\n');
    }
    if text.starts_with('\u{feff}') {
        output.insert(0, '\u{feff}');
    }
    same::check(text, &output).map_err(FormatError::Internal)?;
    Ok(output)
}
