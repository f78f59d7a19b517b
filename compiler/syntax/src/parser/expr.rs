//! Conversion of expressions, literals and strings. The grammar gives a binary
//! expression as a flat row of terms and operators; the precedence of LANGUAGE.md
//! section 6 is applied here with an operator stack, so no recursion grows with the
//! length of the row.

use super::SyntaxErrorKind;
use super::convert::{Cx, P, kids};
use super::grammar::Rule;
use crate::Span;
use crate::ast::*;

/// An operator waiting on the stack: a binary operator, or `? then :`.
enum Op {
    Binary(BinaryOp),
    Ternary(Expr),
}

impl Op {
    /// Binding strength, loosest first, as in LANGUAGE.md section 6.
    fn precedence(&self) -> u8 {
        match self {
            Op::Ternary(_) | Op::Binary(BinaryOp::Elvis) => 1,
            Op::Binary(op) => match op {
                BinaryOp::Elvis => 1,
                BinaryOp::Or => 2,
                BinaryOp::And => 3,
                BinaryOp::Eq | BinaryOp::Ne => 4,
                BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::In => 5,
                BinaryOp::Range | BinaryOp::RangeExclusive => 6,
                BinaryOp::Add | BinaryOp::Sub => 7,
                BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 8,
            },
        }
    }

    /// `?:` and `? :` group to the right: `a ?: b ?: c` is `a ?: (b ?: c)`.
    fn right_assoc(&self) -> bool {
        self.precedence() == 1
    }
}

fn binary_op(text: &str) -> BinaryOp {
    match text {
        "?:" => BinaryOp::Elvis,
        "||" => BinaryOp::Or,
        "&&" => BinaryOp::And,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        ">=" => BinaryOp::Ge,
        "in" => BinaryOp::In,
        ".." => BinaryOp::Range,
        "..<" => BinaryOp::RangeExclusive,
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        _ => BinaryOp::Rem,
    }
}

fn placeholder(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Null,
        span,
    }
}

fn reduce(operands: &mut Vec<Expr>, op: Op) {
    let (Some(rhs), Some(lhs)) = (operands.pop(), operands.pop()) else {
        return;
    };
    let span = lhs.span.to(rhs.span);
    let kind = match op {
        Op::Binary(op) => {
            // A left-associative operator extends a chain of its own level on its
            // left (`a + b` then `- c`); parentheses are a `Paren` node, so a chain
            // here was never written in brackets.
            let level = Op::Binary(op).precedence();
            match lhs.kind {
                ExprKind::Chain { first, mut links }
                    if level > 1
                        && links
                            .first()
                            .is_some_and(|l| Op::Binary(l.op).precedence() == level) =>
                {
                    links.push(Link { op, rhs });
                    ExprKind::Chain { first, links }
                }
                kind => ExprKind::Chain {
                    first: Box::new(Expr {
                        kind,
                        span: lhs.span,
                    }),
                    links: vec![Link { op, rhs }],
                },
            }
        }
        Op::Ternary(then) => ExprKind::Ternary {
            cond: Box::new(lhs),
            then: Box::new(then),
            otherwise: Box::new(rhs),
        },
    };
    operands.push(Expr { kind, span });
}

impl Cx<'_> {
    /// An `expr` or `pexpr` pair (or any pair holding one expression).
    pub(crate) fn expr(&mut self, pair: P<'_>) -> Expr {
        let span = self.span(&pair);
        self.nested(span, |cx| cx.binary(pair), || placeholder(span))
    }

    fn binary(&mut self, pair: P<'_>) -> Expr {
        let span = self.span(&pair);
        // `?:` and `? :` group to the right, so each one in a row nests the rest
        // of the row one level deeper: they count towards the nesting limit.
        let right_nested = pair
            .clone()
            .into_inner()
            .filter(|p| {
                p.as_rule() == Rule::ternary
                    || (matches!(p.as_rule(), Rule::bin_op | Rule::lead_op) && p.as_str() == "?:")
            })
            .count();
        let levels = u32::try_from(right_nested).unwrap_or(u32::MAX);
        self.nested_by(span, levels, |cx| cx.binary_row(pair), || placeholder(span))
    }

    fn binary_row(&mut self, pair: P<'_>) -> Expr {
        let span = self.span(&pair);
        let mut operands: Vec<Expr> = Vec::new();
        let mut ops: Vec<Op> = Vec::new();
        for part in pair.into_inner() {
            let op = match part.as_rule() {
                Rule::term => {
                    operands.push(self.term(part));
                    continue;
                }
                Rule::bin_op | Rule::lead_op => Op::Binary(binary_op(part.as_str())),
                Rule::ternary => {
                    let part_span = self.span(&part);
                    let then = match part.into_inner().next() {
                        Some(then) => self.expr(then),
                        None => placeholder(part_span),
                    };
                    Op::Ternary(then)
                }
                _ => continue,
            };
            while let Some(top) = ops.last() {
                let binds_tighter = top.precedence() > op.precedence()
                    || (top.precedence() == op.precedence() && !op.right_assoc());
                if !binds_tighter {
                    break;
                }
                if let Some(top) = ops.pop() {
                    reduce(&mut operands, top);
                }
            }
            ops.push(op);
        }
        while let Some(op) = ops.pop() {
            reduce(&mut operands, op);
        }
        operands.pop().unwrap_or_else(|| placeholder(span))
    }

    fn term(&mut self, pair: P<'_>) -> Expr {
        let span = self.span(&pair);
        // Each prefix operator and each postfix wraps the term once more.
        let wraps = pair.clone().into_inner().count().saturating_sub(1);
        let levels = u32::try_from(wraps).unwrap_or(u32::MAX);
        self.nested_by(span, levels, |cx| cx.term_parts(pair), || placeholder(span))
    }

    fn term_parts(&mut self, pair: P<'_>) -> Expr {
        let span = self.span(&pair);
        let mut prefixes: Vec<(UnaryOp, Span)> = Vec::new();
        let mut acc: Option<Expr> = None;
        let mut after_call = false;
        for part in pair.into_inner() {
            let part_span = self.span(&part);
            let rule = part.as_rule();
            if rule == Rule::prefix_op {
                let op = if part.as_str() == "!" {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                prefixes.push((op, part_span));
                continue;
            }
            let Some(receiver) = acc.take() else {
                acc = Some(self.primary(part));
                continue;
            };
            let whole = receiver.span.to(part_span);
            let kind = match rule {
                Rule::call_args => {
                    let args = self.args(part);
                    acc = Some(Expr {
                        kind: ExprKind::Call {
                            callee: Box::new(receiver),
                            args,
                            closure: None,
                        },
                        span: whole,
                    });
                    after_call = true;
                    continue;
                }
                Rule::closure => {
                    let closure = self.closure(part);
                    match receiver {
                        Expr {
                            kind:
                                ExprKind::Call {
                                    callee,
                                    args,
                                    closure: None,
                                },
                            ..
                        } if after_call => ExprKind::Call {
                            callee,
                            args,
                            closure: Some(closure),
                        },
                        receiver => ExprKind::Call {
                            callee: Box::new(receiver),
                            args: Vec::new(),
                            closure: Some(closure),
                        },
                    }
                }
                Rule::field_access | Rule::safe_access => {
                    let safe = rule == Rule::safe_access;
                    match part.into_inner().next() {
                        Some(name) => ExprKind::Field {
                            receiver: Box::new(receiver),
                            name: self.ident(&name),
                            safe,
                        },
                        None => receiver.kind,
                    }
                }
                Rule::index => match part.into_inner().next() {
                    Some(index) => ExprKind::Index {
                        receiver: Box::new(receiver),
                        index: Box::new(self.expr(index)),
                    },
                    None => receiver.kind,
                },
                _ => receiver.kind,
            };
            after_call = false;
            acc = Some(Expr { kind, span: whole });
        }
        let mut expr = acc.unwrap_or_else(|| placeholder(span));
        for (op, op_span) in prefixes.into_iter().rev() {
            expr = Expr {
                span: op_span.to(expr.span),
                kind: ExprKind::Unary {
                    op,
                    operand: Box::new(expr),
                },
            };
        }
        expr
    }

    fn primary(&mut self, pair: P<'_>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::name => match pair.into_inner().next() {
                Some(ident) => ExprKind::Name(self.ident(&ident)),
                None => ExprKind::Null,
            },
            Rule::bool => ExprKind::Bool(pair.as_str() == "true"),
            Rule::null => ExprKind::Null,
            Rule::int => match self.int(&pair) {
                Number::Int(value) => ExprKind::Int(value),
                Number::Float(value) => ExprKind::Float(value),
            },
            Rule::float => ExprKind::Float(self.float(&pair)),
            Rule::duration => {
                let mut amount = Number::Int(0);
                let mut unit = DurationUnit::S;
                for part in pair.into_inner() {
                    match part.as_rule() {
                        Rule::int_amount => amount = self.int(&part),
                        Rule::float_amount => amount = Number::Float(self.float(&part)),
                        _ => {
                            unit = match part.as_str() {
                                "ms" => DurationUnit::Ms,
                                "min" => DurationUnit::Min,
                                "h" => DurationUnit::H,
                                "d" => DurationUnit::D,
                                _ => DurationUnit::S,
                            }
                        }
                    }
                }
                ExprKind::Duration { amount, unit }
            }
            Rule::paren => match pair.into_inner().next() {
                Some(inner) => ExprKind::Paren(Box::new(self.expr(inner))),
                None => ExprKind::Null,
            },
            Rule::list => self.list_or_map(pair),
            Rule::empty_map => ExprKind::Map(Vec::new()),
            Rule::double | Rule::single | Rule::triple_double | Rule::triple_single => {
                ExprKind::Str(self.string(pair))
            }
            Rule::if_expr => return self.if_expr(pair),
            _ => ExprKind::Null,
        };
        Expr { kind, span }
    }

    fn if_expr(&mut self, pair: P<'_>) -> Expr {
        let span = self.span(&pair);
        self.nested(
            span,
            |cx| {
                let mut parts = kids(pair).peekable();
                let mut branches = Vec::new();
                let (Some(cond), Some(then)) = (parts.next(), parts.next()) else {
                    return placeholder(span);
                };
                let then = cx.branch(then);
                branches.push(IfBranch {
                    cond: cx.expr(cond),
                    span: span.to(then.span),
                    then,
                });
                while let Some(link) = parts.next_if(|p| p.as_rule() == Rule::else_if) {
                    let mut if_start = cx.span(&link).start;
                    let mut rest = Vec::new();
                    for part in link.into_inner() {
                        match part.as_rule() {
                            Rule::kw_if => if_start = cx.span(&part).start,
                            Rule::kw_else => {}
                            _ => rest.push(part),
                        }
                    }
                    let mut rest = rest.into_iter();
                    let (Some(cond), Some(then)) = (rest.next(), rest.next()) else {
                        continue;
                    };
                    let cond = cx.expr(cond);
                    let then = cx.branch(then);
                    branches.push(IfBranch {
                        cond,
                        span: Span::new(if_start, then.span.end),
                        then,
                    });
                }
                let otherwise = parts.next().map(|other| cx.branch(other));
                Expr {
                    kind: ExprKind::If {
                        branches,
                        otherwise,
                    },
                    span,
                }
            },
            || placeholder(span),
        )
    }

    /// A braced block, or the single statement of an unbraced `if` branch.
    fn branch(&mut self, pair: P<'_>) -> Block {
        if pair.as_rule() == Rule::block {
            return self.block(pair);
        }
        let span = self.span(&pair);
        Block {
            stmts: pair.into_inner().filter_map(|s| self.stmt(s)).collect(),
            braced: false,
            span,
        }
    }

    /// `[a, b]` or `[k: v, …]`: one rule in the grammar, told apart here.
    fn list_or_map(&mut self, pair: P<'_>) -> ExprKind {
        let span = self.span(&pair);
        let mut entries: Vec<(Expr, Option<Expr>)> = Vec::new();
        for entry in pair.into_inner() {
            let mut parts = entry.into_inner();
            if let Some(first) = parts.next() {
                let first = self.expr(first);
                let second = parts.next().map(|v| self.expr(v));
                entries.push((first, second));
            }
        }
        let keyed = entries.iter().filter(|(_, value)| value.is_some()).count();
        if keyed == 0 {
            return ExprKind::List(entries.into_iter().map(|(item, _)| item).collect());
        }
        if keyed < entries.len() {
            self.error(SyntaxErrorKind::MixedListAndMap, span);
        }
        ExprKind::Map(
            entries
                .into_iter()
                .filter_map(|(key, value)| {
                    let key = match key.kind {
                        ExprKind::Name(name) => MapKey::Name(name),
                        _ => MapKey::Expr(key),
                    };
                    Some(MapEntry { key, value: value? })
                })
                .collect(),
        )
    }

    pub(crate) fn args(&mut self, pair: P<'_>) -> Vec<Arg> {
        pair.into_inner()
            .filter_map(|arg| {
                let mut parts = arg.into_inner();
                let head = parts.next()?;
                if head.as_rule() == Rule::word {
                    let name = self.ident(&head);
                    return Some(Arg {
                        name: Some(name),
                        value: self.expr(parts.next()?),
                    });
                }
                let first = self.expr(head);
                let Some(value) = parts.next() else {
                    return Some(Arg {
                        name: None,
                        value: first,
                    });
                };
                let name = match first.kind {
                    ExprKind::Name(name) => Some(name),
                    _ => {
                        self.error(SyntaxErrorKind::InvalidArgumentName, first.span);
                        None
                    }
                };
                Some(Arg {
                    name,
                    value: self.expr(value),
                })
            })
            .collect()
    }

    fn closure(&mut self, pair: P<'_>) -> Closure {
        let span = self.span(&pair);
        let mut params = Vec::new();
        let mut stmts = Vec::new();
        for part in pair.into_inner() {
            if part.as_rule() == Rule::closure_params {
                params = part.into_inner().map(|p| self.ident(&p)).collect();
            } else if let Some(stmt) = self.stmt(part) {
                stmts.push(stmt);
            }
        }
        Closure {
            params,
            body: Block {
                stmts,
                braced: true,
                span,
            },
            span,
        }
    }

    // ------------------------------------------------------------ literals

    /// An integer literal; out of range is reported and read as 0.
    fn int(&mut self, pair: &P<'_>) -> Number {
        let digits: String = pair.as_str().chars().filter(|&c| c != '_').collect();
        let value = match digits.strip_prefix("0x") {
            Some(hex) => i64::from_str_radix(hex, 16),
            None => digits.parse::<i64>(),
        };
        match value {
            Ok(value) => Number::Int(value),
            Err(_) => {
                self.invalid(pair, "integer literal out of range".to_string());
                Number::Int(0)
            }
        }
    }

    fn float(&mut self, pair: &P<'_>) -> F64 {
        let digits: String = pair.as_str().chars().filter(|&c| c != '_').collect();
        match digits.parse::<f64>() {
            Ok(value) if value.is_finite() => F64(value),
            _ => {
                self.invalid(pair, "float literal out of range".to_string());
                F64(0.0)
            }
        }
    }

    fn invalid(&mut self, pair: &P<'_>, message: String) {
        let span = self.span(pair);
        self.error(SyntaxErrorKind::InvalidLiteral { message }, span);
    }

    /// A string literal of any quote kind, with escapes resolved and interpolated
    /// expressions converted (their spans are file offsets like any other).
    pub(crate) fn string(&mut self, pair: P<'_>) -> StrLit {
        let quote = match pair.as_rule() {
            Rule::single => QuoteKind::Single,
            Rule::triple_double => QuoteKind::TripleDouble,
            Rule::triple_single => QuoteKind::TripleSingle,
            _ => QuoteKind::Double,
        };
        let mut parts = Vec::new();
        let mut text = String::new();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::escape => self.escape(&part, &mut text),
                Rule::dollar => text.push('$'),
                Rule::interp | Rule::interp_name => {
                    if !text.is_empty() {
                        parts.push(StrPart::Text(std::mem::take(&mut text)));
                    }
                    let is_name = part.as_rule() == Rule::interp_name;
                    let Some(inner) = part.into_inner().next() else {
                        continue;
                    };
                    let expr = if is_name {
                        Expr {
                            span: self.span(&inner),
                            kind: ExprKind::Name(self.ident(&inner)),
                        }
                    } else {
                        self.expr(inner)
                    };
                    parts.push(StrPart::Expr(expr));
                }
                _ => text.push_str(part.as_str()),
            }
        }
        if !text.is_empty() {
            parts.push(StrPart::Text(text));
        }
        StrLit { parts, quote }
    }

    fn escape(&mut self, pair: &P<'_>, text: &mut String) {
        let raw = pair.as_str();
        let resolved = match raw.get(1..).unwrap_or("") {
            "n" => Some('\n'),
            "t" => Some('\t'),
            "r" => Some('\r'),
            "\\" => Some('\\'),
            "\"" => Some('"'),
            "'" => Some('\''),
            "$" => Some('$'),
            code if code.starts_with("u{") => code
                .get(2..code.len().saturating_sub(1))
                .filter(|hex| {
                    (1..=6).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
                })
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32),
            _ => None,
        };
        match resolved {
            Some(c) => text.push(c),
            None => {
                text.push_str(raw);
                self.invalid(pair, format!("unknown escape `{raw}`"));
            }
        }
    }
}
