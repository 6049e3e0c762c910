//! The process table: pid → the current entity of that process.
//!
//! Identity is `NativeId::AuditdProcess { pid, start }`, where `start` is the
//! time of the clone/fork/vfork/clone3 that returned the pid, or the first
//! record that named it. A new fork of a pid replaces the entry, so pid reuse
//! gives a new identity. One exception: a child can run (and be audited)
//! before its parent's clone record is written; when the entry was made by
//! such a first sighting, with the same parent and not before the fork, the
//! fork keeps that identity instead of making a second one.
//!
//! `exec` and credential changes make a new `Arc<Entity>` with the same id
//! and updated `name` (exe), `cmdline` and `user` (uid). The table holds at
//! most `max_processes` entries; past that the oldest is evicted and counted.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use event::{Entity, EntityKind, NativeId, Timestamp};

/// How an entry came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// From the return value of a fork.
    Forked,
    /// From the first record naming the pid.
    Sighted,
}

#[derive(Debug, Clone)]
struct Entry {
    entity: Arc<Entity>,
    origin: Origin,
}

/// What a SYSCALL record says about its actor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Actor<'a> {
    /// `pid=`.
    pub pid: u32,
    /// `ppid=`.
    pub ppid: Option<u32>,
    /// `uid=` as written (decimal).
    pub uid: Option<&'a str>,
    /// `exe=`, decoded.
    pub exe: Option<&'a str>,
}

/// pid → process entity, bounded.
pub(crate) struct ProcessTable {
    map: HashMap<u32, Entry>,
    /// Insertion order (pid, start) for eviction; stale pairs are skipped.
    order: VecDeque<(u32, Timestamp)>,
    max_processes: usize,
    evictions: u64,
}

impl ProcessTable {
    /// An empty table holding at most `max_processes` entries.
    pub fn new(max_processes: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            max_processes: max_processes.max(1),
            evictions: 0,
        }
    }

    /// Entries evicted so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Entries held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    fn insert(&mut self, pid: u32, entry: Entry) {
        let start = entry.entity.start.unwrap_or_default();
        self.map.insert(pid, entry);
        self.order.push_back((pid, start));
        while self.map.len() > self.max_processes
            || self.order.len() > self.max_processes.saturating_mul(2)
        {
            let Some((old_pid, old_start)) = self.order.pop_front() else {
                break;
            };
            let live = self
                .map
                .get(&old_pid)
                .is_some_and(|e| e.entity.start == Some(old_start));
            if live && (self.map.len() > self.max_processes || old_pid != pid) {
                self.map.remove(&old_pid);
                self.evictions = self.evictions.saturating_add(1);
                tracing::debug!(
                    message = "Process table at cap, oldest process evicted.",
                    pid = old_pid,
                    max_processes = self.max_processes
                );
            }
        }
    }

    /// The entity of the acting process, made on first sighting and updated
    /// when its uid changed or a missing ppid/exe becomes known.
    pub fn actor(
        &mut self,
        actor: Actor<'_>,
        ts: Timestamp,
        host: &Option<Arc<str>>,
    ) -> Arc<Entity> {
        if let Some(entry) = self.map.get_mut(&actor.pid) {
            let e = &entry.entity;
            let user_changed = actor.uid.is_some() && e.user.as_deref() != actor.uid;
            let ppid_new = e.ppid.is_none() && actor.ppid.is_some();
            let name_new = e.name.is_none() && actor.exe.is_some();
            if user_changed || ppid_new || name_new {
                let mut updated = Entity::clone(e);
                if user_changed {
                    updated.user = actor.uid.map(Arc::from);
                }
                if ppid_new {
                    updated.ppid = actor.ppid;
                }
                if name_new {
                    updated.name = actor.exe.map(Arc::from);
                }
                entry.entity = Arc::new(updated);
            }
            return Arc::clone(&entry.entity);
        }
        let mut entity = new_process(actor.pid, ts, host);
        entity.ppid = actor.ppid;
        entity.user = actor.uid.map(Arc::from);
        entity.name = actor.exe.map(Arc::from);
        let entity = Arc::new(entity);
        self.insert(
            actor.pid,
            Entry {
                entity: Arc::clone(&entity),
                origin: Origin::Sighted,
            },
        );
        entity
    }

    /// A process named only by pid (a signal or ptrace target): the current
    /// entry, or a new first-sighting entry.
    pub fn target(&mut self, pid: u32, ts: Timestamp, host: &Option<Arc<str>>) -> Arc<Entity> {
        if let Some(entry) = self.map.get(&pid) {
            return Arc::clone(&entry.entity);
        }
        let entity = Arc::new(new_process(pid, ts, host));
        self.insert(
            pid,
            Entry {
                entity: Arc::clone(&entity),
                origin: Origin::Sighted,
            },
        );
        entity
    }

    /// True when `child_pid` was already seen acting as a child of `parent`
    /// (its own records written before the fork's, see the module doc).
    pub fn sighted_child(&self, parent: &Entity, child_pid: u32, ts: Timestamp) -> bool {
        self.map.get(&child_pid).is_some_and(|entry| {
            entry.origin == Origin::Sighted
                && entry.entity.ppid.is_some()
                && entry.entity.ppid == parent.pid
                && entry.entity.start.is_some_and(|s| s >= ts)
        })
    }

    /// Registers the child of a fork at `ts`; it inherits exe, cmdline and
    /// user from `parent`.
    pub fn fork(&mut self, parent: &Entity, child_pid: u32, ts: Timestamp) -> Arc<Entity> {
        let parent_pid = parent.pid;
        if self.sighted_child(parent, child_pid, ts) {
            if let Some(entry) = self.map.get(&child_pid) {
                return Arc::clone(&entry.entity);
            }
        }
        let mut child = new_process(child_pid, ts, &parent.host);
        child.ppid = parent_pid;
        child.name.clone_from(&parent.name);
        child.cmdline.clone_from(&parent.cmdline);
        child.user.clone_from(&parent.user);
        let child = Arc::new(child);
        self.insert(
            child_pid,
            Entry {
                entity: Arc::clone(&child),
                origin: Origin::Forked,
            },
        );
        child
    }

    /// Records an exec: the process keeps its identity and takes a new exe and cmdline.
    pub fn exec(
        &mut self,
        current: &Entity,
        exe: Option<&str>,
        cmdline: Option<&str>,
    ) -> Arc<Entity> {
        let mut updated = current.clone();
        if let Some(exe) = exe {
            updated.name = Some(Arc::from(exe));
        }
        updated.cmdline = cmdline.map(Arc::from);
        let updated = Arc::new(updated);
        if let Some(pid) = current.pid {
            if let Some(entry) = self.map.get_mut(&pid) {
                if entry.entity.id == current.id {
                    entry.entity = Arc::clone(&updated);
                }
            }
        }
        updated
    }
}

/// A `clone3` whose child has not been seen acting yet.
#[derive(Debug, Clone)]
pub(crate) struct PendingChild {
    /// The parent as it was at the clone.
    pub parent: Arc<Entity>,
    /// Time of the clone.
    pub ts: Timestamp,
    /// Serial of the clone's audit event.
    pub seq: u64,
    /// Native type of the clone's event (`clone3`).
    pub native: Arc<str>,
}

/// Children of `clone3` held back until they act.
///
/// Why: `clone3` takes its flags in a struct the audit record does not show,
/// so a thread cannot be told from a process by the record alone, and glibc
/// (2.34 and later) makes every `pthread_create` a `clone3`. A thread's own
/// syscalls are audited under its process's pid, never its own id, so a
/// child id that never acts is a thread: on the shared recordings 1,635 of
/// 1,636 `clone3` children (Python's `http.server` makes a thread per
/// request; gpg-agent one per connection). Made at once, each became a
/// process with no activity but its creation: 50 "processes" under one web
/// server, scored and pulled into explanations. A child is made, and its
/// fork edge emitted with the clone's time, when its pid first acts with
/// the cloning process as its parent. A child re-parented before its first
/// audited syscall loses its fork edge (it still appears, with its `ppid`).
///
/// At most `max` children wait; past that the oldest are dropped and counted.
pub(crate) struct PendingChildren {
    map: HashMap<u32, PendingChild>,
    order: VecDeque<(u32, u64)>,
    max: usize,
    dropped: u64,
}

impl PendingChildren {
    /// An empty set holding at most `max` children.
    pub fn new(max: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            max: max.max(1),
            dropped: 0,
        }
    }

    /// Holds `child_pid` back; a pid cloned again replaces its older entry.
    pub fn defer(&mut self, child_pid: u32, pending: PendingChild) {
        let seq = pending.seq;
        if self.map.insert(child_pid, pending).is_some() {
            self.dropped = self.dropped.saturating_add(1);
        }
        self.order.push_back((child_pid, seq));
        while self.map.len() > self.max || self.order.len() > self.max.saturating_mul(2) {
            let Some((pid, seq)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&pid).is_some_and(|p| p.seq == seq) && self.map.len() > self.max {
                self.map.remove(&pid);
                self.dropped = self.dropped.saturating_add(1);
            }
        }
    }

    /// The waiting clone of `pid`, taken when `ppid` is its parent's pid.
    /// A pid that acts under another parent is a reused id: the entry is
    /// dropped (the clone was a thread).
    pub fn claim(&mut self, pid: u32, ppid: Option<u32>) -> Option<PendingChild> {
        let pending = self.map.remove(&pid)?;
        if ppid.is_some() && pending.parent.pid == ppid {
            Some(pending)
        } else {
            self.dropped = self.dropped.saturating_add(1);
            None
        }
    }

    /// Children that never acted so far (dropped, or still waiting): threads.
    pub fn unclaimed(&self) -> u64 {
        self.dropped
            .saturating_add(u64::try_from(self.map.len()).unwrap_or(u64::MAX))
    }
}

fn new_process(pid: u32, start: Timestamp, host: &Option<Arc<str>>) -> Entity {
    let mut e = Entity::new(
        EntityKind::Process,
        NativeId::AuditdProcess { pid, start },
        host.clone(),
    );
    e.pid = Some(pid);
    e.start = Some(start);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(pid: u32, ppid: u32) -> Actor<'static> {
        Actor {
            pid,
            ppid: Some(ppid),
            uid: Some("0"),
            exe: Some("/usr/bin/bash"),
        }
    }

    #[test]
    fn fork_then_exec_keeps_one_identity() {
        let mut t = ProcessTable::new(16);
        let parent = t.actor(actor(10, 1), Timestamp::from_nanos(1), &None);
        let child = t.fork(&parent, 11, Timestamp::from_nanos(5));
        assert_eq!(child.ppid, Some(10));
        assert_eq!(child.start, Some(Timestamp::from_nanos(5)));
        assert_eq!(child.name.as_deref(), Some("/usr/bin/bash"));
        let later = t.actor(actor(11, 10), Timestamp::from_nanos(6), &None);
        assert_eq!(later.id, child.id);
        let execd = t.exec(&later, Some("/usr/bin/cat"), Some("cat /etc/shadow"));
        assert_eq!(execd.id, child.id);
        let after = t.actor(actor(11, 10), Timestamp::from_nanos(7), &None);
        assert_eq!(after.name.as_deref(), Some("/usr/bin/cat"));
        assert_eq!(after.cmdline.as_deref(), Some("cat /etc/shadow"));
    }

    #[test]
    fn pid_reuse_by_a_new_fork_gives_a_new_identity() {
        let mut t = ProcessTable::new(16);
        let p = t.actor(actor(10, 1), Timestamp::from_nanos(1), &None);
        let a = t.fork(&p, 11, Timestamp::from_nanos(5));
        let b = t.fork(&p, 11, Timestamp::from_nanos(9));
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn a_child_seen_before_its_fork_record_keeps_its_identity() {
        let mut t = ProcessTable::new(16);
        let p = t.actor(actor(10, 1), Timestamp::from_nanos(1), &None);
        let early = t.actor(actor(11, 10), Timestamp::from_nanos(5), &None);
        let forked = t.fork(&p, 11, Timestamp::from_nanos(5));
        assert_eq!(early.id, forked.id);
    }

    #[test]
    fn uid_change_updates_user_not_identity() {
        let mut t = ProcessTable::new(16);
        let a = t.actor(actor(10, 1), Timestamp::from_nanos(1), &None);
        let b = t.actor(
            Actor {
                uid: Some("1000"),
                ..actor(10, 1)
            },
            Timestamp::from_nanos(2),
            &None,
        );
        assert_eq!(a.id, b.id);
        assert_eq!(b.user.as_deref(), Some("1000"));
    }

    fn pending(parent: &Arc<Entity>, seq: u64) -> PendingChild {
        PendingChild {
            parent: Arc::clone(parent),
            ts: Timestamp::from_nanos(5),
            seq,
            native: Arc::from("clone3"),
        }
    }

    #[test]
    fn a_pending_child_is_claimed_only_by_its_parent() {
        let mut t = ProcessTable::new(16);
        let p = t.actor(actor(10, 1), Timestamp::from_nanos(1), &None);
        let mut w = PendingChildren::new(8);
        w.defer(11, pending(&p, 1));
        w.defer(12, pending(&p, 2));
        assert_eq!(w.unclaimed(), 2);
        let claimed = w.claim(11, Some(10)).expect("child of 10");
        assert_eq!(claimed.parent.id, p.id);
        assert!(w.claim(11, Some(10)).is_none(), "claimed once");
        // Pid 12 acting under another parent: a reused thread id.
        assert!(w.claim(12, Some(99)).is_none());
        assert_eq!(w.unclaimed(), 1);
    }

    #[test]
    fn pending_children_stay_within_their_cap() {
        let mut t = ProcessTable::new(16);
        let p = t.actor(actor(10, 1), Timestamp::from_nanos(1), &None);
        let mut w = PendingChildren::new(4);
        for pid in 100..200 {
            w.defer(pid, pending(&p, u64::from(pid)));
            assert!(w.map.len() <= 4 && w.order.len() <= 8);
        }
        assert_eq!(w.unclaimed(), 100);
        assert!(w.claim(199, Some(10)).is_some(), "the newest waits");
        assert!(w.claim(100, Some(10)).is_none(), "the oldest was dropped");
    }

    #[test]
    fn stays_within_its_cap() {
        let mut t = ProcessTable::new(4);
        for pid in 0..100 {
            t.actor(actor(pid, 1), Timestamp::from_nanos(i64::from(pid)), &None);
            assert!(t.len() <= 4);
        }
        assert_eq!(t.evictions(), 96);
    }
}
