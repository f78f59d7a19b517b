//! Generates large, valid Emx projects for benchmarks and stress tests: `modules`
//! modules of about a thousand lines each, every one type-checking clean.

/// The rules per workflow; each is 13 lines.
const RULES: usize = 60;
/// The helpers per module; each is 15 lines.
const HELPERS: usize = 10;

/// `(module name, text)` for each module of the project.
pub fn project(modules: usize) -> Vec<(String, String)> {
    (0..modules)
        .map(|m| (format!("gen.m{m:03}"), module(m)))
        .collect()
}

/// The text of the rule body that benchmarks edit, and an edit of it.
pub const EDIT_FROM: &str = "total += result.width * 2";
pub const EDIT_TO: &str = "total += result.width * 3 + 1";

fn module(m: usize) -> String {
    let mut s = String::new();
    if m > 0 {
        s.push_str("import gen.m000 { Level }\n\n");
    } else {
        s.push_str("/** Shared across generated modules. */\nenum Level { LOW, MEDIUM, HIGH }\n\n");
    }
    s.push_str(&format!(
        "/** A probe result. */\ntype Probe{m} {{\n    width: Int\n    height: Int\n    label: String\n    tags: List<String> = []\n    score: Float?\n    level: Level = Level.LOW\n}}\n\n"
    ));
    s.push_str(&format!(
        "/** Probes one source. */\nfunction probe{m}(url: String, height: Int): Probe{m} {{\n    command [\"python3\", \"functions/probe.py\"]\n    timeout 30.s\n}}\n\n"
    ));
    for h in 0..HELPERS {
        s.push_str(&format!(
            "def score{m}_{h}(xs: List<Int>, factor: Int): Int {{
    def total = 0
    for (x in xs) {{
        if (x > factor) {{
            total += x * factor
        }} else {{
            total -= 1
        }}
    }}
    def evens = xs.findAll {{ it % 2 == 0 }}.collect {{ it * 3 }}
    def label = \"score ${{factor}} of ${{xs.size()}}\"
    if (label.isEmpty()) {{
        return 0
    }}
    total + evens.sum() + xs.count {{ it > 10 }}
}}

"
        ));
    }
    s.push_str(&format!(
        "workflow Flow{m} {{
    input {{
        source: String
        heights: List<Int> = [1080, 720]
    }}
    facts {{
        stage: Int = 0
        inspection: Probe{m}?
        results: List<String> = []
        total: Int = 0
        flags: Map<String, Bool> = [:]
    }}

    rule \"inspect\" {{
        priority 100
        match {{ inspection == null }}
        action {{ probe{m}(url: source, height: heights.first() ?: 0) }}
        reaction {{ inspection = result }}
    }}

"
    ));
    for r in 0..RULES {
        s.push_str(&format!(
            "    rule \"step {r}\" {{
        priority {r}
        match {{ stage == {r} && inspection != null && !(\"{r}\" in flags) }}
        action {{
            def h = inspection.height + score{m}_{h}(heights, {r})
            probe{m}(url: source + \"/{r}\", height: h)
        }}
        reaction {{
            stage = stage + 1
            results << result.label
            {EDIT_FROM}
        }}
        error {{ if (error.attempt < 3) retry(after: 1.s * error.attempt) else fail(\"step {r}: ${{error.message}}\") }}
    }}
",
            h = r % HELPERS
        ));
    }
    s.push_str(&format!(
        "
    signal flag(name: String) {{
        flags[name] = true
    }}

    complete when {{ stage == {RULES} }}
    output {{ [total: total, results: results.size(), label: inspection?.label ?: \"none\"] }}
}}
"
    ));
    s
}
