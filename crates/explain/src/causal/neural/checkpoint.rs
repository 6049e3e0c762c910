//! Saving and loading a trained tester: one safetensors file whose header
//! metadata holds, as JSON under the key `causaldefend`, the feature
//! schema, config, null scores and training record ([`NeuralCiMeta`]).
//!
//! The file's bytes depend only on the config and the real series it was
//! trained with (no timings, no paths, no map-order noise), so a shipped
//! tester can be rebuilt and compared byte for byte. Loading refuses a file
//! computed under another feature schema: its network would be fed
//! features it never saw, and the p-values would be silently wrong.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use candle_core::Device;

use crate::causal::neural::features::{FEATURE_DIM, FEATURE_SCHEMA};
use crate::causal::neural::model::{CiNetwork, INPUT_MEAN, INPUT_SCALE};
use crate::causal::neural::tester::{
    NeuralCiMeta, NeuralCiTester, CHECKPOINT_KIND, CHECKPOINT_VERSION,
};
use crate::error::{Error, Result};

/// Metadata key in the safetensors header.
const META_KEY: &str = "causaldefend";

/// Largest checkpoint read. The default tester is about 260 KB (mostly its
/// 20 000 null scores as JSON); this leaves room for the widest network the
/// config accepts while bounding what a hostile file can make us allocate.
pub const MAX_CHECKPOINT_BYTES: u64 = 64 * 1024 * 1024;

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::BadFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl NeuralCiTester {
    /// The checkpoint as bytes (what [`save`](Self::save) writes).
    ///
    /// # Errors
    /// Serialisation failures.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let meta = serde_json::to_string(self.meta()).map_err(|e| Error::BadArgument {
            what: "checkpoint metadata",
            reason: e.to_string(),
        })?;
        let mut header = HashMap::new();
        header.insert(META_KEY.to_owned(), meta);
        let tensors = self.network().named_tensors();
        let views: Vec<(&str, &candle_core::Tensor)> =
            tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        safetensors::serialize(views, Some(header)).map_err(|e| Error::BadArgument {
            what: "checkpoint",
            reason: format!("cannot serialise: {e}"),
        })
    }

    /// Writes the checkpoint to `path` (parent folders are created).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let bytes = self.to_bytes()?;
        std::fs::write(path, bytes).map_err(io(path))
    }

    /// Loads a checkpoint written by [`save`](Self::save), on the CPU.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read; [`Error::BadFile`] naming the
    /// file and the problem: too large, not safetensors, no CausalDefend
    /// metadata, another kind or layout version, another feature schema,
    /// missing or misshapen tensors, unusable null scores.
    pub fn load(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(io(path))?;
        let len = file.metadata().map_err(io(path))?.len();
        if len > MAX_CHECKPOINT_BYTES {
            return Err(bad(
                path,
                format!("{len} bytes, more than the {MAX_CHECKPOINT_BYTES} a checkpoint may have"),
            ));
        }
        // Bounded by MAX_CHECKPOINT_BYTES above; a file that grew meanwhile
        // is cut there and then fails to parse.
        let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
        file.take(MAX_CHECKPOINT_BYTES)
            .read_exact(&mut bytes)
            .map_err(io(path))?;
        Self::from_bytes(&bytes, path)
    }

    /// Parses checkpoint bytes; `path` only names the source in errors.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(path, format!("not a safetensors file: {e}")))?;
        let text = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(META_KEY))
            .ok_or_else(|| {
                bad(
                    path,
                    "no `causaldefend` metadata (a safetensors file from elsewhere?)",
                )
            })?;
        let meta: NeuralCiMeta = serde_json::from_str(text)
            .map_err(|e| bad(path, format!("checkpoint metadata: {e}")))?;
        if meta.kind != CHECKPOINT_KIND {
            return Err(bad(
                path,
                format!("a `{}` file, not a `{CHECKPOINT_KIND}`", meta.kind),
            ));
        }
        if meta.version != CHECKPOINT_VERSION {
            return Err(bad(
                path,
                format!(
                    "metadata layout version {}, this build reads {CHECKPOINT_VERSION}",
                    meta.version
                ),
            ));
        }
        if meta.feature_schema != FEATURE_SCHEMA || meta.feature_dim != FEATURE_DIM {
            return Err(bad(
                path,
                format!(
                    "feature schema mismatch: the checkpoint was trained on `{}` ({} features), \
                     this build computes `{FEATURE_SCHEMA}` ({FEATURE_DIM} features); retrain it",
                    meta.feature_schema, meta.feature_dim
                ),
            ));
        }
        let all_null = meta.null_scores.iter().flat_map(|s| &s.scores);
        if all_null.clone().next().is_none() || all_null.clone().any(|v| !v.is_finite()) {
            return Err(bad(path, "null scores are missing or not finite"));
        }
        meta.config
            .validate()
            .map_err(|e| bad(path, format!("config: {e}")))?;
        let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
            .map_err(|e| bad(path, format!("weights: {e}")))?;
        for name in [INPUT_MEAN, INPUT_SCALE] {
            if !tensors.contains_key(name) {
                return Err(bad(path, format!("tensor `{name}` is missing")));
            }
        }
        let mut network = CiNetwork::new(meta.config.hidden, meta.config.layers, 0, &Device::Cpu)?;
        network
            .load_tensors(&tensors)
            .map_err(|reason| bad(path, reason))?;
        Self::new(network, meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::causal::ci::CiTest;
    use crate::causal::neural::compare::held_out_cases;
    use crate::causal::neural::train::test_support::{tiny, tiny_tester};
    use crate::causal::neural::train::train_ci_tester;

    #[test]
    fn save_load_round_trip_gives_identical_p_values_and_bytes() {
        let t = tiny_tester();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/neural.safetensors");
        t.save(&path).unwrap();
        let back = NeuralCiTester::load(&path).unwrap();
        assert!(back.meta() == t.meta(), "metadata changed on a round trip");
        assert_eq!(back.to_bytes().unwrap(), std::fs::read(&path).unwrap());
        for c in held_out_cases(5, 40, &tiny().sim, &[]).unwrap() {
            let a = t.test(&c.data, c.x, c.y, &c.z).unwrap();
            let b = back.test(&c.data, c.x, c.y, &c.z).unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn same_config_gives_a_byte_identical_checkpoint() {
        let again = train_ci_tester(&tiny(), &[], |_, _| {}).unwrap();
        assert_eq!(again.to_bytes().unwrap(), tiny_tester().to_bytes().unwrap());
        let other_seed = crate::causal::neural::NeuralCiConfig {
            seed: 18,
            epochs: 1,
            n_train_cases: 100,
            n_null_cases: 50,
            ..tiny()
        };
        let other = train_ci_tester(&other_seed, &[], |_, _| {}).unwrap();
        assert_ne!(other.to_bytes().unwrap(), tiny_tester().to_bytes().unwrap());
    }

    #[test]
    fn another_feature_schema_is_refused_naming_the_file() {
        let t = tiny_tester();
        let mut meta = t.meta().clone();
        meta.feature_schema = "neural-ci-features/v0".into();
        let old = NeuralCiTester::new(t.network().clone(), meta).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.safetensors");
        old.save(&path).unwrap();
        match NeuralCiTester::load(&path) {
            Err(Error::BadFile { path: p, reason }) => {
                assert_eq!(p, path);
                assert!(reason.contains("feature schema mismatch"), "{reason}");
                assert!(reason.contains("neural-ci-features/v0"), "{reason}");
                assert!(reason.contains(FEATURE_SCHEMA), "{reason}");
            }
            other => panic!("expected a schema error, got {other:?}"),
        }
    }

    #[test]
    fn damaged_or_foreign_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.safetensors");
        assert!(matches!(
            NeuralCiTester::load(&missing),
            Err(Error::Io { .. })
        ));

        let garbage = dir.path().join("garbage.safetensors");
        std::fs::write(&garbage, b"not a checkpoint").unwrap();
        assert!(matches!(
            NeuralCiTester::load(&garbage),
            Err(Error::BadFile { .. })
        ));

        // A valid safetensors file without our metadata.
        let foreign = dir.path().join("foreign.safetensors");
        let t = candle_core::Tensor::zeros(3, candle_core::DType::F32, &Device::Cpu).unwrap();
        candle_core::safetensors::save(&HashMap::from([("w".to_owned(), t)]), &foreign).unwrap();
        match NeuralCiTester::load(&foreign) {
            Err(Error::BadFile { reason, .. }) => assert!(reason.contains("metadata"), "{reason}"),
            other => panic!("expected BadFile, got {other:?}"),
        }

        // Truncated weights.
        let bytes = tiny_tester().to_bytes().unwrap();
        let cut = dir.path().join("cut.safetensors");
        std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
        assert!(matches!(
            NeuralCiTester::load(&cut),
            Err(Error::BadFile { .. })
        ));
    }
}
