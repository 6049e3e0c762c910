//! Exports of preprocessed windows into other tools' formats.
//!
//! * StreamSpot (6 columns, single-letter types, one graph per window) so
//!   that published detectors run on exactly our graphs. StreamSpot's
//!   alphabet is smaller than ours; [`streamspot_edge_letter`] and
//!   [`streamspot_node_letter`] are the documented, lossy mapping
//!   (`docs/formats/streamspot.md`).
//! * GraphML, one `<graph>` per window, for Gephi, yEd and NetworkX.
//! * JSON lines: a `node` line per entity and an `edge` line per event.

use std::collections::HashMap;
use std::io::Write;

use event::{EdgeKind, EntityId, EntityKind};

use crate::window::GraphWindow;

/// Export target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// StreamSpot 6-column TSV.
    StreamSpot,
    /// GraphML XML.
    GraphMl,
    /// JSON lines.
    Jsonl,
}

/// StreamSpot node letter of an entity kind (a process, c file, d memory, e unknown, f-h streams).
pub const fn streamspot_node_letter(kind: EntityKind) -> char {
    match kind {
        EntityKind::Process => 'a',
        EntityKind::File | EntityKind::Module => 'c',
        EntityKind::Memory => 'd',
        EntityKind::Pipe => 'f',
        _ => 'e',
    }
}

/// StreamSpot edge letter of an edge kind. Kinds StreamSpot lacks map to the
/// nearest system call it has (documented in `docs/formats/streamspot.md`).
pub const fn streamspot_edge_letter(kind: EdgeKind) -> char {
    match kind {
        EdgeKind::Accept => 'i',
        EdgeKind::Bind => 'k',
        EdgeKind::Chmod | EdgeKind::Chown | EdgeKind::SetUid => 'l',
        EdgeKind::Fork => 'm',
        EdgeKind::Close | EdgeKind::Exit => 'n',
        EdgeKind::Connect | EdgeKind::DnsQuery => 'o',
        EdgeKind::Exec => 'p',
        EdgeKind::Listen => 's',
        EdgeKind::Load | EdgeKind::Mmap | EdgeKind::Unload => 't',
        EdgeKind::Open | EdgeKind::Create | EdgeKind::RegistryCreate | EdgeKind::Link => 'u',
        EdgeKind::Read | EdgeKind::ProcessAccess | EdgeKind::Login => 'v',
        EdgeKind::Recv => 'w',
        EdgeKind::Send | EdgeKind::Signal | EdgeKind::Inject => 'z',
        EdgeKind::Truncate => 'D',
        EdgeKind::Unlink | EdgeKind::RegistryDelete => 'E',
        EdgeKind::Write
        | EdgeKind::Rename
        | EdgeKind::RegistrySet
        | EdgeKind::RegistryRename
        | EdgeKind::Mount
        | EdgeKind::Other => 'G',
    }
}

/// Writes one window as StreamSpot edges; the graph id is the window id and
/// node ids are numbered from 1 per window (StreamSpot's 0 means "no node").
///
/// # Errors
/// Write failures.
pub fn write_streamspot(w: &GraphWindow, out: &mut dyn Write) -> std::io::Result<()> {
    let mut local: HashMap<EntityId, u64> = HashMap::new();
    let mut next = 1u64;
    let mut id_of = |id: EntityId| -> u64 {
        *local.entry(id).or_insert_with(|| {
            let v = next;
            next = next.saturating_add(1);
            v
        })
    };
    for e in &w.edges {
        let sk = w.node(e.src).map_or(EntityKind::Unknown, |n| n.kind);
        let dk = w.node(e.dst).map_or(EntityKind::Unknown, |n| n.kind);
        let (s, d) = (id_of(e.src), id_of(e.dst));
        writeln!(
            out,
            "{s}\t{}\t{d}\t{}\t{}\t{}",
            streamspot_node_letter(sk),
            streamspot_node_letter(dk),
            streamspot_edge_letter(e.kind),
            w.id
        )?;
    }
    Ok(())
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// Writes the GraphML header and key declarations.
///
/// # Errors
/// Write failures.
pub fn write_graphml_header(out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns">"#
    )?;
    for (id, on, name, ty) in [
        ("kind", "node", "kind", "string"),
        ("name", "node", "name", "string"),
        ("cmdline", "node", "cmdline", "string"),
        ("pid", "node", "pid", "long"),
        ("native", "node", "native", "string"),
        ("ekind", "edge", "kind", "string"),
        ("ts", "edge", "ts", "long"),
        ("native_type", "edge", "native_type", "string"),
    ] {
        writeln!(
            out,
            r#"  <key id="{id}" for="{on}" attr.name="{name}" attr.type="{ty}"/>"#
        )?;
    }
    Ok(())
}

/// Writes one window as a GraphML `<graph>`.
///
/// # Errors
/// Write failures.
pub fn write_graphml_window(w: &GraphWindow, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, r#"  <graph id="w{}" edgedefault="directed">"#, w.id)?;
    for n in &w.nodes {
        write!(
            out,
            r#"    <node id="n{}"><data key="kind">{}</data>"#,
            n.id, n.kind
        )?;
        if let Some(name) = &n.name {
            write!(out, r#"<data key="name">{}</data>"#, xml_escape(name))?;
        }
        if let Some(c) = &n.cmdline {
            write!(out, r#"<data key="cmdline">{}</data>"#, xml_escape(c))?;
        }
        if let Some(p) = n.pid {
            write!(out, r#"<data key="pid">{p}</data>"#)?;
        }
        let native = serde_json::to_string(&n.native).unwrap_or_default();
        writeln!(
            out,
            r#"<data key="native">{}</data></node>"#,
            xml_escape(&native)
        )?;
    }
    for (i, e) in w.edges.iter().enumerate() {
        writeln!(
            out,
            r#"    <edge id="e{}_{i}" source="n{}" target="n{}"><data key="ekind">{}</data><data key="ts">{}</data><data key="native_type">{}</data></edge>"#,
            w.id,
            e.src,
            e.dst,
            e.kind,
            e.ts.as_nanos(),
            xml_escape(&e.native_type)
        )?;
    }
    writeln!(out, "  </graph>")
}

/// Closes the GraphML document.
///
/// # Errors
/// Write failures.
pub fn write_graphml_footer(out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "</graphml>")
}

/// Writes one window as JSON lines: `{"type":"node",...}` then `{"type":"edge",...}`.
///
/// # Errors
/// Write failures.
pub fn write_jsonl(w: &GraphWindow, out: &mut dyn Write) -> std::io::Result<()> {
    for n in &w.nodes {
        let v = serde_json::json!({"type": "node", "window_id": w.id, "entity": n});
        writeln!(out, "{v}")?;
    }
    for e in &w.edges {
        let v = serde_json::json!({"type": "edge", "window_id": w.id, "edge": e});
        writeln!(out, "{v}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::EdgeRow;
    use event::{Entity, NativeId, Timestamp};
    use std::sync::Arc;

    fn window() -> GraphWindow {
        let p = Arc::new(
            Entity::new(
                EntityKind::Process,
                NativeId::AuditdProcess {
                    pid: 1,
                    start: Timestamp::from_nanos(0),
                },
                None,
            )
            .with_name("/bin/sh")
            .with_cmdline("sh -c 'a<b'"),
        );
        let f = Arc::new(Entity::named(EntityKind::File, "/etc/shadow", None));
        let mut nodes = vec![p.clone(), f.clone()];
        nodes.sort_by_key(|n| n.id);
        GraphWindow {
            id: 7,
            start: Timestamp::from_nanos(0),
            end: Timestamp::from_nanos(10),
            nodes,
            edges: vec![EdgeRow {
                ts: Timestamp::from_nanos(5),
                kind: EdgeKind::Read,
                src: p.id,
                dst: f.id,
                native_type: Arc::from("openat"),
                seq: 3,
            }],
        }
    }

    #[test]
    fn streamspot_uses_local_ids_and_letters() {
        let mut out = Vec::new();
        write_streamspot(&window(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "1\ta\t2\tc\tv\t7\n");
    }

    #[test]
    fn graphml_escapes_attributes() {
        let mut out = Vec::new();
        write_graphml_header(&mut out).unwrap();
        write_graphml_window(&window(), &mut out).unwrap();
        write_graphml_footer(&mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("sh -c &apos;a&lt;b&apos;"));
        assert!(s.contains(r#"<graph id="w7" edgedefault="directed">"#));
        assert_eq!(s.matches("<edge ").count(), 1);
    }

    #[test]
    fn every_edge_kind_has_a_streamspot_letter_in_range() {
        for k in EdgeKind::ALL {
            let c = streamspot_edge_letter(*k);
            assert!(
                c.is_ascii_lowercase() && c >= 'i' || ('A'..='H').contains(&c),
                "{k}: {c}"
            );
        }
    }
}
