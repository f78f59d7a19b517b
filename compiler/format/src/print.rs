//! Turns a parsed module into a [`Doc`]: the canonical layout of declarations and
//! workflow members, and the placement of every comment. Expressions and
//! statements are in `print/expr.rs`.
//!
//! Comments are placed by position: a comment between two elements of a sequence
//! (statements, members, fields, arguments, list items) is printed before the
//! element that follows it, or at the end of the previous element's line when it
//! sat on that line. A comment anywhere else (inside an expression, between a
//! keyword and a name) makes the smallest node around it print as written.

mod expr;

use std::collections::HashSet;

use cosmos_syntax::Span;
use cosmos_syntax::ast::*;

use crate::doc::{Doc, concat, group, if_break, indent, nil, text};

/// Whether a blank line goes before an element of a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blank {
    /// Never: the elements are packed.
    Never,
    /// Where the author had one (at most one).
    Keep,
    /// Always one.
    Always,
}

/// One element of a sequence: its span in the source and its layout.
pub(crate) struct Elem {
    pub start: u32,
    pub end: u32,
    pub doc: Doc,
    pub blank: Blank,
}

impl Elem {
    pub(crate) fn new(span: Span, doc: Doc, blank: Blank) -> Self {
        Elem {
            start: span.start,
            end: span.end,
            doc,
            blank,
        }
    }
}

/// How a bracketed sequence is laid out.
pub(crate) struct Style {
    /// After every element but the last.
    pub comma: Doc,
    /// After the last element.
    pub last_comma: Doc,
    /// Between two elements.
    pub line: Doc,
    /// After the opening and before the closing bracket.
    pub edge: Doc,
    /// Always one element per line.
    pub force: bool,
}

impl Style {
    /// Statements: one per line, a single one may share the braces' line.
    pub(crate) fn lines(force: bool) -> Style {
        Style {
            comma: nil(),
            last_comma: nil(),
            line: Doc::HardLine,
            edge: Doc::Line,
            force,
        }
    }

    /// Lists, maps, arguments and parameters: `(a, b)` or one per line with a
    /// trailing comma.
    pub(crate) fn commas() -> Style {
        Style {
            comma: text(","),
            last_comma: if_break(text(","), nil()),
            line: Doc::Line,
            edge: Doc::SoftLine,
            force: false,
        }
    }

    /// Braced commas: `{ X, Y }` or one per line with a trailing comma.
    pub(crate) fn braced_commas() -> Style {
        Style {
            edge: Doc::Line,
            ..Style::commas()
        }
    }

    /// Fields and variants: `{ a: T, b: U }` or one per line without commas.
    pub(crate) fn fields(force: bool) -> Style {
        Style {
            comma: if_break(nil(), text(",")),
            last_comma: nil(),
            line: Doc::Line,
            edge: Doc::Line,
            force,
        }
    }
}

pub(crate) struct Printer<'a> {
    text: &'a str,
    comments: &'a [Comment],
    emitted: Vec<bool>,
    verbatim: &'a HashSet<(u32, u32)>,
}

impl<'a> Printer<'a> {
    pub(crate) fn new(
        text: &'a str,
        comments: &'a [Comment],
        verbatim: &'a HashSet<(u32, u32)>,
    ) -> Self {
        Printer {
            text,
            comments,
            emitted: vec![false; comments.len()],
            verbatim,
        }
    }

    /// The comments that no layout placed.
    pub(crate) fn missed(&self) -> Vec<Span> {
        self.comments
            .iter()
            .zip(&self.emitted)
            .filter(|(_, done)| !**done)
            .map(|(c, _)| c.span)
            .collect()
    }

    // ------------------------------------------------------------ source text

    fn src(&self, start: u32, end: u32) -> &'a str {
        self.text.get(start as usize..end as usize).unwrap_or("")
    }

    /// The source text of `span`, as written, with the comments inside it.
    pub(crate) fn slice(&mut self, span: Span) -> Doc {
        let first = self.comments.partition_point(|c| c.span.start < span.start);
        for index in first..self.comments.len() {
            match self.comments.get(index) {
                Some(c) if c.span.end <= span.end => self.emitted[index] = true,
                _ => break,
            }
        }
        text(self.src(span.start, span.end))
    }

    /// The node as written, when an earlier pass found a comment inside it that
    /// no layout can place.
    pub(crate) fn as_written(&mut self, span: Span) -> Option<Doc> {
        self.verbatim
            .contains(&(span.start, span.end))
            .then(|| self.slice(span))
    }

    fn newlines(&self, start: u32, end: u32) -> usize {
        if end <= start {
            return 0;
        }
        self.src(start, end).matches('\n').count()
    }

    /// The offset of the first token at or after `pos`, skipping whitespace,
    /// comments and any of `also`.
    pub(crate) fn next_token(&self, mut pos: u32, also: &[u8]) -> u32 {
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(pos as usize) {
                Some(b) if b.is_ascii_whitespace() || also.contains(b) => pos += 1,
                Some(b'/') => match self.comments.binary_search_by_key(&pos, |c| c.span.start) {
                    Ok(index) => match self.comments.get(index) {
                        Some(c) => pos = c.span.end,
                        None => return pos,
                    },
                    Err(_) => return pos,
                },
                _ => return pos,
            }
        }
    }

    /// The offset just after `token` when it is the next token at or after `pos`.
    pub(crate) fn after(&self, pos: u32, token: &str) -> Option<u32> {
        let at = self.next_token(pos, &[]);
        self.src(at, self.text.len() as u32)
            .starts_with(token)
            .then(|| at + token.len() as u32)
    }

    /// Unplaced comments that lie wholly in `start..end`.
    fn gap(&self, start: u32, end: u32) -> Vec<usize> {
        let first = self.comments.partition_point(|c| c.span.start < start);
        (first..self.comments.len())
            .take_while(|&i| self.comments.get(i).is_some_and(|c| c.span.end <= end))
            .filter(|&i| !self.emitted.get(i).copied().unwrap_or(true))
            .collect()
    }

    fn comment(&mut self, index: usize) -> (Doc, CommentKind, Span) {
        self.emitted[index] = true;
        let Some(comment) = self.comments.get(index) else {
            return (nil(), CommentKind::Block, Span::new(0, 0));
        };
        let raw = self.src(comment.span.start, comment.span.end);
        let raw = match comment.kind {
            CommentKind::Line => raw.trim_end(),
            _ => raw,
        };
        (text(raw), comment.kind, comment.span)
    }

    /// A comment at the end of a line: after a space, and the line must end there.
    fn trailing(&mut self, index: usize, out: &mut Vec<Doc>) {
        let (doc, kind, _) = self.comment(index);
        out.push(text(" "));
        out.push(doc);
        if kind == CommentKind::Line {
            out.push(Doc::BreakParent);
        }
    }

    // ------------------------------------------------------------ sequences

    /// A bracketed sequence. `inner` runs from just after `open` to the closing
    /// bracket; the comments in it are placed around the elements.
    pub(crate) fn seq(
        &mut self,
        open: &str,
        close: &str,
        inner: (u32, u32),
        style: Style,
        elems: Vec<Elem>,
    ) -> Doc {
        let (open_comments, body, dangling) = self.place(inner, &style, elems, true);
        if body.is_empty() && open_comments.is_empty() && !dangling {
            return text(format!("{open}{close}"));
        }
        let mut parts = vec![text(open)];
        parts.extend(open_comments);
        if style.force {
            parts.push(Doc::BreakParent);
        }
        // An empty body (only comments after the opening bracket) closes on the
        // next line: one edge, or the block would hold a blank line.
        if !body.is_empty() {
            let mut inside = vec![style.edge.clone()];
            inside.extend(body);
            parts.push(indent(concat(inside)));
        }
        parts.push(style.edge);
        parts.push(text(close));
        group(concat(parts))
    }

    /// The file's declarations, one blank line apart, with the comments around them.
    pub(crate) fn module(&mut self, module: &Module) -> Doc {
        let mut elems = Vec::new();
        let mut previous_import = false;
        for item in &module.items {
            let import = matches!(item.kind, ItemKind::Import(_));
            let blank = if import && previous_import {
                Blank::Keep
            } else {
                Blank::Always
            };
            previous_import = import;
            let doc = self.item(item);
            elems.push(Elem::new(item.span, doc, blank));
        }
        let end = self.text.len() as u32;
        let style = Style {
            comma: nil(),
            last_comma: nil(),
            line: Doc::HardLine,
            edge: nil(),
            force: false,
        };
        let (_, body, _) = self.place((0, end), &style, elems, false);
        concat(body)
    }

    /// Places the elements and comments of a sequence: returns the comments that
    /// follow the opening bracket on its line, the body, and whether comments
    /// dangle after the last element.
    fn place(
        &mut self,
        inner: (u32, u32),
        style: &Style,
        elems: Vec<Elem>,
        bracketed: bool,
    ) -> (Vec<Doc>, Vec<Doc>, bool) {
        let mut open_comments = Vec::new();
        let mut body = Vec::new();
        let mut last_end = inner.0;
        let count = elems.len();
        for (position, elem) in elems.into_iter().enumerate() {
            let mut gap = self.gap(last_end, elem.start).into_iter().peekable();
            if position > 0 {
                body.push(style.comma.clone());
            }
            // Comments on the line of the previous element (or of the bracket).
            while let Some(&index) = gap.peek() {
                let Some(span) = self.comments.get(index).map(|c| c.span) else {
                    break;
                };
                if self.newlines(last_end, span.start) > 0 {
                    break;
                }
                if position == 0 {
                    let next = self.next_token(span.end, &[]);
                    let line_ends = self.newlines(span.end, next) > 0;
                    if !bracketed || !line_ends {
                        break;
                    }
                    self.trailing(index, &mut open_comments);
                    open_comments.push(Doc::BreakParent);
                } else {
                    self.trailing(index, &mut body);
                }
                last_end = span.end;
                gap.next();
            }
            let leading: Vec<usize> = gap.collect();
            let first_start = leading
                .first()
                .and_then(|&i| self.comments.get(i))
                .map_or(elem.start, |c| c.span.start);
            if position > 0 {
                let blank = match elem.blank {
                    Blank::Always => true,
                    Blank::Keep => self.newlines(last_end, first_start) >= 2,
                    Blank::Never => false,
                };
                body.push(if blank {
                    Doc::BlankLine
                } else {
                    style.line.clone()
                });
            }
            for (k, &index) in leading.iter().enumerate() {
                let (doc, kind, span) = self.comment(index);
                body.push(doc);
                let next = leading
                    .get(k + 1)
                    .and_then(|&i| self.comments.get(i))
                    .map_or(elem.start, |c| c.span.start);
                let lines = self.newlines(span.end, next);
                let before_elem = k + 1 == leading.len();
                body.push(if lines == 0 {
                    text(" ")
                } else if lines >= 2
                    && elem.blank != Blank::Never
                    && !(before_elem && kind == CommentKind::Doc)
                {
                    Doc::BlankLine
                } else {
                    Doc::HardLine
                });
            }
            body.push(elem.doc);
            last_end = elem.end;
            if position + 1 == count {
                body.push(style.last_comma.clone());
            }
        }
        // After the last element: comments on its line, then the rest on their own.
        let mut dangling = false;
        for index in self.gap(last_end, inner.1) {
            let Some(span) = self.comments.get(index).map(|c| c.span) else {
                continue;
            };
            let lines = self.newlines(last_end, span.start);
            if lines == 0 && !dangling && count > 0 {
                self.trailing(index, &mut body);
            } else if lines == 0 && !dangling && bracketed {
                self.trailing(index, &mut open_comments);
                open_comments.push(Doc::BreakParent);
            } else {
                body.push(if count == 0 && !dangling {
                    nil()
                } else if lines == 0 {
                    text(" ")
                } else if lines >= 2 {
                    Doc::BlankLine
                } else {
                    Doc::HardLine
                });
                let (doc, _, _) = self.comment(index);
                body.push(doc);
                body.push(Doc::BreakParent);
                dangling = true;
            }
            last_end = span.end;
        }
        (open_comments, body, dangling)
    }

    // ------------------------------------------------------------ declarations

    fn item(&mut self, item: &Item) -> Doc {
        if let Some(doc) = self.as_written(item.span) {
            return doc;
        }
        let close = item.span.end.saturating_sub(1);
        match &item.kind {
            ItemKind::Import(import) => {
                let mut parts = vec![text("import "), path(&import.path)];
                if let Some(names) = &import.names {
                    let after_path = import.path.last().map_or(item.span.start, |p| p.span.end);
                    let open = self.after(after_path, "{").unwrap_or(close);
                    let elems = names
                        .iter()
                        .map(|n| {
                            let mut doc = n.name.text.clone();
                            let mut span = n.name.span;
                            if let Some(alias) = &n.alias {
                                doc = format!("{doc} as {}", alias.text);
                                span = span.to(alias.span);
                            }
                            Elem::new(span, text(doc), Blank::Never)
                        })
                        .collect();
                    parts.push(text(" "));
                    parts.push(self.seq("{", "}", (open, close), Style::braced_commas(), elems));
                }
                concat(parts)
            }
            ItemKind::Type(decl) => {
                let open = self.after(decl.name.span.end, "{").unwrap_or(close);
                let fields = self.field_elems(&decl.fields, Blank::Keep);
                concat(vec![
                    text(format!("type {} ", decl.name.text)),
                    self.seq("{", "}", (open, close), Style::fields(false), fields),
                ])
            }
            ItemKind::Enum(decl) => {
                let open = self.after(decl.name.span.end, "{").unwrap_or(close);
                let elems = decl
                    .variants
                    .iter()
                    .map(|v| Elem::new(v.name.span, text(v.name.text.clone()), Blank::Keep))
                    .collect();
                concat(vec![
                    text(format!("enum {} ", decl.name.text)),
                    self.seq("{", "}", (open, close), Style::fields(false), elems),
                ])
            }
            ItemKind::Function(decl) => {
                let params = self.params(decl.name.span.end, &decl.params);
                let ret = self.type_ref(&decl.ret);
                let open = self.after(decl.ret.span.end, "{").unwrap_or(close);
                let settings = decl
                    .settings
                    .iter()
                    .map(|s| {
                        let doc = self.setting(s);
                        Elem::new(s.span, doc, Blank::Keep)
                    })
                    .collect();
                concat(vec![
                    text(format!("function {}", decl.name.text)),
                    params,
                    text(": "),
                    ret,
                    text(" "),
                    self.seq("{", "}", (open, close), Style::lines(true), settings),
                ])
            }
            ItemKind::Def(decl) => concat(vec![
                text(format!("def {}", decl.name.text)),
                self.params(decl.name.span.end, &decl.params),
                text(": "),
                self.type_ref(&decl.ret),
                text(" "),
                self.block(&decl.body, true),
            ]),
            ItemKind::Workflow(workflow) => {
                let open = self.after(workflow.name.span.end, "{").unwrap_or(close);
                let members = workflow
                    .members
                    .iter()
                    .map(|m| {
                        let doc = self.member(m);
                        Elem::new(m.span, doc, Blank::Always)
                    })
                    .collect();
                concat(vec![
                    text(format!("workflow {} ", workflow.name.text)),
                    self.seq("{", "}", (open, close), Style::lines(true), members),
                ])
            }
            ItemKind::Test(test) => {
                let name = self.slice(test.name.span);
                let stmts = test
                    .body
                    .iter()
                    .map(|s| {
                        let doc = self.test_stmt(s);
                        Elem::new(s.span, doc, Blank::Keep)
                    })
                    .collect();
                let inner = (
                    test.body_span.start + 1,
                    test.body_span.end.saturating_sub(1),
                );
                concat(vec![
                    text("test "),
                    name,
                    text(" "),
                    self.seq("{", "}", inner, Style::lines(true), stmts),
                ])
            }
            ItemKind::Schedule(schedule) => {
                let name = self.slice(schedule.name.span);
                let open = self.after(schedule.name.span.end, "{").unwrap_or(close);
                let clauses = schedule
                    .clauses
                    .iter()
                    .map(|c| {
                        let doc = self.schedule_clause(c);
                        Elem::new(c.span, doc, Blank::Keep)
                    })
                    .collect();
                concat(vec![
                    text("schedule "),
                    name,
                    text(" "),
                    self.seq("{", "}", (open, close), Style::lines(true), clauses),
                ])
            }
        }
    }

    /// `cron "…"`, `every D`, `overlap skip`, `start { … }`.
    fn schedule_clause(&mut self, clause: &ScheduleClause) -> Doc {
        if let Some(doc) = self.as_written(clause.span) {
            return doc;
        }
        match &clause.kind {
            ScheduleClauseKind::Cron(e) => concat(vec![text("cron "), self.expr(e)]),
            ScheduleClauseKind::Every(e) => concat(vec![text("every "), self.expr(e)]),
            ScheduleClauseKind::Overlap(word) => text(format!("overlap {}", word.text)),
            ScheduleClauseKind::Start(b) => concat(vec![text("start "), self.block(b, false)]),
        }
    }

    fn field_elems(&mut self, fields: &[Field], blank: Blank) -> Vec<Elem> {
        fields
            .iter()
            .map(|f| {
                let doc = self.field(f);
                Elem::new(f.span, doc, blank)
            })
            .collect()
    }

    /// `name: T` or `name: T = default`.
    fn field(&mut self, field: &Field) -> Doc {
        if let Some(doc) = self.as_written(field.span) {
            return doc;
        }
        let mut parts = vec![
            text(format!("{}: ", field.name.text)),
            self.type_ref(&field.ty),
        ];
        if let Some(default) = &field.default {
            parts.push(text(" = "));
            parts.push(self.expr(default));
        }
        concat(parts)
    }

    /// `(a: T, b: U = d)`, found after `pos`.
    fn params(&mut self, pos: u32, params: &[Field]) -> Doc {
        let Some(open) = self.after(pos, "(") else {
            return text("()");
        };
        let last = params.last().map_or(open, |p| p.span.end);
        let close = self.next_token(last, b",");
        let elems = self.field_elems(params, Blank::Never);
        self.seq("(", ")", (open, close), Style::commas(), elems)
    }

    pub(crate) fn type_ref(&mut self, ty: &TypeRef) -> Doc {
        if let Some(doc) = self.as_written(ty.span) {
            return doc;
        }
        match &ty.kind {
            TypeRefKind::Named { path: names, args } => {
                let mut parts = vec![path(names)];
                if !args.is_empty() {
                    parts.push(text("<"));
                    for (i, arg) in args.iter().enumerate() {
                        if i > 0 {
                            parts.push(text(", "));
                        }
                        parts.push(self.type_ref(arg));
                    }
                    parts.push(text(">"));
                }
                concat(parts)
            }
            TypeRefKind::Optional(inner) => concat(vec![self.type_ref(inner), text("?")]),
        }
    }

    fn setting(&mut self, setting: &FunctionSetting) -> Doc {
        if let Some(doc) = self.as_written(setting.span) {
            return doc;
        }
        if let (SettingKind::Retry, ExprKind::Call { args, .. }) =
            (setting.kind, &setting.value.kind)
        {
            // `retry attempts: 4, delay: 2.s`: the arguments without parentheses.
            let mut parts = vec![text("retry")];
            for (i, arg) in args.iter().enumerate() {
                parts.push(text(if i == 0 { " " } else { ", " }));
                if let Some(name) = &arg.name {
                    parts.push(text(format!("{}: ", name.text)));
                }
                parts.push(self.expr(&arg.value));
            }
            return concat(parts);
        }
        let keyword = setting.kind.keyword();
        concat(vec![text(format!("{keyword} ")), self.expr(&setting.value)])
    }

    // ------------------------------------------------------------ workflows

    fn member(&mut self, member: &Member) -> Doc {
        if let Some(doc) = self.as_written(member.span) {
            return doc;
        }
        let close = member.span.end.saturating_sub(1);
        match &member.kind {
            MemberKind::Input(fields) | MemberKind::Facts(fields) => {
                let keyword = if matches!(member.kind, MemberKind::Input(_)) {
                    "input"
                } else {
                    "facts"
                };
                let open = self.after(member.keyword.end, "{").unwrap_or(close);
                let elems = self.field_elems(fields, Blank::Keep);
                concat(vec![
                    text(format!("{keyword} ")),
                    self.seq("{", "}", (open, close), Style::fields(true), elems),
                ])
            }
            MemberKind::Rule(rule) => {
                let name = self.slice(rule.name.span);
                let open = self.after(rule.name.span.end, "{").unwrap_or(close);
                let clauses = rule
                    .clauses
                    .iter()
                    .map(|c| {
                        let doc = self.clause(c);
                        Elem::new(c.span, doc, Blank::Keep)
                    })
                    .collect();
                concat(vec![
                    text("rule "),
                    name,
                    text(" "),
                    self.seq("{", "}", (open, close), Style::lines(true), clauses),
                ])
            }
            MemberKind::Signal(signal) => concat(vec![
                text(format!("signal {}", signal.name.text)),
                self.params(signal.name.span.end, &signal.params),
                text(" "),
                self.block(&signal.body, true),
            ]),
            MemberKind::CompleteWhen(block) => {
                concat(vec![text("complete when "), self.block(block, false)])
            }
            MemberKind::Output(output) => match &output.ty {
                Some(ty) => concat(vec![
                    text("output: "),
                    self.type_ref(ty),
                    text(" "),
                    self.block(&output.body, false),
                ]),
                None => concat(vec![text("output "), self.block(&output.body, false)]),
            },
        }
    }

    fn clause(&mut self, clause: &Clause) -> Doc {
        if let Some(doc) = self.as_written(clause.span) {
            return doc;
        }
        match &clause.kind {
            ClauseKind::Priority(e) => concat(vec![text("priority "), self.expr(e)]),
            ClauseKind::Timeout(e) => concat(vec![text("timeout "), self.expr(e)]),
            ClauseKind::Match(b) => concat(vec![text("match "), self.block(b, false)]),
            ClauseKind::Action(b) => concat(vec![text("action "), self.block(b, false)]),
            ClauseKind::Reaction(b) => concat(vec![text("reaction "), self.block(b, false)]),
            ClauseKind::Error(b) => concat(vec![text("error "), self.block(b, false)]),
        }
    }

    // ------------------------------------------------------------ tests

    fn test_stmt(&mut self, stmt: &TestStmt) -> Doc {
        if let Some(doc) = self.as_written(stmt.span) {
            return doc;
        }
        match &stmt.kind {
            TestStmtKind::Start { workflow, args } => {
                let after = workflow.last().map_or(stmt.span.start, |w| w.span.end);
                concat(vec![
                    text("start "),
                    path(workflow),
                    self.args(after, args, stmt.span.end),
                ])
            }
            TestStmtKind::Mock {
                function,
                params,
                answer,
            } => {
                let mut head = format!("mock {}", function.text);
                if !params.is_empty() {
                    let names: Vec<&str> = params.iter().map(|p| p.text.as_str()).collect();
                    head = format!("{head}({})", names.join(", "));
                }
                match answer {
                    MockAnswer::Value(e) => concat(vec![text(format!("{head} = ")), self.expr(e)]),
                    MockAnswer::Fails(e) => {
                        concat(vec![text(format!("{head} fails ")), self.expr(e)])
                    }
                }
            }
            TestStmtKind::Run => text("run"),
            TestStmtKind::Signal { name, args } => concat(vec![
                text(format!("signal {}", name.text)),
                self.args(name.span.end, args, stmt.span.end),
            ]),
            TestStmtKind::Advance(e) => concat(vec![text("advance "), self.expr(e)]),
            TestStmtKind::Assert(e) => concat(vec![text("assert "), self.expr(e)]),
            TestStmtKind::Stmt(s) => self.stmt(s),
        }
    }
}

/// `a.b.c`
fn path(names: &[Ident]) -> Doc {
    let names: Vec<&str> = names.iter().map(|n| n.text.as_str()).collect();
    text(names.join("."))
}
