//! The type of the value before a `.` being typed. The text rarely parses at that
//! moment (`p.` is not an expression), so the file's recorded checks know nothing of
//! the body being edited. Instead the body is checked again from a repaired copy of the
//! text: the `.` (or `?.`) and the partial name after it are cut out, which leaves the
//! receiver a complete expression (`def p = probe; p`), and the checker records its
//! type as it records every expression's. Locals, `result`, `error`, `it` and closure
//! parameters all come out of the same check that the compiler runs.

use crate::body::{BodyPath, BodySyntax, bodies, locate};
use crate::check::{BodyKind, Checker, Context, LocalKind};
use crate::db::{Db, SourceFile, parse};
use crate::scope::module_scope;
use crate::signatures::{module_signatures, resolve_type};
use crate::types::Type;
use cosmos_diagnostics::Span;
use cosmos_syntax::ast::{ClauseKind, ItemKind, MemberKind, Module, Shift, TypeRef};

/// The type of the expression that ends at `dot` (where the `.` or `?.` starts), when
/// the text from `dot` up to `cut_end` is removed.
pub(super) fn receiver_type(
    db: &dyn Db,
    file: SourceFile,
    dot: usize,
    cut_end: usize,
) -> Option<Type> {
    let text = file.text(db);
    let module = parse_repaired(db, file, text, dot, cut_end)?;
    let dot = u32::try_from(dot).ok()?;
    let path = bodies(&module).into_iter().find(|path| {
        body_span(&module, *path).is_some_and(|span| span.start < dot && dot <= span.end)
    })?;
    check(db, file, &module, path)?
        .types
        .into_iter()
        .filter(|(span, _)| span.end == dot && span.start < dot)
        .min_by_key(|(span, _)| span.end - span.start)
        .map(|(_, ty)| ty)
}

/// Parses the repaired text. The repair touches one declaration: when the file's own
/// parse holds the declaration around the cut, that declaration alone is parsed again
/// (declarations parse independently; see `cosmos_syntax::parse`), with its spans moved
/// to where it lies in the file, so the cost follows the declaration, not the file.
/// Otherwise (the declaration does not parse yet) the whole repaired text is parsed,
/// re-using the file's incremental parse cache, which only ever changes the speed of a
/// parse, never its result.
fn parse_repaired(
    db: &dyn Db,
    file: SourceFile,
    text: &str,
    dot: usize,
    cut_end: usize,
) -> Option<Module> {
    let around = parse(db, file)
        .module
        .items
        .iter()
        .find(|item| (item.span.start as usize) < dot && cut_end <= item.span.end as usize);
    if let Some(item) = around {
        let (start, end) = (item.span.start as usize, item.span.end as usize);
        let piece = format!("{}{}", text.get(start..dot)?, text.get(cut_end..end)?);
        let (mut module, _) = cosmos_syntax::parse(&piece);
        module.shift(start as i64);
        return Some(module);
    }
    let repaired = format!("{}{}", text.get(..dot)?, text.get(cut_end..)?);
    let parsed = match db.reparse_cache(file.id(db)) {
        Some(cache) => match cache.lock() {
            Ok(mut cache) => cosmos_syntax::parse_incremental(&repaired, &mut cache),
            Err(_) => cosmos_syntax::parse(&repaired),
        },
        None => cosmos_syntax::parse(&repaired),
    };
    Some(parsed.0)
}

/// The span of a body in the repaired module.
fn body_span(module: &Module, path: BodyPath) -> Option<Span> {
    let item = module.items.get(path.item() as usize)?;
    match locate(module, path)? {
        (BodySyntax::Block(block), _) => Some(block.span),
        (BodySyntax::Test(_), _) => Some(item.span),
    }
}

/// What the checker needs to know about a body besides its syntax.
struct Info {
    kind: BodyKind,
    workflow: Option<String>,
    /// A helper's parameters and result, a signal's parameters.
    params: Vec<(String, TypeRef)>,
    ret: Option<TypeRef>,
    /// For a reaction, its rule's action.
    action: Option<BodyPath>,
}

fn info(module: &Module, path: BodyPath) -> Option<Info> {
    let item = module.items.get(path.item() as usize)?;
    let workflow = match &item.kind {
        ItemKind::Workflow(w) => Some(w),
        _ => None,
    };
    let mut info = Info {
        kind: BodyKind::Constant,
        workflow: workflow.map(|w| w.name.text.clone()),
        params: Vec::new(),
        ret: None,
        action: None,
    };
    let member = |m: u32| workflow.and_then(|w| w.members.get(m as usize));
    match path {
        BodyPath::Def { .. } => {
            let ItemKind::Def(d) = &item.kind else {
                return None;
            };
            info.kind = BodyKind::Def;
            info.params = d
                .params
                .iter()
                .map(|p| (p.name.text.clone(), p.ty.clone()))
                .collect();
            info.ret = Some(d.ret.clone());
        }
        BodyPath::Test { .. } => info.kind = BodyKind::Test,
        BodyPath::ScheduleStart { .. } => info.kind = BodyKind::ScheduleStart,
        BodyPath::Signal { member: m, .. } => {
            let MemberKind::Signal(s) = &member(m)?.kind else {
                return None;
            };
            info.kind = BodyKind::Signal;
            info.params = s
                .params
                .iter()
                .map(|p| (p.name.text.clone(), p.ty.clone()))
                .collect();
        }
        BodyPath::CompleteWhen { .. } => info.kind = BodyKind::CompleteWhen,
        BodyPath::Output { .. } => info.kind = BodyKind::Output,
        BodyPath::Clause {
            item: i,
            member: m,
            clause,
        } => {
            let MemberKind::Rule(rule) = &member(m)?.kind else {
                return None;
            };
            info.kind = match &rule.clauses.get(clause as usize)?.kind {
                ClauseKind::Match(_) => BodyKind::Match,
                ClauseKind::Action(_) => BodyKind::Action,
                ClauseKind::Reaction(_) => BodyKind::Reaction,
                ClauseKind::Error(_) => BodyKind::Error,
                ClauseKind::Priority(_) | ClauseKind::Timeout(_) => return None,
            };
            info.action = rule
                .clauses
                .iter()
                .position(|c| matches!(c.kind, ClauseKind::Action(_)))
                .map(|c| BodyPath::Clause {
                    item: i,
                    member: m,
                    clause: c as u32,
                });
        }
    }
    Some(info)
}

/// What checking a body of the repaired module found: the type of every expression
/// (absolute spans), and the body's value.
struct Checked {
    types: Vec<(Span, Type)>,
    value: Option<Type>,
}

/// Checks one body of the repaired module against the rest of the project.
fn check(db: &dyn Db, file: SourceFile, module: &Module, path: BodyPath) -> Option<Checked> {
    let info = info(module, path)?;
    let (syntax, _) = locate(module, path)?;
    let scope = module_scope(db, file);
    let sigs = module_signatures(db, file);
    let resolve = |ty: &TypeRef| resolve_type(db, scope, ty, &mut Vec::new());
    // The reaction's `result`: the value of the rule's action, checked the same way.
    let result = match (info.kind, info.action) {
        (BodyKind::Reaction, Some(action)) => {
            let value = check(db, file, module, action)
                .and_then(|checked| checked.value)
                .unwrap_or(Type::Error);
            Some(match value {
                Type::Call(t) => *t,
                Type::List(element) => match *element {
                    Type::Call(t) => Type::list(*t),
                    other => Type::list(other),
                },
                other => other,
            })
        }
        (BodyKind::Reaction, None) => Some(Type::Error),
        _ => None,
    };
    let def_ret = info.ret.as_ref().map(resolve);
    let cx = Context {
        kind: info.kind,
        file: file.id(db),
        scope: scope.clone(),
        workflow: info
            .workflow
            .as_ref()
            .and_then(|w| sigs.workflows.get(w))
            .cloned(),
        def_ret: def_ret.clone(),
        result: result.clone(),
        match_narrowed: Vec::new(),
    };
    let mut checker = Checker::new(db, cx);
    let value = match &syntax {
        BodySyntax::Test(stmts) => {
            checker.check_test(stmts);
            None
        }
        BodySyntax::Block(block) => {
            for (name, ty) in &info.params {
                checker.define(name, resolve(ty), block.span, LocalKind::ReadOnly);
            }
            match info.kind {
                BodyKind::Reaction => {
                    let ty = result.unwrap_or(Type::Error);
                    checker.define("result", ty, block.span, LocalKind::ReadOnly);
                }
                BodyKind::Error => {
                    let ty = Type::Record(Checker::core_type("CallError"));
                    checker.define("error", ty, block.span, LocalKind::ReadOnly);
                }
                _ => {}
            }
            let expected = match info.kind {
                BodyKind::Def => def_ret,
                BodyKind::Match | BodyKind::CompleteWhen => Some(Type::Bool),
                BodyKind::Output => Some(Type::Json),
                _ => None,
            };
            let want_value = !matches!(
                info.kind,
                BodyKind::Reaction | BodyKind::Error | BodyKind::Signal
            );
            Some(checker.check_block(block, want_value, expected.as_ref()))
        }
    };
    Some(Checked {
        types: checker.out.types,
        value,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use crate::Analysis;
    use crate::ide::CompletionKind;
    use cosmos_diagnostics::FileId;

    const TYPES: &str = "type Probe { width: Int, height: Int }\n";

    /// The labels completed at the end of `text`'s `marker` (which is removed).
    fn complete(text: &str) -> Vec<String> {
        let offset = text.find('|').unwrap();
        let text = text.replacen('|', "", 1);
        let mut analysis = Analysis::new();
        analysis.set_file(FileId(0), "media.types", TYPES.to_string());
        analysis.set_file(FileId(1), "main", text);
        analysis
            .completions(FileId(1), offset as u32)
            .into_iter()
            .filter(|c| matches!(c.kind, CompletionKind::Field | CompletionKind::Method))
            .map(|c| c.label)
            .collect()
    }

    const HEAD: &str = "import media.types { Probe }\n\nfunction probe(url: String): Probe {\n    command \"probe\"\n}\n\n";

    #[test]
    fn members_of_a_local_in_a_helper() {
        let labels = complete(&format!(
            "{HEAD}def area(x: Probe): Int {{\n    def p = x\n    p.|\n}}\n"
        ));
        assert_eq!(labels, ["width", "height"]);
        // A parameter, half a name typed.
        let labels = complete(&format!(
            "{HEAD}def area(x: Probe): Int {{\n    x.wi|\n}}\n"
        ));
        assert_eq!(labels, ["width", "height"]);
    }

    /// The declaration around the cursor is parsed again alone, its spans moved to
    /// where it lies: a declaration that does not parse before it, and others after
    /// it, change nothing.
    #[test]
    fn members_in_one_declaration_of_many() {
        let labels = complete(&format!(
            "{HEAD}def broken(: Int {{\n}}\n\ndef first(x: Probe): Int {{ x.width }}\n\ndef area(x: Probe): Int {{\n    def p = x\n    p.he|ight * p.width\n}}\n\ndef last(): Int {{ 1 }}\n"
        ));
        assert_eq!(labels, ["width", "height"]);
        // The same in a workflow's rule, with the whole file parsing.
        let labels = complete(&format!(
            "{HEAD}workflow A {{\n    facts {{ done: Bool = false }}\n    rule \"a\" {{\n        match {{ !done }}\n        action {{ 1 }}\n        reaction {{ done = true }}\n    }}\n}}\n\nworkflow W {{\n    input {{ source: String }}\n    facts {{ p: Probe? }}\n    rule \"r\" {{\n        match {{ p == null }}\n        action {{ probe(url: source) }}\n        reaction {{ p = result\n log(result.wi|dth) }}\n    }}\n}}\n"
        ));
        assert_eq!(labels, ["width", "height"]);
    }

    #[test]
    fn members_of_result_error_it_and_optionals() {
        let workflow = |body: &str| {
            format!(
                "{HEAD}workflow W {{\n    input {{ source: String }}\n    facts {{ p: Probe?\n names: List<String> = [] }}\n    rule \"r\" {{\n        match {{ p == null }}\n        action {{ probe(url: source) }}\n        {body}\n    }}\n}}\n"
            )
        };
        let result = complete(&workflow("reaction { result.| }"));
        assert_eq!(result, ["width", "height"]);
        let error = complete(&workflow("error { log(error.|) }"));
        assert!(error.contains(&"message".to_string()), "{error:?}");
        assert!(error.contains(&"attempt".to_string()), "{error:?}");
        let it = complete(&workflow(
            "reaction { p = result; log(names.find { it.| }) }",
        ));
        assert!(it.contains(&"toUpperCase".to_string()), "{it:?}");
        let named = complete(&workflow("reaction { names.each { n -> log(n.|) } }"));
        assert!(named.contains(&"trim".to_string()), "{named:?}");
        let optional = complete(&workflow("reaction { def w = p?.| }"));
        assert_eq!(optional, ["width", "height"]);
        let local = complete(&workflow("reaction { def q = result\n q.w| }"));
        assert_eq!(local, ["width", "height"]);
    }
}
