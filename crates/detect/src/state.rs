//! Each entity's GRU state across consecutive windows.
//!
//! Bounded: a state not refreshed for `ttl` windows is dropped, and past
//! `cap` entries the stalest go first, so a long-running host costs memory in
//! proportion to its active entities, not to its history.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use event::EntityId;

use crate::error::Result;

/// States by entity.
#[derive(Debug)]
pub struct StateCache {
    hidden: usize,
    cap: usize,
    ttl: u32,
    tick: u32,
    states: HashMap<EntityId, (u32, Vec<f32>)>,
}

impl StateCache {
    /// An empty cache for states of width `hidden`.
    pub fn new(hidden: usize, cap: usize, ttl: u32) -> Self {
        Self {
            hidden,
            cap: cap.max(1),
            ttl: ttl.max(1),
            tick: 0,
            states: HashMap::new(),
        }
    }

    /// Entities with a state.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// True when no entity has a state.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// `[N, H]` previous states of `ids` (zeros for entities not seen).
    ///
    /// # Errors
    /// Tensor allocation failures.
    pub fn gather(&self, ids: &[EntityId], device: &Device) -> Result<Tensor> {
        let mut out = vec![0f32; ids.len() * self.hidden];
        for (row, id) in ids.iter().enumerate() {
            if let Some((_, s)) = self.states.get(id) {
                out[row * self.hidden..(row + 1) * self.hidden].copy_from_slice(s);
            }
        }
        Ok(Tensor::from_vec(out, (ids.len(), self.hidden), device)?)
    }

    /// Stores the new states `[N, H]` of `ids` and ages the rest.
    ///
    /// # Errors
    /// Tensor read-back failures.
    pub fn update(&mut self, ids: &[EntityId], h: &Tensor) -> Result<()> {
        self.tick = self.tick.wrapping_add(1);
        let rows = h.detach().to_vec2::<f32>()?;
        for (id, row) in ids.iter().zip(rows) {
            self.states.insert(*id, (self.tick, row));
        }
        let (tick, ttl) = (self.tick, self.ttl);
        self.states
            .retain(|_, (seen, _)| tick.wrapping_sub(*seen) < ttl);
        if self.states.len() > self.cap {
            let mut ages: Vec<(u32, EntityId)> = self
                .states
                .iter()
                .map(|(id, (seen, _))| (*seen, *id))
                .collect();
            ages.sort_unstable();
            let excess = self.states.len() - self.cap;
            for (_, id) in ages.into_iter().take(excess) {
                self.states.remove(&id);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_expire_and_are_capped() {
        let dev = Device::Cpu;
        let mut c = StateCache::new(2, 2, 2);
        let a = EntityId(1);
        let b = EntityId(2);
        let d = EntityId(3);
        c.update(&[a], &Tensor::new(&[[1f32, 2.0]], &dev).unwrap())
            .unwrap();
        let g = c.gather(&[a, b], &dev).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(g, vec![vec![1.0, 2.0], vec![0.0, 0.0]]);
        c.update(&[b], &Tensor::new(&[[3f32, 4.0]], &dev).unwrap())
            .unwrap();
        assert_eq!(c.len(), 2);
        // a was last seen two ticks ago: expired.
        c.update(&[d], &Tensor::new(&[[5f32, 6.0]], &dev).unwrap())
            .unwrap();
        assert_eq!(c.len(), 2);
        let g = c.gather(&[a], &dev).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(g, vec![vec![0.0, 0.0]]);
        // cap of 2: three fresh ones keep the two newest.
        let mut c = StateCache::new(1, 2, 10);
        for i in 0..3u64 {
            c.update(&[EntityId(i)], &Tensor::new(&[[i as f32]], &dev).unwrap())
                .unwrap();
        }
        assert_eq!(c.len(), 2);
        let g = c
            .gather(&[EntityId(0)], &dev)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(g, vec![vec![0.0]]);
    }
}
