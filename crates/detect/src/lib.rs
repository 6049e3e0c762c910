//! Detect: a spatio-temporal graph autoencoder over provenance windows.
//!
//! In: [`graph::GraphWindow`]s. Out: per-window and per-node anomaly scores,
//! an alert decision against thresholds learnt from benign data, and a
//! checkpoint file that carries the weights with everything needed to use
//! them safely. See `docs/ARCHITECTURE.md` (why candle) and
//! [`model`] (the architecture).
//!
//! Everything runs on CPU by default; the `cuda` feature enables candle's GPU
//! backend.

pub mod baseline;
pub mod checkpoint;
pub mod config;
pub mod detector;
mod error;
pub mod evt;
pub mod features;
pub mod metrics;
pub mod model;
pub mod params;
pub mod state;
pub mod train;

pub use baseline::RarityBaseline;
/// The compute device (CPU, or a GPU with the `cuda` feature); see [`device`].
pub use candle_core::Device;
pub use checkpoint::{Checkpoint, CheckpointMeta};
pub use config::DetectorConfig;
pub use detector::{Detector, NodeScore, WindowScore};
pub use error::{Error, Result};
pub use features::{prepare, PreparedWindow, FEATURE_DIM, FEATURE_SCHEMA};
pub use train::{train, InMemory, WindowSource};

/// The compute device for `--gpus N`.
///
/// # Errors
/// [`Error::NoGpuSupport`] when a GPU is asked for in a build without the
/// `cuda` feature; candle's error when the GPU cannot be opened.
pub fn device(gpus: u32) -> Result<candle_core::Device> {
    if gpus == 0 {
        return Ok(candle_core::Device::Cpu);
    }
    #[cfg(feature = "cuda")]
    {
        Ok(candle_core::Device::new_cuda(0)?)
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err(Error::NoGpuSupport(gpus))
    }
}
