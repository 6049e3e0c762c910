//! A bounded table of CDM subjects and objects by UUID.
//!
//! CDM names every node once (a `Subject` or `*Object` record) and then refers
//! to it by UUID from any number of events, so the parser must remember what
//! each UUID is. The table holds at most `max_entities` entries and evicts the
//! oldest inserted one first (FIFO, not LRU: a lookup does not refresh an
//! entry, which keeps a lookup free of writes). An evicted UUID that comes up
//! again becomes an entity of kind `unknown` with the same UUID, so it is still
//! the same node of the graph (see `docs/formats/cdm.md`).

use std::sync::Arc;

use event::Entity;

use crate::fifo::FifoMap;

/// Entities by canonical UUID text.
pub(crate) struct UuidCache(FifoMap<Arc<str>, Arc<Entity>>);

impl UuidCache {
    /// A table holding at most `max_entities` entries (at least one).
    pub fn new(max_entities: usize) -> Self {
        Self(FifoMap::new(max_entities))
    }

    /// The entity recorded for `uuid`.
    pub fn get(&self, uuid: &str) -> Option<&Arc<Entity>> {
        self.0.get(uuid)
    }

    /// Records (or replaces) the entity for `uuid`; evicts the oldest entry
    /// when the table is full.
    pub fn put(&mut self, uuid: &str, entity: Arc<Entity>) {
        self.0.insert(Arc::from(uuid), entity, "CDM entities");
    }

    /// Entries dropped so far.
    pub fn evictions(&self) -> u64 {
        self.0.evictions()
    }

    /// Entries held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::{EntityKind, NativeId};

    fn entity(uuid: &str) -> Arc<Entity> {
        Arc::new(Entity::new(
            EntityKind::File,
            NativeId::CdmUuid { uuid: uuid.into() },
            None,
        ))
    }

    #[test]
    fn evicts_the_oldest_and_counts() {
        let mut c = UuidCache::new(3);
        for i in 0..10 {
            c.put(&format!("u{i}"), entity(&format!("u{i}")));
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.evictions(), 7);
        assert!(c.get("u6").is_none());
        assert!(c.get("u7").is_some() && c.get("u9").is_some());
    }

    #[test]
    fn replacing_does_not_grow_or_evict() {
        let mut c = UuidCache::new(2);
        c.put("a", entity("a"));
        c.put("b", entity("b"));
        c.put("a", entity("a"));
        assert_eq!((c.len(), c.evictions()), (2, 0));
    }
}
