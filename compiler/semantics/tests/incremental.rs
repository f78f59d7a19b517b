//! Salsa incrementality: editing one body re-checks that body alone, proved from the
//! queries salsa reports executing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_diagnostics::FileId;
use cosmos_semantics::{Analysis, ExecutionLog};
use cosmos_test_support as support;

/// The corpus project `encode-title`, `main` first (the tests edit `FileId(0)`).
fn example() -> Vec<(String, String)> {
    support::modules(&support::encode_title(), &["main", "media.types", "tests"])
}

fn executed(log: &ExecutionLog, query: &str) -> Vec<String> {
    let entries = std::mem::take(&mut *log.lock().expect("log"));
    entries
        .into_iter()
        .filter(|e| e.starts_with(query))
        .collect()
}

fn setup() -> (Analysis, ExecutionLog, String) {
    let log = ExecutionLog::default();
    let mut analysis = Analysis::with_execution_log(log.clone());
    analysis.set_threads(1);
    let mut main = String::new();
    for (i, (module, text)) in example().into_iter().enumerate() {
        if module == "main" {
            main = text.clone();
        }
        analysis.set_file(FileId(i as u32), &module, text);
    }
    assert!(
        analysis.diagnostics().is_empty(),
        "{:#?}",
        analysis.diagnostics()
    );
    assert!(!executed(&log, "check_body").is_empty());
    (analysis, log, main)
}

#[test]
fn editing_one_rule_body_rechecks_only_that_body() {
    let (mut analysis, log, main) = setup();
    // The first edit of a file moves it from the durable inputs (as loaded) to the
    // volatile ones (being edited); salsa then re-checks that file's bodies once,
    // since their results cannot be backdated to a lower durability.
    let warm_up = main.replacen("auto", "automatic", 1);
    assert_ne!(warm_up, main);
    analysis.set_file(FileId(0), "main", warm_up.clone());
    assert!(analysis.diagnostics().is_empty());
    let first = executed(&log, "check_body");
    assert!(
        first.len() > 1,
        "the first edit re-checks the file: {first:?}"
    );

    // A longer body: every body after it moves, and must still not be re-checked.
    let main = warm_up;
    let edited = main.replacen(
        "reaction { approved_by = result }",
        "reaction {\n            approved_by = result + \"!\"\n        }",
        1,
    );
    assert_ne!(edited, main);
    analysis.set_file(FileId(0), "main", edited);
    assert!(
        analysis.diagnostics().is_empty(),
        "{:#?}",
        analysis.diagnostics()
    );
    let rechecked = executed(&log, "check_body");
    assert_eq!(rechecked.len(), 1, "re-checked: {rechecked:?}");
}

#[test]
fn an_error_in_an_edited_body_is_reported_at_its_new_place() {
    let (mut analysis, _log, main) = setup();
    let edited = main.replacen(
        "reaction { approved_by = result }",
        "reaction {\n\n            approved_by = 42\n        }",
        1,
    );
    let at = edited.find("42").expect("edit") as u32;
    analysis.set_file(FileId(0), "main", edited);
    let diagnostics = analysis.diagnostics();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].code.code, "E0201");
    assert_eq!(diagnostics[0].primary.span.start, at);
}

#[test]
fn editing_a_signature_rechecks_its_users() {
    let (mut analysis, log, main) = setup();
    let edited = main.replacen("approved_by: String?", "approved_by: Int?", 1);
    analysis.set_file(FileId(0), "main", edited);
    assert!(!analysis.diagnostics().is_empty());
    let rechecked = executed(&log, "check_body");
    assert!(rechecked.len() > 1, "re-checked: {rechecked:?}");
}
