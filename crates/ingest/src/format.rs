//! Input formats, `--format auto` detection, and dispatch to each parser.

use std::io::BufRead;

use crate::error::{Error, Result};
use crate::input::InputFile;
use crate::{auditd, cdm, streamspot, sysmon, EventIter, IngestSettings};

/// A log family we can read. `Auto` sniffs each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// Linux auditd, raw or ENRICHED.
    Auditd,
    /// Windows EVTX (Sysmon, Security and other channels).
    SysmonEvtx,
    /// Windows events as JSON lines (Winlogbeat, NXLog, OTRF, Azure exports).
    SysmonJson,
    /// DARPA TC CDM JSON records (13, 18, 20).
    #[serde(rename = "darpa_tc")]
    DarpaTc,
    /// StreamSpot TSV edges (6-column benchmark or 8-column CDM translation).
    StreamSpot,
    /// Sniff each file.
    Auto,
}

impl InputFormat {
    /// The `--format` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Auditd => "auditd",
            Self::SysmonEvtx => "sysmon-evtx",
            Self::SysmonJson => "sysmon-json",
            Self::DarpaTc => "darpa_tc",
            Self::StreamSpot => "streamspot",
            Self::Auto => "auto",
        }
    }

    /// Guesses the format of `file` from its first bytes.
    ///
    /// # Errors
    /// [`Error::UnknownFormat`] when nothing matches, [`Error::EmptyInput`] for
    /// an empty file, I/O errors from opening it.
    pub fn detect(file: &InputFile) -> Result<Self> {
        let mut reader = file.open()?;
        let head = match reader.fill_buf() {
            Ok(h) => h,
            Err(source) => {
                return Err(Error::Decompress {
                    path: file.path.clone(),
                    line: 0,
                    source,
                })
            }
        };
        if head.is_empty() {
            return Err(Error::EmptyInput {
                path: file.path.clone(),
            });
        }
        Self::sniff(head).ok_or_else(|| Error::UnknownFormat {
            path: file.path.clone(),
        })
    }

    /// Format of a byte prefix, if recognisable.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(b"ElfFile\0") {
            return Some(Self::SysmonEvtx);
        }
        let first_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
        let trimmed = first_line.trim_ascii_start();
        if trimmed.starts_with(b"type=") || trimmed.starts_with(b"node=") {
            return Some(Self::Auditd);
        }
        if trimmed.starts_with(b"{") {
            let has = |needle: &[u8]| memchr::memmem::find(first_line, needle).is_some();
            if has(b"\"datum\"") || has(b"\"CDMVersion\"") {
                return Some(Self::DarpaTc);
            }
            return Some(Self::SysmonJson);
        }
        let tabs = memchr::memchr_iter(b'\t', first_line).count();
        if tabs == 5 || tabs == 7 {
            return Some(Self::StreamSpot);
        }
        None
    }

    /// Opens `file` with this format's parser (`Auto` detects first).
    ///
    /// # Errors
    /// File-level errors: the file cannot be opened, detected or is too large.
    pub fn open(self, file: &InputFile, settings: &IngestSettings) -> Result<EventIter> {
        let format = match self {
            Self::Auto => Self::detect(file)?,
            f => f,
        };
        match format {
            Self::Auditd => auditd::open(file, settings),
            Self::SysmonEvtx => sysmon::open_evtx(file, settings),
            Self::SysmonJson => sysmon::open_json(file, settings),
            Self::DarpaTc => cdm::open(file, settings),
            Self::StreamSpot => streamspot::open(file, settings),
            Self::Auto => Err(Error::UnknownFormat {
                path: file.path.clone(),
            }),
        }
    }
}

impl std::fmt::Display for InputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_family() {
        assert_eq!(
            InputFormat::sniff(b"ElfFile\0rest"),
            Some(InputFormat::SysmonEvtx)
        );
        assert_eq!(
            InputFormat::sniff(b"type=SYSCALL msg=audit(1.2:3): x"),
            Some(InputFormat::Auditd)
        );
        assert_eq!(
            InputFormat::sniff(b"node=h type=SYSCALL msg=audit(1.2:3): x"),
            Some(InputFormat::Auditd)
        );
        assert_eq!(
            InputFormat::sniff(b"{\"datum\":{}}\n"),
            Some(InputFormat::DarpaTc)
        );
        assert_eq!(
            InputFormat::sniff(b"{\"EventID\":1}\n"),
            Some(InputFormat::SysmonJson)
        );
        assert_eq!(
            InputFormat::sniff(b"1\ta\t2\tc\tv\t0\n"),
            Some(InputFormat::StreamSpot)
        );
        assert_eq!(InputFormat::sniff(b"hello world\n"), None);
    }
}
