//! A bound on how much of the caller's stack a recursive walk may use, measured, not
//! guessed: frame sizes differ between debug and release builds by an order of
//! magnitude, so a limit on nesting levels is either too strict or unsafe.

use std::hint::black_box;

/// The most stack a walk (lowering, interpretation) may use below where it started.
/// Threads get at least 2 MiB by default, so 1 MiB leaves the caller its share.
pub const STACK_BUDGET: usize = 1 << 20;

#[derive(Debug, Clone, Copy)]
pub struct StackGuard {
    base: usize,
}

fn here() -> usize {
    let marker = 0u8;
    black_box(&marker as *const u8 as usize)
}

impl StackGuard {
    /// Marks the current depth as the start of the walk.
    pub fn new() -> Self {
        StackGuard { base: here() }
    }

    /// Whether the walk has used up its budget.
    pub fn exceeded(&self) -> bool {
        self.base.abs_diff(here()) > STACK_BUDGET
    }
}

impl Default for StackGuard {
    fn default() -> Self {
        Self::new()
    }
}
