//! Faults the emulator can inject, as plain data.
//!
//! Each fault acts at one named point of the connection loop
//! (`emulator::conn`), so a test reads as a list of what goes wrong rather
//! than as callbacks spread through the code.

use std::time::Duration;

/// What to break. `Default` breaks nothing: the emulator behaves as the
/// release it emulates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Close each connection after it has sent this many responses.
    pub close_after_responses: Option<u32>,
    /// Close right after answering an unsupported ApiVersions version with
    /// UNSUPPORTED_VERSION. Real Kafka keeps the connection open (see
    /// docs/fidelity.md); this is the harsher broker a client must survive.
    pub close_after_unsupported_api_versions: bool,
    /// Wait this long before each response.
    pub response_delay: Option<Duration>,
    /// Send only the first N bytes of each response frame, then close.
    pub truncate_response_to: Option<usize>,
    /// Answer with a correlation id one above the request's.
    pub wrong_correlation_id: bool,
}

impl Faults {
    /// Whether any fault is set.
    pub fn any(&self) -> bool {
        *self != Faults::default()
    }
}
