//! The ingest pipeline shared by `preprocess` and `bench ingest`: files to
//! events to windows, counting and logging (rate-limited) every skipped record.

use std::time::{Duration, Instant};

use anyhow::Context;
use graph::{GraphWindow, SummaryBuilder, WindowBuilder, WindowSettings};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ingest::{EventStream, IngestSettings, InputFormat};

use crate::args::InputArgs;
use crate::config::IngestConfig;

/// The first this-many skipped records are logged in full; after that one in
/// [`LOG_EVERY_AFTER`], so a hostile log cannot flood stderr.
const LOG_FIRST_ERRORS: u64 = 20;
const LOG_EVERY_AFTER: u64 = 10_000;

/// What the pipeline produced.
pub struct RunStats {
    /// The summary (events, entities, edges, windows, skipped).
    pub summary: graph::Summary,
    /// Wall time.
    pub elapsed: Duration,
}

/// Settings resolved from config, environment and flags.
pub struct Resolved {
    /// Parser settings.
    pub ingest: IngestSettings,
    /// Window settings.
    pub windowing: WindowSettings,
    /// Format.
    pub format: InputFormat,
}

/// Resolves the layered configuration for an input.
pub fn resolve(args: &InputArgs) -> anyhow::Result<Resolved> {
    let mut cfg = IngestConfig::load(args.config.as_deref())?;
    if let Some(h) = &args.host {
        cfg.ingest.host = Some(h.as_str().into());
    }
    Ok(Resolved {
        ingest: cfg.ingest,
        windowing: cfg.windowing,
        format: args.format.into(),
    })
}

/// A progress spinner on stderr, hidden when quiet or when stderr is no terminal.
pub fn progress(quiet: bool) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr_with_hz(4)
    };
    let pb = ProgressBar::with_draw_target(None, target);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {human_pos} events ({per_sec}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb
}

/// Runs the pipeline over `args.input`, handing each closed window to `sink`.
///
/// With `strict`, the first skipped record is an error. `windows` false skips
/// window building (parse-only benchmarks).
pub fn run(
    args: &InputArgs,
    resolved: Resolved,
    pb: &ProgressBar,
    windows: bool,
    mut sink: impl FnMut(&GraphWindow) -> anyhow::Result<()>,
) -> anyhow::Result<RunStats> {
    let started = Instant::now();
    let mut stream = EventStream::open(&args.input, resolved.format, resolved.ingest)
        .with_context(|| format!("opening input {}", args.input.display()))?;
    let mut builder = WindowBuilder::new(resolved.windowing);
    let mut summary = SummaryBuilder::default();
    let mut skipped = 0u64;
    let mut parsed = 0u64;
    for item in stream.by_ref() {
        match item {
            Ok(event) => {
                parsed = parsed.saturating_add(1);
                if parsed.is_multiple_of(4096) {
                    pb.set_position(parsed);
                }
                if windows {
                    for w in builder.push(event) {
                        summary.add_window(&w);
                        sink(&w)?;
                    }
                }
            }
            Err(error) => {
                if args.strict {
                    return Err(anyhow::Error::new(error)
                        .context("malformed input (--strict stops at the first)"));
                }
                skipped = skipped.saturating_add(1);
                summary.add_skipped(error.kind());
                if skipped <= LOG_FIRST_ERRORS || skipped.is_multiple_of(LOG_EVERY_AFTER) {
                    tracing::warn!(message = "Skipped record.", error = %error, reason = error.kind(), skipped_so_far = skipped);
                }
                if skipped == LOG_FIRST_ERRORS {
                    tracing::warn!(message = "Further skipped records are logged once every 10000; the summary counts all.");
                }
            }
        }
    }
    if windows {
        for w in builder.finish() {
            summary.add_window(&w);
            sink(&w)?;
        }
    }
    summary.set_totals(
        stream.files_opened(),
        builder.late_events(),
        builder.grace_events(),
    );
    let mut s = summary.summary();
    if !windows {
        s.events = parsed;
    }
    pb.finish_and_clear();
    Ok(RunStats {
        summary: s,
        elapsed: started.elapsed(),
    })
}
