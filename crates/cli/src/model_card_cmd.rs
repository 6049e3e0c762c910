//! `causaldefend model-card`: the Article 11 model card of a checkpoint.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use compliance::model_card::{build, CardInputs, Declared};

use crate::args::ModelCardArgs;

fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    serde_json::from_reader(f.take(256 << 20))
        .with_context(|| format!("parsing {}", path.display()))
}

/// Runs `model-card`.
pub fn run(args: &ModelCardArgs) -> anyhow::Result<u8> {
    let device = detect::device(0)?;
    let ckpt = detect::Checkpoint::load(&args.model, &device)
        .with_context(|| format!("loading model {}", args.model.display()))?;
    let mut meta = serde_json::to_value(&ckpt.meta)?;
    if let Some(o) = meta.as_object_mut() {
        // Per-feature scales and raw validation scores are weights, not documentation.
        o.remove("residual_scale");
        if let Some(t) = o.get_mut("thresholds").and_then(|t| t.as_object_mut()) {
            t.remove("validation_window_scores");
        }
    }
    let calibration_path = args.calibration.clone().or_else(|| {
        let p = args
            .model
            .parent()
            .unwrap_or(Path::new("."))
            .join("conformal_calibration.json");
        p.is_file().then_some(p)
    });
    let calibration = calibration_path.as_deref().map(read_json).transpose()?;
    let evaluations: Vec<PathBuf> = if args.evaluation.is_empty() {
        [
            "results/auditd.json",
            "results/windows.json",
            "results/explain_auditd.json",
        ]
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .collect()
    } else {
        args.evaluation.clone()
    };
    let evaluations = evaluations
        .iter()
        .map(|p| Ok((p.display().to_string(), read_json(p)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let declared_path = args.declared.clone().or_else(|| {
        let p = PathBuf::from("config/model_card.yaml");
        p.is_file().then_some(p)
    });
    let declared = match &declared_path {
        Some(p) => Declared::load(p)?,
        None => Declared::default(),
    };
    let inputs = CardInputs {
        model_path: args.model.display().to_string(),
        model_sha256: crate::conformal_cmd::sha256_file(&args.model)?,
        checkpoint_meta: meta,
        calibration,
        evaluations,
        declared,
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let card = build(&inputs, &now);
    if let Some(d) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    std::fs::write(&args.output, serde_json::to_string_pretty(&card)?)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let md = args.output.with_extension("md");
    std::fs::write(&md, card.markdown()).with_context(|| format!("writing {}", md.display()))?;
    if card.missing.is_empty() {
        eprintln!(
            "model card complete: {} and {}",
            args.output.display(),
            md.display()
        );
    } else {
        eprintln!(
            "model card written to {} and {}; {} field(s) missing (declare them in {}):",
            args.output.display(),
            md.display(),
            card.missing.len(),
            declared_path.as_deref().map_or_else(
                || "config/model_card.yaml".into(),
                |p| p.display().to_string()
            )
        );
        for m in &card.missing {
            eprintln!("  - {m}");
        }
    }
    Ok(0)
}
