//! The per-body queries: what a body is (spans-free), its check, and the facts other
//! bodies need from it (an action's result type, a match's narrowing).

use crate::body::{BodyPath, BodySyntax, body_syntax};
use crate::check::{BodyCheck, BodyKind, Checker, Context, LocalKind, Path};
use crate::db::{Db, SourceFile, parse};
use crate::scope::module_scope;
use crate::signatures::module_signatures;
use crate::types::Type;
use cosmos_diagnostics::Code;
use cosmos_syntax::ast::{ClauseKind, ExprKind, ItemKind, MemberKind, StmtKind};

/// What a body is, without spans: its kind and the declarations around it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BodyInfo {
    pub kind: BodyKind,
    /// The enclosing workflow.
    pub workflow: Option<String>,
    /// The helper or signal whose parameters are in scope.
    pub owner: Option<String>,
    /// For a reaction or error block: the rule's action; for an action: the rule's match.
    pub sibling: Option<BodyPath>,
}

#[salsa::tracked(returns(ref))]
pub fn body_info(db: &dyn Db, file: SourceFile, path: BodyPath) -> Option<BodyInfo> {
    let module = &parse(db, file).module;
    let item = module.items.get(path.item() as usize)?;
    let workflow = match &item.kind {
        ItemKind::Workflow(w) => Some(w),
        _ => None,
    };
    let member = |m: u32| workflow.and_then(|w| w.members.get(m as usize));
    let info = |kind, owner: Option<String>, sibling| BodyInfo {
        kind,
        workflow: workflow.map(|w| w.name.text.clone()),
        owner,
        sibling,
    };
    Some(match path {
        BodyPath::Def { .. } => match &item.kind {
            ItemKind::Def(d) => info(BodyKind::Def, Some(d.name.text.clone()), None),
            _ => return None,
        },
        BodyPath::Test { .. } => info(BodyKind::Test, None, None),
        BodyPath::ScheduleStart { .. } => info(BodyKind::ScheduleStart, None, None),
        BodyPath::Signal { member: m, .. } => match &member(m)?.kind {
            MemberKind::Signal(s) => info(BodyKind::Signal, Some(s.name.text.clone()), None),
            _ => return None,
        },
        BodyPath::CompleteWhen { .. } => info(BodyKind::CompleteWhen, None, None),
        BodyPath::Output { .. } => info(BodyKind::Output, None, None),
        BodyPath::Clause {
            item: i,
            member: m,
            clause,
        } => {
            let MemberKind::Rule(rule) = &member(m)?.kind else {
                return None;
            };
            let find = |want: fn(&ClauseKind) -> bool| {
                rule.clauses
                    .iter()
                    .position(|c| want(&c.kind))
                    .map(|c| BodyPath::Clause {
                        item: i,
                        member: m,
                        clause: c as u32,
                    })
            };
            match &rule.clauses.get(clause as usize)?.kind {
                ClauseKind::Match(_) => info(BodyKind::Match, None, None),
                ClauseKind::Action(_) => info(
                    BodyKind::Action,
                    None,
                    find(|c| matches!(c, ClauseKind::Match(_))),
                ),
                ClauseKind::Reaction(_) => info(
                    BodyKind::Reaction,
                    None,
                    find(|c| matches!(c, ClauseKind::Action(_))),
                ),
                ClauseKind::Error(_) => info(
                    BodyKind::Error,
                    None,
                    find(|c| matches!(c, ClauseKind::Match(_))),
                ),
                ClauseKind::Priority(_) | ClauseKind::Timeout(_) => return None,
            }
        }
    })
}

/// The type of `result` in the reaction whose rule's action is at `action`.
#[salsa::tracked(returns(ref))]
pub fn action_result(db: &dyn Db, file: SourceFile, action: BodyPath) -> Type {
    let check = check_body(db, file, action);
    match check.value_type.clone().unwrap_or(Type::Error) {
        Type::Call(t) => *t,
        Type::List(element) => match *element {
            Type::Call(t) => Type::list(*t),
            other => Type::list(other),
        },
        other => other,
    }
}

/// The paths a rule's match proves non-null.
#[salsa::tracked(returns(ref))]
pub fn match_narrowing(db: &dyn Db, file: SourceFile, matcher: BodyPath) -> Vec<Path> {
    check_body(db, file, matcher).narrowed.clone()
}

/// Whether a rule's action calls an external function or `sleep`.
#[salsa::tracked]
pub fn action_calls_function(db: &dyn Db, file: SourceFile, action: BodyPath) -> bool {
    check_body(db, file, action).calls_function
}

/// Type-checks one body.
#[salsa::tracked(returns(ref))]
pub fn check_body(db: &dyn Db, file: SourceFile, path: BodyPath) -> BodyCheck {
    let (Some(syntax), Some(info)) = (body_syntax(db, file, path), body_info(db, file, path))
    else {
        return BodyCheck::default();
    };
    let scope = module_scope(db, file).clone();
    let sigs = module_signatures(db, file).clone();
    let workflow = info
        .workflow
        .as_ref()
        .and_then(|w| sigs.workflows.get(w))
        .cloned();
    let match_narrowed = match (info.kind, info.sibling) {
        (BodyKind::Action | BodyKind::Error, Some(m)) => match_narrowing(db, file, m).clone(),
        (BodyKind::Reaction, Some(action)) => {
            // The note about a match that does not carry over needs the match's paths.
            let match_path = body_info(db, file, action).as_ref().and_then(|i| i.sibling);
            match_path
                .map(|m| match_narrowing(db, file, m).clone())
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let result = match (info.kind, info.sibling) {
        (BodyKind::Reaction, Some(action)) => Some(action_result(db, file, action).clone()),
        (BodyKind::Reaction, None) => Some(Type::Error),
        _ => None,
    };
    let def_ret = match (info.kind, &info.owner) {
        (BodyKind::Def, Some(name)) => sigs.defs.get(name).map(|s| s.ret.clone()),
        _ => None,
    };
    let cx = Context {
        kind: info.kind,
        file: file.id(db),
        scope,
        workflow,
        def_ret,
        result,
        match_narrowed,
    };
    let mut checker = Checker::new(db, cx);
    match syntax {
        BodySyntax::Test(stmts) => checker.check_test(stmts),
        BodySyntax::Block(block) => {
            // Parameters and the specials of each kind of body.
            match (info.kind, &info.owner) {
                (BodyKind::Def, Some(name)) => {
                    if let Some(sig) = sigs.defs.get(name) {
                        for p in &sig.params {
                            checker.define(&p.name, p.ty.clone(), block.span, LocalKind::ReadOnly);
                        }
                    }
                }
                (BodyKind::Signal, Some(name)) => {
                    let params = checker
                        .cx
                        .workflow
                        .as_ref()
                        .and_then(|w| w.signals.get(name))
                        .cloned()
                        .unwrap_or_default();
                    for p in params {
                        checker.define(&p.name, p.ty, block.span, LocalKind::ReadOnly);
                    }
                }
                _ => {}
            }
            match info.kind {
                BodyKind::Reaction => {
                    let result = checker.cx.result.clone().unwrap_or(Type::Error);
                    checker.define("result", result, block.span, LocalKind::ReadOnly);
                    checker.check_block(block, false, None);
                }
                BodyKind::Error => {
                    let ty = Type::Record(Checker::core_type("CallError"));
                    checker.define("error", ty, block.span, LocalKind::ReadOnly);
                    checker.check_block(block, false, None);
                }
                BodyKind::Signal | BodyKind::Test | BodyKind::Constant => {
                    checker.check_block(block, false, None);
                }
                BodyKind::ScheduleStart => checker.check_schedule_start(block),
                BodyKind::Def => {
                    let ret = checker.cx.def_ret.clone().unwrap_or(Type::Error);
                    let value = checker.check_block(block, true, Some(&ret));
                    match last_expr(block) {
                        Some(last) => checker.coerce_expr(&value, &ret, last),
                        None => checker.coerce(&value, &ret, last_span(block)),
                    };
                    checker.out.value_type = Some(value);
                }
                BodyKind::Match | BodyKind::CompleteWhen => {
                    let value = checker.check_block(block, true, Some(&Type::Bool));
                    if !value.is_bottom() && value != Type::Bool {
                        let code = if info.kind == BodyKind::Match {
                            Code::MATCH_NOT_BOOL
                        } else {
                            Code::NON_BOOL_CONDITION
                        };
                        checker
                            .error(code, last_span(block), format!("this must be a `Bool` condition, not `{value}`"))
                            .notes
                            .push("Emx has no truthiness: compare explicitly, such as `!xs.isEmpty()` or `x != null`".to_string());
                    }
                    if let Some(last) = block.stmts.last()
                        && let StmtKind::Expr(e) = &last.kind
                    {
                        checker.out.narrowed = checker.narrowing(e).when_true;
                    }
                    checker.out.value_type = Some(value);
                }
                BodyKind::Action => {
                    let value = checker.check_block(block, true, None);
                    let shape_ok = match &value {
                        Type::Call(_) => true,
                        Type::List(element) => {
                            matches!(**element, Type::Call(_)) || !element.contains_call()
                        }
                        other => !other.contains_call(),
                    };
                    let settles_in_list = matches!(&value, Type::List(element)
                        if matches!(&**element, Type::Call(t) if crate::check::is_settled(t)));
                    if settles_in_list {
                        checker.error(
                            Code::CALL_MISUSE,
                            last_span(block),
                            "a `settle(…)` must be the action's value itself, not an element of a list of calls",
                        )
                        .notes
                        .push("settle all the calls at once: `settle(calls)` with every call in `calls`".to_string());
                    } else if !shape_ok {
                        checker
                            .error(
                                Code::CALL_MISUSE,
                                last_span(block),
                                format!("an action's value must be a call, a list of calls, or a value without calls; this is `{value}`"),
                            )
                            .notes
                            .push("for nested fan-out, flatten the lists: `….flatten()`".to_string());
                    }
                    checker.out.value_type = Some(value);
                }
                BodyKind::Output => {
                    let declared = checker.cx.workflow.as_ref().and_then(|w| w.output.clone());
                    let expected = declared.clone().unwrap_or(Type::Json);
                    let value = checker.check_block(block, true, Some(&expected));
                    let fits = match last_expr(block) {
                        Some(last) => checker.coerce_expr(&value, &expected, last),
                        None => checker.coerce(&value, &expected, last_span(block)),
                    };
                    if !fits
                        && let Some(declared) = declared
                        && let Some(diagnostic) = checker.out.diagnostics.last_mut()
                    {
                        diagnostic.notes.push(format!(
                            "the workflow declares `output: {declared}`: give a value of that type, or change the declared type"
                        ));
                    }
                    checker.out.value_type = Some(value);
                }
            }
        }
    }
    checker.finish()
}

/// The expression a block ends with, if it ends with one.
fn last_expr(block: &cosmos_syntax::ast::Block) -> Option<&cosmos_syntax::ast::Expr> {
    match &block.stmts.last()?.kind {
        StmtKind::Expr(e) => match &e.kind {
            ExprKind::Paren(inner) => Some(inner),
            _ => Some(e),
        },
        _ => None,
    }
}

fn last_span(block: &cosmos_syntax::ast::Block) -> cosmos_diagnostics::Span {
    match block.stmts.last() {
        Some(stmt) => match &stmt.kind {
            StmtKind::Expr(e) => match &e.kind {
                ExprKind::Paren(inner) => inner.span,
                _ => e.span,
            },
            _ => stmt.span,
        },
        None => block.span,
    }
}
