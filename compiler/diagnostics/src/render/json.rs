//! `--format json`: one document, `{"diagnostics": [...], "errors": N, "warnings": N}`,
//! with 1-based lines and columns as `Files` counts them (columns in characters, ends
//! exclusive). Each diagnostic also carries its kebab-case `name`, the primary label's
//! message as `label` (possibly empty) and its `notes`; `labels` are the related places
//! only, the primary place being the diagnostic's own `file`/`line`/`column`.
//! `suggestions` are the fixes, each a `message` and its `edits`: a range (as above)
//! whose text becomes `replacement`.

use serde::Serialize;

use crate::{Diagnostic, Files, Label, Severity, Suggestion, render::Summary};

#[derive(Serialize)]
struct Report<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    name: &'static str,
    severity: Severity,
    message: &'a str,
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    label: &'a str,
    labels: Vec<JsonLabel<'a>>,
    notes: &'a [String],
    suggestions: Vec<JsonSuggestion<'a>>,
}

#[derive(Serialize)]
struct JsonSuggestion<'a> {
    message: &'a str,
    edits: Vec<JsonEdit<'a>>,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    replacement: &'a str,
}

impl<'a> JsonSuggestion<'a> {
    fn new(suggestion: &'a Suggestion, files: &Files) -> Self {
        JsonSuggestion {
            message: &suggestion.message,
            edits: suggestion
                .edits
                .iter()
                .map(|edit| {
                    let range = files.range(edit.file, edit.span);
                    JsonEdit {
                        file: files.path(edit.file),
                        line: range.start.line,
                        column: range.start.column,
                        end_line: range.end.line,
                        end_column: range.end.column,
                        replacement: &edit.replacement,
                    }
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
}

impl<'a> JsonLabel<'a> {
    fn new(label: &'a Label, files: &Files) -> Self {
        let range = files.range(label.file, label.span);
        JsonLabel {
            file: files.path(label.file),
            line: range.start.line,
            column: range.start.column,
            end_line: range.end.line,
            end_column: range.end.column,
            message: &label.message,
        }
    }
}

/// The JSON document for these diagnostics, pretty-printed, ending in a newline.
pub fn render(diagnostics: &[Diagnostic], files: &Files) -> String {
    let summary = Summary::of(diagnostics);
    let report = Report {
        diagnostics: diagnostics
            .iter()
            .map(|diagnostic| {
                let primary = JsonLabel::new(&diagnostic.primary, files);
                JsonDiagnostic {
                    code: diagnostic.code.code,
                    name: diagnostic.code.name,
                    severity: diagnostic.severity,
                    message: &diagnostic.message,
                    file: primary.file,
                    line: primary.line,
                    column: primary.column,
                    end_line: primary.end_line,
                    end_column: primary.end_column,
                    label: primary.message,
                    labels: diagnostic
                        .labels
                        .iter()
                        .map(|label| JsonLabel::new(label, files))
                        .collect(),
                    notes: &diagnostic.notes,
                    suggestions: diagnostic
                        .suggestions
                        .iter()
                        .map(|s| JsonSuggestion::new(s, files))
                        .collect(),
                }
            })
            .collect(),
        errors: summary.errors,
        warnings: summary.warnings,
    };
    // Serialising these plain structs cannot fail; the fallback keeps the output JSON.
    let mut out = serde_json::to_string_pretty(&report).unwrap_or_else(|_| {
        format!(
            r#"{{"diagnostics": [], "errors": {}, "warnings": {}}}"#,
            summary.errors, summary.warnings
        )
    });
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Code, FileId, Span};

    fn files() -> Files {
        let mut files = Files::new();
        files.add(FileId(0), "src/main.emx", "let é = \"x\"\r\nlet y = é\r\n");
        files.add(FileId(1), "src/media/types.emx", "type T {}\n");
        files
    }

    #[test]
    fn document_shape() {
        let diagnostics = [
            Diagnostic::new(
                Code::TYPE_MISMATCH,
                "expected `Int`, found `String`",
                Label::new(FileId(0), Span::new(9, 12), "a `String`"),
            )
            .with_label(Label::new(FileId(1), Span::new(5, 6), "declared here"))
            .with_note("write a number"),
            Diagnostic::new(
                Code::UNUSED_LOCAL,
                "`y` is never read",
                Label::new(FileId(0), Span::new(18, 19), ""),
            )
            .with_suggestion(Suggestion::replace(
                "name it `_y`",
                FileId(0),
                Span::new(18, 19),
                "_y",
            )),
            // At the very end of the file, and far past it.
            Diagnostic::new(
                Code::SYNTAX_ERROR,
                "expected `}`",
                Label::new(FileId(0), Span::new(26, 26), "file ends here"),
            ),
            Diagnostic::new(
                Code::SYNTAX_ERROR,
                "lost",
                Label::new(FileId(0), Span::new(500, 900), ""),
            ),
        ];
        let out = render(&diagnostics, &files());
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["errors"], 3);
        assert_eq!(value["warnings"], 1);
        let first = &value["diagnostics"][0];
        assert_eq!(first["code"], "E0201");
        assert_eq!(first["severity"], "error");
        assert_eq!(
            (&first["line"], &first["column"], &first["end_column"]),
            (&1.into(), &9.into(), &12.into())
        );
        assert_eq!(first["labels"][0]["file"], "src/media/types.emx");
        assert_eq!(first["suggestions"], serde_json::json!([]));
        let edit = &value["diagnostics"][1]["suggestions"][0]["edits"][0];
        assert_eq!(
            (&edit["line"], &edit["column"], &edit["end_column"]),
            (&2.into(), &5.into(), &6.into())
        );
        assert_eq!(edit["replacement"], "_y");
        insta::assert_snapshot!(out);
    }

    #[test]
    fn empty_report() {
        let out = render(&[], &files());
        insta::assert_snapshot!(out, @r#"
        {
          "diagnostics": [],
          "errors": 0,
          "warnings": 0
        }
        "#);
    }
}
