//! `causaldefend bench ingest`: throughput and peak memory of the ingest stage.
//!
//! Measures the whole path a user runs (decompression, parsing, windowing)
//! minus the Arrow writing, so figures compare across formats. Peak RSS is
//! the kernel's `VmHWM` for this process.

use std::io::Write;

use crate::args::BenchIngestArgs;
use crate::pipeline;

/// Peak resident set size in bytes, from `/proc/self/status` (Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    use std::io::BufRead;
    let file = std::fs::File::open("/proc/self/status").ok()?;
    let line = std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

fn input_bytes(path: &std::path::Path) -> anyhow::Result<(u64, u64)> {
    let mut compressed = 0u64;
    let mut raw = 0u64;
    for f in ingest::list_files(path)? {
        compressed = compressed.saturating_add(std::fs::metadata(&f)?.len());
        let file = ingest::InputFile::probe(&f)?;
        let mut r = file.open()?;
        raw = raw.saturating_add(std::io::copy(&mut r, &mut std::io::sink())?);
    }
    Ok((compressed, raw))
}

/// Runs `bench ingest`.
#[allow(clippy::cast_precision_loss)]
pub fn ingest(args: &BenchIngestArgs, quiet: bool) -> anyhow::Result<u8> {
    let (file_bytes, raw_bytes) = input_bytes(&args.input.input)?;
    let resolved = pipeline::resolve(&args.input)?;
    let format = resolved.format;
    let pb = pipeline::progress(quiet);
    let stats = pipeline::run(&args.input, resolved, &pb, !args.parse_only, |_| Ok(()))?;
    let secs = stats.elapsed.as_secs_f64().max(1e-9);
    let events = stats.summary.events;
    let v = serde_json::json!({
        "input": args.input.input.display().to_string(),
        "format": format.as_str(),
        "parse_only": args.parse_only,
        "events": events,
        "skipped": stats.summary.skipped(),
        "file_bytes": file_bytes,
        "decompressed_bytes": raw_bytes,
        "elapsed_secs": secs,
        "events_per_sec": events as f64 / secs,
        "decompressed_mb_per_sec": raw_bytes as f64 / 1e6 / secs,
        "peak_rss_bytes": peak_rss_bytes(),
    });
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "{}: {} events in {:.2} s = {:.0} events/s, {:.1} MB/s (decompressed {} bytes), peak RSS {} MiB",
            format,
            events,
            secs,
            events as f64 / secs,
            raw_bytes as f64 / 1e6 / secs,
            raw_bytes,
            peak_rss_bytes().map_or_else(|| "?".to_owned(), |b| (b / (1024 * 1024)).to_string())
        )?;
    }
    Ok(0)
}
