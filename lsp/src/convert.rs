//! The compiler's data as LSP types: diagnostics, outline symbols, hovers and
//! completion items. Positions go through [`crate::position`].

use crate::position::LineIndex;
use cosmos_diagnostics::{Diagnostic, FileId, Severity, Span};
use cosmos_semantics::ide::{
    CodeAction, Completion, CompletionKind, DocumentSymbol, Hover, SignatureHelp, SymbolKind,
    Target, TokenKind,
};
use std::collections::HashMap;
use std::str::FromStr;
use tower_lsp_server::ls_types::{self as lsp, Uri};

/// Where `docs/diagnostics.md` is published; each code's heading (`## E0201 name`)
/// is an anchor there.
pub const DIAGNOSTICS_DOCS: &str = "https://example.invalid/cosmos/blob/main/docs/diagnostics.md";

/// A file's URL and current text, for converting spans in it.
pub trait Texts {
    fn url(&self, file: FileId) -> Option<Uri>;
    fn text(&self, file: FileId) -> Option<&str>;
}

pub fn diagnostic(texts: &dyn Texts, lines: &LineIndex, d: &Diagnostic) -> lsp::Diagnostic {
    let severity = match d.severity {
        Severity::Error => lsp::DiagnosticSeverity::ERROR,
        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
    };
    let mut message = d.message.clone();
    if !d.primary.message.is_empty() {
        message.push_str(&format!("\n{}", d.primary.message));
    }
    for note in &d.notes {
        message.push_str(&format!("\nnote: {note}"));
    }
    for suggestion in &d.suggestions {
        message.push_str(&format!("\nhelp: {}", suggestion.message));
    }
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter_map(|label| {
            let uri = texts.url(label.file)?;
            let range = if label.file == d.primary.file {
                lines.range(label.span)
            } else {
                LineIndex::new(texts.text(label.file)?).range(label.span)
            };
            Some(lsp::DiagnosticRelatedInformation {
                location: lsp::Location::new(uri, range),
                message: if label.message.is_empty() {
                    "related".to_string()
                } else {
                    label.message.clone()
                },
            })
        })
        .collect();
    let href = Uri::from_str(&format!(
        "{DIAGNOSTICS_DOCS}#{}-{}",
        d.code.code.to_ascii_lowercase(),
        d.code.name
    ))
    .ok();
    lsp::Diagnostic {
        range: lines.range(d.primary.span),
        severity: Some(severity),
        code: Some(lsp::NumberOrString::String(d.code.code.to_string())),
        code_description: href.map(|href| lsp::CodeDescription { href }),
        source: Some("cosmosc".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

fn symbol_kind(kind: SymbolKind) -> lsp::SymbolKind {
    match kind {
        SymbolKind::Workflow => lsp::SymbolKind::CLASS,
        SymbolKind::Input => lsp::SymbolKind::PROPERTY,
        SymbolKind::Fact => lsp::SymbolKind::FIELD,
        SymbolKind::Rule => lsp::SymbolKind::METHOD,
        SymbolKind::Signal => lsp::SymbolKind::EVENT,
        SymbolKind::Type => lsp::SymbolKind::STRUCT,
        SymbolKind::Field => lsp::SymbolKind::FIELD,
        SymbolKind::Enum => lsp::SymbolKind::ENUM,
        SymbolKind::EnumMember => lsp::SymbolKind::ENUM_MEMBER,
        SymbolKind::Function => lsp::SymbolKind::FUNCTION,
        SymbolKind::Def => lsp::SymbolKind::FUNCTION,
        SymbolKind::Test => lsp::SymbolKind::MODULE,
        SymbolKind::Schedule => lsp::SymbolKind::EVENT,
    }
}

/// Locations in the files of a project, with one line table per file.
pub struct Locator<'t> {
    texts: &'t dyn Texts,
    lines: HashMap<FileId, LineIndex<'t>>,
}

impl<'t> Locator<'t> {
    pub fn new(texts: &'t dyn Texts) -> Self {
        Locator {
            texts,
            lines: HashMap::new(),
        }
    }

    /// A location in a project file (or a module of `std`).
    pub fn location(&mut self, file: FileId, span: Span) -> Option<lsp::Location> {
        let uri = self.texts.url(file)?;
        let lines = match self.lines.entry(file) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(LineIndex::new(self.texts.text(file)?))
            }
        };
        Some(lsp::Location::new(uri, lines.range(span)))
    }
}

/// The edit that writes `new_name` over every span.
pub fn rename(texts: &dyn Texts, spans: &[Target], new_name: &str) -> lsp::WorkspaceEdit {
    let mut changes: HashMap<Uri, Vec<lsp::TextEdit>> = HashMap::new();
    let mut locator = Locator::new(texts);
    for target in spans {
        if let Some(location) = locator.location(target.file, target.span) {
            changes
                .entry(location.uri)
                .or_default()
                .push(lsp::TextEdit::new(location.range, new_name.to_string()));
        }
    }
    lsp::WorkspaceEdit::new(changes)
}

/// The symbols of one file whose names contain `query` (lower case), flattened, each
/// with the name of its container.
#[allow(deprecated)] // `SymbolInformation::deprecated` must be written, though deprecated.
pub fn workspace_symbols(
    url: &Uri,
    lines: &LineIndex,
    symbols: &[DocumentSymbol],
    container: Option<&str>,
    query: &str,
    out: &mut Vec<lsp::SymbolInformation>,
) {
    for s in symbols {
        if !s.name.is_empty() && s.name.to_lowercase().contains(query) {
            out.push(lsp::SymbolInformation {
                name: s.name.clone(),
                kind: symbol_kind(s.kind),
                tags: None,
                deprecated: None,
                location: lsp::Location::new(url.clone(), lines.range(s.name_span)),
                container_name: container.map(str::to_string),
            });
        }
        workspace_symbols(url, lines, &s.children, Some(&s.name), query, out);
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written, though deprecated.
pub fn symbol(lines: &LineIndex, s: &DocumentSymbol) -> lsp::DocumentSymbol {
    let kind = symbol_kind(s.kind);
    lsp::DocumentSymbol {
        name: if s.name.is_empty() {
            "?".to_string()
        } else {
            s.name.clone()
        },
        detail: s.detail.clone(),
        kind,
        tags: None,
        deprecated: None,
        range: lines.range(s.span),
        selection_range: lines.range(s.name_span),
        children: Some(s.children.iter().map(|c| symbol(lines, c)).collect()),
    }
}

pub fn hover(lines: &LineIndex, h: &Hover) -> lsp::Hover {
    let mut value = format!("```emx\n{}\n```", h.signature);
    if let Some(doc) = &h.doc {
        value.push_str("\n\n");
        value.push_str(doc.trim());
    }
    lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value,
        }),
        range: Some(lines.range(h.span)),
    }
}

pub fn completion(lines: &LineIndex, c: &Completion) -> lsp::CompletionItem {
    let kind = match c.kind {
        CompletionKind::Keyword => lsp::CompletionItemKind::KEYWORD,
        CompletionKind::Fact => lsp::CompletionItemKind::FIELD,
        CompletionKind::Input => lsp::CompletionItemKind::PROPERTY,
        CompletionKind::Field => lsp::CompletionItemKind::FIELD,
        CompletionKind::Method => lsp::CompletionItemKind::METHOD,
        CompletionKind::Function | CompletionKind::Def => lsp::CompletionItemKind::FUNCTION,
        CompletionKind::Type => lsp::CompletionItemKind::STRUCT,
        CompletionKind::Enum => lsp::CompletionItemKind::ENUM,
        CompletionKind::EnumMember => lsp::CompletionItemKind::ENUM_MEMBER,
        CompletionKind::Workflow => lsp::CompletionItemKind::CLASS,
        CompletionKind::Module => lsp::CompletionItemKind::MODULE,
    };
    lsp::CompletionItem {
        label: c.label.clone(),
        kind: Some(kind),
        detail: c.detail.clone(),
        documentation: c.doc.clone().map(|value| {
            lsp::Documentation::MarkupContent(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value,
            })
        }),
        // A dotted path replaces all of what was typed of it, not only the last word.
        text_edit: c.replace.map(|span| {
            lsp::CompletionTextEdit::Edit(lsp::TextEdit::new(lines.range(span), c.label.clone()))
        }),
        ..Default::default()
    }
}

pub fn signature_help(h: &SignatureHelp) -> lsp::SignatureHelp {
    let parameters = h
        .params
        .iter()
        .map(|p| lsp::ParameterInformation {
            label: lsp::ParameterLabel::Simple(p.clone()),
            documentation: None,
        })
        .collect();
    lsp::SignatureHelp {
        signatures: vec![lsp::SignatureInformation {
            label: h.label.clone(),
            documentation: h.doc.clone().map(|value| {
                lsp::Documentation::MarkupContent(lsp::MarkupContent {
                    kind: lsp::MarkupKind::Markdown,
                    value,
                })
            }),
            parameters: Some(parameters),
            active_parameter: Some(h.active),
        }],
        active_signature: Some(0),
        active_parameter: Some(h.active),
    }
}

/// The token types of [`semantic_tokens`], in the order of their indices.
pub const TOKEN_TYPES: &[lsp::SemanticTokenType] = &[
    lsp::SemanticTokenType::KEYWORD,
    lsp::SemanticTokenType::TYPE,
    lsp::SemanticTokenType::ENUM,
    lsp::SemanticTokenType::ENUM_MEMBER,
    lsp::SemanticTokenType::PROPERTY,
    lsp::SemanticTokenType::PARAMETER,
    lsp::SemanticTokenType::FUNCTION,
    lsp::SemanticTokenType::CLASS,
    lsp::SemanticTokenType::VARIABLE,
    lsp::SemanticTokenType::NAMESPACE,
    lsp::SemanticTokenType::STRING,
    lsp::SemanticTokenType::NUMBER,
    lsp::SemanticTokenType::COMMENT,
    lsp::SemanticTokenType::EVENT,
];

fn token_type(kind: TokenKind) -> u32 {
    match kind {
        TokenKind::Keyword => 0,
        TokenKind::Type => 1,
        TokenKind::Enum => 2,
        TokenKind::EnumMember => 3,
        // Facts and record fields are properties; inputs, read-only, are parameters.
        TokenKind::Fact | TokenKind::Field => 4,
        TokenKind::Input => 5,
        TokenKind::Function => 6,
        TokenKind::Workflow => 7,
        TokenKind::Variable => 8,
        TokenKind::Namespace => 9,
        TokenKind::String => 10,
        TokenKind::Number => 11,
        TokenKind::Comment => 12,
        TokenKind::Signal => 13,
    }
}

/// Tokens in LSP's relative encoding, one line each (a comment or string over several
/// lines becomes one token per line), lengths in UTF-16 code units.
pub fn semantic_tokens(lines: &LineIndex, tokens: &[(Span, TokenKind)]) -> Vec<lsp::SemanticToken> {
    let text = lines.text();
    let mut out = Vec::with_capacity(tokens.len());
    let mut walk = crate::position::Walk::new(lines);
    let (mut line, mut character) = (0u32, 0u32);
    for &(span, kind) in tokens {
        let Some(slice) = text.get(span.range()) else {
            continue;
        };
        let mut start = span.start;
        for piece in slice.split('\n') {
            let length = if piece.is_ascii() {
                piece.len() as u32
            } else {
                piece.encode_utf16().count() as u32
            };
            let position = walk.position(start);
            start += piece.len() as u32 + 1;
            if length == 0 {
                continue;
            }
            let delta_line = position.line - line;
            let delta_start = if delta_line == 0 {
                position.character - character
            } else {
                position.character
            };
            out.push(lsp::SemanticToken {
                delta_line,
                delta_start,
                length,
                token_type: token_type(kind),
                token_modifiers_bitset: 0,
            });
            line = position.line;
            character = position.character;
        }
    }
    out
}

/// A quick fix, naming the client's diagnostics of the code it fixes.
pub fn code_action(
    texts: &dyn Texts,
    action: &CodeAction,
    diagnostics: &[lsp::Diagnostic],
) -> lsp::CodeActionOrCommand {
    let mut changes: HashMap<Uri, Vec<lsp::TextEdit>> = HashMap::new();
    let mut locator = Locator::new(texts);
    for (file, span, new_text) in &action.edits {
        if let Some(location) = locator.location(*file, *span) {
            changes
                .entry(location.uri)
                .or_default()
                .push(lsp::TextEdit::new(location.range, new_text.clone()));
        }
    }
    let fixed: Vec<lsp::Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.code == Some(lsp::NumberOrString::String(action.fixes.to_string())))
        .cloned()
        .collect();
    lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
        title: action.title.clone(),
        kind: Some(lsp::CodeActionKind::QUICKFIX),
        diagnostics: (!fixed.is_empty()).then_some(fixed),
        edit: Some(lsp::WorkspaceEdit::new(changes)),
        is_preferred: Some(action.preferred),
        ..Default::default()
    })
}
