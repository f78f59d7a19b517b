//! What is at an offset, and what it refers to: a walk down the syntax tree that keeps
//! the locals in scope, then resolution through the module scope and signatures.

use super::render;
use super::{Hover, Target};
use crate::Analysis;
use crate::bodies::check_body;
use crate::body::{BodyPath, body_base};
use crate::builtins::{BUILTINS, Builtin, Receiver};
use crate::db::{Db, SourceFile, module_file, parse};
use crate::scope::{Symbol, declarations, module_scope};
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::Span;
use cosmos_syntax::ast::{
    Block, ClauseKind, Else, Expr, ExprKind, Field, Ident, Import, Item, ItemKind, MapKey,
    MemberKind, Module, Rule, StmtKind, StrPart, TestStmtKind, TypeRef, TypeRefKind, Variant,
    Workflow,
};

/// A name bound inside a body.
#[derive(Clone, Copy)]
struct Local<'a> {
    name: &'a Ident,
}

/// The syntax at the offset.
enum Hit<'a> {
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
    },
    Member {
        receiver: &'a Expr,
        name: &'a Ident,
        body: Option<BodyPath>,
    },
}

struct Walker<'a> {
    offset: u32,
    workflow: Option<&'a Workflow>,
    locals: Vec<Local<'a>>,
    body: Option<BodyPath>,
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
                for stmt in &t.body {
                    match &stmt.kind {
                        TestStmtKind::Start { args, .. } | TestStmtKind::Signal { args, .. } => {
                            args.iter().for_each(|a| self.expr(&a.value));
                        }
                        TestStmtKind::Mock { answer, .. } => match answer {
                            cosmos_syntax::ast::MockAnswer::Value(e)
                            | cosmos_syntax::ast::MockAnswer::Fails(e) => self.expr(e),
                        },
                        TestStmtKind::Advance(e) | TestStmtKind::Assert(e) => self.expr(e),
                        TestStmtKind::Stmt(s) => self.stmt(s),
                        TestStmtKind::Run => {}
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
                        MemberKind::Output(b) => {
                            self.body = Some(BodyPath::Output {
                                item: index,
                                member: member_index,
                            });
                            self.block(b);
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
                args.iter().for_each(|a| self.expr(&a.value));
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
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
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
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond);
                self.block(then);
                match otherwise.as_deref() {
                    Some(Else::Block(b)) => self.block(b),
                    Some(Else::If(e)) => self.expr(e),
                    None => {}
                }
            }
            ExprKind::Paren(inner) => self.expr(inner),
        }
    }
}

fn find(module: &Module, offset: u32) -> Option<(Hit<'_>, Option<&Workflow>)> {
    let mut walker = Walker {
        offset,
        workflow: None,
        locals: Vec::new(),
        body: None,
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

fn decl_target(db: &dyn Db, key: &DeclKey) -> Option<Target> {
    let (file, index) = find_decl(db, key)?;
    let item = parse(db, file).module.items.get(index)?;
    Some(Target {
        file: file.id(db),
        span: crate::scope::item_name_span(&item.kind)?,
    })
}

/// What a name at the top of an expression means.
enum Named<'a> {
    Local(&'a Ident),
    Input(&'a Field),
    Fact(&'a Field),
    Symbol(Symbol),
    Builtin(&'static Builtin),
}

fn resolve_name<'a>(
    db: &dyn Db,
    file: SourceFile,
    workflow: Option<&'a Workflow>,
    local: Option<Local<'a>>,
    name: &str,
) -> Option<Named<'a>> {
    if let Some(local) = local {
        return Some(Named::Local(local.name));
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
fn recorded_type(
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
enum MemberOf {
    Variant(DeclKey),
    ModuleDecl(Symbol),
    RecordField(DeclKey, Type),
    Builtin(&'static Builtin),
}

fn resolve_member(
    db: &dyn Db,
    file: SourceFile,
    workflow: Option<&Workflow>,
    receiver: &Expr,
    name: &str,
    body: Option<BodyPath>,
) -> Option<MemberOf> {
    if let ExprKind::Name(ident) = &receiver.kind
        && let Some(Named::Symbol(symbol)) = resolve_name(db, file, workflow, None, &ident.text)
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
        Type::Enum(_) => Receiver::EnumValue,
        _ => return None,
    };
    BUILTINS
        .iter()
        .find(|b| b.receiver == receiver_kind && b.name == name)
        .map(MemberOf::Builtin)
}

fn variant_target(db: &dyn Db, key: &DeclKey, name: &str) -> Option<Target> {
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

fn type_path_symbol(db: &dyn Db, file: SourceFile, path: &[Ident], index: usize) -> Option<Symbol> {
    let first = module_scope(db, file).get(&path.first()?.text)?.clone();
    match (index, &first, path.get(1)) {
        (0, _, _) => Some(first),
        (1, Symbol::Module(module), Some(name)) => {
            crate::scope::module_decl(db, module, &name.text)
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
        Hit::Name { ident, local, .. } => {
            match resolve_name(db, file, workflow, local, &ident.text)? {
                Named::Local(decl) => here(decl.span),
                Named::Input(f) | Named::Fact(f) => here(f.name.span),
                Named::Symbol(symbol) => symbol_target(db, &symbol),
                Named::Builtin(_) => None,
            }
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
    }
}

fn builtin_hover(span: Span, builtin: &Builtin) -> Hover {
    Hover {
        span,
        signature: builtin.signature.to_string(),
        doc: Some(builtin.doc.to_string()),
    }
}

fn symbol_hover(db: &dyn Db, span: Span, symbol: &Symbol) -> Option<Hover> {
    match symbol {
        Symbol::Module(module) => Some(Hover {
            span,
            signature: format!("import {module}"),
            doc: None,
        }),
        Symbol::Decl(_, key) => {
            let (file, index) = find_decl(db, key)?;
            let item = parse(db, file).module.items.get(index)?.clone();
            Some(Hover {
                span,
                signature: render::item_signature(file.text(db), &item),
                doc: item.doc.clone(),
            })
        }
    }
}

fn field_hover(text: &str, span: Span, field: &Field, role: &str) -> Hover {
    let written = text.get(field.span.range()).unwrap_or(&field.name.text);
    Hover {
        span,
        signature: format!("{role} {written}"),
        doc: field.doc.clone(),
    }
}

pub(super) fn hover(analysis: &Analysis, file: SourceFile, offset: u32) -> Option<Hover> {
    let db = &analysis.db;
    let module = parse(db, file).module.clone();
    let text = file.text(db);
    let (hit, workflow) = find(&module, offset)?;
    match hit {
        Hit::ItemName(item) => Some(Hover {
            span: crate::scope::item_name_span(&item.kind)?,
            signature: render::item_signature(text, item),
            doc: item.doc.clone(),
        }),
        Hit::Variant(v, enum_name) => Some(Hover {
            span: v.name.span,
            signature: format!("{}.{}", enum_name.text, v.name.text),
            doc: v.doc.clone(),
        }),
        Hit::FieldDecl(f, role) => Some(field_hover(text, f.name.span, f, role)),
        Hit::RuleName(w, rule) => {
            let sets = analysis
                .rule_sets(&w.name.text)
                .and_then(|rules| rules.into_iter().find(|r| r.name == rule.name.text));
            let doc = sets.map(|s| {
                let list = |names: &std::collections::BTreeSet<String>| {
                    if names.is_empty() {
                        "nothing".to_string()
                    } else {
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                };
                format!("reads: {}\n\nwrites: {}", list(&s.reads), list(&s.writes))
            });
            Some(Hover {
                span: rule.name.span,
                signature: format!(
                    "rule {}",
                    text.get(rule.name.span.range()).unwrap_or_default()
                ),
                doc,
            })
        }
        Hit::LocalDecl(ident, body) => {
            let ty = local_type(db, file, body, ident);
            Some(Hover {
                span: ident.span,
                signature: match ty {
                    Some(ty) => format!("{}: {ty}", ident.text),
                    None => ident.text.clone(),
                },
                doc: None,
            })
        }
        Hit::ImportModule(import) => {
            let path: Vec<&str> = import.path.iter().map(|i| i.text.as_str()).collect();
            let span = import.path.first()?.span.to(import.path.last()?.span);
            symbol_hover(db, span, &Symbol::Module(path.join(".")))
        }
        Hit::ImportName(import, name) => {
            let path: Vec<&str> = import.path.iter().map(|i| i.text.as_str()).collect();
            let symbol = crate::scope::module_decl(db, &path.join("."), &name.text)?;
            symbol_hover(db, name.span, &symbol)
        }
        Hit::TypePath(path, index) => {
            let symbol = type_path_symbol(db, file, path, index)?;
            symbol_hover(db, path.get(index)?.span, &symbol)
        }
        Hit::Name { ident, local, body } => {
            let span = ident.span;
            match resolve_name(db, file, workflow, local, &ident.text) {
                Some(Named::Local(_)) | None => {
                    let ty = recorded_type(db, file, body, span)?;
                    Some(Hover {
                        span,
                        signature: format!("{}: {ty}", ident.text),
                        doc: None,
                    })
                }
                Some(Named::Input(f)) => Some(field_hover(text, span, f, "input")),
                Some(Named::Fact(f)) => Some(field_hover(text, span, f, "fact")),
                Some(Named::Symbol(symbol)) => symbol_hover(db, span, &symbol),
                Some(Named::Builtin(b)) => Some(builtin_hover(span, b)),
            }
        }
        Hit::Member {
            receiver,
            name,
            body,
        } => {
            let span = name.span;
            match resolve_member(db, file, workflow, receiver, &name.text, body)? {
                MemberOf::Builtin(b) => Some(builtin_hover(span, b)),
                MemberOf::ModuleDecl(symbol) => symbol_hover(db, span, &symbol),
                MemberOf::Variant(key) => {
                    let target = variant_target(db, &key, &name.text);
                    let doc = target.and_then(|_| {
                        let (file, index) = find_decl(db, &key)?;
                        match &parse(db, file).module.items.get(index)?.kind {
                            ItemKind::Enum(e) => e
                                .variants
                                .iter()
                                .find(|v| v.name.text == name.text)
                                .and_then(|v| v.doc.clone()),
                            _ => None,
                        }
                    });
                    Some(Hover {
                        span,
                        signature: format!("{}.{}", key.name, name.text),
                        doc,
                    })
                }
                MemberOf::RecordField(key, ty) => Some(Hover {
                    span,
                    signature: format!("{}.{}: {ty}", key.name, name.text),
                    doc: None,
                }),
            }
        }
    }
}

/// A local's type where it is declared: the type recorded for its first use, or for
/// the value it is bound to.
fn local_type(
    db: &dyn Db,
    file: SourceFile,
    body: Option<BodyPath>,
    ident: &Ident,
) -> Option<Type> {
    let body = body?;
    let base = body_base(db, file, body);
    let relative = ident.span.shifted(-i64::from(base));
    let check = check_body(db, file, body);
    let syntax = crate::body::body_syntax(db, file, body).as_ref()?;
    // The first expression after the declaration that names it.
    let uses = names_after(syntax, &ident.text, relative.end);
    uses.iter().find_map(|span| {
        check
            .types
            .iter()
            .find(|(s, _)| s == span)
            .map(|(_, t)| t.clone())
    })
}

fn names_after(syntax: &crate::body::BodySyntax, name: &str, after: u32) -> Vec<Span> {
    fn expr(e: &Expr, name: &str, after: u32, out: &mut Vec<Span>) {
        if let ExprKind::Name(i) = &e.kind
            && i.text == name
            && e.span.start >= after
        {
            out.push(e.span);
        }
        render::children(e, &mut |child| expr(child, name, after, out));
    }
    let mut out = Vec::new();
    match syntax {
        crate::body::BodySyntax::Block(b) => {
            render::block_exprs(b, &mut |e| expr(e, name, after, &mut out));
        }
        crate::body::BodySyntax::Test(stmts) => {
            for s in stmts {
                if let TestStmtKind::Stmt(stmt) = &s.kind {
                    render::stmt_exprs(stmt, &mut |e| expr(e, name, after, &mut out));
                } else if let TestStmtKind::Assert(e) = &s.kind {
                    expr(e, name, after, &mut out);
                }
            }
        }
    }
    out
}
