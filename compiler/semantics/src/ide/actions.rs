//! Code actions, each a fix for a diagnostic: the suggestions the compiler attached
//! to it (see `cosmos_diagnostics::Suggestion`), and an import of an unknown name from
//! the module that declares it.

use super::refs::is_identifier;
use crate::Analysis;
use crate::STD_FILE_BASE;
use crate::db::{SourceFile, parse};
use crate::scope::declarations;
use cosmos_diagnostics::{Code, Diagnostic, FileId, Span};
use cosmos_syntax::ast::ItemKind;

/// One fix: a title and the edits that make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeAction {
    pub title: String,
    /// Replacements, each in a file.
    pub edits: Vec<(FileId, Span, String)>,
    /// The code of the diagnostic it fixes.
    pub fixes: &'static str,
    /// Whether it is the obvious fix (a suggestion, a single import).
    pub preferred: bool,
}

/// `import module { name }` for each project module that declares `name`.
fn imports(
    analysis: &Analysis,
    file: SourceFile,
    name: &str,
    fixes: &'static str,
) -> Vec<CodeAction> {
    let db = &analysis.db;
    let module = parse(db, file).module.clone();
    let here = file.module(db).clone();
    let mut out = Vec::new();
    for (&id, &source) in &analysis.files {
        let other = source.module(db);
        if *other == here || (id.0 >= STD_FILE_BASE && other == "std.core") {
            continue;
        }
        if !declarations(&parse(db, source).module).any(|(n, _, _)| n == name) {
            continue;
        }
        // Into an existing braced import of that module, else a new line after the
        // imports.
        let existing = module.items.iter().find_map(|item| match &item.kind {
            ItemKind::Import(import)
                if import
                    .path
                    .iter()
                    .map(|p| p.text.as_str())
                    .collect::<Vec<_>>()
                    .join(".")
                    == *other =>
            {
                import
                    .names
                    .as_ref()
                    .and_then(|names| names.last())
                    .map(|last| {
                        let end = last
                            .alias
                            .as_ref()
                            .map_or(last.name.span.end, |a| a.span.end);
                        (Span::new(end, end), format!(", {name}"))
                    })
            }
            _ => None,
        });
        let edit = existing.unwrap_or_else(|| {
            let after = module
                .items
                .iter()
                .filter(|i| matches!(i.kind, ItemKind::Import(_)))
                .map(|i| i.span.end)
                .max();
            match after {
                Some(end) => (
                    Span::new(end, end),
                    format!("\nimport {other} {{ {name} }}"),
                ),
                None => (Span::new(0, 0), format!("import {other} {{ {name} }}\n\n")),
            }
        });
        out.push(CodeAction {
            title: format!("Import `{name}` from `{other}`"),
            edits: vec![(file.id(db), edit.0, edit.1)],
            fixes,
            preferred: false,
        });
    }
    out
}

/// The fixes for the diagnostics of `file` that overlap `range`: each diagnostic's
/// suggestions (the first is the preferred one), and for an unknown name, an import
/// from each project module that declares it.
pub(super) fn code_actions(analysis: &Analysis, file: SourceFile, range: Span) -> Vec<CodeAction> {
    let db = &analysis.db;
    let id = file.id(db);
    let text = file.text(db);
    let overlaps = |d: &Diagnostic| {
        d.primary.file == id
            && d.primary.span.start <= range.end
            && range.start <= d.primary.span.end
    };
    let mut out = Vec::new();
    for d in analysis.file_diagnostics(id).iter().filter(|d| overlaps(d)) {
        for (index, suggestion) in d.suggestions.iter().enumerate() {
            out.push(CodeAction {
                title: capitalized(&suggestion.message),
                edits: suggestion
                    .edits
                    .iter()
                    .map(|e| (e.file, e.span, e.replacement.clone()))
                    .collect(),
                fixes: d.code.code,
                preferred: index == 0,
            });
        }
        if d.code == Code::UNKNOWN_NAME || d.code == Code::UNKNOWN_TYPE {
            let written = text.get(d.primary.span.range()).unwrap_or("");
            if is_identifier(written) {
                let imports = imports(analysis, file, written, d.code.code);
                // A misspelling's fix stays the preferred one.
                let preferred = d.suggestions.is_empty() && imports.len() == 1;
                out.extend(imports.into_iter().map(|a| CodeAction { preferred, ..a }));
            }
        }
    }
    out
}

/// A suggestion's sentence as a title: `Remove the import`.
fn capitalized(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
