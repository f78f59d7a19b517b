//! Declarations as people read them in a hover (from the text as written), and small
//! walks over expressions.

use cosmos_syntax::ast::{Block, Expr, ExprKind, Item, ItemKind, MapKey, Stmt, StmtKind, StrPart};

fn slice(text: &str, start: u32, end: u32) -> &str {
    text.get(start as usize..end as usize).unwrap_or_default()
}

/// A declaration's signature: its header as written, without the body.
pub(super) fn item_signature(text: &str, item: &Item) -> String {
    let fields = |fields: &[cosmos_syntax::ast::Field]| {
        fields
            .iter()
            .map(|f| slice(text, f.span.start, f.span.end).to_string())
            .collect::<Vec<_>>()
    };
    match &item.kind {
        ItemKind::Function(d) => slice(text, item.span.start, d.ret.span.end).to_string(),
        ItemKind::Def(d) => slice(text, item.span.start, d.ret.span.end).to_string(),
        ItemKind::Type(d) => {
            let fields = fields(&d.fields);
            if fields.is_empty() {
                format!("type {} {{}}", d.name.text)
            } else {
                format!(
                    "type {} {{\n    {}\n}}",
                    d.name.text,
                    fields.join(",\n    ")
                )
            }
        }
        ItemKind::Enum(d) => {
            let names: Vec<&str> = d.variants.iter().map(|v| v.name.text.as_str()).collect();
            format!("enum {} {{ {} }}", d.name.text, names.join(", "))
        }
        ItemKind::Workflow(w) => format!("workflow {}", w.name.text),
        ItemKind::Test(t) => format!("test {}", slice(text, t.name.span.start, t.name.span.end)),
        ItemKind::Schedule(s) => format!(
            "schedule {}",
            slice(text, s.name.span.start, s.name.span.end)
        ),
        ItemKind::Import(_) => slice(text, item.span.start, item.span.end).to_string(),
    }
}

/// Calls `f` on each direct sub-expression of `e` (blocks included).
pub(super) fn children(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Duration { .. }
        | ExprKind::Name(_) => {}
        ExprKind::Str(s) => {
            for part in &s.parts {
                if let StrPart::Expr(e) = part {
                    f(e);
                }
            }
        }
        ExprKind::List(items) => items.iter().for_each(&mut *f),
        ExprKind::Map(entries) => {
            for entry in entries {
                if let MapKey::Expr(k) = &entry.key {
                    f(k);
                }
                f(&entry.value);
            }
        }
        ExprKind::Field { receiver, .. } => f(receiver),
        ExprKind::Call {
            callee,
            args,
            closure,
        } => {
            f(callee);
            args.iter().for_each(|a| f(&a.value));
            if let Some(c) = closure {
                block_exprs(&c.body, f);
            }
        }
        ExprKind::Index { receiver, index } => {
            f(receiver);
            f(index);
        }
        ExprKind::Unary { operand, .. } => f(operand),
        ExprKind::Chain { first, links } => {
            f(first);
            for link in links {
                f(&link.rhs);
            }
        }
        ExprKind::Ternary {
            cond,
            then,
            otherwise,
        } => {
            f(cond);
            f(then);
            f(otherwise);
        }
        ExprKind::If {
            branches,
            otherwise,
        } => {
            for branch in branches {
                f(&branch.cond);
                block_exprs(&branch.then, f);
            }
            if let Some(b) = otherwise {
                block_exprs(b, f);
            }
        }
        ExprKind::Paren(inner) => f(inner),
    }
}

/// Calls `f` on each top-level expression of a block's statements.
pub(super) fn block_exprs(block: &Block, f: &mut dyn FnMut(&Expr)) {
    for stmt in &block.stmts {
        stmt_exprs(stmt, f);
    }
}

pub(super) fn stmt_exprs(stmt: &Stmt, f: &mut dyn FnMut(&Expr)) {
    match &stmt.kind {
        StmtKind::Let { value, .. } => f(value),
        StmtKind::Assign { target, value, .. } => {
            f(target);
            f(value);
        }
        StmtKind::For { iter, body, .. } => {
            f(iter);
            block_exprs(body, f);
        }
        StmtKind::Return(value) => {
            if let Some(v) = value {
                f(v);
            }
        }
        StmtKind::Expr(e) => f(e),
    }
}
