//! Streaming the objects of one top-level JSON array (`objects` of a STIX
//! bundle, `attack_patterns` of our table) one at a time, and reading their
//! fields with errors that say which field was wrong.
//!
//! A full ATT&CK STIX bundle is tens of MB; holding it as one
//! `serde_json::Value` would take several times that. Streaming keeps one
//! object in memory at a time.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// What the walk found besides the array.
#[derive(Debug, Default)]
pub(super) struct Walk {
    /// The top-level `_metadata` object, when there is one.
    pub metadata: Option<Value>,
    /// Whether the array was there at all.
    pub saw_array: bool,
}

/// Reads a JSON document whose top level is an object, handing each item of
/// the array under `array_key` to `on_item` with its index. `on_item`
/// returns a message naming the field it rejected; the walk stops there and
/// the message becomes the error (serde_json adds line and column).
///
/// # Errors
/// The JSON is malformed, the top level is not an object, or `on_item` failed.
pub(super) fn walk_array<R, F>(
    reader: R,
    array_key: &'static str,
    on_item: F,
) -> serde_json::Result<Walk>
where
    R: std::io::Read,
    F: FnMut(usize, Value) -> Result<(), String>,
{
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut on_item = on_item;
    let walk = TopLevel {
        array_key,
        on_item: &mut on_item,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(walk)
}

struct TopLevel<'f> {
    array_key: &'static str,
    on_item: &'f mut dyn FnMut(usize, Value) -> Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = Walk;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Walk, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = Walk;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object with an `{}` array", self.array_key)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Walk, A::Error> {
        let mut walk = Walk::default();
        while let Some(key) = map.next_key::<String>()? {
            if key == self.array_key {
                map.next_value_seed(Items {
                    array_key: self.array_key,
                    on_item: &mut *self.on_item,
                })?;
                walk.saw_array = true;
            } else if key == "_metadata" {
                walk.metadata = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(walk)
    }
}

struct Items<'f> {
    array_key: &'static str,
    on_item: &'f mut dyn FnMut(usize, Value) -> Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` as an array of objects", self.array_key)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while let Some(item) = seq.next_element::<Value>()? {
            (self.on_item)(index, item).map_err(|m| {
                serde::de::Error::custom(format_args!("{}[{index}]: {m}", self.array_key))
            })?;
            index = index.saturating_add(1);
        }
        Ok(())
    }
}

/// Field access on one JSON object; every miss names the field.
pub(super) struct JsonObject<'a>(&'a Map<String, Value>);

impl<'a> JsonObject<'a> {
    /// The object, or a message when `value` is something else.
    pub fn new(value: &'a Value) -> Result<Self, String> {
        value
            .as_object()
            .map(JsonObject)
            .ok_or_else(|| format!("expected an object, found {}", kind_of(value)))
    }

    /// An optional string field.
    pub fn opt_str(&self, field: &str) -> Result<Option<&'a str>, String> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(wrong(field, "a string", v)),
        }
    }

    /// A string field that must be there.
    pub fn str(&self, field: &str) -> Result<&'a str, String> {
        self.opt_str(field)?
            .ok_or_else(|| format!("field `{field}`: missing"))
    }

    /// A boolean field, `default` when absent.
    pub fn bool_or(&self, field: &str, default: bool) -> Result<bool, String> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(wrong(field, "true or false", v)),
        }
    }

    /// A list of strings, empty when absent.
    pub fn str_list(&self, field: &str) -> Result<Vec<String>, String> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(wrong(&format!("{field}[{i}]"), "a string", other)),
                })
                .collect(),
            Some(v) => Err(wrong(field, "a list of strings", v)),
        }
    }

    /// A list of objects, empty when absent.
    pub fn obj_list(&self, field: &str) -> Result<Vec<JsonObject<'a>>, String> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_object()
                        .map(JsonObject)
                        .ok_or_else(|| wrong(&format!("{field}[{i}]"), "an object", v))
                })
                .collect(),
            Some(v) => Err(wrong(field, "a list of objects", v)),
        }
    }
}

fn wrong(field: &str, expected: &str, found: &Value) -> String {
    format!(
        "field `{field}`: expected {expected}, found {}",
        kind_of(found)
    )
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_items_in_order_and_keeps_metadata() {
        let doc =
            br#"{"x": [1, {"a": 2}], "items": [{"n": "a"}, {"n": "b"}], "_metadata": {"v": 1}}"#;
        let mut seen = Vec::new();
        let walk = walk_array(&doc[..], "items", |i, v| {
            seen.push((i, v["n"].as_str().unwrap().to_owned()));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [(0, "a".to_owned()), (1, "b".to_owned())]);
        assert!(walk.saw_array);
        assert_eq!(walk.metadata.unwrap()["v"], 1);
    }

    #[test]
    fn item_error_names_the_index_and_the_field() {
        let doc = br#"{"items": [{"n": "a"}, {"n": 3}]}"#;
        let err = walk_array(&doc[..], "items", |_, v| {
            JsonObject::new(&v)?.str("n").map(|_| ())
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("items[1]: field `n`: expected a string, found a number"),
            "{err}"
        );
    }

    #[test]
    fn trailing_garbage_and_non_objects_are_errors() {
        assert!(walk_array(&br#"{"items": []} x"#[..], "items", |_, _| Ok(())).is_err());
        assert!(walk_array(&br#"[1]"#[..], "items", |_, _| Ok(())).is_err());
    }
}
