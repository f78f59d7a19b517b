//! The compiler's data as LSP types: diagnostics, outline symbols, hovers and
//! completion items. Positions go through [`crate::position`].

use crate::position::to_range;
use cosmos_diagnostics::{Diagnostic, FileId, Severity};
use cosmos_semantics::ide::{Completion, CompletionKind, DocumentSymbol, Hover, SymbolKind};
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

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written, though deprecated.
pub fn symbol(text: &str, s: &DocumentSymbol) -> lsp::DocumentSymbol {
    let kind = match s.kind {
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
    };
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

pub fn completion(c: &Completion) -> lsp::CompletionItem {
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
        ..Default::default()
    }
}
