//! Bodies: the pieces of code checked one by one (a rule's match, action, reaction and
//! error, a helper, a signal handler, `complete when`, `output`, a test). Each body's
//! syntax is cut out of its file with spans made relative to the body's start, so
//! that an edit elsewhere in the file leaves it equal and salsa reuses its check.

use crate::db::{Db, SourceFile, parse};
use cosmos_syntax::ast::{self, Block, ClauseKind, ItemKind, MemberKind, Shift, TestStmt};

/// Where a body sits in its file, by item, member and clause index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BodyPath {
    Def {
        item: u32,
    },
    Clause {
        item: u32,
        member: u32,
        clause: u32,
    },
    Signal {
        item: u32,
        member: u32,
    },
    CompleteWhen {
        item: u32,
        member: u32,
    },
    Output {
        item: u32,
        member: u32,
    },
    Test {
        item: u32,
    },
    /// A schedule's `start` block.
    ScheduleStart {
        item: u32,
    },
}

impl BodyPath {
    pub fn item(self) -> u32 {
        match self {
            BodyPath::Def { item }
            | BodyPath::Clause { item, .. }
            | BodyPath::Signal { item, .. }
            | BodyPath::CompleteWhen { item, .. }
            | BodyPath::Output { item, .. }
            | BodyPath::Test { item }
            | BodyPath::ScheduleStart { item } => item,
        }
    }
}

/// A body's syntax with spans relative to `base`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySyntax {
    Block(Block),
    Test(Vec<TestStmt>),
}

/// Every body of a file, in source order.
pub fn bodies(module: &ast::Module) -> Vec<BodyPath> {
    let mut out = Vec::new();
    for (i, item) in module.items.iter().enumerate() {
        let item_index = i as u32;
        match &item.kind {
            ItemKind::Def(_) => out.push(BodyPath::Def { item: item_index }),
            ItemKind::Test(_) => out.push(BodyPath::Test { item: item_index }),
            ItemKind::Schedule(s) if s.start().is_some() => {
                out.push(BodyPath::ScheduleStart { item: item_index })
            }
            ItemKind::Workflow(w) => {
                for (m, member) in w.members.iter().enumerate() {
                    let member_index = m as u32;
                    match &member.kind {
                        MemberKind::Rule(rule) => {
                            for (c, clause) in rule.clauses.iter().enumerate() {
                                if matches!(
                                    clause.kind,
                                    ClauseKind::Match(_)
                                        | ClauseKind::Action(_)
                                        | ClauseKind::Reaction(_)
                                        | ClauseKind::Error(_)
                                ) {
                                    out.push(BodyPath::Clause {
                                        item: item_index,
                                        member: member_index,
                                        clause: c as u32,
                                    });
                                }
                            }
                        }
                        MemberKind::Signal(_) => out.push(BodyPath::Signal {
                            item: item_index,
                            member: member_index,
                        }),
                        MemberKind::CompleteWhen(_) => out.push(BodyPath::CompleteWhen {
                            item: item_index,
                            member: member_index,
                        }),
                        MemberKind::Output(_) => out.push(BodyPath::Output {
                            item: item_index,
                            member: member_index,
                        }),
                        MemberKind::Input(_) | MemberKind::Facts(_) => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The body at `path` with absolute spans, and its start offset.
pub fn locate(module: &ast::Module, path: BodyPath) -> Option<(BodySyntax, u32)> {
    let item = module.items.get(path.item() as usize)?;
    let member = |m: u32| match &item.kind {
        ItemKind::Workflow(w) => w.members.get(m as usize),
        _ => None,
    };
    let block = |b: &Block| Some((BodySyntax::Block(b.clone()), b.span.start));
    match path {
        BodyPath::Def { .. } => match &item.kind {
            ItemKind::Def(d) => block(&d.body),
            _ => None,
        },
        BodyPath::Test { .. } => match &item.kind {
            ItemKind::Test(t) => Some((BodySyntax::Test(t.body.clone()), t.body_span.start)),
            _ => None,
        },
        BodyPath::ScheduleStart { .. } => match &item.kind {
            ItemKind::Schedule(s) => block(s.start()?),
            _ => None,
        },
        BodyPath::Clause {
            member: m, clause, ..
        } => match &member(m)?.kind {
            MemberKind::Rule(rule) => match &rule.clauses.get(clause as usize)?.kind {
                ClauseKind::Match(b)
                | ClauseKind::Action(b)
                | ClauseKind::Reaction(b)
                | ClauseKind::Error(b) => block(b),
                ClauseKind::Priority(_) | ClauseKind::Timeout(_) => None,
            },
            _ => None,
        },
        BodyPath::Signal { member: m, .. } => match &member(m)?.kind {
            MemberKind::Signal(s) => block(&s.body),
            _ => None,
        },
        BodyPath::CompleteWhen { member: m, .. } => match &member(m)?.kind {
            MemberKind::CompleteWhen(b) => block(b),
            _ => None,
        },
        BodyPath::Output { member: m, .. } => match &member(m)?.kind {
            MemberKind::Output(o) => block(&o.body),
            _ => None,
        },
    }
}

/// The body at `path` with spans relative to its start.
#[salsa::tracked(returns(ref))]
pub fn body_syntax(db: &dyn Db, file: SourceFile, path: BodyPath) -> Option<BodySyntax> {
    let (mut body, base) = locate(&parse(db, file).module, path)?;
    let delta = -i64::from(base);
    match &mut body {
        BodySyntax::Block(b) => b.shift(delta),
        BodySyntax::Test(stmts) => stmts.shift(delta),
    }
    Some(body)
}

/// Where the body at `path` starts in its file.
pub fn body_base(db: &dyn Db, file: SourceFile, path: BodyPath) -> u32 {
    body_span(&parse(db, file).module, path).map_or(0, |span| span.start)
}

/// The span of the body at `path` in its file.
pub fn body_extent(
    db: &dyn Db,
    file: SourceFile,
    path: BodyPath,
) -> Option<cosmos_diagnostics::Span> {
    body_span(&parse(db, file).module, path)
}

/// The span of the body at `path`, without copying it.
fn body_span(module: &ast::Module, path: BodyPath) -> Option<cosmos_diagnostics::Span> {
    let item = module.items.get(path.item() as usize)?;
    let member = |m: u32| match &item.kind {
        ItemKind::Workflow(w) => w.members.get(m as usize),
        _ => None,
    };
    Some(match path {
        BodyPath::Def { .. } => match &item.kind {
            ItemKind::Def(d) => d.body.span,
            _ => return None,
        },
        BodyPath::Test { .. } => match &item.kind {
            ItemKind::Test(t) => t.body_span,
            _ => return None,
        },
        BodyPath::ScheduleStart { .. } => match &item.kind {
            ItemKind::Schedule(s) => s.start()?.span,
            _ => return None,
        },
        BodyPath::Clause {
            member: m, clause, ..
        } => match &member(m)?.kind {
            MemberKind::Rule(rule) => match &rule.clauses.get(clause as usize)?.kind {
                ClauseKind::Match(b)
                | ClauseKind::Action(b)
                | ClauseKind::Reaction(b)
                | ClauseKind::Error(b) => b.span,
                ClauseKind::Priority(_) | ClauseKind::Timeout(_) => return None,
            },
            _ => return None,
        },
        BodyPath::Signal { member: m, .. } => match &member(m)?.kind {
            MemberKind::Signal(s) => s.body.span,
            _ => return None,
        },
        BodyPath::CompleteWhen { member: m, .. } | BodyPath::Output { member: m, .. } => {
            match &member(m)?.kind {
                MemberKind::CompleteWhen(b) => b.span,
                MemberKind::Output(o) => o.body.span,
                _ => return None,
            }
        }
    })
}
