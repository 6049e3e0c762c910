//! Scoring one case without tensors.
//!
//! A CI test scores one feature vector at a time, where candle's per-call
//! overhead (tensor allocation, dispatch: about 100 µs on a CPU) dwarfs
//! the ten thousand multiply-adds of the network itself. [`DenseNetwork`]
//! is the same network copied into plain arrays; the tester scores both
//! its calibration nulls and every test with it, so the two are computed
//! the same way to the last bit.

use crate::causal::neural::model::CiNetwork;
use crate::error::{Error, Result};

/// One `y = x·W + b` step, `W` row-major `[inputs, outputs]`.
#[derive(Debug, Clone)]
struct DenseLayer {
    inputs: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
    relu: bool,
}

impl DenseLayer {
    fn apply(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(&self.bias);
        for (xi, row) in x
            .iter()
            .zip(self.weights.chunks_exact(self.bias.len().max(1)))
        {
            for (o, w) in out.iter_mut().zip(row) {
                *o += xi * w;
            }
        }
        if self.relu {
            for o in out.iter_mut() {
                *o = o.max(0.0);
            }
        }
    }
}

/// The network as plain arrays.
#[derive(Debug, Clone)]
pub struct DenseNetwork {
    mean: Vec<f32>,
    scale: Vec<f32>,
    layers: Vec<DenseLayer>,
}

impl DenseNetwork {
    /// Copies `net`'s weights out of its tensors.
    ///
    /// # Errors
    /// Tensor failures, or a network whose shapes do not chain.
    pub fn from_network(net: &CiNetwork) -> Result<Self> {
        let (mean, scale) = net.standardisation()?;
        let mut layers = Vec::new();
        let mut inputs = mean.len();
        let all = net.layer_tensors()?;
        let last = all.len().saturating_sub(1);
        for (i, (w, b)) in all.into_iter().enumerate() {
            let outputs = b.len();
            if w.len() != inputs * outputs {
                return Err(Error::BadArgument {
                    what: "network",
                    reason: format!(
                        "layer {i} has {} weights for {inputs} inputs and {outputs} outputs",
                        w.len()
                    ),
                });
            }
            layers.push(DenseLayer {
                inputs,
                weights: w,
                bias: b,
                relu: i < last,
            });
            inputs = outputs;
        }
        if inputs != 1 {
            return Err(Error::BadArgument {
                what: "network",
                reason: format!("the last layer has {inputs} outputs, not one logit"),
            });
        }
        Ok(Self {
            mean,
            scale,
            layers,
        })
    }

    /// The logit of one feature vector.
    ///
    /// # Errors
    /// [`Error::BadArgument`] when `features` has the wrong length.
    pub fn score(&self, features: &[f32]) -> Result<f32> {
        if features.len() != self.mean.len() {
            return Err(Error::BadArgument {
                what: "features",
                reason: format!(
                    "{} values, the network takes {}",
                    features.len(),
                    self.mean.len()
                ),
            });
        }
        let mut x: Vec<f32> = features
            .iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .map(|((f, m), s)| (f - m) / s)
            .collect();
        let mut y = Vec::new();
        for layer in &self.layers {
            debug_assert_eq!(layer.inputs, x.len());
            layer.apply(&x, &mut y);
            std::mem::swap(&mut x, &mut y);
        }
        Ok(x.first().copied().unwrap_or(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::causal::neural::features::FEATURE_DIM;
    use crate::causal::neural::rng::SimRng;
    use candle_core::Device;

    #[test]
    fn agrees_with_the_candle_forward_pass() {
        let mut net = CiNetwork::new(24, 2, 5, &Device::Cpu).unwrap();
        let mean: Vec<f32> = (0..FEATURE_DIM).map(|i| i as f32 * 0.01).collect();
        let sd: Vec<f32> = (0..FEATURE_DIM).map(|i| 0.5 + i as f32 * 0.02).collect();
        net.set_standardisation(&mean, &sd).unwrap();
        let dense = DenseNetwork::from_network(&net).unwrap();
        let mut r = SimRng::new(2);
        for _ in 0..20 {
            let f: Vec<f32> = (0..FEATURE_DIM).map(|_| r.normal() as f32).collect();
            let a = net.score(&f).unwrap();
            let b = dense.score(&f).unwrap();
            assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
        }
        assert!(dense.score(&[0.0; 3]).is_err());
    }

    #[test]
    fn zero_hidden_layers_is_a_linear_model() {
        let net = CiNetwork::new(8, 0, 1, &Device::Cpu).unwrap();
        let dense = DenseNetwork::from_network(&net).unwrap();
        let f = vec![0.25f32; FEATURE_DIM];
        assert!((net.score(&f).unwrap() - dense.score(&f).unwrap()).abs() < 1e-5);
    }
}
