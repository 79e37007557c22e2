//! Wire transcripts: every frame a client sends or receives, with time,
//! connection number, API, version, correlation id and size, plus connects,
//! the broker's closes and why a connection died.
//!
//! A [`Transcript`] is a cheap, cloneable handle (shared by every connection
//! a client opens, reconnects included) given through
//! [`ClientConfig::transcript`](super::ClientConfig). It keeps at most
//! [`MAX_EVENTS`] events so a long-lived client cannot grow it without bound.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::versions::api_name;

/// Events kept per transcript; later ones are counted, not stored.
pub const MAX_EVENTS: usize = 10_000;

/// What happened on the wire.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WireEvent {
    /// A TCP connection was opened.
    Connected {
        /// The broker's address.
        peer: String,
    },
    /// A request frame was written.
    Sent {
        /// API key.
        api_key: i16,
        /// Version.
        version: i16,
        /// Correlation id.
        correlation_id: i32,
        /// Bytes including the size prefix.
        bytes: usize,
    },
    /// A response frame was read (API and version from the request it answers).
    Received {
        /// API key of the matching request, if any.
        api_key: Option<i16>,
        /// Its version.
        version: Option<i16>,
        /// Correlation id in the response header.
        correlation_id: Option<i32>,
        /// Bytes including the size prefix.
        bytes: usize,
    },
    /// The broker closed its side (EOF read).
    PeerClosed,
    /// The client gave up on the connection.
    Dead {
        /// Why.
        cause: String,
    },
}

/// One timed event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Timed {
    /// Microseconds since the transcript's first event.
    pub at_us: u64,
    /// Connection number (1 = the first the client opened).
    pub conn: u32,
    /// The event.
    #[serde(flatten)]
    pub event: WireEvent,
}

#[derive(Debug, Default)]
struct Inner {
    start: Option<Instant>,
    connections: u32,
    events: Vec<Timed>,
    dropped: usize,
}

/// A shared transcript handle.
#[derive(Debug, Clone, Default)]
pub struct Transcript(Arc<Mutex<Inner>>);

impl Transcript {
    /// An empty transcript.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A panic while holding this lock cannot leave it inconsistent (each
        // update is one push), so a poisoned lock is still usable.
        let mut guard = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Numbers a new connection and records it.
    pub(crate) fn connected(&self, peer: SocketAddr) -> u32 {
        let conn = self.with(|i| {
            i.connections += 1;
            i.connections
        });
        self.record(conn, WireEvent::Connected { peer: peer.to_string() });
        conn
    }

    /// Records `event` on connection `conn`.
    pub(crate) fn record(&self, conn: u32, event: WireEvent) {
        self.with(|i| {
            let start = *i.start.get_or_insert_with(Instant::now);
            if i.events.len() >= MAX_EVENTS {
                i.dropped += 1;
                return;
            }
            let at_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
            i.events.push(Timed { at_us, conn, event });
        });
    }

    /// The API key and version of the request `correlation_id` answers on `conn`.
    pub(crate) fn request_for(&self, conn: u32, correlation_id: i32) -> Option<(i16, i16)> {
        self.with(|i| {
            i.events.iter().rev().find_map(|t| match t.event {
                WireEvent::Sent {
                    api_key,
                    version,
                    correlation_id: c,
                    ..
                } if t.conn == conn && c == correlation_id => Some((api_key, version)),
                _ => None,
            })
        })
    }

    /// A copy of the events so far.
    pub fn events(&self) -> Vec<Timed> {
        self.with(|i| i.events.clone())
    }

    /// One line per event, e.g.
    /// `+    0.412 ms  #1 → ApiVersions v4  corr 0  45 B`.
    pub fn render(&self) -> String {
        let (events, dropped) = self.with(|i| (i.events.clone(), i.dropped));
        let mut s = String::new();
        for t in &events {
            let _ = write!(s, "+{:>9.3} ms  #{} ", t.at_us as f64 / 1000.0, t.conn);
            let api = |k: Option<i16>, v: Option<i16>| match (k, v) {
                (Some(k), Some(v)) => format!("{} v{v}", api_name(k).unwrap_or("?")),
                _ => "? (no matching request)".to_owned(),
            };
            let _ = match &t.event {
                WireEvent::Connected { peer } => writeln!(s, "connected to {peer}"),
                WireEvent::Sent {
                    api_key,
                    version,
                    correlation_id,
                    bytes,
                } => writeln!(
                    s,
                    "→ {}  corr {correlation_id}  {bytes} B",
                    api(Some(*api_key), Some(*version))
                ),
                WireEvent::Received {
                    api_key,
                    version,
                    correlation_id,
                    bytes,
                } => writeln!(
                    s,
                    "← {}  corr {}  {bytes} B",
                    api(*api_key, *version),
                    correlation_id.map_or("?".to_owned(), |c| c.to_string())
                ),
                WireEvent::PeerClosed => writeln!(s, "closed by the broker (EOF)"),
                WireEvent::Dead { cause } => writeln!(s, "dead: {cause}"),
            };
        }
        if dropped > 0 {
            let _ = writeln!(s, "({dropped} more events not kept; limit {MAX_EVENTS})");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_matched_to_their_requests_and_rendered() {
        let t = Transcript::new();
        let c = t.connected(SocketAddr::from(([127, 0, 0, 1], 9092)));
        t.record(
            c,
            WireEvent::Sent {
                api_key: 18,
                version: 4,
                correlation_id: 0,
                bytes: 45,
            },
        );
        assert_eq!(t.request_for(c, 0), Some((18, 4)));
        assert_eq!(t.request_for(c, 1), None);
        assert_eq!(t.request_for(c + 1, 0), None, "another connection's request");
        t.record(
            c,
            WireEvent::Received {
                api_key: Some(18),
                version: Some(4),
                correlation_id: Some(0),
                bytes: 12,
            },
        );
        t.record(c, WireEvent::PeerClosed);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].ends_with("#1 connected to 127.0.0.1:9092"), "{text}");
        assert!(lines[1].ends_with("#1 → ApiVersions v4  corr 0  45 B"), "{text}");
        assert!(lines[2].ends_with("#1 ← ApiVersions v4  corr 0  12 B"), "{text}");
        assert!(lines[3].ends_with("closed by the broker (EOF)"), "{text}");
    }

    #[test]
    fn the_transcript_is_bounded() {
        let t = Transcript::new();
        for _ in 0..MAX_EVENTS + 5 {
            t.record(1, WireEvent::PeerClosed);
        }
        assert_eq!(t.events().len(), MAX_EVENTS);
        assert!(t.render().ends_with("(5 more events not kept; limit 10000)\n"));
    }
}
