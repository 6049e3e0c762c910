//! Layered configuration for the ingest commands: defaults, then the YAML
//! file, then `CAUSALDEFEND_INGEST__*` / `CAUSALDEFEND_WINDOWING__*`
//! environment variables, then flags.

use std::path::Path;

use anyhow::{bail, Context};
use graph::WindowSettings;
use ingest::IngestSettings;
use serde::{Deserialize, Serialize};

/// `config/ingest_config.yaml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Parser bounds.
    pub ingest: IngestSettings,
    /// Window cutting.
    pub windowing: WindowSettings,
}

impl IngestConfig {
    /// Loads defaults, the file (if given) and the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        load_layered(path, &["ingest", "windowing"], None)
    }
}

/// `config/train_config.yaml`: the detector's hyper-parameters (flat keys),
/// overridable by `CAUSALDEFEND_DETECTOR__<KEY>` and then by flags.
pub fn load_detector_config(path: Option<&Path>) -> anyhow::Result<detect::DetectorConfig> {
    load_layered(path, &[], Some("detector"))
}

/// `config/explain_config.yaml` (used when no path is given and it exists),
/// overridable by `CAUSALDEFEND_EXPLAIN__<SECTION>__<KEY>`
/// (for example `CAUSALDEFEND_EXPLAIN__REDUCE__BACK_HOPS=4`).
pub fn load_explain_config(path: Option<&Path>) -> anyhow::Result<explain::ExplainConfig> {
    let default = Path::new("config/explain_config.yaml");
    let path = path.or_else(|| default.is_file().then_some(default));
    load_layered(path, &[], Some("explain"))
}

/// Defaults of `T`, then the YAML file, then `CAUSALDEFEND_<SECTION>__<KEY>`
/// variables. `sections` are the top-level keys of a sectioned file;
/// `flat` names the one environment section of a flat file.
fn load_layered<T>(path: Option<&Path>, sections: &[&str], flat: Option<&str>) -> anyhow::Result<T>
where
    T: Default + Serialize + serde::de::DeserializeOwned,
{
    let mut value = serde_json::to_value(T::default())?;
    if let Some(path) = path {
        let text = std::fs::File::open(path)
            .with_context(|| format!("opening config {}", path.display()))?;
        let file: serde_json::Value = serde_norway::from_reader(std::io::Read::take(text, 1 << 20))
            .with_context(|| format!("parsing config {}", path.display()))?;
        // An empty file is YAML null: all defaults.
        if !file.is_null() {
            merge(&mut value, file);
        }
    }
    for (key, raw) in std::env::vars() {
        let Some(rest) = key.strip_prefix("CAUSALDEFEND_") else {
            continue;
        };
        let lower = rest.to_ascii_lowercase();
        let mut path: Vec<&str> = lower.split("__").collect();
        match (flat, path.first()) {
            (Some(section), Some(first)) if first == &section && path.len() > 1 => {
                path.remove(0);
            }
            (None, Some(first)) if sections.contains(first) => {}
            _ => continue,
        }
        let parsed: serde_json::Value =
            serde_norway::from_str(&raw).unwrap_or(serde_json::Value::String(raw.clone()));
        set_path(&mut value, &path, parsed)
            .with_context(|| format!("environment variable {key}"))?;
    }
    let what = path.map_or_else(|| "defaults".to_owned(), |p| p.display().to_string());
    serde_json::from_value(value)
        .with_context(|| format!("invalid configuration ({what} + CAUSALDEFEND_* environment)"))
}

fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn set_path(
    value: &mut serde_json::Value,
    path: &[&str],
    v: serde_json::Value,
) -> anyhow::Result<()> {
    match path.split_first() {
        None => {
            *value = v;
            Ok(())
        }
        Some((head, rest)) => match value {
            serde_json::Value::Object(map) => set_path(
                map.entry((*head).to_owned())
                    .or_insert(serde_json::Value::Null),
                rest,
                v,
            ),
            serde_json::Value::Null => {
                *value = serde_json::Value::Object(serde_json::Map::new());
                set_path(value, path, v)
            }
            _ => bail!("`{head}` is not a section"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_parses() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/ingest_config.yaml");
        let c = IngestConfig::load(Some(&p)).unwrap();
        assert_eq!(c.windowing.window_secs, Some(10.0));
    }

    #[test]
    fn shipped_train_config_is_the_defaults() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/train_config.yaml");
        let c = load_detector_config(Some(&p)).unwrap();
        assert_eq!(c, detect::DetectorConfig::default());
    }

    #[test]
    fn shipped_explain_config_is_the_defaults() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/explain_config.yaml");
        let c = load_explain_config(Some(&p)).unwrap();
        assert_eq!(c, explain::ExplainConfig::default());
    }

    #[test]
    fn train_config_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.yaml");
        std::fs::write(&p, "hiden_dim: 5\n").unwrap();
        let err = format!("{:#}", load_detector_config(Some(&p)).unwrap_err());
        assert!(err.contains("hiden_dim"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        std::fs::write(&p, "windowing:\n  window_sec: 5\n").unwrap();
        let err = format!("{:#}", IngestConfig::load(Some(&p)).unwrap_err());
        assert!(err.contains("window_sec"), "{err}");
    }
}
