//! Node features and the message-passing structure of one window.
//!
//! A node's feature vector says what it is and how it behaved in the window,
//! never who it is: kind (one-hot), outgoing and incoming edge-type counts
//! (log-scaled), hashed tokens, distinct in/out neighbours, and when in the
//! window it was active. Identity-free features let the model generalise
//! across hosts and pid reuse; the hashed tokens are what makes
//! `cat /etc/shadow` look unlike `cat notes.txt`.
//!
//! Tokens go to separate blocks, each L2-normalised on its own: the program
//! image of a process, its command line, the name of an object (file,
//! socket, registry key, ...), and addresses and user. One shared block let
//! the thousands of file-path tokens of a busy host fill every bucket, so a
//! never-seen program (`uname`, `useradd`) landed in a bucket the model had
//! learnt to expect noise in; apart, the few dozen program names of a host
//! leave most image buckets empty, and a new program stands out.
//!
//! Paths contribute their first component and their base name only
//! (`/tmp/wl3k2j9a/data.csv` gives `tmp` and `data.csv`): the middle of a
//! path is where per-run directories (`mktemp`, build trees) live, and those
//! make every run look new. Base names that are themselves random (`cc4f1Xa.o`)
//! are what [`normalise_token`] and [`looks_random`] are for.
//!
//! The layout is versioned by [`FEATURE_SCHEMA`]: a checkpoint records it and
//! refuses input built with another layout.

use std::collections::HashMap;
use std::sync::Arc;

use event::{EdgeKind, Entity, EntityId, EntityKind};
use graph::GraphWindow;

/// Version of the feature layout below. Bump it when anything here changes.
pub const FEATURE_SCHEMA: &str = "cd-features-v3";

/// Buckets of the program-image block (processes).
pub const IMAGE_BUCKETS: usize = 128;
/// Buckets of the command-line block (processes).
pub const CMDLINE_BUCKETS: usize = 256;
/// Buckets of the object-name block (everything but processes).
pub const OBJECT_BUCKETS: usize = 256;
/// Buckets of the address and user block.
pub const CONTEXT_BUCKETS: usize = 32;
/// Most tokens taken from one command line.
const MAX_CMDLINE_TOKENS: usize = 24;

const KIND_OFFSET: usize = 0;
const OUT_OFFSET: usize = KIND_OFFSET + EntityKind::ALL.len();
const IN_OFFSET: usize = OUT_OFFSET + EdgeKind::ALL.len();
const IMAGE_OFFSET: usize = IN_OFFSET + EdgeKind::ALL.len();
const CMDLINE_OFFSET: usize = IMAGE_OFFSET + IMAGE_BUCKETS;
const OBJECT_OFFSET: usize = CMDLINE_OFFSET + CMDLINE_BUCKETS;
const CONTEXT_OFFSET: usize = OBJECT_OFFSET + OBJECT_BUCKETS;
const DEGREE_OFFSET: usize = CONTEXT_OFFSET + CONTEXT_BUCKETS;
const TIME_OFFSET: usize = DEGREE_OFFSET + 2;

/// Length of a node's feature vector.
pub const FEATURE_DIM: usize = TIME_OFFSET + 2;

/// Message-passing edge types: each provenance kind forward, each reversed,
/// and the self loop. Reverse edges let a file's state reach the process that
/// read it *and* the process that wrote it.
pub const EDGE_TYPES: usize = 2 * EdgeKind::ALL.len() + 1;
/// Type index of the self loop.
pub const SELF_LOOP_TYPE: u32 = 2 * EdgeKind::ALL.len() as u32;

/// One window made ready for the model: dense features and the edge lists.
#[derive(Debug, Clone)]
pub struct PreparedWindow {
    /// Window id in its source.
    pub window_id: u32,
    /// Window start and end (ns).
    pub start_ns: i64,
    /// End (ns).
    pub end_ns: i64,
    /// Node entities, in row order.
    pub nodes: Vec<Arc<Entity>>,
    /// Row-major `[nodes, FEATURE_DIM]`.
    pub features: Vec<f32>,
    /// Distinct provenance edges `(src row, dst row, kind index)`, parallel
    /// edges merged (event merging: 4,000 reads of one file are one edge).
    pub edges: Vec<(u32, u32, u32)>,
    /// Events in the window before merging.
    pub events: usize,
}

impl PreparedWindow {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the window has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Message-passing lists `(src, dst, type)`: every edge forward and
    /// reversed, plus a self loop per node.
    pub fn message_edges(&self) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let n = self.nodes.len();
        let cap = self.edges.len() * 2 + n;
        let (mut s, mut d, mut t) = (
            Vec::with_capacity(cap),
            Vec::with_capacity(cap),
            Vec::with_capacity(cap),
        );
        let kinds = EdgeKind::ALL.len() as u32;
        for &(a, b, k) in &self.edges {
            s.push(a);
            d.push(b);
            t.push(k);
            s.push(b);
            d.push(a);
            t.push(k + kinds);
        }
        for i in 0..n as u32 {
            s.push(i);
            d.push(i);
            t.push(SELF_LOOP_TYPE);
        }
        (s, d, t)
    }
}

/// Builds the model input of a window. `max_edges` caps the merged edges
/// kept (a deterministic choice by hash, so the same window always gives the
/// same graph); the caps bound memory whatever a window holds.
pub fn prepare(window: &GraphWindow, max_edges: usize) -> PreparedWindow {
    let n = window.nodes.len();
    let row: HashMap<EntityId, u32> = window
        .nodes
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id, i as u32))
        .collect();
    let mut features = vec![0f32; n * FEATURE_DIM];
    let mut first = vec![i64::MAX; n];
    let mut last = vec![i64::MIN; n];
    let mut merged: HashMap<(u32, u32, u32), u32> = HashMap::new();
    for e in &window.edges {
        let (Some(&s), Some(&d)) = (row.get(&e.src), row.get(&e.dst)) else {
            continue;
        };
        let k = e.kind.index();
        features[s as usize * FEATURE_DIM + OUT_OFFSET + k] += 1.0;
        features[d as usize * FEATURE_DIM + IN_OFFSET + k] += 1.0;
        let ts = e.ts.as_nanos();
        for r in [s as usize, d as usize] {
            first[r] = first[r].min(ts);
            last[r] = last[r].max(ts);
        }
        *merged.entry((s, d, k as u32)).or_default() += 1;
    }
    let mut edges: Vec<(u32, u32, u32)> = merged.into_keys().collect();
    edges.sort_unstable();
    if edges.len() > max_edges {
        edges.sort_by_key(|&(s, d, k)| mix(u64::from(s) << 40 ^ u64::from(d) << 8 ^ u64::from(k)));
        edges.truncate(max_edges);
        edges.sort_unstable();
    }
    let mut out_deg = vec![0u32; n];
    let mut in_deg = vec![0u32; n];
    for &(s, d, _) in &edges {
        out_deg[s as usize] += 1;
        in_deg[d as usize] += 1;
    }
    let span = (window.end.as_nanos() - window.start.as_nanos()).max(1) as f64;
    for (i, entity) in window.nodes.iter().enumerate() {
        let f = &mut features[i * FEATURE_DIM..(i + 1) * FEATURE_DIM];
        f[KIND_OFFSET + entity.kind.index()] = 1.0;
        for v in &mut f[OUT_OFFSET..IMAGE_OFFSET] {
            *v = v.ln_1p();
        }
        hash_tokens(entity, &mut f[IMAGE_OFFSET..DEGREE_OFFSET]);
        f[DEGREE_OFFSET] = (out_deg[i] as f32).ln_1p();
        f[DEGREE_OFFSET + 1] = (in_deg[i] as f32).ln_1p();
        if first[i] <= last[i] {
            let from_start = (first[i] - window.start.as_nanos()) as f64 / span;
            let active = (last[i] - first[i]) as f64 / span;
            f[TIME_OFFSET] = from_start.clamp(0.0, 1.0) as f32;
            f[TIME_OFFSET + 1] = active.clamp(0.0, 1.0) as f32;
        }
    }
    PreparedWindow {
        window_id: window.id,
        start_ns: window.start.as_nanos(),
        end_ns: window.end.as_nanos(),
        nodes: window.nodes.clone(),
        features,
        edges,
        events: window.edges.len(),
    }
}

/// SplitMix64 finaliser: a cheap, well-spread hash of a u64.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// FNV-1a of a token, for bucket and sign.
fn token_hash(field: u8, token: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(field);
    for b in token.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// Normalises a token so that per-run noise (pids, hex ids) does not make
/// every path unique: digit runs become `0`, long hex-ish tokens become
/// `<hex>`.
pub fn normalise_token(raw: &str) -> String {
    let lower = raw.to_ascii_lowercase();
    if lower.len() >= 8 && lower.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return "<hex>".to_owned();
    }
    digits_to_zero(&lower)
}

/// [`normalise_token`], and random-looking names become `<rand>` (keeping
/// an extension, so `cc4f1Xa.o` is `<rand>.o`). Used for command lines and
/// object names, where temp names live; program images keep their names
/// (`sha256sum` would read as random).
pub fn normalise_name_token(raw: &str) -> String {
    let lower = raw.to_ascii_lowercase();
    let (stem, ext) = match lower.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 4 => (stem, Some(ext)),
        _ => (lower.as_str(), None),
    };
    if looks_random(stem) {
        return match ext {
            Some(e) => format!("<rand>.{}", digits_to_zero(e)),
            None => "<rand>".to_owned(),
        };
    }
    normalise_token(&lower)
}

/// Digit runs become a single `0`.
fn digits_to_zero(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('0');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// True for names that `mktemp`, compilers and version-control tools make
/// up (`tmp_obj_nxhfrg`, `wl68lwyilm`, `cc4f1xa`): six or more characters of
/// `[a-z0-9_]` where a letter run is broken by a few digits (`wl68lw`), or
/// where a run of five or more consonants appears (`nxhfrg`), which words
/// and program names rarely have (`systemctl` has four in a row). Names like
/// `sha256sum` also read as random: see [`normalise_name_token`] for where
/// this rule applies.
///
/// A wrong "random" costs little: the token still counts, as `<rand>`, and
/// the program image, the path's first component and the graph around it
/// still say what it is.
pub fn looks_random(stem: &str) -> bool {
    let b = stem.as_bytes();
    if b.len() < 6
        || !b
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
    {
        return false;
    }
    // A run of one to three digits with letters on both sides (`wl68lw`,
    // `c4f`, `l506b`).
    let mut interleaved = false;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let j = (i..b.len())
                .find(|&j| !b[j].is_ascii_digit())
                .unwrap_or(b.len());
            if i > 0
                && j < b.len()
                && j - i <= 3
                && b[i - 1].is_ascii_lowercase()
                && b[j].is_ascii_lowercase()
            {
                interleaved = true;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    let mut run = 0usize;
    let mut longest = 0usize;
    for &c in b {
        if c.is_ascii_lowercase() && !b"aeiouy".contains(&c) {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    interleaved || longest >= 5
}

fn is_sep(c: char) -> bool {
    matches!(
        c,
        '/' | '\\'
            | ' '
            | '\t'
            | '\n'
            | '='
            | ':'
            | ','
            | ';'
            | '"'
            | '\''
            | '['
            | ']'
            | '('
            | ')'
            | '@'
    )
}

/// First component and base name of a path (`/tmp/wl3k/data.csv`: `tmp`,
/// `data.csv`; `C:\\Windows\\System32\\cmd.exe`: `windows`, `cmd.exe`;
/// a drive letter is skipped). A name without separators is its own base.
fn path_ends(path: &str) -> (Option<&str>, Option<&str>) {
    let mut parts = path
        .split(['/', '\\'])
        .filter(|p| !(p.is_empty() || p.len() == 2 && p.ends_with(':')));
    let first = parts.next();
    let last = parts.next_back();
    match last {
        Some(l) => (first, Some(l)),
        None => (None, first),
    }
}

/// Hash field of program-image tokens (the ones that keep random-looking
/// names).
const IMAGE_FIELD: u8 = 1;

/// Adds one signed hashed token into `out`.
fn add_token(out: &mut [f32], field: u8, raw: &str) {
    let token = if field == IMAGE_FIELD {
        normalise_token(raw)
    } else {
        normalise_name_token(raw)
    };
    let h = token_hash(field, &token);
    let bucket = (h % out.len() as u64) as usize;
    let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
    out[bucket] += sign;
}

/// L2-normalises `v` in place (no-op when it is zero).
fn unit(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in v.iter_mut() {
            *x /= norm;
        }
    }
}

/// Fills the token blocks (`out` spans image, command line, object and
/// context blocks, in that order).
fn hash_tokens(entity: &Entity, out: &mut [f32]) {
    let (image, rest) = out.split_at_mut(IMAGE_BUCKETS);
    let (cmdline, rest) = rest.split_at_mut(CMDLINE_BUCKETS);
    let (object, context) = rest.split_at_mut(OBJECT_BUCKETS);
    let (named, field) = if entity.kind == EntityKind::Process {
        (&mut *image, IMAGE_FIELD)
    } else {
        (&mut *object, 2)
    };
    if let Some(name) = &entity.name {
        let (first, base) = path_ends(name);
        for t in [first, base].into_iter().flatten() {
            add_token(named, field, t);
        }
    }
    if let Some(cmd) = &entity.cmdline {
        // Arguments that are paths count by their two ends, like names.
        let mut taken = 0;
        for arg in cmd.split_whitespace() {
            if taken >= MAX_CMDLINE_TOKENS {
                break;
            }
            if arg.contains('/') || arg.contains('\\') {
                let (first, base) = path_ends(arg);
                for t in [first, base].into_iter().flatten() {
                    add_token(cmdline, 3, t);
                    taken += 1;
                }
            } else {
                for t in arg.split(is_sep).filter(|t| !t.is_empty()) {
                    add_token(cmdline, 3, t);
                    taken += 1;
                }
            }
        }
    }
    if let Some(a) = &entity.remote_addr {
        for t in a.split(is_sep).filter(|t| !t.is_empty()).take(4) {
            add_token(context, 4, t);
        }
    }
    if let Some(u) = &entity.user {
        for t in u.split(is_sep).filter(|t| !t.is_empty()).take(2) {
            add_token(context, 5, t);
        }
    }
    unit(image);
    unit(cmdline);
    unit(object);
    unit(context);
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::{NativeId, Timestamp};
    use graph::EdgeRow;

    fn proc(pid: u32, exe: &str) -> Arc<Entity> {
        Arc::new(
            Entity::new(
                EntityKind::Process,
                NativeId::AuditdProcess {
                    pid,
                    start: Timestamp::from_nanos(0),
                },
                None,
            )
            .with_name(exe)
            .with_pid(pid),
        )
    }

    fn file(path: &str) -> Arc<Entity> {
        Arc::new(Entity::named(EntityKind::File, path, None))
    }

    fn window() -> GraphWindow {
        let p = proc(10, "/usr/bin/cat");
        let f = file("/etc/shadow");
        let mut nodes = vec![p.clone(), f.clone()];
        nodes.sort_by_key(|e| e.id);
        let edge = |ts: i64, kind| EdgeRow {
            ts: Timestamp::from_nanos(ts),
            kind,
            src: p.id,
            dst: f.id,
            native_type: "openat".into(),
            seq: 0,
        };
        GraphWindow {
            id: 0,
            start: Timestamp::from_nanos(0),
            end: Timestamp::from_nanos(1000),
            nodes,
            edges: vec![edge(100, EdgeKind::Read), edge(600, EdgeKind::Read)],
        }
    }

    #[test]
    fn hand_computed_features_of_a_tiny_window() {
        let w = window();
        let pw = prepare(&w, 100);
        let prow = pw
            .nodes
            .iter()
            .position(|e| e.kind == EntityKind::Process)
            .unwrap();
        let frow = 1 - prow;
        let pf = &pw.features[prow * FEATURE_DIM..(prow + 1) * FEATURE_DIM];
        let ff = &pw.features[frow * FEATURE_DIM..(frow + 1) * FEATURE_DIM];
        // one-hot kind
        assert_eq!(pf[KIND_OFFSET + EntityKind::Process.index()], 1.0);
        assert_eq!(ff[KIND_OFFSET + EntityKind::File.index()], 1.0);
        // two reads out of the process, two into the file: ln(1+2)
        let r = EdgeKind::Read.index();
        assert!((pf[OUT_OFFSET + r] - 3f32.ln()).abs() < 1e-6);
        assert!((ff[IN_OFFSET + r] - 3f32.ln()).abs() < 1e-6);
        assert_eq!(pf[IN_OFFSET + r], 0.0);
        // merged into one distinct edge: degree ln(2)
        assert_eq!(pw.edges.len(), 1);
        assert!((pf[DEGREE_OFFSET] - 2f32.ln()).abs() < 1e-6);
        assert!((ff[DEGREE_OFFSET + 1] - 2f32.ln()).abs() < 1e-6);
        // active from 10 % to 60 % of the window
        assert!((pf[TIME_OFFSET] - 0.1).abs() < 1e-6);
        assert!((pf[TIME_OFFSET + 1] - 0.5).abs() < 1e-6);
        // the process fills the image block only, the file the object block
        // only, each at unit length
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm(&pf[IMAGE_OFFSET..CMDLINE_OFFSET]) - 1.0).abs() < 1e-5);
        assert_eq!(norm(&pf[OBJECT_OFFSET..CONTEXT_OFFSET]), 0.0);
        assert!((norm(&ff[OBJECT_OFFSET..CONTEXT_OFFSET]) - 1.0).abs() < 1e-5);
        assert_eq!(norm(&ff[IMAGE_OFFSET..CMDLINE_OFFSET]), 0.0);
        assert_eq!(pw.events, 2);
    }

    #[test]
    fn message_edges_add_reverse_and_self_loops() {
        let pw = prepare(&window(), 100);
        let (s, d, t) = pw.message_edges();
        assert_eq!(s.len(), 2 + 2);
        let kinds = EdgeKind::ALL.len() as u32;
        let (a, b, k) = pw.edges[0];
        assert_eq!((s[0], d[0], t[0]), (a, b, k));
        assert_eq!((s[1], d[1], t[1]), (b, a, k + kinds));
        assert_eq!(t[2], SELF_LOOP_TYPE);
        assert!(t.iter().all(|&x| (x as usize) < EDGE_TYPES));
    }

    #[test]
    fn tokens_lose_run_noise() {
        assert_eq!(normalise_token("3f2a9c1d7e"), "<hex>");
        assert_eq!(normalise_token("Shadow"), "shadow");
        assert_eq!(normalise_token("python3.11"), "python0.0");
        assert_eq!(normalise_token("libc.so.6"), "libc.so.0");
        // temp names seen in the shared auditd recordings
        for random in ["wl68lwyilm", "wlworgzh8r", "tmp_obj_nxhfrg", "wl506bj_it"] {
            assert_eq!(normalise_name_token(random), "<rand>", "{random}");
            assert_ne!(normalise_token(random), "<rand>", "{random}");
        }
        assert_eq!(normalise_name_token("ccqzh0bx.o"), "<rand>.o");
        assert_eq!(normalise_name_token("sha256sum"), "<rand>");
        // A known miss: four consonants, then a trailing digit.
        assert_eq!(normalise_name_token("tudxhz8"), "tudxhz0");
        assert_eq!(normalise_token("sha256sum"), "sha0sum");
        // real words and program names stay themselves
        for word in [
            "uname",
            "useradd",
            "shadow",
            "bashrc",
            "crontab",
            "systemctl",
            "shred",
            "whois",
            "base64",
            "x86_64",
            "evil_account",
            "authorized_keys",
            "loginuid",
            "credentials",
            "github",
            "passwd",
            "sudoers",
            "atomicredteam",
            "lsb-release",
        ] {
            assert!(!normalise_name_token(word).contains("<rand>"), "{word}");
        }
    }

    #[test]
    fn paths_count_by_their_two_ends() {
        assert_eq!(
            path_ends("/tmp/wl3k/data.csv"),
            (Some("tmp"), Some("data.csv"))
        );
        assert_eq!(
            path_ends("C:\\Windows\\System32\\cmd.exe"),
            (Some("Windows"), Some("cmd.exe"))
        );
        assert_eq!(path_ends("/etc"), (None, Some("etc")));
        assert_eq!(path_ends("uname"), (None, Some("uname")));
        assert_eq!(path_ends(""), (None, None));
    }

    #[test]
    fn edge_cap_is_deterministic() {
        let w = window();
        assert_eq!(prepare(&w, 0).edges.len(), 0);
        assert_eq!(prepare(&w, 1).edges, prepare(&w, 1).edges);
    }
}
