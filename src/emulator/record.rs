//! What happened on each emulated connection, kept for tests and reports.
//!
//! Bounded, so that a long-running emulator (`kafka-matrix serve`, a container
//! in the fleet) does not grow with every connection and request it ever
//! served: the last [`MAX_RECORDS`] connections are kept, each listing at most
//! [`MAX_REQUESTS_PER_RECORD`] requests (all are counted).

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Most connection records kept; the oldest is dropped first.
pub const MAX_RECORDS: usize = 100_000;

/// Most requests listed in one connection's record; later ones are only counted.
pub const MAX_REQUESTS_PER_RECORD: usize = 10_000;

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed between requests.
    ClientClosed,
    /// The client closed in the middle of a request frame.
    ClientClosedMidFrame,
    /// The emulator is shutting down.
    Shutdown,
    /// No read or write made progress for the idle timeout (Kafka's
    /// `connections.max.idle.ms`).
    IdleTimeout,
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
    /// A fault reset the connection (RST, nothing more is read).
    Reset(&'static str),
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
            Self::IdleTimeout => f.write_str("closed: idle for longer than connections.max.idle.ms"),
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
            Self::Reset(what) => write!(f, "reset by fault: {what}"),
            Self::Internal(e) => write!(f, "closed: emulator bug: {e}"),
        }
    }
}

/// One connection's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnRecord {
    /// Client address.
    pub peer: String,
    /// When the connection was accepted.
    pub opened_at: std::time::Instant,
    /// `(api_key, api_version, correlation_id)` of each request, in order
    /// (the first [`MAX_REQUESTS_PER_RECORD`]).
    pub requests: Vec<(i16, i16, i32)>,
    /// Every request whose header could be read, listed or not.
    pub requests_total: u64,
    /// Responses written.
    pub responses: u32,
    /// Why it ended (set when it has).
    pub closed: Option<CloseReason>,
    /// Bytes the client sent after the emulator closed its side.
    pub bytes_after_close: usize,
    /// Replies that carried a throttle time (the `throttle` fault).
    pub throttled_replies: u32,
    /// Of those, the ones whose version obliges the client to wait
    /// (KIP-219: ApiVersions v2+, Metadata v6+).
    pub throttled: u32,
    /// Requests that arrived before such a throttle had passed (the first
    /// [`MAX_REQUESTS_PER_RECORD`]).
    pub throttle_violations: Vec<ThrottleViolation>,
}

/// A request sent while the client was throttled (KIP-219: "When a client
/// receives a response with throttle time X, it should refrain from sending
/// any further requests for time X").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleViolation {
    /// `(api_key, api_version)` of the throttled reply.
    pub throttled: (i16, i16),
    /// Its `throttle_time_ms`.
    pub throttle_ms: u32,
    /// `(api_key, api_version)` of the request that came early.
    pub early: (i16, i16),
    /// How long before the throttle ended it arrived.
    pub early_by: std::time::Duration,
}

impl ConnRecord {
    /// Notes a request: listed while there is room, always counted.
    pub(super) fn push_request(&mut self, ids: (i16, i16, i32)) {
        self.requests_total += 1;
        if self.requests.len() < MAX_REQUESTS_PER_RECORD {
            self.requests.push(ids);
        }
    }

    /// Notes a request that came while the client was still throttled.
    pub(super) fn push_violation(&mut self, v: ThrottleViolation) {
        if self.throttle_violations.len() < MAX_REQUESTS_PER_RECORD {
            self.throttle_violations.push(v);
        }
    }

    /// A record of a connection from `peer`, opened now.
    pub fn new(peer: String) -> Self {
        Self {
            peer,
            opened_at: std::time::Instant::now(),
            requests: Vec::new(),
            requests_total: 0,
            responses: 0,
            closed: None,
            bytes_after_close: 0,
            throttled_replies: 0,
            throttled: 0,
            throttle_violations: Vec::new(),
        }
    }
}

/// Shared list of finished connections (the last [`MAX_RECORDS`]), and a
/// count of the connections still open.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    records: Arc<Mutex<VecDeque<ConnRecord>>>,
    open: Arc<AtomicUsize>,
}

/// Counts one open connection until dropped (after its record is pushed).
#[derive(Debug)]
pub(super) struct OpenConn(Arc<AtomicUsize>);

impl Drop for OpenConn {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Recorder {
    /// Counts a connection as open until the guard is dropped.
    pub(super) fn opened(&self) -> OpenConn {
        self.open.fetch_add(1, Ordering::AcqRel);
        OpenConn(Arc::clone(&self.open))
    }

    /// Connections accepted whose record is not yet pushed.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    pub(super) fn push(&self, r: ConnRecord) {
        // A poisoned lock only means another connection task panicked; the
        // records are still valid.
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if records.len() >= MAX_RECORDS {
            records.pop_front();
        }
        records.push_back(r);
    }

    /// A copy of the records of the last [`MAX_RECORDS`] connections that
    /// have ended, oldest first.
    pub fn snapshot(&self) -> Vec<ConnRecord> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_their_request_lists_are_bounded() {
        let recorder = Recorder::default();
        for i in 0..=MAX_RECORDS {
            recorder.push(ConnRecord::new(i.to_string()));
        }
        let kept = recorder.snapshot();
        assert_eq!(kept.len(), MAX_RECORDS);
        assert_eq!(kept[0].peer, "1", "the oldest went first");
        assert_eq!(kept[MAX_RECORDS - 1].peer, MAX_RECORDS.to_string());

        let mut r = ConnRecord::new(String::new());
        for i in 0..MAX_REQUESTS_PER_RECORD + 5 {
            r.push_request((18, 3, i as i32));
        }
        assert_eq!(r.requests.len(), MAX_REQUESTS_PER_RECORD);
        assert_eq!(r.requests_total, (MAX_REQUESTS_PER_RECORD + 5) as u64);
        assert_eq!(r.requests.last(), Some(&(18, 3, MAX_REQUESTS_PER_RECORD as i32 - 1)));
    }
}
