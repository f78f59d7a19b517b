//! Lowering expressions: names to slots, facts and inputs; operators to typed
//! operations; calls to helpers, records, external functions and built-ins; closures to
//! loops.

use super::body::{BodyLower, Lowered};
use crate::builtins::{self, Returns};
use crate::scope::{DeclKind, Symbol, module_decl};
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::Span;
use cosmos_ir as ir;
use cosmos_syntax::ast::{self, BinaryOp, ExprKind, MapKey, Number, StrPart, UnaryOp};

/// A name or `module.Name` that denotes a declaration.
enum Level {
    Decl(DeclKind, DeclKey),
    Module(String),
}

fn e(kind: ir::ExprKind, ty: ir::Ty) -> ir::Expr {
    ir::Expr::new(kind, ty)
}

fn b(x: ir::Expr) -> Box<ir::Expr> {
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
        let mut lowered = self.expr(expr)?;
        if let Some(t) = expected
            && !matches!(t, Type::Optional(_) | Type::Json)
            && let Some(t) = self.l.ids.ty(t)
        {
            lowered.ty = t;
        }
        Ok(lowered)
    }

    fn is_value_name(&self, name: &str) -> bool {
        self.local(name).is_some()
            || self
                .workflow
                .as_ref()
                .is_some_and(|w| w.input(name).is_some() || w.fact(name).is_some())
    }

    fn level(&self, expr: &ast::Expr) -> Option<Level> {
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
            ExprKind::Binary { op, lhs, rhs } => {
                let (l, r) = (self.constant_type(lhs)?, self.constant_type(rhs)?);
                match (op, &l, &r) {
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
                }
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
            ExprKind::Binary { op, lhs, rhs } => {
                let ty = self.read_type(expr)?;
                let ir_ty = self.ir_ty(expr.span, &ty)?;
                self.binary(*op, lhs, rhs, ir_ty, expr.span)
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
                    e(ir::ExprKind::Const(ir::Const::Str(text)), ir::Ty::String)
                } else {
                    let mut parts = Vec::new();
                    for part in &s.parts {
                        parts.push(match part {
                            StrPart::Text(t) => e(
                                ir::ExprKind::Const(ir::Const::Str(t.clone())),
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
                            ir::ExprKind::Const(ir::Const::Str(n.text.clone())),
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
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, ir_ty, expr.span)?,
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
                cond,
                then,
                otherwise,
            } => {
                let cond = self.expr(cond)?;
                let then = self.block(then, true)?;
                let otherwise = match otherwise.as_deref() {
                    Some(ast::Else::Block(blk)) => self.block(blk, true)?,
                    Some(ast::Else::If(x)) => ir::Block {
                        stmts: Vec::new(),
                        value: Some(Box::new(self.expr(x)?)),
                    },
                    None => {
                        return self.unsupported(expr.span, "an `if` without `else` as a value");
                    }
                };
                e(
                    ir::ExprKind::If {
                        cond: b(cond),
                        then: Box::new(then),
                        otherwise: Box::new(otherwise),
                    },
                    ir_ty,
                )
            }
        })
    }

    /// `value.op` or, with `safe` on an optional value, `value?.op`.
    fn maybe_safe(
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

    fn enum_id(&self, key: &DeclKey, span: Span) -> Lowered<ir::EnumId> {
        match self.l.ids.enums.get(key) {
            Some(id) => Ok(*id),
            None => self.unsupported(span, format!("the enum `{}`", key.name)),
        }
    }

    /// Arguments by parameter slot, named or positional.
    fn by_param<'a>(params: &[String], args: &'a [ast::Arg]) -> Vec<Option<&'a ast::Expr>> {
        let mut out = vec![None; params.len()];
        for (i, arg) in args.iter().enumerate() {
            let slot = match &arg.name {
                Some(n) => params.iter().position(|p| *p == n.text),
                None => Some(i),
            };
            if let Some(target) = slot.and_then(|s| out.get_mut(s)) {
                *target = Some(&arg.value);
            }
        }
        out
    }

    fn args(&mut self, params: &[String], args: &[ast::Arg]) -> Lowered<Vec<Option<ir::Expr>>> {
        let mut out = Vec::new();
        for arg in Self::by_param(params, args) {
            out.push(match arg {
                Some(x) => Some(self.expr(x)?),
                None => None,
            });
        }
        Ok(out)
    }

    fn call_decl(
        &mut self,
        kind: DeclKind,
        key: DeclKey,
        expr: &ast::Expr,
        args: &[ast::Arg],
        ty: ir::Ty,
    ) -> Lowered<ir::Expr> {
        let db = self.l.db;
        let at = self.span(expr.span);
        match kind {
            DeclKind::Record => {
                let Some(record) = self.l.ids.records.get(&key).copied() else {
                    return self.unsupported(expr.span, format!("the type `{}`", key.name));
                };
                let params = self
                    .l
                    .ids
                    .record_fields
                    .get(&key)
                    .cloned()
                    .unwrap_or_default();
                let fields = self.args(&params, args)?;
                Ok(e(ir::ExprKind::Record { record, fields }, ty))
            }
            DeclKind::Def => {
                let Some(helper) = self.l.ids.helpers.get(&key).copied() else {
                    return self.unsupported(expr.span, format!("the helper `{}`", key.name));
                };
                let params: Vec<String> = crate::signatures::def_sig(db, &key)
                    .map(|s| s.params.into_iter().map(|p| p.name).collect())
                    .unwrap_or_default();
                let args = self.args(&params, args)?;
                Ok(e(
                    ir::ExprKind::CallHelper {
                        helper,
                        args,
                        span: at,
                    },
                    ty,
                ))
            }
            DeclKind::Function => {
                let Some(function) = self.l.ids.functions.get(&key).copied() else {
                    return self.unsupported(expr.span, format!("the function `{}`", key.name));
                };
                let params: Vec<String> = crate::signatures::function_sig(db, &key)
                    .map(|s| s.params.into_iter().map(|p| p.name).collect())
                    .unwrap_or_default();
                let mut out = Vec::new();
                for arg in self.args(&params, args)? {
                    match arg {
                        Some(a) => out.push(a),
                        None => {
                            return self
                                .unsupported(expr.span, "a function call with a missing argument");
                        }
                    }
                }
                Ok(e(
                    ir::ExprKind::Call {
                        function,
                        args: out,
                    },
                    ty,
                ))
            }
            DeclKind::Enum | DeclKind::Workflow => {
                self.unsupported(expr.span, "calling this declaration")
            }
        }
    }

    /// `log`, `complete`, `fail` and `retry` as statements, or `None` for other calls.
    pub fn effect(&mut self, expr: &ast::Expr) -> Lowered<Option<ir::Stmt>> {
        let ExprKind::Call { callee, args, .. } = &expr.kind else {
            return Ok(None);
        };
        let ExprKind::Name(name) = &callee.kind else {
            return Ok(None);
        };
        if self.is_value_name(&name.text) || self.scope.get(&name.text).is_some() {
            return Ok(None);
        }
        let first = match args.first() {
            Some(a) => Some(self.expr(&a.value)?),
            None => None,
        };
        Ok(match (name.text.as_str(), first) {
            ("log", Some(m)) => Some(ir::Stmt::Log(m)),
            ("fail", Some(m)) => Some(ir::Stmt::Fail(m)),
            ("complete", v) => Some(ir::Stmt::Complete(v)),
            ("retry", v) => Some(ir::Stmt::Retry(v)),
            _ => None,
        })
    }

    fn call(
        &mut self,
        expr: &ast::Expr,
        callee: &ast::Expr,
        args: &[ast::Arg],
        closure: Option<&ast::Closure>,
        ty: ir::Ty,
    ) -> Lowered<ir::Expr> {
        match &callee.kind {
            ExprKind::Name(name) => {
                if self.is_value_name(&name.text)
                    && let Some(Symbol::Decl(kind, key)) = self.scope.get(&name.text).cloned()
                {
                    return self.call_decl(kind, key, expr, args, ty);
                }
                if let Some(level) = self.level(callee) {
                    return match level {
                        Level::Decl(kind, key) => self.call_decl(kind, key, expr, args, ty),
                        Level::Module(_) => self.unsupported(expr.span, "calling a module"),
                    };
                }
                if let Some(effect) = self.effect(expr)? {
                    let ty = if matches!(effect, ir::Stmt::Log(_)) {
                        ir::Ty::Unit
                    } else {
                        ir::Ty::Never
                    };
                    return Ok(e(
                        ir::ExprKind::Block(Box::new(ir::Block {
                            stmts: vec![effect],
                            value: None,
                        })),
                        ty,
                    ));
                }
                let at = self.span(expr.span);
                let mut values = Vec::new();
                for a in args {
                    values.push(self.expr(&a.value)?);
                }
                // `fired(rule)` in a test's assert: the count, from the fired map.
                if name.text == "fired"
                    && let Some(map) = self.local(super::test::FIRED)
                    && let Some(rule) = values.pop()
                {
                    let int_map = ir::Ty::Map(Box::new(ir::Ty::String), Box::new(ir::Ty::Int));
                    let count = e(
                        ir::ExprKind::MapGet {
                            map: b(e(ir::ExprKind::Local(map), int_map)),
                            key: b(rule),
                        },
                        ir::Ty::Optional(Box::new(ir::Ty::Int)),
                    );
                    return Ok(e(
                        ir::ExprKind::Elvis {
                            value: b(count),
                            otherwise: b(e(ir::ExprKind::Const(ir::Const::Int(0)), ir::Ty::Int)),
                        },
                        ir::Ty::Int,
                    ));
                }
                match name.text.as_str() {
                    "now" => Ok(e(ir::ExprKind::Now, ir::Ty::Time)),
                    "sleep" => match values.pop() {
                        Some(d) => Ok(e(ir::ExprKind::Sleep(b(d)), ty)),
                        None => self.unsupported(expr.span, "`sleep` without a duration"),
                    },
                    "min" | "max" => {
                        if ty == ir::Ty::Float {
                            values = values.into_iter().map(widen).collect();
                        }
                        Ok(e(
                            ir::ExprKind::Builtin {
                                receiver: ir::Receiver::Global,
                                name: name.text.clone(),
                                args: values,
                                span: at,
                            },
                            ty,
                        ))
                    }
                    other => self.unsupported(expr.span, format!("the call `{other}(…)`")),
                }
            }
            ExprKind::Field {
                receiver,
                name,
                safe,
            } => {
                if let Some(level) = self.level(receiver) {
                    return match level {
                        Level::Decl(DeclKind::Enum, key) if name.text == "valueOf" => {
                            let enum_id = self.enum_id(&key, expr.span)?;
                            let Some(arg) = args.first() else {
                                return self.unsupported(expr.span, "`valueOf` without a name");
                            };
                            let s = self.expr(&arg.value)?;
                            Ok(e(
                                ir::ExprKind::EnumValueOf {
                                    enum_id,
                                    name: b(s),
                                },
                                ty,
                            ))
                        }
                        Level::Module(m) => match module_decl(self.l.db, &m, &name.text) {
                            Some(Symbol::Decl(kind, key)) => {
                                self.call_decl(kind, key, expr, args, ty)
                            }
                            _ => self.unsupported(expr.span, "this call"),
                        },
                        Level::Decl(..) => self.unsupported(expr.span, "this call"),
                    };
                }
                self.method(expr, receiver, &name.text, *safe, args, closure, ty)
            }
            _ => self.unsupported(expr.span, "calling this expression"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn method(
        &mut self,
        expr: &ast::Expr,
        receiver: &ast::Expr,
        name: &str,
        safe: bool,
        args: &[ast::Arg],
        closure: Option<&ast::Closure>,
        ty: ir::Ty,
    ) -> Lowered<ir::Expr> {
        let at = self.span(expr.span);
        let this = self.expr(receiver)?;
        let base = self.read_type(receiver)?.non_null();
        let receiver_kind = match &base {
            Type::String => ir::Receiver::String,
            Type::List(_) => ir::Receiver::List,
            Type::Map(..) => ir::Receiver::Map,
            Type::Int => ir::Receiver::Int,
            Type::Float => ir::Receiver::Float,
            Type::Enum(_) => ir::Receiver::Enum,
            other => return self.unsupported(expr.span, format!("a method of `{other}`")),
        };
        // The method's own result type, before `?.` makes it optional.
        let inner_ty =
            match builtins::method_type(&base, name, closure.is_some()).map(|m| m.returns) {
                Some(Returns::Fixed(t)) if safe => self.ir_ty(expr.span, &t)?,
                _ => ty.clone(),
            };
        let method = builtins::method_type(&base, name, closure.is_some());
        let params: Vec<String> = method
            .as_ref()
            .map(|m| m.params.iter().map(|p| p.name.to_string()).collect())
            .unwrap_or_default();
        let mut values = Vec::new();
        for a in Self::by_param(&params, args).into_iter().flatten() {
            values.push(self.expr(a)?);
        }
        let loop_parts = match closure {
            Some(c) => {
                let kind = match (receiver_kind, name) {
                    (ir::Receiver::List, "any") => ir::LoopKind::Any,
                    (ir::Receiver::List, "every") => ir::LoopKind::Every,
                    (ir::Receiver::List, "find") => ir::LoopKind::Find,
                    (ir::Receiver::List, "findAll") => ir::LoopKind::FindAll,
                    (ir::Receiver::List, "collect") => ir::LoopKind::Collect,
                    (ir::Receiver::List, "count") => ir::LoopKind::Count,
                    (ir::Receiver::List, "sum") => ir::LoopKind::Sum,
                    (ir::Receiver::List, "sortBy") => ir::LoopKind::SortBy,
                    (ir::Receiver::List, "each") => ir::LoopKind::Each,
                    (ir::Receiver::List, "eachWithIndex") => ir::LoopKind::EachWithIndex,
                    (ir::Receiver::Map, "each") => ir::LoopKind::MapEach,
                    (ir::Receiver::Map, "any") => ir::LoopKind::MapAny,
                    (ir::Receiver::Map, "findAll") => ir::LoopKind::MapFindAll,
                    (ir::Receiver::Map, "collect") => ir::LoopKind::MapCollect,
                    _ => return self.unsupported(expr.span, format!("a closure for `{name}`")),
                };
                let param_types: Vec<Type> = method
                    .as_ref()
                    .and_then(|m| m.closure.clone())
                    .map(|(p, _)| p)
                    .unwrap_or_default();
                let mark = self.names.len();
                let mut slots = Vec::new();
                let names: Vec<String> = if c.params.is_empty() {
                    vec!["it".to_string()]
                } else {
                    c.params.iter().map(|p| p.text.clone()).collect()
                };
                for (i, n) in names.iter().enumerate() {
                    let t = param_types.get(i).cloned().unwrap_or(Type::Error);
                    let t = self.ir_ty(c.span, &t)?;
                    slots.push(self.bind(n, t));
                }
                let want_value = !matches!(
                    kind,
                    ir::LoopKind::Each | ir::LoopKind::EachWithIndex | ir::LoopKind::MapEach
                );
                let body = self.block(&c.body, want_value)?;
                self.names.truncate(mark);
                Some((kind, slots, body))
            }
            None => None,
        };
        let receiver_name = name.to_string();
        self.maybe_safe(safe, this, ty, move |value, _| match loop_parts {
            Some((kind, params, body)) => e(
                ir::ExprKind::Loop {
                    kind,
                    source: b(value),
                    params,
                    body: Box::new(body),
                    span: at,
                },
                inner_ty,
            ),
            None => {
                let mut all = vec![value];
                all.extend(values);
                e(
                    ir::ExprKind::Builtin {
                        receiver: receiver_kind,
                        name: receiver_name,
                        args: all,
                        span: at,
                    },
                    inner_ty,
                )
            }
        })
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        ty: ir::Ty,
        span: Span,
    ) -> Lowered<ir::Expr> {
        let at = self.span(span);
        let l = self.expr(lhs)?;
        let r = self.expr(rhs)?;
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
        let (l, r, ty) = if float {
            (widen(l), widen(r), ir::Ty::Float)
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
