//! Calls: helpers, external functions, record construction, built-in methods and
//! functions, and the closures they take.

use super::expr::TypeLevel;
use super::{BodyKind, Checker, Link, LocalKind, NameRef};
use crate::builtins::{self, ClosureReturn, MethodType, Returns};
use crate::scope::DeclKind;
use crate::signatures::{FieldSig, def_sig, function_sig, record_sig, workflow_sig};
use crate::suggest::{did_you_mean, offer_name};
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::{Code, Span, Suggestion, words};
use cosmos_syntax::ast::{Arg, Closure, Expr, ExprKind};

/// Built-in free functions, resolved when no declaration of the name is in scope.
const GLOBALS: &[&str] = &[
    "min", "max", "now", "log", "sleep", "settle", "complete", "fail", "retry", "fired",
];

impl Checker<'_> {
    pub(crate) fn check_call(
        &mut self,
        expr: &Expr,
        callee: &Expr,
        args: &[Arg],
        closure: Option<&Closure>,
        expected: Option<&Type>,
    ) -> Type {
        match &callee.kind {
            ExprKind::Name(name) => {
                let value = self.locals.iter().any(|l| l.name == name.text)
                    || [&self.cx.workflow, &self.test.workflow]
                        .into_iter()
                        .flatten()
                        .any(|w| w.input(&name.text).is_some() || w.fact(&name.text).is_some());
                // Values are never callable, so a call looks past a local or fact of the
                // same name to the declaration (as Kotlin does for properties).
                if value
                    && let Some(crate::scope::Symbol::Decl(kind, key)) =
                        self.cx.scope.get(&name.text).cloned()
                {
                    self.out.used.insert(name.text.clone());
                    self.link(name.span, Link::Decl(key.clone()));
                    return self.call_decl(
                        TypeLevel::Decl(kind, key),
                        expr,
                        callee.span,
                        args,
                        closure,
                    );
                }
                if value {
                    self.error(
                        Code::NOT_CALLABLE,
                        callee.span,
                        format!(
                            "`{}` is a value, not something that can be called",
                            name.text
                        ),
                    );
                    self.check_args_loosely(args, closure);
                    return Type::Error;
                }
                if let Some(level) = self.type_level(callee) {
                    return self.call_decl(level, expr, callee.span, args, closure);
                }
                if GLOBALS.contains(&name.text.as_str()) {
                    self.link(name.span, Link::Builtin(name.text.clone()));
                    return self.call_global(
                        &name.text,
                        expr.span,
                        callee.span,
                        args,
                        closure,
                        expected,
                    );
                }
                if self.lookup(&name.text).is_none() {
                    self.unknown_name(&name.text, name.span);
                }
                self.check_args_loosely(args, closure);
                Type::Error
            }
            ExprKind::Field {
                receiver,
                name,
                safe,
            } => {
                if let Some(level) = self.type_level(receiver) {
                    if let TypeLevel::Decl(DeclKind::Enum, key) = &level {
                        if name.text == "valueOf" {
                            let params = [FieldSig {
                                name: "s".to_string(),
                                ty: Type::String,
                                has_default: false,
                            }];
                            self.match_args(
                                &params,
                                args,
                                expr.span,
                                "valueOf",
                                Code::ARGUMENT_COUNT,
                            );
                            self.no_closure(closure, "valueOf");
                            return Type::optional(Type::Enum(key.clone()));
                        }
                        self.error(
                            Code::UNKNOWN_METHOD,
                            name.span,
                            format!("enum `{}` has no function `{}`", key.name, name.text),
                        )
                        .notes
                        .push(
                            "enum types have `valueOf(s)`; their members have `name()`".to_string(),
                        );
                        self.check_args_loosely(args, closure);
                        return Type::Error;
                    }
                    if let TypeLevel::Module(module) = &level {
                        if let Some(crate::scope::Symbol::Decl(kind, key)) =
                            crate::scope::module_decl(self.db, module, &name.text)
                        {
                            return self.call_decl(
                                TypeLevel::Decl(kind, key),
                                expr,
                                callee.span,
                                args,
                                closure,
                            );
                        }
                        self.error(
                            Code::UNKNOWN_NAME,
                            name.span,
                            format!("module `{module}` has no `{}`", name.text),
                        );
                        self.check_args_loosely(args, closure);
                        return Type::Error;
                    }
                    self.error(Code::NOT_CALLABLE, callee.span, "this cannot be called");
                    self.check_args_loosely(args, closure);
                    return Type::Error;
                }
                self.call_method(
                    receiver, &name.text, name.span, *safe, args, closure, expr.span,
                )
            }
            _ => {
                self.check_expr(callee, None);
                self.error(Code::NOT_CALLABLE, callee.span, "this cannot be called");
                self.check_args_loosely(args, closure);
                Type::Error
            }
        }
    }

    /// Checks arguments without a signature, so that errors inside them are still found.
    fn check_args_loosely(&mut self, args: &[Arg], closure: Option<&Closure>) {
        for arg in args {
            self.check_expr(&arg.value, None);
        }
        if let Some(closure) = closure {
            let mark = self.locals.len();
            for p in &closure.params {
                self.define(&p.text, Type::Error, p.span, LocalKind::ReadOnly);
            }
            if closure.params.is_empty() {
                self.define("it", Type::Error, closure.span, LocalKind::ReadOnly);
            }
            self.check_block(&closure.body, false, None);
            self.pop_locals(mark);
        }
    }

    fn no_closure(&mut self, closure: Option<&Closure>, what: &str) {
        if let Some(closure) = closure {
            self.error(
                Code::CLOSURE_MISUSE,
                closure.span,
                format!("`{what}` does not take a closure"),
            );
            self.check_args_loosely(&[], Some(closure));
        }
    }

    /// Matches arguments to parameters: positional first, then named.
    pub(crate) fn match_args(
        &mut self,
        params: &[FieldSig],
        args: &[Arg],
        call_span: Span,
        what: &str,
        missing_code: Code,
    ) {
        let mut given = vec![false; params.len()];
        let mut seen_named = false;
        for (index, arg) in args.iter().enumerate() {
            let slot = match &arg.name {
                None => {
                    if seen_named {
                        self.error(
                            Code::ARGUMENT_COUNT,
                            arg.value.span,
                            "positional arguments must come before named ones",
                        );
                        self.check_expr(&arg.value, None);
                        continue;
                    }
                    if index >= params.len() {
                        self.error(
                            Code::ARGUMENT_COUNT,
                            arg.value.span,
                            format!(
                                "`{what}` takes {}, but more were given",
                                words::count(params.len(), "argument")
                            ),
                        );
                        self.check_expr(&arg.value, None);
                        continue;
                    }
                    index
                }
                Some(name) => {
                    seen_named = true;
                    match params.iter().position(|p| p.name == name.text) {
                        Some(slot) => slot,
                        None => {
                            // A name written elsewhere in the call would be given twice.
                            let unwritten = params.iter().map(|p| p.name.as_str()).filter(|p| {
                                !args
                                    .iter()
                                    .any(|a| a.name.as_ref().is_some_and(|n| n.text == *p))
                            });
                            let suggestion =
                                did_you_mean(&name.text, unwritten).map(str::to_string);
                            let diagnostic = self.error(
                                Code::UNKNOWN_ARGUMENT,
                                name.span,
                                format!("`{what}` has no parameter `{}`", name.text),
                            );
                            match suggestion {
                                Some(s) => offer_name(diagnostic, &s),
                                None => diagnostic.notes.push(format!(
                                    "its parameters are {}",
                                    params
                                        .iter()
                                        .map(|p| format!("`{}`", p.name))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )),
                            }
                            self.check_expr(&arg.value, None);
                            continue;
                        }
                    }
                }
            };
            let Some(param) = params.get(slot) else {
                continue;
            };
            if given.get(slot).copied().unwrap_or(false) {
                self.error(
                    Code::UNKNOWN_ARGUMENT,
                    arg.value.span,
                    format!("`{}` is given twice", param.name),
                );
            }
            if let Some(flag) = given.get_mut(slot) {
                *flag = true;
            }
            let ty = param.ty.clone();
            self.check_expected(&arg.value, &ty);
        }
        let missing: Vec<&FieldSig> = params
            .iter()
            .zip(&given)
            .filter(|(p, given)| !**given && !p.has_default)
            .map(|(p, _)| p)
            .collect();
        if !missing.is_empty() {
            let names = missing
                .iter()
                .map(|p| format!("`{}: {}`", p.name, p.ty))
                .collect::<Vec<_>>()
                .join(", ");
            self.error(
                missing_code,
                call_span,
                format!("`{what}` is missing {names}"),
            );
        }
    }

    fn call_decl(
        &mut self,
        level: TypeLevel,
        expr: &Expr,
        callee_span: Span,
        args: &[Arg],
        closure: Option<&Closure>,
    ) -> Type {
        let TypeLevel::Decl(kind, key) = level else {
            self.error(Code::NOT_CALLABLE, callee_span, "a module cannot be called");
            self.check_args_loosely(args, closure);
            return Type::Error;
        };
        if key.name.is_empty() {
            self.check_args_loosely(args, closure);
            return Type::Error;
        }
        match kind {
            DeclKind::Record => {
                let sig = record_sig(self.db, &key).unwrap_or_default();
                self.match_args(&sig.fields, args, expr.span, &key.name, Code::MISSING_FIELD);
                self.no_closure(closure, &key.name);
                Type::Record(key)
            }
            DeclKind::Def => {
                if self.in_setting {
                    self.error(
                        Code::INVALID_SETTING,
                        expr.span,
                        format!("a setting cannot call the helper `{}`", key.name),
                    )
                    .notes
                    .push("a setting is a constant that `cosmosc compile` evaluates before any helper exists: write its value with literals, operators and built-in methods".to_string());
                }
                let Some(sig) = def_sig(self.db, &key) else {
                    return Type::Error;
                };
                self.match_args(
                    &sig.params,
                    args,
                    expr.span,
                    &key.name,
                    Code::ARGUMENT_COUNT,
                );
                self.no_closure(closure, &key.name);
                sig.ret
            }
            DeclKind::Function => {
                let Some(sig) = function_sig(self.db, &key) else {
                    return Type::Error;
                };
                self.match_args(
                    &sig.params,
                    args,
                    expr.span,
                    &key.name,
                    Code::ARGUMENT_COUNT,
                );
                self.no_closure(closure, &key.name);
                self.out.calls_function = true;
                if self.cx.kind != BodyKind::Action {
                    self.function_outside_action(&key.name, callee_span);
                    return Type::Error;
                }
                Type::Call(Box::new(sig.ret))
            }
            DeclKind::Enum => {
                self.error(
                    Code::NOT_CALLABLE,
                    callee_span,
                    format!(
                        "enum `{}` cannot be called: write a member, such as `{}.A`",
                        key.name, key.name
                    ),
                );
                self.check_args_loosely(args, closure);
                Type::Error
            }
            DeclKind::Workflow => self.call_workflow(key, expr, callee_span, args, closure),
        }
    }

    /// A workflow called as a child (LANGUAGE.md 10.6): its inputs by name, a
    /// `Call<O>` of its output type, in an `action` only.
    fn call_workflow(
        &mut self,
        key: DeclKey,
        expr: &Expr,
        callee_span: Span,
        args: &[Arg],
        closure: Option<&Closure>,
    ) -> Type {
        let Some(sig) = workflow_sig(self.db, &key) else {
            self.check_args_loosely(args, closure);
            return Type::Error;
        };
        if self.cx.kind != BodyKind::Action {
            let kind = self.cx.kind;
            let diagnostic = self.error(
                Code::FUNCTION_CALL_OUTSIDE_ACTION,
                callee_span,
                format!(
                    "workflow `{}` runs as a child instance and can only be called in a rule's `action`, not in {}",
                    key.name,
                    kind.describe()
                ),
            );
            if kind == BodyKind::Test {
                diagnostic.notes.push(format!(
                    "a test starts an instance with `start {}(…)`",
                    key.name
                ));
            }
            self.check_args_loosely(args, closure);
            return Type::Error;
        }
        self.out.calls_function = true;
        self.out.children.push((expr.span, key.clone()));
        let mut named = Vec::with_capacity(args.len());
        for arg in args {
            if arg.name.is_none() {
                let diagnostic = self.error(
                    Code::CHILD_INPUT_BY_POSITION,
                    arg.value.span,
                    format!(
                        "the inputs of workflow `{}` are given by name, not by position",
                        key.name
                    ),
                );
                let names: Vec<String> =
                    sig.inputs.iter().map(|f| format!("`{}`", f.name)).collect();
                diagnostic.notes.push(if names.is_empty() {
                    format!(
                        "workflow `{}` has no inputs: call it as `{}()`",
                        key.name, key.name
                    )
                } else {
                    format!("write `name: value`; its inputs are {}", names.join(", "))
                });
                self.check_expr(&arg.value, None);
            } else {
                named.push(arg.clone());
            }
        }
        self.match_args(
            &sig.inputs,
            &named,
            expr.span,
            &key.name,
            Code::MISSING_FIELD,
        );
        self.no_closure(closure, &key.name);
        Type::Call(Box::new(sig.output_type()))
    }

    fn function_outside_action(&mut self, name: &str, span: Span) {
        let kind = self.cx.kind;
        let diagnostic = self.error(
            Code::FUNCTION_CALL_OUTSIDE_ACTION,
            span,
            format!("`{name}` runs as an external process and can only be called in a rule's `action`, not in {}", kind.describe()),
        );
        if kind == BodyKind::Def {
            diagnostic
                .notes
                .push("helpers are pure: call the function from an `action` and pass its result to the helper in the reaction".to_string());
        } else if kind == BodyKind::Reaction {
            diagnostic.notes.push(
                "add a rule whose `action` calls it, matching on the facts this reaction sets"
                    .to_string(),
            );
        }
    }

    /// `settle(calls)`: a `List<Call<T>>` becomes one `Call<List<Outcome<T>>>`.
    fn check_settle(&mut self, args: &[Arg], span: Span, callee_span: Span) -> Type {
        self.out.calls_function = true;
        let in_action = self.cx.kind == BodyKind::Action;
        if !in_action {
            self.context_error(
                Code::FUNCTION_CALL_OUTSIDE_ACTION,
                callee_span,
                "settle",
                "a rule's `action`",
            );
        }
        let [arg] = args else {
            self.error(
                Code::ARGUMENT_COUNT,
                span,
                format!(
                    "`settle` takes 1 argument, a list of calls, but {} {} given",
                    args.len(),
                    words::was_were(args.len())
                ),
            );
            self.check_args_loosely(args, None);
            return Type::Error;
        };
        if let Some(name) = arg.name.as_ref().filter(|n| n.text != "calls") {
            self.error(
                Code::UNKNOWN_ARGUMENT,
                name.span,
                format!(
                    "`settle` has no parameter `{}`; its one parameter is `calls`",
                    name.text
                ),
            );
        }
        let ty = self.check_expr(&arg.value, None);
        let element = match &ty {
            Type::List(element) => match &**element {
                Type::Call(t) => Some((**t).clone()),
                t if t.is_bottom() => return Type::Error,
                _ => None,
            },
            t if t.is_bottom() => return Type::Error,
            _ => None,
        };
        let Some(element) = element else {
            let diagnostic = self.error(
                Code::TYPE_MISMATCH,
                arg.value.span,
                format!("`settle` takes a list of calls, `List<Call<T>>`; this is `{ty}`"),
            );
            if matches!(ty, Type::Call(_)) {
                diagnostic
                    .notes
                    .push("to settle one call, put it in a list: `settle([call])`".to_string());
            }
            return Type::Error;
        };
        if is_settled(&element) {
            self.error(
                Code::CALL_MISUSE,
                arg.value.span,
                "a `settle` cannot be settled again: give `settle` the calls themselves",
            );
            return Type::Error;
        }
        if !in_action {
            return Type::Error;
        }
        Type::Call(Box::new(Type::list(Type::Outcome(Box::new(element)))))
    }

    fn context_error(&mut self, code: Code, span: Span, what: &str, allowed: &str) {
        let kind = self.cx.kind;
        self.error(
            code,
            span,
            format!(
                "`{what}` is not allowed in {}; it belongs in {allowed}",
                kind.describe()
            ),
        );
    }

    fn call_global(
        &mut self,
        name: &str,
        span: Span,
        callee_span: Span,
        args: &[Arg],
        closure: Option<&Closure>,
        _expected: Option<&Type>,
    ) -> Type {
        self.no_closure(closure, name);
        let param = |name: &str, ty: Type| FieldSig {
            name: name.to_string(),
            ty,
            has_default: false,
        };
        match name {
            "now" => {
                self.match_args(&[], args, span, name, Code::ARGUMENT_COUNT);
                if self.cx.kind == BodyKind::Match && self.now_operand.take() != Some(span) {
                    let diagnostic = self.error(
                        Code::NOW_OUTSIDE_COMPARISON,
                        span,
                        "`now()` in a `match` must be one side of a comparison `<`, `<=`, `>` or `>=` whose other side is a `Time` that does not call `now()`".to_string(),
                    );
                    diagnostic.notes.push(
                        "the runtime wakes the instance when `now()` passes the other side's value (the threshold), so the match must compare `now()` with it directly: write `now() >= asked + 2.h`, not `now() - asked >= 2.h`".to_string(),
                    );
                }
                Type::Time
            }
            "min" | "max" => {
                if args.len() != 2 {
                    self.error(
                        Code::ARGUMENT_COUNT,
                        span,
                        format!(
                            "`{name}` takes 2 arguments, {} {} given",
                            args.len(),
                            words::was_were(args.len())
                        ),
                    );
                    self.check_args_loosely(args, None);
                    return Type::Error;
                }
                let types: Vec<Type> = args
                    .iter()
                    .map(|a| self.check_expr(&a.value, None))
                    .collect();
                match (&types[0], &types[1]) {
                    (a, b) if a.is_bottom() || b.is_bottom() => Type::Error,
                    (Type::Int, Type::Int) => Type::Int,
                    (a, b) if a.is_numeric() && b.is_numeric() => Type::Float,
                    (a, b) if a == b && a.is_comparable() => a.clone(),
                    (a, b) => {
                        self.error(
                            Code::INVALID_OPERANDS,
                            span,
                            format!("`{name}` needs two numbers, or two values of one ordered type; found `{a}` and `{b}`"),
                        );
                        Type::Error
                    }
                }
            }
            "log" => {
                if !self.cx.kind.is_handler() {
                    self.context_error(
                        Code::EFFECT_OUTSIDE_HANDLER,
                        callee_span,
                        "log",
                        "a `reaction`, an `error` block or a signal handler",
                    );
                }
                self.match_args(
                    &[param("message", Type::String)],
                    args,
                    span,
                    name,
                    Code::ARGUMENT_COUNT,
                );
                Type::Unit
            }
            "sleep" => {
                self.out.calls_function = true;
                if self.cx.kind != BodyKind::Action {
                    self.context_error(
                        Code::FUNCTION_CALL_OUTSIDE_ACTION,
                        callee_span,
                        "sleep",
                        "a rule's `action`",
                    );
                }
                self.match_args(
                    &[param("d", Type::Duration)],
                    args,
                    span,
                    name,
                    Code::ARGUMENT_COUNT,
                );
                if self.cx.kind != BodyKind::Action {
                    return Type::Error;
                }
                Type::Call(Box::new(Type::Time))
            }
            "settle" => self.check_settle(args, span, callee_span),
            "complete" | "fail" => {
                // In a mock's answer, `fail(message)` makes that call fail.
                let mock_failure = name == "fail" && self.test.in_mock;
                if !self.cx.kind.is_handler() && !mock_failure {
                    self.context_error(
                        Code::FINISH_IN_MATCH_OR_ACTION,
                        callee_span,
                        name,
                        "a `reaction`, an `error` block or a signal handler",
                    );
                }
                if name == "fail" {
                    self.match_args(
                        &[param("message", Type::String)],
                        args,
                        span,
                        name,
                        Code::ARGUMENT_COUNT,
                    );
                } else if !args.is_empty() {
                    // `complete(value)` gives the output: of the declared type, if any.
                    let ty = self
                        .cx
                        .workflow
                        .as_ref()
                        .and_then(|w| w.output.clone())
                        .unwrap_or(Type::Json);
                    let value = FieldSig {
                        name: "value".to_string(),
                        ty,
                        has_default: true,
                    };
                    self.match_args(&[value], args, span, name, Code::ARGUMENT_COUNT);
                }
                Type::Never
            }
            "retry" => {
                if self.cx.kind != BodyKind::Error {
                    self.context_error(
                        Code::RETRY_OUTSIDE_ERROR,
                        callee_span,
                        "retry",
                        "a rule's `error` block",
                    );
                }
                let after = FieldSig {
                    name: "after".to_string(),
                    ty: Type::Duration,
                    has_default: true,
                };
                self.match_args(&[after], args, span, name, Code::ARGUMENT_COUNT);
                Type::Never
            }
            "fired" => self.check_fired(args, span, callee_span),
            _ => Type::Error,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call_method(
        &mut self,
        receiver: &Expr,
        name: &str,
        name_span: Span,
        safe: bool,
        args: &[Arg],
        closure: Option<&Closure>,
        span: Span,
    ) -> Type {
        let receiver_type = self.check_expr(receiver, None);
        let base = match &receiver_type {
            Type::Error | Type::Never => {
                self.check_args_loosely(args, closure);
                return Type::Error;
            }
            Type::Optional(inner) if safe => (**inner).clone(),
            Type::Optional(_) | Type::Null => {
                self.nullable_receiver(receiver, &receiver_type, name_span);
                receiver_type.non_null()
            }
            other => other.clone(),
        };
        if let Type::Call(_) = base {
            self.error(
                Code::CALL_MISUSE,
                name_span,
                "a pending call cannot be inspected; its result exists only in the reaction",
            );
            self.check_args_loosely(args, closure);
            return Type::Error;
        }
        let Some(method) = builtins::method_type(&base, name, closure.is_some()) else {
            let candidates: Vec<&str> = builtins::receiver_of(&base)
                .map(|r| builtins::method_names(r).collect())
                .unwrap_or_default();
            let suggestion = did_you_mean(name, candidates.iter().copied()).map(str::to_string);
            let is_field = match &base {
                Type::Record(key) => record_sig(self.db, key)
                    .is_some_and(|s| s.fields.iter().any(|f| f.name == name)),
                _ => false,
            };
            let diagnostic = self.error(
                Code::UNKNOWN_METHOD,
                name_span,
                format!("`{base}` has no method `{name}`"),
            );
            if let Some(s) = suggestion {
                offer_name(diagnostic, &s);
            } else if is_field {
                diagnostic
                    .notes
                    .push(format!("`{name}` is a field, not a method"));
                if args.is_empty() && closure.is_none() && span.end > name_span.end {
                    diagnostic.suggestions.push(Suggestion::replace(
                        format!("write `.{name}` without parentheses"),
                        diagnostic.primary.file,
                        Span::new(name_span.end, span.end),
                        "",
                    ));
                }
            }
            self.check_args_loosely(args, closure);
            return Type::Error;
        };
        let result = self.apply_method(&base, name, &method, args, closure, span);
        if safe && receiver_type.is_optional() && result != Type::Unit {
            Type::optional(result)
        } else {
            result
        }
    }

    fn apply_method(
        &mut self,
        base: &Type,
        name: &str,
        method: &MethodType,
        args: &[Arg],
        closure: Option<&Closure>,
        span: Span,
    ) -> Type {
        let params: Vec<FieldSig> = method
            .params
            .iter()
            .map(|p| FieldSig {
                name: p.name.to_string(),
                ty: p.ty.clone(),
                has_default: p.optional,
            })
            .collect();
        self.match_args(&params, args, span, name, Code::ARGUMENT_COUNT);
        // Element constraints of methods that need an order or a sum.
        if let Type::List(element) = base {
            let needs = match name {
                "sort" | "min" | "max" => Some(("an order", element.is_comparable())),
                "sum" if closure.is_none() => {
                    Some(("a sum", element.is_numeric() || **element == Type::Duration))
                }
                _ => None,
            };
            if let Some((what, ok)) = needs
                && !ok
                && !element.is_bottom()
            {
                self.error(
                    Code::INVALID_OPERANDS,
                    span,
                    format!("`{name}()` needs elements with {what}, but they are `{element}`"),
                );
            }
        }
        let closure_value = match (&method.closure, closure) {
            (None, None) => None,
            (None, Some(c)) => {
                self.no_closure(Some(c), name);
                None
            }
            (Some(_), None) => {
                self.error(
                    Code::CLOSURE_MISUSE,
                    span,
                    format!("`{name}` takes a closure, such as `{name} {{ it … }}`"),
                );
                Some(Type::Error)
            }
            (Some((param_types, returns)), Some(c)) => {
                Some(self.check_closure(c, param_types, returns, name))
            }
        };
        match &method.returns {
            Returns::Fixed(t) => t.clone(),
            Returns::ListOfClosure => Type::list(closure_value.unwrap_or(Type::Error)),
            Returns::ClosureValue => closure_value.unwrap_or(Type::Error),
        }
    }

    fn check_closure(
        &mut self,
        closure: &Closure,
        param_types: &[Type],
        returns: &ClosureReturn,
        method: &str,
    ) -> Type {
        let mark = self.locals.len();
        if closure.params.is_empty() {
            if param_types.len() == 1 {
                let ty = param_types.first().cloned().unwrap_or(Type::Error);
                self.define("it", ty, closure.span, LocalKind::ReadOnly);
            } else {
                self.error(
                    Code::CLOSURE_MISUSE,
                    closure.span,
                    format!("the closure of `{method}` needs {} named parameters, such as `{{ k, v -> … }}`", param_types.len()),
                );
                self.define("it", Type::Error, closure.span, LocalKind::ReadOnly);
            }
        } else {
            if closure.params.len() != param_types.len() {
                self.error(
                    Code::CLOSURE_MISUSE,
                    closure.span,
                    format!(
                        "the closure of `{method}` takes {}, but {} {} named",
                        words::count(param_types.len(), "parameter"),
                        closure.params.len(),
                        words::is_are(closure.params.len())
                    ),
                );
            }
            for (i, p) in closure.params.iter().enumerate() {
                let ty = param_types.get(i).cloned().unwrap_or(Type::Error);
                self.define(&p.text, ty, p.span, LocalKind::ReadOnly);
            }
        }
        let assigned = super::stmt::assigned_paths(&closure.body);
        for path in &assigned {
            self.forget(path);
        }
        let want_value = *returns != ClosureReturn::Ignored;
        let expected = (*returns == ClosureReturn::Bool).then_some(Type::Bool);
        let value = self.check_block(&closure.body, want_value, expected.as_ref());
        self.pop_locals(mark);
        let span = closure.body.stmts.last().map_or(closure.span, |s| s.span);
        if value.is_bottom() {
            return value;
        }
        match returns {
            ClosureReturn::Bool if value != Type::Bool => {
                self.error(
                    Code::NON_BOOL_CONDITION,
                    span,
                    format!("the closure of `{method}` must give a `Bool`, not `{value}`"),
                );
                Type::Error
            }
            ClosureReturn::Summable if !(value.is_numeric() || value == Type::Duration) => {
                self.error(
                    Code::INVALID_OPERANDS,
                    span,
                    format!("`{method}` adds up numbers or durations, not `{value}`"),
                );
                Type::Error
            }
            ClosureReturn::Comparable if !value.is_comparable() => {
                self.error(
                    Code::INVALID_OPERANDS,
                    span,
                    format!(
                        "`{method}` orders by numbers, strings, durations or times, not `{value}`"
                    ),
                );
                Type::Error
            }
            _ => value,
        }
    }

    /// The enum key of `std.core`'s `Status`, for tests.
    pub(crate) fn status_type() -> Type {
        Type::Enum(DeclKey::new(crate::scope::PRELUDE, "Status"))
    }

    #[allow(dead_code)]
    pub(crate) fn is_value_name(&mut self, name: &str) -> bool {
        matches!(
            self.lookup(name),
            Some(NameRef::Local(_) | NameRef::Input(_) | NameRef::Fact(_))
        )
    }
}

/// Whether `t`, a call's result type, is what a `settle` gives: `List<Outcome<T>>`.
pub(crate) fn is_settled(t: &Type) -> bool {
    matches!(t, Type::List(e) if matches!(**e, Type::Outcome(_)))
}
