//! What the ui tests and the documentation test share: examples written as several
//! modules in one text, and the diagnostics they mark inline.

#![allow(dead_code)]

use std::collections::BTreeSet;

/// Splits an example into modules at `// --- module NAME` lines, blanking the other
/// modules' text so that line numbers stay those of the whole example.
pub fn modules(text: &str) -> Vec<(String, String)> {
    let mut starts: Vec<(usize, String)> = vec![(0, "main".to_string())];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(name) = line.trim().strip_prefix("// --- module ") {
            starts.push((offset, name.trim().to_string()));
        }
        offset += line.len();
    }
    let mut out = Vec::new();
    for (i, (start, name)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |(s, _)| *s);
        if i == 0 && starts.len() > 1 && text[..end].trim().is_empty() {
            continue;
        }
        let blanked: String = text
            .char_indices()
            .map(|(at, c)| {
                if (*start..end).contains(&at) || c == '\n' {
                    c
                } else {
                    ' '
                }
            })
            .collect();
        out.push((name.clone(), blanked));
    }
    out
}

/// The (line, code) pairs marked in an example.
pub fn expectations(text: &str) -> BTreeSet<(usize, String)> {
    let mut out = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        for marker in ["// error:", "// warning:"] {
            if let Some(at) = line.find(marker) {
                for code in line[at + marker.len()..].split_whitespace() {
                    out.insert((number + 1, code.to_string()));
                }
            }
        }
    }
    out
}

/// The pools declared by a `// pools: a, b` line, standing for the project's
/// `cosmos.toml`.
pub fn declared_pools(text: &str) -> Option<Vec<String>> {
    let line = text.lines().find(|l| l.starts_with("// pools:"))?;
    Some(
        line["// pools:".len()..]
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
    )
}
