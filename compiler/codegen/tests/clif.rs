//! Golden snapshots of the Cranelift IR of small programs (`cosmosc compile --emit
//! clif`): a change in code generation shows up as a reviewable diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_codegen::Jit;

/// The CLIF of the program's own bodies (the standard library's are left out).
fn clif(source: &str) -> String {
    let program = support::lower_source(source).unwrap();
    let std_helpers: Vec<String> = support::lower_source("")
        .unwrap()
        .helpers
        .iter()
        .map(|h| h.name.clone())
        .collect();
    let text = Jit::clif(&program).unwrap();
    text.split(";; ")
        .filter(|section| {
            let name = section.lines().next().unwrap_or_default();
            !section.is_empty() && !std_helpers.iter().any(|h| h == name)
        })
        .map(|section| format!(";; {section}"))
        .collect()
}

#[test]
fn checked_integer_arithmetic() {
    insta::assert_snapshot!(clif("def area(w: Int, h: Int): Int { w * h + 1 }\n"));
}

#[test]
fn a_match_reads_facts_at_fixed_offsets() {
    insta::assert_snapshot!(clif(
        r#"
workflow Gate {
    input { region: String }
    facts { attempts: Int = 0, approved: Bool = false }
    rule "retry" {
        match { !approved && attempts < 3 && region == "eu" }
        action { attempts }
    }
}
"#
    ));
}

#[test]
fn a_closure_is_inlined_as_a_loop() {
    insta::assert_snapshot!(clif(
        "def anyLarge(xs: List<Int>, limit: Int): Bool { xs.any { it > limit } }\n"
    ));
}

#[test]
fn a_reaction_assigns_facts() {
    insta::assert_snapshot!(clif(
        r#"
workflow Tally {
    facts { total: Int = 0, names: List<String> = [] }
    rule "add" {
        match { total < 10 }
        action { "x" }
        reaction {
            total += 1
            names << result
        }
    }
}
"#
    ));
}

#[test]
fn the_text_is_deterministic() {
    let source = "def f(a: Int): String { \"${a}-${a + 1}\" }\n";
    assert_eq!(clif(source), clif(source));
}
