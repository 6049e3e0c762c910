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
}
