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
        let mut value = serde_json::to_value(Self::default())?;
        if let Some(path) = path {
            let text = std::fs::File::open(path)
                .with_context(|| format!("opening config {}", path.display()))?;
            let file: serde_json::Value =
                serde_norway::from_reader(std::io::Read::take(text, 1 << 20))
                    .with_context(|| format!("parsing config {}", path.display()))?;
            merge(&mut value, file);
        }
        for (key, raw) in std::env::vars() {
            let Some(rest) = key.strip_prefix("CAUSALDEFEND_") else {
                continue;
            };
            let lower = rest.to_ascii_lowercase();
            let path: Vec<&str> = lower.split("__").collect();
            if !matches!(path.first(), Some(&"ingest" | &"windowing")) {
                continue;
            }
            let parsed: serde_json::Value =
                serde_norway::from_str(&raw).unwrap_or(serde_json::Value::String(raw.clone()));
            set_path(&mut value, &path, parsed)
                .with_context(|| format!("environment variable {key}"))?;
        }
        serde_json::from_value(value)
            .context("invalid configuration (defaults + file + CAUSALDEFEND_* environment)")
    }
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
    fn unknown_keys_are_rejected_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        std::fs::write(&p, "windowing:\n  window_sec: 5\n").unwrap();
        let err = format!("{:#}", IngestConfig::load(Some(&p)).unwrap_err());
        assert!(err.contains("window_sec"), "{err}");
    }
}
