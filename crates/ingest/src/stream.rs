//! Streams events across many input files, keeping going after bad records.

use std::path::Path;

use event::Event;

use crate::error::{Error, Result};
use crate::format::InputFormat;
use crate::input::{list_files, InputFile};
use crate::{EventIter, IngestSettings};

/// Every event of every file under a path, in file order, each file parsed
/// with `format` (or detected). Errors come out in line, with their location;
/// the caller decides whether to stop (`--strict`) or count and continue.
pub struct EventStream {
    files: std::vec::IntoIter<std::path::PathBuf>,
    format: InputFormat,
    settings: IngestSettings,
    current: Option<EventIter>,
    files_opened: u64,
}

impl EventStream {
    /// Lists the files under `path`. Nothing is opened yet.
    ///
    /// # Errors
    /// [`Error::Io`] when `path` does not exist or a folder cannot be listed.
    pub fn open(path: &Path, format: InputFormat, settings: IngestSettings) -> Result<Self> {
        let files = list_files(path)?;
        Ok(Self {
            files: files.into_iter(),
            format,
            settings,
            current: None,
            files_opened: 0,
        })
    }

    /// Number of files started so far.
    pub fn files_opened(&self) -> u64 {
        self.files_opened
    }
}

impl Iterator for EventStream {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(cur) = self.current.as_mut() {
                match cur.next() {
                    Some(item) => return Some(item),
                    None => self.current = None,
                }
            }
            let path = self.files.next()?;
            self.files_opened = self.files_opened.saturating_add(1);
            let opened = InputFile::probe(&path).and_then(|f| self.format.open(&f, &self.settings));
            match opened {
                Ok(it) => self.current = Some(it),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Convenience: a stream that yields nothing but one error (used by parsers
/// that fail before their first record).
pub fn failed(error: Error) -> EventIter {
    Box::new(std::iter::once(Err(error)))
}
