//! The compiler's data as LSP types: diagnostics, outline symbols, hovers and
//! completion items. Positions go through [`crate::position`].

use crate::position::to_range;
use cosmos_diagnostics::{Diagnostic, FileId, Severity, Span};
use cosmos_semantics::ide::{
    CodeAction, Completion, CompletionKind, DocumentSymbol, Hover, SignatureHelp, SymbolKind,
    Target, TokenKind,
};
use std::collections::HashMap;
use tower_lsp::lsp_types::{self as lsp, Url};

/// Where `docs/diagnostics.md` is published; each code's heading (`## E0201 name`)
/// is an anchor there.
pub const DIAGNOSTICS_DOCS: &str = "https://example.invalid/cosmos/blob/main/docs/diagnostics.md";

/// A file's URL and current text, for converting spans in it.
pub trait Texts {
    fn url(&self, file: FileId) -> Option<Url>;
    fn text(&self, file: FileId) -> Option<&str>;
}

pub fn diagnostic(texts: &dyn Texts, text: &str, d: &Diagnostic) -> lsp::Diagnostic {
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
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter_map(|label| {
            let uri = texts.url(label.file)?;
            let text = texts.text(label.file)?;
            Some(lsp::DiagnosticRelatedInformation {
                location: lsp::Location::new(uri, to_range(text, label.span)),
                message: if label.message.is_empty() {
                    "related".to_string()
                } else {
                    label.message.clone()
                },
            })
        })
        .collect();
    let href = Url::parse(&format!(
        "{DIAGNOSTICS_DOCS}#{}-{}",
        d.code.code.to_ascii_lowercase(),
        d.code.name
    ))
    .ok();
    lsp::Diagnostic {
        range: to_range(text, d.primary.span),
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
    }
}

/// A location in a project file.
pub fn location(texts: &dyn Texts, file: FileId, span: Span) -> Option<lsp::Location> {
    Some(lsp::Location::new(
        texts.url(file)?,
        to_range(texts.text(file)?, span),
    ))
}

/// The edit that writes `new_name` over every span.
pub fn rename(texts: &dyn Texts, spans: &[Target], new_name: &str) -> lsp::WorkspaceEdit {
    let mut changes: HashMap<Url, Vec<lsp::TextEdit>> = HashMap::new();
    for target in spans {
        if let Some(location) = location(texts, target.file, target.span) {
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
    url: &Url,
    text: &str,
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
                location: lsp::Location::new(url.clone(), to_range(text, s.name_span)),
                container_name: container.map(str::to_string),
            });
        }
        workspace_symbols(url, text, &s.children, Some(&s.name), query, out);
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written, though deprecated.
pub fn symbol(text: &str, s: &DocumentSymbol) -> lsp::DocumentSymbol {
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
        range: to_range(text, s.span),
        selection_range: to_range(text, s.name_span),
        children: Some(s.children.iter().map(|c| symbol(text, c)).collect()),
    }
}

pub fn hover(text: &str, h: &Hover) -> lsp::Hover {
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
        range: Some(to_range(text, h.span)),
    }
}

pub fn completion(text: &str, c: &Completion) -> lsp::CompletionItem {
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
            lsp::CompletionTextEdit::Edit(lsp::TextEdit::new(to_range(text, span), c.label.clone()))
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
    }
}

/// Tokens in LSP's relative encoding, one line each (a comment or string over several
/// lines becomes one token per line), lengths in UTF-16 code units.
pub fn semantic_tokens(text: &str, tokens: &[(Span, TokenKind)]) -> Vec<lsp::SemanticToken> {
    let mut out = Vec::new();
    let (mut line, mut character) = (0u32, 0u32);
    for &(span, kind) in tokens {
        let Some(slice) = text.get(span.range()) else {
            continue;
        };
        let mut start = span.start;
        for piece in slice.split('\n') {
            let length = piece.encode_utf16().count() as u32;
            let position = crate::position::to_position(text, start);
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
    let mut changes: HashMap<Url, Vec<lsp::TextEdit>> = HashMap::new();
    for (file, span, new_text) in &action.edits {
        if let Some(location) = location(texts, *file, *span) {
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
