//! Byte spans in source text and opaque file identities.

use serde::{Deserialize, Serialize};

/// A half-open byte range `start..end` in one file's text.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub const fn new(start: u32, end: u32) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }

    pub fn contains(self, offset: u32) -> bool {
        self.start <= offset && offset <= self.end
    }

    /// This span moved by `delta` bytes (used to rebase body-relative spans).
    pub fn shifted(self, delta: i64) -> Span {
        let move_by = |x: u32| (i64::from(x) + delta).clamp(0, i64::from(u32::MAX)) as u32;
        Span {
            start: move_by(self.start),
            end: move_by(self.end),
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// An opaque file identity assigned by the host (CLI, LSP, tests); the compiler never
/// reads files itself.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct FileId(pub u32);
