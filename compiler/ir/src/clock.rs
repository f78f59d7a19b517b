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

use crate::{BinOp, Block, Expr, ExprKind, Function, Place, PlaceStep, Program, Span, Stmt};
use std::collections::BTreeSet;

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

/// Whether `f` calls `now()` anywhere, in its own body or in a helper it calls
/// (directly or not) of `program`.
pub fn reads_now(program: &Program, f: &Function) -> bool {
    Walk {
        program,
        seen: BTreeSet::new(),
    }
    .function(f)
}

/// Whether the expression `e` (a default, say) calls `now()`, itself or through a
/// helper of `program`.
pub fn expr_reads_now(program: &Program, e: &Expr) -> bool {
    Walk {
        program,
        seen: BTreeSet::new(),
    }
    .expr(e)
}

struct Walk<'p> {
    program: &'p Program,
    /// Helpers already looked at (recursion ends there).
    seen: BTreeSet<u32>,
}

impl Walk<'_> {
    fn function(&mut self, f: &Function) -> bool {
        self.block(&f.body) || f.defaults.iter().flatten().any(|d| self.expr(d))
    }

    fn block(&mut self, b: &Block) -> bool {
        b.stmts.iter().any(|s| self.stmt(s)) || b.value.as_deref().is_some_and(|e| self.expr(e))
    }

    fn place(&mut self, p: &Place) -> bool {
        p.path.iter().any(|step| match step {
            PlaceStep::Field(_) => false,
            PlaceStep::Index { index, .. } => self.expr(index),
            PlaceStep::Key(k) => self.expr(k),
        })
    }

    fn stmt(&mut self, s: &Stmt) -> bool {
        match s {
            Stmt::Set(_, e) | Stmt::Return(e) | Stmt::Expr(e) | Stmt::Log(e) | Stmt::Fail(e) => {
                self.expr(e)
            }
            Stmt::Assign { place: p, value }
            | Stmt::Append { place: p, value }
            | Stmt::Update {
                place: p, value, ..
            } => self.place(p) || self.expr(value),
            Stmt::If {
                cond,
                then,
                otherwise,
            } => self.expr(cond) || self.block(then) || self.block(otherwise),
            Stmt::ForEach { list, body, .. } => self.expr(list) || self.block(body),
            Stmt::Complete(e) | Stmt::Retry(e) => e.as_ref().is_some_and(|e| self.expr(e)),
        }
    }

    fn exprs<'e>(&mut self, xs: impl IntoIterator<Item = &'e Expr>) -> bool {
        xs.into_iter().any(|x| self.expr(x))
    }

    fn expr(&mut self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Now => true,
            ExprKind::Const(_)
            | ExprKind::Local(_)
            | ExprKind::EnumValue { .. }
            | ExprKind::Input(_)
            | ExprKind::Fact(_) => false,
            ExprKind::Field { base, .. } => self.expr(base),
            ExprKind::IfNotNull { value, then, .. } => self.expr(value) || self.expr(then),
            ExprKind::Elvis { value, otherwise } => self.expr(value) || self.expr(otherwise),
            ExprKind::Unary { operand, .. } => self.expr(operand),
            ExprKind::IntToFloat(x) | ExprKind::Sleep(x) | ExprKind::Settle(x) => self.expr(x),
            ExprKind::EnumValueOf { name, .. } => self.expr(name),
            ExprKind::Binary { lhs, rhs, .. } => self.expr(lhs) || self.expr(rhs),
            ExprKind::And(a, b) | ExprKind::Or(a, b) => self.expr(a) || self.expr(b),
            ExprKind::Range { from, to, .. } => self.expr(from) || self.expr(to),
            ExprKind::Format(xs) | ExprKind::List(xs) => self.exprs(xs),
            ExprKind::Builtin { args, .. } | ExprKind::Call { args, .. } => self.exprs(args),
            ExprKind::Child { args, .. } => self.exprs(args.iter().flatten()),
            ExprKind::Map(entries) => entries.iter().any(|(k, v)| self.expr(k) || self.expr(v)),
            ExprKind::Record { fields, .. } => self.exprs(fields.iter().flatten()),
            ExprKind::CallHelper { helper, args, .. } => {
                if self.exprs(args.iter().flatten()) {
                    return true;
                }
                if !self.seen.insert(helper.0) {
                    return false;
                }
                let program = self.program;
                program
                    .helpers
                    .get(helper.0 as usize)
                    .is_some_and(|f| self.function(f))
            }
            ExprKind::Index { list, index, .. } => self.expr(list) || self.expr(index),
            ExprKind::MapGet { map, key } => self.expr(map) || self.expr(key),
            ExprKind::Loop { source, body, .. } => self.expr(source) || self.block(body),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => self.expr(cond) || self.block(then) || self.block(otherwise),
            ExprKind::Block(b) => self.block(b),
        }
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
