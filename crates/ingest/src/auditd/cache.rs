//! A bounded cache of named entities (files, sockets, principals), so that
//! the same path does not allocate a new `Arc<Entity>` for every event.
//!
//! Two generations: lookups hit the young map, then the old one (promoting);
//! when the young map reaches half the cap, the old generation is dropped
//! (those entries are the oldest, counted as evictions) and the young one
//! becomes old. Memory stays under `max_entities` entries.

use std::collections::HashMap;
use std::sync::Arc;

use event::{Entity, EntityKind};

/// Named entities by (kind, name bytes).
pub(crate) struct EntityCache {
    young: HashMap<(EntityKind, Box<[u8]>), Arc<Entity>>,
    old: HashMap<(EntityKind, Box<[u8]>), Arc<Entity>>,
    generation_cap: usize,
    evictions: u64,
}

impl EntityCache {
    /// A cache holding at most `max_entities` entries.
    pub fn new(max_entities: usize) -> Self {
        Self {
            young: HashMap::new(),
            old: HashMap::new(),
            generation_cap: (max_entities / 2).max(1),
            evictions: 0,
        }
    }

    /// Entries dropped so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// The entity of `kind` named `name` on `host`, built by `make` on a miss.
    pub fn get_or_insert(
        &mut self,
        kind: EntityKind,
        name: &[u8],
        host: &Option<Arc<str>>,
        make: impl FnOnce() -> Entity,
    ) -> Arc<Entity> {
        let key = (kind, name);
        // Borrowed lookup: HashMap<(K, Box<[u8]>)> cannot be queried by
        // (K, &[u8]) directly, so build the key only on a miss.
        if let Some(hit) = lookup(&self.young, key) {
            if hit.host == *host {
                return hit;
            }
        }
        if let Some(hit) = lookup(&self.old, key) {
            if hit.host == *host {
                self.put(kind, name, Arc::clone(&hit));
                return hit;
            }
        }
        let entity = Arc::new(make());
        self.put(kind, name, Arc::clone(&entity));
        entity
    }

    fn put(&mut self, kind: EntityKind, name: &[u8], entity: Arc<Entity>) {
        if self.young.len() >= self.generation_cap {
            let dropped = self.old.len();
            self.old = std::mem::take(&mut self.young);
            self.evictions = self
                .evictions
                .saturating_add(u64::try_from(dropped).unwrap_or(u64::MAX));
            if dropped > 0 {
                tracing::debug!(
                    message = "Entity cache generation dropped.",
                    evicted = dropped,
                    generation_cap = self.generation_cap
                );
            }
        }
        self.young.insert((kind, Box::from(name)), entity);
    }
}

fn lookup(
    map: &HashMap<(EntityKind, Box<[u8]>), Arc<Entity>>,
    key: (EntityKind, &[u8]),
) -> Option<Arc<Entity>> {
    // The map is keyed by owned names; hashing (kind, &[u8]) equals hashing
    // (kind, Box<[u8]>) because Box<[u8]> hashes as [u8]. Use raw_entry-free
    // lookup through a tiny wrapper.
    map.get(&KeyRef(key.0, key.1) as &dyn KeyView).cloned()
}

/// Lets a `(EntityKind, Box<[u8]>)` key be looked up by `(EntityKind, &[u8])`.
trait KeyView {
    fn view(&self) -> (EntityKind, &[u8]);
}

struct KeyRef<'a>(EntityKind, &'a [u8]);

impl KeyView for KeyRef<'_> {
    fn view(&self) -> (EntityKind, &[u8]) {
        (self.0, self.1)
    }
}

impl KeyView for (EntityKind, Box<[u8]>) {
    fn view(&self) -> (EntityKind, &[u8]) {
        (self.0, &self.1)
    }
}

impl<'a> std::borrow::Borrow<dyn KeyView + 'a> for (EntityKind, Box<[u8]>) {
    fn borrow(&self) -> &(dyn KeyView + 'a) {
        self
    }
}

impl PartialEq for dyn KeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.view() == other.view()
    }
}

impl Eq for dyn KeyView + '_ {}

impl std::hash::Hash for dyn KeyView + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.view().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_return_the_same_arc() {
        let mut c = EntityCache::new(8);
        let a = c.get_or_insert(EntityKind::File, b"/etc/shadow", &None, || {
            Entity::named(EntityKind::File, "/etc/shadow", None)
        });
        let b = c.get_or_insert(EntityKind::File, b"/etc/shadow", &None, || {
            panic!("must hit")
        });
        assert!(Arc::ptr_eq(&a, &b));
        let s = c.get_or_insert(EntityKind::Socket, b"/etc/shadow", &None, || {
            Entity::named(EntityKind::Socket, "/etc/shadow", None)
        });
        assert_ne!(a.id, s.id);
    }

    #[test]
    fn stays_bounded_and_counts_evictions() {
        let mut c = EntityCache::new(4);
        for i in 0..100u32 {
            let name = format!("/f{i}");
            c.get_or_insert(EntityKind::File, name.as_bytes(), &None, || {
                Entity::named(EntityKind::File, &name, None)
            });
            assert!(c.young.len() + c.old.len() <= 4);
        }
        assert_eq!(c.evictions(), 96);
    }

    #[test]
    fn another_host_is_another_entity() {
        let mut c = EntityCache::new(8);
        let h: Option<Arc<str>> = Some(Arc::from("h"));
        let a = c.get_or_insert(EntityKind::File, b"/x", &None, || {
            Entity::named(EntityKind::File, "/x", None)
        });
        let b = c.get_or_insert(EntityKind::File, b"/x", &h, || {
            Entity::named(EntityKind::File, "/x", h.clone())
        });
        assert_ne!(a.id, b.id);
    }
}
