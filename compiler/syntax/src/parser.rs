//! `parse(text)`: drives the pest grammar one top-level declaration at a time and
//! turns the result at once into the owned AST, collecting syntax errors as facts.
//!
//! The file is first split by a lexical scan ([`scan`]) into declaration chunks; each
//! chunk is parsed alone, so a bad declaration is reported and the others are kept.
//! A workflow that fails as a whole is parsed again member by member.

mod convert;
mod errors;
mod expr;
mod grammar;
mod incremental;
mod scan;

use std::collections::HashMap;

use pest::Parser as _;

use crate::Span;
use crate::ast::{Item, ItemKind, Member, Module, Workflow};
use convert::Cx;
use grammar::{EmxParser, Rule};
use scan::{Scan, offset};

pub use incremental::{ReparseCache, parse_incremental};

/// How deep expressions, blocks and types may nest (docs/language.md, "Limits"):
/// deeper nesting is the error [`SyntaxErrorKind::TooDeeplyNested`].
pub const MAX_NESTING: u32 = convert::MAX_DEPTH;

/// A syntax error: what went wrong, as facts, and where.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyntaxError {
    pub kind: SyntaxErrorKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SyntaxErrorKind {
    /// The parser expected one of these (in words, such as "an expression", "`}`" or
    /// "a newline") and found something else (such as "`)`" or "end of file").
    Unexpected {
        expected: Vec<String>,
        found: String,
    },
    /// A literal is malformed or out of range; `message` names the problem, such as
    /// "integer literal out of range" or "unknown escape `\q`".
    InvalidLiteral { message: String },
    /// The left side of `=`, `+=`, `<<`, … is not a name, field or index.
    InvalidAssignmentTarget,
    /// A rule or test name interpolates (`"${x}"`); names must be plain strings.
    InterpolatedName,
    /// A named argument's name is not a plain name (`f(a.b: 1)`).
    InvalidArgumentName,
    /// A bracket literal mixes list items and `key: value` entries.
    MixedListAndMap,
    /// Brackets or blocks nest deeper than the parser supports.
    TooDeeplyNested { limit: u32 },
    /// A `/*` (the span) that no `*/` closes: the comment runs to the end of the
    /// file, hiding everything after it.
    UnclosedComment,
}

impl SyntaxError {
    /// The error in words, for diagnostics.
    pub fn message(&self) -> String {
        match &self.kind {
            SyntaxErrorKind::Unexpected { expected, found } => match expected.as_slice() {
                [] => format!("unexpected {found}"),
                [one] => format!("expected {one}, found {found}"),
                [init @ .., last] => {
                    format!("expected {} or {last}, found {found}", init.join(", "))
                }
            },
            SyntaxErrorKind::InvalidLiteral { message } => format!("invalid literal: {message}"),
            SyntaxErrorKind::InvalidAssignmentTarget => {
                "only a name, a field or an index can be assigned to".to_string()
            }
            SyntaxErrorKind::InterpolatedName => {
                "a rule or test name must be a plain string, without `$`".to_string()
            }
            SyntaxErrorKind::InvalidArgumentName => {
                "an argument name must be a plain name".to_string()
            }
            SyntaxErrorKind::MixedListAndMap => {
                "a literal mixes list items and map entries".to_string()
            }
            SyntaxErrorKind::TooDeeplyNested { limit } => format!(
                "this nests deeper than {limit} levels; move inner parts into `def` locals or helpers"
            ),
            SyntaxErrorKind::UnclosedComment => {
                "this comment is never closed: without a `*/` it runs to the end of the file"
                    .to_string()
            }
        }
    }
}

/// Parses one file. Never fails: the module holds every declaration that parsed,
/// and the errors say what did not. Spans are byte offsets into `text`.
pub fn parse(text: &str) -> (Module, Vec<SyntaxError>) {
    let scan = scan::scan(text);
    let docs = scan.docs(text);
    let chunks = chunks(text, &scan);

    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (group_items, group_errors) in parse_groups(text, &scan, &docs, &chunks) {
        items.extend(group_items);
        errors.extend(group_errors);
    }
    unclosed_comment(&scan, &mut errors);
    let module = Module {
        items,
        comments: scan.comments,
    };
    (module, errors)
}

/// Reports a `/*` that no `*/` closes, after the errors before it. The comment runs
/// to the end of the file, and the chunk it starts in was cut before it (see
/// [`chunks`]): an error found where that chunk was cut (a missing `}`, say) only
/// says that the rest of the declaration is inside the comment, and is left out.
fn unclosed_comment(scan: &Scan, errors: &mut Vec<SyntaxError>) {
    let Some(start) = scan.unclosed_comment else {
        return;
    };
    errors.retain(|e| (e.span.start as usize) < start);
    errors.push(SyntaxError {
        kind: SyntaxErrorKind::UnclosedComment,
        span: Span::new(offset(start), offset(start + 2)),
    });
}

/// The top-level declaration chunks `(start, end)` of the file, in order: leading
/// text that is not trivia, then one chunk from each declaration start to the next.
/// A chunk that holds a `/*` no `*/` closes ends before it: pest would otherwise
/// fail on the comment, far from the mistake.
fn chunks(text: &str, scan: &Scan) -> Vec<(usize, usize)> {
    let mut chunks = whole_chunks(text, scan);
    if let Some(cut) = scan.unclosed_comment {
        chunks.retain(|&(start, _)| start < cut);
        for chunk in &mut chunks {
            chunk.1 = chunk.1.min(cut);
        }
    }
    chunks
}

fn whole_chunks(text: &str, scan: &Scan) -> Vec<(usize, usize)> {
    let mut chunks: Vec<(usize, usize)> = Vec::new();
    let first = scan.decl_starts.first().copied().unwrap_or(text.len());
    if !scan.is_trivia(text, 0, first) {
        chunks.push((0, first));
    }
    let mut bounds: Vec<usize> = scan.decl_starts.clone();
    bounds.push(text.len());
    chunks.extend(bounds.windows(2).filter_map(|w| match *w {
        [start, end] => Some((start, end)),
        _ => None,
    }));
    chunks
}

/// Files at least this large have their declarations parsed on several threads.
const PARALLEL_BYTES: usize = 256 * 1024;

/// Parses the chunks in order, in contiguous groups on scoped threads when the file
/// is large. Declarations are independent, so the result is the same either way.
fn parse_groups(
    text: &str,
    scan: &Scan,
    docs: &HashMap<u32, String>,
    chunks: &[(usize, usize)],
) -> Vec<(Vec<Item>, Vec<SyntaxError>)> {
    let run = |group: &[(usize, usize)]| {
        let mut driver = Driver {
            text,
            scan,
            docs,
            errors: Vec::new(),
        };
        let mut items = Vec::new();
        for &(start, end) in group {
            driver.parse_chunk(start, end, &mut items);
        }
        (items, driver.errors)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if text.len() < PARALLEL_BYTES || threads < 2 {
        return vec![run(chunks)];
    }
    // Cut the chunk list into runs of about equal size in bytes.
    let share = text.len().div_ceil(threads);
    let mut groups: Vec<&[(usize, usize)]> = Vec::new();
    let mut group_start = 0;
    let mut bytes = 0;
    for (index, &(start, end)) in chunks.iter().enumerate() {
        bytes += end - start;
        if bytes >= share {
            groups.push(chunks.get(group_start..=index).unwrap_or(&[]));
            group_start = index + 1;
            bytes = 0;
        }
    }
    groups.push(chunks.get(group_start..).unwrap_or(&[]));
    std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .iter()
            .map(|&group| {
                let handle = std::thread::Builder::new().spawn_scoped(scope, move || run(group));
                (group, handle)
            })
            .collect();
        handles
            .into_iter()
            .map(|(group, handle)| match handle {
                Ok(handle) => handle.join().unwrap_or_else(|_| run(group)),
                // No thread to be had: parse this group here instead.
                Err(_) => run(group),
            })
            .collect()
    })
}

struct Driver<'t> {
    text: &'t str,
    scan: &'t Scan,
    docs: &'t HashMap<u32, String>,
    errors: Vec<SyntaxError>,
}

impl<'t> Driver<'t> {
    fn cx(&mut self, base: usize) -> Cx<'_> {
        Cx::new(
            offset(base),
            self.docs,
            &self.scan.comments,
            &mut self.errors,
        )
    }

    fn too_deep(&mut self, start: usize, end: usize) -> bool {
        match self.scan.too_deep.iter().find(|&&p| p >= start && p < end) {
            Some(&pos) => {
                self.errors.push(SyntaxError {
                    kind: SyntaxErrorKind::TooDeeplyNested {
                        limit: scan::MAX_NESTING,
                    },
                    span: Span::new(offset(pos), offset(pos + 1)),
                });
                true
            }
            None => false,
        }
    }

    fn parse_chunk(&mut self, start: usize, end: usize, items: &mut Vec<Item>) {
        let Some(chunk) = self.text.get(start..end) else {
            return;
        };
        if self.too_deep(start, end) {
            return;
        }
        match EmxParser::parse(Rule::chunk, chunk) {
            Ok(pairs) => {
                let errors_before = self.errors.len();
                let mut cx = self.cx(start);
                let converted: Vec<Item> = pairs
                    .flat_map(|p| p.into_inner())
                    .filter_map(|p| cx.item(p))
                    .collect();
                // A declaration nested too deeply is reported and left out, as the
                // scanner's bracket check does: what was cut off would only cause
                // more errors.
                let too_deep = self.errors.get(errors_before..).is_some_and(|new| {
                    new.iter()
                        .any(|e| matches!(e.kind, SyntaxErrorKind::TooDeeplyNested { .. }))
                });
                if !too_deep {
                    items.extend(converted);
                }
            }
            Err(error) => self.chunk_failed(start, end, error, items),
        }
    }

    /// Reports the chunk `text[start..end]` that failed to parse with `error`, or
    /// recovers it member by member when it is a workflow.
    fn chunk_failed(
        &mut self,
        start: usize,
        end: usize,
        error: pest::error::Error<Rule>,
        items: &mut Vec<Item>,
    ) {
        let chunk = self.text.get(start..end).unwrap_or("");
        let error = errors::convert(Rule::chunk, self.text, start, end, error);
        if chunk.starts_with("workflow")
            && let Some(item) = self.recover_workflow(start, end)
        {
            items.push(item);
            return;
        }
        self.errors.push(error);
    }

    /// Parses a workflow that failed as a whole one member at a time. Returns
    /// `None` when even its header does not parse.
    fn recover_workflow(&mut self, start: usize, end: usize) -> Option<Item> {
        self.recover_workflow_with(start, end, Self::recover_segment)
    }

    /// Parses the member segment `text[seg_start..seg_end]` of a workflow being
    /// recovered, adding its members (and reporting its errors).
    fn recover_segment(&mut self, seg_start: usize, seg_end: usize, members: &mut Vec<Member>) {
        let Some(segment) = self.text.get(seg_start..seg_end) else {
            return;
        };
        match EmxParser::parse(Rule::member_chunk, segment) {
            Ok(pairs) => {
                let mut cx = self.cx(seg_start);
                members.extend(
                    pairs
                        .flat_map(|p| p.into_inner())
                        .filter_map(|p| cx.member(p)),
                );
            }
            Err(error) => {
                let error =
                    errors::convert(Rule::member_chunk, self.text, seg_start, seg_end, error);
                self.errors.push(error);
            }
        }
    }

    /// [`Self::recover_workflow`], with `segment` parsing each member segment as
    /// [`Self::recover_segment`] does.
    fn recover_workflow_with(
        &mut self,
        start: usize,
        end: usize,
        mut segment: impl FnMut(&mut Self, usize, usize, &mut Vec<Member>),
    ) -> Option<Item> {
        let open = self
            .scan
            .top_braces
            .iter()
            .find(|&&(pos, opens)| opens && pos > start && pos < end)
            .map(|&(pos, _)| pos)?;
        let close = self
            .scan
            .top_braces
            .iter()
            .rev()
            .find(|&&(pos, opens)| !opens && pos > open && pos < end)
            .map(|&(pos, _)| pos)
            .or_else(|| {
                // A chunk cut before an unclosed comment has its `}` inside it.
                if self.scan.unclosed_comment == Some(end) {
                    return None;
                }
                // Braces do not balance: take the last `}` of the chunk as the end.
                let body = self.text.get(open + 1..end)?;
                let trimmed = body.trim_end();
                trimmed.ends_with('}').then(|| open + trimmed.len())
            });
        let head_text = self.text.get(start..open + 1)?;
        let head = EmxParser::parse(Rule::workflow_head, head_text).ok()?;
        let name = {
            let cx = self.cx(start);
            head.flat_map(|p| p.into_inner())
                .find(|p| p.as_rule() == Rule::ident)
                .map(|p| cx.ident(&p))?
        };

        let errors_before = self.errors.len();
        let body_end = close.unwrap_or(end);
        let mut bounds: Vec<usize> = vec![open + 1];
        bounds.extend(
            self.scan
                .member_starts
                .iter()
                .copied()
                .filter(|&p| p > open && p < body_end),
        );
        bounds.push(body_end);
        let mut members: Vec<Member> = Vec::new();
        for pair in bounds.windows(2) {
            let [seg_start, seg_end] = *pair else {
                continue;
            };
            segment(self, seg_start, seg_end, &mut members);
        }
        let item_end = match close {
            Some(close) => {
                if !self.scan.is_trivia(self.text, close + 1, end) {
                    let after = self.text.get(close + 1..end).unwrap_or("");
                    let next = close + 1 + (after.len() - after.trim_start().len());
                    let (found, span) = errors::found_at(self.text, next, end);
                    self.errors.push(SyntaxError {
                        kind: SyntaxErrorKind::Unexpected {
                            expected: vec!["a declaration".to_string()],
                            found,
                        },
                        span,
                    });
                }
                close + 1
            }
            None => {
                let (found, span) = errors::found_at(self.text, end, end);
                self.errors.push(SyntaxError {
                    kind: SyntaxErrorKind::Unexpected {
                        expected: vec!["`}`".to_string()],
                        found,
                    },
                    span,
                });
                end
            }
        };
        if self.errors.len() == errors_before {
            // Every member parsed alone, so the fault lies between them; say where.
            return None;
        }
        Some(Item {
            doc: self.docs.get(&offset(start)).cloned(),
            kind: ItemKind::Workflow(Workflow { name, members }),
            span: Span::new(offset(start), offset(item_end)),
        })
    }
}
