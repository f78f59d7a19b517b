//! Diagnostics for people, rendered by codespan-reporting: `error[E0201]: message`,
//! the source lines with the primary and secondary labels, then the notes.

use std::ops::Range;

use codespan_reporting::diagnostic::{self as cs, LabelStyle};
use codespan_reporting::files as cs_files;
use codespan_reporting::term::{self, Config, termcolor::Ansi};

use super::fix;
use crate::{Diagnostic, FileId, Files, Label, Severity};

/// Renders every diagnostic, each followed by a blank line. With `color`, the text
/// carries ANSI escapes; the caller decides (a terminal, `--color`, `NO_COLOR`).
pub fn render(diagnostics: &[Diagnostic], files: &Files, color: bool) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&render_one(diagnostic, files, color));
    }
    out
}

/// Renders one diagnostic.
pub fn render_one(diagnostic: &Diagnostic, files: &Files, color: bool) -> String {
    let adapter = CodespanFiles(files);
    let converted = convert(diagnostic, files);
    let config = Config::default();
    let mut buffer = Vec::new();
    let result = if color {
        let mut writer = Ansi::new(&mut buffer);
        term::emit_to_write_style(&mut writer, &config, &adapter, &converted)
    } else {
        term::emit_to_io_write(&mut buffer, &config, &adapter, &converted)
    };
    match result {
        Ok(()) => String::from_utf8_lossy(&buffer).into_owned(),
        // Only reachable if the adapter and codespan disagree about a file; the header
        // and notes still say what is wrong.
        Err(_) => fallback(diagnostic),
    }
}

fn convert(diagnostic: &Diagnostic, files: &Files) -> cs::Diagnostic<FileId> {
    let severity = match diagnostic.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let primary = std::iter::once((LabelStyle::Primary, &diagnostic.primary));
    let secondary = diagnostic
        .labels
        .iter()
        .map(|label| (LabelStyle::Secondary, label));
    let labels = primary
        .chain(secondary)
        // A label in a file the host did not supply cannot be shown with its source.
        .filter(|(_, label)| files.contains(label.file))
        .map(|(style, label)| convert_label(style, label, files))
        .collect();
    cs::Diagnostic::new(severity)
        .with_code(diagnostic.code.code)
        .with_message(&diagnostic.message)
        .with_labels(labels)
        .with_notes(notes(diagnostic, files))
}

/// The notes, then each suggestion as `help:` with the lines it changes.
fn notes(diagnostic: &Diagnostic, files: &Files) -> Vec<String> {
    let suggestions = diagnostic
        .suggestions
        .iter()
        .map(|s| fix::note(s, files, diagnostic.primary.file));
    diagnostic
        .notes
        .iter()
        .cloned()
        .chain(suggestions)
        .collect()
}

fn convert_label(style: LabelStyle, label: &Label, files: &Files) -> cs::Label<FileId> {
    cs::Label::new(style, label.file, files.byte_range(label.file, label.span))
        .with_message(&label.message)
}

fn fallback(diagnostic: &Diagnostic) -> String {
    let severity = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut out = format!(
        "{severity}[{}]: {}\n",
        diagnostic.code.code, diagnostic.message
    );
    for note in &diagnostic.notes {
        out.push_str(&format!("  = {note}\n"));
    }
    for suggestion in &diagnostic.suggestions {
        out.push_str(&format!("  = help: {}\n", suggestion.message));
    }
    out.push('\n');
    out
}

/// [`Files`] seen through codespan's trait, kept private so codespan stays out of the
/// public API. Columns here are codespan's own (characters, like ours).
struct CodespanFiles<'f>(&'f Files);

impl<'a> cs_files::Files<'a> for CodespanFiles<'_> {
    type FileId = FileId;
    type Name = String;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<String, cs_files::Error> {
        if self.0.contains(id) {
            Ok(self.0.path(id))
        } else {
            Err(cs_files::Error::FileMissing)
        }
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, cs_files::Error> {
        self.0.text(id).ok_or(cs_files::Error::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, cs_files::Error> {
        self.0
            .line_index(id, byte_index)
            .ok_or(cs_files::Error::FileMissing)
    }

    fn line_range(
        &'a self,
        id: FileId,
        line_index: usize,
    ) -> Result<Range<usize>, cs_files::Error> {
        if !self.0.contains(id) {
            return Err(cs_files::Error::FileMissing);
        }
        self.0
            .line_range(id, line_index)
            .ok_or(cs_files::Error::LineTooLarge {
                given: line_index,
                max: self.0.line_index(id, usize::MAX).unwrap_or(0),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Code, Span, Suggestion};

    fn files() -> Files {
        let mut files = Files::new();
        files.add(
            FileId(0),
            "src/main.emx",
            "workflow Encode {\n    facts { size: Int = \"big\" }\n}\n",
        );
        files.add(
            FileId(1),
            "src/media/types.emx",
            "type Café {\r\n    naïve: Bool\r\n}\r\n",
        );
        files
    }

    fn mismatch() -> Diagnostic {
        Diagnostic::new(
            Code::TYPE_MISMATCH,
            "expected `Int`, found `String`",
            Label::new(FileId(0), Span::new(42, 47), "this is a `String`"),
        )
        .with_label(Label::new(
            FileId(0),
            Span::new(36, 39),
            "declared `Int` here",
        ))
        .with_note("write a number, such as `0`")
    }

    #[test]
    fn error_with_labels_and_notes() {
        let out = render(&[mismatch()], &files(), false);
        assert!(out.starts_with("error[E0201]: expected `Int`, found `String`\n"));
        insta::assert_snapshot!(out);
    }

    #[test]
    fn warning_in_non_ascii_crlf_file_and_across_files() {
        let warning = Diagnostic::new(
            Code::UNUSED_LOCAL,
            "`naïve` is never read",
            Label::new(FileId(1), Span::new(18, 24), ""),
        )
        .with_label(Label::new(FileId(0), Span::new(9, 15), "used from here"));
        insta::assert_snapshot!(render(&[warning], &files(), false));
    }

    #[test]
    fn out_of_range_and_unknown_files_do_not_panic() {
        let wild = Diagnostic::new(
            Code::SYNTAX_ERROR,
            "unexpected end of file",
            Label::new(FileId(0), Span::new(9_999, 10_005), "here"),
        )
        .with_label(Label::new(
            FileId(1),
            Span::new(9, 8),
            "inside `é`, reversed",
        ))
        .with_label(Label::new(FileId(42), Span::new(0, 3), "nowhere"));
        let out = render(&[wild], &files(), false);
        assert!(
            out.starts_with("error[E0001]: unexpected end of file\n"),
            "{out}"
        );
        assert!(!out.contains("nowhere"), "{out}");

        let lost = Diagnostic::new(
            Code::UNKNOWN_NAME,
            "unknown name",
            Label::new(FileId(9), Span::new(0, 1), ""),
        );
        let out = render(&[lost], &files(), false);
        assert_eq!(out.trim_end(), "error[E0103]: unknown name");
    }

    #[test]
    fn suggestions_show_as_help_with_the_changed_lines() {
        let unknown = Diagnostic::new(
            Code::UNKNOWN_NAME,
            "unknown name `sise`",
            Label::new(FileId(0), Span::new(22, 26), ""),
        )
        .with_note("declare it, or import it")
        .with_suggestion(Suggestion::replace(
            "did you mean `size`?",
            FileId(0),
            Span::new(22, 26),
            "size",
        ));
        let mut files = Files::new();
        files.add(
            FileId(0),
            "src/main.emx",
            "workflow Encode {\n    sise: Int\n}\n",
        );
        let out = render(&[unknown], &files, false);
        assert!(out.contains("= help: did you mean `size`?"), "{out}");
        insta::assert_snapshot!(out);
    }

    #[test]
    fn color_adds_escapes_only_when_asked() {
        let plain = render(&[mismatch()], &files(), false);
        let colored = render(&[mismatch()], &files(), true);
        assert!(!plain.contains('\x1b'));
        assert!(colored.contains("\x1b["));
    }
}
