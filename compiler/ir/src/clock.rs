//! Time in a `match` (LANGUAGE.md 10.1): which bodies read `now()`, and the
//! comparisons of `now()` with a threshold that one evaluation of a `match` made.
//!
//! The checker allows `now()` in a `match` only as one side of `<`, `<=`, `>` or `>=`
//! whose other side is a `Time` not calling `now()`, so the IR of such a comparison
//! is a [`ExprKind::Binary`] with [`ExprKind::Now`] as one operand. Evaluating a
//! `match` with [`crate::interp::run_watching_now`] records each such comparison it
//! evaluated as a [`Crossing`]: the other side's value, whether the comparison held,
//! and the first time at which it would not give the same answer. With the facts
//! unchanged, the match's value can change only at one of those times, so the runtime
//! keeps one wake-up at the earliest of them that is still in the future.

use crate::{BinOp, Block, Expr, ExprKind, Function, Place, PlaceStep, Span, Stmt};

/// One comparison of `now()` with a threshold, as one evaluation of a `match` saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crossing {
    /// The other side's value (milliseconds since the epoch).
    pub threshold: i64,
    /// Whether the comparison held at the evaluation's `now()`.
    pub holds: bool,
    /// The first time at which the comparison gives the other answer than it gives
    /// at `threshold - 1`: `threshold` for `now() >= t` and `now() < t`, one
    /// millisecond later for `now() > t` and `now() <= t`.
    pub flips_at: i64,
    /// The comparison's span in its source.
    pub span: Span,
}

impl Crossing {
    /// The crossing of `lhs op rhs` where one side is `now()` (`now_left` says which)
    /// and the other is `threshold`; `None` for an operator that is not an ordering.
    pub fn of(op: BinOp, now_left: bool, threshold: i64, holds: bool, span: Span) -> Option<Self> {
        // `t op now()` is `now() op' t` with the operator mirrored.
        let op = if now_left {
            op
        } else {
            match op {
                BinOp::Lt => BinOp::Gt,
                BinOp::Le => BinOp::Ge,
                BinOp::Gt => BinOp::Lt,
                BinOp::Ge => BinOp::Le,
                other => other,
            }
        };
        let flips_at = match op {
            BinOp::Ge | BinOp::Lt => threshold,
            BinOp::Gt | BinOp::Le => threshold.saturating_add(1),
            _ => return None,
        };
        Some(Crossing {
            threshold,
            holds,
            flips_at,
            span,
        })
    }
}

/// Whether `f` calls `now()` anywhere.
pub fn reads_now(f: &Function) -> bool {
    block(&f.body) || f.defaults.iter().flatten().any(expr)
}

fn block(b: &Block) -> bool {
    b.stmts.iter().any(stmt) || b.value.as_deref().is_some_and(expr)
}

fn place(p: &Place) -> bool {
    p.path.iter().any(|step| match step {
        PlaceStep::Field(_) => false,
        PlaceStep::Index { index, .. } => expr(index),
        PlaceStep::Key(k) => expr(k),
    })
}

fn stmt(s: &Stmt) -> bool {
    match s {
        Stmt::Set(_, e) | Stmt::Return(e) | Stmt::Expr(e) | Stmt::Log(e) | Stmt::Fail(e) => expr(e),
        Stmt::Assign { place: p, value }
        | Stmt::Append { place: p, value }
        | Stmt::Update {
            place: p, value, ..
        } => place(p) || expr(value),
        Stmt::If {
            cond,
            then,
            otherwise,
        } => expr(cond) || block(then) || block(otherwise),
        Stmt::ForEach { list, body, .. } => expr(list) || block(body),
        Stmt::Complete(e) | Stmt::Retry(e) => e.as_ref().is_some_and(expr),
    }
}

/// Whether `e` calls `now()` anywhere.
pub fn expr(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Now => true,
        ExprKind::Const(_)
        | ExprKind::Local(_)
        | ExprKind::EnumValue { .. }
        | ExprKind::Input(_)
        | ExprKind::Fact(_) => false,
        ExprKind::Field { base, .. } => expr(base),
        ExprKind::IfNotNull { value, then, .. } => expr(value) || expr(then),
        ExprKind::Elvis { value, otherwise } => expr(value) || expr(otherwise),
        ExprKind::Unary { operand, .. } => expr(operand),
        ExprKind::IntToFloat(x) | ExprKind::Sleep(x) | ExprKind::Settle(x) => expr(x),
        ExprKind::EnumValueOf { name, .. } => expr(name),
        ExprKind::Binary { lhs, rhs, .. } => expr(lhs) || expr(rhs),
        ExprKind::And(a, b) | ExprKind::Or(a, b) => expr(a) || expr(b),
        ExprKind::Range { from, to, .. } => expr(from) || expr(to),
        ExprKind::Format(xs) | ExprKind::List(xs) => xs.iter().any(expr),
        ExprKind::Builtin { args, .. } | ExprKind::Call { args, .. } => args.iter().any(expr),
        ExprKind::Map(entries) => entries.iter().any(|(k, v)| expr(k) || expr(v)),
        ExprKind::Record { fields, .. } => fields.iter().flatten().any(expr),
        ExprKind::CallHelper { args, .. } => args.iter().flatten().any(expr),
        ExprKind::Index { list, index, .. } => expr(list) || expr(index),
        ExprKind::MapGet { map, key } => expr(map) || expr(key),
        ExprKind::Loop { source, body, .. } => expr(source) || block(body),
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => expr(cond) || block(then) || block(otherwise),
        ExprKind::Block(b) => block(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ordering_flips_where_its_answer_changes() {
        let span = Span::default();
        let at = |op, now_left| Crossing::of(op, now_left, 100, false, span).map(|c| c.flips_at);
        // now() >= 100 is true from 100; now() > 100 from 101.
        assert_eq!(at(BinOp::Ge, true), Some(100));
        assert_eq!(at(BinOp::Gt, true), Some(101));
        // now() < 100 is false from 100; now() <= 100 from 101.
        assert_eq!(at(BinOp::Lt, true), Some(100));
        assert_eq!(at(BinOp::Le, true), Some(101));
        // 100 <= now() is now() >= 100; 100 < now() is now() > 100.
        assert_eq!(at(BinOp::Le, false), Some(100));
        assert_eq!(at(BinOp::Lt, false), Some(101));
        assert_eq!(at(BinOp::Ge, false), Some(101));
        assert_eq!(at(BinOp::Gt, false), Some(100));
        assert_eq!(at(BinOp::Eq, true), None);
    }
}
