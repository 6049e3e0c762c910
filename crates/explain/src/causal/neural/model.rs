//! The network: standardised features → `layers` × (linear, ReLU) → one
//! logit of "dependent".
//!
//! Small on purpose: the features already do the statistics, the network
//! only has to learn how much each summary is worth at a given n, |Z| and
//! sparsity. Training runs here, in candle, in batches; one-case scoring
//! goes through [`crate::causal::neural::infer`], where a forward pass costs
//! a few microseconds instead of candle's ~100 µs per call.
//!
//! Weights are drawn from the simulator's seeded stream in name order
//! (He-uniform), not from candle's generator, so the same seed gives the
//! same bits everywhere.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device, Tensor, Var, D};

use crate::causal::neural::features::FEATURE_DIM;
use crate::causal::neural::rng::SimRng;
use crate::error::{Error, Result};

/// Names of the two non-trained tensors that standardise the input.
pub(crate) const INPUT_MEAN: &str = "input.mean";
pub(crate) const INPUT_SCALE: &str = "input.scale";

/// The MLP and its input standardisation.
#[derive(Debug, Clone)]
pub struct CiNetwork {
    layers: usize,
    /// Trainable tensors by name (`layer{i}.w`, `layer{i}.b`, `out.w`, `out.b`).
    vars: BTreeMap<String, Var>,
    mean: Tensor,
    scale: Tensor,
    device: Device,
}

fn weight_name(layer: usize) -> (String, String) {
    (format!("layer{layer}.w"), format!("layer{layer}.b"))
}

impl CiNetwork {
    /// A freshly initialised network of `layers` hidden layers of width
    /// `hidden`, with identity standardisation.
    ///
    /// # Errors
    /// [`Error::BadArgument`] for zero width; tensor allocation failures.
    pub fn new(hidden: usize, layers: usize, seed: u64, device: &Device) -> Result<Self> {
        if hidden == 0 {
            return Err(Error::BadArgument {
                what: "hidden",
                reason: "the network needs at least one unit per layer".into(),
            });
        }
        let mut rng = SimRng::new(seed);
        let mut vars = BTreeMap::new();
        let mut fan_in = FEATURE_DIM;
        for l in 0..layers {
            let (w, b) = weight_name(l);
            vars.insert(w, he_uniform(fan_in, hidden, &mut rng, device)?);
            vars.insert(b, Var::zeros(hidden, DType::F32, device)?);
            fan_in = hidden;
        }
        vars.insert("out.w".into(), he_uniform(fan_in, 1, &mut rng, device)?);
        vars.insert("out.b".into(), Var::zeros(1, DType::F32, device)?);
        Ok(Self {
            layers,
            vars,
            mean: Tensor::zeros(FEATURE_DIM, DType::F32, device)?,
            scale: Tensor::ones(FEATURE_DIM, DType::F32, device)?,
            device: device.clone(),
        })
    }

    /// Sets the input standardisation from per-feature means and standard
    /// deviations (a deviation near zero — a feature constant in training —
    /// is replaced by 1 so it cannot blow up).
    ///
    /// # Errors
    /// [`Error::BadArgument`] for wrong lengths.
    pub fn set_standardisation(&mut self, mean: &[f32], sd: &[f32]) -> Result<()> {
        if mean.len() != FEATURE_DIM || sd.len() != FEATURE_DIM {
            return Err(Error::BadArgument {
                what: "standardisation",
                reason: format!(
                    "{} means and {} deviations for {FEATURE_DIM} features",
                    mean.len(),
                    sd.len()
                ),
            });
        }
        let sd: Vec<f32> = sd
            .iter()
            .map(|s| if *s > 1e-6 && s.is_finite() { *s } else { 1.0 })
            .collect();
        self.mean = Tensor::from_slice(mean, FEATURE_DIM, &self.device)?;
        self.scale = Tensor::from_vec(sd, FEATURE_DIM, &self.device)?;
        Ok(())
    }

    /// Hidden layers.
    pub fn layers(&self) -> usize {
        self.layers
    }

    /// The device it runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Trainable variables in name order (for the optimiser).
    pub fn vars(&self) -> Vec<Var> {
        self.vars.values().cloned().collect()
    }

    fn get(&self, name: &str) -> Result<&Tensor> {
        self.vars
            .get(name)
            .map(Var::as_tensor)
            .ok_or_else(|| Error::BadArgument {
                what: "network",
                reason: format!("no tensor `{name}`"),
            })
    }

    /// Logits `[rows]` for features `[rows, FEATURE_DIM]`.
    ///
    /// # Errors
    /// Tensor failures (a wrong shape among them).
    pub fn forward(&self, features: &Tensor) -> Result<Tensor> {
        let mut h = features
            .broadcast_sub(&self.mean)?
            .broadcast_div(&self.scale)?;
        for l in 0..self.layers {
            let (w, b) = weight_name(l);
            h = h
                .matmul(self.get(&w)?)?
                .broadcast_add(self.get(&b)?)?
                .relu()?;
        }
        let out = h
            .matmul(self.get("out.w")?)?
            .broadcast_add(self.get("out.b")?)?;
        Ok(out.squeeze(D::Minus1)?)
    }

    /// The logit of one feature vector.
    ///
    /// # Errors
    /// Tensor failures.
    pub fn score(&self, features: &[f32]) -> Result<f32> {
        let t = Tensor::from_slice(features, (1, features.len()), &self.device)?;
        let s = self.forward(&t)?.to_vec1::<f32>()?;
        s.first().copied().ok_or_else(|| Error::BadArgument {
            what: "features",
            reason: "empty forward output".into(),
        })
    }

    /// Logits of many feature vectors, in chunks (row order kept).
    ///
    /// # Errors
    /// Tensor failures.
    pub fn score_many(&self, rows: &[Vec<f32>]) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(1024) {
            let flat: Vec<f32> = chunk.iter().flatten().copied().collect();
            let t = Tensor::from_vec(flat, (chunk.len(), FEATURE_DIM), &self.device)?;
            out.extend(self.forward(&t)?.to_vec1::<f32>()?);
        }
        Ok(out)
    }

    /// Input means and standard deviations.
    pub(crate) fn standardisation(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        Ok((self.mean.to_vec1::<f32>()?, self.scale.to_vec1::<f32>()?))
    }

    /// `(W row-major, b)` of every layer in order, the output layer last.
    pub(crate) fn layer_tensors(&self) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
        let mut names: Vec<(String, String)> = (0..self.layers).map(weight_name).collect();
        names.push(("out.w".into(), "out.b".into()));
        names
            .iter()
            .map(|(w, b)| {
                Ok((
                    self.get(w)?.flatten_all()?.to_vec1::<f32>()?,
                    self.get(b)?.to_vec1::<f32>()?,
                ))
            })
            .collect()
    }

    /// Every tensor that goes into a checkpoint, by name.
    pub(crate) fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut all: Vec<(String, Tensor)> = self
            .vars
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
            .collect();
        all.push((INPUT_MEAN.into(), self.mean.clone()));
        all.push((INPUT_SCALE.into(), self.scale.clone()));
        all
    }

    /// Copies of the trainable tensors (best-epoch snapshot).
    pub(crate) fn snapshot(&self) -> Result<HashMap<String, Tensor>> {
        self.vars
            .iter()
            .map(|(n, v)| Ok((n.clone(), v.as_tensor().copy()?)))
            .collect()
    }

    /// Replaces every tensor with the one of the same name in `loaded`;
    /// the standardisation too when `loaded` holds it. Missing, extra or
    /// wrongly shaped tensors are described in the error string, which the
    /// caller wraps with the file it came from.
    pub(crate) fn load_tensors(
        &mut self,
        loaded: &HashMap<String, Tensor>,
    ) -> std::result::Result<(), String> {
        let expected = self.vars.len()
            + [INPUT_MEAN, INPUT_SCALE]
                .iter()
                .filter(|n| loaded.contains_key(**n))
                .count();
        if loaded.len() != expected {
            return Err(format!(
                "{} tensors, the network has {expected}",
                loaded.len()
            ));
        }
        let fetch = |name: &str, dims: &[usize]| -> std::result::Result<Tensor, String> {
            let t = loaded
                .get(name)
                .ok_or_else(|| format!("tensor `{name}` is missing"))?;
            if t.dims() != dims {
                return Err(format!(
                    "tensor `{name}` has shape {:?}, expected {dims:?}",
                    t.dims()
                ));
            }
            t.to_dtype(DType::F32)
                .and_then(|t| t.to_device(&self.device))
                .map_err(|e| format!("tensor `{name}`: {e}"))
        };
        for (name, var) in &self.vars {
            let t = fetch(name, var.dims())?;
            var.set(&t).map_err(|e| format!("tensor `{name}`: {e}"))?;
        }
        if loaded.contains_key(INPUT_MEAN) {
            self.mean = fetch(INPUT_MEAN, &[FEATURE_DIM])?;
            self.scale = fetch(INPUT_SCALE, &[FEATURE_DIM])?;
        }
        Ok(())
    }
}

/// `[rows, cols]` uniform in ±√(6 / rows): keeps ReLU activations at unit
/// scale through the layers.
fn he_uniform(rows: usize, cols: usize, rng: &mut SimRng, device: &Device) -> Result<Var> {
    let limit = (6.0 / rows.max(1) as f64).sqrt();
    let values: Vec<f32> = (0..rows * cols)
        .map(|_| rng.range(-limit, limit) as f32)
        .collect();
    Ok(Var::from_tensor(&Tensor::from_vec(
        values,
        (rows, cols),
        device,
    )?)?)
}

/// Mean binary cross-entropy of `logits` against 0/1 `labels`, written as
/// `softplus(s) − y·s` with a stable softplus.
///
/// # Errors
/// Tensor failures.
pub fn bce_with_logits(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let softplus = (logits.relu()? + logits.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?)?;
    Ok((softplus - logits.mul(labels)?)?.mean_all()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_network_and_finite_scores() {
        let a = CiNetwork::new(16, 2, 3, &Device::Cpu).unwrap();
        let b = CiNetwork::new(16, 2, 3, &Device::Cpu).unwrap();
        let c = CiNetwork::new(16, 2, 4, &Device::Cpu).unwrap();
        let f = vec![0.5f32; FEATURE_DIM];
        assert_eq!(a.score(&f).unwrap(), b.score(&f).unwrap());
        assert_ne!(a.score(&f).unwrap(), c.score(&f).unwrap());
        let many = a.score_many(&[f.clone(), vec![0.0; FEATURE_DIM]]).unwrap();
        assert_eq!(many.len(), 2);
        assert!((many[0] - a.score(&f).unwrap()).abs() < 1e-5);
        assert!(a.score(&[0.0; 3]).is_err());
    }

    #[test]
    fn bce_matches_the_formula() {
        let s = Tensor::new(&[-30f32, -1.0, 0.0, 2.0, 30.0], &Device::Cpu).unwrap();
        let y = Tensor::new(&[0f32, 1.0, 1.0, 0.0, 1.0], &Device::Cpu).unwrap();
        let got = bce_with_logits(&s, &y).unwrap().to_scalar::<f32>().unwrap();
        let want: f64 = [
            (-30f64, 0f64),
            (-1.0, 1.0),
            (0.0, 1.0),
            (2.0, 0.0),
            (30.0, 1.0),
        ]
        .iter()
        .map(|(s, y)| {
            let p = 1.0 / (1.0 + (-s).exp());
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum::<f64>()
            / 5.0;
        assert!((f64::from(got) - want).abs() < 1e-5, "{got} vs {want}");
    }

    #[test]
    fn load_checks_names_and_shapes() {
        let a = CiNetwork::new(8, 1, 1, &Device::Cpu).unwrap();
        let mut b = CiNetwork::new(8, 1, 2, &Device::Cpu).unwrap();
        let mut tensors: HashMap<String, Tensor> = a.named_tensors().into_iter().collect();
        b.load_tensors(&tensors).unwrap();
        let f = vec![0.3f32; FEATURE_DIM];
        assert_eq!(a.score(&f).unwrap(), b.score(&f).unwrap());
        tensors.insert(
            "out.b".into(),
            Tensor::zeros(2, DType::F32, &Device::Cpu).unwrap(),
        );
        assert!(b.load_tensors(&tensors).unwrap_err().contains("out.b"));
        tensors.remove("out.b");
        assert!(b.load_tensors(&tensors).is_err());
    }
}
