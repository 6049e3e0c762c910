//! `causaldefend calibrate`, and the conformal part of `detect`: p-values,
//! prediction sets, confidence and the escalation decision.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uncertainty::{Adaptivity, Calibration, CalibrationFile, Label, OnlineConformal, Prediction};

use crate::args::{AdaptivityArg, CalibrateArgs};
use crate::data::{discover, WindowReader};

/// File name `calibrate` writes beside the detector by default, and `detect` looks for.
pub const DEFAULT_CALIBRATION_NAME: &str = "conformal_calibration.json";
/// The policy file used when `--api-config` is absent and it exists.
const DEFAULT_API_CONFIG: &str = "config/api_config.yaml";

/// `escalation:` of `config/api_config.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationPolicy {
    /// Below this confidence a window escalates.
    pub confidence_threshold: f64,
    /// Prediction sets this large or larger escalate.
    pub set_size_threshold: usize,
    /// Empty prediction sets escalate.
    pub escalate_empty_set: bool,
    /// Where escalations go (the server delivers; detect logs).
    pub notify_channels: Vec<String>,
    /// Hours an analyst has to review an escalated alert (Article 14 check).
    pub review_deadline_hours: f64,
}

impl Default for EscalationPolicy {
    fn default() -> Self {
        Self {
            confidence_threshold: 0.9,
            set_size_threshold: 2,
            escalate_empty_set: true,
            notify_channels: Vec::new(),
            review_deadline_hours: 24.0,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ApiConfigFile {
    #[serde(default)]
    escalation: EscalationPolicy,
}

/// Loads the escalation policy (other sections of the file belong to the server).
pub fn load_policy(path: Option<&Path>) -> anyhow::Result<EscalationPolicy> {
    let path: Option<PathBuf> = path.map(Path::to_path_buf).or_else(|| {
        let p = PathBuf::from(DEFAULT_API_CONFIG);
        p.is_file().then_some(p)
    });
    let Some(path) = path else {
        return Ok(EscalationPolicy::default());
    };
    let f = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let v: serde_json::Value = serde_norway::from_reader(f.take(1 << 20))
        .with_context(|| format!("parsing {}", path.display()))?;
    let c: ApiConfigFile = if v.is_null() {
        ApiConfigFile::default()
    } else {
        serde_json::from_value(v)
            .with_context(|| format!("{}: section `escalation`", path.display()))?
    };
    if !(0.0..=1.0).contains(&c.escalation.confidence_threshold) {
        anyhow::bail!(
            "{}: escalation.confidence_threshold {} is not in [0, 1]",
            path.display(),
            c.escalation.confidence_threshold
        );
    }
    Ok(c.escalation)
}

/// `auto` or `escalate`, with the reason.
pub fn decide(p: &Prediction, policy: &EscalationPolicy) -> (&'static str, String) {
    let names: Vec<&str> = p.set.iter().map(|l| l.as_str()).collect();
    if p.set.is_empty() && policy.escalate_empty_set {
        return (
            "escalate",
            "empty prediction set: unlike every calibrated class".to_owned(),
        );
    }
    if p.set.len() >= policy.set_size_threshold.max(1) {
        return (
            "escalate",
            format!("prediction set {{{}}}", names.join(", ")),
        );
    }
    if p.confidence < policy.confidence_threshold {
        return (
            "escalate",
            format!(
                "confidence {:.3} below threshold {}",
                p.confidence, policy.confidence_threshold
            ),
        );
    }
    (
        "auto",
        format!(
            "prediction set {{{}}} with confidence {:.3}",
            names.join(", "),
            p.confidence
        ),
    )
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

fn default_beside(model: &Path) -> PathBuf {
    model.parent().map_or_else(
        || PathBuf::from(DEFAULT_CALIBRATION_NAME),
        |d| d.join(DEFAULT_CALIBRATION_NAME),
    )
}

/// Runs `calibrate`.
pub fn run(args: &CalibrateArgs, auditor: &mut crate::audit::Auditor) -> anyhow::Result<u8> {
    if !(args.confidence_level > 0.0 && args.confidence_level < 1.0) {
        anyhow::bail!(
            "--confidence-level {} is not between 0 and 1",
            args.confidence_level
        );
    }
    let device = detect::device(0)?;
    let ckpt = detect::Checkpoint::load(&args.detector, &device)
        .with_context(|| format!("loading detector {}", args.detector.display()))?;
    let sha = sha256_file(&args.detector)?;
    let cfg = ckpt.model.config.clone();
    let reader = WindowReader::for_model(args.format.into(), args.config.as_deref(), &cfg)?;
    let sequences = discover(&args.calibration_data)?;
    let trained_on: Vec<&String> = ckpt.meta.training.inputs.iter().collect();
    let mut detector = detect::Detector::new(ckpt.clone(), device);
    let (mut benign, mut attack, mut skipped) = (Vec::new(), Vec::new(), 0usize);
    let mut sources = Vec::new();
    for seq in &sequences {
        if trained_on
            .iter()
            .any(|t| seq.name.ends_with(t.as_str()) || t.ends_with(&seq.name))
        {
            tracing::warn!(input = %seq.name, "this input may have been used in training: calibration on training data overstates confidence");
        }
        sources.push(seq.name.clone());
        detector.reset();
        let malicious = seq
            .truth
            .as_ref()
            .filter(|t| t.is_attack())
            .map(|t| &t.malicious_pids);
        for w in reader.windows(seq)? {
            let p = detect::prepare(&w, cfg.max_edges_per_window);
            let score = detector.score(&p)?.score;
            match malicious {
                None => benign.push(score),
                Some(pids) => {
                    let is_attack_window = w.nodes.iter().any(|n| {
                        n.kind == event::EntityKind::Process
                            && n.pid.is_some_and(|pid| pids.contains(&pid))
                    });
                    if is_attack_window {
                        attack.push(score);
                    } else {
                        // Windows of an attack recording outside the attack are
                        // not clean benign examples; leave them out.
                        skipped += 1;
                    }
                }
            }
        }
    }
    let calibration = Calibration::new(&benign, &attack).context("building the calibration")?;
    let adaptivity = match args.adaptivity {
        AdaptivityArg::None => Adaptivity::None,
        AdaptivityArg::Aci => Adaptivity::Aci { gamma: args.gamma },
        AdaptivityArg::Rolling => Adaptivity::Rolling {
            window: args.rolling_window,
        },
    };
    let file = CalibrationFile {
        kind: uncertainty::CALIBRATION_KIND.to_owned(),
        version: uncertainty::CALIBRATION_VERSION,
        detector_sha256: sha,
        detector_path: args.detector.display().to_string(),
        confidence_level: args.confidence_level,
        adaptivity,
        sources,
        calibration,
        created_by: format!("causaldefend {}", env!("CARGO_PKG_VERSION")),
    };
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| default_beside(&args.detector));
    file.save(&out)?;
    auditor.append(auditor.draft(
        compliance::RecordKind::CalibrationChange,
        crate::audit::digest_of(&out),
        file.detector_sha256.clone(),
        serde_json::json!({
            "calibration": out.display().to_string(),
            "confidence_level": args.confidence_level,
            "benign_windows": benign.len(),
            "attack_windows": attack.len(),
            "sources": file.sources,
        }),
        "conformal calibration written".to_owned(),
        None,
    ))?;
    eprintln!(
        "calibration written to {}: {} benign and {} attack windows ({} windows of attack recordings outside the attack left out); level {}",
        out.display(),
        benign.len(),
        attack.len(),
        skipped,
        args.confidence_level
    );
    Ok(0)
}

/// The conformal state `detect` uses, when a calibration is found.
pub struct DetectConformal {
    /// Online calibration.
    pub online: OnlineConformal,
    /// Escalation policy.
    pub policy: EscalationPolicy,
}

/// Finds and checks the calibration for `model`: `explicit`, else the file
/// beside the model; `None` (and a log line) when there is none.
pub fn for_detect(
    model: &Path,
    explicit: Option<&Path>,
    level: Option<f64>,
    api_config: Option<&Path>,
) -> anyhow::Result<Option<DetectConformal>> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = default_beside(model);
            if !p.is_file() {
                tracing::info!(
                    "no conformal calibration beside the model ({}): windows carry no p-value; run `causaldefend calibrate`",
                    p.display()
                );
                return Ok(None);
            }
            tracing::info!(calibration = %p.display(), "using the calibration stored beside the model");
            p
        }
    };
    let file = CalibrationFile::load(&path)?;
    file.check_detector(&path, &sha256_file(model)?)?;
    let level = level.unwrap_or(file.confidence_level);
    if !(level > 0.0 && level < 1.0) {
        anyhow::bail!("--confidence-level {level} is not between 0 and 1");
    }
    let policy = load_policy(api_config)?;
    Ok(Some(DetectConformal {
        online: OnlineConformal::new(file.calibration, 1.0 - level, file.adaptivity),
        policy,
    }))
}

/// The fields `detect` adds to a window line, and feeds back a benign
/// decision to a rolling calibration.
pub fn annotate(c: &mut DetectConformal, score: f64, line: &mut serde_json::Value) {
    let p = c.online.predict(score);
    let (decision, reason) = decide(&p, &c.policy);
    if let Some(obj) = line.as_object_mut() {
        obj.insert("p_value".into(), p.p_benign.into());
        if let Some(pa) = p.p_attack {
            obj.insert("p_value_attack".into(), pa.into());
        }
        obj.insert(
            "prediction_set".into(),
            p.set.iter().map(|l| l.as_str()).collect::<Vec<_>>().into(),
        );
        obj.insert("confidence".into(), p.confidence.into());
        if let Some(pa) = p.probability_attack {
            obj.insert("probability_attack".into(), pa.into());
        }
        obj.insert("decision".into(), decision.into());
        obj.insert("reason".into(), reason.clone().into());
    }
    if decision == "escalate" {
        tracing::info!(reason = %reason, channels = ?c.policy.notify_channels, "window escalated to an analyst");
    }
    // Only windows the machine itself settled as benign update a rolling
    // calibration; ACI waits for reviewed labels (human review records).
    if decision == "auto" && p.set == [Label::Benign] {
        c.online.observe(score, Label::Benign);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(set: Vec<Label>, confidence: f64) -> Prediction {
        Prediction {
            p_benign: 0.5,
            p_attack: None,
            set,
            label: Label::Benign,
            confidence,
            credibility: 0.5,
            probability_attack: None,
            probability_interval: None,
        }
    }

    #[test]
    fn decisions_follow_the_policy() {
        let p = EscalationPolicy::default();
        assert_eq!(decide(&pred(vec![Label::Benign], 0.95), &p).0, "auto");
        let (d, r) = decide(&pred(vec![Label::Benign, Label::Attack], 0.95), &p);
        assert_eq!(
            (d, r.as_str()),
            ("escalate", "prediction set {benign, attack}")
        );
        let (d, r) = decide(&pred(vec![Label::Attack], 0.5), &p);
        assert_eq!(d, "escalate");
        assert!(r.contains("confidence 0.500 below threshold 0.9"), "{r}");
        assert_eq!(decide(&pred(vec![], 1.0), &p).0, "escalate");
    }

    #[test]
    fn shipped_policy_parses() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/api_config.yaml");
        assert_eq!(load_policy(Some(&p)).unwrap(), EscalationPolicy::default());
    }
}
