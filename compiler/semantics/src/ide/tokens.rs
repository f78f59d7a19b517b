//! Semantic tokens: a scan of the text for comments, strings, numbers and durations,
//! with each word classified by what it resolved to — the checker's links in bodies,
//! the outline for declarations, the module scope for type names, what a test's
//! `start`, `mock` and `signal` name — and otherwise by whether it is a keyword,
//! reserved or contextual.

use super::refs::RESERVED;
use super::symbols::{DocumentSymbol, SymbolKind, symbols};
use crate::bodies::check_body;
use crate::body::{bodies, body_base};
use crate::check::Link;
use crate::db::{Db, SourceFile, parse};
use crate::scope::{DeclKind, Symbol, module_scope};
use cosmos_diagnostics::Span;
use cosmos_syntax::ast::{ItemKind, Module, TestStmtKind};
use std::collections::HashMap;

/// What a token is, for colouring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Keyword,
    Type,
    Enum,
    EnumMember,
    Fact,
    Input,
    Field,
    Function,
    Workflow,
    Signal,
    Variable,
    Namespace,
    String,
    Number,
    Comment,
}

/// Words that are keywords only where the grammar expects them.
const CONTEXTUAL: &[&str] = &[
    "match",
    "action",
    "reaction",
    "error",
    "priority",
    "timeout",
    "complete",
    "when",
    "output",
    "command",
    "pool",
    "warm",
    "batch",
    "mock",
    "start",
    "advance",
    "assert",
    "run",
    "returns",
    "fails",
    "heartbeat",
    "env",
];

fn decl_kinds(symbols: &[DocumentSymbol], out: &mut HashMap<Span, TokenKind>) {
    for s in symbols {
        let kind = match s.kind {
            SymbolKind::Workflow => Some(TokenKind::Workflow),
            SymbolKind::Input => Some(TokenKind::Input),
            SymbolKind::Fact => Some(TokenKind::Fact),
            SymbolKind::Type => Some(TokenKind::Type),
            SymbolKind::Field => Some(TokenKind::Field),
            SymbolKind::Enum => Some(TokenKind::Enum),
            SymbolKind::EnumMember => Some(TokenKind::EnumMember),
            SymbolKind::Function | SymbolKind::Def => Some(TokenKind::Function),
            SymbolKind::Signal => Some(TokenKind::Signal),
            SymbolKind::Rule | SymbolKind::Test | SymbolKind::Schedule => None,
        };
        if let Some(kind) = kind {
            out.insert(s.name_span, kind);
        }
        decl_kinds(&s.children, out);
    }
}

fn link_kind(db: &dyn Db, link: &Link) -> TokenKind {
    match link {
        Link::Local(..) => TokenKind::Variable,
        Link::Input(_) => TokenKind::Input,
        Link::Fact(_) => TokenKind::Fact,
        Link::EnumMember(..) => TokenKind::EnumMember,
        Link::RecordField(..) => TokenKind::Field,
        Link::Builtin(_) => TokenKind::Function,
        Link::Decl(key) => match crate::scope::module_decl(db, &key.module, &key.name) {
            Some(Symbol::Decl(DeclKind::Enum, _)) => TokenKind::Enum,
            Some(Symbol::Decl(DeclKind::Record, _)) => TokenKind::Type,
            Some(Symbol::Decl(DeclKind::Workflow, _)) => TokenKind::Workflow,
            _ => TokenKind::Function,
        },
    }
}

/// What the names in tests' `start`, `mock` and `signal` statements are.
fn test_kinds(db: &dyn Db, file: SourceFile, module: &Module, out: &mut HashMap<Span, TokenKind>) {
    for item in &module.items {
        let ItemKind::Test(t) = &item.kind else {
            continue;
        };
        let mut started = None;
        for stmt in &t.body {
            match &stmt.kind {
                TestStmtKind::Start { workflow, .. } => {
                    if let Some(name) = workflow.last() {
                        out.insert(name.span, TokenKind::Workflow);
                    }
                    started = Some(workflow.as_slice());
                }
                TestStmtKind::Mock { function, .. } => {
                    let kind =
                        match super::locate::mocked_function(db, file, started, &function.text) {
                            Some(Symbol::Decl(DeclKind::Function | DeclKind::Def, _)) | None => {
                                TokenKind::Function
                            }
                            Some(Symbol::Decl(DeclKind::Workflow, _)) => TokenKind::Workflow,
                            Some(Symbol::Decl(DeclKind::Record, _)) => TokenKind::Type,
                            Some(Symbol::Decl(DeclKind::Enum, _)) => TokenKind::Enum,
                            Some(Symbol::Module(_)) => TokenKind::Namespace,
                        };
                    out.insert(function.span, kind);
                }
                TestStmtKind::Signal { name, .. } => {
                    out.insert(name.span, TokenKind::Signal);
                }
                _ => {}
            }
        }
    }
}

fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The file's tokens, kept until the file or what its names resolve to changes: an
/// editor asks again after every edit and on every scroll, and the scan is linear in
/// the file.
#[salsa::tracked(returns(ref))]
pub(super) fn tokens(db: &dyn Db, file: SourceFile) -> Vec<(Span, TokenKind)> {
    scan_tokens(db, file)
}

fn scan_tokens(db: &dyn Db, file: SourceFile) -> Vec<(Span, TokenKind)> {
    let text = file.text(db).as_bytes();
    let module = parse(db, file).module.clone();
    let mut known: HashMap<Span, TokenKind> = HashMap::new();
    decl_kinds(&symbols(db, file), &mut known);
    for path in bodies(&module) {
        let base = i64::from(body_base(db, file, path));
        for (span, link) in &check_body(db, file, path).links {
            known.insert(span.shifted(base), link_kind(db, link));
        }
    }
    test_kinds(db, file, &module, &mut known);
    let scope = module_scope(db, file);
    let mut out = Vec::new();
    let mut i = 0;
    // Open `${` interpolations: the string resumes at their matching `}`.
    let mut interpolations: Vec<u32> = Vec::new();
    let mut string_start: Option<usize> = None;
    while i < text.len() {
        if let Some(start) = string_start {
            // Inside a string's text.
            match text[i] {
                b'\\' => i += 2,
                b'"' => {
                    out.push((Span::new(start as u32, i as u32 + 1), TokenKind::String));
                    string_start = None;
                    i += 1;
                }
                b'$' if text.get(i + 1) == Some(&b'{') => {
                    out.push((Span::new(start as u32, i as u32 + 2), TokenKind::String));
                    string_start = None;
                    interpolations.push(0);
                    i += 2;
                }
                _ => i += 1,
            }
            continue;
        }
        let c = text[i];
        let rest = &text[i..];
        if rest.starts_with(b"//") {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |n| i + n);
            out.push((Span::new(i as u32, end as u32), TokenKind::Comment));
            i = end;
        } else if rest.starts_with(b"/*") {
            let end = rest
                .windows(2)
                .skip(2)
                .position(|w| w == b"*/")
                .map_or(text.len(), |n| i + n + 4);
            out.push((Span::new(i as u32, end as u32), TokenKind::Comment));
            i = end;
        } else if c == b'"' {
            string_start = Some(i);
            i += 1;
        } else if c == b'{' {
            if let Some(depth) = interpolations.last_mut() {
                *depth += 1;
            }
            i += 1;
        } else if c == b'}' {
            match interpolations.last_mut() {
                Some(0) => {
                    interpolations.pop();
                    string_start = Some(i);
                }
                Some(depth) => *depth -= 1,
                None => {}
            }
            i += 1;
        } else if c.is_ascii_digit() {
            let mut end = i;
            while end < text.len()
                && (is_word_char(text[end])
                    || (text[end] == b'.' && text.get(end + 1).is_some_and(|&b| is_word_char(b))))
            {
                end += 1;
            }
            out.push((Span::new(i as u32, end as u32), TokenKind::Number));
            i = end;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let mut end = i;
            while end < text.len() && is_word_char(text[end]) {
                end += 1;
            }
            let span = Span::new(i as u32, end as u32);
            let word = std::str::from_utf8(&text[i..end]).unwrap_or("");
            let after_dot = i > 0 && text[i - 1] == b'.';
            // `Enum.Member` outside a body (a default value): the word before the dot.
            let before_dot = after_dot.then(|| {
                let end = i - 1;
                let start = text[..end]
                    .iter()
                    .rposition(|&b| !is_word_char(b))
                    .map_or(0, |p| p + 1);
                std::str::from_utf8(&text[start..end]).unwrap_or("")
            });
            let member_of_enum = before_dot.is_some_and(|word| {
                matches!(scope.get(word), Some(Symbol::Decl(DeclKind::Enum, _)))
            });
            let kind = known.get(&span).copied().or_else(|| {
                if member_of_enum {
                    return Some(TokenKind::EnumMember);
                }
                if RESERVED.contains(&word) && !after_dot {
                    return Some(TokenKind::Keyword);
                }
                match scope.get(word) {
                    Some(Symbol::Decl(DeclKind::Record, _)) if !after_dot => Some(TokenKind::Type),
                    Some(Symbol::Decl(DeclKind::Enum, _)) if !after_dot => Some(TokenKind::Enum),
                    Some(Symbol::Decl(DeclKind::Workflow, _)) if !after_dot => {
                        Some(TokenKind::Workflow)
                    }
                    Some(Symbol::Module(_)) if !after_dot => Some(TokenKind::Namespace),
                    _ if CONTEXTUAL.contains(&word) && !after_dot => Some(TokenKind::Keyword),
                    _ if matches!(
                        word,
                        "String"
                            | "Int"
                            | "Float"
                            | "Bool"
                            | "Json"
                            | "Duration"
                            | "Instant"
                            | "List"
                            | "Map"
                            | "Call"
                    ) =>
                    {
                        Some(TokenKind::Type)
                    }
                    _ => None,
                }
            });
            if let Some(kind) = kind {
                out.push((span, kind));
            }
            i = end;
        } else {
            i += 1;
        }
    }
    if let Some(start) = string_start {
        out.push((
            Span::new(start as u32, text.len() as u32),
            TokenKind::String,
        ));
    }
    out
}
