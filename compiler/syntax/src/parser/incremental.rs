//! Incremental re-parsing: [`parse_incremental`] gives exactly what [`parse`] gives,
//! but re-uses the pieces of the previous parse whose text did not change.
//!
//! A piece is a top-level declaration chunk, or, inside a workflow, the workflow's
//! head (`workflow Name {`) or one member (from its keyword to the next member's).
//! Each is kept with spans relative to its start and keyed by its exact text and
//! by the doc comment attached to its start (which lies in the text before it).
//! Everything else a piece's result depends on lies inside its text:
//!
//! - The lexical scan runs over the whole file every time (it is cheap); it fixes
//!   the chunks, member starts, comments and docs exactly as in [`parse`].
//! - A chunk or member starts at a keyword outside strings and comments, so the
//!   scanner's state there is neutral and the comments and docs inside it depend
//!   on its text alone. Nesting that is too deep is decided over the whole file,
//!   so such chunks are parsed normally.
//! - Errors from a failed pest parse name what follows the failure, which may lie
//!   beyond the piece; such results are never kept. Errors found while converting
//!   a parsed piece lie inside it and are kept.
//!
//! A workflow is assembled from its members only when that is provably what the
//! whole-chunk parse gives: the head parses, the text between `{` and the first
//! member and after the closing `}` is nothing but newlines, `;`, blanks and
//! comments, every member segment parses alone as exactly one member with nothing
//! after it but such trivia, including a newline or `;` before the next member
//! (the grammar's separator), and no member reports too deep nesting (reported
//! once per chunk). Anything else parses the chunk whole, as [`parse`] does.
//!
//! [`parse`]: super::parse

use std::collections::HashMap;

use pest::Parser as _;

use super::{
    Cx, Driver, EmxParser, Rule, SyntaxError, SyntaxErrorKind, chunks, errors, scan,
    unclosed_comment,
};
use crate::Span;
use crate::ast::{Ident, Item, ItemKind, Member, Module, Shift, Workflow};
use scan::offset;

/// The pieces of the previous parse of one file, for [`parse_incremental`]. The
/// cache only ever changes the speed of parsing, never its result; an empty cache
/// (`ReparseCache::default()`) is always valid.
#[derive(Debug, Default)]
pub struct ReparseCache {
    /// Pieces by their exact text; several pieces can share a text (with different
    /// kinds or leading docs).
    pieces: HashMap<Box<str>, Vec<Piece>>,
}

impl ReparseCache {
    /// How many pieces the cache holds.
    pub fn len(&self) -> usize {
        self.pieces.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every piece.
    pub fn clear(&mut self) {
        self.pieces.clear();
    }
}

#[derive(Debug, Clone)]
struct Piece {
    /// The doc comment attached to the piece's first token.
    lead_doc: Option<String>,
    result: PieceResult,
}

/// A piece's parse, with spans relative to the piece's start.
#[derive(Debug, Clone)]
enum PieceResult {
    Chunk {
        items: Vec<Item>,
        errors: Vec<SyntaxError>,
    },
    Head {
        name: Ident,
    },
    /// A member segment that parsed: its members (one, unless it is odd), and
    /// whether a newline or `;` follows the last within the piece.
    Member {
        members: Vec<Member>,
        errors: Vec<SyntaxError>,
        separated: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chunk,
    Head,
    Member,
}

impl PieceResult {
    fn kind(&self) -> Kind {
        match self {
            PieceResult::Chunk { .. } => Kind::Chunk,
            PieceResult::Head { .. } => Kind::Head,
            PieceResult::Member { .. } => Kind::Member,
        }
    }

    fn shift(&mut self, delta: i64) {
        match self {
            PieceResult::Chunk { items, errors } => {
                items.shift(delta);
                errors.shift(delta);
            }
            PieceResult::Head { name } => name.shift(delta),
            PieceResult::Member {
                members, errors, ..
            } => {
                members.shift(delta);
                errors.shift(delta);
            }
        }
    }
}

/// The previous parse's pieces and this parse's.
struct Pieces {
    old: HashMap<Box<str>, Vec<Piece>>,
    new: HashMap<Box<str>, Vec<Piece>>,
}

impl Pieces {
    /// The result of the piece `text` of this kind and leading doc, moved to `at`.
    fn reuse(
        &mut self,
        text: &str,
        kind: Kind,
        lead_doc: Option<&String>,
        at: usize,
    ) -> Option<PieceResult> {
        let fits =
            |piece: &Piece| piece.result.kind() == kind && piece.lead_doc.as_ref() == lead_doc;
        let mut result = match self.old.get_mut(text) {
            Some(list) if list.iter().any(fits) => {
                let index = list.iter().position(fits)?;
                let piece = list.swap_remove(index);
                let result = piece.result.clone();
                self.new.entry(text.into()).or_default().push(piece);
                result
            }
            _ => self.new.get(text)?.iter().find(|p| fits(p))?.result.clone(),
        };
        result.shift(i64::try_from(at).unwrap_or(i64::MAX));
        Some(result)
    }

    /// Keeps the piece `text` parsed at `at` with the result `result` (absolute).
    fn store(&mut self, text: &str, lead_doc: Option<&String>, mut result: PieceResult, at: usize) {
        result.shift(-i64::try_from(at).unwrap_or(i64::MAX));
        let list = self.new.entry(text.into()).or_default();
        let kind = result.kind();
        if !list
            .iter()
            .any(|p| p.result.kind() == kind && p.lead_doc.as_ref() == lead_doc)
        {
            list.push(Piece {
                lead_doc: lead_doc.cloned(),
                result,
            });
        }
    }
}

/// Parses one file like [`parse`](super::parse), and returns exactly what it
/// returns, re-using the pieces of `cache` whose text is unchanged and parsing
/// only the rest. Afterwards `cache` holds the pieces of this parse only.
pub fn parse_incremental(text: &str, cache: &mut ReparseCache) -> (Module, Vec<SyntaxError>) {
    let scan = scan::scan(text);
    let docs = scan.docs(text);
    let chunks = chunks(text, &scan);
    let mut pieces = Pieces {
        old: std::mem::take(&mut cache.pieces),
        new: HashMap::new(),
    };
    let mut items = Vec::new();
    let mut errors = {
        let mut driver = Driver {
            text,
            scan: &scan,
            docs: &docs,
            errors: Vec::new(),
        };
        for &(start, end) in &chunks {
            driver.chunk_incremental(start, end, &mut items, &mut pieces);
        }
        driver.errors
    };
    unclosed_comment(&scan, &mut errors);
    cache.pieces = pieces.new;
    let module = Module {
        items,
        comments: scan.comments,
    };
    (module, errors)
}

impl Driver<'_> {
    fn chunk_incremental(
        &mut self,
        start: usize,
        end: usize,
        items: &mut Vec<Item>,
        pieces: &mut Pieces,
    ) {
        let Some(chunk) = self.text.get(start..end) else {
            return;
        };
        if self.scan.too_deep.iter().any(|&p| p >= start && p < end) {
            self.parse_chunk(start, end, items);
            return;
        }
        if chunk.starts_with("workflow") && self.workflow_incremental(start, end, items, pieces) {
            return;
        }
        let lead_doc = self.docs.get(&offset(start));
        if let Some(PieceResult::Chunk {
            items: reused,
            errors,
        }) = pieces.reuse(chunk, Kind::Chunk, lead_doc, start)
        {
            items.extend(reused);
            self.errors.extend(errors);
            return;
        }
        match EmxParser::parse(Rule::chunk, chunk) {
            Ok(pairs) => {
                let items_before = items.len();
                let errors_before = self.errors.len();
                let mut cx = self.cx(start);
                items.extend(
                    pairs
                        .flat_map(|p| p.into_inner())
                        .filter_map(|p| cx.item(p)),
                );
                // As in `parse`: a declaration nested too deeply is left out.
                if self.errors.get(errors_before..).is_some_and(|new| {
                    new.iter()
                        .any(|e| matches!(e.kind, SyntaxErrorKind::TooDeeplyNested { .. }))
                }) {
                    items.truncate(items_before);
                }
                let result = PieceResult::Chunk {
                    items: items.get(items_before..).unwrap_or(&[]).to_vec(),
                    errors: self.errors.get(errors_before..).unwrap_or(&[]).to_vec(),
                };
                pieces.store(chunk, lead_doc, result, start);
            }
            Err(error) => {
                // As `chunk_failed`, with the members re-used; the whole chunk's
                // error is only worked out when it is reported.
                if chunk.starts_with("workflow")
                    && let Some(item) =
                        self.recover_workflow_with(start, end, |driver, s, e, members| {
                            driver.recover_segment_incremental(s, e, members, pieces);
                        })
                {
                    items.push(item);
                    return;
                }
                let error = errors::convert(Rule::chunk, self.text, start, end, error);
                self.errors.push(error);
            }
        }
    }

    /// Builds the workflow chunk `text[start..end]` from its head and members when
    /// that gives what parsing it whole gives (see the module comment); returns
    /// false, having changed nothing but the cache, otherwise.
    fn workflow_incremental(
        &mut self,
        start: usize,
        end: usize,
        items: &mut Vec<Item>,
        pieces: &mut Pieces,
    ) -> bool {
        let text = self.text;
        let braces = &self.scan.top_braces;
        let from = braces.partition_point(|&(p, _)| p <= start);
        let to = braces.partition_point(|&(p, _)| p < end);
        let Some(&[(open, true), (close, false)]) = braces.get(from..to) else {
            return false;
        };
        if !text.get(close + 1..end).is_some_and(strict_trivia) {
            return false;
        }
        let Some(name) = self.workflow_name(start, open, pieces) else {
            return false;
        };

        let starts = &self.scan.member_starts;
        let first = starts.partition_point(|&p| p <= open);
        let last = starts.partition_point(|&p| p < close);
        let starts = starts.get(first..last).unwrap_or(&[]);
        let gap_end = starts.first().copied().unwrap_or(close);
        if !text.get(open + 1..gap_end).is_some_and(strict_trivia) {
            return false;
        }
        let mut members = Vec::with_capacity(starts.len());
        let mut errors = Vec::new();
        for (index, &seg_start) in starts.iter().enumerate() {
            let is_last = index + 1 == starts.len();
            let seg_end = starts.get(index + 1).copied().unwrap_or(close);
            let Some((member, member_errors, separated)) =
                self.member_piece(seg_start, seg_end, pieces)
            else {
                return false;
            };
            if !is_last && !separated {
                return false;
            }
            members.push(member);
            errors.extend(member_errors);
        }
        items.push(Item {
            doc: self.docs.get(&offset(start)).cloned(),
            kind: ItemKind::Workflow(Workflow { name, members }),
            span: Span::new(offset(start), offset(close + 1)),
        });
        self.errors.extend(errors);
        true
    }

    /// The name of the workflow whose head is `text[start..=open]`.
    fn workflow_name(&mut self, start: usize, open: usize, pieces: &mut Pieces) -> Option<Ident> {
        let head = self.text.get(start..open + 1)?;
        if let Some(PieceResult::Head { name }) = pieces.reuse(head, Kind::Head, None, start) {
            return Some(name);
        }
        let pairs = EmxParser::parse(Rule::workflow_head, head).ok()?;
        let name = {
            let cx = self.cx(start);
            pairs
                .flat_map(|p| p.into_inner())
                .find(|p| p.as_rule() == Rule::ident)
                .map(|p| cx.ident(&p))?
        };
        pieces.store(head, None, PieceResult::Head { name: name.clone() }, start);
        Some(name)
    }

    /// The member that is all of `text[start..end]` (but trivia after it), its
    /// conversion errors, and whether a separator follows it; `None` when the
    /// segment is not exactly one member or reports nesting too deep.
    fn member_piece(
        &mut self,
        start: usize,
        end: usize,
        pieces: &mut Pieces,
    ) -> Option<(Member, Vec<SyntaxError>, bool)> {
        let (mut members, errors, separated) = self.segment_piece(start, end, pieces)?;
        let too_deep = errors
            .iter()
            .any(|e| matches!(e.kind, SyntaxErrorKind::TooDeeplyNested { .. }));
        if members.len() != 1 || too_deep {
            return None;
        }
        Some((members.pop()?, errors, separated))
    }

    /// The members and conversion errors of the member segment `text[start..end]`
    /// and whether a separator follows the last member; `None` when it does not
    /// parse (such errors are not kept: they can name text beyond the segment).
    fn segment_piece(
        &mut self,
        start: usize,
        end: usize,
        pieces: &mut Pieces,
    ) -> Option<(Vec<Member>, Vec<SyntaxError>, bool)> {
        let segment = self.text.get(start..end)?;
        let lead_doc = self.docs.get(&offset(start));
        if let Some(PieceResult::Member {
            members,
            errors,
            separated,
        }) = pieces.reuse(segment, Kind::Member, lead_doc, start)
        {
            return Some((members, errors, separated));
        }
        let pairs = EmxParser::parse(Rule::member_chunk, segment).ok()?;
        let mut errors = Vec::new();
        let mut cx = Cx::new(offset(start), self.docs, &self.scan.comments, &mut errors);
        let mut members = Vec::new();
        let mut members_end = 0;
        for pair in pairs.flat_map(|p| p.into_inner()) {
            if pair.as_rule() == Rule::EOI {
                continue;
            }
            members_end = pair.as_span().end();
            members.extend(cx.member(pair));
        }
        let separated = has_separator(segment.get(members_end..).unwrap_or(""));
        pieces.store(
            segment,
            lead_doc,
            PieceResult::Member {
                members: members.clone(),
                errors: errors.clone(),
                separated,
            },
            start,
        );
        Some((members, errors, separated))
    }

    /// [`Driver::recover_segment`] with the pieces that parsed kept and re-used.
    fn recover_segment_incremental(
        &mut self,
        start: usize,
        end: usize,
        members: &mut Vec<Member>,
        pieces: &mut Pieces,
    ) {
        match self.segment_piece(start, end, pieces) {
            Some((found, errors, _)) => {
                members.extend(found);
                self.errors.extend(errors);
            }
            None => self.recover_segment(start, end, members),
        }
    }
}

/// Whether `text` is what the grammar's `(NL | ";")*` with its implicit whitespace
/// matches: blanks, newlines, `;` and closed comments, nothing else.
fn strict_trivia(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b' ' | b'\t' | b'\n' | b';' => i += 1,
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                match text.get(i + 2..).and_then(|rest| rest.find("*/")) {
                    Some(n) => i += 2 + n + 2,
                    None => return false,
                }
            }
            _ => return false,
        }
    }
    true
}

/// Whether trivia (as [`strict_trivia`] accepts) holds a newline or `;` outside
/// its comments.
fn has_separator(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\n' | b';' => return true,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = text
                    .get(i + 2..)
                    .and_then(|rest| rest.find("*/"))
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
            }
            _ => i += 1,
        }
    }
    false
}
