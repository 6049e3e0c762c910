//! ATT&CK knowledge: the embedded technique table, the STIX bundle
//! conversion (the update path), rule-file validation, and the shipped rules
//! on a real auditd recording.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use causaldefend_explain::attack::{AttackTable, RuleSet, TACTIC_ORDER};
use causaldefend_explain::Error;
use event::EntityKind;
use ingest::{auditd, IngestSettings, InputFile};

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn table() -> AttackTable {
    AttackTable::embedded().unwrap()
}

// ------------------------------------------------------------ the table

#[test]
fn embedded_table_holds_attack_18_1_with_691_active_techniques() {
    let t = table();
    assert_eq!(t.version(), "18.1");
    assert_eq!(t.active_count(), 691);
    assert_eq!(t.len(), 835);
    let active_subs = t
        .iter()
        .filter(|x| x.is_active() && x.is_subtechnique)
        .count();
    assert_eq!(active_subs, 475);
}

#[test]
fn t1003_008_is_the_shadow_file_technique_of_credential_access() {
    let t = table();
    let x = t.active("T1003.008").unwrap();
    assert_eq!(x.name, "/etc/passwd and /etc/shadow");
    assert_eq!(x.tactics, ["credential-access"]);
    assert_eq!(x.platforms, ["Linux"]);
    assert!(x.is_subtechnique);
    assert_eq!(x.url, "https://attack.mitre.org/techniques/T1003/008");
    assert_eq!(x.parent_id(), "T1003");
    assert_eq!(x.first_tactic_rank(), Some(7));
}

#[test]
fn revoked_techniques_resolve_but_are_not_active() {
    let t = table();
    let old = t.get("T1002").unwrap();
    assert!(old.revoked);
    assert!(t.active("T1002").is_none());
    assert!(t.get("T9999").is_none());
}

#[test]
fn tactic_rank_follows_the_enterprise_kill_chain() {
    assert_eq!(TACTIC_ORDER.len(), 14);
    for (i, tactic) in TACTIC_ORDER.iter().enumerate() {
        assert_eq!(
            AttackTable::tactic_rank(tactic),
            Some(u8::try_from(i).unwrap())
        );
    }
    assert!(AttackTable::tactic_rank("execution") < AttackTable::tactic_rank("persistence"));
    assert!(AttackTable::tactic_rank("exfiltration") < AttackTable::tactic_rank("impact"));
    assert_eq!(AttackTable::tactic_rank("nonsense"), None);
    // Every tactic used by an active technique has a rank.
    for x in table().iter().filter(|x| x.is_active()) {
        for tactic in &x.tactics {
            assert!(
                AttackTable::tactic_rank(tactic).is_some(),
                "{} has {tactic}",
                x.id
            );
        }
    }
}

// ------------------------------------------------------ STIX conversion

/// A small bundle in the layout of MITRE's `enterprise-attack-<v>.json`:
/// a collection, an identity, a relationship, a malware, an active
/// sub-technique whose ATT&CK reference is not the first, an active
/// technique, a revoked and a deprecated one.
const BUNDLE: &str = r#"{
  "type": "bundle",
  "id": "bundle--0",
  "objects": [
    {"type": "x-mitre-collection", "id": "x-mitre-collection--1", "name": "Enterprise ATT&CK", "x_mitre_version": "99.1"},
    {"type": "identity", "id": "identity--c78cb6e5", "name": "The MITRE Corporation"},
    {"type": "attack-pattern", "id": "attack-pattern--aaa", "name": "/etc/passwd and /etc/shadow",
     "external_references": [
       {"source_name": "capec", "external_id": "CAPEC-1"},
       {"source_name": "mitre-attack", "external_id": "T1003.008", "url": "https://attack.mitre.org/techniques/T1003/008"}],
     "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "credential-access"}],
     "x_mitre_platforms": ["Linux"], "x_mitre_is_subtechnique": true, "revoked": false, "x_mitre_deprecated": false},
    {"type": "relationship", "id": "relationship--1", "relationship_type": "subtechnique-of",
     "source_ref": "attack-pattern--aaa", "target_ref": "attack-pattern--bbb"},
    {"type": "attack-pattern", "id": "attack-pattern--bbb", "name": "OS Credential Dumping",
     "external_references": [{"source_name": "mitre-attack", "external_id": "T1003", "url": "https://attack.mitre.org/techniques/T1003"}],
     "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "credential-access"}],
     "x_mitre_platforms": ["Windows", "Linux", "macOS"]},
    {"type": "malware", "id": "malware--1", "name": "Not a technique",
     "external_references": [{"source_name": "mitre-attack", "external_id": "S0001"}]},
    {"type": "attack-pattern", "id": "attack-pattern--ccc", "name": "Data Compressed", "revoked": true,
     "external_references": [{"source_name": "mitre-attack", "external_id": "T1002"}]},
    {"type": "attack-pattern", "id": "attack-pattern--ddd", "name": "Scripting", "x_mitre_deprecated": true,
     "external_references": [{"source_name": "mitre-attack", "external_id": "T1064"}],
     "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "defense-evasion"},
                           {"kill_chain_name": "mitre-attack", "phase_name": "execution"}]}
  ]
}"#;

#[test]
fn stix_bundle_becomes_a_table_of_its_attack_patterns_only() {
    let t = AttackTable::from_stix_bundle(BUNDLE.as_bytes(), Path::new("bundle.json")).unwrap();
    assert_eq!(t.version(), "99.1");
    let ids: Vec<_> = t.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["T1002", "T1003", "T1003.008", "T1064"]);
    assert_eq!(t.active_count(), 2);

    let sub = t.get("T1003.008").unwrap();
    assert_eq!(sub.name, "/etc/passwd and /etc/shadow");
    assert_eq!(sub.tactics, ["credential-access"]);
    assert_eq!(sub.platforms, ["Linux"]);
    assert_eq!(sub.url, "https://attack.mitre.org/techniques/T1003/008");
    assert!(sub.is_subtechnique && sub.is_active());

    let parent = t.get("T1003").unwrap();
    assert!(
        !parent.is_subtechnique,
        "no x_mitre_is_subtechnique and no dot: a technique"
    );
    assert_eq!(parent.platforms, ["Windows", "Linux", "macOS"]);
    assert!(t.get("T1002").unwrap().revoked);
    let deprecated = t.get("T1064").unwrap();
    assert!(deprecated.deprecated && !deprecated.revoked);
    assert_eq!(deprecated.tactics, ["defense-evasion", "execution"]);
    assert!(t.get("S0001").is_none());
}

#[test]
fn converted_bundle_is_saved_and_loaded_back_gzip_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let bundle_gz = dir.path().join("enterprise-attack-99.1.json.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&bundle_gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(BUNDLE.as_bytes()).unwrap();
    enc.finish().unwrap();

    let t = AttackTable::read_stix_bundle(&bundle_gz).unwrap();
    let saved = dir.path().join("attack-patterns-v99.1.json.gz");
    t.write_table(&saved).unwrap();
    let loaded = AttackTable::load(&saved).unwrap();
    assert_eq!(loaded, t);
    assert_eq!(loaded.version(), "99.1");
    // Our file is gzip: its first bytes are the gzip magic.
    let head = std::fs::read(&saved).unwrap();
    assert_eq!(head.get(..2), Some(&[0x1f, 0x8b][..]));
}

#[test]
fn bundle_errors_name_the_file_the_object_index_and_the_field() {
    let bad = BUNDLE.replace(
        r#""x_mitre_platforms": ["Linux"]"#,
        r#""x_mitre_platforms": "Linux""#,
    );
    let err = AttackTable::from_stix_bundle(bad.as_bytes(), Path::new("enterprise-attack.json"))
        .unwrap_err();
    let Error::BadFile { path, reason } = &err else {
        panic!("{err}")
    };
    assert_eq!(path, Path::new("enterprise-attack.json"));
    assert!(reason.contains("objects[2]"), "{reason}");
    assert!(reason.contains("attack-pattern--aaa"), "{reason}");
    assert!(reason.contains("field `x_mitre_platforms`"), "{reason}");

    let nameless = BUNDLE.replace(r#""name": "OS Credential Dumping","#, "");
    let err = AttackTable::from_stix_bundle(nameless.as_bytes(), Path::new("b.json"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("objects[4]") && err.contains("field `name`: missing"),
        "{err}"
    );

    let err = AttackTable::from_stix_bundle(&b"{\"type\": \"bundle\"}"[..], Path::new("b.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a STIX bundle"), "{err}");
}

// ---------------------------------------------------------------- rules

#[test]
fn every_shipped_rule_names_an_active_technique() {
    let t = table();
    let rules = RuleSet::embedded(&t).unwrap();
    assert!(rules.len() >= 40, "{} rules", rules.len());
    for r in rules.rules() {
        let x = t
            .active(&r.technique)
            .unwrap_or_else(|| panic!("{} -> {}", r.id, r.technique));
        assert!(!x.tactics.is_empty(), "{}", r.id);
        assert!((0.0..=1.0).contains(&r.confidence), "{}", r.id);
    }
}

#[test]
fn shipped_rules_cover_the_required_techniques() {
    let rules = RuleSet::embedded(&table()).unwrap();
    let covered: HashSet<&str> = rules.rules().iter().map(|r| r.technique.as_str()).collect();
    let required = [
        // Linux, as in the shared auditd recordings.
        "T1059.004",
        "T1053.003",
        "T1136.001",
        "T1548.001",
        "T1070.004",
        "T1003.008",
        "T1082",
        "T1083",
        "T1222.002",
        "T1543.002",
        "T1546.004",
        "T1552.001",
        "T1560.001",
        "T1140",
        "T1027",
        "T1105",
        // Windows.
        "T1059.001",
        "T1003.001",
        "T1547.001",
        "T1053.005",
        "T1218.011",
        "T1112",
        "T1070.001",
        "T1087",
    ];
    let missing: Vec<_> = required.iter().filter(|t| !covered.contains(*t)).collect();
    assert!(missing.is_empty(), "no rule for {missing:?}");
}

#[test]
fn the_shipped_file_on_disk_loads_like_the_embedded_copy() {
    let t = table();
    let from_disk = RuleSet::load(&repo_path("config/attack_rules.yaml"), &t).unwrap();
    let embedded = RuleSet::embedded(&t).unwrap();
    let ids = |r: &RuleSet| r.rules().iter().map(|x| x.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&from_disk), ids(&embedded));
}

/// Writes `body` under a `rules:` list to a file and loads it; the error text.
fn load_error(body: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("soc_rules.yaml");
    std::fs::write(&path, format!("rules:\n{body}")).unwrap();
    let err = RuleSet::load(&path, &table()).unwrap_err();
    let Error::BadFile { path: p, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(p, &path);
    err.to_string()
}

const GOOD: &str = "  - id: ok\n    technique: T1082\n    description: fine\n    edge: [exec]\n    subject_name: '/uname$'\n";

#[test]
fn bad_regex_is_reported_with_file_rule_and_field() {
    let err = load_error(&format!(
        "{GOOD}  - id: broken-regex\n    technique: T1082\n    description: d\n    subject_cmdline: 'uname (-a'\n"
    ));
    assert!(err.contains("soc_rules.yaml"), "{err}");
    assert!(
        err.contains("rule `broken-regex` (rules[1]), field `subject_cmdline`: bad regex"),
        "{err}"
    );
}

#[test]
fn unknown_edge_kind_is_reported_with_rule_and_field() {
    let err = load_error(
        "  - id: bad-edge\n    technique: T1082\n    description: d\n    edge: [exec, spawn]\n",
    );
    assert!(
        err.contains("rule `bad-edge` (rules[0]), field `edge`: unknown value `spawn`"),
        "{err}"
    );
}

#[test]
fn unknown_revoked_and_deprecated_techniques_are_rejected() {
    let rule = |t: &str| {
        format!("  - id: r-{t}\n    technique: {t}\n    description: d\n    edge: [exec]\n")
    };
    let err = load_error(&rule("T9999"));
    assert!(
        err.contains(
            "rule `r-T9999` (rules[0]), field `technique`: T9999 is not a technique of ATT&CK 18.1"
        ),
        "{err}"
    );
    let err = load_error(&rule("T1002"));
    assert!(
        err.contains("field `technique`: T1002 (Data Compressed) is revoked"),
        "{err}"
    );
    let err = load_error(&rule("T1064"));
    assert!(
        err.contains("field `technique`: T1064 (Scripting) is deprecated"),
        "{err}"
    );
}

#[test]
fn other_mistakes_name_the_rule_and_the_field() {
    let cases = [
        ("  - id: typo\n    technique: T1082\n    description: d\n    subject_nmae: x\n", "rule `typo` (rules[0]), field `subject_nmae`: unknown field"),
        ("  - id: conf\n    technique: T1082\n    description: d\n    confidence: 1.5\n    edge: exec\n", "field `confidence`: expected a number from 0 to 1"),
        ("  - id: kind\n    technique: T1082\n    description: d\n    object_kind: [proc]\n", "field `object_kind`: unknown value `proc`"),
        ("  - id: fmt\n    technique: T1082\n    description: d\n    format: [evtx]\n", "field `format`: unknown value `evtx`"),
        ("  - id: nodesc\n    technique: T1082\n    edge: [exec]\n", "rule `nodesc` (rules[0]), field `description`: missing"),
        ("  - technique: T1082\n    description: d\n    edge: [exec]\n", "rule `#0` (rules[0]), field `id`"),
        ("  - id: empty\n    technique: T1082\n    description: d\n    edge: []\n", "field `edge`: empty list"),
    ];
    for (body, want) in cases {
        let err = load_error(body);
        assert!(err.contains(want), "{want:?} not in {err:?}");
    }
    let err = load_error(&format!("{GOOD}{GOOD}"));
    assert!(
        err.contains("rule `ok` (rules[1]), field `id`: used by an earlier rule"),
        "{err}"
    );
}

#[test]
fn a_soc_file_merges_over_the_shipped_rules() {
    let t = table();
    let mut rules = RuleSet::embedded(&t).unwrap();
    let before = rules.len();
    let dir = tempfile::tempdir().unwrap();
    let soc = dir.path().join("soc.yaml");
    std::fs::write(
        &soc,
        "rules:\n  - id: lnx-shadow-read\n    technique: T1003.008\n    description: only cat\n    edge: [read]\n    subject_name: '/cat$'\n    object_name: '^/etc/shadow$'\n\
         \x20 - id: soc-own\n    technique: T1057\n    description: ps\n    edge: [exec]\n    subject_name: '/ps$'\n",
    )
    .unwrap();
    rules.merge(RuleSet::load(&soc, &t).unwrap());
    assert_eq!(rules.len(), before + 1);
    assert_eq!(
        rules.get("lnx-shadow-read").unwrap().description,
        "only cat"
    );
    assert_eq!(rules.rules().last().unwrap().id, "soc-own");
}

// ------------------------------------------------- real auditd recording

/// The malicious pids of a recording's `truth.json`.
fn malicious_pids(truth: &Path) -> HashSet<u32> {
    let file = std::fs::File::open(truth).unwrap();
    let v: serde_json::Value = serde_json::from_reader(std::io::BufReader::new(file)).unwrap();
    v["malicious_pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| u32::try_from(p.as_u64().unwrap()).unwrap())
        .collect()
}

#[test]
fn rules_find_t1003_008_on_a_malicious_process_of_the_real_recording() {
    let dir = repo_path("data/auditd/attack_T1003.008-1_s206");
    let bad = malicious_pids(&dir.join("truth.json"));
    assert_eq!(bad.len(), 3);
    let rules = RuleSet::embedded(&table()).unwrap();
    let file = InputFile::probe(&dir.join("audit.log.gz")).unwrap();
    let (mut on_malicious, mut on_benign, mut events) = (Vec::new(), Vec::new(), 0);
    for ev in auditd::open(&file, &IngestSettings::default()).unwrap() {
        let ev = ev.unwrap();
        events += 1;
        let is_bad = ev.subject.pid.is_some_and(|p| bad.contains(&p))
            || (ev.object.kind == EntityKind::Process
                && ev.object.pid.is_some_and(|p| bad.contains(&p)));
        for r in rules.matches(&ev).filter(|r| r.technique == "T1003.008") {
            let what = (
                r.id.clone(),
                ev.subject.pid,
                ev.object.name.as_deref().map(str::to_owned),
            );
            if is_bad {
                on_malicious.push(what)
            } else {
                on_benign.push(what)
            }
        }
    }
    assert!(events > 10_000, "{events} events");
    assert!(
        on_malicious
            .iter()
            .any(|(id, _, object)| id == "lnx-shadow-read"
                && object.as_deref() == Some("/etc/shadow")),
        "{on_malicious:?}"
    );
    assert!(
        on_benign.is_empty(),
        "T1003.008 on benign processes: {on_benign:?}"
    );
}

#[test]
fn rules_find_admin_share_access_in_the_real_lsassy_capture() {
    // A real Security capture of lsassy dumping lsass remotely: it reaches
    // the host over SMB (5145 on \\*\C$) before touching lsass.
    let rules = RuleSet::embedded(&table()).unwrap();
    let path = repo_path("crates/ingest/testdata/sysmon/sysmon-security-lsass-dump-lsassy.evtx.gz");
    let file = InputFile::probe(&path).unwrap();
    let mut found: Vec<(String, String)> = Vec::new();
    for ev in ingest::sysmon::open_evtx(&file, &IngestSettings::default()).unwrap() {
        let ev = ev.unwrap();
        for r in rules.matches(&ev) {
            found.push((r.id.clone(), r.technique.clone()));
        }
    }
    assert!(
        found
            .iter()
            .any(|(id, t)| id == "win-admin-share-access" && t == "T1021.002"),
        "{found:?}"
    );
    assert!(
        found.iter().any(|(_, t)| t == "T1003.001"),
        "the lsass access is still found: {found:?}"
    );
}
