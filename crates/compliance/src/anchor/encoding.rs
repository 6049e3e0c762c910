//! Hex and base64 text forms of anchor fields.
//!
//! Written out here (a few dozen lines) rather than pulling in two more
//! crates; hex encoding is the crate's own (`crate::hex`). Decoders refuse bad input with
//! `None` and never panic; callers turn that into a typed error or problem.

/// Lower-case hex of `bytes`: the audit log's one spelling.
pub(crate) use crate::hex::encode as to_hex;

/// A hex digit of either case (TSA serials and nonces come as the TSA
/// writes them).
fn hex_value(c: u8) -> Option<u8> {
    crate::hex::nibble(c.to_ascii_lowercase())
}

/// Bytes of an even-length hex string (either case).
pub(crate) fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(hex_value(*hi)? << 4 | hex_value(*lo)?),
            _ => None,
        })
        .collect()
}

/// A SHA-256 value written as exactly 64 hex digits.
pub(crate) fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    parse_hex(text)?.try_into().ok()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648 section 4) with `=` padding.
pub(crate) fn to_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3).saturating_mul(4));
    for chunk in bytes.chunks(3) {
        let b0 = chunk.first().copied().unwrap_or(0);
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        let sextet = |shift: u32| char::from(B64[((n >> shift) & 0x3f) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

fn base64_value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decode standard padded base64; refuses missing padding, stray characters
/// and non-canonical trailing bits.
pub(crate) fn parse_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let quads = bytes.len() / 4;
    for (i, quad) in bytes.chunks_exact(4).enumerate() {
        let last = i + 1 == quads;
        let [a, b, c, d] = <[u8; 4]>::try_from(quad).ok()?;
        let pad = match (c, d) {
            (b'=', b'=') if last => 2,
            (_, b'=') if last && c != b'=' => 1,
            _ => 0,
        };
        let va = base64_value(a)?;
        let vb = base64_value(b)?;
        let vc = if pad >= 2 { 0 } else { base64_value(c)? };
        let vd = if pad >= 1 { 0 } else { base64_value(d)? };
        let n = (va << 18) | (vb << 12) | (vc << 6) | vd;
        let [_, x, y, z] = n.to_be_bytes();
        match pad {
            0 => out.extend_from_slice(&[x, y, z]),
            1 if z == 0 => out.extend_from_slice(&[x, y]),
            2 if y == 0 && z == 0 => out.push(x),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_bad_digits() {
        let data = [0u8, 1, 0x7f, 0x80, 0xff];
        assert_eq!(to_hex(&data), "00017f80ff");
        assert_eq!(parse_hex("00017F80ff").unwrap(), data);
        assert!(parse_hex("0").is_none());
        assert!(parse_hex("0g").is_none());
        assert!(parse_hex32(&"ab".repeat(31)).is_none());
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in vectors {
            assert_eq!(to_base64(plain.as_bytes()), coded);
            assert_eq!(parse_base64(coded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(parse_base64(&to_base64(&all)).unwrap(), all);
    }

    #[test]
    fn base64_rejects_malformed_text() {
        for bad in [
            "Zg=", "Zg==Zg==", "Z===", "Zh==", "Zm9v!A==", "=AAA", "Zm=v",
        ] {
            assert!(parse_base64(bad).is_none(), "{bad}");
        }
    }
}
