//! Lowering expressions: names to slots, facts and inputs; operators to typed
//! operations; closures to loops (calls are in `call`).

use super::body::{BodyLower, Lowered};
use crate::scope::{DeclKind, Symbol, module_decl};
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::Span;
use cosmos_ir as ir;
use cosmos_syntax::ast::{self, BinaryOp, ExprKind, MapKey, Number, StrPart, UnaryOp};

/// A name or `module.Name` that denotes a declaration.
pub(super) enum Level {
    Decl(DeclKind, DeclKey),
    Module(String),
}

pub(super) fn e(kind: ir::ExprKind, ty: ir::Ty) -> ir::Expr {
    ir::Expr::new(kind, ty)
}

pub(super) fn b(x: ir::Expr) -> Box<ir::Expr> {
    Box::new(x)
}

fn value_block(value: ir::Expr) -> Box<ir::Block> {
    Box::new(ir::Block {
        stmts: Vec::new(),
        value: Some(Box::new(value)),
    })
}

impl BodyLower<'_, '_> {
    /// A constant expression (a default), typed by `expected` where given.
    pub fn lower_const(mut self, expr: &ast::Expr, expected: Option<&Type>) -> Lowered<ir::Expr> {
        // A constant is no body, so its types come from checking it here.
        for (span, ty) in crate::items::constant_types(self.l.db, self.file, expr, expected) {
            self.types.entry(span).or_insert(ty);
        }
        let mut lowered = self.expr(expr)?;
        if let Some(t) = expected
            && !matches!(t, Type::Optional(_) | Type::Json)
            && let Some(t) = self.l.ids.ty(t)
        {
            lowered.ty = t;
        }
        Ok(lowered)
    }

    pub(super) fn is_value_name(&self, name: &str) -> bool {
        self.local(name).is_some()
            || self
                .workflow
                .as_ref()
                .is_some_and(|w| w.input(name).is_some() || w.fact(name).is_some())
    }

    pub(super) fn level(&self, expr: &ast::Expr) -> Option<Level> {
        match &expr.kind {
            ExprKind::Name(name) => {
                if self.is_value_name(&name.text) {
                    return None;
                }
                match self.scope.get(&name.text)? {
                    Symbol::Decl(kind, key) => Some(Level::Decl(*kind, key.clone())),
                    Symbol::Module(m) => Some(Level::Module(m.clone())),
                }
            }
            ExprKind::Field {
                receiver,
                name,
                safe: false,
            } => match self.level(receiver)? {
                Level::Module(m) => match module_decl(self.l.db, &m, &name.text)? {
                    Symbol::Decl(kind, key) => Some(Level::Decl(kind, key)),
                    Symbol::Module(_) => None,
                },
                Level::Decl(..) => None,
            },
            ExprKind::Paren(inner) => self.level(inner),
            _ => None,
        }
    }

    /// The type read off a constant's syntax, where the checker recorded none.
    pub fn constant_type(&self, expr: &ast::Expr) -> Option<Type> {
        Some(match &expr.kind {
            ExprKind::Int(_) => Type::Int,
            ExprKind::Float(_) => Type::Float,
            ExprKind::Bool(_) => Type::Bool,
            ExprKind::Null => Type::Null,
            ExprKind::Str(_) => Type::String,
            ExprKind::Duration { .. } => Type::Duration,
            ExprKind::Paren(inner) => self.constant_type(inner)?,
            ExprKind::List(items) => {
                let mut t = Type::Null;
                for item in items {
                    t = t.join(&self.constant_type(item)?)?;
                }
                Type::list(t)
            }
            ExprKind::Map(entries) => {
                let (mut k, mut v) = (Type::Null, Type::Null);
                for entry in entries {
                    let kt = match &entry.key {
                        MapKey::Name(_) => Type::String,
                        MapKey::Expr(e) => self.constant_type(e)?,
                    };
                    k = k.join(&kt)?;
                    v = v.join(&self.constant_type(&entry.value)?)?;
                }
                Type::map(k, v)
            }
            ExprKind::Field { receiver, .. } => match self.level(receiver)? {
                Level::Decl(DeclKind::Enum, key) => Type::Enum(key),
                _ => return None,
            },
            ExprKind::Call { callee, .. } => match self.level(callee)? {
                Level::Decl(DeclKind::Record, key) => Type::Record(key),
                _ => return None,
            },
            ExprKind::Unary {
                op: UnaryOp::Neg,
                operand,
            } => self.constant_type(operand)?,
            ExprKind::Unary {
                op: UnaryOp::Not, ..
            } => Type::Bool,
            ExprKind::Chain { first, links } => {
                let mut l = self.constant_type(first)?;
                for link in links {
                    let r = self.constant_type(&link.rhs)?;
                    l = match (link.op, &l, &r) {
                        (BinaryOp::Range | BinaryOp::RangeExclusive, _, _) => Type::list(Type::Int),
                        (
                            BinaryOp::Eq
                            | BinaryOp::Ne
                            | BinaryOp::Lt
                            | BinaryOp::Le
                            | BinaryOp::Gt
                            | BinaryOp::Ge
                            | BinaryOp::And
                            | BinaryOp::Or,
                            _,
                            _,
                        ) => Type::Bool,
                        (_, Type::Int, Type::Int) => Type::Int,
                        (_, Type::Float, Type::Int | Type::Float) | (_, Type::Int, Type::Float) => {
                            Type::Float
                        }
                        (_, Type::String, _) => Type::String,
                        (_, Type::Duration, _) | (_, Type::Int, Type::Duration) => Type::Duration,
                        (_, Type::List(_), _) | (_, Type::Map(..), _) => l.join(&r)?,
                        _ => return None,
                    };
                }
                l
            }
            _ => return None,
        })
    }

    pub fn expr(&mut self, expr: &ast::Expr) -> Lowered<ir::Expr> {
        if self.stack.exceeded() {
            return self.unsupported(expr.span, "an expression nested this deeply");
        }
        self.expr_kind(expr)
    }

    /// The paths nesting goes through, kept apart from the large match below so that
    /// each level of nesting costs a small stack frame.
    fn expr_kind(&mut self, expr: &ast::Expr) -> Lowered<ir::Expr> {
        match &expr.kind {
            ExprKind::Paren(inner) => self.expr(inner),
            ExprKind::Chain { first, links } => {
                let ty = self.read_type(expr)?;
                let ir_ty = self.ir_ty(expr.span, &ty)?;
                self.chain(first, links, ir_ty)
            }
            ExprKind::Call {
                callee,
                args,
                closure,
            } => {
                let ty = self.read_type(expr)?;
                let ir_ty = self.ir_ty(expr.span, &ty)?;
                self.call(expr, callee, args, closure.as_ref(), ir_ty)
            }
            _ => self.expr_other(expr),
        }
    }

    fn expr_other(&mut self, expr: &ast::Expr) -> Lowered<ir::Expr> {
        let ty = self.read_type(expr)?;
        let ir_ty = self.ir_ty(expr.span, &ty)?;
        let at = self.span(expr.span);
        Ok(match &expr.kind {
            ExprKind::Int(n) => e(ir::ExprKind::Const(ir::Const::Int(*n)), ir::Ty::Int),
            ExprKind::Float(f) => e(ir::ExprKind::Const(ir::Const::Float(f.0)), ir::Ty::Float),
            ExprKind::Bool(v) => e(ir::ExprKind::Const(ir::Const::Bool(*v)), ir::Ty::Bool),
            ExprKind::Null => e(ir::ExprKind::Const(ir::Const::Null), ir_ty),
            ExprKind::Duration { amount, unit } => {
                let ms = match amount {
                    Number::Int(n) => n.checked_mul(unit.millis()),
                    Number::Float(f) => {
                        let ms = (f.0 * unit.millis() as f64).round();
                        (ms.abs() < 9.0e18).then_some(ms as i64)
                    }
                };
                match ms {
                    Some(ms) => e(
                        ir::ExprKind::Const(ir::Const::Duration(ms)),
                        ir::Ty::Duration,
                    ),
                    None => return self.unsupported(expr.span, "a duration this long"),
                }
            }
            ExprKind::Str(s) => {
                if let Some(text) = s.as_plain() {
                    e(
                        ir::ExprKind::Const(ir::Const::Str(text.into())),
                        ir::Ty::String,
                    )
                } else {
                    let mut parts = Vec::new();
                    for part in &s.parts {
                        parts.push(match part {
                            StrPart::Text(t) => e(
                                ir::ExprKind::Const(ir::Const::Str(t.as_str().into())),
                                ir::Ty::String,
                            ),
                            StrPart::Expr(x) => self.expr(x)?,
                        });
                    }
                    e(ir::ExprKind::Format(parts), ir::Ty::String)
                }
            }
            ExprKind::Paren(inner) => self.expr(inner)?,
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.expr(item)?);
                }
                e(ir::ExprKind::List(out), ir_ty)
            }
            ExprKind::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for entry in entries {
                    let key = match &entry.key {
                        MapKey::Name(n) => e(
                            ir::ExprKind::Const(ir::Const::Str(n.text.as_str().into())),
                            ir::Ty::String,
                        ),
                        MapKey::Expr(k) => self.expr(k)?,
                    };
                    out.push((key, self.expr(&entry.value)?));
                }
                e(ir::ExprKind::Map(out), ir_ty)
            }
            ExprKind::Name(name) => {
                if let Some(slot) = self.local(&name.text) {
                    e(ir::ExprKind::Local(slot), ir_ty)
                } else if let Some(i) = self
                    .workflow
                    .as_ref()
                    .and_then(|w| w.inputs.iter().position(|f| f.name == name.text))
                {
                    e(ir::ExprKind::Input(i as u32), ir_ty)
                } else if let Some(i) = self
                    .workflow
                    .as_ref()
                    .and_then(|w| w.facts.iter().position(|f| f.name == name.text))
                {
                    e(ir::ExprKind::Fact(i as u32), ir_ty)
                } else {
                    return self.unsupported(expr.span, format!("the name `{}`", name.text));
                }
            }
            ExprKind::Field {
                receiver,
                name,
                safe,
            } => {
                if let Some(level) = self.level(receiver) {
                    let Level::Decl(DeclKind::Enum, key) = level else {
                        return self.unsupported(expr.span, "this declaration as a value");
                    };
                    let enum_id = self.enum_id(&key, expr.span)?;
                    let variants = crate::signatures::enum_sig(self.l.db, &key)
                        .map(|s| s.variants)
                        .unwrap_or_default();
                    let Some(variant) = variants.iter().position(|v| *v == name.text) else {
                        return self
                            .unsupported(expr.span, format!("the enum member `{}`", name.text));
                    };
                    return Ok(e(
                        ir::ExprKind::EnumValue {
                            enum_id,
                            variant: variant as u32,
                        },
                        ir_ty,
                    ));
                }
                let base = self.expr(receiver)?;
                let base_ty = self.read_type(receiver)?;
                let index = self.field_index(&base_ty.non_null(), &name.text, expr.span)?;
                self.maybe_safe(*safe, base, ir_ty, move |value, ty| {
                    e(
                        ir::ExprKind::Field {
                            base: b(value),
                            index,
                        },
                        ty,
                    )
                })?
            }
            ExprKind::Call {
                callee,
                args,
                closure,
            } => self.call(expr, callee, args, closure.as_ref(), ir_ty)?,
            ExprKind::Index { receiver, index } => {
                let base = self.expr(receiver)?;
                let key = self.expr(index)?;
                match &base.ty {
                    ir::Ty::List(_) => e(
                        ir::ExprKind::Index {
                            list: b(base),
                            index: b(key),
                            span: at,
                        },
                        ir_ty,
                    ),
                    ir::Ty::Map(..) => e(
                        ir::ExprKind::MapGet {
                            map: b(base),
                            key: b(key),
                        },
                        ir_ty,
                    ),
                    _ => return self.unsupported(expr.span, "indexing this value"),
                }
            }
            ExprKind::Unary { op, operand } => {
                let v = self.expr(operand)?;
                let op = match (op, &v.ty) {
                    (UnaryOp::Not, _) => ir::UnOp::Not,
                    (UnaryOp::Neg, ir::Ty::Int) => ir::UnOp::NegInt,
                    (UnaryOp::Neg, ir::Ty::Float) => ir::UnOp::NegFloat,
                    (UnaryOp::Neg, ir::Ty::Duration) => ir::UnOp::NegDuration,
                    _ => return self.unsupported(expr.span, "negating this value"),
                };
                e(
                    ir::ExprKind::Unary {
                        op,
                        operand: b(v),
                        span: at,
                    },
                    ir_ty,
                )
            }
            ExprKind::Chain { first, links } => self.chain(first, links, ir_ty)?,
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                let cond = self.expr(cond)?;
                let then = self.expr(then)?;
                let otherwise = self.expr(otherwise)?;
                e(
                    ir::ExprKind::If {
                        cond: b(cond),
                        then: value_block(then),
                        otherwise: value_block(otherwise),
                    },
                    ir_ty,
                )
            }
            ExprKind::If {
                branches,
                otherwise,
            } => match otherwise {
                Some(otherwise) => self.if_chain_value(branches, otherwise, ir_ty)?,
                None => {
                    return self.unsupported(expr.span, "an `if` without `else` as a value");
                }
            },
        })
    }

    /// `value.op` or, with `safe` on an optional value, `value?.op`.
    pub(super) fn maybe_safe(
        &mut self,
        safe: bool,
        value: ir::Expr,
        ty: ir::Ty,
        op: impl FnOnce(ir::Expr, ir::Ty) -> ir::Expr,
    ) -> Lowered<ir::Expr> {
        if !(safe && matches!(value.ty, ir::Ty::Optional(_) | ir::Ty::Null)) {
            return Ok(op(value, ty));
        }
        let inner_ty = match &value.ty {
            ir::Ty::Optional(t) => (**t).clone(),
            other => other.clone(),
        };
        let slot = self.new_slot("$receiver", inner_ty.clone());
        let then_ty = match &ty {
            ir::Ty::Optional(t) => (**t).clone(),
            other => other.clone(),
        };
        let then = op(e(ir::ExprKind::Local(slot), inner_ty), then_ty);
        Ok(e(
            ir::ExprKind::IfNotNull {
                value: b(value),
                slot,
                then: b(then),
            },
            ty,
        ))
    }

    pub(super) fn enum_id(&self, key: &DeclKey, span: Span) -> Lowered<ir::EnumId> {
        match self.l.ids.enums.get(key) {
            Some(id) => Ok(*id),
            None => self.unsupported(span, format!("the enum `{}`", key.name)),
        }
    }
}

impl BodyLower<'_, '_> {
    /// `l op r`, its operands lowered, at `span` (the operator's whole expression).
    pub(super) fn binary(
        &mut self,
        op: BinaryOp,
        l: ir::Expr,
        r: ir::Expr,
        ty: ir::Ty,
        span: Span,
    ) -> Lowered<ir::Expr> {
        let at = self.span(span);
        Ok(match op {
            BinaryOp::And => e(ir::ExprKind::And(b(l), b(r)), ir::Ty::Bool),
            BinaryOp::Or => e(ir::ExprKind::Or(b(l), b(r)), ir::Ty::Bool),
            BinaryOp::Elvis => e(
                ir::ExprKind::Elvis {
                    value: b(l),
                    otherwise: b(r),
                },
                ty,
            ),
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => {
                let (l, r) = widen_pair(l, r);
                let op = match op {
                    BinaryOp::Eq => ir::BinOp::Eq,
                    BinaryOp::Ne => ir::BinOp::Ne,
                    BinaryOp::Lt => ir::BinOp::Lt,
                    BinaryOp::Le => ir::BinOp::Le,
                    BinaryOp::Gt => ir::BinOp::Gt,
                    _ => ir::BinOp::Ge,
                };
                e(
                    ir::ExprKind::Binary {
                        op,
                        lhs: b(l),
                        rhs: b(r),
                        span: at,
                    },
                    ir::Ty::Bool,
                )
            }
            BinaryOp::In => {
                let (receiver, name) = match &r.ty {
                    ir::Ty::List(_) => (ir::Receiver::List, "contains"),
                    ir::Ty::Map(..) => (ir::Receiver::Map, "containsKey"),
                    _ => (ir::Receiver::String, "contains"),
                };
                e(
                    ir::ExprKind::Builtin {
                        receiver,
                        name: name.to_string(),
                        args: vec![r, l],
                        span: at,
                    },
                    ir::Ty::Bool,
                )
            }
            BinaryOp::Range | BinaryOp::RangeExclusive => e(
                ir::ExprKind::Range {
                    from: b(l),
                    to: b(r),
                    inclusive: op == BinaryOp::Range,
                    span: at,
                },
                ir::Ty::List(Box::new(ir::Ty::Int)),
            ),
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                self.arith(op, l, r, ty, span)?
            }
        })
    }

    /// An arithmetic operator, chosen by the operands' types.
    pub fn arith(
        &mut self,
        op: BinaryOp,
        l: ir::Expr,
        r: ir::Expr,
        ty: ir::Ty,
        span: Span,
    ) -> Lowered<ir::Expr> {
        let at = self.span(span);
        if op == BinaryOp::Add && l.ty == ir::Ty::String {
            return Ok(e(ir::ExprKind::Format(vec![l, r]), ir::Ty::String));
        }
        let Some(chosen) = arith_op(op, &l.ty, &r.ty) else {
            return self.unsupported(span, format!("`{}` on these operands", op.symbol()));
        };
        let float = matches!(
            chosen,
            ir::BinOp::FloatAdd
                | ir::BinOp::FloatSub
                | ir::BinOp::FloatMul
                | ir::BinOp::FloatDiv
                | ir::BinOp::FloatRem
        );
        // `2 * d` and `d + t` are `d * 2` and `t + d`: the IR's operations take the
        // `Duration` (of a product) and the `Time` (of a sum) on the left.
        let swap = matches!(
            (chosen, &l.ty),
            (ir::BinOp::DurationMulInt, ir::Ty::Int)
                | (ir::BinOp::TimeAddDuration, ir::Ty::Duration)
        );
        let (l, r, ty) = if float {
            (widen(l), widen(r), ir::Ty::Float)
        } else if swap {
            (r, l, ty)
        } else {
            (l, r, ty)
        };
        Ok(e(
            ir::ExprKind::Binary {
                op: chosen,
                lhs: b(l),
                rhs: b(r),
                span: at,
            },
            ty,
        ))
    }
}

/// The typed operation of an arithmetic operator on operands of these types; mixed
/// `Int`/`Float` operands choose the `Float` operation (the `Int` is widened).
pub(crate) fn arith_op(op: BinaryOp, l: &ir::Ty, r: &ir::Ty) -> Option<ir::BinOp> {
    use ir::BinOp as B;
    use ir::Ty as T;
    let numeric = |t: &T| matches!(t, T::Int | T::Float);
    Some(match (op, l, r) {
        (BinaryOp::Add, T::Int, T::Int) => B::IntAdd,
        (BinaryOp::Sub, T::Int, T::Int) => B::IntSub,
        (BinaryOp::Mul, T::Int, T::Int) => B::IntMul,
        (BinaryOp::Div, T::Int, T::Int) => B::IntDiv,
        (BinaryOp::Rem, T::Int, T::Int) => B::IntRem,
        (BinaryOp::Add, a, c) if numeric(a) && numeric(c) => B::FloatAdd,
        (BinaryOp::Sub, a, c) if numeric(a) && numeric(c) => B::FloatSub,
        (BinaryOp::Mul, a, c) if numeric(a) && numeric(c) => B::FloatMul,
        (BinaryOp::Div, a, c) if numeric(a) && numeric(c) => B::FloatDiv,
        (BinaryOp::Rem, a, c) if numeric(a) && numeric(c) => B::FloatRem,
        (BinaryOp::Add, T::List(_), T::List(_)) => B::ListConcat,
        (BinaryOp::Add, T::Map(..), T::Map(..)) => B::MapMerge,
        (BinaryOp::Add, T::Duration, T::Duration) => B::DurationAdd,
        (BinaryOp::Sub, T::Duration, T::Duration) => B::DurationSub,
        (BinaryOp::Mul, T::Duration, T::Int) | (BinaryOp::Mul, T::Int, T::Duration) => {
            B::DurationMulInt
        }
        (BinaryOp::Div, T::Duration, T::Int) => B::DurationDivInt,
        (BinaryOp::Add, T::Time, T::Duration) | (BinaryOp::Add, T::Duration, T::Time) => {
            B::TimeAddDuration
        }
        (BinaryOp::Sub, T::Time, T::Duration) => B::TimeSubDuration,
        (BinaryOp::Sub, T::Time, T::Time) => B::TimeSub,
        _ => return None,
    })
}

/// `Int` to `Float`; other values as they are.
pub(crate) fn widen(x: ir::Expr) -> ir::Expr {
    if x.ty == ir::Ty::Int {
        e(ir::ExprKind::IntToFloat(b(x)), ir::Ty::Float)
    } else {
        x
    }
}

/// Widens the `Int` of an `Int`/`Float` pair, so that comparisons see one type.
fn widen_pair(l: ir::Expr, r: ir::Expr) -> (ir::Expr, ir::Expr) {
    match (&l.ty, &r.ty) {
        (ir::Ty::Int, ir::Ty::Float) => (widen(l), r),
        (ir::Ty::Float, ir::Ty::Int) => (l, widen(r)),
        _ => (l, r),
    }
}
