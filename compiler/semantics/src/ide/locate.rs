//! What is at an offset, and what it refers to: a walk down the syntax tree that keeps
//! the locals in scope, then resolution through the module scope and signatures.

use super::Target;
use crate::bodies::check_body;
use crate::body::{BodyPath, body_base};
use crate::builtins::{BUILTINS, Builtin, Receiver};
use crate::db::{Db, SourceFile, module_file, parse};
use crate::scope::{Symbol, declarations, module_scope};
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::Span;
use cosmos_syntax::ast::{
    Arg, Block, ClauseKind, Expr, ExprKind, Field, Ident, Import, Item, ItemKind, MapKey,
    MemberKind, Module, Rule, ScheduleClauseKind, Signal, StmtKind, StrPart, TestStmtKind, TypeRef,
    TypeRefKind, Variant, Workflow,
};

/// A name bound inside a body.
#[derive(Clone, Copy)]
pub(super) struct Local<'a> {
    pub(super) name: &'a Ident,
}

/// What a named argument's label names: a parameter of the called function or helper,
/// a field of the constructed record, an input of the started workflow, a parameter of
/// the signal sent in a test.
#[derive(Clone, Copy)]
pub(super) enum LabelOwner<'a> {
    Call(&'a Expr),
    Start(&'a [Ident]),
    /// The workflow the test started before, and the signal's name.
    Signal(Option<&'a [Ident]>, &'a Ident),
}

/// The syntax at the offset.
pub(super) enum Hit<'a> {
    ItemName(&'a Item),
    Variant(&'a Variant, &'a Ident),
    FieldDecl(&'a Field, &'static str),
    RuleName(&'a Workflow, &'a Rule),
    ImportModule(&'a Import),
    ImportName(&'a Import, &'a Ident),
    TypePath(&'a [Ident], usize),
    LocalDecl(&'a Ident, Option<BodyPath>),
    Name {
        ident: &'a Ident,
        local: Option<Local<'a>>,
        body: Option<BodyPath>,
        /// In a test, the workflow it started before: its inputs and facts are names.
        started: Option<&'a [Ident]>,
    },
    /// The function a test's `mock` replaces, with the workflow the test started.
    Mock {
        function: &'a Ident,
        started: Option<&'a [Ident]>,
    },
    /// A signal's name where the workflow declares it.
    SignalDecl(&'a Signal),
    /// A signal's name where a test sends it, with the workflow the test started.
    SignalSent {
        name: &'a Ident,
        started: Option<&'a [Ident]>,
    },
    Member {
        receiver: &'a Expr,
        name: &'a Ident,
        body: Option<BodyPath>,
    },
    /// The label of a named argument, `url` in `inspect(url: source)`.
    Label {
        label: &'a Ident,
        owner: LabelOwner<'a>,
    },
}

struct Walker<'a> {
    offset: u32,
    workflow: Option<&'a Workflow>,
    locals: Vec<Local<'a>>,
    body: Option<BodyPath>,
    /// The workflow a test started, for the labels of the signals it sends.
    started: Option<&'a [Ident]>,
    hit: Option<Hit<'a>>,
}

fn on(ident: &Ident, offset: u32) -> bool {
    ident.span.contains(offset)
}

impl<'a> Walker<'a> {
    fn module(&mut self, module: &'a Module) {
        for (i, item) in module.items.iter().enumerate() {
            if self.hit.is_some() {
                return;
            }
            if !item.span.contains(self.offset) {
                continue;
            }
            self.item(i as u32, item);
        }
    }

    fn item(&mut self, index: u32, item: &'a Item) {
        match &item.kind {
            ItemKind::Import(import) => {
                if import.path.iter().any(|p| on(p, self.offset)) {
                    self.hit = Some(Hit::ImportModule(import));
                }
                for entry in import.names.iter().flatten() {
                    if on(&entry.name, self.offset) {
                        self.hit = Some(Hit::ImportName(import, &entry.name));
                    }
                }
            }
            ItemKind::Type(d) => {
                if on(&d.name, self.offset) {
                    self.hit = Some(Hit::ItemName(item));
                }
                self.fields(&d.fields, "field");
            }
            ItemKind::Enum(d) => {
                if on(&d.name, self.offset) {
                    self.hit = Some(Hit::ItemName(item));
                }
                for v in &d.variants {
                    if on(&v.name, self.offset) {
                        self.hit = Some(Hit::Variant(v, &d.name));
                    }
                }
            }
            ItemKind::Function(d) => {
                if on(&d.name, self.offset) {
                    self.hit = Some(Hit::ItemName(item));
                }
                self.fields(&d.params, "parameter");
                self.type_ref(&d.ret);
            }
            ItemKind::Def(d) => {
                if on(&d.name, self.offset) {
                    self.hit = Some(Hit::ItemName(item));
                }
                self.fields(&d.params, "parameter");
                self.type_ref(&d.ret);
                self.body = Some(BodyPath::Def { item: index });
                self.locals = d.params.iter().map(|p| Local { name: &p.name }).collect();
                self.block(&d.body);
            }
            ItemKind::Test(t) => {
                if on(&t.name, self.offset) {
                    self.hit = Some(Hit::ItemName(item));
                }
                self.body = Some(BodyPath::Test { item: index });
                self.locals.clear();
                self.started = None;
                for stmt in &t.body {
                    match &stmt.kind {
                        TestStmtKind::Start { workflow, args } => {
                            if let Some(i) = workflow.iter().position(|p| on(p, self.offset)) {
                                self.hit = Some(Hit::TypePath(workflow, i));
                            }
                            self.args(args, LabelOwner::Start(workflow));
                            self.started = Some(workflow);
                        }
                        TestStmtKind::Signal { name, args } => {
                            if on(name, self.offset) {
                                self.hit = Some(Hit::SignalSent {
                                    name,
                                    started: self.started,
                                });
                            }
                            self.args(args, LabelOwner::Signal(self.started, name));
                        }
                        TestStmtKind::Mock {
                            function,
                            params,
                            answer,
                        } => {
                            if on(function, self.offset) {
                                self.hit = Some(Hit::Mock {
                                    function,
                                    started: self.started,
                                });
                            }
                            let mark = self.locals.len();
                            for p in params {
                                if on(p, self.offset) && self.hit.is_none() {
                                    self.hit = Some(Hit::LocalDecl(p, self.body));
                                }
                                self.locals.push(Local { name: p });
                            }
                            match answer {
                                cosmos_syntax::ast::MockAnswer::Value(e)
                                | cosmos_syntax::ast::MockAnswer::Fails(e) => self.expr(e),
                            }
                            self.locals.truncate(mark);
                        }
                        TestStmtKind::Advance(e) | TestStmtKind::Assert(e) => self.expr(e),
                        TestStmtKind::Stmt(s) => self.stmt(s),
                        TestStmtKind::Run => {}
                    }
                }
            }
            ItemKind::Schedule(d) => {
                if on(&d.name, self.offset) {
                    self.hit = Some(Hit::ItemName(item));
                }
                for clause in &d.clauses {
                    match &clause.kind {
                        ScheduleClauseKind::Cron(e) | ScheduleClauseKind::Every(e) => {
                            self.body = None;
                            self.locals.clear();
                            self.expr(e);
                        }
                        ScheduleClauseKind::Start(b) => {
                            self.body = Some(BodyPath::ScheduleStart { item: index });
                            self.locals.clear();
                            self.block(b);
                        }
                        ScheduleClauseKind::Overlap(_) => {}
                    }
                }
            }
            ItemKind::Workflow(w) => {
                if on(&w.name, self.offset) {
                    self.hit = Some(Hit::ItemName(item));
                }
                self.workflow = Some(w);
                for (m, member) in w.members.iter().enumerate() {
                    if self.hit.is_some() {
                        return;
                    }
                    if !member.span.contains(self.offset) {
                        continue;
                    }
                    let member_index = m as u32;
                    self.locals.clear();
                    match &member.kind {
                        MemberKind::Input(fields) => self.fields(fields, "input"),
                        MemberKind::Facts(fields) => self.fields(fields, "fact"),
                        MemberKind::Rule(rule) => {
                            if on(&rule.name, self.offset) {
                                self.hit = Some(Hit::RuleName(w, rule));
                            }
                            for (c, clause) in rule.clauses.iter().enumerate() {
                                if !clause.span.contains(self.offset) {
                                    continue;
                                }
                                match &clause.kind {
                                    ClauseKind::Priority(e) | ClauseKind::Timeout(e) => {
                                        self.body = None;
                                        self.expr(e);
                                    }
                                    ClauseKind::Match(b)
                                    | ClauseKind::Action(b)
                                    | ClauseKind::Reaction(b)
                                    | ClauseKind::Error(b) => {
                                        self.body = Some(BodyPath::Clause {
                                            item: index,
                                            member: member_index,
                                            clause: c as u32,
                                        });
                                        self.block(b);
                                    }
                                }
                            }
                        }
                        MemberKind::Signal(signal) => {
                            if on(&signal.name, self.offset) {
                                self.hit = Some(Hit::SignalDecl(signal));
                            }
                            self.fields(&signal.params, "parameter");
                            self.body = Some(BodyPath::Signal {
                                item: index,
                                member: member_index,
                            });
                            self.locals = signal
                                .params
                                .iter()
                                .map(|p| Local { name: &p.name })
                                .collect();
                            self.block(&signal.body);
                        }
                        MemberKind::CompleteWhen(b) => {
                            self.body = Some(BodyPath::CompleteWhen {
                                item: index,
                                member: member_index,
                            });
                            self.block(b);
                        }
                        MemberKind::Output(o) => {
                            if let Some(ty) = &o.ty {
                                self.type_ref(ty);
                            }
                            self.body = Some(BodyPath::Output {
                                item: index,
                                member: member_index,
                            });
                            self.block(&o.body);
                        }
                    }
                }
            }
        }
    }

    fn fields(&mut self, fields: &'a [Field], role: &'static str) {
        for f in fields {
            if on(&f.name, self.offset) {
                self.hit = Some(Hit::FieldDecl(f, role));
                return;
            }
            self.type_ref(&f.ty);
            if let Some(default) = &f.default {
                self.body = None;
                self.expr(default);
            }
        }
    }

    fn type_ref(&mut self, ty: &'a TypeRef) {
        if self.hit.is_some() || !ty.span.contains(self.offset) {
            return;
        }
        match &ty.kind {
            TypeRefKind::Optional(inner) => self.type_ref(inner),
            TypeRefKind::Named { path, args } => {
                if let Some(i) = path.iter().position(|p| on(p, self.offset)) {
                    self.hit = Some(Hit::TypePath(path, i));
                    return;
                }
                args.iter().for_each(|a| self.type_ref(a));
            }
        }
    }

    /// A call's arguments: their labels, then their values.
    fn args(&mut self, args: &'a [Arg], owner: LabelOwner<'a>) {
        for arg in args {
            if let Some(label) = &arg.name
                && on(label, self.offset)
                && self.hit.is_none()
            {
                self.hit = Some(Hit::Label { label, owner });
            }
            self.expr(&arg.value);
        }
    }

    fn block(&mut self, block: &'a Block) {
        let mark = self.locals.len();
        for stmt in &block.stmts {
            if self.hit.is_some() {
                return;
            }
            self.stmt(stmt);
        }
        self.locals.truncate(mark);
    }

    fn stmt(&mut self, stmt: &'a cosmos_syntax::ast::Stmt) {
        match &stmt.kind {
            StmtKind::Let { name, ty, value } => {
                if let Some(ty) = ty {
                    self.type_ref(ty);
                }
                self.expr(value);
                if on(name, self.offset) && self.hit.is_none() {
                    self.hit = Some(Hit::LocalDecl(name, self.body));
                }
                self.locals.push(Local { name });
            }
            StmtKind::Assign { target, value, .. } => {
                self.expr(target);
                self.expr(value);
            }
            StmtKind::For { var, iter, body } => {
                self.expr(iter);
                if on(var, self.offset) && self.hit.is_none() {
                    self.hit = Some(Hit::LocalDecl(var, self.body));
                }
                let mark = self.locals.len();
                self.locals.push(Local { name: var });
                self.block(body);
                self.locals.truncate(mark);
            }
            StmtKind::Return(value) => {
                if let Some(v) = value {
                    self.expr(v);
                }
            }
            StmtKind::Expr(e) => self.expr(e),
        }
    }

    fn expr(&mut self, expr: &'a Expr) {
        if self.hit.is_some() || !expr.span.contains(self.offset) {
            return;
        }
        match &expr.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::Null
            | ExprKind::Duration { .. } => {}
            ExprKind::Str(s) => {
                for part in &s.parts {
                    if let StrPart::Expr(e) = part {
                        self.expr(e);
                    }
                }
            }
            ExprKind::List(items) => items.iter().for_each(|e| self.expr(e)),
            ExprKind::Map(entries) => {
                for entry in entries {
                    if let MapKey::Expr(k) = &entry.key {
                        self.expr(k);
                    }
                    self.expr(&entry.value);
                }
            }
            ExprKind::Name(ident) => {
                if on(ident, self.offset) {
                    let local = self
                        .locals
                        .iter()
                        .rev()
                        .find(|l| l.name.text == ident.text)
                        .copied();
                    self.hit = Some(Hit::Name {
                        ident,
                        local,
                        body: self.body,
                        started: self.started,
                    });
                }
            }
            ExprKind::Field { receiver, name, .. } => {
                self.expr(receiver);
                if self.hit.is_none() && on(name, self.offset) {
                    self.hit = Some(Hit::Member {
                        receiver,
                        name,
                        body: self.body,
                    });
                }
            }
            ExprKind::Call {
                callee,
                args,
                closure,
            } => {
                self.expr(callee);
                self.args(args, LabelOwner::Call(callee));
                if let Some(closure) = closure {
                    let mark = self.locals.len();
                    for p in &closure.params {
                        if on(p, self.offset) && self.hit.is_none() {
                            self.hit = Some(Hit::LocalDecl(p, self.body));
                        }
                        self.locals.push(Local { name: p });
                    }
                    self.block(&closure.body);
                    self.locals.truncate(mark);
                }
            }
            ExprKind::Index { receiver, index } => {
                self.expr(receiver);
                self.expr(index);
            }
            ExprKind::Unary { operand, .. } => self.expr(operand),
            ExprKind::Chain { first, links } => {
                self.expr(first);
                for link in links {
                    self.expr(&link.rhs);
                }
            }
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            ExprKind::If {
                branches,
                otherwise,
            } => {
                for branch in branches {
                    self.expr(&branch.cond);
                    self.block(&branch.then);
                }
                if let Some(b) = otherwise {
                    self.block(b);
                }
            }
            ExprKind::Paren(inner) => self.expr(inner),
        }
    }
}

pub(super) fn find(module: &Module, offset: u32) -> Option<(Hit<'_>, Option<&Workflow>)> {
    let mut walker = Walker {
        offset,
        workflow: None,
        locals: Vec::new(),
        body: None,
        started: None,
        hit: None,
    };
    walker.module(module);
    let workflow = walker.workflow;
    walker.hit.map(|hit| (hit, workflow))
}

/// A declaration found by key: its file and item.
pub(super) fn find_decl(db: &dyn Db, key: &DeclKey) -> Option<(SourceFile, usize)> {
    let file = module_file(db, &key.module)?;
    let module = &parse(db, file).module;
    declarations(module)
        .find(|(name, _, _)| *name == key.name)
        .map(|(_, _, index)| (file, index))
}

pub(super) fn decl_target(db: &dyn Db, key: &DeclKey) -> Option<Target> {
    let (file, index) = find_decl(db, key)?;
    let item = parse(db, file).module.items.get(index)?;
    Some(Target {
        file: file.id(db),
        span: crate::scope::item_name_span(&item.kind)?,
    })
}

/// What a name at the top of an expression means.
pub(super) enum Named<'a> {
    Local(&'a Ident),
    Input(&'a Field),
    Fact(&'a Field),
    /// An input or a fact (the role says which) of the workflow a test started, in the
    /// file that declares it.
    Started(SourceFile, Field, &'static str),
    Symbol(Symbol),
    Builtin(&'static Builtin),
}

/// The workflow a test started: its file and declaration.
pub(super) fn started_workflow(
    db: &dyn Db,
    file: SourceFile,
    path: &[Ident],
) -> Option<(SourceFile, Workflow)> {
    let symbol = type_path_symbol(db, file, path, path.len().checked_sub(1)?)?;
    let Symbol::Decl(crate::scope::DeclKind::Workflow, key) = symbol else {
        return None;
    };
    let (decl_file, index) = find_decl(db, &key)?;
    match &parse(db, decl_file).module.items.get(index)?.kind {
        ItemKind::Workflow(w) => Some((decl_file, w.clone())),
        _ => None,
    }
}

/// An input or fact of a workflow, and which of the two it is.
fn workflow_field<'w>(workflow: &'w Workflow, name: &str) -> Option<(&'w Field, &'static str)> {
    workflow
        .members
        .iter()
        .find_map(|member| match &member.kind {
            MemberKind::Input(fields) => fields
                .iter()
                .find(|f| f.name.text == name)
                .map(|f| (f, "input")),
            MemberKind::Facts(fields) => fields
                .iter()
                .find(|f| f.name.text == name)
                .map(|f| (f, "fact")),
            _ => None,
        })
}

/// The function a test's `mock` names: as the test's module sees it or, failing that,
/// as the started workflow's module does (as the checker resolves it).
pub(super) fn mocked_function(
    db: &dyn Db,
    file: SourceFile,
    started: Option<&[Ident]>,
    name: &str,
) -> Option<Symbol> {
    if let Some(symbol) = module_scope(db, file).get(name) {
        return Some(symbol.clone());
    }
    let (workflow_file, _) = started_workflow(db, file, started?)?;
    module_scope(db, workflow_file).get(name).cloned()
}

/// The declaration of the signal a test sends: the workflow's file and the signal.
pub(super) fn sent_signal(
    db: &dyn Db,
    file: SourceFile,
    started: Option<&[Ident]>,
    name: &str,
) -> Option<(SourceFile, Signal)> {
    let (workflow_file, workflow) = started_workflow(db, file, started?)?;
    workflow.members.iter().find_map(|m| match &m.kind {
        MemberKind::Signal(s) if s.name.text == name => Some((workflow_file, s.clone())),
        _ => None,
    })
}

pub(super) fn resolve_name<'a>(
    db: &dyn Db,
    file: SourceFile,
    workflow: Option<&'a Workflow>,
    local: Option<Local<'a>>,
    started: Option<&[Ident]>,
    name: &str,
) -> Option<Named<'a>> {
    if let Some(local) = local {
        return Some(Named::Local(local.name));
    }
    // In a test, after `start`: the started workflow's inputs and facts, as the checker
    // looks them up.
    if let Some(path) = started
        && let Some((workflow_file, w)) = started_workflow(db, file, path)
        && let Some((field, role)) = workflow_field(&w, name)
    {
        return Some(Named::Started(workflow_file, field.clone(), role));
    }
    if let Some(w) = workflow {
        for member in &w.members {
            match &member.kind {
                MemberKind::Input(fields) => {
                    if let Some(f) = fields.iter().find(|f| f.name.text == name) {
                        return Some(Named::Input(f));
                    }
                }
                MemberKind::Facts(fields) => {
                    if let Some(f) = fields.iter().find(|f| f.name.text == name) {
                        return Some(Named::Fact(f));
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(symbol) = module_scope(db, file).get(name) {
        return Some(Named::Symbol(symbol.clone()));
    }
    BUILTINS
        .iter()
        .find(|b| b.receiver == Receiver::Global && b.name == name)
        .map(Named::Builtin)
}

/// The type the checker recorded for an expression of a body.
pub(super) fn recorded_type(
    db: &dyn Db,
    file: SourceFile,
    body: Option<BodyPath>,
    span: Span,
) -> Option<Type> {
    let body = body?;
    let base = body_base(db, file, body);
    let relative = span.shifted(-i64::from(base));
    check_body(db, file, body)
        .types
        .iter()
        .rev()
        .find(|(s, _)| *s == relative)
        .map(|(_, ty)| ty.clone())
}

/// What `receiver.name` refers to.
pub(super) enum MemberOf {
    Variant(DeclKey),
    ModuleDecl(Symbol),
    RecordField(DeclKey, Type),
    Builtin(&'static Builtin),
}

pub(super) fn resolve_member(
    db: &dyn Db,
    file: SourceFile,
    workflow: Option<&Workflow>,
    receiver: &Expr,
    name: &str,
    body: Option<BodyPath>,
) -> Option<MemberOf> {
    if let ExprKind::Name(ident) = &receiver.kind
        && let Some(Named::Symbol(symbol)) =
            resolve_name(db, file, workflow, None, None, &ident.text)
        && recorded_type(db, file, body, receiver.span).is_none_or(|t| t.is_error())
    {
        match symbol {
            Symbol::Decl(crate::scope::DeclKind::Enum, key) => {
                return if name == "valueOf" {
                    BUILTINS
                        .iter()
                        .find(|b| b.receiver == Receiver::EnumType && b.name == name)
                        .map(MemberOf::Builtin)
                } else {
                    Some(MemberOf::Variant(key))
                };
            }
            Symbol::Module(module) => {
                return crate::scope::module_decl(db, &module, name).map(MemberOf::ModuleDecl);
            }
            Symbol::Decl(..) => {}
        }
    }
    let ty = recorded_type(db, file, body, receiver.span)?.non_null();
    if let Type::Record(key) = &ty {
        let sigs = crate::signatures::module_signatures(db, module_file(db, &key.module)?);
        let field = sigs
            .records
            .get(&key.name)?
            .fields
            .iter()
            .find(|f| f.name == name)?;
        return Some(MemberOf::RecordField(key.clone(), field.ty.clone()));
    }
    let receiver_kind = match ty {
        Type::String => Receiver::String,
        Type::List(_) => Receiver::List,
        Type::Map(..) => Receiver::Map,
        Type::Int | Type::Float => Receiver::Number,
        Type::Duration => Receiver::Duration,
        Type::Time => Receiver::Time,
        Type::Enum(_) => Receiver::EnumValue,
        _ => return None,
    };
    BUILTINS
        .iter()
        .find(|b| b.receiver == receiver_kind && b.name == name)
        .map(MemberOf::Builtin)
}

pub(super) fn variant_target(db: &dyn Db, key: &DeclKey, name: &str) -> Option<Target> {
    let (file, index) = find_decl(db, key)?;
    let ItemKind::Enum(e) = &parse(db, file).module.items.get(index)?.kind else {
        return None;
    };
    let variant = e.variants.iter().find(|v| v.name.text == name)?;
    Some(Target {
        file: file.id(db),
        span: variant.name.span,
    })
}

fn field_target(db: &dyn Db, key: &DeclKey, name: &str) -> Option<Target> {
    let (file, index) = find_decl(db, key)?;
    let ItemKind::Type(t) = &parse(db, file).module.items.get(index)?.kind else {
        return None;
    };
    let field = t.fields.iter().find(|f| f.name.text == name)?;
    Some(Target {
        file: file.id(db),
        span: field.name.span,
    })
}

fn symbol_target(db: &dyn Db, symbol: &Symbol) -> Option<Target> {
    match symbol {
        Symbol::Decl(_, key) => decl_target(db, key),
        Symbol::Module(module) => Some(Target {
            file: module_file(db, module)?.id(db),
            span: Span::default(),
        }),
    }
}

pub(super) fn type_path_symbol(
    db: &dyn Db,
    file: SourceFile,
    path: &[Ident],
    index: usize,
) -> Option<Symbol> {
    let first = module_scope(db, file).get(&path.first()?.text)?.clone();
    match (index, &first, path.get(1)) {
        (0, _, _) => Some(first),
        (1, Symbol::Module(module), Some(name)) => {
            crate::scope::module_decl(db, module, &name.text)
        }
        _ => None,
    }
}

/// The declaration a named argument's label names: the file it is in, the parameter,
/// field or input, and which of these it is.
pub(super) fn label_decl(
    db: &dyn Db,
    file: SourceFile,
    owner: LabelOwner<'_>,
    label: &str,
) -> Option<(SourceFile, Field, &'static str)> {
    let scope = module_scope(db, file);
    let symbol = match owner {
        LabelOwner::Call(callee) => match &callee.kind {
            // A call looks past values to the declaration, as the checker does.
            ExprKind::Name(name) => scope.get(&name.text).cloned(),
            ExprKind::Field { receiver, name, .. } => match &receiver.kind {
                ExprKind::Name(m) => match scope.get(&m.text) {
                    Some(Symbol::Module(module)) => {
                        crate::scope::module_decl(db, module, &name.text)
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        },
        LabelOwner::Start(path) | LabelOwner::Signal(Some(path), _) => {
            type_path_symbol(db, file, path, path.len().checked_sub(1)?)
        }
        LabelOwner::Signal(None, _) => None,
    }?;
    let Symbol::Decl(_, key) = symbol else {
        return None;
    };
    let (decl_file, index) = find_decl(db, &key)?;
    let module = &parse(db, decl_file).module;
    let find = |fields: &[Field], role| {
        fields
            .iter()
            .find(|f| f.name.text == label)
            .map(|f| (decl_file, f.clone(), role))
    };
    match (&module.items.get(index)?.kind, owner) {
        (ItemKind::Type(d), LabelOwner::Call(_)) => find(&d.fields, "field"),
        (ItemKind::Function(d), LabelOwner::Call(_)) => find(&d.params, "parameter"),
        (ItemKind::Def(d), LabelOwner::Call(_)) => find(&d.params, "parameter"),
        (ItemKind::Workflow(w), LabelOwner::Start(_)) => {
            w.members.iter().find_map(|m| match &m.kind {
                MemberKind::Input(fields) => find(fields, "input"),
                _ => None,
            })
        }
        (ItemKind::Workflow(w), LabelOwner::Signal(_, signal)) => {
            w.members.iter().find_map(|m| match &m.kind {
                MemberKind::Signal(s) if s.name.text == signal.text => find(&s.params, "parameter"),
                _ => None,
            })
        }
        _ => None,
    }
}

pub(super) fn definition(db: &dyn Db, file: SourceFile, offset: u32) -> Option<Target> {
    let module = parse(db, file).module.clone();
    let here = |span| {
        Some(Target {
            file: file.id(db),
            span,
        })
    };
    let (hit, workflow) = find(&module, offset)?;
    match hit {
        Hit::ItemName(item) => here(crate::scope::item_name_span(&item.kind)?),
        Hit::Variant(v, _) => here(v.name.span),
        Hit::FieldDecl(f, _) => here(f.name.span),
        Hit::RuleName(_, rule) => here(rule.name.span),
        Hit::LocalDecl(ident, _) => here(ident.span),
        Hit::ImportModule(import) => {
            let path: Vec<&str> = import.path.iter().map(|i| i.text.as_str()).collect();
            symbol_target(db, &Symbol::Module(path.join(".")))
        }
        Hit::ImportName(import, name) => {
            let path: Vec<&str> = import.path.iter().map(|i| i.text.as_str()).collect();
            let symbol = crate::scope::module_decl(db, &path.join("."), &name.text)?;
            symbol_target(db, &symbol)
        }
        Hit::TypePath(path, index) => symbol_target(db, &type_path_symbol(db, file, path, index)?),
        Hit::Name {
            ident,
            local,
            started,
            ..
        } => match resolve_name(db, file, workflow, local, started, &ident.text)? {
            Named::Local(decl) => here(decl.span),
            Named::Input(f) | Named::Fact(f) => here(f.name.span),
            Named::Started(decl_file, f, _) => Some(Target {
                file: decl_file.id(db),
                span: f.name.span,
            }),
            Named::Symbol(symbol) => symbol_target(db, &symbol),
            Named::Builtin(_) => None,
        },
        Hit::Mock { function, started } => {
            symbol_target(db, &mocked_function(db, file, started, &function.text)?)
        }
        Hit::SignalDecl(signal) => here(signal.name.span),
        Hit::SignalSent { name, started } => {
            let (decl_file, signal) = sent_signal(db, file, started, &name.text)?;
            Some(Target {
                file: decl_file.id(db),
                span: signal.name.span,
            })
        }
        Hit::Member {
            receiver,
            name,
            body,
        } => match resolve_member(db, file, workflow, receiver, &name.text, body)? {
            MemberOf::Variant(key) => variant_target(db, &key, &name.text),
            MemberOf::ModuleDecl(symbol) => symbol_target(db, &symbol),
            MemberOf::RecordField(key, _) => field_target(db, &key, &name.text),
            MemberOf::Builtin(_) => None,
        },
        Hit::Label { label, owner } => {
            let (decl_file, field, _) = label_decl(db, file, owner, &label.text)?;
            Some(Target {
                file: decl_file.id(db),
                span: field.name.span,
            })
        }
    }
}
