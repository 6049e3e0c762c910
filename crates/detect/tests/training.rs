//! Training and checkpoints on real data: the bundled auditd recording
//! (`data/auditd/attack_T1003.008-1_s206`, 40 s of a real workload around
//! `cat /etc/shadow`), cut into 5 s windows.

use std::path::Path;

use candle_core::Device;
use causaldefend_detect::{
    prepare, train, Checkpoint, Detector, DetectorConfig, InMemory, PreparedWindow,
};
use graph::{WindowBuilder, WindowSettings};
use ingest::{auditd, IngestSettings, InputFile};

fn fixture_windows() -> Vec<PreparedWindow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/auditd/attack_T1003.008-1_s206/audit.log.gz");
    let file = InputFile::probe(&path).unwrap();
    let mut b = WindowBuilder::new(WindowSettings {
        window_secs: Some(5.0),
        window_events: None,
        ..WindowSettings::default()
    });
    let mut windows = Vec::new();
    for e in auditd::open(&file, &IngestSettings::default()).unwrap() {
        windows.extend(b.push(e.unwrap()));
    }
    windows.extend(b.finish());
    assert!(
        windows.len() >= 3,
        "fixture gives {} windows",
        windows.len()
    );
    windows.iter().map(|w| prepare(w, 10_000)).collect()
}

fn small(epochs: usize, seed: u64) -> DetectorConfig {
    DetectorConfig {
        hidden_dim: 16,
        heads: 2,
        layers: 2,
        epochs,
        patience: 100,
        batch_size: 1,
        seed,
        validation_fraction: 0.25,
        ..DetectorConfig::default()
    }
}

fn data() -> InMemory {
    InMemory {
        sequences: vec![fixture_windows()],
        names: vec!["t1003".into()],
    }
}

#[test]
fn training_lowers_the_loss_on_real_data() {
    let ckpt = train(small(8, 3), &data(), &Device::Cpu, &mut |_| {}).unwrap();
    let h = &ckpt.meta.history;
    assert_eq!(h.len(), 8);
    let first = h.first().unwrap().train_loss;
    let last = h.last().unwrap().train_loss;
    assert!(last < 0.8 * first, "loss went from {first} to {last}");
    assert!(ckpt.meta.thresholds.window > 0.0);
    assert_eq!(ckpt.meta.training.digest.len(), 64);
}

#[test]
fn same_seed_same_model() {
    let a = train(small(2, 11), &data(), &Device::Cpu, &mut |_| {}).unwrap();
    let b = train(small(2, 11), &data(), &Device::Cpu, &mut |_| {}).unwrap();
    let losses = |c: &Checkpoint| {
        c.meta
            .history
            .iter()
            .map(|e| e.train_loss)
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&a), losses(&b));
    assert_eq!(a.meta.thresholds, b.meta.thresholds);
    let c = train(small(2, 12), &data(), &Device::Cpu, &mut |_| {}).unwrap();
    assert_ne!(losses(&a), losses(&c));
    // Same seed, same bytes on disk: a shipped model is reproducible.
    let dir = tempfile::tempdir().unwrap();
    a.save(&dir.path().join("a.ckpt")).unwrap();
    b.save(&dir.path().join("b.ckpt")).unwrap();
    let bytes = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    assert!(bytes("a.ckpt") == bytes("b.ckpt"), "checkpoints differ");
}

#[test]
fn save_load_round_trip_reproduces_scores_exactly() {
    let windows = fixture_windows();
    let ckpt = train(small(2, 5), &data(), &Device::Cpu, &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("models/detector.ckpt");
    ckpt.save(&path).unwrap();
    let loaded = Checkpoint::load(&path, &Device::Cpu).unwrap();
    let mut expected = ckpt.meta.clone();
    for e in &mut expected.history {
        e.seconds = 0.0; // wall time is not saved
    }
    assert_eq!(loaded.meta, expected);
    let mut a = Detector::new(ckpt, Device::Cpu);
    let mut b = Detector::new(loaded, Device::Cpu);
    for w in &windows {
        let sa = a.score(w).unwrap();
        let sb = b.score(w).unwrap();
        assert_eq!(sa, sb, "window {}", w.window_id);
    }
}

#[test]
fn a_checkpoint_for_other_features_is_refused_by_name() {
    let mut ckpt = train(small(1, 5), &data(), &Device::Cpu, &mut |_| {}).unwrap();
    ckpt.meta.feature_schema = "cd-features-v0".into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.ckpt");
    ckpt.save(&path).unwrap();
    let err = Checkpoint::load(&path, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cd-features-v0") && err.contains("retrain"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_checkpoint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.ckpt");
    std::fs::write(&path, b"not a model").unwrap();
    let err = Checkpoint::load(&path, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a CausalDefend detector checkpoint"),
        "{err}"
    );
    let missing = Checkpoint::load(&dir.path().join("none.ckpt"), &Device::Cpu).unwrap_err();
    assert!(missing.to_string().contains("none.ckpt"), "{missing}");
}

#[test]
fn gpus_without_cuda_is_a_clear_error() {
    if cfg!(feature = "cuda") {
        return;
    }
    let err = causaldefend_detect::device(1).unwrap_err().to_string();
    assert!(err.contains("--features cuda"), "{err}");
    assert!(causaldefend_detect::device(0).is_ok());
}
