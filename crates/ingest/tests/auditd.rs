//! auditd parser: real excerpts, dirty inputs, and a check against an
//! independent counter. Fixtures and how they were cut: `testdata/auditd/README.md`.

mod support {
    pub mod auditd_count;
    pub mod common;
}

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use causaldefend_ingest::{auditd, Error, IngestSettings, InputFile};
use event::{EdgeKind, EntityKind, Event};
use support::auditd_count::{count, AuditCount};
use support::common::{error_kinds, split, temp_file, testdata};

fn fixture(name: &str) -> PathBuf {
    testdata("auditd", name)
}

fn parse_with(path: &Path, settings: &IngestSettings) -> Vec<Result<Event, Error>> {
    let file = InputFile::probe(path).unwrap();
    auditd::open(&file, settings).unwrap().collect()
}

fn parse(path: &Path) -> Vec<Result<Event, Error>> {
    parse_with(path, &IngestSettings::default())
}

fn fixture_lines(name: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let f = std::fs::File::open(fixture(name)).unwrap();
    let mut r = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(f));
    let mut line = Vec::new();
    while std::io::BufRead::read_until(&mut r, b'\n', &mut line).unwrap() > 0 {
        out.push(std::mem::take(&mut line));
    }
    out
}

/// Compact projection of one edge, for snapshots.
fn project(e: &Event) -> String {
    let who = |x: &event::Entity| match x.kind {
        EntityKind::Process => format!(
            "process {}({})",
            x.name.as_deref().unwrap_or("?"),
            x.pid.unwrap_or_default()
        ),
        k => format!("{k} {}", x.name.as_deref().unwrap_or("?")),
    };
    format!(
        "{} #{} {} [{}] {} -> {}",
        e.ts,
        e.seq,
        e.kind,
        e.native_type,
        who(&e.subject),
        who(&e.object)
    )
}

// ---------------------------------------------------------------- corpus

#[test]
fn corpus_counts_are_exact() {
    // (fixture, ok events, errors by kind)
    type Expected<'a> = &'a [(&'a str, usize, &'a [(&'a str, usize)])];
    let expected: Expected = &[
        ("auditd-t1003-shadow.log.gz", 203, &[]),
        // One clone3 here is a thread of the web server (never acts): no edge.
        ("auditd-t1136-useradd.log.gz", 195, &[]),
        ("auditd-raw-t1003.log.gz", 203, &[]),
        ("auditd-out-of-order.log.gz", 24, &[]),
        ("auditd-eoe.log.gz", 24, &[("duplicate_event", 1)]),
        ("auditd-dirty-lines.log.gz", 23, &[("malformed", 2)]),
        ("auditd-truncated.log.gz", 117, &[("decompress", 1)]),
    ];
    let mut mismatches = Vec::new();
    for (name, ok, errs) in expected {
        let (events, errors) = split(parse(&fixture(name)));
        let want: BTreeMap<&str, usize> = errs.iter().copied().collect();
        let got = (events.len(), error_kinds(&errors));
        if got != (*ok, want) {
            mismatches.push(format!(
                "{name}: got {got:?}, errors {:#?}",
                errors.iter().map(ToString::to_string).collect::<Vec<_>>()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

// ---------------------------------------------------------------- graphs

fn malicious_pids(truth: &str) -> BTreeSet<u32> {
    let text = String::from_utf8(std::fs::read(fixture(truth)).unwrap()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["malicious_pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| u32::try_from(p.as_u64().unwrap()).unwrap())
        .collect()
}

fn attack_edges(log: &str, truth: &str) -> Vec<String> {
    let mal = malicious_pids(truth);
    let (events, errors) = split(parse(&fixture(log)));
    assert!(errors.is_empty());
    events
        .iter()
        .filter(|e| mal.contains(&e.subject.pid.unwrap()))
        // Library loads are many and say little; keep every other edge.
        .filter(|e| {
            !(e.kind == EdgeKind::Read
                && e.object.name.as_deref().is_some_and(|n| {
                    n.starts_with("/lib/") || n.starts_with("/usr/lib/") || n == "/etc/ld.so.cache"
                }))
        })
        .map(project)
        .collect()
}

#[test]
fn t1003_graph_shows_bash_sudo_cat_reading_shadow() {
    let edges = attack_edges(
        "auditd-t1003-shadow.log.gz",
        "auditd-t1003-shadow.truth.json",
    );
    // The chain the truth names: bash (25396) forks 25397, which execs sudo,
    // forks 25398, which execs cat and reads /etc/shadow.
    let has = |needle: &str| edges.iter().any(|e| e.contains(needle));
    assert!(has(
        "fork [clone] process /usr/bin/bash(25396) -> process /usr/bin/bash(25397)"
    ));
    assert!(has(
        "exec [execve] process /usr/bin/sudo(25397) -> file /usr/bin/sudo"
    ));
    assert!(has(
        "fork [clone] process /usr/bin/sudo(25397) -> process /usr/bin/sudo(25398)"
    ));
    assert!(has(
        "exec [execve] process /usr/bin/cat(25398) -> file /usr/bin/cat"
    ));
    assert!(has(
        "read [openat] process /usr/bin/cat(25398) -> file /etc/shadow"
    ));
    insta::assert_json_snapshot!("t1003_attack_edges", edges);
}

#[test]
fn t1136_graph_shows_useradd_writing_passwd() {
    let edges = attack_edges(
        "auditd-t1136-useradd.log.gz",
        "auditd-t1136-useradd.truth.json",
    );
    insta::assert_json_snapshot!("t1136_attack_edges", edges);
}

#[test]
fn raw_and_enriched_give_the_same_graph() {
    let (enriched, _) = split(parse(&fixture("auditd-t1003-shadow.log.gz")));
    let (raw, errors) = split(parse(&fixture("auditd-raw-t1003.log.gz")));
    assert!(errors.is_empty());
    let a: Vec<String> = enriched.iter().map(project).collect();
    let b: Vec<String> = raw.iter().map(project).collect();
    assert_eq!(a, b);
}

#[test]
fn one_process_identity_per_pid_across_exec() {
    let (events, _) = split(parse(&fixture("auditd-t1003-shadow.log.gz")));
    let mut ids: BTreeMap<u32, BTreeSet<event::EntityId>> = BTreeMap::new();
    for e in &events {
        for x in [&e.subject, &e.object] {
            if x.kind == EntityKind::Process {
                ids.entry(x.pid.unwrap()).or_default().insert(x.id);
            }
        }
    }
    let multi: Vec<_> = ids.iter().filter(|(_, s)| s.len() > 1).collect();
    assert!(multi.is_empty(), "pids with several identities: {multi:?}");
    assert!(ids.contains_key(&25398));
}

// ---------------------------------------------------------------- counter

/// What the parser says, in the counter's terms.
fn parser_count(events: &[Event]) -> AuditCount {
    let mut c = AuditCount::default();
    for e in events {
        for x in [&e.subject, &e.object] {
            if x.kind == EntityKind::Process {
                c.pids.insert(x.pid.unwrap());
            }
        }
        if e.kind == EdgeKind::Exec {
            c.execs += 1;
            c.exes.insert(e.subject.name.as_deref().unwrap().to_owned());
        }
    }
    c
}

#[test]
fn agrees_with_the_independent_counter_on_every_fixture() {
    for name in [
        "auditd-t1003-shadow.log.gz",
        "auditd-t1136-useradd.log.gz",
        "auditd-raw-t1003.log.gz",
        "auditd-out-of-order.log.gz",
        "auditd-eoe.log.gz",
    ] {
        let path = fixture(name);
        let (events, _) = split(parse(&path));
        let mine = parser_count(&events);
        let theirs = count(&path);
        assert_eq!(mine.execs, theirs.execs, "{name}: executions");
        assert_eq!(mine.exes, theirs.exes, "{name}: executed programs");
        // Pids of SYSCALL records that only hold failed or unmapped syscalls
        // (a `write`, a failed `connect`) have no edge, so the parser may
        // see fewer; it must never see a pid the log does not name.
        assert!(mine.pids.is_subset(&theirs.pids), "{name}");
        let missing: Vec<_> = theirs.pids.difference(&mine.pids).collect();
        assert!(missing.len() <= 2, "{name}: parser misses pids {missing:?}");
    }
}

/// Runs over the shared recordings when `CAUSALDEFEND_SHARED_AUDITD` names
/// their folder, and prints a markdown table; skipped (loudly) otherwise.
#[test]
fn shared_recordings_match_the_counter() {
    let Some(root) = std::env::var_os("CAUSALDEFEND_SHARED_AUDITD") else {
        eprintln!(
            "SKIPPED shared_recordings_match_the_counter: set CAUSALDEFEND_SHARED_AUDITD=/work/shared/data/auditd to run it"
        );
        return;
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|p| p.join("audit.log.gz").exists())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    let mut table = String::from(
        "| recording | processes (parser) | processes (counter) | execs (parser) | execs (counter) | programs (parser) | programs (counter) | events | errors | seconds |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut failures = Vec::new();
    for dir in dirs {
        let log = dir.join("audit.log.gz");
        let started = std::time::Instant::now();
        let (events, errors) = split(parse(&log));
        let secs = started.elapsed().as_secs_f64();
        let mine = parser_count(&events);
        let theirs = count(&log);
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        table.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {secs:.2} |\n",
            mine.pids.len(),
            theirs.pids.len(),
            mine.execs,
            theirs.execs,
            mine.exes.len(),
            theirs.exes.len(),
            events.len(),
            errors.len()
        ));
        if mine.execs != theirs.execs
            || mine.exes != theirs.exes
            || !mine.pids.is_subset(&theirs.pids)
        {
            failures.push(name);
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "disagree: {failures:?}");
}

// ---------------------------------------------------------------- dirty input

#[test]
fn truncated_gzip_ends_the_file_after_the_good_lines() {
    let (events, errors) = split(parse(&fixture("auditd-truncated.log.gz")));
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert_eq!(e.kind(), "decompress");
    assert!(e.is_file_level());
    let msg = e.to_string();
    assert!(msg.contains("auditd-truncated.log.gz"), "{msg}");
    assert!(msg.contains("after line 492"), "{msg}");
    // Events read before the damage are still produced.
    assert_eq!(events.len(), 117);
}

#[test]
fn invalid_utf8_in_a_quoted_field_rejects_that_event_only() {
    let (events, errors) = split(parse(&fixture("auditd-dirty-lines.log.gz")));
    let e = errors
        .iter()
        .find(|e| e.to_string().contains("field `exe`"))
        .unwrap();
    assert_eq!(e.kind(), "malformed");
    let msg = e.to_string();
    assert!(msg.contains("auditd-dirty-lines.log.gz:1:"), "{msg}");
    // The clean copy of the same lines gives exactly one more edge: the
    // rejected event's.
    let clean: Vec<u8> = fixture_lines("auditd-t1003-shadow.log.gz")
        .into_iter()
        .take(120)
        .flatten()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (clean_events, clean_errors) = split(parse(&temp_file(&dir, "clean.log", &clean)));
    assert!(clean_errors.is_empty());
    assert_eq!(events.len() + 1, clean_events.len());
}

#[test]
fn malformed_header_names_line_and_field() {
    let (_, errors) = split(parse(&fixture("auditd-dirty-lines.log.gz")));
    let e = errors
        .iter()
        .find(|e| e.to_string().contains("field `msg`"))
        .unwrap();
    assert_eq!(e.kind(), "malformed");
    assert!(
        e.to_string().contains("auditd-dirty-lines.log.gz:25:"),
        "{e}"
    );
}

#[test]
fn a_ten_megabyte_line_is_skipped_and_the_stream_goes_on() {
    let lines = fixture_lines("auditd-t1003-shadow.log.gz");
    let mut bytes: Vec<u8> = lines.iter().take(60).flatten().copied().collect();
    bytes.extend_from_slice(b"type=PATH msg=audit(1795507875.700:1): name=\"");
    bytes.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
    bytes.extend_from_slice(b"\"\n");
    bytes.extend(lines.iter().skip(60).take(60).flatten());
    let dir = tempfile::tempdir().unwrap();
    let (events, errors) = split(parse(&temp_file(&dir, "long.log", &bytes)));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind(), "line_too_long");
    assert!(
        errors[0].to_string().contains("long.log:61:"),
        "{}",
        errors[0]
    );
    assert_eq!(events.len(), 24, "events on both sides of the long line");
}

#[test]
fn binary_input_is_refused_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = fixture_lines("auditd-t1003-shadow.log.gz")[0].clone();
    bytes.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0");
    let (_, errors) = split(parse(&temp_file(&dir, "bin.log", &bytes)));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind(), "binary_input");
    assert!(errors[0].to_string().contains("bin.log"));
}

#[test]
fn empty_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (events, errors) = split(parse(&temp_file(&dir, "empty.log", b"")));
    assert!(events.is_empty());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind(), "empty_input");
    assert!(errors[0].to_string().contains("empty.log"));
}

#[test]
fn a_record_after_its_eoe_is_a_duplicate() {
    let (events, errors) = split(parse(&fixture("auditd-eoe.log.gz")));
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert_eq!(e.kind(), "duplicate_event");
    assert!(
        e.to_string()
            .contains("auditd-eoe.log.gz:40: audit event 91198"),
        "{e}"
    );
    // Same edges as without EOE lines: the missing EOE only delays its event.
    let (plain, _) = split(parse(&fixture("auditd-out-of-order.log.gz")));
    assert_eq!(events.len(), plain.len());
}

#[test]
fn out_of_order_events_give_the_same_edges() {
    let clean: Vec<u8> = fixture_lines("auditd-t1003-shadow.log.gz")
        .into_iter()
        .take(120)
        .flatten()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = split(parse(&temp_file(&dir, "clean.log", &clean)));
    let (b, errors) = split(parse(&fixture("auditd-out-of-order.log.gz")));
    assert!(errors.is_empty());
    let mut a: Vec<String> = a.iter().map(project).collect();
    let mut b: Vec<String> = b.iter().map(project).collect();
    assert_ne!(a, b, "the swap is visible in the order");
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn orphan_records_are_an_incomplete_event() {
    // The PATH, CWD and PROCTITLE of a real openat, without its SYSCALL.
    let lines = fixture_lines("auditd-t1003-shadow.log.gz");
    let syscall_at = lines
        .iter()
        .position(|l| {
            l.starts_with(b"type=SYSCALL") && l.windows(14).any(|w| w == b"SYSCALL=openat")
        })
        .unwrap();
    let mut bytes = Vec::new();
    for (i, l) in lines.iter().enumerate().take(syscall_at + 4) {
        if i != syscall_at {
            bytes.extend_from_slice(l);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, errors) = split(parse(&temp_file(&dir, "orphan.log", &bytes)));
    assert_eq!(
        error_kinds(&errors),
        BTreeMap::from([("incomplete_event", 1)])
    );
    assert!(
        errors[0].to_string().contains("SYSCALL record"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].to_string().contains("orphan.log:"),
        "{}",
        errors[0]
    );
}

#[test]
fn raw_logs_of_another_arch_are_unsupported_once_per_event() {
    let raw = fixture_lines("auditd-raw-t1003.log.gz");
    let first_syscall = raw
        .iter()
        .position(|l| l.starts_with(b"type=SYSCALL"))
        .unwrap();
    let mut bytes = Vec::new();
    for (i, l) in raw.iter().enumerate().take(40) {
        if i == first_syscall {
            let s = String::from_utf8(l.clone()).unwrap();
            bytes.extend_from_slice(s.replace("arch=c000003e", "arch=c00000b7").as_bytes());
        } else {
            bytes.extend_from_slice(l);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (events, errors) = split(parse(&temp_file(&dir, "arm.log", &bytes)));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind(), "unsupported");
    let msg = errors[0].to_string();
    assert!(
        msg.contains(&format!("arm.log:{}:", first_syscall + 1)),
        "{msg}"
    );
    assert!(msg.contains("c00000b7"), "{msg}");
    assert!(!events.is_empty());
}

#[test]
fn node_prefix_sets_the_host() {
    let lines = fixture_lines("auditd-t1003-shadow.log.gz");
    let bytes: Vec<u8> = lines
        .iter()
        .take(40)
        .flat_map(|l| [b"node=web-1 ".as_slice(), l.as_slice()].concat())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let settings = IngestSettings {
        host: Some("fallback".into()),
        ..IngestSettings::default()
    };
    let (events, errors) = split(parse_with(&temp_file(&dir, "node.log", &bytes), &settings));
    assert!(errors.is_empty());
    assert!(!events.is_empty());
    assert!(events
        .iter()
        .all(|e| e.subject.host.as_deref() == Some("web-1")
            && e.object.host.as_deref() == Some("web-1")));
    let (plain, _) = split(parse_with(
        &fixture("auditd-t1003-shadow.log.gz"),
        &settings,
    ));
    assert_eq!(plain[0].subject.host.as_deref(), Some("fallback"));
}

#[test]
fn the_inflight_cap_holds_and_events_still_come_out() {
    let settings = IngestSettings {
        auditd: auditd::AuditdSettings {
            max_inflight_events: 2,
            ..auditd::AuditdSettings::default()
        },
        ..IngestSettings::default()
    };
    let (events, errors) = split(parse_with(
        &fixture("auditd-t1003-shadow.log.gz"),
        &settings,
    ));
    // Interleaved records of evicted events come back as duplicates, counted.
    assert!(
        errors.iter().all(|e| e.kind() == "duplicate_event"),
        "{errors:?}"
    );
    assert!(events.len() > 150, "{}", events.len());
}

#[test]
fn signals_a_process_sends_itself_are_not_edges() {
    // The bundled recording holds one: `sort -rn` raising SIGPIPE with
    // tgkill on its own pid when `head` closes the pipe.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/auditd/attack_T1003.008-1_s206/audit.log.gz");
    let mut lines = Vec::new();
    let f = std::fs::File::open(&path).unwrap();
    let mut r = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(f));
    let mut line = Vec::new();
    while std::io::BufRead::read_until(&mut r, b'\n', &mut line).unwrap() > 0 {
        lines.push(String::from_utf8_lossy(&std::mem::take(&mut line)).into_owned());
    }
    let self_tgkill = lines
        .iter()
        .filter(|l| l.contains("SYSCALL=tgkill"))
        .filter(|l| {
            let field = |k: &str| {
                l.split(' ')
                    .find_map(|f| f.strip_prefix(k))
                    .map(str::to_owned)
            };
            let pid = field("pid=").and_then(|p| p.parse::<u64>().ok());
            let a0 = field("a0=").and_then(|a| u64::from_str_radix(&a, 16).ok());
            pid.is_some() && pid == a0
        })
        .count();
    assert_eq!(self_tgkill, 1, "the fixture still holds its self-signal");
    let events: Vec<Event> = parse(&path).into_iter().map(Result::unwrap).collect();
    let signals: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == EdgeKind::Signal)
        .collect();
    assert!(
        signals.iter().all(|e| e.subject.id != e.object.id),
        "a self-signal became an edge"
    );
}

#[test]
fn clone3_children_that_never_act_are_threads() {
    // glibc's pthread_create is a clone3, whose flags the record does not
    // show. Pid 200 (a Python web server) clones 201, a thread that never
    // acts, and 202, which execs `id` 10 ms later.
    let clone3 = |serial: u32, child: u32| {
        format!(
            "type=SYSCALL msg=audit(1795507783.080:{serial}): arch=c000003e syscall=435 success=yes exit={child} a0=7fff74090ac0 a1=58 a2=7f78283d9d50 a3=8 items=0 ppid=1 pid=200 auid=4242 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=401 comm=\"python3\" exe=\"/usr/bin/python3.11\" key=\"prov_proc\"\ntype=EOE msg=audit(1795507783.080:{serial}): \n"
        )
    };
    let exec = "type=SYSCALL msg=audit(1795507783.090:102): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=8 items=2 ppid=200 pid=202 auid=4242 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=401 comm=\"id\" exe=\"/usr/bin/id\" key=\"prov_exec\"\n\
type=EXECVE msg=audit(1795507783.090:102): argc=1 a0=\"id\"\n\
type=CWD msg=audit(1795507783.090:102): cwd=\"/tmp\"\n\
type=PATH msg=audit(1795507783.090:102): item=0 name=\"/usr/bin/id\" inode=1 dev=fe:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\n\
type=EOE msg=audit(1795507783.090:102): \n";
    let log = format!("{}{}{exec}", clone3(100, 201), clone3(101, 202));
    let dir = tempfile::tempdir().unwrap();
    let (events, errors) = split(parse(&temp_file(&dir, "clone3.log", log.as_bytes())));
    assert!(errors.is_empty(), "{errors:?}");
    let pids: BTreeSet<u32> = events
        .iter()
        .flat_map(|e| [&e.subject, &e.object])
        .filter_map(|x| x.pid)
        .collect();
    assert!(!pids.contains(&201), "the thread became a process");
    let forks: Vec<&Event> = events.iter().filter(|e| e.kind == EdgeKind::Fork).collect();
    assert_eq!(forks.len(), 1, "{forks:?}");
    let fork = forks[0];
    assert_eq!((fork.subject.pid, fork.object.pid), (Some(200), Some(202)));
    assert_eq!(fork.seq, 101, "the edge is the clone's event");
    assert_eq!(fork.object.start, Some(fork.ts), "born at the clone");
    let exec = events.iter().find(|e| e.kind == EdgeKind::Exec).unwrap();
    assert!(fork.ts < exec.ts);
    assert_eq!(
        exec.subject.id, fork.object.id,
        "one identity for the child"
    );
}

#[test]
fn the_bundled_recording_web_server_threads_are_not_processes() {
    // The web server of the bundled recording makes a thread per request:
    // clone3 children that never appear as `pid=`.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/auditd/attack_T1003.008-1_s206/audit.log.gz");
    let (events, _) = split(parse(&path));
    let mine = parser_count(&events);
    let threads = clone3_threads(&path);
    assert!(threads.len() >= 10, "{threads:?}");
    assert!(threads.iter().all(|t| !mine.pids.contains(t)));
}

/// Children of successful clone3 records that never act as `pid=`.
fn clone3_threads(path: &Path) -> BTreeSet<u32> {
    let f = std::fs::File::open(path).unwrap();
    let r = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(f));
    let (mut acting, mut children) = (BTreeSet::new(), BTreeSet::new());
    for line in std::io::BufRead::lines(r) {
        let line = line.unwrap();
        if !line.starts_with("type=SYSCALL ") {
            continue;
        }
        let field = |k: &str| {
            line.split(' ')
                .find_map(|f| f.strip_prefix(k))
                .and_then(|v| v.parse::<u32>().ok())
        };
        acting.extend(field("pid="));
        if line.contains(" syscall=435 ") && line.contains(" success=yes ") {
            children.extend(field("exit="));
        }
    }
    children.difference(&acting).copied().collect()
}
