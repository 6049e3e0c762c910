//! Typed errors of the compliance stage.

use std::path::PathBuf;

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A file (key, config, model card, JSONL mirror) is malformed.
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where in the file.
        reason: String,
    },
    /// An argument or value is outside its domain.
    #[error("{what}: {reason}")]
    BadArgument {
        /// Which argument.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The time-stamping authority could not be reached or did not answer
    /// in time (connection refused, DNS, timeout, body over the size cap).
    #[error("time-stamping authority {url}: {source}")]
    TsaUnreachable {
        /// The TSA endpoint.
        url: String,
        /// Cause.
        #[source]
        source: Box<ureq::Error>,
    },
    /// The TSA answered with an HTTP status other than 200.
    #[error("time-stamping authority {url} answered HTTP {status}")]
    TsaHttpStatus {
        /// The TSA endpoint.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The TSA refused the request (RFC 3161 PKIStatus other than granted).
    #[error("time-stamping authority {url} refused the request: status {status} ({detail})")]
    TsaRefused {
        /// The TSA endpoint.
        url: String,
        /// The PKIStatus name, e.g. `rejection`.
        status: &'static str,
        /// The TSA's status text and failure bits, if it sent any.
        detail: String,
    },
    /// The TSA's answer is not a well-formed RFC 3161 response or token.
    #[error("time-stamping authority {url}: malformed response: {what}")]
    MalformedTsaResponse {
        /// The TSA endpoint.
        url: String,
        /// Which part failed to decode.
        what: &'static str,
        /// The DER error, when there is one.
        #[source]
        source: Option<der::Error>,
    },
    /// The TSA's token does not bind what was asked: a different imprint or
    /// nonce means the answer belongs to another request (or was replayed).
    #[error("time-stamping authority {url}: token {what} is {found}, expected {expected}")]
    TsaResponseMismatch {
        /// The TSA endpoint.
        url: String,
        /// Which field disagrees (`imprint`, `nonce`).
        what: &'static str,
        /// What was requested (hex).
        expected: String,
        /// What the token says (hex).
        found: String,
    },
    /// Encoding an RFC 3161 request failed.
    #[error("encoding the time-stamp request: {source}")]
    TimestampRequest {
        /// Cause.
        #[source]
        source: der::Error,
    },
    /// The operating system's random source failed (needed for nonces).
    #[error("reading the operating system's random source: {source}")]
    Entropy {
        /// Cause.
        #[source]
        source: getrandom::Error,
    },
    /// The embedded SQLite store failed.
    #[error("audit store (SQLite): {source}")]
    Sqlite {
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The PostgreSQL store failed.
    #[error("audit store (PostgreSQL): {source}")]
    Postgres {
        /// Cause.
        #[source]
        source: postgres::Error,
    },
    /// Serialising a record to JSON failed.
    #[error("JSON: {source}")]
    Json {
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// A private key file is not a PKCS#8 Ed25519 key.
    #[error("{path}: not a PKCS#8 Ed25519 private key: {source}")]
    PrivateKey {
        /// The key file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: ed25519_dalek::pkcs8::Error,
    },
    /// A stored record cannot be read back as an audit record.
    #[error("malformed audit record (seq column {seq}): {reason}")]
    MalformedRecord {
        /// Sequence number as stored in the row.
        seq: i64,
        /// What is wrong.
        reason: String,
    },
    /// The chain head moved under us: another writer appended, or a batch
    /// does not continue the head (the chain would fork).
    #[error("audit chain head conflict: expected seq {expected_seq}, batch starts at {found_seq}")]
    HeadConflict {
        /// The seq the store expects next.
        expected_seq: u64,
        /// The seq the batch starts with.
        found_seq: u64,
    },
    /// The JSONL mirror holds records the authoritative store does not.
    #[error("{path}: mirror ends at seq {mirror_seq} but the store ends at {store_seq}")]
    MirrorAhead {
        /// The mirror file.
        path: PathBuf,
        /// Last seq in the mirror.
        mirror_seq: u64,
        /// Last seq in the store (0 when empty).
        store_seq: u64,
    },
}

impl Error {
    /// Low-cardinality name of the condition, for the `error_type` metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::BadFile { .. } => "bad_file",
            Error::BadArgument { .. } => "bad_argument",
            Error::Sqlite { .. } => "sqlite",
            Error::Postgres { .. } => "postgres",
            Error::Json { .. } => "json",
            Error::PrivateKey { .. } => "private_key",
            Error::MalformedRecord { .. } => "malformed_record",
            Error::HeadConflict { .. } => "head_conflict",
            Error::MirrorAhead { .. } => "mirror_ahead",
            Error::TsaUnreachable { .. } => "tsa_unreachable",
            Error::TsaHttpStatus { .. } => "tsa_http_status",
            Error::TsaRefused { .. } => "tsa_refused",
            Error::MalformedTsaResponse { .. } => "malformed_tsa_response",
            Error::TsaResponseMismatch { .. } => "tsa_response_mismatch",
            Error::TimestampRequest { .. } => "timestamp_request",
            Error::Entropy { .. } => "entropy",
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(source: rusqlite::Error) -> Self {
        Error::Sqlite { source }
    }
}

impl From<postgres::Error> for Error {
    fn from(source: postgres::Error) -> Self {
        Error::Postgres { source }
    }
}

impl From<serde_json::Error> for Error {
    fn from(source: serde_json::Error) -> Self {
        Error::Json { source }
    }
}
