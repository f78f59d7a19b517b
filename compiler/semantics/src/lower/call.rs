//! Lowering calls: arguments by parameter, helpers (`def`s), records, external
//! functions (an action's calls), effects, and built-in methods.

use super::body::{BodyLower, Lowered};
use super::expr::{Level, b, e, widen};
use crate::builtins::{self, Returns};
use crate::scope::{DeclKind, Symbol, module_decl};
use crate::types::{DeclKey, Type};
use cosmos_ir as ir;
use cosmos_syntax::ast::{self, ExprKind};

impl BodyLower<'_, '_> {
    /// Arguments by parameter slot, named or positional.
    pub(super) fn by_param<'a>(
        params: &[String],
        args: &'a [ast::Arg],
    ) -> Vec<Option<&'a ast::Expr>> {
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

    pub(super) fn args(
        &mut self,
        params: &[String],
        args: &[ast::Arg],
    ) -> Lowered<Vec<Option<ir::Expr>>> {
        let mut out = Vec::new();
        for arg in Self::by_param(params, args) {
            out.push(match arg {
                Some(x) => Some(self.expr(x)?),
                None => None,
            });
        }
        Ok(out)
    }

    pub(super) fn call_decl(
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
            DeclKind::Workflow => {
                let Some(workflow) = self.l.ids.workflows.get(&key).copied() else {
                    return self.unsupported(expr.span, format!("the workflow `{}`", key.name));
                };
                let params: Vec<String> = crate::signatures::workflow_sig(db, &key)
                    .map(|s| s.inputs.into_iter().map(|p| p.name).collect())
                    .unwrap_or_default();
                let args = self.args(&params, args)?;
                Ok(e(ir::ExprKind::Child { workflow, args }, ty))
            }
            DeclKind::Enum => self.unsupported(expr.span, "calling this declaration"),
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

    pub(super) fn call(
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
                    "settle" => match values.pop() {
                        Some(calls) => Ok(e(ir::ExprKind::Settle(b(calls)), ty)),
                        None => self.unsupported(expr.span, "`settle` without calls"),
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
    pub(super) fn method(
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
            Type::Duration => ir::Receiver::Duration,
            Type::Time => ir::Receiver::Time,
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
}
