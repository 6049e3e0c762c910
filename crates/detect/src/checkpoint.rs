//! The checkpoint: one safetensors file whose header metadata holds, as JSON
//! under the key `causaldefend`, everything needed to use the weights safely:
//! the feature schema, the config, the digest of the training data, training
//! metrics and the alert thresholds. Any safetensors reader can open the
//! weights; this module refuses a file whose schema or shapes do not match
//! this build, naming what differs.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::config::DetectorConfig;
use crate::error::{Error, Result};
use crate::features::{EDGE_TYPES, FEATURE_DIM, FEATURE_SCHEMA};
use crate::model::Model;

/// Name of this file kind in the metadata.
pub const CHECKPOINT_KIND: &str = "causaldefend-detector";
/// Version of the metadata layout.
pub const CHECKPOINT_VERSION: u32 = 1;
/// Largest safetensors header read (the weights follow it).
const MAX_HEADER_BYTES: u64 = 16 * 1024 * 1024;

/// What the model was trained on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingData {
    /// SHA-256 over every training window's features and edges, in order.
    pub digest: String,
    /// Inputs, as given.
    pub inputs: Vec<String>,
    /// Sequences (recordings / hosts).
    pub sequences: usize,
    /// Windows used for training.
    pub train_windows: usize,
    /// Windows held out for validation.
    pub validation_windows: usize,
    /// Events in all windows.
    pub events: u64,
}

/// Loss of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLoss {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Mean training loss per window.
    pub train_loss: f64,
    /// Mean validation loss per window.
    pub validation_loss: f64,
    /// Seconds the epoch took. Not saved: a checkpoint's bytes depend only
    /// on data, config and seed, so a shipped model can be reproduced byte
    /// for byte.
    #[serde(skip_serializing, default)]
    pub seconds: f64,
}

/// Thresholds from benign validation scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// A window scoring above this is an alert.
    pub window: f64,
    /// A node scoring above this is flagged.
    pub node: f64,
    /// Where they came from (quantiles and sample sizes).
    pub source: String,
    /// The benign validation window scores (sorted), for calibration.
    pub validation_window_scores: Vec<f64>,
}

/// Everything beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Always [`CHECKPOINT_KIND`].
    pub kind: String,
    /// Metadata layout version.
    pub version: u32,
    /// Feature schema the model was trained with.
    pub feature_schema: String,
    /// Feature vector length.
    pub feature_dim: usize,
    /// Message-passing edge types.
    pub edge_types: usize,
    /// Hyper-parameters.
    pub config: DetectorConfig,
    /// Training data.
    pub training: TrainingData,
    /// Loss history.
    pub history: Vec<EpochLoss>,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Thresholds.
    pub thresholds: Thresholds,
    /// Mean squared training residual per feature (scoring divides by it).
    #[serde(default)]
    pub residual_scale: Vec<f32>,
    /// Program and version that wrote the file.
    pub created_by: String,
}

impl CheckpointMeta {
    /// Metadata for `config` with this build's feature layout.
    pub fn new(config: DetectorConfig) -> Self {
        Self {
            kind: CHECKPOINT_KIND.to_owned(),
            version: CHECKPOINT_VERSION,
            feature_schema: FEATURE_SCHEMA.to_owned(),
            feature_dim: FEATURE_DIM,
            edge_types: EDGE_TYPES,
            config,
            training: TrainingData::default(),
            history: Vec::new(),
            best_epoch: 0,
            thresholds: Thresholds::default(),
            residual_scale: Vec::new(),
            created_by: format!("causaldefend {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A model with its metadata.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Weights and config.
    pub model: Model,
    /// Metadata.
    pub meta: CheckpointMeta,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Checkpoint {
    /// Writes the checkpoint to `path` (parent folders are created).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let meta = serde_json::to_string(&self.meta).map_err(|e| Error::BadCheckpoint {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let tensors: Vec<(String, candle_core::Tensor)> = self
            .model
            .params
            .named()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
            .collect();
        let mut metadata = HashMap::new();
        metadata.insert("causaldefend".to_owned(), meta);
        let views: Vec<(&str, &candle_core::Tensor)> =
            tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        safetensors::tensor::serialize_to_file(views, Some(metadata), path).map_err(|e| {
            Error::BadCheckpoint {
                path: path.to_path_buf(),
                reason: format!("cannot write: {e}"),
            }
        })
    }

    /// Reads only the metadata of a checkpoint.
    ///
    /// # Errors
    /// [`Error::Io`], or [`Error::BadCheckpoint`] naming what is wrong.
    pub fn read_meta(path: &Path) -> Result<CheckpointMeta> {
        let bad = |reason: String| Error::BadCheckpoint {
            path: path.to_path_buf(),
            reason,
        };
        let mut f = std::fs::File::open(path).map_err(io(path))?;
        let mut len = [0u8; 8];
        f.read_exact(&mut len)
            .map_err(|_| bad("shorter than a safetensors header".into()))?;
        let n = u64::from_le_bytes(len);
        if n > MAX_HEADER_BYTES {
            return Err(bad(format!("header of {n} bytes is larger than allowed")));
        }
        // Bounded by MAX_HEADER_BYTES above.
        let mut header = vec![0u8; n as usize];
        f.read_exact(&mut header)
            .map_err(|_| bad("truncated header".into()))?;
        let v: serde_json::Value =
            serde_json::from_slice(&header).map_err(|e| bad(format!("header is not JSON: {e}")))?;
        let text = v
            .get("__metadata__")
            .and_then(|m| m.get("causaldefend"))
            .and_then(|m| m.as_str())
            .ok_or_else(|| {
                bad("no `causaldefend` metadata (a safetensors file from elsewhere?)".into())
            })?;
        let meta: CheckpointMeta =
            serde_json::from_str(text).map_err(|e| bad(format!("metadata: {e}")))?;
        if meta.kind != CHECKPOINT_KIND {
            return Err(bad(format!("kind `{}`", meta.kind)));
        }
        if meta.version != CHECKPOINT_VERSION {
            return Err(bad(format!(
                "metadata version {}, this build reads {CHECKPOINT_VERSION}",
                meta.version
            )));
        }
        Ok(meta)
    }

    /// Loads a checkpoint and checks it against this build.
    ///
    /// # Errors
    /// [`Error::SchemaMismatch`] when the features differ,
    /// [`Error::BadCheckpoint`] for a damaged file or wrong shapes.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let meta = Self::read_meta(path)?;
        if meta.feature_schema != FEATURE_SCHEMA
            || meta.feature_dim != FEATURE_DIM
            || meta.edge_types != EDGE_TYPES
        {
            return Err(Error::SchemaMismatch {
                path: path.to_path_buf(),
                model: format!(
                    "{} ({} features, {} edge types)",
                    meta.feature_schema, meta.feature_dim, meta.edge_types
                ),
                ours: format!("{FEATURE_SCHEMA} ({FEATURE_DIM} features, {EDGE_TYPES} edge types)"),
            });
        }
        let tensors =
            candle_core::safetensors::load(path, device).map_err(|e| Error::BadCheckpoint {
                path: path.to_path_buf(),
                reason: format!("weights: {e}"),
            })?;
        let mut model = Model::new(meta.config.clone(), device)?;
        model
            .params
            .load_from(&tensors)
            .map_err(|reason| Error::BadCheckpoint {
                path: path.to_path_buf(),
                reason,
            })?;
        if !meta.residual_scale.is_empty() {
            if meta.residual_scale.len() != FEATURE_DIM {
                return Err(Error::BadCheckpoint {
                    path: path.to_path_buf(),
                    reason: format!(
                        "residual_scale has {} values, the features have {FEATURE_DIM}",
                        meta.residual_scale.len()
                    ),
                });
            }
            model.residual_scale = Some(candle_core::Tensor::from_slice(
                &meta.residual_scale,
                FEATURE_DIM,
                device,
            )?);
        }
        Ok(Self { model, meta })
    }
}
