//! How `cosmosc test` reports its results: for people (one line per test, the failure
//! report indented under it, a summary line), as one JSON document, or as JUnit XML
//! for CI systems (one `<testsuite>` per module).

use std::fmt::Write as _;

use serde_json::json;

/// One test's result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TestResult {
    pub name: String,
    /// The module the test is declared in (`tests`, `media.probe_tests`).
    pub module: String,
    pub ms: u128,
    /// The failure report (the failing assert with its values, status, history).
    pub failure: Option<String>,
}

pub(crate) fn counts(results: &[TestResult]) -> (usize, usize) {
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    (results.len() - failed, failed)
}

pub(crate) fn human(results: &[TestResult]) -> String {
    let mut out = String::new();
    for r in results {
        match &r.failure {
            None => {
                let _ = writeln!(out, "PASS {} ({} ms)", r.name, r.ms);
            }
            Some(report) => {
                let _ = writeln!(out, "FAIL {}", r.name);
                for line in report.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    let (passed, failed) = counts(results);
    let _ = writeln!(out, "{passed} passed, {failed} failed");
    out
}

pub(crate) fn json(results: &[TestResult]) -> String {
    let (passed, failed) = counts(results);
    let tests: Vec<_> = results
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "module": r.module,
                "passed": r.failure.is_none(),
                "ms": r.ms,
                "failure": r.failure,
            })
        })
        .collect();
    let document = json!({"tests": tests, "passed": passed, "failed": failed});
    format!("{document}\n")
}

/// Text as XML character data or an attribute value: the five markup characters
/// escaped, and characters XML 1.0 cannot carry (most control characters) dropped.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn seconds(ms: u128) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

pub(crate) fn junit(project: &str, results: &[TestResult]) -> String {
    let (_, failed) = counts(results);
    let total_ms: u128 = results.iter().map(|r| r.ms).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" time=\"{}\">",
        xml(project),
        results.len(),
        seconds(total_ms)
    );
    let mut modules: Vec<&str> = Vec::new();
    for r in results {
        if !modules.contains(&r.module.as_str()) {
            modules.push(&r.module);
        }
    }
    for module in modules {
        let suite: Vec<&TestResult> = results.iter().filter(|r| r.module == module).collect();
        let suite_failed = suite.iter().filter(|r| r.failure.is_some()).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{suite_failed}\" errors=\"0\" skipped=\"0\" time=\"{}\">",
            xml(module),
            suite.len(),
            seconds(suite.iter().map(|r| r.ms).sum())
        );
        for r in suite {
            let open = format!(
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
                xml(&r.name),
                xml(module),
                seconds(r.ms)
            );
            match &r.failure {
                None => {
                    let _ = writeln!(out, "{open}/>");
                }
                Some(report) => {
                    let first = report.lines().next().unwrap_or("failed");
                    let _ = writeln!(
                        out,
                        "{open}>\n      <failure message=\"{}\" type=\"AssertionError\">{}</failure>\n    </testcase>",
                        xml(first),
                        xml(report)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Vec<TestResult> {
        vec![
            TestResult {
                name: "probe <ok>".to_string(),
                module: "tests".to_string(),
                ms: 12,
                failure: None,
            },
            TestResult {
                name: "fails & \"says\" so".to_string(),
                module: "tests".to_string(),
                ms: 3,
                failure: Some("assert failed (line 4):\nassert n == 4\n\u{1}".to_string()),
            },
        ]
    }

    #[test]
    fn junit_escapes_markup_and_drops_control_characters() {
        let text = junit("demo", &results());
        assert!(
            text.contains(
                "<testcase name=\"probe &lt;ok&gt;\" classname=\"tests\" time=\"0.012\"/>"
            )
        );
        assert!(text.contains("name=\"fails &amp; &quot;says&quot; so\""));
        assert!(text.contains("<failure message=\"assert failed (line 4):\""));
        assert!(!text.contains('\u{1}'));
        assert!(text.contains("<testsuites name=\"demo\" tests=\"2\" failures=\"1\""));
    }

    #[test]
    fn json_counts_and_carries_the_failure_report() {
        let doc: serde_json::Value = serde_json::from_str(&json(&results())).unwrap();
        assert_eq!(doc["passed"], 1);
        assert_eq!(doc["failed"], 1);
        assert_eq!(doc["tests"][1]["passed"], false);
        assert!(
            doc["tests"][1]["failure"]
                .as_str()
                .unwrap()
                .starts_with("assert failed")
        );
        assert_eq!(doc["tests"][0]["failure"], serde_json::Value::Null);
    }
}
