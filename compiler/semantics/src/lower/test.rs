//! Lowering `test` blocks (LANGUAGE.md section 8) to what `cosmosc test` runs: each
//! statement becomes a [`TestStep`], and each expression in it a small
//! [`ir::Function`] the reference interpreter evaluates.
//!
//! Calling conventions of those functions:
//! - `start` and `signal` arguments, `advance` durations and `mock f fails` messages
//!   take no parameters and read nothing of the instance;
//! - a `mock f(a, b) = e` answer takes the function's parameters, in order;
//! - an `assert` condition (and each of its parts) takes three parameters —
//!   `status: std.core.Status`, `output: Json?` and the fired counts
//!   `Map<String, Int>` by rule name — and reads the started instance's inputs and
//!   facts. `RUNNING`, `STALLED`, … are bound inside it; `fired(rule)` reads the map.

use super::body::{BodyLower, Lowered};
use super::{LowerError, Lowering};
use crate::body::{BodyPath, BodySyntax, body_base, body_syntax};
use crate::db::{SourceFile, parse};
use crate::scope::{DeclKind, PRELUDE, Symbol, module_decl, module_scope};
use crate::signatures::{CallableSig, WorkflowSig, enum_sig, function_sig, workflow_sig};
use crate::types::{DeclKey, Type};
use cosmos_ir as ir;
use cosmos_syntax::ast::{self, ExprKind, ItemKind, MockAnswer, TestStmtKind};

/// The local that holds the fired counts inside an assert (not a valid Emx name).
pub(crate) const FIRED: &str = "fired()";

/// One `test` block.
#[derive(Debug, Clone, PartialEq)]
pub struct TestIr {
    pub module: String,
    pub name: String,
    pub steps: Vec<TestStep>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TestStep {
    Start {
        workflow: String,
        /// By input name.
        args: Vec<(String, ir::Function)>,
    },
    Mock {
        function: String,
        answer: MockIr,
    },
    Run,
    Signal {
        name: String,
        /// By parameter name.
        args: Vec<(String, ir::Function)>,
    },
    /// The duration to move the clock by.
    Advance(ir::Function),
    Assert(AssertIr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum MockIr {
    /// Takes the mocked function's parameters.
    Value(ir::Function),
    /// The failure's message.
    Fails(ir::Function),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssertIr {
    /// The condition's source text.
    pub text: String,
    /// 1-based line of the condition in its file.
    pub line: u32,
    pub check: ir::Function,
    /// Sub-expressions worth showing when the assert fails (power-assert style).
    pub parts: Vec<AssertPart>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssertPart {
    /// Where the value belongs under [`AssertIr::text`], in characters.
    pub column: usize,
    pub eval: ir::Function,
}

/// What lowering one test needs besides the shared [`Lowering`].
struct TestCx<'a> {
    file: SourceFile,
    path: BodyPath,
    text: &'a str,
    base: u32,
    workflow: Option<WorkflowSig>,
    workflow_key: Option<DeclKey>,
}

impl Lowering<'_> {
    pub(crate) fn lower_tests(&self, file: SourceFile) -> Result<Vec<TestIr>, LowerError> {
        let db = self.db;
        let ast = parse(db, file).module.clone();
        let text = file.text(db).clone();
        let mut out = Vec::new();
        for (index, item) in ast.items.iter().enumerate() {
            let ItemKind::Test(t) = &item.kind else {
                continue;
            };
            let path = BodyPath::Test { item: index as u32 };
            let Some(BodySyntax::Test(stmts)) = body_syntax(db, file, path) else {
                continue;
            };
            let mut cx = TestCx {
                file,
                path,
                text: &text,
                base: body_base(db, file, path),
                workflow: None,
                workflow_key: None,
            };
            let mut steps = Vec::new();
            for stmt in stmts {
                steps.push(self.test_step(&mut cx, stmt)?);
            }
            out.push(TestIr {
                module: file.module(db).clone(),
                name: t.name.text.clone(),
                steps,
            });
        }
        Ok(out)
    }

    fn test_step(&self, cx: &mut TestCx<'_>, stmt: &ast::TestStmt) -> Lowered<TestStep> {
        Ok(match &stmt.kind {
            TestStmtKind::Start { workflow, args } => {
                let key = self.test_workflow(cx.file, workflow);
                let Some((key, sig)) = key.and_then(|k| workflow_sig(self.db, &k).map(|s| (k, s)))
                else {
                    return self.test_unsupported(cx, stmt.span, "this `start`");
                };
                let names: Vec<String> = sig.inputs.iter().map(|f| f.name.clone()).collect();
                let args = self.named_args(cx, &names, args)?;
                cx.workflow = Some(sig);
                cx.workflow_key = Some(key.clone());
                TestStep::Start {
                    workflow: key.name,
                    args,
                }
            }
            TestStmtKind::Mock {
                function,
                params,
                answer,
            } => {
                let Some(sig) = self.mocked_function(cx, &function.text) else {
                    return self.test_unsupported(cx, function.span, "this mock");
                };
                let answer = match answer {
                    MockAnswer::Value(e) => {
                        let params: Vec<(String, Type)> = params
                            .iter()
                            .zip(&sig.params)
                            .map(|(p, s)| (p.text.clone(), s.ty.clone()))
                            .collect();
                        MockIr::Value(self.test_function(
                            cx,
                            None,
                            &params,
                            false,
                            e,
                            format!("mock {}", function.text),
                        )?)
                    }
                    MockAnswer::Fails(e) => MockIr::Fails(self.test_function(
                        cx,
                        None,
                        &[],
                        false,
                        e,
                        format!("mock {} fails", function.text),
                    )?),
                };
                TestStep::Mock {
                    function: function.text.clone(),
                    answer,
                }
            }
            TestStmtKind::Run => TestStep::Run,
            TestStmtKind::Signal { name, args } => {
                let names: Vec<String> = cx
                    .workflow
                    .as_ref()
                    .and_then(|w| w.signals.get(&name.text))
                    .map(|ps| ps.iter().map(|p| p.name.clone()).collect())
                    .unwrap_or_default();
                TestStep::Signal {
                    name: name.text.clone(),
                    args: self.named_args(cx, &names, args)?,
                }
            }
            TestStmtKind::Advance(e) => {
                TestStep::Advance(self.test_function(cx, None, &[], false, e, "advance".into())?)
            }
            TestStmtKind::Assert(e) => {
                let workflow = cx.workflow.clone();
                let check =
                    self.test_function(cx, workflow.as_ref(), &[], true, e, "assert".into())?;
                let start = (e.span.start + cx.base) as usize;
                let end = (e.span.end + cx.base) as usize;
                let text = cx.text.get(start..end).unwrap_or_default().to_string();
                let line = cx
                    .text
                    .get(..start)
                    .unwrap_or_default()
                    .matches('\n')
                    .count() as u32
                    + 1;
                let mut anchors = Vec::new();
                parts(cx, e, &mut anchors);
                let mut lowered = Vec::new();
                for (anchor, part) in anchors {
                    let column = cx
                        .text
                        .get(start..anchor.max(start))
                        .map_or(0, |s| s.chars().count());
                    // A part that cannot be lowered on its own (an enum's name in
                    // `Codec.H264`) is simply not shown.
                    if let Ok(eval) =
                        self.test_function(cx, workflow.as_ref(), &[], true, part, "part".into())
                    {
                        lowered.push(AssertPart { column, eval });
                    }
                }
                TestStep::Assert(AssertIr {
                    text,
                    line,
                    check,
                    parts: lowered,
                })
            }
            TestStmtKind::Stmt(s) => {
                return self.test_unsupported(cx, s.span, "a statement in a test (only `start`, `mock`, `run`, `signal`, `advance` and `assert` run yet)");
            }
        })
    }

    fn test_unsupported<T>(
        &self,
        cx: &TestCx<'_>,
        span: cosmos_diagnostics::Span,
        what: &str,
    ) -> Lowered<T> {
        let absolute = cosmos_diagnostics::Span::new(span.start + cx.base, span.end + cx.base);
        self.unsupported(cx.file, absolute, what)
    }

    fn test_workflow(&self, file: SourceFile, path: &[ast::Ident]) -> Option<DeclKey> {
        let scope = module_scope(self.db, file);
        let symbol = match path {
            [name] => scope.get(&name.text).cloned(),
            [module, name] => match scope.get(&module.text) {
                Some(Symbol::Module(m)) => module_decl(self.db, m, &name.text),
                _ => None,
            },
            _ => None,
        };
        match symbol {
            Some(Symbol::Decl(DeclKind::Workflow, key)) => Some(key),
            _ => None,
        }
    }

    /// The signature of a mocked function, or of a mocked child workflow (its inputs
    /// and output type), as the test's module sees it or, failing that, as the started
    /// workflow's module does (as the checker resolves it).
    fn mocked_function(&self, cx: &TestCx<'_>, name: &str) -> Option<CallableSig> {
        let mockable = |symbol: Option<&Symbol>| match symbol {
            Some(Symbol::Decl(kind @ (DeclKind::Function | DeclKind::Workflow), key)) => {
                Some((*kind, key.clone()))
            }
            _ => None,
        };
        let (kind, key) = mockable(module_scope(self.db, cx.file).get(name)).or_else(|| {
            // The workflow's module scope, imports included: the workflow may call a
            // function that its module imports from a third one.
            let key = cx.workflow_key.as_ref()?;
            let file = crate::db::module_file(self.db, &key.module)?;
            mockable(module_scope(self.db, file).get(name))
        })?;
        match kind {
            DeclKind::Workflow => workflow_sig(self.db, &key).map(|w| CallableSig {
                ret: w.output_type(),
                params: w.inputs,
            }),
            _ => function_sig(self.db, &key),
        }
    }

    fn named_args(
        &self,
        cx: &TestCx<'_>,
        names: &[String],
        args: &[ast::Arg],
    ) -> Lowered<Vec<(String, ir::Function)>> {
        let mut out = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            let name = match &arg.name {
                Some(n) => n.text.clone(),
                None => match names.get(i) {
                    Some(n) => n.clone(),
                    None => return self.test_unsupported(cx, arg.value.span, "this argument"),
                },
            };
            let f = self.test_function(cx, None, &[], false, &arg.value, name.clone())?;
            out.push((name, f));
        }
        Ok(out)
    }

    /// One expression of a test as a function (see the module's conventions).
    fn test_function(
        &self,
        cx: &TestCx<'_>,
        workflow: Option<&WorkflowSig>,
        params: &[(String, Type)],
        assert: bool,
        expr: &ast::Expr,
        name: String,
    ) -> Lowered<ir::Function> {
        let mut b = BodyLower::for_body(self, cx.file, cx.path, workflow)?;
        let mut stmts = Vec::new();
        let mut count = params.len() as u32;
        for (p, ty) in params {
            let ty = b.ir_ty(expr.span, ty)?;
            b.bind(p, ty);
        }
        if assert {
            let taken = |n: &str| {
                workflow.is_some_and(|w| w.inputs.iter().chain(&w.facts).any(|f| f.name == n))
            };
            let status_key = DeclKey::new(PRELUDE, "Status");
            let Some(status) = self.ids.enums.get(&status_key).copied() else {
                return b.unsupported(expr.span, "an assert without `std.core.Status`");
            };
            let hidden = |n: &str| {
                if taken(n) {
                    format!("{n}()")
                } else {
                    n.to_string()
                }
            };
            b.bind(&hidden("status"), ir::Ty::Enum(status));
            b.bind(&hidden("output"), ir::Ty::Optional(Box::new(ir::Ty::Json)));
            b.bind(
                FIRED,
                ir::Ty::Map(Box::new(ir::Ty::String), Box::new(ir::Ty::Int)),
            );
            count = 3;
            let variants = enum_sig(self.db, &status_key)
                .map(|s| s.variants)
                .unwrap_or_default();
            for (i, v) in variants.iter().enumerate() {
                if taken(v) {
                    continue;
                }
                let slot = b.bind(v, ir::Ty::Enum(status));
                stmts.push(ir::Stmt::Set(
                    slot,
                    ir::Expr {
                        kind: ir::ExprKind::EnumValue {
                            enum_id: status,
                            variant: i as u32,
                        },
                        ty: ir::Ty::Enum(status),
                    },
                ));
            }
        }
        let value = b.expr(expr)?;
        Ok(ir::Function {
            name,
            params: count,
            defaults: Vec::new(),
            slots: b.slots,
            ret: value.ty.clone(),
            body: ir::Block {
                stmts,
                value: Some(Box::new(value)),
            },
        })
    }
}

/// The sub-expressions of an assert worth showing, each with the absolute offset its
/// value goes under: a binary operator's value under the operator, a method call's
/// or field's under its name, anything else under its start. Literals are left out.
fn parts<'e>(cx: &TestCx<'_>, e: &'e ast::Expr, out: &mut Vec<(usize, &'e ast::Expr)>) {
    let at = |offset: u32| (offset + cx.base) as usize;
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Str(_)
        | ExprKind::Duration { .. } => {}
        ExprKind::Paren(inner) => parts(cx, inner, out),
        // A chain's value goes under its last operator; the values of its
        // prefixes are not shown.
        ExprKind::Chain { first, links } => {
            parts(cx, first, out);
            let mut before = first.span.end;
            for (index, link) in links.iter().enumerate() {
                if index + 1 == links.len() {
                    let from = at(before);
                    let gap = cx
                        .text
                        .get(from..at(link.rhs.span.start))
                        .unwrap_or_default();
                    let skip = gap.len() - gap.trim_start().len();
                    out.push((from + skip, e));
                }
                parts(cx, &link.rhs, out);
                before = link.rhs.span.end;
            }
        }
        ExprKind::Unary { operand, .. } => {
            out.push((at(e.span.start), e));
            parts(cx, operand, out);
        }
        ExprKind::Field { receiver, name, .. } => {
            parts(cx, receiver, out);
            out.push((at(name.span.start), e));
        }
        ExprKind::Call { callee, args, .. } => {
            match &callee.kind {
                ExprKind::Field { receiver, name, .. } => {
                    parts(cx, receiver, out);
                    out.push((at(name.span.start), e));
                }
                _ => out.push((at(e.span.start), e)),
            }
            for a in args {
                parts(cx, &a.value, out);
            }
        }
        ExprKind::Index { receiver, index } => {
            parts(cx, receiver, out);
            out.push((at(receiver.span.end), e));
            parts(cx, index, out);
        }
        _ => out.push((at(e.span.start), e)),
    }
}
