//! A deliberately simple, separate count of Windows event records by
//! `EventID`, to check the Sysmon reader against. It shares no code with
//! `src/sysmon/`: it parses each JSON line with serde_json and reads the
//! id from the few places the layouts put it.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::Path;

/// Lines of a plain or gzip file (a broken gzip stream ends the list).
pub fn lines(path: &Path) -> Vec<Vec<u8>> {
    let mut magic = [0u8; 2];
    let n = std::fs::File::open(path).unwrap().read(&mut magic).unwrap();
    let file = std::fs::File::open(path).unwrap();
    let reader: Box<dyn BufRead> = if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let mut out = Vec::new();
    for line in reader.split(b'\n') {
        let Ok(line) = line else { break };
        out.push(line);
    }
    out
}

/// The event id of one parsed line, from `EventID`, `event_id`,
/// `winlog.event_id` or `Event.System.EventID` (a number, a numeric string,
/// or `{"#text": n}`).
pub fn event_id(v: &serde_json::Value) -> Option<u32> {
    let raw = v
        .get("EventID")
        .or_else(|| v.get("event_id"))
        .or_else(|| v.pointer("/winlog/event_id"))
        .or_else(|| v.pointer("/Event/System/EventID"))?;
    let raw = raw.get("#text").unwrap_or(raw);
    match raw {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Records by event id: lines that are JSON objects with a numeric id.
pub fn by_event_id(path: &Path) -> BTreeMap<u32, u64> {
    let mut m = BTreeMap::new();
    for line in lines(path) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) else {
            continue;
        };
        if let Some(id) = event_id(&v) {
            *m.entry(id).or_default() += 1;
        }
    }
    m
}
