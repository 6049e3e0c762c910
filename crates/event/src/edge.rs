//! Edge kinds: what a subject did to an object.
//!
//! Edges are always stored actor-first: `subject` is the process that acted,
//! `object` what it acted on. [`EdgeKind::flows_to_subject`] says when
//! information moved the other way (a read moves data from file to process),
//! which the explanation stage needs for backward tracing.

use serde::{Deserialize, Serialize};

macro_rules! edge_kinds {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, $inflow:literal; )*) => {
        /// The type of an edge. Lower-case names are a stable on-disk contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum EdgeKind {
            // One name per kind, the same in serde and `as_str`.
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        impl EdgeKind {
            /// Every kind, in a fixed order (used for dense feature encodings).
            pub const ALL: &'static [EdgeKind] = &[ $( Self::$variant, )* ];

            /// The stable lower-case name.
            pub const fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $name, )* }
            }

            /// True when data moves from the object into the subject.
            pub const fn flows_to_subject(self) -> bool {
                match self { $( Self::$variant => $inflow, )* }
            }
        }
    };
}

edge_kinds! {
    /// A process created another (fork, clone, vfork, CreateProcess). Object: the child.
    Fork => "fork", false;
    /// A process executed a program (execve). Object: the executable file.
    Exec => "exec", true;
    /// Read from a file, pipe or memory.
    Read => "read", true;
    /// Wrote to a file, pipe or memory.
    Write => "write", false;
    /// Opened an object without saying whether for reading or writing.
    Open => "open", true;
    /// Created a file, pipe or other object.
    Create => "create", false;
    /// Renamed an object. Object: the old name; a second edge names the new one.
    Rename => "rename", false;
    /// Removed a name (unlink, rmdir, DeleteFile).
    Unlink => "unlink", false;
    /// Made a new hard or symbolic link.
    Link => "link", false;
    /// Truncated a file.
    Truncate => "truncate", false;
    /// Changed mode bits.
    Chmod => "chmod", false;
    /// Changed owner or group.
    Chown => "chown", false;
    /// Changed credentials (setuid family). Object: the principal taken on.
    SetUid => "setuid", true;
    /// Connected a socket. Object: the socket.
    Connect => "connect", false;
    /// Accepted a connection.
    Accept => "accept", true;
    /// Bound a socket to an address.
    Bind => "bind", false;
    /// Listened on a socket.
    Listen => "listen", false;
    /// Sent data.
    Send => "send", false;
    /// Received data.
    Recv => "recv", true;
    /// Loaded a module, library or image (Sysmon 7, init_module, mmap of code).
    Load => "load", true;
    /// Unloaded a module.
    Unload => "unload", false;
    /// Injected into or traced another process (ptrace, CreateRemoteThread).
    Inject => "inject", false;
    /// Opened a handle to another process (Sysmon 10).
    ProcessAccess => "process_access", true;
    /// Sent a signal (kill, tkill, tgkill).
    Signal => "signal", false;
    /// Created a registry key.
    RegistryCreate => "registry_create", false;
    /// Set a registry value.
    RegistrySet => "registry_set", false;
    /// Deleted a registry key or value.
    RegistryDelete => "registry_delete", false;
    /// Renamed a registry key.
    RegistryRename => "registry_rename", false;
    /// Resolved a domain name.
    DnsQuery => "dns_query", true;
    /// Logged on or was authenticated (Security 4624, CDM EVENT_LOGIN).
    Login => "login", true;
    /// Mounted or unmounted a file system.
    Mount => "mount", false;
    /// Mapped or protected memory (CDM EVENT_MMAP, EVENT_MPROTECT).
    Mmap => "mmap", true;
    /// Closed an object.
    Close => "close", false;
    /// Exited (CDM EVENT_EXIT).
    Exit => "exit", false;
    /// Anything else the source names; its native type is kept on the event.
    Other => "other", false;
}

impl std::fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EdgeKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| crate::Error::UnknownEdgeKind {
                found: s.to_owned(),
            })
    }
}

impl EdgeKind {
    /// Position in [`EdgeKind::ALL`].
    pub fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(Self::ALL.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for k in EdgeKind::ALL {
            assert!(seen.insert(k.as_str()), "duplicate name {k}");
            assert_eq!(k.as_str().parse::<EdgeKind>().unwrap(), *k);
            assert_eq!(EdgeKind::ALL[k.index()], *k);
            // serde (JSON lines, manifests) and Arrow (as_str) use one name.
            let json = serde_json::to_string(k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
    }

    #[test]
    fn read_flows_in_write_flows_out() {
        assert!(EdgeKind::Read.flows_to_subject());
        assert!(!EdgeKind::Write.flows_to_subject());
    }
}
