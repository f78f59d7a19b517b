//! Signature help: the parameters of the call being typed, for functions, helpers,
//! records (their fields) and built-ins. It reads the text before the cursor, because
//! a call being typed rarely parses.

use crate::builtins::{BUILTINS, Receiver};
use crate::db::{Db, SourceFile};
use crate::scope::{DeclKind, Symbol, module_decl, module_scope};
use crate::signatures::{def_sig, function_sig, record_sig};
use crate::types::Type;

/// The signature of the call around the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHelp {
    /// Such as `inspect(url: String): Inspection`.
    pub label: String,
    /// Each parameter as written in `label`.
    pub params: Vec<String>,
    /// The parameter being typed.
    pub active: u32,
    pub doc: Option<String>,
}

/// The innermost unclosed `(` before the end of `text` and the commas after it.
fn open_call(text: &str) -> Option<(usize, u32)> {
    let mut stack: Vec<(char, usize, u32)> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek().is_some_and(|(_, c)| *c == '/') => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' | '{' => stack.push((c, i, 0)),
            ')' | ']' | '}' => {
                stack.pop();
            }
            ',' => {
                if let Some(top) = stack.last_mut() {
                    top.2 += 1;
                }
            }
            _ => {}
        }
    }
    match stack.last() {
        Some(('(', at, commas)) => Some((*at, *commas)),
        _ => None,
    }
}

/// The parameters inside a built-in's `name(a: A, f: (T) -> R): Ret`.
fn builtin_params(signature: &str) -> Vec<String> {
    let Some(open) = signature.find('(') else {
        return Vec::new();
    };
    let mut depth = 0;
    let mut params = Vec::new();
    let mut current = String::new();
    for c in signature[open + 1..].chars() {
        match c {
            '(' | '[' | '<' => depth += 1,
            ')' | ']' | '>' if depth == 0 => break,
            ')' | ']' | '>' => depth -= 1,
            ',' if depth == 0 => {
                params.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        params.push(current.trim().to_string());
    }
    params
}

fn decl_help(db: &dyn Db, symbol: &Symbol) -> Option<SignatureHelp> {
    let Symbol::Decl(kind, key) = symbol else {
        return None;
    };
    let (params, ret) = match kind {
        DeclKind::Function => {
            let sig = function_sig(db, key)?;
            (sig.params, sig.ret)
        }
        DeclKind::Def => {
            let sig = def_sig(db, key)?;
            (sig.params, sig.ret)
        }
        DeclKind::Record => (record_sig(db, key)?.fields, Type::Record(key.clone())),
        _ => return None,
    };
    let params: Vec<String> = params
        .iter()
        .map(|p| {
            let default = if p.has_default { " = …" } else { "" };
            format!("{}: {}{default}", p.name, p.ty)
        })
        .collect();
    Some(SignatureHelp {
        label: format!("{}({}): {ret}", key.name, params.join(", ")),
        params,
        active: 0,
        doc: None,
    })
}

pub(super) fn signature_help(db: &dyn Db, file: SourceFile, offset: u32) -> Option<SignatureHelp> {
    let before = file.text(db).get(..offset as usize)?;
    let (open, commas) = open_call(before)?;
    let head = before[..open].trim_end();
    let start = head
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '?'))
        .map_or(0, |i| i + 1);
    let callee: Vec<&str> = head[start..]
        .split('.')
        .map(|s| s.trim_end_matches('?'))
        .collect();
    let name = *callee.last()?;
    if name.is_empty() {
        return None;
    }
    let scope = module_scope(db, file);
    let found = match callee.as_slice() {
        [only] => scope.get(only).and_then(|s| decl_help(db, s)).or_else(|| {
            BUILTINS
                .iter()
                .find(|b| b.receiver == Receiver::Global && b.name == *only)
                .map(|b| SignatureHelp {
                    label: b.signature.to_string(),
                    params: builtin_params(b.signature),
                    active: 0,
                    doc: Some(b.doc.to_string()),
                })
        }),
        [first, .., last] => {
            let via_module = match scope.get(first) {
                Some(Symbol::Module(m)) => module_decl(db, m, last),
                _ => None,
            };
            via_module.and_then(|s| decl_help(db, &s)).or_else(|| {
                BUILTINS
                    .iter()
                    .find(|b| b.receiver != Receiver::Global && b.name == *last)
                    .map(|b| SignatureHelp {
                        label: b.signature.to_string(),
                        params: builtin_params(b.signature),
                        active: 0,
                        doc: Some(b.doc.to_string()),
                    })
            })
        }
        [] => None,
    };
    let mut help = found?;
    help.active = commas.min(help.params.len().saturating_sub(1) as u32);
    Some(help)
}
