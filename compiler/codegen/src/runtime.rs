//! The one unsafe boundary of the JIT: the evaluation context native code runs
//! against, the arena that owns every non-scalar value made during one evaluation,
//! the call into a compiled body, and the host functions native code calls.
//!
//! A non-scalar value is a *handle*: the address of a `cosmos_ir::value::Value` that
//! lives at least as long as the evaluation (in the arena, in the compiled program's
//! constants, in the instance's facts and inputs, or inside another such value).
//! Handle 0 is `null`, and no other handle points at a `Value::Null`, so a null check
//! is a compare with zero. Values behind handles are never changed once shared:
//! an assignment through a path copies the root and makes a new handle, which gives
//! Emx's value semantics for free. The arena is freed when the evaluation ends.
//! Native code also reads the views of `crate::cells`: addresses of string bytes
//! inside such values and copies of list items, written by safe Rust next to the
//! cells, valid for as long as the values they were taken from.

#![allow(unsafe_code)]

mod host_fns;

pub(crate) use host_fns::HOST;

use cosmos_ir::interp::{Effects, RuntimeError, RuntimeErrorKind};
use cosmos_ir::value::Value;
use cosmos_ir::{Function, Program, Span};

/// `Ctx::status` values.
pub(crate) const STATUS_OK: i64 = 0;
pub(crate) const STATUS_ERROR: i64 = 1;
pub(crate) const STATUS_FINISH: i64 = 2;

/// What native code reads and writes during one evaluation. The first fields are
/// read by native code at fixed offsets ([`CtxOffsets`]); the rest only by host
/// functions.
#[repr(C)]
pub(crate) struct Ctx {
    pub status: i64,
    /// One 8-byte cell per fact, in layout order: scalars unboxed, others as handles.
    pub facts: *mut u64,
    pub inputs: *const u64,
    pub now: i64,
    /// Helper calls in progress (bounded by `cosmos_ir::interp::MAX_CALL_DEPTH`).
    pub depth: i64,
    /// Handles of the compiled program's constants (string literals).
    pub consts: *const i64,
    shared: *const Shared,
    arena: Vec<*mut Value>,
    /// Boxed, like `effects`, so that a context is small to make and to drop.
    pub error: Option<Box<RuntimeError>>,
    pub effects: Option<Box<Effects>>,
}

/// Byte offsets of the fields native code touches.
pub(crate) struct CtxOffsets;

impl CtxOffsets {
    pub const STATUS: i32 = std::mem::offset_of!(Ctx, status) as i32;
    pub const FACTS: i32 = std::mem::offset_of!(Ctx, facts) as i32;
    pub const INPUTS: i32 = std::mem::offset_of!(Ctx, inputs) as i32;
    pub const NOW: i32 = std::mem::offset_of!(Ctx, now) as i32;
    pub const DEPTH: i32 = std::mem::offset_of!(Ctx, depth) as i32;
    pub const CONSTS: i32 = std::mem::offset_of!(Ctx, consts) as i32;
}

/// What host functions need from the compiled program: the program itself (for
/// formatting and JSON), interned spans, the interpreter thunks of built-ins without
/// a native implementation, and constants.
pub(crate) struct Shared {
    pub program: Program,
    pub spans: Vec<Span>,
    pub thunks: Vec<Function>,
    consts: Vec<*mut Value>,
    const_handles: Vec<i64>,
}

// SAFETY: the constants behind the raw pointers are owned by `Shared`, never mutated
// after construction, and `Value` is itself `Send + Sync`.
unsafe impl Send for Shared {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for Shared {}

impl Shared {
    pub fn new(
        program: Program,
        spans: Vec<Span>,
        thunks: Vec<Function>,
        consts: Vec<Value>,
    ) -> Self {
        let consts: Vec<*mut Value> = consts
            .into_iter()
            .map(|v| Box::into_raw(Box::new(v)))
            .collect();
        let const_handles = consts
            .iter()
            .map(|p| {
                // SAFETY: `p` came from `Box::into_raw` just above and is live.
                let v = unsafe { &**p };
                handle_of(v)
            })
            .collect();
        Shared {
            program,
            spans,
            thunks,
            consts,
            const_handles,
        }
    }

    pub fn span(&self, id: i64) -> Span {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.spans.get(i))
            .copied()
            .unwrap_or_default()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        for p in self.consts.drain(..) {
            // SAFETY: every pointer came from `Box::into_raw` in `Shared::new` and is
            // freed once, here; no evaluation can be running (it borrows `Shared`).
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

/// The handle of a value that outlives the evaluation (0 for null).
pub(crate) fn handle_of(v: &Value) -> i64 {
    if v.is_null() {
        0
    } else {
        v as *const Value as i64
    }
}

static NULL: Value = Value::Null;

/// The value behind a handle.
fn val<'v>(h: i64) -> &'v Value {
    if h == 0 {
        return &NULL;
    }
    // SAFETY: native code only passes handles made by `handle_of`/`Ctx::alloc` during
    // the current evaluation, whose values outlive it and are not mutated while shared
    // (module docs); the returned reference is used only inside one host call.
    unsafe { &*(h as *const Value) }
}

/// The value behind a handle of a fresh builder (list or map being collected): its
/// only holder is the loop that made it, so it can be changed in place.
fn builder<'v>(h: i64) -> Option<&'v mut Value> {
    if h == 0 {
        return None;
    }
    // SAFETY: builders are made by `Ctx::alloc` in the arena, are not read by anyone
    // until their loop ends, and no other reference to them exists during the call.
    Some(unsafe { &mut *(h as *mut Value) })
}

/// The evaluation context behind native code's `ctx` argument.
fn cx<'c>(p: *mut Ctx) -> &'c mut Ctx {
    // SAFETY: `p` is the `&mut Ctx` that `Evaluation::call` passed to native code,
    // which passes it on unchanged; native code does not touch it during a host call.
    unsafe { &mut *p }
}

/// `n` i64 cells that native code wrote into a stack slot.
fn cells<'s>(p: i64, n: i64) -> &'s [i64] {
    let Ok(n) = usize::try_from(n) else {
        return &[];
    };
    if p == 0 || n == 0 {
        return &[];
    }
    // SAFETY: native code passes the address of a stack slot of at least `n` i64
    // cells that it filled before the call and keeps alive until the call returns.
    unsafe { std::slice::from_raw_parts(p as *const i64, n) }
}

impl Ctx {
    fn shared(&self) -> &Shared {
        // SAFETY: `shared` is set from a `&Shared` that outlives the `Evaluation`.
        unsafe { &*self.shared }
    }

    /// Moves a value into the arena and returns its handle (0 for null).
    pub(crate) fn alloc(&mut self, v: Value) -> i64 {
        if v.is_null() {
            return 0;
        }
        let p = Box::into_raw(Box::new(v));
        self.arena.push(p);
        p as i64
    }

    /// The effects of the evaluation so far, made on first use.
    fn effects(&mut self) -> &mut Effects {
        self.effects.get_or_insert_with(Box::default)
    }

    /// The effects of the evaluation, taken out.
    pub(crate) fn take_effects(&mut self) -> Effects {
        self.effects.take().map(|e| *e).unwrap_or_default()
    }

    /// The error the evaluation stopped on, taken out.
    pub(crate) fn take_error(&mut self) -> Option<RuntimeError> {
        self.error.take().map(|e| *e)
    }

    fn raise(&mut self, kind: RuntimeErrorKind, span: Span) {
        if self.error.is_none() {
            self.error = Some(Box::new(RuntimeError { kind, span }));
        }
        self.status = STATUS_ERROR;
    }
}

impl Drop for Ctx {
    #[inline]
    fn drop(&mut self) {
        if !self.arena.is_empty() {
            self.free_arena();
        }
    }
}

impl Ctx {
    fn free_arena(&mut self) {
        for p in self.arena.drain(..) {
            // SAFETY: every arena pointer came from `Box::into_raw` in `Ctx::alloc`
            // and is freed once, here, after native code has returned.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

/// The native signature of every compiled body: `(ctx, args) -> value bits`.
pub(crate) type BodyFn = extern "C" fn(*mut Ctx, *const u64) -> u64;

/// One evaluation context plus the cells of facts and inputs it points at. It can
/// be reused for several calls ([`Evaluation::reset`] frees what a call made).
pub(crate) struct Evaluation<'s> {
    ctx: Ctx,
    /// The facts' cells, then the inputs' cells, then views (`crate::cells`). Boxed
    /// so that handing it to and from the thread's spare slot moves one pointer.
    #[allow(clippy::box_collection)]
    cells: std::mem::ManuallyDrop<Box<Vec<u64>>>,
    facts: usize,
    _shared: std::marker::PhantomData<&'s Shared>,
}

impl<'s> Evaluation<'s> {
    /// An empty vector for cells, reusing the last evaluation's on this thread so
    /// that a `match` through the host API allocates nothing.
    #[inline]
    #[allow(clippy::box_collection)]
    pub fn spare_cells(len: usize) -> Box<Vec<u64>> {
        let mut cells = SPARE_CELLS.take().unwrap_or_default();
        cells.clear();
        cells.resize(len, 0);
        cells
    }

    /// `cells` holds `facts` fact cells followed by the input cells.
    #[allow(clippy::box_collection)]
    pub fn new(shared: &'s Shared, cells: Box<Vec<u64>>, facts: usize, now: i64) -> Self {
        let mut eval = Evaluation {
            ctx: Ctx {
                status: STATUS_OK,
                facts: std::ptr::null_mut(),
                inputs: std::ptr::null(),
                now,
                depth: 0,
                consts: shared.const_handles.as_ptr(),
                shared: shared as *const Shared,
                arena: Vec::new(),
                error: None,
                effects: None,
            },
            cells: std::mem::ManuallyDrop::new(cells),
            facts,
            _shared: std::marker::PhantomData,
        };
        eval.point();
        eval
    }

    /// Points the context at the cells: after they are laid out, and again after
    /// anything that may move them (a view laid out again). The cells stay put
    /// while the evaluation moves (they are boxed).
    fn point(&mut self) {
        self.ctx.facts = self.cells.as_mut_ptr();
        self.ctx.inputs = self.cells.as_ptr().wrapping_add(self.facts);
    }

    pub fn alloc(&mut self, v: Value) -> i64 {
        self.ctx.alloc(v)
    }

    pub fn facts(&self) -> &[u64] {
        self.cells.get(..self.facts).unwrap_or_default()
    }

    #[inline]
    pub fn ctx(&mut self) -> &mut Ctx {
        &mut self.ctx
    }

    #[inline]
    pub fn set_now(&mut self, now: i64) {
        self.ctx.now = now;
    }

    /// Frees every value the last call made and clears its status and effects,
    /// keeping the cells.
    #[inline]
    pub fn reset(&mut self) {
        // Only what a call changed is touched: a `match` that allocated nothing and
        // did not fail leaves the context's other cache lines alone.
        if !self.ctx.arena.is_empty() {
            self.ctx.free_arena();
        }
        if self.ctx.status != STATUS_OK {
            self.ctx.status = STATUS_OK;
            self.ctx.depth = 0;
            self.ctx.error = None;
            self.ctx.effects = None;
        }
    }

    /// Runs a compiled body. `code` must be a body compiled by this crate's `Jit`
    /// from the program behind `shared`, whose module is still alive.
    #[inline]
    pub fn call(&mut self, code: *const u8, args: &[u64]) -> u64 {
        // SAFETY: every body is compiled with the `BodyFn` signature (see
        // `translate::body_signature`) and its module outlives `CompiledProgram`'s
        // borrowers, so the pointer is a live function of that type.
        let f: BodyFn = unsafe { std::mem::transmute::<*const u8, BodyFn>(code) };
        // `ctx.facts` and `ctx.inputs` point at the cells (`Evaluation::point`).
        f(&mut self.ctx, args.as_ptr())
    }

    /// Whether the last call ended normally without allocating: then there is
    /// nothing to [`Evaluation::reset`].
    #[inline]
    pub fn ok(&self) -> bool {
        self.ctx.status == STATUS_OK && self.ctx.arena.is_empty()
    }

    /// Lays out again the view (`crate::cells`) of fact `fact`, after a body
    /// assigned it; the view's data is appended to the cells.
    pub fn refresh_view(&mut self, view: crate::cells::View, at: u32, fact: usize) {
        let Some(&h) = self.cells.get(..self.facts).and_then(|f| f.get(fact)) else {
            return;
        };
        crate::cells::fill_view(&mut self.cells, view, at, val(h as i64));
        self.point();
    }

    /// A value behind a handle produced by this evaluation, copied out.
    pub fn value(&self, h: i64) -> Value {
        val(h).clone()
    }
}

thread_local! {
    /// The cells of the last evaluation that ended on this thread, for the next.
    #[allow(clippy::box_collection)]
    static SPARE_CELLS: std::cell::Cell<Option<Box<Vec<u64>>>> = const { std::cell::Cell::new(None) };
}

impl Drop for Evaluation<'_> {
    fn drop(&mut self) {
        // SAFETY: `cells` is taken once, here, and not used again.
        let cells = unsafe { std::mem::ManuallyDrop::take(&mut self.cells) };
        if cells.capacity() <= 256 {
            SPARE_CELLS.set(Some(cells));
        }
    }
}

/// A host function's entry in [`HOST`]: the symbol native code calls it by, its
/// address and its signature.
pub(crate) struct HostFn {
    pub name: &'static str,
    pub ptr: FnPtr,
    pub params: &'static [Abi],
    pub ret: Abi,
}

/// An address of a host function.
pub(crate) struct FnPtr(pub *const u8);

// SAFETY: a function's address is immutable and valid on every thread.
unsafe impl Sync for FnPtr {}

/// The machine types of host function parameters and results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abi {
    I64,
    F64,
}

/// Maps the Rust types host functions use to their [`Abi`].
pub(crate) trait AbiTy {
    const ABI: Abi;
}

impl AbiTy for i64 {
    const ABI: Abi = Abi::I64;
}

impl AbiTy for f64 {
    const ABI: Abi = Abi::F64;
}

impl AbiTy for *mut Ctx {
    const ABI: Abi = Abi::I64;
}

/// Frees a module's code and data.
pub(crate) fn free_module(module: cranelift_jit::JITModule) {
    // SAFETY: called once, from `CompiledProgram::drop`: evaluations borrow the
    // compiled program, so none is running, and no body address outlives it.
    unsafe { module.free_memory() };
}

// SAFETY: after `Jit::compile` the module is never used again except to free it in
// `Drop` (with `&mut self`); its code is immutable and may run on any thread, each
// evaluation on its own `Ctx`; everything else a `CompiledProgram` holds is plain
// data or `Shared`, which is `Send + Sync` itself.
unsafe impl Send for crate::CompiledProgram {}
// SAFETY: as above: shared access only reads the program, the constants and the
// bodies' addresses.
unsafe impl Sync for crate::CompiledProgram {}
