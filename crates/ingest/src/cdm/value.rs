//! Reading CDM's Avro-JSON encoding: union-wrapped nullable fields, UUIDs in
//! their two textual shapes, and typed field access whose failures name the
//! field.
//!
//! Avro's JSON encoding writes a nullable field as `null` or as a one-key
//! object naming the branch: `{"long": 5}`, `{"string": "/tmp/x"}`,
//! `{"com.bbn.tc.schema.avro.cdm18.UUID": "…"}`. A bare value where a union
//! is declared is a wrong encoding and is rejected, naming the field.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Where a record sits, for error messages: the file, the line, and the
/// record type (`Event`, `Subject`, ...) that prefixes field names.
#[derive(Clone, Copy)]
pub(crate) struct At<'a> {
    pub path: &'a Arc<PathBuf>,
    pub line: u64,
    pub record: &'a str,
}

impl At<'_> {
    /// A [`Error::Malformed`] for `field` of this record.
    pub fn malformed(&self, field: &str, expected: &'static str, found: &Value) -> Error {
        let found = match found {
            Value::Null => "null".to_owned(),
            other => other.to_string(),
        };
        Error::malformed(
            self.path,
            self.line,
            format!("datum.{}.{field}", self.record),
            expected,
            found.as_bytes(),
        )
    }

    /// A [`Error::Malformed`] for a field that is absent.
    pub fn missing(&self, field: &str, expected: &'static str) -> Error {
        Error::malformed(
            self.path,
            self.line,
            format!("datum.{}.{field}", self.record),
            expected,
            b"nothing (field absent)",
        )
    }
}

/// Unwraps an Avro union: `null`/absent → `None`, `{"<branch>": v}` → `Some(v)`
/// when `<branch>` passes `branch_ok`; anything else is an error.
pub(crate) fn union<'v>(
    at: At<'_>,
    obj: &'v Map<String, Value>,
    name: &str,
    expected: &'static str,
    branch_ok: impl Fn(&str) -> bool,
) -> Result<Option<&'v Value>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(m)) => {
            let mut it = m.iter();
            match (it.next(), it.next()) {
                (Some((branch, inner)), None) if branch_ok(branch) => Ok(Some(inner)),
                _ => Err(at.malformed(name, expected, v)),
            }
        }
        Some(v) => Err(at.malformed(name, expected, v)),
    }
}

/// A nullable string field (`{"string": "…"}`).
pub(crate) fn opt_string<'v>(
    at: At<'_>,
    obj: &'v Map<String, Value>,
    name: &str,
) -> Result<Option<&'v str>> {
    const EXPECTED: &str = "null or {\"string\": \"…\"}";
    match union(at, obj, name, EXPECTED, |b| b == "string")? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(at.malformed(name, EXPECTED, v)),
    }
}

/// A nullable integer field (`{"int": n}` or `{"long": n}`).
pub(crate) fn opt_i64(at: At<'_>, obj: &Map<String, Value>, name: &str) -> Result<Option<i64>> {
    const EXPECTED: &str = "null or {\"long\": n} / {\"int\": n}";
    match union(at, obj, name, EXPECTED, |b| b == "long" || b == "int")? {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| at.malformed(name, EXPECTED, v)),
    }
}

/// A required plain string field.
pub(crate) fn req_string<'v>(
    at: At<'_>,
    obj: &'v Map<String, Value>,
    name: &str,
) -> Result<&'v str> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(at.malformed(name, "a string", v)),
        None => Err(at.missing(name, "a string")),
    }
}

/// A required plain integer field.
pub(crate) fn req_i64(at: At<'_>, obj: &Map<String, Value>, name: &str) -> Result<i64> {
    match obj.get(name) {
        Some(v) => v
            .as_i64()
            .ok_or_else(|| at.malformed(name, "an integer", v)),
        None => Err(at.missing(name, "an integer")),
    }
}

/// An integer that may be written plainly or union-wrapped (schemas differ
/// between versions, e.g. `startTimestampNanos` is `long` in CDM18 and
/// `union {null, long}` in CDM20).
pub(crate) fn loose_i64(at: At<'_>, obj: &Map<String, Value>, name: &str) -> Result<Option<i64>> {
    match obj.get(name) {
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| at.malformed(name, "an integer", &Value::Number(n.clone()))),
        _ => opt_i64(at, obj, name),
    }
}

/// A `map<string>` properties value (`{"map": {...}}` in a union, or bare).
pub(crate) fn properties<'v>(
    at: At<'_>,
    obj: &'v Map<String, Value>,
    name: &str,
) -> Result<Option<&'v Map<String, Value>>> {
    const EXPECTED: &str = "null or {\"map\": {…}}";
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => match m.get("map") {
            Some(Value::Object(inner)) if m.len() == 1 => Ok(Some(inner)),
            Some(Value::Null) if m.len() == 1 => Ok(None),
            _ => Ok(Some(m)),
        },
        Some(v) => Err(at.malformed(name, EXPECTED, v)),
    }
}

/// A string property of a `map<string>`.
pub(crate) fn prop<'v>(map: Option<&'v Map<String, Value>>, key: &str) -> Option<&'v str> {
    map.and_then(|m| m.get(key)).and_then(Value::as_str)
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Canonical text of 16 UUID bytes: upper-case `8-4-4-4-12` hex.
pub(crate) fn uuid_text(bytes: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
        let lo = HEX.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0');
        s.push(char::from(hi));
        s.push(char::from(lo));
    }
    s
}

/// A CDM18/20 UUID written as text: checks the `8-4-4-4-12` hex shape and
/// returns it upper-cased, `None` when the shape is wrong.
pub(crate) fn parse_uuid_text(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let ok = b.iter().enumerate().all(|(i, c)| {
        if matches!(i, 8 | 13 | 18 | 23) {
            *c == b'-'
        } else {
            c.is_ascii_hexdigit()
        }
    });
    ok.then(|| s.to_ascii_uppercase())
}

/// A CDM13 UUID: Avro `fixed(16)` written as a JSON string whose 16 code
/// points are the bytes (0–255). Returned as the same canonical text as
/// CDM18/20 UUIDs; `None` when it is not 16 code points up to U+00FF.
pub(crate) fn parse_uuid_fixed(s: &str) -> Option<String> {
    let mut bytes = [0u8; 16];
    let mut chars = s.chars();
    for slot in &mut bytes {
        *slot = u8::try_from(u32::from(chars.next()?)).ok()?;
    }
    if chars.next().is_some() {
        return None;
    }
    Some(uuid_text(&bytes))
}

/// How UUIDs are written in the file being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UuidShape {
    /// CDM18/20: `8-4-4-4-12` text.
    Text,
    /// CDM13: raw bytes as code points.
    Fixed,
}

const UUID_EXPECTED_TEXT: &str = "a UUID as 8-4-4-4-12 hex text";
const UUID_EXPECTED_FIXED: &str = "a UUID as 16 byte-valued characters (CDM13 fixed)";

fn uuid_of(at: At<'_>, name: &str, v: &Value, shape: UuidShape) -> Result<String> {
    let (parsed, expected) = match (v, shape) {
        (Value::String(s), UuidShape::Text) => (parse_uuid_text(s), UUID_EXPECTED_TEXT),
        (Value::String(s), UuidShape::Fixed) => (parse_uuid_fixed(s), UUID_EXPECTED_FIXED),
        (_, UuidShape::Text) => (None, UUID_EXPECTED_TEXT),
        (_, UuidShape::Fixed) => (None, UUID_EXPECTED_FIXED),
    };
    parsed.ok_or_else(|| at.malformed(name, expected, v))
}

/// A required UUID field (plain, not a union).
pub(crate) fn req_uuid(
    at: At<'_>,
    obj: &Map<String, Value>,
    name: &str,
    shape: UuidShape,
) -> Result<String> {
    match obj.get(name) {
        Some(v) => uuid_of(at, name, v, shape),
        None => Err(at.missing(
            name,
            match shape {
                UuidShape::Text => UUID_EXPECTED_TEXT,
                UuidShape::Fixed => UUID_EXPECTED_FIXED,
            },
        )),
    }
}

/// A nullable UUID field: `null` or `{"com.bbn.tc.schema.avro.cdm18.UUID": "…"}`.
/// A bare string is accepted too when the schema declares the field plain in
/// another version (`localPrincipal` is `UUID` in CDM18, a union in CDM20).
pub(crate) fn opt_uuid(
    at: At<'_>,
    obj: &Map<String, Value>,
    name: &str,
    shape: UuidShape,
    bare_ok: bool,
) -> Result<Option<String>> {
    const EXPECTED: &str = "null or {\"com.bbn.tc.schema.avro.cdmNN.UUID\": \"…\"}";
    if bare_ok {
        if let Some(v @ Value::String(_)) = obj.get(name) {
            return uuid_of(at, name, v, shape).map(Some);
        }
    }
    match union(at, obj, name, EXPECTED, |b| b.ends_with("UUID"))? {
        None => Ok(None),
        Some(v) => uuid_of(at, name, v, shape).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &Arc<PathBuf>) -> At<'_> {
        At {
            path,
            line: 7,
            record: "Event",
        }
    }

    fn obj(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn unions_unwrap_and_reject_bare_values() {
        let p = Arc::new(PathBuf::from("x.json"));
        let o = obj(
            r#"{"a":{"string":"/tmp/x"},"b":null,"c":"/bare","d":{"long":5},"e":{"int":1,"long":2}}"#,
        );
        assert_eq!(opt_string(at(&p), &o, "a").unwrap(), Some("/tmp/x"));
        assert_eq!(opt_string(at(&p), &o, "b").unwrap(), None);
        assert_eq!(opt_string(at(&p), &o, "zz").unwrap(), None);
        let e = opt_string(at(&p), &o, "c").unwrap_err();
        assert_eq!(e.kind(), "malformed");
        assert!(
            e.to_string().starts_with("x.json:7: field `datum.Event.c`"),
            "{e}"
        );
        assert_eq!(opt_i64(at(&p), &o, "d").unwrap(), Some(5));
        assert!(opt_i64(at(&p), &o, "a").is_err());
        assert!(opt_i64(at(&p), &o, "e").is_err());
    }

    #[test]
    fn uuids_in_both_shapes_share_one_text() {
        let bytes = *b"J\x0f\xe8\xbe\x1a\xfb{D\xd8\xd0\xd0Px\x00\x01\x02";
        let fixed: String = bytes.iter().map(|b| char::from(*b)).collect();
        let text = parse_uuid_fixed(&fixed).unwrap();
        assert_eq!(text, "4A0FE8BE-1AFB-7B44-D8D0-D05078000102");
        assert_eq!(parse_uuid_text(&text.to_lowercase()).unwrap(), text);
        assert!(parse_uuid_fixed("short").is_none());
        assert!(parse_uuid_fixed("ĀAAAAAAAAAAAAAAA").is_none());
        assert!(parse_uuid_text("4A0FE8BE-1AFB-7B44-D8D0-D0507800010Z").is_none());
    }

    #[test]
    fn uuid_unions_accept_any_cdm_version_branch() {
        let p = Arc::new(PathBuf::from("x.json"));
        let o = obj(
            r#"{"s":{"com.bbn.tc.schema.avro.cdm20.UUID":"674d8313-390a-11e8-bf66-d9aa8aff4a69"},"t":"674D8313-390A-11E8-BF66-D9AA8AFF4A69"}"#,
        );
        assert_eq!(
            opt_uuid(at(&p), &o, "s", UuidShape::Text, false)
                .unwrap()
                .unwrap(),
            "674D8313-390A-11E8-BF66-D9AA8AFF4A69"
        );
        assert!(opt_uuid(at(&p), &o, "t", UuidShape::Text, false).is_err());
        assert!(opt_uuid(at(&p), &o, "t", UuidShape::Text, true)
            .unwrap()
            .is_some());
    }
}
