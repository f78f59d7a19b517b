//! Inlay hints: the inferred type of each `def` local written without one, and the
//! type of `result` at the start of a reaction, both from the checker's records.
//! Bodies' syntax and the checker's spans are body-relative; hints are absolute.

use crate::bodies::{action_result, body_info, check_body};
use crate::body::{BodySyntax, bodies, body_base, body_syntax};
use crate::check::BodyKind;
use crate::db::{Db, SourceFile, parse};
use cosmos_diagnostics::Span;
use cosmos_syntax::ast::{Block, Expr, ExprKind, Stmt, StmtKind, TestStmtKind};

/// A type shown in the text at `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlayHint {
    pub offset: u32,
    /// Such as `: Int`, or `result: Inspection` in a reaction.
    pub label: String,
}

/// Each `def x = value` without a type: the name and the value's span.
fn untyped_lets(block: &Block, out: &mut Vec<(Span, Span)>) {
    for stmt in &block.stmts {
        stmt_lets(stmt, out);
    }
}

fn stmt_lets(stmt: &Stmt, out: &mut Vec<(Span, Span)>) {
    match &stmt.kind {
        StmtKind::Let { name, ty, value } => {
            if ty.is_none() {
                out.push((name.span, value.span));
            }
            expr_lets(value, out);
        }
        StmtKind::For { body, iter, .. } => {
            expr_lets(iter, out);
            untyped_lets(body, out);
        }
        StmtKind::Assign { value, .. } => expr_lets(value, out),
        StmtKind::Return(Some(e)) | StmtKind::Expr(e) => expr_lets(e, out),
        StmtKind::Return(None) => {}
    }
}

/// Lets inside blocks nested in an expression: `if` branches and closures.
fn expr_lets(expr: &Expr, out: &mut Vec<(Span, Span)>) {
    match &expr.kind {
        ExprKind::If {
            branches,
            otherwise,
        } => {
            for branch in branches {
                untyped_lets(&branch.then, out);
            }
            if let Some(b) = otherwise {
                untyped_lets(b, out);
            }
        }
        ExprKind::Call { args, closure, .. } => {
            args.iter().for_each(|a| expr_lets(&a.value, out));
            if let Some(c) = closure {
                untyped_lets(&c.body, out);
            }
        }
        ExprKind::Paren(inner) => expr_lets(inner, out),
        _ => {}
    }
}

pub(super) fn inlay_hints(db: &dyn Db, file: SourceFile, within: Span) -> Vec<InlayHint> {
    let module = parse(db, file).module.clone();
    let mut out = Vec::new();
    // An editor asks for the lines on screen: only the declarations that reach them
    // are looked at, so the cost follows the range, not the file.
    let visible = |span: Span| span.start <= within.end && within.start <= span.end;
    for path in bodies(&module) {
        if !module
            .items
            .get(path.item() as usize)
            .is_some_and(|item| visible(item.span))
        {
            continue;
        }
        let Some(syntax) = body_syntax(db, file, path) else {
            continue;
        };
        let base = body_base(db, file, path);
        let mut lets = Vec::new();
        match &syntax {
            BodySyntax::Block(block) => {
                untyped_lets(block, &mut lets);
            }
            BodySyntax::Test(stmts) => {
                for s in stmts {
                    if let TestStmtKind::Stmt(stmt) = &s.kind {
                        stmt_lets(stmt, &mut lets);
                    }
                }
            }
        }
        let info = body_info(db, file, path);
        if let (Some(info), BodySyntax::Block(block)) = (info, &syntax)
            && info.kind == BodyKind::Reaction
            && let Some(action) = info.sibling
        {
            let ty = action_result(db, file, action);
            if !ty.is_error() {
                out.push(InlayHint {
                    offset: base + block.span.start + 1,
                    label: format!("result: {ty}"),
                });
            }
        }
        if lets.is_empty() {
            continue;
        }
        let check = check_body(db, file, path);
        for (name, value) in lets {
            // The body's syntax and the checker's records are both body-relative.
            let ty = check
                .types
                .iter()
                .rev()
                .find(|(s, _)| *s == value)
                .map(|(_, t)| t);
            if let Some(ty) = ty
                && !ty.is_error()
            {
                out.push(InlayHint {
                    offset: base + name.end,
                    label: format!(": {ty}"),
                });
            }
        }
    }
    out.retain(|h| within.start <= h.offset && h.offset <= within.end);
    out.sort_by_key(|h| h.offset);
    out
}
