//! The checks of a `schedule` (LANGUAGE.md 10.7) outside its `start` block: one
//! trigger (`cron` with a valid five-field expression, or `every` with a positive
//! duration of at least a second), `overlap skip` or `overlap allow`, a `start`, each
//! clause once. The `start` block is a body, checked by `check::schedule`.

use super::ItemChecker;
use crate::types::Type;
use cosmos_diagnostics::{Code, Diagnostic, Label, Span, Suggestion};
use cosmos_ir::cron::Cron;
use cosmos_ir::value::Value;
use cosmos_syntax::ast::{self, ScheduleClauseKind};
use std::collections::BTreeMap;

/// The shortest `every`: ticks come from a clock read by a loop, not an interrupt.
pub const MIN_EVERY_MS: i64 = 1_000;

const CRON_NOTE: &str = "a cron expression has five fields, in UTC: minute (0–59), hour (0–23), day of month (1–31), month (1–12 or jan–dec) and day of week (0–7 or sun–sat; 0 and 7 are Sunday); `0 3 * * *` is 03:00 every day";

impl ItemChecker<'_> {
    pub(super) fn schedule(&mut self, d: &ast::ScheduleDecl) {
        let mut seen: BTreeMap<&'static str, Span> = BTreeMap::new();
        let mut trigger: Option<(&'static str, Span)> = None;
        for clause in &d.clauses {
            let keyword = clause.kind.keyword();
            if let Some(first) = seen.insert(keyword, clause.keyword) {
                self.out.push(
                    Diagnostic::new(
                        Code::DUPLICATE_CLAUSE,
                        format!("`{keyword}` is given twice"),
                        Label::new(self.id, clause.keyword, "given again here"),
                    )
                    .with_label(Label::new(self.id, first, "first given here"))
                    .with_suggestion(Suggestion::replace(
                        "remove this one",
                        self.id,
                        clause.span,
                        "",
                    )),
                );
                continue;
            }
            if matches!(
                clause.kind,
                ScheduleClauseKind::Cron(_) | ScheduleClauseKind::Every(_)
            ) {
                if let Some((other, first)) = trigger {
                    self.out.push(
                        Diagnostic::new(
                            Code::INVALID_SCHEDULE,
                            format!("a schedule ticks by `cron` or by `every`, not both; this one also has `{other}`"),
                            Label::new(self.id, clause.keyword, ""),
                        )
                        .with_label(Label::new(self.id, first, format!("`{other}` given here"))),
                    );
                    continue;
                }
                trigger = Some((keyword, clause.keyword));
            }
            match &clause.kind {
                ScheduleClauseKind::Cron(e) => self.cron(e),
                ScheduleClauseKind::Every(e) => self.every(e),
                ScheduleClauseKind::Overlap(word) => self.overlap(word),
                ScheduleClauseKind::Start(_) => {}
            }
        }
        if trigger.is_none() {
            self.out.push(
                Diagnostic::new(
                    Code::INVALID_SCHEDULE,
                    format!(
                        "schedule {} has no `cron` or `every`, so it never ticks",
                        quoted(&d.name.text)
                    ),
                    Label::new(self.id, d.name.span, ""),
                )
                .with_note("add `cron \"0 3 * * *\"` (03:00 UTC every day) or `every 6.h`"),
            );
        }
        if !seen.contains_key("start") {
            self.out.push(
                Diagnostic::new(
                    Code::INVALID_SCHEDULE,
                    format!(
                        "schedule {} has no `start`, so it starts nothing",
                        quoted(&d.name.text)
                    ),
                    Label::new(self.id, d.name.span, ""),
                )
                .with_note(
                    "add the workflow each tick starts: `start { Cleanup(olderThan: 30.d) }`",
                ),
            );
        }
    }

    /// `cron "…"`: a plain string literal holding a valid expression.
    fn cron(&mut self, e: &ast::Expr) {
        let text = match &e.kind {
            ast::ExprKind::Str(literal) => literal.as_plain(),
            _ => None,
        };
        let Some(text) = text else {
            self.out.push(
                Diagnostic::new(
                    Code::INVALID_CRON,
                    "`cron` takes a string literal without interpolation, such as `cron \"0 3 * * *\"`",
                    Label::new(self.id, e.span, ""),
                )
                .with_note(CRON_NOTE),
            );
            return;
        };
        if let Err(error) = Cron::parse(&text) {
            self.out.push(
                Diagnostic::new(
                    Code::INVALID_CRON,
                    error.to_string(),
                    Label::new(self.id, e.span, ""),
                )
                .with_note(CRON_NOTE),
            );
        }
    }

    /// `every D`: a constant duration of at least a second.
    fn every(&mut self, e: &ast::Expr) {
        let Some(Value::Duration(ms)) = self.check_setting(e, &Type::Duration, "every") else {
            return;
        };
        if ms < MIN_EVERY_MS {
            self.out.push(Diagnostic::new(
                Code::INVALID_SCHEDULE,
                format!(
                    "`every` must be a positive duration of at least 1.s, not {}",
                    cosmos_ir::duration_literal(ms)
                ),
                Label::new(self.id, e.span, ""),
            ));
        }
    }

    /// `overlap skip` or `overlap allow`.
    fn overlap(&mut self, word: &ast::Ident) {
        if matches!(word.text.as_str(), "skip" | "allow") {
            return;
        }
        let mut diagnostic = Diagnostic::new(
            Code::INVALID_SCHEDULE,
            format!("`overlap` is `skip` or `allow`, not `{}`", word.text),
            Label::new(self.id, word.span, ""),
        )
        .with_note("`skip` (the default) starts nothing while the schedule's last instance has not finished; `allow` starts one anyway");
        if let Some(s) = crate::suggest::did_you_mean(&word.text, ["skip", "allow"]) {
            crate::suggest::offer(&mut diagnostic, &format!("`{s}`"), s);
        }
        self.out.push(diagnostic);
    }
}

fn quoted(name: &str) -> String {
    format!("{name:?}")
}
