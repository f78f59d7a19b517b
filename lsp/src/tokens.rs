//! Semantic tokens over the wire: the whole file, a range of it, or the edit from the
//! last answer for the same file (`full/delta`). A 24,000-line file is about 80,000
//! tokens, 2 MB of JSON; an editor that asks for the delta after an edit gets the few
//! integers that changed instead.

use crate::convert;
use crate::position::LineIndex;
use cosmos_semantics::ide::TokenKind;
use std::collections::HashMap;
use tower_lsp_server::ls_types::{
    Range, SemanticToken, SemanticTokens, SemanticTokensDelta, SemanticTokensEdit, Uri,
};

/// The last answer sent for each file, by URI, for `full/delta`.
#[derive(Default)]
pub struct SentTokens {
    next_id: u64,
    sent: HashMap<Uri, (String, Vec<SemanticToken>)>,
}

impl SentTokens {
    /// The whole file's tokens, remembered for a later delta.
    pub fn full(&mut self, uri: &Uri, data: Vec<SemanticToken>) -> SemanticTokens {
        self.next_id += 1;
        let id = self.next_id.to_string();
        self.sent.insert(uri.clone(), (id.clone(), data.clone()));
        SemanticTokens {
            result_id: Some(id),
            data,
        }
    }

    /// The edit from the answer `previous` to `data`, or the whole file when
    /// `previous` is not the last answer for this file.
    pub fn delta(
        &mut self,
        uri: &Uri,
        previous: &str,
        data: Vec<SemanticToken>,
    ) -> Result<SemanticTokensDelta, SemanticTokens> {
        let old = match self.sent.get(uri) {
            Some((id, old)) if id == previous => old.clone(),
            _ => return Err(self.full(uri, data)),
        };
        let edit = edit(&old, &data);
        let full = self.full(uri, data);
        Ok(SemanticTokensDelta {
            result_id: full.result_id,
            edits: edit.into_iter().collect(),
        })
    }

    /// A file was closed: its last answer is of no more use.
    pub fn forget(&mut self, uri: &Uri) {
        self.sent.remove(uri);
    }
}

/// The one edit (common prefix and suffix kept) that turns `old` into `new`; none when
/// they are equal. Starts and counts are in integers, five to a token.
fn edit(old: &[SemanticToken], new: &[SemanticToken]) -> Option<SemanticTokensEdit> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let removed = old.len() - prefix - suffix;
    let inserted = &new[prefix..new.len() - suffix];
    if removed == 0 && inserted.is_empty() {
        return None;
    }
    Some(SemanticTokensEdit {
        start: (prefix * 5) as u32,
        delete_count: (removed * 5) as u32,
        data: Some(inserted.to_vec()),
    })
}

/// The tokens that start within `range` (lines and characters as LSP counts them).
pub fn in_range(
    lines: &LineIndex,
    tokens: &[(cosmos_diagnostics::Span, TokenKind)],
    range: Range,
) -> Vec<SemanticToken> {
    let (start, end) = (lines.offset(range.start), lines.offset(range.end));
    let from = tokens.partition_point(|(span, _)| span.end <= start);
    let to = tokens.partition_point(|(span, _)| span.start < end);
    convert::semantic_tokens(lines, tokens.get(from..to.max(from)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(delta_line: u32) -> SemanticToken {
        SemanticToken {
            delta_line,
            delta_start: 0,
            length: 1,
            token_type: 0,
            token_modifiers_bitset: 0,
        }
    }

    #[test]
    fn the_edit_keeps_the_common_prefix_and_suffix() {
        let old = [token(1), token(2), token(3), token(4)];
        let new = [token(1), token(9), token(8), token(4)];
        let e = edit(&old, &new).unwrap();
        assert_eq!((e.start, e.delete_count), (5, 10));
        assert_eq!(e.data.unwrap(), vec![token(9), token(8)]);
        assert!(edit(&old, &old).is_none());
        let grown = edit(&old[..2], &old).unwrap();
        assert_eq!((grown.start, grown.delete_count), (10, 0));
        assert_eq!(grown.data.unwrap(), vec![token(3), token(4)]);
    }

    #[test]
    fn a_delta_from_an_unknown_answer_is_the_whole_file() {
        let uri: Uri = "file:///a.emx".parse().unwrap();
        let mut sent = SentTokens::default();
        let first = sent.full(&uri, vec![token(1), token(2)]);
        let id = first.result_id.unwrap();
        let delta = sent
            .delta(&uri, &id, vec![token(1), token(3)])
            .ok()
            .unwrap();
        assert_eq!(delta.edits.len(), 1);
        assert_ne!(delta.result_id.as_deref(), Some(id.as_str()));
        // The old id is no longer the last answer.
        assert!(sent.delta(&uri, &id, vec![token(1)]).is_err());
    }
}
