//! Code actions, each a fix for a diagnostic: guard a fact with `!= null` in the
//! rule's `match`, import a name from the module that declares it, and apply a "did
//! you mean" suggestion.

use super::refs::is_identifier;
use crate::Analysis;
use crate::STD_FILE_BASE;
use crate::db::{SourceFile, parse};
use crate::scope::declarations;
use cosmos_diagnostics::{Code, Diagnostic, FileId, Span};
use cosmos_syntax::ast::{
    BinaryOp, ClauseKind, Expr, ExprKind, ItemKind, MemberKind, Module, StmtKind,
};

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

/// The first name in backticks in a message.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// `x != null && ` at the start of the `match` of the rule around `at`, when `path`
/// starts at one of the workflow's facts or inputs.
fn null_guard(module: &Module, file: FileId, at: Span, path: &str) -> Option<CodeAction> {
    let root = path.split(['.', '?']).next()?;
    for item in &module.items {
        let ItemKind::Workflow(w) = &item.kind else {
            continue;
        };
        if !item.span.contains(at.start) {
            continue;
        }
        let declared = w.members.iter().any(|m| match &m.kind {
            MemberKind::Facts(fs) | MemberKind::Input(fs) => fs.iter().any(|f| f.name.text == root),
            _ => false,
        });
        if !declared {
            return None;
        }
        for member in &w.members {
            let MemberKind::Rule(rule) = &member.kind else {
                continue;
            };
            if !member.span.contains(at.start) {
                continue;
            }
            let matcher = rule.clauses.iter().find_map(|c| match &c.kind {
                ClauseKind::Match(b) => Some(b),
                _ => None,
            })?;
            let first = matcher.stmts.first()?;
            let start = Span::new(first.span.start, first.span.start);
            let guard = format!("{path} != null && ");
            // `a || b` keeps its meaning only in parentheses after the guard.
            let edits = match &first.kind {
                StmtKind::Expr(Expr {
                    kind: ExprKind::Chain { links, .. },
                    ..
                }) if links.first().is_some_and(|l| l.op == BinaryOp::Or) => vec![
                    (file, start, format!("{guard}(")),
                    (
                        file,
                        Span::new(first.span.end, first.span.end),
                        ")".to_string(),
                    ),
                ],
                _ => vec![(file, start, guard)],
            };
            return Some(CodeAction {
                title: format!("Add `{path} != null` to the rule's `match`"),
                edits,
                fixes: Code::NULLABLE_VALUE.code,
                preferred: true,
            });
        }
    }
    None
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
    if out.len() == 1
        && let Some(only) = out.first_mut()
    {
        only.preferred = true;
    }
    out
}

/// The fixes for the diagnostics of `file` that overlap `range`.
pub(super) fn code_actions(analysis: &Analysis, file: SourceFile, range: Span) -> Vec<CodeAction> {
    let db = &analysis.db;
    let id = file.id(db);
    let text = file.text(db);
    let module = parse(db, file).module.clone();
    let overlaps = |d: &Diagnostic| {
        d.primary.file == id
            && d.primary.span.start <= range.end
            && range.start <= d.primary.span.end
    };
    let mut out = Vec::new();
    for d in analysis.file_diagnostics(id).iter().filter(|d| overlaps(d)) {
        let span = d.primary.span;
        if d.code == Code::NULLABLE_VALUE
            && let Some(path) = quoted(&d.message)
            && let Some(action) = null_guard(&module, id, span, path)
        {
            out.push(action);
        }
        if d.code == Code::UNKNOWN_NAME || d.code == Code::UNKNOWN_TYPE {
            let written = text.get(span.range()).unwrap_or("");
            if is_identifier(written) {
                out.extend(imports(analysis, file, written, d.code.code));
            }
        }
        for note in &d.notes {
            if let Some(rest) = note.strip_prefix("did you mean `")
                && let Some(suggestion) = rest.strip_suffix("`?")
            {
                out.push(CodeAction {
                    title: format!("Replace with `{suggestion}`"),
                    edits: vec![(id, span, suggestion.to_string())],
                    fixes: d.code.code,
                    preferred: true,
                });
            }
        }
    }
    out
}
