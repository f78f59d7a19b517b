//! `--format github`: GitHub Actions workflow commands, one line per diagnostic
//! (`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=E0201 unknown-fact::…`),
//! which the Actions runner turns into annotations on the pull request's diff.
//!
//! The runner resolves `file=` against the repository's root, not the project's, so the
//! caller passes the project root's path relative to the repository as `path_prefix`.
//! Values are escaped as the runner's toolkit does: `%`, CR and LF everywhere, and `:`
//! and `,` in properties too. The message carries the notes, one per line, and the
//! related places as `path:line:column: message` lines, since an annotation has one
//! place only.

use crate::{Diagnostic, Files, Severity};

/// Where the annotated files are, relative to the repository's root.
#[derive(Debug, Clone, Copy, Default)]
pub struct GithubOptions<'a> {
    /// Prepended (with a `/`) to every file's display path; empty for none.
    pub path_prefix: &'a str,
}

/// One workflow command per diagnostic, each ending in a newline.
pub fn render(diagnostics: &[Diagnostic], files: &Files, options: &GithubOptions<'_>) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let command = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let primary = &diagnostic.primary;
        let range = files.range(primary.file, primary.span);
        let file = prefixed(options.path_prefix, &files.path(primary.file));
        let title = format!("{} {}", diagnostic.code.code, diagnostic.code.name);

        let mut message = diagnostic.message.clone();
        if !primary.message.is_empty() {
            message.push_str(": ");
            message.push_str(&primary.message);
        }
        for label in &diagnostic.labels {
            let at = files.range(label.file, label.span).start;
            let path = prefixed(options.path_prefix, &files.path(label.file));
            message.push_str(&format!(
                "\n{path}:{}:{}: {}",
                at.line, at.column, label.message
            ));
        }
        for note in &diagnostic.notes {
            message.push('\n');
            message.push_str(note);
        }
        for suggestion in &diagnostic.suggestions {
            message.push_str("\nhelp: ");
            message.push_str(&suggestion.message);
        }

        out.push_str(&format!(
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            property(&file),
            range.start.line,
            range.start.column,
            range.end.line,
            range.end.column,
            property(&title),
            data(&message),
        ));
    }
    out
}

fn prefixed(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() || prefix == "." {
        path.to_string()
    } else {
        format!("{prefix}/{path}")
    }
}

/// A command's message: `%`, CR and LF escaped.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A command's property value: as [`data`], and `:` and `,` too.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Code, FileId, Label, Span};

    fn files() -> Files {
        let mut files = Files::new();
        files.add(FileId(0), "src/main.emx", "let x = \"a\"\nlet y = 1\n");
        files.add(FileId(1), "src/a,b.emx", "type T {}\n");
        files
    }

    #[test]
    fn one_command_per_diagnostic_with_escapes() {
        let diagnostics = [
            Diagnostic::new(
                Code::TYPE_MISMATCH,
                "expected `Int`, found `String` (100%)",
                Label::new(FileId(0), Span::new(8, 11), "a `String`"),
            )
            .with_label(Label::new(FileId(1), Span::new(5, 6), "declared here"))
            .with_note("write a number"),
            Diagnostic::new(
                Code::UNUSED_LOCAL,
                "`y` is never read",
                Label::new(FileId(1), Span::new(5, 6), ""),
            ),
        ];
        let out = render(
            &diagnostics,
            &files(),
            &GithubOptions {
                path_prefix: "services/encode",
            },
        );
        insta::assert_snapshot!(out, @r"
        ::error file=services/encode/src/main.emx,line=1,col=9,endLine=1,endColumn=12,title=E0201 type-mismatch::expected `Int`, found `String` (100%25): a `String`%0Aservices/encode/src/a,b.emx:1:6: declared here%0Awrite a number
        ::warning file=services/encode/src/a%2Cb.emx,line=1,col=6,endLine=1,endColumn=7,title=W0004 unused-local::`y` is never read
        ");
    }

    #[test]
    fn no_prefix_and_no_diagnostics() {
        assert_eq!(render(&[], &files(), &GithubOptions::default()), "");
        let diagnostics = [Diagnostic::new(
            Code::UNUSED_LOCAL,
            "`y` is never read",
            Label::new(FileId(0), Span::new(16, 17), ""),
        )];
        let out = render(&diagnostics, &files(), &GithubOptions { path_prefix: "." });
        assert!(
            out.starts_with("::warning file=src/main.emx,line=2,col=5,"),
            "{out}"
        );
    }
}
