//! The floor: a TCP stream that writes pre-encoded request frames and reads
//! size-prefixed replies, nothing else. What is left between it and a client
//! sending the very same frames is the client's own work.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use kafka_matrix::negotiate::SessionConfig;
use kafka_matrix::protocol::messages::ApiVersionsRequest;
use kafka_matrix::protocol::{encode_request, RequestBody};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connect timeout of the measured client and the floor. Under hundreds of
/// thousands of loopback connections a minute (ours and other processes'),
/// the host's TIME_WAIT table overflows (`TcpExtTCPTimeWaitOverflow`) and a
/// rare connect gets no SYN-ACK at all; waiting 30 s did not help. Such a
/// connect is retried and counted, and the run reports the count.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Connect attempts before a measured connect gives up.
pub const CONNECT_ATTEMPTS: usize = 3;
/// Connects of our client that timed out and were retried.
pub static STALLS_OURS: AtomicUsize = AtomicUsize::new(0);
/// The same for the floor.
pub static STALLS_FLOOR: AtomicUsize = AtomicUsize::new(0);

/// The frames one client sends to one broker, pre-encoded.
#[derive(Debug, Clone)]
pub struct Wire {
    /// The ApiVersions requests of the negotiation, in order (the refused
    /// one first where the broker refuses the start version).
    pub negotiation: Vec<Bytes>,
    /// Metadata (all topics) at the negotiated version.
    pub metadata: Bytes,
    /// ApiVersions at the negotiated version (what `Client::ping` sends).
    pub ping: Bytes,
}

impl Wire {
    /// The ApiVersions versions of the negotiation, in order.
    pub fn api_versions_path(&self) -> Vec<i16> {
        self.negotiation.iter().map(|f| ids(f).1).collect()
    }

    /// The negotiation and the Metadata request, as sent.
    pub fn with_metadata(&self) -> Vec<Bytes> {
        let mut all = self.negotiation.clone();
        all.push(self.metadata.clone());
        all
    }
}

/// ApiVersions at `version`, as our client writes it.
pub fn api_versions_frame(session: &SessionConfig, correlation_id: i32, version: i16) -> Bytes {
    let body = RequestBody::ApiVersions(ApiVersionsRequest {
        client_software_name: session.software_name.clone(),
        client_software_version: session.software_version.clone(),
        ..ApiVersionsRequest::default()
    });
    encode_request(correlation_id, session.client_id.as_deref(), version, &body)
        .unwrap_or_else(|e| panic!("cannot encode ApiVersions v{version}: {e}"))
}

/// (api key, version, correlation id) of a size-prefixed request frame.
pub fn ids(frame: &[u8]) -> (i16, i16, i32) {
    (
        i16::from_be_bytes([frame[4], frame[5]]),
        i16::from_be_bytes([frame[6], frame[7]]),
        i32::from_be_bytes([frame[8], frame[9], frame[10], frame[11]]),
    )
}

/// A floor connection.
pub struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects as our client does (no delay); a timed-out connect is retried
    /// and counted in `STALLS_FLOOR`.
    pub async fn connect(addr: SocketAddr) -> Self {
        let mut attempt = 1;
        let stream = loop {
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(connected) => break connected.expect("tcp-floor: connect failed"),
                Err(_) if attempt < CONNECT_ATTEMPTS => {
                    STALLS_FLOOR.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                }
                Err(_) => panic!("tcp-floor: {CONNECT_ATTEMPTS} connects to {addr} timed out"),
            }
        };
        stream.set_nodelay(true).expect("tcp-floor: set_nodelay failed");
        Self {
            stream,
            buf: Vec::with_capacity(8 * 1024),
        }
    }

    /// Writes `frame`, reads one reply frame; returns it without its prefix.
    pub async fn exchange(&mut self, frame: &[u8]) -> &[u8] {
        self.stream.write_all(frame).await.expect("tcp-floor: write failed");
        self.buf.clear();
        let end = self.read_frame_end(0).await;
        &self.buf[4..end]
    }

    /// Reads until the frame starting at `start` in `buf` is complete;
    /// returns where it ends.
    async fn read_frame_end(&mut self, start: usize) -> usize {
        loop {
            if self.buf.len() >= start + 4 {
                let b = &self.buf[start..start + 4];
                let size = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                let end = start + 4 + usize::try_from(size).expect("tcp-floor: negative frame size");
                if self.buf.len() >= end {
                    return end;
                }
            }
            let n = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .expect("tcp-floor: read failed");
            assert!(n > 0, "tcp-floor: the broker closed the connection");
        }
    }

    /// Writes `frames` (`count` requests back to back) at once, then reads
    /// `count` replies; returns their correlation ids.
    pub async fn pipeline(&mut self, frames: &[u8], count: usize) -> Vec<i32> {
        self.stream.write_all(frames).await.expect("tcp-floor: write failed");
        self.buf.clear();
        let mut start = 0;
        let mut correlation_ids = Vec::with_capacity(count);
        for _ in 0..count {
            let end = self.read_frame_end(start).await;
            let b = &self.buf[start + 4..start + 8];
            correlation_ids.push(i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            start = end;
        }
        assert_eq!(start, self.buf.len(), "tcp-floor: more bytes than {count} replies");
        correlation_ids
    }
}
