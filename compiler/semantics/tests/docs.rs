//! Keeps `docs/diagnostics.md` in step with the table of codes: one `## CODE name`
//! section per entry of `CODES`, in order, each with a `groovy` example; and every
//! example does what its section says, checked by the compiler itself.
//!
//! In a section, the `groovy` blocks before the "How to fix" line must produce exactly
//! the diagnostics marked on their lines (`// error: E0201`, `// warning: W0004`), the
//! section's own code among them; the blocks after it must check clean. As in the ui
//! tests, a line `// --- module NAME` starts another module of the example.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{declared_pools, expectations, modules};

use cosmos_diagnostics::{CODES, FileId, Files, human};
use cosmos_semantics::{Analysis, std_sources};
use std::collections::BTreeSet;
use std::path::Path;

struct Section {
    heading: String,
    /// Examples that show the diagnostic.
    examples: Vec<String>,
    /// Examples after "How to fix", which must check clean.
    fixes: Vec<String>,
}

fn read_doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/diagnostics.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The `## ` sections of the page, with their `groovy` blocks; the introduction before
/// the first heading is not a section.
fn sections(doc: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut block: Option<String> = None;
    let mut fixing = false;
    for line in doc.lines() {
        if let Some(text) = block.as_mut() {
            if line.trim_start().starts_with("```") {
                let done = block.take().unwrap_or_default();
                if let Some(section) = out.last_mut() {
                    if fixing {
                        section.fixes.push(done);
                    } else {
                        section.examples.push(done);
                    }
                }
            } else {
                text.push_str(line);
                text.push('\n');
            }
            continue;
        }
        if let Some(heading) = line.strip_prefix("## ") {
            out.push(Section {
                heading: heading.trim_end().to_string(),
                examples: Vec::new(),
                fixes: Vec::new(),
            });
            fixing = false;
        } else if line.trim() == "```groovy" {
            block = Some(String::new());
        } else if line.starts_with("How to fix") {
            fixing = true;
        }
    }
    out
}

#[test]
fn every_code_has_its_section_in_table_order() {
    let doc = read_doc();
    let found: Vec<String> = sections(&doc).into_iter().map(|s| s.heading).collect();
    let expected: Vec<String> = CODES
        .iter()
        .map(|info| format!("{} {}", info.code.code, info.code.name))
        .collect();
    let missing: Vec<&String> = expected.iter().filter(|h| !found.contains(h)).collect();
    let extra: Vec<&String> = found.iter().filter(|h| !expected.contains(h)).collect();
    assert!(
        missing.is_empty(),
        "docs/diagnostics.md lacks sections: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "docs/diagnostics.md has sections for no code: {extra:?}"
    );
    assert_eq!(found, expected, "sections must follow the order of CODES");
}

#[test]
fn every_section_has_a_groovy_example() {
    let doc = read_doc();
    let without: Vec<String> = sections(&doc)
        .into_iter()
        .filter(|s| s.examples.is_empty() && s.fixes.is_empty())
        .map(|s| s.heading)
        .collect();
    assert!(
        without.is_empty(),
        "sections without a ```groovy example: {without:?}"
    );
}

/// The (line, code) pairs the compiler reports for an example, and its rendering.
fn check(text: &str) -> (BTreeSet<(usize, String)>, String) {
    let mut analysis = Analysis::new();
    let mut files = Files::new();
    for source in std_sources() {
        files.add(source.file, source.path, source.text);
    }
    for (index, (module, module_text)) in modules(text).into_iter().enumerate() {
        let id = FileId(index as u32);
        files.add(id, "example.emx", module_text.clone());
        analysis.set_file(id, &module, module_text);
    }
    if let Some(pools) = declared_pools(text) {
        analysis.set_declared_pools(pools);
    }
    let diagnostics = analysis.diagnostics();
    let found = diagnostics
        .iter()
        .map(|d| {
            let line = files.position(d.primary.file, d.primary.span.start).line;
            (line, d.code.code.to_string())
        })
        .collect();
    (found, human::render(&diagnostics, &files, false))
}

#[test]
fn examples_behave_as_documented() {
    let doc = read_doc();
    let mut failures = Vec::new();
    for section in sections(&doc) {
        let code = section
            .heading
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_string();
        for example in &section.examples {
            let expected = expectations(example);
            if !expected.iter().any(|(_, c)| *c == code) {
                failures.push(format!(
                    "{}: an example does not mark `{code}`:\n{example}",
                    section.heading
                ));
            }
            let (found, rendered) = check(example);
            if found != expected {
                failures.push(format!(
                    "{}: expected {expected:?}, found {found:?}\n{example}\n{rendered}",
                    section.heading
                ));
            }
        }
        for fix in &section.fixes {
            let (found, rendered) = check(fix);
            if !found.is_empty() || !expectations(fix).is_empty() {
                failures.push(format!(
                    "{}: the fix does not check clean\n{fix}\n{rendered}",
                    section.heading
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_section_states_the_summary_of_its_code() {
    let doc = read_doc();
    for info in CODES {
        let heading = format!("## {} {}\n", info.code.code, info.code.name);
        let Some(start) = doc.find(&heading) else {
            panic!("no section {heading}");
        };
        let body = &doc[start + heading.len()..];
        let body = &body[..body.find("\n## ").unwrap_or(body.len())];
        assert!(
            body.contains(info.summary),
            "the section for {} does not state its summary: {:?}",
            info.code.code,
            info.summary
        );
    }
}
