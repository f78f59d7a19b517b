//! A [`Suggestion`] shown as text: `help: <message>`, then for each file the lines its
//! edits touch, before (`-`) and after (`+`), numbered as in the file. A suggestion
//! whose edits do not fit the text (outside it, inside a character, overlapping) is
//! shown by its message alone.

use std::collections::BTreeMap;

use crate::{Edit, FileId, Files, Suggestion};

/// The note the human renderer adds for `suggestion` of a diagnostic in `home`; lines
/// of other files are headed by the file's path.
pub(crate) fn note(suggestion: &Suggestion, files: &Files, home: FileId) -> String {
    let mut out = format!("help: {}", suggestion.message);
    let mut by_file: BTreeMap<FileId, Vec<&Edit>> = BTreeMap::new();
    for edit in &suggestion.edits {
        by_file.entry(edit.file).or_default().push(edit);
    }
    for (file, mut edits) in by_file {
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        if let Some(text) = files.text(file)
            && let Some(lines) = before_after(text, &edits)
        {
            if file != home {
                out.push_str(&format!("\n{}:", files.path(file)));
            }
            out.push_str(&lines);
        }
    }
    out
}

/// The lines `edits` (sorted) touch in `text`, before and after, each line starting
/// with a newline.
fn before_after(text: &str, edits: &[&Edit]) -> Option<String> {
    let first = edits.first()?;
    let last = edits.last()?;
    let start = first.span.start as usize;
    let end = last.span.end as usize;
    if edits
        .windows(2)
        .any(|pair| pair[0].span.end > pair[1].span.start)
        || edits.iter().any(|e| e.span.end < e.span.start)
    {
        return None;
    }
    text.get(start..end)?;
    let region_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    // An edit that takes a whole line, newline included, ends the region there.
    let region_end = if end > start && text[..end].ends_with('\n') {
        end
    } else {
        text[end..].find('\n').map_or(text.len(), |i| end + i)
    };
    let mut after = String::new();
    let mut at = region_start;
    for edit in edits {
        let (s, e) = (edit.span.start as usize, edit.span.end as usize);
        after.push_str(text.get(at..s)?);
        after.push_str(&edit.replacement);
        at = e;
    }
    after.push_str(text.get(at..region_end)?);
    let before = &text[region_start..region_end];
    if before == after {
        return None;
    }
    let number = text[..region_start].matches('\n').count() + 1;
    let lines = |s: &str| -> Vec<String> {
        let s = s.strip_suffix('\n').unwrap_or(s);
        if s.is_empty() {
            return Vec::new();
        }
        s.split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
            .collect()
    };
    let (old, new) = (lines(before), lines(&after));
    let width = (number + old.len().max(new.len())).to_string().len();
    let mut out = String::new();
    for (sign, lines) in [('-', &old), ('+', &new)] {
        for (i, line) in lines.iter().enumerate() {
            out.push_str(&format!("\n{:>width$} {sign} {line}", number + i));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;

    fn files() -> Files {
        let mut files = Files::new();
        files.add(
            FileId(0),
            "src/main.emx",
            "import a { B }\ndef f(): Int {\n    def x = 1\r\n    2\n}\n",
        );
        files
    }

    #[test]
    fn replacement_shows_the_line_before_and_after() {
        let s = Suggestion::replace("did you mean `g`?", FileId(0), Span::new(19, 20), "g");
        assert_eq!(
            note(&s, &files(), FileId(0)),
            "help: did you mean `g`?\n2 - def f(): Int {\n2 + def g(): Int {"
        );
    }

    #[test]
    fn removing_a_whole_line_leaves_no_line_after() {
        let s = Suggestion::replace("remove the local", FileId(0), Span::new(30, 45), "");
        assert_eq!(
            note(&s, &files(), FileId(0)),
            "help: remove the local\n3 -     def x = 1"
        );
    }

    #[test]
    fn edits_that_do_not_fit_show_the_message_only() {
        let outside = Suggestion::replace("x", FileId(0), Span::new(90, 95), "y");
        assert_eq!(note(&outside, &files(), FileId(0)), "help: x");
        let overlapping = Suggestion::new(
            "x",
            vec![
                Edit::new(FileId(0), Span::new(0, 6), "a"),
                Edit::new(FileId(0), Span::new(3, 8), "b"),
            ],
        );
        assert_eq!(note(&overlapping, &files(), FileId(0)), "help: x");
        let unknown = Suggestion::replace("x", FileId(7), Span::new(0, 1), "y");
        assert_eq!(note(&unknown, &files(), FileId(0)), "help: x");
    }
}
