//! The JSONL mirror: one file per UTC day, `audit-YYYYMMDD.jsonl`, one
//! canonical record per line, append-only and fsynced per batch. It is a
//! second, plain-text copy that survives the loss of the database and can be
//! shipped to WORM storage; the database stays authoritative.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::record::AuditRecord;
use crate::verify::{Entry, Position};
use crate::{Error, Result};

/// Longest accepted line. Records carry an explanation summary at most; a
/// longer line is reported as malformed rather than buffered.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// The mirror directory.
#[derive(Debug)]
pub struct JsonlMirror {
    dir: PathBuf,
    open: Option<(String, File)>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `YYYYMMDD` of an RFC 3339 timestamp, or `None` when it does not start
/// with a date.
fn day_of(timestamp: &str) -> Option<String> {
    let date = timestamp.get(..10)?;
    let day: String = date.chars().filter(|c| *c != '-').collect();
    (day.len() == 8 && day.bytes().all(|b| b.is_ascii_digit())).then_some(day)
}

fn is_mirror_file(name: &str) -> bool {
    name.strip_prefix("audit-")
        .and_then(|rest| rest.strip_suffix(".jsonl"))
        .is_some_and(|day| day.len() == 8 && day.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads one line of at most `cap` bytes into `buf` (newline stripped).
/// Returns `None` at end of file, `Some(false)` for an over-long line (which
/// is skipped up to its newline).
fn read_capped_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let n = reader.by_ref().take(limit).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(Some(true));
    }
    if buf.len() > cap {
        // Discard the rest of the over-long line.
        let mut sink = Vec::new();
        loop {
            sink.clear();
            let n = reader
                .by_ref()
                .take(64 * 1024)
                .read_until(b'\n', &mut sink)?;
            if n == 0 || sink.last() == Some(&b'\n') {
                break;
            }
        }
        return Ok(Some(false));
    }
    // Last line without a newline.
    Ok(Some(true))
}

impl JsonlMirror {
    /// Opens (creating) the mirror directory.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            open: None,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Mirror files, oldest day first.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        list_files(&self.dir)
    }

    /// Cuts every file back to its last newline: a crash mid-write leaves a
    /// torn line that was never acknowledged. Returns the bytes removed.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn repair_torn_tail(&mut self) -> Result<u64> {
        self.open = None;
        let mut removed = 0u64;
        for path in self.files()? {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(io_err(&path))?;
            let len = file.metadata().map_err(io_err(&path))?.len();
            let keep = last_newline_end(&mut file, len).map_err(io_err(&path))?;
            if keep < len {
                tracing::warn!(message = "Truncated torn line in audit mirror.", path = %path.display(), bytes = len - keep);
                file.set_len(keep).map_err(io_err(&path))?;
                file.sync_all().map_err(io_err(&path))?;
                removed = removed.saturating_add(len - keep);
            }
        }
        Ok(removed)
    }

    /// Seq of the last line of the newest non-empty file.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::BadFile`] when that line is not a record.
    pub fn last_seq(&self) -> Result<Option<u64>> {
        for path in self.files()?.iter().rev() {
            let mut file = File::open(path).map_err(io_err(path))?;
            let len = file.metadata().map_err(io_err(path))?.len();
            if len == 0 {
                continue;
            }
            let cap = u64::try_from(MAX_LINE_BYTES)
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            let start = len.saturating_sub(cap);
            file.seek(SeekFrom::Start(start)).map_err(io_err(path))?;
            let mut tail = vec![0u8; usize::try_from(len - start).unwrap_or(0)];
            file.read_exact(&mut tail).map_err(io_err(path))?;
            let body = tail.strip_suffix(b"\n").unwrap_or(&tail);
            let line = body.rsplit(|b| *b == b'\n').next().unwrap_or(body);
            let record: AuditRecord = serde_json::from_slice(line).map_err(|e| Error::BadFile {
                path: path.clone(),
                reason: format!("last line is not an audit record: {e}"),
            })?;
            return Ok(Some(record.seq));
        }
        Ok(None)
    }

    /// Appends `records` and fsyncs before returning.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::BadArgument`] for a timestamp without a date.
    pub fn append(&mut self, records: &[AuditRecord]) -> Result<()> {
        let mut pending: Vec<u8> = Vec::with_capacity(records.len().saturating_mul(512));
        let mut day: Option<String> = None;
        for record in records {
            let record_day = day_of(&record.timestamp).ok_or_else(|| Error::BadArgument {
                what: "timestamp",
                reason: format!("{:?} does not start with a date", record.timestamp),
            })?;
            if day.as_ref().is_some_and(|d| *d != record_day) {
                if let Some(d) = day.take() {
                    self.write_day(&d, &pending)?;
                }
                pending.clear();
            }
            day = Some(record_day);
            pending.extend_from_slice(record.to_json_line()?.as_bytes());
            pending.push(b'\n');
        }
        if let Some(d) = day {
            self.write_day(&d, &pending)?;
        }
        Ok(())
    }

    fn write_day(&mut self, day: &str, bytes: &[u8]) -> Result<()> {
        if self.open.as_ref().is_none_or(|(d, _)| d != day) {
            let path = self.dir.join(format!("audit-{day}.jsonl"));
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io_err(&path))?;
            self.open = Some((day.to_string(), file));
        }
        let path = self.dir.join(format!("audit-{day}.jsonl"));
        if let Some((_, file)) = self.open.as_mut() {
            file.write_all(bytes).map_err(io_err(&path))?;
            file.sync_data().map_err(io_err(&path))?;
        }
        Ok(())
    }

    /// Removes every record with seq <= `last_deleted` (retention): whole
    /// files are deleted, a file straddling the cut is rewritten atomically
    /// (temp file, fsync, rename).
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn delete_through(&mut self, last_deleted: u64) -> Result<()> {
        self.open = None;
        for path in self.files()? {
            let file = File::open(&path).map_err(io_err(&path))?;
            let mut reader = BufReader::new(file);
            let mut kept: Vec<u8> = Vec::new();
            let mut dropped = 0u64;
            let mut line = Vec::new();
            while let Some(ok) =
                read_capped_line(&mut reader, &mut line, MAX_LINE_BYTES).map_err(io_err(&path))?
            {
                let seq = if ok {
                    serde_json::from_slice::<AuditRecord>(&line)
                        .ok()
                        .map(|r| r.seq)
                } else {
                    None
                };
                // Unreadable lines are kept: retention must not erase evidence of tampering.
                if seq.is_some_and(|s| s <= last_deleted) {
                    dropped = dropped.saturating_add(1);
                } else if ok {
                    kept.extend_from_slice(&line);
                    kept.push(b'\n');
                }
            }
            if dropped == 0 {
                break;
            }
            if kept.is_empty() {
                fs::remove_file(&path).map_err(io_err(&path))?;
            } else {
                let tmp = path.with_extension("jsonl.tmp");
                let mut out = File::create(&tmp).map_err(io_err(&tmp))?;
                out.write_all(&kept).map_err(io_err(&tmp))?;
                out.sync_all().map_err(io_err(&tmp))?;
                fs::rename(&tmp, &path).map_err(io_err(&path))?;
                break;
            }
        }
        Ok(())
    }
}

fn list_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        if entry.file_name().to_str().is_some_and(is_mirror_file) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Offset just past the last newline of the file (0 when none).
fn last_newline_end(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let size = end.min(chunk.len() as u64);
        let start = end - size;
        file.seek(SeekFrom::Start(start))?;
        let buf = chunk
            .get_mut(..usize::try_from(size).unwrap_or(0))
            .unwrap_or_default();
        file.read_exact(buf)?;
        if let Some(i) = buf.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Every line of every mirror file in `dir`, oldest first, as entries for
/// [`crate::verify::Verifier`]; I/O errors end the iteration with an `Err`.
///
/// # Errors
/// [`Error::Io`] when the directory cannot be listed.
pub fn read_mirror(dir: &Path) -> Result<MirrorEntries> {
    Ok(MirrorEntries {
        files: list_files(dir)?.into_iter(),
        current: None,
        line: Vec::new(),
    })
}

/// Iterator returned by [`read_mirror`].
#[derive(Debug)]
pub struct MirrorEntries {
    files: std::vec::IntoIter<PathBuf>,
    current: Option<(PathBuf, BufReader<File>, u64)>,
    line: Vec<u8>,
}

impl Iterator for MirrorEntries {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.current.is_none() {
                let path = self.files.next()?;
                match File::open(&path) {
                    Ok(f) => self.current = Some((path, BufReader::new(f), 0)),
                    Err(source) => return Some(Err(Error::Io { path, source })),
                }
            }
            let (path, reader, line_no) = self.current.as_mut()?;
            match read_capped_line(reader, &mut self.line, MAX_LINE_BYTES) {
                Err(source) => {
                    let path = path.clone();
                    self.current = None;
                    return Some(Err(Error::Io { path, source }));
                }
                Ok(None) => {
                    self.current = None;
                }
                Ok(Some(fits)) => {
                    *line_no = line_no.saturating_add(1);
                    let position = Position::Line {
                        file: path.clone(),
                        line: *line_no,
                    };
                    if !fits {
                        let detail = format!("line longer than {MAX_LINE_BYTES} bytes");
                        return Some(Ok(Entry::Malformed {
                            position,
                            seq: None,
                            detail,
                        }));
                    }
                    return Some(Ok(
                        match serde_json::from_slice::<AuditRecord>(&self.line) {
                            Ok(record) => Entry::Record { position, record },
                            Err(e) => {
                                let seq = serde_json::from_slice::<serde_json::Value>(&self.line)
                                    .ok()
                                    .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64));
                                Entry::Malformed {
                                    position,
                                    seq,
                                    detail: format!("not an audit record: {e}"),
                                }
                            }
                        },
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_and_file_names() {
        assert_eq!(
            day_of("2026-11-24T16:25:16.000000Z").as_deref(),
            Some("20261124")
        );
        assert_eq!(day_of("x"), None);
        assert!(is_mirror_file("audit-20261124.jsonl"));
        assert!(!is_mirror_file("audit-2026112.jsonl"));
        assert!(!is_mirror_file("audit-20261124.jsonl.tmp"));
    }

    #[test]
    fn capped_line_reader_skips_long_lines() {
        let data = b"short\nthis line is long\nok";
        let mut r = &data[..];
        let mut buf = Vec::new();
        assert_eq!(read_capped_line(&mut r, &mut buf, 8).unwrap(), Some(true));
        assert_eq!(buf, b"short");
        assert_eq!(read_capped_line(&mut r, &mut buf, 8).unwrap(), Some(false));
        assert_eq!(read_capped_line(&mut r, &mut buf, 8).unwrap(), Some(true));
        assert_eq!(buf, b"ok");
        assert_eq!(read_capped_line(&mut r, &mut buf, 8).unwrap(), None);
    }
}
