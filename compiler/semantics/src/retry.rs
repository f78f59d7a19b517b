//! What a function's `retry` policy may say (LANGUAGE.md 10.3), shared by the
//! declaration checks (`items/retry.rs`) and lowering: its argument names and the
//! error kinds its `on` list may name.

use cosmos_syntax::ast;

/// The arguments of `retry`, in the order the language states them.
pub(crate) const ARGUMENTS: [&str; 5] = ["attempts", "delay", "factor", "max", "on"];

/// The members of `std.core`'s `ErrorKind` a policy may retry on.
pub(crate) const ERROR_KINDS: [&str; 4] = ["FAILED", "TIMEOUT", "BAD_OUTPUT", "CRASHED"];

/// One element of an `on` list as written.
pub(crate) enum OnKind<'a> {
    /// A member of `ErrorKind`, bare (`FAILED`) or qualified (`ErrorKind.FAILED`).
    Known(&'static str),
    /// A name that is no member of `ErrorKind`.
    Unknown(&'a ast::Ident),
    /// Something that is not a name of an error kind at all.
    NotAKind(&'a ast::Expr),
}

/// The elements of an `on` value, or `None` when it is not a list literal.
pub(crate) fn on_kinds(value: &ast::Expr) -> Option<Vec<OnKind<'_>>> {
    let ast::ExprKind::List(items) = &peel(value).kind else {
        return None;
    };
    Some(items.iter().map(on_kind).collect())
}

fn on_kind(item: &ast::Expr) -> OnKind<'_> {
    let name = match &peel(item).kind {
        ast::ExprKind::Name(name) => name,
        ast::ExprKind::Field {
            receiver,
            name,
            safe: false,
        } if matches!(&peel(receiver).kind, ast::ExprKind::Name(n) if n.text == "ErrorKind") => {
            name
        }
        _ => return OnKind::NotAKind(item),
    };
    match ERROR_KINDS.iter().find(|k| **k == name.text) {
        Some(kind) => OnKind::Known(kind),
        None => OnKind::Unknown(name),
    }
}

fn peel(mut e: &ast::Expr) -> &ast::Expr {
    while let ast::ExprKind::Paren(inner) = &e.kind {
        e = inner;
    }
    e
}
