//! Why did, or didn't, a rule fire: for each rule of an instance, whether it is in
//! flight, eligible, refracted (its match holds but nothing it reads changed since it
//! last fired) or not matching, with the value of each condition of its `match` and of
//! the operands of each comparison. What `GET /v1/instances/{id}/rules` and
//! `cosmosc explain` show.
//!
//! Conditions are printed back in Emx syntax from the IR, so no source is needed.

use crate::engine::{Engine, InstanceState};
use cosmos_ir::interp::{self, Env, Facts};
use cosmos_ir::json::to_json;
use cosmos_ir::{BinOp, Block, Const, Expr, ExprKind, Function, Program, UnOp, WorkflowIr};
use serde::Serialize;
use serde_json::Value as Json;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleState {
    /// Waiting for its calls or timers.
    InFlight,
    /// Its match holds and it would fire next time the engine looks.
    Eligible,
    /// Its match holds, but nothing it reads changed since it last fired.
    Refracted,
    NotMatching,
    /// Its match could not be evaluated.
    Error,
}

impl RuleState {
    /// The state in words, as `cosmosc explain` and the console show it.
    pub fn describe(&self) -> &'static str {
        match self {
            RuleState::InFlight => "in flight (waiting for its calls)",
            RuleState::Eligible => "eligible (fires next)",
            RuleState::Refracted => {
                "refracted (matches, but nothing it reads changed since it fired)"
            }
            RuleState::NotMatching => "not matching",
            RuleState::Error => "its match fails to evaluate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// The sub-expression, in Emx syntax.
    pub expr: String,
    /// Its value, or `null` with `error` set.
    pub value: Json,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleExplanation {
    pub rule: String,
    pub priority: i64,
    pub state: RuleState,
    pub fired: u64,
    /// The facts and inputs the match reads.
    pub reads: Vec<String>,
    /// The match's conditions and comparison operands, outermost first.
    pub parts: Vec<Part>,
    /// When time alone next changes the match (LANGUAGE.md 10.1): the instance wakes
    /// then and the rule is looked at again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wake: Option<WakeExplanation>,
}

/// A comparison of `now()` in a rule's match whose answer changes at `at`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WakeExplanation {
    /// RFC 3339, UTC.
    pub at: String,
    /// The comparison, in Emx syntax (`now() >= asked + 2.h`).
    pub condition: String,
    /// Whether the comparison starts to hold then (rather than stops holding).
    pub starts_holding: bool,
}

/// Explains every rule of `instance`, in firing order, at time `now`.
pub fn explain(engine: &Engine<'_>, instance: &InstanceState, now: i64) -> Vec<RuleExplanation> {
    let program = engine.program();
    let workflow = engine.host().workflow();
    let mut rules: Vec<&cosmos_ir::RuleIr> = workflow.rules.iter().collect();
    rules.sort_by_key(|r| std::cmp::Reverse(r.priority));
    let in_flight: Vec<&str> = instance.in_flight().collect();
    let wakes = engine.wakes(instance, now);
    rules
        .into_iter()
        .map(|rule| {
            let matches = engine.host().matches(&rule.name, &instance.values, now);
            let state = if in_flight.contains(&rule.name.as_str()) {
                RuleState::InFlight
            } else {
                match matches {
                    Err(_) => RuleState::Error,
                    Ok(false) => RuleState::NotMatching,
                    Ok(true) if engine.refracted(instance, &rule.name, now) => RuleState::Refracted,
                    Ok(true) => RuleState::Eligible,
                }
            };
            let parts = match &rule.matcher {
                Some(matcher) => parts(program, workflow, matcher, instance, now),
                None => Vec::new(),
            };
            let wake = wakes
                .iter()
                .find(|w| w.rule == rule.name)
                .zip(rule.matcher.as_ref())
                .map(|(w, matcher)| {
                    let printer = Printer {
                        program,
                        workflow,
                        function: matcher,
                    };
                    let condition = matcher
                        .body
                        .value
                        .as_deref()
                        .and_then(|e| comparison_at(e, w.crossing.span))
                        .map(|e| printer.expr(e))
                        .unwrap_or_else(|| {
                            format!(
                                "now() passes {}",
                                cosmos_ir::format_time(w.crossing.threshold)
                            )
                        });
                    WakeExplanation {
                        at: cosmos_ir::format_time(w.at),
                        condition,
                        starts_holding: !w.crossing.holds,
                    }
                });
            RuleExplanation {
                rule: rule.name.clone(),
                priority: rule.priority,
                state,
                fired: instance.fired(&rule.name),
                reads: rule.reads.clone(),
                parts,
                wake,
            }
        })
        .collect()
}

fn parts(
    program: &Program,
    workflow: &WorkflowIr,
    matcher: &Function,
    instance: &InstanceState,
    now: i64,
) -> Vec<Part> {
    let Some(value) = &matcher.body.value else {
        return Vec::new();
    };
    let mut exprs = Vec::new();
    collect(value, &mut exprs, true);
    let printer = Printer {
        program,
        workflow,
        function: matcher,
    };
    exprs
        .into_iter()
        .map(|e| {
            let probe = Function {
                body: Block {
                    stmts: matcher.body.stmts.clone(),
                    value: Some(Box::new(e.clone())),
                },
                ret: e.ty.clone(),
                ..matcher.clone()
            };
            let env = Env {
                inputs: &instance.values.inputs,
                facts: Facts::Read(&instance.values.facts),
                now,
            };
            let (value, error) = match interp::run(program, &probe, Vec::new(), env) {
                Ok((v, _)) => (to_json(program, &v), None),
                Err(e) => (Json::Null, Some(e.kind.to_string())),
            };
            Part {
                expr: printer.expr(e),
                value,
                error,
            }
        })
        .collect()
}

/// The whole match, each operand of a `&&`/`||` chain, what `!` negates, and both
/// sides of each comparison.
fn collect<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>, top: bool) {
    match &e.kind {
        ExprKind::And(..) | ExprKind::Or(..) => {
            if top {
                out.push(e);
            }
            let mut chain = Vec::new();
            flatten(e, matches!(e.kind, ExprKind::And(..)), &mut chain);
            for operand in chain {
                collect(operand, out, true);
            }
        }
        ExprKind::Unary {
            op: UnOp::Not,
            operand,
            ..
        } => {
            out.push(e);
            collect(operand, out, false);
        }
        ExprKind::Binary { op, lhs, rhs, .. } if is_comparison(*op) => {
            out.push(e);
            for side in [lhs, rhs] {
                if !matches!(side.kind, ExprKind::Const(_)) {
                    out.push(side);
                }
            }
        }
        _ => out.push(e),
    }
}

/// The comparison with span `span` in a match's conditions.
fn comparison_at(e: &Expr, span: cosmos_ir::Span) -> Option<&Expr> {
    match &e.kind {
        ExprKind::Binary { span: s, .. } if *s == span => Some(e),
        ExprKind::And(a, b) | ExprKind::Or(a, b) => {
            comparison_at(a, span).or_else(|| comparison_at(b, span))
        }
        ExprKind::Unary { operand, .. } => comparison_at(operand, span),
        _ => None,
    }
}

/// The operands of a chain of `&&` (or of `||`), left to right.
fn flatten<'e>(e: &'e Expr, and: bool, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::And(a, b) if and => {
            flatten(a, and, out);
            flatten(b, and, out);
        }
        ExprKind::Or(a, b) if !and => {
            flatten(a, and, out);
            flatten(b, and, out);
        }
        _ => out.push(e),
    }
}

fn is_comparison(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
    )
}

/// Prints IR expressions back in Emx syntax.
struct Printer<'p> {
    program: &'p Program,
    workflow: &'p WorkflowIr,
    function: &'p Function,
}

impl Printer<'_> {
    fn expr(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Const(c) => match c {
                Const::Int(n) => n.to_string(),
                Const::Float(f) => cosmos_ir::value::format_float(*f),
                Const::Bool(b) => b.to_string(),
                Const::Str(s) => format!("{s:?}"),
                Const::Duration(ms) => cosmos_ir::value::format_duration(*ms),
                Const::Null => "null".to_string(),
            },
            ExprKind::Local(slot) => self
                .function
                .slots
                .get(slot.0 as usize)
                .map_or_else(|| format!("${}", slot.0), |s| s.name.clone()),
            ExprKind::Input(i) => self.field_name(&self.workflow.inputs, *i),
            ExprKind::Fact(i) => self.field_name(&self.workflow.facts, *i),
            ExprKind::Field { base, index } => {
                let name = self
                    .record_of(&base.ty)
                    .and_then(|r| r.fields.get(*index as usize))
                    .map_or_else(|| format!("#{index}"), |f| f.name.clone());
                format!("{}.{name}", self.expr(base))
            }
            ExprKind::IfNotNull { value, then, .. } => {
                format!("{}?.{}", self.expr(value), self.tail(then))
            }
            ExprKind::Elvis { value, otherwise } => {
                format!("{} ?: {}", self.expr(value), self.expr(otherwise))
            }
            ExprKind::Unary { op, operand, .. } => match op {
                UnOp::Not => format!("!{}", self.paren(operand)),
                UnOp::NegInt | UnOp::NegFloat | UnOp::NegDuration => {
                    format!("-{}", self.paren(operand))
                }
            },
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let side = |x: &Expr| match &x.kind {
                    ExprKind::And(..) | ExprKind::Or(..) | ExprKind::Elvis { .. } => {
                        format!("({})", self.expr(x))
                    }
                    ExprKind::Binary { op: inner, .. }
                        if is_comparison(*inner) || is_comparison(*op) =>
                    {
                        if is_comparison(*inner) {
                            format!("({})", self.expr(x))
                        } else {
                            self.expr(x)
                        }
                    }
                    ExprKind::Binary { .. } => format!("({})", self.expr(x)),
                    _ => self.expr(x),
                };
                format!("{} {} {}", side(lhs), binop(*op), side(rhs))
            }
            ExprKind::And(a, b) => format!("{} && {}", self.paren(a), self.paren(b)),
            ExprKind::Or(a, b) => {
                let side = |x: &Expr| match &x.kind {
                    ExprKind::And(..) => format!("({})", self.expr(x)),
                    _ => self.expr(x),
                };
                format!("{} || {}", side(a), side(b))
            }
            ExprKind::IntToFloat(inner) => self.expr(inner),
            ExprKind::List(items) => {
                let items: Vec<String> = items.iter().map(|i| self.expr(i)).collect();
                format!("[{}]", items.join(", "))
            }
            ExprKind::Index { list, index, .. } => {
                format!("{}[{}]", self.expr(list), self.expr(index))
            }
            ExprKind::MapGet { map, key } => format!("{}[{}]", self.expr(map), self.expr(key)),
            ExprKind::Builtin {
                receiver,
                name,
                args,
                ..
            } => {
                let args: Vec<String> = args.iter().map(|a| self.expr(a)).collect();
                match (receiver, args.split_first()) {
                    (cosmos_ir::Receiver::Global, _) | (_, None) => {
                        format!("{name}({})", args.join(", "))
                    }
                    (_, Some((first, rest))) => format!("{first}.{name}({})", rest.join(", ")),
                }
            }
            ExprKind::Loop { kind, source, .. } => {
                format!("{}.{} {{ … }}", self.expr(source), loop_name(*kind))
            }
            ExprKind::CallHelper { helper, args, .. } => {
                let name = self
                    .program
                    .helpers
                    .get(helper.0 as usize)
                    .map_or("helper", |h| h.name.trim_start_matches("def "));
                let args: Vec<String> = args.iter().flatten().map(|a| self.expr(a)).collect();
                format!("{name}({})", args.join(", "))
            }
            ExprKind::EnumValue { enum_id, variant } => {
                let layout = self.program.enum_layout(*enum_id);
                format!(
                    "{}.{}",
                    layout.map_or("?", |l| l.name.as_str()),
                    layout
                        .and_then(|l| l.variants.get(*variant as usize))
                        .map_or("?", String::as_str)
                )
            }
            ExprKind::Now => "now()".to_string(),
            _ => "…".to_string(),
        }
    }

    /// An operand, in parentheses where Emx's precedence needs them.
    fn paren(&self, e: &Expr) -> String {
        let text = self.expr(e);
        match &e.kind {
            ExprKind::Or(..) | ExprKind::Elvis { .. } => format!("({text})"),
            ExprKind::Binary { op, .. } if !is_comparison(*op) => format!("({text})"),
            _ => text,
        }
    }

    /// The part of a `?.` chain after the receiver.
    fn tail(&self, then: &Expr) -> String {
        let text = self.expr(then);
        text.split_once('.')
            .map_or(text.clone(), |(_, t)| t.to_string())
    }

    fn field_name(&self, fields: &[cosmos_ir::FieldLayout], index: u32) -> String {
        fields
            .get(index as usize)
            .map_or_else(|| format!("#{index}"), |f| f.name.clone())
    }

    fn record_of(&self, ty: &cosmos_ir::Ty) -> Option<&cosmos_ir::RecordLayout> {
        match ty {
            cosmos_ir::Ty::Record(id) => self.program.record(*id),
            cosmos_ir::Ty::Optional(inner) => self.record_of(inner),
            _ => None,
        }
    }
}

fn binop(op: BinOp) -> &'static str {
    match op {
        BinOp::IntAdd
        | BinOp::FloatAdd
        | BinOp::DurationAdd
        | BinOp::TimeAddDuration
        | BinOp::ListConcat
        | BinOp::MapMerge => "+",
        BinOp::IntSub
        | BinOp::FloatSub
        | BinOp::DurationSub
        | BinOp::TimeSubDuration
        | BinOp::TimeSub => "-",
        BinOp::IntMul | BinOp::FloatMul | BinOp::DurationMulInt => "*",
        BinOp::IntDiv | BinOp::FloatDiv | BinOp::DurationDivInt => "/",
        BinOp::IntRem | BinOp::FloatRem => "%",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
    }
}

fn loop_name(kind: cosmos_ir::LoopKind) -> &'static str {
    use cosmos_ir::LoopKind as L;
    match kind {
        L::Any | L::MapAny => "any",
        L::Every => "every",
        L::Find => "find",
        L::FindAll | L::MapFindAll => "findAll",
        L::Collect | L::MapCollect => "collect",
        L::Count => "count",
        L::Sum => "sum",
        L::SortBy => "sortBy",
        L::Each | L::MapEach => "each",
        L::EachWithIndex => "eachWithIndex",
    }
}
