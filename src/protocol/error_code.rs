//! Kafka error codes. A code is a value: unknown codes keep their number.
//!
//! # References
//! - <https://kafka.apache.org/protocol#protocol_error_codes>

use std::fmt;

/// A broker error code as sent on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i16);

impl ErrorCode {
    /// No error.
    pub const NONE: Self = Self(0);
    /// UNKNOWN_SERVER_ERROR.
    pub const UNKNOWN_SERVER_ERROR: Self = Self(-1);
    /// UNKNOWN_TOPIC_OR_PARTITION.
    pub const UNKNOWN_TOPIC_OR_PARTITION: Self = Self(3);
    /// LEADER_NOT_AVAILABLE.
    pub const LEADER_NOT_AVAILABLE: Self = Self(5);
    /// INVALID_TOPIC_EXCEPTION.
    pub const INVALID_TOPIC_EXCEPTION: Self = Self(17);
    /// INVALID_REPLICATION_FACTOR.
    pub const INVALID_REPLICATION_FACTOR: Self = Self(38);
    /// UNSUPPORTED_VERSION.
    pub const UNSUPPORTED_VERSION: Self = Self(35);
    /// INVALID_REQUEST.
    pub const INVALID_REQUEST: Self = Self(42);
    /// UNKNOWN_TOPIC_ID.
    pub const UNKNOWN_TOPIC_ID: Self = Self(100);
    /// REBOOTSTRAP_REQUIRED (KIP-1242, 4.4): the client reached another cluster or node than it meant to.
    pub const REBOOTSTRAP_REQUIRED: Self = Self(129);
    /// A request sent to a listener of another endpoint type (KIP-919).
    pub const MISMATCHED_ENDPOINT_TYPE: Self = Self(114);
    /// An endpoint type the broker does not know (KIP-919).
    pub const UNSUPPORTED_ENDPOINT_TYPE: Self = Self(115);

    /// Kafka's name for the code, if this crate knows it.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NONE",
            -1 => "UNKNOWN_SERVER_ERROR",
            3 => "UNKNOWN_TOPIC_OR_PARTITION",
            5 => "LEADER_NOT_AVAILABLE",
            17 => "INVALID_TOPIC_EXCEPTION",
            38 => "INVALID_REPLICATION_FACTOR",
            35 => "UNSUPPORTED_VERSION",
            42 => "INVALID_REQUEST",
            100 => "UNKNOWN_TOPIC_ID",
            114 => "MISMATCHED_ENDPOINT_TYPE",
            115 => "UNSUPPORTED_ENDPOINT_TYPE",
            129 => "REBOOTSTRAP_REQUIRED",
            _ => return None,
        })
    }

    /// Whether this is the "no error" code.
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "error code {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_known_codes_and_keeps_unknown_numbers() {
        assert_eq!(ErrorCode::UNSUPPORTED_VERSION.to_string(), "UNSUPPORTED_VERSION (35)");
        assert_eq!(ErrorCode(12345).to_string(), "error code 12345");
    }
}
