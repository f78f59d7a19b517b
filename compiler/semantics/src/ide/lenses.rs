//! The `test` blocks of a file, for the editor's "Run test" lens above each.

use crate::Analysis;
use crate::db::parse;
use cosmos_diagnostics::{FileId, Span};
use cosmos_syntax::ast::ItemKind;

/// A `test` block: its name (as `cosmosc test --filter` matches it) and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBlock {
    pub name: String,
    /// From the `test` keyword to the closing brace.
    pub span: Span,
}

impl Analysis {
    /// The `test` blocks of a file, in order.
    pub fn test_blocks(&self, file: FileId) -> Vec<TestBlock> {
        let Some(source) = self.files.get(&file).copied() else {
            return Vec::new();
        };
        parse(&self.db, source)
            .module
            .items
            .iter()
            .filter_map(|item| match &item.kind {
                ItemKind::Test(test) => Some(TestBlock {
                    name: test.name.text.clone(),
                    span: item.span,
                }),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn each_test_block_with_its_name() {
        let text = "workflow W {\n    facts { n: Int = 0 }\n    signal add() { n += 1 }\n}\n\ntest \"adds one\" {\n    start W()\n    signal add()\n    assert n == 1\n}\n\ntest \"starts at zero\" {\n    start W()\n    assert n == 0\n}\n";
        let mut analysis = Analysis::new();
        analysis.set_file(FileId(0), "main", text.to_string());
        let blocks = analysis.test_blocks(FileId(0));
        let names: Vec<&str> = blocks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["adds one", "starts at zero"]);
        assert!(text[blocks[0].span.range()].starts_with("test \"adds one\" {"));
        assert!(text[blocks[1].span.range()].ends_with('}'));
        assert!(analysis.test_blocks(FileId(9)).is_empty());
    }
}
