//! Completion. The text being typed rarely parses (`encodes.` is not an expression),
//! so the context comes from a scan of the text before the cursor: the braces it is
//! inside and the keywords that opened them. Types come from the signatures, which
//! the rest of the project keeps valid while one body is half-typed.

use crate::builtins::{BUILTINS, Receiver};
use crate::db::{Db, SourceFile, module_file};
use crate::scope::{DeclKind, Symbol, module_scope};
use crate::signatures::{WorkflowSig, module_signatures};
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionKind {
    Keyword,
    Fact,
    Input,
    Field,
    Method,
    Function,
    Def,
    Type,
    Enum,
    EnumMember,
    Workflow,
    Module,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    /// A type or signature.
    pub detail: Option<String>,
    pub doc: Option<String>,
    /// The text the completion replaces, when it is more than the word at the cursor
    /// (a dotted module path in an `import`).
    pub replace: Option<Span>,
}

fn item(label: &str, kind: CompletionKind, detail: Option<String>) -> Completion {
    Completion {
        label: label.to_string(),
        kind,
        detail,
        doc: None,
        replace: None,
    }
}

/// In an `import` line: module paths (`import me` → `media.probe`), or after the
/// module's `{` the names it declares that are not listed yet.
fn import_completions(
    db: &dyn Db,
    file: SourceFile,
    prefix: &str,
    cut_end: usize,
) -> Option<Vec<Completion>> {
    let line_start = prefix.rfind(['\n', ';']).map_or(0, |i| i + 1);
    let line = prefix.get(line_start..)?;
    let indent = line.len() - line.trim_start().len();
    let rest = line.trim_start().strip_prefix("import")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let own = file.module(db);
    if let Some((path, listed)) = rest.split_once('{') {
        let listed: Vec<&str> = listed
            .split(',')
            .filter_map(|entry| entry.split_whitespace().next())
            .collect();
        let module = module_file(db, path.trim())?;
        return Some(
            crate::scope::declared_names(db, module)
                .iter()
                .filter(|(name, _)| !listed.contains(&name.as_str()))
                .map(|(name, kind)| {
                    let kind = match kind {
                        DeclKind::Record => CompletionKind::Type,
                        DeclKind::Enum => CompletionKind::Enum,
                        DeclKind::Function => CompletionKind::Function,
                        DeclKind::Def => CompletionKind::Def,
                        DeclKind::Workflow => CompletionKind::Workflow,
                    };
                    item(name, kind, None)
                })
                .collect(),
        );
    }
    let typed = rest.trim_start();
    let start = line_start + indent + "import".len() + (rest.len() - typed.len());
    if typed.contains(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')) {
        return Some(Vec::new());
    }
    let replace = Span::new(start as u32, cut_end as u32);
    let project = crate::db::ProjectFiles::try_get(db)?;
    let mut modules: Vec<&String> = project
        .files(db)
        .iter()
        .map(|f| f.module(db))
        .filter(|m| *m != own && m.as_str() != crate::scope::PRELUDE)
        .collect();
    modules.sort();
    Some(
        modules
            .into_iter()
            .map(|m| Completion {
                replace: Some(replace),
                ..item(m, CompletionKind::Module, None)
            })
            .collect(),
    )
}

/// One open brace before the cursor and the words that opened it.
#[derive(Debug)]
struct Opener {
    first: String,
    second: String,
}

/// Where a scan for the braces open at `offset` can start: the start of the
/// declaration around it, or the end of the last declaration before it (both are at the
/// top level, outside any string or comment), so the scan follows the declaration being
/// edited rather than the file.
fn top_level_start(db: &dyn Db, file: SourceFile, offset: usize) -> usize {
    let mut start = 0;
    for item in &crate::db::parse(db, file).module.items {
        let (item_start, item_end) = (item.span.start as usize, item.span.end as usize);
        if item_start >= offset {
            break;
        }
        start = if offset < item_end {
            item_start
        } else {
            item_end
        };
    }
    start
}

/// The braces open at the end of `text`, outermost first; strings and comments are
/// skipped.
fn openers(text: &str) -> Vec<Opener> {
    let bytes = text.as_bytes();
    let mut stack = Vec::new();
    let mut segment_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            b'"' | b'\'' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' => {
                let header = text.get(segment_start..i).unwrap_or_default();
                // The header is the last line before the brace.
                let line = header.rsplit(['\n', ';']).next().unwrap_or_default();
                let mut words = line
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '"'))
                    .filter(|w| !w.is_empty());
                stack.push(Opener {
                    first: words.next().unwrap_or_default().to_string(),
                    second: words.next().unwrap_or_default().to_string(),
                });
                segment_start = i + 1;
            }
            b'}' => {
                stack.pop();
                segment_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    stack
}

const BODY_KINDS: &[&str] = &[
    "match", "action", "reaction", "error", "signal", "def", "output", "complete", "test",
];

pub(super) fn completions(db: &dyn Db, file: SourceFile, offset: u32) -> Vec<Completion> {
    let text = file.text(db);
    let mut end = (offset as usize).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let prefix = text.get(..end).unwrap_or_default();
    let before = prefix.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_');
    // The rest of the word under the cursor, which a completion replaces.
    let cut_end = end
        + text
            .get(end..)
            .unwrap_or_default()
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(text.len() - end);
    if let Some(items) = import_completions(db, file, prefix, cut_end) {
        return items;
    }
    let stack = openers(
        before
            .get(top_level_start(db, file, before.len())..)
            .unwrap_or(before),
    );
    let workflow_name = stack
        .iter()
        .rev()
        .find(|o| o.first == "workflow")
        .map(|o| o.second.clone());
    let workflow = workflow_name
        .as_deref()
        .and_then(|name| find_workflow(db, name));
    let body = stack
        .iter()
        .rev()
        .find(|o| BODY_KINDS.contains(&o.first.as_str()))
        .map(|o| o.first.as_str());
    // In a test, after `start`: the started workflow's inputs and facts are names.
    let started = if body == Some("test") {
        started_workflow(before)
    } else {
        None
    };
    let workflow = workflow.or_else(|| started.and_then(|name| find_workflow(db, name)));

    if let Some(receiver) = before.strip_suffix('.') {
        let receiver = receiver.strip_suffix('?').unwrap_or(receiver);

        let chain_start = receiver
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '?'))
            .map_or(0, |i| i + 1);
        let chain: Vec<&str> = receiver
            .get(chain_start..)
            .unwrap_or_default()
            .split('.')
            .map(|s| s.trim_end_matches('?'))
            .collect();
        if !is_static(db, file, workflow.as_ref(), &chain)
            && let Some(ty) = super::repair::receiver_type(db, file, receiver.len(), cut_end)
            && !ty.is_error()
        {
            return type_members(db, &ty);
        }
        return member_completions(db, file, workflow.as_ref(), body, &chain);
    }

    let innermost = stack.last().map(|o| o.first.as_str());
    let keywords: &[&str] = match (innermost, body) {
        (None, _) => &[
            "import", "type", "enum", "function", "def", "workflow", "test",
        ],
        (Some("workflow"), _) => &[
            "input",
            "facts",
            "rule",
            "signal",
            "complete when",
            "output",
        ],
        (Some("rule"), _) => &[
            "priority", "timeout", "match", "action", "reaction", "error",
        ],
        (Some("function"), _) => &[
            "command",
            "pool",
            "timeout",
            "warm",
            "batch",
            "priority",
            "heartbeat",
            "retry",
            "env",
        ],
        (Some("input" | "facts" | "type" | "enum"), _) => &[],
        (Some("test"), _) => &[
            "start", "mock", "run", "signal", "advance", "assert", "def", "if", "else", "true",
            "false", "null",
        ],
        (_, Some(_)) => &[
            "def", "if", "else", "for", "in", "return", "true", "false", "null",
        ],
        _ => &[],
    };
    let mut out: Vec<Completion> = keywords
        .iter()
        .map(|k| item(k, CompletionKind::Keyword, None))
        .collect();
    let Some(body) = body else {
        return out;
    };
    if matches!(innermost, Some("rule" | "workflow" | "input" | "facts")) {
        return out;
    }
    if body == "test" && started.is_some() {
        // What an assert reads of the instance (LANGUAGE.md section 8).
        out.push(item(
            "status",
            CompletionKind::Keyword,
            Some("Status".into()),
        ));
        out.push(item(
            "output",
            CompletionKind::Keyword,
            Some("Json?".into()),
        ));
        let status = DeclKey::new(crate::scope::PRELUDE, "Status");
        out.extend(
            enum_members(db, &status)
                .into_iter()
                .filter(|c| c.kind == CompletionKind::EnumMember),
        );
        out.push(item(
            "fired",
            CompletionKind::Function,
            Some("fired(rule: String): Int".into()),
        ));
    }
    match body {
        "reaction" => out.push(item("result", CompletionKind::Keyword, None)),
        "error" => {
            out.push(item(
                "error",
                CompletionKind::Keyword,
                Some("CallError".into()),
            ));
        }
        _ => {}
    }
    if let Some(w) = &workflow {
        for f in &w.inputs {
            out.push(item(&f.name, CompletionKind::Input, Some(f.ty.to_string())));
        }
        for f in &w.facts {
            out.push(item(&f.name, CompletionKind::Fact, Some(f.ty.to_string())));
        }
    }
    for (name, symbol) in module_scope(db, file).names() {
        let kind = match symbol {
            Symbol::Module(_) => CompletionKind::Module,
            Symbol::Decl(DeclKind::Record, _) => CompletionKind::Type,
            Symbol::Decl(DeclKind::Enum, _) => CompletionKind::Enum,
            Symbol::Decl(DeclKind::Function, _) => CompletionKind::Function,
            Symbol::Decl(DeclKind::Def, _) => CompletionKind::Def,
            Symbol::Decl(DeclKind::Workflow, _) => CompletionKind::Workflow,
        };
        out.push(item(name, kind, None));
    }
    let handler = matches!(body, "reaction" | "error" | "signal");
    for b in BUILTINS.iter().filter(|b| b.receiver == Receiver::Global) {
        let allowed = match b.name {
            "complete" | "fail" | "log" => handler,
            "sleep" | "settle" => body == "action",
            "retry" => body == "error",
            _ => true,
        };
        if allowed {
            let mut c = item(
                b.name,
                CompletionKind::Function,
                Some(b.signature.to_string()),
            );
            c.doc = Some(b.doc.to_string());
            out.push(c);
        }
    }
    out
}

/// The workflow the test being typed started: the last name after `start` in the test
/// block before the cursor.
fn started_workflow(before: &str) -> Option<&str> {
    let block = before.rfind("test \"").map_or(before, |i| &before[i..]);
    let (i, _) = block.rmatch_indices("start").find(|(i, _)| {
        let preceded = block[..*i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let followed = block[i + 5..].starts_with(char::is_whitespace);
        !preceded && followed
    })?;
    let rest = block[i + 5..].trim_start();
    let path = rest
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .next()?;
    path.rsplit('.').next().filter(|name| !name.is_empty())
}

fn find_workflow(db: &dyn Db, name: &str) -> Option<WorkflowSig> {
    let project = crate::db::ProjectFiles::try_get(db)?;
    project
        .files(db)
        .iter()
        .find_map(|f| module_signatures(db, *f).workflows.get(name).cloned())
}

fn record_fields(db: &dyn Db, key: &DeclKey) -> Vec<(String, Type)> {
    module_file(db, &key.module)
        .and_then(|f| {
            module_signatures(db, f).records.get(&key.name).map(|r| {
                r.fields
                    .iter()
                    .map(|f| (f.name.clone(), f.ty.clone()))
                    .collect()
            })
        })
        .unwrap_or_default()
}

fn member_completions(
    db: &dyn Db,
    file: SourceFile,
    workflow: Option<&WorkflowSig>,
    body: Option<&str>,
    chain: &[&str],
) -> Vec<Completion> {
    let Some((first, rest)) = chain.split_first() else {
        return Vec::new();
    };
    let from_workflow = workflow.and_then(|w| w.input(first).or_else(|| w.fact(first)));
    let mut ty = match from_workflow {
        Some(f) => f.ty.clone(),
        None if *first == "error" && body == Some("error") => {
            Type::Record(DeclKey::new(crate::scope::PRELUDE, "CallError"))
        }
        None => {
            // A type or a module: its members, not a value's.
            let scope = module_scope(db, file);
            return match (scope.get(first), rest.is_empty()) {
                (Some(Symbol::Decl(DeclKind::Enum, key)), true) => enum_members(db, key),
                (Some(Symbol::Module(module)), true) => module_file(db, module)
                    .map(|f| {
                        crate::scope::declared_names(db, f)
                            .iter()
                            .map(|(n, _)| item(n, CompletionKind::Type, None))
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
        }
    };
    for segment in rest {
        let fields = match ty.non_null() {
            Type::Record(key) => record_fields(db, &key),
            Type::Outcome(value) => outcome_fields(&value),
            _ => return Vec::new(),
        };
        let Some((_, field)) = fields.into_iter().find(|(n, _)| n == segment) else {
            return Vec::new();
        };
        ty = field;
    }
    type_members(db, &ty)
}

/// The fields of the built-in `Outcome<T>`, as [`record_fields`] gives a record's.
fn outcome_fields(value: &Type) -> Vec<(String, Type)> {
    Type::outcome_fields(value)
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect()
}

/// Whether `chain` is a type or a module (`Codec.`, `types.`), whose members are its
/// declarations rather than a value's.
fn is_static(
    db: &dyn Db,
    file: SourceFile,
    workflow: Option<&WorkflowSig>,
    chain: &[&str],
) -> bool {
    let [name] = chain else {
        return false;
    };
    let value = workflow.is_some_and(|w| w.input(name).is_some() || w.fact(name).is_some());
    !value
        && matches!(
            module_scope(db, file).get(name),
            Some(Symbol::Module(_) | Symbol::Decl(DeclKind::Enum, _))
        )
}

/// The members of a value of type `ty` (of `T` for a `T?`): a record's fields, the
/// built-in methods of the others.
fn type_members(db: &dyn Db, ty: &Type) -> Vec<Completion> {
    let ty = ty.non_null();
    let receiver = match &ty {
        Type::Record(key) => {
            return record_fields(db, key)
                .into_iter()
                .map(|(n, t)| item(&n, CompletionKind::Field, Some(t.to_string())))
                .collect();
        }
        Type::Outcome(value) => {
            return outcome_fields(value)
                .into_iter()
                .map(|(n, t)| item(&n, CompletionKind::Field, Some(t.to_string())))
                .collect();
        }
        Type::String => Receiver::String,
        Type::List(_) => Receiver::List,
        Type::Map(..) => Receiver::Map,
        Type::Int | Type::Float => Receiver::Number,
        Type::Duration => Receiver::Duration,
        Type::Time => Receiver::Time,
        Type::Enum(_) => Receiver::EnumValue,
        _ => return Vec::new(),
    };
    BUILTINS
        .iter()
        .filter(|b| b.receiver == receiver)
        .map(|b| {
            let mut c = item(
                b.name,
                CompletionKind::Method,
                Some(b.signature.to_string()),
            );
            c.doc = Some(b.doc.to_string());
            c
        })
        .collect()
}

fn enum_members(db: &dyn Db, key: &DeclKey) -> Vec<Completion> {
    let mut out: Vec<Completion> = module_file(db, &key.module)
        .and_then(|f| {
            module_signatures(db, f).enums.get(&key.name).map(|e| {
                e.variants
                    .iter()
                    .map(|v| item(v, CompletionKind::EnumMember, Some(key.name.clone())))
                    .collect()
            })
        })
        .unwrap_or_default();
    for b in BUILTINS.iter().filter(|b| b.receiver == Receiver::EnumType) {
        out.push(item(
            b.name,
            CompletionKind::Method,
            Some(b.signature.to_string()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use crate::Analysis;
    use cosmos_diagnostics::{FileId, Span};

    /// The completions at `|` in `main`, beside two modules of types.
    fn complete(main: &str) -> Vec<super::Completion> {
        let offset = main.find('|').unwrap();
        let mut analysis = Analysis::new();
        analysis.set_file(
            FileId(0),
            "media.probe",
            "type Probe { width: Int }\nenum Codec { H264 }\ndef twice(x: Int): Int { x * 2 }\n"
                .into(),
        );
        analysis.set_file(FileId(1), "media.types", "type Other { a: Int }\n".into());
        analysis.set_file(FileId(2), "main", main.replacen('|', "", 1));
        analysis.completions(FileId(2), offset as u32)
    }

    #[test]
    fn module_paths_in_an_import_replace_the_typed_path() {
        let items = complete("import me|\n");
        let labels: Vec<&str> = items.iter().map(|c| c.label.as_str()).collect();
        assert!(
            labels.contains(&"media.probe") && labels.contains(&"media.types"),
            "{labels:?}"
        );
        assert!(labels.contains(&"std.media"), "{labels:?}");
        assert!(
            !labels.contains(&"main"),
            "not the module itself: {labels:?}"
        );
        assert_eq!(items[0].replace, Some(Span::new(7, 9)));
        // Half a dotted path, with the rest of the word after the cursor.
        let items = complete("import media.p|ro\n");
        assert_eq!(items[0].replace, Some(Span::new(7, 16)));
    }

    #[test]
    fn names_of_the_module_inside_braces() {
        let labels: Vec<String> = complete("import media.probe { |\n")
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(labels, ["Probe", "Codec", "twice"]);
        let labels: Vec<String> = complete("import media.probe { Probe, tw|")
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(labels, ["Codec", "twice"]);
    }

    /// An `Outcome<T>` of a `settle` offers its three fields, and its `error` the
    /// fields of `CallError` (the fan-out's `index` and `arguments` among them).
    #[test]
    fn an_outcome_offers_its_fields() {
        let main = |member: &str| {
            format!(
                "function f(n: Int): Int {{ command \"f\" }}
workflow W {{
    facts {{ n: Int = 0 }}
    rule \"r\" {{
        match {{ n == 0 }}
        action {{ settle([f(n: 1)]) }}
        reaction {{ def o = result[0]
            {member}
        }}
    }}
}}
"
            )
        };
        let labels = |member: &str| -> Vec<String> {
            complete(&main(member))
                .into_iter()
                .map(|c| c.label)
                .collect()
        };
        assert_eq!(labels("o.|"), ["ok", "value", "error"]);
        let error = labels("o.error?.|");
        for field in [
            "message",
            "kind",
            "attempt",
            "function",
            "stderr",
            "index",
            "arguments",
        ] {
            assert!(error.iter().any(|l| l == field), "{field} in {error:?}");
        }
    }
}
