//! Entities: the nodes of a provenance graph.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::id::{EntityId, IdHasher};
use crate::time::Timestamp;

/// What an entity is. The lower-case names are a stable contract: they appear in
/// the on-disk format, in `preprocess --json` summaries and in exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A process (Sysmon process, CDM Subject, auditd task; threads fold into their process).
    Process,
    /// A file or directory, named by path.
    File,
    /// A network endpoint pair or socket (CDM NetFlowObject, Sysmon 3, auditd SOCKADDR).
    Socket,
    /// A pipe, FIFO or standard stream (CDM UnnamedPipeObject, Sysmon 17/18).
    Pipe,
    /// A Windows registry key or value (Sysmon 12/13/14, CDM RegistryKeyObject).
    RegistryKey,
    /// A loaded module or image (Sysmon 7 DLLs, kernel modules).
    Module,
    /// A user or principal (CDM Principal, auditd uid, Windows logon).
    Principal,
    /// A host (CDM Host, Sysmon Computer).
    Host,
    /// A memory object (CDM MemoryObject, StreamSpot anonymous mappings).
    Memory,
    /// A source or sink of data that is none of the above (CDM SrcSinkObject).
    SrcSink,
    /// A domain name (Sysmon 22 DNS queries).
    Domain,
    /// Anything the source itself calls unknown.
    Unknown,
}

impl EntityKind {
    /// Every kind, in a fixed order (used for dense feature encodings).
    pub const ALL: [EntityKind; 12] = [
        Self::Process,
        Self::File,
        Self::Socket,
        Self::Pipe,
        Self::RegistryKey,
        Self::Module,
        Self::Principal,
        Self::Host,
        Self::Memory,
        Self::SrcSink,
        Self::Domain,
        Self::Unknown,
    ];

    /// The stable lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Process => "process",
            Self::File => "file",
            Self::Socket => "socket",
            Self::Pipe => "pipe",
            Self::RegistryKey => "registry_key",
            Self::Module => "module",
            Self::Principal => "principal",
            Self::Host => "host",
            Self::Memory => "memory",
            Self::SrcSink => "src_sink",
            Self::Domain => "domain",
            Self::Unknown => "unknown",
        }
    }

    /// Position in [`EntityKind::ALL`].
    pub fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(Self::ALL.len() - 1)
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EntityKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| crate::Error::UnknownEntityKind {
                found: s.to_owned(),
            })
    }
}

/// The identity an entity has in its own log family, kept so that later stages
/// and the evaluation can name it the way the source does and join ground truth.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum NativeId {
    /// A Linux task seen by auditd: pid plus the time it was first seen (its fork,
    /// or the first record naming it), which keeps pids apart across reuse.
    AuditdProcess {
        /// Process id.
        pid: u32,
        /// Start time (clone/fork return, or first sighting).
        start: Timestamp,
    },
    /// A Sysmon process: the ProcessGuid, plus the ProcessId for display.
    SysmonProcess {
        /// `ProcessGuid` as written by Sysmon, braces included.
        process_guid: String,
        /// `ProcessId`.
        pid: Option<u32>,
    },
    /// A DARPA TC CDM object or subject UUID, as text.
    CdmUuid {
        /// The UUID (canonical `8-4-4-4-12` text for CDM18/20, escaped bytes for CDM13).
        uuid: String,
    },
    /// A StreamSpot node: graph id plus node id local to that graph.
    StreamSpot {
        /// Graph id (last column).
        graph_id: u64,
        /// Node id within the graph.
        node_id: u64,
    },
    /// Identified by its name alone (a path, an address pair, a registry key, a user).
    Name {
        /// The name.
        name: String,
    },
}

/// One node of the provenance graph.
///
/// Attributes are optional because no log family has all of them; which one
/// fills which field is documented per format in `docs/formats/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    /// Stable identity, derived from `kind`, `host` and `native`.
    pub id: EntityId,
    /// What the entity is.
    pub kind: EntityKind,
    /// Native identity.
    pub native: NativeId,
    /// Host the entity lives on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Arc<str>>,
    /// Primary name: the executable of a process, the path of a file, the
    /// `local->remote` pair of a socket, the key of a registry entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Arc<str>>,
    /// Command line of a process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<Arc<str>>,
    /// Process id (for processes), kept beside `native` for quick access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Parent process id, when the source says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    /// User (uid, SID or account name) the process runs as or the file belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Arc<str>>,
    /// Local address of a socket (`ip:port` or a unix path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_addr: Option<Arc<str>>,
    /// Remote address of a socket (`ip:port` or a unix path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_addr: Option<Arc<str>>,
    /// Hashes as the source writes them (Sysmon `Hashes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<Arc<str>>,
    /// When the entity started existing, when known (process start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Timestamp>,
}

impl Entity {
    /// A new entity whose id is derived from kind, host and native identity.
    pub fn new(kind: EntityKind, native: NativeId, host: Option<Arc<str>>) -> Self {
        let id = Self::derive_id(kind, &native, host.as_deref());
        Self {
            id,
            kind,
            native,
            host,
            name: None,
            cmdline: None,
            pid: None,
            ppid: None,
            user: None,
            local_addr: None,
            remote_addr: None,
            hashes: None,
            start: None,
        }
    }

    /// The stable id of an entity with this kind, native identity and host.
    pub fn derive_id(kind: EntityKind, native: &NativeId, host: Option<&str>) -> EntityId {
        let h = IdHasher::new(kind.as_str()).with_bytes(host.unwrap_or("").as_bytes());
        let h = match native {
            NativeId::AuditdProcess { pid, start } => h
                .with_bytes(b"auditd")
                .with_u64(u64::from(*pid))
                .with_u64(start.as_nanos().cast_unsigned()),
            NativeId::SysmonProcess { process_guid, .. } => {
                // The pid is display-only: the GUID alone is the identity.
                h.with_bytes(b"sysmon")
                    .with_bytes(process_guid.to_ascii_uppercase().as_bytes())
            }
            NativeId::CdmUuid { uuid } => h.with_bytes(b"cdm").with_bytes(uuid.as_bytes()),
            NativeId::StreamSpot { graph_id, node_id } => h
                .with_bytes(b"streamspot")
                .with_u64(*graph_id)
                .with_u64(*node_id),
            NativeId::Name { name } => h.with_bytes(b"name").with_bytes(name.as_bytes()),
        };
        h.finish()
    }

    /// Sets the primary name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the command line.
    #[must_use]
    pub fn with_cmdline(mut self, cmdline: impl Into<Arc<str>>) -> Self {
        self.cmdline = Some(cmdline.into());
        self
    }

    /// Sets the process id.
    #[must_use]
    pub fn with_pid(mut self, pid: u32) -> Self {
        self.pid = Some(pid);
        self
    }

    /// Sets the user.
    #[must_use]
    pub fn with_user(mut self, user: impl Into<Arc<str>>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// A named entity (file, socket, registry key, user, domain) whose identity is its name.
    pub fn named(kind: EntityKind, name: &str, host: Option<Arc<str>>) -> Self {
        Self::new(
            kind,
            NativeId::Name {
                name: name.to_owned(),
            },
            host,
        )
        .with_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for k in EntityKind::ALL {
            assert_eq!(k.as_str().parse::<EntityKind>().unwrap(), k);
            assert_eq!(EntityKind::ALL[k.index()], k);
        }
        assert!("proc".parse::<EntityKind>().is_err());
    }

    #[test]
    fn pid_reuse_gives_distinct_ids() {
        let a = NativeId::AuditdProcess {
            pid: 7,
            start: Timestamp::from_nanos(1),
        };
        let b = NativeId::AuditdProcess {
            pid: 7,
            start: Timestamp::from_nanos(2),
        };
        assert_ne!(
            Entity::derive_id(EntityKind::Process, &a, None),
            Entity::derive_id(EntityKind::Process, &b, None)
        );
    }

    #[test]
    fn sysmon_guid_is_case_insensitive_and_pid_free() {
        let a = NativeId::SysmonProcess {
            process_guid: "{ab-cd}".into(),
            pid: Some(1),
        };
        let b = NativeId::SysmonProcess {
            process_guid: "{AB-CD}".into(),
            pid: None,
        };
        assert_eq!(
            Entity::derive_id(EntityKind::Process, &a, Some("h")),
            Entity::derive_id(EntityKind::Process, &b, Some("h"))
        );
    }

    #[test]
    fn same_name_different_kind_differs() {
        let f = Entity::named(EntityKind::File, "x", None);
        let r = Entity::named(EntityKind::RegistryKey, "x", None);
        assert_ne!(f.id, r.id);
    }
}
