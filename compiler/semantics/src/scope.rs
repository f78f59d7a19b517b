//! Module scopes: what each module declares, what its imports bring in, and the
//! `std.core` prelude. Scopes hold no spans, so they survive edits that only move code;
//! the diagnostics about imports are computed separately, with spans.

use crate::db::{Db, SourceFile, module_file, module_index, parse};
use crate::suggest::{did_you_mean, offer_name};
use crate::types::DeclKey;
use cosmos_diagnostics::{Code, Diagnostic, Label, Suggestion};
use cosmos_syntax::ast::{ItemKind, Module};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The module every module imports implicitly.
pub const PRELUDE: &str = "std.core";

/// What kind of declaration a name refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeclKind {
    Record,
    Enum,
    Function,
    Def,
    Workflow,
}

impl DeclKind {
    pub fn describe(self) -> &'static str {
        match self {
            DeclKind::Record => "type",
            DeclKind::Enum => "enum",
            DeclKind::Function => "function",
            DeclKind::Def => "helper",
            DeclKind::Workflow => "workflow",
        }
    }
}

/// What a name in a module's scope means.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Symbol {
    Decl(DeclKind, DeclKey),
    /// A module imported qualified: `import media.types` binds `types`.
    Module(String),
}

/// The names declared in one module, in order, without spans.
#[salsa::tracked(returns(ref))]
pub fn declared_names(db: &dyn Db, file: SourceFile) -> Vec<(String, DeclKind)> {
    declarations(&parse(db, file).module)
        .map(|(name, kind, _)| (name.to_string(), kind))
        .collect()
}

/// Every named declaration of a module with its kind and item index.
pub fn declarations(module: &Module) -> impl Iterator<Item = (&str, DeclKind, usize)> {
    module.items.iter().enumerate().filter_map(|(index, item)| {
        let (name, kind) = match &item.kind {
            ItemKind::Type(d) => (&d.name, DeclKind::Record),
            ItemKind::Enum(d) => (&d.name, DeclKind::Enum),
            ItemKind::Function(d) => (&d.name, DeclKind::Function),
            ItemKind::Def(d) => (&d.name, DeclKind::Def),
            ItemKind::Workflow(d) => (&d.name, DeclKind::Workflow),
            ItemKind::Import(_) | ItemKind::Test(_) | ItemKind::Schedule(_) => return None,
        };
        Some((name.text.as_str(), kind, index))
    })
}

/// Names visible at the top level of a module.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModuleScope {
    pub module: String,
    names: BTreeMap<String, Symbol>,
}

impl ModuleScope {
    pub fn get(&self, name: &str) -> Option<&Symbol> {
        self.names.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = (&String, &Symbol)> {
        self.names.iter()
    }
}

/// Looks a name up among a module's own declarations.
pub fn module_decl(db: &dyn Db, module: &str, name: &str) -> Option<Symbol> {
    let file = module_file(db, module)?;
    declared_names(db, file)
        .iter()
        .find(|(n, _)| n == name)
        .map(|(n, kind)| Symbol::Decl(*kind, DeclKey::new(module, n.as_str())))
}

#[salsa::tracked(returns(ref))]
pub fn module_scope(db: &dyn Db, file: SourceFile) -> Arc<ModuleScope> {
    Arc::new(build_scope(db, file, &mut Vec::new()))
}

/// Diagnostics about a module's imports and duplicate declarations.
#[salsa::tracked(returns(ref))]
pub fn scope_diagnostics(db: &dyn Db, file: SourceFile) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    build_scope(db, file, &mut diagnostics);
    diagnostics
}

fn build_scope(db: &dyn Db, file: SourceFile, diagnostics: &mut Vec<Diagnostic>) -> ModuleScope {
    let module_name = file.module(db).clone();
    let file_id = file.id(db);
    let ast = &parse(db, file).module;
    let mut names: BTreeMap<String, Symbol> = BTreeMap::new();
    let mut origins: BTreeMap<String, cosmos_diagnostics::Span> = BTreeMap::new();

    // The prelude first, so that anything the module declares or imports shadows it.
    if module_name != PRELUDE
        && let Some(prelude) = module_file(db, PRELUDE)
    {
        for (name, kind) in declared_names(db, prelude) {
            names.insert(
                name.clone(),
                Symbol::Decl(*kind, DeclKey::new(PRELUDE, name.as_str())),
            );
        }
    }
    let prelude_names: Vec<String> = names.keys().cloned().collect();
    let is_prelude = |name: &str, origins: &BTreeMap<String, _>| {
        prelude_names.iter().any(|n| n == name) && !origins.contains_key(name)
    };

    // Own declarations.
    for (name, _kind, index) in declarations(ast) {
        let span = ast.items.get(index).map(|item| item_name_span(&item.kind));
        let span = span.flatten().unwrap_or_default();
        if let Some(first) = origins.get(name) {
            diagnostics.push(
                Diagnostic::new(
                    Code::DUPLICATE_DECLARATION,
                    format!("`{name}` is declared twice in module `{module_name}`"),
                    Label::new(file_id, span, "declared again here"),
                )
                .with_label(Label::new(file_id, *first, "first declared here"))
                .with_note("rename one of them"),
            );
            continue;
        }
        origins.insert(name.to_string(), span);
    }
    for (name, kind) in declared_names(db, file) {
        names
            .entry(name.clone())
            .and_modify(|s| {
                if matches!(s, Symbol::Decl(_, k) if k.module == PRELUDE) {
                    *s = Symbol::Decl(*kind, DeclKey::new(module_name.as_str(), name.as_str()));
                }
            })
            .or_insert_with(|| {
                Symbol::Decl(*kind, DeclKey::new(module_name.as_str(), name.as_str()))
            });
    }

    // Imports.
    for item in &ast.items {
        let ItemKind::Import(import) = &item.kind else {
            continue;
        };
        let path: Vec<&str> = import.path.iter().map(|i| i.text.as_str()).collect();
        let target = path.join(".");
        let path_span = match (import.path.first(), import.path.last()) {
            (Some(first), Some(last)) => first.span.to(last.span),
            _ => item.span,
        };
        if target == module_name {
            diagnostics.push(
                Diagnostic::new(
                    Code::IMPORT_CYCLE,
                    format!("module `{module_name}` imports itself"),
                    Label::new(file_id, path_span, "this is the module being imported into"),
                )
                .with_note("a module's own names are always in scope")
                .with_suggestion(Suggestion::replace(
                    "remove this import",
                    file_id,
                    item.span,
                    "",
                )),
            );
            continue;
        }
        if module_file(db, &target).is_none() {
            let candidates: Vec<&str> = module_index(db).keys().map(String::as_str).collect();
            let mut diagnostic = Diagnostic::new(
                Code::UNKNOWN_MODULE,
                format!("there is no module `{target}`"),
                Label::new(file_id, path_span, "not found in the project or `std`"),
            );
            if let Some(suggestion) = did_you_mean(&target, candidates.iter().copied()) {
                offer_name(&mut diagnostic, suggestion);
            } else {
                diagnostic = diagnostic.with_note(format!(
                    "module `{target}` would be the file `{}.emx` under the source root",
                    path.join("/")
                ));
            }
            diagnostics.push(diagnostic);
            continue;
        }
        match &import.names {
            None => {
                let Some(last) = import.path.last() else {
                    continue;
                };
                let binding = last.text.clone();
                if let Some(first) = origins.get(&binding).copied()
                    && !is_prelude(&binding, &origins)
                {
                    diagnostics.push(conflict(file_id, &binding, last.span, first));
                    continue;
                }
                origins.insert(binding.clone(), last.span);
                names.insert(binding, Symbol::Module(target.clone()));
            }
            Some(list) => {
                for entry in list {
                    let Some(symbol) = module_decl(db, &target, &entry.name.text) else {
                        let exported: Vec<String> = module_file(db, &target)
                            .map(|f| {
                                declared_names(db, f)
                                    .iter()
                                    .map(|(n, _)| n.clone())
                                    .collect()
                            })
                            .unwrap_or_default();
                        let mut diagnostic = Diagnostic::new(
                            Code::UNKNOWN_IMPORT,
                            format!("module `{target}` has no `{}`", entry.name.text),
                            Label::new(file_id, entry.name.span, "not declared there"),
                        );
                        if let Some(suggestion) =
                            did_you_mean(&entry.name.text, exported.iter().map(String::as_str))
                        {
                            offer_name(&mut diagnostic, suggestion);
                        }
                        diagnostics.push(diagnostic);
                        continue;
                    };
                    let binding = entry.alias.as_ref().unwrap_or(&entry.name);
                    if let Some(first) = origins.get(&binding.text).copied()
                        && !is_prelude(&binding.text, &origins)
                    {
                        diagnostics.push(conflict(file_id, &binding.text, binding.span, first));
                        continue;
                    }
                    origins.insert(binding.text.clone(), binding.span);
                    names.insert(binding.text.clone(), symbol);
                }
            }
        }
    }

    ModuleScope {
        module: module_name,
        names,
    }
}

fn conflict(
    file: cosmos_diagnostics::FileId,
    name: &str,
    span: cosmos_diagnostics::Span,
    first: cosmos_diagnostics::Span,
) -> Diagnostic {
    Diagnostic::new(
        Code::IMPORT_SHADOWS,
        format!("`{name}` is already defined in this module"),
        Label::new(file, span, "imported here"),
    )
    .with_label(Label::new(file, first, "already defined here"))
    .with_note(format!("import it under another name: `{name} as Other`"))
}

/// The span of a declaration's name.
pub fn item_name_span(kind: &ItemKind) -> Option<cosmos_diagnostics::Span> {
    Some(match kind {
        ItemKind::Type(d) => d.name.span,
        ItemKind::Enum(d) => d.name.span,
        ItemKind::Function(d) => d.name.span,
        ItemKind::Def(d) => d.name.span,
        ItemKind::Workflow(d) => d.name.span,
        ItemKind::Test(d) => d.name.span,
        ItemKind::Schedule(d) => d.name.span,
        ItemKind::Import(_) => return None,
    })
}
