//! The argument vector of an `EXECVE` record, and the `PROCTITLE` fallback.
//!
//! The kernel writes `argc=N a0=... a1=...`, each argument quoted or
//! hex-encoded (when it holds spaces, quotes or non-printable bytes). An
//! argument too long for one record is split: `a1_len=20000 a1[0]=HEX
//! a1[1]=HEX ...`, possibly over several `EXECVE` records of the same event.
//! The joined command line is kept up to `argv_limit_bytes` (laurel's
//! `execve-argv-limit-bytes`); the rest is cut and marked with `…`.

use super::record::{decode_hex_into, decode_string_into, fields, split_enriched, Value};

/// Marker appended when the command line was cut.
const CUT_MARK: &[u8] = "…".as_bytes();

/// A field of an EXECVE record that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArgFault {
    /// The field (`a2`, `a1[3]`).
    pub field: String,
    /// What was expected.
    pub expected: &'static str,
    /// What was there.
    pub found: Vec<u8>,
}

/// Builds the command line (arguments joined by spaces) from the payloads of
/// the event's EXECVE records, in order.
///
/// # Errors
/// An [`ArgFault`] naming the first argument that is neither quoted text nor hex.
pub(crate) fn parse_execve_cmdline<'a>(
    payloads: impl Iterator<Item = &'a [u8]>,
    argv_limit_bytes: usize,
) -> Result<Vec<u8>, ArgFault> {
    let mut cmdline = CappedLine::new(argv_limit_bytes);
    let mut scratch = Vec::new();
    let mut first = true;
    for payload in payloads {
        let (raw, _) = split_enriched(payload);
        for (key, value) in fields(raw) {
            let Some(rest) = key.strip_prefix(b"a") else {
                continue; // argc and anything else
            };
            let is_chunk = rest.contains(&b'[');
            let is_len = rest.ends_with(b"_len");
            if is_len || rest.is_empty() || !rest.first().is_some_and(u8::is_ascii_digit) {
                continue;
            }
            scratch.clear();
            let decoded = if is_chunk {
                // Chunks are hex unless quoted.
                match value {
                    Value::Quoted(t) | Value::SingleQuoted(t) => {
                        scratch.extend_from_slice(t);
                        true
                    }
                    Value::Bare(h) => decode_hex_into(h, &mut scratch),
                    Value::Null => true,
                }
            } else {
                decode_string_into(value, &mut scratch).is_ok()
            };
            if !decoded {
                return Err(ArgFault {
                    field: String::from_utf8_lossy(key).into_owned(),
                    expected: "a quoted argument or an even number of hex digits",
                    found: value.raw().to_vec(),
                });
            }
            // A chunk `aN[i]` with i > 0 continues the argument; `aN` and
            // `aN[0]` start a new one.
            let continues = is_chunk && !rest.ends_with(b"[0]");
            if !continues && !first {
                cmdline.push(b" ");
            }
            first = false;
            cmdline.push(&scratch);
        }
    }
    Ok(cmdline.finish())
}

/// The command line a `PROCTITLE` record encodes (NUL-separated arguments,
/// hex-encoded), with NULs turned into spaces and capped.
///
/// `None` when the value is neither hex nor quoted.
pub(crate) fn parse_proctitle(payload: &[u8], argv_limit_bytes: usize) -> Option<Vec<u8>> {
    let (raw, _) = split_enriched(payload);
    let (_, value) = fields(raw).find(|(k, _)| *k == b"proctitle")?;
    let mut bytes = Vec::new();
    decode_string_into(value, &mut bytes).ok()??;
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    for b in &mut bytes {
        if *b == 0 {
            *b = b' ';
        }
    }
    let mut line = CappedLine::new(argv_limit_bytes);
    line.push(&bytes);
    Some(line.finish())
}

/// A byte string that stops growing at a cap and remembers that it was cut.
struct CappedLine {
    bytes: Vec<u8>,
    limit: usize,
    cut: bool,
}

impl CappedLine {
    fn new(limit: usize) -> Self {
        Self {
            bytes: Vec::new(),
            limit,
            cut: false,
        }
    }

    fn push(&mut self, more: &[u8]) {
        let room = self.limit.saturating_sub(self.bytes.len());
        if more.len() > room {
            self.bytes
                .extend_from_slice(more.get(..room).unwrap_or_default());
            self.cut = true;
        } else {
            self.bytes.extend_from_slice(more);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.cut {
            self.bytes.extend_from_slice(CUT_MARK);
        }
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(payloads: &[&[u8]], limit: usize) -> String {
        String::from_utf8_lossy(&parse_execve_cmdline(payloads.iter().copied(), limit).unwrap())
            .into_owned()
    }

    #[test]
    fn joins_quoted_and_hex_arguments() {
        // Real record from attack_T1003.008-1_s206 (serial 84493).
        let p: &[u8] = b"argc=3 a0=\"/bin/sh\" a1=\"-c\" a2=63702024572F646174612E637376";
        assert_eq!(cmd(&[p], 4096), "/bin/sh -c cp $W/data.csv");
    }

    #[test]
    fn joins_split_long_arguments_across_records() {
        let a: &[u8] = b"argc=3 a0=\"sh\" a1_len=6 a1[0]=616263";
        let b: &[u8] = b"a1[1]=646566 a2=\"x\"";
        assert_eq!(cmd(&[a, b], 4096), "sh abcdef x");
    }

    #[test]
    fn caps_the_command_line() {
        let p: &[u8] = b"argc=2 a0=\"/usr/bin/echo\" a1=\"0123456789\"";
        assert_eq!(cmd(&[p], 16), "/usr/bin/echo 01…");
    }

    #[test]
    fn names_a_bad_argument() {
        let p: &[u8] = b"argc=2 a0=\"x\" a1=ZZ";
        let err = parse_execve_cmdline(std::iter::once(p), 100).unwrap_err();
        assert_eq!(err.field, "a1");
        assert_eq!(err.found, b"ZZ");
    }

    #[test]
    fn proctitle_turns_nuls_into_spaces() {
        let p: &[u8] = b"proctitle=7375646F00636174002F6574632F736861646F77";
        assert_eq!(parse_proctitle(p, 100).unwrap(), b"sudo cat /etc/shadow");
        assert_eq!(
            parse_proctitle(b"proctitle=\"bash\"", 100).unwrap(),
            b"bash"
        );
        assert_eq!(parse_proctitle(b"proctitle=XYZ", 100), None);
    }
}
