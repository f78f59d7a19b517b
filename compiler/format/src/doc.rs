//! A small Wadler-style document: text, line breaks that a group may print flat,
//! and a printer that breaks a group only when its flat form would not fit.

/// The widest line the printer aims for.
pub(crate) const WIDTH: usize = 100;
const INDENT: usize = 4;

#[derive(Debug, Clone)]
pub(crate) enum Doc {
    Text(String),
    Concat(Vec<Doc>),
    Indent(Box<Doc>),
    /// Printed flat when it fits on the line, else broken. `broken` is set before
    /// printing for a group that holds a hard break.
    Group {
        doc: Box<Doc>,
        broken: bool,
    },
    /// A space when flat, a newline when broken.
    Line,
    /// Nothing when flat, a newline when broken.
    SoftLine,
    /// Always a newline; breaks every enclosing group.
    HardLine,
    /// An empty line, then a newline: a kept blank line.
    BlankLine,
    /// Breaks every enclosing group and prints nothing (after a line comment).
    BreakParent,
    /// `broken` in a broken group, `flat` in a flat one.
    IfBreak {
        broken: Box<Doc>,
        flat: Box<Doc>,
    },
}

pub(crate) fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}

pub(crate) fn concat(docs: Vec<Doc>) -> Doc {
    Doc::Concat(docs)
}

pub(crate) fn indent(doc: Doc) -> Doc {
    Doc::Indent(Box::new(doc))
}

pub(crate) fn group(doc: Doc) -> Doc {
    Doc::Group {
        doc: Box::new(doc),
        broken: false,
    }
}

pub(crate) fn if_break(broken: Doc, flat: Doc) -> Doc {
    Doc::IfBreak {
        broken: Box::new(broken),
        flat: Box::new(flat),
    }
}

pub(crate) fn nil() -> Doc {
    Doc::Concat(Vec::new())
}

/// Marks every group that holds a hard break as broken; returns whether `doc` holds one.
fn propagate(doc: &mut Doc) -> bool {
    match doc {
        Doc::Text(_) | Doc::Line | Doc::SoftLine => false,
        Doc::HardLine | Doc::BlankLine | Doc::BreakParent => true,
        Doc::Concat(docs) => docs.iter_mut().fold(false, |hard, d| propagate(d) | hard),
        Doc::Indent(inner) => propagate(inner),
        Doc::Group { doc, broken } => {
            let hard = propagate(doc);
            *broken |= hard;
            hard
        }
        Doc::IfBreak { broken, flat } => propagate(broken) | propagate(flat),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

/// Prints a document. Lines never end in spaces; the text ends without a newline.
pub(crate) fn print(mut doc: Doc) -> String {
    propagate(&mut doc);
    let mut out = String::new();
    let mut column = 0usize;
    let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Break, &doc)];
    while let Some((ind, mode, doc)) = stack.pop() {
        match doc {
            Doc::Text(s) => {
                out.push_str(s);
                column = match s.rfind('\n') {
                    Some(at) => width(&s[at + 1..]),
                    None => column + width(s),
                };
            }
            Doc::Concat(docs) => stack.extend(docs.iter().rev().map(|d| (ind, mode, d))),
            Doc::Indent(inner) => stack.push((ind + INDENT, mode, inner)),
            Doc::Group { doc: inner, broken } => {
                let flat = mode == Mode::Flat
                    || (!*broken && fits(inner, WIDTH.saturating_sub(column), &stack));
                stack.push((ind, if flat { Mode::Flat } else { Mode::Break }, inner));
            }
            Doc::Line | Doc::SoftLine if mode == Mode::Flat => {
                if matches!(doc, Doc::Line) {
                    out.push(' ');
                    column += 1;
                }
            }
            Doc::Line | Doc::SoftLine | Doc::HardLine => column = newline(&mut out, ind),
            Doc::BlankLine => {
                newline(&mut out, 0);
                column = newline(&mut out, ind);
            }
            Doc::BreakParent => {}
            Doc::IfBreak { broken, flat } => {
                stack.push((ind, mode, if mode == Mode::Break { broken } else { flat }));
            }
        }
    }
    let trimmed = out.trim_end_matches([' ', '\t']).len();
    out.truncate(trimmed);
    out
}

fn newline(out: &mut String, ind: usize) -> usize {
    let trimmed = out.trim_end_matches([' ', '\t']).len();
    out.truncate(trimmed);
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', ind));
    ind
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Whether `doc`, printed flat, and what follows it up to the next line break fit
/// in `room` columns.
fn fits(doc: &Doc, room: usize, rest: &[(usize, Mode, &Doc)]) -> bool {
    let mut room = room as isize;
    let mut rest = rest.iter().rev();
    let mut stack: Vec<(Mode, &Doc)> = vec![(Mode::Flat, doc)];
    loop {
        let Some((mode, doc)) = stack.pop().or_else(|| rest.next().map(|&(_, m, d)| (m, d))) else {
            return true;
        };
        match doc {
            Doc::Text(s) => match s.find('\n') {
                Some(at) => return width(&s[..at]) as isize <= room,
                None => room -= width(s) as isize,
            },
            Doc::Concat(docs) => stack.extend(docs.iter().rev().map(|d| (mode, d))),
            Doc::Indent(inner) => stack.push((mode, inner)),
            Doc::Group { doc: inner, broken } => {
                stack.push((if *broken { Mode::Break } else { mode }, inner));
            }
            Doc::Line | Doc::SoftLine if mode == Mode::Flat => {
                if matches!(doc, Doc::Line) {
                    room -= 1;
                }
            }
            Doc::Line | Doc::SoftLine | Doc::HardLine | Doc::BlankLine => return true,
            Doc::BreakParent => {}
            Doc::IfBreak { broken, flat } => {
                stack.push((mode, if mode == Mode::Break { broken } else { flat }));
            }
        }
        if room < 0 {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_line_prints_an_empty_line() {
        let doc = concat(vec![text("a"), Doc::BlankLine, text("b")]);
        assert_eq!(print(doc), "a\n\nb");
    }
}
