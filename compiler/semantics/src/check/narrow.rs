//! Flow narrowing of optional paths (LANGUAGE.md section 3): which paths a condition
//! proves non-null when it is true, and when it is false.

use super::Checker;
use cosmos_syntax::ast::{BinaryOp, Expr, ExprKind, Link, UnaryOp};

/// A local, parameter, input or fact followed by field names: `a.b.c`.
pub type Path = Vec<String>;

/// The paths proven non-null on each outcome of a condition.
#[derive(Debug, Clone, Default)]
pub(crate) struct Narrowing {
    pub when_true: Vec<Path>,
    pub when_false: Vec<Path>,
}

impl Narrowing {
    fn swap(self) -> Narrowing {
        Narrowing {
            when_true: self.when_false,
            when_false: self.when_true,
        }
    }
}

fn intersect(a: &[Path], b: &[Path]) -> Vec<Path> {
    a.iter().filter(|p| b.contains(p)).cloned().collect()
}

fn union(a: Vec<Path>, b: Vec<Path>) -> Vec<Path> {
    let mut out = a;
    for p in b {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

impl Checker<'_> {
    /// The path an expression denotes, if it is one: a name that is a local, input or
    /// fact, followed by plain (not `?.`) field accesses.
    pub(crate) fn path_of(&self, expr: &Expr) -> Option<Path> {
        match &expr.kind {
            ExprKind::Paren(inner) => self.path_of(inner),
            ExprKind::Name(name) => {
                let known = self.locals.iter().any(|l| l.name == name.text)
                    || [&self.cx.workflow, &self.test.workflow]
                        .into_iter()
                        .flatten()
                        .any(|w| w.input(&name.text).is_some() || w.fact(&name.text).is_some());
                known.then(|| vec![name.text.clone()])
            }
            ExprKind::Field {
                receiver,
                name,
                safe: false,
            } => {
                let mut path = self.path_of(receiver)?;
                path.push(name.text.clone());
                Some(path)
            }
            _ => None,
        }
    }

    pub(crate) fn is_narrowed(&self, path: &Path) -> bool {
        self.narrowed.contains(path)
    }

    /// Adds paths to the current narrowing.
    pub(crate) fn assume(&mut self, paths: &[Path]) {
        for p in paths {
            if !self.narrowed.contains(p) {
                self.narrowed.push(p.clone());
            }
        }
    }

    /// Ends the narrowing of `path` and of every path it is a prefix of.
    pub(crate) fn forget(&mut self, path: &Path) {
        self.narrowed.retain(|p| !p.starts_with(path));
    }

    /// What a condition proves, computed syntactically (the condition is type-checked
    /// separately, with the narrowing of its left operands applied to the right ones).
    pub(crate) fn narrowing(&self, cond: &Expr) -> Narrowing {
        match &cond.kind {
            ExprKind::Paren(inner) => self.narrowing(inner),
            ExprKind::Unary {
                op: UnaryOp::Not,
                operand,
            } => self.narrowing(operand).swap(),
            // `a == null` and `a != null`: one link.
            ExprKind::Chain { first, links } if links.len() == 1 => {
                let Some(Link { op, rhs }) = links.first() else {
                    return Narrowing::default();
                };
                match op {
                    BinaryOp::Ne | BinaryOp::Eq => {
                        let path = match (&first.kind, &rhs.kind) {
                            (_, ExprKind::Null) => self.path_of(first),
                            (ExprKind::Null, _) => self.path_of(rhs),
                            _ => None,
                        };
                        let Some(path) = path else {
                            return Narrowing::default();
                        };
                        let narrowing = Narrowing {
                            when_true: vec![path],
                            when_false: Vec::new(),
                        };
                        if *op == BinaryOp::Ne {
                            narrowing
                        } else {
                            narrowing.swap()
                        }
                    }
                    BinaryOp::And | BinaryOp::Or => self.chain_narrowing(first, links),
                    _ => Narrowing::default(),
                }
            }
            ExprKind::Chain { first, links } => self.chain_narrowing(first, links),
            _ => Narrowing::default(),
        }
    }

    /// What an `&&` or `||` chain proves, folded left to right over its links.
    fn chain_narrowing(&self, first: &Expr, links: &[Link]) -> Narrowing {
        let mut acc = self.narrowing(first);
        for link in links {
            if !matches!(link.op, BinaryOp::And | BinaryOp::Or) {
                return Narrowing::default();
            }
            acc = acc.link(link.op, self.narrowing(&link.rhs));
        }
        acc
    }
}

impl Narrowing {
    /// What `self && r` (or, for any other `op`, `self || r`) proves, where `self`
    /// is what the left operand proves and `r` what the right one does.
    pub(crate) fn link(self, op: BinaryOp, r: Narrowing) -> Narrowing {
        if op == BinaryOp::And {
            Narrowing {
                when_true: union(self.when_true, r.when_true),
                when_false: intersect(&self.when_false, &r.when_false),
            }
        } else {
            Narrowing {
                when_true: intersect(&self.when_true, &r.when_true),
                when_false: union(self.when_false, r.when_false),
            }
        }
    }
}
