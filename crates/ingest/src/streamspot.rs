//! StreamSpot. PLACEHOLDER: being written.

use crate::error::{Error, Result};
use crate::input::InputFile;
use crate::{EventIter, IngestSettings};

/// Opens a StreamSpot TSV file.
///
/// # Errors
/// Not yet implemented.
pub fn open(file: &InputFile, _settings: &IngestSettings) -> Result<EventIter> {
    Err(Error::Unsupported {
        path: file.path.clone(),
        line: 0,
        what: "format",
        found: "streamspot".into(),
    })
}
