//! `causaldefend train-detector`: benign logs in, checkpoint out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::{TrainDetectorArgs, TrainFlags};
use crate::config::load_detector_config;
use crate::data::{discover, DiskSource, Sequence, WindowReader};

/// The config file used when `--config` is absent and it exists.
const DEFAULT_TRAIN_CONFIG: &str = "config/train_config.yaml";

/// Config file, then environment, then flags.
pub fn resolve_config(flags: &TrainFlags) -> anyhow::Result<detect::DetectorConfig> {
    let path: Option<PathBuf> = flags.config.clone().or_else(|| {
        let p = PathBuf::from(DEFAULT_TRAIN_CONFIG);
        p.is_file().then_some(p)
    });
    let mut c = load_detector_config(path.as_deref())?;
    if let Some(e) = flags.epochs {
        c.epochs = e;
    }
    if let Some(b) = flags.batch_size {
        c.batch_size = b;
    }
    if let Some(lr) = flags.learning_rate {
        c.learning_rate = lr;
    }
    if let Some(s) = flags.seed {
        c.seed = s;
    }
    c.validate()?;
    Ok(c)
}

/// How raw inputs are read for a model with `config`.
pub fn reader_for(
    flags: &TrainFlags,
    config: &detect::DetectorConfig,
) -> anyhow::Result<WindowReader> {
    WindowReader::for_model(flags.format.into(), flags.ingest_config.as_deref(), config)
}

/// A progress bar over epochs, hidden when quiet or not a terminal.
pub fn epoch_bar(epochs: usize, quiet: bool) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr_with_hz(4)
    };
    let pb = ProgressBar::with_draw_target(Some(epochs as u64), target);
    pb.set_style(
        ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// Trains on `sequences` and returns the checkpoint.
pub fn train_on(
    sequences: Vec<Sequence>,
    config: detect::DetectorConfig,
    reader: &WindowReader,
    device: &detect::Device,
    quiet: bool,
) -> anyhow::Result<detect::Checkpoint> {
    let pb = epoch_bar(config.epochs, quiet);
    let source = DiskSource {
        sequences,
        reader,
        max_edges: config.max_edges_per_window,
    };
    let ckpt = detect::train(config, &source, device, &mut |e| {
        pb.set_position(e.epoch as u64);
        pb.set_message(format!(
            "train loss {:.4}, validation loss {:.4}",
            e.train_loss, e.validation_loss
        ));
    })?;
    pb.finish_and_clear();
    Ok(ckpt)
}

/// Splits off attack recordings unless asked to keep them.
pub fn benign_only(
    sequences: Vec<Sequence>,
    include_attacks: bool,
) -> (Vec<Sequence>, Vec<String>) {
    if include_attacks {
        return (sequences, Vec::new());
    }
    let (attack, benign): (Vec<_>, Vec<_>) = sequences.into_iter().partition(|s| {
        s.truth
            .as_ref()
            .is_some_and(ingest::labels::AuditdTruth::is_attack)
    });
    (benign, attack.into_iter().map(|s| s.name).collect())
}

/// Runs `train-detector`.
pub fn run(
    args: &TrainDetectorArgs,
    quiet: bool,
    auditor: &mut crate::audit::Auditor,
) -> anyhow::Result<u8> {
    let started = Instant::now();
    let config = resolve_config(&args.train)?;
    // Before reading any data, so that `--gpus` without GPU support fails at once.
    let device = detect::device(args.train.gpus)?;
    let reader = reader_for(&args.train, &config)?;
    let (sequences, skipped) = benign_only(discover(&args.data)?, args.include_attacks);
    if !skipped.is_empty() {
        tracing::info!(
            skipped = skipped.len(),
            "recordings whose truth.json says `attack` are not trained on (use --include-attacks to keep them)"
        );
    }
    if sequences.is_empty() {
        anyhow::bail!("no benign training data left under the given paths");
    }
    tracing::info!(sequences = sequences.len(), "training");
    let ckpt = train_on(sequences, config, &reader, &device, quiet)?;
    ckpt.save(&args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let model_version = crate::audit::digest_of(&args.output);
    auditor.record_config("detector", &serde_json::to_value(&ckpt.meta.config)?)?;
    auditor.append(auditor.draft(
        compliance::RecordKind::ModelChange,
        ckpt.meta.training.digest.clone(),
        model_version,
        serde_json::json!({
            "checkpoint": args.output.display().to_string(),
            "feature_schema": ckpt.meta.feature_schema,
            "best_epoch": ckpt.meta.best_epoch,
            "thresholds": {"window": ckpt.meta.thresholds.window, "node": ckpt.meta.thresholds.node},
            "training": {"sequences": ckpt.meta.training.sequences, "events": ckpt.meta.training.events},
        }),
        "detector trained".to_owned(),
        None,
    ))?;
    print_summary(
        &ckpt,
        &args.output,
        started.elapsed().as_secs_f64(),
        args.json,
    )?;
    Ok(0)
}

fn print_summary(
    ckpt: &detect::Checkpoint,
    output: &Path,
    secs: f64,
    json: bool,
) -> anyhow::Result<()> {
    let m = &ckpt.meta;
    let last = m.history.last();
    if json {
        let v = serde_json::json!({
            "output": output.display().to_string(),
            "sequences": m.training.sequences,
            "train_windows": m.training.train_windows,
            "validation_windows": m.training.validation_windows,
            "events": m.training.events,
            "data_digest": m.training.digest,
            "epochs_run": m.history.len(),
            "best_epoch": m.best_epoch,
            "history": m.history,
            "window_threshold": m.thresholds.window,
            "node_threshold": m.thresholds.node,
            "parameters": ckpt.model.params.count(),
            "elapsed_secs": secs,
        });
        writeln!(std::io::stdout().lock(), "{v}")?;
        return Ok(());
    }
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    t.set_header(vec!["train-detector", "value"]);
    let rows: Vec<(&str, String)> = vec![
        ("checkpoint", output.display().to_string()),
        ("sequences", m.training.sequences.to_string()),
        (
            "windows (train / validation)",
            format!(
                "{} / {}",
                m.training.train_windows, m.training.validation_windows
            ),
        ),
        ("events", m.training.events.to_string()),
        ("parameters", ckpt.model.params.count().to_string()),
        (
            "epochs run (best)",
            format!("{} ({})", m.history.len(), m.best_epoch),
        ),
        (
            "last train / validation loss",
            last.map_or_else(String::new, |e| {
                format!("{:.5} / {:.5}", e.train_loss, e.validation_loss)
            }),
        ),
        ("window threshold", format!("{:.5}", m.thresholds.window)),
        ("node threshold", format!("{:.5}", m.thresholds.node)),
        ("training data digest", m.training.digest.clone()),
        ("seconds", format!("{secs:.1}")),
    ];
    for (k, v) in rows {
        t.add_row(vec![k.to_owned(), v]);
    }
    eprintln!("{t}");
    Ok(())
}
