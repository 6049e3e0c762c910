//! A deliberately simple, separate count of processes and executions in an
//! auditd log, to check the parser against. It shares no code with
//! `src/auditd/`: it splits lines on spaces and reads a handful of fields.
//!
//! (a) processes: distinct `pid=` of SYSCALL records, plus the `exit=` of
//!     successful clone/fork/vfork (the recordings do not reuse pids); a
//!     clone3 child counts only when it acts (`pid=`): clone3 hides its
//!     flags, and the ones that never act are threads;
//! (b) executions: successful execve/execveat SYSCALL records, and the
//!     distinct `exe=` values they show (the program after the exec).

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::Path;

/// What the counter found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AuditCount {
    pub pids: BTreeSet<u32>,
    pub execs: u64,
    pub exes: BTreeSet<String>,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split([' ', '\u{1d}'])
        .find_map(|tok| tok.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

/// Counts a gzip or plain auditd log.
pub fn count(path: &Path) -> AuditCount {
    let file = std::fs::File::open(path).unwrap();
    let mut magic = [0u8; 2];
    std::io::Read::read_exact(&mut std::fs::File::open(path).unwrap(), &mut magic).unwrap();
    let reader: Box<dyn BufRead> = if magic == [0x1f, 0x8b] {
        Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let mut c = AuditCount::default();
    for line in reader.split(b'\n') {
        let Ok(line) = line else { break }; // a truncated gzip ends the count
        let line = String::from_utf8_lossy(&line);
        if !line.starts_with("type=SYSCALL ") {
            continue;
        }
        let Some(pid) = field(&line, "pid").and_then(|p| p.parse().ok()) else {
            continue;
        };
        c.pids.insert(pid);
        let name = match field(&line, "SYSCALL") {
            Some(n) => n.to_owned(),
            None => match field(&line, "syscall") {
                Some("56") => "clone".into(),
                Some("57") => "fork".into(),
                Some("58") => "vfork".into(),
                Some("435") => "clone3".into(),
                Some("59") => "execve".into(),
                Some("322") => "execveat".into(),
                _ => String::new(),
            },
        };
        if field(&line, "success") != Some("yes") {
            continue;
        }
        match name.as_str() {
            "clone" | "fork" | "vfork" => {
                if let Some(child) = field(&line, "exit").and_then(|e| e.parse::<u32>().ok()) {
                    if child > 0 {
                        c.pids.insert(child);
                    }
                }
            }
            "execve" | "execveat" => {
                c.execs += 1;
                if let Some(exe) = field(&line, "exe") {
                    c.exes.insert(exe.trim_matches('"').to_owned());
                }
            }
            _ => {}
        }
    }
    c
}
