//! THE table: Windows event id → provenance edges. Documented, row for row, in
//! `docs/formats/sysmon.md`; a test keeps the two in step.
//!
//! Each [`Row`] turns one record into one edge; an event id with two rows
//! (Sysmon 1, Security 4688, Sysmon 14) gives two edges, in table order.
//! Ids and channels with no row are skipped without an error and counted.

use event::EdgeKind;

use super::record::Channel;

/// Which process of a record an edge end is, by the fields that name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessRef {
    /// Sysmon `ProcessGuid`, `ProcessId`, `Image` (the actor of most events).
    Actor,
    /// Sysmon 1 `ParentProcessGuid`, `ParentProcessId`, `ParentImage`, `ParentCommandLine`.
    Parent,
    /// Sysmon 1 child: `ProcessGuid`, `ProcessId`, `Image`, `CommandLine`, `User`,
    /// `Hashes`, `ParentProcessId` (ppid), `UtcTime` (start). Replaces the cached entity.
    Child,
    /// Sysmon 8/10 `SourceProcessGuid`, `SourceProcessId`, `SourceImage`.
    Source,
    /// Sysmon 8/10 `TargetProcessGuid`, `TargetProcessId`, `TargetImage`.
    Target,
    /// Security `ProcessId`, `ProcessName` (4624, 4663).
    SecurityActor,
    /// Security 4688 creator: `ProcessId`, `ParentProcessName`.
    SecurityParent,
    /// Security 4688 new process: `NewProcessId`, `NewProcessName`, `CommandLine`,
    /// `TargetUserName` (else `SubjectUserName`), `ProcessId` (ppid). Replaces the cached entity.
    SecurityChild,
    /// The host's `System` process (pid 4): the actor of driver loads and of
    /// logons whose record names no process.
    System,
    /// Not a process: the account a Security record says acted
    /// (`SubjectDomainName\SubjectUserName`, SID from `SubjectUserSid`), for
    /// account, group, task and share events, which name no process.
    SubjectAccount,
}

/// What an edge points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectRef {
    /// A process.
    Process(ProcessRef),
    /// A file named by this field; hashes from `Hashes` or `Hash`.
    File(&'static str),
    /// A module (DLL, driver) named by this field; hashes from `Hashes`.
    Module(&'static str),
    /// A named pipe named by this field.
    Pipe(&'static str),
    /// A registry key or value named by this field.
    RegistryKey(&'static str),
    /// A domain named by this field.
    Domain(&'static str),
    /// Sysmon 3 socket `SourceIp:SourcePort->DestinationIp:DestinationPort`.
    Socket,
    /// Security principal `TargetDomainName\TargetUserName`, SID from
    /// `TargetUserSid` or `TargetSid`, in `user` (4624's logon account, the
    /// account or group of 4720–4781).
    Principal,
    /// Security 4663 `ObjectName`, a file, registry key or process by `ObjectType`.
    AccessedObject,
}

/// How the edge kind is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindRule {
    /// Always this kind.
    Fixed(EdgeKind),
    /// Sysmon 3 `Initiated`: `true` → connect, `false` → accept.
    Initiated,
    /// Sysmon 12 `EventType`: `CreateKey` → registry_create; `DeleteKey`, `DeleteValue` → registry_delete.
    RegistryEventType,
    /// Security 4663 `AccessMask` and `ObjectType`: see [`access_kind`].
    AccessMask,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Channel the id belongs to.
    pub channel: Channel,
    /// `EventID`.
    pub event_id: u32,
    /// Windows' name of the event.
    pub name: &'static str,
    /// The actor.
    pub subject: ProcessRef,
    /// What it acted on.
    pub object: ObjectRef,
    /// The edge kind.
    pub kind: KindRule,
}

const fn row(
    channel: Channel,
    event_id: u32,
    name: &'static str,
    subject: ProcessRef,
    object: ObjectRef,
    kind: KindRule,
) -> Row {
    Row {
        channel,
        event_id,
        name,
        subject,
        object,
        kind,
    }
}

use Channel::{Security as SEC, Sysmon as SYS, System as SYSTEM};
use KindRule::Fixed;
use ObjectRef as O;
use ProcessRef as P;

/// The mapping, in event id order.
pub const TABLE: &[Row] = &[
    row(
        SYS,
        1,
        "ProcessCreate",
        P::Parent,
        O::Process(P::Child),
        Fixed(EdgeKind::Fork),
    ),
    row(
        SYS,
        1,
        "ProcessCreate",
        P::Child,
        O::File("Image"),
        Fixed(EdgeKind::Exec),
    ),
    row(
        SYS,
        2,
        "FileCreateTime",
        P::Actor,
        O::File("TargetFilename"),
        Fixed(EdgeKind::Other),
    ),
    row(
        SYS,
        3,
        "NetworkConnect",
        P::Actor,
        O::Socket,
        KindRule::Initiated,
    ),
    row(
        SYS,
        5,
        "ProcessTerminate",
        P::Actor,
        O::Process(P::Actor),
        Fixed(EdgeKind::Exit),
    ),
    row(
        SYS,
        6,
        "DriverLoad",
        P::System,
        O::Module("ImageLoaded"),
        Fixed(EdgeKind::Load),
    ),
    row(
        SYS,
        7,
        "ImageLoad",
        P::Actor,
        O::Module("ImageLoaded"),
        Fixed(EdgeKind::Load),
    ),
    row(
        SYS,
        8,
        "CreateRemoteThread",
        P::Source,
        O::Process(P::Target),
        Fixed(EdgeKind::Inject),
    ),
    row(
        SYS,
        10,
        "ProcessAccess",
        P::Source,
        O::Process(P::Target),
        Fixed(EdgeKind::ProcessAccess),
    ),
    row(
        SYS,
        11,
        "FileCreate",
        P::Actor,
        O::File("TargetFilename"),
        Fixed(EdgeKind::Create),
    ),
    row(
        SYS,
        12,
        "RegistryEvent (Object create and delete)",
        P::Actor,
        O::RegistryKey("TargetObject"),
        KindRule::RegistryEventType,
    ),
    row(
        SYS,
        13,
        "RegistryEvent (Value Set)",
        P::Actor,
        O::RegistryKey("TargetObject"),
        Fixed(EdgeKind::RegistrySet),
    ),
    row(
        SYS,
        14,
        "RegistryEvent (Key and Value Rename)",
        P::Actor,
        O::RegistryKey("TargetObject"),
        Fixed(EdgeKind::RegistryRename),
    ),
    row(
        SYS,
        14,
        "RegistryEvent (Key and Value Rename)",
        P::Actor,
        O::RegistryKey("NewName"),
        Fixed(EdgeKind::RegistryRename),
    ),
    row(
        SYS,
        15,
        "FileCreateStreamHash",
        P::Actor,
        O::File("TargetFilename"),
        Fixed(EdgeKind::Create),
    ),
    row(
        SYS,
        17,
        "PipeCreated",
        P::Actor,
        O::Pipe("PipeName"),
        Fixed(EdgeKind::Create),
    ),
    row(
        SYS,
        18,
        "PipeConnected",
        P::Actor,
        O::Pipe("PipeName"),
        Fixed(EdgeKind::Connect),
    ),
    row(
        SYS,
        22,
        "DNSQuery",
        P::Actor,
        O::Domain("QueryName"),
        Fixed(EdgeKind::DnsQuery),
    ),
    row(
        SYS,
        23,
        "FileDelete (archived)",
        P::Actor,
        O::File("TargetFilename"),
        Fixed(EdgeKind::Unlink),
    ),
    row(
        SYS,
        25,
        "ProcessTampering",
        P::Actor,
        O::File("Image"),
        Fixed(EdgeKind::Other),
    ),
    row(
        SYS,
        26,
        "FileDeleteDetected",
        P::Actor,
        O::File("TargetFilename"),
        Fixed(EdgeKind::Unlink),
    ),
    row(
        SEC,
        4624,
        "An account was successfully logged on",
        P::SecurityActor,
        O::Principal,
        Fixed(EdgeKind::Login),
    ),
    row(
        SEC,
        4663,
        "An attempt was made to access an object",
        P::SecurityActor,
        O::AccessedObject,
        KindRule::AccessMask,
    ),
    row(
        SEC,
        4688,
        "A new process has been created",
        P::SecurityParent,
        O::Process(P::SecurityChild),
        Fixed(EdgeKind::Fork),
    ),
    row(
        SEC,
        4688,
        "A new process has been created",
        P::SecurityChild,
        O::File("NewProcessName"),
        Fixed(EdgeKind::Exec),
    ),
    row(
        SEC,
        4698,
        "A scheduled task was created",
        P::SubjectAccount,
        O::File("TaskName"),
        Fixed(EdgeKind::Create),
    ),
    row(
        SEC,
        4699,
        "A scheduled task was deleted",
        P::SubjectAccount,
        O::File("TaskName"),
        Fixed(EdgeKind::Unlink),
    ),
    row(
        SEC,
        4702,
        "A scheduled task was updated",
        P::SubjectAccount,
        O::File("TaskName"),
        Fixed(EdgeKind::Write),
    ),
    row(
        SEC,
        4720,
        "A user account was created",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Create),
    ),
    row(
        SEC,
        4722,
        "A user account was enabled",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Write),
    ),
    row(
        SEC,
        4723,
        "An attempt was made to change an account's password",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Write),
    ),
    row(
        SEC,
        4724,
        "An attempt was made to reset an account's password",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Write),
    ),
    row(
        SEC,
        4725,
        "A user account was disabled",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Write),
    ),
    row(
        SEC,
        4726,
        "A user account was deleted",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Unlink),
    ),
    row(
        SEC,
        4728,
        "A member was added to a security-enabled global group",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Write),
    ),
    row(
        SEC,
        4732,
        "A member was added to a security-enabled local group",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Write),
    ),
    row(
        SEC,
        4738,
        "A user account was changed",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Write),
    ),
    row(
        SEC,
        4742,
        "A computer account was changed",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Write),
    ),
    row(
        SEC,
        4756,
        "A member was added to a security-enabled universal group",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Write),
    ),
    row(
        SEC,
        4781,
        "The name of an account was changed",
        P::SubjectAccount,
        O::Principal,
        Fixed(EdgeKind::Rename),
    ),
    row(
        SEC,
        5140,
        "A network share object was accessed",
        P::SubjectAccount,
        O::File("ShareName"),
        Fixed(EdgeKind::Open),
    ),
    row(
        SEC,
        5145,
        "A network share object was checked to see whether client can be granted desired access",
        P::SubjectAccount,
        O::File("ShareName"),
        Fixed(EdgeKind::Open),
    ),
    row(
        SYSTEM,
        7045,
        "A service was installed in the system",
        P::System,
        O::File("ImagePath"),
        Fixed(EdgeKind::Create),
    ),
];

/// The rows for one channel and event id (empty when the record is skipped).
pub fn rows(channel: Channel, event_id: u32) -> impl Iterator<Item = &'static Row> {
    TABLE
        .iter()
        .filter(move |r| r.channel == channel && r.event_id == event_id)
}

/// What `ObjectType` of a Security 4663 record names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessedKind {
    /// `File` (also `Directory`, `Device`...: anything that is not a key or process).
    File,
    /// `Key`.
    RegistryKey,
    /// `Process`.
    Process,
}

impl AccessedKind {
    /// Classifies `ObjectType`.
    pub fn parse(object_type: &str) -> Self {
        if object_type.eq_ignore_ascii_case("Key") {
            Self::RegistryKey
        } else if object_type.eq_ignore_ascii_case("Process") {
            Self::Process
        } else {
            Self::File
        }
    }
}

const DELETE: u64 = 0x1_0000;
/// File `WriteData`, `AppendData`, `WriteEA`, `WriteAttributes`; key `SetValue`, `CreateSubKey`.
const FILE_WRITE_BITS: u64 = 0x2 | 0x4 | 0x10 | 0x100;
/// File `ReadData`, `ReadEA`, `Execute`, `ReadAttributes`.
const FILE_READ_BITS: u64 = 0x1 | 0x8 | 0x20 | 0x80;
const KEY_SET_VALUE: u64 = 0x2;
const KEY_CREATE_SUB_KEY: u64 = 0x4;
/// Key `QueryValue`, `EnumerateSubKeys`, `Notify`.
const KEY_READ_BITS: u64 = 0x1 | 0x8 | 0x10;

/// The edge kind of a Security 4663 access: DELETE wins over writes, writes
/// over reads; a mask with none of these bits is an `open`. Any access to a
/// process object is `process_access`.
pub fn access_kind(object: AccessedKind, mask: u64) -> EdgeKind {
    match object {
        AccessedKind::Process => EdgeKind::ProcessAccess,
        AccessedKind::File => {
            if mask & DELETE != 0 {
                EdgeKind::Unlink
            } else if mask & FILE_WRITE_BITS != 0 {
                EdgeKind::Write
            } else if mask & FILE_READ_BITS != 0 {
                EdgeKind::Read
            } else {
                EdgeKind::Open
            }
        }
        AccessedKind::RegistryKey => {
            if mask & DELETE != 0 {
                EdgeKind::RegistryDelete
            } else if mask & KEY_CREATE_SUB_KEY != 0 {
                EdgeKind::RegistryCreate
            } else if mask & KEY_SET_VALUE != 0 {
                EdgeKind::RegistrySet
            } else if mask & KEY_READ_BITS != 0 {
                EdgeKind::Read
            } else {
                EdgeKind::Open
            }
        }
    }
}

/// The edge kind of a Sysmon 12 `EventType`, `None` when unknown.
pub fn registry_kind(event_type: &str) -> Option<EdgeKind> {
    if event_type.eq_ignore_ascii_case("CreateKey") {
        Some(EdgeKind::RegistryCreate)
    } else if event_type.eq_ignore_ascii_case("DeleteKey")
        || event_type.eq_ignore_ascii_case("DeleteValue")
    {
        Some(EdgeKind::RegistryDelete)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_an_id_keep_table_order() {
        let kinds: Vec<_> = rows(Channel::Sysmon, 1).map(|r| r.kind).collect();
        assert_eq!(kinds, vec![Fixed(EdgeKind::Fork), Fixed(EdgeKind::Exec)]);
        assert_eq!(rows(Channel::Security, 1).count(), 0);
        assert_eq!(rows(Channel::Other, 4688).count(), 0);
        assert_eq!(rows(Channel::Sysmon, 4).count(), 0);
    }

    #[test]
    fn access_mask_picks_the_strongest_access() {
        use AccessedKind as A;
        assert_eq!(access_kind(A::File, 0x1), EdgeKind::Read);
        assert_eq!(access_kind(A::File, 0x3), EdgeKind::Write);
        assert_eq!(access_kind(A::File, 0x1_0002), EdgeKind::Unlink);
        assert_eq!(access_kind(A::File, 0x2_0000), EdgeKind::Open);
        assert_eq!(access_kind(A::RegistryKey, 0x2), EdgeKind::RegistrySet);
        assert_eq!(access_kind(A::RegistryKey, 0x6), EdgeKind::RegistryCreate);
        assert_eq!(access_kind(A::RegistryKey, 0x1), EdgeKind::Read);
        assert_eq!(access_kind(A::Process, 0x10), EdgeKind::ProcessAccess);
    }

    #[test]
    fn registry_event_types() {
        assert_eq!(registry_kind("CreateKey"), Some(EdgeKind::RegistryCreate));
        assert_eq!(registry_kind("DeleteValue"), Some(EdgeKind::RegistryDelete));
        assert_eq!(registry_kind("SetValue"), None);
    }

    /// The table as Markdown rows; `docs/formats/sysmon.md` must hold each line verbatim.
    pub fn doc_rows() -> Vec<String> {
        TABLE
            .iter()
            .map(|r| {
                let kind = match r.kind {
                    Fixed(k) => format!("`{k}`"),
                    KindRule::Initiated => "`connect` / `accept` by `Initiated`".to_owned(),
                    KindRule::RegistryEventType => {
                        "`registry_create` / `registry_delete` by `EventType`".to_owned()
                    }
                    KindRule::AccessMask => "by `AccessMask` and `ObjectType`".to_owned(),
                };
                format!(
                    "| {:?} | {} | {} | {:?} | {:?} | {} |",
                    r.channel, r.event_id, r.name, r.subject, r.object, kind
                )
            })
            .collect()
    }

    #[test]
    fn table_is_documented_row_for_row() {
        let doc = include_str!("../../../../docs/formats/sysmon.md");
        let missing: Vec<_> = doc_rows()
            .into_iter()
            .filter(|line| !doc.lines().any(|l| l == line))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/formats/sysmon.md lacks these table rows:\n{}",
            missing.join("\n")
        );
    }
}
