//! The CDM event-type → [`EdgeKind`] table and the record-type → [`EntityKind`]
//! table: the one place where CDM's vocabulary meets ours. The same tables are
//! in `docs/formats/cdm.md`; keep them in step.

use event::{EdgeKind, EntityKind};

/// Every `EventType` of the CDM13, CDM18 and CDM20 schemas, with its edge kind.
/// A type that is not listed (a later schema) maps to [`EdgeKind::Other`] and
/// its native name stays on the event.
pub const EVENT_KINDS: &[(&str, EdgeKind)] = &[
    ("EVENT_ACCEPT", EdgeKind::Accept),
    ("EVENT_ADD_OBJECT_ATTRIBUTE", EdgeKind::Other),
    ("EVENT_APP_UNKNOWN", EdgeKind::Other),
    ("EVENT_BIND", EdgeKind::Bind),
    ("EVENT_BLIND", EdgeKind::Other),
    ("EVENT_BOOT", EdgeKind::Other),
    ("EVENT_CHANGE_PRINCIPAL", EdgeKind::SetUid),
    ("EVENT_CHECK_FILE_ATTRIBUTES", EdgeKind::Other),
    ("EVENT_CLONE", EdgeKind::Fork),
    ("EVENT_CLOSE", EdgeKind::Close),
    ("EVENT_CONNECT", EdgeKind::Connect),
    ("EVENT_CORRELATION", EdgeKind::Other),
    ("EVENT_CREATE_OBJECT", EdgeKind::Create),
    ("EVENT_CREATE_THREAD", EdgeKind::Other),
    ("EVENT_DUP", EdgeKind::Other),
    ("EVENT_EXECUTE", EdgeKind::Exec),
    ("EVENT_EXIT", EdgeKind::Exit),
    ("EVENT_FCNTL", EdgeKind::Other),
    ("EVENT_FINIT_MODULE", EdgeKind::Load),
    ("EVENT_FLOWS_TO", EdgeKind::Other),
    ("EVENT_FORK", EdgeKind::Fork),
    ("EVENT_INIT_MODULE", EdgeKind::Load),
    ("EVENT_KERNEL_UNKNOWN", EdgeKind::Other),
    ("EVENT_LINK", EdgeKind::Link),
    ("EVENT_LOADLIBRARY", EdgeKind::Load),
    ("EVENT_LOGCLEAR", EdgeKind::Other),
    ("EVENT_LOGIN", EdgeKind::Login),
    ("EVENT_LOGOUT", EdgeKind::Other),
    ("EVENT_LSEEK", EdgeKind::Other),
    ("EVENT_MMAP", EdgeKind::Mmap),
    ("EVENT_MODIFY_FILE_ATTRIBUTES", EdgeKind::Chmod),
    ("EVENT_MODIFY_PROCESS", EdgeKind::Other),
    ("EVENT_MOUNT", EdgeKind::Mount),
    ("EVENT_MPROTECT", EdgeKind::Mmap),
    ("EVENT_OPEN", EdgeKind::Open),
    ("EVENT_OS_UNKNOWN", EdgeKind::Other),
    ("EVENT_OTHER", EdgeKind::Other),
    ("EVENT_READ", EdgeKind::Read),
    ("EVENT_READ_SOCKET_PARAMS", EdgeKind::Other),
    ("EVENT_RECVFROM", EdgeKind::Recv),
    ("EVENT_RECVMSG", EdgeKind::Recv),
    ("EVENT_RENAME", EdgeKind::Rename),
    ("EVENT_SENDMSG", EdgeKind::Send),
    ("EVENT_SENDTO", EdgeKind::Send),
    ("EVENT_SERVICEINSTALL", EdgeKind::Other),
    ("EVENT_SHM", EdgeKind::Other),
    ("EVENT_SIGNAL", EdgeKind::Signal),
    ("EVENT_SPLICE", EdgeKind::Other),
    ("EVENT_STARTSERVICE", EdgeKind::Other),
    ("EVENT_TEE", EdgeKind::Other),
    ("EVENT_TRUNCATE", EdgeKind::Truncate),
    ("EVENT_UI_UNKNOWN", EdgeKind::Other),
    ("EVENT_UMOUNT", EdgeKind::Mount),
    ("EVENT_UNIT", EdgeKind::Other),
    ("EVENT_UNKNOWN", EdgeKind::Other),
    ("EVENT_UNLINK", EdgeKind::Unlink),
    ("EVENT_UPDATE", EdgeKind::Other),
    ("EVENT_VMSPLICE", EdgeKind::Other),
    ("EVENT_WAIT", EdgeKind::Other),
    ("EVENT_WRITE", EdgeKind::Write),
    ("EVENT_WRITE_SOCKET_PARAMS", EdgeKind::Other),
];

/// The edge kind of a CDM event type ([`EdgeKind::Other`] when not in [`EVENT_KINDS`]).
pub fn edge_kind(event_type: &str) -> EdgeKind {
    EVENT_KINDS
        .iter()
        .find(|(name, _)| *name == event_type)
        .map_or(EdgeKind::Other, |(_, kind)| *kind)
}

/// What a CDM record type is in our model: an entity of some kind, an event,
/// a CDM13 edge, or a record that carries no node or edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A node record.
    Node(EntityKind),
    /// `Event`.
    Event,
    /// CDM13 `SimpleEdge`.
    SimpleEdge,
    /// Markers, tags and unit dependencies: accepted, produce nothing.
    Ignored,
}

/// Record type names (the last component of the datum key) of CDM13/18/20.
pub const RECORD_KINDS: &[(&str, RecordKind)] = &[
    ("Host", RecordKind::Node(EntityKind::Host)),
    ("Principal", RecordKind::Node(EntityKind::Principal)),
    ("Subject", RecordKind::Node(EntityKind::Process)),
    ("FileObject", RecordKind::Node(EntityKind::File)),
    ("NetFlowObject", RecordKind::Node(EntityKind::Socket)),
    ("PacketSocketObject", RecordKind::Node(EntityKind::Socket)),
    ("SrcSinkObject", RecordKind::Node(EntityKind::SrcSink)),
    ("UnnamedPipeObject", RecordKind::Node(EntityKind::Pipe)),
    ("IpcObject", RecordKind::Node(EntityKind::Pipe)),
    ("MemoryObject", RecordKind::Node(EntityKind::Memory)),
    (
        "RegistryKeyObject",
        RecordKind::Node(EntityKind::RegistryKey),
    ),
    ("Event", RecordKind::Event),
    ("SimpleEdge", RecordKind::SimpleEdge),
    ("TimeMarker", RecordKind::Ignored),
    ("StartMarker", RecordKind::Ignored),
    ("EndMarker", RecordKind::Ignored),
    ("UnitDependency", RecordKind::Ignored),
    ("ProvenanceTagNode", RecordKind::Ignored),
    ("UnknownProvenanceNode", RecordKind::Ignored),
    ("TagEntity", RecordKind::Ignored),
];

/// `FileObjectType` values whose entity is not a plain file. Every other
/// type (`FILE_OBJECT_FILE`, `_DIR`, `_LINK`, `_PEFILE`, `_BLOCK`, `_CHAR`)
/// is [`EntityKind::File`].
pub const FILE_TYPE_KINDS: &[(&str, EntityKind)] = &[
    ("FILE_OBJECT_NAMED_PIPE", EntityKind::Pipe),
    ("FILE_OBJECT_UNIX_SOCKET", EntityKind::Socket),
];

/// The entity kind of a `FileObject` of type `file_type`.
pub fn file_kind(file_type: &str) -> EntityKind {
    FILE_TYPE_KINDS
        .iter()
        .find(|(n, _)| *n == file_type)
        .map_or(EntityKind::File, |(_, k)| *k)
}

/// The kind of a record type name, `None` when CDM has no such record.
pub fn record_kind(name: &str) -> Option<RecordKind> {
    RECORD_KINDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, k)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The `EventType` symbols of a CDM `.avdl` schema.
    fn schema_event_types(gz: &str) -> Vec<String> {
        let path = format!("{}/testdata/cdm/{gz}", env!("CARGO_MANIFEST_DIR"));
        let mut bytes = Vec::new();
        let mut gz = flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).take(1 << 20);
        std::io::copy(&mut gz, &mut bytes).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let start = text.find("enum EventType").unwrap();
        let body = &text[start..];
        let body = &body[..body.find('}').unwrap()];
        body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("EVENT_"))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_schema_event_type_is_in_the_table() {
        for schema in ["CDM13.avdl.gz", "CDM18.avdl.gz", "CDM20.avdl.gz"] {
            let types = schema_event_types(schema);
            assert!(types.len() > 30, "{schema}: {}", types.len());
            for t in types {
                assert!(
                    EVENT_KINDS.iter().any(|(n, _)| *n == t),
                    "{schema}: {t} missing from EVENT_KINDS"
                );
            }
        }
    }

    #[test]
    fn table_has_no_duplicates_and_unknown_is_other() {
        let mut names: Vec<_> = EVENT_KINDS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EVENT_KINDS.len());
        assert_eq!(edge_kind("EVENT_READ"), EdgeKind::Read);
        assert_eq!(edge_kind("EVENT_FROM_THE_FUTURE"), EdgeKind::Other);
        assert_eq!(
            record_kind("Subject"),
            Some(RecordKind::Node(EntityKind::Process))
        );
        assert_eq!(record_kind("Subjekt"), None);
    }
}
