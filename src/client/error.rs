//! Errors of the tokio shell: the transport ([`ConnectionError`]) and the
//! client built on it ([`ClientError`]).

use std::net::SocketAddr;
use std::time::Duration;

use crate::negotiate::NegotiateError;
use crate::protocol::{DecodeError, EncodeError, ErrorCode, FrameError};

/// A transport failure. Every variant except [`ConnectionError::Dead`] kills
/// the connection it happened on; `Dead` is what every later call gets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// TCP connect failed (refused, unreachable, …).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Where.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// TCP connect did not finish in time.
    #[error("connecting to {addr} timed out after {after:?}")]
    ConnectTimeout {
        /// Where.
        addr: String,
        /// The limit.
        after: Duration,
    },
    /// Reading or writing failed.
    #[error("I/O error talking to {peer}: {source}")]
    Io {
        /// The broker.
        peer: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The broker closed the connection while a reply was due, or before the
    /// request could be sent (then nothing was written).
    #[error("broker {peer} closed the connection before answering {api} v{version} (correlation id {correlation_id})")]
    ClosedByPeer {
        /// The broker.
        peer: SocketAddr,
        /// The request's API.
        api: &'static str,
        /// Its version.
        version: i16,
        /// Its correlation id.
        correlation_id: i32,
    },
    /// The broker closed in the middle of a frame.
    #[error("broker {peer} closed the connection in the middle of a response frame ({have} bytes buffered)")]
    ClosedMidFrame {
        /// The broker.
        peer: SocketAddr,
        /// Bytes of the partial frame.
        have: usize,
    },
    /// No reply in time.
    #[error("{api} v{version} (correlation id {correlation_id}) got no reply within {after:?}")]
    Timeout {
        /// The request's API.
        api: &'static str,
        /// Its version.
        version: i16,
        /// Its correlation id.
        correlation_id: i32,
        /// The limit.
        after: Duration,
    },
    /// The response length prefix was refused.
    #[error("bad response frame from {peer}: {source}")]
    Frame {
        /// The broker.
        peer: SocketAddr,
        /// Why.
        source: FrameError,
    },
    /// A reply for another request.
    #[error("{api} v{version} reply has correlation id {got}, expected {expected}")]
    CorrelationMismatch {
        /// The request's API.
        api: &'static str,
        /// Its version.
        version: i16,
        /// The id sent.
        expected: i32,
        /// The id received.
        got: i32,
    },
    /// The reply did not decode.
    #[error("{api} v{version} reply did not decode: {source}")]
    Decode {
        /// The request's API.
        api: &'static str,
        /// Its version.
        version: i16,
        /// Why.
        source: DecodeError,
    },
    /// The connection died earlier; nothing was written.
    #[error("connection to {peer} is closed (because: {cause}); nothing was sent")]
    Dead {
        /// The broker.
        peer: SocketAddr,
        /// What killed it.
        cause: String,
    },
}

/// A client operation failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The transport failed.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// ApiVersions negotiation failed.
    #[error("negotiation failed: {0}")]
    Negotiate(#[from] NegotiateError),
    /// A request could not be encoded at the negotiated version.
    #[error("cannot encode {api} v{version}: {source}")]
    Encode {
        /// The API.
        api: &'static str,
        /// The version.
        version: i16,
        /// Why.
        source: EncodeError,
    },
    /// The broker answered with an error.
    #[error("broker answered {api} v{version} with {code}")]
    Broker {
        /// The API.
        api: &'static str,
        /// The version.
        version: i16,
        /// The error.
        code: ErrorCode,
    },
}
