//! The host functions native code calls, declared once in [`HOST`]: each entry's
//! symbol, address and signature come from one macro arm, so they cannot drift apart.
//! Built-ins with a native implementation are named as in the interpreter's table
//! (`cosmos_ir::interp::builtins::IMPLEMENTED`), `String.contains` for
//! `(Receiver::String, "contains")`; every other built-in goes through
//! `rt.builtin`, which runs the interpreter's own implementation.
//!
//! Every host function is an `unsafe extern "C" fn` whose body runs inside
//! [`guarded`]: a panic in it (a bug: nothing here should panic) is caught before it
//! could unwind into native code, which would abort the process, and the evaluation
//! ends in an internal error instead ([`super::Evaluation::call`]).

use super::{AbiTy, Ctx, FnPtr, HostFn, STATUS_FINISH, builder, cells, cx, handle_of, val};
use cosmos_ir::interp::{self, Env, Facts, Finish, RuntimeErrorKind};
use cosmos_ir::value::{self, CallTarget, PendingCall, Value};
use cosmos_ir::{EnumId, FunctionId, RecordId, Span, WorkflowId};

macro_rules! host {
    ($( $sym:literal => fn $name:ident($($p:ident : $t:ty),*) -> $r:ty $body:block )*) => {
        $(
            /// A host function (see [`HOST`]).
            ///
            /// # Safety
            ///
            /// Called by native code compiled by this crate, during
            /// `Evaluation::call`: a `ctx` argument is the context that call passed,
            /// handle arguments are 0 or handles of the current evaluation, builder
            /// arguments are builders of a loop still running, and pointer and count
            /// pairs name stack slots of that many cells filled before the call
            /// (the obligations of `val`, `builder`, `cx` and `cells`).
            #[allow(unused_unsafe)]
            unsafe extern "C" fn $name($($p: $t),*) -> $r {
                guarded(move || {
                    // SAFETY: this function's obligations are those of `val`,
                    // `builder`, `cx` and `cells`, to which the body passes its
                    // arguments unchanged (or handles it got from them).
                    unsafe { $body }
                })
            }
        )*

        /// Every host function native code may call.
        pub(crate) static HOST: &[HostFn] = &[$(
            HostFn {
                name: $sym,
                ptr: FnPtr($name as *const u8),
                params: &[$(<$t as AbiTy>::ABI),*],
                ret: <$r as AbiTy>::ABI,
            }
        ),*];
    };
}

thread_local! {
    /// The message of the first panic caught in a host function on this thread
    /// since the last [`take_panic`].
    static PANICKED: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    /// Whether `PANICKED` may hold a message: one flag tested after every call
    /// into native code, so that a call without a panic does not borrow the cell.
    static MAY_HAVE_PANICKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a host function's body, catching a panic: it is recorded for
/// [`take_panic`] and the function returns 0 (a null handle, `false`, `0.0`), which
/// native code can go on with until the body returns.
fn guarded<R: Default>(body: impl FnOnce() -> R) -> R {
    let run = move || {
        #[cfg(test)]
        test_hook::maybe_panic();
        body()
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            PANICKED.with(|p| {
                if let Ok(mut p) = p.try_borrow_mut() {
                    p.get_or_insert(message);
                }
            });
            MAY_HAVE_PANICKED.set(true);
            R::default()
        }
    }
}

/// The message of a panic caught in a host function since the last call, if any.
#[inline]
pub(crate) fn take_panic() -> Option<String> {
    if !MAY_HAVE_PANICKED.get() {
        return None;
    }
    MAY_HAVE_PANICKED.set(false);
    PANICKED.with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.take()))
}

/// A way for tests to make the next host function panic: no host function panics
/// on any input otherwise, so nothing else exercises [`guarded`].
#[cfg(test)]
pub(crate) mod test_hook {
    use std::cell::Cell;

    thread_local! {
        static ARMED: Cell<bool> = const { Cell::new(false) };
    }

    /// The next host function called on this thread panics.
    pub fn panic_in_next_host_call() {
        ARMED.set(true);
    }

    pub(super) fn maybe_panic() {
        if ARMED.replace(false) {
            panic!("a test made this host function panic");
        }
    }
}

fn id32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn internal(c: &mut Ctx, what: &str) -> i64 {
    c.raise(
        RuntimeErrorKind::Internal(what.to_string()),
        Span::default(),
    );
    0
}

/// The values behind handles, copied out.
///
/// # Safety
///
/// Every element of `hs` is 0 or a handle of the current evaluation (as for `val`).
unsafe fn values(hs: &[i64]) -> Vec<Value> {
    // SAFETY: the caller's obligation is `val`'s, for each handle.
    hs.iter().map(|h| unsafe { val(*h) }.clone()).collect()
}

fn bool64(b: bool) -> i64 {
    i64::from(b)
}

/// Runs an interpreter thunk (a built-in or an operator over its parameters).
fn run_thunk(c: &mut Ctx, thunk: i64, args: Vec<Value>) -> i64 {
    let shared = c.shared();
    let Some(f) = usize::try_from(thunk)
        .ok()
        .and_then(|i| shared.thunks.get(i))
    else {
        return internal(c, "an unknown thunk");
    };
    let env = Env {
        inputs: &[],
        facts: Facts::Read(&[]),
        now: c.now,
    };
    match interp::run(&shared.program, f, args, env) {
        Ok((v, _)) => c.alloc(v),
        Err(e) => {
            c.raise(e.kind, e.span);
            0
        }
    }
}

/// `rt.place` modes, in the mode argument's low 7 bits; [`MODE_FRESH`] (bit 7) is set
/// when the root is a local that holds a value only it holds, which `rt.place` then
/// changes in place; the bits above hold 1 + the index of the fact at the root when
/// the body owns it (`Uses::owns`: never read as a value), which lets `rt.place`
/// change the instance's value in place, else 0. Shared with the translator
/// (`runtime::place`).
pub(crate) const MODE_ASSIGN: i64 = 0;
pub(crate) const MODE_APPEND: i64 = 1;
pub(crate) const MODE_CONCAT: i64 = 2;
pub(crate) const MODE_ARITH: i64 = 3;
/// Set in `rt.place`'s mode when the root is a local's value that only that local
/// holds (`translate::Translator::fresh`).
pub(crate) const MODE_FRESH: i64 = 0x80;

/// How `rt.place` receives the value it stores: `KIND_HANDLE`, a handle; else the
/// bits of a scalar of the kind [`scalar_kind`] gives its type, so that native code
/// does not box a scalar into the arena for one store.
pub(crate) const KIND_HANDLE: i64 = -1;

/// `rt.place`'s kind of a scalar type (an enum's id in the bits above 8); `None` for
/// a type held as a handle.
pub(crate) fn scalar_kind(ty: &cosmos_ir::Ty) -> Option<i64> {
    use cosmos_ir::Ty;
    Some(match ty {
        Ty::Int => 0,
        Ty::Duration => 1,
        Ty::Time => 2,
        Ty::Float => 3,
        Ty::Bool => 4,
        Ty::Enum(id) => 5 | i64::from(id.0) << 8,
        _ => return None,
    })
}

/// The scalar whose bits and kind ([`scalar_kind`]) native code passed.
fn scalar_value(bits: i64, kind: i64) -> Value {
    match kind & 0xff {
        0 => Value::Int(bits),
        1 => Value::Duration(bits),
        2 => Value::Time(bits),
        3 => Value::Float(f64::from_bits(bits as u64)),
        4 => Value::Bool(bits & 0xff != 0),
        _ => Value::Enum(EnumId(id32(kind >> 8)), id32(bits)),
    }
}

/// One step of an assignment path as native code lays it out: three cells, (0,
/// field, 0), (1, index, span) or (2, key handle, 0).
///
/// # Safety
///
/// A key step's handle is 0 or a handle of the current evaluation (as for `val`).
unsafe fn step_into<'v>(
    c: &mut Ctx,
    step: &[i64],
    target: &'v mut Value,
    existing: bool,
    span: Span,
) -> Option<&'v mut Value> {
    match (step, target) {
        ([0, i, _], Value::Record(_, fields)) => match fields.get_mut(id32(*i) as usize) {
            Some(v) => Some(v),
            None => {
                internal(c, "a field index out of range");
                None
            }
        },
        ([1, i, at], Value::List(items)) => {
            let len = items.len();
            match usize::try_from(*i).ok().and_then(|i| items.get_mut(i)) {
                Some(v) => Some(v),
                None => {
                    let at = c.shared().span(*at);
                    c.raise(RuntimeErrorKind::IndexOutOfRange { index: *i, len }, at);
                    None
                }
            }
        }
        ([2, k, _], Value::Map(entries)) => {
            // SAFETY: the caller's obligation.
            let k = unsafe { val(*k) };
            let position = match entries.iter().position(|(e, _)| value::equal(e, k)) {
                Some(p) => p,
                None => {
                    if existing {
                        c.raise(
                            RuntimeErrorKind::InvalidArgument(
                                "`m[k]` has no entry to update".to_string(),
                            ),
                            span,
                        );
                        return None;
                    }
                    entries.push((k.clone(), Value::Null));
                    entries.len() - 1
                }
            };
            match entries.get_mut(position) {
                Some((_, v)) => Some(v),
                None => {
                    internal(c, "a map entry vanished");
                    None
                }
            }
        }
        (_, Value::Null) => {
            c.raise(
                RuntimeErrorKind::InvalidArgument("assigned through a null value".to_string()),
                Span::default(),
            );
            None
        }
        _ => {
            internal(c, "an assignment path through a value of the wrong shape");
            None
        }
    }
}

/// The value a compound assignment leaves in `target` (`+=` on a string, or an
/// operator through the interpreter's thunk `aux`); `None` when it failed (the
/// context has the error).
fn updated(c: &mut Ctx, target: &Value, mode: i64, v: Value, aux: i64) -> Option<Value> {
    if mode == MODE_CONCAT {
        let program = &c.shared().program;
        let mut text = value::format(program, target);
        text.push_str(&value::format(program, &v));
        return Some(Value::Str(text.into()));
    }
    let h = run_thunk(c, aux, vec![target.clone(), v]);
    if c.status != 0 {
        return None;
    }
    // SAFETY: `h` was just made by `Ctx::alloc` (in `run_thunk`) and lives in the
    // arena until the evaluation ends.
    Some(unsafe { val(h) }.clone())
}

/// Copies `root`, applies one assignment through `steps` (cells, three a step) as
/// the interpreter's `Machine::store` does, and returns the new root.
///
/// # Safety
///
/// Key steps hold 0 or handles of the current evaluation (as for `val`).
unsafe fn place(
    c: &mut Ctx,
    root: Value,
    steps: &[i64],
    mode: i64,
    v: Value,
    aux: i64,
    span: Span,
) -> i64 {
    let mut root = root;
    // SAFETY: the caller's obligation.
    if unsafe { place_into(c, &mut root, steps, mode, v, aux, span) } {
        c.alloc(root)
    } else {
        0
    }
}

/// Applies one assignment through `steps` to `root` itself; `false` when it failed
/// (the error raised), leaving `root` partly changed.
///
/// # Safety
///
/// As for [`place`].
unsafe fn place_into(
    c: &mut Ctx,
    root: &mut Value,
    steps: &[i64],
    mode: i64,
    v: Value,
    aux: i64,
    span: Span,
) -> bool {
    let existing = mode == MODE_CONCAT || mode == MODE_ARITH;
    let mut target = root;
    for step in steps.chunks(3) {
        // SAFETY: the caller's obligation.
        match unsafe { step_into(c, step, target, existing, span) } {
            Some(next) => target = next,
            None => return false,
        }
    }
    match mode {
        MODE_ASSIGN => *target = v,
        MODE_APPEND => match target {
            Value::List(items) => items.push(v),
            _ => {
                internal(c, "`<<` on a value that is not a list");
                return false;
            }
        },
        _ => match updated(c, target, mode, v, aux) {
            Some(new) => *target = new,
            None => return false,
        },
    }
    true
}

/// [`place`] without the copy, when the root is the instance's own value of a fact
/// the body owns (`Uses::owns`: no handle of it reached anything else) and the
/// assignment is one that [`super::Undo`] can take back: `xs << v` on a list, or
/// `m[k] = v` / `m[k] op= v` on a map. The change is logged so that a body that
/// fails leaves the fact as it was. `None` when it does not apply (the caller
/// copies); `Some(handle)` of the root, unchanged, when done or failed.
///
/// # Safety
///
/// `root` and a key step's handle are 0 or handles of the current evaluation (as
/// for `val`), and the body owns fact `fact`.
#[allow(clippy::too_many_arguments)]
unsafe fn place_in_instance(
    c: &mut Ctx,
    fact: usize,
    root: i64,
    steps: &[i64],
    mode: i64,
    v: &Value,
    aux: i64,
    span: Span,
) -> Option<i64> {
    let target = c.owned_fact(fact, root)?;
    // SAFETY: `owned_fact` gave the instance's value of a fact the body owns, which
    // only this call reaches while it runs (native code holds its handle only in the
    // fact's cell, and every host function that could read it is `rt.place`).
    let target = unsafe { &mut *target };
    match (steps, mode, &mut *target) {
        ([], MODE_APPEND, Value::List(items)) => {
            let len = items.len();
            items.push(v.clone());
            c.log_undo(super::Undo::Truncate { fact, len });
        }
        ([2, k, _], MODE_ASSIGN | MODE_CONCAT | MODE_ARITH, Value::Map(entries)) => {
            // SAFETY: `k` is a handle of the current evaluation.
            let k = unsafe { val(*k) };
            match entries.iter().position(|(e, _)| value::equal(e, k)) {
                Some(at) => {
                    let new = match mode {
                        MODE_ASSIGN => v.clone(),
                        _ => {
                            let old = &entries.get(at)?.1;
                            match updated(c, old, mode, v.clone(), aux) {
                                Some(new) => new,
                                None => return Some(0),
                            }
                        }
                    };
                    let old = std::mem::replace(&mut entries.get_mut(at)?.1, new);
                    c.log_undo(super::Undo::Entry { fact, at, old });
                }
                None if mode == MODE_ASSIGN => {
                    entries.push((k.clone(), v.clone()));
                    c.log_undo(super::Undo::Pushed { fact });
                }
                None => {
                    c.raise(
                        RuntimeErrorKind::InvalidArgument(
                            "`m[k]` has no entry to update".to_string(),
                        ),
                        span,
                    );
                    return Some(0);
                }
            }
        }
        _ => return None,
    }
    Some(root)
}

/// `f` of two strings, `false` unless both handles are strings.
///
/// # Safety
///
/// `a` and `b` are 0 or handles of the current evaluation (as for `val`).
unsafe fn str_op(a: i64, b: i64, f: impl Fn(&str, &str) -> bool) -> i64 {
    // SAFETY: the caller's obligation is `val`'s.
    match unsafe { (val(a), val(b)) } {
        (Value::Str(a), Value::Str(b)) => bool64(f(a, b)),
        _ => 0,
    }
}

fn len_of(v: &Value) -> i64 {
    match v {
        Value::List(items) => items.len() as i64,
        Value::Map(entries) => entries.len() as i64,
        _ => 0,
    }
}

host! {
    "rt.box_int" => fn box_int(ctx: *mut Ctx, n: i64) -> i64 { cx(ctx).alloc(Value::Int(n)) }
    "rt.box_duration" => fn box_duration(ctx: *mut Ctx, n: i64) -> i64 { cx(ctx).alloc(Value::Duration(n)) }
    "rt.box_time" => fn box_time(ctx: *mut Ctx, n: i64) -> i64 { cx(ctx).alloc(Value::Time(n)) }
    "rt.box_float" => fn box_float(ctx: *mut Ctx, f: f64) -> i64 { cx(ctx).alloc(Value::Float(f)) }
    "rt.box_bool" => fn box_bool(ctx: *mut Ctx, b: i64) -> i64 { cx(ctx).alloc(Value::Bool(b != 0)) }
    "rt.box_enum" => fn box_enum(ctx: *mut Ctx, e: i64, v: i64) -> i64 {
        cx(ctx).alloc(Value::Enum(EnumId(id32(e)), id32(v)))
    }
    "rt.unbox_int" => fn unbox_int(h: i64) -> i64 {
        match val(h) {
            Value::Int(n) | Value::Duration(n) | Value::Time(n) => *n,
            Value::Enum(_, v) => i64::from(*v),
            Value::Bool(b) => i64::from(*b),
            _ => 0,
        }
    }
    "rt.unbox_float" => fn unbox_float(h: i64) -> f64 {
        match val(h) {
            Value::Float(f) => *f,
            Value::Int(n) => *n as f64,
            _ => 0.0,
        }
    }
    "rt.widen" => fn widen(ctx: *mut Ctx, h: i64) -> i64 {
        match val(h) {
            Value::Int(n) => cx(ctx).alloc(Value::Float(*n as f64)),
            _ => h,
        }
    }
    "rt.equal" => fn equal(a: i64, b: i64) -> i64 { bool64(value::equal(val(a), val(b))) }
    "rt.compare" => fn compare(a: i64, b: i64, op: i64) -> i64 {
        let Some(order) = value::compare(val(a), val(b)) else { return 0 };
        bool64(match op {
            0 => order.is_lt(),
            1 => order.is_le(),
            2 => order.is_gt(),
            _ => order.is_ge(),
        })
    }
    "rt.frem" => fn frem(a: f64, b: f64) -> f64 { a % b }
    "rt.raise" => fn raise(ctx: *mut Ctx, kind: i64, span: i64) -> i64 {
        let c = cx(ctx);
        let span = c.shared().span(span);
        let kind = match kind {
            0 => RuntimeErrorKind::IntOverflow,
            1 => RuntimeErrorKind::DivisionByZero,
            2 => RuntimeErrorKind::RecursionLimit,
            _ => RuntimeErrorKind::Internal("an unknown error".to_string()),
        };
        c.raise(kind, span);
        0
    }
    "rt.field" => fn field(ctx: *mut Ctx, h: i64, index: i64) -> i64 {
        match val(h) {
            Value::Record(_, fields) => match usize::try_from(index).ok().and_then(|i| fields.get(i)) {
                Some(v) => handle_of(v),
                None => internal(cx(ctx), "a field of a value that is not a record"),
            },
            Value::Null => internal(cx(ctx), "a field of null"),
            _ => internal(cx(ctx), "a field of a value that is not a record"),
        }
    }
    "rt.index" => fn index(ctx: *mut Ctx, list: i64, i: i64, span: i64) -> i64 {
        let Value::List(items) = val(list) else {
            return internal(cx(ctx), "an index of a value that is not a list");
        };
        match usize::try_from(i).ok().and_then(|i| items.get(i)) {
            Some(v) => handle_of(v),
            None => {
                let c = cx(ctx);
                let span = c.shared().span(span);
                c.raise(RuntimeErrorKind::IndexOutOfRange { index: i, len: items.len() }, span);
                0
            }
        }
    }
    "rt.index_int" => fn index_int(ctx: *mut Ctx, list: i64, i: i64, span: i64) -> i64 {
        let h = index(ctx, list, i, span);
        unbox_int(h)
    }
    "rt.map_get" => fn map_get(ctx: *mut Ctx, map: i64, key: i64) -> i64 {
        let Value::Map(entries) = val(map) else {
            return internal(cx(ctx), "an entry of a value that is not a map");
        };
        value::map_get(entries, val(key)).map_or(0, handle_of)
    }
    "rt.len" => fn len(h: i64) -> i64 { len_of(val(h)) }
    "rt.list_at" => fn list_at(h: i64, i: i64) -> i64 {
        match val(h) {
            Value::List(items) => usize::try_from(i).ok().and_then(|i| items.get(i)).map_or(0, handle_of),
            _ => 0,
        }
    }
    "rt.list_int_at" => fn list_int_at(h: i64, i: i64) -> i64 {
        match val(h) {
            Value::List(items) => usize::try_from(i).ok().and_then(|i| items.get(i)).map_or(0, |v| match v {
                Value::Int(n) | Value::Duration(n) | Value::Time(n) => *n,
                Value::Enum(_, x) => i64::from(*x),
                _ => 0,
            }),
            _ => 0,
        }
    }
    "rt.list_float_at" => fn list_float_at(h: i64, i: i64) -> f64 {
        match val(h) {
            Value::List(items) => usize::try_from(i).ok().and_then(|i| items.get(i)).map_or(0.0, |v| match v {
                Value::Float(f) => *f,
                Value::Int(n) => *n as f64,
                _ => 0.0,
            }),
            _ => 0.0,
        }
    }
    "rt.str_eq" => fn str_eq(a: i64, b: i64) -> i64 {
        match (val(a), val(b)) {
            (Value::Str(x), Value::Str(y)) => bool64(x == y),
            (x, y) => bool64(value::equal(x, y)),
        }
    }
    "rt.map_key" => fn map_key(h: i64, i: i64) -> i64 {
        match val(h) {
            Value::Map(entries) => usize::try_from(i).ok().and_then(|i| entries.get(i)).map_or(0, |e| handle_of(&e.0)),
            _ => 0,
        }
    }
    "rt.map_value" => fn map_value(h: i64, i: i64) -> i64 {
        match val(h) {
            Value::Map(entries) => usize::try_from(i).ok().and_then(|i| entries.get(i)).map_or(0, |e| handle_of(&e.1)),
            _ => 0,
        }
    }
    "rt.list_new" => fn list_new(ctx: *mut Ctx, items: i64, n: i64) -> i64 {
        let items = values(cells(items, n));
        cx(ctx).alloc(Value::List(items))
    }
    "rt.map_new" => fn map_new(ctx: *mut Ctx, entries: i64, n: i64) -> i64 {
        let mut out = Vec::new();
        for pair in cells(entries, n.saturating_mul(2)).chunks(2) {
            if let [k, v] = pair {
                value::map_put(&mut out, val(*k).clone(), val(*v).clone());
            }
        }
        cx(ctx).alloc(Value::Map(out))
    }
    "rt.record_new" => fn record_new(ctx: *mut Ctx, record: i64, fields: i64, n: i64) -> i64 {
        let fields = values(cells(fields, n));
        cx(ctx).alloc(Value::Record(RecordId(id32(record)), fields))
    }
    "rt.call_new" => fn call_new(ctx: *mut Ctx, function: i64, args: i64, n: i64) -> i64 {
        let args = values(cells(args, n));
        cx(ctx).alloc(Value::Call(PendingCall { target: CallTarget::Function(FunctionId(id32(function))), args }))
    }
    "rt.sleep_new" => fn sleep_new(ctx: *mut Ctx, d: i64) -> i64 {
        let args = vec![val(d).clone()];
        cx(ctx).alloc(Value::Call(PendingCall { target: CallTarget::Sleep, args }))
    }
    "rt.child_new" => fn child_new(ctx: *mut Ctx, workflow: i64, args: i64, n: i64) -> i64 {
        let args = values(cells(args, n));
        cx(ctx).alloc(Value::Call(PendingCall { target: CallTarget::Child(WorkflowId(id32(workflow))), args }))
    }
    "rt.settle_new" => fn settle_new(ctx: *mut Ctx, calls: i64) -> i64 {
        let args = vec![val(calls).clone()];
        cx(ctx).alloc(Value::Call(PendingCall { target: CallTarget::Settle, args }))
    }
    "rt.format" => fn format(ctx: *mut Ctx, parts: i64, n: i64) -> i64 {
        let c = cx(ctx);
        let mut out = String::new();
        for h in cells(parts, n) {
            match val(*h) {
                Value::Str(s) => out.push_str(s),
                other => out.push_str(&value::format(&c.shared().program, other)),
            }
        }
        c.alloc(Value::Str(out.into()))
    }
    "rt.range" => fn range(ctx: *mut Ctx, a: i64, b: i64, inclusive: i64, span: i64) -> i64 {
        let c = cx(ctx);
        let span = c.shared().span(span);
        let end = if inclusive != 0 { b.checked_add(1) } else { Some(b) };
        let Some(end) = end else {
            c.raise(RuntimeErrorKind::IntOverflow, span);
            return 0;
        };
        if end.saturating_sub(a) > interp::MAX_RANGE {
            c.raise(
                RuntimeErrorKind::InvalidArgument(format!(
                    "the range {a}..{b} has more than {} elements",
                    interp::MAX_RANGE
                )),
                span,
            );
            return 0;
        }
        c.alloc(Value::List((a..end).map(Value::Int).collect()))
    }
    "rt.list_concat" => fn list_concat(ctx: *mut Ctx, a: i64, b: i64) -> i64 {
        match (val(a), val(b)) {
            (Value::List(x), Value::List(y)) => {
                let mut out = x.clone();
                out.extend(y.iter().cloned());
                cx(ctx).alloc(Value::List(out))
            }
            _ => internal(cx(ctx), "`ListConcat` on values that are not lists"),
        }
    }
    "rt.map_merge" => fn map_merge(ctx: *mut Ctx, a: i64, b: i64) -> i64 {
        match (val(a), val(b)) {
            (Value::Map(x), Value::Map(y)) => {
                let mut out = x.clone();
                for (k, v) in y {
                    value::map_put(&mut out, k.clone(), v.clone());
                }
                cx(ctx).alloc(Value::Map(out))
            }
            _ => internal(cx(ctx), "`MapMerge` on values that are not maps"),
        }
    }
    "rt.builder_list" => fn builder_list(ctx: *mut Ctx) -> i64 {
        let c = cx(ctx);
        let p = Box::into_raw(Box::new(Value::List(Vec::new())));
        c.arena.push(p);
        p as i64
    }
    "rt.builder_map" => fn builder_map(ctx: *mut Ctx) -> i64 {
        let c = cx(ctx);
        let p = Box::into_raw(Box::new(Value::Map(Vec::new())));
        c.arena.push(p);
        p as i64
    }
    "rt.builder_push" => fn builder_push(b: i64, item: i64) -> i64 {
        let item = val(item).clone();
        if let Some(Value::List(items)) = builder(b) {
            items.push(item);
        }
        0
    }
    "rt.builder_put" => fn builder_put(b: i64, k: i64, v: i64) -> i64 {
        let entry = (val(k).clone(), val(v).clone());
        if let Some(Value::Map(entries)) = builder(b) {
            entries.push(entry);
        }
        0
    }
    "rt.sort_by" => fn sort_by(ctx: *mut Ctx, keys: i64, items: i64) -> i64 {
        let (Value::List(keys), Value::List(items)) = (val(keys), val(items)) else {
            return internal(cx(ctx), "`sortBy` without its lists");
        };
        let mut pairs: Vec<(&Value, &Value)> = keys.iter().zip(items).collect();
        // Stable, so equal keys keep their order.
        pairs.sort_by(|a, b| value::compare(a.0, b.0).unwrap_or(std::cmp::Ordering::Equal));
        let out = pairs.into_iter().map(|(_, item)| item.clone()).collect();
        cx(ctx).alloc(Value::List(out))
    }
    "rt.enum_value_of" => fn enum_value_of(ctx: *mut Ctx, e: i64, name: i64) -> i64 {
        let c = cx(ctx);
        let Value::Str(s) = val(name) else {
            return internal(c, "`valueOf` of a value that is not a string");
        };
        let id = EnumId(id32(e));
        let found = c
            .shared()
            .program
            .enum_layout(id)
            .and_then(|l| l.variants.iter().position(|v| **v == **s));
        match found {
            Some(i) => c.alloc(Value::Enum(id, i as u32)),
            None => 0,
        }
    }
    "rt.builtin" => fn builtin(ctx: *mut Ctx, thunk: i64, args: i64, n: i64) -> i64 {
        let args = values(cells(args, n));
        run_thunk(cx(ctx), thunk, args)
    }
    "rt.place" => fn place_update(ctx: *mut Ctx, root: i64, steps: i64, n: i64, mode: i64, v: i64, kind: i64, aux: i64, span: i64) -> i64 {
        let c = cx(ctx);
        let steps = cells(steps, n.saturating_mul(3));
        let span = c.shared().span(span);
        let (owned, fresh, mode) = (mode >> 8, mode & MODE_FRESH != 0, mode & (MODE_FRESH - 1));
        let scalar;
        let v = if kind == KIND_HANDLE {
            val(v)
        } else {
            scalar = scalar_value(v, kind);
            &scalar
        };
        if owned > 0
            && let Some(h) = place_in_instance(c, (owned - 1) as usize, root, steps, mode, v, aux, span)
        {
            return h;
        }
        if fresh && root != 0 {
            // SAFETY: a local is fresh only after `rt.place` gave it `root` (a value
            // this call or an earlier one moved into the arena, as `place` does) and
            // before anything read the local, so no other handle reaches into the
            // value: it is changed where it is. `v` and the key steps were made
            // without reading the local, so they do not point into it either.
            let target = unsafe { &mut *(root as *mut Value) };
            return if place_into(c, target, steps, mode, v.clone(), aux, span) { root } else { 0 };
        }
        place(c, val(root).clone(), steps, mode, v.clone(), aux, span)
    }
    "rt.log" => fn log(ctx: *mut Ctx, h: i64) -> i64 {
        let c = cx(ctx);
        let line = value::format(&c.shared().program, val(h));
        c.effects().log.push(line);
        0
    }
    "rt.complete" => fn complete(ctx: *mut Ctx, has: i64, h: i64) -> i64 {
        let c = cx(ctx);
        let output = (has != 0).then(|| cosmos_ir::json::to_json(&c.shared().program, val(h)));
        c.effects().finish = Some(Finish::Complete(output));
        c.status = STATUS_FINISH;
        0
    }
    "rt.fail" => fn fail(ctx: *mut Ctx, h: i64) -> i64 {
        let c = cx(ctx);
        let message = value::format(&c.shared().program, val(h));
        c.effects().finish = Some(Finish::Fail(message));
        c.status = STATUS_FINISH;
        0
    }
    "rt.retry" => fn retry(ctx: *mut Ctx, has: i64, ms: i64) -> i64 {
        let c = cx(ctx);
        c.effects().finish = Some(Finish::Retry((has != 0).then_some(ms)));
        c.status = STATUS_FINISH;
        0
    }
    "String.size" => fn str_size(h: i64) -> i64 {
        match val(h) {
            Value::Str(s) => s.chars().count() as i64,
            _ => 0,
        }
    }
    "String.isEmpty" => fn str_is_empty(h: i64) -> i64 {
        bool64(matches!(val(h), Value::Str(s) if s.is_empty()))
    }
    "String.contains" => fn str_contains(a: i64, b: i64) -> i64 { str_op(a, b, |a, b| a.contains(b)) }
    "String.startsWith" => fn str_starts_with(a: i64, b: i64) -> i64 { str_op(a, b, |a, b| a.starts_with(b)) }
    "String.endsWith" => fn str_ends_with(a: i64, b: i64) -> i64 { str_op(a, b, |a, b| a.ends_with(b)) }
    "List.contains" => fn list_contains(list: i64, x: i64) -> i64 {
        match (val(list), val(x)) {
            // Strings equal only strings: compare the text without the general walk.
            (Value::List(items), Value::Str(x)) => {
                bool64(items.iter().any(|i| matches!(i, Value::Str(s) if s == x)))
            }
            (Value::List(items), x) => bool64(items.iter().any(|i| value::equal(i, x))),
            _ => 0,
        }
    }
    "Map.containsKey" => fn map_contains_key(map: i64, k: i64) -> i64 {
        match val(map) {
            Value::Map(entries) => bool64(value::map_get(entries, val(k)).is_some()),
            _ => 0,
        }
    }
    "Enum.name" => fn enum_name(ctx: *mut Ctx, e: i64, v: i64) -> i64 {
        let c = cx(ctx);
        let name = value::enum_name(&c.shared().program, EnumId(id32(e)), id32(v));
        c.alloc(Value::Str(name.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::HOST;
    use cosmos_ir::interp::RuntimeErrorKind;
    use cosmos_ir::interp::builtins::IMPLEMENTED;
    use cosmos_ir::value::Value;
    use cosmos_ir::{Block, Const, Expr, ExprKind, Function, Program, Slot, SlotInfo, Ty};

    /// `def show(n: Int): String { "n=${n}" }`, which formats through `rt.format`.
    fn show() -> Program {
        let part = |kind, ty| Expr::new(kind, ty);
        let body = Block {
            stmts: Vec::new(),
            value: Some(Box::new(part(
                ExprKind::Format(vec![
                    part(ExprKind::Const(Const::Str("n=".into())), Ty::String),
                    part(ExprKind::Local(Slot(0)), Ty::Int),
                ]),
                Ty::String,
            ))),
        };
        Program {
            helpers: vec![Function {
                name: "def show".to_string(),
                params: 1,
                defaults: vec![None],
                slots: vec![SlotInfo {
                    name: "n".to_string(),
                    ty: Ty::Int,
                }],
                ret: Ty::String,
                body,
            }],
            ..Program::default()
        }
    }

    /// A panic inside a host function would unwind into native code, which aborts
    /// the process (`cosmosc serve` with it); it ends the evaluation in an internal
    /// error instead, and the next evaluation runs normally.
    #[test]
    fn a_panic_in_a_host_function_is_an_internal_error_not_an_abort() {
        let compiled = crate::Jit::compile(&show()).unwrap();
        let shown = Value::Str("n=7".into());
        assert_eq!(compiled.run_helper(0, vec![Value::Int(7)]).unwrap(), shown);
        super::test_hook::panic_in_next_host_call();
        let error = compiled.run_helper(0, vec![Value::Int(7)]).unwrap_err();
        match &error.kind {
            RuntimeErrorKind::Internal(message) => {
                assert!(message.starts_with("a host function panicked"), "{message}");
                assert!(
                    message.contains("a test made this host function panic"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(super::take_panic(), None, "the panic was reported once");
        assert_eq!(compiled.run_helper(0, vec![Value::Int(7)]).unwrap(), shown);
    }

    /// Host functions are named `rt.*` (the JIT's own operations) or exactly as a
    /// built-in of the interpreter's table, so one table lists what exists.
    #[test]
    fn host_functions_are_named_after_the_builtins_they_implement() {
        for f in HOST {
            if f.name.starts_with("rt.") {
                continue;
            }
            let known = IMPLEMENTED
                .iter()
                .any(|(receiver, name)| format!("{receiver:?}.{name}") == f.name);
            assert!(known, "`{}` is not a built-in of the interpreter", f.name);
        }
        let mut names: Vec<&str> = HOST.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), HOST.len(), "a host function is declared twice");
    }
}
