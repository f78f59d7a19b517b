//! The Emx abstract syntax tree: owned, with byte spans into the file's text.
//!
//! Every node derives `PartialEq`/`Eq`/`Hash` so that the semantic layer can compare
//! trees (salsa backdates a query whose result did not change).

use crate::Span;
use serde::{Deserialize, Serialize};

mod shift;
pub use shift::Shift;

/// A parsed source file: its top-level declarations in order, and every comment
/// (for the formatter, which must keep them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Module {
    pub items: Vec<Item>,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Comment {
    pub kind: CommentKind,
    /// The whole comment, delimiters included.
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CommentKind {
    /// `// …`
    Line,
    /// `/* … */`
    Block,
    /// `/** … */`, attached to the declaration that follows.
    Doc,
}

/// A name as written, with its span.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ident {
    pub text: String,
    pub span: Span,
}

/// A top-level declaration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Item {
    /// The text of an attached `/** … */`, without delimiters and leading `*`s.
    pub doc: Option<String>,
    pub kind: ItemKind,
    /// From the first keyword (not the doc comment) to the closing brace.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemKind {
    Import(Import),
    Type(TypeDecl),
    Enum(EnumDecl),
    Function(FunctionDecl),
    Def(DefDecl),
    Workflow(Workflow),
    Test(TestDecl),
    Schedule(ScheduleDecl),
}

/// `import a.b` or `import a.b { X, Y as Z }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Import {
    pub path: Vec<Ident>,
    /// `None` for a qualified import; `Some` (possibly empty) for a braced list.
    pub names: Option<Vec<ImportName>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportName {
    pub name: Ident,
    pub alias: Option<Ident>,
}

/// `type Name { field: T, other: U = default }`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TypeDecl {
    pub name: Ident,
    pub fields: Vec<Field>,
}

/// `enum Name { A, B }`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnumDecl {
    pub name: Ident,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Variant {
    pub doc: Option<String>,
    pub name: Ident,
}

/// A name with a type and an optional default: record fields, inputs, facts and
/// parameters of helpers, functions and signals.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Field {
    pub doc: Option<String>,
    pub name: Ident,
    pub ty: TypeRef,
    pub default: Option<Expr>,
    pub span: Span,
}

/// A written type: `Int`, `List<T>`, `types.Inspection`, `T?`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TypeRef {
    pub kind: TypeRefKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TypeRefKind {
    /// A possibly qualified name with type arguments.
    Named {
        path: Vec<Ident>,
        args: Vec<TypeRef>,
    },
    /// `T?`
    Optional(Box<TypeRef>),
}

/// `function name(params): R { settings }`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FunctionDecl {
    pub name: Ident,
    pub params: Vec<Field>,
    pub ret: TypeRef,
    pub settings: Vec<FunctionSetting>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FunctionSetting {
    pub kind: SettingKind,
    /// The keyword, for diagnostics about duplicates.
    pub keyword: Span,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SettingKind {
    Command,
    Pool,
    Timeout,
    Warm,
    Batch,
    Priority,
    /// `env ["AWS_PROFILE"]`: the variables of the node's environment the function's
    /// processes get, beyond the few every process gets.
    Env,
    /// `heartbeat D`: the longest a call may go without reporting progress.
    Heartbeat,
    /// `retry attempts: N, delay: D, …`: the value is a call of `retry` with the
    /// setting's named arguments (a Groovy command expression), its callee spanning
    /// the keyword.
    Retry,
}

impl SettingKind {
    /// The setting's keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            SettingKind::Command => "command",
            SettingKind::Pool => "pool",
            SettingKind::Timeout => "timeout",
            SettingKind::Warm => "warm",
            SettingKind::Batch => "batch",
            SettingKind::Priority => "priority",
            SettingKind::Heartbeat => "heartbeat",
            SettingKind::Retry => "retry",
            SettingKind::Env => "env",
        }
    }
}

/// `def name(params): R { body }`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DefDecl {
    pub name: Ident,
    pub params: Vec<Field>,
    pub ret: TypeRef,
    pub body: Block,
}

/// `workflow Name { members }`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Workflow {
    pub name: Ident,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    pub doc: Option<String>,
    pub kind: MemberKind,
    /// The keyword that opens the member.
    pub keyword: Span,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemberKind {
    Input(Vec<Field>),
    Facts(Vec<Field>),
    Rule(Rule),
    Signal(Signal),
    /// `complete when { condition }`
    CompleteWhen(Block),
    /// `output { expression }` or `output: T { expression }`
    Output(Output),
}

/// A workflow's `output`: its declared type (`Json` when there is none) and its body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Output {
    pub ty: Option<TypeRef>,
    pub body: Block,
}

/// `rule "name" { clauses }`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rule {
    /// The rule's name, unescaped; its span covers the quotes.
    pub name: Ident,
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Clause {
    pub kind: ClauseKind,
    pub keyword: Span,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClauseKind {
    Priority(Expr),
    Timeout(Expr),
    Match(Block),
    Action(Block),
    Reaction(Block),
    Error(Block),
}

/// `signal name(params) { statements }`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signal {
    pub name: Ident,
    pub params: Vec<Field>,
    pub body: Block,
}

/// `schedule "name" { cron "0 3 * * *"; overlap skip; start { W(…) } }` (LANGUAGE.md
/// 10.7): its clauses in source order, duplicates included (the checker reports them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScheduleDecl {
    /// The schedule's name, unescaped; its span covers the quotes.
    pub name: Ident,
    pub clauses: Vec<ScheduleClause>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScheduleClause {
    pub kind: ScheduleClauseKind,
    /// The keyword that opens the clause.
    pub keyword: Span,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScheduleClauseKind {
    /// `cron "0 3 * * *"`
    Cron(Expr),
    /// `every 6.h`
    Every(Expr),
    /// `overlap skip` or `overlap allow`, as written (the checker knows the words).
    Overlap(Ident),
    /// `start { Workflow(input: …) }`
    Start(Block),
}

impl ScheduleClauseKind {
    /// The clause's keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            ScheduleClauseKind::Cron(_) => "cron",
            ScheduleClauseKind::Every(_) => "every",
            ScheduleClauseKind::Overlap(_) => "overlap",
            ScheduleClauseKind::Start(_) => "start",
        }
    }
}

impl ScheduleDecl {
    /// The first `start` block, if any.
    pub fn start(&self) -> Option<&Block> {
        self.clauses.iter().find_map(|c| match &c.kind {
            ScheduleClauseKind::Start(b) => Some(b),
            _ => None,
        })
    }
}

/// `test "name" { test statements }`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TestDecl {
    pub name: Ident,
    pub body: Vec<TestStmt>,
    /// The braces and everything between them.
    pub body_span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TestStmt {
    pub kind: TestStmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TestStmtKind {
    /// `start Workflow(input: value, …)`
    Start {
        workflow: Vec<Ident>,
        args: Vec<Arg>,
    },
    /// `mock f(a, b) = expr` or `mock f fails "message"`
    Mock {
        function: Ident,
        params: Vec<Ident>,
        answer: MockAnswer,
    },
    /// `run`
    Run,
    /// `signal name(arg: value, …)`
    Signal { name: Ident, args: Vec<Arg> },
    /// `advance 10.s`
    Advance(Expr),
    /// `assert condition`
    Assert(Expr),
    /// Any ordinary statement, such as `def x = …`.
    Stmt(Stmt),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MockAnswer {
    Value(Expr),
    Fails(Expr),
}

/// A sequence of statements; where a value is expected, the last expression
/// statement is the block's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    /// False for the unbraced single-statement branch of `if (c) x else y`.
    pub braced: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StmtKind {
    /// `def x = e` or `def x: T = e`
    Let {
        name: Ident,
        ty: Option<TypeRef>,
        value: Expr,
    },
    /// `x = e`, `x += e`, `m[k] = v`, `list << v`, …
    Assign {
        target: Expr,
        op: AssignOp,
        op_span: Span,
        value: Expr,
    },
    /// `for (x in xs) { … }`
    For {
        var: Ident,
        iter: Expr,
        body: Block,
    },
    /// `return` or `return e`
    Return(Option<Expr>),
    Expr(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AssignOp {
    /// `=`
    Set,
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
    /// `<<` (append to a list)
    Append,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExprKind {
    Int(i64),
    Float(F64),
    Bool(bool),
    Null,
    Str(StrLit),
    Duration {
        amount: Number,
        unit: DurationUnit,
    },
    /// `[a, b]`, `[]`
    List(Vec<Expr>),
    /// `[k: v]`, `[:]`
    Map(Vec<MapEntry>),
    Name(Ident),
    /// `a.b` or, with `safe`, `a?.b`
    Field {
        receiver: Box<Expr>,
        name: Ident,
        safe: bool,
    },
    /// `f(a, b: c) { closure }`, `x.m(…)`, `xs.any { … }`
    Call {
        callee: Box<Expr>,
        args: Vec<Arg>,
        closure: Option<Closure>,
    },
    /// `a[i]`
    Index {
        receiver: Box<Expr>,
        index: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    /// `a + b - c`, `a && b && c`: one or more operators of one precedence level
    /// applied left to right, `((a + b) - c)`. A chain is flat (one node however
    /// long), so no walk over it recurses with its length. `?:` groups to the
    /// right, so an Elvis chain has one link and its right operand is the rest.
    Chain {
        first: Box<Expr>,
        links: Vec<Link>,
    },
    /// `c ? a : b`
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `if (c) … else if (d) … else …`, a statement or (with `else`) an
    /// expression. The `else if` links are flat: `branches` holds the first
    /// condition and branch, then one entry per `else if`, in order.
    If {
        branches: Vec<IfBranch>,
        otherwise: Option<Block>,
    },
    /// `( e )`, kept so that the formatter preserves the author's parentheses.
    Paren(Box<Expr>),
}

/// One link of a [`ExprKind::Chain`]: the operator and its right operand.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link {
    pub op: BinaryOp,
    pub rhs: Expr,
}

/// The span of a chain's prefix up to and including link `i`: the span of the
/// value `first op₀ rhs₀ … opᵢ rhsᵢ`, by which the checker records its type.
pub fn chain_prefix_span(first: &Expr, links: &[Link], i: usize) -> Span {
    match links.get(i) {
        Some(link) => first.span.to(link.rhs.span),
        None => first.span,
    }
}

/// `if (cond) then` or, after the first, `else if (cond) then`; `span` runs from
/// the `if` to the end of `then`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IfBranch {
    pub cond: Expr,
    pub then: Block,
    pub span: Span,
}

/// A string literal: text pieces and interpolated expressions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StrLit {
    pub parts: Vec<StrPart>,
    pub quote: QuoteKind,
}

impl StrLit {
    /// The literal's text when it has no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text(piece) => text.push_str(piece),
                StrPart::Expr(_) => return None,
            }
        }
        Some(text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StrPart {
    /// Text with escapes already resolved.
    Text(String),
    /// `${expr}` or `$name`.
    Expr(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QuoteKind {
    /// `"…"`
    Double,
    /// `'…'`
    Single,
    /// `"""…"""`
    TripleDouble,
    /// `'''…'''`
    TripleSingle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Number {
    Int(i64),
    Float(F64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DurationUnit {
    Ms,
    S,
    Min,
    H,
    D,
}

impl DurationUnit {
    pub fn millis(self) -> i64 {
        match self {
            DurationUnit::Ms => 1,
            DurationUnit::S => 1_000,
            DurationUnit::Min => 60_000,
            DurationUnit::H => 3_600_000,
            DurationUnit::D => 86_400_000,
        }
    }

    pub fn suffix(self) -> &'static str {
        match self {
            DurationUnit::Ms => "ms",
            DurationUnit::S => "s",
            DurationUnit::Min => "min",
            DurationUnit::H => "h",
            DurationUnit::D => "d",
        }
    }
}

/// An `f64` compared and hashed by its bits, so that trees can be `Eq`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct F64(pub f64);

impl PartialEq for F64 {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for F64 {}

impl std::hash::Hash for F64 {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MapEntry {
    pub key: MapKey,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MapKey {
    /// A bare identifier: a string key, as in Groovy.
    Name(Ident),
    /// A literal or a parenthesised expression.
    Expr(Expr),
}

/// A call argument, positional or named.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

/// `{ x -> … }`, `{ k, v -> … }` or `{ … it … }`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Closure {
    /// Empty when the closure uses the implicit `it`.
    pub params: Vec<Ident>,
    pub body: Block,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    Elvis,
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Range,
    RangeExclusive,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Elvis => "?:",
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::Range => "..",
            BinaryOp::RangeExclusive => "..<",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }
}
