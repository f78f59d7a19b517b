//! Turns a pest error into a [`SyntaxError`] of facts: what was expected, in words,
//! and what was found, at an absolute span.
//!
//! pest's rule-level "positives" are mapped to words; when they say too little, the
//! chunk is parsed again with pest's token tracking on to learn which punctuation
//! (`}`, `)`, a newline) would have fitted.

use std::sync::Mutex;

use pest::Parser as _;
use pest::error::{Error, ErrorVariant, InputLocation};
use pest::set_error_detail;

use super::grammar::{EmxParser, Rule};
use super::scan::{MAX_NESTING, offset};
use super::{SyntaxError, SyntaxErrorKind};
use crate::Span;

/// pest's token tracking is a global switch; re-parses that need it take turns.
static DETAIL: Mutex<()> = Mutex::new(());

/// `rule` failed on `text[base..end]`.
pub(crate) fn convert(
    rule: Rule,
    text: &str,
    base: usize,
    end: usize,
    error: Error<Rule>,
) -> SyntaxError {
    let chunk = text.get(base..end).unwrap_or("");
    let mut pos = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    let mut words: Vec<String> = Vec::new();
    match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            for rule in positives {
                push_unique(&mut words, rule_words(*rule));
            }
        }
        ErrorVariant::CustomError { .. } => {
            return SyntaxError {
                kind: SyntaxErrorKind::TooDeeplyNested { limit: MAX_NESTING },
                span: Span::new(offset(base + pos), offset(base + pos)),
            };
        }
    }
    let mut tokens = Vec::new();
    let mut in_string = false;
    if let Some((max_position, expected, string)) = detailed_tokens(rule, chunk) {
        // pest's rule-level position lags behind when only a literal token was
        // tried further on (`:` after `f(x: Int)`); the tracked one is where
        // parsing really stopped.
        if max_position > pos && !expected.is_empty() {
            pos = max_position;
            words.clear();
        }
        if max_position == pos {
            tokens = expected;
            in_string = string;
        }
    }
    // What was found is read from the whole file: a chunk ends where the next
    // declaration begins, and that is what the reader sees.
    let (found, span) = found_at(text, base + pos, text.len());
    let at_chunk_end = chunk.get(pos..).is_none_or(|rest| rest.trim().is_empty());
    let mut expected = if in_string {
        tokens.iter().map(|t| format!("`{t}`")).collect()
    } else {
        tidy(words, tokens, at_chunk_end)
    };
    let at_chunk_start = chunk.get(..pos).is_some_and(|before| {
        before
            .trim_matches(|c: char| c.is_whitespace() || c == ';')
            .is_empty()
    });
    // After a whole declaration only another one may follow (the chunk ends
    // where the next begins), so "end of file" would mislead.
    let after_unit = expected.iter().any(|w| w == "end of file");
    if expected.is_empty() || at_chunk_start || after_unit {
        expected.clear();
        match rule {
            Rule::chunk => expected.push("a declaration".to_string()),
            Rule::member_chunk => expected.push("a workflow member".to_string()),
            _ => {}
        }
    }
    SyntaxError {
        kind: SyntaxErrorKind::Unexpected { expected, found },
        span,
    }
}

fn push_unique(list: &mut Vec<String>, word: Option<String>) {
    if let Some(word) = word
        && !list.contains(&word)
    {
        list.push(word);
    }
}

/// Tokens that begin an expression: said as "an expression".
const EXPRESSION_START: [&str; 8] = ["!", "\"", "\"\"\"", "'", "'''", "-", "[", "("];
/// Tokens that continue an expression: left out when "an operator" says it all.
const CONTINUATIONS: [&str; 29] = [
    "!=", "%", "&&", "*", "+", "-", "..", "..<", "/", "<", "<=", "==", ">", ">=", "?", "?.", "?:",
    "||", "*=", "+=", "-=", "/=", "<<", "=", ".", "(", "[", "{", "in",
];

/// Merges rule words and punctuation into a short list a person can read.
fn tidy(mut words: Vec<String>, tokens: Vec<String>, at_end: bool) -> Vec<String> {
    let has_operator = words.iter().any(|w| w == "an operator");
    if has_operator {
        words.retain(|w| !matches!(w.as_str(), "`(`" | "`.`" | "`[`" | "`{`"));
    }
    let expression_like = words
        .iter()
        .any(|w| matches!(w.as_str(), "an expression" | "an argument" | "a map entry"));
    let mut starts_expression = false;
    // A newline first, then punctuation.
    let (newlines, others): (Vec<String>, Vec<String>) =
        tokens.into_iter().partition(|t| t == "\n");
    for token in newlines.into_iter().chain(others) {
        if EXPRESSION_START.contains(&token.as_str()) {
            starts_expression = true;
            continue;
        }
        if has_operator && CONTINUATIONS.contains(&token.as_str()) {
            continue;
        }
        let word = if token == "\n" {
            "a newline".to_string()
        } else {
            format!("`{token}`")
        };
        push_unique(&mut words, Some(word));
    }
    if starts_expression && !expression_like && !has_operator {
        words.push("an expression".to_string());
    }
    // A newline is free inside brackets and before an expression, so naming it
    // there says nothing.
    if words.iter().any(|w| {
        matches!(
            w.as_str(),
            "an expression" | "an argument" | "a name" | "a map entry" | "`)`" | "`]`"
        )
    }) {
        words.retain(|w| w != "a newline");
    }
    if at_end {
        let closers: Vec<String> = words
            .iter()
            .filter(|w| matches!(w.as_str(), "`}`" | "`)`" | "`]`" | "`\"`" | "`'`"))
            .cloned()
            .collect();
        if !closers.is_empty() {
            return closers;
        }
    }
    words
}

/// Parses `chunk` again with token tracking and returns where parsing stopped, the
/// literal tokens that would have fitted there, and whether that is inside a string
/// (then only its closing quote is worth naming).
fn detailed_tokens(rule: Rule, chunk: &str) -> Option<(usize, Vec<String>, bool)> {
    let result = {
        let _turn = DETAIL.lock();
        set_error_detail(true);
        let result = EmxParser::parse(rule, chunk);
        set_error_detail(false);
        result
    };
    let attempts = result.err()?.parse_attempts()?;
    let mut tokens = Vec::new();
    // The grammar writes hot single characters as ranges ('x'..'x'); read those as
    // the character, and leave out real ranges (they are character classes).
    let raw: Vec<String> = attempts
        .expected_tokens()
        .iter()
        .map(|t| t.to_string())
        .filter_map(|t| {
            let chars: Vec<char> = t.chars().collect();
            match chars.as_slice() {
                [a, '.', '.', b] if a == b => Some(a.to_string()),
                [_, '.', '.', _] => None,
                _ => Some(t),
            }
        })
        .collect();
    let string_tokens = ["\"", "'", "\"\"\"", "'''", "$", "${", "\\"];
    if !raw.is_empty() && raw.iter().all(|t| string_tokens.contains(&t.as_str())) {
        let quotes = raw
            .into_iter()
            .filter(|t| matches!(t.as_str(), "\"" | "'" | "\"\"\"" | "'''"))
            .collect();
        return Some((attempts.max_position, quotes, true));
    }
    for token in raw {
        let noise = matches!(
            token.as_str(),
            "\r\n" | "//" | "/*" | "BUILTIN_RULE" | "_" | "0x" | ";" | "$" | "${" | "\\" | "u{"
        ) || token.chars().all(|c| {
            c.is_ascii_alphabetic() || (c.is_whitespace() && c != '\n') || c == '\u{feff}'
        }) || token == "|"
            || token == "/";
        if !noise && !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    Some((attempts.max_position, tokens, false))
}

/// What the parser met at `pos`, in words, and its span (relative to `text`).
pub(crate) fn found_at(text: &str, pos: usize, limit: usize) -> (String, Span) {
    let rest = text.get(pos..limit.min(text.len())).unwrap_or("");
    let rest_trimmed = rest.trim_start_matches([' ', '\t']);
    let start = pos + (rest.len() - rest_trimmed.len());
    let Some(first) = rest_trimmed.chars().next() else {
        return (
            "end of file".to_string(),
            Span::new(offset(start), offset(start)),
        );
    };
    let len = if first == '\n' || first == '\r' {
        return (
            "a newline".to_string(),
            Span::new(offset(start), offset(start + 1)),
        );
    } else if first.is_ascii_alphanumeric() || first == '_' {
        rest_trimmed
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count()
    } else {
        first.len_utf8()
    };
    let word = rest_trimmed.get(..len).unwrap_or("");
    (
        format!("`{word}`"),
        Span::new(offset(start), offset(start + len)),
    )
}

/// Grammar rules in the words of the language reference.
fn rule_words(rule: Rule) -> Option<String> {
    let words = match rule {
        Rule::ident | Rule::word | Rule::name | Rule::qualified | Rule::variant => "a name",
        Rule::expr
        | Rule::pexpr
        | Rule::term
        | Rule::prefix_op
        | Rule::paren
        | Rule::list
        | Rule::entry
        | Rule::empty_map
        | Rule::if_expr
        | Rule::else_if
        | Rule::int
        | Rule::float
        | Rule::duration
        | Rule::bool
        | Rule::null
        | Rule::inline_block => "an expression",
        Rule::double | Rule::single | Rule::triple_double | Rule::triple_single => "a string",
        Rule::bin_op | Rule::lead_op | Rule::ternary => "an operator",
        Rule::type_ref | Rule::type_named => "a type",
        Rule::block | Rule::closure | Rule::field_block | Rule::import_list | Rule::test_body => {
            "`{`"
        }
        Rule::call_args | Rule::params | Rule::mock_params => "`(`",
        Rule::index => "`[`",
        Rule::field_access | Rule::safe_access => "`.`",
        Rule::optional_mark => "`?`",
        Rule::field => "a field",
        Rule::param => "a parameter",
        Rule::arg => "an argument",
        Rule::closure_params => "closure parameters",
        Rule::import
        | Rule::type_decl
        | Rule::enum_decl
        | Rule::function_decl
        | Rule::def_decl
        | Rule::workflow
        | Rule::test_decl
        | Rule::schedule_decl => "a declaration",
        Rule::schedule_clause | Rule::schedule_kw | Rule::kw_overlap => "a schedule clause",
        Rule::input_member
        | Rule::facts_member
        | Rule::rule_member
        | Rule::signal_member
        | Rule::complete_member
        | Rule::output_member => "a workflow member",
        Rule::clause | Rule::value_clause_kw | Rule::block_clause_kw => "a rule clause",
        Rule::setting | Rule::setting_kw | Rule::kw_retry => "a function setting",
        Rule::retry_args => "named arguments",
        Rule::let_stmt | Rule::for_stmt | Rule::return_stmt | Rule::expr_stmt => "a statement",
        Rule::start_stmt
        | Rule::mock_stmt
        | Rule::run_stmt
        | Rule::send_stmt
        | Rule::advance_stmt
        | Rule::assert_stmt => "a test statement",
        Rule::duration_unit => "a duration unit",
        Rule::EOI => "end of file",
        Rule::kw_as => "`as`",
        Rule::kw_in => "`in`",
        Rule::kw_else => "`else`",
        Rule::kw_fails => "`fails`",
        Rule::kw_complete => "`complete when`",
        _ => return None,
    };
    Some(words.to_string())
}
