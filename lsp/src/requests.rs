//! The requests about one document's structure and text that need nothing but the
//! analysis and the document: folding, selection ranges, document highlights, the
//! type's definition, range formatting and the test code lenses. Each takes the
//! project and file the request names and answers in LSP's shapes.

use crate::position::LineIndex;
use crate::state::Project;
use cosmos_diagnostics::FileId;
use cosmos_semantics::ide::{Access, FoldKind};
use tower_lsp_server::ls_types::*;

/// The folding ranges of a file, by line.
pub fn folding_ranges(project: &Project, file: FileId, lines: &LineIndex) -> Vec<FoldingRange> {
    project
        .analysis
        .folding_ranges(file)
        .iter()
        .map(|fold| FoldingRange {
            start_line: lines.position(fold.span.start).line,
            start_character: None,
            end_line: lines.position(fold.span.end).line,
            end_character: None,
            kind: Some(match fold.kind {
                FoldKind::Region => FoldingRangeKind::Region,
                FoldKind::Comment => FoldingRangeKind::Comment,
                FoldKind::Imports => FoldingRangeKind::Imports,
            }),
            collapsed_text: None,
        })
        .collect()
}

/// For each position, the syntax around it from the innermost node out, as LSP's
/// chain of parents.
pub fn selection_ranges(
    project: &Project,
    file: FileId,
    lines: &LineIndex,
    positions: &[Position],
) -> Vec<SelectionRange> {
    let offsets: Vec<u32> = positions.iter().map(|p| lines.offset(*p)).collect();
    let chains = project.analysis.selection_ranges(file, &offsets);
    chains
        .iter()
        .zip(positions)
        .map(|(chain, position)| {
            let mut outer: Option<SelectionRange> = None;
            for span in chain.iter().rev() {
                outer = Some(SelectionRange {
                    range: lines.range(*span),
                    parent: outer.map(Box::new),
                });
            }
            outer.unwrap_or(SelectionRange {
                range: Range::new(*position, *position),
                parent: None,
            })
        })
        .collect()
}

/// The occurrences in the document of the name at `offset`, reads and writes.
pub fn document_highlights(
    project: &Project,
    file: FileId,
    lines: &LineIndex,
    offset: u32,
) -> Vec<DocumentHighlight> {
    project
        .analysis
        .highlights(file, offset)
        .iter()
        .map(|h| DocumentHighlight {
            range: lines.range(h.span),
            kind: Some(match h.access {
                Access::Text => DocumentHighlightKind::TEXT,
                Access::Read => DocumentHighlightKind::READ,
                Access::Write => DocumentHighlightKind::WRITE,
            }),
        })
        .collect()
}

/// The edits that format the lines `range` touches: the whole file formatted, only its
/// changes in the range kept, and none at all if keeping only those would change what
/// the file means (or when it does not parse).
pub fn range_formatting(text: &str, range: Range) -> Vec<TextEdit> {
    let lines = LineIndex::new(text);
    let span = cosmos_diagnostics::Span::new(lines.offset(range.start), lines.offset(range.end));
    let edits = std::panic::catch_unwind(|| cosmos_format::format_range(text, span).ok())
        .ok()
        .flatten()
        .unwrap_or_default();
    edits
        .into_iter()
        .map(|edit| TextEdit::new(lines.range(edit.span), edit.text))
        .collect()
}

/// The command a "Run test" lens runs; the editor's extension registers it and runs
/// `cosmosc test --filter NAME --exact` in the project.
pub const RUN_TEST: &str = "cosmos.runTest";

/// A "Run test" lens over each `test` block, whose command has the test's name and
/// the project's folder as arguments. A file in no project has none.
pub fn test_lenses(project: &Project, file: FileId, lines: &LineIndex) -> Vec<CodeLens> {
    let Some(root) = &project.root else {
        return Vec::new();
    };
    let root = root.to_string_lossy().into_owned();
    project
        .analysis
        .test_blocks(file)
        .into_iter()
        .map(|block| CodeLens {
            range: lines.range(block.span),
            command: Some(Command {
                title: "Run test".to_string(),
                command: RUN_TEST.to_string(),
                arguments: Some(vec![block.name.into(), root.clone().into()]),
            }),
            data: None,
        })
        .collect()
}
