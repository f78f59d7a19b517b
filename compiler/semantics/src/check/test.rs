//! Test bodies (LANGUAGE.md section 8): `start`, `mock`, `run`, `signal`, `advance`,
//! `assert`, and the names a test can see once an instance is started.

use super::expr::TypeLevel;
use super::{Checker, LocalKind};
use crate::scope::DeclKind;
use crate::signatures::{WorkflowSig, enum_sig, function_sig, workflow_sig};
use crate::suggest::{did_you_mean, offer, offer_name};
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::{Code, Span, words};
use cosmos_syntax::ast::{Arg, Expr, ExprKind, MockAnswer, TestStmt, TestStmtKind};

#[derive(Debug, Default)]
pub(crate) struct TestState {
    /// The workflow started by `start`, with its signature.
    pub workflow: Option<WorkflowSig>,
    pub workflow_key: Option<DeclKey>,
    /// Whether `start` was seen (even if it named something unknown).
    pub started: bool,
    /// Whether an `assert` is being checked: only an assert reads the instance.
    pub in_assert: bool,
    /// Whether a mock's answer is being checked: `fail(message)` there fails the call.
    pub in_mock: bool,
}

impl Checker<'_> {
    pub(crate) fn check_test(&mut self, stmts: &[TestStmt]) {
        let mark = self.locals.len();
        for stmt in stmts {
            self.check_test_stmt(stmt);
        }
        self.pop_locals(mark);
    }

    fn require_started(&mut self, span: Span, what: &str) -> bool {
        if self.test.started {
            return true;
        }
        self.error(
            Code::TEST_ORDER,
            span,
            format!("`{what}` needs an instance: begin the test with `start Workflow(…)`"),
        );
        false
    }

    fn check_test_stmt(&mut self, stmt: &TestStmt) {
        match &stmt.kind {
            TestStmtKind::Start { workflow, args } => {
                if self.test.started {
                    self.error(
                        Code::TEST_ORDER,
                        stmt.span,
                        "a test drives one instance: `start` may appear only once",
                    );
                    return;
                }
                self.test.started = true;
                let callee = path_expr(workflow);
                let key = match callee.as_ref().and_then(|c| self.type_level(c)) {
                    Some(TypeLevel::Decl(DeclKind::Workflow, key)) => Some(key),
                    Some(TypeLevel::Decl(kind, key)) if !key.name.is_empty() => {
                        self.error(
                            Code::NOT_A_WORKFLOW,
                            span_of(workflow, stmt.span),
                            format!(
                                "`{}` is {}, not a workflow",
                                key.name,
                                words::a(kind.describe())
                            ),
                        );
                        None
                    }
                    Some(_) => None,
                    None => {
                        let name = workflow
                            .iter()
                            .map(|i| i.text.as_str())
                            .collect::<Vec<_>>()
                            .join(".");
                        self.error(
                            Code::NOT_A_WORKFLOW,
                            span_of(workflow, stmt.span),
                            format!("there is no workflow `{name}` in scope"),
                        )
                        .notes
                        .push(format!("import it: `import module {{ {name} }}`"));
                        None
                    }
                };
                let Some(key) = key else {
                    for arg in args {
                        self.check_expr(&arg.value, None);
                    }
                    return;
                };
                let sig = workflow_sig(self.db, &key).unwrap_or_default();
                self.match_args(&sig.inputs, args, stmt.span, &key.name, Code::MISSING_FIELD);
                self.test.workflow = Some(sig);
                self.test.workflow_key = Some(key);
            }
            TestStmtKind::Mock {
                function,
                params,
                answer,
            } => {
                let callee = Expr {
                    kind: ExprKind::Name(function.clone()),
                    span: function.span,
                };
                // A mock names a function as the test's module sees it or, failing that,
                // as the started workflow's module does (the workflow is what calls it).
                let level = self.type_level(&callee).or_else(|| {
                    let key = self.test.workflow_key.as_ref()?;
                    let file = crate::db::module_file(self.db, &key.module)?;
                    match crate::scope::module_scope(self.db, file).get(&function.text)? {
                        crate::scope::Symbol::Decl(kind, key) => {
                            Some(TypeLevel::Decl(*kind, key.clone()))
                        }
                        crate::scope::Symbol::Module(m) => Some(TypeLevel::Module(m.clone())),
                    }
                });
                let sig = match level {
                    Some(TypeLevel::Decl(DeclKind::Function, key)) => function_sig(self.db, &key),
                    // A child workflow is mocked like a function of its inputs.
                    Some(TypeLevel::Decl(DeclKind::Workflow, key)) => workflow_sig(self.db, &key)
                        .map(|w| crate::signatures::CallableSig {
                            ret: w.output_type(),
                            params: w.inputs,
                        }),
                    Some(TypeLevel::Decl(kind, key)) if !key.name.is_empty() => {
                        self.error(
                            Code::UNKNOWN_FUNCTION_MOCK,
                            function.span,
                            format!(
                                "only external functions and workflows are mocked, and `{}` is {}",
                                key.name,
                                words::a(kind.describe())
                            ),
                        );
                        None
                    }
                    _ => {
                        self.error(
                            Code::UNKNOWN_FUNCTION_MOCK,
                            function.span,
                            format!("there is no function `{}` in scope to mock", function.text),
                        );
                        None
                    }
                };
                let mark = self.locals.len();
                match &sig {
                    Some(sig) => {
                        if matches!(answer, MockAnswer::Value(_))
                            && params.len() != sig.params.len()
                        {
                            self.error(
                                Code::UNKNOWN_FUNCTION_MOCK,
                                function.span,
                                format!(
                                    "`{}` has {}, but the mock names {}",
                                    function.text,
                                    words::count(sig.params.len(), "parameter"),
                                    params.len()
                                ),
                            );
                        }
                        for (i, p) in params.iter().enumerate() {
                            let ty = sig.params.get(i).map_or(Type::Error, |f| f.ty.clone());
                            self.define(&p.text, ty, p.span, LocalKind::ReadOnly);
                        }
                    }
                    None => {
                        for p in params {
                            self.define(&p.text, Type::Error, p.span, LocalKind::ReadOnly);
                        }
                    }
                }
                match answer {
                    MockAnswer::Value(e) => {
                        let ret = sig.as_ref().map_or(Type::Error, |s| s.ret.clone());
                        self.test.in_mock = true;
                        self.check_expected(e, &ret);
                        self.test.in_mock = false;
                    }
                    MockAnswer::Fails(e) => {
                        self.check_expected(e, &Type::String);
                    }
                }
                self.pop_locals(mark);
            }
            TestStmtKind::Run => {
                self.require_started(stmt.span, "run");
            }
            TestStmtKind::Signal { name, args } => {
                if !self.require_started(stmt.span, "signal") {
                    return;
                }
                let Some(workflow) = self.test.workflow.clone() else {
                    return;
                };
                match workflow.signals.get(&name.text) {
                    Some(params) => {
                        self.match_args(params, args, stmt.span, &name.text, Code::ARGUMENT_COUNT);
                    }
                    None => {
                        let suggestion =
                            did_you_mean(&name.text, workflow.signals.keys().map(String::as_str))
                                .map(str::to_string);
                        let diagnostic = self.error(
                            Code::UNKNOWN_SIGNAL,
                            name.span,
                            format!("the workflow has no signal `{}`", name.text),
                        );
                        if let Some(s) = suggestion {
                            offer_name(diagnostic, &s);
                        }
                        for arg in args {
                            self.check_expr(&arg.value, None);
                        }
                    }
                }
            }
            TestStmtKind::Advance(e) => {
                self.require_started(stmt.span, "advance");
                self.check_expected(e, &Type::Duration);
            }
            TestStmtKind::Assert(e) => {
                self.require_started(stmt.span, "assert");
                self.test.in_assert = true;
                self.check_condition(e);
                self.test.in_assert = false;
            }
            TestStmtKind::Stmt(s) => {
                self.error(
                    Code::TEST_STATEMENT,
                    s.span,
                    "a test holds only `start`, `mock`, `run`, `signal`, `advance` and `assert`",
                )
                .notes
                .push("write the value where it is used, or compute it in a helper (`def`) that the test calls".to_string());
                self.check_stmt(s);
            }
        }
    }

    /// Names a test sees once an instance is started: `status`, its members written
    /// bare, and `output`.
    pub(crate) fn test_name(&mut self, name: &str) -> Option<Type> {
        if self.cx.kind != super::BodyKind::Test || !self.test.started || !self.test.in_assert {
            return None;
        }
        match name {
            "status" => Some(Self::status_type()),
            "output" => Some(Type::optional(Type::Json)),
            _ => {
                let status = Self::core_type("Status");
                let variants = enum_sig(self.db, &status)?.variants;
                variants
                    .iter()
                    .any(|v| v == name)
                    .then_some(Type::Enum(status))
            }
        }
    }

    /// Reports a name of the started instance (an input, a fact, `status`, a status
    /// name, `output`) read outside an `assert`; whether it was one.
    pub(crate) fn instance_outside_assert(&mut self, name: &str, span: Span) -> bool {
        if self.cx.kind != super::BodyKind::Test || !self.test.started || self.test.in_assert {
            return false;
        }
        let what = match &self.test.workflow {
            Some(w) if w.input(name).is_some() => format!("the input `{name}`"),
            Some(w) if w.fact(name).is_some() => format!("the fact `{name}`"),
            _ => {
                let status = Self::core_type("Status");
                let variants = enum_sig(self.db, &status)
                    .map(|s| s.variants)
                    .unwrap_or_default();
                if name == "status" || name == "output" || variants.iter().any(|v| v == name) {
                    format!("`{name}`")
                } else {
                    return false;
                }
            }
        };
        self.instance_error(span, &what);
        true
    }

    fn instance_error(&mut self, span: Span, what: &str) {
        self.error(
            Code::INSTANCE_OUTSIDE_ASSERT,
            span,
            format!("{what} belongs to the instance, and only an `assert` reads the instance"),
        )
        .notes
        .push("the arguments of `start` and `signal`, `advance` and a mock's answer are evaluated on their own: write the value, or in a mock use its parameters".to_string());
    }

    /// `fired("rule name")`: how many times a rule of the started workflow fired.
    pub(crate) fn check_fired(&mut self, args: &[Arg], span: Span, callee_span: Span) -> Type {
        if self.cx.kind != super::BodyKind::Test {
            self.error(
                Code::UNKNOWN_NAME,
                callee_span,
                "`fired` is only available in tests",
            );
            return Type::Error;
        }
        if !self.test.in_assert {
            self.instance_error(callee_span, "`fired(…)`");
        }
        let [arg] = args else {
            self.error(
                Code::ARGUMENT_COUNT,
                span,
                "`fired` takes one argument: a rule's name",
            );
            return Type::Int;
        };
        self.check_expected(&arg.value, &Type::String);
        let literal = match &arg.value.kind {
            ExprKind::Str(s) => s.as_plain(),
            _ => None,
        };
        if let (Some(name), Some(workflow)) = (literal, &self.test.workflow)
            && !workflow.rules.contains(&name)
        {
            let suggestion =
                did_you_mean(&name, workflow.rules.iter().map(String::as_str)).map(str::to_string);
            let diagnostic = self.error(
                Code::UNKNOWN_RULE,
                arg.value.span,
                format!("the workflow has no rule \"{name}\""),
            );
            if let Some(s) = suggestion {
                let quoted = format!("\"{s}\"");
                offer(diagnostic, &quoted, &quoted);
            }
        }
        Type::Int
    }
}

fn path_expr(path: &[cosmos_syntax::ast::Ident]) -> Option<Expr> {
    let mut iter = path.iter();
    let first = iter.next()?;
    let mut expr = Expr {
        kind: ExprKind::Name(first.clone()),
        span: first.span,
    };
    for segment in iter {
        let span = expr.span.to(segment.span);
        expr = Expr {
            kind: ExprKind::Field {
                receiver: Box::new(expr),
                name: segment.clone(),
                safe: false,
            },
            span,
        };
    }
    Some(expr)
}

fn span_of(path: &[cosmos_syntax::ast::Ident], fallback: Span) -> Span {
    match (path.first(), path.last()) {
        (Some(a), Some(b)) => a.span.to(b.span),
        _ => fallback,
    }
}
