//! What happened on each emulated connection, kept for tests and reports.

use std::fmt;
use std::sync::{Arc, Mutex};

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed between requests.
    ClientClosed,
    /// The client closed in the middle of a request frame.
    ClientClosedMidFrame,
    /// The emulator is shutting down.
    Shutdown,
    /// Read or write failed.
    Io(String),
    /// A negative or oversized length prefix (Kafka: InvalidReceiveException).
    InvalidFrame(String),
    /// Fewer than 8 bytes, or a header that does not parse.
    UnparsableHeader,
    /// An API key the release does not have.
    UnknownApi {
        /// The key.
        key: i16,
    },
    /// A version the release does not support (any API but ApiVersions).
    UnsupportedVersion {
        /// The key.
        key: i16,
        /// The version.
        version: i16,
    },
    /// A request body that does not parse.
    InvalidRequest(String),
    /// An API the release supports but the emulator does not implement.
    NotEmulated {
        /// The key.
        key: i16,
        /// The version.
        version: i16,
    },
    /// A fault fired.
    Fault(&'static str),
    /// A bug in the emulator (a reply it could not encode).
    Internal(String),
}

impl CloseReason {
    /// Whether the emulator (not the client) ended the connection.
    pub fn closed_by_emulator(&self) -> bool {
        !matches!(self, Self::ClientClosed | Self::ClientClosedMidFrame | Self::Io(_))
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientClosed => f.write_str("client closed"),
            Self::ClientClosedMidFrame => f.write_str("client closed mid-frame"),
            Self::Shutdown => f.write_str("emulator shut down"),
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::InvalidFrame(e) => write!(f, "closed: {e}"),
            Self::UnparsableHeader => f.write_str("closed: unparsable request header"),
            Self::UnknownApi { key } => write!(f, "closed: API key {key} is not supported by this release"),
            Self::UnsupportedVersion { key, version } => {
                write!(f, "closed: API key {key} v{version} is not supported by this release")
            }
            Self::InvalidRequest(e) => write!(f, "closed: invalid request: {e}"),
            Self::NotEmulated { key, version } => write!(f, "closed: API key {key} v{version} is not emulated"),
            Self::Fault(what) => write!(f, "closed by fault: {what}"),
            Self::Internal(e) => write!(f, "closed: emulator bug: {e}"),
        }
    }
}

/// One connection's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnRecord {
    /// Client address.
    pub peer: String,
    /// `(api_key, api_version, correlation_id)` of each request, in order.
    pub requests: Vec<(i16, i16, i32)>,
    /// Responses written.
    pub responses: u32,
    /// Why it ended (set when it has).
    pub closed: Option<CloseReason>,
    /// Bytes the client sent after the emulator closed its side.
    pub bytes_after_close: usize,
}

impl ConnRecord {
    pub(super) fn new(peer: String) -> Self {
        Self {
            peer,
            requests: Vec::new(),
            responses: 0,
            closed: None,
            bytes_after_close: 0,
        }
    }
}

/// Shared list of finished connections.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<ConnRecord>>>);

impl Recorder {
    pub(super) fn push(&self, r: ConnRecord) {
        // A poisoned lock only means another connection task panicked; the
        // records are still valid.
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(r);
    }

    /// A copy of the records of every connection that has ended.
    pub fn snapshot(&self) -> Vec<ConnRecord> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
