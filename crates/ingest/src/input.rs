//! Input files: enumerating a path, and opening each file with transparent
//! gzip or zstd decompression chosen by magic bytes, not by file name.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// How a file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (RFC 1952), possibly multi-member.
    Gzip,
    /// Zstandard frames.
    Zstd,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const READ_BUF_BYTES: usize = 256 * 1024;

/// One input file.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Its path, shared by every error and event that points into it.
    pub path: Arc<PathBuf>,
    /// Its compression, from the magic bytes.
    pub compression: Compression,
}

impl InputFile {
    /// Probes `path` for its compression.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened or read.
    pub fn probe(path: &Path) -> Result<Self> {
        let mut file = File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut magic = [0u8; 4];
        let mut got = 0usize;
        while got < magic.len() {
            let rest = magic.get_mut(got..).unwrap_or_default();
            match file.read(rest) {
                Ok(0) => break,
                Ok(n) => got = got.saturating_add(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Io {
                        path: path.to_owned(),
                        source,
                    })
                }
            }
        }
        let head = magic.get(..got).unwrap_or_default();
        let compression = if head.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        };
        Ok(Self {
            path: Arc::new(path.to_owned()),
            compression,
        })
    }

    /// Opens the decompressed byte stream.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened or the zstd decoder cannot start.
    pub fn open(&self) -> Result<Box<dyn BufRead + Send>> {
        let io = |source| Error::Io {
            path: self.path.as_ref().clone(),
            source,
        };
        let file = File::open(self.path.as_ref()).map_err(io)?;
        Ok(match self.compression {
            Compression::None => Box::new(BufReader::with_capacity(READ_BUF_BYTES, file)),
            Compression::Gzip => Box::new(BufReader::with_capacity(
                READ_BUF_BYTES,
                flate2::read::MultiGzDecoder::new(BufReader::new(file)),
            )),
            Compression::Zstd => Box::new(BufReader::with_capacity(
                READ_BUF_BYTES,
                zstd::stream::read::Decoder::new(file).map_err(io)?,
            )),
        })
    }

    /// Reads at most `limit_bytes` of the decompressed stream into memory,
    /// for formats whose parser needs random access (EVTX inside gzip).
    ///
    /// # Errors
    /// [`Error::TooLarge`] past the cap, [`Error::Decompress`] or [`Error::Io`] on read failure.
    pub fn read_capped(&self, limit_bytes: u64) -> Result<Vec<u8>> {
        let reader = self.open()?;
        let mut buf = Vec::new();
        let mut limited = reader.take(limit_bytes.saturating_add(1));
        std::io::copy(&mut limited, &mut buf).map_err(|source| Error::Decompress {
            path: Arc::clone(&self.path),
            line: 0,
            source,
        })?;
        if u64::try_from(buf.len()).unwrap_or(u64::MAX) > limit_bytes {
            return Err(Error::TooLarge {
                path: Arc::clone(&self.path),
                limit_bytes,
            });
        }
        Ok(buf)
    }
}

/// Lists the files under `path` (itself, when it is a file), sorted by path so
/// that runs are reproducible. Hidden files (`.name`) are skipped.
///
/// # Errors
/// [`Error::Io`] when `path` or a folder below it cannot be read.
pub fn list_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?;
            let p = entry.path();
            if p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            let ft = entry.file_type().map_err(|source| Error::Io {
                path: p.clone(),
                source,
            })?;
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn detects_compression_by_magic_not_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plain.gz");
        std::fs::write(&p, b"type=EOE msg=audit(1.0:1): \n").unwrap();
        assert_eq!(InputFile::probe(&p).unwrap().compression, Compression::None);

        let g = dir.path().join("log");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"hello\n").unwrap();
        std::fs::write(&g, enc.finish().unwrap()).unwrap();
        let f = InputFile::probe(&g).unwrap();
        assert_eq!(f.compression, Compression::Gzip);
        assert_eq!(f.read_capped(100).unwrap(), b"hello\n");

        let z = dir.path().join("z");
        std::fs::write(&z, zstd::encode_all(&b"zz\n"[..], 1).unwrap()).unwrap();
        let f = InputFile::probe(&z).unwrap();
        assert_eq!(f.compression, Compression::Zstd);
        assert_eq!(f.read_capped(100).unwrap(), b"zz\n");
        assert!(matches!(f.read_capped(2), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn lists_directories_sorted_without_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b"), b"").unwrap();
        std::fs::write(dir.path().join("a"), b"").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"").unwrap();
        let files = list_files(dir.path()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().to_owned())
            .collect();
        assert_eq!(names, vec![PathBuf::from("a"), PathBuf::from("sub/b")]);
    }

    #[test]
    fn missing_path_names_the_path() {
        let err = list_files(Path::new("/nonexistent/x")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x"));
    }
}
