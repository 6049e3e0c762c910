//! Graph: provenance events in, bounded time-windowed graphs out, on disk.
//!
//! In: [`event::Event`]s (from `ingest`). Out: [`GraphWindow`]s — each window's
//! distinct entities and its edges — written to a preprocessed folder
//! ([`GraphWriter`], Arrow IPC, documented in `docs/formats/preprocessed.md`),
//! read back by [`GraphReader`], and exported to StreamSpot, GraphML and JSON
//! lines ([`export`]).
//! State: one open window, capped at `max_events_per_window` edges; the
//! summary's distinct-entity counters (exact up to 2M ids per kind, then a
//! 16 KiB HyperLogLog).

// Logs are written by the attacker: no panics on input paths (house style).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod error;
pub mod export;
mod store;
mod summary;
mod window;

pub use error::{Error, Result};
pub use store::{
    read_manifest, GraphReader, GraphWriter, Manifest, WindowIndex, EDGES, FORMAT_VERSION,
    MANIFEST, NODES,
};
pub use summary::{DistinctCounter, HyperLogLog, Summary, SummaryBuilder, EXACT_DISTINCT_CAP};
pub use window::{EdgeRow, GraphWindow, WindowBuilder, WindowSettings, DEFAULT_PROCESS_GRACE_SECS};
