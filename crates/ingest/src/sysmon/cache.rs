//! A bounded cache of the entities a reader has handed out, so that events of
//! the same process or file share one `Arc` instead of allocating per event.
//!
//! Eviction is first-in first-out: a process that is evicted while still
//! alive is rebuilt from the next record that names it, with the same id, so
//! eviction costs attributes that only its creation record carried (command
//! line, hashes), never identity.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use event::{Entity, EntityId};

/// Entities by id, at most `cap` of them.
#[derive(Debug)]
pub struct EntityCache {
    map: HashMap<EntityId, Arc<Entity>>,
    order: VecDeque<EntityId>,
    cap: usize,
    evictions: u64,
}

impl EntityCache {
    /// An empty cache holding at most `cap` entities (at least one).
    pub fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
            evictions: 0,
        }
    }

    /// The cached entity with this id.
    pub fn get(&self, id: EntityId) -> Option<Arc<Entity>> {
        self.map.get(&id).cloned()
    }

    /// Caches `entity`, replacing any entity with the same id, evicting the
    /// oldest when full. Returns the shared handle.
    pub fn insert(&mut self, entity: Entity) -> Arc<Entity> {
        let id = entity.id;
        let entity = Arc::new(entity);
        if self.map.insert(id, Arc::clone(&entity)).is_none() {
            self.order.push_back(id);
            while self.map.len() > self.cap {
                let Some(old) = self.order.pop_front() else {
                    break;
                };
                self.map.remove(&old);
                self.evictions = self.evictions.saturating_add(1);
                tracing::debug!(
                    message = "Entity cache full, evicted the oldest entity.",
                    cap = self.cap,
                    evictions = self.evictions
                );
            }
        }
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
        self.evictions
    }

    /// Entities held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
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
