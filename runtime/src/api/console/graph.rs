//! A workflow drawn from the compiler's read and write sets: inputs on the left,
//! rules and signals in the middle, facts on the right; an arrow from each fact or input a
//! rule's `match` reads to the rule, and from each rule (or signal) to each fact it
//! may assign. An SVG written here, with no script and no style attributes (the
//! console's content security policy allows neither).

use super::html::esc;
use cosmos_ir::{Block, PlaceRoot, Stmt, WorkflowIr};
use std::fmt::Write;

/// The facts a signal handler may assign (its statements, through `if` and `for`).
pub fn signal_writes(workflow: &WorkflowIr, block: &Block) -> Vec<String> {
    let mut out = Vec::new();
    collect_writes(workflow, block, &mut out);
    out
}

fn collect_writes(workflow: &WorkflowIr, block: &Block, out: &mut Vec<String>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Assign { place, .. }
            | Stmt::Append { place, .. }
            | Stmt::Update { place, .. } => {
                if let PlaceRoot::Fact(i) = place.root
                    && let Some(fact) = workflow.facts.get(i as usize)
                    && !out.contains(&fact.name)
                {
                    out.push(fact.name.clone());
                }
            }
            Stmt::If {
                then, otherwise, ..
            } => {
                collect_writes(workflow, then, out);
                collect_writes(workflow, otherwise, out);
            }
            Stmt::ForEach { body, .. } => collect_writes(workflow, body, out),
            _ => {}
        }
    }
}

const ROW: i64 = 40;
const BOX_W: i64 = 190;
const BOX_H: i64 = 28;
const COLUMNS: [i64; 3] = [10, 330, 650];
const WIDTH: i64 = 850;

struct NodeBox {
    id: String,
    label: String,
    class: &'static str,
    x: i64,
    y: i64,
}

impl NodeBox {
    /// A box in column `column`, placed in its row later.
    fn new(column: usize, id: String, label: String, class: &'static str) -> NodeBox {
        NodeBox {
            id,
            label,
            class,
            x: COLUMNS[column],
            y: 0,
        }
    }
}

/// Cuts a label to what fits a box.
fn fit(text: &str) -> String {
    if text.chars().count() <= 24 {
        text.to_string()
    } else {
        let cut: String = text.chars().take(23).collect();
        format!("{cut}…")
    }
}

/// The graph of `workflow` as an inline SVG, with a title per node for its full name.
pub fn svg(workflow: &WorkflowIr) -> String {
    let mut left: Vec<NodeBox> = workflow
        .inputs
        .iter()
        .map(|i| {
            let (id, label) = (format!("input:{}", i.name), format!("input {}", i.name));
            NodeBox::new(0, id, label, "input")
        })
        .collect();
    let rules = workflow
        .rules
        .iter()
        .map(|r| NodeBox::new(1, format!("rule:{}", r.name), r.name.clone(), "rule"));
    // Signals assign facts as reactions do: beside the rules, so their arrows cross
    // no box.
    let signals = workflow.signals.iter().map(|s| {
        let (id, label) = (format!("signal:{}", s.name), format!("signal {}", s.name));
        NodeBox::new(1, id, label, "signal")
    });
    let mut middle: Vec<NodeBox> = rules.chain(signals).collect();
    let mut right: Vec<NodeBox> = workflow
        .facts
        .iter()
        .map(|f| NodeBox::new(2, format!("fact:{}", f.name), f.name.clone(), "fact"))
        .collect();
    let rows = left.len().max(middle.len()).max(right.len()).max(1) as i64;
    let height = rows * ROW + 20;
    for column in [&mut left, &mut middle, &mut right] {
        let offset = (rows - column.len() as i64) * ROW / 2 + 10;
        for (i, node) in column.iter_mut().enumerate() {
            node.y = offset + i as i64 * ROW;
        }
    }
    let find = |id: &str| {
        left.iter()
            .chain(&middle)
            .chain(&right)
            .find(|n| n.id == id)
            .map(|n| (n.x, n.y))
    };
    let mut edges = String::new();
    let mut edge = |from: (i64, i64), to: (i64, i64), class: &str, title: String| {
        let (x1, y1) = (from.0 + BOX_W, from.1 + BOX_H / 2);
        let (x2, y2) = (to.0, to.1 + BOX_H / 2);
        let (x1, x2, y1, y2) = if x1 <= x2 {
            (x1, x2, y1, y2)
        } else {
            // A fact (right) read by a rule (middle): from the fact's left edge.
            (from.0, to.0 + BOX_W, y1, y2)
        };
        let bend = (x2 - x1) / 2;
        let _ = writeln!(
            edges,
            "<path class=\"edge {class}\" d=\"M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}\" marker-end=\"url(#arrow-{class})\"><title>{}</title></path>",
            x1 + bend,
            x2 - bend,
            esc(title)
        );
    };
    for rule in &workflow.rules {
        let Some(r) = find(&format!("rule:{}", rule.name)) else {
            continue;
        };
        for read in &rule.reads {
            let from = find(&format!("fact:{read}")).or_else(|| find(&format!("input:{read}")));
            if let Some(from) = from {
                edge(from, r, "reads", format!("{:?} reads {read}", rule.name));
            }
        }
        for write in &rule.writes {
            if let Some(to) = find(&format!("fact:{write}")) {
                edge(
                    r,
                    to,
                    "writes",
                    format!("{:?} may assign {write}", rule.name),
                );
            }
        }
    }
    for signal in &workflow.signals {
        let Some(s) = find(&format!("signal:{}", signal.name)) else {
            continue;
        };
        for write in signal_writes(workflow, &signal.handler.body) {
            if let Some(to) = find(&format!("fact:{write}")) {
                edge(
                    s,
                    to,
                    "writes",
                    format!("signal {} may assign {write}", signal.name),
                );
            }
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"graph\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-labelledby=\"graph-title\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <title id=\"graph-title\">Which rule reads and which assigns each fact of {}</title>\n\
         <defs>",
        esc(&workflow.name)
    );
    for class in ["reads", "writes"] {
        let _ = write!(
            out,
            "<marker id=\"arrow-{class}\" class=\"{class}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
             markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker>"
        );
    }
    out.push_str("</defs>\n");
    for (x, label) in [
        (COLUMNS[0], "inputs"),
        (COLUMNS[1], "rules and signals"),
        (COLUMNS[2], "facts"),
    ] {
        let _ = writeln!(
            out,
            "<text class=\"heading\" x=\"{x}\" y=\"8\">{label}</text>"
        );
    }
    out.push_str(&edges);
    for node in left.iter().chain(&middle).chain(&right) {
        let link = match node.class {
            "rule" => Some(format!("#rule-{}", super::html::url(&node.label))),
            _ => None,
        };
        if let Some(link) = &link {
            let _ = write!(out, "<a href=\"{}\">", esc(link));
        }
        let _ = write!(
            out,
            "<g class=\"node {}\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"5\"/>\
             <text x=\"{}\" y=\"{}\">{}</text></g>",
            node.class,
            esc(&node.label),
            node.x,
            node.y,
            node.x + 8,
            node.y + 18,
            esc(fit(&node.label))
        );
        if link.is_some() {
            out.push_str("</a>");
        }
        out.push('\n');
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosmos_diagnostics::FileId;
    use cosmos_semantics::Analysis;

    fn workflow(source: &str) -> WorkflowIr {
        let mut analysis = Analysis::new();
        analysis.set_file(FileId(0), "main", source.to_string());
        let program = analysis.lower_project().expect("the program lowers");
        program.workflows.into_iter().next().expect("a workflow")
    }

    const SOURCE: &str = r#"
workflow W {
    input { limit: Int }
    facts { seen: Int = 0, by: String?, log: List<String> = [] }
    rule "count <up>" {
        match { seen < limit && by != null }
        action { 1 }
        reaction { seen += result }
    }
    signal approve(who: String) {
        if (who != "") { by = who } else { log << "empty" }
    }
}
"#;

    #[test]
    fn signal_writes_are_found_through_ifs() {
        let w = workflow(SOURCE);
        assert_eq!(
            signal_writes(&w, &w.signals[0].handler.body),
            vec!["by", "log"]
        );
    }

    #[test]
    fn edges_follow_the_read_and_write_sets_and_names_are_escaped() {
        let svg = svg(&workflow(SOURCE));
        assert!(
            svg.contains("<title>&quot;count &lt;up&gt;&quot; reads seen</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>&quot;count &lt;up&gt;&quot; reads limit</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>&quot;count &lt;up&gt;&quot; may assign seen</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>signal approve may assign log</title>"),
            "{svg}"
        );
        assert_eq!(svg.matches("class=\"edge reads\"").count(), 3, "{svg}");
        assert_eq!(svg.matches("class=\"edge writes\"").count(), 3, "{svg}");
        assert!(!svg.contains("<up>"), "{svg}");
    }
}
