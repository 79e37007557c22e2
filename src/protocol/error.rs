//! Errors of the protocol layer: bytes that do not decode, values that do not encode.

/// Why a byte sequence is not a valid message at the version it was read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the field needs.
    #[error("truncated {what}: needed {needed} bytes, {available} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A compact string longer than Kafka's limit (`Short.MAX_VALUE` bytes).
    #[error("{what} of {length} bytes is longer than the maximum string length 32767")]
    StringTooLong {
        /// The field being read.
        what: &'static str,
        /// The length on the wire.
        length: usize,
    },
    /// Tags out of ascending order, or repeated, where the reader is strict
    /// (Kafka 2.4–2.7 request bodies).
    #[error("invalid or out-of-order tag {tag}")]
    TagOrder {
        /// The offending tag.
        tag: u32,
    },
    /// A null (any negative length) where the version does not allow one.
    #[error("null {what} where this version does not allow null")]
    UnexpectedNull {
        /// The field being read.
        what: &'static str,
    },
    /// An array count that the remaining bytes cannot possibly hold.
    #[error("{what}: {count} elements cannot fit in the {remaining} bytes left")]
    CountTooLarge {
        /// The array being read.
        what: &'static str,
        /// The count on the wire.
        count: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// An unsigned varint longer than a u32 allows.
    #[error("varint for {what} is longer than 5 bytes")]
    VarintTooLong {
        /// The field being read.
        what: &'static str,
    },
    /// The message has no such version.
    #[error("{api} has no version {version}")]
    UnsupportedVersion {
        /// The message type.
        api: &'static str,
        /// The version asked for.
        version: i16,
    },
}

/// Why a value cannot be written at the version asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message has no such version.
    #[error("{api} has no version {version}")]
    UnsupportedVersion {
        /// The message type.
        api: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A field with a non-default value that the version cannot carry.
    #[error("{field} cannot be sent in {api} v{version}")]
    FieldNotAvailable {
        /// The message type.
        api: &'static str,
        /// The field.
        field: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A string or array too long for its length prefix.
    #[error("{what} is too long for the wire ({len})")]
    TooLong {
        /// The field.
        what: &'static str,
        /// Its length.
        len: usize,
    },
}
