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

/// A synthetic window of `nodes` entities and `edges` random edges, seeded:
/// 30 % processes, 60 % files, 10 % sockets, with realistic-looking names.
fn synthetic_window(nodes: usize, edges: usize) -> graph::GraphWindow {
    use event::{EdgeKind, Entity, EntityKind, NativeId, Timestamp};
    use std::sync::Arc;
    let mut rng = detect::params::SeededRng::new(42);
    let mut list: Vec<Arc<Entity>> = (0..nodes)
        .map(|i| {
            let e = match i % 10 {
                0..=2 => Entity::new(
                    EntityKind::Process,
                    NativeId::AuditdProcess {
                        pid: i as u32,
                        start: Timestamp::from_nanos(0),
                    },
                    None,
                )
                .with_name(format!("/usr/bin/tool{}", i % 37))
                .with_cmdline(format!("tool{} --arg {}", i % 37, i % 11)),
                3..=8 => Entity::named(
                    EntityKind::File,
                    &format!("/var/lib/app/{}/f{i}", i % 53),
                    None,
                ),
                _ => Entity::named(
                    EntityKind::Socket,
                    &format!("10.0.{}.{}:443", i % 7, i % 251),
                    None,
                ),
            };
            Arc::new(e)
        })
        .collect();
    list.sort_by_key(|e| e.id);
    let kinds = [
        EdgeKind::Read,
        EdgeKind::Write,
        EdgeKind::Exec,
        EdgeKind::Connect,
        EdgeKind::Fork,
    ];
    let edges = (0..edges)
        .map(|i| {
            let s = rng.below(nodes);
            let d = rng.below(nodes);
            graph::EdgeRow {
                ts: Timestamp::from_nanos((i as i64) * 1000),
                kind: kinds[rng.below(kinds.len())],
                src: list[s].id,
                dst: list[d].id,
                native_type: Arc::from("synthetic"),
                seq: i as u64,
            }
        })
        .collect();
    graph::GraphWindow {
        id: 0,
        start: Timestamp::from_nanos(0),
        end: Timestamp::from_nanos(10_000_000_000),
        nodes: list,
        edges,
    }
}

/// Runs `bench detect`.
#[allow(clippy::cast_precision_loss)]
pub fn detect(args: &crate::args::BenchDetectArgs) -> anyhow::Result<u8> {
    use std::time::Instant;
    let device = detect::device(0)?;
    let ckpt = match &args.model {
        Some(p) => detect::Checkpoint::load(p, &device)?,
        None => detect::Checkpoint {
            model: detect::model::Model::new(detect::DetectorConfig::default(), &device)?,
            meta: detect::CheckpointMeta::new(detect::DetectorConfig::default()),
        },
    };
    let cfg = ckpt.model.config.clone();
    let window = synthetic_window(args.nodes.max(1), args.edges);
    let t = Instant::now();
    let prepared = detect::prepare(&window, cfg.max_edges_per_window.max(args.edges));
    let prepare_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut detector = detect::Detector::new(ckpt.clone(), device.clone());
    detector.score(&prepared)?; // warm-up
    let mut times = Vec::with_capacity(args.repeats);
    for _ in 0..args.repeats.max(1) {
        detector.reset();
        let t = Instant::now();
        detector.score(&prepared)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p95 = times[((times.len() - 1) as f64 * 0.95).round() as usize];
    let mut v = serde_json::json!({
        "nodes": prepared.len(),
        "merged_edges": prepared.edges.len(),
        "hidden_dim": cfg.hidden_dim,
        "heads": cfg.heads,
        "layers": cfg.layers,
        "prepare_ms": prepare_ms,
        "score_ms_median": median,
        "score_ms_p95": p95,
        "repeats": times.len(),
    });
    if let Some(input) = &args.input {
        let reader = crate::data::WindowReader::for_model(args.format.into(), None, &cfg)?;
        let t = Instant::now();
        let mut events = 0u64;
        let mut windows = 0u64;
        let mut det = detect::Detector::new(ckpt, device);
        for seq in crate::data::discover(std::slice::from_ref(input))? {
            det.reset();
            for w in reader.windows(&seq)? {
                let p = detect::prepare(&w, cfg.max_edges_per_window);
                det.score(&p)?;
                events += p.events as u64;
                windows += 1;
            }
        }
        let secs = t.elapsed().as_secs_f64().max(1e-9);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("input".into(), input.display().to_string().into());
            obj.insert("e2e_events".into(), events.into());
            obj.insert("e2e_windows".into(), windows.into());
            obj.insert("e2e_secs".into(), secs.into());
            obj.insert("e2e_events_per_sec".into(), (events as f64 / secs).into());
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert("peak_rss_bytes".into(), peak_rss_bytes().into());
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    }
    Ok(0)
}
