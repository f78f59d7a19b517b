//! `parse` never panics and always returns: the example sources, mutated at random
//! (deletions, duplications, character flips, truncations), all parse to some
//! module and errors whose spans lie inside the text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers may fail loudly.

use cosmos_syntax::parse;
use cosmos_test_support as support;
use proptest::prelude::*;

/// The modules of the corpus project `encode-title`.
fn sources() -> Vec<String> {
    support::modules(&support::encode_title(), &["main", "tests", "media.types"])
        .into_iter()
        .map(|(_, text)| text)
        .collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Duplicate { at: usize, len: usize },
    Replace { at: usize, with: char },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(vec![
        '{', '}', '(', ')', '[', ']', '"', '\'', '$', '\\', '\n', ' ', '.', ',', ':', '=', '?',
        '/', '*', '-', '<', '>', '!', '0', 'x', 'é', '😀', '\r', ';', '`',
    ]);
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 1usize..80).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (any::<usize>(), interesting).prop_map(|(at, with)| Mutation::Replace { at, with }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

/// Applies mutations on character boundaries, so the text stays UTF-8.
fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        let n = chars.len().max(1);
        match *m {
            Mutation::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Mutation::Duplicate { at, len } => {
                let at = at % n;
                let end = (at + len).min(chars.len());
                let copy: Vec<char> = chars[at.min(end)..end].to_vec();
                chars.splice(end..end, copy);
            }
            Mutation::Replace { at, with } => {
                if !chars.is_empty() {
                    let at = at % chars.len();
                    chars[at] = with;
                }
            }
            Mutation::Truncate { at } => chars.truncate(at % n),
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5a7a_2026), ..ProptestConfig::default() })]

    #[test]
    fn mutated_examples_parse_without_panicking(
        file in 0usize..3,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let text = apply(&sources()[file], &mutations);
        let (module, errors) = parse(&text);
        for error in &errors {
            prop_assert!(error.span.end as usize <= text.len(), "{error:?}");
            prop_assert!(error.span.start <= error.span.end, "{error:?}");
            let _ = error.message();
        }
        for item in &module.items {
            prop_assert!(item.span.end as usize <= text.len());
        }
    }

    #[test]
    fn arbitrary_text_parses_without_panicking(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }
}

#[test]
fn degenerate_inputs() {
    for text in [
        "",
        "\n",
        "}",
        "{",
        "\"",
        "'''",
        "\"\"\"",
        "/*",
        "/**",
        "$",
        "${",
        "workflow",
        "workflow W {",
        "test",
        "import",
        "def",
        "\u{feff}",
        "type T { a: Int = \"${\" }",
    ] {
        let _ = parse(text);
    }
    let (module, errors) = parse("");
    assert!(module.items.is_empty() && errors.is_empty());
}
