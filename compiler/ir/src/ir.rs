//! The IR's data: a program's layouts (records, enums, workflows), its external
//! functions, and one [`Function`] per body, each a tree of typed operations.
//!
//! The tree is structured (blocks, `if`, loops) rather than a flat list of basic
//! blocks: it maps one to one onto Cranelift's frontend (which builds SSA itself from
//! `def_var`/`use_var`) and keeps the interpreter a direct walk. Every operation that
//! can fail at run time carries the absolute [`Span`] of its source.

use serde::{Deserialize, Serialize};

/// The version of the IR's shape; a bundle written with another is refused.
pub const IR_VERSION: u32 = 1;

/// A source position: the index of the file in [`Program::files`] and byte offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    pub file: u32,
    pub start: u32,
    pub end: u32,
}

macro_rules! id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub u32);
    )*};
}

id! {
    /// An index into [`Program::records`].
    RecordId;
    /// An index into [`Program::enums`].
    EnumId;
    /// An index into [`Program::functions`] (external functions).
    FunctionId;
    /// An index into [`Program::helpers`] (`def`s).
    HelperId;
    /// An index into [`Program::workflows`].
    WorkflowId;
    /// A local slot of one [`Function`]; parameters come first.
    Slot;
}

/// A type as the IR needs it: the checker's types with declarations replaced by ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ty {
    Int,
    Float,
    Bool,
    String,
    /// Milliseconds, as an `i64`.
    Duration,
    /// Milliseconds since the Unix epoch, as an `i64`.
    Time,
    Json,
    List(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Optional(Box<Ty>),
    Record(RecordId),
    Enum(EnumId),
    Call(Box<Ty>),
    /// The type of `null` with nothing to give it another.
    Null,
    /// No value: statements, `each`, `log`.
    Unit,
    /// Control does not continue: `fail`, `complete`, `retry`, `return`.
    Never,
}

/// A whole compiled project.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Program {
    /// Source files by index, as module names (`media.probe`), for spans.
    pub files: Vec<String>,
    pub records: Vec<RecordLayout>,
    pub enums: Vec<EnumLayout>,
    pub functions: Vec<ExternFunction>,
    pub helpers: Vec<Function>,
    pub workflows: Vec<WorkflowIr>,
    /// The project's `schedule`s (LANGUAGE.md 10.7). Left out of the JSON when there
    /// are none, so that a bundle without schedules is written as it was before them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleIr>,
    /// The lines of each file in [`Program::files`], by index, so that run-time errors
    /// can say where they happened (`Program::locate`). Empty in programs written
    /// without them.
    #[serde(default)]
    pub lines: Vec<crate::location::LineTable>,
}

/// A field of a record, an input or a fact: its place in the layout is its index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldLayout {
    pub name: String,
    pub ty: Ty,
    /// The default, a constant expression; an optional field without one is null.
    pub default: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordLayout {
    pub module: String,
    pub name: String,
    pub fields: Vec<FieldLayout>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumLayout {
    pub module: String,
    pub name: String,
    pub variants: Vec<String>,
}

/// An external function (`function f(…): R { command … }`): called by the runtime with
/// a JSON object keyed by parameter name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternFunction {
    pub module: String,
    pub name: String,
    pub params: Vec<(String, Ty)>,
    pub ret: Ty,
    pub settings: FunctionSettings,
}

/// How the runtime runs an external function; defaults as LANGUAGE.md gives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSettings {
    /// The program and its arguments (a `command` string is split like shell words).
    pub command: Vec<String>,
    pub pool: String,
    pub timeout_ms: i64,
    pub warm: i64,
    pub batch: i64,
    pub priority: i64,
    /// Variables of the node's environment its processes get (`env [...]`), beyond
    /// `PATH`, `HOME`, `LANG` and the runtime's own `COSMOS_*` ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// `heartbeat D`: a call that reports no progress for this long times out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_ms: Option<i64>,
    /// `retry …`: how failed calls are retried before the rule sees the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
}

/// A function's `retry` policy (LANGUAGE.md 10.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Total attempts, the first included (at least 1).
    pub attempts: i64,
    /// The wait before the second attempt.
    pub delay_ms: i64,
    /// Each later wait is the one before times this (at least 1.0).
    pub factor: f64,
    /// No wait is longer than this.
    pub max_ms: i64,
    /// The error kinds (`FAILED`, `TIMEOUT`, `BAD_OUTPUT`, `CRASHED`) that are retried.
    pub on: Vec<String>,
}

impl RetryPolicy {
    /// The policy's defaults: `delay: 1.s, factor: 2.0, max: 10.min,
    /// on: [FAILED, TIMEOUT, CRASHED]`, with `attempts` given.
    pub fn with_attempts(attempts: i64) -> RetryPolicy {
        RetryPolicy {
            attempts,
            delay_ms: 1_000,
            factor: 2.0,
            max_ms: 600_000,
            on: ["FAILED", "TIMEOUT", "CRASHED"].map(String::from).to_vec(),
        }
    }

    /// Whether a failure of `kind` is retried at all.
    pub fn retries(&self, kind: &str) -> bool {
        self.on.iter().any(|k| k == kind)
    }

    /// How long attempt `attempt` (2 or more, counted within the policy) waits after
    /// the one before it failed: `min(delay × factor^(attempt − 2), max)`, in
    /// milliseconds, never negative.
    pub fn delay_before(&self, attempt: i64) -> i64 {
        let delay = self.delay_ms.max(0);
        let max = self.max_ms.max(0);
        if delay == 0 {
            return 0;
        }
        let exponent = i32::try_from(attempt.saturating_sub(2).max(0)).unwrap_or(i32::MAX);
        let wait = delay as f64 * self.factor.max(1.0).powi(exponent);
        if !wait.is_finite() || wait >= max as f64 {
            max
        } else {
            wait.round() as i64
        }
    }
}

impl Default for FunctionSettings {
    fn default() -> Self {
        FunctionSettings {
            command: Vec::new(),
            pool: "default".to_string(),
            timeout_ms: 600_000,
            warm: 0,
            batch: 1,
            priority: 0,
            env: Vec::new(),
            heartbeat_ms: None,
            retry: None,
        }
    }
}

/// A workflow: its layouts and its bodies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowIr {
    pub module: String,
    pub name: String,
    pub inputs: Vec<FieldLayout>,
    pub facts: Vec<FieldLayout>,
    pub rules: Vec<RuleIr>,
    pub signals: Vec<SignalIr>,
    pub complete_when: Option<Function>,
    pub output: Option<Function>,
    /// The declared type of `output: T { … }`: what a parent that calls this workflow
    /// as a child gets (LANGUAGE.md 10.6). `None` when the output is untyped (`Json`).
    #[serde(default)]
    pub output_type: Option<Ty>,
}

impl WorkflowIr {
    /// The type of the workflow's output as a parent's call of it sees it: the
    /// declared one, else `Json`.
    pub fn output_ty(&self) -> Ty {
        self.output_type.clone().unwrap_or(Ty::Json)
    }
}

/// A `schedule` (LANGUAGE.md 10.7): when it ticks, and how each tick starts an
/// instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleIr {
    pub module: String,
    /// The name written after `schedule`, unique in the project.
    pub name: String,
    /// The workflow each tick starts.
    pub workflow: String,
    pub trigger: Trigger,
    pub overlap: Overlap,
    /// The `start` block: no parameters, and its value is the instance's input, an
    /// object of the workflow's inputs by name (a `Map<String, Json>`); `now()` is the
    /// tick's time. It reads no inputs or facts. The runtime evaluates it with the
    /// reference interpreter.
    pub start: Function,
}

/// When a schedule ticks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `cron "…"`: the expression as written ([`crate::cron::Cron`]).
    Cron(String),
    /// `every D`: at every multiple of `ms` milliseconds since the Unix epoch.
    Every { ms: i64 },
}

impl Trigger {
    /// The first tick strictly after `after` (`None` for a cron expression that does
    /// not parse, which the checker refuses, or that has no tick within decades).
    pub fn next_after(&self, after: i64) -> Option<i64> {
        match self {
            Trigger::Cron(text) => crate::cron::Cron::parse(text).ok()?.next_after(after),
            Trigger::Every { ms } if *ms > 0 => {
                after.div_euclid(*ms).checked_add(1)?.checked_mul(*ms)
            }
            Trigger::Every { .. } => None,
        }
    }

    /// The last tick at or before `at`.
    pub fn latest_at_or_before(&self, at: i64) -> Option<i64> {
        match self {
            Trigger::Cron(text) => crate::cron::Cron::parse(text).ok()?.latest_at_or_before(at),
            Trigger::Every { ms } if *ms > 0 => at.div_euclid(*ms).checked_mul(*ms),
            Trigger::Every { .. } => None,
        }
    }
}

/// What a tick does while the schedule's previous instance has not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// Start nothing (the default).
    Skip,
    /// Start another instance anyway.
    Allow,
}

impl Overlap {
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Skip => "skip",
            Overlap::Allow => "allow",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleIr {
    pub name: String,
    pub priority: i64,
    /// Facts and inputs the `match` reads, by name: the rule is re-evaluated when
    /// one of them changes.
    pub reads: Vec<String>,
    /// Facts the `reaction` and `error` block may assign.
    pub writes: Vec<String>,
    /// `timeout D` of the rule, in milliseconds.
    pub timeout_ms: Option<i64>,
    /// A rule without `match` always matches.
    pub matcher: Option<Function>,
    pub action: Option<Function>,
    /// Its one parameter is `result`.
    pub reaction: Option<Function>,
    /// Its one parameter is `error`, a `CallError`.
    pub error: Option<Function>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalIr {
    pub name: String,
    pub handler: Function,
}

/// One body: parameters are the first `params` slots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// For people: `def rungs`, `rule "probe" match`.
    pub name: String,
    pub params: u32,
    /// Defaults of parameters, by parameter index (helpers only).
    pub defaults: Vec<Option<Expr>>,
    pub slots: Vec<SlotInfo>,
    pub ret: Ty,
    pub body: Block,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotInfo {
    /// The source name; closure parameters and temporaries have theirs too (`it`, `$t`).
    pub name: String,
    pub ty: Ty,
}

/// Statements, then the block's value (if it has one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub value: Option<Box<Expr>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Stmt {
    /// Stores into a slot (`def x = e`, and the loops' own temporaries).
    Set(Slot, Expr),
    /// `place = value`; a fact root makes it an effect on the instance.
    Assign { place: Place, value: Expr },
    /// `place << value`
    Append { place: Place, value: Expr },
    /// `place += value` and the other compound assignments: the place is read and
    /// written once. A map entry that is absent is an error at `span`.
    Update {
        place: Place,
        op: UpdateOp,
        value: Expr,
        span: Span,
    },
    If {
        cond: Expr,
        then: Block,
        otherwise: Block,
    },
    /// `for (x in xs)`: ranges are lists, so one loop form serves both.
    ForEach { var: Slot, list: Expr, body: Block },
    /// `return e` (helpers).
    Return(Expr),
    /// An expression for its effects; its value is dropped.
    Expr(Expr),
    /// `log(message)`.
    Log(Expr),
    /// `complete()` / `complete(value)`: ends the body and the instance.
    Complete(Option<Expr>),
    /// `fail(message)`
    Fail(Expr),
    /// `retry()` / `retry(after)`: `error` blocks only.
    Retry(Option<Expr>),
}

/// How a compound assignment combines the old value with the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateOp {
    Arith(BinOp),
    /// `s += value` on a string: the value formatted as in interpolation.
    Concat,
}

/// An assignable place: a local or a fact, then fields and entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub root: PlaceRoot,
    pub path: Vec<PlaceStep>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlaceRoot {
    Local(Slot),
    Fact(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlaceStep {
    Field(u32),
    /// A list element: out of range is an error at `span`.
    Index {
        index: Expr,
        span: Span,
    },
    /// A map entry: put (insert or replace).
    Key(Expr),
}

/// A typed expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Const {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Copied into every value made from it without an allocation (`Value::Str`).
    Str(crate::value::SmolStr),
    /// Milliseconds.
    Duration(i64),
    Null,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    Const(Const),
    Local(Slot),
    /// An input of the workflow, by layout index.
    Input(u32),
    /// A fact of the workflow, by layout index.
    Fact(u32),
    /// A field of a record (never null here: the checker proved it).
    Field {
        base: Box<Expr>,
        index: u32,
    },
    /// `value?.…`: null when `value` is null; otherwise `value` is stored in `slot`
    /// and `then` is the result.
    IfNotNull {
        value: Box<Expr>,
        slot: Slot,
        then: Box<Expr>,
    },
    /// `value ?: otherwise`
    Elvis {
        value: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Unary {
        op: UnOp,
        operand: Box<Expr>,
        span: Span,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        span: Span,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    /// `Int` widened to `Float` (arithmetic, comparison, `min`/`max`).
    IntToFloat(Box<Expr>),
    /// `a..b` (inclusive) or `a..<b`.
    Range {
        from: Box<Expr>,
        to: Box<Expr>,
        inclusive: bool,
        span: Span,
    },
    /// `"text ${e} …"` and `String + value`: each part formatted as documented.
    Format(Vec<Expr>),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    /// Fields in layout order; `None` takes the layout's default (or null).
    Record {
        record: RecordId,
        fields: Vec<Option<Expr>>,
    },
    EnumValue {
        enum_id: EnumId,
        variant: u32,
    },
    /// `list[i]`
    Index {
        list: Box<Expr>,
        index: Box<Expr>,
        span: Span,
    },
    /// `map[k]`: null when absent.
    MapGet {
        map: Box<Expr>,
        key: Box<Expr>,
    },
    /// A built-in of `std.core`, by its name in the built-ins table.
    Builtin {
        receiver: Receiver,
        name: String,
        args: Vec<Expr>,
        span: Span,
    },
    /// `E.valueOf(s)`
    EnumValueOf {
        enum_id: EnumId,
        name: Box<Expr>,
    },
    /// A closure method, inlined as a loop: `params` are bound for each element (or key
    /// and value) and `body` runs in place.
    Loop {
        kind: LoopKind,
        source: Box<Expr>,
        params: Vec<Slot>,
        body: Box<Block>,
        span: Span,
    },
    /// A helper call; `None` arguments take the parameter's default.
    CallHelper {
        helper: HelperId,
        args: Vec<Option<Expr>>,
        span: Span,
    },
    /// A pending call of an external function, with its arguments in parameter order.
    Call {
        function: FunctionId,
        args: Vec<Expr>,
    },
    /// A pending call of a workflow as a child instance, with its inputs in layout
    /// order; `None` inputs take the input's default (null for an optional input).
    Child {
        workflow: WorkflowId,
        args: Vec<Option<Expr>>,
    },
    /// `sleep(d)`: a pending durable timer.
    Sleep(Box<Expr>),
    /// `settle(calls)`: the calls of a `List<Call<T>>` as one pending call whose
    /// result is a `List<Outcome<T>>` (the expression's type is
    /// `Call<List<Record(outcome)>>`).
    Settle(Box<Expr>),
    /// `now()`: the logical time of the step, given by the host.
    Now,
    /// `if`/`else` and `c ? a : b` as values.
    If {
        cond: Box<Expr>,
        then: Box<Block>,
        otherwise: Box<Block>,
    },
    /// Statements, then a value.
    Block(Box<Block>),
}

/// What a built-in is called on; mirrors the built-ins table's receivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Receiver {
    String,
    List,
    Map,
    Int,
    Float,
    Enum,
    Global,
    Duration,
    Time,
}

/// The closure methods, each a loop of its own shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoopKind {
    Any,
    Every,
    Find,
    FindAll,
    Collect,
    Count,
    Sum,
    SortBy,
    Each,
    EachWithIndex,
    MapEach,
    MapAny,
    MapFindAll,
    MapCollect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnOp {
    Not,
    NegInt,
    NegFloat,
    NegDuration,
}

/// Binary operations, typed: the checker decided which one each `+` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinOp {
    IntAdd,
    IntSub,
    IntMul,
    IntDiv,
    IntRem,
    FloatAdd,
    FloatSub,
    FloatMul,
    FloatDiv,
    FloatRem,
    DurationAdd,
    DurationSub,
    DurationMulInt,
    DurationDivInt,
    TimeAddDuration,
    TimeSubDuration,
    TimeSub,
    ListConcat,
    MapMerge,
    /// Structural equality.
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Program {
    pub fn workflow(&self, name: &str) -> Option<&WorkflowIr> {
        self.workflows.iter().find(|w| w.name == name)
    }

    pub fn schedule(&self, name: &str) -> Option<&ScheduleIr> {
        self.schedules.iter().find(|s| s.name == name)
    }

    pub fn workflow_by_id(&self, id: WorkflowId) -> Option<&WorkflowIr> {
        self.workflows.get(id.0 as usize)
    }

    pub fn record(&self, id: RecordId) -> Option<&RecordLayout> {
        self.records.get(id.0 as usize)
    }

    pub fn enum_layout(&self, id: EnumId) -> Option<&EnumLayout> {
        self.enums.get(id.0 as usize)
    }

    /// Every body of the program: helpers (`def`s) first, then, workflow by workflow,
    /// each rule's `match`, action, reaction and `error` block, the signal handlers,
    /// complete-when and output.
    pub fn bodies(&self) -> impl Iterator<Item = &Function> {
        let workflows = self.workflows.iter().flat_map(|w| {
            let rules = w.rules.iter().flat_map(|r| {
                [&r.matcher, &r.action, &r.reaction, &r.error]
                    .into_iter()
                    .flatten()
            });
            rules
                .chain(w.signals.iter().map(|s| &s.handler))
                .chain(w.complete_when.iter())
                .chain(w.output.iter())
        });
        self.helpers.iter().chain(workflows)
    }

    /// The IR of every body, for people (`cosmosc compile --emit ir`, golden tests).
    pub fn dump(&self) -> String {
        crate::dump::program(self)
    }
}

impl Expr {
    pub fn new(kind: ExprKind, ty: Ty) -> Self {
        Expr { kind, ty }
    }
}
