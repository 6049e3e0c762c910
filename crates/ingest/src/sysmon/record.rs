//! [`WinRecord`]: one Windows event, normalized from either EVTX or JSON lines.
//!
//! Both readers produce this view, so that the one mapping table in
//! [`super::mapping`] serves every layout. Field names are the `EventData`
//! names of the Windows XML (`ProcessGuid`, `TargetFilename`, ...), which the
//! OTRF, Winlogbeat and Azure exports all keep.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime};
use event::Timestamp;

/// The channels we map. Every other channel is skipped and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// `Microsoft-Windows-Sysmon/Operational`.
    Sysmon,
    /// `Security`.
    Security,
    /// `System` (the service control manager's 7045 lives here).
    System,
    /// Anything else, or no channel at all.
    Other,
}

impl Channel {
    /// Classifies a channel name, ignoring ASCII case (`security` occurs in OTRF files).
    pub fn parse(name: &str) -> Self {
        if name.eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational") {
            Self::Sysmon
        } else if name.eq_ignore_ascii_case("Security") {
            Self::Security
        } else if name.eq_ignore_ascii_case("System") {
            Self::System
        } else {
            Self::Other
        }
    }
}

/// One Windows event, whatever file layout it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinRecord {
    /// `EventID`.
    pub event_id: u32,
    /// `Channel`, classified.
    pub channel: Channel,
    /// `Computer` (EVTX, Azure), `Hostname` (OTRF) or `computer_name` (Winlogbeat).
    pub computer: Option<Arc<str>>,
    /// Event time: Sysmon's `UtcTime` when present, else the record's system time.
    pub time: Option<Timestamp>,
    /// `EventRecordID` / `record_number`, when the layout carries it.
    pub record_id: Option<u64>,
    /// `EventData` fields, name → value, in source order. Numbers and booleans
    /// are kept as their decimal text; nested values are dropped.
    pub fields: Vec<(Box<str>, Box<str>)>,
}

impl WinRecord {
    /// The value of field `name`, compared without ASCII case (Sysmon 10 writes
    /// `SourceProcessGUID`, Sysmon 8 `SourceProcessGuid`).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// Like [`WinRecord::field`], but treats the placeholders Windows writes for
    /// "no value" (`""`, `-`) as absent.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.field(name)
            .map(str::trim)
            .filter(|v| !v.is_empty() && *v != "-")
    }
}

/// A JSON scalar as text: strings as they are, numbers and booleans in their
/// JSON spelling, an `{"#text": ...}` node by its text. `None` for null, arrays
/// and other objects.
pub fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Object(map) => map.get("#text").and_then(scalar_text),
        serde_json::Value::Null | serde_json::Value::Array(_) => None,
    }
}

/// Adds every scalar member of `object` to `fields`.
pub fn push_scalar_fields(
    object: &serde_json::Map<String, serde_json::Value>,
    fields: &mut Vec<(Box<str>, Box<str>)>,
) {
    for (k, v) in object {
        if let Some(text) = scalar_text(v) {
            fields.push((k.as_str().into(), text.into_boxed_str()));
        }
    }
}

/// Parses an unsigned integer written in decimal or as `0x` hex (Security
/// writes pids as `0x12d8`).
pub fn parse_uint(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// Parses the time spellings of our sources into nanoseconds since the epoch, UTC:
/// `2019-05-14 23:45:31.123` (Sysmon `UtcTime`, OTRF `TimeCreated`),
/// `2022-05-13T08:54:05.1230000Z` (EVTX `SystemTime`, Azure, `@timestamp`),
/// and RFC 3339 with an offset. A time without a zone is taken as UTC.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    let naive = t.strip_suffix('Z').unwrap_or(t);
    for layout in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, layout) {
            return dt
                .and_utc()
                .timestamp_nanos_opt()
                .map(Timestamp::from_nanos);
        }
    }
    DateTime::parse_from_rfc3339(t)
        .ok()
        .and_then(|dt| dt.timestamp_nanos_opt())
        .map(Timestamp::from_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_time_spelling_to_the_same_instant() {
        let a = parse_time("2022-05-13 08:54:05.123").unwrap();
        let b = parse_time("2022-05-13T08:54:05.1230000Z").unwrap();
        let c = parse_time("2022-05-13T10:54:05.123+02:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.to_string(), "1652432045.123000000");
        assert!(parse_time("yesterday").is_none());
        assert!(parse_time("2022-13-45 08:54:05").is_none());
    }

    #[test]
    fn parses_decimal_and_hex_ids() {
        assert_eq!(parse_uint("4824"), Some(4824));
        assert_eq!(parse_uint("0x12d8"), Some(0x12d8));
        assert_eq!(parse_uint("0x"), None);
        assert_eq!(parse_uint("-1"), None);
    }

    #[test]
    fn field_lookup_ignores_case_and_placeholders() {
        let r = WinRecord {
            event_id: 10,
            channel: Channel::Sysmon,
            computer: None,
            time: None,
            record_id: None,
            fields: vec![
                ("SourceProcessGUID".into(), "{A}".into()),
                ("ParentImage".into(), "-".into()),
            ],
        };
        assert_eq!(r.field("SourceProcessGuid"), Some("{A}"));
        assert_eq!(r.field("ParentImage"), Some("-"));
        assert_eq!(r.value("ParentImage"), None);
        assert_eq!(Channel::parse("security"), Channel::Security);
        assert_eq!(
            Channel::parse("microsoft-windows-sysmon/operational"),
            Channel::Sysmon
        );
        assert_eq!(Channel::parse("System"), Channel::System);
        assert_eq!(Channel::parse("Application"), Channel::Other);
    }
}
