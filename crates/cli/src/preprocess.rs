//! `causaldefend preprocess`.

use std::io::Write;

use anyhow::Context;
use graph::GraphWriter;

use crate::args::PreprocessArgs;
use crate::pipeline;
use crate::report;

/// Exit code when the run finished but skipped records.
pub const EXIT_SKIPPED: u8 = 3;

/// Runs `preprocess`; returns the process exit code.
pub fn run(args: &PreprocessArgs, quiet: bool) -> anyhow::Result<u8> {
    let mut resolved = pipeline::resolve(&args.input)?;
    if let Some(s) = args.window_secs {
        resolved.windowing.window_secs = Some(s);
        resolved.windowing.window_events = None;
    }
    if let Some(n) = args.window_events {
        resolved.windowing.window_secs = None;
        resolved.windowing.window_events = Some(n);
    }
    let windowing = resolved.windowing.clone();
    let format = resolved.format;
    let mut writer = GraphWriter::create(&args.output)
        .with_context(|| format!("creating output folder {}", args.output.display()))?;
    let pb = pipeline::progress(quiet);
    tracing::info!(message = "Preprocessing.", input = %args.input.input.display(), format = %format, output = %args.output.display());
    let stats = pipeline::run(&args.input, resolved, &pb, true, |w| {
        writer
            .write_window(w)
            .with_context(|| format!("writing window {}", w.id))
    })?;
    let manifest = writer
        .finish(
            vec![args.input.input.display().to_string()],
            format.as_str(),
            windowing,
            stats.summary.clone(),
        )
        .context("finishing the output folder")?;
    let summary = &manifest.summary;
    if args.json {
        let v = report::summary_json(
            summary,
            serde_json::json!({"output": args.output.display().to_string(), "elapsed_secs": stats.elapsed.as_secs_f64()}),
        );
        let mut out = std::io::stdout().lock();
        writeln!(out, "{v}")?;
    } else if !quiet {
        eprintln!("{}", report::summary_table(summary, "preprocess"));
        eprintln!(
            "wrote {} in {:.2} s",
            args.output.display(),
            stats.elapsed.as_secs_f64()
        );
    }
    if summary.events == 0 {
        tracing::warn!(message = "No events were produced from the input.", input = %args.input.input.display());
    }
    Ok(if summary.skipped() > 0 {
        EXIT_SKIPPED
    } else {
        0
    })
}
