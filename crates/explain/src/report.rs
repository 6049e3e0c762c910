//! Renderings of an explanation for people (Markdown) and for other tools
//! (Graphviz DOT, GraphML).

use std::fmt::Write as _;

use crate::view::Explanation;

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A readable Markdown report.
pub fn markdown(x: &Explanation, title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", md_cell(title));
    let _ = writeln!(s, "{}\n", x.narrative);
    let r = &x.reduction;
    let _ = writeln!(
        s,
        "Reduced graph: {} of {} entities ({:.2} %), {} of {} events ({:.2} %){}.\n",
        r.entities_kept,
        r.entities_total,
        100.0 * r.entity_ratio,
        r.events_kept,
        r.events_total,
        100.0 * r.edge_ratio,
        if r.truncated {
            "; tracing stopped at the entity limit"
        } else {
            ""
        }
    );
    if !x.techniques.is_empty() {
        s.push_str("## ATT&CK techniques\n\n| Rank | Technique | Name | Tactics | Events | Score |\n|---|---|---|---|---|---|\n");
        for (i, t) in x.techniques.iter().enumerate() {
            let _ = writeln!(
                s,
                "| {} | [{}]({}) | {} | {} | {} | {:.2} |",
                i + 1,
                t.id,
                t.url,
                md_cell(&t.name),
                t.tactics.join(", "),
                t.events,
                t.score
            );
        }
        s.push('\n');
    }
    if !x.chains.is_empty() {
        s.push_str("## Attack chains\n\n");
        for c in &x.chains {
            let _ = writeln!(s, "### Chain {} (score {:.2})\n", c.rank, c.score);
            for (i, st) in c.steps.iter().enumerate() {
                let causal = st
                    .causal_strength
                    .map_or_else(|| "unconfirmed".to_owned(), |v| format!("{v:.2}"));
                let _ = writeln!(
                    s,
                    "{}. {} `{}`{}{} — causal: {}",
                    i + 1,
                    st.action.unwrap_or("root"),
                    md_cell(&st.label),
                    st.time
                        .as_deref()
                        .map(|t| format!(" at {t}"))
                        .unwrap_or_default(),
                    if st.techniques.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", st.techniques.join(", "))
                    },
                    causal
                );
            }
            let _ = writeln!(s, "\n{}\n", c.narrative);
        }
    }
    if !x.counterfactuals.is_empty() {
        s.push_str("## Counterfactuals\n\n");
        for c in &x.counterfactuals {
            let _ = writeln!(
                s,
                "- {}{}",
                c.statement,
                if c.verified {
                    " (verified by reachability)"
                } else {
                    " (NOT verified)"
                }
            );
        }
        s.push('\n');
    }
    if !x.critical_assets.is_empty() {
        s.push_str("## Critical assets reached\n\n");
        for c in &x.critical_assets {
            let _ = writeln!(
                s,
                "- `{}` ({}), {} hop(s) from the traced graph",
                md_cell(&c.label),
                c.asset,
                c.hops
            );
        }
        s.push('\n');
    }
    let cz = &x.causal;
    let _ = writeln!(
        s,
        "## Causal discovery\n\nTemporal PC-Stable, {} test at alpha {}: {} variables, {} samples, {} tests, {} causal edges.{}\n",
        cz.ci_test,
        cz.alpha,
        cz.variables,
        cz.samples,
        cz.tests_run,
        cz.edges.len(),
        cz.note.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
    );
    s.push_str(
        "## Entities\n\n| Entity | Kind | Roles | Identity | Techniques |\n|---|---|---|---|---|\n",
    );
    for e in &x.entities {
        let id = e
            .process_guid
            .clone()
            .or_else(|| e.uuid.clone())
            .or_else(|| {
                e.pid.map(|p| {
                    format!(
                        "pid {p}{}",
                        e.start
                            .as_deref()
                            .map(|s| format!(" started {s}"))
                            .unwrap_or_default()
                    )
                })
            })
            .unwrap_or_else(|| e.entity_id.clone());
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            md_cell(&e.label),
            e.kind,
            e.roles.join(", "),
            md_cell(&id),
            e.techniques.join(", ")
        );
    }
    let t = &x.timing;
    let _ = writeln!(
        s,
        "\nTime: {:.1} ms (reduce {:.1}, techniques {:.1}, causal {:.1}, chains {:.1}). ATT&CK {}.",
        t.total_ms, t.reduce_ms, t.techniques_ms, t.causal_ms, t.chains_ms, x.attack_version
    );
    s
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The reduced graph in Graphviz DOT; causal edges dashed and bold.
pub fn dot(x: &Explanation) -> String {
    let mut s = String::from("digraph explanation {\n  rankdir=LR;\n  node [fontsize=10];\n");
    for e in &x.entities {
        let shape = match e.kind {
            "process" => "box",
            "socket" => "diamond",
            _ => "ellipse",
        };
        let color = if e.roles.contains(&"root_cause") {
            "red"
        } else if e.roles.contains(&"alerted") {
            "orange"
        } else if e.roles.contains(&"critical_asset") {
            "purple"
        } else {
            "black"
        };
        let _ = writeln!(
            s,
            "  \"{}\" [label=\"{}\", shape={shape}, color={color}];",
            e.entity_id,
            dot_escape(&e.label)
        );
    }
    for e in &x.edges {
        let _ = writeln!(
            s,
            "  \"{}\" -> \"{}\" [label=\"{} x{}\"];",
            e.src, e.dst, e.kind, e.count
        );
    }
    for c in &x.causal.edges {
        let _ = writeln!(
            s,
            "  \"{}\" -> \"{}\" [style=\"dashed,bold\", color=blue, label=\"causal {:.2}\"{}];",
            c.from,
            c.to,
            c.strength,
            if c.directed { "" } else { ", dir=none" }
        );
    }
    s.push_str("}\n");
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The reduced graph in GraphML.
pub fn graphml(x: &Explanation) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n  <key id=\"label\" for=\"node\" attr.name=\"label\" attr.type=\"string\"/>\n  <key id=\"kind\" for=\"node\" attr.name=\"kind\" attr.type=\"string\"/>\n  <key id=\"roles\" for=\"node\" attr.name=\"roles\" attr.type=\"string\"/>\n  <key id=\"techniques\" for=\"all\" attr.name=\"techniques\" attr.type=\"string\"/>\n  <key id=\"ekind\" for=\"edge\" attr.name=\"kind\" attr.type=\"string\"/>\n  <key id=\"count\" for=\"edge\" attr.name=\"count\" attr.type=\"long\"/>\n  <key id=\"first\" for=\"edge\" attr.name=\"first\" attr.type=\"string\"/>\n  <key id=\"causal\" for=\"edge\" attr.name=\"causal_strength\" attr.type=\"double\"/>\n  <graph id=\"explanation\" edgedefault=\"directed\">\n",
    );
    for e in &x.entities {
        let _ = writeln!(
            s,
            "    <node id=\"{}\"><data key=\"label\">{}</data><data key=\"kind\">{}</data><data key=\"roles\">{}</data><data key=\"techniques\">{}</data></node>",
            e.entity_id,
            xml_escape(&e.label),
            e.kind,
            e.roles.join(","),
            e.techniques.join(",")
        );
    }
    for (i, e) in x.edges.iter().enumerate() {
        let _ = writeln!(
            s,
            "    <edge id=\"e{i}\" source=\"{}\" target=\"{}\"><data key=\"ekind\">{}</data><data key=\"count\">{}</data><data key=\"first\">{}</data><data key=\"techniques\">{}</data></edge>",
            e.src, e.dst, e.kind, e.count, e.first, e.techniques.join(",")
        );
    }
    for (i, c) in x.causal.edges.iter().enumerate() {
        let _ = writeln!(
            s,
            "    <edge id=\"c{i}\" source=\"{}\" target=\"{}\"><data key=\"ekind\">causal</data><data key=\"causal\">{}</data></edge>",
            c.from, c.to, c.strength
        );
    }
    s.push_str("  </graph>\n</graphml>\n");
    s
}
