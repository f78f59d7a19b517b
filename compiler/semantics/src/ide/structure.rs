//! The shape of a file, for folding and for growing a selection: every braced or
//! bracketed construct that spans lines folds, as do runs of comment lines and of
//! imports; a selection grows through the syntax nodes around the cursor, innermost
//! first. Both read the syntax tree (every node's span, through
//! [`Shift::visit_spans`]) and, for comments, the text.

use crate::Analysis;
use crate::db::parse;
use cosmos_diagnostics::{FileId, Span};
use cosmos_syntax::ast::{ItemKind, Module, Shift};

/// What a folding range holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldKind {
    /// A block, a declaration, a list or an argument list.
    Region,
    Comment,
    Imports,
}

/// A range that folds: from the line holding `span.start` to the line holding
/// `span.end` (the line before a closing brace that starts its own line is the last
/// folded one, so that the brace stays visible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Folding {
    pub span: Span,
    pub kind: FoldKind,
}

impl Analysis {
    /// The folding ranges of a file, in order of their first line.
    pub fn folding_ranges(&self, file: FileId) -> Vec<Folding> {
        let Some(source) = self.files.get(&file).copied() else {
            return Vec::new();
        };
        let text = source.text(&self.db);
        let module = &parse(&self.db, source).module;
        let lines = Lines::new(text);
        let mut out = regions(module, text, &lines);
        out.extend(imports(module, &lines));
        out.extend(comments(text, &lines));
        out.sort_by_key(|f| (f.span.start, std::cmp::Reverse(f.span.end)));
        out
    }

    /// For each offset, the spans of the syntax around it, innermost first, each
    /// holding the one before, ending with the whole file.
    pub fn selection_ranges(&self, file: FileId, offsets: &[u32]) -> Vec<Vec<Span>> {
        let Some(source) = self.files.get(&file).copied() else {
            return Vec::new();
        };
        let text = source.text(&self.db);
        let whole = Span::new(0, u32::try_from(text.len()).unwrap_or(u32::MAX));
        let mut spans = node_spans(&parse(&self.db, source).module);
        spans.retain(|s| s.end <= whole.end && !s.is_empty());
        spans.sort_by_key(|s| (s.len(), s.start));
        spans.dedup();
        offsets
            .iter()
            .map(|&offset| {
                let mut chain: Vec<Span> = Vec::new();
                for &span in spans
                    .iter()
                    .filter(|s| s.start <= offset && offset <= s.end)
                {
                    let holds_last = chain
                        .last()
                        .is_none_or(|last| span.start <= last.start && last.end <= span.end);
                    if holds_last && chain.last() != Some(&span) {
                        chain.push(span);
                    }
                }
                if chain.last() != Some(&whole) {
                    chain.push(whole);
                }
                chain
            })
            .collect()
    }
}

/// Every span in the tree: declarations, members, clauses, blocks, statements,
/// expressions, names.
fn node_spans(module: &Module) -> Vec<Span> {
    let mut copy = module.clone();
    let mut spans = Vec::new();
    copy.visit_spans(&mut |span: &mut Span| spans.push(*span));
    spans
}

/// Line starts of a text, for turning offsets into line numbers.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines(starts)
    }

    fn line(&self, offset: u32) -> usize {
        self.0.partition_point(|&start| start <= offset as usize) - 1
    }
}

/// Constructs closed by `}`, `]` or `)` that span lines, one per first line (the
/// largest), each ending on the line before its closing bracket when that bracket
/// starts its line.
fn regions(module: &Module, text: &str, lines: &Lines) -> Vec<Folding> {
    let mut by_line: std::collections::BTreeMap<usize, Span> = Default::default();
    for span in node_spans(module) {
        let Some(closing) = text.get(span.range()).and_then(|t| t.chars().last()) else {
            continue;
        };
        if !matches!(closing, '}' | ']' | ')') {
            continue;
        }
        let (first, last) = (lines.line(span.start), lines.line(span.end - 1));
        if last <= first {
            continue;
        }
        let entry = by_line.entry(first).or_insert(span);
        if span.end > entry.end {
            *entry = span;
        }
    }
    by_line
        .into_values()
        .filter_map(|span| {
            let close = span.end - 1;
            let line_start = lines.0.get(lines.line(close)).copied().unwrap_or(0);
            let before = text.get(line_start..close as usize).unwrap_or("");
            // `}` on its own line stays visible: fold up to the line before it.
            let end = if before.trim().is_empty() {
                u32::try_from(line_start.checked_sub(1)?).ok()?
            } else {
                span.end
            };
            (lines.line(end) > lines.line(span.start)).then_some(Folding {
                span: Span::new(span.start, end),
                kind: FoldKind::Region,
            })
        })
        .collect()
}

/// Runs of two or more consecutive imports.
fn imports(module: &Module, lines: &Lines) -> Vec<Folding> {
    let mut out = Vec::new();
    let mut run: Option<(Span, usize)> = None;
    let close = |run: Option<(Span, usize)>, out: &mut Vec<Folding>| {
        if let Some((span, count)) = run
            && count > 1
            && lines.line(span.end) > lines.line(span.start)
        {
            out.push(Folding {
                span,
                kind: FoldKind::Imports,
            });
        }
    };
    for item in &module.items {
        if matches!(item.kind, ItemKind::Import(_)) {
            run = Some(match run {
                Some((span, count)) => (span.to(item.span), count + 1),
                None => (item.span, 1),
            });
        } else {
            close(run.take(), &mut out);
        }
    }
    close(run, &mut out);
    out
}

/// `/* … */` comments over several lines, and runs of lines that hold only a `//`
/// comment.
fn comments(text: &str, lines: &Lines) -> Vec<Folding> {
    let mut out = Vec::new();
    let mut run: Option<Span> = None;
    let mut offset = 0usize;
    let mut in_block: Option<usize> = None;
    let to = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let start = offset + (line.len() - trimmed.len());
        let end = offset + line.trim_end().len();
        offset += line.len();
        if let Some(open) = in_block {
            if let Some(close) = trimmed.find("*/") {
                in_block = None;
                let span = Span::new(to(open), to(start + close + 2));
                if lines.line(span.end) > lines.line(span.start) {
                    out.push(Folding {
                        span,
                        kind: FoldKind::Comment,
                    });
                }
            }
            continue;
        }
        if trimmed.starts_with("//") {
            let span = Span::new(to(start), to(end));
            run = Some(run.map_or(span, |r| r.to(span)));
            continue;
        }
        if let Some(r) = run.take()
            && lines.line(r.end) > lines.line(r.start)
        {
            out.push(Folding {
                span: r,
                kind: FoldKind::Comment,
            });
        }
        if trimmed.starts_with("/*") && !trimmed[2..].contains("*/") {
            in_block = Some(start);
        }
    }
    if let Some(r) = run
        && lines.line(r.end) > lines.line(r.start)
    {
        out.push(Folding {
            span: r,
            kind: FoldKind::Comment,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const TEXT: &str = "import media.types { Probe }\nimport media.other\n\n/**\n * Doubles.\n */\ndef twice(n: Int): Int {\n    // the one line\n    // that matters\n    n * 2\n}\n\nworkflow W {\n    facts {\n        n: Int = [\n            1,\n            2,\n        ].size()\n    }\n    signal go() { n = twice(n) }\n}\n";

    fn analysis() -> Analysis {
        let mut analysis = Analysis::new();
        analysis.set_file(
            FileId(0),
            "media.types",
            "type Probe { width: Int }\n".into(),
        );
        analysis.set_file(FileId(1), "media.other", "type Other { x: Int }\n".into());
        analysis.set_file(FileId(2), "main", TEXT.to_string());
        analysis
    }

    fn line(offset: u32) -> usize {
        TEXT[..offset as usize].matches('\n').count()
    }

    #[test]
    fn blocks_comments_and_imports_fold() {
        let folds: Vec<(usize, usize, FoldKind)> = analysis()
            .folding_ranges(FileId(2))
            .iter()
            .map(|f| (line(f.span.start), line(f.span.end), f.kind))
            .collect();
        assert_eq!(
            folds,
            [
                (0, 1, FoldKind::Imports),
                (3, 5, FoldKind::Comment),
                (6, 9, FoldKind::Region),
                (7, 8, FoldKind::Comment),
                (12, 19, FoldKind::Region),
                (13, 17, FoldKind::Region),
                (14, 17, FoldKind::Region),
            ]
        );
    }

    #[test]
    fn selections_grow_through_the_syntax() {
        let at = TEXT.find("n * 2").unwrap() as u32;
        let chains = analysis().selection_ranges(FileId(2), &[at]);
        let texts: Vec<&str> = chains[0].iter().map(|s| &TEXT[s.range()]).collect();
        assert_eq!(texts[0], "n");
        assert_eq!(texts[1], "n * 2");
        assert!(
            texts.contains(&"{\n    // the one line\n    // that matters\n    n * 2\n}"),
            "{texts:?}"
        );
        assert_eq!(*texts.last().unwrap(), TEXT);
        for pair in chains[0].windows(2) {
            assert!(pair[1].start <= pair[0].start && pair[0].end <= pair[1].end);
            assert_ne!(pair[0], pair[1]);
        }
    }
}
