//! The shared contract of CausalDefend: what every log family is normalized into.
//!
//! In: nothing (this crate depends on no other crate of ours).
//! Out: [`Event`] — one typed, timestamped, directed edge from a subject [`Entity`]
//! to an object [`Entity`], each entity carrying a stable [`EntityId`] and its
//! native identity (auditd pid + start time, Sysmon ProcessGuid, CDM UUID, ...).
//! State: none. Every type here is a plain value.
//!
//! Why events carry whole entities (behind [`std::sync::Arc`]) rather than ids:
//! it makes each event self-contained, so the graph stage can cut windows
//! without a global entity table that would grow with the input. Parsers keep
//! bounded caches of the `Arc`s they hand out, so the sharing is cheap.

mod edge;
mod entity;
mod error;
mod event;
mod id;
mod time;

pub use edge::EdgeKind;
pub use entity::{Entity, EntityKind, NativeId};
pub use error::{Error, Result};
pub use event::{Event, SourceFormat, SourcePos};
pub use id::{EntityId, IdHasher};
pub use time::Timestamp;
