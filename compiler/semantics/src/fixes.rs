//! Fixes that need more than the place a diagnostic is found: the span that removes
//! one element of a list, the guard in a rule's `match` that makes its `action` safe,
//! the `?` on the type a `null` is given to. [`add_fixes`] runs over a file's
//! diagnostics once they are all collected, with the file's text and syntax, and
//! widens every removal that leaves only blanks on its lines to the whole lines.

use cosmos_diagnostics::{Code, Diagnostic, Edit, FileId, Span, Suggestion};
use cosmos_syntax::ast::{
    self, BinaryOp, ClauseKind, ExprKind, Field, ItemKind, MemberKind, Module, StmtKind,
    TypeRefKind,
};

/// The span that removes element `index` of a list written with separators (commas
/// or line breaks): up to the next element, or from the previous one when it is the
/// last, so that the separators left are the right ones.
pub(crate) fn remove_from_list(elements: &[Span], index: usize) -> Option<Span> {
    let this = *elements.get(index)?;
    if let Some(next) = elements.get(index + 1) {
        return Some(Span::new(this.start, next.start));
    }
    match index.checked_sub(1).and_then(|i| elements.get(i)) {
        Some(previous) => Some(Span::new(previous.end, this.end)),
        None => Some(this),
    }
}

/// `= 0`, `= ""`, `= []`… for a field of a built-in type with an obvious value.
pub(crate) fn initial_value(file: FileId, field: &Field) -> Option<Suggestion> {
    let TypeRefKind::Named { path, .. } = &field.ty.kind else {
        return None;
    };
    let [name] = path.as_slice() else {
        return None;
    };
    let value = match name.text.as_str() {
        "Int" => "0",
        "Float" => "0.0",
        "Bool" => "false",
        "String" => "\"\"",
        "List" => "[]",
        "Map" => "[:]",
        _ => return None,
    };
    let end = field.ty.span.end;
    Some(Suggestion::replace(
        format!("give it an initial value: `{value}`"),
        file,
        Span::new(end, end),
        format!(" = {value}"),
    ))
}

/// Adds the fixes that need the whole file, then widens removals to whole lines.
pub(crate) fn add_fixes(file: FileId, text: &str, module: &Module, diagnostics: &mut [Diagnostic]) {
    for d in diagnostics.iter_mut().filter(|d| d.primary.file == file) {
        let span = d.primary.span;
        if d.code == Code::NULLABLE_VALUE
            && let Some(path) = text.get(span.range()).filter(|p| is_path(p))
            && let Some(guard) = null_guard(module, file, span, path)
        {
            d.suggestions.push(guard);
        }
        if d.code == Code::NULL_NOT_ALLOWED
            && let Some(ty) = declared_type_of(module, span)
        {
            d.suggestions.push(Suggestion::replace(
                "make the type optional",
                file,
                Span::new(ty.end, ty.end),
                "?",
            ));
        }
    }
    for edit in diagnostics
        .iter_mut()
        .flat_map(|d| d.suggestions.iter_mut())
        .flat_map(|s| s.edits.iter_mut())
        .filter(|e| e.file == file && e.replacement.is_empty() && !e.span.is_empty())
    {
        edit.span = removal(text, edit.span);
    }
}

/// `a`, `a.b`, `a?.b`: what narrowing works on.
fn is_path(text: &str) -> bool {
    text.split("?.")
        .flat_map(|part| part.split('.'))
        .all(crate::ide::is_identifier)
}

/// A removal of `span`, widened to the lines it is on (line break included) when
/// nothing but blanks is left on them, else over the `;` that ended what it removes.
fn removal(text: &str, span: Span) -> Span {
    let widened = whole_lines(text, span);
    if widened != span {
        return widened;
    }
    let after = text.get(span.end as usize..).unwrap_or("");
    let spaces = after.len() - after.trim_start_matches([' ', '\t']).len();
    match after[spaces..].strip_prefix(';') {
        Some(rest) => {
            let more = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            let end = span.end as usize + spaces + 1 + more;
            Span::new(span.start, u32::try_from(end).unwrap_or(u32::MAX))
        }
        None => span,
    }
}

/// `span` widened to the lines it is on, line break included, when nothing but blanks
/// is left on them.
fn whole_lines(text: &str, span: Span) -> Span {
    let (start, end) = (span.start as usize, span.end as usize);
    let (Some(before), Some(after)) = (text.get(..start), text.get(end..)) else {
        return span;
    };
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = after.find('\n').map_or(text.len(), |i| end + i + 1);
    let blank = |s: &str| s.chars().all(|c| c == ' ' || c == '\t' || c == '\r');
    let rest = &text[end..line_end];
    if !blank(&before[line_start..]) || !blank(rest.strip_suffix('\n').unwrap_or(rest)) {
        return span;
    }
    let to = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Span::new(to(line_start), to(line_end))
}

/// `path != null && ` at the start of the `match` of the rule whose `action` holds
/// `at`, when `path` starts at one of the workflow's facts or inputs: the `match`
/// narrows the action (not the reaction or error block, which run later).
fn null_guard(module: &Module, file: FileId, at: Span, path: &str) -> Option<Suggestion> {
    let root = path.split(['.', '?']).next()?;
    let item = module.items.iter().find(|i| i.span.contains(at.start))?;
    let ItemKind::Workflow(w) = &item.kind else {
        return None;
    };
    let declared = w.members.iter().any(|m| match &m.kind {
        MemberKind::Facts(fs) | MemberKind::Input(fs) => fs.iter().any(|f| f.name.text == root),
        _ => false,
    });
    if !declared {
        return None;
    }
    let member = w.members.iter().find(|m| m.span.contains(at.start))?;
    let MemberKind::Rule(rule) = &member.kind else {
        return None;
    };
    let in_action = rule
        .clauses
        .iter()
        .any(|c| matches!(c.kind, ClauseKind::Action(_)) && c.span.contains(at.start));
    if !in_action {
        return None;
    }
    let matcher = rule.clauses.iter().find_map(|c| match &c.kind {
        ClauseKind::Match(b) => Some(b),
        _ => None,
    })?;
    let first = matcher.stmts.first()?;
    let start = Span::new(first.span.start, first.span.start);
    let guard = format!("{path} != null && ");
    // `a || b` keeps its meaning only in parentheses after the guard.
    let edits = match &first.kind {
        StmtKind::Expr(ast::Expr {
            kind: ExprKind::Chain { links, .. },
            ..
        }) if links.first().is_some_and(|l| l.op == BinaryOp::Or) => vec![
            Edit::new(file, start, format!("{guard}(")),
            Edit::new(file, Span::new(first.span.end, first.span.end), ")"),
        ],
        _ => vec![Edit::new(file, start, guard)],
    };
    Some(Suggestion::new(
        format!("add `{path} != null` to the rule's `match`"),
        edits,
    ))
}

/// The written type that a value at `value` is given to: the field (of a record, an
/// input, the facts) whose default it is, or the helper whose result it is.
fn declared_type_of(module: &Module, value: Span) -> Option<Span> {
    let field_of = |fields: &[Field]| {
        fields
            .iter()
            .find(|f| f.default.as_ref().is_some_and(|d| d.span == value))
            .map(|f| f.ty.span)
    };
    module.items.iter().find_map(|item| match &item.kind {
        ItemKind::Type(t) => field_of(&t.fields),
        ItemKind::Def(d) => {
            let last = d.body.stmts.last()?;
            let StmtKind::Expr(e) = &last.kind else {
                return None;
            };
            let inner = match &e.kind {
                ExprKind::Paren(inner) => inner.span,
                _ => e.span,
            };
            (inner == value || e.span == value).then_some(d.ret.span)
        }
        ItemKind::Workflow(w) => w.members.iter().find_map(|m| match &m.kind {
            MemberKind::Facts(fs) | MemberKind::Input(fs) => field_of(fs),
            _ => None,
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_from_a_list_keeps_the_right_separators() {
        // `a, b, c`
        let spans = [Span::new(0, 1), Span::new(3, 4), Span::new(6, 7)];
        assert_eq!(remove_from_list(&spans, 0), Some(Span::new(0, 3)));
        assert_eq!(remove_from_list(&spans, 2), Some(Span::new(4, 7)));
        assert_eq!(remove_from_list(&spans[..1], 0), Some(Span::new(0, 1)));
        assert_eq!(remove_from_list(&spans, 3), None);
    }

    #[test]
    fn removals_alone_on_their_lines_take_the_lines() {
        let text = "a {\n    def x = 1\r\n    y\n}";
        let def = Span::new(8, 17);
        assert_eq!(whole_lines(text, def), Span::new(4, 19));
        let y = Span::new(23, 24);
        assert_eq!(whole_lines(text, y), Span::new(19, 25));
        let part = Span::new(12, 13);
        assert_eq!(whole_lines(text, part), part);
        // The last line, without a line break after it.
        assert_eq!(whole_lines("a\nb", Span::new(2, 3)), Span::new(2, 3));
        assert_eq!(whole_lines("a", Span::new(5, 9)), Span::new(5, 9));
    }

    #[test]
    fn removals_take_the_semicolon_that_ended_them() {
        let text = "{ def x = 1; y }";
        assert_eq!(removal(text, Span::new(2, 11)), Span::new(2, 13));
        let text = "{ def x = 1 ;y }";
        assert_eq!(removal(text, Span::new(2, 11)), Span::new(2, 13));
        assert_eq!(removal("{ a b }", Span::new(2, 3)), Span::new(2, 3));
    }

    #[test]
    fn paths_are_names_and_dots() {
        assert!(is_path("probe"));
        assert!(is_path("probe.width"));
        assert!(is_path("probe?.width"));
        assert!(!is_path("probe.width + 1"));
        assert!(!is_path("f(x)"));
    }
}
