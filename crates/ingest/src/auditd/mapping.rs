//! THE table: syscall → edge kind and object choice.
//!
//! One row per syscall: its name, its x86_64 number (for raw logs, which
//! carry only `syscall=N` with `arch=c000003e`), the [`EdgeKind`] it maps to,
//! and the [`Object`] rule that picks what the edge points at. The same
//! table is in `docs/formats/auditd.md`; keep the two in step.
//!
//! Syscalls that are not in the table (the `write` of the lab's loginuid
//! wrapper, for example) give no edge and no error.

use event::EdgeKind;

/// Which argument holds the directory fd that relative paths are relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirFd {
    /// Relative paths are relative to the CWD.
    Cwd,
    /// `a0` (openat, unlinkat, mknodat, fchmodat, fchownat, execveat).
    A0,
    /// `a1` (symlinkat's new path).
    A1,
    /// `a0` for the old path, `a2` for the new one (renameat, linkat).
    A0A2,
}

/// What the edge points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Object {
    /// The executed file (PATH item 0); the process takes the new exe and cmdline.
    Exec,
    /// The child process whose pid is the return value (`exit=`).
    Child,
    /// The opened file; the edge kind is refined by the open flags in this
    /// argument (`Some(1)` = a1) and by a `nametype=CREATE` PATH item.
    Opened(Option<u8>),
    /// The PATH item with `nametype=NORMAL` (or CREATE), else the fd's inode.
    Path,
    /// The PATH item with `nametype=CREATE`.
    Created,
    /// The PATH item with `nametype=DELETE`.
    Deleted,
    /// Two edges: the old name (`DELETE` item) and the new one (`CREATE` item).
    Renamed,
    /// The principal of the new effective uid (`euid=`).
    Uid,
    /// The principal of the new effective gid (`egid=`).
    Gid,
    /// The peer socket: SOCKADDR, else the socket last seen on fd `a0`.
    RemoteSocket,
    /// The local socket: SOCKADDR, else the socket last seen on fd `a0`.
    LocalSocket,
    /// The connecting peer (SOCKADDR); the new fd is the return value.
    AcceptedSocket,
    /// The process named by OBJ_PID, else by this argument.
    TargetProcess(u8),
    /// A new pipe (named by the event, ends from FD_PAIR).
    NewPipe,
    /// A kernel module (PATH item if any, else `kmod:<syscall>`).
    Module,
    /// The mount point (last PATH item).
    MountPoint,
    /// No edge (dup2/dup3: fd bookkeeping with no new object).
    Dropped,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyscallRule {
    /// The syscall name (as ENRICHED writes it in `SYSCALL=`).
    pub name: &'static str,
    /// Its number on x86_64.
    pub x86_64: u32,
    /// The edge kind (`Opened` refines Read into Write/Create; `Dropped` rows are never emitted).
    pub edge: EdgeKind,
    /// What the edge points at.
    pub object: Object,
    /// How relative paths are resolved.
    pub dirfd: DirFd,
}

const fn rule(
    name: &'static str,
    x86_64: u32,
    edge: EdgeKind,
    object: Object,
    dirfd: DirFd,
) -> SyscallRule {
    SyscallRule {
        name,
        x86_64,
        edge,
        object,
        dirfd,
    }
}

use DirFd::{Cwd, A0, A0A2, A1};
use EdgeKind as E;
use Object as O;

/// The table. Order does not matter; names and numbers are unique.
pub(crate) const SYSCALL_RULES: &[SyscallRule] = &[
    rule("execve", 59, E::Exec, O::Exec, Cwd),
    rule("execveat", 322, E::Exec, O::Exec, A0),
    rule("clone", 56, E::Fork, O::Child, Cwd),
    rule("clone3", 435, E::Fork, O::Child, Cwd),
    rule("fork", 57, E::Fork, O::Child, Cwd),
    rule("vfork", 58, E::Fork, O::Child, Cwd),
    rule("open", 2, E::Read, O::Opened(Some(1)), Cwd),
    rule("openat", 257, E::Read, O::Opened(Some(2)), A0),
    rule("openat2", 437, E::Read, O::Opened(None), A0),
    rule("creat", 85, E::Create, O::Opened(None), Cwd),
    rule("truncate", 76, E::Truncate, O::Path, Cwd),
    rule("ftruncate", 77, E::Truncate, O::Path, Cwd),
    rule("rename", 82, E::Rename, O::Renamed, Cwd),
    rule("renameat", 264, E::Rename, O::Renamed, A0A2),
    rule("renameat2", 316, E::Rename, O::Renamed, A0A2),
    rule("unlink", 87, E::Unlink, O::Deleted, Cwd),
    rule("unlinkat", 263, E::Unlink, O::Deleted, A0),
    rule("rmdir", 84, E::Unlink, O::Deleted, Cwd),
    rule("link", 86, E::Link, O::Created, Cwd),
    rule("linkat", 265, E::Link, O::Created, A0A2),
    rule("symlink", 88, E::Link, O::Created, Cwd),
    rule("symlinkat", 266, E::Link, O::Created, A1),
    rule("mknod", 133, E::Create, O::Created, Cwd),
    rule("mknodat", 259, E::Create, O::Created, A0),
    rule("mkdir", 83, E::Create, O::Created, Cwd),
    rule("mkdirat", 258, E::Create, O::Created, A0),
    rule("chmod", 90, E::Chmod, O::Path, Cwd),
    rule("fchmod", 91, E::Chmod, O::Path, Cwd),
    rule("fchmodat", 268, E::Chmod, O::Path, A0),
    rule("fchmodat2", 452, E::Chmod, O::Path, A0),
    rule("chown", 92, E::Chown, O::Path, Cwd),
    rule("fchown", 93, E::Chown, O::Path, Cwd),
    rule("lchown", 94, E::Chown, O::Path, Cwd),
    rule("fchownat", 260, E::Chown, O::Path, A0),
    rule("setuid", 105, E::SetUid, O::Uid, Cwd),
    rule("setreuid", 113, E::SetUid, O::Uid, Cwd),
    rule("setresuid", 117, E::SetUid, O::Uid, Cwd),
    rule("setfsuid", 122, E::SetUid, O::Uid, Cwd),
    rule("setgid", 106, E::SetUid, O::Gid, Cwd),
    rule("setregid", 114, E::SetUid, O::Gid, Cwd),
    rule("setresgid", 119, E::SetUid, O::Gid, Cwd),
    rule("setfsgid", 123, E::SetUid, O::Gid, Cwd),
    rule("connect", 42, E::Connect, O::RemoteSocket, Cwd),
    rule("accept", 43, E::Accept, O::AcceptedSocket, Cwd),
    rule("accept4", 288, E::Accept, O::AcceptedSocket, Cwd),
    rule("bind", 49, E::Bind, O::LocalSocket, Cwd),
    rule("listen", 50, E::Listen, O::LocalSocket, Cwd),
    rule("sendto", 44, E::Send, O::RemoteSocket, Cwd),
    rule("sendmsg", 46, E::Send, O::RemoteSocket, Cwd),
    rule("recvfrom", 45, E::Recv, O::RemoteSocket, Cwd),
    rule("recvmsg", 47, E::Recv, O::RemoteSocket, Cwd),
    rule("ptrace", 101, E::Inject, O::TargetProcess(1), Cwd),
    rule("kill", 62, E::Signal, O::TargetProcess(0), Cwd),
    rule("tkill", 200, E::Signal, O::TargetProcess(0), Cwd),
    rule("tgkill", 234, E::Signal, O::TargetProcess(0), Cwd),
    rule("pipe", 22, E::Create, O::NewPipe, Cwd),
    rule("pipe2", 293, E::Create, O::NewPipe, Cwd),
    rule("dup", 32, E::Other, O::Dropped, Cwd),
    rule("dup2", 33, E::Other, O::Dropped, Cwd),
    rule("dup3", 292, E::Other, O::Dropped, Cwd),
    rule("init_module", 175, E::Load, O::Module, Cwd),
    rule("finit_module", 313, E::Load, O::Module, Cwd),
    rule("delete_module", 176, E::Unload, O::Module, Cwd),
    rule("mount", 165, E::Mount, O::MountPoint, Cwd),
    rule("umount2", 166, E::Mount, O::MountPoint, Cwd),
    rule("write", 1, E::Other, O::Dropped, Cwd),
];

/// `arch=` of x86_64 (AUDIT_ARCH_X86_64).
pub(crate) const ARCH_X86_64: u64 = 0xc000_003e;

/// The row index and rule for a syscall name.
pub(crate) fn rule_by_name(name: &[u8]) -> Option<(usize, &'static SyscallRule)> {
    SYSCALL_RULES
        .iter()
        .enumerate()
        .find(|(_, r)| r.name.as_bytes() == name)
}

/// The row index and rule for an x86_64 syscall number.
pub(crate) fn rule_by_x86_64(number: u64) -> Option<(usize, &'static SyscallRule)> {
    SYSCALL_RULES
        .iter()
        .enumerate()
        .find(|(_, r)| u64::from(r.x86_64) == number)
}

/// `O_ACCMODE` bits of open flags.
const O_ACCMODE: u64 = 0o3;

/// Edge kind of an open by its flags (and whether a PATH item says CREATE).
pub(crate) fn open_edge(flags: Option<u64>, created: bool) -> EdgeKind {
    if created {
        return EdgeKind::Create;
    }
    match flags.map(|f| f & O_ACCMODE) {
        Some(0) => EdgeKind::Read,
        Some(_) => EdgeKind::Write,
        None => EdgeKind::Open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_are_unique() {
        for (i, a) in SYSCALL_RULES.iter().enumerate() {
            for b in SYSCALL_RULES.iter().skip(i + 1) {
                assert_ne!(a.name, b.name);
                assert_ne!(a.x86_64, b.x86_64, "{} and {}", a.name, b.name);
            }
        }
    }

    #[test]
    fn covers_every_syscall_of_the_lab_rules() {
        let rules = "execve,execveat clone,clone3,fork,vfork open,openat,openat2,creat,truncate,ftruncate \
             rename,renameat,renameat2,unlink,unlinkat,link,linkat,symlink,symlinkat,mknod,mknodat \
             chmod,fchmod,fchmodat,chown,fchown,fchownat,lchown setuid,setgid,setreuid,setregid,setresuid,setresgid \
             connect,accept,accept4,bind,listen sendto,recvfrom ptrace,kill,tkill,tgkill pipe,pipe2,dup2,dup3 \
             init_module,finit_module,delete_module,mount,umount2";
        for name in rules.split([' ', ',']) {
            assert!(rule_by_name(name.as_bytes()).is_some(), "{name} missing");
        }
    }

    #[test]
    fn x86_64_numbers_match_names() {
        assert_eq!(rule_by_x86_64(257).unwrap().1.name, "openat");
        assert_eq!(rule_by_x86_64(59).unwrap().1.name, "execve");
        assert_eq!(rule_by_x86_64(435).unwrap().1.name, "clone3");
        assert_eq!(rule_by_x86_64(288).unwrap().1.name, "accept4");
        assert!(rule_by_x86_64(0).is_none());
    }

    #[test]
    fn open_flags_pick_the_edge() {
        assert_eq!(open_edge(Some(0x80000), false), EdgeKind::Read); // O_CLOEXEC|O_RDONLY
        assert_eq!(open_edge(Some(0x241), false), EdgeKind::Write); // O_WRONLY|O_CREAT|O_TRUNC, file existed
        assert_eq!(open_edge(Some(0x2), false), EdgeKind::Write); // O_RDWR
        assert_eq!(open_edge(Some(0x241), true), EdgeKind::Create);
        assert_eq!(open_edge(None, false), EdgeKind::Open);
    }
}

#[cfg(test)]
mod doc_tests {
    use super::SYSCALL_RULES;

    /// The documented table and this one must not drift apart.
    #[test]
    fn every_row_is_documented() {
        let doc = include_str!("../../../../docs/formats/auditd.md");
        for r in SYSCALL_RULES {
            let edge = if r.object == super::Object::Dropped {
                "—".to_owned()
            } else {
                r.edge.to_string()
            };
            let row = format!("| {} | {} | {} |", r.name, r.x86_64, edge);
            assert!(doc.contains(&row), "docs/formats/auditd.md lacks `{row}`");
        }
    }
}
