//! Agreement in diagnostic messages: the indefinite article a word takes ("an `Int`",
//! "a `String`") and a count with its noun ("1 parameter", "2 parameters"), so that
//! no message builds them by hand.

/// `word` after its indefinite article: `"an `Int`"`, `"a `String`"`, `"an enum"`.
/// Leading backticks and quotes are skipped; the article follows the first letter's
/// sound, with the common exceptions (`"a `Unit`"`, `"a user"`, `"an hour"`).
pub fn a(word: &str) -> String {
    format!("{} {word}", article(word))
}

/// The indefinite article `word` takes: `"a"` or `"an"`.
pub fn article(word: &str) -> &'static str {
    let bare = word
        .trim_start_matches(['`', '"', '\''])
        .to_ascii_lowercase();
    const CONSONANT_SOUND: [&str; 6] = ["uni", "use", "usu", "uti", "eu", "one"];
    const VOWEL_SOUND: [&str; 3] = ["hour", "honest", "honour"];
    if CONSONANT_SOUND.iter().any(|p| bare.starts_with(p)) {
        return "a";
    }
    if VOWEL_SOUND.iter().any(|p| bare.starts_with(p)) {
        return "an";
    }
    match bare.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// `n` and `noun` in agreement: `count(1, "parameter")` is `"1 parameter"`,
/// `count(2, "parameter")` is `"2 parameters"`. The plural adds `s` (`es` after
/// `s`, `x`, `ch`, `sh`).
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {}", plural(n, noun))
}

/// `noun` in the number `n` asks for, without the number.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        noun.to_string()
    } else if ["s", "x", "ch", "sh"].iter().any(|e| noun.ends_with(e)) {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

/// `"is"` for one, `"are"` for any other number.
pub fn is_are(n: usize) -> &'static str {
    if n == 1 { "is" } else { "are" }
}

/// `"was"` for one, `"were"` for any other number.
pub fn was_were(n: usize) -> &'static str {
    if n == 1 { "was" } else { "were" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_follow_the_sound() {
        assert_eq!(a("`Int`"), "an `Int`");
        assert_eq!(a("`String`"), "a `String`");
        assert_eq!(a("enum"), "an enum");
        assert_eq!(a("`Unit`"), "a `Unit`");
        assert_eq!(a("`Inspection`"), "an `Inspection`");
        assert_eq!(a("`Optional`"), "an `Optional`");
        assert_eq!(a("helper"), "a helper");
        assert_eq!(a("`List<Int>`"), "a `List<Int>`");
    }

    #[test]
    fn counts_agree() {
        assert_eq!(count(1, "parameter"), "1 parameter");
        assert_eq!(count(0, "parameter"), "0 parameters");
        assert_eq!(count(2, "match"), "2 matches");
        assert_eq!(is_are(1), "is");
        assert_eq!(is_are(3), "are");
        assert_eq!(was_were(1), "was");
        assert_eq!(was_were(0), "were");
    }
}
