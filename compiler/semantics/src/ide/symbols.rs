//! The outline of a file: workflows with their inputs, facts, rules and signals; types
//! with fields; enums with members; functions, helpers and tests.

use crate::db::{Db, SourceFile, parse};
use cosmos_diagnostics::Span;
use cosmos_syntax::ast::{Field, ItemKind, MemberKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    Workflow,
    Input,
    Fact,
    Rule,
    Signal,
    Type,
    Field,
    Enum,
    EnumMember,
    Function,
    Def,
    Test,
    Schedule,
}

/// One entry of the outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSymbol {
    pub name: String,
    /// A short description, such as a fact's type as written.
    pub detail: Option<String>,
    pub kind: SymbolKind,
    /// The whole declaration.
    pub span: Span,
    /// Its name.
    pub name_span: Span,
    pub children: Vec<DocumentSymbol>,
}

fn leaf(name: &str, kind: SymbolKind, span: Span, name_span: Span) -> DocumentSymbol {
    DocumentSymbol {
        name: name.to_string(),
        detail: None,
        kind,
        span: span.to(name_span),
        name_span,
        children: Vec::new(),
    }
}

fn field(text: &str, f: &Field, kind: SymbolKind) -> DocumentSymbol {
    let mut symbol = leaf(&f.name.text, kind, f.span, f.name.span);
    symbol.detail = text.get(f.ty.span.range()).map(str::to_string);
    symbol
}

pub(super) fn symbols(db: &dyn Db, file: SourceFile) -> Vec<DocumentSymbol> {
    let text = file.text(db);
    let module = &parse(db, file).module;
    let mut out = Vec::new();
    for item in &module.items {
        let symbol = match &item.kind {
            ItemKind::Import(_) => continue,
            ItemKind::Type(d) => {
                let mut s = leaf(&d.name.text, SymbolKind::Type, item.span, d.name.span);
                s.children = d
                    .fields
                    .iter()
                    .map(|f| field(text, f, SymbolKind::Field))
                    .collect();
                s
            }
            ItemKind::Enum(d) => {
                let mut s = leaf(&d.name.text, SymbolKind::Enum, item.span, d.name.span);
                s.children = d
                    .variants
                    .iter()
                    .map(|v| {
                        leaf(
                            &v.name.text,
                            SymbolKind::EnumMember,
                            v.name.span,
                            v.name.span,
                        )
                    })
                    .collect();
                s
            }
            ItemKind::Function(d) => {
                let mut s = leaf(&d.name.text, SymbolKind::Function, item.span, d.name.span);
                s.detail = text.get(d.ret.span.range()).map(str::to_string);
                s
            }
            ItemKind::Def(d) => {
                let mut s = leaf(&d.name.text, SymbolKind::Def, item.span, d.name.span);
                s.detail = text.get(d.ret.span.range()).map(str::to_string);
                s
            }
            ItemKind::Test(d) => leaf(&d.name.text, SymbolKind::Test, item.span, d.name.span),
            ItemKind::Schedule(d) => {
                leaf(&d.name.text, SymbolKind::Schedule, item.span, d.name.span)
            }
            ItemKind::Workflow(w) => {
                let mut s = leaf(&w.name.text, SymbolKind::Workflow, item.span, w.name.span);
                for member in &w.members {
                    match &member.kind {
                        MemberKind::Input(fields) => s
                            .children
                            .extend(fields.iter().map(|f| field(text, f, SymbolKind::Input))),
                        MemberKind::Facts(fields) => s
                            .children
                            .extend(fields.iter().map(|f| field(text, f, SymbolKind::Fact))),
                        MemberKind::Rule(rule) => s.children.push(leaf(
                            &rule.name.text,
                            SymbolKind::Rule,
                            member.span,
                            rule.name.span,
                        )),
                        MemberKind::Signal(signal) => s.children.push(leaf(
                            &signal.name.text,
                            SymbolKind::Signal,
                            member.span,
                            signal.name.span,
                        )),
                        MemberKind::CompleteWhen(_) | MemberKind::Output(_) => {}
                    }
                }
                s
            }
        };
        out.push(symbol);
    }
    out
}
