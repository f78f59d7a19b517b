//! "Did you mean" suggestions for near-miss names.

use cosmos_diagnostics::{Diagnostic, Suggestion};

/// Offers `replacement` for the diagnostic's primary span, as ``did you mean `shown`?``
/// (`shown` is written as is, quotes and all).
pub fn offer(diagnostic: &mut Diagnostic, shown: &str, replacement: &str) {
    let suggestion = Suggestion::replace(
        format!("did you mean {shown}?"),
        diagnostic.primary.file,
        diagnostic.primary.span,
        replacement,
    );
    diagnostic.suggestions.push(suggestion);
}

/// Offers the name `name` for the diagnostic's primary span.
pub fn offer_name(diagnostic: &mut Diagnostic, name: &str) {
    offer(diagnostic, &format!("`{name}`"), name);
}

/// The candidate closest to `name` by edit distance, when it is close enough to be a
/// likely typo (at most a third of the name's length, and at least one edit allowed).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, treating a case-only difference as one edit in total.
pub fn edit_distance(a: &str, b: &str) -> usize {
    if a.eq_ignore_ascii_case(b) {
        return 1;
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("inspction", ["inspection", "encodes"]),
            Some("inspection")
        );
        assert_eq!(did_you_mean("x", ["inspection"]), None);
        assert_eq!(did_you_mean("Codec", ["codec"]), Some("codec"));
    }
}
