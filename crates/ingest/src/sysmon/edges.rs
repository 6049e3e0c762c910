//! Applies the table of [`super::mapping`] to a [`WinRecord`]: builds the
//! subject and object entities (through bounded caches) and the events.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use event::{EdgeKind, Entity, EntityId, EntityKind, Event, NativeId, SourceFormat, Timestamp};

use super::cache::EntityCache;
use super::mapping::{
    access_kind, registry_kind, rows, AccessedKind, KindRule, ObjectRef, ProcessRef, Row,
};
use super::record::{parse_uint, Channel, WinRecord};
use crate::error::{Error, Result};

/// Windows event types NXLog writes into `EventType`, replacing Sysmon's.
const NXLOG_EVENT_TYPES: &[&str] = &[
    "INFO",
    "WARNING",
    "ERROR",
    "CRITICAL",
    "VERBOSE",
    "AUDIT_SUCCESS",
    "AUDIT_FAILURE",
];
/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This many events were produced.
    Mapped(usize),
    /// The channel is not one the table maps (Sysmon, Security, System).
    SkippedChannel,
    /// An event id of a mapped channel with no row in the table.
    SkippedEventId,
}

/// The fields that name one process of a record.
struct ProcessFields {
    guid: &'static str,
    pid: &'static str,
    image: &'static str,
    cmdline: Option<&'static str>,
}

impl ProcessRef {
    fn fields(self) -> Option<ProcessFields> {
        let f = |guid, pid, image, cmdline| {
            Some(ProcessFields {
                guid,
                pid,
                image,
                cmdline,
            })
        };
        match self {
            Self::Actor => f("ProcessGuid", "ProcessId", "Image", None),
            Self::Parent => f(
                "ParentProcessGuid",
                "ParentProcessId",
                "ParentImage",
                Some("ParentCommandLine"),
            ),
            Self::Child => f("ProcessGuid", "ProcessId", "Image", Some("CommandLine")),
            Self::Source => f("SourceProcessGuid", "SourceProcessId", "SourceImage", None),
            Self::Target => f("TargetProcessGuid", "TargetProcessId", "TargetImage", None),
            Self::SecurityActor => f("", "ProcessId", "ProcessName", None),
            Self::SecurityParent => f("", "ProcessId", "ParentProcessName", None),
            Self::SecurityChild => f("", "NewProcessId", "NewProcessName", Some("CommandLine")),
            Self::System | Self::SubjectAccount => None,
        }
    }

    /// True for the process a record creates: its entity replaces any cached one.
    fn is_creation(self) -> bool {
        matches!(self, Self::Child | Self::SecurityChild)
    }
}

/// Turns records into events.
pub struct EdgeBuilder {
    path: Arc<PathBuf>,
    format: SourceFormat,
    default_host: Option<Arc<str>>,
    processes: EntityCache,
    objects: EntityCache,
    native_types: HashMap<(u32, Option<u64>), Arc<str>>,
    security_pids: PidIndex,
}

/// The process each (host, pid) was last given by a Security 4688, at most
/// `cap` pids, oldest forgotten first.
struct PidIndex {
    map: HashMap<(Option<Arc<str>>, u32), EntityId>,
    order: VecDeque<(Option<Arc<str>>, u32)>,
    cap: usize,
}

impl PidIndex {
    fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    fn get(&self, host: Option<&Arc<str>>, pid: u32) -> Option<EntityId> {
        self.map.get(&(host.cloned(), pid)).copied()
    }

    fn insert(&mut self, host: Option<Arc<str>>, pid: u32, id: EntityId) {
        let key = (host, pid);
        if self.map.insert(key.clone(), id).is_none() {
            self.order.push_back(key);
            while self.map.len() > self.cap {
                let Some(old) = self.order.pop_front() else {
                    break;
                };
                self.map.remove(&old);
            }
        }
    }
}

/// Distinct `native_type` spellings interned per file. Masks are chosen by
/// whoever opens the handle, so the map needs a bound; past it, each event
/// allocates its own.
const MAX_NATIVE_TYPES: usize = 1024;

/// One record being mapped: its resolved processes, so that a process named
/// by two rows (Sysmon 1's child) is one `Arc`.
struct RecordScope<'r> {
    rec: &'r WinRecord,
    line: u64,
    host: Option<Arc<str>>,
    ts: Timestamp,
    resolved: Vec<(ProcessRef, Arc<Entity>)>,
}

impl EdgeBuilder {
    /// A builder for the file at `path`; caches hold at most `max_entities` each.
    pub fn new(
        path: Arc<PathBuf>,
        format: SourceFormat,
        default_host: Option<Arc<str>>,
        max_entities: usize,
    ) -> Self {
        Self {
            path,
            format,
            default_host,
            processes: EntityCache::new(max_entities),
            objects: EntityCache::new(max_entities),
            native_types: HashMap::new(),
            security_pids: PidIndex::new(max_entities),
        }
    }

    /// Evictions from both caches so far.
    pub fn evictions(&self) -> u64 {
        self.processes
            .evictions()
            .saturating_add(self.objects.evictions())
    }

    /// Maps `rec` (found at `line`, the EVTX record id or JSON line number, also
    /// used as the events' `seq`) and appends its events to `out`. On error
    /// nothing is appended.
    ///
    /// # Errors
    /// [`Error::Malformed`] naming the first missing or malformed field.
    pub fn push_events(
        &mut self,
        rec: &WinRecord,
        line: u64,
        out: &mut VecDeque<Event>,
    ) -> Result<Outcome> {
        if rec.channel == Channel::Other {
            return Ok(Outcome::SkippedChannel);
        }
        let mut matched = rows(rec.channel, rec.event_id).peekable();
        if matched.peek().is_none() {
            return Ok(Outcome::SkippedEventId);
        }
        let ts = rec.time.ok_or_else(|| {
            let (field, found) = match rec.field("UtcTime") {
                Some(v) => ("UtcTime", v),
                None => ("TimeCreated", rec.field("TimeCreated").unwrap_or("")),
            };
            Error::malformed(
                &self.path,
                line,
                field,
                "a time such as 2019-05-14 23:45:31.123",
                found.as_bytes(),
            )
        })?;
        let mut scope = RecordScope {
            rec,
            line,
            host: rec.computer.clone().or_else(|| self.default_host.clone()),
            ts,
            resolved: Vec::with_capacity(2),
        };
        let native_type = self.native_type(&scope)?;
        let mut events = Vec::with_capacity(2);
        for row in matched {
            events.push(self.event(&mut scope, row, &native_type)?);
        }
        let n = events.len();
        out.extend(events);
        Ok(Outcome::Mapped(n))
    }

    /// `native_type` of the record's events: the event id, and for the ids
    /// whose edge is an access, the access mask in lower-case hex
    /// (`10:0x1010` for Sysmon 10 `GrantedAccess`, `4663:0x10` for Security
    /// `AccessMask`): the event model has no per-edge attributes, and the
    /// mask is what tells a memory dump of lsass from a harmless query.
    /// Interned, at most [`MAX_NATIVE_TYPES`] spellings.
    fn native_type(&mut self, s: &RecordScope<'_>) -> Result<Arc<str>> {
        let mask_field = match (s.rec.channel, s.rec.event_id) {
            (Channel::Sysmon, 10) => Some("GrantedAccess"),
            (Channel::Security, 4663) => Some("AccessMask"),
            _ => None,
        };
        let mask = match mask_field {
            Some(f) => Some(
                parse_uint(self.required(s, f)?)
                    .ok_or_else(|| self.malformed(s, f, "a hex access mask such as 0x1010"))?,
            ),
            None => None,
        };
        let key = (s.rec.event_id, mask);
        if let Some(t) = self.native_types.get(&key) {
            return Ok(Arc::clone(t));
        }
        let text: Arc<str> = match mask {
            Some(m) => format!("{}:{m:#x}", s.rec.event_id).into(),
            None => s.rec.event_id.to_string().into(),
        };
        if self.native_types.len() < MAX_NATIVE_TYPES {
            self.native_types.insert(key, Arc::clone(&text));
        }
        Ok(text)
    }

    fn event(
        &mut self,
        s: &mut RecordScope<'_>,
        row: &Row,
        native_type: &Arc<str>,
    ) -> Result<Event> {
        let kind = self.kind(s, row.kind)?;
        let subject = self.process(s, row.subject)?;
        let object = self.object(s, row.object)?;
        Ok(Event {
            ts: s.ts,
            kind,
            subject,
            object,
            native_type: Arc::clone(native_type),
            seq: s.line,
            format: self.format,
        })
    }

    fn malformed(&self, s: &RecordScope<'_>, field: &str, expected: &'static str) -> Error {
        let found = s.rec.field(field).unwrap_or("");
        Error::malformed(&self.path, s.line, field, expected, found.as_bytes())
    }

    fn required<'r>(&self, s: &RecordScope<'r>, field: &'static str) -> Result<&'r str> {
        s.rec
            .value(field)
            .ok_or_else(|| self.malformed(s, field, "a value"))
    }

    fn kind(&self, s: &RecordScope<'_>, rule: KindRule) -> Result<EdgeKind> {
        match rule {
            KindRule::Fixed(k) => Ok(k),
            KindRule::Initiated => {
                let v = self.required(s, "Initiated")?;
                if v.eq_ignore_ascii_case("true") {
                    Ok(EdgeKind::Connect)
                } else if v.eq_ignore_ascii_case("false") {
                    Ok(EdgeKind::Accept)
                } else {
                    Err(self.malformed(s, "Initiated", "true or false"))
                }
            }
            KindRule::RegistryEventType => {
                // NXLog (and so the OTRF captures) writes the Windows event
                // type (`INFO`) over Sysmon's own `EventType`, or drops it:
                // the record still says which process touched which key, so
                // it becomes a `registry` edge of kind `other` rather than an
                // error; any other unknown value is still malformed.
                match s.rec.value("EventType").map(str::trim) {
                    None | Some("") => Ok(EdgeKind::Other),
                    Some(v) => registry_kind(v).map_or_else(
                        || {
                            if NXLOG_EVENT_TYPES.iter().any(|t| v.eq_ignore_ascii_case(t)) {
                                Ok(EdgeKind::Other)
                            } else {
                                Err(self.malformed(
                                    s,
                                    "EventType",
                                    "CreateKey, DeleteKey or DeleteValue",
                                ))
                            }
                        },
                        Ok,
                    ),
                }
            }
            KindRule::AccessMask => {
                let mask = parse_uint(self.required(s, "AccessMask")?).ok_or_else(|| {
                    self.malformed(s, "AccessMask", "a hex access mask such as 0x10")
                })?;
                let object = AccessedKind::parse(s.rec.value("ObjectType").unwrap_or("File"));
                Ok(access_kind(object, mask))
            }
        }
    }

    fn pid(&self, s: &RecordScope<'_>, field: &'static str) -> Result<Option<u32>> {
        match s.rec.value(field) {
            None => Ok(None),
            Some(v) => parse_uint(v)
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.malformed(s, field, "a decimal or 0x-hex process id")),
        }
    }

    fn process(&mut self, s: &mut RecordScope<'_>, which: ProcessRef) -> Result<Arc<Entity>> {
        if let Some((_, e)) = s.resolved.iter().find(|(r, _)| *r == which) {
            return Ok(Arc::clone(e));
        }
        let entity = match which.fields() {
            // A record without a named subject account (`-`) was acted by
            // the system, as a logon without a process is.
            None if which == ProcessRef::SubjectAccount => self
                .account(s, "Subject", &["SubjectUserSid"])
                .unwrap_or_else(|| self.system_process(s)),
            None => self.system_process(s),
            Some(f) if f.guid.is_empty() => self.security_process(s, which, &f)?,
            Some(f) => self.sysmon_process(s, which, &f)?,
        };
        s.resolved.push((which, Arc::clone(&entity)));
        Ok(entity)
    }

    fn system_process(&mut self, s: &RecordScope<'_>) -> Arc<Entity> {
        let native = NativeId::Name {
            name: "System".to_owned(),
        };
        let e = Entity::new(EntityKind::Process, native, s.host.clone())
            .with_name("System")
            .with_pid(4);
        self.processes.get_or_insert(e)
    }

    fn sysmon_process(
        &mut self,
        s: &RecordScope<'_>,
        which: ProcessRef,
        f: &ProcessFields,
    ) -> Result<Arc<Entity>> {
        let guid = self.required(s, f.guid)?;
        let pid = self.pid(s, f.pid)?;
        let native = NativeId::SysmonProcess {
            process_guid: guid.to_owned(),
            pid,
        };
        let id = Entity::derive_id(EntityKind::Process, &native, s.host.as_deref());
        if !which.is_creation() {
            if let Some(e) = self.processes.get(id) {
                return Ok(e);
            }
        }
        let mut e = Entity::new(EntityKind::Process, native, s.host.clone());
        e.pid = pid;
        e.name = s.rec.value(f.image).map(Arc::from);
        e.cmdline = f.cmdline.and_then(|c| s.rec.value(c)).map(Arc::from);
        if which.is_creation() {
            e.user = s.rec.value("User").map(Arc::from);
            e.hashes = s.rec.value("Hashes").map(Arc::from);
            e.ppid = self.pid(s, "ParentProcessId")?;
            e.start = Some(s.ts);
            return Ok(self.processes.insert(e));
        }
        Ok(self.processes.insert(e))
    }

    fn security_process(
        &mut self,
        s: &RecordScope<'_>,
        which: ProcessRef,
        f: &ProcessFields,
    ) -> Result<Arc<Entity>> {
        let pid = match self.pid(s, f.pid)? {
            Some(p) if p != 0 => p,
            _ if which == ProcessRef::SecurityActor => return Ok(self.system_process(s)),
            _ => return Err(self.malformed(s, f.pid, "a non-zero process id")),
        };
        let image = s.rec.value(f.image);
        if image.is_none() && !which.is_creation() {
            // Security 4688 before Windows 10 has no ParentProcessName, and
            // 4624 may lack ProcessName: the pid alone names the process the
            // latest 4688 on this host created with it.
            let created = self.security_pids.get(s.host.as_ref(), pid);
            if let Some(e) = created.and_then(|id| self.processes.get(id)) {
                return Ok(e);
            }
        }
        let native = security_process_id(pid, image);
        let id = Entity::derive_id(EntityKind::Process, &native, s.host.as_deref());
        if which.is_creation() {
            self.security_pids.insert(s.host.clone(), pid, id);
        } else if let Some(e) = self.processes.get(id) {
            return Ok(e);
        }
        let mut e = Entity::new(EntityKind::Process, native, s.host.clone()).with_pid(pid);
        e.name = image.map(Arc::from);
        if which.is_creation() {
            e.cmdline = f.cmdline.and_then(|c| s.rec.value(c)).map(Arc::from);
            e.user = security_user(s.rec, "Target").or_else(|| security_user(s.rec, "Subject"));
            e.ppid = self.pid(s, "ProcessId")?;
            e.start = Some(s.ts);
        }
        Ok(self.processes.insert(e))
    }

    fn named(
        &mut self,
        s: &RecordScope<'_>,
        kind: EntityKind,
        field: &'static str,
    ) -> Result<Arc<Entity>> {
        let name = self.required(s, field)?;
        let id = Entity::derive_id(
            kind,
            &NativeId::Name {
                name: name.to_owned(),
            },
            s.host.as_deref(),
        );
        if let Some(e) = self.objects.get(id) {
            return Ok(e);
        }
        let mut e = Entity::named(kind, name, s.host.clone());
        if matches!(kind, EntityKind::File | EntityKind::Module) {
            e.hashes = s
                .rec
                .value("Hashes")
                .or_else(|| s.rec.value("Hash"))
                .map(Arc::from);
        }
        Ok(self.objects.insert(e))
    }

    fn object(&mut self, s: &mut RecordScope<'_>, object: ObjectRef) -> Result<Arc<Entity>> {
        match object {
            ObjectRef::Process(p) => self.process(s, p),
            ObjectRef::File(f) => self.named(s, EntityKind::File, f),
            ObjectRef::Module(f) => self.named(s, EntityKind::Module, f),
            ObjectRef::Pipe(f) => self.named(s, EntityKind::Pipe, f),
            ObjectRef::RegistryKey(f) => self.named(s, EntityKind::RegistryKey, f),
            ObjectRef::Domain(f) => self.named(s, EntityKind::Domain, f),
            ObjectRef::Socket => self.socket(s),
            ObjectRef::Principal => self
                .account(s, "Target", &["TargetUserSid", "TargetSid"])
                .ok_or_else(|| self.malformed(s, "TargetUserName", "a value")),
            ObjectRef::AccessedObject => {
                let kind = match AccessedKind::parse(s.rec.value("ObjectType").unwrap_or("File")) {
                    AccessedKind::File => EntityKind::File,
                    AccessedKind::RegistryKey => EntityKind::RegistryKey,
                    AccessedKind::Process => EntityKind::Process,
                };
                self.named(s, kind, "ObjectName")
            }
        }
    }

    /// Sockets are not cached: nearly every connection has its own port pair.
    fn socket(&self, s: &RecordScope<'_>) -> Result<Arc<Entity>> {
        let src = endpoint(
            self.required(s, "SourceIp")?,
            self.required(s, "SourcePort")?,
        );
        let dst = endpoint(
            self.required(s, "DestinationIp")?,
            self.required(s, "DestinationPort")?,
        );
        let initiated = self.kind(s, KindRule::Initiated)? == EdgeKind::Connect;
        let name = format!("{src}->{dst}");
        let mut e = Entity::named(EntityKind::Socket, &name, s.host.clone());
        let (local, remote) = if initiated { (src, dst) } else { (dst, src) };
        e.local_addr = Some(local.into());
        e.remote_addr = Some(remote.into());
        Ok(Arc::new(e))
    }

    /// The principal `<prefix>DomainName\<prefix>UserName` (SID from the
    /// first of `sid_fields` present), `None` without a user name.
    fn account(
        &mut self,
        s: &RecordScope<'_>,
        prefix: &str,
        sid_fields: &[&str],
    ) -> Option<Arc<Entity>> {
        let name = security_user(s.rec, prefix)?;
        let id = Entity::derive_id(
            EntityKind::Principal,
            &NativeId::Name {
                name: name.to_string(),
            },
            s.host.as_deref(),
        );
        if let Some(e) = self.objects.get(id) {
            return Some(e);
        }
        let mut e = Entity::named(EntityKind::Principal, &name, s.host.clone());
        e.user = sid_fields
            .iter()
            .find_map(|f| s.rec.value(f))
            .map(Arc::from);
        Some(self.objects.insert(e))
    }
}

/// `ip:port`, with IPv6 addresses in brackets.
fn endpoint(ip: &str, port: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// Identity of a process seen only through the Security log, which has no
/// GUIDs: `security:<pid>:<image, lower case>`. Pid reuse by the same program
/// on one host merges two processes; the image keeps other reuse apart.
fn security_process_id(pid: u32, image: Option<&str>) -> NativeId {
    NativeId::Name {
        name: format!(
            "security:{pid}:{}",
            image.unwrap_or_default().to_ascii_lowercase()
        ),
    }
}

/// `Domain\User` from the `<prefix>UserName` and `<prefix>DomainName` fields.
fn security_user(rec: &WinRecord, prefix: &str) -> Option<Arc<str>> {
    let user = rec.value(&format!("{prefix}UserName"))?;
    Some(match rec.value(&format!("{prefix}DomainName")) {
        Some(d) => format!("{d}\\{user}").into(),
        None => user.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sysmon::record::parse_time;

    fn rec(channel: Channel, event_id: u32, fields: &[(&str, &str)]) -> WinRecord {
        WinRecord {
            event_id,
            channel,
            computer: Some("host1".into()),
            time: parse_time("2020-10-18 23:50:05.910"),
            record_id: None,
            fields: fields
                .iter()
                .map(|(k, v)| (Box::from(*k), Box::from(*v)))
                .collect(),
        }
    }

    fn builder() -> EdgeBuilder {
        EdgeBuilder::new(
            Arc::new(PathBuf::from("t.jsonl")),
            SourceFormat::SysmonJson,
            None,
            16,
        )
    }

    const CREATE: &[(&str, &str)] = &[
        ("ProcessGuid", "{child}"),
        ("ProcessId", "4824"),
        ("Image", "C:\\rundll32.exe"),
        ("CommandLine", "rundll32 x"),
        ("ParentProcessGuid", "{parent}"),
        ("ParentProcessId", "6100"),
        ("ParentImage", "C:\\powershell.exe"),
        ("User", "W\\wardog"),
    ];

    #[test]
    fn process_create_forks_then_execs_the_same_child() {
        let mut b = builder();
        let mut out = VecDeque::new();
        let r = rec(Channel::Sysmon, 1, CREATE);
        assert_eq!(b.push_events(&r, 7, &mut out).unwrap(), Outcome::Mapped(2));
        let fork = out[0].clone();
        let exec = out[1].clone();
        assert_eq!(fork.kind, EdgeKind::Fork);
        assert_eq!(fork.subject.name.as_deref(), Some("C:\\powershell.exe"));
        assert_eq!(fork.object.pid, Some(4824));
        assert_eq!(fork.object.ppid, Some(6100));
        assert_eq!(fork.object.cmdline.as_deref(), Some("rundll32 x"));
        assert_eq!(exec.kind, EdgeKind::Exec);
        assert!(Arc::ptr_eq(&fork.object, &exec.subject));
        assert_eq!(exec.object.kind, EntityKind::File);
        assert_eq!(exec.seq, 7);
        assert_eq!(&*exec.native_type, "1");
        // A later event of the child reuses the entity with its command line.
        let access = rec(
            Channel::Sysmon,
            10,
            &[
                ("SourceProcessGUID", "{CHILD}"),
                ("SourceProcessId", "4824"),
                ("TargetProcessGUID", "{lsass}"),
                ("TargetImage", "C:\\lsass.exe"),
                ("GrantedAccess", "0x1FFFFF"),
            ],
        );
        b.push_events(&access, 8, &mut out).unwrap();
        assert!(Arc::ptr_eq(&out[2].subject, &exec.subject));
        assert_eq!(out[2].kind, EdgeKind::ProcessAccess);
        assert_eq!(&*out[2].native_type, "10:0x1fffff");
    }

    #[test]
    fn missing_guid_is_malformed_and_emits_nothing() {
        let mut b = builder();
        let mut out = VecDeque::new();
        let r = rec(Channel::Sysmon, 11, &[("TargetFilename", "C:\\x")]);
        let e = b.push_events(&r, 3, &mut out).unwrap_err();
        assert_eq!(e.kind(), "malformed");
        assert!(
            e.to_string().contains("t.jsonl:3: field `ProcessGuid`"),
            "{e}"
        );
        assert!(out.is_empty());
    }

    #[test]
    fn other_channels_and_ids_are_skipped() {
        let mut b = builder();
        let mut out = VecDeque::new();
        let r = rec(Channel::Other, 1, CREATE);
        assert_eq!(
            b.push_events(&r, 1, &mut out).unwrap(),
            Outcome::SkippedChannel
        );
        let r = rec(Channel::Sysmon, 4, CREATE);
        assert_eq!(
            b.push_events(&r, 1, &mut out).unwrap(),
            Outcome::SkippedEventId
        );
        assert!(out.is_empty());
    }

    #[test]
    fn network_direction_sets_local_and_remote() {
        let mut b = builder();
        let mut out = VecDeque::new();
        let fields = [
            ("ProcessGuid", "{p}"),
            ("Initiated", "false"),
            ("SourceIp", "192.168.3.5"),
            ("SourcePort", "50452"),
            ("DestinationIp", "192.168.2.5"),
            ("DestinationPort", "8080"),
        ];
        b.push_events(&rec(Channel::Sysmon, 3, &fields), 1, &mut out)
            .unwrap();
        let e = &out[0];
        assert_eq!(e.kind, EdgeKind::Accept);
        assert_eq!(
            e.object.name.as_deref(),
            Some("192.168.3.5:50452->192.168.2.5:8080")
        );
        assert_eq!(e.object.local_addr.as_deref(), Some("192.168.2.5:8080"));
        assert_eq!(e.object.remote_addr.as_deref(), Some("192.168.3.5:50452"));
        let mut bad = fields;
        bad[1] = ("Initiated", "maybe");
        let err = b
            .push_events(&rec(Channel::Sysmon, 3, &bad), 2, &mut out)
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("field `Initiated`: expected true or false"));
    }

    #[test]
    fn security_4688_links_pids_to_later_4663() {
        let mut b = builder();
        let mut out = VecDeque::new();
        let create = [
            ("NewProcessId", "0x12d8"),
            ("NewProcessName", "C:\\Windows\\System32\\rundll32.exe"),
            ("ProcessId", "0x17d4"),
            ("ParentProcessName", "C:\\powershell.exe"),
            ("SubjectUserName", "wardog"),
            ("SubjectDomainName", "W5"),
            ("TargetUserName", "-"),
        ];
        b.push_events(&rec(Channel::Security, 4688, &create), 1, &mut out)
            .unwrap();
        let child = Arc::clone(&out[0].object);
        assert_eq!(child.pid, Some(0x12d8));
        assert_eq!(child.ppid, Some(0x17d4));
        assert_eq!(child.user.as_deref(), Some("W5\\wardog"));
        let access = [
            ("ProcessId", "0x12d8"),
            ("ProcessName", "C:\\Windows\\System32\\RUNDLL32.exe"),
            ("ObjectType", "Process"),
            (
                "ObjectName",
                "\\Device\\HarddiskVolume2\\Windows\\System32\\lsass.exe",
            ),
            ("AccessMask", "0x10"),
        ];
        b.push_events(&rec(Channel::Security, 4663, &access), 2, &mut out)
            .unwrap();
        assert_eq!(out[2].subject.id, child.id);
        assert_eq!(out[2].kind, EdgeKind::ProcessAccess);
        assert_eq!(out[2].object.kind, EntityKind::Process);
    }

    #[test]
    fn logon_without_process_is_done_by_system() {
        let mut b = builder();
        let mut out = VecDeque::new();
        let logon = [
            ("ProcessId", "0x0"),
            ("ProcessName", "-"),
            ("TargetUserName", "bob"),
            ("TargetDomainName", "CORP"),
            ("TargetUserSid", "S-1-5-21-1"),
        ];
        b.push_events(&rec(Channel::Security, 4624, &logon), 1, &mut out)
            .unwrap();
        assert_eq!(out[0].kind, EdgeKind::Login);
        assert_eq!(out[0].subject.name.as_deref(), Some("System"));
        assert_eq!(out[0].object.name.as_deref(), Some("CORP\\bob"));
        assert_eq!(out[0].object.user.as_deref(), Some("S-1-5-21-1"));
    }

    #[test]
    fn account_events_are_done_by_the_subject_account() {
        let mut b = builder();
        let mut out = VecDeque::new();
        let created = [
            ("SubjectUserSid", "S-1-5-21-500"),
            ("SubjectUserName", "admin"),
            ("SubjectDomainName", "CORP"),
            ("TargetUserName", "evil"),
            ("TargetDomainName", "CORP"),
            ("TargetSid", "S-1-5-21-1337"),
        ];
        b.push_events(&rec(Channel::Security, 4720, &created), 1, &mut out)
            .unwrap();
        assert_eq!(out[0].kind, EdgeKind::Create);
        assert_eq!(out[0].subject.kind, EntityKind::Principal);
        assert_eq!(out[0].subject.name.as_deref(), Some("CORP\\admin"));
        assert_eq!(out[0].subject.user.as_deref(), Some("S-1-5-21-500"));
        assert_eq!(out[0].object.name.as_deref(), Some("CORP\\evil"));
        assert_eq!(out[0].object.user.as_deref(), Some("S-1-5-21-1337"));
        // Added to a group: the group is the object; the same admin acts.
        let added = [
            ("SubjectUserName", "admin"),
            ("SubjectDomainName", "CORP"),
            ("MemberSid", "S-1-5-21-1337"),
            ("TargetUserName", "Administrators"),
            ("TargetDomainName", "Builtin"),
        ];
        b.push_events(&rec(Channel::Security, 4732, &added), 2, &mut out)
            .unwrap();
        assert_eq!(out[1].kind, EdgeKind::Write);
        assert_eq!(out[1].subject.id, out[0].subject.id);
        assert_eq!(
            out[1].object.name.as_deref(),
            Some("Builtin\\Administrators")
        );
        // A share access with no subject account is the system's.
        let share = [("SubjectUserName", "-"), ("ShareName", "\\\\*\\C$")];
        b.push_events(&rec(Channel::Security, 5145, &share), 3, &mut out)
            .unwrap();
        assert_eq!(out[2].subject.name.as_deref(), Some("System"));
        assert_eq!(out[2].object.kind, EntityKind::File);
        assert_eq!(out[2].kind, EdgeKind::Open);
        // An account event without its target is malformed, named by field.
        let e = b
            .push_events(&rec(Channel::Security, 4726, &created[..3]), 4, &mut out)
            .unwrap_err()
            .to_string();
        assert!(e.contains("TargetUserName"), "{e}");
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn service_installs_and_tasks_are_objects() {
        let mut b = builder();
        let mut out = VecDeque::new();
        let service = [
            ("ServiceName", "evilsvc"),
            ("ImagePath", "C:\\Windows\\Temp\\evil.exe"),
        ];
        assert_eq!(
            b.push_events(&rec(Channel::System, 7045, &service), 1, &mut out)
                .unwrap(),
            Outcome::Mapped(1)
        );
        assert_eq!(out[0].subject.name.as_deref(), Some("System"));
        assert_eq!(out[0].kind, EdgeKind::Create);
        assert_eq!(
            out[0].object.name.as_deref(),
            Some("C:\\Windows\\Temp\\evil.exe")
        );
        let task = [
            ("SubjectUserName", "admin"),
            ("SubjectDomainName", "CORP"),
            ("TaskName", "\\Updater"),
        ];
        b.push_events(&rec(Channel::Security, 4698, &task), 2, &mut out)
            .unwrap();
        assert_eq!(out[1].kind, EdgeKind::Create);
        assert_eq!(out[1].object.name.as_deref(), Some("\\Updater"));
        // Other System ids are skipped, by id now that the channel is mapped.
        assert_eq!(
            b.push_events(&rec(Channel::System, 7036, &service), 3, &mut out)
                .unwrap(),
            Outcome::SkippedEventId
        );
    }
}
