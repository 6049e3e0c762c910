//! DARPA TC CDM. PLACEHOLDER: being written.

use crate::error::{Error, Result};
use crate::input::InputFile;
use crate::{EventIter, IngestSettings};

/// Bounds of the CDM parser.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CdmSettings {
    /// Most subjects and objects remembered by UUID.
    pub max_entities: usize,
}

impl Default for CdmSettings {
    fn default() -> Self {
        Self {
            max_entities: 1_000_000,
        }
    }
}

/// Opens a CDM JSON file.
///
/// # Errors
/// Not yet implemented.
pub fn open(file: &InputFile, _settings: &IngestSettings) -> Result<EventIter> {
    Err(Error::Unsupported {
        path: file.path.clone(),
        line: 0,
        what: "format",
        found: "darpa_tc".into(),
    })
}
