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

/// How native code calls `rt.place`: its modes and how it passes the value stored.
pub(crate) mod place {
    pub(crate) use super::host_fns::{
        KIND_HANDLE, MODE_APPEND, MODE_ARITH, MODE_ASSIGN, MODE_CONCAT, MODE_FRESH, scalar_kind,
    };
}

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
    /// The instance's own fact values, when the evaluation may change them in place
    /// ([`Evaluation::own_facts`]); null otherwise.
    owned: *mut Value,
    owned_len: usize,
    /// How to take back each change made in place, in order; the first few in the
    /// context itself, so that a reaction's one put allocates no log.
    pub(crate) undo: smallvec::SmallVec<[Undo; 2]>,
}

/// A change `rt.place` made to the instance's own value of a fact, and how to take
/// it back when the body fails.
pub(crate) enum Undo {
    /// Entry `at` of map fact `fact` held `old`.
    Entry { fact: usize, at: usize, old: Value },
    /// Map fact `fact` had no entry for the key: one was pushed at its end.
    Pushed { fact: usize },
    /// List fact `fact` had `len` items.
    Truncate { fact: usize, len: usize },
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
///
/// # Safety
///
/// `h` is 0 or a handle of the current evaluation (module docs): made by
/// [`handle_of`] or [`Ctx::alloc`] for a value that outlives the returned
/// reference's use and is not changed meanwhile. Native code passes only such
/// handles; the reference must not outlive the host call it is used in.
unsafe fn val<'v>(h: i64) -> &'v Value {
    if h == 0 {
        return &NULL;
    }
    // SAFETY: by the caller's obligation `h` is the address of a live `Value` that
    // nothing mutates while the reference is used.
    unsafe { &*(h as *const Value) }
}

/// The value behind a handle of a fresh builder (list or map being collected): its
/// only holder is the loop that made it, so it can be changed in place.
///
/// # Safety
///
/// `h` is 0 or a handle returned by `rt.builder_list`/`rt.builder_map` in the
/// current evaluation, whose loop has not ended, and no other reference to that
/// value exists while the returned one is used.
unsafe fn builder<'v>(h: i64) -> Option<&'v mut Value> {
    if h == 0 {
        return None;
    }
    // SAFETY: by the caller's obligation `h` is a live arena value that only this
    // reference reaches (builders are not read by anyone until their loop ends).
    Some(unsafe { &mut *(h as *mut Value) })
}

/// The evaluation context behind native code's `ctx` argument.
///
/// # Safety
///
/// `p` is the context that [`Evaluation::call`] passed to the native code now
/// running (which passes it on unchanged and does not touch it during a host
/// call), and no other reference to it is used while the returned one is.
unsafe fn cx<'c>(p: *mut Ctx) -> &'c mut Ctx {
    // SAFETY: by the caller's obligation `p` comes from a `&mut Ctx` that is not
    // otherwise used while this reference lives.
    unsafe { &mut *p }
}

/// `n` i64 cells that native code wrote into a stack slot.
///
/// # Safety
///
/// When `p` is not 0 and `n` is positive, `p` is the address of at least `n`
/// initialised i64 cells (a stack slot native code filled before the call) that
/// stay alive and unchanged while the returned slice is used.
unsafe fn cells<'s>(p: i64, n: i64) -> &'s [i64] {
    let Ok(n) = usize::try_from(n) else {
        return &[];
    };
    if p == 0 || n == 0 {
        return &[];
    }
    // SAFETY: by the caller's obligation `p` points at `n` initialised, live cells.
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

    /// Logs how to take back a change made in place.
    pub(crate) fn log_undo(&mut self, change: Undo) {
        self.undo.push(change);
    }

    /// The instance's own value of fact `fact`, when the evaluation may change it in
    /// place and `root` (a fact cell's handle) is still that value, not one the body
    /// assigned since.
    pub(crate) fn owned_fact(&self, fact: usize, root: i64) -> Option<*mut Value> {
        if self.owned.is_null() || fact >= self.owned_len {
            return None;
        }
        let p = self.owned.wrapping_add(fact);
        (p as i64 == root).then_some(p)
    }

    fn raise(&mut self, kind: RuntimeErrorKind, span: Span) {
        if self.error.is_none() {
            self.error = Some(Box::new(RuntimeError::new(kind, span)));
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
/// Calling one is unsafe: see [`Evaluation::call`].
pub(crate) type BodyFn = unsafe extern "C" fn(*mut Ctx, *const u64) -> u64;

/// The finalized code of body `id` of `module`, typed; `None` when `id` is not a
/// body defined in the module with [`crate::translate::body_signature`] (the
/// signature [`BodyFn`] spells). The pointer is valid until the module is freed.
pub(crate) fn body_fn(
    module: &cranelift_jit::JITModule,
    id: cranelift_module::FuncId,
) -> Option<BodyFn> {
    use cranelift_module::{Linkage, Module};
    let decl = module.declarations().get_function_decl(id);
    if decl.linkage != Linkage::Local || decl.signature != crate::translate::body_signature(module)
    {
        return None;
    }
    let addr = module.get_finalized_function(id);
    if addr.is_null() {
        return None;
    }
    // SAFETY: `addr` is the entry of a function the module defined and finalized,
    // declared (checked just above) with the body signature: two pointer-sized
    // integer parameters and one integer result in the platform's C convention,
    // which is `BodyFn`'s ABI. The pointer is only called while the module lives
    // (`CompiledProgram` owns both, and `Evaluation::call` states it).
    Some(unsafe { std::mem::transmute::<*const u8, BodyFn>(addr) })
}

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
                owned: std::ptr::null_mut(),
                owned_len: 0,
                undo: smallvec::SmallVec::new(),
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

    /// Runs a compiled body. A host function that panicked while it ran makes the
    /// call end in an internal error (the first panic's message), whatever the
    /// body did after it.
    ///
    /// # Safety
    ///
    /// `f` is a body (made by [`body_fn`]) of the module compiled by this crate's
    /// `Jit` from the program behind this evaluation's `Shared`, that module is
    /// still alive, the cells were laid out by that program's `CellPlan` for the
    /// body's workflow (so every fact and input index it uses is in range), and
    /// `args` holds one cell per parameter of the body, for parameters held as
    /// handles 0 or the address of a value that outlives the evaluation and is not
    /// changed meanwhile (made by this evaluation, or the caller's).
    #[inline]
    pub unsafe fn call(&mut self, f: BodyFn, args: &[u64]) -> u64 {
        // `ctx.facts` and `ctx.inputs` point at the cells (`Evaluation::point`).
        // SAFETY: by the caller's obligations the native code is live, of this
        // program, and reads only cells, arguments and handles that exist.
        let bits = unsafe { f(&mut self.ctx, args.as_ptr()) };
        self.note_panic();
        bits
    }

    /// Ends the call that just returned in an internal error when a host function
    /// panicked while it ran (the first panic's message), whatever native code did
    /// after it.
    fn note_panic(&mut self) {
        if let Some(message) = host_fns::take_panic() {
            self.ctx.status = STATUS_ERROR;
            self.ctx.error = Some(Box::new(RuntimeError::new(
                RuntimeErrorKind::Internal(format!("a host function panicked: {message}")),
                Span::default(),
            )));
        }
    }

    /// Runs the entry that evaluates every rule's `match` (`translate::all_matches`),
    /// which writes one cell per rule into `out`. A host function that panicked
    /// makes the call end in an internal error, as in [`Evaluation::call`].
    ///
    /// # Safety
    ///
    /// As for [`Evaluation::call`], with `f` the entry of all matches of the
    /// workflow the cells were laid out for and `out` holding at least one cell per
    /// rule of that workflow.
    #[inline]
    pub unsafe fn call_all_matches(&mut self, f: BodyFn, out: &mut [u64]) -> u64 {
        // SAFETY: by the caller's obligations the native code is live, of this
        // program, reads only cells and handles that exist, and writes only the
        // `out` cells of the workflow's rules.
        let bits = unsafe { f(&mut self.ctx, out.as_mut_ptr()) };
        self.note_panic();
        bits
    }

    /// Whether the last call ended normally without allocating: then there is
    /// nothing to [`Evaluation::reset`].
    #[inline]
    pub fn ok(&self) -> bool {
        self.ctx.status == STATUS_OK && self.ctx.arena.is_empty()
    }

    /// Lets `rt.place` change the instance's values of the facts a body owns in
    /// place (`crate::uses::Uses::owns`), logging each change.
    ///
    /// # Safety
    ///
    /// `facts` points at `len` live values, the instance's facts that the cells were
    /// laid out from (so a fact cell's handle is the address of its value), and
    /// nothing else reads or writes them until the evaluation is dropped or
    /// [`Evaluation::undo`] ran.
    pub unsafe fn own_facts(&mut self, facts: *mut Value, len: usize) {
        self.ctx.owned = facts;
        self.ctx.owned_len = len;
    }

    /// Takes back, newest first, every change made in place to the instance's facts
    /// ([`Evaluation::own_facts`]): after a body failed.
    pub fn undo(&mut self) {
        let base = self.ctx.owned;
        for change in self.ctx.undo.drain(..).rev() {
            let fact = match &change {
                Undo::Entry { fact, .. } | Undo::Pushed { fact } | Undo::Truncate { fact, .. } => {
                    *fact
                }
            };
            if base.is_null() || fact >= self.ctx.owned_len {
                continue;
            }
            // SAFETY: `own_facts`' obligation: `base` points at `owned_len` live
            // values that only this evaluation touches, and native code has returned.
            let value = unsafe { &mut *base.add(fact) };
            match (change, value) {
                (Undo::Entry { at, old, .. }, Value::Map(entries)) => {
                    if let Some(entry) = entries.get_mut(at) {
                        entry.1 = old;
                    }
                }
                (Undo::Pushed { .. }, Value::Map(entries)) => {
                    entries.pop();
                }
                (Undo::Truncate { len, .. }, Value::List(items)) => items.truncate(len),
                _ => {}
            }
        }
    }

    /// Lays out again the view (`crate::cells`) of fact `fact`, after a body
    /// assigned it; the view's data is appended to the cells.
    pub fn refresh_view(&mut self, view: crate::cells::View, at: u32, fact: usize) {
        let Some(&h) = self.cells.get(..self.facts).and_then(|f| f.get(fact)) else {
            return;
        };
        // SAFETY: a fact cell of a handle type holds a handle that native code stored
        // or that was laid out from the instance's facts; both outlive the evaluation
        // (the view keeps addresses inside that value) and are not changed.
        let value = unsafe { val(h as i64) };
        crate::cells::fill_view(&mut self.cells, view, at, value);
        self.point();
    }

    /// The value behind `h` moved out of the arena (a null left behind), when `h`
    /// is a value this evaluation made; `None` for any other handle (a fact's,
    /// an input's, a constant's), which must be copied.
    ///
    /// # Safety
    ///
    /// `h` is 0 or a handle of this evaluation, and nothing reads the value behind
    /// it afterwards (no other cell or value the caller will read holds it).
    pub unsafe fn take_value(&mut self, h: i64) -> Option<Value> {
        if h == 0 {
            return None;
        }
        let p = self.ctx.arena.iter().rev().find(|p| **p as i64 == h)?;
        // SAFETY: `p` is an arena value (made by `Ctx::alloc`, freed only when the
        // evaluation ends), native code has returned, and by the caller's
        // obligation nothing reads it again; the null left behind is freed as usual.
        Some(std::mem::replace(unsafe { &mut **p }, Value::Null))
    }

    /// A value behind a handle produced by this evaluation, copied out.
    ///
    /// # Safety
    ///
    /// `h` is 0 or a handle of this evaluation (a body's result or a fact cell of a
    /// handle type), as for [`val`].
    pub unsafe fn value(&self, h: i64) -> Value {
        // SAFETY: the caller's obligation.
        unsafe { self.value_ref(h) }.clone()
    }

    /// A value behind a handle produced by this evaluation.
    ///
    /// # Safety
    ///
    /// As for [`Evaluation::value`]; the reference is not used after the evaluation
    /// is reset or dropped.
    pub unsafe fn value_ref(&self, h: i64) -> &Value {
        // SAFETY: the caller's obligation is `val`'s.
        unsafe { val(h) }
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
