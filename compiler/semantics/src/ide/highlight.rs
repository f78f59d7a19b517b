//! Document highlight: the occurrences in one file of the name under the cursor, each
//! a read or a write. A write is an assignment to the name itself (`n = …`, `n += …`)
//! or a declaration that gives it a value (`def n = …`); a fact's or input's
//! declaration is plain text, a field's assignment (`n.x = …`) reads `n`.

use crate::Analysis;
use cosmos_diagnostics::{FileId, Span};

/// How an occurrence uses the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The declaration, when it gives no value.
    Text,
    Read,
    Write,
}

/// One occurrence of the highlighted name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Highlight {
    pub span: Span,
    pub access: Access,
}

impl Analysis {
    /// The occurrences in `file` of the declaration named at `offset`, in order.
    pub fn highlights(&self, file: FileId, offset: u32) -> Vec<Highlight> {
        let Some(text) = self.file_text(file) else {
            return Vec::new();
        };
        let declaration = self.definition(file, offset);
        let mut out: Vec<Highlight> = self
            .references(file, offset, true)
            .into_iter()
            .filter(|target| target.file == file)
            .map(|target| {
                let assigned = assigns(text, target.span);
                let access = match declaration {
                    Some(decl) if decl == target && !assigned => Access::Text,
                    _ if assigned => Access::Write,
                    _ => Access::Read,
                };
                Highlight {
                    span: target.span,
                    access,
                }
            })
            .collect();
        out.sort_by_key(|h| h.span);
        out.dedup();
        out
    }
}

/// Whether the name at `span` is followed by `=` or a compound assignment (and not by
/// `==`).
fn assigns(text: &str, span: Span) -> bool {
    let after = text.get(span.end as usize..).unwrap_or("").trim_start();
    let rest = ["+=", "-=", "*=", "/="]
        .iter()
        .find_map(|op| after.strip_prefix(op))
        .or_else(|| after.strip_prefix('='));
    rest.is_some_and(|rest| !rest.starts_with('='))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const TEXT: &str = "workflow W {\n    facts { n: Int = 0 }\n    signal add(by: Int) {\n        n += by\n        def m = n * 2\n        n = m\n        log(\"${n == 2}\")\n    }\n    complete when { n > 3 }\n}\n";

    #[test]
    fn facts_and_locals_are_read_or_written() {
        let mut analysis = Analysis::new();
        analysis.set_file(FileId(0), "main", TEXT.to_string());
        let at = TEXT.find("n > 3").unwrap() as u32;
        let found: Vec<(usize, Access)> = analysis
            .highlights(FileId(0), at)
            .iter()
            .map(|h| {
                (
                    TEXT[..h.span.start as usize].matches('\n').count(),
                    h.access,
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (1, Access::Text),
                (3, Access::Write),
                (4, Access::Read),
                (5, Access::Write),
                (6, Access::Read),
                (8, Access::Read),
            ]
        );
        let local = TEXT.find("n = m").unwrap() as u32 + 4;
        let found: Vec<Access> = analysis
            .highlights(FileId(0), local)
            .iter()
            .map(|h| h.access)
            .collect();
        assert_eq!(found, [Access::Write, Access::Read]);
        assert!(analysis.highlights(FileId(0), 0).is_empty());
    }
}
