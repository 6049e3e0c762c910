//! The `causaldefend` binary: parses arguments, sets up logging, and calls
//! the subcommand. Logic lives in the stage crates; this crate only wires them.

mod args;
mod audit;
mod bench;
mod ci_tester_cmd;
mod compliance_cmd;
mod config;
mod conformal_cmd;
mod data;
mod detect_cmd;
mod evaluate;
mod evaluate_conformal;
mod evaluate_explain;
mod evaluate_supplied;
mod evaluate_windows;
mod explain_cmd;
mod inspect;
mod model_card_cmd;
mod pipeline;
mod preprocess;
mod report;
mod train_cmd;

use std::process::ExitCode;

use clap::Parser;

use args::{BenchWhat, Cli, Command, LogFormat};

fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (q, _) if q > 0 => "warn",
        (_, 0) => "info",
        (_, 1) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAUSALDEFEND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let no_color = std::env::var_os("NO_COLOR").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!no_color);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// candle sizes its spinning worker pool by the machine's physical cores and
/// ignores the CPU set the process may run on (taskset, container quotas):
/// on one allowed core, two spinning workers made scoring three times slower
/// (docs/BENCHMARKS.md). Size it by what this process may use, unless the
/// user chose (`CANDLE_NUM_THREADS` or `RAYON_NUM_THREADS`).
fn size_compute_threads() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_some()
        || std::env::var_os("RAYON_NUM_THREADS").is_some()
    {
        return;
    }
    if let Ok(n) = std::thread::available_parallelism() {
        // Single-threaded here: no other thread reads the environment yet.
        std::env::set_var("CANDLE_NUM_THREADS", n.get().to_string());
    }
}

/// The audit log of this run; commands that decide cannot run without it.
fn open_audit(cli: &Cli) -> anyhow::Result<audit::Auditor> {
    audit::Auditor::open(
        &cli.audit_dir,
        audit::Actor::current(cli.user.as_deref(), cli.session.as_deref()),
    )
}

fn main() -> ExitCode {
    size_compute_threads();
    let cli = Cli::parse();
    init_logging(&cli);
    let quiet = cli.quiet > 0;
    let result = match &cli.command {
        Command::Preprocess(a) => preprocess::run(a, quiet),
        Command::Inspect(a) => inspect::run(a),
        Command::Export(a) => inspect::export(a),
        Command::Bench(b) => match &b.what {
            BenchWhat::Ingest(a) => bench::ingest(a, quiet),
            BenchWhat::Detect(a) => bench::detect(a),
        },
        Command::TrainDetector(a) => {
            open_audit(&cli).and_then(|mut au| train_cmd::run(a, quiet, &mut au))
        }
        Command::Calibrate(a) => open_audit(&cli).and_then(|mut au| conformal_cmd::run(a, &mut au)),
        Command::Detect(a) => open_audit(&cli).and_then(|mut au| detect_cmd::run(a, &mut au)),
        Command::Explain(a) => open_audit(&cli).and_then(|mut au| explain_cmd::run(a, &mut au)),
        Command::TrainCiTester(a) => ci_tester_cmd::run(a, quiet),
        Command::ModelCard(a) => model_card_cmd::run(a),
        Command::Review(a) => {
            open_audit(&cli).and_then(|mut au| compliance_cmd::review(a, &mut au))
        }
        Command::Anchor(a) => compliance_cmd::anchor(a, &cli.audit_dir),
        Command::VerifyCompliance(a) => compliance_cmd::verify(a),
        Command::AuditRetention(a) => {
            open_audit(&cli).and_then(|mut au| compliance_cmd::retention(a, &mut au))
        }
        Command::UpdateAttack(a) => explain_cmd::update_attack(a),
        Command::Evaluate(a) => evaluate::run(a, quiet),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
