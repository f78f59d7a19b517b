//! Lowering chains — `a + b + c …`, `a && b && …`, `if … else if … else …` — so that
//! the IR's depth does not grow with their length (docs/architecture.md,
//! "Invariants"): the interpreter, the JIT and the bundle's decoder all recurse over
//! the IR, and a chain may be 100,000 links long.
//!
//! A short chain lowers to nested operations, as the tree it stands for would; a
//! longer one becomes a sequence of statements over slots (`$chain = $chain + x`),
//! `&&` and `||` chains become a balanced tree (both are associative, and a balanced
//! tree evaluates and short-circuits its operands in the same order), and a long
//! `else if` chain becomes a row of `if`s guarded by a flag.

use super::body::{BodyLower, Lowered};
use super::expr::{b, e};
use crate::types::Type;
use cosmos_diagnostics::Span;
use cosmos_ir as ir;
use cosmos_syntax::ast::{self, BinaryOp, IfBranch, Link, chain_prefix_span};

/// Chains with at most this many links lower to nested operations.
const NESTED_LINKS: usize = 2;

/// `else if` chains with at most this many branches (and an `else`) lower to
/// nested `if`s.
const NESTED_BRANCHES: usize = 2;

impl BodyLower<'_, '_> {
    /// An operator chain whose whole value has type `ty`.
    pub(super) fn chain(
        &mut self,
        first: &ast::Expr,
        links: &[Link],
        ty: ir::Ty,
    ) -> Lowered<ir::Expr> {
        if links
            .first()
            .is_some_and(|l| matches!(l.op, BinaryOp::And | BinaryOp::Or))
        {
            return self.logical_chain(first, links);
        }
        let mut acc = self.expr(first)?;
        let sequence = links.len() > NESTED_LINKS;
        let mut stmts = Vec::new();
        let mut slot: Option<(ir::Slot, ir::Ty)> = None;
        for (index, link) in links.iter().enumerate() {
            let span = chain_prefix_span(first, links, index);
            let last = index + 1 == links.len();
            let r = self.expr(&link.rhs)?;
            let prefix_ty = if last {
                ty.clone()
            } else {
                self.prefix_ty(span, link.op, &acc.ty, &r.ty)?
            };
            let value = self.binary(link.op, acc, r, prefix_ty, span)?;
            if last || !sequence {
                acc = value;
                continue;
            }
            let value_ty = value.ty.clone();
            let target = match &slot {
                Some((s, t)) if *t == value_ty => *s,
                _ => {
                    let s = self.new_slot("$chain", value_ty.clone());
                    slot = Some((s, value_ty.clone()));
                    s
                }
            };
            stmts.push(ir::Stmt::Set(target, value));
            acc = e(ir::ExprKind::Local(target), value_ty);
        }
        if stmts.is_empty() {
            return Ok(acc);
        }
        let value_ty = acc.ty.clone();
        Ok(e(
            ir::ExprKind::Block(Box::new(ir::Block {
                stmts,
                value: Some(b(acc)),
            })),
            value_ty,
        ))
    }

    /// The type of a chain's prefix: the checker's, or (in a constant, which the
    /// checker types only as a whole) the type its operation produces.
    fn prefix_ty(&self, span: Span, op: BinaryOp, l: &ir::Ty, r: &ir::Ty) -> Lowered<ir::Ty> {
        if let Some(t) = self.types.get(&span) {
            return self.ir_ty(span, t);
        }
        use ir::BinOp as B;
        Ok(match op {
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::And
            | BinaryOp::Or => ir::Ty::Bool,
            BinaryOp::Range | BinaryOp::RangeExclusive => ir::Ty::List(Box::new(ir::Ty::Int)),
            _ if *l == ir::Ty::String => ir::Ty::String,
            _ => match super::expr::arith_op(op, l, r) {
                Some(B::IntAdd | B::IntSub | B::IntMul | B::IntDiv | B::IntRem) => ir::Ty::Int,
                Some(B::FloatAdd | B::FloatSub | B::FloatMul | B::FloatDiv | B::FloatRem) => {
                    ir::Ty::Float
                }
                Some(
                    B::DurationAdd
                    | B::DurationSub
                    | B::DurationMulInt
                    | B::DurationDivInt
                    | B::TimeSub,
                ) => ir::Ty::Duration,
                Some(B::TimeAddDuration | B::TimeSubDuration) => ir::Ty::Time,
                _ => l.clone(),
            },
        })
    }

    /// `a && b && …` or `a || b || …`.
    fn logical_chain(&mut self, first: &ast::Expr, links: &[Link]) -> Lowered<ir::Expr> {
        let and = links.first().is_some_and(|l| l.op == BinaryOp::And);
        let join = |l: ir::Expr, r: ir::Expr| {
            if and {
                e(ir::ExprKind::And(b(l), b(r)), ir::Ty::Bool)
            } else {
                e(ir::ExprKind::Or(b(l), b(r)), ir::Ty::Bool)
            }
        };
        let mut operands = Vec::with_capacity(links.len() + 1);
        operands.push(self.expr(first)?);
        for link in links {
            operands.push(self.expr(&link.rhs)?);
        }
        if links.len() <= NESTED_LINKS {
            let mut operands = operands.into_iter();
            let Some(mut acc) = operands.next() else {
                return self.unsupported(first.span, "an empty chain");
            };
            for r in operands {
                acc = join(acc, r);
            }
            return Ok(acc);
        }
        // Pair neighbours until one is left: depth log₂ of the length.
        while operands.len() > 1 {
            let mut next = Vec::with_capacity(operands.len().div_ceil(2));
            let mut row = operands.into_iter();
            while let Some(l) = row.next() {
                next.push(match row.next() {
                    Some(r) => join(l, r),
                    None => l,
                });
            }
            operands = next;
        }
        match operands.pop() {
            Some(x) => Ok(x),
            None => self.unsupported(first.span, "an empty chain"),
        }
    }

    /// `if … else if … else …` as a value of type `ty`, with more than one branch.
    pub(super) fn if_chain_value(
        &mut self,
        branches: &[IfBranch],
        otherwise: &ast::Block,
        ty: ir::Ty,
    ) -> Lowered<ir::Expr> {
        if branches.len() <= NESTED_BRANCHES {
            // Lowered in source order (slots are numbered as they are met), then
            // nested from the last branch outwards.
            let mut lowered = Vec::with_capacity(branches.len());
            for branch in branches {
                let cond = self.expr(&branch.cond)?;
                lowered.push((cond, self.block(&branch.then, true)?));
            }
            let mut rest = self.block(otherwise, true)?;
            for (cond, then) in lowered.into_iter().rev() {
                let value = e(
                    ir::ExprKind::If {
                        cond: b(cond),
                        then: Box::new(then),
                        otherwise: Box::new(rest),
                    },
                    ty.clone(),
                );
                rest = ir::Block {
                    stmts: Vec::new(),
                    value: Some(b(value)),
                };
            }
            return match rest.value {
                Some(value) => Ok(*value),
                None => self.unsupported(otherwise.span, "this `if`"),
            };
        }
        let result = self.new_slot("$if", ty.clone());
        let stmts = self.guarded_branches(branches, Some(otherwise), Some(result))?;
        Ok(e(
            ir::ExprKind::Block(Box::new(ir::Block {
                stmts,
                value: Some(b(e(ir::ExprKind::Local(result), ty.clone()))),
            })),
            ty,
        ))
    }

    /// `if … else if … [else …]` as a statement.
    pub(super) fn if_chain_stmt(
        &mut self,
        branches: &[IfBranch],
        otherwise: Option<&ast::Block>,
        out: &mut Vec<ir::Stmt>,
    ) -> Lowered<()> {
        if branches.len() <= NESTED_BRANCHES {
            let mut lowered = Vec::with_capacity(branches.len());
            for branch in branches {
                let cond = self.expr(&branch.cond)?;
                lowered.push((cond, self.block(&branch.then, false)?));
            }
            let mut rest = match otherwise {
                Some(block) => self.block(block, false)?,
                None => ir::Block::default(),
            };
            for (index, (cond, then)) in lowered.into_iter().enumerate().rev() {
                let stmt = ir::Stmt::If {
                    cond,
                    then,
                    otherwise: rest,
                };
                if index == 0 {
                    out.push(stmt);
                    return Ok(());
                }
                rest = ir::Block {
                    stmts: vec![stmt],
                    value: None,
                };
            }
            return Ok(());
        }
        let stmts = self.guarded_branches(branches, otherwise, None)?;
        out.extend(stmts);
        Ok(())
    }

    /// A row of `if`s, one per branch, each guarded by a flag that the branch taken
    /// sets; a branch's value goes to `result` when there is one.
    fn guarded_branches(
        &mut self,
        branches: &[IfBranch],
        otherwise: Option<&ast::Block>,
        result: Option<ir::Slot>,
    ) -> Lowered<Vec<ir::Stmt>> {
        let want = result.is_some();
        let done = self.new_slot("$taken", ir::Ty::Bool);
        let flag = |v: bool| {
            ir::Stmt::Set(
                done,
                e(ir::ExprKind::Const(ir::Const::Bool(v)), ir::Ty::Bool),
            )
        };
        let not_done = || {
            e(
                ir::ExprKind::Unary {
                    op: ir::UnOp::Not,
                    operand: b(e(ir::ExprKind::Local(done), ir::Ty::Bool)),
                    span: ir::Span::default(),
                },
                ir::Ty::Bool,
            )
        };
        let mut stmts = vec![flag(false)];
        for (index, branch) in branches.iter().enumerate() {
            let cond = self.expr(&branch.cond)?;
            let cond = if index == 0 {
                cond
            } else {
                e(ir::ExprKind::And(b(not_done()), b(cond)), ir::Ty::Bool)
            };
            let mut then = self.block(&branch.then, want)?;
            store_value(&mut then, result);
            then.stmts.push(flag(true));
            stmts.push(ir::Stmt::If {
                cond,
                then,
                otherwise: ir::Block::default(),
            });
        }
        if let Some(block) = otherwise {
            let mut last = self.block(block, want)?;
            store_value(&mut last, result);
            stmts.push(ir::Stmt::If {
                cond: not_done(),
                then: last,
                otherwise: ir::Block::default(),
            });
        }
        Ok(stmts)
    }

    /// The type of an `if` the checker recorded no type for (in a constant): its
    /// branches' types joined.
    pub(super) fn if_type(
        &self,
        branches: &[IfBranch],
        otherwise: Option<&ast::Block>,
    ) -> Lowered<Option<Type>> {
        let Some(otherwise) = otherwise else {
            return Ok(None);
        };
        let mut t = self.block_type(otherwise)?;
        for branch in branches {
            let a = self.block_type(&branch.then)?;
            t = a.join(&t).unwrap_or(a);
        }
        Ok(Some(t))
    }
}

/// Moves a block's value into `result`, as a statement.
fn store_value(block: &mut ir::Block, result: Option<ir::Slot>) {
    if let (Some(slot), Some(value)) = (result, block.value.take()) {
        block.stmts.push(ir::Stmt::Set(slot, *value));
    }
}
