//! The Kafka wire protocol, sans-io: bytes in, values out, no sockets.
//!
//! - [`frame`]: the `int32` size prefix, with a maximum frame size.
//! - [`primitives`]: Kafka's primitive types over a bounds-checked reader.
//! - [`header`]: request/response headers and which version each message uses.
//! - [`messages`]: ApiVersions v0–4 and Metadata v0–13 bodies.
//! - [`codec`]: whole frames (header + body) for those two APIs.
//! - [`error_code`]: broker error codes.
//!
//! No decoder panics on any input, and none allocates for a length it has
//! not yet seen the bytes for (see `docs/decisions.md` for why this codec is
//! hand-written rather than taken from the `kafka-protocol` crate).

pub mod codec;
pub mod error;
pub mod error_code;
pub mod frame;
pub mod header;
pub mod messages;
pub mod primitives;
pub mod throttle;
mod version;

pub use codec::{
    decode_request, decode_request_with, decode_response, encode_request, encode_response, request_frame,
    write_request, RequestBody, ResponseBody,
};
pub use error::{DecodeError, EncodeError};
pub use error_code::ErrorCode;
pub use frame::{FrameError, DEFAULT_MAX_FRAME_BYTES};
pub use version::{api_key, VersionRange};
