//! `causaldefend train-ci-tester`: trains the neural CI tester and measures
//! it against Fisher-z and the G-test on held-out known structures.

use std::path::Path;

use anyhow::Context;
use explain::causal::neural::{compare_ci_tests, held_out_cases, train_ci_tester, NeuralCiConfig};
use explain::causal::{CiTest, FisherZ, GTest};
use explain::ProvGraph;

use crate::args::TrainCiTesterArgs;
use crate::data::{discover, WindowReader};

/// Activity series of the busiest entities of each sequence under `paths`.
fn series_of(
    paths: &[std::path::PathBuf],
    reader: &WindowReader,
    top: usize,
    bin_secs: f64,
) -> anyhow::Result<Vec<Vec<Vec<f64>>>> {
    let mut out = Vec::new();
    for seq in discover(paths)? {
        if seq
            .truth
            .as_ref()
            .is_some_and(ingest::labels::AuditdTruth::is_attack)
        {
            tracing::info!(input = %seq.name, "attack recording left out of CI-tester training");
            continue;
        }
        let windows = reader.windows(&seq)?;
        let g = ProvGraph::from_windows(windows.iter());
        let s = explain::activity::entity_series(&g, top, bin_secs);
        tracing::debug!(input = %seq.name, series = s.len(), "activity series");
        if !s.is_empty() {
            out.push(s);
        }
    }
    Ok(out)
}

fn load_config(path: Option<&Path>) -> anyhow::Result<NeuralCiConfig> {
    match path {
        None => Ok(NeuralCiConfig::default()),
        Some(p) => {
            let f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
            serde_norway::from_reader(std::io::Read::take(f, 1 << 20))
                .with_context(|| format!("parsing {}", p.display()))
        }
    }
}

/// Runs `train-ci-tester`.
pub fn run(args: &TrainCiTesterArgs, quiet: bool) -> anyhow::Result<u8> {
    let mut cfg = load_config(args.config.as_deref())?;
    if let Some(e) = args.epochs {
        cfg.epochs = e;
    }
    if let Some(b) = args.batch_size {
        cfg.batch_size = b;
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    if let Some(n) = args.train_cases {
        cfg.n_train_cases = n;
    }
    let reader = WindowReader::for_model(
        args.format.into(),
        args.ingest_config.as_deref(),
        &detect::DetectorConfig::default(),
    )?;
    let mut per_seq = series_of(std::slice::from_ref(&args.data), &reader, 64, args.bin_secs)?;
    if per_seq.is_empty() {
        anyhow::bail!(
            "{}: no benign log with enough activity for provenance training cases",
            args.data.display()
        );
    }
    // Held-out provenance cases come from a sequence training never saw
    // (when there are at least two).
    let held: Vec<Vec<f64>> = if per_seq.len() >= 2 {
        per_seq.pop().unwrap_or_default()
    } else {
        per_seq.first().cloned().unwrap_or_default()
    };
    let train: Vec<Vec<f64>> = per_seq.into_iter().flatten().collect();
    tracing::info!(
        series = train.len(),
        held_out_series = held.len(),
        "training the neural CI tester"
    );
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(cfg.epochs as u64)
    };
    let tester = train_ci_tester(&cfg, &train, |epoch, loss| {
        bar.set_position(epoch as u64);
        bar.set_message(format!("loss {loss:.4}"));
        tracing::info!(epoch, loss, "epoch");
    })?;
    bar.finish_and_clear();
    if let Some(d) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    tester.save(&args.output)?;
    // Type-I error and power on held-out known structures, against the classical tests.
    let cases = held_out_cases(
        cfg.seed.wrapping_add(1_000_003),
        args.eval_cases,
        &cfg.sim,
        &held,
    )?;
    let (fz, gt) = (FisherZ, GTest::new());
    let tests: [&dyn CiTest; 3] = [&tester, &fz, &gt];
    let reports = compare_ci_tests(&tests, &cases, args.alpha)?;
    let mut t = comfy_table::Table::new();
    t.set_header([
        "test",
        "type-I error",
        "power",
        "µs/test",
        "null",
        "dependent",
        "failed",
    ]);
    for r in &reports {
        t.add_row([
            r.name.clone(),
            format!("{:.3}", r.type_i_error),
            format!("{:.3}", r.power),
            format!("{:.1}", r.micros_per_test),
            r.n_null.to_string(),
            r.n_dependent.to_string(),
            r.n_failed.to_string(),
        ]);
    }
    println!(
        "held-out known structures ({} cases, alpha {}):\n{t}",
        cases.len(),
        args.alpha
    );
    let report_path = args.output.with_extension("report.json");
    let report = serde_json::json!({
        "checkpoint": args.output,
        "alpha": args.alpha,
        "cases": cases.len(),
        "reports": reports,
        "feature_schema": tester.meta().feature_schema,
        "config": tester.meta().config,
        "training": tester.meta().training,
    });
    std::fs::write(&report_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", report_path.display()))?;
    eprintln!(
        "tester in {}, comparison in {}",
        args.output.display(),
        report_path.display()
    );
    Ok(0)
}
