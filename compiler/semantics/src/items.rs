//! Declaration-level checks: written types, fields and defaults, function settings,
//! the structure of workflows and rules, and duplicate names. These use absolute
//! spans and are recomputed with their file; bodies are checked separately.

use crate::bodies::action_calls_function;
use crate::body::BodyPath;
use crate::check::{BodyKind, Checker, Context};
use crate::db::{Db, SourceFile, parse};
use crate::scope::module_scope;
use crate::signatures::{TypeRefError, module_signatures, resolve_type};
use crate::types::Type;
use cosmos_diagnostics::{Code, Diagnostic, FileId, Label, Span, Suggestion, words};
use cosmos_syntax::ast::{self, ClauseKind, Field, ItemKind, MemberKind, SettingKind};
use std::collections::{BTreeMap, BTreeSet, HashSet};

mod retry;
pub(crate) mod schedule;

/// Turns a problem with a written type into a diagnostic.
pub fn type_ref_diagnostic(file: FileId, error: &TypeRefError) -> Diagnostic {
    match error {
        TypeRefError::Unknown {
            name,
            span,
            suggestion,
        } => {
            let mut d = Diagnostic::new(
                Code::UNKNOWN_TYPE,
                format!("cannot find type `{name}`"),
                Label::new(file, *span, "not declared or imported"),
            );
            match suggestion {
                Some(s) => {
                    crate::suggest::offer_name(&mut d, s);
                    d
                }
                None => d.with_note(format!(
                    "declare it with `type {name} {{ … }}`, or import it: `import module {{ {name} }}`"
                )),
            }
        }
        TypeRefError::NotAType { name, kind, span } => Diagnostic::new(
            Code::UNKNOWN_TYPE,
            format!("`{name}` is {}, not a type", words::a(kind)),
            Label::new(file, *span, "used as a type here"),
        ),
        TypeRefError::WrongArity {
            name,
            expected,
            found,
            span,
        } => Diagnostic::new(
            Code::INVALID_TYPE_ARGUMENTS,
            format!(
                "`{name}` takes {}, but {found} {} given",
                words::count(*expected, "type argument"),
                words::was_were(*found)
            ),
            Label::new(file, *span, ""),
        )
        .with_note(match name.as_str() {
            "List" => "write `List<T>`".to_string(),
            "Map" => "write `Map<K, V>`".to_string(),
            _ => format!("write `{name}` without type arguments"),
        }),
        TypeRefError::BadMapKey { key, span } => Diagnostic::new(
            Code::INVALID_MAP_KEY,
            format!("map keys must be `String`, `Int` or an enum, not `{key}`"),
            Label::new(file, *span, ""),
        ),
    }
}

/// The checker's type of every expression in a constant (a default, a priority, a
/// setting), by its absolute span, for lowering: checked as [`item_diagnostics`] checks
/// it, so that lowering reads the same types.
pub(crate) fn constant_types(
    db: &dyn Db,
    file: SourceFile,
    expr: &ast::Expr,
    expected: Option<&Type>,
) -> Vec<(Span, Type)> {
    let mut checker = Checker::new(
        db,
        Context {
            kind: BodyKind::Constant,
            file: file.id(db),
            scope: module_scope(db, file).clone(),
            workflow: None,
            def_ret: None,
            result: None,
            match_narrowed: Vec::new(),
        },
    );
    match expected {
        Some(t) => checker.check_expected(expr, t),
        None => checker.check_expr(expr, None),
    };
    checker.finish().types
}

struct ItemChecker<'db> {
    db: &'db dyn Db,
    file: SourceFile,
    id: FileId,
    out: Vec<Diagnostic>,
    /// Top-level names used by defaults and settings.
    used: BTreeSet<String>,
    /// The inputs and facts of the workflow being checked, which its defaults cannot
    /// read.
    unreadable: Vec<(String, &'static str)>,
}

/// Every declaration-level diagnostic of a file, and the top-level names that its
/// defaults and settings use.
pub fn item_diagnostics(db: &dyn Db, file: SourceFile) -> (Vec<Diagnostic>, BTreeSet<String>) {
    let mut checker = ItemChecker {
        db,
        file,
        id: file.id(db),
        out: Vec::new(),
        used: BTreeSet::new(),
        unreadable: Vec::new(),
    };
    let module = parse(db, file).module.clone();
    let mut tests: BTreeMap<String, Span> = BTreeMap::new();
    for (index, item) in module.items.iter().enumerate() {
        match &item.kind {
            ItemKind::Import(_) => {}
            ItemKind::Type(d) => {
                checker.fields(&d.fields, "field", None);
                checker.recursion(&d.name);
            }
            ItemKind::Enum(d) => {
                let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
                for v in &d.variants {
                    if let Some(first) = seen.insert(&v.name.text, v.name.span) {
                        checker.duplicate(&v.name.text, "member", v.name.span, first);
                    }
                }
            }
            ItemKind::Function(d) => checker.function(d),
            ItemKind::Def(d) => {
                checker.fields(&d.params, "parameter", None);
                checker.resolve(&d.ret);
            }
            ItemKind::Workflow(w) => {
                checker.workflow(index as u32, w);
                checker.unreadable.clear();
            }
            ItemKind::Test(t) => {
                if let Some(first) = tests.insert(t.name.text.clone(), t.name.span) {
                    checker.duplicate(&t.name.text, "test", t.name.span, first);
                }
            }
            ItemKind::Schedule(d) => checker.schedule(d),
        }
    }
    (checker.out, checker.used)
}

impl ItemChecker<'_> {
    fn duplicate(&mut self, name: &str, what: &str, span: Span, first: Span) {
        self.out.push(
            Diagnostic::new(
                Code::DUPLICATE_DECLARATION,
                format!("{what} `{name}` is declared twice"),
                Label::new(self.id, span, "declared again here"),
            )
            .with_label(Label::new(self.id, first, "first declared here")),
        );
    }

    /// Reports a record that contains itself through required record fields (through
    /// an optional field, a list or a map it may end).
    fn recursion(&mut self, name: &ast::Ident) {
        let start =
            crate::types::DeclKey::new(self.file.module(self.db).as_str(), name.text.as_str());
        let mut path: Vec<String> = Vec::new();
        let mut seen: BTreeSet<crate::types::DeclKey> = BTreeSet::new();
        if self.contains(&start, &start, &mut path, &mut seen) {
            self.out.push(
                Diagnostic::new(
                    Code::RECURSIVE_RECORD,
                    format!(
                        "type `{}` contains itself through {}, so no value of it can ever be built",
                        name.text,
                        path.join(" → ")
                    ),
                    Label::new(self.id, name.span, ""),
                )
                .with_note("make one of those fields optional (`T?`) or a list (`List<T>`)"),
            );
        }
    }

    fn contains(
        &self,
        target: &crate::types::DeclKey,
        at: &crate::types::DeclKey,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<crate::types::DeclKey>,
    ) -> bool {
        if !seen.insert(at.clone()) {
            return false;
        }
        let Some(sig) = crate::signatures::record_sig(self.db, at) else {
            return false;
        };
        for field in &sig.fields {
            if let Type::Record(next) = &field.ty {
                path.push(format!("`{}.{}`", at.name, field.name));
                if next == target || self.contains(target, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }

    fn resolve(&mut self, ty: &ast::TypeRef) -> Type {
        let scope = module_scope(self.db, self.file).clone();
        let mut errors = Vec::new();
        let resolved = resolve_type(self.db, &scope, ty, &mut errors);
        for e in &errors {
            self.out.push(type_ref_diagnostic(self.id, e));
        }
        resolved
    }

    /// A checker for constant expressions (defaults and settings).
    fn constant_checker(&self, workflow: Option<&str>) -> Checker<'_> {
        let sigs = module_signatures(self.db, self.file);
        Checker::new(
            self.db,
            Context {
                kind: BodyKind::Constant,
                file: self.id,
                scope: module_scope(self.db, self.file).clone(),
                workflow: workflow
                    .and_then(|w| sigs.workflows.get(w))
                    .cloned()
                    .map(|mut w| {
                        // Defaults see no facts or inputs: they are evaluated before any exist.
                        w.inputs.clear();
                        w.facts.clear();
                        w
                    }),
                def_ret: None,
                result: None,
                match_narrowed: Vec::new(),
            },
        )
    }

    /// A default: a constant that may call helpers. One that calls none is computed
    /// here, and one that cannot be (`n: Int = 1 / 0`) is an error now rather than a
    /// failed start later; one that calls a helper is computed when an instance starts.
    fn check_constant(&mut self, expr: &ast::Expr, expected: &Type) -> Type {
        let errors_before = self.error_count();
        let ty = self.check_constant_as(expr, expected, false);
        if self.error_count() == errors_before
            && !matches!(ty, Type::Error)
            && let Err(crate::lower::ConstantError::Evaluation { kind, span }) =
                crate::lower::evaluate_constant(self.db, self.file, expr)
        {
            self.constant_fails("this default", span, &kind);
        }
        ty
    }

    /// A setting: a constant that may not call helpers (see `Checker::in_setting`).
    ///
    /// Compile computes a setting before any body exists, so a setting that type-checks
    /// is also computed here, and one that cannot be (`priority 1 / 0`) is an error now
    /// rather than a failed compile later. Returns the value when there is one.
    fn check_setting(
        &mut self,
        expr: &ast::Expr,
        expected: &Type,
        keyword: &str,
    ) -> Option<cosmos_ir::value::Value> {
        let errors_before = self.error_count();
        let ty = self.check_constant_as(expr, expected, true);
        if self.error_count() > errors_before || matches!(ty, Type::Error) {
            return None;
        }
        match crate::lower::evaluate_constant(self.db, self.file, expr) {
            Ok(value) => Some(value),
            Err(crate::lower::ConstantError::Evaluation { kind, span }) => {
                self.constant_fails(&format!("`{keyword}`"), span, &kind);
                None
            }
            Err(crate::lower::ConstantError::Lower(error)) => {
                self.out.push(Diagnostic::new(
                    Code::INVALID_SETTING,
                    format!("`{keyword}` cannot be computed when the project compiles: {error}"),
                    Label::new(self.id, expr.span, ""),
                ));
                None
            }
        }
    }

    fn error_count(&self) -> usize {
        self.out.iter().filter(|d| d.is_error()).count()
    }

    fn constant_fails(
        &mut self,
        what: &str,
        span: Span,
        kind: &cosmos_ir::interp::RuntimeErrorKind,
    ) {
        self.out.push(
            Diagnostic::new(
                Code::CONSTANT_FAILS,
                format!("{what} cannot be computed: {kind}"),
                Label::new(self.id, span, "fails here"),
            )
            .with_note(format!(
                "{what} does not depend on the instance, so it would fail every time; write a value that can be computed"
            )),
        );
    }

    fn check_constant_as(&mut self, expr: &ast::Expr, expected: &Type, setting: bool) -> Type {
        let mut checker = self.constant_checker(None);
        checker.in_setting = setting;
        checker.unreadable = self.unreadable.clone();
        let ty = checker.check_expected(expr, expected);
        let found = checker.finish();
        self.out.extend(found.diagnostics);
        self.used.extend(found.used);
        ty
    }

    /// Fields, inputs, facts or parameters: unique names, known types, typed defaults.
    fn fields(&mut self, fields: &[Field], what: &str, seen: Option<&mut BTreeMap<String, Span>>) {
        let mut own = BTreeMap::new();
        let seen = seen.unwrap_or(&mut own);
        for f in fields {
            if let Some(first) = seen.insert(f.name.text.clone(), f.name.span) {
                self.duplicate(&f.name.text, what, f.name.span, first);
            }
            let ty = self.resolve(&f.ty);
            if let Some(default) = &f.default {
                self.check_constant(default, &ty);
            }
        }
    }

    fn function(&mut self, d: &ast::FunctionDecl) {
        self.fields(&d.params, "parameter", None);
        // Every nameable type is serialisable (Duration as milliseconds, Time as an
        // RFC 3339 string), so parameter and result types need no further check.
        self.resolve(&d.ret);
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        let mut warm: Option<i64> = None;
        let mut batch: Option<(i64, Span)> = None;
        for s in &d.settings {
            let keyword = s.kind.keyword();
            if let Some(first) = seen.insert(keyword.to_string(), s.keyword) {
                self.out.push(
                    Diagnostic::new(
                        Code::DUPLICATE_CLAUSE,
                        format!("`{keyword}` is set twice"),
                        Label::new(self.id, s.keyword, "set again here"),
                    )
                    .with_label(Label::new(self.id, first, "first set here"))
                    .with_suggestion(Suggestion::replace(
                        "remove this one",
                        self.id,
                        s.span,
                        "",
                    )),
                );
                continue;
            }
            match s.kind {
                SettingKind::Command => self.command(&s.value),
                SettingKind::Pool => {
                    self.check_setting(&s.value, &Type::String, keyword);
                    self.pool(&s.value);
                }
                SettingKind::Timeout => {
                    self.check_setting(&s.value, &Type::Duration, keyword);
                }
                SettingKind::Env => {
                    let expected = Type::List(Box::new(Type::String));
                    if let Some(value) = self.check_setting(&s.value, &expected, keyword) {
                        self.environment(&s.value, &value);
                    }
                }
                SettingKind::Heartbeat => self.heartbeat(s),
                SettingKind::Retry => self.retry(s),
                SettingKind::Warm | SettingKind::Batch | SettingKind::Priority => {
                    let value = match self.check_setting(&s.value, &Type::Int, keyword) {
                        Some(cosmos_ir::value::Value::Int(n)) => Some(n),
                        _ => None,
                    };
                    let minimum = match s.kind {
                        SettingKind::Warm => 0,
                        SettingKind::Batch => 1,
                        _ => i64::MIN,
                    };
                    if let Some(v) = value
                        && v < minimum
                    {
                        self.out.push(Diagnostic::new(
                            Code::INVALID_SETTING,
                            format!("`{keyword}` must be at least {minimum}"),
                            Label::new(self.id, s.value.span, ""),
                        ));
                    }
                    match s.kind {
                        SettingKind::Warm => warm = value,
                        SettingKind::Batch => batch = value.map(|v| (v, s.keyword)),
                        _ => {}
                    }
                }
            }
        }
        if !seen.contains_key("command") {
            self.out.push(
                Diagnostic::new(
                    Code::MISSING_CLAUSE,
                    format!("function `{}` has no `command`", d.name.text),
                    Label::new(self.id, d.name.span, "declared here"),
                )
                .with_note("add the program to run, such as `command [\"python3\", \"functions/step.py\"]`"),
            );
        }
        if let Some((n, span)) = batch
            && n > 1
            && warm.unwrap_or(0) < 1
        {
            self.out.push(
                Diagnostic::new(
                    Code::INVALID_SETTING,
                    "`batch` sends several calls in one message to a warm worker, but this function has none",
                    Label::new(self.id, span, ""),
                )
                .with_note("add `warm 1` (or more) to keep a worker running"),
            );
        }
    }

    /// Warns about a pool that `cosmos.toml` does not declare (when it is known): such
    /// a function silently runs with the default limits, which is rarely what a typo
    /// meant.
    fn pool(&mut self, value: &ast::Expr) {
        let ast::ExprKind::Str(literal) = &value.kind else {
            return;
        };
        let Some(name) = literal.as_plain() else {
            return;
        };
        let Some(config) = crate::db::ProjectConfig::try_get(self.db) else {
            return;
        };
        let Some(pools) = config.pools(self.db) else {
            return;
        };
        if name == "default" || pools.contains(&name) {
            return;
        }
        let mut diagnostic = Diagnostic::new(
            Code::UNKNOWN_POOL,
            format!(
                "pool `{name}` is not declared in cosmos.toml, so it runs with the default limits"
            ),
            Label::new(self.id, value.span, ""),
        );
        match crate::suggest::did_you_mean(&name, pools.iter().map(String::as_str)) {
            Some(s) => {
                crate::suggest::offer(&mut diagnostic, &format!("`{s}`"), &format!("\"{s}\""))
            }
            None => {
                diagnostic = diagnostic.with_note(format!(
                    "declare it in cosmos.toml: `[pools.{name}]` with `max = …`"
                ))
            }
        }
        self.out.push(diagnostic);
    }

    /// `env [...]` names variables: each a name a shell could export, and none of the
    /// `COSMOS_*` variables the runtime sets itself.
    fn environment(&mut self, expr: &ast::Expr, value: &cosmos_ir::value::Value) {
        let cosmos_ir::value::Value::List(names) = value else {
            return;
        };
        let spans: Vec<Span> = match &expr.kind {
            ast::ExprKind::List(items) if items.len() == names.len() => {
                items.iter().map(|i| i.span).collect()
            }
            _ => vec![expr.span; names.len()],
        };
        let mut seen = HashSet::new();
        for (name, span) in names.iter().zip(spans) {
            let cosmos_ir::value::Value::Str(name) = name else {
                continue;
            };
            let problem = if !is_variable_name(name) {
                Some(format!(
                    "`{name}` is not an environment variable name: use letters, digits and `_`, not starting with a digit"
                ))
            } else if name.starts_with("COSMOS_") {
                Some(format!(
                    "`{name}` is reserved: the runtime sets the `COSMOS_*` variables a function needs and never passes its own"
                ))
            } else if !seen.insert(&**name) {
                Some(format!("`{name}` is named twice"))
            } else {
                None
            };
            if let Some(message) = problem {
                self.out.push(
                    Diagnostic::new(Code::INVALID_SETTING, message, Label::new(self.id, span, ""))
                        .with_note("`env` lists the variables of the node's environment a function's processes get, such as `env [\"AWS_PROFILE\", \"ENCODER_LICENSE\"]`"),
                );
            }
        }
    }

    fn command(&mut self, value: &ast::Expr) {
        // `command "echo $HOME"`: the `$` interpolates in double quotes.
        let interpolated = match &value.kind {
            ast::ExprKind::Str(s) => interpolation(s),
            ast::ExprKind::List(items) => items.iter().find_map(|i| match &i.kind {
                ast::ExprKind::Str(s) => interpolation(s),
                _ => None,
            }),
            _ => None,
        };
        if let Some(span) = interpolated {
            self.out.push(
                Diagnostic::new(
                    Code::INVALID_SETTING,
                    "`command` is a constant, but this double-quoted string interpolates: `$name` and `${…}` read a value",
                    Label::new(self.id, span, "interpolated here"),
                )
                .with_note("write the command in single quotes, where `$` is plain text (`command 'echo $HOME'`), or escape it as `\\$`"),
            );
            return;
        }
        let ok = match &value.kind {
            ast::ExprKind::Str(s) => s.as_plain().is_some_and(|t| !t.trim().is_empty()),
            ast::ExprKind::List(items) => {
                !items.is_empty()
                    && items
                        .iter()
                        .all(|i| matches!(&i.kind, ast::ExprKind::Str(s) if s.as_plain().is_some()))
            }
            _ => false,
        };
        if !ok {
            self.out.push(
                Diagnostic::new(
                    Code::INVALID_SETTING,
                    "`command` must be a non-empty string or a non-empty list of plain strings",
                    Label::new(self.id, value.span, ""),
                )
                .with_note("for example `command \"python3 functions/step.py\"` or `command [\"python3\", \"functions/step.py\"]`"),
            );
        }
    }

    fn workflow(&mut self, item: u32, w: &ast::Workflow) {
        let mut names: BTreeMap<String, Span> = BTreeMap::new();
        let mut rules: BTreeMap<String, Span> = BTreeMap::new();
        let mut signals: BTreeMap<String, Span> = BTreeMap::new();
        let mut singles: BTreeMap<&str, Span> = BTreeMap::new();
        self.unreadable = w
            .members
            .iter()
            .flat_map(|m| match &m.kind {
                MemberKind::Input(fields) => fields
                    .iter()
                    .map(|f| (f.name.text.clone(), "input"))
                    .collect(),
                MemberKind::Facts(fields) => fields
                    .iter()
                    .map(|f| (f.name.text.clone(), "fact"))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        for (m, member) in w.members.iter().enumerate() {
            match &member.kind {
                MemberKind::Input(fields) => self.fields(fields, "input", Some(&mut names)),
                MemberKind::Facts(fields) => {
                    self.fields(fields, "fact", Some(&mut names));
                    for f in fields {
                        let optional = matches!(f.ty.kind, ast::TypeRefKind::Optional(_));
                        if f.default.is_none() && !optional {
                            self.out.push(
                                Diagnostic::new(
                                    Code::MISSING_VALUE,
                                    format!("fact `{}` needs an initial value", f.name.text),
                                    Label::new(self.id, f.name.span, ""),
                                )
                                .with_note(format!(
                                    "give it one (`{}: T = …`) or make it optional (`T?`), which starts as null",
                                    f.name.text
                                ))
                                .with_suggestions(crate::fixes::initial_value(self.id, f))
                                .with_suggestion(Suggestion::replace(
                                    "make it optional; it starts as null",
                                    self.id,
                                    Span::new(f.ty.span.end, f.ty.span.end),
                                    "?",
                                )),
                            );
                        }
                    }
                }
                MemberKind::Rule(rule) => {
                    if let Some(first) = rules.insert(rule.name.text.clone(), rule.name.span) {
                        self.duplicate(&rule.name.text, "rule", rule.name.span, first);
                    }
                    self.rule(item, m as u32, rule);
                }
                MemberKind::Signal(signal) => {
                    if let Some(first) = signals.insert(signal.name.text.clone(), signal.name.span)
                    {
                        self.duplicate(&signal.name.text, "signal", signal.name.span, first);
                    }
                    self.fields(&signal.params, "parameter", None);
                }
                MemberKind::CompleteWhen(_) | MemberKind::Output(_) => {
                    if let MemberKind::Output(ast::Output { ty: Some(ty), .. }) = &member.kind {
                        self.resolve(ty);
                    }
                    let what = if matches!(member.kind, MemberKind::Output(_)) {
                        "output"
                    } else {
                        "complete when"
                    };
                    if let Some(first) = singles.insert(what, member.keyword) {
                        self.out.push(
                            Diagnostic::new(
                                Code::DUPLICATE_CLAUSE,
                                format!("workflow `{}` has more than one `{what}`", w.name.text),
                                Label::new(self.id, member.keyword, "again here"),
                            )
                            .with_label(Label::new(self.id, first, "first here"))
                            .with_suggestion(Suggestion::replace(
                                "remove this one",
                                self.id,
                                member.span,
                                "",
                            )),
                        );
                    }
                }
            }
        }
    }

    fn rule(&mut self, item: u32, member: u32, rule: &ast::Rule) {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        let mut action: Option<BodyPath> = None;
        let mut error_keyword: Option<(Span, Span)> = None;
        for (c, clause) in rule.clauses.iter().enumerate() {
            let keyword = match &clause.kind {
                ClauseKind::Priority(_) => "priority",
                ClauseKind::Timeout(_) => "timeout",
                ClauseKind::Match(_) => "match",
                ClauseKind::Action(_) => "action",
                ClauseKind::Reaction(_) => "reaction",
                ClauseKind::Error(_) => "error",
            };
            if let Some(first) = seen.insert(keyword, clause.keyword) {
                self.out.push(
                    Diagnostic::new(
                        Code::DUPLICATE_CLAUSE,
                        format!("rule \"{}\" has more than one `{keyword}`", rule.name.text),
                        Label::new(self.id, clause.keyword, "again here"),
                    )
                    .with_label(Label::new(self.id, first, "first here"))
                    .with_suggestion(Suggestion::replace(
                        "remove this one",
                        self.id,
                        clause.span,
                        "",
                    )),
                );
                continue;
            }
            match &clause.kind {
                ClauseKind::Priority(e) => {
                    self.check_setting(e, &Type::Int, keyword);
                }
                ClauseKind::Timeout(e) => {
                    self.check_setting(e, &Type::Duration, keyword);
                }
                ClauseKind::Action(_) => {
                    action = Some(BodyPath::Clause {
                        item,
                        member,
                        clause: c as u32,
                    });
                }
                ClauseKind::Error(_) => error_keyword = Some((clause.keyword, clause.span)),
                ClauseKind::Match(_) | ClauseKind::Reaction(_) => {}
            }
        }
        for required in ["match", "action"] {
            if !seen.contains_key(required) {
                self.out.push(
                    Diagnostic::new(
                        Code::MISSING_CLAUSE,
                        format!("rule \"{}\" has no `{required}`", rule.name.text),
                        Label::new(self.id, rule.name.span, ""),
                    )
                    .with_note(if required == "match" {
                        "add the condition under which it fires: `match { … }`"
                    } else {
                        "add what it does: `action { … }`"
                    }),
                );
            }
        }
        if let (Some(action), Some((keyword, clause))) = (action, error_keyword)
            && !action_calls_function(self.db, self.file, action)
        {
            self.out.push(
                Diagnostic::new(
                    Code::UNREACHABLE_ERROR,
                    format!(
                        "the `error` block of rule \"{}\" can never run",
                        rule.name.text
                    ),
                    Label::new(self.id, keyword, ""),
                )
                .with_note("its action calls no function and no `sleep`, so nothing can fail")
                .with_suggestion(Suggestion::replace(
                    "remove the block",
                    self.id,
                    clause,
                    "",
                )),
            );
        }
    }
}

/// The span of a string's first interpolation, if it has one.
fn interpolation(s: &ast::StrLit) -> Option<Span> {
    s.parts.iter().find_map(|p| match p {
        ast::StrPart::Expr(e) => Some(e.span),
        ast::StrPart::Text(_) => None,
    })
}

/// A name `export` accepts: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
