//! `Event` records → edges.
//!
//! CDM18/20: the event names `subject`, `predicateObject` and, for rename and
//! link, `predicateObject2`; each named object gives one edge from the subject
//! (actor first, as everywhere; `EdgeKind::flows_to_subject` says when data
//! moved the other way). CDM13: the event names nothing; the `SimpleEdge`
//! records after it say who generated it (`EDGE_EVENT_ISGENERATEDBY_SUBJECT`)
//! and what it touched (`EDGE_<X>_AFFECTS_EVENT`, `EDGE_EVENT_AFFECTS_<X>`),
//! so it is held as a [`Pending13`] until the next event and then emitted with
//! one edge per touched object.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use event::{EdgeKind, Entity, EntityKind, Event, NativeId, SourceFormat, Timestamp};
use serde_json::{Map, Value};

use super::cache::UuidCache;
use super::mapping::{edge_kind, EVENT_KINDS};
use super::value::{
    loose_i64, opt_i64, opt_string, opt_uuid, req_i64, req_string, req_uuid, At, UuidShape,
};
use super::CdmStats;
use crate::error::{Error, Result};

/// Most objects linked to one CDM13 event; more are dropped (the real trace
/// has at most four).
pub(crate) const MAX_LINKS_PER_EVENT: usize = 16;

/// What the edge builders need from the reader.
pub(crate) struct Context<'a> {
    pub entities: &'a mut UuidCache,
    pub host: Option<Arc<str>>,
}

impl Context<'_> {
    /// The entity of `uuid`; an `unknown` entity with that UUID when the
    /// table does not have it. `path` names a nameless known entity (CDM18
    /// `FileObject`s carry no path; events do).
    fn entity(&mut self, uuid: &str, path: Option<&str>, stats: &mut CdmStats) -> Arc<Entity> {
        match self.entities.get(uuid) {
            Some(e) => match (path, &e.name) {
                (Some(p), None) => {
                    let named = Arc::new(Entity::clone(e).with_name(p));
                    self.entities.put(uuid, Arc::clone(&named));
                    named
                }
                _ => Arc::clone(e),
            },
            None => {
                stats.unknown_uuids = stats.unknown_uuids.saturating_add(1);
                let mut e = Entity::new(
                    EntityKind::Unknown,
                    NativeId::CdmUuid {
                        uuid: uuid.to_owned(),
                    },
                    self.host.clone(),
                );
                if let Some(p) = path {
                    e = e.with_name(p);
                }
                Arc::new(e)
            }
        }
    }
}

/// The event type as a shared string: the table's own `&'static str` when
/// known, so the common case does not allocate per event.
fn native_type(event_type: &str) -> Arc<str> {
    let known = EVENT_KINDS
        .iter()
        .find(|(n, _)| *n == event_type)
        .map(|(n, _)| *n);
    Arc::from(known.unwrap_or(event_type))
}

fn push(
    out: &mut VecDeque<Result<Event>>,
    ts: Timestamp,
    kind: EdgeKind,
    subject: &Arc<Entity>,
    object: Arc<Entity>,
    native: &Arc<str>,
    seq: u64,
) {
    out.push_back(Ok(Event {
        ts,
        kind,
        subject: Arc::clone(subject),
        object,
        native_type: Arc::clone(native),
        seq,
        format: SourceFormat::DarpaTc,
    }));
}

/// A CDM18/20 `Event` record → 0, 1 or 2 edges.
pub(crate) fn parse_event(
    at: At<'_>,
    body: &Map<String, Value>,
    mut ctx: Context<'_>,
    stats: &mut CdmStats,
    out: &mut VecDeque<Result<Event>>,
) -> Result<()> {
    let shape = UuidShape::Text;
    req_uuid(at, body, "uuid", shape)?;
    let event_type = req_string(at, body, "type")?;
    let ts = Timestamp::from_nanos(req_i64(at, body, "timestampNanos")?);
    let seq = loose_i64(at, body, "sequence")?
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(at.line);
    let subject = opt_uuid(at, body, "subject", shape, false)?;
    let object = opt_uuid(at, body, "predicateObject", shape, false)?;
    let object_path = opt_string(at, body, "predicateObjectPath")?;
    let object2 = opt_uuid(at, body, "predicateObject2", shape, false)?;
    let object2_path = opt_string(at, body, "predicateObject2Path")?;
    let Some(subject) = subject else {
        return Err(at.missing("subject", "a subject UUID (the acting process)"));
    };
    let kind = edge_kind(event_type);
    let native = native_type(event_type);
    let subject = ctx.entity(&subject, None, stats);
    let Some(object) = object else {
        stats.no_object = stats.no_object.saturating_add(1);
        return Ok(());
    };
    let object = ctx.entity(&object, object_path, stats);
    push(out, ts, kind, &subject, object, &native, seq);
    if let Some(o2) = object2 {
        if matches!(kind, EdgeKind::Rename | EdgeKind::Link) {
            let o2 = ctx.entity(&o2, object2_path, stats);
            push(out, ts, kind, &subject, o2, &native, seq);
        } else {
            stats.unused_object2 = stats.unused_object2.saturating_add(1);
        }
    }
    Ok(())
}

/// Role of an object linked to a CDM13 event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `EDGE_EVENT_ISGENERATEDBY_SUBJECT`: the actor.
    Generator,
    /// `EDGE_<X>_AFFECTS_EVENT`: read from (the old name of a rename, the executable).
    Input,
    /// `EDGE_EVENT_AFFECTS_<X>`: written to (the new name, the child process).
    Output,
}

/// One `SimpleEdge` that links an event to a node.
#[derive(Debug)]
pub(crate) struct EventLink {
    pub event_uuid: String,
    pub node_uuid: String,
    pub role: Role,
}

/// What a CDM13 `SimpleEdge` is about.
#[derive(Debug)]
pub(crate) enum Cdm13Link {
    /// An event-to-node link.
    Event(EventLink),
    /// A node-to-node edge (`EDGE_OBJECT_PREV_VERSION`,
    /// `EDGE_SUBJECT_HASLOCALPRINCIPAL`, ...): accepted, gives no edge.
    NotAboutEvents,
}

/// Parses a CDM13 `SimpleEdge`. Event links are written with the event as
/// `fromUuid` in the real trace; either end is accepted.
pub(crate) fn parse_simple_edge(at: At<'_>, body: &Map<String, Value>) -> Result<Cdm13Link> {
    let from = req_uuid(at, body, "fromUuid", UuidShape::Fixed)?;
    let to = req_uuid(at, body, "toUuid", UuidShape::Fixed)?;
    let edge_type = req_string(at, body, "type")?;
    let role = if edge_type == "EDGE_EVENT_ISGENERATEDBY_SUBJECT" {
        Role::Generator
    } else if edge_type.starts_with("EDGE_EVENT_AFFECTS_") {
        Role::Output
    } else if edge_type.starts_with("EDGE_") && edge_type.ends_with("_AFFECTS_EVENT") {
        Role::Input
    } else {
        return Ok(Cdm13Link::NotAboutEvents);
    };
    Ok(Cdm13Link::Event(EventLink {
        event_uuid: from,
        node_uuid: to,
        role,
    }))
}

/// A CDM13 event waiting for its `SimpleEdge`s.
#[derive(Debug)]
pub(crate) struct Pending13 {
    uuid: String,
    event_type: String,
    ts: Timestamp,
    seq: u64,
    line: u64,
    subject: Option<String>,
    objects: Vec<(String, Role)>,
}

impl Pending13 {
    /// Reads a CDM13 `Event` record.
    pub fn parse(at: At<'_>, body: &Map<String, Value>) -> Result<Self> {
        let uuid = req_uuid(at, body, "uuid", UuidShape::Fixed)?;
        let event_type = req_string(at, body, "type")?.to_owned();
        let micros = opt_i64(at, body, "timestampMicros")?.unwrap_or(0);
        let ts = Timestamp::from_micros(micros).ok_or_else(|| {
            at.malformed(
                "timestampMicros",
                "microseconds within ±292 years of 1970",
                &Value::from(micros),
            )
        })?;
        let seq = loose_i64(at, body, "sequence")?
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(at.line);
        Ok(Self {
            uuid,
            event_type,
            ts,
            seq,
            line: at.line,
            subject: None,
            objects: Vec::new(),
        })
    }

    /// Attaches a link, checking it names this event.
    pub fn attach(&mut self, at: At<'_>, link: EventLink) -> Result<()> {
        // Either end may be the event.
        let node = if link.event_uuid == self.uuid {
            link.node_uuid
        } else if link.node_uuid == self.uuid {
            link.event_uuid
        } else {
            return Err(at.malformed(
                "fromUuid",
                "the UUID of the Event record just before",
                &Value::String(link.event_uuid),
            ));
        };
        match link.role {
            Role::Generator => self.subject = Some(node),
            role => {
                if self.objects.len() < MAX_LINKS_PER_EVENT {
                    self.objects.push((node, role));
                }
            }
        }
        Ok(())
    }

    /// Emits one edge per linked object, in link order; an event without a
    /// generating subject is an error naming the event's line.
    pub fn emit(
        self,
        path: &Arc<PathBuf>,
        ctx: &mut Context<'_>,
        stats: &mut CdmStats,
        out: &mut VecDeque<Result<Event>>,
    ) {
        let Some(subject) = self.subject else {
            out.push_back(Err(Error::malformed(
                path,
                self.line,
                "datum.Event.uuid",
                "an event followed by its EDGE_EVENT_ISGENERATEDBY_SUBJECT",
                self.event_type.as_bytes(),
            )));
            return;
        };
        if self.objects.is_empty() {
            stats.no_object = stats.no_object.saturating_add(1);
            return;
        }
        let kind = edge_kind(&self.event_type);
        let native = native_type(&self.event_type);
        let subject = ctx.entity(&subject, None, stats);
        // Inputs (old name, executable) before outputs (new name, child), as
        // CDM18 orders predicateObject before predicateObject2.
        let mut objects = self.objects;
        objects.sort_by_key(|(_, role)| *role != Role::Input);
        for (uuid, _) in objects {
            let object = ctx.entity(&uuid, None, stats);
            push(out, self.ts, kind, &subject, object, &native, self.seq);
        }
    }
}
