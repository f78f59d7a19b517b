//! Find references and rename: every use of a declaration across the project, and the
//! checks that a new name is valid where the declaration lives.
//!
//! The uses are found by resolving each whole-word occurrence of the declaration's name
//! in the project's files with [`locate::definition`], so that references agree with go
//! to definition by construction: type names, imports, module-qualified names, names
//! in bodies, enum members, record fields and the labels of named arguments all resolve
//! the same way.

use super::{Target, locate};
use crate::Analysis;
use crate::STD_FILE_BASE;
use crate::bodies::check_body;
use crate::body::bodies;
use crate::check::Link;
use crate::db::{SourceFile, parse};
use crate::scope::module_scope;
use cosmos_diagnostics::Span;
use cosmos_syntax::ast::{ItemKind, MemberKind, Module};

/// The words that can never be names (`reserved` in `grammar/emx.pest`).
pub const RESERVED: &[&str] = &[
    "import", "input", "if", "in", "type", "test", "true", "enum", "else", "function", "facts",
    "for", "false", "def", "workflow", "signal", "null", "as", "rule", "return",
];

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `name` is an identifier that is not a reserved word.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(is_ident_char)
}

/// The start of every whole-word occurrence of `word` in `text`.
fn occurrences<'a>(text: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    text.match_indices(word).filter_map(move |(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        (!before.is_some_and(is_ident_char) && !after.is_some_and(is_ident_char)).then_some(i)
    })
}

/// The declaration at `offset` and its name.
fn target(analysis: &Analysis, file: SourceFile, offset: u32) -> Option<(Target, String)> {
    let db = &analysis.db;
    let target = locate::definition(db, file, offset)?;
    let source = analysis.source(target.file)?;
    let name = source.text(db).get(target.span.range())?.to_string();
    Some((target, name))
}

/// Every use of the declaration at `offset` in the project's files, with the
/// declaration itself when `declaration` is set.
pub(super) fn references(
    analysis: &Analysis,
    file: SourceFile,
    offset: u32,
    declaration: bool,
) -> Vec<Target> {
    let Some((target, name)) = target(analysis, file, offset) else {
        return Vec::new();
    };
    if !is_identifier(&name) {
        return Vec::new();
    }
    let db = &analysis.db;
    let mut out = Vec::new();
    for (&id, &source) in &analysis.files {
        if id.0 >= STD_FILE_BASE && id != target.file {
            continue;
        }
        let text = source.text(db);
        for start in occurrences(text, &name) {
            let span = Span::new(start as u32, (start + name.len()) as u32);
            if !declaration && id == target.file && span == target.span {
                continue;
            }
            if locate::definition(db, source, span.start) == Some(target) {
                out.push(Target { file: id, span });
            }
        }
    }
    out
}

/// The name under the cursor, if it may be renamed.
pub(super) fn prepare_rename(
    analysis: &Analysis,
    file: SourceFile,
    offset: u32,
) -> Result<Span, String> {
    let Some((target, name)) = target(analysis, file, offset) else {
        return Err("there is nothing here that can be renamed".to_string());
    };
    if target.file.0 >= STD_FILE_BASE {
        return Err(format!(
            "`{name}` is declared in the standard library and cannot be renamed"
        ));
    }
    if !is_identifier(&name) {
        return Err("only names can be renamed; a rule's name is a string".to_string());
    }
    let text = file.text(&analysis.db);
    occurrences(text, &name)
        .map(|start| Span::new(start as u32, (start + name.len()) as u32))
        .find(|span| span.contains(offset) || span.end == offset)
        .ok_or_else(|| "there is nothing here that can be renamed".to_string())
}

/// The edits that rename the declaration at `offset` to `new_name`: every reference
/// and the declaration.
pub(super) fn rename(
    analysis: &Analysis,
    file: SourceFile,
    offset: u32,
    new_name: &str,
) -> Result<Vec<Target>, String> {
    prepare_rename(analysis, file, offset)?;
    if !is_identifier(new_name) {
        return Err(format!(
            "`{new_name}` is not a name: names are letters, digits and `_`, not starting with a digit"
        ));
    }
    if RESERVED.contains(&new_name) {
        return Err(format!(
            "`{new_name}` is a reserved word and cannot be a name"
        ));
    }
    let Some((target, _)) = target(analysis, file, offset) else {
        return Err("there is nothing here that can be renamed".to_string());
    };
    let Some(decl_file) = analysis.source(target.file) else {
        return Err("the declaration is not in the project".to_string());
    };
    if let Some(what) = clash(analysis, decl_file, target.span, new_name) {
        return Err(format!("`{new_name}` is already {what} here"));
    }
    let refs = references(analysis, file, offset, true);
    // A top-level name must also be free in every module that imports it.
    let db = &analysis.db;
    for r in &refs {
        if r.file != target.file
            && let Some(source) = analysis.source(r.file)
            && module_scope(db, source).get(new_name).is_some()
        {
            return Err(format!(
                "`{new_name}` is already declared or imported in module `{}`",
                source.module(db)
            ));
        }
    }
    Ok(refs)
}

/// What else is called `new_name` in the scope of the declaration at `decl`.
fn clash(analysis: &Analysis, file: SourceFile, decl: Span, new_name: &str) -> Option<String> {
    let db = &analysis.db;
    let module: &Module = &parse(db, file).module;
    for item in &module.items {
        if crate::scope::item_name_span(&item.kind) == Some(decl) {
            return module_scope(db, file)
                .get(new_name)
                .map(|_| "declared or imported in this module".to_string());
        }
        let siblings: Vec<(Vec<&str>, &str)> = match &item.kind {
            ItemKind::Type(d) => vec![(
                d.fields.iter().map(|f| f.name.text.as_str()).collect(),
                "a field of this type",
            )],
            ItemKind::Enum(d) => vec![(
                d.variants.iter().map(|v| v.name.text.as_str()).collect(),
                "a member of this enum",
            )],
            ItemKind::Function(d) => vec![(
                d.params.iter().map(|f| f.name.text.as_str()).collect(),
                "a parameter",
            )],
            ItemKind::Def(d) => vec![(
                d.params.iter().map(|f| f.name.text.as_str()).collect(),
                "a parameter",
            )],
            ItemKind::Workflow(w) => {
                let mut fields = Vec::new();
                let mut out = Vec::new();
                for member in &w.members {
                    match &member.kind {
                        MemberKind::Input(fs) | MemberKind::Facts(fs) => {
                            fields.extend(fs.iter().map(|f| f.name.text.as_str()));
                        }
                        MemberKind::Signal(s) => out.push((
                            s.params.iter().map(|f| f.name.text.as_str()).collect(),
                            "a parameter",
                        )),
                        _ => {}
                    }
                }
                out.push((fields, "an input or fact of this workflow"));
                out
            }
            _ => Vec::new(),
        };
        let declared_here = match &item.kind {
            ItemKind::Type(d) => d.fields.iter().any(|f| f.name.span == decl),
            ItemKind::Enum(d) => d.variants.iter().any(|v| v.name.span == decl),
            ItemKind::Function(d) => d.params.iter().any(|f| f.name.span == decl),
            ItemKind::Def(d) => d.params.iter().any(|f| f.name.span == decl),
            ItemKind::Workflow(w) => w.members.iter().any(|m| match &m.kind {
                MemberKind::Input(fs) | MemberKind::Facts(fs) => {
                    fs.iter().any(|f| f.name.span == decl)
                }
                MemberKind::Signal(s) => s.params.iter().any(|f| f.name.span == decl),
                _ => false,
            }),
            _ => false,
        };
        if declared_here {
            for (names, what) in siblings {
                if names.contains(&new_name) {
                    return Some(what.to_string());
                }
            }
            return None;
        }
    }
    // A local: another local of that name in the same body, as the checker saw it.
    for path in bodies(module) {
        let base = crate::body::body_base(db, file, path);
        let check = check_body(db, file, path);
        let owns = check.links.iter().any(|(_, link)| {
            matches!(link, Link::Local(_, span) if span.shifted(i64::from(base)) == decl)
        });
        if owns
            && check.links.iter().any(|(_, link)| match link {
                Link::Local(name, _) | Link::Input(name) | Link::Fact(name) => name == new_name,
                _ => false,
            })
        {
            return Some("a local, input or fact used in this body".to_string());
        }
    }
    None
}
