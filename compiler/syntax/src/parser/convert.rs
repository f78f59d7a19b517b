//! Conversion of pest pairs into the owned AST: declarations, workflow members,
//! tests, types and statements. Expressions are in `expr.rs`.
//!
//! The grammar fixes the shape of every pair, so the converter only reads it; where
//! a shape were ever different it leaves the node out rather than panic.

use std::collections::HashMap;

use pest::iterators::Pair;

use super::grammar::Rule;
use super::scan::offset;
use super::{SyntaxError, SyntaxErrorKind};
use crate::Span;
use crate::ast::*;

pub(crate) type P<'i> = Pair<'i, Rule>;

/// Nodes (expressions, blocks, types) nested deeper than this are not converted:
/// the one nesting limit of the language (docs/language.md). Each expression in
/// brackets, each block, each type argument, each unary operator, each postfix
/// (`.name`, `(…)`, `[…]`, a closure) and each `?:` or `? :` in a row opens a
/// level; the links of an operator chain and of an `else if` chain do not.
pub const MAX_DEPTH: u32 = 48;

/// The converter for one chunk of text that starts at `base` in the file.
pub(crate) struct Cx<'a> {
    base: u32,
    docs: &'a HashMap<u32, String>,
    /// Every comment of the file, in order, to trim them off the ends of spans.
    comments: &'a [Comment],
    errors: &'a mut Vec<SyntaxError>,
    depth: u32,
    too_deep_reported: bool,
}

fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_import
            | Rule::kw_type
            | Rule::kw_enum
            | Rule::kw_function
            | Rule::kw_def
            | Rule::kw_workflow
            | Rule::kw_test
            | Rule::kw_as
            | Rule::kw_input
            | Rule::kw_facts
            | Rule::kw_rule
            | Rule::kw_signal
            | Rule::kw_complete
            | Rule::kw_output
            | Rule::kw_if
            | Rule::kw_else
            | Rule::kw_for
            | Rule::kw_in
            | Rule::kw_return
            | Rule::kw_start
            | Rule::kw_mock
            | Rule::kw_fails
            | Rule::kw_run
            | Rule::kw_advance
            | Rule::kw_assert
            | Rule::kw_schedule
            | Rule::EOI
    )
}

/// A pair's children without keywords, which carry no information beyond their rule.
pub(crate) fn kids<'i>(pair: P<'i>) -> impl Iterator<Item = P<'i>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

impl<'a> Cx<'a> {
    pub(crate) fn new(
        base: u32,
        docs: &'a HashMap<u32, String>,
        comments: &'a [Comment],
        errors: &'a mut Vec<SyntaxError>,
    ) -> Self {
        Cx {
            base,
            docs,
            comments,
            errors,
            depth: 0,
            too_deep_reported: false,
        }
    }

    /// A pair's span in the file. pest keeps the whitespace and comments it skipped
    /// before an optional part that then did not match (`a ~ b?`), so they are
    /// trimmed off the end here.
    pub(crate) fn span(&self, pair: &P<'_>) -> Span {
        let span = pair.as_span();
        let start = self.base.saturating_add(offset(span.start()));
        let text = span.as_str();
        let mut len = text.len();
        // Most spans end on a token; only whitespace or a comment's last byte (a
        // `/`, or anything before a newline) can need trimming.
        let last = text.as_bytes().last().copied().unwrap_or(b' ');
        let next = span
            .get_input()
            .as_bytes()
            .get(span.end())
            .copied()
            .unwrap_or(b'\n');
        if !last.is_ascii_whitespace() && last != b'/' && next != b'\n' && next != b'\r' {
            return Span::new(start, start.saturating_add(offset(len)));
        }
        loop {
            let trimmed = text
                .get(..len)
                .unwrap_or("")
                .trim_end_matches([' ', '\t', '\r', '\n', '\u{feff}']);
            len = trimmed.len();
            let end = start.saturating_add(offset(len));
            // The comment the trimmed text ends in, if any: a line comment's span
            // runs to the end of its line, blanks after its text included.
            let before = self.comments.partition_point(|c| c.span.start < end);
            match before.checked_sub(1).and_then(|i| self.comments.get(i)) {
                Some(c) if len > 0 && c.span.end >= end && c.span.start >= start => {
                    len = (c.span.start - start) as usize;
                }
                _ => break,
            }
        }
        Span::new(start, start.saturating_add(offset(len)))
    }

    fn doc(&self, pair: &P<'_>) -> Option<String> {
        self.docs.get(&self.span(pair).start).cloned()
    }

    pub(crate) fn error(&mut self, kind: SyntaxErrorKind, span: Span) {
        self.errors.push(SyntaxError { kind, span });
    }

    pub(crate) fn ident(&self, pair: &P<'_>) -> Ident {
        Ident {
            text: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    /// Runs `f` one level deeper, or reports the nesting and returns `fallback`.
    pub(crate) fn nested<T>(
        &mut self,
        span: Span,
        f: impl FnOnce(&mut Self) -> T,
        fallback: impl FnOnce() -> T,
    ) -> T {
        self.nested_by(span, 1, f, fallback)
    }

    /// Runs `f` `levels` levels deeper, or reports the nesting and returns
    /// `fallback`.
    pub(crate) fn nested_by<T>(
        &mut self,
        span: Span,
        levels: u32,
        f: impl FnOnce(&mut Self) -> T,
        fallback: impl FnOnce() -> T,
    ) -> T {
        let depth = self.depth.saturating_add(levels);
        if depth > MAX_DEPTH {
            if !self.too_deep_reported {
                self.too_deep_reported = true;
                self.error(SyntaxErrorKind::TooDeeplyNested { limit: MAX_DEPTH }, span);
            }
            return fallback();
        }
        let saved = self.depth;
        self.depth = depth;
        let value = f(self);
        self.depth = saved;
        value
    }

    // ------------------------------------------------------------ declarations

    pub(crate) fn item(&mut self, pair: P<'_>) -> Option<Item> {
        let span = self.span(&pair);
        let doc = self.doc(&pair);
        let kind = match pair.as_rule() {
            Rule::import => ItemKind::Import(self.import(pair)),
            Rule::type_decl => {
                let mut kids = kids(pair);
                let name = self.ident(&kids.next()?);
                let fields = self.fields(kids.next()?);
                ItemKind::Type(TypeDecl { name, fields })
            }
            Rule::enum_decl => {
                let mut kids = kids(pair);
                let name = self.ident(&kids.next()?);
                let variants = kids
                    .filter_map(|v| {
                        let doc = self.doc(&v);
                        let name = self.ident(&v.into_inner().next()?);
                        Some(Variant { doc, name })
                    })
                    .collect();
                ItemKind::Enum(EnumDecl { name, variants })
            }
            Rule::function_decl => ItemKind::Function(self.function(pair)?),
            Rule::def_decl => {
                let mut kids = kids(pair);
                let name = self.ident(&kids.next()?);
                let params = self.fields(kids.next()?);
                let ret = self.type_ref(kids.next()?);
                let body = self.block(kids.next()?);
                ItemKind::Def(DefDecl {
                    name,
                    params,
                    ret,
                    body,
                })
            }
            Rule::workflow => {
                let mut kids = kids(pair);
                let name = self.ident(&kids.next()?);
                let members = kids.filter_map(|m| self.member(m)).collect();
                ItemKind::Workflow(Workflow { name, members })
            }
            Rule::test_decl => {
                let mut kids = kids(pair);
                let name = self.plain_name(kids.next()?);
                let body = kids.next()?;
                let body_span = self.span(&body);
                let body = body
                    .into_inner()
                    .filter_map(|s| self.test_stmt(s))
                    .collect();
                ItemKind::Test(TestDecl {
                    name,
                    body,
                    body_span,
                })
            }
            Rule::schedule_decl => {
                let mut kids = kids(pair);
                let name = self.plain_name(kids.next()?);
                let clauses = kids.filter_map(|c| self.schedule_clause(c)).collect();
                ItemKind::Schedule(ScheduleDecl { name, clauses })
            }
            _ => return None,
        };
        Some(Item { doc, kind, span })
    }

    fn import(&mut self, pair: P<'_>) -> Import {
        let mut import = Import {
            path: Vec::new(),
            names: None,
        };
        for kid in kids(pair) {
            match kid.as_rule() {
                Rule::qualified => import.path = self.qualified(kid),
                Rule::import_list => {
                    let names = kids(kid)
                        .filter_map(|name| {
                            let mut idents = kids(name);
                            let name = self.ident(&idents.next()?);
                            let alias = idents.next().map(|a| self.ident(&a));
                            Some(ImportName { name, alias })
                        })
                        .collect();
                    import.names = Some(names);
                }
                _ => {}
            }
        }
        import
    }

    pub(crate) fn qualified(&self, pair: P<'_>) -> Vec<Ident> {
        pair.into_inner().map(|p| self.ident(&p)).collect()
    }

    /// The fields of a `field_block` or the parameters of `params`.
    fn fields(&mut self, pair: P<'_>) -> Vec<Field> {
        pair.into_inner().filter_map(|f| self.field(f)).collect()
    }

    fn field(&mut self, pair: P<'_>) -> Option<Field> {
        let span = self.span(&pair);
        let doc = self.doc(&pair);
        let mut kids = pair.into_inner();
        let name = self.ident(&kids.next()?);
        let ty = self.type_ref(kids.next()?);
        let default = kids.next().map(|e| self.expr(e));
        Some(Field {
            doc,
            name,
            ty,
            default,
            span,
        })
    }

    pub(crate) fn type_ref(&mut self, pair: P<'_>) -> TypeRef {
        let span = self.span(&pair);
        let fallback = || TypeRef {
            kind: TypeRefKind::Named {
                path: Vec::new(),
                args: Vec::new(),
            },
            span,
        };
        self.nested(
            span,
            |cx| {
                let mut kids = pair.into_inner();
                let Some(named) = kids.next() else {
                    return fallback();
                };
                let named_span = cx.span(&named);
                let mut path = Vec::new();
                let mut args = Vec::new();
                for kid in named.into_inner() {
                    match kid.as_rule() {
                        Rule::qualified => path = cx.qualified(kid),
                        _ => args.push(cx.type_ref(kid)),
                    }
                }
                let named = TypeRef {
                    kind: TypeRefKind::Named { path, args },
                    span: named_span,
                };
                match kids.next() {
                    Some(_) => TypeRef {
                        kind: TypeRefKind::Optional(Box::new(named)),
                        span,
                    },
                    None => named,
                }
            },
            fallback,
        )
    }

    fn function(&mut self, pair: P<'_>) -> Option<FunctionDecl> {
        let mut kids = kids(pair);
        let name = self.ident(&kids.next()?);
        let params = self.fields(kids.next()?);
        let ret = self.type_ref(kids.next()?);
        let settings = kids
            .filter_map(|setting| {
                let span = self.span(&setting);
                let mut parts = setting.into_inner();
                let keyword = parts.next()?;
                let keyword_span = self.span(&keyword);
                if keyword.as_rule() == Rule::kw_retry {
                    let args = self.args(parts.next()?);
                    let callee = Expr {
                        kind: ExprKind::Name(Ident {
                            text: "retry".to_string(),
                            span: keyword_span,
                        }),
                        span: keyword_span,
                    };
                    let end = args.last().map_or(keyword_span, |a| a.value.span);
                    return Some(FunctionSetting {
                        kind: SettingKind::Retry,
                        keyword: keyword_span,
                        value: Expr {
                            kind: ExprKind::Call {
                                callee: Box::new(callee),
                                args,
                                closure: None,
                            },
                            span: keyword_span.to(end),
                        },
                        span,
                    });
                }
                let kind = match keyword.as_str() {
                    "command" => SettingKind::Command,
                    "pool" => SettingKind::Pool,
                    "timeout" => SettingKind::Timeout,
                    "warm" => SettingKind::Warm,
                    "batch" => SettingKind::Batch,
                    "env" => SettingKind::Env,
                    "heartbeat" => SettingKind::Heartbeat,
                    _ => SettingKind::Priority,
                };
                Some(FunctionSetting {
                    kind,
                    keyword: keyword_span,
                    value: self.expr(parts.next()?),
                    span,
                })
            })
            .collect();
        Some(FunctionDecl {
            name,
            params,
            ret,
            settings,
        })
    }

    // ------------------------------------------------------------ workflows

    pub(crate) fn member(&mut self, pair: P<'_>) -> Option<Member> {
        let span = self.span(&pair);
        let doc = self.doc(&pair);
        let rule = pair.as_rule();
        let mut parts = pair.into_inner();
        let keyword = parts.next()?;
        let keyword_span = self.span(&keyword);
        let kind = match rule {
            Rule::input_member => MemberKind::Input(self.fields(parts.next()?)),
            Rule::facts_member => MemberKind::Facts(self.fields(parts.next()?)),
            Rule::rule_member => {
                let name = self.plain_name(parts.next()?);
                let clauses = parts.filter_map(|c| self.clause(c)).collect();
                MemberKind::Rule(Rule_ { name, clauses })
            }
            Rule::signal_member => {
                let name = self.ident(&parts.next()?);
                let mut params = Vec::new();
                let mut body = None;
                for part in parts {
                    match part.as_rule() {
                        Rule::params => params = self.fields(part),
                        _ => body = Some(self.block(part)),
                    }
                }
                MemberKind::Signal(Signal {
                    name,
                    params,
                    body: body?,
                })
            }
            Rule::complete_member => MemberKind::CompleteWhen(self.block(parts.next()?)),
            Rule::output_member => {
                let mut ty = None;
                let mut body = None;
                for part in parts {
                    match part.as_rule() {
                        Rule::type_ref => ty = Some(self.type_ref(part)),
                        _ => body = Some(self.block(part)),
                    }
                }
                MemberKind::Output(Output { ty, body: body? })
            }
            _ => return None,
        };
        Some(Member {
            doc,
            kind,
            keyword: keyword_span,
            span,
        })
    }

    fn clause(&mut self, pair: P<'_>) -> Option<Clause> {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let keyword = parts.next()?;
        let value = parts.next()?;
        let kind = match keyword.as_str() {
            "priority" => ClauseKind::Priority(self.expr(value)),
            "timeout" => ClauseKind::Timeout(self.expr(value)),
            "match" => ClauseKind::Match(self.block(value)),
            "action" => ClauseKind::Action(self.block(value)),
            "reaction" => ClauseKind::Reaction(self.block(value)),
            _ => ClauseKind::Error(self.block(value)),
        };
        Some(Clause {
            kind,
            keyword: self.span(&keyword),
            span,
        })
    }

    fn schedule_clause(&mut self, pair: P<'_>) -> Option<ScheduleClause> {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let keyword = parts.next()?;
        let value = parts.next()?;
        let kind = match keyword.as_rule() {
            Rule::kw_overlap => ScheduleClauseKind::Overlap(self.ident(&value)),
            Rule::kw_start => ScheduleClauseKind::Start(self.block(value)),
            _ if keyword.as_str() == "cron" => ScheduleClauseKind::Cron(self.expr(value)),
            _ => ScheduleClauseKind::Every(self.expr(value)),
        };
        Some(ScheduleClause {
            kind,
            keyword: self.span(&keyword),
            span,
        })
    }

    /// A rule or test name: a string literal without interpolation, unescaped, with
    /// a span that covers the quotes.
    fn plain_name(&mut self, pair: P<'_>) -> Ident {
        let span = self.span(&pair);
        let raw = pair.as_str().to_string();
        let literal = self.string(pair);
        let text = match literal.as_plain() {
            Some(text) => text,
            None => {
                self.error(SyntaxErrorKind::InterpolatedName, span);
                raw
            }
        };
        Ident { text, span }
    }

    // ------------------------------------------------------------ tests

    fn test_stmt(&mut self, pair: P<'_>) -> Option<TestStmt> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::start_stmt => {
                let mut parts = kids(pair);
                let workflow = self.qualified(parts.next()?);
                let args = parts.next().map(|a| self.args(a)).unwrap_or_default();
                TestStmtKind::Start { workflow, args }
            }
            Rule::mock_stmt => {
                let mut function = None;
                let mut params = Vec::new();
                let mut fails = false;
                let mut answer = None;
                for part in pair.into_inner() {
                    match part.as_rule() {
                        Rule::ident => function = Some(self.ident(&part)),
                        Rule::kw_fails => fails = true,
                        Rule::mock_params => {
                            params = part.into_inner().map(|p| self.ident(&p)).collect();
                        }
                        Rule::expr => answer = Some(self.expr(part)),
                        _ => {}
                    }
                }
                let answer = answer?;
                TestStmtKind::Mock {
                    function: function?,
                    params,
                    answer: if fails {
                        MockAnswer::Fails(answer)
                    } else {
                        MockAnswer::Value(answer)
                    },
                }
            }
            Rule::run_stmt => TestStmtKind::Run,
            Rule::send_stmt => {
                let mut parts = kids(pair);
                let name = self.ident(&parts.next()?);
                let args = self.args(parts.next()?);
                TestStmtKind::Signal { name, args }
            }
            Rule::advance_stmt => TestStmtKind::Advance(self.expr(kids(pair).next()?)),
            Rule::assert_stmt => TestStmtKind::Assert(self.expr(kids(pair).next()?)),
            _ => TestStmtKind::Stmt(self.stmt(pair)?),
        };
        Some(TestStmt { kind, span })
    }

    // ------------------------------------------------------------ statements

    pub(crate) fn block(&mut self, pair: P<'_>) -> Block {
        let span = self.span(&pair);
        self.nested(
            span,
            |cx| Block {
                stmts: pair.into_inner().filter_map(|s| cx.stmt(s)).collect(),
                braced: true,
                span,
            },
            || Block {
                stmts: Vec::new(),
                braced: true,
                span,
            },
        )
    }

    pub(crate) fn stmt(&mut self, pair: P<'_>) -> Option<Stmt> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::let_stmt => {
                let mut name = None;
                let mut ty = None;
                let mut value = None;
                for part in kids(pair) {
                    match part.as_rule() {
                        Rule::ident => name = Some(self.ident(&part)),
                        Rule::type_ref => ty = Some(self.type_ref(part)),
                        _ => value = Some(self.expr(part)),
                    }
                }
                StmtKind::Let {
                    name: name?,
                    ty,
                    value: value?,
                }
            }
            Rule::for_stmt => {
                let mut parts = kids(pair);
                let var = self.ident(&parts.next()?);
                let iter = self.expr(parts.next()?);
                let body = self.block(parts.next()?);
                StmtKind::For { var, iter, body }
            }
            Rule::return_stmt => StmtKind::Return(kids(pair).next().map(|e| self.expr(e))),
            Rule::expr_stmt => {
                let mut parts = pair.into_inner();
                let target = self.expr(parts.next()?);
                match (parts.next(), parts.next()) {
                    (Some(op), Some(value)) => {
                        if !matches!(
                            target.kind,
                            ExprKind::Name(_) | ExprKind::Field { .. } | ExprKind::Index { .. }
                        ) {
                            self.error(SyntaxErrorKind::InvalidAssignmentTarget, target.span);
                        }
                        let op_span = self.span(&op);
                        let op = match op.as_str() {
                            "+=" => AssignOp::Add,
                            "-=" => AssignOp::Sub,
                            "*=" => AssignOp::Mul,
                            "/=" => AssignOp::Div,
                            "<<" => AssignOp::Append,
                            _ => AssignOp::Set,
                        };
                        StmtKind::Assign {
                            target,
                            op,
                            op_span,
                            value: self.expr(value),
                        }
                    }
                    _ => StmtKind::Expr(target),
                }
            }
            _ => return None,
        };
        Some(Stmt { kind, span })
    }
}

/// `crate::ast::Rule`, renamed here because pest's `Rule` enum has the same name.
type Rule_ = crate::ast::Rule;
