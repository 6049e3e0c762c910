//! Where the detector's windows come from: `--data`/`--input` paths turned
//! into sequences (one per recording or host, so the GRU's history never
//! crosses from one machine to another), read either from a preprocessed
//! folder or from raw logs parsed on the fly.
//!
//! A folder holding `manifest.json` is one preprocessed sequence. Any other
//! folder is searched: each preprocessed folder under it is a sequence, and
//! each log file is one (a recording folder's `truth.json` is its ground
//! truth, not a log).

use std::path::{Path, PathBuf};

use anyhow::Context;
use graph::{GraphReader, GraphWindow, WindowBuilder, WindowSettings};
use ingest::{EventStream, IngestSettings, InputFormat};

/// Ground truth of a recording (`truth.json` beside the log).
pub type Truth = ingest::labels::AuditdTruth;

/// Where one sequence's windows are.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A folder written by `preprocess`.
    Preprocessed(PathBuf),
    /// A raw log file.
    Raw(PathBuf),
}

/// One sequence: a recording or host.
#[derive(Debug, Clone)]
pub struct Sequence {
    /// Display name (the folder or file).
    pub name: String,
    /// Where its windows are.
    pub origin: Origin,
    /// Its ground truth, when a `truth.json` lies beside it.
    pub truth: Option<Truth>,
}

fn is_log_file(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    !(name == "truth.json"
        || name == "manifest.json"
        || name.ends_with(".md")
        || name.ends_with(".csv")
        || name.ends_with(".arrow")
        || name.ends_with(".rules")
        || name.starts_with("readme")
        || name.starts_with("license"))
}

fn truth_beside(p: &Path) -> anyhow::Result<Option<Truth>> {
    let dir = if p.is_dir() { Some(p) } else { p.parent() };
    match dir.map(|d| d.join("truth.json")) {
        Some(t) if t.is_file() => ingest::labels::read_auditd_truth(&t)
            .map(Some)
            .with_context(|| format!("reading ground truth {}", t.display())),
        _ => Ok(None),
    }
}

fn display_name(p: &Path, root: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    let s = rel.display().to_string();
    if s.is_empty() {
        p.display().to_string()
    } else {
        s
    }
}

/// Finds the sequences under `paths`, in a stable order.
pub fn discover(paths: &[PathBuf]) -> anyhow::Result<Vec<Sequence>> {
    let mut out = Vec::new();
    for root in paths {
        if !root.exists() {
            anyhow::bail!("{}: no such file or folder", root.display());
        }
        if root.join("manifest.json").is_file() {
            out.push(Sequence {
                name: root.display().to_string(),
                origin: Origin::Preprocessed(root.clone()),
                truth: truth_beside(root)?,
            });
            continue;
        }
        if root.is_file() {
            out.push(Sequence {
                name: root.display().to_string(),
                origin: Origin::Raw(root.clone()),
                truth: truth_beside(root)?,
            });
            continue;
        }
        let mut preprocessed: Vec<PathBuf> = Vec::new();
        find_manifests(root, &mut preprocessed, 0)?;
        preprocessed.sort();
        for dir in preprocessed {
            out.push(Sequence {
                name: display_name(&dir, root),
                truth: truth_beside(&dir)?,
                origin: Origin::Preprocessed(dir),
            });
        }
        for file in ingest::list_files(root)? {
            let inside_preprocessed = file
                .ancestors()
                .skip(1)
                .any(|a| a.join("manifest.json").is_file());
            if inside_preprocessed || !is_log_file(&file) {
                continue;
            }
            out.push(Sequence {
                name: display_name(&file, root),
                truth: truth_beside(&file)?,
                origin: Origin::Raw(file),
            });
        }
    }
    if out.is_empty() {
        anyhow::bail!("no logs or preprocessed folders found under the given paths");
    }
    Ok(out)
}

fn find_manifests(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> anyhow::Result<()> {
    if depth > 8 {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            if path.join("manifest.json").is_file() {
                out.push(path);
            } else {
                find_manifests(&path, out, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// Reads a sequence's windows.
#[derive(Debug, Clone)]
pub struct WindowReader {
    /// Format of raw inputs.
    pub format: InputFormat,
    /// Parser settings.
    pub ingest: IngestSettings,
    /// Window cutting of raw inputs.
    pub windowing: WindowSettings,
}

impl WindowReader {
    /// The reader for a model with detector config `model`: parser settings
    /// from the ingest config (`path`, or defaults and environment), windows
    /// cut by time only, with the model's `window_secs` and
    /// `process_grace_secs`, as it was trained. Commands without a model
    /// (explain, the CI tester) pass `DetectorConfig::default()`.
    pub fn for_model(
        format: InputFormat,
        ingest_config: Option<&Path>,
        model: &detect::DetectorConfig,
    ) -> anyhow::Result<Self> {
        let ingest = crate::config::IngestConfig::load(ingest_config)?;
        let mut windowing = ingest.windowing;
        windowing.window_secs = Some(model.window_secs);
        windowing.window_events = None;
        windowing.process_grace_secs = model.process_grace_secs;
        Ok(Self {
            format,
            ingest: ingest.ingest,
            windowing,
        })
    }

    /// Every window of `seq`, in time order. Malformed records of raw logs
    /// are skipped and counted in the log (the same policy as `preprocess`).
    pub fn windows(&self, seq: &Sequence) -> anyhow::Result<Vec<GraphWindow>> {
        let mut out = Vec::new();
        self.for_each_window(seq, &mut |w| {
            out.push(w);
            Ok(())
        })?;
        Ok(out)
    }

    /// Hands each window of `seq` to `f` as soon as it is cut, so that a
    /// sequence larger than memory (a day of CDM records) is scored with
    /// one window held at a time.
    pub fn for_each_window(
        &self,
        seq: &Sequence,
        f: &mut dyn FnMut(GraphWindow) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match &seq.origin {
            Origin::Preprocessed(dir) => {
                let mut r = GraphReader::open(dir)
                    .with_context(|| format!("opening preprocessed folder {}", dir.display()))?;
                for w in r.windows() {
                    f(w.with_context(|| format!("reading windows of {}", dir.display()))?)?;
                }
                Ok(())
            }
            Origin::Raw(file) => {
                let stream = EventStream::open(file, self.format, self.ingest.clone())
                    .with_context(|| format!("opening {}", file.display()))?;
                let mut builder = WindowBuilder::new(self.windowing.clone());
                let mut skipped = 0u64;
                for item in stream {
                    match item {
                        Ok(event) => {
                            for w in builder.push(event) {
                                f(w)?;
                            }
                        }
                        Err(e) => {
                            skipped += 1;
                            if skipped <= 3 {
                                tracing::warn!(error = %e, "skipped record");
                            }
                        }
                    }
                }
                for w in builder.finish() {
                    f(w)?;
                }
                if skipped > 0 {
                    tracing::warn!(file = %file.display(), skipped, "records skipped while reading");
                }
                Ok(())
            }
        }
    }
}

/// The detector's view of a list of sequences: prepared windows, loaded one
/// sequence at a time.
pub struct DiskSource<'a> {
    /// The sequences.
    pub sequences: Vec<Sequence>,
    /// How to read them.
    pub reader: &'a WindowReader,
    /// Edge cap per window.
    pub max_edges: usize,
}

impl detect::WindowSource for DiskSource<'_> {
    fn sequences(&self) -> usize {
        self.sequences.len()
    }

    fn load(&self, index: usize) -> detect::Result<Vec<detect::PreparedWindow>> {
        let seq = self
            .sequences
            .get(index)
            .ok_or_else(|| detect::Error::Data(format!("no sequence {index}")))?;
        let windows = self
            .reader
            .windows(seq)
            .map_err(|e| detect::Error::Data(format!("{}: {e:#}", seq.name)))?;
        Ok(windows
            .iter()
            .map(|w| detect::prepare(w, self.max_edges))
            .collect())
    }

    fn describe(&self) -> Vec<String> {
        self.sequences.iter().map(|s| s.name.clone()).collect()
    }
}
