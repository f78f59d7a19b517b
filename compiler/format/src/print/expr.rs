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
            ExprKind::Chain { first, links } => self.chain(first, links),
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
                branches,
                otherwise,
            } => self.if_chain(branches, otherwise.as_ref()),
            ExprKind::Paren(inner) => concat(vec![text("("), self.expr(inner), text(")")]),
        }
    }

    /// `if (c) a else if (d) b else e`. Each `else if` is a group nested in the
    /// one before, as if it were the `else` branch's `if`; past
    /// [`NESTED_ELSE_IFS`] links the rest of a chain is one group, so that the
    /// document stays shallow however long the chain.
    fn if_chain(&mut self, branches: &[IfBranch], otherwise: Option<&Block>) -> Doc {
        // Each entry: the head `if (c) block` and whether its block was braced.
        let mut heads = Vec::with_capacity(branches.len());
        for branch in branches {
            let head = concat(vec![
                text("if ("),
                self.expr(&branch.cond),
                text(") "),
                self.block(&branch.then, false),
            ]);
            heads.push((head, branch.then.braced));
        }
        let tail = otherwise.map(|block| self.block(block, false));
        let else_sep = |braced: bool| {
            // An unbraced branch ends at its line; `else` may start the next.
            concat(vec![
                if braced { text(" ") } else { Doc::Line },
                text("else "),
            ])
        };
        // The flat part: links from NESTED_ELSE_IFS on, in one group.
        let split = heads.len().min(NESTED_ELSE_IFS);
        let flat_heads = heads.split_off(split);
        let mut rest: Option<Doc> = None;
        if !flat_heads.is_empty() {
            let mut parts = Vec::new();
            let mut braced = true;
            for (index, (head, head_braced)) in flat_heads.into_iter().enumerate() {
                if index > 0 {
                    parts.push(else_sep(braced));
                }
                parts.push(head);
                braced = head_braced;
            }
            if let Some(tail) = tail {
                parts.push(else_sep(braced));
                parts.push(tail);
            }
            rest = Some(group(concat(parts)));
        } else if let Some(tail) = tail {
            rest = Some(tail);
        }
        for (head, braced) in heads.into_iter().rev() {
            let mut parts = vec![head];
            if let Some(r) = rest.take() {
                parts.push(else_sep(braced));
                parts.push(r);
            }
            rest = Some(group(concat(parts)));
        }
        rest.unwrap_or_else(|| text(""))
    }

    /// An operator chain: `a && b && c` breaks after each operator when too long;
    /// ranges are tight; every other operator has a space on each side. A prefix
    /// an earlier pass found a misplaced comment in is printed as written.
    fn chain(&mut self, first: &Expr, links: &[Link]) -> Doc {
        let mut start = 0;
        let mut head = None;
        for index in (0..links.len().saturating_sub(1)).rev() {
            if let Some(doc) = self.as_written(chain_prefix_span(first, links, index)) {
                head = Some(doc);
                start = index + 1;
                break;
            }
        }
        let head = match head {
            Some(doc) => doc,
            None => self.expr(first),
        };
        let links = links.get(start..).unwrap_or(&[]);
        if links
            .first()
            .is_some_and(|l| matches!(l.op, BinaryOp::Range | BinaryOp::RangeExclusive))
        {
            let mut parts = vec![head];
            for link in links {
                parts.push(text(link.op.symbol()));
                parts.push(self.expr(&link.rhs));
            }
            return concat(parts);
        }
        let mut rest = Vec::new();
        for link in links {
            rest.push(text(format!(" {}", link.op.symbol())));
            rest.push(Doc::Line);
            rest.push(self.expr(&link.rhs));
        }
        group(concat(vec![head, indent(concat(rest))]))
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

/// `else if` links printed as nested groups; the rest of a longer chain is one.
const NESTED_ELSE_IFS: usize = 16;
