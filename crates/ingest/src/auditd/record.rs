//! One auditd line → a typed record that borrows the line.
//!
//! A line is `[node=NAME ]type=TYPE msg=audit(SECS.MILLIS:SERIAL): FIELDS`,
//! and in the ENRICHED log format the raw fields are followed by a 0x1d byte
//! and the interpreted upper-case fields (`SYSCALL=openat UID="root"`).
//! Nothing here allocates: keys and values are slices of the line, and
//! hex-encoded values are decoded on demand into a caller's buffer.

/// The group separator that starts the ENRICHED tail.
pub(crate) const ENRICHED_SEPARATOR: u8 = 0x1d;

/// Identity of an audit event: `msg=audit(SECS.MILLIS:SERIAL)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Stamp {
    /// Seconds since the epoch.
    pub secs: u64,
    /// Milliseconds within the second (0..=999).
    pub millis: u32,
    /// Audit serial number.
    pub serial: u64,
}

impl Stamp {
    /// Event time in milliseconds since the epoch (saturating).
    pub fn as_millis(self) -> u64 {
        self.secs
            .saturating_mul(1000)
            .saturating_add(u64::from(self.millis))
    }

    /// Event time as a [`event::Timestamp`]; `None` past the year 2262.
    pub fn timestamp(self) -> Option<event::Timestamp> {
        let secs = i64::try_from(self.secs).ok()?;
        let nanos = self.millis.checked_mul(1_000_000)?;
        event::Timestamp::from_secs_nanos(secs, nanos)
    }
}

/// The record types the coalescer and the edge builder care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordKind {
    /// `SYSCALL`: the syscall, its arguments and the acting process.
    Syscall,
    /// `EXECVE`: the argument vector of an execve.
    Execve,
    /// `PATH`: one path item.
    Path,
    /// `CWD`: the working directory.
    Cwd,
    /// `SOCKADDR`: a socket address.
    Sockaddr,
    /// `PROCTITLE`: the hex-encoded command line of the actor.
    Proctitle,
    /// `FD_PAIR`: the two ends of a pipe.
    FdPair,
    /// `OBJ_PID`: the target of a signal or ptrace.
    ObjPid,
    /// `EOE`: end of a multi-record event.
    Eoe,
    /// Any other type (`LOGIN`, `BPRM_FCAPS`, `USER_CMD`, `DAEMON_START`, ...).
    Other,
}

impl RecordKind {
    /// Kind of a `type=` value.
    pub fn of(name: &[u8]) -> Self {
        match name {
            b"SYSCALL" => Self::Syscall,
            b"EXECVE" => Self::Execve,
            b"PATH" => Self::Path,
            b"CWD" => Self::Cwd,
            b"SOCKADDR" => Self::Sockaddr,
            b"PROCTITLE" => Self::Proctitle,
            b"FD_PAIR" => Self::FdPair,
            b"OBJ_PID" => Self::ObjPid,
            b"EOE" => Self::Eoe,
            _ => Self::Other,
        }
    }

    /// True for the records that only make sense next to a `SYSCALL` record.
    pub fn needs_syscall(self) -> bool {
        matches!(
            self,
            Self::Execve
                | Self::Path
                | Self::Cwd
                | Self::Sockaddr
                | Self::Proctitle
                | Self::FdPair
                | Self::ObjPid
        )
    }
}

/// One parsed line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    /// `node=` prefix, when the log has one.
    pub node: Option<&'a [u8]>,
    /// Its kind.
    pub kind: RecordKind,
    /// Event identity.
    pub stamp: Stamp,
    /// Everything after `): `: the raw fields, then the ENRICHED tail if any.
    pub payload: &'a [u8],
}

/// Why a line is not a record: the field and what was expected there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderFault<'a> {
    /// The field (`type`, `msg`).
    pub field: &'static str,
    /// What was expected.
    pub expected: &'static str,
    /// What was there.
    pub found: &'a [u8],
}

/// Parses the header of one line.
///
/// # Errors
/// A [`HeaderFault`] naming `type` or `msg` when the line does not have the
/// shape `[node=N ]type=T msg=audit(S.M:N):`.
pub(crate) fn parse_record(line: &[u8]) -> Result<Record<'_>, HeaderFault<'_>> {
    let mut rest = line.trim_ascii_start();
    let mut node = None;
    if let Some(after) = rest.strip_prefix(b"node=") {
        let (value, tail) = split_at_space(after);
        node = Some(value);
        rest = tail.trim_ascii_start();
    }
    let Some(after) = rest.strip_prefix(b"type=") else {
        return Err(HeaderFault {
            field: "type",
            expected: "a line starting with `type=` (or `node=... type=`)",
            found: rest,
        });
    };
    let (type_name, tail) = split_at_space(after);
    if type_name.is_empty() {
        return Err(HeaderFault {
            field: "type",
            expected: "a record type name",
            found: after,
        });
    }
    let tail = tail.trim_ascii_start();
    let msg_fault = |found| HeaderFault {
        field: "msg",
        expected: "`msg=audit(SECS.MILLIS:SERIAL):`",
        found,
    };
    let inner = tail.strip_prefix(b"msg=audit(").ok_or(msg_fault(tail))?;
    let close = memchr::memchr(b')', inner).ok_or(msg_fault(tail))?;
    let stamp_bytes = inner.get(..close).ok_or(msg_fault(tail))?;
    let stamp = parse_stamp(stamp_bytes).ok_or(msg_fault(stamp_bytes))?;
    let after_close = inner.get(close.saturating_add(1)..).unwrap_or_default();
    let payload = after_close.strip_prefix(b":").ok_or(msg_fault(tail))?;
    let payload = payload.strip_prefix(b" ").unwrap_or(payload);
    Ok(Record {
        node,
        kind: RecordKind::of(type_name),
        stamp,
        payload,
    })
}

/// `SECS.MILLIS:SERIAL` (auditd always writes three millisecond digits).
fn parse_stamp(bytes: &[u8]) -> Option<Stamp> {
    let dot = memchr::memchr(b'.', bytes)?;
    let colon = memchr::memchr(b':', bytes)?;
    let secs = parse_dec(bytes.get(..dot)?)?;
    let millis_bytes = bytes.get(dot.checked_add(1)?..colon)?;
    if millis_bytes.len() != 3 {
        return None;
    }
    let millis = u32::try_from(parse_dec(millis_bytes)?).ok()?;
    let serial = parse_dec(bytes.get(colon.checked_add(1)?..)?)?;
    Some(Stamp {
        secs,
        millis,
        serial,
    })
}

fn split_at_space(bytes: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b' ', bytes) {
        Some(i) => (
            bytes.get(..i).unwrap_or_default(),
            bytes.get(i..).unwrap_or_default(),
        ),
        None => (bytes, &[]),
    }
}

/// Splits a payload into the raw fields and the ENRICHED tail.
pub(crate) fn split_enriched(payload: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr::memchr(ENRICHED_SEPARATOR, payload) {
        Some(i) => (
            payload.get(..i).unwrap_or_default(),
            payload.get(i.saturating_add(1)..),
        ),
        None => (payload, None),
    }
}

/// A field value as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// `"text"` (the kernel quotes strings it did not hex-encode).
    Quoted(&'a [u8]),
    /// `'text'` (user-space messages nest fields this way).
    SingleQuoted(&'a [u8]),
    /// A bare token: a number, a hex-encoded string, or a word.
    Bare(&'a [u8]),
    /// `(null)`.
    Null,
}

impl<'a> Value<'a> {
    /// The bytes as written, quotes removed (`(null)` gives nothing).
    pub fn raw(self) -> &'a [u8] {
        match self {
            Self::Quoted(v) | Self::SingleQuoted(v) | Self::Bare(v) => v,
            Self::Null => &[],
        }
    }
}

/// Iterates `key=value` fields. Tokens without `=` are skipped; an unclosed
/// quote takes the rest of the input as its value.
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

/// The fields of a raw payload (callers pass the part before the ENRICHED tail).
pub(crate) fn fields(raw: &[u8]) -> Fields<'_> {
    Fields { rest: raw }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest.trim_ascii_start();
            if rest.is_empty() {
                self.rest = rest;
                return None;
            }
            let token_end = memchr::memchr2(b' ', b'=', rest).unwrap_or(rest.len());
            let key = rest.get(..token_end).unwrap_or_default();
            let after = rest.get(token_end..).unwrap_or_default();
            let Some(value_start) = after.strip_prefix(b"=") else {
                // A token without `=`: skip it.
                self.rest = after;
                continue;
            };
            let (value, remaining) = match value_start.first() {
                Some(&q @ (b'"' | b'\'')) => {
                    let body = value_start.get(1..).unwrap_or_default();
                    let (inner, remaining) = match memchr::memchr(q, body) {
                        Some(end) => (
                            body.get(..end).unwrap_or_default(),
                            body.get(end.saturating_add(1)..).unwrap_or_default(),
                        ),
                        None => (body, &[][..]),
                    };
                    let v = if q == b'"' {
                        Value::Quoted(inner)
                    } else {
                        Value::SingleQuoted(inner)
                    };
                    (v, remaining)
                }
                _ => {
                    let (token, remaining) = split_at_space(value_start);
                    let v = if token == b"(null)" {
                        Value::Null
                    } else {
                        Value::Bare(token)
                    };
                    (v, remaining)
                }
            };
            self.rest = remaining;
            return Some((key, value));
        }
    }
}

/// The value of an upper-case ENRICHED field (`SYSCALL=openat`), unquoted.
pub(crate) fn enriched_field<'a>(tail: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    fields(tail).find(|(k, _)| *k == key).map(|(_, v)| v.raw())
}

/// Decimal `u64`; `None` on anything else (signs, spaces, overflow).
pub(crate) fn parse_dec(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in bytes {
        let d = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// Signed decimal (`exit=-2`).
pub(crate) fn parse_signed(bytes: &[u8]) -> Option<i64> {
    match bytes.strip_prefix(b"-") {
        Some(digits) => {
            let n = parse_dec(digits)?;
            0i64.checked_sub_unsigned(n)
        }
        None => i64::try_from(parse_dec(bytes)?).ok(),
    }
}

/// Hexadecimal `u64` without prefix (`a0=ffffff9c`).
pub(crate) fn parse_hex(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in bytes {
        n = n.checked_mul(16)?.checked_add(u64::from(hex_digit(b)?))?;
    }
    Some(n)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => b.checked_sub(b'0'),
        b'a'..=b'f' => b.checked_sub(b'a').and_then(|d| d.checked_add(10)),
        b'A'..=b'F' => b.checked_sub(b'A').and_then(|d| d.checked_add(10)),
        _ => None,
    }
}

/// Appends the bytes that `hex` encodes to `out`; `false` (and `out`
/// unchanged) when `hex` is not an even-length run of hex digits.
pub(crate) fn decode_hex_into(hex: &[u8], out: &mut Vec<u8>) -> bool {
    if !hex.len().is_multiple_of(2) {
        return false;
    }
    let start = out.len();
    for pair in hex.chunks_exact(2) {
        let (Some(&hi), Some(&lo)) = (pair.first(), pair.get(1)) else {
            out.truncate(start);
            return false;
        };
        match (hex_digit(hi), hex_digit(lo)) {
            (Some(h), Some(l)) => out.push(h.wrapping_shl(4) | l),
            _ => {
                out.truncate(start);
                return false;
            }
        }
    }
    true
}

/// True for bytes the kernel writes inside double quotes: printable ASCII
/// other than `"` and space. Anything else would have been hex-encoded
/// (`audit_string_contains_control`), so a quoted value holding other bytes
/// was not written by the kernel.
pub(crate) fn is_kernel_quotable(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| (0x21..=0x7e).contains(&b) && b != b'"')
}

/// The string a kernel string field encodes (`name=`, `cwd=`, `exe=`,
/// EXECVE `aN=`): quoted text as is, bare text hex-decoded, `(null)` as
/// `None`. Appends to `out` and returns the range it wrote.
///
/// # Errors
/// `Err(expected)` when a quoted value holds bytes the kernel would have
/// hex-encoded, or a bare value is not hex.
pub(crate) fn decode_string_into(
    value: Value<'_>,
    out: &mut Vec<u8>,
) -> Result<Option<std::ops::Range<usize>>, &'static str> {
    let start = out.len();
    match value {
        Value::Null => Ok(None),
        Value::Quoted(text) => {
            if !is_kernel_quotable(text) {
                return Err(
                    "printable ASCII in a quoted value (the kernel hex-encodes anything else)",
                );
            }
            out.extend_from_slice(text);
            Ok(Some(start..out.len()))
        }
        Value::SingleQuoted(text) => {
            out.extend_from_slice(text);
            Ok(Some(start..out.len()))
        }
        Value::Bare(hex) => {
            if decode_hex_into(hex, out) {
                Ok(Some(start..out.len()))
            } else {
                Err("a quoted string or an even number of hex digits")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSCALL: &[u8] = b"type=SYSCALL msg=audit(1795507858.552:84486): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c items=1 comm=\"python3\" key=(null)\x1dARCH=x86_64 SYSCALL=openat AUID=\"unknown(4242)\"";

    #[test]
    fn parses_header_and_enriched_tail() {
        let r = parse_record(SYSCALL).unwrap();
        assert_eq!(r.kind, RecordKind::Syscall);
        assert_eq!(
            r.stamp,
            Stamp {
                secs: 1_795_507_858,
                millis: 552,
                serial: 84486
            }
        );
        assert_eq!(r.node, None);
        let (raw, tail) = split_enriched(r.payload);
        assert!(raw.starts_with(b"arch=c000003e"));
        assert_eq!(
            enriched_field(tail.unwrap(), b"SYSCALL"),
            Some(&b"openat"[..])
        );
        let f: Vec<_> = fields(raw).collect();
        assert_eq!(f[0], (&b"arch"[..], Value::Bare(b"c000003e")));
        assert_eq!(f[6], (&b"comm"[..], Value::Quoted(b"python3")));
        assert_eq!(f[7], (&b"key"[..], Value::Null));
    }

    #[test]
    fn reads_node_prefix() {
        let r = parse_record(b"node=web-1 type=EOE msg=audit(1.000:2): ").unwrap();
        assert_eq!(r.node, Some(&b"web-1"[..]));
        assert_eq!(r.kind, RecordKind::Eoe);
        assert_eq!(r.stamp.serial, 2);
        assert_eq!(r.payload, b"");
    }

    #[test]
    fn rejects_bad_headers_naming_the_field() {
        assert_eq!(parse_record(b"hello").unwrap_err().field, "type");
        assert_eq!(
            parse_record(b"type=SYSCALL msg=audit(12:3): x")
                .unwrap_err()
                .field,
            "msg"
        );
        assert_eq!(
            parse_record(b"type=SYSCALL msg=audit(1.2:3): x")
                .unwrap_err()
                .field,
            "msg",
            "milliseconds have three digits"
        );
        assert_eq!(
            parse_record(b"type=SYSCALL msg=audit(1.002:99999999999999999999999): x")
                .unwrap_err()
                .field,
            "msg"
        );
        assert_eq!(
            parse_record(b"type=SYSCALL msg=audit(1.002:9")
                .unwrap_err()
                .field,
            "msg"
        );
    }

    #[test]
    fn single_quoted_user_messages_are_one_value() {
        let raw = b"pid=1 msg='op=PAM:session_open acct=\"root\" res=success' x=1";
        let f: Vec<_> = fields(raw).collect();
        assert_eq!(f.len(), 3);
        assert_eq!(
            f[1].1,
            Value::SingleQuoted(b"op=PAM:session_open acct=\"root\" res=success")
        );
    }

    #[test]
    fn unclosed_quote_and_bare_tokens_do_not_panic() {
        let f: Vec<_> = fields(b"a=\"open junk b= =c").collect();
        assert_eq!(f[0], (&b"a"[..], Value::Quoted(b"open junk b= =c")));
        let f: Vec<_> = fields(b"junk b= =c").collect();
        assert_eq!(
            f,
            vec![(&b"b"[..], Value::Bare(b"")), (&b""[..], Value::Bare(b"c"))]
        );
    }

    #[test]
    fn decodes_strings_by_kernel_rules() {
        let mut out = Vec::new();
        let r = decode_string_into(Value::Bare(b"2F62696E2F7368"), &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(&out[r], b"/bin/sh");
        assert_eq!(decode_string_into(Value::Null, &mut out), Ok(None));
        assert!(decode_string_into(Value::Bare(b"2F6"), &mut out).is_err());
        assert!(decode_string_into(Value::Quoted(b"caf\xc3\xa9"), &mut out).is_err());
        assert_eq!(out, b"/bin/sh");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_hex(b"ffffff9c"), Some(0xffff_ff9c));
        assert_eq!(parse_hex(b"12345678901234567"), None);
        assert_eq!(parse_signed(b"-2"), Some(-2));
        assert_eq!(parse_signed(b"24775"), Some(24775));
        assert_eq!(parse_signed(b"-"), None);
        assert_eq!(parse_dec(b"18446744073709551616"), None);
    }
}
