//! A bounded line reader for the text formats.
//!
//! Why not `BufRead::lines`: it allocates a `String` per line, fails on
//! invalid UTF-8 and has no length cap, so one 10 MB line written by an
//! attacker would be held whole in memory. This reader works on bytes, keeps
//! at most `max_line_bytes` per line, skips the rest of an over-long line with
//! an error naming it, and refuses binary input (NUL bytes) once per file.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Default cap on one line: 1 MiB. The longest real auditd EXECVE record in our
/// corpus is a few KiB; Sysmon JSON lines stay under 64 KiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1024 * 1024;

/// Reads lines as byte slices, with a cap.
pub struct LineReader {
    inner: Box<dyn BufRead + Send>,
    path: Arc<PathBuf>,
    max_line_bytes: usize,
    buf: Vec<u8>,
    line: u64,
    offset: u64,
    format: &'static str,
    saw_data: bool,
    finished: bool,
}

impl LineReader {
    /// Wraps a decompressed stream. `format` names the expected format in errors.
    pub fn new(
        inner: Box<dyn BufRead + Send>,
        path: Arc<PathBuf>,
        max_line_bytes: usize,
        format: &'static str,
    ) -> Self {
        Self {
            inner,
            path,
            max_line_bytes,
            buf: Vec::with_capacity(4096),
            line: 0,
            offset: 0,
            format,
            saw_data: false,
            finished: false,
        }
    }

    /// The path being read.
    pub fn path(&self) -> &Arc<PathBuf> {
        &self.path
    }

    /// 1-based number of the line last returned.
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// The next line without its `\n` (and without a trailing `\r`), or `None`
    /// at the end. After a file-level error (binary data, decompression
    /// failure) the reader returns `None` forever.
    pub fn next_line(&mut self) -> Option<Result<&[u8]>> {
        if self.finished {
            return None;
        }
        self.buf.clear();
        let mut too_long = false;
        let mut read_any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    self.finished = true;
                    return Some(Err(Error::Decompress {
                        path: Arc::clone(&self.path),
                        line: self.line,
                        source,
                    }));
                }
            };
            if available.is_empty() {
                break;
            }
            read_any = true;
            let (chunk, found_newline) = match memchr::memchr(b'\n', available) {
                Some(i) => (available.get(..i).unwrap_or_default(), true),
                None => (available, false),
            };
            if let Some(nul) = memchr::memchr(0, chunk) {
                self.finished = true;
                let offset = self
                    .offset
                    .saturating_add(u64::try_from(self.buf.len()).unwrap_or(0));
                let offset = offset.saturating_add(u64::try_from(nul).unwrap_or(0));
                return Some(Err(Error::BinaryInput {
                    path: Arc::clone(&self.path),
                    offset,
                    format: self.format,
                }));
            }
            if !too_long {
                let room = self.max_line_bytes.saturating_sub(self.buf.len());
                if chunk.len() > room {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            let consumed = if found_newline {
                chunk.len().saturating_add(1)
            } else {
                chunk.len()
            };
            self.inner.consume(consumed);
            self.offset = self
                .offset
                .saturating_add(u64::try_from(consumed).unwrap_or(0));
            if found_newline {
                break;
            }
        }
        if !read_any {
            self.finished = true;
            if !self.saw_data {
                return Some(Err(Error::EmptyInput {
                    path: Arc::clone(&self.path),
                }));
            }
            return None;
        }
        self.saw_data = true;
        self.line = self.line.saturating_add(1);
        if too_long {
            return Some(Err(Error::LineTooLong {
                path: Arc::clone(&self.path),
                line: self.line,
                limit_bytes: self.max_line_bytes,
            }));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Some(Ok(&self.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: &'static [u8], max: usize) -> LineReader {
        LineReader::new(
            Box::new(bytes),
            Arc::new(PathBuf::from("t.log")),
            max,
            "test",
        )
    }

    fn collect(mut r: LineReader) -> Vec<std::result::Result<String, String>> {
        let mut out = Vec::new();
        while let Some(l) = r.next_line() {
            out.push(
                l.map(|b| String::from_utf8_lossy(b).into_owned())
                    .map_err(|e| e.to_string()),
            );
        }
        out
    }

    #[test]
    fn splits_lines_and_strips_cr() {
        assert_eq!(
            collect(reader(b"a\r\nb\nc", 10)),
            vec![Ok("a".into()), Ok("b".into()), Ok("c".into())]
        );
    }

    #[test]
    fn skips_an_over_long_line_and_goes_on() {
        let out = collect(reader(b"ok\n0123456789abcdef\nnext\n", 8));
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], Ok("ok".into()));
        assert_eq!(
            out[1],
            Err("t.log:2: line longer than 8 bytes, skipped".into())
        );
        assert_eq!(out[2], Ok("next".into()));
    }

    #[test]
    fn empty_input_is_an_error_not_silence() {
        let out = collect(reader(b"", 8));
        assert_eq!(out, vec![Err("t.log: empty input, no records".into())]);
    }

    #[test]
    fn binary_input_stops_the_file_once() {
        let out = collect(reader(b"line\nab\0cd\nmore\n", 100));
        assert_eq!(out.len(), 2);
        assert!(out[1]
            .as_ref()
            .unwrap_err()
            .contains("binary data at byte 7"));
    }

    #[test]
    fn invalid_utf8_is_passed_through_as_bytes() {
        let mut r = reader(b"\xff\xfe\n", 10);
        assert_eq!(r.next_line().unwrap().unwrap(), b"\xff\xfe");
    }
}
