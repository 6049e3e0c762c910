//! The spatio-temporal graph autoencoder.
//!
//! ```text
//! x [N,F] ─► input projection ─► L × edge-type-aware multi-head GAT ─► z [N,H]
//!                                                         │
//!            h_prev [N,H] (each entity's state from earlier windows) ─► GRU ─► h [N,H]
//!                                                                               │
//!              feature decoder: MLP(h) ≈ x      edge decoder: σ(⟨P h_s, P h_d⟩) ≈ edge exists
//! ```
//!
//! Attention of an edge s→d in head k is
//! `LeakyReLU(a_srcₖ·Wₖh_s + a_dstₖ·Wₖh_d + bₖ[type])`, normalised by softmax
//! over d's incoming edges (its self loop included); the type bias is what makes
//! a `write` weigh differently from a `read`. A node's anomaly score is its
//! feature reconstruction error plus the weighted mean error of reconstructing
//! its real edges: what the model, trained on benign behaviour only, cannot
//! rebuild is what it has not seen.

use candle_core::{DType, Device, Tensor, D};
use candle_nn::ops::{leaky_relu, sigmoid};

use crate::config::DetectorConfig;
use crate::error::Result;
use crate::features::{PreparedWindow, EDGE_TYPES, FEATURE_DIM};
use crate::params::{Params, SeededRng};

/// A window as tensors.
#[derive(Debug)]
pub struct WindowTensors {
    /// `[N, F]` features.
    pub x: Tensor,
    /// Message-passing sources, destinations and types (`[M]`, u32).
    pub msg_src: Tensor,
    /// Destinations.
    pub msg_dst: Tensor,
    /// Types.
    pub msg_type: Tensor,
    /// Real (merged) edges: sources and destinations (`[E]`, u32).
    pub pos_src: Tensor,
    /// Destinations.
    pub pos_dst: Tensor,
    /// Nodes.
    pub n: usize,
}

impl WindowTensors {
    /// Moves a prepared window onto `device`.
    ///
    /// # Errors
    /// Tensor allocation failures.
    pub fn new(w: &PreparedWindow, device: &Device) -> Result<Self> {
        let n = w.len();
        let (s, d, t) = w.message_edges();
        let m = s.len();
        let ps: Vec<u32> = w.edges.iter().map(|e| e.0).collect();
        let pd: Vec<u32> = w.edges.iter().map(|e| e.1).collect();
        let e = ps.len();
        Ok(Self {
            x: Tensor::from_slice(&w.features, (n, FEATURE_DIM), device)?,
            msg_src: Tensor::from_vec(s, m, device)?,
            msg_dst: Tensor::from_vec(d, m, device)?,
            msg_type: Tensor::from_vec(t, m, device)?,
            pos_src: Tensor::from_vec(ps, e, device)?,
            pos_dst: Tensor::from_vec(pd, e, device)?,
            n,
        })
    }
}

/// What one forward pass gives.
#[derive(Debug)]
pub struct Forward {
    /// New GRU state `[N, H]`.
    pub h: Tensor,
    /// Per-node feature reconstruction error `[N]` (mean squared).
    pub feature_error: Tensor,
    /// Squared residual per node and feature `[N, F]`.
    pub residual_sq: Tensor,
    /// Logits of the real edges `[E]`.
    pub pos_logits: Tensor,
}

/// The model: config plus parameters.
#[derive(Debug, Clone)]
pub struct Model {
    /// Hyper-parameters.
    pub config: DetectorConfig,
    /// Weights.
    pub params: Params,
    /// Mean squared residual of each feature on the training data. Scoring
    /// divides by it, so that every feature counts by how unusual its error
    /// is rather than by its scale (busy processes' large counts would
    /// otherwise outweigh a never-seen command line).
    pub residual_scale: Option<Tensor>,
}

/// `log(1 + e^x)`, stable for large |x|.
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    let pos = x.relu()?;
    let tail = x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    Ok((pos + tail)?)
}

impl Model {
    /// A freshly initialised model (deterministic in `config.seed`).
    ///
    /// # Errors
    /// An invalid config, or tensor allocation failures.
    pub fn new(config: DetectorConfig, device: &Device) -> Result<Self> {
        config.validate()?;
        let h = config.hidden_dim;
        let heads = config.heads;
        let dh = h / heads;
        let mut rng = SeededRng::new(config.seed);
        let mut p = Params::new(device.clone());
        p.glorot("input.w", FEATURE_DIM, h, &mut rng)?;
        p.zeros("input.b", &[h])?;
        for l in 0..config.layers {
            p.glorot(&format!("gat{l}.w"), h, h, &mut rng)?;
            p.glorot(&format!("gat{l}.a_src"), heads, dh, &mut rng)?;
            p.glorot(&format!("gat{l}.a_dst"), heads, dh, &mut rng)?;
            p.zeros(&format!("gat{l}.type_bias"), &[EDGE_TYPES, heads])?;
        }
        p.glorot("gru.wx", h, 3 * h, &mut rng)?;
        p.glorot("gru.wh", h, 3 * h, &mut rng)?;
        p.zeros("gru.bx", &[3 * h])?;
        p.zeros("gru.bh", &[3 * h])?;
        p.glorot("dec.w1", h, h, &mut rng)?;
        p.zeros("dec.b1", &[h])?;
        p.glorot("dec.w2", h, FEATURE_DIM, &mut rng)?;
        p.zeros("dec.b2", &[FEATURE_DIM])?;
        p.glorot("edge.p", h, h, &mut rng)?;
        Ok(Self {
            config,
            params: p,
            residual_scale: None,
        })
    }

    fn linear(&self, x: &Tensor, w: &str, b: Option<&str>) -> Result<Tensor> {
        let y = x.matmul(self.params.get(w)?)?;
        Ok(match b {
            Some(b) => y.broadcast_add(self.params.get(b)?)?,
            None => y,
        })
    }

    /// One GAT layer with a residual connection.
    fn gat(&self, l: usize, h: &Tensor, g: &WindowTensors) -> Result<Tensor> {
        let hidden = self.config.hidden_dim;
        let heads = self.config.heads;
        let dh = hidden / heads;
        let n = g.n;
        let wh = self
            .linear(h, &format!("gat{l}.w"), None)?
            .reshape((n, heads, dh))?;
        let a_src = self.params.get(&format!("gat{l}.a_src"))?.unsqueeze(0)?;
        let a_dst = self.params.get(&format!("gat{l}.a_dst"))?.unsqueeze(0)?;
        let s_src = wh.broadcast_mul(&a_src)?.sum(D::Minus1)?; // [N, heads]
        let s_dst = wh.broadcast_mul(&a_dst)?.sum(D::Minus1)?;
        let bias = self
            .params
            .get(&format!("gat{l}.type_bias"))?
            .index_select(&g.msg_type, 0)?; // [M, heads]
        let logits = (s_src.index_select(&g.msg_src, 0)? + s_dst.index_select(&g.msg_dst, 0)?)?;
        let logits = leaky_relu(&(logits + bias)?, 0.2)?;
        // Softmax per destination. Subtracting the per-head maximum over all
        // edges keeps exp() finite; every node has a self loop, so no
        // denominator is empty.
        let max = logits.max_keepdim(0)?.detach();
        let ex = logits.broadcast_sub(&max)?.exp()?;
        let denom =
            Tensor::zeros((n, heads), DType::F32, h.device())?.index_add(&g.msg_dst, &ex, 0)?;
        let alpha = ex.div(&denom.index_select(&g.msg_dst, 0)?.affine(1.0, 1e-12)?)?;
        let messages = wh
            .index_select(&g.msg_src, 0)?
            .broadcast_mul(&alpha.unsqueeze(2)?)?; // [M, heads, dh]
        let agg = Tensor::zeros((n, heads, dh), DType::F32, h.device())?
            .index_add(&g.msg_dst, &messages, 0)?
            .reshape((n, hidden))?;
        Ok((agg.elu(1.0)? + h)?)
    }

    /// Node embeddings of a window, before the temporal step.
    ///
    /// # Errors
    /// Tensor failures.
    pub fn encode(&self, g: &WindowTensors) -> Result<Tensor> {
        let mut h = self.linear(&g.x, "input.w", Some("input.b"))?.elu(1.0)?;
        for l in 0..self.config.layers {
            h = self.gat(l, &h, g)?;
        }
        Ok(h)
    }

    /// The GRU cell: new state from this window's embedding and the old state.
    ///
    /// # Errors
    /// Tensor failures.
    pub fn gru(&self, x: &Tensor, h_prev: &Tensor) -> Result<Tensor> {
        let hd = self.config.hidden_dim;
        let gx = self.linear(x, "gru.wx", Some("gru.bx"))?;
        let gh = self.linear(h_prev, "gru.wh", Some("gru.bh"))?;
        let r = sigmoid(&(gx.narrow(1, 0, hd)? + gh.narrow(1, 0, hd)?)?)?;
        let z = sigmoid(&(gx.narrow(1, hd, hd)? + gh.narrow(1, hd, hd)?)?)?;
        let cand = (gx.narrow(1, 2 * hd, hd)? + r.mul(&gh.narrow(1, 2 * hd, hd)?)?)?.tanh()?;
        // h' = (1 - z) * cand + z * h_prev
        Ok((&cand + z.mul(&(h_prev - &cand)?)?)?)
    }

    /// Reconstructed features `[N, F]`.
    ///
    /// # Errors
    /// Tensor failures.
    pub fn decode_features(&self, h: &Tensor) -> Result<Tensor> {
        let y = self.linear(h, "dec.w1", Some("dec.b1"))?.relu()?;
        self.linear(&y, "dec.w2", Some("dec.b2"))
    }

    /// Edge logits `⟨P h_s, P h_d⟩` for index lists `src`, `dst`.
    ///
    /// # Errors
    /// Tensor failures.
    pub fn edge_logits(&self, h: &Tensor, src: &Tensor, dst: &Tensor) -> Result<Tensor> {
        let z = self.linear(h, "edge.p", None)?;
        let a = z.index_select(src, 0)?;
        let b = z.index_select(dst, 0)?;
        Ok(a.mul(&b)?.sum(D::Minus1)?)
    }

    /// The full forward pass of one window.
    ///
    /// # Errors
    /// Tensor failures.
    pub fn forward(&self, g: &WindowTensors, h_prev: &Tensor) -> Result<Forward> {
        let z = self.encode(g)?;
        let h = self.gru(&z, h_prev)?;
        let x_hat = self.decode_features(&h)?;
        let residual_sq = (x_hat - &g.x)?.sqr()?;
        let feature_error = residual_sq.mean(D::Minus1)?;
        let pos_logits = if g.pos_src.dims1()? == 0 {
            Tensor::zeros(0, DType::F32, h.device())?
        } else {
            self.edge_logits(&h, &g.pos_src, &g.pos_dst)?
        };
        Ok(Forward {
            h,
            feature_error,
            residual_sq,
            pos_logits,
        })
    }

    /// Per-node anomaly scores `[N]`: feature error plus the mean
    /// reconstruction error of the node's real edges, weighted by
    /// `edge_score_weight`.
    ///
    /// # Errors
    /// Tensor failures.
    pub fn node_scores(&self, g: &WindowTensors, f: &Forward) -> Result<Tensor> {
        let w = self.config.edge_score_weight;
        let feature_part = match &self.residual_scale {
            Some(scale) => f.residual_sq.broadcast_div(scale)?.mean(D::Minus1)?,
            None => f.feature_error.clone(),
        };
        if g.pos_src.dims1()? == 0 || w == 0.0 {
            return Ok(feature_part);
        }
        let dev = f.h.device();
        let err = softplus(&f.pos_logits.neg()?)?; // −log σ(logit)
        let zeros = Tensor::zeros(g.n, DType::F32, dev)?;
        let ones = Tensor::ones(err.dims1()?, DType::F32, dev)?;
        let sum = zeros
            .index_add(&g.pos_src, &err, 0)?
            .index_add(&g.pos_dst, &err, 0)?;
        let count = zeros
            .index_add(&g.pos_src, &ones, 0)?
            .index_add(&g.pos_dst, &ones, 0)?;
        let mean = sum.div(&count.clamp(1.0, f64::MAX)?)?;
        Ok((feature_part + mean.affine(w, 0.0)?)?)
    }

    /// Training loss of one window: mean feature error plus the weighted
    /// binary cross-entropy of real edges against `negatives` random ones.
    ///
    /// # Errors
    /// Tensor failures.
    pub fn loss(
        &self,
        g: &WindowTensors,
        f: &Forward,
        neg_src: &Tensor,
        neg_dst: &Tensor,
    ) -> Result<Tensor> {
        let mut loss = f.feature_error.mean_all()?;
        let w = self.config.edge_loss_weight;
        if w > 0.0 && g.pos_src.dims1()? > 0 {
            let pos = softplus(&f.pos_logits.neg()?)?.mean_all()?;
            let neg_logits = self.edge_logits(&f.h, neg_src, neg_dst)?;
            let neg = softplus(&neg_logits)?.mean_all()?;
            loss = (loss + (pos + neg)?.affine(w, 0.0)?)?;
        }
        Ok(loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::prepare;
    use event::{EdgeKind, Entity, EntityKind, NativeId, Timestamp};
    use graph::{EdgeRow, GraphWindow};
    use std::sync::Arc;

    fn tiny() -> PreparedWindow {
        let mk = |pid: u32, exe: &str| {
            Arc::new(
                Entity::new(
                    EntityKind::Process,
                    NativeId::AuditdProcess {
                        pid,
                        start: Timestamp::from_nanos(0),
                    },
                    None,
                )
                .with_name(exe),
            )
        };
        let a = mk(1, "/bin/sh");
        let b = mk(2, "/usr/bin/cat");
        let f = Arc::new(Entity::named(EntityKind::File, "/etc/passwd", None));
        let mut nodes = vec![a.clone(), b.clone(), f.clone()];
        nodes.sort_by_key(|e| e.id);
        let e = |src: &Arc<Entity>, dst: &Arc<Entity>, kind, ts| EdgeRow {
            ts: Timestamp::from_nanos(ts),
            kind,
            src: src.id,
            dst: dst.id,
            native_type: "x".into(),
            seq: 0,
        };
        prepare(
            &GraphWindow {
                id: 0,
                start: Timestamp::from_nanos(0),
                end: Timestamp::from_nanos(100),
                nodes,
                edges: vec![e(&a, &b, EdgeKind::Fork, 10), e(&b, &f, EdgeKind::Read, 20)],
            },
            100,
        )
    }

    fn cfg() -> DetectorConfig {
        DetectorConfig {
            hidden_dim: 8,
            heads: 2,
            layers: 1,
            ..DetectorConfig::default()
        }
    }

    #[test]
    fn softplus_matches_the_formula() {
        let x = Tensor::new(&[-50f32, -1.0, 0.0, 1.0, 50.0], &Device::Cpu).unwrap();
        let y = softplus(&x).unwrap().to_vec1::<f32>().unwrap();
        for (xi, yi) in [-50f32, -1.0, 0.0, 1.0, 50.0].iter().zip(y) {
            let want = (1.0 + (*xi as f64).exp()).ln() as f32;
            assert!((yi - want).abs() < 1e-5, "{xi}: {yi} vs {want}");
        }
    }

    /// Attention weights into each node sum to one: with all parameters zero
    /// but `W = I`, every logit is 0 and a node's output is the mean of its
    /// in-neighbours' (self included) inputs, passed through ELU, plus itself.
    #[test]
    fn gat_with_uniform_attention_averages_neighbours() {
        let model = Model::new(cfg(), &Device::Cpu).unwrap();
        let mut loaded = std::collections::HashMap::new();
        for (name, var) in model.params.named() {
            let t = if name == "gat0.w" {
                Tensor::eye(8, DType::F32, &Device::Cpu).unwrap()
            } else {
                var.as_tensor().zeros_like().unwrap()
            };
            loaded.insert(name.clone(), t);
        }
        let mut m = model;
        m.params.load_from(&loaded).unwrap();
        let w = tiny();
        let g = WindowTensors::new(&w, &Device::Cpu).unwrap();
        let h: Vec<f32> = (0..3 * 8).map(|i| i as f32 / 10.0).collect();
        let h = Tensor::from_vec(h.clone(), (3, 8), &Device::Cpu).unwrap();
        let out = m.gat(0, &h, &g).unwrap().to_vec2::<f32>().unwrap();
        let hv = h.to_vec2::<f32>().unwrap();
        let (s, d, _) = w.message_edges();
        for node in 0..3u32 {
            let ins: Vec<usize> = s
                .iter()
                .zip(&d)
                .filter(|(_, dd)| **dd == node)
                .map(|(ss, _)| *ss as usize)
                .collect();
            for c in 0..8 {
                let mean: f32 = ins.iter().map(|&i| hv[i][c]).sum::<f32>() / ins.len() as f32;
                let elu = if mean > 0.0 { mean } else { mean.exp() - 1.0 };
                let want = elu + hv[node as usize][c];
                let got = out[node as usize][c];
                assert!(
                    (got - want).abs() < 1e-5,
                    "node {node} col {c}: {got} vs {want}"
                );
            }
        }
    }

    /// GRU with zero weights: r = z = ½, candidate = 0, so h' = h/2.
    #[test]
    fn gru_with_zero_weights_halves_the_state() {
        let mut m = Model::new(cfg(), &Device::Cpu).unwrap();
        let zeros: std::collections::HashMap<String, Tensor> = m
            .params
            .named()
            .map(|(n, v)| (n.clone(), v.as_tensor().zeros_like().unwrap()))
            .collect();
        m.params.load_from(&zeros).unwrap();
        let x = Tensor::ones((2, 8), DType::F32, &Device::Cpu).unwrap();
        let h = Tensor::full(0.8f32, (2, 8), &Device::Cpu).unwrap();
        let out = m.gru(&x, &h).unwrap().to_vec2::<f32>().unwrap();
        assert!(out.iter().flatten().all(|v| (v - 0.4).abs() < 1e-6));
    }

    /// Analytic gradients of the loss agree with central finite differences.
    #[test]
    fn gradient_check() {
        let m = Model::new(cfg(), &Device::Cpu).unwrap();
        let w = tiny();
        let g = WindowTensors::new(&w, &Device::Cpu).unwrap();
        let h0 = Tensor::zeros((3, 8), DType::F32, &Device::Cpu).unwrap();
        let ns = Tensor::new(&[0u32, 1], &Device::Cpu).unwrap();
        let nd = Tensor::new(&[2u32, 0], &Device::Cpu).unwrap();
        let loss_of = |m: &Model| -> f64 {
            let f = m.forward(&g, &h0).unwrap();
            m.loss(&g, &f, &ns, &nd)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap() as f64
        };
        let f = m.forward(&g, &h0).unwrap();
        let loss = m.loss(&g, &f, &ns, &nd).unwrap();
        let grads = loss.backward().unwrap();
        let mut checked = 0;
        for (name, var) in m.params.named() {
            let grad = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap();
            let grad = grad.to_vec1::<f32>().unwrap();
            let base = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            for idx in [0usize, base.len() / 2, base.len() - 1] {
                let eps = 1e-2f32;
                let probe = |delta: f32| {
                    let mut v = base.clone();
                    v[idx] += delta;
                    var.set(&Tensor::from_vec(v, var.dims(), &Device::Cpu).unwrap())
                        .unwrap();
                    let l = loss_of(&m);
                    var.set(&Tensor::from_vec(base.clone(), var.dims(), &Device::Cpu).unwrap())
                        .unwrap();
                    l
                };
                let numeric = (probe(eps) - probe(-eps)) / (2.0 * eps as f64);
                let analytic = grad[idx] as f64;
                let tol = 2e-3 + 0.05 * analytic.abs().max(numeric.abs());
                assert!(
                    (numeric - analytic).abs() <= tol,
                    "{name}[{idx}]: analytic {analytic} vs numeric {numeric}"
                );
                checked += 1;
            }
        }
        assert!(checked > 20);
    }

    #[test]
    fn node_scores_are_finite_and_per_node() {
        let m = Model::new(cfg(), &Device::Cpu).unwrap();
        let w = tiny();
        let g = WindowTensors::new(&w, &Device::Cpu).unwrap();
        let h0 = Tensor::zeros((3, 8), DType::F32, &Device::Cpu).unwrap();
        let f = m.forward(&g, &h0).unwrap();
        let s = m.node_scores(&g, &f).unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(s.len(), 3);
        assert!(s.iter().all(|v| v.is_finite() && *v >= 0.0));
    }

    #[test]
    fn edge_score_weight_adds_the_mean_edge_error() {
        let w = tiny();
        let g = WindowTensors::new(&w, &Device::Cpu).unwrap();
        let h0 = Tensor::zeros((3, 8), DType::F32, &Device::Cpu).unwrap();
        let features_only = Model::new(cfg(), &Device::Cpu).unwrap();
        let f = features_only.forward(&g, &h0).unwrap();
        let s0 = features_only
            .node_scores(&g, &f)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let fe = f.feature_error.to_vec1::<f32>().unwrap();
        assert_eq!(s0, fe);
        let mut with_edges = features_only.clone();
        with_edges.config.edge_score_weight = 1.0;
        let s1 = with_edges
            .node_scores(&g, &f)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        // every node of the tiny window has an edge, and -log σ(x) > 0
        for (a, b) in s0.iter().zip(&s1) {
            assert!(b > a, "{b} vs {a}");
        }
    }
}
