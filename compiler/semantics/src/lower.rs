//! Lowering: checked Emx to the typed IR of `cosmos-ir`.
//!
//! Runs only on a project that checks without errors, so every name resolves and every
//! expression has a type in its body's [`BodyCheck::types`](crate::check::BodyCheck).
//! Names are resolved again here the way the checker resolves them (locals, then
//! inputs and facts, then the module scope); types come from the checker, by span.
//! Layouts (records, enums, inputs, facts) follow declaration order.

mod body;
mod call;
mod chain;
mod expr;
mod schedule;
mod test;

pub use test::{AssertIr, AssertPart, MockIr, TestIr, TestStep};

use crate::body::BodyPath;
use crate::db::{Db, SourceFile, parse};
use crate::scope::{DeclKind, PRELUDE, declarations};
use crate::signatures::{self, module_signatures};
use crate::types::{DeclKey, Type};
use body::BodyLower;
use cosmos_ir as ir;
use cosmos_syntax::ast::{self, ClauseKind, ItemKind, MemberKind};
use std::collections::BTreeMap;

/// Why a project could not be lowered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    #[error("the project has {0} error(s); fix them before compiling")]
    HasErrors(usize),
    #[error("{module}: bytes {start}..{end}: cannot compile {what} yet")]
    Unsupported {
        module: String,
        start: u32,
        end: u32,
        what: String,
    },
}

/// Ids of every declaration, assigned before any body is lowered so that bodies can
/// refer to declarations anywhere in the project.
pub(crate) struct Ids {
    pub records: BTreeMap<DeclKey, ir::RecordId>,
    pub record_fields: BTreeMap<DeclKey, Vec<String>>,
    pub enums: BTreeMap<DeclKey, ir::EnumId>,
    pub functions: BTreeMap<DeclKey, ir::FunctionId>,
    pub helpers: BTreeMap<DeclKey, ir::HelperId>,
    pub workflows: BTreeMap<DeclKey, ir::WorkflowId>,
    /// The `Outcome<T>`s used, by `T`: each is a record laid out after the declared
    /// ones (its id is `records.len()` plus its place here), `{ ok, value, error }`.
    pub outcomes: std::cell::RefCell<Vec<(Type, ir::Ty)>>,
}

impl Ids {
    pub fn ty(&self, t: &Type) -> Option<ir::Ty> {
        Some(match t {
            Type::Int => ir::Ty::Int,
            Type::Float => ir::Ty::Float,
            Type::Bool => ir::Ty::Bool,
            Type::String => ir::Ty::String,
            Type::Duration => ir::Ty::Duration,
            Type::Time => ir::Ty::Time,
            Type::Json => ir::Ty::Json,
            Type::List(e) => ir::Ty::List(Box::new(self.ty(e)?)),
            Type::Map(k, v) => ir::Ty::Map(Box::new(self.ty(k)?), Box::new(self.ty(v)?)),
            Type::Optional(e) => ir::Ty::Optional(Box::new(self.ty(e)?)),
            Type::Record(key) => ir::Ty::Record(*self.records.get(key)?),
            Type::Enum(key) => ir::Ty::Enum(*self.enums.get(key)?),
            Type::Call(t) => ir::Ty::Call(Box::new(self.ty(t)?)),
            Type::Outcome(t) => {
                let inner = self.ty(t)?;
                let mut outcomes = self.outcomes.borrow_mut();
                let place = match outcomes.iter().position(|(_, i)| *i == inner) {
                    Some(place) => place,
                    None => {
                        outcomes.push(((**t).clone(), inner));
                        outcomes.len() - 1
                    }
                };
                ir::Ty::Record(ir::RecordId((self.records.len() + place) as u32))
            }
            Type::Null => ir::Ty::Null,
            Type::Unit => ir::Ty::Unit,
            Type::Never => ir::Ty::Never,
            Type::Error => return None,
        })
    }
}

/// Everything lowering shares across bodies.
pub(crate) struct Lowering<'db> {
    pub db: &'db dyn Db,
    pub ids: Ids,
    /// File index in [`ir::Program::files`] by source file.
    pub file_index: BTreeMap<cosmos_diagnostics::FileId, u32>,
}

/// Why a setting or rule clause, a constant evaluated at compile time, has no value.
pub(crate) enum ConstantError {
    /// Evaluation failed: division by zero, overflow, an index out of range.
    Evaluation {
        kind: cosmos_ir::interp::RuntimeErrorKind,
        span: cosmos_diagnostics::Span,
    },
    /// The constant could not be lowered.
    Lower(LowerError),
}

/// Evaluates a setting or rule clause exactly as compile will, so that the checker
/// reports a constant that cannot be computed instead of compile failing later.
pub(crate) fn evaluate_constant(
    db: &dyn Db,
    file: SourceFile,
    e: &ast::Expr,
) -> Result<cosmos_ir::value::Value, ConstantError> {
    let lowering = Lowering {
        db,
        ids: Ids {
            records: BTreeMap::new(),
            record_fields: BTreeMap::new(),
            enums: BTreeMap::new(),
            functions: BTreeMap::new(),
            helpers: BTreeMap::new(),
            workflows: BTreeMap::new(),
            outcomes: Default::default(),
        },
        file_index: BTreeMap::new(),
    };
    lowering.evaluate(file, e)
}

/// Lowers every file of the project (the standard library included).
pub(crate) fn lower_project(db: &dyn Db, files: &[SourceFile]) -> Result<ir::Program, LowerError> {
    lower_all(db, files, false).map(|(program, _)| program)
}

/// Lowers the project and its `test` blocks.
pub(crate) fn lower_project_and_tests(
    db: &dyn Db,
    files: &[SourceFile],
) -> Result<(ir::Program, Vec<test::TestIr>), LowerError> {
    lower_all(db, files, true)
}

fn lower_all(
    db: &dyn Db,
    files: &[SourceFile],
    with_tests: bool,
) -> Result<(ir::Program, Vec<test::TestIr>), LowerError> {
    let mut ids = Ids {
        records: BTreeMap::new(),
        record_fields: BTreeMap::new(),
        enums: BTreeMap::new(),
        functions: BTreeMap::new(),
        helpers: BTreeMap::new(),
        workflows: BTreeMap::new(),
        outcomes: Default::default(),
    };
    let mut program = ir::Program {
        files: files.iter().map(|f| f.module(db).clone()).collect(),
        records: Vec::new(),
        enums: Vec::new(),
        functions: Vec::new(),
        helpers: Vec::new(),
        workflows: Vec::new(),
        schedules: Vec::new(),
        lines: files
            .iter()
            .map(|f| {
                cosmos_ir::location::LineTable::new(
                    cosmos_ir::location::module_path(f.module(db)),
                    f.text(db),
                )
            })
            .collect(),
    };
    let mut file_index = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        file_index.insert(file.id(db), i as u32);
        let module = file.module(db).clone();
        let ast = parse(db, *file).module.clone();
        let sigs = module_signatures(db, *file).clone();
        for (name, kind, _) in declarations(&ast) {
            let key = DeclKey::new(module.clone(), name);
            match kind {
                DeclKind::Record if !ids.records.contains_key(&key) => {
                    let id = ir::RecordId(ids.records.len() as u32);
                    let fields = sigs
                        .records
                        .get(name)
                        .map(|s| s.fields.iter().map(|f| f.name.clone()).collect())
                        .unwrap_or_default();
                    ids.record_fields.insert(key.clone(), fields);
                    ids.records.insert(key, id);
                }
                DeclKind::Enum if !ids.enums.contains_key(&key) => {
                    let id = ir::EnumId(ids.enums.len() as u32);
                    ids.enums.insert(key, id);
                }
                DeclKind::Function if !ids.functions.contains_key(&key) => {
                    let id = ir::FunctionId(ids.functions.len() as u32);
                    ids.functions.insert(key, id);
                }
                DeclKind::Def if !ids.helpers.contains_key(&key) => {
                    let id = ir::HelperId(ids.helpers.len() as u32);
                    ids.helpers.insert(key, id);
                }
                DeclKind::Workflow if !ids.workflows.contains_key(&key) => {
                    let id = ir::WorkflowId(ids.workflows.len() as u32);
                    ids.workflows.insert(key, id);
                }
                _ => {}
            }
        }
    }
    let lowering = Lowering {
        db,
        ids,
        file_index,
    };
    // Declarations in id order: ids were handed out in file and item order, which is
    // the order this walk visits them in too.
    for file in files {
        lowering.lower_file(*file, &mut program)?;
    }
    let mut tests = Vec::new();
    if with_tests {
        for file in files {
            tests.extend(lowering.lower_tests(*file)?);
        }
    }
    lowering.outcome_layouts(&mut program)?;
    Ok((program, tests))
}

impl Lowering<'_> {
    /// The records of the `Outcome<T>`s the bodies used, after the declared records.
    fn outcome_layouts(&self, program: &mut ir::Program) -> Result<(), LowerError> {
        let outcomes = self.ids.outcomes.borrow();
        if outcomes.is_empty() {
            return Ok(());
        }
        let call_error = self
            .ids
            .records
            .get(&DeclKey::new(PRELUDE, "CallError"))
            .copied();
        let (Some(call_error), true) =
            (call_error, program.records.len() == self.ids.records.len())
        else {
            return Err(LowerError::Unsupported {
                module: PRELUDE.to_string(),
                start: 0,
                end: 0,
                what: "`Outcome<T>` without `std.core.CallError`".to_string(),
            });
        };
        for (ty, inner) in outcomes.iter() {
            let value = match inner {
                ir::Ty::Optional(_) => inner.clone(),
                other => ir::Ty::Optional(Box::new(other.clone())),
            };
            let field = |name: &str, ty: ir::Ty| ir::FieldLayout {
                name: name.to_string(),
                ty,
                default: None,
            };
            program.records.push(ir::RecordLayout {
                module: PRELUDE.to_string(),
                name: format!("Outcome<{ty}>"),
                fields: vec![
                    field("ok", ir::Ty::Bool),
                    field("value", value),
                    field(
                        "error",
                        ir::Ty::Optional(Box::new(ir::Ty::Record(call_error))),
                    ),
                ],
            });
        }
        Ok(())
    }

    pub fn unsupported<T>(
        &self,
        file: SourceFile,
        span: cosmos_diagnostics::Span,
        what: impl Into<String>,
    ) -> Result<T, LowerError> {
        Err(LowerError::Unsupported {
            module: file.module(self.db).clone(),
            start: span.start,
            end: span.end,
            what: what.into(),
        })
    }

    fn ty(
        &self,
        file: SourceFile,
        span: cosmos_diagnostics::Span,
        t: &Type,
    ) -> Result<ir::Ty, LowerError> {
        match self.ids.ty(t) {
            Some(t) => Ok(t),
            None => self.unsupported(file, span, format!("a value of type `{t}`")),
        }
    }

    /// Field layouts from a signature's fields and the syntax's defaults.
    fn fields(
        &self,
        file: SourceFile,
        sigs: &[signatures::FieldSig],
        syntax: &[ast::Field],
    ) -> Result<Vec<ir::FieldLayout>, LowerError> {
        let mut out = Vec::with_capacity(sigs.len());
        for sig in sigs {
            let field = syntax.iter().find(|f| f.name.text == sig.name);
            let span = field.map_or_else(Default::default, |f| f.span);
            let default = match field.and_then(|f| f.default.as_ref()) {
                Some(d) => Some(BodyLower::constant(self, file).lower_const(d, Some(&sig.ty))?),
                None => None,
            };
            out.push(ir::FieldLayout {
                name: sig.name.clone(),
                ty: self.ty(file, span, &sig.ty)?,
                default,
            });
        }
        Ok(out)
    }

    fn lower_file(&self, file: SourceFile, program: &mut ir::Program) -> Result<(), LowerError> {
        let db = self.db;
        let module = file.module(db).clone();
        let ast = parse(db, file).module.clone();
        let sigs = module_signatures(db, file).clone();
        for (index, item) in ast.items.iter().enumerate() {
            let item_index = index as u32;
            match &item.kind {
                ItemKind::Type(d) => {
                    let key = DeclKey::new(module.clone(), d.name.text.clone());
                    if self.ids.records.get(&key).map(|id| id.0 as usize)
                        != Some(program.records.len())
                    {
                        continue;
                    }
                    let sig = sigs.records.get(&d.name.text).cloned().unwrap_or_default();
                    program.records.push(ir::RecordLayout {
                        module: module.clone(),
                        name: d.name.text.clone(),
                        fields: self.fields(file, &sig.fields, &d.fields)?,
                    });
                }
                ItemKind::Enum(d) => {
                    let key = DeclKey::new(module.clone(), d.name.text.clone());
                    if self.ids.enums.get(&key).map(|id| id.0 as usize) != Some(program.enums.len())
                    {
                        continue;
                    }
                    program.enums.push(ir::EnumLayout {
                        module: module.clone(),
                        name: d.name.text.clone(),
                        variants: d.variants.iter().map(|v| v.name.text.clone()).collect(),
                    });
                }
                ItemKind::Function(d) => {
                    let key = DeclKey::new(module.clone(), d.name.text.clone());
                    if self.ids.functions.get(&key).map(|id| id.0 as usize)
                        != Some(program.functions.len())
                    {
                        continue;
                    }
                    let Some(sig) = sigs.functions.get(&d.name.text) else {
                        continue;
                    };
                    let mut params = Vec::new();
                    for p in &sig.params {
                        params.push((p.name.clone(), self.ty(file, item.span, &p.ty)?));
                    }
                    program.functions.push(ir::ExternFunction {
                        module: module.clone(),
                        name: d.name.text.clone(),
                        params,
                        ret: self.ty(file, item.span, &sig.ret)?,
                        settings: self.settings(file, &d.settings)?,
                    });
                }
                ItemKind::Def(d) => {
                    let key = DeclKey::new(module.clone(), d.name.text.clone());
                    if self.ids.helpers.get(&key).map(|id| id.0 as usize)
                        != Some(program.helpers.len())
                    {
                        continue;
                    }
                    let Some(sig) = sigs.defs.get(&d.name.text) else {
                        continue;
                    };
                    let mut defaults = Vec::new();
                    for p in &d.params {
                        defaults.push(match &p.default {
                            Some(e) => Some(BodyLower::constant(self, file).lower_const(e, None)?),
                            None => None,
                        });
                    }
                    let params: Vec<(String, Type)> = sig
                        .params
                        .iter()
                        .map(|p| (p.name.clone(), p.ty.clone()))
                        .collect();
                    let name = format!("def {}", d.name.text);
                    let mut f = self.body(
                        file,
                        BodyPath::Def { item: item_index },
                        None,
                        &params,
                        &sig.ret,
                        name,
                    )?;
                    f.defaults = defaults;
                    program.helpers.push(f);
                }
                ItemKind::Workflow(w) => {
                    program.workflows.push(self.workflow(file, item_index, w)?);
                }
                ItemKind::Schedule(d) => {
                    program.schedules.push(self.schedule(file, item_index, d)?);
                }
                ItemKind::Import(_) | ItemKind::Test(_) => {}
            }
        }
        Ok(())
    }

    fn workflow(
        &self,
        file: SourceFile,
        item: u32,
        w: &ast::Workflow,
    ) -> Result<ir::WorkflowIr, LowerError> {
        let db = self.db;
        let sigs = module_signatures(db, file).clone();
        let sig = sigs
            .workflows
            .get(&w.name.text)
            .cloned()
            .unwrap_or_default();
        let input_syntax: Vec<ast::Field> = w
            .members
            .iter()
            .filter_map(|m| match &m.kind {
                MemberKind::Input(f) => Some(f.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        let fact_syntax: Vec<ast::Field> = w
            .members
            .iter()
            .filter_map(|m| match &m.kind {
                MemberKind::Facts(f) => Some(f.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        let mut out = ir::WorkflowIr {
            module: file.module(db).clone(),
            name: w.name.text.clone(),
            inputs: self.fields(file, &sig.inputs, &input_syntax)?,
            facts: self.fields(file, &sig.facts, &fact_syntax)?,
            rules: Vec::new(),
            signals: Vec::new(),
            complete_when: None,
            output: None,
            output_type: match &sig.output {
                Some(t) => Some(self.ids.ty(t).ok_or_else(|| LowerError::Unsupported {
                    module: file.module(db).clone(),
                    start: w.name.span.start,
                    end: w.name.span.end,
                    what: format!("the output type of workflow `{}`", w.name.text),
                })?),
                None => None,
            },
        };
        let ws = Some(&sig);
        for (m, member) in w.members.iter().enumerate() {
            let member_index = m as u32;
            match &member.kind {
                MemberKind::Rule(rule) => {
                    let mut lowered = ir::RuleIr {
                        name: rule.name.text.clone(),
                        priority: 0,
                        reads: Vec::new(),
                        writes: Vec::new(),
                        timeout_ms: None,
                        matcher: None,
                        action: None,
                        reaction: None,
                        error: None,
                    };
                    for (c, clause) in rule.clauses.iter().enumerate() {
                        let path = BodyPath::Clause {
                            item,
                            member: member_index,
                            clause: c as u32,
                        };
                        let label = |part: &str| format!("rule {:?} {part}", rule.name.text);
                        match &clause.kind {
                            ClauseKind::Priority(e) => {
                                if let cosmos_ir::value::Value::Int(n) =
                                    self.constant_value(file, e)?
                                {
                                    lowered.priority = n;
                                }
                            }
                            ClauseKind::Timeout(e) => {
                                if let cosmos_ir::value::Value::Duration(ms) =
                                    self.constant_value(file, e)?
                                {
                                    lowered.timeout_ms = Some(ms);
                                }
                            }
                            ClauseKind::Match(_) => {
                                let check = crate::bodies::check_body(db, file, path);
                                lowered.reads = check.reads.iter().cloned().collect();
                                lowered.matcher = Some(self.body(
                                    file,
                                    path,
                                    ws,
                                    &[],
                                    &Type::Bool,
                                    label("match"),
                                )?);
                            }
                            ClauseKind::Action(_) => {
                                let ret = crate::bodies::check_body(db, file, path)
                                    .value_type
                                    .clone()
                                    .unwrap_or(Type::Error);
                                lowered.action =
                                    Some(self.body(file, path, ws, &[], &ret, label("action"))?);
                            }
                            ClauseKind::Reaction(_) => {
                                let check = crate::bodies::check_body(db, file, path);
                                lowered.writes.extend(check.writes.iter().cloned());
                                let result = crate::bodies::body_info(db, file, path)
                                    .as_ref()
                                    .and_then(|i| i.sibling)
                                    .map(|action| {
                                        crate::bodies::action_result(db, file, action).clone()
                                    })
                                    .unwrap_or(Type::Error);
                                let params = [("result".to_string(), result)];
                                lowered.reaction = Some(self.body(
                                    file,
                                    path,
                                    ws,
                                    &params,
                                    &Type::Unit,
                                    label("reaction"),
                                )?);
                            }
                            ClauseKind::Error(_) => {
                                let check = crate::bodies::check_body(db, file, path);
                                lowered.writes.extend(check.writes.iter().cloned());
                                let params = [(
                                    "error".to_string(),
                                    Type::Record(DeclKey::new(PRELUDE, "CallError")),
                                )];
                                lowered.error = Some(self.body(
                                    file,
                                    path,
                                    ws,
                                    &params,
                                    &Type::Unit,
                                    label("error"),
                                )?);
                            }
                        }
                    }
                    lowered.writes.sort();
                    lowered.writes.dedup();
                    out.rules.push(lowered);
                }
                MemberKind::Signal(s) => {
                    let params: Vec<(String, Type)> = sig
                        .signals
                        .get(&s.name.text)
                        .map(|ps| ps.iter().map(|p| (p.name.clone(), p.ty.clone())).collect())
                        .unwrap_or_default();
                    let path = BodyPath::Signal {
                        item,
                        member: member_index,
                    };
                    let handler = self.body(
                        file,
                        path,
                        ws,
                        &params,
                        &Type::Unit,
                        format!("signal {}", s.name.text),
                    )?;
                    out.signals.push(ir::SignalIr {
                        name: s.name.text.clone(),
                        handler,
                    });
                }
                MemberKind::CompleteWhen(_) => {
                    let path = BodyPath::CompleteWhen {
                        item,
                        member: member_index,
                    };
                    out.complete_when = Some(self.body(
                        file,
                        path,
                        ws,
                        &[],
                        &Type::Bool,
                        "complete when".to_string(),
                    )?);
                }
                MemberKind::Output(_) => {
                    let path = BodyPath::Output {
                        item,
                        member: member_index,
                    };
                    let ret = match &sig.output {
                        Some(declared) => declared.clone(),
                        None => crate::bodies::check_body(db, file, path)
                            .value_type
                            .clone()
                            .unwrap_or(Type::Json),
                    };
                    out.output =
                        Some(self.body(file, path, ws, &[], &ret, "output".to_string())?);
                }
                MemberKind::Input(_) | MemberKind::Facts(_) => {}
            }
        }
        Ok(out)
    }

    /// An external function's settings, evaluated at compile time.
    fn settings(
        &self,
        file: SourceFile,
        settings: &[ast::FunctionSetting],
    ) -> Result<ir::FunctionSettings, LowerError> {
        use cosmos_ir::value::Value;
        use cosmos_syntax::ast::SettingKind;
        let mut out = ir::FunctionSettings::default();
        for s in settings {
            if s.kind == SettingKind::Retry {
                out.retry = Some(self.retry_policy(file, s)?);
                continue;
            }
            let value = self.constant_value(file, &s.value)?;
            match (s.kind, value) {
                (SettingKind::Command, Value::Str(text)) => out.command = shell_words(&text),
                (SettingKind::Command, Value::List(items)) => {
                    out.command = items
                        .into_iter()
                        .filter_map(|i| match i {
                            Value::Str(s) => Some(s.to_string()),
                            _ => None,
                        })
                        .collect();
                }
                (SettingKind::Pool, Value::Str(pool)) => out.pool = pool.to_string(),
                (SettingKind::Timeout, Value::Duration(ms)) => out.timeout_ms = ms,
                (SettingKind::Warm, Value::Int(n)) => out.warm = n,
                (SettingKind::Batch, Value::Int(n)) => out.batch = n,
                (SettingKind::Priority, Value::Int(n)) => out.priority = n,
                (SettingKind::Env, Value::List(items)) => {
                    out.env = items
                        .into_iter()
                        .filter_map(|i| match i {
                            Value::Str(s) => Some(s.to_string()),
                            _ => None,
                        })
                        .collect();
                }
                (SettingKind::Heartbeat, Value::Duration(ms)) => out.heartbeat_ms = Some(ms),
                _ => return self.unsupported(file, s.span, "this setting"),
            }
        }
        Ok(out)
    }

    /// A `retry` setting's policy, its arguments evaluated at compile time and the
    /// ones left out at their defaults.
    fn retry_policy(
        &self,
        file: SourceFile,
        setting: &ast::FunctionSetting,
    ) -> Result<ir::RetryPolicy, LowerError> {
        use cosmos_ir::value::Value;
        let ast::ExprKind::Call { args, .. } = &setting.value.kind else {
            return self.unsupported(file, setting.span, "this retry policy");
        };
        let mut policy = ir::RetryPolicy::with_attempts(1);
        for arg in args {
            let Some(name) = &arg.name else {
                return self.unsupported(file, arg.value.span, "an unnamed retry argument");
            };
            if name.text == "on" {
                let kinds = crate::retry::on_kinds(&arg.value).unwrap_or_default();
                policy.on = Vec::new();
                for kind in kinds {
                    match kind {
                        crate::retry::OnKind::Known(k) => policy.on.push(k.to_string()),
                        _ => return self.unsupported(file, arg.value.span, "this error kind"),
                    }
                }
                continue;
            }
            match (name.text.as_str(), self.constant_value(file, &arg.value)?) {
                ("attempts", Value::Int(n)) => policy.attempts = n,
                ("delay", Value::Duration(ms)) => policy.delay_ms = ms,
                ("max", Value::Duration(ms)) => policy.max_ms = ms,
                ("factor", Value::Float(f)) => policy.factor = f,
                ("factor", Value::Int(n)) => policy.factor = n as f64,
                _ => return self.unsupported(file, arg.value.span, "this retry argument"),
            }
        }
        Ok(policy)
    }

    /// Evaluates a constant (a priority, a timeout) at compile time.
    fn constant_value(
        &self,
        file: SourceFile,
        e: &ast::Expr,
    ) -> Result<cosmos_ir::value::Value, LowerError> {
        match self.evaluate(file, e) {
            Ok(v) => Ok(v),
            Err(ConstantError::Lower(error)) => Err(error),
            Err(ConstantError::Evaluation { kind, .. }) => {
                self.unsupported(file, e.span, format!("this constant ({kind})"))
            }
        }
    }

    fn evaluate(
        &self,
        file: SourceFile,
        e: &ast::Expr,
    ) -> Result<cosmos_ir::value::Value, ConstantError> {
        let lowered = BodyLower::constant(self, file)
            .lower_const(e, None)
            .map_err(ConstantError::Lower)?;
        let program = ir::Program {
            files: Vec::new(),
            records: Vec::new(),
            enums: Vec::new(),
            functions: Vec::new(),
            helpers: Vec::new(),
            workflows: Vec::new(),
            schedules: Vec::new(),
            lines: Vec::new(),
        };
        cosmos_ir::interp::eval_const(&program, &lowered).map_err(|error| {
            // The error's span is in the same file; fall back to the whole constant.
            let span = if error.span.start >= e.span.start
                && error.span.end <= e.span.end
                && error.span.start < error.span.end
            {
                cosmos_diagnostics::Span::new(error.span.start, error.span.end)
            } else {
                e.span
            };
            ConstantError::Evaluation {
                kind: error.kind,
                span,
            }
        })
    }

    fn body(
        &self,
        file: SourceFile,
        path: BodyPath,
        workflow: Option<&signatures::WorkflowSig>,
        params: &[(String, Type)],
        ret: &Type,
        name: String,
    ) -> Result<ir::Function, LowerError> {
        BodyLower::for_body(self, file, path, workflow)?.function(path, params, ret, name)
    }
}

/// Splits a command like shell words, with no shell: blanks separate words, quotes
/// (`'…'`, `"…"`) group them, and a backslash outside single quotes takes the next
/// character as it is.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (Some('"') | None, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    #[test]
    fn commands_split_like_shell_words() {
        assert_eq!(
            super::shell_words(r#"python3 'functions/a b.py' --name="x y" a\ b"#),
            vec!["python3", "functions/a b.py", "--name=x y", "a b"]
        );
        assert_eq!(super::shell_words("  "), Vec::<String>::new());
        assert_eq!(super::shell_words("run ''"), vec!["run", ""]);
    }
}
