//! Printable forms of a [`Plan`]: text, Graphviz dot, Mermaid and JSON. These build strings;
//! the report layer prints them.

use serde_json::json;

use super::Plan;

/// Steps in file order with their wave and what each waits for.
pub fn to_text(plan: &Plan) -> String {
    let waves = plan.waves();
    let width = (0..plan.len())
        .map(|i| plan.step(i).id.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (i, wave) in waves.iter().enumerate() {
        let s = plan.step(i);
        let deps = plan.deps(i);
        let after = if deps.is_empty() {
            "at start".to_owned()
        } else {
            let names: Vec<&str> = deps.iter().map(|&d| plan.step(d).id.as_str()).collect();
            format!("after {}", names.join(", "))
        };
        out.push_str(&format!(
            "{:>3}  {:<width$}  {:<5} {:<24} {}\n",
            wave + 1,
            s.id,
            s.kind,
            after,
            s.summary,
        ));
    }
    if plan.is_empty() {
        out.push_str("(no steps)\n");
    }
    out
}

/// Graphviz `digraph`.
pub fn to_dot(plan: &Plan) -> String {
    let mut out = String::from("digraph task {\n  rankdir=LR;\n  node [shape=box];\n");
    for i in 0..plan.len() {
        let s = plan.step(i);
        out.push_str(&format!(
            "  s{i} [label={}];\n",
            dot_quote(&format!("{}\\n{}", s.id, s.kind))
        ));
    }
    for (a, b) in plan.edges() {
        out.push_str(&format!("  s{a} -> s{b};\n"));
    }
    out.push_str("}\n");
    out
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\\\""))
}

/// Mermaid `flowchart`.
pub fn to_mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart LR\n");
    for i in 0..plan.len() {
        let s = plan.step(i);
        let label = format!("{} ({})", s.id, s.kind).replace('"', "#quot;");
        out.push_str(&format!("  s{i}[\"{label}\"]\n"));
    }
    for (a, b) in plan.edges() {
        out.push_str(&format!("  s{a} --> s{b}\n"));
    }
    out
}

/// JSON `{"steps": [...], "edges": [...]}`.
pub fn to_json(plan: &Plan) -> String {
    let waves = plan.waves();
    let steps: Vec<_> = (0..plan.len())
        .map(|i| {
            let s = plan.step(i);
            let deps: Vec<&str> = plan
                .deps(i)
                .iter()
                .map(|&d| plan.step(d).id.as_str())
                .collect();
            json!({
                "index": i,
                "id": s.id,
                "kind": s.kind,
                "wave": waves[i],
                "after": deps,
                "summary": s.summary,
            })
        })
        .collect();
    let edges: Vec<_> = plan
        .edges()
        .into_iter()
        .map(|(a, b)| json!({"from": plan.step(a).id, "to": plan.step(b).id}))
        .collect();
    let doc = json!({ "steps": steps, "edges": edges });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Needs;
    use crate::plan::tests::task;

    fn plan() -> Plan {
        Plan::new(&task(&[
            ("build", Needs::Start),
            ("lint", Needs::Start),
            ("test", Needs::Steps(vec![0, 1])),
        ]))
    }

    #[test]
    fn text() {
        let t = to_text(&plan());
        assert!(t.contains("2  test   cmd   after build, lint"), "{t}");
        assert!(t.contains("1  build  cmd   at start"), "{t}");
    }

    #[test]
    fn dot_and_mermaid_edges() {
        let d = to_dot(&plan());
        assert!(d.contains("s0 -> s2;") && d.contains("s1 -> s2;"));
        let m = to_mermaid(&plan());
        assert!(m.contains("s0 --> s2") && m.contains("s1[\"lint (cmd)\"]"));
    }

    #[test]
    fn json_shape() {
        let v: serde_json::Value = serde_json::from_str(&to_json(&plan())).unwrap();
        assert_eq!(v["steps"][2]["after"], json!(["build", "lint"]));
        assert_eq!(v["steps"][2]["wave"], json!(1));
        assert_eq!(v["edges"].as_array().unwrap().len(), 2);
    }
}
