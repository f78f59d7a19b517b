//! A file's diagnostics: syntax, imports, declarations, every body (its relative spans
//! made absolute), and the warnings that need a view of the whole module.

use crate::RuleSets;
use crate::bodies::check_body;
use crate::body::{BodyPath, bodies, body_base};
use crate::db::{Db, SourceFile, module_index, parse};
use crate::fixes::remove_from_list;
use crate::items::item_diagnostics;
use crate::scope::{
    DeclKind, Symbol, declared_names, module_decl, module_scope, scope_diagnostics,
};
use cosmos_diagnostics::{Code, Diagnostic, Label, Span, Suggestion};
use cosmos_syntax::ast;
use std::collections::{BTreeMap, BTreeSet};

#[salsa::tracked(returns(ref))]
pub fn file_diagnostics(db: &dyn Db, file: SourceFile) -> Vec<Diagnostic> {
    let id = file.id(db);
    let parsed = parse(db, file);
    let module = parsed.module.clone();
    let text = file.text(db);
    let mut out: Vec<Diagnostic> = parsed
        .errors
        .iter()
        .map(|e| crate::syntax_hints::syntax_diagnostic(id, text, e))
        .collect();
    out.extend(scope_diagnostics(db, file).iter().cloned());
    let (items, mut used) = item_diagnostics(db, file);
    out.extend(items);
    used.extend(type_names_outside_bodies(&module));

    let paths = bodies(&module);
    for path in &paths {
        let check = check_body(db, file, *path);
        used.extend(check.used.iter().cloned());
        if check.diagnostics.is_empty() {
            continue;
        }
        let delta = i64::from(body_base(db, file, *path));
        for d in &check.diagnostics {
            let mut d = d.clone();
            d.shift(delta);
            out.push(d);
        }
    }
    out.extend(fact_warnings(db, file, &module, &paths));
    out.extend(unused_imports(db, file, &module, &used));
    out.extend(duplicate_workflows(db, file, &module));
    out.extend(duplicate_schedules(db, file, &module));
    out.extend(crate::children::cycle_diagnostics(db, file, &module));
    out.sort_by_key(|d| (d.primary.span, d.code));
    out.dedup();
    crate::fixes::add_fixes(id, text, &module, &mut out);
    out
}

/// Type names written in declarations (fields, parameters, results), which count as
/// uses of their imports.
fn type_names_outside_bodies(module: &ast::Module) -> BTreeSet<String> {
    fn walk(ty: &ast::TypeRef, out: &mut BTreeSet<String>) {
        match &ty.kind {
            ast::TypeRefKind::Named { path, args } => {
                if let Some(first) = path.first() {
                    out.insert(first.text.clone());
                }
                args.iter().for_each(|a| walk(a, out));
            }
            ast::TypeRefKind::Optional(inner) => walk(inner, out),
        }
    }
    let mut out = BTreeSet::new();
    let fields = |fields: &[ast::Field], out: &mut BTreeSet<String>| {
        fields.iter().for_each(|f| walk(&f.ty, out));
    };
    for item in &module.items {
        match &item.kind {
            ast::ItemKind::Type(d) => fields(&d.fields, &mut out),
            ast::ItemKind::Function(d) => {
                fields(&d.params, &mut out);
                walk(&d.ret, &mut out);
            }
            ast::ItemKind::Def(d) => {
                fields(&d.params, &mut out);
                walk(&d.ret, &mut out);
            }
            ast::ItemKind::Workflow(w) => {
                for m in &w.members {
                    match &m.kind {
                        ast::MemberKind::Input(f) | ast::MemberKind::Facts(f) => {
                            fields(f, &mut out)
                        }
                        ast::MemberKind::Signal(s) => fields(&s.params, &mut out),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The bodies of the workflow at item `index`.
fn workflow_bodies(paths: &[BodyPath], index: u32) -> impl Iterator<Item = &BodyPath> {
    paths.iter().filter(move |p| {
        p.item() == index
            && !matches!(
                p,
                BodyPath::Def { .. } | BodyPath::Test { .. } | BodyPath::ScheduleStart { .. }
            )
    })
}

fn fact_warnings(
    db: &dyn Db,
    file: SourceFile,
    module: &ast::Module,
    paths: &[BodyPath],
) -> Vec<Diagnostic> {
    let id = file.id(db);
    let mut out = Vec::new();
    for (index, item) in module.items.iter().enumerate() {
        let ast::ItemKind::Workflow(w) = &item.kind else {
            continue;
        };
        let mut reads = BTreeSet::new();
        let mut writes = BTreeSet::new();
        for path in workflow_bodies(paths, index as u32) {
            let check = check_body(db, file, *path);
            reads.extend(check.reads.iter().cloned());
            writes.extend(check.writes.iter().cloned());
        }
        for member in &w.members {
            let ast::MemberKind::Facts(facts) = &member.kind else {
                continue;
            };
            let spans: Vec<Span> = facts.iter().map(|f| f.span).collect();
            for (index, fact) in facts.iter().enumerate() {
                let name = &fact.name.text;
                let (read, written) = (reads.contains(name), writes.contains(name));
                if !read && !written {
                    out.push(
                        Diagnostic::new(
                            Code::UNUSED_FACT,
                            format!("fact `{name}` is never read or written"),
                            Label::new(id, fact.name.span, ""),
                        )
                        .with_note("use it in a rule, or remove it")
                        .with_suggestions(
                            // The only fact goes with its `facts { }`.
                            if facts.len() == 1 {
                                Some(member.span)
                            } else {
                                remove_from_list(&spans, index)
                            }
                            .map(|span| {
                                Suggestion::replace(format!("remove `{name}`"), id, span, "")
                            }),
                        ),
                    );
                } else if read && !written && !fact.default.as_ref().is_some_and(calls_now) {
                    let start = if fact.default.is_some() {
                        "its initial value"
                    } else {
                        "null"
                    };
                    out.push(
                        Diagnostic::new(
                            Code::FACT_NEVER_WRITTEN,
                            format!("fact `{name}` is read but never assigned, so it is always {start}"),
                            Label::new(id, fact.name.span, ""),
                        )
                        .with_note("assign it in a `reaction`, an `error` block or a signal handler, or make it an input"),
                    );
                }
            }
        }
    }
    out
}

/// Whether a default reads `now()`: such a fact holds each instance's start time
/// (LANGUAGE.md 10.1), so it differs between instances even if nothing assigns it.
fn calls_now(expr: &ast::Expr) -> bool {
    match &expr.kind {
        ast::ExprKind::Call { callee, args, .. } => {
            matches!(&callee.kind, ast::ExprKind::Name(n) if n.text == "now" && args.is_empty())
                || args.iter().any(|a| calls_now(&a.value))
        }
        ast::ExprKind::Paren(inner) => calls_now(inner),
        ast::ExprKind::Unary { operand, .. } => calls_now(operand),
        ast::ExprKind::Chain { first, links } => {
            calls_now(first) || links.iter().any(|l| calls_now(&l.rhs))
        }
        _ => false,
    }
}

fn unused_imports(
    db: &dyn Db,
    source: SourceFile,
    module: &ast::Module,
    used: &BTreeSet<String>,
) -> Vec<Diagnostic> {
    let file = source.id(db);
    let scope = module_scope(db, source);
    let mut out = Vec::new();
    for item in &module.items {
        let ast::ItemKind::Import(import) = &item.kind else {
            continue;
        };
        let path = import
            .path
            .iter()
            .map(|i| i.text.as_str())
            .collect::<Vec<_>>()
            .join(".");
        match &import.names {
            None => {
                // An import that failed (and was reported) is not also called unused.
                if let Some(last) = import.path.last()
                    && scope.get(&last.text) == Some(&Symbol::Module(path.clone()))
                    && !used.contains(&last.text)
                {
                    out.push(
                        Diagnostic::new(
                            Code::UNUSED_IMPORT,
                            format!("module `{path}` is imported but never used"),
                            Label::new(file, item.span, ""),
                        )
                        .with_suggestion(Suggestion::replace(
                            "remove the import",
                            file,
                            item.span,
                            "",
                        )),
                    );
                }
            }
            Some(names) => {
                let spans: Vec<Span> = names
                    .iter()
                    .map(|e| {
                        e.alias
                            .as_ref()
                            .map_or(e.name.span, |a| e.name.span.to(a.span))
                    })
                    .collect();
                let mut unused = Vec::new();
                for (index, entry) in names.iter().enumerate() {
                    let binding = entry.alias.as_ref().unwrap_or(&entry.name);
                    let imported = module_decl(db, &path, &entry.name.text);
                    if imported.is_some()
                        && scope.get(&binding.text) == imported.as_ref()
                        && !used.contains(&binding.text)
                    {
                        let span = match &entry.alias {
                            Some(alias) => entry.name.span.to(alias.span),
                            None => entry.name.span,
                        };
                        unused.push((
                            index,
                            Diagnostic::new(
                                Code::UNUSED_IMPORT,
                                format!(
                                    "`{}` is imported from `{path}` but never used",
                                    binding.text
                                ),
                                Label::new(file, span, ""),
                            ),
                        ));
                    }
                }
                // When nothing the import lists is used, the fix takes the whole import.
                let all = unused.len() == names.len();
                for (index, diagnostic) in unused {
                    let (message, span) = if all {
                        ("remove the import", Some(item.span))
                    } else {
                        ("remove it from the import", remove_from_list(&spans, index))
                    };
                    out.push(diagnostic.with_suggestions(
                        span.map(|span| Suggestion::replace(message, file, span, "")),
                    ));
                }
            }
        }
    }
    out
}

fn duplicate_workflows(db: &dyn Db, file: SourceFile, module: &ast::Module) -> Vec<Diagnostic> {
    let own_module = file.module(db).clone();
    let mut out = Vec::new();
    for item in &module.items {
        let ast::ItemKind::Workflow(w) = &item.kind else {
            continue;
        };
        // The first module (in name order) keeps the name; later ones are reported.
        let earlier: Option<String> = module_index(db)
            .iter()
            .filter(|(name, _)| **name < own_module)
            .find(|(_, other)| {
                declared_names(db, **other)
                    .iter()
                    .any(|(n, kind)| *kind == DeclKind::Workflow && *n == w.name.text)
            })
            .map(|(name, _)| name.clone());
        if let Some(other) = earlier {
            out.push(
                Diagnostic::new(
                    Code::DUPLICATE_WORKFLOW,
                    format!("workflow `{}` is also declared in module `{other}`", w.name.text),
                    Label::new(file.id(db), w.name.span, "declared again here"),
                )
                .with_note("workflow names are the runtime's API and must be unique across the project: rename one"),
            );
        }
    }
    out
}

/// Schedules named like one before them in this file or in a module earlier in name
/// order: schedule names are the runtime's API (LANGUAGE.md 10.7).
fn duplicate_schedules(db: &dyn Db, file: SourceFile, module: &ast::Module) -> Vec<Diagnostic> {
    let own_module = file.module(db).clone();
    let mut out = Vec::new();
    let mut here: BTreeMap<&str, Span> = BTreeMap::new();
    for item in &module.items {
        let ast::ItemKind::Schedule(s) = &item.kind else {
            continue;
        };
        let name = s.name.text.as_str();
        if let Some(first) = here.get(name) {
            out.push(
                Diagnostic::new(
                    Code::DUPLICATE_SCHEDULE,
                    format!("schedule {name:?} is declared twice"),
                    Label::new(file.id(db), s.name.span, "declared again here"),
                )
                .with_label(Label::new(file.id(db), *first, "first declared here"))
                .with_note("schedule names are the runtime's API and must be unique across the project: rename one"),
            );
            continue;
        }
        here.insert(name, s.name.span);
        let earlier =
            module_index(db)
                .iter()
                .filter(|(other, _)| **other < own_module)
                .find(|(_, other)| {
                    parse(db, **other).module.items.iter().any(
                        |i| matches!(&i.kind, ast::ItemKind::Schedule(o) if o.name.text == name),
                    )
                })
                .map(|(other, _)| other.clone());
        if let Some(other) = earlier {
            out.push(
                Diagnostic::new(
                    Code::DUPLICATE_SCHEDULE,
                    format!("schedule {name:?} is also declared in module `{other}`"),
                    Label::new(file.id(db), s.name.span, "declared again here"),
                )
                .with_note("schedule names are the runtime's API and must be unique across the project: rename one"),
            );
        }
    }
    out
}

/// The read and write sets of the rules of `workflow`, if this file declares it.
pub fn rule_sets(db: &dyn Db, file: SourceFile, workflow: &str) -> Option<Vec<RuleSets>> {
    let module = parse(db, file).module.clone();
    let (index, w) = module
        .items
        .iter()
        .enumerate()
        .find_map(|(i, item)| match &item.kind {
            ast::ItemKind::Workflow(w) if w.name.text == workflow => Some((i, w)),
            _ => None,
        })?;
    let mut out = Vec::new();
    for (m, member) in w.members.iter().enumerate() {
        let ast::MemberKind::Rule(rule) = &member.kind else {
            continue;
        };
        let mut sets = RuleSets {
            name: rule.name.text.clone(),
            reads: BTreeSet::new(),
            writes: BTreeSet::new(),
        };
        for (c, clause) in rule.clauses.iter().enumerate() {
            let path = BodyPath::Clause {
                item: index as u32,
                member: m as u32,
                clause: c as u32,
            };
            match clause.kind {
                ast::ClauseKind::Match(_) => sets
                    .reads
                    .extend(check_body(db, file, path).reads.iter().cloned()),
                ast::ClauseKind::Reaction(_) | ast::ClauseKind::Error(_) => sets
                    .writes
                    .extend(check_body(db, file, path).writes.iter().cloned()),
                _ => {}
            }
        }
        out.push(sets);
    }
    Some(out)
}
