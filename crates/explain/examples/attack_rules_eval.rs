//! Measures the ATT&CK rules on the shared auditd recordings: for each
//! `attack_*` recording, whether the technique in its folder name is among
//! those matched on events of malicious processes (by pid, from
//! `truth.json`), and, for every recording, how many rule matches fire on
//! events that involve no malicious process (false matches).
//!
//! ```text
//! cargo run -p causaldefend-explain --example attack_rules_eval -- /work/shared/data/auditd [--rules extra.yaml] [--only-file]
//! ```
//! `--rules` merges a rule file over the shipped rules; with `--only-file`
//! it replaces them (to try edits without rebuilding).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::error::Error;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use causaldefend_explain::attack::{AttackTable, RuleSet};
use event::{EntityKind, Event};
use ingest::{auditd, IngestSettings, InputFile};

/// truth.json is a few KB; anything bigger is not ours.
const MAX_TRUTH_BYTES: u64 = 16 * 1024 * 1024;

struct Outcome {
    name: String,
    technique: Option<String>,
    events: u64,
    malicious_techniques: BTreeSet<String>,
    malicious_rules: BTreeSet<String>,
    false_by_rule: BTreeMap<String, u64>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(
        args.next()
            .ok_or("usage: attack_rules_eval <auditd dir> [--rules FILE] [--only-file]")?,
    );
    let mut extra = None;
    let mut only_file = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rules" => extra = Some(PathBuf::from(args.next().ok_or("--rules needs a file")?)),
            "--only-file" => only_file = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let table = AttackTable::embedded()?;
    let rules = match (&extra, only_file) {
        (Some(p), true) => RuleSet::load(p, &table)?,
        (Some(p), false) => {
            let mut r = RuleSet::embedded(&table)?;
            r.merge(RuleSet::load(p, &table)?);
            r
        }
        (None, _) => RuleSet::embedded(&table)?,
    };
    println!("{} rules, ATT&CK {}", rules.len(), table.version());

    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("audit.log.gz").is_file())
        .collect();
    dirs.sort();
    let mut match_time = Duration::ZERO;
    let mut total_events = 0u64;
    let mut outcomes = Vec::new();
    for dir in &dirs {
        let (o, t) = evaluate(dir, &rules)?;
        match_time += t;
        total_events += o.events;
        outcomes.push(o);
    }
    report(&outcomes);
    println!(
        "matching: {total_events} events in {:.3} s = {:.0} events/s (this build's profile)",
        match_time.as_secs_f64(),
        total_events as f64 / match_time.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn evaluate(dir: &Path, rules: &RuleSet) -> Result<(Outcome, Duration), Box<dyn Error>> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // attack_T1003.008-1_s206 -> T1003.008
    let technique = name
        .strip_prefix("attack_")
        .and_then(|r| r.split('-').next())
        .map(str::to_owned);
    let truth: serde_json::Value = serde_json::from_reader(
        std::fs::File::open(dir.join("truth.json"))?.take(MAX_TRUTH_BYTES),
    )?;
    let malicious: HashSet<u32> = truth["malicious_pids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64())
                .filter_map(|v| u32::try_from(v).ok())
                .collect()
        })
        .unwrap_or_default();
    let file = InputFile::probe(&dir.join("audit.log.gz"))?;
    let mut out = Outcome {
        name,
        technique,
        events: 0,
        malicious_techniques: BTreeSet::new(),
        malicious_rules: BTreeSet::new(),
        false_by_rule: BTreeMap::new(),
    };
    let mut spent = Duration::ZERO;
    for ev in auditd::open(&file, &IngestSettings::default())? {
        let Ok(ev) = ev else { continue };
        out.events += 1;
        let started = Instant::now();
        let matched: Vec<_> = rules.matches(&ev).collect();
        spent += started.elapsed();
        if matched.is_empty() {
            continue;
        }
        let bad = involves(&ev, &malicious);
        for r in matched {
            if bad {
                out.malicious_techniques.insert(r.technique.clone());
                out.malicious_rules.insert(r.id.clone());
            } else {
                *out.false_by_rule.entry(r.id.clone()).or_default() += 1;
            }
        }
    }
    Ok((out, spent))
}

/// True when the subject, or a process object, is one of the malicious pids.
fn involves(ev: &Event, malicious: &HashSet<u32>) -> bool {
    let is_bad = |pid: Option<u32>| pid.is_some_and(|p| malicious.contains(&p));
    is_bad(ev.subject.pid) || (ev.object.kind == EntityKind::Process && is_bad(ev.object.pid))
}

fn report(outcomes: &[Outcome]) {
    let mut hits = 0;
    let mut attacks = 0;
    let (mut false_attack, mut false_benign) = (0u64, 0u64);
    let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
    for o in outcomes {
        let falses: u64 = o.false_by_rule.values().sum();
        let detail: Vec<String> = o
            .false_by_rule
            .iter()
            .map(|(r, n)| format!("{r}={n}"))
            .collect();
        for (r, n) in &o.false_by_rule {
            *by_rule.entry(r).or_default() += n;
        }
        match &o.technique {
            Some(t) => {
                attacks += 1;
                false_attack += falses;
                let hit = o.malicious_techniques.contains(t);
                hits += usize::from(hit);
                println!(
                    "{:<28} {:<10} {:<4} matched on malicious: [{}]  false: {} {}",
                    o.name,
                    t,
                    if hit { "HIT" } else { "miss" },
                    o.malicious_techniques
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" "),
                    falses,
                    detail.join(" ")
                );
                println!(
                    "{:<28} rules: {}",
                    "",
                    o.malicious_rules
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            None => {
                false_benign += falses;
                println!(
                    "{:<28} {:<10} {:<4} events: {}  false: {} {}",
                    o.name,
                    "-",
                    "",
                    o.events,
                    falses,
                    detail.join(" ")
                );
                println!(
                    "{:<28} rules: {}",
                    "",
                    o.malicious_rules
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
        }
    }
    println!("technique hit rate: {hits}/{attacks}");
    println!("false matches: {false_attack} on benign events of attack recordings, {false_benign} in benign recordings");
    println!("false matches by rule: {by_rule:?}");
}
