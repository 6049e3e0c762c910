//! Opening data files (technique tables, STIX bundles, rule files) with a cap
//! on how many bytes may come out of them, gzip or not.
//!
//! Data files can come from outside (a downloaded bundle, a SOC's rule file),
//! so a gzip bomb or an endless file must end in an error, not in OOM.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use crate::{Error, Result};

/// The two bytes every gzip member starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` for reading, decompressing it when it starts with the gzip
/// magic; at most `limit_bytes` (decompressed) come out.
///
/// The caller tells a truncated file from one cut at the cap with
/// [`was_cut`] on the returned reader.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened or its first bytes read.
pub(crate) fn open_capped(path: &Path, limit_bytes: u64) -> Result<std::io::Take<Box<dyn Read>>> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut buffered = BufReader::new(file);
    let head = buffered.fill_buf().map_err(io)?;
    let inner: Box<dyn Read> = if head.starts_with(&GZIP_MAGIC) {
        Box::new(MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    Ok(inner.take(limit_bytes))
}

/// Wraps gzip-or-plain bytes already in memory (the compiled-in files) the
/// same way, so embedded and on-disk data take one code path.
pub(crate) fn from_bytes(bytes: &'static [u8], limit_bytes: u64) -> std::io::Take<Box<dyn Read>> {
    let inner: Box<dyn Read> = if bytes.starts_with(&GZIP_MAGIC) {
        Box::new(MultiGzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    inner.take(limit_bytes)
}

/// True when the cap was reached, i.e. a parse error is most likely the cut
/// and not a malformed file.
pub(crate) fn was_cut<R>(reader: &std::io::Take<R>) -> bool {
    reader.limit() == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_plain_and_gzip_alike_and_stops_at_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.json");
        std::fs::write(&plain, b"0123456789").unwrap();
        let gz = dir.path().join("a.json.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(b"0123456789").unwrap();
        enc.finish().unwrap();

        for p in [&plain, &gz] {
            let mut r = open_capped(p, 4).unwrap();
            let mut out = Vec::new();
            std::io::copy(&mut r, &mut out).unwrap();
            assert_eq!(out, b"0123");
            assert!(was_cut(&r));
            let mut r = open_capped(p, 100).unwrap();
            out.clear();
            std::io::copy(&mut r, &mut out).unwrap();
            assert_eq!(out, b"0123456789");
            assert!(!was_cut(&r));
        }
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let Err(err) = open_capped(Path::new("/nonexistent/x.json"), 1) else {
            panic!("a missing file opened");
        };
        assert!(matches!(err, Error::Io { ref path, .. } if path.ends_with("x.json")));
    }
}
