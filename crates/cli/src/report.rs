//! The closing summary: a table on stderr, or one JSON object on stdout.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use graph::Summary;

/// The JSON summary object (`preprocess --json`, `inspect --json`).
pub fn summary_json(summary: &Summary, extra: serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::to_value(summary).unwrap_or(serde_json::Value::Null);
    if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v
}

/// The summary as a human-readable table.
pub fn summary_table(summary: &Summary, title: &str) -> String {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    t.set_header(vec![title, "count"]);
    t.add_row(vec!["files".to_owned(), summary.files.to_string()]);
    t.add_row(vec!["events".to_owned(), summary.events.to_string()]);
    t.add_row(vec!["windows".to_owned(), summary.windows.to_string()]);
    let approx = if summary.entities_approximate {
        " (≈)"
    } else {
        ""
    };
    for (k, v) in &summary.entities_by_type {
        t.add_row(vec![format!("entities: {k}{approx}"), v.to_string()]);
    }
    for (k, v) in &summary.edges_by_type {
        t.add_row(vec![format!("edges: {k}"), v.to_string()]);
    }
    t.add_row(vec![
        "records skipped".to_owned(),
        summary.skipped().to_string(),
    ]);
    for (k, v) in &summary.skipped_by_reason {
        t.add_row(vec![format!("skipped: {k}"), v.to_string()]);
    }
    if summary.late_events > 0 {
        t.add_row(vec![
            "late events (before window start)".to_owned(),
            summary.late_events.to_string(),
        ]);
    }
    if summary.grace_events > 0 {
        t.add_row(vec![
            "events kept in their process's birth window (grace)".to_owned(),
            summary.grace_events.to_string(),
        ]);
    }
    t.to_string()
}
