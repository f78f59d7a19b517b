//! The read and write sets the runtime uses for refraction, computed for the rules of
//! the corpus project `encode-title`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_diagnostics::FileId;
use cosmos_semantics::Analysis;
use cosmos_test_support as support;
use std::collections::BTreeSet;

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn read_and_write_sets_of_the_example_rules() {
    let modules = support::modules(&support::encode_title(), &["main", "media.types", "tests"]);
    let mut analysis = Analysis::new();
    for (i, (module, text)) in modules.into_iter().enumerate() {
        analysis.set_file(FileId(i as u32), &module, text);
    }
    let rules = analysis.rule_sets("EncodeTitle").expect("workflow exists");
    let by_name = |name: &str| rules.iter().find(|r| r.name == name).expect(name).clone();

    let inspect = by_name("inspect source");
    assert_eq!(inspect.reads, set(&["inspection"]));
    assert_eq!(inspect.writes, set(&["attempts", "inspection"]));

    let encode = by_name("encode ladder");
    assert_eq!(encode.reads, set(&["approved_by", "encodes", "inspection"]));
    assert_eq!(encode.writes, set(&["encodes"]));

    let approve = by_name("auto-approve short clips");
    assert_eq!(approve.reads, set(&["approved_by", "inspection"]));
    assert_eq!(approve.writes, set(&["approved_by"]));

    assert_eq!(rules.len(), 3);
    assert!(analysis.rule_sets("NoSuchWorkflow").is_none());
}
