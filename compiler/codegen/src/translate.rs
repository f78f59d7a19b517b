//! Translates one IR body into Cranelift IR: a walk of the structured tree that maps
//! slots to frontend variables (which build SSA themselves), keeps scalars in
//! registers and reaches everything else through the host functions of
//! [`crate::runtime::HOST`].
//!
//! Every body has the native signature `(ctx, args) -> bits`: arguments are 8-byte
//! cells (scalars unboxed, others as handles) and the result is one such cell. A
//! failed operation stores its error in the context, sets `ctx.status` and returns;
//! callers check the status after every call that can fail.

mod expr;
mod loops;
mod matches;

pub(crate) use matches::all_matches;
mod stmt;

use std::collections::HashMap;

use cosmos_ir::value::Value;
use cosmos_ir::{self as ir, FieldLayout, Span, Ty};
use cranelift_codegen::ir::{
    self as cl, AbiParam, InstBuilder, MemFlags, StackSlotData, StackSlotKind, condcodes::IntCC,
    types,
};
use cranelift_frontend::{FunctionBuilder, Variable};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Module};

use crate::CodegenError;
use crate::cells::{CellPlan, View};
use crate::runtime::{Abi, CtxOffsets};

/// How a value of a type is held in native code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repr {
    /// `Int`, `Duration`, `Time`, an enum's variant index.
    I64,
    F64,
    /// 0 or 1.
    Bool,
    /// A handle (0 is null): strings, collections, records, optionals, Json, calls.
    Ptr,
}

impl Repr {
    pub fn of(ty: &Ty) -> Repr {
        match ty {
            Ty::Int | Ty::Duration | Ty::Time | Ty::Enum(_) => Repr::I64,
            Ty::Float => Repr::F64,
            Ty::Bool => Repr::Bool,
            _ => Repr::Ptr,
        }
    }

    pub fn cl(self) -> cl::Type {
        match self {
            Repr::I64 | Repr::Ptr => types::I64,
            Repr::F64 => types::F64,
            Repr::Bool => types::I8,
        }
    }
}

/// The native signature every body shares.
pub(crate) fn body_signature(module: &JITModule) -> cl::Signature {
    let mut sig = module.make_signature();
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I64));
    sig.returns.push(AbiParam::new(types::I64));
    sig
}

/// Spans, interpreter thunks and constants gathered while translating, owned by the
/// compiled program afterwards.
#[derive(Default)]
pub(crate) struct Interned {
    pub spans: Vec<Span>,
    span_ids: HashMap<Span, i64>,
    pub thunks: Vec<ir::Function>,
    pub consts: Vec<Value>,
    const_ids: HashMap<String, i64>,
}

impl Interned {
    pub fn span(&mut self, span: Span) -> i64 {
        if let Some(id) = self.span_ids.get(&span) {
            return *id;
        }
        let id = self.spans.len() as i64;
        self.spans.push(span);
        self.span_ids.insert(span, id);
        id
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(id) = self.const_ids.get(s) {
            return *id;
        }
        let id = self.consts.len() as i64;
        self.consts.push(Value::Str(s.into()));
        self.const_ids.insert(s.to_string(), id);
        id
    }

    fn thunk(&mut self, f: ir::Function) -> i64 {
        self.thunks.push(f);
        self.thunks.len() as i64 - 1
    }
}

/// What a translation needs from the module being built.
pub(crate) struct ModuleCx<'m> {
    pub module: &'m mut JITModule,
    pub host_ids: &'m HashMap<&'static str, FuncId>,
    pub helper_ids: &'m [FuncId],
    pub program: &'m ir::Program,
    pub interned: &'m mut Interned,
}

/// The workflow layouts a body sees (empty for helpers).
#[derive(Clone, Copy)]
pub(crate) struct Fields<'w> {
    pub inputs: &'w [FieldLayout],
    pub facts: &'w [FieldLayout],
    /// Where their cells and views are.
    pub plan: &'w CellPlan,
}

/// The entry block of a function with [`body_signature`], current, and its two
/// parameters: the context and the arguments' (or results') cells.
pub(crate) fn entry_block(
    b: &mut FunctionBuilder<'_>,
) -> Result<(cl::Block, cl::Value, cl::Value), CodegenError> {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    match *b.block_params(entry) {
        [ctx, args] => Ok((entry, ctx, args)),
        _ => Err(CodegenError::Internal(
            "a function without its two parameters".into(),
        )),
    }
}

/// Translates `f` into `func` (whose signature is already [`body_signature`]).
pub(crate) fn translate(
    mcx: &mut ModuleCx<'_>,
    func: &mut cl::Function,
    fctx: &mut cranelift_frontend::FunctionBuilderContext,
    f: &ir::Function,
    fields: Fields<'_>,
) -> Result<(), CodegenError> {
    let mut b = FunctionBuilder::new(func, fctx);
    let (_, ctx, args) = entry_block(&mut b)?;
    let ret_block = b.create_block();
    b.append_block_param(ret_block, types::I64);
    let unwind_block = b.create_block();
    let body = Body {
        ctx,
        args,
        ret_block,
        unwind_block,
    };
    emit_body(&mut b, mcx, &mut FuncRefs::default(), f, fields, body)?;

    b.switch_to_block(ret_block);
    let out = b.block_params(ret_block).to_vec();
    b.ins().return_(&out);
    b.switch_to_block(unwind_block);
    b.set_cold_block(unwind_block);
    let z = b.ins().iconst(types::I64, 0);
    b.ins().return_(&[z]);
    b.seal_all_blocks();
    b.finalize();
    Ok(())
}

/// Where a body emitted by [`emit_body`] reads its context and arguments, and where
/// it goes when it ends: `ret_block` (one `I64` parameter: the bits of its value)
/// when it returns, `unwind_block` when an operation failed or the body finished
/// early (the status says which).
#[derive(Clone, Copy)]
pub(crate) struct Body {
    pub ctx: cl::Value,
    /// The arguments' cells (not read by a body without parameters).
    pub args: cl::Value,
    pub ret_block: cl::Block,
    pub unwind_block: cl::Block,
}

/// The host functions and helpers a function being built calls, declared in it once
/// each, whichever of its bodies calls them.
#[derive(Default)]
pub(crate) struct FuncRefs {
    host: HashMap<&'static str, cl::FuncRef>,
    helpers: HashMap<u32, cl::FuncRef>,
}

/// Emits `f`'s code in the current block of `b`, as [`translate`] does for a
/// function of its own, so that several bodies can share one function (the
/// workflow's entry of all matches, [`all_matches`]; `refs` are that function's).
/// The blocks it creates are left unsealed. Whether the code calls anything: code
/// that calls nothing cannot change the context's status, and never reaches
/// `unwind_block`.
pub(crate) fn emit_body(
    b: &mut FunctionBuilder<'_>,
    mcx: &mut ModuleCx<'_>,
    refs: &mut FuncRefs,
    f: &ir::Function,
    fields: Fields<'_>,
    body: Body,
) -> Result<bool, CodegenError> {
    let mut slots = Vec::with_capacity(f.slots.len());
    let mut fresh = Vec::with_capacity(f.slots.len());
    for (i, slot) in f.slots.iter().enumerate() {
        let repr = Repr::of(&slot.ty);
        fresh.push((repr == Repr::Ptr).then(|| {
            let flag = b.declare_var(types::I64);
            let no = b.ins().iconst(types::I64, 0);
            b.def_var(flag, no);
            flag
        }));
        let var = b.declare_var(repr.cl());
        let init = if (i as u32) < f.params {
            let bits = b
                .ins()
                .load(types::I64, MemFlags::trusted(), body.args, (i * 8) as i32);
            from_bits(b, bits, repr)
        } else {
            zero(b, repr)
        };
        b.def_var(var, init);
        slots.push((var, slot.ty.clone()));
    }
    let uses = crate::uses::of(f);
    let mut t = Translator {
        b,
        mcx,
        fields,
        ctx: body.ctx,
        slots,
        fresh,
        ret_ty: f.ret.clone(),
        ret_block: body.ret_block,
        unwind_block: body.unwind_block,
        refs,
        views: uses.writes.is_empty(),
        uses,
        stack: cosmos_ir::stack::StackGuard::new(),
        loop_str: None,
        str_slots: HashMap::new(),
        calls: false,
    };
    let (v, ty) = t.block(&f.body)?;
    let v = t.coerce(v, &ty, &f.ret);
    let bits = to_bits(t.b, v, Repr::of(&f.ret));
    t.b.ins().jump(body.ret_block, &[bits.into()]);
    Ok(t.calls)
}

pub(crate) fn zero(b: &mut FunctionBuilder<'_>, repr: Repr) -> cl::Value {
    match repr {
        Repr::F64 => b.ins().f64const(0.0),
        r => b.ins().iconst(r.cl(), 0),
    }
}

pub(crate) fn to_bits(b: &mut FunctionBuilder<'_>, v: cl::Value, repr: Repr) -> cl::Value {
    match repr {
        Repr::F64 => b.ins().bitcast(types::I64, MemFlags::new(), v),
        Repr::Bool => b.ins().uextend(types::I64, v),
        _ => v,
    }
}

pub(crate) fn from_bits(b: &mut FunctionBuilder<'_>, bits: cl::Value, repr: Repr) -> cl::Value {
    match repr {
        Repr::F64 => b.ins().bitcast(types::F64, MemFlags::new(), bits),
        Repr::Bool => b.ins().ireduce(types::I8, bits),
        _ => bits,
    }
}

pub(crate) struct Translator<'a, 'm, 'f> {
    pub b: &'a mut FunctionBuilder<'f>,
    mcx: &'a mut ModuleCx<'m>,
    fields: Fields<'a>,
    ctx: cl::Value,
    slots: Vec<(Variable, Ty)>,
    /// Per slot held as a handle, a variable that is 1 while the slot holds a value
    /// only it holds: one `rt.place` made (a copy, or the same value changed in
    /// place) and nothing has read since. Any read of the slot, and any other
    /// assignment to it, sets it to 0. `rt.place` changes such a value in place
    /// instead of copying it (`xs << v` in a loop appends, not copies the list).
    fresh: Vec<Option<Variable>>,
    ret_ty: Ty,
    ret_block: cl::Block,
    unwind_block: cl::Block,
    refs: &'a mut FuncRefs,
    /// Whether fields may be read through their views (`crate::cells`): only in a
    /// body that assigns no fact, so that a view never lags behind its cell.
    views: bool,
    /// What the body touches: which facts it owns ([`crate::uses::Uses::owns`]).
    uses: crate::uses::Uses,
    /// Translation recurses over the tree; a tree too deep for the stack is refused.
    stack: cosmos_ir::stack::StackGuard,
    /// A string item's (address, length) that the loop being emitted read from a
    /// list view, for its closure parameter.
    loop_str: Option<(cl::Value, cl::Value)>,
    /// Closure parameters bound to string items of a list view, by slot: their
    /// (address, length), for comparisons with constants in native code.
    str_slots: HashMap<u32, (cl::Value, cl::Value)>,
    /// Whether the body calls anything (a host function or a helper): only a call
    /// can change the context's status.
    calls: bool,
}

impl Translator<'_, '_, '_> {
    fn interned(&mut self) -> &mut Interned {
        self.mcx.interned
    }

    fn program(&self) -> &ir::Program {
        self.mcx.program
    }

    fn span(&mut self, span: Span) -> cl::Value {
        let id = self.mcx.interned.span(span);
        self.b.ins().iconst(types::I64, id)
    }

    fn iconst(&mut self, n: i64) -> cl::Value {
        self.b.ins().iconst(types::I64, n)
    }

    /// Calls a host function by its name in [`crate::runtime::HOST`].
    fn host(&mut self, name: &'static str, args: &[cl::Value]) -> Result<cl::Value, CodegenError> {
        let fref = match self.refs.host.get(name) {
            Some(f) => *f,
            None => {
                let id =
                    *self.mcx.host_ids.get(name).ok_or_else(|| {
                        CodegenError::Internal(format!("no host function `{name}`"))
                    })?;
                let f = self.mcx.module.declare_func_in_func(id, self.b.func);
                self.refs.host.insert(name, f);
                f
            }
        };
        self.calls = true;
        let inst = self.b.ins().call(fref, args);
        self.b
            .inst_results(inst)
            .first()
            .copied()
            .ok_or_else(|| CodegenError::Internal(format!("`{name}` returns nothing")))
    }

    /// Like [`Translator::host`], with the context as the first argument.
    fn host_cx(
        &mut self,
        name: &'static str,
        args: &[cl::Value],
    ) -> Result<cl::Value, CodegenError> {
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(self.ctx);
        all.extend_from_slice(args);
        self.host(name, &all)
    }

    /// A host call that can fail: unwinds when it set the status.
    fn host_checked(
        &mut self,
        name: &'static str,
        args: &[cl::Value],
    ) -> Result<cl::Value, CodegenError> {
        let v = self.host_cx(name, args)?;
        self.check_status();
        Ok(v)
    }

    /// Continues only when `ctx.status` is still OK.
    fn check_status(&mut self) {
        let status = self.b.ins().load(
            types::I64,
            MemFlags::trusted(),
            self.ctx,
            CtxOffsets::STATUS,
        );
        let next = self.b.create_block();
        self.b.ins().brif(status, self.unwind_block, &[], next, &[]);
        self.b.switch_to_block(next);
    }

    /// Raises a native error (`rt.raise` kinds) when `cond` is non-zero.
    fn raise_if(&mut self, cond: cl::Value, kind: i64, span: Span) -> Result<(), CodegenError> {
        let fail = self.b.create_block();
        let next = self.b.create_block();
        self.b.set_cold_block(fail);
        self.b.ins().brif(cond, fail, &[], next, &[]);
        self.b.switch_to_block(fail);
        let kind = self.iconst(kind);
        let span = self.span(span);
        self.host_cx("rt.raise", &[kind, span])?;
        self.b.ins().jump(self.unwind_block, &[]);
        self.b.switch_to_block(next);
        Ok(())
    }

    /// Ends the current block by unwinding (after `complete`, `fail`, `retry`) and
    /// continues in an unreachable block.
    fn unwind(&mut self) {
        self.b.ins().jump(self.unwind_block, &[]);
        self.dead_block();
    }

    fn dead_block(&mut self) {
        let dead = self.b.create_block();
        self.b.switch_to_block(dead);
    }

    /// A stack array of i64 cells, filled with `cells`; returns its address.
    fn cells(&mut self, cells: &[cl::Value]) -> cl::Value {
        let size = (cells.len().max(1) * 8) as u32;
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            size,
            3,
        ));
        for (i, c) in cells.iter().enumerate() {
            self.b.ins().stack_store(*c, slot, (i * 8) as i32);
        }
        self.b.ins().stack_addr(types::I64, slot, 0)
    }

    /// Converts a value held as `from` into how `to` is held: boxing, unboxing or
    /// nothing.
    pub(crate) fn coerce(&mut self, v: cl::Value, from: &Ty, to: &Ty) -> cl::Value {
        let (rf, rt) = (Repr::of(from), Repr::of(to));
        if matches!(from, Ty::Never) {
            return zero(self.b, rt);
        }
        if rf == rt {
            return v;
        }
        let r = match (rf, rt) {
            (_, Repr::Ptr) => self.boxed(v, from),
            (Repr::Ptr, _) => self.unbox(v, to),
            (Repr::I64, Repr::F64) => Ok(self.b.ins().fcvt_from_sint(types::F64, v)),
            (Repr::F64, Repr::I64) => Ok(self.b.ins().fcvt_to_sint_sat(types::I64, v)),
            (Repr::Bool, Repr::I64) => Ok(self.b.ins().uextend(types::I64, v)),
            (Repr::I64, Repr::Bool) => Ok(self.b.ins().ireduce(types::I8, v)),
            _ => Ok(zero(self.b, rt)),
        };
        r.unwrap_or_else(|_| zero(self.b, rt))
    }

    /// A handle for a value held as `ty`.
    pub(crate) fn boxed(&mut self, v: cl::Value, ty: &Ty) -> Result<cl::Value, CodegenError> {
        match ty {
            Ty::Int => self.host_cx("rt.box_int", &[v]),
            Ty::Duration => self.host_cx("rt.box_duration", &[v]),
            Ty::Time => self.host_cx("rt.box_time", &[v]),
            Ty::Float => self.host_cx("rt.box_float", &[v]),
            Ty::Bool => {
                let w = self.b.ins().uextend(types::I64, v);
                self.host_cx("rt.box_bool", &[w])
            }
            Ty::Enum(id) => {
                let e = self.iconst(i64::from(id.0));
                self.host_cx("rt.box_enum", &[e, v])
            }
            _ => Ok(v),
        }
    }

    /// The value behind a handle, held as `ty`.
    pub(crate) fn unbox(&mut self, h: cl::Value, ty: &Ty) -> Result<cl::Value, CodegenError> {
        match Repr::of(ty) {
            Repr::Ptr => Ok(h),
            Repr::I64 => self.host("rt.unbox_int", &[h]),
            Repr::F64 => self.host("rt.unbox_float", &[h]),
            Repr::Bool => {
                let n = self.host("rt.unbox_int", &[h])?;
                Ok(self.b.ins().ireduce(types::I8, n))
            }
        }
    }

    /// Compiles an expression and boxes it into a handle.
    fn handle(&mut self, e: &ir::Expr) -> Result<cl::Value, CodegenError> {
        let v = self.expr(e)?;
        self.boxed(v, &e.ty)
    }

    /// Compiles a block; returns its value and the type it is held as.
    pub(crate) fn block(&mut self, block: &ir::Block) -> Result<(cl::Value, Ty), CodegenError> {
        for stmt in &block.stmts {
            self.stmt(stmt)?;
        }
        match &block.value {
            Some(e) => Ok((self.expr(e)?, e.ty.clone())),
            None => Ok((self.iconst(0), Ty::Null)),
        }
    }

    /// A block's value held as `ty`.
    fn block_as(&mut self, block: &ir::Block, ty: &Ty) -> Result<cl::Value, CodegenError> {
        let (v, from) = self.block(block)?;
        Ok(self.coerce(v, &from, ty))
    }

    fn slot(&self, slot: ir::Slot) -> Option<(Variable, Ty)> {
        self.slots.get(slot.0 as usize).cloned()
    }

    fn set_slot(&mut self, slot: ir::Slot, v: cl::Value, from: &Ty) {
        if let Some((var, ty)) = self.slot(slot) {
            let v = self.coerce(v, from, &ty);
            self.b.def_var(var, v);
            self.set_fresh(slot, false);
        }
    }

    /// Whether slot `slot` holds a value only it holds ([`Translator::fresh`]), as a
    /// value of the function (1 or 0); 0 for a slot held as a scalar.
    fn fresh(&mut self, slot: ir::Slot) -> cl::Value {
        match self.fresh.get(slot.0 as usize).copied().flatten() {
            Some(flag) => self.b.use_var(flag),
            None => self.iconst(0),
        }
    }

    /// Records whether slot `slot` now holds a value only it holds.
    fn set_fresh(&mut self, slot: ir::Slot, fresh: bool) {
        if let Some(flag) = self.fresh.get(slot.0 as usize).copied().flatten() {
            let v = self.iconst(i64::from(fresh));
            self.b.def_var(flag, v);
        }
    }

    /// Loads a fact's or input's cell as its declared type.
    fn load_cell(&mut self, base: i32, index: u32, ty: &Ty) -> cl::Value {
        let table = self.b.ins().load(types::I64, fixed(), self.ctx, base);
        let repr = Repr::of(ty);
        // Inputs never change; facts do not during a body that assigns none.
        let flags = if base == CtxOffsets::INPUTS || self.views {
            fixed()
        } else {
            MemFlags::trusted()
        };
        self.b
            .ins()
            .load(repr.cl(), flags, table, (index as i32) * 8)
    }

    fn store_fact(&mut self, index: u32, v: cl::Value) {
        let table = self
            .b
            .ins()
            .load(types::I64, fixed(), self.ctx, CtxOffsets::FACTS);
        self.b
            .ins()
            .store(MemFlags::trusted(), v, table, (index as i32) * 8);
    }

    /// The view (`crate::cells`) through which `e` can be read: `e` reads a fact or
    /// an input directly, has a view, and the body assigns no fact.
    pub(crate) fn view_of(&self, e: &ir::Expr) -> Option<(View, u32)> {
        if !self.views {
            return None;
        }
        let view = match e.kind {
            ir::ExprKind::Fact(i) => self.fields.plan.view(false, i)?,
            ir::ExprKind::Input(i) => self.fields.plan.view(true, i)?,
            _ => return None,
        };
        (View::of(&e.ty) == Some(view.0)).then_some(view)
    }

    /// A view's two cells, and the address of the first cell (to which the
    /// offset of a list's data is added).
    pub(crate) fn view_cells(&mut self, at: u32) -> (cl::Value, cl::Value, cl::Value) {
        let base = self
            .b
            .ins()
            .load(types::I64, fixed(), self.ctx, CtxOffsets::FACTS);
        let off = (at as i32) * 8;
        let first = self.b.ins().load(types::I64, fixed(), base, off);
        let second = self.b.ins().load(types::I64, fixed(), base, off + 8);
        (base, first, second)
    }

    /// Whether the `len` bytes at `ptr` are `s` (at most [`INLINE_STR`] bytes):
    /// the length, then the bytes in at most four loads compared with constants.
    /// Returns an `I8` 0 or 1.
    pub(crate) fn bytes_equal(&mut self, ptr: cl::Value, len: cl::Value, s: &[u8]) -> cl::Value {
        let n = s.len();
        let len_ok = self.b.ins().icmp_imm(IntCC::Equal, len, n as i64);
        if n == 0 {
            return len_ok;
        }
        let bytes = self.b.create_block();
        let merge = self.b.create_block();
        self.b.append_block_param(merge, types::I8);
        self.b
            .ins()
            .brif(len_ok, bytes, &[], merge, &[len_ok.into()]);
        self.b.switch_to_block(bytes);
        let width = match n {
            8.. => 8,
            4..=7 => 4,
            2..=3 => 2,
            _ => 1,
        };
        // Whole chunks, then one that overlaps the last to cover the rest.
        let mut offsets: Vec<usize> = (0..n / width).map(|k| k * width).collect();
        if !n.is_multiple_of(width) {
            offsets.push(n - width);
        }
        // Strings' bytes have no alignment; the length was checked, so every load
        // stays inside the string.
        let flags = MemFlags::new().with_notrap();
        let mut all = None;
        for off in offsets {
            let chunk = s.get(off..off + width).unwrap_or_default();
            let imm = chunk_value(chunk);
            let at = off as i32;
            let v = match width {
                8 => self.b.ins().load(types::I64, flags, ptr, at),
                4 => self.b.ins().uload32(flags, ptr, at),
                2 => self.b.ins().uload16(types::I64, flags, ptr, at),
                _ => self.b.ins().uload8(types::I64, flags, ptr, at),
            };
            let eq = self.b.ins().icmp_imm(IntCC::Equal, v, imm);
            all = Some(match all {
                None => eq,
                Some(a) => self.b.ins().band(a, eq),
            });
        }
        let all = all.unwrap_or(len_ok);
        self.b.ins().jump(merge, &[all.into()]);
        self.b.switch_to_block(merge);
        self.b.block_params(merge)[0]
    }

    fn fact_ty(&self, index: u32) -> Ty {
        self.fields
            .facts
            .get(index as usize)
            .map_or(Ty::Null, |f| f.ty.clone())
    }

    fn input_ty(&self, index: u32) -> Ty {
        self.fields
            .inputs
            .get(index as usize)
            .map_or(Ty::Null, |f| f.ty.clone())
    }
}

/// The flags of a load of memory that does not change while a body runs (the
/// context's pointers, constants, inputs, views): it may be merged with another
/// load of the same address or moved.
pub(crate) fn fixed() -> MemFlags {
    MemFlags::trusted().with_readonly().with_can_move()
}

/// The longest string constant compared in native code ([`Translator::bytes_equal`]).
pub(crate) const INLINE_STR: usize = 32;

/// The bytes of `chunk` (at most 8) as the integer a load of them on this machine
/// reads, zero-extended.
fn chunk_value(chunk: &[u8]) -> i64 {
    let mut bytes = [0u8; 8];
    if cfg!(target_endian = "little") {
        bytes[..chunk.len()].copy_from_slice(chunk);
    } else {
        bytes[8 - chunk.len()..].copy_from_slice(chunk);
    }
    i64::from_ne_bytes(bytes)
}

/// The parameter and result kinds of a host function as a Cranelift signature.
pub(crate) fn host_signature(module: &JITModule, params: &[Abi], ret: Abi) -> cl::Signature {
    let abi = |a: Abi| match a {
        Abi::I64 => AbiParam::new(types::I64),
        Abi::F64 => AbiParam::new(types::F64),
    };
    let mut sig = module.make_signature();
    sig.params.extend(params.iter().map(|p| abi(*p)));
    sig.returns.push(abi(ret));
    sig
}
