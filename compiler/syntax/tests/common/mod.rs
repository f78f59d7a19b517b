//! Test helpers: parse snippets and print expressions as compact S-expressions so
//! that tests can state a tree's shape in one line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers may fail loudly.
#![allow(dead_code)]

use cosmos_syntax::ast::*;
use cosmos_syntax::{SyntaxError, parse};

/// Parses `text` and fails the test on any syntax error.
pub fn parse_ok(text: &str) -> Module {
    let (module, errors) = parse(text);
    let messages: Vec<String> = errors.iter().map(|e| describe(text, e)).collect();
    assert!(messages.is_empty(), "{text}\n{messages:#?}");
    module
}

pub fn describe(text: &str, error: &SyntaxError) -> String {
    format!(
        "{} at {}..{} {:?}",
        error.message(),
        error.span.start,
        error.span.end,
        text.get(error.span.range()).unwrap_or("?")
    )
}

/// The statements of the body of `def f(): Int { <body> }`.
pub fn stmts(body: &str) -> Vec<Stmt> {
    let module = parse_ok(&format!("def f(): Int {{\n{body}\n}}\n"));
    match module.items.into_iter().next().map(|i| i.kind) {
        Some(ItemKind::Def(def)) => def.body.stmts,
        other => panic!("not a def: {other:?}"),
    }
}

/// The statements printed one per entry.
pub fn stmts_sexp(body: &str) -> Vec<String> {
    stmts(body).iter().map(stmt_sexp).collect()
}

/// The one expression statement of `body`, printed.
pub fn expr_sexp(src: &str) -> String {
    let all = stmts_sexp(src);
    assert_eq!(all.len(), 1, "{src}: {all:?}");
    all.into_iter().next().unwrap()
}

/// The one expression of `src`, as a tree.
pub fn expr(src: &str) -> Expr {
    match stmts(src).into_iter().next().map(|s| s.kind) {
        Some(StmtKind::Expr(e)) => e,
        other => panic!("not an expression: {other:?}"),
    }
}

pub fn block_sexp(block: &Block) -> String {
    let inner: Vec<String> = block.stmts.iter().map(stmt_sexp).collect();
    if block.braced {
        format!("{{{}}}", inner.join("; "))
    } else {
        inner.join("; ")
    }
}

pub fn stmt_sexp(stmt: &Stmt) -> String {
    match &stmt.kind {
        StmtKind::Let { name, ty, value } => match ty {
            Some(ty) => format!("(def {}: {} {})", name.text, type_sexp(ty), sexp(value)),
            None => format!("(def {} {})", name.text, sexp(value)),
        },
        StmtKind::Assign {
            target, op, value, ..
        } => {
            let op = match op {
                AssignOp::Set => "=",
                AssignOp::Add => "+=",
                AssignOp::Sub => "-=",
                AssignOp::Mul => "*=",
                AssignOp::Div => "/=",
                AssignOp::Append => "<<",
            };
            format!("({op} {} {})", sexp(target), sexp(value))
        }
        StmtKind::For { var, iter, body } => {
            format!("(for {} {} {})", var.text, sexp(iter), block_sexp(body))
        }
        StmtKind::Return(Some(e)) => format!("(return {})", sexp(e)),
        StmtKind::Return(None) => "(return)".to_string(),
        StmtKind::Expr(e) => sexp(e),
    }
}

pub fn type_sexp(ty: &TypeRef) -> String {
    match &ty.kind {
        TypeRefKind::Named { path, args } => {
            let path: Vec<&str> = path.iter().map(|i| i.text.as_str()).collect();
            if args.is_empty() {
                path.join(".")
            } else {
                let args: Vec<String> = args.iter().map(type_sexp).collect();
                format!("{}<{}>", path.join("."), args.join(", "))
            }
        }
        TypeRefKind::Optional(inner) => format!("{}?", type_sexp(inner)),
    }
}

pub fn str_sexp(lit: &StrLit) -> String {
    let parts: Vec<String> = lit
        .parts
        .iter()
        .map(|p| match p {
            StrPart::Text(t) => format!("{t:?}"),
            StrPart::Expr(e) => format!("${{{}}}", sexp(e)),
        })
        .collect();
    format!("(str {})", parts.join(" "))
}

pub fn sexp(expr: &Expr) -> String {
    match &expr.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(f) => format!("{:?}", f.0),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Null => "null".to_string(),
        ExprKind::Str(lit) => str_sexp(lit),
        ExprKind::Duration { amount, unit } => match amount {
            Number::Int(v) => format!("{v}.{}", unit.suffix()),
            Number::Float(f) => format!("{:?}.{}", f.0, unit.suffix()),
        },
        ExprKind::List(items) => {
            let items: Vec<String> = items.iter().map(sexp).collect();
            format!("[{}]", items.join(" "))
        }
        ExprKind::Map(entries) => {
            if entries.is_empty() {
                return "[:]".to_string();
            }
            let entries: Vec<String> = entries
                .iter()
                .map(|e| {
                    let key = match &e.key {
                        MapKey::Name(name) => format!("'{}", name.text),
                        MapKey::Expr(k) => sexp(k),
                    };
                    format!("{key}: {}", sexp(&e.value))
                })
                .collect();
            format!("[{}]", entries.join(", "))
        }
        ExprKind::Name(name) => name.text.clone(),
        ExprKind::Field {
            receiver,
            name,
            safe,
        } => format!(
            "({} {} {})",
            if *safe { "?." } else { "." },
            sexp(receiver),
            name.text
        ),
        ExprKind::Call {
            callee,
            args,
            closure,
        } => {
            let mut parts = vec![sexp(callee)];
            for arg in args {
                match &arg.name {
                    Some(name) => parts.push(format!("{}: {}", name.text, sexp(&arg.value))),
                    None => parts.push(sexp(&arg.value)),
                }
            }
            if let Some(closure) = closure {
                let params: Vec<&str> = closure.params.iter().map(|p| p.text.as_str()).collect();
                if params.is_empty() {
                    parts.push(format!(
                        "{{{}}}",
                        block_sexp(&closure.body).trim_matches(['{', '}'])
                    ));
                } else {
                    parts.push(format!(
                        "{{{} -> {}}}",
                        params.join(", "),
                        block_sexp(&closure.body).trim_matches(['{', '}'])
                    ));
                }
            }
            format!("(call {})", parts.join(" "))
        }
        ExprKind::Index { receiver, index } => format!("(idx {} {})", sexp(receiver), sexp(index)),
        ExprKind::Unary { op, operand } => {
            let op = match op {
                UnaryOp::Not => "!",
                UnaryOp::Neg => "neg",
            };
            format!("({op} {})", sexp(operand))
        }
        // A chain reads as the left-nested tree it stands for.
        ExprKind::Chain { first, links } => links.iter().fold(sexp(first), |acc, link| {
            format!("({} {acc} {})", link.op.symbol(), sexp(&link.rhs))
        }),
        ExprKind::Ternary {
            cond,
            then,
            otherwise,
        } => format!("(? {} {} {})", sexp(cond), sexp(then), sexp(otherwise)),
        // An `else if` chain reads as the nested `if`s it stands for.
        ExprKind::If {
            branches,
            otherwise,
        } => {
            let last = otherwise
                .as_ref()
                .map(|b| format!(" else {}", block_sexp(b)))
                .unwrap_or_default();
            branches.iter().rev().fold(last, |rest, branch| {
                let nested = format!(
                    "(if {} {}{rest})",
                    sexp(&branch.cond),
                    block_sexp(&branch.then)
                );
                if std::ptr::eq(branch, &branches[0]) {
                    nested
                } else {
                    format!(" else {nested}")
                }
            })
        }
        ExprKind::Paren(inner) => format!("(paren {})", sexp(inner)),
    }
}
