//! The on-disk format of a preprocessed folder (format version 1).
//!
//! ```text
//! DIR/manifest.json   versions, inputs, window settings, per-window index, summary
//! DIR/edges.arrow     Arrow IPC file (Feather v2): one record batch per window
//! DIR/nodes.arrow     Arrow IPC file: one record batch per window
//! ```
//! Batch *i* of both files is window *i*. Arrow IPC was chosen over Parquet
//! because it streams window by window without a row-group rewrite, reads
//! back with zero copies, and opens directly in pandas
//! (`pyarrow.feather.read_table`) and DuckDB. The columns are documented in
//! `docs/formats/preprocessed.md`; changing them bumps [`FORMAT_VERSION`].

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{
    Array, ArrayRef, Int64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::FileWriter;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use event::{EdgeKind, Entity, EntityId, EntityKind, NativeId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::summary::Summary;
use crate::window::{EdgeRow, GraphWindow, WindowSettings};

/// Version of the folder layout and columns.
pub const FORMAT_VERSION: u32 = 1;
/// Manifest file name.
pub const MANIFEST: &str = "manifest.json";
/// Edge file name.
pub const EDGES: &str = "edges.arrow";
/// Node file name.
pub const NODES: &str = "nodes.arrow";

/// Index entry of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowIndex {
    /// Window id (= batch index).
    pub id: u32,
    /// Start, ns since epoch.
    pub start: Timestamp,
    /// End (exclusive), ns since epoch.
    pub end: Timestamp,
    /// Edges in the window.
    pub events: u64,
    /// Entities in the window.
    pub nodes: u64,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Program and version that wrote it.
    pub created_by: String,
    /// Input paths as given.
    pub inputs: Vec<String>,
    /// `--format` as given (`auto` or a format name).
    pub input_format: String,
    /// How windows were cut.
    pub windowing: WindowSettings,
    /// One entry per window, in order.
    pub windows: Vec<WindowIndex>,
    /// The run's summary.
    pub summary: Summary,
}

fn edge_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("window_id", DataType::UInt32, false),
        Field::new("ts", DataType::Int64, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("src", DataType::UInt64, false),
        Field::new("dst", DataType::UInt64, false),
        Field::new("native_type", DataType::Utf8, false),
        Field::new("seq", DataType::UInt64, false),
    ]))
}

fn node_schema() -> SchemaRef {
    let s = |name: &str| Field::new(name, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        Field::new("window_id", DataType::UInt32, false),
        Field::new("id", DataType::UInt64, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("native_scheme", DataType::Utf8, false),
        Field::new("native_id", DataType::Utf8, true),
        s("host"),
        s("name"),
        s("cmdline"),
        Field::new("pid", DataType::UInt32, true),
        Field::new("ppid", DataType::UInt32, true),
        s("user"),
        s("local_addr"),
        s("remote_addr"),
        s("hashes"),
        Field::new("start", DataType::Int64, true),
    ]))
}

fn native_parts(native: &NativeId) -> (&'static str, Option<String>) {
    match native {
        NativeId::AuditdProcess { .. } => ("auditd_process", None),
        NativeId::SysmonProcess { process_guid, .. } => {
            ("sysmon_process", Some(process_guid.clone()))
        }
        NativeId::CdmUuid { uuid } => ("cdm_uuid", Some(uuid.clone())),
        NativeId::StreamSpot { graph_id, node_id } => {
            ("streamspot", Some(format!("{graph_id}:{node_id}")))
        }
        NativeId::Name { name } => ("name", Some(name.clone())),
    }
}

/// Writes windows into a preprocessed folder, one batch per window.
pub struct GraphWriter {
    dir: PathBuf,
    edges: FileWriter<BufWriter<File>>,
    nodes: FileWriter<BufWriter<File>>,
    windows: Vec<WindowIndex>,
}

impl GraphWriter {
    /// Creates `dir` (and parents) and the two Arrow files.
    ///
    /// # Errors
    /// I/O and Arrow errors, naming the file.
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let open = |name: &str, schema: &SchemaRef| -> Result<FileWriter<BufWriter<File>>> {
            let path = dir.join(name);
            let f = File::create(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            FileWriter::try_new(BufWriter::new(f), schema)
                .map_err(|source| Error::Arrow { path, source })
        };
        Ok(Self {
            edges: open(EDGES, &edge_schema())?,
            nodes: open(NODES, &node_schema())?,
            dir: dir.to_owned(),
            windows: Vec::new(),
        })
    }

    /// Appends one window.
    ///
    /// # Errors
    /// Arrow errors naming the file.
    pub fn write_window(&mut self, w: &GraphWindow) -> Result<()> {
        let edges = edge_batch(w).map_err(|source| Error::Arrow {
            path: self.dir.join(EDGES),
            source,
        })?;
        self.edges.write(&edges).map_err(|source| Error::Arrow {
            path: self.dir.join(EDGES),
            source,
        })?;
        let nodes = node_batch(w).map_err(|source| Error::Arrow {
            path: self.dir.join(NODES),
            source,
        })?;
        self.nodes.write(&nodes).map_err(|source| Error::Arrow {
            path: self.dir.join(NODES),
            source,
        })?;
        self.windows.push(WindowIndex {
            id: w.id,
            start: w.start,
            end: w.end,
            events: u64::try_from(w.edges.len()).unwrap_or(u64::MAX),
            nodes: u64::try_from(w.nodes.len()).unwrap_or(u64::MAX),
        });
        Ok(())
    }

    /// Closes the Arrow files and writes `manifest.json`.
    ///
    /// # Errors
    /// I/O and Arrow errors naming the file.
    pub fn finish(
        mut self,
        inputs: Vec<String>,
        input_format: &str,
        windowing: WindowSettings,
        summary: Summary,
    ) -> Result<Manifest> {
        self.edges.finish().map_err(|source| Error::Arrow {
            path: self.dir.join(EDGES),
            source,
        })?;
        self.nodes.finish().map_err(|source| Error::Arrow {
            path: self.dir.join(NODES),
            source,
        })?;
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            created_by: format!("causaldefend {}", env!("CARGO_PKG_VERSION")),
            inputs,
            input_format: input_format.to_owned(),
            windowing,
            windows: self.windows,
            summary,
        };
        let path = self.dir.join(MANIFEST);
        let f = File::create(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::to_writer_pretty(BufWriter::new(f), &manifest)
            .map_err(|source| Error::Manifest { path, source })?;
        Ok(manifest)
    }
}

fn edge_batch(w: &GraphWindow) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let n = w.edges.len();
    let mut window_id = UInt32Builder::with_capacity(n);
    let mut ts = Int64Builder::with_capacity(n);
    let mut kind = StringBuilder::new();
    let mut src = UInt64Builder::with_capacity(n);
    let mut dst = UInt64Builder::with_capacity(n);
    let mut native = StringBuilder::new();
    let mut seq = UInt64Builder::with_capacity(n);
    for e in &w.edges {
        window_id.append_value(w.id);
        ts.append_value(e.ts.as_nanos());
        kind.append_value(e.kind.as_str());
        src.append_value(e.src.0);
        dst.append_value(e.dst.0);
        native.append_value(&*e.native_type);
        seq.append_value(e.seq);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(window_id.finish()),
        Arc::new(ts.finish()),
        Arc::new(kind.finish()),
        Arc::new(src.finish()),
        Arc::new(dst.finish()),
        Arc::new(native.finish()),
        Arc::new(seq.finish()),
    ];
    RecordBatch::try_new(edge_schema(), cols)
}

fn node_batch(w: &GraphWindow) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let n = w.nodes.len();
    let mut window_id = UInt32Builder::with_capacity(n);
    let mut id = UInt64Builder::with_capacity(n);
    let mut kind = StringBuilder::new();
    let mut scheme = StringBuilder::new();
    let mut native_id = StringBuilder::new();
    let mut strs: [StringBuilder; 7] = Default::default();
    let mut pid = UInt32Builder::with_capacity(n);
    let mut ppid = UInt32Builder::with_capacity(n);
    let mut start = Int64Builder::with_capacity(n);
    for e in &w.nodes {
        window_id.append_value(w.id);
        id.append_value(e.id.0);
        kind.append_value(e.kind.as_str());
        let (s, nid) = native_parts(&e.native);
        scheme.append_value(s);
        native_id.append_option(nid);
        let fields = [
            &e.host,
            &e.name,
            &e.cmdline,
            &e.user,
            &e.local_addr,
            &e.remote_addr,
            &e.hashes,
        ];
        for (b, v) in strs.iter_mut().zip(fields) {
            b.append_option(v.as_deref());
        }
        pid.append_option(e.pid);
        ppid.append_option(e.ppid);
        start.append_option(e.start.map(Timestamp::as_nanos));
    }
    let [mut host, mut name, mut cmdline, mut user, mut local, mut remote, mut hashes] = strs;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(window_id.finish()),
        Arc::new(id.finish()),
        Arc::new(kind.finish()),
        Arc::new(scheme.finish()),
        Arc::new(native_id.finish()),
        Arc::new(host.finish()),
        Arc::new(name.finish()),
        Arc::new(cmdline.finish()),
        Arc::new(pid.finish()),
        Arc::new(ppid.finish()),
        Arc::new(user.finish()),
        Arc::new(local.finish()),
        Arc::new(remote.finish()),
        Arc::new(hashes.finish()),
        Arc::new(start.finish()),
    ];
    RecordBatch::try_new(node_schema(), cols)
}

/// Reads a preprocessed folder window by window.
pub struct GraphReader {
    dir: PathBuf,
    manifest: Manifest,
    edges: FileReader<BufReader<File>>,
    nodes: FileReader<BufReader<File>>,
}

impl GraphReader {
    /// Opens `dir` and checks its manifest version.
    ///
    /// # Errors
    /// Missing files, a manifest of another version, Arrow errors.
    pub fn open(dir: &Path) -> Result<Self> {
        let manifest = read_manifest(dir)?;
        let open = |name: &str| -> Result<FileReader<BufReader<File>>> {
            let path = dir.join(name);
            let f = File::open(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            FileReader::try_new(BufReader::new(f), None)
                .map_err(|source| Error::Arrow { path, source })
        };
        Ok(Self {
            edges: open(EDGES)?,
            nodes: open(NODES)?,
            dir: dir.to_owned(),
            manifest,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.manifest.windows.len()
    }

    /// True when there are no windows.
    pub fn is_empty(&self) -> bool {
        self.manifest.windows.is_empty()
    }

    /// Reads window `index`.
    ///
    /// # Errors
    /// A missing batch, wrong column types, unknown kind names.
    pub fn window(&mut self, index: usize) -> Result<GraphWindow> {
        let meta =
            self.manifest
                .windows
                .get(index)
                .cloned()
                .ok_or_else(|| Error::MissingWindow {
                    path: self.dir.clone(),
                    window: index,
                })?;
        let edges_path = self.dir.join(EDGES);
        let nodes_path = self.dir.join(NODES);
        let eb = read_batch(&mut self.edges, index, &edges_path)?;
        let nb = read_batch(&mut self.nodes, index, &nodes_path)?;
        Ok(GraphWindow {
            id: meta.id,
            start: meta.start,
            end: meta.end,
            edges: decode_edges(&eb, index, &edges_path)?,
            nodes: decode_nodes(&nb, index, &nodes_path)?,
        })
    }

    /// Every window in order.
    pub fn windows(&mut self) -> impl Iterator<Item = Result<GraphWindow>> + '_ {
        (0..self.len()).map(move |i| self.window(i))
    }
}

/// Reads and checks `DIR/manifest.json`.
///
/// # Errors
/// Missing or malformed manifest, or another format version.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let f = File::open(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_reader(BufReader::new(f)).map_err(|source| Error::Manifest {
            path: path.clone(),
            source,
        })?;
    let found = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if found != u64::from(FORMAT_VERSION) {
        return Err(Error::VersionMismatch {
            path,
            expected: FORMAT_VERSION,
            found: u32::try_from(found).unwrap_or(u32::MAX),
        });
    }
    serde_json::from_value(value).map_err(|source| Error::Manifest { path, source })
}

fn read_batch(
    reader: &mut FileReader<BufReader<File>>,
    index: usize,
    path: &Path,
) -> Result<RecordBatch> {
    if index >= reader.num_batches() {
        return Err(Error::MissingWindow {
            path: path.to_owned(),
            window: index,
        });
    }
    reader.set_index(index).map_err(|source| Error::Arrow {
        path: path.to_owned(),
        source,
    })?;
    match reader.next() {
        Some(Ok(b)) => Ok(b),
        Some(Err(source)) => Err(Error::Arrow {
            path: path.to_owned(),
            source,
        }),
        None => Err(Error::MissingWindow {
            path: path.to_owned(),
            window: index,
        }),
    }
}

fn column<'a, T: Array + 'static>(
    b: &'a RecordBatch,
    name: &'static str,
    batch: usize,
    path: &Path,
    expected: &'static str,
) -> Result<&'a T> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| Error::Column {
            path: path.to_owned(),
            batch,
            column: name,
            expected,
        })
}

fn opt_str(a: &StringArray, i: usize) -> Option<Arc<str>> {
    (!a.is_null(i)).then(|| Arc::from(a.value(i)))
}

fn decode_edges(b: &RecordBatch, batch: usize, path: &Path) -> Result<Vec<EdgeRow>> {
    let ts = column::<Int64Array>(b, "ts", batch, path, "int64")?;
    let kind = column::<StringArray>(b, "kind", batch, path, "utf8")?;
    let src = column::<UInt64Array>(b, "src", batch, path, "uint64")?;
    let dst = column::<UInt64Array>(b, "dst", batch, path, "uint64")?;
    let native = column::<StringArray>(b, "native_type", batch, path, "utf8")?;
    let seq = column::<UInt64Array>(b, "seq", batch, path, "uint64")?;
    (0..b.num_rows())
        .map(|i| {
            let kind: EdgeKind = kind.value(i).parse().map_err(|source| Error::UnknownName {
                path: path.to_owned(),
                batch,
                row: i,
                source,
            })?;
            Ok(EdgeRow {
                ts: Timestamp::from_nanos(ts.value(i)),
                kind,
                src: EntityId(src.value(i)),
                dst: EntityId(dst.value(i)),
                native_type: Arc::from(native.value(i)),
                seq: seq.value(i),
            })
        })
        .collect()
}

fn decode_nodes(b: &RecordBatch, batch: usize, path: &Path) -> Result<Vec<Arc<Entity>>> {
    let id = column::<UInt64Array>(b, "id", batch, path, "uint64")?;
    let kind = column::<StringArray>(b, "kind", batch, path, "utf8")?;
    let scheme = column::<StringArray>(b, "native_scheme", batch, path, "utf8")?;
    let native_id = column::<StringArray>(b, "native_id", batch, path, "utf8")?;
    let s = |name: &'static str| column::<StringArray>(b, name, batch, path, "utf8");
    let (host, name, cmdline, user, local, remote, hashes) = (
        s("host")?,
        s("name")?,
        s("cmdline")?,
        s("user")?,
        s("local_addr")?,
        s("remote_addr")?,
        s("hashes")?,
    );
    let pid = column::<UInt32Array>(b, "pid", batch, path, "uint32")?;
    let ppid = column::<UInt32Array>(b, "ppid", batch, path, "uint32")?;
    let start = column::<Int64Array>(b, "start", batch, path, "int64")?;
    (0..b.num_rows())
        .map(|i| {
            let kind: EntityKind = kind.value(i).parse().map_err(|source| Error::UnknownName {
                path: path.to_owned(),
                batch,
                row: i,
                source,
            })?;
            let pid_v = (!pid.is_null(i)).then(|| pid.value(i));
            let start_v = (!start.is_null(i)).then(|| Timestamp::from_nanos(start.value(i)));
            let nid = opt_str(native_id, i)
                .map(|s| s.to_string())
                .unwrap_or_default();
            let native = match scheme.value(i) {
                "auditd_process" => NativeId::AuditdProcess {
                    pid: pid_v.unwrap_or(0),
                    start: start_v.unwrap_or_default(),
                },
                "sysmon_process" => NativeId::SysmonProcess {
                    process_guid: nid,
                    pid: pid_v,
                },
                "cdm_uuid" => NativeId::CdmUuid { uuid: nid },
                "streamspot" => {
                    let mut parts = nid.splitn(2, ':').map(|p| p.parse::<u64>().unwrap_or(0));
                    NativeId::StreamSpot {
                        graph_id: parts.next().unwrap_or(0),
                        node_id: parts.next().unwrap_or(0),
                    }
                }
                _ => NativeId::Name { name: nid },
            };
            Ok(Arc::new(Entity {
                id: EntityId(id.value(i)),
                kind,
                native,
                host: opt_str(host, i),
                name: opt_str(name, i),
                cmdline: opt_str(cmdline, i),
                pid: pid_v,
                ppid: (!ppid.is_null(i)).then(|| ppid.value(i)),
                user: opt_str(user, i),
                local_addr: opt_str(local, i),
                remote_addr: opt_str(remote, i),
                hashes: opt_str(hashes, i),
                start: start_v,
            }))
        })
        .collect()
}
