//! Why a negotiation did not produce usable versions.

use crate::protocol::{DecodeError, EncodeError, ErrorCode, VersionRange};

/// A negotiation failure. Every variant says which request and version it
/// concerns, so a report can quote it as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiateError {
    /// The ApiVersions reply did not decode.
    #[error("ApiVersions v{version} reply did not decode: {source}")]
    Decode {
        /// The version the reply was decoded as.
        version: i16,
        /// What was wrong with it.
        source: DecodeError,
    },
    /// The request could not be encoded (a configuration error).
    #[error("ApiVersions v{version} request could not be encoded: {source}")]
    Encode {
        /// The version asked for.
        version: i16,
        /// Why.
        source: EncodeError,
    },
    /// The reply answered another request.
    #[error("ApiVersions v{version} reply has correlation id {got}, expected {expected}")]
    CorrelationMismatch {
        /// The version sent.
        version: i16,
        /// The id sent.
        expected: i32,
        /// The id received.
        got: i32,
    },
    /// The broker refused with an error other than UNSUPPORTED_VERSION.
    #[error("broker answered ApiVersions v{version} with {code}")]
    Broker {
        /// The version sent.
        version: i16,
        /// The error it returned.
        code: ErrorCode,
    },
    /// UNSUPPORTED_VERSION, but the broker's hint does not lead anywhere
    /// lower (it names a version we already tried, or v0 itself was refused).
    #[error("broker refused ApiVersions v{version} and left no lower version to try (hint: {hint})")]
    NoFallback {
        /// The version refused.
        version: i16,
        /// What the v0 error body said about ApiVersions, if anything.
        hint: Hint,
    },
    /// The broker closed the connection before answering.
    #[error("broker closed the connection before answering ApiVersions v{version}")]
    ClosedWithoutReply {
        /// The version sent.
        version: i16,
    },
    /// The retry budget ran out.
    #[error("gave up after {attempts} ApiVersions attempts ({reconnects} reconnects)")]
    RetriesExhausted {
        /// Requests sent.
        attempts: u32,
        /// New connections opened.
        reconnects: u32,
    },
    /// The broker does not list an API the client needs.
    #[error("broker does not support {api} (key {key}) at all")]
    ApiNotSupported {
        /// API name.
        api: &'static str,
        /// API key.
        key: i16,
    },
    /// The ranges do not overlap.
    #[error("no common {api} version: client supports {client}, broker supports {broker}")]
    NoCommonVersion {
        /// API name.
        api: &'static str,
        /// API key.
        key: i16,
        /// The client's range.
        client: VersionRange,
        /// The broker's range.
        broker: VersionRange,
    },
    /// The session was driven out of order (a bug in the caller).
    #[error("negotiation driven out of order: {0}")]
    Misuse(&'static str),
}

/// What an UNSUPPORTED_VERSION body said about ApiVersions itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// KIP-511 (Kafka 2.4+): the broker's ApiVersions range.
    Range(VersionRange),
    /// No entry (Kafka before 2.4): fall back to v0.
    None,
}

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hint::Range(r) => write!(f, "broker supports ApiVersions {r}"),
            Hint::None => f.write_str("no ApiVersions range in the body"),
        }
    }
}
