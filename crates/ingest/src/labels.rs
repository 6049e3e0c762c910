//! Ground truth: which entities are malicious, for the evaluation stage.
//!
//! In: the label files shipped with each dataset, read as streams (gzip or
//! zstd transparently, one record at a time):
//! - auditd `truth.json` ([`read_auditd_truth`]): malicious pids of one recording;
//! - DARPA TC (and OpTC, ATLASv2) `labels.csv` ([`NodeLabels::read_labels_csv`]):
//!   columns found by header name, since the three files name them differently;
//! - the raw lists under `darpa-tc/ground-truth/`: ThreaTrace's one-UUID-a-line
//!   files ([`NodeLabels::read_uuid_list`]) and PIDSMaker's `node_<attack>.csv`
//!   ([`NodeLabels::read_pidsmaker_nodes`]);
//! - StreamSpot `labels.csv` ([`GraphLabels::read_csv`]).
//!
//! Out: [`GroundTruth`], whose [`GroundTruth::is_malicious`] answers for an
//! [`Entity`]: a CDM UUID listed as malicious, a StreamSpot node whose graph
//! is an attack graph, an auditd process whose pid the recording lists.
//! Everything not listed is benign, as the datasets' own convention says.
//! Every error names file, line and field. Formats: `docs/formats/labels.md`.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use event::{Entity, NativeId, Timestamp};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::input::InputFile;
use crate::lines::{LineReader, DEFAULT_MAX_LINE_BYTES};

/// Largest `truth.json` read (they are about 1 KiB).
const MAX_TRUTH_BYTES: u64 = 16 * 1024 * 1024;

/// One listing of a node as malicious (or benign) by one source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeLabel {
    /// Dataset or engagement (`E3`, `E5`, `optc`, `atlasv2_h1`).
    pub dataset: Arc<str>,
    /// Host (`cadets`, `SysClient0051`), empty when the source does not say.
    pub host: Arc<str>,
    /// Attack or scenario name, empty when the source does not say (ThreaTrace).
    pub attack: Arc<str>,
    /// Node kind as the source writes it (`subject`, `file`, `netflow`).
    pub node_kind: Option<Arc<str>>,
    /// Node name as the source writes it (process, path, `src->dst`).
    pub node_name: Option<Arc<str>>,
    /// True for `malicious`.
    pub malicious: bool,
    /// Who made the list (`PIDSMaker/orthrus`, `threaTrace`).
    pub source: Arc<str>,
}

/// Node labels keyed by node id (CDM UUIDs upper-cased, as the CDM parser
/// writes them; other ids as given, upper-cased too).
#[derive(Debug, Default, Clone)]
pub struct NodeLabels {
    by_id: HashMap<String, Vec<NodeLabel>>,
}

fn key_of(id: &str) -> String {
    id.trim().to_ascii_uppercase()
}

fn open_file(path: &Path) -> Result<(Arc<PathBuf>, Box<dyn std::io::BufRead + Send>)> {
    let file = InputFile::probe(path)?;
    let reader = file.open()?;
    Ok((file.path, reader))
}

fn csv_error(path: &Arc<PathBuf>, line: u64, e: &csv::Error) -> Error {
    Error::malformed(
        path,
        line,
        "record",
        "a CSV record",
        e.to_string().as_bytes(),
    )
}

/// A CSV reader over a (possibly compressed) label file.
type CsvReader = csv::Reader<Box<dyn std::io::BufRead + Send>>;

/// A CSV table with a header row, and its header.
fn open_csv_with_header(path: &Path) -> Result<(Arc<PathBuf>, CsvReader, csv::StringRecord)> {
    let (path, reader) = open_file(path)?;
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let header = csv.headers().map_err(|e| csv_error(&path, 1, &e))?.clone();
    Ok((path, csv, header))
}

/// `Some(true)` for `malicious`/`attack`, `Some(false)` for `benign`,
/// `None` for anything else (surrounding blanks ignored).
fn malicious_label(text: &str) -> Option<bool> {
    match text.trim() {
        "malicious" | "attack" => Some(true),
        "benign" => Some(false),
        _ => None,
    }
}

/// Reads the next CSV record into `record` and returns its line; a record
/// that does not parse is reported in `errors` and skipped. `None` at the end.
fn next_record<R: std::io::Read>(
    csv: &mut csv::Reader<R>,
    record: &mut csv::StringRecord,
    path: &Arc<PathBuf>,
    errors: &mut Vec<Error>,
) -> Option<u64> {
    loop {
        let line = csv.position().line();
        match csv.read_record(record) {
            Ok(false) => return None,
            Ok(true) => return Some(record.position().map_or(line, csv::Position::line)),
            Err(e) => errors.push(csv_error(path, line, &e)),
        }
    }
}

impl NodeLabels {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Distinct node ids.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no node is labelled.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every listing of `id` (any case).
    pub fn get(&self, id: &str) -> &[NodeLabel] {
        self.by_id.get(&key_of(id)).map_or(&[], Vec::as_slice)
    }

    /// True when some source lists `id` as malicious.
    pub fn is_malicious_id(&self, id: &str) -> bool {
        self.get(id).iter().any(|l| l.malicious)
    }

    /// Adds one listing; an identical listing of the same id is not added twice.
    pub fn insert(&mut self, id: &str, label: NodeLabel) {
        let v = self.by_id.entry(key_of(id)).or_default();
        if !v.contains(&label) {
            v.push(label);
        }
    }

    /// Reads a labels table with a header. Columns are found by name:
    /// id `node_uuid` or `node_id` (required), `label` (required:
    /// `malicious` or `benign`), dataset `engagement` or `collection`, `host`,
    /// attack `attack`, `scenario` or `ground_truth_file`, `node_kind`,
    /// `node_name`, `source`. `default_dataset` fills a missing dataset
    /// column (OpTC's file has none). Returns the rows read; bad rows are
    /// returned as errors and skipped.
    ///
    /// # Errors
    /// File-level: the file cannot be opened, or the header lacks a required column.
    pub fn read_labels_csv(&mut self, path: &Path, default_dataset: &str) -> Result<LoadReport> {
        let (path, mut csv, header) = open_csv_with_header(path)?;
        let find = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| header.iter().position(|h| h.trim() == *n))
        };
        let id_col = find(&["node_uuid", "node_id"]).ok_or_else(|| {
            Error::malformed(
                &path,
                1,
                "header",
                "a `node_uuid` or `node_id` column",
                header.as_slice().as_bytes(),
            )
        })?;
        let label_col = find(&["label"]).ok_or_else(|| {
            Error::malformed(
                &path,
                1,
                "header",
                "a `label` column",
                header.as_slice().as_bytes(),
            )
        })?;
        let dataset_col = find(&["engagement", "collection"]);
        let host_col = find(&["host"]);
        let attack_col = find(&["attack", "scenario", "ground_truth_file"]);
        let kind_col = find(&["node_kind"]);
        let name_col = find(&["node_name"]);
        let source_col = find(&["source"]);
        let width = header.len();
        let default_dataset: Arc<str> = Arc::from(default_dataset);
        let mut report = LoadReport::default();
        let mut record = csv::StringRecord::new();
        while let Some(line) = next_record(&mut csv, &mut record, &path, &mut report.errors) {
            if record.len() != width {
                report.errors.push(Error::malformed(
                    &path,
                    line,
                    "columns",
                    "as many columns as the header",
                    record.as_slice().as_bytes(),
                ));
                continue;
            }
            let col = |c: Option<usize>| c.and_then(|i| record.get(i)).map(str::trim);
            let id = col(Some(id_col)).unwrap_or_default();
            if id.is_empty() {
                report.errors.push(Error::malformed(
                    &path,
                    line,
                    header.get(id_col).unwrap_or("node_uuid"),
                    "a node id",
                    b"",
                ));
                continue;
            }
            let label = col(Some(label_col)).unwrap_or_default();
            let malicious = match malicious_label(label) {
                Some(m) => m,
                None => {
                    report.errors.push(Error::malformed(
                        &path,
                        line,
                        "label",
                        "`malicious` or `benign`",
                        label.as_bytes(),
                    ));
                    continue;
                }
            };
            let text = |c: Option<usize>| Arc::<str>::from(col(c).unwrap_or_default());
            let opt = |c: Option<usize>| col(c).filter(|s| !s.is_empty()).map(Arc::<str>::from);
            let label = NodeLabel {
                dataset: col(dataset_col).map_or_else(|| Arc::clone(&default_dataset), Arc::from),
                host: host_col.map_or_else(|| text(dataset_col), |c| text(Some(c))),
                attack: text(attack_col),
                node_kind: opt(kind_col),
                node_name: opt(name_col),
                malicious,
                source: text(source_col),
            };
            self.insert(id, label);
            report.rows = report.rows.saturating_add(1);
        }
        Ok(report)
    }

    /// Reads a list of malicious node UUIDs, one per line (ThreaTrace's
    /// `<host>.txt.gz`). Repeated UUIDs count once.
    ///
    /// # Errors
    /// File-level: the file cannot be opened.
    pub fn read_uuid_list(&mut self, path: &Path, origin: &LabelOrigin) -> Result<LoadReport> {
        let (path, reader) = open_file(path)?;
        let mut lines = LineReader::new(
            reader,
            Arc::clone(&path),
            DEFAULT_MAX_LINE_BYTES,
            "uuid list",
        );
        let mut report = LoadReport::default();
        loop {
            let line_no = lines.line_number().saturating_add(1);
            let Some(line) = lines.next_line() else { break };
            let bytes = match line {
                Ok(b) => b,
                Err(e) => {
                    report.errors.push(e);
                    continue;
                }
            };
            let text = String::from_utf8_lossy(bytes);
            let id = text.trim();
            if id.is_empty() {
                continue;
            }
            if !looks_like_uuid(id) {
                report.errors.push(Error::malformed(
                    &path,
                    line_no,
                    "uuid",
                    "a UUID as 8-4-4-4-12 hex text",
                    bytes,
                ));
                continue;
            }
            self.insert(id, origin.label(None, None));
            report.rows = report.rows.saturating_add(1);
        }
        Ok(report)
    }

    /// Reads a PIDSMaker `node_<attack>.csv`: no header, rows
    /// `uuid,"{'<kind>': '<name>'}",<index>`; the index is PIDSMaker's own and
    /// is dropped. Empty files are valid (some attacks have no nodes).
    ///
    /// # Errors
    /// File-level: the file cannot be opened.
    pub fn read_pidsmaker_nodes(
        &mut self,
        path: &Path,
        origin: &LabelOrigin,
    ) -> Result<LoadReport> {
        let (path, reader) = open_file(path)?;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let mut report = LoadReport::default();
        let mut record = csv::StringRecord::new();
        while let Some(line) = next_record(&mut csv, &mut record, &path, &mut report.errors) {
            let (Some(id), Some(node)) = (record.get(0), record.get(1)) else {
                report.errors.push(Error::malformed(
                    &path,
                    line,
                    "columns",
                    "uuid,\"{'<kind>': '<name>'}\",<index>",
                    record.as_slice().as_bytes(),
                ));
                continue;
            };
            if !looks_like_uuid(id.trim()) {
                report.errors.push(Error::malformed(
                    &path,
                    line,
                    "uuid",
                    "a UUID as 8-4-4-4-12 hex text",
                    id.as_bytes(),
                ));
                continue;
            }
            let Some((kind, name)) = parse_node_dict(node) else {
                report.errors.push(Error::malformed(
                    &path,
                    line,
                    "node",
                    "{'<kind>': '<name>'}",
                    node.as_bytes(),
                ));
                continue;
            };
            self.insert(id, origin.label(Some(kind), Some(name)));
            report.rows = report.rows.saturating_add(1);
        }
        Ok(report)
    }
}

/// `'text'` or `"text"` → `text`.
fn unquote(t: &str) -> Option<&str> {
    let t = t.trim();
    t.strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .or_else(|| t.strip_prefix('"').and_then(|t| t.strip_suffix('"')))
}

/// `{'subject': 'None nginx'}` → (`subject`, `None nginx`).
fn parse_node_dict(s: &str) -> Option<(&str, &str)> {
    let inner = s.trim().strip_prefix('{')?.strip_suffix('}')?;
    let (k, v) = inner.split_once(':')?;
    Some((unquote(k)?, unquote(v)?))
}

/// Text shaped as a UUID (`8-4-4-4-12` hex, any case).
fn looks_like_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// What the raw lists do not say themselves: dataset, host, attack, source.
#[derive(Debug, Clone)]
pub struct LabelOrigin {
    /// Dataset or engagement (`E3`).
    pub dataset: Arc<str>,
    /// Host (`cadets`).
    pub host: Arc<str>,
    /// Attack (empty for ThreaTrace lists).
    pub attack: Arc<str>,
    /// Who made the list.
    pub source: Arc<str>,
}

impl LabelOrigin {
    /// The origin of a PIDSMaker file from its path:
    /// `<source>/<ENGAGEMENT>-<HOST>/node_<attack>.csv`, e.g.
    /// `orthrus/E3-CADETS/node_Nginx_Backdoor_06.csv` → E3, cadets,
    /// Nginx_Backdoor_06, `PIDSMaker/orthrus`. `None` when the path has another shape.
    pub fn from_pidsmaker_path(path: &Path) -> Option<Self> {
        let file = path.file_name()?.to_str()?;
        let attack = file.strip_prefix("node_")?.strip_suffix(".csv")?;
        let dir = path.parent()?;
        let (dataset, host) = dir.file_name()?.to_str()?.split_once('-')?;
        let source = dir.parent()?.file_name()?.to_str()?;
        Some(Self {
            dataset: Arc::from(dataset),
            host: Arc::from(host.to_ascii_lowercase()),
            attack: Arc::from(attack),
            source: Arc::from(format!("PIDSMaker/{source}")),
        })
    }

    fn label(&self, kind: Option<&str>, name: Option<&str>) -> NodeLabel {
        NodeLabel {
            dataset: Arc::clone(&self.dataset),
            host: Arc::clone(&self.host),
            attack: Arc::clone(&self.attack),
            node_kind: kind.map(Arc::from),
            node_name: name.map(Arc::from),
            malicious: true,
            source: Arc::clone(&self.source),
        }
    }
}

/// What a loader read: rows kept and per-row errors (each naming file, line and field).
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Rows added.
    pub rows: u64,
    /// Rows skipped, with why.
    pub errors: Vec<Error>,
}

/// A StreamSpot graph's label.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GraphLabel {
    /// Scenario (`youtube`, `drive-by-download`).
    pub scenario: Arc<str>,
    /// True for attack graphs.
    pub malicious: bool,
}

/// StreamSpot labels by graph id.
#[derive(Debug, Default, Clone)]
pub struct GraphLabels {
    by_graph: HashMap<u64, GraphLabel>,
}

impl GraphLabels {
    /// The label of `graph_id`.
    pub fn get(&self, graph_id: u64) -> Option<&GraphLabel> {
        self.by_graph.get(&graph_id)
    }

    /// Graphs labelled.
    pub fn len(&self) -> usize {
        self.by_graph.len()
    }

    /// True when no graph is labelled.
    pub fn is_empty(&self) -> bool {
        self.by_graph.is_empty()
    }

    /// Reads `graph_id,scenario,label` (header required; label `benign` or `attack`).
    ///
    /// # Errors
    /// File-level: the file cannot be opened or the header is not that one.
    pub fn read_csv(&mut self, path: &Path) -> Result<LoadReport> {
        let (path, mut csv, header) = open_csv_with_header(path)?;
        if header
            .iter()
            .map(str::trim)
            .ne(["graph_id", "scenario", "label"])
        {
            return Err(Error::malformed(
                &path,
                1,
                "header",
                "graph_id,scenario,label",
                header.as_slice().as_bytes(),
            ));
        }
        let mut report = LoadReport::default();
        let mut record = csv::StringRecord::new();
        while let Some(line) = next_record(&mut csv, &mut record, &path, &mut report.errors) {
            let bad = |field: &str, expected: &'static str, found: &str| {
                Error::malformed(&path, line, field, expected, found.as_bytes())
            };
            let (Some(id), Some(scenario), Some(label), None) =
                (record.get(0), record.get(1), record.get(2), record.get(3))
            else {
                report
                    .errors
                    .push(bad("columns", "3 columns", record.as_slice()));
                continue;
            };
            let Ok(graph_id) = id.trim().parse::<u64>() else {
                report
                    .errors
                    .push(bad("graph_id", "a non-negative integer", id));
                continue;
            };
            let malicious = match malicious_label(label) {
                Some(m) => m,
                None => {
                    report
                        .errors
                        .push(bad("label", "`benign` or `attack`", label.trim()));
                    continue;
                }
            };
            self.by_graph.insert(
                graph_id,
                GraphLabel {
                    scenario: Arc::from(scenario.trim()),
                    malicious,
                },
            );
            report.rows = report.rows.saturating_add(1);
        }
        Ok(report)
    }
}

/// Labels of whole log files (the shared Windows set's `labels.csv`: a
/// `path` column relative to the set's folder and a `label` column, among
/// others), for datasets labelled per file rather than per node.
#[derive(Debug, Default, Clone)]
pub struct FileLabels {
    by_path: HashMap<String, bool>,
}

impl FileLabels {
    /// True when `path` (relative, `/`-separated) is an attack file; `None`
    /// when it is not labelled.
    pub fn is_attack(&self, path: &str) -> Option<bool> {
        self.by_path.get(path).copied()
    }

    /// Files labelled.
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// True when no file is labelled.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// Reads a table with a header naming `path` and `label` columns (label
    /// `benign`, or `attack`/`malicious`); other columns are ignored.
    ///
    /// # Errors
    /// File-level: the file cannot be opened or a column is missing.
    pub fn read_csv(&mut self, path: &Path) -> Result<LoadReport> {
        let (path, mut csv, header) = open_csv_with_header(path)?;
        let column = |name: &'static str| {
            header.iter().position(|h| h.trim() == name).ok_or_else(|| {
                Error::malformed(&path, 1, "header", name, header.as_slice().as_bytes())
            })
        };
        let (path_col, label_col) = (column("path")?, column("label")?);
        let mut report = LoadReport::default();
        let mut record = csv::StringRecord::new();
        while let Some(line) = next_record(&mut csv, &mut record, &path, &mut report.errors) {
            let (Some(file), Some(label)) = (record.get(path_col), record.get(label_col)) else {
                report.errors.push(Error::malformed(
                    &path,
                    line,
                    "columns",
                    "the header's columns",
                    record.as_slice().as_bytes(),
                ));
                continue;
            };
            let attack = match malicious_label(label) {
                Some(a) => a,
                None => {
                    report.errors.push(Error::malformed(
                        &path,
                        line,
                        "label",
                        "`benign` or `attack`",
                        label.trim().as_bytes(),
                    ));
                    continue;
                }
            };
            self.by_path.insert(file.trim().to_owned(), attack);
            report.rows = report.rows.saturating_add(1);
        }
        Ok(report)
    }
}

/// One injected attack of an auditd recording.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AttackRoot {
    /// ATT&CK technique (`T1027`).
    pub technique: String,
    /// Atomic test name.
    pub name: String,
    /// Pid of the attack's shell.
    pub root_pid: u32,
    /// Start and end, epoch seconds.
    pub start: f64,
    /// End (the root shell's exit), epoch seconds.
    pub end: f64,
}

/// The ground truth of one auditd recording (`truth.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditdTruth {
    /// `benign` or `attack`.
    pub scenario: String,
    /// Workload start, epoch seconds.
    pub started: f64,
    /// Workload end, epoch seconds.
    pub ended: f64,
    /// The attacks (empty for benign recordings).
    pub roots: Vec<AttackRoot>,
    /// Every malicious pid (roots and descendants).
    pub malicious_pids: BTreeSet<u32>,
}

/// Slack around `started`/`ended` when matching a process start time: the
/// recording starts "a moment before" and ends "shortly after" (README).
const RECORDING_SLACK_NANOS: i64 = 5_000_000_000;

impl AuditdTruth {
    /// True for attack recordings (`scenario: attack`).
    pub fn is_attack(&self) -> bool {
        self.scenario == "attack"
    }

    /// True when `pid`, seen at `start` (when known), is malicious in this
    /// recording. Pids are not reused within a recording, so the pid decides;
    /// the time only rules out a process from another recording.
    pub fn is_malicious_pid(&self, pid: u32, start: Option<Timestamp>) -> bool {
        if !self.malicious_pids.contains(&pid) {
            return false;
        }
        let Some(start) = start else { return true };
        let secs = |s: f64| {
            // Seconds → nanoseconds; the recordings are well inside i64 range.
            #[allow(clippy::cast_possible_truncation)]
            let n = (s * 1e9) as i64;
            n
        };
        let from = secs(self.started).saturating_sub(RECORDING_SLACK_NANOS);
        let to = secs(self.ended).saturating_add(RECORDING_SLACK_NANOS);
        (from..=to).contains(&start.as_nanos())
    }
}

/// Line (1-based) of the first `"field"` key in `text`, for error messages
/// about a JSON document that parsed but has a wrong field.
fn line_of_field(text: &str, field: &str) -> u64 {
    let needle = format!("\"{field}\"");
    text.find(&needle).map_or(1, |at| {
        let before = text.get(..at).unwrap_or_default();
        u64::try_from(before.matches('\n').count())
            .unwrap_or(0)
            .saturating_add(1)
    })
}

/// Reads an auditd recording's `truth.json`.
///
/// # Errors
/// [`Error::Json`] when it does not parse, [`Error::Malformed`] naming the
/// line and field when a field is missing or of the wrong type.
pub fn read_auditd_truth(path: &Path) -> Result<AuditdTruth> {
    let file = InputFile::probe(path)?;
    let path = Arc::clone(&file.path);
    let bytes = file.read_capped(MAX_TRUTH_BYTES)?;
    let text = String::from_utf8_lossy(&bytes);
    let v: Value = serde_json::from_str(&text).map_err(|source| Error::Json {
        path: Arc::clone(&path),
        line: u64::try_from(source.line()).unwrap_or(0),
        source,
    })?;
    let bad = |field: &str, expected: &'static str, found: Option<&Value>| {
        let found = found.map_or_else(|| "nothing (field absent)".to_owned(), Value::to_string);
        let leaf = field.rsplit('.').next().unwrap_or(field);
        Error::malformed(
            &path,
            line_of_field(&text, leaf),
            field,
            expected,
            found.as_bytes(),
        )
    };
    let str_field = |o: &Value, prefix: &str, name: &str| -> Result<String> {
        let f = o.get(name);
        f.and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad(&format!("{prefix}{name}"), "a string", f))
    };
    let num_field = |o: &Value, prefix: &str, name: &str| -> Result<f64> {
        let f = o.get(name);
        f.and_then(Value::as_f64)
            .ok_or_else(|| bad(&format!("{prefix}{name}"), "a number (epoch seconds)", f))
    };
    let pid_of = |p: &Value, field: &str| -> Result<u32> {
        p.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(field, "a pid (integer 0..2^32)", Some(p)))
    };
    let scenario = str_field(&v, "", "scenario")?;
    let started = num_field(&v, "", "started")?;
    let ended = num_field(&v, "", "ended")?;
    let pids = v.get("malicious_pids");
    let mut malicious_pids = BTreeSet::new();
    for p in pids
        .and_then(Value::as_array)
        .ok_or_else(|| bad("malicious_pids", "an array of pids", pids))?
    {
        malicious_pids.insert(pid_of(p, "malicious_pids")?);
    }
    let roots_v = v.get("malicious_roots");
    let mut roots = Vec::new();
    for (i, r) in roots_v
        .and_then(Value::as_array)
        .ok_or_else(|| bad("malicious_roots", "an array", roots_v))?
        .iter()
        .enumerate()
    {
        let prefix = format!("malicious_roots[{i}].");
        let root_pid = r.get("root_pid");
        let root = AttackRoot {
            technique: str_field(r, &prefix, "technique")?,
            name: str_field(r, &prefix, "name")?,
            root_pid: pid_of(
                root_pid.ok_or_else(|| bad(&format!("{prefix}root_pid"), "a pid", None))?,
                &format!("{prefix}root_pid"),
            )?,
            start: num_field(r, &prefix, "start")?,
            end: num_field(r, &prefix, "end")?,
        };
        // The per-root lists are subsets of the top-level one; merge in case a file differs.
        if let Some(list) = r.get("malicious_pids").and_then(Value::as_array) {
            for p in list {
                malicious_pids.insert(pid_of(p, &format!("{prefix}malicious_pids"))?);
            }
        }
        malicious_pids.insert(root.root_pid);
        roots.push(root);
    }
    Ok(AuditdTruth {
        scenario,
        started,
        ended,
        roots,
        malicious_pids,
    })
}

/// All ground truth an evaluation has loaded.
#[derive(Debug, Default, Clone)]
pub struct GroundTruth {
    /// CDM (and other UUID-keyed) node labels.
    pub nodes: NodeLabels,
    /// StreamSpot graph labels.
    pub graphs: GraphLabels,
    /// The auditd recording being evaluated, if any.
    pub auditd: Option<AuditdTruth>,
}

impl GroundTruth {
    /// True when the sources say `entity` is malicious: a CDM UUID listed
    /// malicious, a StreamSpot node of an attack graph, or an auditd process
    /// whose pid the recording lists. Everything else is benign by the
    /// datasets' convention (including entities of other formats).
    pub fn is_malicious(&self, entity: &Entity) -> bool {
        match &entity.native {
            NativeId::CdmUuid { uuid } => self.nodes.is_malicious_id(uuid),
            NativeId::StreamSpot { graph_id, .. } => {
                self.graphs.get(*graph_id).is_some_and(|g| g.malicious)
            }
            NativeId::AuditdProcess { pid, start } => self
                .auditd
                .as_ref()
                .is_some_and(|t| t.is_malicious_pid(*pid, Some(*start))),
            NativeId::SysmonProcess { .. } | NativeId::Name { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pidsmaker_node_dicts() {
        assert_eq!(
            parse_node_dict("{'subject': 'None nginx'}"),
            Some(("subject", "None nginx"))
        );
        assert_eq!(
            parse_node_dict("{'netflow': '1.2.3.4:80->5.6.7.8:9'}"),
            Some(("netflow", "1.2.3.4:80->5.6.7.8:9"))
        );
        assert_eq!(parse_node_dict("subject"), None);
    }

    #[test]
    fn origin_from_pidsmaker_path() {
        let o = LabelOrigin::from_pidsmaker_path(Path::new(
            "x/reapr/E3-CADETS/node_Nginx_Backdoor_06.csv",
        ))
        .unwrap();
        assert_eq!(
            (&*o.dataset, &*o.host, &*o.attack, &*o.source),
            ("E3", "cadets", "Nginx_Backdoor_06", "PIDSMaker/reapr")
        );
        assert!(LabelOrigin::from_pidsmaker_path(Path::new("labels.csv")).is_none());
    }

    #[test]
    fn line_of_field_counts_lines() {
        assert_eq!(line_of_field("{\n \"a\": 1,\n \"b\": 2\n}", "b"), 3);
        assert_eq!(line_of_field("{}", "zz"), 1);
    }
}
