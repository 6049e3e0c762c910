//! A completed audit event → provenance edges, by the table in `mapping.rs`.
//!
//! Policy (documented in `docs/formats/auditd.md`):
//! - events without a `SYSCALL` record (`LOGIN`, `DAEMON_*`, `USER_*`, ...)
//!   give no edge and no error, unless they hold records that only come with
//!   a syscall (`PATH`, `CWD`, `EXECVE`, ...): that is an orphan,
//!   [`Error::IncompleteEvent`];
//! - failed syscalls (`success=no`), syscalls not in the table and `Dropped`
//!   rows give no edge;
//! - raw logs name the syscall by number; only x86_64 numbers are known, any
//!   other `arch=` is [`Error::Unsupported`] once per event.
//! - `clone(CLONE_THREAD)` gives no edge; a `clone3` child gives its fork
//!   edge when it first acts (see [`PendingChildren`]): one that never does
//!   is a thread.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use event::{EdgeKind, Entity, EntityKind, Event, SourceFormat, Timestamp};

use crate::error::{Error, Result};

use super::cache::EntityCache;
use super::coalesce::{AuditEvent, RecordSpan};
use super::execve::{parse_execve_cmdline, parse_proctitle};
use super::mapping::{
    open_edge, rule_by_name, rule_by_x86_64, DirFd, Object, SyscallRule, ARCH_X86_64, SYSCALL_RULES,
};
use super::process::{Actor, PendingChild, PendingChildren, ProcessTable};
use super::record::{
    decode_string_into, enriched_field, fields, parse_dec, parse_hex, parse_signed, split_enriched,
    RecordKind, Value,
};
use super::sockaddr::parse_sockaddr;

/// `AT_FDCWD` (-100) as the kernel prints a 32-bit `int` argument.
const AT_FDCWD_LOW32: u64 = 0xffff_ff9c;
/// `CLONE_THREAD`: the clone made a thread, not a process.
const CLONE_THREAD: u64 = 0x0001_0000;

/// Bounds and names the builder needs.
#[derive(Debug, Clone)]
pub(crate) struct BuilderSettings {
    /// Host for events without `node=`.
    pub host: Option<Arc<str>>,
    /// Most processes tracked.
    pub max_processes: usize,
    /// Most named entities cached.
    pub max_cached_entities: usize,
    /// Bytes of command line kept.
    pub argv_limit_bytes: usize,
}

/// Counters of what was dropped by policy (not errors).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BuilderStats {
    /// Events with a SYSCALL record.
    pub syscall_events: u64,
    /// Events without one (LOGIN, DAEMON_*, USER_*...).
    pub non_syscall_events: u64,
    /// Failed syscalls dropped.
    pub failed: u64,
    /// Syscalls not in the table, or `Dropped` rows.
    pub unmapped: u64,
    /// clone(CLONE_THREAD) dropped.
    pub threads: u64,
    /// clone3 children that never acted (threads; see [`PendingChildren`]).
    pub clone3_threads: u64,
    /// Syscalls whose object could not be named (no suitable PATH item, ...).
    pub no_object: u64,
    /// Signals a process sent to itself (`raise`, `abort`: libc's tgkill of
    /// its own pid), dropped: nothing flows between entities.
    pub self_signals: u64,
}

/// The SYSCALL fields the mapping needs, borrowed from the record.
#[derive(Default)]
struct SyscallFields<'a> {
    arch: Option<&'a [u8]>,
    syscall: Option<&'a [u8]>,
    success: Option<&'a [u8]>,
    exit: Option<&'a [u8]>,
    args: [Option<&'a [u8]>; 4],
    pid: Option<&'a [u8]>,
    ppid: Option<&'a [u8]>,
    uid: Option<&'a [u8]>,
    euid: Option<&'a [u8]>,
    egid: Option<&'a [u8]>,
    exe: Option<Value<'a>>,
}

impl<'a> SyscallFields<'a> {
    fn parse(raw: &'a [u8]) -> Self {
        let mut f = Self::default();
        for (key, value) in fields(raw) {
            let v = Some(value.raw());
            match key {
                b"arch" => f.arch = v,
                b"syscall" => f.syscall = v,
                b"success" => f.success = v,
                b"exit" => f.exit = v,
                b"a0" => f.args[0] = v,
                b"a1" => f.args[1] = v,
                b"a2" => f.args[2] = v,
                b"a3" => f.args[3] = v,
                b"pid" => f.pid = v,
                b"ppid" => f.ppid = v,
                b"uid" => f.uid = v,
                b"euid" => f.euid = v,
                b"egid" => f.egid = v,
                b"exe" => f.exe = Some(value),
                _ => {}
            }
        }
        f
    }

    fn arg(&self, i: u8) -> Option<u64> {
        self.args
            .get(usize::from(i))
            .copied()
            .flatten()
            .and_then(parse_hex)
    }
}

/// One PATH item: its name (range into the names buffer) and type.
#[derive(Debug, Clone)]
struct PathItem {
    name: Option<std::ops::Range<usize>>,
    nametype: NameType,
    inode: Option<u64>,
    dev: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameType {
    Normal,
    Create,
    Delete,
    Parent,
    Other,
}

/// Turns completed audit events into edges.
pub(crate) struct EdgeBuilder {
    path: Arc<PathBuf>,
    settings: BuilderSettings,
    last_host: Option<(Vec<u8>, Arc<str>)>,
    processes: ProcessTable,
    pending_children: PendingChildren,
    entities: EntityCache,
    /// (pid, fd) → the socket last connected, bound or accepted on it.
    sockets_by_fd: HashMap<(u32, u64), Arc<Entity>>,
    native_types: Vec<Arc<str>>,
    names: Vec<u8>,
    items: Vec<PathItem>,
    resolved: Vec<u8>,
    stats: BuilderStats,
}

/// The parts of the event every edge shares.
struct EdgeContext {
    ts: Timestamp,
    seq: u64,
    native: Arc<str>,
    host: Option<Arc<str>>,
    subject: Arc<Entity>,
}

impl EdgeBuilder {
    /// A builder for one file.
    pub fn new(path: Arc<PathBuf>, settings: BuilderSettings) -> Self {
        Self {
            path,
            processes: ProcessTable::new(settings.max_processes),
            pending_children: PendingChildren::new(settings.max_processes),
            entities: EntityCache::new(settings.max_cached_entities),
            settings,
            last_host: None,
            sockets_by_fd: HashMap::new(),
            native_types: SYSCALL_RULES.iter().map(|r| Arc::from(r.name)).collect(),
            names: Vec::new(),
            items: Vec::new(),
            resolved: Vec::new(),
            stats: BuilderStats::default(),
        }
    }

    /// Policy counters so far.
    pub fn stats(&self) -> BuilderStats {
        BuilderStats {
            clone3_threads: self.pending_children.unclaimed(),
            ..self.stats
        }
    }

    /// Evictions of the process table and the entity cache so far.
    pub fn evictions(&self) -> (u64, u64) {
        (self.processes.evictions(), self.entities.evictions())
    }

    fn host(&mut self, node: Option<&[u8]>) -> Option<Arc<str>> {
        let Some(node) = node else {
            return self.settings.host.clone();
        };
        if let Some((bytes, host)) = &self.last_host {
            if bytes.as_slice() == node {
                return Some(Arc::clone(host));
            }
        }
        let host: Arc<str> = Arc::from(String::from_utf8_lossy(node).as_ref());
        self.last_host = Some((node.to_vec(), Arc::clone(&host)));
        Some(host)
    }

    fn malformed(
        &self,
        span: &RecordSpan,
        field: &str,
        expected: &'static str,
        found: &[u8],
    ) -> Error {
        Error::malformed(&self.path, span.line, field, expected, found)
    }

    /// Appends the edges of `event` (or one error) to `out`.
    pub fn build(&mut self, event: &AuditEvent, out: &mut VecDeque<Result<Event>>) {
        if let Err(e) = self.try_build(event, out) {
            out.push_back(Err(e));
        }
    }

    fn try_build(&mut self, event: &AuditEvent, out: &mut VecDeque<Result<Event>>) -> Result<()> {
        let Some(stamp) = event.stamp else {
            return Ok(());
        };
        let Some(syscall_span) = event.records_of(RecordKind::Syscall).next() else {
            self.stats.non_syscall_events = self.stats.non_syscall_events.saturating_add(1);
            if event.records.iter().any(|r| r.kind.needs_syscall()) {
                return Err(Error::IncompleteEvent {
                    path: Arc::clone(&self.path),
                    line: event.first_line,
                    serial: stamp.serial,
                    missing: "SYSCALL record",
                });
            }
            return Ok(());
        };
        self.stats.syscall_events = self.stats.syscall_events.saturating_add(1);
        let (raw, tail) = split_enriched(event.payload(syscall_span));
        let f = SyscallFields::parse(raw);

        let Some((rule_index, rule)) = self.rule(&f, tail, syscall_span)? else {
            self.stats.unmapped = self.stats.unmapped.saturating_add(1);
            return Ok(());
        };
        if rule.object == Object::Dropped {
            self.stats.unmapped = self.stats.unmapped.saturating_add(1);
            return Ok(());
        }
        match f.success {
            Some(b"yes") => {}
            Some(b"no") => {
                self.stats.failed = self.stats.failed.saturating_add(1);
                return Ok(());
            }
            other => {
                return Err(self.malformed(
                    syscall_span,
                    "success",
                    "`yes` or `no`",
                    other.unwrap_or_default(),
                ))
            }
        }
        let ts = stamp
            .timestamp()
            .ok_or_else(|| self.malformed(syscall_span, "msg", "a time before 2262", b""))?;
        let pid = f
            .pid
            .and_then(parse_dec)
            .and_then(|p| u32::try_from(p).ok())
            .ok_or_else(|| {
                self.malformed(
                    syscall_span,
                    "pid",
                    "a decimal pid",
                    f.pid.unwrap_or_default(),
                )
            })?;
        let ppid = f
            .ppid
            .and_then(parse_dec)
            .and_then(|p| u32::try_from(p).ok());
        let uid = f
            .uid
            .filter(|u| parse_dec(u).is_some())
            .and_then(|u| std::str::from_utf8(u).ok());
        let mut exe_buf = Vec::new();
        if let Some(v) = f.exe {
            decode_string_into(v, &mut exe_buf)
                .map_err(|expected| self.malformed(syscall_span, "exe", expected, v.raw()))?;
        }
        let exe = (!exe_buf.is_empty()).then(|| String::from_utf8_lossy(&exe_buf));
        let host = self.host(event.node.as_deref());
        if let Some(clone) = self.pending_children.claim(pid, ppid) {
            // The first act of a clone3 child: it is a process, born at the clone.
            let child = self.processes.fork(&clone.parent, pid, clone.ts);
            out.push_back(Ok(Event {
                ts: clone.ts,
                kind: EdgeKind::Fork,
                subject: clone.parent,
                object: child,
                native_type: clone.native,
                seq: clone.seq,
                format: SourceFormat::Auditd,
            }));
        }
        let mut subject = self.processes.actor(
            Actor {
                pid,
                ppid,
                uid,
                exe: exe.as_deref(),
            },
            ts,
            &host,
        );
        if subject.cmdline.is_none() && rule.object != Object::Exec {
            if let Some(span) = event.records_of(RecordKind::Proctitle).next() {
                if let Some(cmd) =
                    parse_proctitle(event.payload(span), self.settings.argv_limit_bytes)
                {
                    let cmd = String::from_utf8_lossy(&cmd);
                    subject = self.processes.exec(&subject, None, Some(&cmd));
                }
            }
        }
        self.parse_paths(event)?;
        let cwd = self.parse_cwd(event)?;

        let native = self
            .native_types
            .get(rule_index)
            .cloned()
            .unwrap_or_else(|| Arc::from(rule.name));
        let ctx = EdgeContext {
            ts,
            seq: stamp.serial,
            native,
            host,
            subject,
        };
        self.map_object(event, rule, &f, &ctx, cwd.as_deref(), exe.as_deref(), out)
    }

    /// The table row for this SYSCALL record, or `None` when it is not mapped.
    fn rule(
        &self,
        f: &SyscallFields<'_>,
        tail: Option<&[u8]>,
        span: &RecordSpan,
    ) -> Result<Option<(usize, &'static SyscallRule)>> {
        if let Some(name) = tail.and_then(|t| enriched_field(t, b"SYSCALL")) {
            return Ok(rule_by_name(name));
        }
        let arch_raw = f.arch.unwrap_or_default();
        let arch = parse_hex(arch_raw)
            .ok_or_else(|| self.malformed(span, "arch", "a hex audit arch", arch_raw))?;
        if arch != ARCH_X86_64 {
            return Err(Error::Unsupported {
                path: Arc::clone(&self.path),
                line: span.line,
                what: "audit arch (raw logs: only x86_64 syscall numbers are known)",
                found: String::from_utf8_lossy(arch_raw).into_owned(),
            });
        }
        let number_raw = f.syscall.unwrap_or_default();
        let number = parse_dec(number_raw)
            .ok_or_else(|| self.malformed(span, "syscall", "a syscall number", number_raw))?;
        Ok(rule_by_x86_64(number))
    }

    fn parse_paths(&mut self, event: &AuditEvent) -> Result<()> {
        self.names.clear();
        self.items.clear();
        for span in event.records_of(RecordKind::Path) {
            let (raw, _) = split_enriched(event.payload(span));
            let mut item = PathItem {
                name: None,
                nametype: NameType::Other,
                inode: None,
                dev: Vec::new(),
            };
            for (key, value) in fields(raw) {
                match key {
                    b"name" => {
                        item.name =
                            decode_string_into(value, &mut self.names).map_err(|expected| {
                                self.malformed(span, "name", expected, value.raw())
                            })?;
                    }
                    b"nametype" => {
                        item.nametype = match value.raw() {
                            b"NORMAL" => NameType::Normal,
                            b"CREATE" => NameType::Create,
                            b"DELETE" => NameType::Delete,
                            b"PARENT" => NameType::Parent,
                            _ => NameType::Other,
                        }
                    }
                    b"inode" => item.inode = parse_dec(value.raw()),
                    b"dev" => item.dev = value.raw().to_vec(),
                    _ => {}
                }
            }
            self.items.push(item);
        }
        Ok(())
    }

    fn parse_cwd(&self, event: &AuditEvent) -> Result<Option<Vec<u8>>> {
        let Some(span) = event.records_of(RecordKind::Cwd).next() else {
            return Ok(None);
        };
        let (raw, _) = split_enriched(event.payload(span));
        let Some((_, value)) = fields(raw).find(|(k, _)| *k == b"cwd") else {
            return Ok(None);
        };
        let mut cwd = Vec::new();
        let range = decode_string_into(value, &mut cwd)
            .map_err(|expected| self.malformed(span, "cwd", expected, value.raw()))?;
        Ok(range.map(|_| cwd))
    }

    /// The file entity of PATH item `index`, its name resolved; the inode
    /// when the item has no name.
    fn item_file(
        &mut self,
        index: usize,
        cwd: Option<&[u8]>,
        dirfd: Option<u64>,
        host: &Option<Arc<str>>,
    ) -> Option<Arc<Entity>> {
        let item = self.items.get(index)?;
        self.resolved.clear();
        match &item.name {
            Some(range) => {
                let name = self.names.get(range.clone())?;
                let relative_to_cwd = dirfd.is_none_or(|fd| fd & 0xffff_ffff == AT_FDCWD_LOW32);
                resolve_path(cwd, name, relative_to_cwd, &mut self.resolved);
            }
            None => {
                let inode = item.inode?;
                self.resolved.extend_from_slice(b"inode:");
                self.resolved.extend_from_slice(&item.dev);
                self.resolved.push(b':');
                self.resolved
                    .extend_from_slice(inode.to_string().as_bytes());
            }
        }
        Some(self.named(EntityKind::File, host, |_| {}))
    }

    /// A named entity for the bytes in `self.resolved`, from the cache.
    fn named(
        &mut self,
        kind: EntityKind,
        host: &Option<Arc<str>>,
        fill: impl FnOnce(&mut Entity),
    ) -> Arc<Entity> {
        let name = &self.resolved;
        self.entities.get_or_insert(kind, name, host, || {
            let mut e = Entity::named(kind, &String::from_utf8_lossy(name), host.clone());
            fill(&mut e);
            e
        })
    }

    fn find_item(&self, wanted: &[NameType], last: bool) -> Option<usize> {
        let mut it = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| wanted.contains(&i.nametype));
        if last {
            it.next_back().map(|(n, _)| n)
        } else {
            it.next().map(|(n, _)| n)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn map_object(
        &mut self,
        event: &AuditEvent,
        rule: &'static SyscallRule,
        f: &SyscallFields<'_>,
        ctx: &EdgeContext,
        cwd: Option<&[u8]>,
        exe: Option<&str>,
        out: &mut VecDeque<Result<Event>>,
    ) -> Result<()> {
        let host = ctx.host.clone();
        let first_dirfd = match rule.dirfd {
            DirFd::Cwd => None,
            DirFd::A0 | DirFd::A0A2 => Some(f.arg(0).unwrap_or(AT_FDCWD_LOW32)),
            DirFd::A1 => Some(f.arg(1).unwrap_or(AT_FDCWD_LOW32)),
        };
        let second_dirfd = match rule.dirfd {
            DirFd::A0A2 => Some(f.arg(2).unwrap_or(AT_FDCWD_LOW32)),
            _ => first_dirfd,
        };
        let exit = f.exit.and_then(parse_signed);
        let mut emit = |this: &mut Self,
                        kind: EdgeKind,
                        subject: &Arc<Entity>,
                        object: Option<Arc<Entity>>| {
            match object {
                Some(object) => out.push_back(Ok(Event {
                    ts: ctx.ts,
                    kind,
                    subject: Arc::clone(subject),
                    object,
                    native_type: Arc::clone(&ctx.native),
                    seq: ctx.seq,
                    format: SourceFormat::Auditd,
                })),
                None => this.stats.no_object = this.stats.no_object.saturating_add(1),
            }
        };
        let subject = &ctx.subject;
        match rule.object {
            Object::Exec => {
                let file = match self.item_file(0, cwd, first_dirfd, &host) {
                    Some(file) => Some(file),
                    None => exe.map(|exe| {
                        self.resolved.clear();
                        self.resolved.extend_from_slice(exe.as_bytes());
                        self.named(EntityKind::File, &host, |_| {})
                    }),
                };
                let cmdline = self.exec_cmdline(event)?;
                let updated = self.processes.exec(subject, exe, cmdline.as_deref());
                emit(self, rule.edge, &updated, file);
            }
            Object::Child => {
                let is_thread =
                    rule.name == "clone" && f.arg(0).is_some_and(|a| a & CLONE_THREAD != 0);
                if is_thread {
                    self.stats.threads = self.stats.threads.saturating_add(1);
                    return Ok(());
                }
                let child_pid = exit.filter(|e| *e > 0).and_then(|e| u32::try_from(e).ok());
                if let Some(child_pid) = child_pid.filter(|_| rule.name == "clone3") {
                    if !self.processes.sighted_child(subject, child_pid, ctx.ts) {
                        self.pending_children.defer(
                            child_pid,
                            PendingChild {
                                parent: Arc::clone(subject),
                                ts: ctx.ts,
                                seq: ctx.seq,
                                native: Arc::clone(&ctx.native),
                            },
                        );
                        return Ok(());
                    }
                }
                let child =
                    child_pid.map(|child_pid| self.processes.fork(subject, child_pid, ctx.ts));
                emit(self, rule.edge, subject, child);
            }
            Object::Opened(flags_arg) => {
                let created = self.find_item(&[NameType::Create], false);
                let index = created.or_else(|| self.find_item(&[NameType::Normal], false));
                let flags = match flags_arg {
                    Some(i) => f.arg(i),
                    // creat(): O_WRONLY|O_CREAT|O_TRUNC.
                    None if rule.edge == EdgeKind::Create => Some(0o1101),
                    None => None,
                };
                let kind = open_edge(flags, created.is_some());
                let file = index.and_then(|i| self.item_file(i, cwd, first_dirfd, &host));
                emit(self, kind, subject, file);
            }
            Object::Path => {
                let index = self
                    .find_item(&[NameType::Normal, NameType::Create], false)
                    .or(if self.items.is_empty() { None } else { Some(0) });
                let file = index.and_then(|i| self.item_file(i, cwd, first_dirfd, &host));
                emit(self, rule.edge, subject, file);
            }
            Object::Created => {
                let index = self.find_item(&[NameType::Create], true);
                let file = index.and_then(|i| self.item_file(i, cwd, second_dirfd, &host));
                emit(self, rule.edge, subject, file);
            }
            Object::Deleted => {
                let index = self.find_item(&[NameType::Delete], false);
                let file = index.and_then(|i| self.item_file(i, cwd, first_dirfd, &host));
                emit(self, rule.edge, subject, file);
            }
            Object::Renamed => {
                let old = self.find_item(&[NameType::Delete], false);
                let new = self.find_item(&[NameType::Create], true);
                let old_file = old.and_then(|i| self.item_file(i, cwd, first_dirfd, &host));
                let new_file = new.and_then(|i| self.item_file(i, cwd, second_dirfd, &host));
                emit(self, rule.edge, subject, old_file);
                emit(self, rule.edge, subject, new_file);
            }
            Object::Uid | Object::Gid => {
                let (prefix, value) = if rule.object == Object::Uid {
                    ("uid:", f.euid)
                } else {
                    ("gid:", f.egid)
                };
                let principal = value.filter(|v| parse_dec(v).is_some()).map(|v| {
                    self.resolved.clear();
                    self.resolved.extend_from_slice(prefix.as_bytes());
                    self.resolved.extend_from_slice(v);
                    self.named(EntityKind::Principal, &host, |_| {})
                });
                emit(self, rule.edge, subject, principal);
            }
            Object::RemoteSocket | Object::LocalSocket | Object::AcceptedSocket => {
                let socket = self.socket(event, rule, f, exit, ctx)?;
                emit(self, rule.edge, subject, Some(socket));
            }
            Object::TargetProcess(arg) => {
                let target = self
                    .obj_pid(event)
                    .or_else(|| {
                        // The argument is an int: negative means a group.
                        f.arg(arg)
                            .and_then(|a| i32::try_from(a).ok())
                            .filter(|p| *p > 0)
                            .and_then(|p| u32::try_from(p).ok())
                    })
                    .map(|pid| self.processes.target(pid, ctx.ts, &host));
                // A signal to oneself (`sort` raising SIGPIPE when `head`
                // closes the pipe) is a self-loop without a flow: dropped,
                // counted, so that it neither makes a node look unusual nor
                // links anything (docs/formats/auditd.md).
                if rule.edge == EdgeKind::Signal
                    && target.as_ref().is_some_and(|t| t.id == subject.id)
                {
                    self.stats.self_signals = self.stats.self_signals.saturating_add(1);
                    return Ok(());
                }
                emit(self, rule.edge, subject, target);
            }
            Object::NewPipe => {
                let fds = event
                    .records_of(RecordKind::FdPair)
                    .next()
                    .map(|s| {
                        let (raw, _) = split_enriched(event.payload(s));
                        let get = |k: &[u8]| {
                            fields(raw)
                                .find(|(key, _)| *key == k)
                                .map(|(_, v)| String::from_utf8_lossy(v.raw()).into_owned())
                                .unwrap_or_default()
                        };
                        format!("[{},{}]", get(b"fd0"), get(b"fd1"))
                    })
                    .unwrap_or_default();
                let name = format!("pipe:{}{}@{}", ctx.seq, fds, ctx.ts);
                let pipe = Entity::named(EntityKind::Pipe, &name, host.clone());
                emit(self, rule.edge, subject, Some(Arc::new(pipe)));
            }
            Object::Module => {
                let module = match self.find_item(&[NameType::Normal], false) {
                    Some(i) if self.items.get(i).is_some_and(|it| it.name.is_some()) => {
                        self.item_file(i, cwd, None, &host).map(|file| {
                            self.resolved.clear();
                            self.resolved.extend_from_slice(
                                file.name.as_deref().unwrap_or_default().as_bytes(),
                            );
                            self.named(EntityKind::Module, &host, |_| {})
                        })
                    }
                    _ => {
                        self.resolved.clear();
                        self.resolved.extend_from_slice(b"kmod:");
                        self.resolved.extend_from_slice(rule.name.as_bytes());
                        Some(self.named(EntityKind::Module, &host, |_| {}))
                    }
                };
                emit(self, rule.edge, subject, module);
            }
            Object::MountPoint => {
                let last = self.items.len().checked_sub(1);
                let file = last.and_then(|i| self.item_file(i, cwd, None, &host));
                emit(self, rule.edge, subject, file);
            }
            Object::Dropped => {}
        }
        Ok(())
    }

    fn exec_cmdline(&self, event: &AuditEvent) -> Result<Option<String>> {
        let mut execve = event.records_of(RecordKind::Execve).peekable();
        if let Some(first) = execve.peek() {
            let line = first.line;
            let payloads = execve.map(|s| event.payload(s));
            let cmd = parse_execve_cmdline(payloads, self.settings.argv_limit_bytes).map_err(
                |fault| {
                    Error::malformed(&self.path, line, fault.field, fault.expected, &fault.found)
                },
            )?;
            return Ok(Some(String::from_utf8_lossy(&cmd).into_owned()));
        }
        Ok(event
            .records_of(RecordKind::Proctitle)
            .next()
            .and_then(|s| parse_proctitle(event.payload(s), self.settings.argv_limit_bytes))
            .map(|c| String::from_utf8_lossy(&c).into_owned()))
    }

    fn obj_pid(&self, event: &AuditEvent) -> Option<u32> {
        let span = event.records_of(RecordKind::ObjPid).next()?;
        let (raw, _) = split_enriched(event.payload(span));
        fields(raw)
            .find(|(k, _)| *k == b"opid")
            .and_then(|(_, v)| parse_dec(v.raw()))
            .and_then(|p| u32::try_from(p).ok())
    }

    /// The socket of a network syscall: SOCKADDR when present, else the
    /// socket last seen on the fd, else one named `fd:<fd>@<pid>`.
    fn socket(
        &mut self,
        event: &AuditEvent,
        rule: &SyscallRule,
        f: &SyscallFields<'_>,
        exit: Option<i64>,
        ctx: &EdgeContext,
    ) -> Result<Arc<Entity>> {
        let pid = ctx.subject.pid.unwrap_or_default();
        let fd = f.arg(0).unwrap_or(u64::MAX);
        let address = match event.records_of(RecordKind::Sockaddr).next() {
            Some(span) => {
                let (raw, _) = split_enriched(event.payload(span));
                let saddr = fields(raw)
                    .find(|(k, _)| *k == b"saddr")
                    .map(|(_, v)| v.raw())
                    .unwrap_or_default();
                Some(
                    parse_sockaddr(saddr)
                        .ok_or_else(|| self.malformed(span, "saddr", "a hex sockaddr", saddr))?,
                )
            }
            None => None,
        };
        let local = rule.object == Object::LocalSocket;
        let socket = match address {
            Some(address) => {
                let name = address.to_name();
                self.resolved.clear();
                self.resolved.extend_from_slice(name.as_bytes());
                self.named(EntityKind::Socket, &ctx.host, |e| {
                    let addr: Arc<str> = Arc::from(name.as_str());
                    if local {
                        e.local_addr = Some(addr);
                    } else {
                        e.remote_addr = Some(addr);
                    }
                })
            }
            None => match self.sockets_by_fd.get(&(pid, fd)) {
                Some(s) => Arc::clone(s),
                None => {
                    self.resolved.clear();
                    self.resolved
                        .extend_from_slice(format!("fd:{fd}@{pid}").as_bytes());
                    self.named(EntityKind::Socket, &ctx.host, |_| {})
                }
            },
        };
        let new_fd = match rule.object {
            Object::AcceptedSocket => exit.and_then(|e| u64::try_from(e).ok()),
            _ if rule.edge == EdgeKind::Connect || rule.edge == EdgeKind::Bind => Some(fd),
            _ => None,
        };
        if let Some(new_fd) = new_fd {
            if self.sockets_by_fd.len() >= self.settings.max_processes {
                tracing::debug!(
                    message = "Socket fd table at cap, cleared.",
                    entries = self.sockets_by_fd.len()
                );
                self.sockets_by_fd.clear();
            }
            self.sockets_by_fd
                .insert((pid, new_fd), Arc::clone(&socket));
        }
        Ok(socket)
    }
}

/// Resolves a PATH name: absolute names are normalized; relative names are
/// joined to `cwd` when they are relative to it, else kept as written
/// (relative to a directory fd we do not track). `.` and `..` are folded
/// lexically; symlinks are not resolved.
pub(crate) fn resolve_path(
    cwd: Option<&[u8]>,
    name: &[u8],
    relative_to_cwd: bool,
    out: &mut Vec<u8>,
) {
    out.clear();
    let absolute = name.first() == Some(&b'/');
    if !(absolute || relative_to_cwd && cwd.is_some()) {
        out.extend_from_slice(name);
        return;
    }
    let push_components = |out: &mut Vec<u8>, path: &[u8]| {
        for part in path.split(|b| *b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    let cut = memchr::memrchr(b'/', out).unwrap_or(0);
                    out.truncate(cut);
                }
                _ => {
                    out.push(b'/');
                    out.extend_from_slice(part);
                }
            }
        }
    };
    if !absolute {
        push_components(out, cwd.unwrap_or_default());
    }
    push_components(out, name);
    if out.is_empty() {
        out.push(b'/');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(cwd: Option<&str>, name: &str, rel: bool) -> String {
        let mut out = Vec::new();
        resolve_path(cwd.map(str::as_bytes), name.as_bytes(), rel, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn resolves_relative_names_against_cwd() {
        assert_eq!(
            resolve(Some("/tmp/wl/repo"), ".git/objects/8b/x", true),
            "/tmp/wl/repo/.git/objects/8b/x"
        );
        assert_eq!(
            resolve(Some("/tmp/wl"), "../etc/./passwd", true),
            "/tmp/etc/passwd"
        );
        assert_eq!(resolve(Some("/tmp"), "/etc//shadow", true), "/etc/shadow");
        assert_eq!(resolve(Some("/"), "..", true), "/");
        assert_eq!(resolve(Some("/a"), "/b/", true), "/b");
    }

    #[test]
    fn keeps_dirfd_relative_names_as_written() {
        assert_eq!(resolve(Some("/tmp"), "changelog.gz", false), "changelog.gz");
        assert_eq!(resolve(None, "x", true), "x");
    }
}
