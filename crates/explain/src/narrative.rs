//! Plain-language narratives: who did what, when, with which technique, to
//! which assets. Built from the chain's steps only, so every sentence can be
//! traced back to an event in the reduced graph.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::view::{ChainView, CounterfactualView, CriticalView, EntityView, TechniqueView};

/// The verb phrase of an action, read from the previous step to this one.
fn verb(action: &str) -> &'static str {
    match action {
        "fork" => "started",
        "exec" => "executed",
        "read" | "open" | "recv" | "accept" => "read",
        "write" | "send" => "wrote to",
        "create" => "created",
        "unlink" => "deleted",
        "rename" => "renamed",
        "link" => "linked",
        "truncate" => "truncated",
        "chmod" => "changed the permissions of",
        "chown" => "changed the owner of",
        "setuid" => "took on the identity of",
        "connect" => "connected to",
        "bind" | "listen" => "listened on",
        "load" => "loaded",
        "inject" => "injected into",
        "process_access" => "opened a handle to",
        "signal" => "signalled",
        "registry_create" | "registry_set" => "modified registry",
        "registry_delete" => "deleted registry",
        "dns_query" => "resolved",
        _ => "touched",
    }
}

fn who(e: &EntityView) -> String {
    let mut s = e.label.clone();
    if let Some(u) = &e.user {
        let _ = write!(s, " as user {u}");
    }
    s
}

fn technique_phrase(ids: &[String], names: &HashMap<&str, &TechniqueView>) -> String {
    let parts: Vec<String> = ids
        .iter()
        .map(|id| match names.get(id.as_str()) {
            Some(t) => format!("{id} {} ({})", t.name, t.tactics.join(", ")),
            None => id.clone(),
        })
        .collect();
    parts.join("; ")
}

/// The narrative of one chain.
pub fn chain_narrative(
    chain: &ChainView,
    entities: &HashMap<&str, &EntityView>,
    techniques: &[TechniqueView],
) -> String {
    let names: HashMap<&str, &TechniqueView> =
        techniques.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut out = String::new();
    let Some(first) = chain.steps.first() else {
        return out;
    };
    let root = entities.get(first.entity.as_str());
    let root_name = root.map_or_else(|| first.label.clone(), |e| who(e));
    let _ = write!(out, "Root cause: {root_name}");
    if let Some(cmd) = root.and_then(|e| e.cmdline.as_deref()) {
        let _ = write!(out, ", command line `{}`", cmd.trim());
    }
    out.push('.');
    if !first.techniques.is_empty() {
        let _ = write!(
            out,
            " Its own actions match {}.",
            technique_phrase(&first.techniques, &names)
        );
    }
    let mut prev = first;
    for step in chain.steps.iter().skip(1) {
        let actor = entities
            .get(prev.entity.as_str())
            .map_or_else(|| prev.label.clone(), |e| e.label.clone());
        let v = step.action.map_or("led to", verb);
        let when = step
            .time
            .as_deref()
            .map(|t| format!(" at {t}"))
            .unwrap_or_default();
        let target = entities.get(step.entity.as_str());
        let _ = write!(out, " {actor} {v} {}{when}", step.label);
        if let Some(asset) = target.and_then(|e| e.asset.as_deref()) {
            let _ = write!(out, " (critical asset: {asset})");
        }
        if !step.techniques.is_empty() {
            let _ = write!(
                out,
                " [ATT&CK {}]",
                technique_phrase(&step.techniques, &names)
            );
        }
        if step.causal_strength.is_none() {
            out.push_str(" (provenance link; not confirmed by causal discovery)");
        }
        out.push('.');
        prev = step;
    }
    out
}

/// The narrative of the whole alert: chains, assets, techniques, counterfactuals.
pub fn alert_narrative(
    chains: &[ChainView],
    critical: &[CriticalView],
    techniques: &[TechniqueView],
    counterfactuals: &[CounterfactualView],
) -> String {
    let mut out = String::new();
    match chains.first() {
        Some(top) => {
            let _ = write!(out, "Most likely attack chain: {}", top.narrative);
        }
        None => out.push_str(
            "No chain from a root cause to an impact was found in the reduced graph; \
             the alerted entities are listed for manual review.",
        ),
    }
    if !techniques.is_empty() {
        let list: Vec<String> = techniques
            .iter()
            .take(5)
            .map(|t| format!("{} {}", t.id, t.name))
            .collect();
        let _ = write!(out, " Techniques: {}.", list.join(", "));
    }
    if !critical.is_empty() {
        let list: Vec<String> = critical
            .iter()
            .map(|c| format!("{} ({})", c.label, c.asset))
            .collect();
        let _ = write!(out, " Critical assets reached: {}.", list.join(", "));
    }
    for cf in counterfactuals.iter().filter(|c| c.verified).take(3) {
        let _ = write!(out, " {}", cf.statement);
    }
    out
}
