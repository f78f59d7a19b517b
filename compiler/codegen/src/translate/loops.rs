//! Loops (`for`, and closure methods inlined as loops) and built-in calls: the hot
//! built-ins in native code or a dedicated host function, the rest through
//! `rt.builtin`, which runs the interpreter's implementation on the same values.

use cosmos_ir::{self as ir, Const, ExprKind, LoopKind, Receiver, Ty};
use cranelift_codegen::ir::{self as cl, InstBuilder, MemFlags, condcodes::IntCC, types};

use super::expr::RAISE_OVERFLOW;
use super::{INLINE_STR, Repr, Translator};
use crate::CodegenError;
use crate::cells::{STR_ITEM, View};

/// How a loop over a list reads its items: as handles, or (when only the scalar
/// is needed) unboxed by the host in the same call.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fetch {
    Handle,
    Int,
    Float,
}

impl Fetch {
    /// Unboxed when the element is a scalar, the loop variable holds it unboxed and
    /// nothing needs the element's handle.
    pub fn for_elem(elem: &Ty, slot: Option<&Ty>, needs_handle: bool) -> Fetch {
        let scalar = |t: &Ty| Repr::of(t);
        match (scalar(elem), slot.map(scalar)) {
            _ if needs_handle => Fetch::Handle,
            (Repr::I64, Some(Repr::I64)) => Fetch::Int,
            (Repr::F64, Some(Repr::F64)) => Fetch::Float,
            _ => Fetch::Handle,
        }
    }
}

/// What a loop walks: a list or map behind a handle, or the items of a list
/// view (`crate::cells`): their address and count.
#[derive(Clone, Copy)]
enum Source {
    Handle(cl::Value),
    Ints {
        data: cl::Value,
        len: cl::Value,
    },
    /// A list-of-strings view: each item's address, length and handle.
    Strs {
        data: cl::Value,
        len: cl::Value,
    },
}

/// One iteration's element: a list item (a handle, or the scalar itself per
/// [`Fetch`]), or a map entry.
#[derive(Clone, Copy)]
pub(crate) struct Item {
    pub elem: cl::Value,
    pub value: cl::Value,
}

impl Translator<'_, '_, '_> {
    /// Emits a loop over a list's items; the current block afterwards is the one
    /// after the last iteration.
    pub(crate) fn for_each(
        &mut self,
        src: cl::Value,
        fetch: Fetch,
        f: impl FnMut(&mut Self, Item, cl::Value) -> Result<(), CodegenError>,
    ) -> Result<(), CodegenError> {
        self.emit_loop(Source::Handle(src), false, fetch, f)
    }

    fn emit_loop(
        &mut self,
        src: Source,
        map: bool,
        fetch: Fetch,
        mut f: impl FnMut(&mut Self, Item, cl::Value) -> Result<(), CodegenError>,
    ) -> Result<(), CodegenError> {
        let len = match src {
            Source::Handle(h) => self.host("rt.len", &[h])?,
            Source::Ints { len, .. } | Source::Strs { len, .. } => len,
        };
        let i = self.b.declare_var(types::I64);
        let z = self.iconst(0);
        self.b.def_var(i, z);
        let header = self.b.create_block();
        let body = self.b.create_block();
        let exit = self.b.create_block();
        self.b.ins().jump(header, &[]);
        self.b.switch_to_block(header);
        let index = self.b.use_var(i);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, index, len);
        self.b.ins().brif(more, body, &[], exit, &[]);
        self.b.switch_to_block(body);
        let item = match src {
            Source::Ints { data, .. } => {
                let scaled = self.b.ins().ishl_imm(index, 3);
                let addr = self.b.ins().iadd(data, scaled);
                let elem = self.b.ins().load(types::I64, MemFlags::trusted(), addr, 0);
                Item { elem, value: elem }
            }
            Source::Strs { data, .. } => {
                let scaled = self.b.ins().imul_imm(index, STR_ITEM);
                let addr = self.b.ins().iadd(data, scaled);
                let flags = MemFlags::trusted();
                let ptr = self.b.ins().load(types::I64, flags, addr, 0);
                let n = self.b.ins().load(types::I64, flags, addr, 8);
                let elem = self.b.ins().load(types::I64, flags, addr, 16);
                self.loop_str = Some((ptr, n));
                Item { elem, value: elem }
            }
            Source::Handle(src) if map => Item {
                elem: self.host("rt.map_key", &[src, index])?,
                value: self.host("rt.map_value", &[src, index])?,
            },
            Source::Handle(src) => {
                let elem = match fetch {
                    Fetch::Handle => self.host("rt.list_at", &[src, index])?,
                    Fetch::Int => self.host("rt.list_int_at", &[src, index])?,
                    Fetch::Float => self.host("rt.list_float_at", &[src, index])?,
                };
                Item { elem, value: elem }
            }
        };
        f(self, item, index)?;
        let index = self.b.use_var(i);
        let next = self.b.ins().iadd_imm(index, 1);
        self.b.def_var(i, next);
        self.b.ins().jump(header, &[]);
        self.b.switch_to_block(exit);
        Ok(())
    }

    /// Whether any item of a list view (or key of a map view) at cell `at`, each
    /// `stride` bytes, satisfies `hit` (given the item's address): a native loop
    /// that stops at the first. Returns an `I8` 0 or 1.
    fn view_any(
        &mut self,
        at: u32,
        stride: i64,
        mut hit: impl FnMut(&mut Self, cl::Value) -> Result<cl::Value, CodegenError>,
    ) -> Result<cl::Value, CodegenError> {
        let (base, off, n) = self.view_cells(at);
        let data = self.b.ins().iadd(base, off);
        let header = self.b.create_block();
        self.b.append_block_param(header, types::I64);
        let body = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, types::I8);
        let z = self.iconst(0);
        self.b.ins().jump(header, &[z.into()]);
        self.b.switch_to_block(header);
        let index = self.b.block_params(header)[0];
        let more = self.b.ins().icmp(IntCC::SignedLessThan, index, n);
        let no = self.b.ins().iconst(types::I8, 0);
        self.b.ins().brif(more, body, &[], done, &[no.into()]);
        self.b.switch_to_block(body);
        let scaled = self.b.ins().imul_imm(index, stride);
        let item = self.b.ins().iadd(data, scaled);
        let c = hit(self, item)?;
        let next = self.b.create_block();
        let yes = self.b.ins().iconst(types::I8, 1);
        self.b.ins().brif(c, done, &[yes.into()], next, &[]);
        self.b.switch_to_block(next);
        let following = self.b.ins().iadd_imm(index, 1);
        self.b.ins().jump(header, &[following.into()]);
        self.b.switch_to_block(done);
        Ok(self.b.block_params(done)[0])
    }

    /// `contains` / `containsKey` on a field read through its view, for a string
    /// constant or an `Int`-like value; `None` when the view does not apply.
    fn view_contains(
        &mut self,
        source: &ir::Expr,
        x: &ir::Expr,
    ) -> Result<Option<cl::Value>, CodegenError> {
        let Some((view, at)) = self.view_of(source) else {
            return Ok(None);
        };
        match (view, &x.kind) {
            (View::StrList | View::StrKeys, ExprKind::Const(Const::Str(s)))
                if s.len() <= INLINE_STR =>
            {
                let text = s.clone();
                let r = self.view_any(at, STR_ITEM, |t, item| {
                    let len = t.b.ins().load(types::I64, MemFlags::trusted(), item, 8);
                    let ptr = t.b.ins().load(types::I64, MemFlags::trusted(), item, 0);
                    Ok(t.bytes_equal(ptr, len, text.as_bytes()))
                })?;
                Ok(Some(r))
            }
            (View::IntList, _)
                if matches!(&source.ty, Ty::List(elem) if **elem == x.ty)
                    && Repr::of(&x.ty) == Repr::I64 =>
            {
                let v = self.expr(x)?;
                let r = self.view_any(at, 8, |t, item| {
                    let n = t.b.ins().load(types::I64, MemFlags::trusted(), item, 0);
                    Ok(t.b.ins().icmp(IntCC::Equal, n, v))
                })?;
                Ok(Some(r))
            }
            _ => Ok(None),
        }
    }

    /// Branches to `hit` when `cond` holds; continues in a new block otherwise.
    fn branch_if(&mut self, cond: cl::Value, hit: cl::Block) {
        let next = self.b.create_block();
        self.b.ins().brif(cond, hit, &[], next, &[]);
        self.b.switch_to_block(next);
    }

    /// A closure method inlined as a loop; returns the value and the type it is
    /// held as.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn loop_expr(
        &mut self,
        kind: LoopKind,
        source: &ir::Expr,
        params: &[ir::Slot],
        body: &ir::Block,
        ty: &Ty,
        span: ir::Span,
    ) -> Result<(cl::Value, Ty), CodegenError> {
        use LoopKind::*;
        let (elem_ty, value_ty) = match &source.ty {
            Ty::List(t) => ((**t).clone(), Ty::Int),
            Ty::Map(k, v) => ((**k).clone(), (**v).clone()),
            _ => (Ty::Json, Ty::Json),
        };
        let is_map = matches!(kind, MapEach | MapAny | MapFindAll | MapCollect);
        let acc_ty = match kind {
            Any | Every | MapAny => Ty::Bool,
            Count => Ty::Int,
            Sum => match ty {
                Ty::Float => Ty::Float,
                Ty::Duration => Ty::Duration,
                _ => Ty::Int,
            },
            Find => Ty::Optional(Box::new(elem_ty.clone())),
            Each | EachWithIndex | MapEach => Ty::Null,
            FindAll | Collect | MapCollect | SortBy | MapFindAll => ty.clone(),
        };
        let acc = self.b.declare_var(Repr::of(&acc_ty).cl());
        let init = match kind {
            Every => self.b.ins().iconst(types::I8, 1),
            FindAll | Collect | MapCollect | SortBy => self.host_cx("rt.builder_list", &[])?,
            MapFindAll => self.host_cx("rt.builder_map", &[])?,
            _ => super::zero(self.b, Repr::of(&acc_ty)),
        };
        self.b.def_var(acc, init);
        let keys = if kind == SortBy {
            Some(self.host_cx("rt.builder_list", &[])?)
        } else {
            None
        };
        let done = self.b.create_block();
        let param = |i: usize| params.get(i).copied();
        let slot_ty = param(0).and_then(|p| self.slot(p)).map(|(_, ty)| ty);
        let fetch = if is_map {
            Fetch::Handle
        } else {
            Fetch::for_elem(
                &elem_ty,
                slot_ty.as_ref(),
                matches!(kind, Find | FindAll | SortBy),
            )
        };
        let src = match self.view_of(source) {
            Some((View::IntList, at)) if fetch == Fetch::Int && !is_map => {
                let (base, off, len) = self.view_cells(at);
                let data = self.b.ins().iadd(base, off);
                Source::Ints { data, len }
            }
            Some((View::StrList, at)) if fetch == Fetch::Handle && !is_map => {
                let (base, off, len) = self.view_cells(at);
                let data = self.b.ins().iadd(base, off);
                Source::Strs { data, len }
            }
            _ => Source::Handle(self.expr(source)?),
        };
        self.emit_loop(src, is_map, fetch, |t, item, index| {
            if let Some(p) = param(0) {
                if fetch == Fetch::Handle {
                    t.set_slot_handle(p, item.elem, &elem_ty)?;
                } else {
                    t.set_slot(p, item.elem, &elem_ty);
                }
                // A string item from a view: `it == "text"` in the body compares
                // its bytes in native code (closure parameters are read-only).
                if let Some(pair) = t.loop_str.take() {
                    t.str_slots.insert(p.0, pair);
                }
            }
            t.loop_str = None;
            if is_map {
                if let Some(p) = param(1) {
                    t.set_slot_handle(p, item.value, &value_ty)?;
                }
            } else if kind == EachWithIndex
                && let Some(p) = param(1)
            {
                t.set_slot(p, index, &Ty::Int);
            }
            let (v, vty) = t.block(body)?;
            let cond = |t: &mut Self| t.coerce(v, &vty, &Ty::Bool);
            match kind {
                Any | MapAny | Every | Find => {
                    let c = cond(t);
                    let exit = t.b.create_block();
                    let stop = if kind == Every {
                        t.b.ins().bxor_imm(c, 1)
                    } else {
                        c
                    };
                    t.branch_if(stop, exit);
                    let cont = t.b.create_block();
                    t.b.ins().jump(cont, &[]);
                    t.b.switch_to_block(exit);
                    let r = match kind {
                        Find => item.elem,
                        Every => t.b.ins().iconst(types::I8, 0),
                        _ => t.b.ins().iconst(types::I8, 1),
                    };
                    t.b.def_var(acc, r);
                    t.b.ins().jump(done, &[]);
                    t.b.switch_to_block(cont);
                }
                FindAll | MapFindAll => {
                    let c = cond(t);
                    let push = t.b.create_block();
                    let cont = t.b.create_block();
                    t.b.ins().brif(c, push, &[], cont, &[]);
                    t.b.switch_to_block(push);
                    let builder = t.b.use_var(acc);
                    if kind == FindAll {
                        t.host("rt.builder_push", &[builder, item.elem])?;
                    } else {
                        t.host("rt.builder_put", &[builder, item.elem, item.value])?;
                    }
                    t.b.ins().jump(cont, &[]);
                    t.b.switch_to_block(cont);
                }
                Collect | MapCollect => {
                    let h = t.boxed(v, &vty)?;
                    let builder = t.b.use_var(acc);
                    t.host("rt.builder_push", &[builder, h])?;
                }
                SortBy => {
                    let h = t.boxed(v, &vty)?;
                    if let Some(keys) = keys {
                        t.host("rt.builder_push", &[keys, h])?;
                    }
                    let builder = t.b.use_var(acc);
                    t.host("rt.builder_push", &[builder, item.elem])?;
                }
                Count => {
                    let c = cond(t);
                    let one = t.b.ins().uextend(types::I64, c);
                    let n = t.b.use_var(acc);
                    let n = t.b.ins().iadd(n, one);
                    t.b.def_var(acc, n);
                }
                Sum => {
                    let sum = t.b.use_var(acc);
                    let r = if acc_ty == Ty::Float {
                        let x = t.coerce(v, &vty, &Ty::Float);
                        t.b.ins().fadd(sum, x)
                    } else {
                        let x = t.coerce(v, &vty, &Ty::Int);
                        let (r, overflow) = t.b.ins().sadd_overflow(sum, x);
                        t.raise_if(overflow, RAISE_OVERFLOW, span)?;
                        r
                    };
                    t.b.def_var(acc, r);
                }
                Each | EachWithIndex | MapEach => {}
            }
            Ok(())
        })?;
        if let Some(p) = param(0) {
            self.str_slots.remove(&p.0);
        }
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(done);
        let r = self.b.use_var(acc);
        if let Some(keys) = keys {
            return Ok((self.host_cx("rt.sort_by", &[keys, r])?, ty.clone()));
        }
        Ok((r, acc_ty))
    }

    /// A built-in of `std.core`; returns the value and the type it is held as.
    pub(crate) fn builtin(
        &mut self,
        receiver: Receiver,
        name: &str,
        args: &[ir::Expr],
        ty: &Ty,
        span: ir::Span,
    ) -> Result<(cl::Value, Ty), CodegenError> {
        let this_ty = args.first().map_or(Ty::Null, |a| a.ty.clone());
        let native = match (receiver, name, args) {
            (Receiver::String, "size", [s]) => {
                let h = self.expr(s)?;
                Some((self.host("String.size", &[h])?, Ty::Int))
            }
            (Receiver::String, "isEmpty", [s]) => {
                let h = self.expr(s)?;
                let r = self.host("String.isEmpty", &[h])?;
                Some((self.b.ins().ireduce(types::I8, r), Ty::Bool))
            }
            (Receiver::String, "contains" | "startsWith" | "endsWith", [s, x]) => {
                let h = self.expr(s)?;
                let x = self.expr(x)?;
                let f = match name {
                    "contains" => "String.contains",
                    "startsWith" => "String.startsWith",
                    _ => "String.endsWith",
                };
                let r = self.host(f, &[h, x])?;
                Some((self.b.ins().ireduce(types::I8, r), Ty::Bool))
            }
            (Receiver::List | Receiver::Map, "size" | "isEmpty", [l])
                if self.view_of(l).is_some_and(|(v, _)| {
                    matches!(v, View::IntList | View::StrList | View::StrKeys)
                }) =>
            {
                let (_, _, n) = self.view_cells(self.view_of(l).map_or(0, |(_, at)| at));
                Some(if name == "size" {
                    (n, Ty::Int)
                } else {
                    (self.b.ins().icmp_imm(IntCC::Equal, n, 0), Ty::Bool)
                })
            }
            (Receiver::List, "contains", [l, x]) | (Receiver::Map, "containsKey", [l, x])
                if self.view_of(l).is_some() =>
            {
                match self.view_contains(l, x)? {
                    Some(r) => Some((r, Ty::Bool)),
                    None => self.contains_by_host(receiver, l, x)?,
                }
            }
            (Receiver::List | Receiver::Map, "size", [l]) => {
                let h = self.expr(l)?;
                Some((self.host("rt.len", &[h])?, Ty::Int))
            }
            (Receiver::List | Receiver::Map, "isEmpty", [l]) => {
                let h = self.expr(l)?;
                let n = self.host("rt.len", &[h])?;
                Some((self.b.ins().icmp_imm(IntCC::Equal, n, 0), Ty::Bool))
            }
            (Receiver::List, "contains", [l, x]) | (Receiver::Map, "containsKey", [l, x]) => {
                self.contains_by_host(receiver, l, x)?
            }
            (Receiver::Map, "get", [m, k]) => {
                let h = self.expr(m)?;
                let k = self.handle(k)?;
                Some((self.host_checked("rt.map_get", &[h, k])?, Ty::Json))
            }
            (Receiver::Int, "toFloat", [n]) if this_ty == Ty::Int => {
                let v = self.expr(n)?;
                Some((self.b.ins().fcvt_from_sint(types::F64, v), Ty::Float))
            }
            (Receiver::Int, "round" | "floor" | "ceil", [n]) if this_ty == Ty::Int => {
                Some((self.expr(n)?, Ty::Int))
            }
            (Receiver::Int, "abs", [n]) if this_ty == Ty::Int => {
                let v = self.expr(n)?;
                let min = self.b.ins().icmp_imm(IntCC::Equal, v, i64::MIN);
                self.raise_if(min, RAISE_OVERFLOW, span)?;
                Some((self.b.ins().iabs(v), Ty::Int))
            }
            (Receiver::Float, "abs", [f]) if this_ty == Ty::Float => {
                let v = self.expr(f)?;
                Some((self.b.ins().fabs(v), Ty::Float))
            }
            (Receiver::Float, "toFloat", [f]) if this_ty == Ty::Float => {
                Some((self.expr(f)?, Ty::Float))
            }
            (Receiver::Duration, "toMillis", [d]) if this_ty == Ty::Duration => {
                Some((self.expr(d)?, Ty::Int))
            }
            (Receiver::Time, "toEpochMillis", [t]) if this_ty == Ty::Time => {
                Some((self.expr(t)?, Ty::Int))
            }
            (Receiver::Duration, "toSeconds", [d]) if this_ty == Ty::Duration => {
                let ms = self.expr(d)?;
                let ms = self.b.ins().fcvt_from_sint(types::F64, ms);
                let thousand = self.b.ins().f64const(1000.0);
                Some((self.b.ins().fdiv(ms, thousand), Ty::Float))
            }
            (Receiver::Enum, "name", [e]) => match &e.ty {
                Ty::Enum(id) => {
                    let v = self.expr(e)?;
                    let id = self.iconst(i64::from(id.0));
                    Some((self.host_cx("Enum.name", &[id, v])?, Ty::String))
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(r) = native {
            return Ok(r);
        }
        let mut hs = Vec::with_capacity(args.len());
        for arg in args {
            hs.push(self.handle(arg)?);
        }
        let thunk = self.builtin_thunk(receiver, name, args, ty, span);
        let thunk = self.iconst(thunk);
        let n = self.iconst(hs.len() as i64);
        let p = self.cells(&hs);
        let h = self.host_checked("rt.builtin", &[thunk, p, n])?;
        Ok((h, Ty::Json))
    }

    /// `List.contains` / `Map.containsKey` through their host functions.
    fn contains_by_host(
        &mut self,
        receiver: Receiver,
        l: &ir::Expr,
        x: &ir::Expr,
    ) -> Result<Option<(cl::Value, Ty)>, CodegenError> {
        let h = self.expr(l)?;
        let x = self.handle(x)?;
        let f = if receiver == Receiver::List {
            "List.contains"
        } else {
            "Map.containsKey"
        };
        let r = self.host(f, &[h, x])?;
        Ok(Some((self.b.ins().ireduce(types::I8, r), Ty::Bool)))
    }

    /// An interpreter body calling the built-in on its parameters.
    fn builtin_thunk(
        &mut self,
        receiver: Receiver,
        name: &str,
        args: &[ir::Expr],
        ty: &Ty,
        span: ir::Span,
    ) -> i64 {
        let locals = args
            .iter()
            .enumerate()
            .map(|(i, a)| ir::Expr::new(ExprKind::Local(ir::Slot(i as u32)), a.ty.clone()))
            .collect();
        let slots = args
            .iter()
            .enumerate()
            .map(|(i, a)| ir::SlotInfo {
                name: format!("arg{i}"),
                ty: a.ty.clone(),
            })
            .collect();
        let body = ir::Expr::new(
            ExprKind::Builtin {
                receiver,
                name: name.to_string(),
                args: locals,
                span,
            },
            ty.clone(),
        );
        let f = ir::Function {
            name: format!("{receiver:?}.{name}"),
            params: args.len() as u32,
            defaults: vec![None; args.len()],
            slots,
            ret: ty.clone(),
            body: ir::Block {
                stmts: Vec::new(),
                value: Some(Box::new(body)),
            },
        };
        self.interned().thunk(f)
    }
}
