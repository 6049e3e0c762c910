//! Runs the shipped ATT&CK rules over a log (any format the ingest stage
//! reads, detected per file) and prints, per rule, how many events matched
//! and the first of them.
//!
//! ```text
//! cargo run -p causaldefend-explain --example attack_rules_scan -- crates/ingest/testdata/sysmon/sysmon-otrf-lsass-comsvcs.jsonl.gz
//! ```

use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;

use causaldefend_explain::attack::{AttackTable, RuleSet};
use ingest::{EventStream, IngestSettings, InputFormat};

fn main() -> Result<(), Box<dyn Error>> {
    let table = AttackTable::embedded()?;
    let rules = RuleSet::embedded(&table)?;
    for path in std::env::args().skip(1).map(PathBuf::from) {
        let mut hits: BTreeMap<String, (u64, String)> = BTreeMap::new();
        let (mut events, mut errors) = (0u64, 0u64);
        for ev in EventStream::open(&path, InputFormat::Auto, IngestSettings::default())? {
            let Ok(ev) = ev else {
                errors += 1;
                continue;
            };
            events += 1;
            for r in rules.matches(&ev) {
                let e = hits
                    .entry(format!("{} {}", r.technique, r.id))
                    .or_insert_with(|| {
                        let name = |x: &event::Entity| {
                            x.cmdline
                                .as_deref()
                                .or(x.name.as_deref())
                                .unwrap_or("?")
                                .to_owned()
                        };
                        (
                            0,
                            format!(
                                "{} [{}] {} -> {}",
                                ev.kind,
                                ev.native_type,
                                name(&ev.subject),
                                name(&ev.object)
                            ),
                        )
                    });
                e.0 += 1;
            }
        }
        println!("{}: {events} events, {errors} errors", path.display());
        for (rule, (n, first)) in &hits {
            let first: String = first.chars().take(220).collect();
            println!("  {n:>6}  {rule}\n          first: {first}");
        }
    }
    Ok(())
}
