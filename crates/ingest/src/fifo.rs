//! A map holding at most `cap` entries that forgets the oldest-inserted one
//! first: the one bounded-memory mechanism behind the Sysmon entity caches
//! and the CDM UUID table.
//!
//! First in, first out, not least-recently-used: a lookup does not refresh an
//! entry, so a lookup writes nothing. Replacing a value keeps its place.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// Bounded FIFO map that counts what it evicts.
#[derive(Debug)]
pub(crate) struct FifoMap<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    cap: usize,
    evictions: u64,
}

impl<K: Hash + Eq + Clone, V> FifoMap<K, V> {
    /// An empty map holding at most `cap` entries (at least one).
    pub fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
            evictions: 0,
        }
    }

    /// The value for `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key)
    }

    /// Inserts or replaces; when a new key makes the map full, the oldest
    /// entries go (counted, and logged at debug level as `what`).
    pub fn insert(&mut self, key: K, value: V, what: &'static str) {
        if let Some(slot) = self.map.get_mut(&key) {
            *slot = value;
            return;
        }
        while self.map.len() >= self.cap {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if self.map.remove(&oldest).is_some() {
                self.evictions = self.evictions.saturating_add(1);
                tracing::debug!(
                    message = "Bounded cache full, evicted the oldest entry.",
                    cache = what,
                    cap = self.cap,
                    evictions = self.evictions
                );
            }
        }
        self.order.push_back(key.clone());
        self.map.insert(key, value);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_oldest_and_replacing_keeps_the_place() {
        let mut m = FifoMap::new(2);
        m.insert("a", 1, "t");
        m.insert("b", 2, "t");
        m.insert("a", 3, "t"); // replace: no growth, no eviction, a stays oldest
        assert_eq!((m.len(), m.evictions()), (2, 0));
        m.insert("c", 4, "t");
        assert_eq!((m.len(), m.evictions()), (2, 1));
        assert_eq!(m.get("a"), None);
        assert_eq!((m.get("b"), m.get("c")), (Some(&2), Some(&4)));
    }
}
