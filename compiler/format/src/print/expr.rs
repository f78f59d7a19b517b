//! The layout of statements, blocks and expressions.

use cosmos_syntax::ast::*;

use super::{Blank, Elem, Printer, Style};
use crate::doc::{Doc, concat, group, indent, text};

impl Printer<'_> {
    /// A braced block, or the single statement of an unbraced `if` branch. With
    /// `force`, the statements never share the braces' line.
    pub(crate) fn block(&mut self, block: &Block, force: bool) -> Doc {
        if !block.braced {
            let stmts: Vec<Doc> = block.stmts.iter().map(|s| self.stmt(s)).collect();
            return concat(stmts);
        }
        let inner = (block.span.start + 1, block.span.end.saturating_sub(1));
        let stmts = self.stmt_elems(&block.stmts);
        self.seq("{", "}", inner, Style::lines(force), stmts)
    }

    fn stmt_elems(&mut self, stmts: &[Stmt]) -> Vec<Elem> {
        stmts
            .iter()
            .map(|s| {
                let doc = self.stmt(s);
                Elem::new(s.span, doc, Blank::Keep)
            })
            .collect()
    }

    pub(crate) fn stmt(&mut self, stmt: &Stmt) -> Doc {
        if let Some(doc) = self.as_written(stmt.span) {
            return doc;
        }
        match &stmt.kind {
            StmtKind::Let { name, ty, value } => {
                let mut parts = vec![text(format!("def {}", name.text))];
                if let Some(ty) = ty {
                    parts.push(text(": "));
                    parts.push(self.type_ref(ty));
                }
                parts.push(text(" = "));
                parts.push(self.expr(value));
                concat(parts)
            }
            StmtKind::Assign {
                target, op, value, ..
            } => {
                let op = match op {
                    AssignOp::Set => "=",
                    AssignOp::Add => "+=",
                    AssignOp::Sub => "-=",
                    AssignOp::Mul => "*=",
                    AssignOp::Div => "/=",
                    AssignOp::Append => "<<",
                };
                concat(vec![
                    self.expr(target),
                    text(format!(" {op} ")),
                    self.expr(value),
                ])
            }
            StmtKind::For { var, iter, body } => concat(vec![
                text(format!("for ({} in ", var.text)),
                self.expr(iter),
                text(") "),
                self.block(body, true),
            ]),
            StmtKind::Return(None) => text("return"),
            StmtKind::Return(Some(value)) => concat(vec![text("return "), self.expr(value)]),
            StmtKind::Expr(e) => self.expr(e),
        }
    }

    pub(crate) fn expr(&mut self, expr: &Expr) -> Doc {
        if let Some(doc) = self.as_written(expr.span) {
            return doc;
        }
        let close = expr.span.end.saturating_sub(1);
        match &expr.kind {
            // Literals print as written: escapes, quotes, `1_000` and `0x1F` stay.
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::Null
            | ExprKind::Str(_)
            | ExprKind::Duration { .. } => self.slice(expr.span),
            ExprKind::Name(name) => text(name.text.clone()),
            ExprKind::List(items) => {
                let elems = items
                    .iter()
                    .map(|item| {
                        let doc = self.expr(item);
                        Elem::new(item.span, doc, Blank::Never)
                    })
                    .collect();
                self.seq(
                    "[",
                    "]",
                    (expr.span.start + 1, close),
                    Style::commas(),
                    elems,
                )
            }
            ExprKind::Map(entries) if entries.is_empty() => text("[:]"),
            ExprKind::Map(entries) => {
                let elems = entries
                    .iter()
                    .map(|entry| {
                        let (key, key_span) = match &entry.key {
                            MapKey::Name(name) => (text(name.text.clone()), name.span),
                            MapKey::Expr(key) => (self.expr(key), key.span),
                        };
                        let doc = concat(vec![key, text(": "), self.expr(&entry.value)]);
                        Elem::new(key_span.to(entry.value.span), doc, Blank::Never)
                    })
                    .collect();
                self.seq(
                    "[",
                    "]",
                    (expr.span.start + 1, close),
                    Style::commas(),
                    elems,
                )
            }
            ExprKind::Field {
                receiver,
                name,
                safe,
            } => concat(vec![
                self.expr(receiver),
                text(if *safe { "?." } else { "." }),
                text(name.text.clone()),
            ]),
            ExprKind::Call {
                callee,
                args,
                closure,
            } => {
                let mut parts = vec![self.expr(callee)];
                // `f() { … }` and `f { … }` parse alike, so the parentheses go, except
                // where the closure would then attach to an inner call.
                let callee_is_call = matches!(callee.kind, ExprKind::Call { closure: None, .. });
                if !args.is_empty() || closure.is_none() || callee_is_call {
                    let end = match closure {
                        Some(c) => c.span.start,
                        None => expr.span.end,
                    };
                    parts.push(self.args(callee.span.end, args, end));
                }
                if let Some(closure) = closure {
                    parts.push(text(" "));
                    parts.push(self.closure(closure));
                }
                concat(parts)
            }
            ExprKind::Index { receiver, index } => concat(vec![
                self.expr(receiver),
                text("["),
                self.expr(index),
                text("]"),
            ]),
            ExprKind::Unary { op, operand } => concat(vec![
                text(match op {
                    UnaryOp::Not => "!",
                    UnaryOp::Neg => "-",
                }),
                self.expr(operand),
            ]),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs),
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => concat(vec![
                self.expr(cond),
                text(" ? "),
                self.expr(then),
                text(" : "),
                self.expr(otherwise),
            ]),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                let mut parts = vec![
                    text("if ("),
                    self.expr(cond),
                    text(") "),
                    self.block(then, false),
                ];
                if let Some(otherwise) = otherwise {
                    // An unbraced branch ends at its line; `else` may start the next.
                    parts.push(if then.braced { text(" ") } else { Doc::Line });
                    parts.push(text("else "));
                    parts.push(match otherwise.as_ref() {
                        Else::Block(block) => self.block(block, false),
                        Else::If(chained) => self.expr(chained),
                    });
                }
                group(concat(parts))
            }
            ExprKind::Paren(inner) => concat(vec![text("("), self.expr(inner), text(")")]),
        }
    }

    /// `a && b && c` breaks after each operator when too long (the outermost
    /// operator first); ranges are tight; every other operator has a space on
    /// each side.
    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr) -> Doc {
        if matches!(op, BinaryOp::Range | BinaryOp::RangeExclusive) {
            return concat(vec![self.expr(lhs), text(op.symbol()), self.expr(rhs)]);
        }
        // Left-nested chains of one precedence: (a + b) - c.
        let mut operands = vec![(op, rhs)];
        let mut first = lhs;
        while let ExprKind::Binary {
            op: inner,
            lhs: l,
            rhs: r,
        } = &first.kind
        {
            if precedence(*inner) != precedence(op)
                || op == BinaryOp::Elvis
                || self.verbatim_contains(first)
            {
                break;
            }
            operands.push((*inner, r));
            first = l;
        }
        operands.reverse();
        let head = self.expr(first);
        let mut rest = Vec::new();
        for (op, operand) in operands {
            rest.push(text(format!(" {}", op.symbol())));
            rest.push(Doc::Line);
            rest.push(self.expr(operand));
        }
        group(concat(vec![head, indent(concat(rest))]))
    }

    fn verbatim_contains(&self, expr: &Expr) -> bool {
        self.verbatim.contains(&(expr.span.start, expr.span.end))
    }

    /// `(a, b: c)`, whose `(` is the next token after `pos` and whose `)` is
    /// before `end`.
    pub(crate) fn args(&mut self, pos: u32, args: &[Arg], end: u32) -> Doc {
        let Some(open) = self.after(pos, "(") else {
            return text("()");
        };
        let last = args.last().map_or(open, |a| a.value.span.end);
        let close = self.next_token(last, b",").min(end);
        let elems = args
            .iter()
            .map(|arg| {
                let value = self.expr(&arg.value);
                match &arg.name {
                    Some(name) => Elem::new(
                        name.span.to(arg.value.span),
                        concat(vec![text(format!("{}: ", name.text)), value]),
                        Blank::Never,
                    ),
                    None => Elem::new(arg.value.span, value, Blank::Never),
                }
            })
            .collect();
        self.seq("(", ")", (open, close), Style::commas(), elems)
    }

    /// `{ it > 2 }`, `{ x -> x * 2 }`, `{ k, v -> … }`.
    fn closure(&mut self, closure: &Closure) -> Doc {
        let close = closure.span.end.saturating_sub(1);
        let mut open = "{".to_string();
        let mut start = closure.span.start + 1;
        if let Some(last) = closure.params.last() {
            let names: Vec<&str> = closure.params.iter().map(|p| p.text.as_str()).collect();
            open = format!("{{ {} ->", names.join(", "));
            start = self.after(last.span.end, "->").unwrap_or(last.span.end);
        }
        let stmts = self.stmt_elems(&closure.body.stmts);
        if stmts.is_empty() && !closure.params.is_empty() {
            let doc = self.seq(&open, "}", (start, close), Style::lines(false), stmts);
            return match doc {
                Doc::Text(s) => text(s.replace("->}", "-> }")),
                doc => doc,
            };
        }
        self.seq(&open, "}", (start, close), Style::lines(false), stmts)
    }
}

/// Operators of one level chain and break together.
fn precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Elvis => 1,
        BinaryOp::Or => 2,
        BinaryOp::And => 3,
        BinaryOp::Eq | BinaryOp::Ne => 4,
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::In => 5,
        BinaryOp::Range | BinaryOp::RangeExclusive => 6,
        BinaryOp::Add | BinaryOp::Sub => 7,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 8,
    }
}
