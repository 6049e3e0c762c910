//! `causaldefend inspect` and `causaldefend export`.

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::Context;
use graph::{export, GraphReader};

use crate::args::{ExportArgs, ExportTo, InspectArgs};
use crate::report;

/// Runs `inspect`.
pub fn run(args: &InspectArgs) -> anyhow::Result<u8> {
    let manifest = graph::read_manifest(&args.dir)
        .with_context(|| format!("reading preprocessed folder {}", args.dir.display()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut extra = serde_json::json!({"inputs": manifest.inputs, "input_format": manifest.input_format, "format_version": manifest.format_version});
        if args.windows {
            extra["window_index"] = serde_json::to_value(&manifest.windows)?;
        }
        writeln!(out, "{}", report::summary_json(&manifest.summary, extra))?;
    } else {
        writeln!(
            out,
            "{}",
            report::summary_table(&manifest.summary, &args.dir.display().to_string())
        )?;
        writeln!(
            out,
            "inputs: {} (format {})",
            manifest.inputs.join(", "),
            manifest.input_format
        )?;
        if args.windows {
            for w in &manifest.windows {
                writeln!(
                    out,
                    "window {:>5}  {} .. {}  events {:>8}  nodes {:>7}",
                    w.id, w.start, w.end, w.events, w.nodes
                )?;
            }
        }
    }
    Ok(0)
}

/// Runs `export`.
pub fn export(args: &ExportArgs) -> anyhow::Result<u8> {
    let mut reader = GraphReader::open(&args.dir)
        .with_context(|| format!("opening preprocessed folder {}", args.dir.display()))?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    if matches!(args.to, ExportTo::Graphml) {
        export::write_graphml_header(&mut out)?;
    }
    for w in reader.windows() {
        let w = w?;
        match args.to {
            ExportTo::Streamspot => export::write_streamspot(&w, &mut out)?,
            ExportTo::Graphml => export::write_graphml_window(&w, &mut out)?,
            ExportTo::Jsonl => export::write_jsonl(&w, &mut out)?,
        }
    }
    if matches!(args.to, ExportTo::Graphml) {
        export::write_graphml_footer(&mut out)?;
    }
    out.flush()?;
    Ok(0)
}
