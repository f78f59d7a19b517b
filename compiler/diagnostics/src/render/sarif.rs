//! SARIF 2.1.0, in the shape GitHub code scanning accepts: one run whose tool lists a
//! rule for every code in [`CODES`], and a result per diagnostic with its primary
//! place as the location and its other labels as related locations.
//!
//! Artifact URIs are the files' display paths (relative, `/`-separated) against the
//! `%SRCROOT%` base, which `originalUriBaseIds` maps to the project root when the
//! caller gives one. Columns are Unicode code points (declared as the run's
//! `columnKind`), ends exclusive, as [`Files`] counts them.

use std::path::Path;

use serde_json::{Value, json};

use crate::{CODES, Diagnostic, FileId, Files, Label, Severity, Suggestion};

/// Where SARIF's rule help links point: the diagnostics reference in the repository.
pub const DOCS_URI: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/blob/main/docs/diagnostics.md"
);

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";

/// What the SARIF log says about the tool and where the sources are.
#[derive(Debug, Clone, Copy)]
pub struct SarifOptions<'a> {
    /// The version of the `cosmosc` that produced the log.
    pub tool_version: &'a str,
    /// The project root, an absolute path; `%SRCROOT%` is defined only when given.
    pub src_root: Option<&'a Path>,
}

/// The SARIF log for these diagnostics, pretty-printed, ending in a newline.
pub fn render(diagnostics: &[Diagnostic], files: &Files, options: &SarifOptions<'_>) -> String {
    let mut out = serde_json::to_string_pretty(&log(diagnostics, files, options))
        .unwrap_or_else(|_| String::from("{}"));
    out.push('\n');
    out
}

/// The SARIF log as a JSON value.
pub fn log(diagnostics: &[Diagnostic], files: &Files, options: &SarifOptions<'_>) -> Value {
    let rules: Vec<Value> = CODES
        .iter()
        .map(|info| {
            json!({
                "id": info.code.code,
                "name": info.code.name,
                "shortDescription": { "text": info.summary },
                "defaultConfiguration": { "level": level(info.code.severity()) },
                "helpUri": help_uri(info.code.code),
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics.iter().map(|d| result(d, files)).collect();

    let mut run = json!({
        "tool": {
            "driver": {
                "name": "cosmosc",
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "version": options.tool_version,
                "rules": rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if let (Some(root), Some(run)) = (options.src_root, run.as_object_mut()) {
        run.insert(
            "originalUriBaseIds".into(),
            json!({ SRCROOT: { "uri": directory_uri(root) } }),
        );
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run],
    })
}

fn result(diagnostic: &Diagnostic, files: &Files) -> Value {
    let mut text = diagnostic.message.clone();
    // Code scanning shows only the message, so the notes (help, suggestions) go in it.
    for note in &diagnostic.notes {
        text.push_str("\n\n");
        text.push_str(note);
    }
    for suggestion in &diagnostic.suggestions {
        text.push_str("\n\nhelp: ");
        text.push_str(&suggestion.message);
    }
    let mut result = json!({
        "ruleId": diagnostic.code.code,
        "level": level(diagnostic.severity),
        "message": { "text": text },
        "locations": [location(&diagnostic.primary, files, None)],
    });
    if let Some(object) = result.as_object_mut() {
        if let Some(index) = CODES.iter().position(|info| info.code == diagnostic.code) {
            object.insert("ruleIndex".into(), index.into());
        }
        if !diagnostic.labels.is_empty() {
            let related = diagnostic
                .labels
                .iter()
                .enumerate()
                .map(|(id, label)| location(label, files, Some(id)))
                .collect();
            object.insert("relatedLocations".into(), Value::Array(related));
        }
        if !diagnostic.suggestions.is_empty() {
            let fixes = diagnostic
                .suggestions
                .iter()
                .map(|s| fix(s, files))
                .collect();
            object.insert("fixes".into(), Value::Array(fixes));
        }
    }
    result
}

/// A suggestion as a SARIF `fix`: one artifact change per file, its replacements in
/// order.
fn fix(suggestion: &Suggestion, files: &Files) -> Value {
    let mut changes: Vec<(FileId, Vec<Value>)> = Vec::new();
    for edit in &suggestion.edits {
        let range = files.range(edit.file, edit.span);
        let replacement = json!({
            "deletedRegion": {
                "startLine": range.start.line,
                "startColumn": range.start.column,
                "endLine": range.end.line,
                "endColumn": range.end.column,
            },
            "insertedContent": { "text": edit.replacement },
        });
        match changes.iter_mut().find(|(file, _)| *file == edit.file) {
            Some((_, replacements)) => replacements.push(replacement),
            None => changes.push((edit.file, vec![replacement])),
        }
    }
    let changes: Vec<Value> = changes
        .into_iter()
        .map(|(file, replacements)| {
            json!({
                "artifactLocation": {
                    "uri": artifact_uri(&files.path(file)),
                    "uriBaseId": SRCROOT,
                },
                "replacements": replacements,
            })
        })
        .collect();
    json!({
        "description": { "text": suggestion.message },
        "artifactChanges": changes,
    })
}

fn location(label: &Label, files: &Files, id: Option<usize>) -> Value {
    let range = files.range(label.file, label.span);
    let mut location = json!({
        "physicalLocation": {
            "artifactLocation": {
                "uri": artifact_uri(&files.path(label.file)),
                "uriBaseId": SRCROOT,
            },
            "region": {
                "startLine": range.start.line,
                "startColumn": range.start.column,
                "endLine": range.end.line,
                "endColumn": range.end.column,
            }
        }
    });
    if let Some(object) = location.as_object_mut() {
        if let Some(id) = id {
            object.insert("id".into(), id.into());
        }
        if !label.message.is_empty() {
            object.insert("message".into(), json!({ "text": label.message }));
        }
    }
    location
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn help_uri(code: &str) -> String {
    format!("{DOCS_URI}#{}", code.to_ascii_lowercase())
}

/// A relative display path as a URI reference: `/`-separated, percent-encoded.
fn artifact_uri(path: &str) -> String {
    percent_encode(&path.replace('\\', "/"))
}

/// `file:///abs/root/`, ending in `/` as SARIF requires of a base URI.
fn directory_uri(root: &Path) -> String {
    let mut path = root.to_string_lossy().replace('\\', "/");
    if !path.starts_with('/') {
        // A Windows drive path, `C:/…`.
        path.insert(0, '/');
    }
    if !path.ends_with('/') {
        path.push('/');
    }
    format!("file://{}", percent_encode(&path))
}

/// Percent-encodes everything but unreserved characters, `/` and a drive's `:`.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Code, Span};

    fn files() -> Files {
        let mut files = Files::new();
        files.add(FileId(0), "src/main.emx", "rule ünï {\n  match x\n}\n");
        files.add(FileId(1), "src/media/my types.emx", "type T {}\n");
        files
    }

    fn diagnostics() -> Vec<Diagnostic> {
        vec![
            Diagnostic::new(
                Code::NON_BOOL_CONDITION,
                "`match` needs a `Bool`",
                Label::new(FileId(0), Span::new(21, 22), "this is an `Int`"),
            )
            .with_label(Label::new(FileId(1), Span::new(5, 6), "declared here"))
            .with_note("Emx has no truthiness")
            .with_suggestion(Suggestion::replace(
                "compare it with `0`",
                FileId(0),
                Span::new(21, 22),
                "x != 0",
            )),
            Diagnostic::new(
                Code::UNUSED_FACT,
                "fact `ünï` is never used",
                Label::new(FileId(0), Span::new(5, 10), ""),
            ),
        ]
    }

    fn options() -> SarifOptions<'static> {
        SarifOptions {
            tool_version: "0.0.0-test",
            src_root: Some(Path::new("/home/me/my project")),
        }
    }

    #[test]
    fn log_shape() {
        let log = log(&diagnostics(), &files(), &options());
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "cosmosc");
        assert_eq!(driver["version"], "0.0.0-test");
        let rules = driver["rules"].as_array().unwrap();
        assert_eq!(rules.len(), CODES.len());
        for (rule, info) in rules.iter().zip(CODES) {
            assert_eq!(rule["id"], info.code.code);
            assert!(rule["helpUri"].as_str().unwrap().starts_with("https://"));
        }
        assert_eq!(
            run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
            "file:///home/me/my%20project/"
        );

        let first = &run["results"][0];
        let index = first["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], first["ruleId"]);
        assert_eq!(first["ruleId"], "E0203");
        let region = &first["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 2);
        assert_eq!(region["startColumn"], 9);
        assert_eq!(region["endColumn"], 10);
        let related = &first["relatedLocations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(related["uri"], "src/media/my%20types.emx");
        assert_eq!(related["uriBaseId"], "%SRCROOT%");
        let fix = &first["fixes"][0];
        assert_eq!(fix["description"]["text"], "compare it with `0`");
        let change = &fix["artifactChanges"][0];
        assert_eq!(change["artifactLocation"]["uri"], "src/main.emx");
        let replacement = &change["replacements"][0];
        assert_eq!(replacement["deletedRegion"]["startColumn"], 9);
        assert_eq!(replacement["insertedContent"]["text"], "x != 0");
        assert!(
            first["message"]["text"]
                .as_str()
                .unwrap()
                .ends_with("help: compare it with `0`")
        );

        let second = &run["results"][1];
        assert_eq!(second["level"], "warning");
        assert!(second.get("fixes").is_none());
        let region = &second["locations"][0]["physicalLocation"]["region"];
        assert_eq!(
            (&region["startColumn"], &region["endColumn"]),
            (&6.into(), &9.into())
        );
    }

    #[test]
    fn snapshot_without_rules() {
        let mut log = log(&diagnostics(), &files(), &options());
        // The rule table is checked above; keep the snapshot to the results.
        log["runs"][0]["tool"]["driver"]["rules"] = Value::Array(Vec::new());
        insta::assert_snapshot!(serde_json::to_string_pretty(&log).unwrap());
    }

    #[test]
    fn no_root_no_base_ids() {
        let options = SarifOptions {
            tool_version: "1",
            src_root: None,
        };
        let log = log(&[], &files(), &options);
        assert!(log["runs"][0].get("originalUriBaseIds").is_none());
        assert_eq!(log["runs"][0]["results"], Value::Array(Vec::new()));
        assert!(render(&[], &files(), &options).ends_with("}\n"));
    }

    #[test]
    fn uris() {
        assert_eq!(directory_uri(Path::new("/a/b")), "file:///a/b/");
        assert_eq!(directory_uri(Path::new("/a/b/")), "file:///a/b/");
        assert_eq!(directory_uri(Path::new("C:\\x y")), "file:///C:/x%20y/");
        assert_eq!(artifact_uri("src/é.emx"), "src/%C3%A9.emx");
    }
}
