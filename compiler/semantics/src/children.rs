//! Child workflows across the project: which workflows each workflow's actions call
//! (LANGUAGE.md 10.6), and the error for a workflow that calls itself, directly or
//! through others.

use crate::bodies::check_body;
use crate::body::{BodyPath, body_base};
use crate::db::{Db, SourceFile, module_file, parse};
use crate::types::DeclKey;
use cosmos_diagnostics::{Code, Diagnostic, Label, Span};
use cosmos_syntax::ast;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A call of a child workflow in an action: where it is (in its file) and what it
/// calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildCall {
    pub span: Span,
    pub workflow: DeclKey,
}

/// The child calls in the actions of workflow `w`, item `item` of `file`, in source
/// order.
fn child_calls(db: &dyn Db, file: SourceFile, item: u32, w: &ast::Workflow) -> Vec<ChildCall> {
    let mut out = Vec::new();
    for (m, member) in w.members.iter().enumerate() {
        let ast::MemberKind::Rule(rule) = &member.kind else {
            continue;
        };
        for (c, clause) in rule.clauses.iter().enumerate() {
            if !matches!(clause.kind, ast::ClauseKind::Action(_)) {
                continue;
            }
            let path = BodyPath::Clause {
                item,
                member: m as u32,
                clause: c as u32,
            };
            let check = check_body(db, file, path);
            if check.children.is_empty() {
                continue;
            }
            let base = body_base(db, file, path);
            out.extend(check.children.iter().map(|(span, key)| ChildCall {
                span: Span::new(span.start + base, span.end + base),
                workflow: key.clone(),
            }));
        }
    }
    out
}

/// The child calls of the workflow `key`, wherever it is declared.
fn calls_of(db: &dyn Db, key: &DeclKey) -> Vec<ChildCall> {
    let Some(file) = module_file(db, &key.module) else {
        return Vec::new();
    };
    let module = &parse(db, file).module;
    module
        .items
        .iter()
        .enumerate()
        .find_map(|(i, item)| match &item.kind {
            ast::ItemKind::Workflow(w) if w.name.text == key.name => {
                Some(child_calls(db, file, i as u32, w))
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// The shortest way from `start` back to itself through child calls, as the workflows
/// on it after `start` (ending with `start`), with the first call's span.
fn shortest_cycle(
    db: &dyn Db,
    start: &DeclKey,
    first: &[ChildCall],
) -> Option<(Span, Vec<DeclKey>)> {
    // Breadth first from each of the start's calls, so the cycle named is a shortest.
    let mut previous: BTreeMap<DeclKey, Option<DeclKey>> = BTreeMap::new();
    let mut queue = VecDeque::new();
    let mut via: BTreeMap<DeclKey, Span> = BTreeMap::new();
    for call in first {
        if call.workflow == *start {
            return Some((call.span, vec![start.clone()]));
        }
        if !previous.contains_key(&call.workflow) {
            previous.insert(call.workflow.clone(), None);
            via.insert(call.workflow.clone(), call.span);
            queue.push_back(call.workflow.clone());
        }
    }
    let mut seen: BTreeSet<DeclKey> = previous.keys().cloned().collect();
    while let Some(current) = queue.pop_front() {
        for call in calls_of(db, &current) {
            if call.workflow == *start {
                let mut path = vec![start.clone(), current.clone()];
                let mut at = current.clone();
                while let Some(Some(before)) = previous.get(&at) {
                    path.push(before.clone());
                    at = before.clone();
                }
                path.reverse();
                let span = via.get(&at).copied()?;
                return Some((span, path));
            }
            if seen.insert(call.workflow.clone()) {
                previous.insert(call.workflow.clone(), Some(current.clone()));
                queue.push_back(call.workflow.clone());
            }
        }
    }
    None
}

/// One diagnostic per cycle of child calls, reported in the file of the cycle's first
/// workflow (by module, then name) at its call that begins the cycle.
pub(crate) fn cycle_diagnostics(
    db: &dyn Db,
    file: SourceFile,
    module: &ast::Module,
) -> Vec<Diagnostic> {
    let own = file.module(db).clone();
    let mut out = Vec::new();
    for (i, item) in module.items.iter().enumerate() {
        let ast::ItemKind::Workflow(w) = &item.kind else {
            continue;
        };
        let calls = child_calls(db, file, i as u32, w);
        if calls.is_empty() {
            continue;
        }
        let key = DeclKey::new(own.clone(), w.name.text.clone());
        let Some((span, rest)) = shortest_cycle(db, &key, &calls) else {
            continue;
        };
        if rest.iter().any(|other| *other < key) {
            continue;
        }
        let names: Vec<&str> = std::iter::once(key.name.as_str())
            .chain(rest.iter().map(|k| k.name.as_str()))
            .collect();
        let cycle = names.join(" → ");
        let message = if rest.len() == 1 {
            format!("workflow `{}` calls itself as a child: {cycle}", key.name)
        } else {
            format!(
                "workflow `{}` calls itself as a child through other workflows: {cycle}",
                key.name
            )
        };
        out.push(
            Diagnostic::new(
                Code::WORKFLOW_CYCLE,
                message,
                Label::new(file.id(db), span, "the cycle starts with this call"),
            )
            .with_label(Label::new(file.id(db), w.name.span, "declared here"))
            .with_note("a workflow may not call itself, directly or through others: each call would start a child that starts another, forever; break the cycle by moving the repeated work into a rule of one workflow"),
        );
    }
    out
}
