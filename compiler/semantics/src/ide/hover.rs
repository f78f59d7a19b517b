//! Hover: what to show for the syntax at an offset, from what [`locate`] finds there.

use super::locate::{
    Hit, MemberOf, Named, find, find_decl, label_decl, mocked_function, recorded_type,
    resolve_member, resolve_name, sent_signal, type_path_symbol, variant_target,
};
use super::{Hover, render};
use crate::Analysis;
use crate::bodies::check_body;
use crate::body::{BodyPath, bodies, body_base, body_extent};
use crate::builtins::Builtin;
use crate::db::{Db, SourceFile, parse};
use crate::scope::Symbol;
use crate::types::Type;
use cosmos_diagnostics::Span;
use cosmos_syntax::ast::{Expr, ExprKind, Field, Ident, ItemKind, TestStmtKind};

fn builtin_hover(span: Span, builtin: &Builtin) -> Hover {
    Hover {
        span,
        signature: builtin.signature.to_string(),
        doc: Some(builtin.doc.to_string()),
    }
}

fn symbol_hover(db: &dyn Db, span: Span, symbol: &Symbol) -> Option<Hover> {
    match symbol {
        Symbol::Module(module) => Some(Hover {
            span,
            signature: format!("import {module}"),
            doc: None,
        }),
        Symbol::Decl(_, key) => {
            let (file, index) = find_decl(db, key)?;
            let item = parse(db, file).module.items.get(index)?.clone();
            Some(Hover {
                span,
                signature: render::item_signature(file.text(db), &item),
                doc: item.doc.clone(),
            })
        }
    }
}

/// `signal name(params)`, from the text of the file that declares it.
fn signal_hover(text: &str, span: Span, signal: &cosmos_syntax::ast::Signal) -> Hover {
    let params: Vec<&str> = signal
        .params
        .iter()
        .map(|p| text.get(p.span.range()).unwrap_or(&p.name.text))
        .collect();
    Hover {
        span,
        signature: format!("signal {}({})", signal.name.text, params.join(", ")),
        doc: None,
    }
}

fn field_hover(text: &str, span: Span, field: &Field, role: &str) -> Hover {
    let written = text.get(field.span.range()).unwrap_or(&field.name.text);
    Hover {
        span,
        signature: format!("{role} {written}"),
        doc: field.doc.clone(),
    }
}

pub(super) fn hover(analysis: &Analysis, file: SourceFile, offset: u32) -> Option<Hover> {
    named_hover(analysis, file, offset).or_else(|| expression_hover(&analysis.db, file, offset))
}

/// The type of the innermost expression at `offset` inside a body, for what has no
/// name to describe (a call's result, an operator, a literal, a closure).
fn expression_hover(db: &dyn Db, file: SourceFile, offset: u32) -> Option<Hover> {
    let module = &parse(db, file).module;
    let path = bodies(module)
        .into_iter()
        .filter(|p| body_extent(db, file, *p).is_some_and(|s| s.contains(offset)))
        .min_by_key(|p| body_extent(db, file, *p).map_or(u32::MAX, |s| s.end - s.start))?;
    let base = body_base(db, file, path);
    let relative = offset.checked_sub(base)?;
    let check = check_body(db, file, path);
    let (span, ty) = check
        .types
        .iter()
        .filter(|(s, _)| s.start <= relative && relative < s.end)
        .min_by_key(|(s, _)| s.end - s.start)?;
    let span = span.shifted(i64::from(base));
    let text = file.text(db).get(span.range()).unwrap_or_default();
    let shown: String = if text.chars().count() > 60 || text.contains('\n') {
        let first: String = text.chars().take(57).collect();
        format!("{}…", first.lines().next().unwrap_or_default())
    } else {
        text.to_string()
    };
    Some(Hover {
        span,
        signature: format!("{shown}: {ty}"),
        doc: None,
    })
}

fn named_hover(analysis: &Analysis, file: SourceFile, offset: u32) -> Option<Hover> {
    let db = &analysis.db;
    let module = parse(db, file).module.clone();
    let text = file.text(db);
    let (hit, workflow) = find(&module, offset)?;
    match hit {
        Hit::ItemName(item) => Some(Hover {
            span: crate::scope::item_name_span(&item.kind)?,
            signature: render::item_signature(text, item),
            doc: item.doc.clone(),
        }),
        Hit::Variant(v, enum_name) => Some(Hover {
            span: v.name.span,
            signature: format!("{}.{}", enum_name.text, v.name.text),
            doc: v.doc.clone(),
        }),
        Hit::FieldDecl(f, role) => Some(field_hover(text, f.name.span, f, role)),
        Hit::RuleName(w, rule) => {
            let sets = analysis
                .rule_sets(&w.name.text)
                .and_then(|rules| rules.into_iter().find(|r| r.name == rule.name.text));
            let doc = sets.map(|s| {
                let list = |names: &std::collections::BTreeSet<String>| {
                    if names.is_empty() {
                        "nothing".to_string()
                    } else {
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                };
                format!("reads: {}\n\nwrites: {}", list(&s.reads), list(&s.writes))
            });
            Some(Hover {
                span: rule.name.span,
                signature: format!(
                    "rule {}",
                    text.get(rule.name.span.range()).unwrap_or_default()
                ),
                doc,
            })
        }
        Hit::LocalDecl(ident, body) => {
            let ty = local_type(db, file, body, ident);
            Some(Hover {
                span: ident.span,
                signature: match ty {
                    Some(ty) => format!("{}: {ty}", ident.text),
                    None => ident.text.clone(),
                },
                doc: None,
            })
        }
        Hit::ImportModule(import) => {
            let path: Vec<&str> = import.path.iter().map(|i| i.text.as_str()).collect();
            let span = import.path.first()?.span.to(import.path.last()?.span);
            symbol_hover(db, span, &Symbol::Module(path.join(".")))
        }
        Hit::ImportName(import, name) => {
            let path: Vec<&str> = import.path.iter().map(|i| i.text.as_str()).collect();
            let symbol = crate::scope::module_decl(db, &path.join("."), &name.text)?;
            symbol_hover(db, name.span, &symbol)
        }
        Hit::TypePath(path, index) => {
            let symbol = type_path_symbol(db, file, path, index)?;
            symbol_hover(db, path.get(index)?.span, &symbol)
        }
        Hit::Name {
            ident,
            local,
            body,
            started,
        } => {
            let span = ident.span;
            match resolve_name(db, file, workflow, local, started, &ident.text) {
                Some(Named::Local(_)) | None => {
                    let ty = recorded_type(db, file, body, span)?;
                    Some(Hover {
                        span,
                        signature: format!("{}: {ty}", ident.text),
                        doc: None,
                    })
                }
                Some(Named::Input(f)) => Some(field_hover(text, span, f, "input")),
                Some(Named::Fact(f)) => Some(field_hover(text, span, f, "fact")),
                Some(Named::Started(decl_file, f, role)) => {
                    Some(field_hover(decl_file.text(db), span, &f, role))
                }
                Some(Named::Symbol(symbol)) => symbol_hover(db, span, &symbol),
                Some(Named::Builtin(b)) => Some(builtin_hover(span, b)),
            }
        }
        Hit::Member {
            receiver,
            name,
            body,
        } => {
            let span = name.span;
            match resolve_member(db, file, workflow, receiver, &name.text, body)? {
                MemberOf::Builtin(b) => Some(builtin_hover(span, b)),
                MemberOf::ModuleDecl(symbol) => symbol_hover(db, span, &symbol),
                MemberOf::Variant(key) => {
                    let target = variant_target(db, &key, &name.text);
                    let doc = target.and_then(|_| {
                        let (file, index) = find_decl(db, &key)?;
                        match &parse(db, file).module.items.get(index)?.kind {
                            ItemKind::Enum(e) => e
                                .variants
                                .iter()
                                .find(|v| v.name.text == name.text)
                                .and_then(|v| v.doc.clone()),
                            _ => None,
                        }
                    });
                    Some(Hover {
                        span,
                        signature: format!("{}.{}", key.name, name.text),
                        doc,
                    })
                }
                MemberOf::RecordField(key, ty) => Some(Hover {
                    span,
                    signature: format!("{}.{}: {ty}", key.name, name.text),
                    doc: None,
                }),
            }
        }
        Hit::Mock { function, started } => {
            let symbol = mocked_function(db, file, started, &function.text)?;
            symbol_hover(db, function.span, &symbol)
        }
        Hit::SignalDecl(signal) => Some(signal_hover(text, signal.name.span, signal)),
        Hit::SignalSent { name, started } => {
            let (decl_file, signal) = sent_signal(db, file, started, &name.text)?;
            Some(signal_hover(decl_file.text(db), name.span, &signal))
        }
        Hit::Label { label, owner } => {
            let (decl_file, field, role) = label_decl(db, file, owner, &label.text)?;
            Some(field_hover(decl_file.text(db), label.span, &field, role))
        }
    }
}

/// A local's type where it is declared: the type recorded for its first use, or for
/// the value it is bound to.
pub(super) fn local_type(
    db: &dyn Db,
    file: SourceFile,
    body: Option<BodyPath>,
    ident: &Ident,
) -> Option<Type> {
    let body = body?;
    let base = body_base(db, file, body);
    let relative = ident.span.shifted(-i64::from(base));
    let check = check_body(db, file, body);
    let syntax = crate::body::body_syntax(db, file, body).as_ref()?;
    // The first expression after the declaration that names it.
    let uses = names_after(syntax, &ident.text, relative.end);
    uses.iter().find_map(|span| {
        check
            .types
            .iter()
            .find(|(s, _)| s == span)
            .map(|(_, t)| t.clone())
    })
}

fn names_after(syntax: &crate::body::BodySyntax, name: &str, after: u32) -> Vec<Span> {
    fn expr(e: &Expr, name: &str, after: u32, out: &mut Vec<Span>) {
        if let ExprKind::Name(i) = &e.kind
            && i.text == name
            && e.span.start >= after
        {
            out.push(e.span);
        }
        render::children(e, &mut |child| expr(child, name, after, out));
    }
    let mut out = Vec::new();
    match syntax {
        crate::body::BodySyntax::Block(b) => {
            render::block_exprs(b, &mut |e| expr(e, name, after, &mut out));
        }
        crate::body::BodySyntax::Test(stmts) => {
            for s in stmts {
                if let TestStmtKind::Stmt(stmt) = &s.kind {
                    render::stmt_exprs(stmt, &mut |e| expr(e, name, after, &mut out));
                } else if let TestStmtKind::Assert(e) = &s.kind {
                    expr(e, name, after, &mut out);
                }
            }
        }
    }
    out
}
