//! Faults the emulator can inject, as plain data.
//!
//! Each fault acts at one named point of the connection loop
//! (`emulator::conn`), so a test reads as a list of what goes wrong rather
//! than as callbacks spread through the code. The response faults
//! (everything that changes what a reply looks like on the wire) are applied
//! to an encoded reply by [`Faults::apply`], a pure function, in this order:
//! wrong correlation id, shortened message, forged size prefix, cut frame.
//!
//! The typed error the client gives for each fault, and the test that holds
//! it to that, are listed in docs/fidelity.md ("Faults").

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

/// Why a fault closed a connection, as its record says
/// ([`CloseReason::Fault`](super::CloseReason::Fault)).
pub mod closed {
    /// `close_after_responses`.
    pub const AFTER_N_RESPONSES: &str = "close after N responses";
    /// `close_after_unsupported_api_versions`.
    pub const AFTER_REFUSAL: &str = "close after UNSUPPORTED_VERSION";
    /// `truncate_response_to`.
    pub const TRUNCATED: &str = "truncated response";
    /// `forge_response_size`.
    pub const FORGED_SIZE: &str = "forged response size";
    /// `close_on_newest_metadata`.
    pub const NEWEST_METADATA: &str = "Metadata at the newest version it advertises";
    /// `reset_api_versions_above` ([`CloseReason::Reset`](crate::emulator::CloseReason::Reset)).
    pub const RESET_API_VERSIONS: &str = "ApiVersions above the version this broker takes";
}

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
    /// Leave the first N responses of each connection alone: the response
    /// faults below (delay, wrong correlation id, shortened, forged size,
    /// truncated) act from response N + 1 on. With N = 1 a client negotiates
    /// normally against a release that accepts its first ApiVersions request,
    /// and the fault hits its next request.
    pub spare_responses: u32,
    /// Leave every ApiVersions reply alone: the response faults act on the
    /// other replies (Metadata), whatever a client's request order (a client
    /// that sends ApiVersions only on its first connection still meets them).
    pub spare_api_versions: bool,
    /// Wait this long before each response.
    pub response_delay: Option<Duration>,
    /// Send only the first N bytes of each response frame (size prefix
    /// included), then close: with N < 4 the broker dies inside the size
    /// prefix, with more it dies in the middle of the frame.
    pub truncate_response_to: Option<usize>,
    /// Send each response as a complete, well-framed message that holds only
    /// the first N bytes of its content (the size prefix rewritten to match),
    /// and keep the connection open. With N >= 4 the correlation id is intact
    /// and the body is what is cut short.
    pub shorten_response_to: Option<usize>,
    /// Write this value as each response's size prefix instead of the real
    /// size, then the real content, then close. Above the client's limit
    /// (Kafka's 104857600 by default) or negative, a client must refuse the
    /// frame without allocating for it.
    pub forge_response_size: Option<i32>,
    /// Answer with a correlation id one above the request's.
    pub wrong_correlation_id: bool,
    /// Reset the connection (RST, no reply) on an ApiVersions request above
    /// this version, as Azure Event Hubs did on v4 (franz-go #1022/#1025)
    /// instead of Kafka's UNSUPPORTED_VERSION reply.
    pub reset_api_versions_above: Option<i16>,
    /// Close, without a reply, on a Metadata request at the newest version
    /// the release advertises: a version advertised, then refused (Kafka 4.0
    /// does this to Produce v0–2, KAFKA-18659).
    pub close_on_newest_metadata: bool,
    /// Throttle every reply as a broker over its request quota does (KIP-219,
    /// Kafka 2.0+): `throttle_time_ms` in each ApiVersions (v1+) and Metadata
    /// (v3+) reply, the reply sent at once, then the connection muted for
    /// this long (Kafka 3.8.0 `RequestHandlerHelper.sendResponseMaybeThrottle`).
    pub throttle: Option<Duration>,
    /// The first N Metadata replies of the broker (all connections) show
    /// every partition without a leader: LEADER_NOT_AVAILABLE (5), leader -1
    /// (Kafka 3.8.0 `ZkMetadataCache.getPartitionMetadata`, leader not alive).
    pub leaderless_metadata_replies: u32,
    /// The first N Metadata replies of the broker (all connections) answer
    /// every existing topic as one still being created: LEADER_NOT_AVAILABLE
    /// with no partitions when named, left out of an all-topics reply.
    pub creating_metadata_replies: u32,
    /// Write ApiVersions v3+ replies as tansu 0.6.0 does: no features, but
    /// all four tagged fields written out at their default values (Kafka
    /// omits a tagged field that holds its default).
    pub tansu_tagged_fields: bool,
}

/// One reply after the response faults: what to write, and whether to close
/// after writing it (and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faulted {
    /// The bytes to write.
    pub bytes: Bytes,
    /// Close after writing, with this fault as the reason.
    pub close: Option<&'static str>,
    /// Wait this long before writing.
    pub delay: Option<Duration>,
}

impl Faults {
    /// Whether any fault rewrites reply bytes (then every reply is built
    /// whole, so that [`Faults::apply`] can rewrite it).
    pub fn rewrites(&self) -> bool {
        self.wrong_correlation_id
            || self.shorten_response_to.is_some()
            || self.forge_response_size.is_some()
            || self.truncate_response_to.is_some()
    }

    /// The delay before response number `index` (0-based), as
    /// [`Faults::apply`] gives it: for a reply written in chunks.
    pub fn delay_for(&self, index: u32, key: i16) -> Option<std::time::Duration> {
        if self.spares(index, key) {
            None
        } else {
            self.response_delay
        }
    }

    /// Whether response number `index`, to API `key`, passes unchanged.
    fn spares(&self, index: u32, key: i16) -> bool {
        index < self.spare_responses || (self.spare_api_versions && key == crate::protocol::api_key::API_VERSIONS)
    }

    /// Applies the response faults to `reply`, a whole encoded response frame
    /// (size prefix included), which is the connection's response number
    /// `index` (0-based) and answers API `key`. Responses before
    /// [`Faults::spare_responses`], and ApiVersions replies with
    /// [`Faults::spare_api_versions`], pass unchanged.
    pub fn apply(&self, reply: Bytes, index: u32, key: i16) -> Faulted {
        let untouched = Faulted {
            bytes: reply.clone(),
            close: None,
            delay: None,
        };
        // `reply` is kept for the rewrite below; cloning `Bytes` copies no data.
        let rewrites = self.rewrites();
        if self.spares(index, key) || reply.len() < 4 {
            return untouched;
        }
        if !rewrites {
            // No copy on the common path: at most a delay.
            return Faulted {
                delay: self.response_delay,
                ..untouched
            };
        }
        let mut close = None;
        // Work on the content after the size prefix.
        let mut content = BytesMut::from(&reply[4..]);
        if self.wrong_correlation_id && content.len() >= 4 {
            let corr = i32::from_be_bytes([content[0], content[1], content[2], content[3]]);
            content[..4].copy_from_slice(&corr.wrapping_add(1).to_be_bytes());
        }
        if let Some(n) = self.shorten_response_to {
            content.truncate(n);
        }
        let size = match self.forge_response_size {
            Some(forged) => {
                close = Some(closed::FORGED_SIZE);
                forged
            }
            // A reply is built by `build_frame` from at most the request
            // frame limit, which fits an i32; saturate rather than wrap.
            None => i32::try_from(content.len()).unwrap_or(i32::MAX),
        };
        let mut bytes = BytesMut::with_capacity(4 + content.len());
        bytes.put_i32(size);
        bytes.put_slice(&content);
        let mut bytes = bytes.freeze();
        if let Some(n) = self.truncate_response_to {
            if n < bytes.len() {
                bytes.truncate(n);
                close = Some(closed::TRUNCATED);
            }
        }
        Faulted {
            bytes,
            close,
            delay: self.response_delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: i16 = crate::protocol::api_key::METADATA;

    /// size 6: correlation id 7, then two body bytes.
    fn reply() -> Bytes {
        Bytes::from_static(&[0, 0, 0, 6, 0, 0, 0, 7, 0xaa, 0xbb])
    }

    #[test]
    fn no_fault_and_spared_responses_pass_unchanged() {
        let f = Faults::default().apply(reply(), 0, METADATA);
        assert_eq!((f.bytes, f.close, f.delay), (reply(), None, None));
        let faults = Faults {
            spare_responses: 1,
            wrong_correlation_id: true,
            truncate_response_to: Some(2),
            ..Faults::default()
        };
        assert_eq!(faults.apply(reply(), 0, METADATA).bytes, reply());
        assert_eq!(faults.apply(reply(), 1, METADATA).bytes, Bytes::from_static(&[0, 0]));
        let slow = Faults {
            spare_responses: 1,
            response_delay: Some(Duration::from_millis(5)),
            ..Faults::default()
        };
        assert_eq!(slow.apply(reply(), 0, METADATA).delay, None);
        let f = slow.apply(reply(), 1, METADATA);
        assert_eq!(
            (f.bytes, f.close, f.delay),
            (reply(), None, Some(Duration::from_millis(5)))
        );
    }

    #[test]
    fn each_response_fault_on_the_wire() {
        let apply = |faults: Faults| {
            let f = faults.apply(reply(), 0, METADATA);
            (f.bytes.to_vec(), f.close)
        };
        let wrong = Faults {
            wrong_correlation_id: true,
            ..Faults::default()
        };
        assert_eq!(apply(wrong), (vec![0, 0, 0, 6, 0, 0, 0, 8, 0xaa, 0xbb], None));
        let short = Faults {
            shorten_response_to: Some(5),
            ..Faults::default()
        };
        assert_eq!(apply(short), (vec![0, 0, 0, 5, 0, 0, 0, 7, 0xaa], None));
        let forged = Faults {
            forge_response_size: Some(104_857_601),
            ..Faults::default()
        };
        assert_eq!(
            apply(forged),
            (
                vec![0x06, 0x40, 0, 1, 0, 0, 0, 7, 0xaa, 0xbb],
                Some("forged response size")
            )
        );
        let cut = Faults {
            truncate_response_to: Some(6),
            ..Faults::default()
        };
        assert_eq!(apply(cut), (vec![0, 0, 0, 6, 0, 0], Some("truncated response")));
        // Cutting at or past the end changes nothing and does not close.
        let long = Faults {
            truncate_response_to: Some(10),
            ..Faults::default()
        };
        assert_eq!(apply(long), (reply().to_vec(), None));
    }
}
