//! The cell layout of an evaluation: one 8-byte cell per fact, then one per input,
//! then *views* of the facts and inputs whose hot operations native code runs
//! without a host call, then the view data.
//!
//! A view is two cells written by safe Rust when the cells are laid out, from the
//! `Value` behind the field's handle, so native code never reads a `Value` itself:
//! - a `String`: the address of its bytes (inside the `Value` itself for a string
//!   of up to 23 bytes: valid as long as the value's handle is) and its length in
//!   bytes;
//! - a list of `Int`-like scalars: the byte offset from the first cell of an array
//!   of the items (8 bytes each), and the item count;
//! - a list of strings, or a map with string keys: the byte offset of an array of
//!   (address, length, handle) triples ([`STR_ITEM`] bytes), one per item or key,
//!   and the count (the handle lets a closure's loop bind `it` without a host call);
//! - a `String?`: as a `String`, and when null (0, [`NOT_A_STRING`]);
//! - an `Int?` (or another optional `Int`-like scalar): 1 and the value when it is
//!   present, (0, 0) when null, so that a read after a null check, or a comparison
//!   with an `Int`, is a load, not a host call that unboxes it.
//!
//! An item or key that is not a string gets the length [`NOT_A_STRING`], which no
//! string has, so it equals no string, as in `List.contains` and `rt.str_eq`. A body
//! reads a field through its view only when it does not assign the field, and an
//! evaluation lays the views out again after a body that assigns facts.

use cosmos_ir::value::Value;
use cosmos_ir::{FieldLayout, Ty};

use crate::translate::Repr;

/// The bytes of one item of a list-of-strings or map-keys view: its address,
/// length and handle.
pub(crate) const STR_ITEM: i64 = 24;

/// The length of a view's item that is not a string.
pub(crate) const NOT_A_STRING: u64 = u64::MAX;

/// What a field's view holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    Str,
    /// A list whose items native code holds as `I64` (`Int`, `Duration`, `Time`,
    /// enum variants).
    IntList,
    StrList,
    /// A map with `String` keys: its keys.
    StrKeys,
    /// An optional `Int`-like scalar (`Int?`, `Duration?`, `Time?`, an enum's
    /// `?`): whether it is present (0 or 1) and its value (0 when null).
    OptInt,
}

impl View {
    pub fn of(ty: &Ty) -> Option<View> {
        match ty {
            // A null `String?` is (0, NOT_A_STRING): it equals no string.
            Ty::String => Some(View::Str),
            Ty::Optional(t) if **t == Ty::String => Some(View::Str),
            Ty::Optional(t) if Repr::of(t) == Repr::I64 => Some(View::OptInt),
            Ty::List(t) if **t == Ty::String => Some(View::StrList),
            Ty::List(t) if Repr::of(t) == Repr::I64 => Some(View::IntList),
            Ty::Map(k, _) if **k == Ty::String => Some(View::StrKeys),
            _ => None,
        }
    }
}

/// How a field's cell is filled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CellKind {
    pub repr: Repr,
    /// The field's view and the index of its first cell (from the first cell).
    pub view: Option<(View, u32)>,
}

/// The cell layout of one workflow (or of a helper: no fields).
#[derive(Debug, Clone, Default)]
pub(crate) struct CellPlan {
    pub facts: Vec<CellKind>,
    pub inputs: Vec<CellKind>,
    /// Cells before the view data: fields and views.
    pub fixed: usize,
    /// Every view: an input's (`true`) or a fact's, the field's index, the view
    /// and its first cell.
    pub views: Vec<(bool, u32, View, u32)>,
}

/// One field an evaluation lays out ([`CellPlan::fields_of`]): an input's (`input`)
/// or a fact's, its index among them, its cell's index from the first cell, and
/// how the cell and its view are filled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldCell {
    pub input: bool,
    pub index: u32,
    pub cell: u32,
    pub kind: CellKind,
}

impl CellPlan {
    /// The fields that `facts` and `inputs` name (indices into the workflow's facts
    /// and inputs), facts first, as a list to lay out without looking anything up;
    /// without their views unless `views` (a body that assigns facts reads none
    /// through views: `Translator::view_of`).
    pub fn fields_of(&self, facts: &[u32], inputs: &[u32], views: bool) -> Vec<FieldCell> {
        let base = self.facts.len() as u32;
        [
            (false, facts, &self.facts, 0),
            (true, inputs, &self.inputs, base),
        ]
        .into_iter()
        .flat_map(|(input, indices, kinds, first)| {
            indices.iter().filter_map(move |&i| {
                let kind = kinds.get(i as usize)?;
                Some(FieldCell {
                    input,
                    index: i,
                    cell: first + i,
                    kind: CellKind {
                        repr: kind.repr,
                        view: kind.view.filter(|_| views),
                    },
                })
            })
        })
        .collect()
    }

    pub fn new(inputs: &[FieldLayout], facts: &[FieldLayout]) -> Self {
        let mut next = (facts.len() + inputs.len()) as u32;
        let mut kinds = |fields: &[FieldLayout]| -> Vec<CellKind> {
            fields
                .iter()
                .map(|f| CellKind {
                    repr: Repr::of(&f.ty),
                    view: View::of(&f.ty).map(|v| {
                        let at = next;
                        next += 2;
                        (v, at)
                    }),
                })
                .collect()
        };
        let facts = kinds(facts);
        let inputs = kinds(inputs);
        let views = [(false, &facts), (true, &inputs)]
            .into_iter()
            .flat_map(|(input, kinds)| {
                kinds
                    .iter()
                    .enumerate()
                    .filter_map(move |(i, k)| k.view.map(|(view, at)| (input, i as u32, view, at)))
            })
            .collect();
        CellPlan {
            facts,
            inputs,
            fixed: next as usize,
            views,
        }
    }

    /// The view of fact `i` (`input` false) or input `i`, with its first cell.
    pub fn view(&self, input: bool, i: u32) -> Option<(View, u32)> {
        let kinds = if input { &self.inputs } else { &self.facts };
        kinds.get(i as usize).and_then(|k| k.view)
    }
}

/// [`to_cell`] for a field of a declared type: one test of the variant the type
/// implies (the general conversion when the value has another).
#[inline]
pub(crate) fn field_cell(v: &Value, kind: &CellKind) -> u64 {
    match (kind.repr, v) {
        (Repr::Ptr, _) => crate::runtime::handle_of(v) as u64,
        (Repr::I64, Value::Int(n)) => *n as u64,
        (Repr::Bool, Value::Bool(b)) => u64::from(*b),
        (Repr::F64, Value::Float(f)) => f.to_bits(),
        _ => to_cell(v, kind.repr),
    }
}

/// A value's 8-byte cell as native code holds it. The value must outlive the
/// evaluation when it is not a scalar (the cell is its handle).
pub(crate) fn to_cell(v: &Value, repr: Repr) -> u64 {
    match repr {
        Repr::Ptr => crate::runtime::handle_of(v) as u64,
        Repr::F64 => match v {
            Value::Float(f) => f.to_bits(),
            Value::Int(n) => (*n as f64).to_bits(),
            _ => 0,
        },
        _ => match v {
            Value::Int(n) | Value::Duration(n) | Value::Time(n) => *n as u64,
            Value::Enum(_, x) => u64::from(*x),
            Value::Bool(b) => u64::from(*b),
            _ => 0,
        },
    }
}

/// A string's (address, length); a tuple, kept in registers (an array would be
/// written to memory as two words and read back as one, which stalls).
#[inline]
fn str_pair(v: &Value) -> (u64, u64) {
    match v {
        Value::Str(s) => (s.as_ptr() as u64, s.len() as u64),
        _ => (0, NOT_A_STRING),
    }
}

/// Writes the view of `v` at cell `at` of `cells`, appending its data. The strings'
/// addresses point into `v`, which must outlive the evaluation.
#[inline]
pub(crate) fn fill_view(cells: &mut Vec<u64>, view: View, at: u32, v: &Value) {
    let at = at as usize;
    let (first, second) = match view {
        View::Str => str_pair(v),
        View::OptInt => match v {
            Value::Int(n) | Value::Duration(n) | Value::Time(n) => (1, *n as u64),
            Value::Enum(_, x) => (1, u64::from(*x)),
            _ => (0, 0),
        },
        _ => list_view(cells, view, v),
    };
    if let Some([a, b]) = cells.get_mut(at..at + 2) {
        *a = first;
        *b = second;
    }
}

/// Appends a list's or map's view data; returns the view's two cells.
#[inline]
fn list_view(cells: &mut Vec<u64>, view: View, v: &Value) -> (u64, u64) {
    match view {
        View::Str | View::OptInt => (0, 0),
        View::IntList | View::StrList | View::StrKeys => {
            let offset = (cells.len() * 8) as u64;
            let count = match (view, v) {
                (View::IntList, Value::List(items)) => {
                    cells.extend(items.iter().map(|i| match i {
                        Value::Int(n) | Value::Duration(n) | Value::Time(n) => *n as u64,
                        Value::Enum(_, x) => u64::from(*x),
                        _ => 0,
                    }));
                    items.len()
                }
                (View::StrList, Value::List(items)) => {
                    cells.reserve(items.len() * 3);
                    for i in items {
                        let (p, n) = str_pair(i);
                        cells.extend([p, n, crate::runtime::handle_of(i) as u64]);
                    }
                    items.len()
                }
                (View::StrKeys, Value::Map(entries)) => {
                    cells.reserve(entries.len() * 3);
                    for (k, _) in entries {
                        let (p, n) = str_pair(k);
                        cells.extend([p, n, crate::runtime::handle_of(k) as u64]);
                    }
                    entries.len()
                }
                _ => 0,
            };
            (offset, count as u64)
        }
    }
}
