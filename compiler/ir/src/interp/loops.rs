//! Closure methods, inlined as loops: the closure's body runs in the caller's frame
//! with its parameters bound to slots, as the JIT runs it.

use super::{Eval, Machine, RuntimeErrorKind, binary, fail, internal, set_slot};
use crate::value::{self, Value};
use crate::{BinOp, Block, LoopKind, Slot, Span, Ty};

#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    m: &mut Machine<'_, '_>,
    slots: &mut Vec<Value>,
    kind: LoopKind,
    source: Value,
    params: &[Slot],
    body: &Block,
    ty: &Ty,
    span: Span,
) -> Eval<Value> {
    let param = |i: usize| params.get(i).map_or(u32::MAX, |s| s.0);
    match source {
        Value::List(items) => {
            let mut out = Vec::new();
            let mut keys = Vec::new();
            let mut count = 0i64;
            let mut sum = zero(ty);
            for (index, item) in items.into_iter().enumerate() {
                set_slot(slots, param(0), item.clone());
                if kind == LoopKind::EachWithIndex {
                    set_slot(slots, param(1), Value::Int(index as i64));
                }
                let v = m.block(slots, body)?;
                match kind {
                    LoopKind::Any if v == Value::Bool(true) => return Ok(Value::Bool(true)),
                    LoopKind::Every if v == Value::Bool(false) => return Ok(Value::Bool(false)),
                    LoopKind::Find if v == Value::Bool(true) => return Ok(item),
                    LoopKind::FindAll if v == Value::Bool(true) => out.push(item),
                    LoopKind::Collect => out.push(v),
                    LoopKind::Count if v == Value::Bool(true) => count += 1,
                    LoopKind::Sum => sum = add(sum, v, span)?,
                    LoopKind::SortBy => keys.push((v, item)),
                    _ => {}
                }
            }
            Ok(match kind {
                LoopKind::Any => Value::Bool(false),
                LoopKind::Every => Value::Bool(true),
                LoopKind::Find => Value::Null,
                LoopKind::FindAll | LoopKind::Collect => Value::List(out),
                LoopKind::Count => Value::Int(count),
                LoopKind::Sum => sum,
                LoopKind::SortBy => {
                    // Stable, so equal keys keep their order.
                    keys.sort_by(|a, b| {
                        value::compare(&a.0, &b.0).unwrap_or(std::cmp::Ordering::Equal)
                    });
                    Value::List(keys.into_iter().map(|(_, item)| item).collect())
                }
                LoopKind::Each | LoopKind::EachWithIndex => Value::Null,
                _ => return internal("a map loop over a list"),
            })
        }
        Value::Map(entries) => {
            let mut kept = Vec::new();
            let mut out = Vec::new();
            for (k, v) in entries {
                set_slot(slots, param(0), k.clone());
                set_slot(slots, param(1), v.clone());
                let r = m.block(slots, body)?;
                match kind {
                    LoopKind::MapAny if r == Value::Bool(true) => return Ok(Value::Bool(true)),
                    LoopKind::MapFindAll if r == Value::Bool(true) => kept.push((k, v)),
                    LoopKind::MapCollect => out.push(r),
                    _ => {}
                }
            }
            Ok(match kind {
                LoopKind::MapAny => Value::Bool(false),
                LoopKind::MapFindAll => Value::Map(kept),
                LoopKind::MapCollect => Value::List(out),
                LoopKind::MapEach => Value::Null,
                _ => return internal("a list loop over a map"),
            })
        }
        _ => internal("a loop over a value that is neither a list nor a map"),
    }
}

/// The sum of nothing, of the sum's type.
pub(super) fn zero(ty: &Ty) -> Value {
    match ty {
        Ty::Float => Value::Float(0.0),
        Ty::Duration => Value::Duration(0),
        _ => Value::Int(0),
    }
}

/// Adds a number or duration to a running sum (an `Int` sum of `Float`s widens).
pub(super) fn add(sum: Value, v: Value, span: Span) -> Eval<Value> {
    match (sum, v) {
        (Value::Int(a), Value::Int(b)) => binary(BinOp::IntAdd, Value::Int(a), Value::Int(b), span),
        (Value::Float(a), Value::Float(b)) => Ok(Value::Float(a + b)),
        (Value::Float(a), Value::Int(b)) | (Value::Int(b), Value::Float(a)) => {
            Ok(Value::Float(a + b as f64))
        }
        (Value::Duration(a), Value::Duration(b)) => binary(
            BinOp::DurationAdd,
            Value::Duration(a),
            Value::Duration(b),
            span,
        ),
        (a, b) => fail(
            RuntimeErrorKind::Internal(format!("a sum of {a:?} and {b:?}")),
            span,
        ),
    }
}
