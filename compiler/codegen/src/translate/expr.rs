//! Expressions: constants, reads of slots, facts and inputs, operators (checked in
//! native code), and the constructions and lookups that go through host functions.

use cosmos_ir::{self as ir, BinOp, Const, ExprKind, Ty, UnOp};
use cranelift_codegen::ir::{self as cl, InstBuilder, condcodes::FloatCC, condcodes::IntCC, types};

use super::{INLINE_STR, Repr, Translator};
use crate::CodegenError;
use crate::cells::View;
use crate::runtime::CtxOffsets;
use cranelift_module::Module;

/// `rt.raise` kinds.
pub(crate) const RAISE_OVERFLOW: i64 = 0;
pub(crate) const RAISE_DIVISION_BY_ZERO: i64 = 1;
pub(crate) const RAISE_RECURSION: i64 = 2;

impl Translator<'_, '_, '_> {
    /// Compiles an expression; the result is held as `Repr::of(&e.ty)`.
    pub(crate) fn expr(&mut self, e: &ir::Expr) -> Result<cl::Value, CodegenError> {
        if self.stack.exceeded() {
            return Err(CodegenError::TooDeep);
        }
        let (v, natural) = self.expr_natural(e)?;
        Ok(self.coerce(v, &natural, &e.ty))
    }

    /// Compiles an expression; returns the value and the type it is held as, which
    /// [`Translator::expr`] converts to the expression's type.
    fn expr_natural(&mut self, e: &ir::Expr) -> Result<(cl::Value, Ty), CodegenError> {
        Ok(match &e.kind {
            ExprKind::Const(c) => match c {
                Const::Int(n) => (self.iconst(*n), Ty::Int),
                Const::Duration(n) => (self.iconst(*n), Ty::Duration),
                Const::Float(f) => (self.b.ins().f64const(*f), Ty::Float),
                Const::Bool(b) => (self.b.ins().iconst(types::I8, i64::from(*b)), Ty::Bool),
                Const::Null => (self.iconst(0), Ty::Null),
                Const::Str(s) => {
                    let id = self.interned().string(s);
                    let table =
                        self.b
                            .ins()
                            .load(types::I64, super::fixed(), self.ctx, CtxOffsets::CONSTS);
                    let h = self
                        .b
                        .ins()
                        .load(types::I64, super::fixed(), table, (id * 8) as i32);
                    (h, Ty::String)
                }
            },
            ExprKind::Local(slot) => match self.slot(*slot) {
                Some((var, ty)) => {
                    // Its value may now be held elsewhere too.
                    self.set_fresh(*slot, false);
                    (self.b.use_var(var), ty)
                }
                None => {
                    return Err(CodegenError::Internal(format!(
                        "slot {} is not declared by the body",
                        slot.0
                    )));
                }
            },
            ExprKind::Input(i) => {
                if let Some(v) = self.present_scalar(e, true, *i) {
                    return Ok((v, e.ty.clone()));
                }
                let ty = self.input_ty(*i);
                (self.load_cell(CtxOffsets::INPUTS, *i, &ty), ty)
            }
            ExprKind::Fact(i) => {
                if let Some(v) = self.present_scalar(e, false, *i) {
                    return Ok((v, e.ty.clone()));
                }
                let ty = self.fact_ty(*i);
                (self.load_cell(CtxOffsets::FACTS, *i, &ty), ty)
            }
            ExprKind::Field { base, index } => {
                let h = self.handle(base)?;
                let i = self.iconst(i64::from(*index));
                let f = self.host_checked("rt.field", &[h, i])?;
                (self.unbox(f, &e.ty)?, e.ty.clone())
            }
            ExprKind::IfNotNull { value, slot, then } => {
                let v = self.expr(value)?;
                if Repr::of(&value.ty) != Repr::Ptr {
                    self.set_slot(*slot, v, &value.ty);
                    return Ok(self.expr(then)?).map(|v| (v, then.ty.clone()));
                }
                let repr = Repr::of(&e.ty);
                let then_block = self.b.create_block();
                let null_block = self.b.create_block();
                let merge = self.b.create_block();
                self.b.append_block_param(merge, repr.cl());
                self.b.ins().brif(v, then_block, &[], null_block, &[]);
                self.b.switch_to_block(then_block);
                self.set_slot(*slot, v, &value.ty);
                let r = self.expr(then)?;
                let r = self.coerce(r, &then.ty, &e.ty);
                self.b.ins().jump(merge, &[r.into()]);
                self.b.switch_to_block(null_block);
                let n = self.iconst(0);
                let n = self.coerce(n, &Ty::Null, &e.ty);
                self.b.ins().jump(merge, &[n.into()]);
                self.b.switch_to_block(merge);
                (self.b.block_params(merge)[0], e.ty.clone())
            }
            ExprKind::Elvis { value, otherwise } => {
                let v = self.expr(value)?;
                if Repr::of(&value.ty) != Repr::Ptr {
                    return Ok((v, value.ty.clone()));
                }
                let repr = Repr::of(&e.ty);
                let some = self.b.create_block();
                let none = self.b.create_block();
                let merge = self.b.create_block();
                self.b.append_block_param(merge, repr.cl());
                self.b.ins().brif(v, some, &[], none, &[]);
                self.b.switch_to_block(some);
                let s = self.coerce(v, &value.ty, &e.ty);
                self.b.ins().jump(merge, &[s.into()]);
                self.b.switch_to_block(none);
                let o = self.expr(otherwise)?;
                let o = self.coerce(o, &otherwise.ty, &e.ty);
                self.b.ins().jump(merge, &[o.into()]);
                self.b.switch_to_block(merge);
                (self.b.block_params(merge)[0], e.ty.clone())
            }
            ExprKind::Unary { op, operand, span } => {
                let v = self.expr(operand)?;
                match op {
                    UnOp::Not => {
                        let b = self.coerce(v, &operand.ty, &Ty::Bool);
                        (self.b.ins().bxor_imm(b, 1), Ty::Bool)
                    }
                    UnOp::NegFloat => {
                        let f = self.coerce(v, &operand.ty, &Ty::Float);
                        (self.b.ins().fneg(f), Ty::Float)
                    }
                    UnOp::NegInt | UnOp::NegDuration => {
                        let n = self.coerce(v, &operand.ty, &Ty::Int);
                        let z = self.iconst(0);
                        let (r, overflow) = self.b.ins().ssub_overflow(z, n);
                        self.raise_if(overflow, RAISE_OVERFLOW, *span)?;
                        let ty = if *op == UnOp::NegInt {
                            Ty::Int
                        } else {
                            Ty::Duration
                        };
                        (r, ty)
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs, span } => {
                if let Some(v) = self.str_const_test(*op, lhs, rhs) {
                    return Ok((v, Ty::Bool));
                }
                if let Some(v) = self.null_test(*op, lhs, rhs)? {
                    return Ok((v, Ty::Bool));
                }
                if let Some(v) = self.opt_scalar_test(*op, lhs, rhs)? {
                    return Ok((v, Ty::Bool));
                }
                let a = self.expr(lhs)?;
                let b = self.expr(rhs)?;
                self.binary(*op, a, &lhs.ty, b, &rhs.ty, *span)?
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let is_and = matches!(e.kind, ExprKind::And(..));
                let x = self.expr(a)?;
                let x = self.coerce(x, &a.ty, &Ty::Bool);
                let rhs = self.b.create_block();
                let merge = self.b.create_block();
                self.b.append_block_param(merge, types::I8);
                if is_and {
                    self.b.ins().brif(x, rhs, &[], merge, &[x.into()]);
                } else {
                    self.b.ins().brif(x, merge, &[x.into()], rhs, &[]);
                }
                self.b.switch_to_block(rhs);
                let y = self.expr(b)?;
                let y = self.coerce(y, &b.ty, &Ty::Bool);
                self.b.ins().jump(merge, &[y.into()]);
                self.b.switch_to_block(merge);
                (self.b.block_params(merge)[0], Ty::Bool)
            }
            ExprKind::IntToFloat(inner) => {
                let v = self.expr(inner)?;
                match Repr::of(&inner.ty) {
                    Repr::I64 => (self.b.ins().fcvt_from_sint(types::F64, v), Ty::Float),
                    Repr::Ptr => (
                        self.host_cx("rt.widen", &[v])?,
                        Ty::Optional(Box::new(Ty::Float)),
                    ),
                    _ => (v, inner.ty.clone()),
                }
            }
            ExprKind::Range {
                from,
                to,
                inclusive,
                span,
            } => {
                let a = self.expr(from)?;
                let a = self.coerce(a, &from.ty, &Ty::Int);
                let b = self.expr(to)?;
                let b = self.coerce(b, &to.ty, &Ty::Int);
                let inc = self.iconst(i64::from(*inclusive));
                let span = self.span(*span);
                (
                    self.host_checked("rt.range", &[a, b, inc, span])?,
                    Ty::List(Box::new(Ty::Int)),
                )
            }
            ExprKind::Format(parts) => {
                let mut hs = Vec::with_capacity(parts.len());
                for part in parts {
                    hs.push(self.handle(part)?);
                }
                let n = self.iconst(hs.len() as i64);
                let p = self.cells(&hs);
                (self.host_cx("rt.format", &[p, n])?, Ty::String)
            }
            ExprKind::List(items) => {
                let mut hs = Vec::with_capacity(items.len());
                for item in items {
                    hs.push(self.handle(item)?);
                }
                let n = self.iconst(hs.len() as i64);
                let p = self.cells(&hs);
                (self.host_cx("rt.list_new", &[p, n])?, e.ty.clone())
            }
            ExprKind::Map(entries) => {
                let mut hs = Vec::with_capacity(entries.len() * 2);
                for (k, v) in entries {
                    hs.push(self.handle(k)?);
                    hs.push(self.handle(v)?);
                }
                let n = self.iconst(entries.len() as i64);
                let p = self.cells(&hs);
                (self.host_cx("rt.map_new", &[p, n])?, e.ty.clone())
            }
            ExprKind::Record { record, fields } => {
                let defaults: Vec<Option<ir::Expr>> = self
                    .program()
                    .record(*record)
                    .map(|l| l.fields.iter().map(|f| f.default.clone()).collect())
                    .unwrap_or_default();
                let mut hs = Vec::with_capacity(fields.len());
                for (i, field) in fields.iter().enumerate() {
                    hs.push(match field {
                        Some(f) => self.handle(f)?,
                        None => match defaults.get(i).and_then(Option::as_ref) {
                            Some(d) => self.handle(d)?,
                            None => self.iconst(0),
                        },
                    });
                }
                let r = self.iconst(i64::from(record.0));
                let n = self.iconst(hs.len() as i64);
                let p = self.cells(&hs);
                (self.host_cx("rt.record_new", &[r, p, n])?, e.ty.clone())
            }
            ExprKind::EnumValue { enum_id, variant } => {
                (self.iconst(i64::from(*variant)), Ty::Enum(*enum_id))
            }
            ExprKind::Index { list, index, span } => {
                if Repr::of(&e.ty) == Repr::I64
                    && let Some((View::IntList, at)) = self.view_of(list)
                {
                    return Ok((self.view_index(list, at, index, *span)?, e.ty.clone()));
                }
                let l = self.expr(list)?;
                let i = self.expr(index)?;
                let i = self.coerce(i, &index.ty, &Ty::Int);
                let span = self.span(*span);
                if Repr::of(&e.ty) == Repr::I64 {
                    let n = self.host_checked("rt.index_int", &[l, i, span])?;
                    return Ok((n, e.ty.clone()));
                }
                let h = self.host_checked("rt.index", &[l, i, span])?;
                (self.unbox(h, &e.ty)?, e.ty.clone())
            }
            ExprKind::MapGet { map, key } => {
                let m = self.expr(map)?;
                let k = self.handle(key)?;
                let h = self.host_checked("rt.map_get", &[m, k])?;
                (self.unbox(h, &e.ty)?, e.ty.clone())
            }
            ExprKind::Builtin {
                receiver,
                name,
                args,
                span,
            } => self.builtin(*receiver, name, args, &e.ty, *span)?,
            ExprKind::EnumValueOf { enum_id, name } => {
                let s = self.expr(name)?;
                let id = self.iconst(i64::from(enum_id.0));
                let h = self.host_checked("rt.enum_value_of", &[id, s])?;
                (h, Ty::Optional(Box::new(Ty::Enum(*enum_id))))
            }
            ExprKind::Loop {
                kind,
                source,
                params,
                body,
                span,
            } => self.loop_expr(*kind, source, params, body, &e.ty, *span)?,
            ExprKind::CallHelper { helper, args, span } => {
                self.call_helper(*helper, args, *span)?
            }
            ExprKind::Call { function, args } => {
                let mut hs = Vec::with_capacity(args.len());
                for arg in args {
                    hs.push(self.handle(arg)?);
                }
                let f = self.iconst(i64::from(function.0));
                let n = self.iconst(hs.len() as i64);
                let p = self.cells(&hs);
                (self.host_cx("rt.call_new", &[f, p, n])?, e.ty.clone())
            }
            ExprKind::Child { workflow, args } => {
                let defaults: Vec<Option<ir::Expr>> = self
                    .program()
                    .workflow_by_id(*workflow)
                    .map(|w| w.inputs.iter().map(|f| f.default.clone()).collect())
                    .unwrap_or_default();
                let mut hs = Vec::with_capacity(args.len());
                for (i, arg) in args.iter().enumerate() {
                    hs.push(match arg {
                        Some(a) => self.handle(a)?,
                        None => match defaults.get(i).and_then(Option::as_ref) {
                            Some(d) => self.handle(d)?,
                            None => self.iconst(0),
                        },
                    });
                }
                let w = self.iconst(i64::from(workflow.0));
                let n = self.iconst(hs.len() as i64);
                let p = self.cells(&hs);
                (self.host_cx("rt.child_new", &[w, p, n])?, e.ty.clone())
            }
            ExprKind::Sleep(d) => {
                let h = self.handle(d)?;
                (self.host_cx("rt.sleep_new", &[h])?, e.ty.clone())
            }
            ExprKind::Settle(calls) => {
                let h = self.handle(calls)?;
                (self.host_cx("rt.settle_new", &[h])?, e.ty.clone())
            }
            ExprKind::Now => {
                let now = self.b.ins().load(
                    types::I64,
                    cl::MemFlags::trusted(),
                    self.ctx,
                    CtxOffsets::NOW,
                );
                (now, Ty::Time)
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.expr(cond)?;
                let c = self.coerce(c, &cond.ty, &Ty::Bool);
                let repr = Repr::of(&e.ty);
                let then_block = self.b.create_block();
                let else_block = self.b.create_block();
                let merge = self.b.create_block();
                self.b.append_block_param(merge, repr.cl());
                self.b.ins().brif(c, then_block, &[], else_block, &[]);
                self.b.switch_to_block(then_block);
                let t = self.block_as(then, &e.ty)?;
                self.b.ins().jump(merge, &[t.into()]);
                self.b.switch_to_block(else_block);
                let o = self.block_as(otherwise, &e.ty)?;
                self.b.ins().jump(merge, &[o.into()]);
                self.b.switch_to_block(merge);
                (self.b.block_params(merge)[0], e.ty.clone())
            }
            ExprKind::Block(block) => self.block(block)?,
        })
    }

    /// `field == "text"` / `field != "text"` on a `String` or `String?` fact or
    /// input read through its view, or on a closure's parameter bound to an item of
    /// a list-of-strings view: the length and the bytes compared in native code.
    fn str_const_test(&mut self, op: BinOp, lhs: &ir::Expr, rhs: &ir::Expr) -> Option<cl::Value> {
        if !matches!(op, BinOp::Eq | BinOp::Ne) {
            return None;
        }
        let (field, text) = match (&lhs.kind, &rhs.kind) {
            (_, ExprKind::Const(Const::Str(s))) => (lhs, s),
            (ExprKind::Const(Const::Str(s)), _) => (rhs, s),
            _ => return self.str_fields_test(op, lhs, rhs),
        };
        if text.len() > INLINE_STR {
            return None;
        }
        let (ptr, len) = self.str_pair_of(field)?;
        let eq = self.bytes_equal(ptr, len, text.as_bytes());
        Some(if op == BinOp::Eq {
            eq
        } else {
            self.b.ins().bxor_imm(eq, 1)
        })
    }

    /// The (address, length) of a string read through a view: a `String` or
    /// `String?` field's, or a closure parameter's bound to an item of a
    /// list-of-strings view. `None` when there is no such view.
    fn str_pair_of(&mut self, e: &ir::Expr) -> Option<(cl::Value, cl::Value)> {
        match (self.view_of(e), &e.kind) {
            (Some((View::Str, at)), _) => {
                let (_, ptr, len) = self.view_cells(at);
                Some((ptr, len))
            }
            (_, ExprKind::Local(slot)) => self.str_slots.get(&slot.0).copied(),
            _ => None,
        }
    }

    /// `a == b` / `a != b` between two strings read through views (two fields, a
    /// field and a closure's parameter): the lengths, then the bytes, 8 at a time,
    /// in a native loop. Two null `String?` fields are equal (their lengths are both
    /// `NOT_A_STRING`, and no byte is read).
    fn str_fields_test(&mut self, op: BinOp, lhs: &ir::Expr, rhs: &ir::Expr) -> Option<cl::Value> {
        let (pa, la) = self.str_pair_of(lhs)?;
        let (pb, lb) = self.str_pair_of(rhs)?;
        let flags = cl::MemFlags::new().with_notrap();
        let done = self.b.create_block();
        self.b.append_block_param(done, types::I8);
        let no = self.b.ins().iconst(types::I8, 0);
        let yes = self.b.ins().iconst(types::I8, 1);
        // Lengths differ: not equal. Both null: equal.
        let same_len = self.b.ins().icmp(IntCC::Equal, la, lb);
        let lengths = self.b.create_block();
        self.b
            .ins()
            .brif(same_len, lengths, &[], done, &[no.into()]);
        self.b.switch_to_block(lengths);
        let null = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, la, crate::cells::NOT_A_STRING as i64);
        let words = self.b.create_block();
        self.b.append_block_param(words, types::I64);
        let zero = self.iconst(0);
        self.b
            .ins()
            .brif(null, done, &[yes.into()], words, &[zero.into()]);
        // Whole words while 8 bytes are left.
        self.b.switch_to_block(words);
        let i = self.b.block_params(words)[0];
        let next = self.b.ins().iadd_imm(i, 8);
        let fits = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, next, la);
        let word = self.b.create_block();
        let bytes = self.b.create_block();
        self.b.append_block_param(bytes, types::I64);
        self.b.ins().brif(fits, word, &[], bytes, &[i.into()]);
        self.b.switch_to_block(word);
        let a = self.b.ins().iadd(pa, i);
        let b = self.b.ins().iadd(pb, i);
        let x = self.b.ins().load(types::I64, flags, a, 0);
        let y = self.b.ins().load(types::I64, flags, b, 0);
        let eq = self.b.ins().icmp(IntCC::Equal, x, y);
        self.b
            .ins()
            .brif(eq, words, &[next.into()], done, &[no.into()]);
        // Then the bytes left, one at a time.
        self.b.switch_to_block(bytes);
        let i = self.b.block_params(bytes)[0];
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, i, la);
        let byte = self.b.create_block();
        self.b.ins().brif(more, byte, &[], done, &[yes.into()]);
        self.b.switch_to_block(byte);
        let a = self.b.ins().iadd(pa, i);
        let b = self.b.ins().iadd(pb, i);
        let x = self.b.ins().uload8(types::I64, flags, a, 0);
        let y = self.b.ins().uload8(types::I64, flags, b, 0);
        let eq = self.b.ins().icmp(IntCC::Equal, x, y);
        let next = self.b.ins().iadd_imm(i, 1);
        self.b
            .ins()
            .brif(eq, bytes, &[next.into()], done, &[no.into()]);
        self.b.switch_to_block(done);
        let eq = self.b.block_params(done)[0];
        Some(if op == BinOp::Eq {
            eq
        } else {
            self.b.ins().bxor_imm(eq, 1)
        })
    }

    /// An optional `Int`-like field read where the checker knows it is not null
    /// (its type here is the scalar's, after a null check): the value from its view
    /// (`crate::cells`, `View::OptInt`), not a host call that unboxes the handle.
    fn present_scalar(&mut self, e: &ir::Expr, input: bool, i: u32) -> Option<cl::Value> {
        if !self.views || Repr::of(&e.ty) != Repr::I64 {
            return None;
        }
        let Some((View::OptInt, at)) = self.fields.plan.view(input, i) else {
            return None;
        };
        let (_, _, value) = self.view_cells(at);
        Some(value)
    }

    /// `field == n` / `field != n` where `field` is an optional `Int`-like fact or
    /// input read through its view and `n` an `Int`-like value: whether it is
    /// present and equal, in registers (a null equals no number).
    fn opt_scalar_test(
        &mut self,
        op: BinOp,
        lhs: &ir::Expr,
        rhs: &ir::Expr,
    ) -> Result<Option<cl::Value>, CodegenError> {
        if !matches!(op, BinOp::Eq | BinOp::Ne) {
            return Ok(None);
        }
        let scalar = |e: &ir::Expr| Repr::of(&e.ty) == Repr::I64;
        let (field, other, at) = match (self.view_of(lhs), self.view_of(rhs)) {
            (Some((View::OptInt, at)), _) if scalar(rhs) => (lhs, rhs, at),
            (_, Some((View::OptInt, at))) if scalar(lhs) => (rhs, lhs, at),
            _ => return Ok(None),
        };
        // Operands are evaluated left to right, as elsewhere; reading the view has
        // no effect, so only `other` is compiled.
        let _ = field;
        let n = self.expr(other)?;
        let (_, present, value) = self.view_cells(at);
        let same = self.b.ins().icmp(IntCC::Equal, value, n);
        let present = self.b.ins().icmp_imm(IntCC::NotEqual, present, 0);
        let eq = self.b.ins().band(same, present);
        Ok(Some(if op == BinOp::Eq {
            eq
        } else {
            self.b.ins().bxor_imm(eq, 1)
        }))
    }

    /// `list[i]` on a list of `Int`-like items read through its view: a bounds
    /// check and a load; out of range, `rt.index_int` raises the error.
    fn view_index(
        &mut self,
        list: &ir::Expr,
        at: u32,
        index: &ir::Expr,
        span: ir::Span,
    ) -> Result<cl::Value, CodegenError> {
        let i = self.expr(index)?;
        let i = self.coerce(i, &index.ty, &Ty::Int);
        let (base, off, n) = self.view_cells(at);
        let out = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, i, n);
        let fail = self.b.create_block();
        let next = self.b.create_block();
        self.b.set_cold_block(fail);
        self.b.ins().brif(out, fail, &[], next, &[]);
        self.b.switch_to_block(fail);
        let l = self.expr(list)?;
        let span = self.span(span);
        self.host_cx("rt.index_int", &[l, i, span])?;
        self.b.ins().jump(self.unwind_block, &[]);
        self.b.switch_to_block(next);
        let data = self.b.ins().iadd(base, off);
        let scaled = self.b.ins().ishl_imm(i, 3);
        let addr = self.b.ins().iadd(data, scaled);
        Ok(self
            .b
            .ins()
            .load(types::I64, cl::MemFlags::trusted(), addr, 0))
    }

    /// `x == null` / `x != null` on a handle: a compare with zero. Not for `Json`,
    /// whose JSON null equals `null` too.
    fn null_test(
        &mut self,
        op: BinOp,
        lhs: &ir::Expr,
        rhs: &ir::Expr,
    ) -> Result<Option<cl::Value>, CodegenError> {
        if !matches!(op, BinOp::Eq | BinOp::Ne) {
            return Ok(None);
        }
        let is_null = |e: &ir::Expr| matches!(e.kind, ExprKind::Const(Const::Null));
        let other = match (is_null(lhs), is_null(rhs)) {
            (true, false) => rhs,
            (false, true) => lhs,
            _ => return Ok(None),
        };
        let json = |t: &Ty| match t {
            Ty::Json => true,
            Ty::Optional(inner) => matches!(**inner, Ty::Json),
            _ => false,
        };
        if Repr::of(&other.ty) != Repr::Ptr || json(&other.ty) {
            return Ok(None);
        }
        let h = self.expr(other)?;
        let cc = if op == BinOp::Eq {
            IntCC::Equal
        } else {
            IntCC::NotEqual
        };
        Ok(Some(self.b.ins().icmp_imm(cc, h, 0)))
    }

    /// A binary operator over compiled operands; returns the value and its type.
    pub(crate) fn binary(
        &mut self,
        op: BinOp,
        a: cl::Value,
        at: &Ty,
        b: cl::Value,
        bt: &Ty,
        span: ir::Span,
    ) -> Result<(cl::Value, Ty), CodegenError> {
        use BinOp::*;
        Ok(match op {
            IntAdd | IntSub | IntMul | DurationAdd | DurationSub | DurationMulInt
            | TimeAddDuration | TimeSubDuration | TimeSub => {
                let x = self.coerce(a, at, &Ty::Int);
                let y = self.coerce(b, bt, &Ty::Int);
                let (r, overflow) = match op {
                    IntAdd | DurationAdd | TimeAddDuration => self.b.ins().sadd_overflow(x, y),
                    IntMul | DurationMulInt => self.b.ins().smul_overflow(x, y),
                    _ => self.b.ins().ssub_overflow(x, y),
                };
                self.raise_if(overflow, RAISE_OVERFLOW, span)?;
                let ty = match op {
                    IntAdd | IntSub | IntMul => Ty::Int,
                    TimeAddDuration | TimeSubDuration => Ty::Time,
                    _ => Ty::Duration,
                };
                (r, ty)
            }
            IntDiv | IntRem | DurationDivInt => {
                let x = self.coerce(a, at, &Ty::Int);
                let y = self.coerce(b, bt, &Ty::Int);
                let zero = self.b.ins().icmp_imm(IntCC::Equal, y, 0);
                self.raise_if(zero, RAISE_DIVISION_BY_ZERO, span)?;
                let min = self.b.ins().icmp_imm(IntCC::Equal, x, i64::MIN);
                let minus_one = self.b.ins().icmp_imm(IntCC::Equal, y, -1);
                let overflow = self.b.ins().band(min, minus_one);
                self.raise_if(overflow, RAISE_OVERFLOW, span)?;
                let r = if op == IntRem {
                    self.b.ins().srem(x, y)
                } else {
                    self.b.ins().sdiv(x, y)
                };
                (
                    r,
                    if op == DurationDivInt {
                        Ty::Duration
                    } else {
                        Ty::Int
                    },
                )
            }
            FloatAdd | FloatSub | FloatMul | FloatDiv | FloatRem => {
                let x = self.coerce(a, at, &Ty::Float);
                let y = self.coerce(b, bt, &Ty::Float);
                let r = match op {
                    FloatAdd => self.b.ins().fadd(x, y),
                    FloatSub => self.b.ins().fsub(x, y),
                    FloatMul => self.b.ins().fmul(x, y),
                    FloatDiv => self.b.ins().fdiv(x, y),
                    _ => self.host("rt.frem", &[x, y])?,
                };
                (r, Ty::Float)
            }
            ListConcat => (self.host_cx("rt.list_concat", &[a, b])?, at.clone()),
            MapMerge => (self.host_cx("rt.map_merge", &[a, b])?, at.clone()),
            Eq | Ne => {
                let same = at == bt && Repr::of(at) != Repr::Ptr;
                let r = if same {
                    match Repr::of(at) {
                        Repr::F64 => {
                            let cc = if op == Eq {
                                FloatCC::Equal
                            } else {
                                FloatCC::NotEqual
                            };
                            self.b.ins().fcmp(cc, a, b)
                        }
                        _ => {
                            let cc = if op == Eq {
                                IntCC::Equal
                            } else {
                                IntCC::NotEqual
                            };
                            self.b.ins().icmp(cc, a, b)
                        }
                    }
                } else {
                    let x = self.boxed(a, at)?;
                    let y = self.boxed(b, bt)?;
                    let f = if *at == Ty::String && *bt == Ty::String {
                        "rt.str_eq"
                    } else {
                        "rt.equal"
                    };
                    let r = self.host(f, &[x, y])?;
                    let cc = if op == Eq {
                        IntCC::NotEqual
                    } else {
                        IntCC::Equal
                    };
                    self.b.ins().icmp_imm(cc, r, 0)
                };
                (r, Ty::Bool)
            }
            Lt | Le | Gt | Ge => {
                let same = at == bt && Repr::of(at) != Repr::Ptr;
                let r = if same {
                    match Repr::of(at) {
                        Repr::F64 => {
                            let cc = match op {
                                Lt => FloatCC::LessThan,
                                Le => FloatCC::LessThanOrEqual,
                                Gt => FloatCC::GreaterThan,
                                _ => FloatCC::GreaterThanOrEqual,
                            };
                            self.b.ins().fcmp(cc, a, b)
                        }
                        // Booleans have no order: every comparison is false.
                        Repr::Bool => self.b.ins().iconst(types::I8, 0),
                        _ => {
                            let cc = match op {
                                Lt => IntCC::SignedLessThan,
                                Le => IntCC::SignedLessThanOrEqual,
                                Gt => IntCC::SignedGreaterThan,
                                _ => IntCC::SignedGreaterThanOrEqual,
                            };
                            self.b.ins().icmp(cc, a, b)
                        }
                    }
                } else {
                    let x = self.boxed(a, at)?;
                    let y = self.boxed(b, bt)?;
                    let code = self.iconst(match op {
                        Lt => 0,
                        Le => 1,
                        Gt => 2,
                        _ => 3,
                    });
                    let r = self.host("rt.compare", &[x, y, code])?;
                    self.b.ins().icmp_imm(IntCC::NotEqual, r, 0)
                };
                (r, Ty::Bool)
            }
        })
    }

    /// A helper call: arguments (or defaults) in cells, the depth checked as the
    /// interpreter checks it, the status checked after.
    fn call_helper(
        &mut self,
        helper: ir::HelperId,
        args: &[Option<ir::Expr>],
        span: ir::Span,
    ) -> Result<(cl::Value, Ty), CodegenError> {
        let Some(f) = self.program().helpers.get(helper.0 as usize) else {
            return Err(CodegenError::Internal(format!(
                "unknown helper {}",
                helper.0
            )));
        };
        let defaults = f.defaults.clone();
        let param_tys: Vec<Ty> = f.slots.iter().map(|s| s.ty.clone()).collect();
        let ret = f.ret.clone();
        let mut cells = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            let (v, ty) = match arg {
                Some(e) => (self.expr(e)?, e.ty.clone()),
                None => match defaults.get(i).and_then(Option::as_ref) {
                    Some(d) => (self.expr(d)?, d.ty.clone()),
                    None => (self.iconst(0), Ty::Null),
                },
            };
            let to = param_tys.get(i).cloned().unwrap_or(Ty::Json);
            let v = self.coerce(v, &ty, &to);
            cells.push(super::to_bits(self.b, v, Repr::of(&to)));
        }
        let depth = self.b.ins().load(
            types::I64,
            cl::MemFlags::trusted(),
            self.ctx,
            CtxOffsets::DEPTH,
        );
        let too_deep = self.b.ins().icmp_imm(
            IntCC::SignedGreaterThanOrEqual,
            depth,
            i64::from(cosmos_ir::interp::MAX_CALL_DEPTH),
        );
        self.raise_if(too_deep, RAISE_RECURSION, span)?;
        let deeper = self.b.ins().iadd_imm(depth, 1);
        self.b
            .ins()
            .store(cl::MemFlags::trusted(), deeper, self.ctx, CtxOffsets::DEPTH);
        let p = self.cells(&cells);
        let fref = match self.refs.helpers.get(&helper.0) {
            Some(f) => *f,
            None => {
                let id = *self
                    .mcx
                    .helper_ids
                    .get(helper.0 as usize)
                    .ok_or_else(|| CodegenError::Internal("an undeclared helper".into()))?;
                let f = self.mcx.module.declare_func_in_func(id, self.b.func);
                self.refs.helpers.insert(helper.0, f);
                f
            }
        };
        self.calls = true;
        let inst = self.b.ins().call(fref, &[self.ctx, p]);
        let bits = self.b.inst_results(inst)[0];
        let depth = self.b.ins().load(
            types::I64,
            cl::MemFlags::trusted(),
            self.ctx,
            CtxOffsets::DEPTH,
        );
        let shallower = self.b.ins().iadd_imm(depth, -1);
        self.b.ins().store(
            cl::MemFlags::trusted(),
            shallower,
            self.ctx,
            CtxOffsets::DEPTH,
        );
        self.check_status();
        let v = super::from_bits(self.b, bits, Repr::of(&ret));
        Ok((v, ret))
    }
}
