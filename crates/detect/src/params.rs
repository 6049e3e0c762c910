//! The model's trainable tensors, by name, with a seeded initialisation.
//!
//! candle's own random initialisers draw from a generator that cannot be
//! seeded reproducibly on every backend, so weights are drawn here from a
//! SplitMix64 stream in name order: the same seed and config give the same
//! bits on every machine, which makes training deterministic end to end.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor, Var};

use crate::error::Result;
use crate::features::mix;

/// A small deterministic random stream (SplitMix64).
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A stream for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next raw value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Named trainable tensors.
#[derive(Debug, Clone)]
pub struct Params {
    vars: BTreeMap<String, Var>,
    device: Device,
}

impl Params {
    /// An empty set on `device`.
    pub fn new(device: Device) -> Self {
        Self {
            vars: BTreeMap::new(),
            device,
        }
    }

    /// The device the tensors live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Adds a matrix `[rows, cols]` with Glorot-uniform values.
    pub fn glorot(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
        rng: &mut SeededRng,
    ) -> Result<()> {
        let limit = (6.0 / (rows + cols) as f64).sqrt();
        let values: Vec<f32> = (0..rows * cols)
            .map(|_| ((rng.next_f64() * 2.0 - 1.0) * limit) as f32)
            .collect();
        let t = Tensor::from_vec(values, (rows, cols), &self.device)?;
        self.vars.insert(name.to_owned(), Var::from_tensor(&t)?);
        Ok(())
    }

    /// Adds a tensor of zeros.
    pub fn zeros(&mut self, name: &str, shape: &[usize]) -> Result<()> {
        let t = Tensor::zeros(shape, DType::F32, &self.device)?;
        self.vars.insert(name.to_owned(), Var::from_tensor(&t)?);
        Ok(())
    }

    /// The tensor called `name`. A missing name is a programming error that
    /// the unit tests catch; it is still an error, not a panic.
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.vars
            .get(name)
            .map(|v| v.as_tensor())
            .ok_or_else(|| candle_core::Error::Msg(format!("no parameter `{name}`")).into())
    }

    /// All variables, in name order (for the optimiser).
    pub fn vars(&self) -> Vec<Var> {
        self.vars.values().cloned().collect()
    }

    /// Name and tensor pairs, in name order (for saving).
    pub fn named(&self) -> impl Iterator<Item = (&String, &Var)> {
        self.vars.iter()
    }

    /// Replaces every tensor with the one of the same name in `loaded`,
    /// checking shapes. Missing or extra names are errors.
    pub fn load_from(
        &mut self,
        loaded: &std::collections::HashMap<String, Tensor>,
    ) -> std::result::Result<(), String> {
        if loaded.len() != self.vars.len() {
            return Err(format!(
                "{} tensors in the file, the model has {}",
                loaded.len(),
                self.vars.len()
            ));
        }
        for (name, var) in &self.vars {
            let t = loaded
                .get(name)
                .ok_or_else(|| format!("tensor `{name}` is missing"))?;
            if t.dims() != var.dims() {
                return Err(format!(
                    "tensor `{name}` has shape {:?}, the model expects {:?}",
                    t.dims(),
                    var.dims()
                ));
            }
            let t = t
                .to_dtype(DType::F32)
                .and_then(|t| t.to_device(&self.device))
                .map_err(|e| e.to_string())?;
            var.set(&t).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Total number of scalars.
    pub fn count(&self) -> usize {
        self.vars.values().map(|v| v.elem_count()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_weights() {
        let make = |seed| {
            let mut p = Params::new(Device::Cpu);
            let mut rng = SeededRng::new(seed);
            p.glorot("w", 3, 4, &mut rng).unwrap();
            p.get("w").unwrap().to_vec2::<f32>().unwrap()
        };
        assert_eq!(make(7), make(7));
        assert_ne!(make(7), make(8));
        let w = make(7);
        let limit = (6.0f32 / 7.0).sqrt();
        assert!(w.iter().flatten().all(|v| v.abs() <= limit));
    }

    #[test]
    fn uniform_stream_is_in_range() {
        let mut r = SeededRng::new(1);
        for _ in 0..1000 {
            let v = r.next_f64();
            assert!((0.0..1.0).contains(&v));
            assert!(r.below(5) < 5);
        }
    }
}
