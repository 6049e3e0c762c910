//! Windows events as JSON lines, in the layouts our sources use:
//!
//! * flat OTRF: `System` and `EventData` fields as top-level keys (`EventID`,
//!   `Channel`, `Hostname`, `TimeCreated`, `@timestamp`, `Image`, ...);
//! * Winlogbeat 6 / NXLog: `event_id`, `log_name`, `computer_name`,
//!   `record_number` at the top, fields in `event_data{...}`;
//! * Winlogbeat 7+: the same under `winlog{...}` (`channel`, `record_id`);
//! * `evtx_dump -o jsonl` (and the `evtx` crate's JSON): `Event.System.*`
//!   and `Event.EventData.*`, read by [`parse_event_object`] as EVTX records are;
//! * Azure Log Analytics exports: `EventID`, `Channel`, `Computer`,
//!   `TimeGenerated` at the top, `EventData` a string holding either an XML
//!   `<EventData><Data Name="...">` fragment or a JSON object.
//!
//! Numbers may be JSON numbers or strings; channel names are compared without case.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::record::{parse_time, push_scalar_fields, scalar_text, Channel, WinRecord};
use super::HostNames;
use crate::error::{Error, Result};
use crate::input::InputFile;
use crate::lines::LineReader;
use crate::IngestSettings;

/// The records of one JSON-lines file, each with its 1-based line number.
pub struct JsonRecords {
    lines: LineReader,
    path: Arc<PathBuf>,
    hosts: HostNames,
}

impl JsonRecords {
    /// Opens `file`.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be opened.
    pub fn open(file: &InputFile, settings: &IngestSettings) -> Result<Self> {
        let reader = file.open()?;
        Ok(Self::from_lines(LineReader::new(
            reader,
            Arc::clone(&file.path),
            settings.max_line_bytes,
            "sysmon-json",
        )))
    }

    /// Reads the lines of `lines` (whose path names the input in errors).
    pub fn from_lines(lines: LineReader) -> Self {
        let path = Arc::clone(lines.path());
        Self {
            lines,
            path,
            hosts: HostNames::default(),
        }
    }
}

/// A missing or malformed field, before its location is attached: the EVTX
/// and JSON readers share [`parse_event_object`] but name records differently
/// (record id versus line number).
#[derive(Debug)]
pub struct FieldError {
    /// The field.
    pub field: &'static str,
    /// What was expected.
    pub expected: &'static str,
    /// What was found.
    pub found: String,
}

impl FieldError {
    /// The [`Error::Malformed`] for this field at `line` (or record id) of `path`.
    pub fn at(self, path: &Arc<PathBuf>, line: u64) -> Error {
        Error::malformed(path, line, self.field, self.expected, self.found.as_bytes())
    }
}

/// Normalizes an `Event` object as the `evtx` crate renders an EVTX record
/// (and as `evtx_dump -o jsonl` writes it): `System.{EventID, Channel,
/// Computer, EventRecordID, TimeCreated.#attributes.SystemTime}` plus the
/// scalar members of `EventData`. `EventID` may be `{"#text": .., "#attributes": ..}`
/// when the record carries `Qualifiers` (Security does).
///
/// # Errors
/// A [`FieldError`] for `Event.System.EventID` when there is no numeric id.
pub fn parse_event_object(
    event: &Map<String, Value>,
    hosts: &mut HostNames,
) -> std::result::Result<WinRecord, FieldError> {
    let system = event.get("System").and_then(Value::as_object);
    let get = |name: &str| system.and_then(|s| s.get(name));
    let id_text = get("EventID").and_then(scalar_text);
    let event_id = id_text
        .as_deref()
        .and_then(|t| t.trim().parse::<u32>().ok())
        .ok_or_else(|| FieldError {
            field: "Event.System.EventID",
            expected: "an event id",
            found: get("EventID").map(Value::to_string).unwrap_or_default(),
        })?;
    let channel = get("Channel")
        .and_then(Value::as_str)
        .map_or(Channel::Other, Channel::parse);
    let mut fields = Vec::new();
    if channel != Channel::Other {
        if let Some(data) = event.get("EventData").and_then(Value::as_object) {
            push_scalar_fields(data, &mut fields);
        }
    }
    let system_time = get("TimeCreated")
        .and_then(|t| t.get("#attributes"))
        .and_then(|a| a.get("SystemTime"))
        .and_then(Value::as_str);
    let mut rec = WinRecord {
        event_id,
        channel,
        computer: get("Computer")
            .and_then(Value::as_str)
            .map(|c| hosts.intern(c)),
        time: None,
        record_id: get("EventRecordID")
            .and_then(scalar_text)
            .and_then(|t| t.trim().parse().ok()),
        fields,
    };
    rec.time = rec
        .field("UtcTime")
        .and_then(parse_time)
        .or_else(|| system_time.and_then(parse_time));
    Ok(rec)
}

/// The error for a line that is not UTF-8. JSON text must be UTF-8, and a
/// record whose bytes were replaced would no longer say what the host logged,
/// so the record is rejected; the error names the field holding the bad
/// bytes (found by decoding the line lossily and looking for U+FFFD in the
/// values) and the byte offset, so that an analyst can look at the raw line.
fn not_utf8(path: &Arc<PathBuf>, line: u64, bytes: &[u8], valid_up_to: usize) -> Error {
    let lossy = String::from_utf8_lossy(bytes);
    let field = serde_json::from_str::<Value>(&lossy)
        .ok()
        .and_then(|v| field_with_replacement(&v, 3))
        .unwrap_or_else(|| "(line)".to_owned());
    let rest = bytes.get(valid_up_to..).unwrap_or_default();
    Error::Malformed {
        path: Arc::clone(path),
        line,
        field,
        expected: "UTF-8 text",
        found: format!(
            "invalid UTF-8 at byte {valid_up_to}: {}",
            crate::error::preview(rest)
        ),
    }
}

/// The dotted name of the first member whose text holds U+FFFD, looking at
/// most `depth` objects deep.
fn field_with_replacement(value: &Value, depth: u32) -> Option<String> {
    let object = value.as_object()?;
    for (k, v) in object {
        if k.contains('\u{fffd}') {
            return Some(k.clone());
        }
        match v {
            Value::String(s) if s.contains('\u{fffd}') => return Some(k.clone()),
            Value::Object(_) if depth > 1 => {
                if let Some(inner) = field_with_replacement(v, depth.saturating_sub(1)) {
                    return Some(format!("{k}.{inner}"));
                }
            }
            _ => {}
        }
    }
    None
}

impl Iterator for JsonRecords {
    type Item = Result<(u64, WinRecord)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = match self.lines.next_line()? {
                Ok(l) => l,
                Err(e) => return Some(Err(e)),
            };
            if line.trim_ascii().is_empty() {
                continue;
            }
            // Copied only on the error path, to build its message.
            let bad_utf8 = std::str::from_utf8(line)
                .err()
                .map(|e| (e.valid_up_to(), line.to_vec()));
            let parsed = serde_json::from_slice::<Value>(line);
            let n = self.lines.line_number();
            let path = &self.path;
            if let Some((at, bytes)) = bad_utf8 {
                return Some(Err(not_utf8(path, n, &bytes, at)));
            }
            let parsed = parsed.map_err(|source| Error::Json {
                path: Arc::clone(path),
                line: n,
                source,
            });
            return Some(
                parsed
                    .and_then(|v| parse_line(&v, path, n, &mut self.hosts))
                    .map(|r| (n, r)),
            );
        }
    }
}

/// The first of `names` present in `map`.
fn first<'a>(map: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| map.get(*n))
}

/// Normalizes one parsed line: one of the layouts in the module doc, or an
/// `evtx_dump -o jsonl` line (`{"Event": {"System": .., "EventData": ..}}`).
///
/// # Errors
/// [`Error::Malformed`] when it is not an object or has no numeric event id.
pub fn parse_line(
    value: &Value,
    path: &Arc<PathBuf>,
    line: u64,
    hosts: &mut HostNames,
) -> Result<WinRecord> {
    let root = value.as_object().ok_or_else(|| {
        Error::malformed(
            path,
            line,
            "(line)",
            "a JSON object",
            value.to_string().as_bytes(),
        )
    })?;
    if let Some(event) = root.get("Event").and_then(Value::as_object) {
        return parse_event_object(event, hosts).map_err(|f| f.at(path, line));
    }
    let (system, data) = match root.get("winlog").and_then(Value::as_object) {
        Some(w) => (w, w.get("event_data").and_then(Value::as_object)),
        None => (root, root.get("event_data").and_then(Value::as_object)),
    };
    let id_value = first(system, &["EventID", "event_id"]);
    let id_text = id_value.and_then(scalar_text);
    let event_id = id_text
        .as_deref()
        .and_then(|t| t.trim().parse::<u32>().ok())
        .ok_or_else(|| {
            let found = id_value.map(Value::to_string).unwrap_or_default();
            Error::malformed(path, line, "EventID", "an event id", found.as_bytes())
        })?;
    let channel = first(system, &["Channel", "channel", "log_name"])
        .and_then(Value::as_str)
        .map_or(Channel::Other, Channel::parse);
    let mut fields = Vec::new();
    if channel != Channel::Other {
        match data {
            Some(d) => push_scalar_fields(d, &mut fields),
            None => flat_fields(root, path, line, &mut fields)?,
        }
    }
    let computer = first(
        system,
        &["Computer", "Hostname", "computer_name", "computer"],
    )
    .and_then(Value::as_str)
    .map(|c| hosts.intern(c));
    let record_id = first(
        system,
        &[
            "EventRecordID",
            "RecordNumber",
            "record_id",
            "record_number",
        ],
    )
    .and_then(scalar_text)
    .and_then(|t| t.trim().parse().ok());
    let system_time = root
        .get("@timestamp")
        .or_else(|| first(system, &["TimeGenerated", "TimeCreated", "time_created"]))
        .and_then(|t| match t {
            Value::String(s) => Some(s.as_str()),
            // An EVTX-style `{"#attributes": {"SystemTime": ...}}`.
            other => other
                .get("#attributes")
                .and_then(|a| a.get("SystemTime"))
                .and_then(Value::as_str),
        });
    let mut rec = WinRecord {
        event_id,
        channel,
        computer,
        time: None,
        record_id,
        fields,
    };
    rec.time = rec
        .field("UtcTime")
        .and_then(parse_time)
        .or_else(|| system_time.and_then(parse_time));
    Ok(rec)
}

/// Fields of the flat layout: every top-level scalar except the rendered
/// `Message`, plus an embedded `EventData` string (Azure exports).
fn flat_fields(
    root: &Map<String, Value>,
    path: &Arc<PathBuf>,
    line: u64,
    fields: &mut Vec<(Box<str>, Box<str>)>,
) -> Result<()> {
    for (k, v) in root {
        if k == "Message" || k == "message" || k == "EventData" {
            continue;
        }
        if let Some(text) = scalar_text(v) {
            fields.push((k.as_str().into(), text.into_boxed_str()));
        }
    }
    match root.get("EventData") {
        Some(Value::Object(o)) => push_scalar_fields(o, fields),
        Some(Value::String(s)) => {
            let t = s.trim_start();
            if t.starts_with('{') {
                let inner: Value = serde_json::from_str(t).map_err(|source| Error::Json {
                    path: Arc::clone(path),
                    line,
                    source,
                })?;
                match inner.as_object() {
                    Some(o) => push_scalar_fields(o, fields),
                    None => {
                        return Err(Error::malformed(
                            path,
                            line,
                            "EventData",
                            "a JSON object or an <EventData> fragment",
                            s.as_bytes(),
                        ))
                    }
                }
            } else if t.starts_with('<') {
                parse_event_data_xml(t, fields).map_err(|at| {
                    Error::malformed(
                        path,
                        line,
                        "EventData",
                        "<Data Name=\"...\">value</Data> elements",
                        t.get(at..).unwrap_or_default().as_bytes(),
                    )
                })?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Reads the `<Data Name="N">value</Data>` (or `<Data Name="N" />`) elements of
/// an `<EventData>` fragment. This is the one XML shape Azure exports embed;
/// a full XML parser would buy nothing here. `Err` holds the byte offset
/// where the fragment stops making sense.
pub fn parse_event_data_xml(
    xml: &str,
    fields: &mut Vec<(Box<str>, Box<str>)>,
) -> std::result::Result<(), usize> {
    const OPEN: &str = "<Data Name=\"";
    let mut at = 0usize;
    while let Some(rel) = xml.get(at..).and_then(|rest| rest.find(OPEN)) {
        let name_start = at.saturating_add(rel).saturating_add(OPEN.len());
        let rest = xml.get(name_start..).ok_or(at)?;
        let name_len = rest.find('"').ok_or(name_start)?;
        let name = rest.get(..name_len).ok_or(name_start)?;
        let after_name = rest.get(name_len.saturating_add(1)..).ok_or(name_start)?;
        let close = after_name.find('>').ok_or(name_start)?;
        let tag_rest = after_name.get(..close).ok_or(name_start)?;
        let body_start = name_start
            .saturating_add(name_len)
            .saturating_add(1)
            .saturating_add(close)
            .saturating_add(1);
        if tag_rest.trim_end().ends_with('/') {
            fields.push((unescape(name).into(), Box::from("")));
            at = body_start;
            continue;
        }
        let body = xml.get(body_start..).ok_or(body_start)?;
        let end = body.find("</Data>").ok_or(body_start)?;
        let value = body.get(..end).ok_or(body_start)?;
        fields.push((unescape(name).into(), unescape(value).into()));
        at = body_start
            .saturating_add(end)
            .saturating_add("</Data>".len());
    }
    Ok(())
}

/// Replaces the five XML entities and numeric character references; an
/// unknown or broken reference is kept as written.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let tail = rest.get(amp..).unwrap_or_default();
        let semi = tail.find(';').filter(|i| *i <= 10);
        let entity = semi.and_then(|i| tail.get(1..i));
        let decoded = entity.and_then(|e| match e {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => e
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| e.strip_prefix('#').map(str::parse::<u32>))
                .and_then(std::result::Result::ok)
                .and_then(char::from_u32),
        });
        match (decoded, semi) {
            (Some(c), Some(i)) => {
                out.push(c);
                rest = tail.get(i.saturating_add(1)..).unwrap_or_default();
            }
            _ => {
                out.push('&');
                rest = tail.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WinRecord> {
        let v: Value = serde_json::from_str(text).unwrap();
        parse_line(
            &v,
            &Arc::new(PathBuf::from("t.jsonl")),
            1,
            &mut HostNames::default(),
        )
    }

    #[test]
    fn reads_azure_xml_event_data() {
        let r = parse(
            r#"{"Computer":"W5","Channel":"Security","EventID":4688,"TimeGenerated":"2022-05-13T08:54:05.21Z",
            "EventData":"<EventData xmlns=\"x\">\r\n  <Data Name=\"NewProcessName\">C:\\a&amp;b.exe</Data>\r\n  <Data Name=\"Empty\" />\r\n  <Data Name=\"NewProcessId\">0x10</Data>\r\n</EventData>"}"#,
        )
        .unwrap();
        assert_eq!(r.event_id, 4688);
        assert_eq!(r.channel, Channel::Security);
        assert_eq!(r.field("NewProcessName"), Some("C:\\a&b.exe"));
        assert_eq!(r.field("Empty"), Some(""));
        assert_eq!(r.field("NewProcessId"), Some("0x10"));
        assert_eq!(r.time, parse_time("2022-05-13 08:54:05.21"));
    }

    #[test]
    fn reads_azure_json_event_data_and_prefers_utc_time() {
        let r = parse(
            r#"{"Computer":"W5","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"TimeGenerated":"2022-05-13T08:54:06.347Z",
            "EventData":"{\"UtcTime\":\"2022-05-13T08:54:05.1230000Z\",\"ProcessId\":\"3936\"}"}"#,
        )
        .unwrap();
        assert_eq!(r.field("ProcessId"), Some("3936"));
        assert_eq!(r.time, parse_time("2022-05-13 08:54:05.123"));
    }

    #[test]
    fn reads_winlogbeat_layouts() {
        let r = parse(
            r#"{"@timestamp":"2019-05-18T20:20:32.811Z","event_id":1,"log_name":"Microsoft-Windows-Sysmon/Operational","computer_name":"HR001","record_number":"2189464","event_data":{"ProcessId":"7884","UtcTime":"2019-05-18 20:20:32.799"}}"#,
        )
        .unwrap();
        assert_eq!((r.event_id, r.channel), (1, Channel::Sysmon));
        assert_eq!(r.computer.as_deref(), Some("HR001"));
        assert_eq!(r.record_id, Some(2_189_464));
        assert_eq!(r.field("ProcessId"), Some("7884"));
        let r = parse(
            r#"{"@timestamp":"2019-05-18T20:20:32.811Z","winlog":{"event_id":"13","channel":"microsoft-windows-sysmon/operational","computer_name":"H","record_id":5,"event_data":{"TargetObject":"HKLM\\x"}}}"#,
        )
        .unwrap();
        assert_eq!((r.event_id, r.channel), (13, Channel::Sysmon));
        assert_eq!(r.field("TargetObject"), Some("HKLM\\x"));
        assert_eq!(r.time, parse_time("2019-05-18T20:20:32.811Z"));
    }

    #[test]
    fn rejects_a_line_without_event_id() {
        let e = parse(r#"{"Channel":"Security","EventID":"abc"}"#).unwrap_err();
        assert_eq!(e.kind(), "malformed");
        assert!(e.to_string().contains("t.jsonl:1: field `EventID`"));
        let e = parse("[1,2]").unwrap_err();
        assert!(e.to_string().contains("expected a JSON object"));
    }

    #[test]
    fn broken_xml_fragment_is_an_error_and_entities_decode() {
        let mut f = Vec::new();
        assert!(parse_event_data_xml("<Data Name=\"A\">x", &mut f).is_err());
        assert!(parse_event_data_xml("<Data Name=\"A", &mut f).is_err());
        assert_eq!(unescape("a&lt;&#65;&#x42;&bogus;&"), "a<AB&bogus;&");
    }
}
