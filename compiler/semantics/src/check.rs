//! The type checker: one [`Checker`] checks one body against the signatures around it
//! and records what the body reads, writes and uses. Stage errors are pushed as
//! diagnostics with spans relative to the body's start.

mod access;
mod call;
mod collections;
mod expr;
mod narrow;
mod schedule;
mod stmt;
mod test;

use crate::db::Db;
use crate::scope::{ModuleScope, PRELUDE, Symbol};
use crate::signatures::{FieldSig, WorkflowSig};
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::{Code, Diagnostic, FileId, Label, Span, Suggestion};
use std::collections::BTreeSet;
use std::sync::Arc;

pub(crate) use call::is_settled;
pub(crate) use narrow::Path;
pub(crate) use schedule::start_call;

/// Which kind of body is being checked: it decides what the body may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyKind {
    Def,
    Match,
    Action,
    Reaction,
    Error,
    Signal,
    CompleteWhen,
    Output,
    Test,
    /// A schedule's `start` block (LANGUAGE.md 10.7).
    ScheduleStart,
    /// Defaults of fields, inputs, facts and parameters, and settings.
    Constant,
}

impl BodyKind {
    pub fn describe(self) -> &'static str {
        match self {
            BodyKind::Def => "a helper",
            BodyKind::Match => "a `match`",
            BodyKind::Action => "an `action`",
            BodyKind::Reaction => "a `reaction`",
            BodyKind::Error => "an `error` block",
            BodyKind::Signal => "a signal handler",
            BodyKind::CompleteWhen => "`complete when`",
            BodyKind::Output => "`output`",
            BodyKind::Test => "a test",
            BodyKind::ScheduleStart => "a schedule's `start`",
            BodyKind::Constant => "a default value",
        }
    }

    /// Bodies that may assign facts and finish the instance.
    pub fn is_handler(self) -> bool {
        matches!(
            self,
            BodyKind::Reaction | BodyKind::Error | BodyKind::Signal
        )
    }
}

/// What checking one body found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BodyCheck {
    /// Spans relative to the body's start.
    pub diagnostics: Vec<Diagnostic>,
    /// The body's value type (`Unit` for statement bodies).
    pub value_type: Option<Type>,
    /// Paths known non-null when the body's value is true (for `match`).
    pub narrowed: Vec<Path>,
    /// Facts and inputs read.
    pub reads: BTreeSet<String>,
    /// Facts assigned.
    pub writes: BTreeSet<String>,
    /// Top-level names of the module scope that the body uses.
    pub used: BTreeSet<String>,
    /// Whether the body calls an external function or `sleep`.
    pub calls_function: bool,
    /// The workflows the body calls as children, with the call's span (relative to
    /// the body's start), in source order.
    pub children: Vec<(Span, DeclKey)>,
    /// The type of every expression checked, by span relative to the body's start
    /// (for the IDE: hover and completion).
    pub types: Vec<(Span, Type)>,
    /// What each name, field, enum member and call used in the body resolved to, by the
    /// used name's span relative to the body's start (for the IDE: references, rename
    /// and semantic tokens).
    pub links: Vec<(Span, Link)>,
}

/// What a name used in a body refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Link {
    /// A local, parameter, closure parameter or special (`result`, `error`, `it`), by its
    /// name and defining span (body-relative, or the body's span for parameters and
    /// specials).
    Local(String, Span),
    Input(String),
    Fact(String),
    /// A top-level declaration.
    Decl(DeclKey),
    EnumMember(DeclKey, String),
    RecordField(DeclKey, String),
    /// A built-in function or method.
    Builtin(String),
}

/// Everything a body is checked against.
pub(crate) struct Context {
    pub kind: BodyKind,
    pub file: FileId,
    pub scope: Arc<ModuleScope>,
    pub workflow: Option<WorkflowSig>,
    /// The declared result of the helper being checked.
    pub def_ret: Option<Type>,
    /// The type of `result` in a reaction.
    pub result: Option<Type>,
    /// Paths narrowed by the rule's match (carried into `action`, and named in notes
    /// about `reaction` and `error`).
    pub match_narrowed: Vec<Path>,
}

#[derive(Debug, Clone)]
pub(crate) struct Local {
    pub name: String,
    pub ty: Type,
    pub span: Span,
    pub reads: u32,
    pub kind: LocalKind,
    /// The whole `def` statement of a `def` local, which removing it removes.
    pub stmt: Option<Span>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalKind {
    /// `def x = …`: reassignable, warned about when unread.
    Let,
    /// Parameters, closure parameters, `it`, `result`, `error`: read-only.
    ReadOnly,
}

/// What a name in an expression refers to.
#[derive(Debug, Clone)]
pub(crate) enum NameRef {
    Local(usize),
    Input(FieldSig),
    Fact(FieldSig),
    Symbol(Symbol),
}

pub(crate) struct Checker<'db> {
    pub db: &'db dyn Db,
    pub cx: Context,
    pub locals: Vec<Local>,
    pub narrowed: Vec<Path>,
    pub out: BodyCheck,
    pub test: test::TestState,
    /// In a default: the workflow's inputs and facts, by name and kind ("input",
    /// "fact"), which a default cannot read (they do not exist yet).
    pub unreadable: Vec<(String, &'static str)>,
    /// In a setting (a function's `timeout`, a rule's `priority`, …): a constant the
    /// compiler evaluates before any helper exists, so it cannot call one.
    pub in_setting: bool,
    /// In a `match`: the span of the `now()` call being checked as one side of a
    /// comparison `<`, `<=`, `>` or `>=` — the one place a `match` may call it
    /// (LANGUAGE.md 10.1).
    pub now_operand: Option<Span>,
}

impl<'db> Checker<'db> {
    pub fn new(db: &'db dyn Db, cx: Context) -> Self {
        let narrowed = if cx.kind == BodyKind::Action {
            cx.match_narrowed.clone()
        } else {
            Vec::new()
        };
        Checker {
            db,
            cx,
            locals: Vec::new(),
            narrowed,
            out: BodyCheck::default(),
            test: test::TestState::default(),
            unreadable: Vec::new(),
            in_setting: false,
            now_operand: None,
        }
    }

    pub fn finish(self) -> BodyCheck {
        let mut out = self.out;
        out.diagnostics.sort_by_key(|d| (d.primary.span, d.code));
        out.diagnostics.dedup();
        out.links.sort_by_key(|(span, _)| *span);
        out.links.dedup();
        out
    }

    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.out.diagnostics.push(diagnostic);
    }

    pub fn error(&mut self, code: Code, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        let label = Label::new(self.cx.file, span, "");
        self.out
            .diagnostics
            .push(Diagnostic::new(code, message, label));
        let last = self.out.diagnostics.len() - 1;
        &mut self.out.diagnostics[last]
    }

    /// Records what the name at `span` resolved to.
    pub fn link(&mut self, span: Span, link: Link) {
        self.out.links.push((span, link));
    }

    /// Records a resolved name in value position.
    pub(crate) fn link_name(&mut self, span: Span, name: &NameRef) {
        let link = match name {
            NameRef::Local(index) => match self.locals.get(*index) {
                Some(local) => Link::Local(local.name.clone(), local.span),
                None => return,
            },
            NameRef::Input(field) => Link::Input(field.name.clone()),
            NameRef::Fact(field) => Link::Fact(field.name.clone()),
            NameRef::Symbol(Symbol::Decl(_, key)) => Link::Decl(key.clone()),
            NameRef::Symbol(Symbol::Module(_)) => return,
        };
        self.link(span, link);
    }

    pub fn define(&mut self, name: &str, ty: Type, span: Span, kind: LocalKind) {
        self.narrowed
            .retain(|path| path.first().is_none_or(|root| root != name));
        self.locals.push(Local {
            name: name.to_string(),
            ty,
            span,
            reads: 0,
            kind,
            stmt: None,
        });
    }

    /// Drops the locals defined since `mark`, warning about unread `def`s.
    pub fn pop_locals(&mut self, mark: usize) {
        let dropped: Vec<Local> = self.locals.drain(mark..).collect();
        let dropped_names: Vec<String> = dropped.iter().map(|l| l.name.clone()).collect();
        let locals_still: Vec<String> = self.locals.iter().map(|l| l.name.clone()).collect();
        for local in dropped {
            if local.kind == LocalKind::Let && local.reads == 0 && !local.name.starts_with('_') {
                let file = self.cx.file;
                let removal = local.stmt.map(|stmt| {
                    Suggestion::replace(format!("remove `{}`", local.name), file, stmt, "")
                });
                self.report(
                    Diagnostic::new(
                        Code::UNUSED_LOCAL,
                        format!("local `{}` is never read", local.name),
                        Label::new(file, local.span, "declared here"),
                    )
                    .with_suggestion(Suggestion::replace(
                        format!("name it `_{}` if it is meant to be unused", local.name),
                        file,
                        local.span,
                        format!("_{}", local.name),
                    ))
                    .with_suggestions(removal),
                );
            }
        }
        self.narrowed.retain(|path| {
            path.first().is_none_or(|root| {
                !dropped_names.contains(root) || locals_still.iter().any(|n| n == root)
            })
        });
    }

    /// Resolves a name as a value: locals, then inputs and facts, then the module scope.
    pub fn lookup(&mut self, name: &str) -> Option<NameRef> {
        if let Some(index) = self.locals.iter().rposition(|l| l.name == name) {
            return Some(NameRef::Local(index));
        }
        if let Some(workflow) = &self.cx.workflow {
            if let Some(input) = workflow.input(name) {
                return Some(NameRef::Input(input.clone()));
            }
            if let Some(fact) = workflow.fact(name) {
                return Some(NameRef::Fact(fact.clone()));
            }
        }
        if let Some(workflow) = self.test.workflow.as_ref().filter(|_| self.test.in_assert) {
            if let Some(input) = workflow.input(name) {
                return Some(NameRef::Input(input.clone()));
            }
            if let Some(fact) = workflow.fact(name) {
                return Some(NameRef::Fact(fact.clone()));
            }
        }
        let symbol = self.cx.scope.get(name).cloned()?;
        if !matches!(&symbol, Symbol::Decl(_, key) if key.module == PRELUDE) {
            self.out.used.insert(name.to_string());
        }
        Some(NameRef::Symbol(symbol))
    }

    /// Every name a value could be called here, for suggestions.
    pub fn visible_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.locals.iter().map(|l| l.name.clone()).collect();
        for workflow in [&self.cx.workflow, &self.test.workflow]
            .into_iter()
            .flatten()
        {
            names.extend(workflow.inputs.iter().map(|f| f.name.clone()));
            names.extend(workflow.facts.iter().map(|f| f.name.clone()));
        }
        names.extend(self.cx.scope.names().map(|(n, _)| n.clone()));
        names
    }

    /// The key of a type declared in `std.core`.
    pub fn core_type(name: &str) -> DeclKey {
        DeclKey::new(PRELUDE, name)
    }
}
