//! A bounded cache of the entities a reader has handed out, so that events of
//! the same process or file share one `Arc` instead of allocating per event.
//!
//! Eviction is first-in first-out: a process that is evicted while still
//! alive is rebuilt from the next record that names it, with the same id, so
//! eviction costs attributes that only its creation record carried (command
//! line, hashes), never identity.

use std::sync::Arc;

use event::{Entity, EntityId};

use crate::fifo::FifoMap;

/// Entities by id, at most `cap` of them.
#[derive(Debug)]
pub struct EntityCache(FifoMap<EntityId, Arc<Entity>>);

impl EntityCache {
    /// An empty cache holding at most `cap` entities (at least one).
    pub fn new(cap: usize) -> Self {
        Self(FifoMap::new(cap))
    }

    /// The cached entity with this id.
    pub fn get(&self, id: EntityId) -> Option<Arc<Entity>> {
        self.0.get(&id).cloned()
    }

    /// Caches `entity`, replacing any entity with the same id, evicting the
    /// oldest when full. Returns the shared handle.
    pub fn insert(&mut self, entity: Entity) -> Arc<Entity> {
        let entity = Arc::new(entity);
        self.0
            .insert(entity.id, Arc::clone(&entity), "sysmon entities");
        entity
    }

    /// The cached entity with `entity`'s id, or `entity` itself, cached.
    pub fn get_or_insert(&mut self, entity: Entity) -> Arc<Entity> {
        match self.get(entity.id) {
            Some(e) => e,
            None => self.insert(entity),
        }
    }

    /// Entities evicted so far.
    pub fn evictions(&self) -> u64 {
        self.0.evictions()
    }

    /// Entities held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::EntityKind;

    #[test]
    fn evicts_the_oldest_and_counts_it() {
        let mut c = EntityCache::new(2);
        let a = c.insert(Entity::named(EntityKind::File, "a", None));
        c.insert(Entity::named(EntityKind::File, "b", None));
        // Replacing does not grow the cache or change the order.
        c.insert(Entity::named(EntityKind::File, "a", None).with_pid(1));
        assert_eq!(c.len(), 2);
        c.insert(Entity::named(EntityKind::File, "c", None));
        assert_eq!(c.len(), 2);
        assert_eq!(c.evictions(), 1);
        assert!(c.get(a.id).is_none());
        let b = Entity::named(EntityKind::File, "b", None);
        assert!(Arc::ptr_eq(
            &c.get(b.id).unwrap(),
            &c.get_or_insert(b.clone())
        ));
    }
}
