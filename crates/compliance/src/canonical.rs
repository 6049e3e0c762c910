//! Canonical JSON (RFC 8785, JCS) of values our own code builds, so that a
//! record hashes to the same bytes on every machine and in every language.
//!
//! Rules: object keys sorted by UTF-16 code units (RFC 8785 §3.2.3, which
//! differs from UTF-8 byte order for characters above U+FFFF against
//! U+E000..U+FFFF); no whitespace; strings escaped as RFC 8785 and
//! serde_json both do (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other
//! controls as `\u00xx` in lower case, everything else literal UTF-8).
//!
//! Numbers: integers are written as they are, but only in the IEEE-754
//! exact range |n| <= 2^53-1, because JCS parsers read every number as a
//! double and a larger integer would silently change. Floats use Rust's
//! shortest round-trip digits with the ES6 layout: plain decimal for
//! 1e-6 <= |x| < 1e21, otherwise exponent form `d.ddde+N` / `d.ddde-N`;
//! `-0` is written `0`; NaN and infinities are refused (serde_json cannot
//! hold them anyway). Known deviation: ES6 breaks ties between equally short
//! digit strings by closeness and then evenness; Rust's shortest algorithm
//! picks the closest too, and we have not found a value where they differ,
//! but we have not cross-checked exhaustively against a JavaScript engine.
//!
//! Parsing must round-trip floats exactly (serde_json `float_roundtrip`,
//! enabled in this crate's manifest): a verifier re-parses a stored body
//! and re-serialises it, and a parse 1 ULP off would change the digits.
//!
//! Nesting depth is bounded by whoever built the value: serde_json's parser
//! stops at 128 levels, and our records nest a handful of levels.

use serde_json::{Map, Number, Value};
use std::fmt::Write as _;

use crate::{Error, Result};

/// Largest integer a double holds exactly (2^53 - 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The canonical JSON text of `value`.
///
/// # Errors
/// [`Error::BadArgument`] for an integer outside ±(2^53-1) or a non-finite float.
pub fn to_canonical_string(value: &Value) -> Result<String> {
    let mut out = String::with_capacity(256);
    write_value(value, &mut out)?;
    Ok(out)
}

/// The canonical JSON bytes of `value` (see [`to_canonical_string`]).
///
/// # Errors
/// As [`to_canonical_string`].
pub fn to_canonical_vec(value: &Value) -> Result<Vec<u8>> {
    to_canonical_string(value).map(String::into_bytes)
}

fn write_value(value: &Value, out: &mut String) -> Result<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => write_object(map, out)?,
    }
    Ok(())
}

fn write_object(map: &Map<String, Value>, out: &mut String) -> Result<()> {
    // serde_json keeps insertion order in this workspace (`preserve_order`),
    // so the order must be imposed here.
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    out.push('{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(key, out);
        out.push(':');
        write_value(value, out)?;
    }
    out.push('}');
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(n: &Number, out: &mut String) -> Result<()> {
    if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(unsafe_integer(&i.to_string()));
        }
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        if u > MAX_SAFE_INTEGER {
            return Err(unsafe_integer(&u.to_string()));
        }
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        write_f64(f, out)?;
    } else {
        return Err(Error::BadArgument {
            what: "number",
            reason: format!("{n} is neither an integer nor a double"),
        });
    }
    Ok(())
}

fn unsafe_integer(text: &str) -> Error {
    Error::BadArgument {
        what: "integer",
        reason: format!("{text} is outside ±(2^53-1), which JSON readers cannot hold exactly"),
    }
}

fn write_f64(f: f64, out: &mut String) -> Result<()> {
    if !f.is_finite() {
        return Err(Error::BadArgument {
            what: "number",
            reason: format!("{f} has no JSON form"),
        });
    }
    if f == 0.0 {
        // Both +0 and -0.
        out.push('0');
        return Ok(());
    }
    let magnitude = f.abs();
    if (1e-6..1e21).contains(&magnitude) {
        // Display prints shortest round-trip digits without an exponent and
        // without a trailing ".0" (100.0 -> "100"), as ES6 does in this range.
        let _ = write!(out, "{f}");
    } else {
        // LowerExp prints "1e21" / "1.5e-7"; ES6 wants an explicit "+".
        let text = format!("{f:e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                let _ = write!(out, "{mantissa}e+{exponent}");
            }
            _ => out.push_str(&text),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &Value) -> String {
        to_canonical_string(v).unwrap()
    }

    #[test]
    fn sorts_keys_by_utf16_code_units_not_bytes() {
        // U+1F600 is D83D DE00 in UTF-16, which sorts before U+FB01 (FB01)
        // although its UTF-8 bytes (F0..) sort after (EF AC 81).
        let v = json!({"\u{fb01}": 1, "\u{1f600}": 2, "a": 3, "\u{80}": 4, "B": 5});
        assert_eq!(
            canon(&v),
            "{\"B\":5,\"a\":3,\"\u{80}\":4,\"\u{1f600}\":2,\"\u{fb01}\":1}"
        );
    }

    #[test]
    fn rfc8785_sample_numbers() {
        let v: Value = serde_json::from_str(
            "[333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001, -0.0, 1e21, 1e20, 0.000001, 1e-7, 100.0]",
        )
        .unwrap();
        assert_eq!(
            canon(&v),
            "[333333333.3333333,1e+30,4.5,0.002,1e-27,0,1e+21,100000000000000000000,0.000001,1e-7,100]"
        );
    }

    #[test]
    fn escapes_like_serde_json() {
        let s = "q\"b\\s/\u{08}\u{0c}\n\r\t\u{01}\u{1f}\u{7f}é€😀";
        let v = json!(s);
        assert_eq!(canon(&v), serde_json::to_string(s).unwrap());
        assert_eq!(
            canon(&v),
            "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}é€😀\""
        );
    }

    #[test]
    fn integers_beyond_2_pow_53_are_refused() {
        assert_eq!(canon(&json!(9_007_199_254_740_991u64)), "9007199254740991");
        assert_eq!(
            canon(&json!(-9_007_199_254_740_991i64)),
            "-9007199254740991"
        );
        assert!(to_canonical_string(&json!(9_007_199_254_740_992u64)).is_err());
        assert!(to_canonical_string(&json!(-9_007_199_254_740_992i64)).is_err());
        assert!(to_canonical_string(&json!({"a": [u64::MAX]})).is_err());
    }

    #[test]
    fn nested_values_have_no_whitespace() {
        let v = json!({"z": [true, false, null, {"b": "x", "a": []}], "a": {}});
        assert_eq!(
            canon(&v),
            "{\"a\":{},\"z\":[true,false,null,{\"a\":[],\"b\":\"x\"}]}"
        );
    }
}
