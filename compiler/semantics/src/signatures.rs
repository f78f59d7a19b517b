//! Signatures: the types of every declaration, apart from bodies and without spans,
//! so that editing a body or moving code never invalidates them.

use crate::db::{Db, SourceFile, module_file, parse};
use crate::scope::{DeclKind, ModuleScope, Symbol, module_decl, module_scope};
use crate::suggest::did_you_mean;
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::Span;
use cosmos_syntax::ast::{self, ItemKind, MemberKind, TypeRef, TypeRefKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A field, input, fact or parameter: name, type, and whether it has a default.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldSig {
    pub name: String,
    pub ty: Type,
    pub has_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordSig {
    pub fields: Vec<FieldSig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnumSig {
    pub variants: Vec<String>,
}

/// A helper's or an external function's parameters and result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallableSig {
    pub params: Vec<FieldSig>,
    pub ret: Type,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkflowSig {
    pub inputs: Vec<FieldSig>,
    pub facts: Vec<FieldSig>,
    /// Rule names in declaration order.
    pub rules: Vec<String>,
    pub signals: BTreeMap<String, Vec<FieldSig>>,
    pub has_output: bool,
    /// The declared type of `output: T { … }`; `None` when the output is `Json`.
    pub output: Option<Type>,
}

impl WorkflowSig {
    pub fn input(&self, name: &str) -> Option<&FieldSig> {
        self.inputs.iter().find(|f| f.name == name)
    }

    pub fn fact(&self, name: &str) -> Option<&FieldSig> {
        self.facts.iter().find(|f| f.name == name)
    }

    /// The type of the workflow's output, and of a call of it as a child: the
    /// declared one, else `Json`.
    pub fn output_type(&self) -> Type {
        self.output.clone().unwrap_or(Type::Json)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModuleSigs {
    pub records: BTreeMap<String, RecordSig>,
    pub enums: BTreeMap<String, EnumSig>,
    pub functions: BTreeMap<String, CallableSig>,
    pub defs: BTreeMap<String, CallableSig>,
    pub workflows: BTreeMap<String, WorkflowSig>,
}

/// A problem with a written type, as facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRefError {
    Unknown {
        name: String,
        span: Span,
        suggestion: Option<String>,
    },
    NotAType {
        name: String,
        kind: &'static str,
        span: Span,
    },
    WrongArity {
        name: String,
        expected: usize,
        found: usize,
        span: Span,
    },
    BadMapKey {
        key: Type,
        span: Span,
    },
}

const BUILTIN_TYPES: &[&str] = &[
    "Int", "Float", "Bool", "String", "Duration", "Time", "Json", "List", "Map", "Outcome",
];

/// Resolves a written type in a module's scope; problems are pushed to `errors` and
/// their part of the type becomes `Type::Error`.
pub fn resolve_type(
    db: &dyn Db,
    scope: &ModuleScope,
    ty: &TypeRef,
    errors: &mut Vec<TypeRefError>,
) -> Type {
    match &ty.kind {
        TypeRefKind::Optional(inner) => Type::optional(resolve_type(db, scope, inner, errors)),
        TypeRefKind::Named { path, args } => {
            let resolved_args: Vec<Type> = args
                .iter()
                .map(|arg| resolve_type(db, scope, arg, errors))
                .collect();
            let name = path
                .iter()
                .map(|i| i.text.as_str())
                .collect::<Vec<_>>()
                .join(".");
            let arity = |expected: usize, errors: &mut Vec<TypeRefError>| {
                if resolved_args.len() != expected {
                    errors.push(TypeRefError::WrongArity {
                        name: name.clone(),
                        expected,
                        found: resolved_args.len(),
                        span: ty.span,
                    });
                    false
                } else {
                    true
                }
            };
            if path.len() == 1 {
                let simple = match name.as_str() {
                    "Int" => Some(Type::Int),
                    "Float" => Some(Type::Float),
                    "Bool" => Some(Type::Bool),
                    "String" => Some(Type::String),
                    "Duration" => Some(Type::Duration),
                    "Time" => Some(Type::Time),
                    "Json" => Some(Type::Json),
                    _ => None,
                };
                if let Some(simple) = simple {
                    return if arity(0, errors) {
                        simple
                    } else {
                        Type::Error
                    };
                }
                match name.as_str() {
                    "List" => {
                        return match resolved_args.as_slice() {
                            [element] => Type::list(element.clone()),
                            _ => {
                                arity(1, errors);
                                Type::Error
                            }
                        };
                    }
                    "Outcome" => {
                        return match resolved_args.as_slice() {
                            [value] => Type::Outcome(Box::new(value.clone())),
                            _ => {
                                arity(1, errors);
                                Type::Error
                            }
                        };
                    }
                    "Map" => {
                        return match resolved_args.as_slice() {
                            [key, value] => {
                                if !key.is_map_key() {
                                    errors.push(TypeRefError::BadMapKey {
                                        key: key.clone(),
                                        span: args.first().map_or(ty.span, |a| a.span),
                                    });
                                }
                                Type::map(key.clone(), value.clone())
                            }
                            _ => {
                                arity(2, errors);
                                Type::Error
                            }
                        };
                    }
                    _ => {}
                }
            }
            let symbol = match path.as_slice() {
                [single] => scope.get(&single.text).cloned(),
                [qualifier, member] => match scope.get(&qualifier.text) {
                    Some(Symbol::Module(module)) => module_decl(db, module, &member.text),
                    _ => None,
                },
                _ => None,
            };
            let span = match (path.first(), path.last()) {
                (Some(first), Some(last)) => first.span.to(last.span),
                _ => ty.span,
            };
            match symbol {
                Some(Symbol::Decl(DeclKind::Record, key)) => {
                    if arity(0, errors) {
                        Type::Record(key)
                    } else {
                        Type::Error
                    }
                }
                Some(Symbol::Decl(DeclKind::Enum, key)) => {
                    if arity(0, errors) {
                        Type::Enum(key)
                    } else {
                        Type::Error
                    }
                }
                Some(Symbol::Decl(kind, _)) => {
                    errors.push(TypeRefError::NotAType {
                        name,
                        kind: kind.describe(),
                        span,
                    });
                    Type::Error
                }
                Some(Symbol::Module(_)) => {
                    errors.push(TypeRefError::NotAType {
                        name,
                        kind: "module",
                        span,
                    });
                    Type::Error
                }
                None => {
                    let candidates = scope
                        .names()
                        .filter(|(_, s)| {
                            matches!(s, Symbol::Decl(DeclKind::Record | DeclKind::Enum, _))
                        })
                        .map(|(n, _)| n.as_str())
                        .chain(BUILTIN_TYPES.iter().copied());
                    let suggestion = did_you_mean(&name, candidates).map(str::to_string);
                    errors.push(TypeRefError::Unknown {
                        name,
                        span,
                        suggestion,
                    });
                    Type::Error
                }
            }
        }
    }
}

/// Whether a field of optional type without a default may be omitted (it starts as
/// null): true for record fields and workflow inputs, false for parameters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OptionalDefault {
    Null,
    Required,
}

fn fields(
    db: &dyn Db,
    scope: &ModuleScope,
    fields: &[ast::Field],
    optional: OptionalDefault,
) -> Vec<FieldSig> {
    fields
        .iter()
        .map(|f| {
            let ty = resolve_type(db, scope, &f.ty, &mut Vec::new());
            let null_default = optional == OptionalDefault::Null && ty.is_optional();
            FieldSig {
                name: f.name.text.clone(),
                ty,
                has_default: f.default.is_some() || null_default,
            }
        })
        .collect()
}

#[salsa::tracked(returns(ref))]
pub fn module_signatures(db: &dyn Db, file: SourceFile) -> Arc<ModuleSigs> {
    let ast = &parse(db, file).module;
    let scope = module_scope(db, file);
    let mut sigs = ModuleSigs::default();
    for item in &ast.items {
        match &item.kind {
            ItemKind::Type(d) => {
                sigs.records
                    .entry(d.name.text.clone())
                    .or_insert_with(|| RecordSig {
                        fields: fields(db, scope, &d.fields, OptionalDefault::Null),
                    });
            }
            ItemKind::Enum(d) => {
                sigs.enums
                    .entry(d.name.text.clone())
                    .or_insert_with(|| EnumSig {
                        variants: d.variants.iter().map(|v| v.name.text.clone()).collect(),
                    });
            }
            ItemKind::Function(d) => {
                sigs.functions
                    .entry(d.name.text.clone())
                    .or_insert_with(|| CallableSig {
                        params: fields(db, scope, &d.params, OptionalDefault::Required),
                        ret: resolve_type(db, scope, &d.ret, &mut Vec::new()),
                    });
            }
            ItemKind::Def(d) => {
                sigs.defs
                    .entry(d.name.text.clone())
                    .or_insert_with(|| CallableSig {
                        params: fields(db, scope, &d.params, OptionalDefault::Required),
                        ret: resolve_type(db, scope, &d.ret, &mut Vec::new()),
                    });
            }
            ItemKind::Workflow(w) => {
                let mut sig = WorkflowSig::default();
                for member in &w.members {
                    match &member.kind {
                        MemberKind::Input(list) => {
                            sig.inputs
                                .extend(fields(db, scope, list, OptionalDefault::Null))
                        }
                        MemberKind::Facts(list) => {
                            sig.facts
                                .extend(fields(db, scope, list, OptionalDefault::Null))
                        }
                        MemberKind::Rule(rule) => sig.rules.push(rule.name.text.clone()),
                        MemberKind::Signal(signal) => {
                            sig.signals
                                .entry(signal.name.text.clone())
                                .or_insert_with(|| {
                                    fields(db, scope, &signal.params, OptionalDefault::Required)
                                });
                        }
                        MemberKind::Output(output) => {
                            sig.has_output = true;
                            sig.output = output
                                .ty
                                .as_ref()
                                .map(|ty| resolve_type(db, scope, ty, &mut Vec::new()));
                        }
                        MemberKind::CompleteWhen(_) => {}
                    }
                }
                sigs.workflows.entry(w.name.text.clone()).or_insert(sig);
            }
            ItemKind::Import(_) | ItemKind::Test(_) | ItemKind::Schedule(_) => {}
        }
    }
    Arc::new(sigs)
}

/// The signatures of the module that declares `key`.
pub fn sigs_of(db: &dyn Db, module: &str) -> Option<Arc<ModuleSigs>> {
    module_file(db, module).map(|file| module_signatures(db, file).clone())
}

pub fn record_sig(db: &dyn Db, key: &DeclKey) -> Option<RecordSig> {
    sigs_of(db, &key.module)?.records.get(&key.name).cloned()
}

pub fn enum_sig(db: &dyn Db, key: &DeclKey) -> Option<EnumSig> {
    sigs_of(db, &key.module)?.enums.get(&key.name).cloned()
}

pub fn function_sig(db: &dyn Db, key: &DeclKey) -> Option<CallableSig> {
    sigs_of(db, &key.module)?.functions.get(&key.name).cloned()
}

pub fn def_sig(db: &dyn Db, key: &DeclKey) -> Option<CallableSig> {
    sigs_of(db, &key.module)?.defs.get(&key.name).cloned()
}

pub fn workflow_sig(db: &dyn Db, key: &DeclKey) -> Option<WorkflowSig> {
    sigs_of(db, &key.module)?.workflows.get(&key.name).cloned()
}
