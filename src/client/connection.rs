//! One TCP connection to a broker: frames out, frames in, and a poison flag.
//!
//! After EOF, a framing or decode error, a timeout or a correlation mismatch
//! the connection is *dead*: the first error is kept, and every later call
//! returns [`ConnectionError::Dead`] without writing a byte (rskafka's
//! "poison"). Writing on a connection the broker already closed is exactly
//! the franz-go 1.19 failure this crate exists to catch.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tracing::Instrument;

use super::error::ConnectionError;
use super::transcript::{Transcript, WireEvent};
use crate::protocol::frame::split_frame;
use crate::protocol::header::{RequestHeader, ResponseHeader};
use crate::protocol::primitives::Reader;
use crate::protocol::throttle::client_must_wait;

/// Read buffer size: most ApiVersions/Metadata replies fit in one read.
const READ_CHUNK: usize = 8 * 1024;

/// Most bytes [`Connection::peer_closed`] takes off the socket in one call.
pub const PEEK_LIMIT: usize = 64 * 1024;

/// Connects to the first address `addr` resolves to that accepts, as
/// `TcpStream::connect(&str)` does, and says which one it was (the peer's
/// address, without asking the socket: one syscall less per connect).
async fn open(addr: &str) -> std::io::Result<(TcpStream, SocketAddr)> {
    let mut last = None;
    for peer in tokio::net::lookup_host(addr).await? {
        match TcpStream::connect(peer).await {
            Ok(stream) => return Ok((stream, peer)),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "could not resolve to any address")))
}

/// `fut`'s output, or `None` if `deadline` passes first. What
/// `tokio::time::timeout` does, with a timer the caller keeps: a
/// connection re-arms one timer for its connect and every reply instead of
/// putting a new one into tokio's timer wheel and taking it out each time
/// (moving a registered deadline later is one atomic store).
async fn before<T>(deadline: Pin<&mut Sleep>, fut: impl Future<Output = T>) -> Option<T> {
    let mut fut = std::pin::pin!(fut);
    let mut deadline = deadline;
    std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => deadline.as_mut().poll(cx).map(|()| None),
    })
    .await
}

/// A request the connection is waiting on, for error messages and spans.
#[derive(Debug, Clone, Copy)]
pub struct InFlight {
    /// API name.
    pub api: &'static str,
    /// API key.
    pub key: i16,
    /// Version sent.
    pub version: i16,
    /// Correlation id sent.
    pub correlation_id: i32,
    /// Response header version to expect.
    pub response_header_version: i16,
}

/// A broker connection. See the module docs.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    buf: BytesMut,
    max_frame_bytes: usize,
    /// Set once the peer's EOF has been read.
    eof: bool,
    /// Why the connection died, once it has.
    dead: Option<String>,
    /// Where frames are recorded, with this connection's number.
    transcript: Option<(Transcript, u32)>,
    /// No request before this (KIP-219 throttling, see [`Connection::throttle`]).
    quiet_until: Option<tokio::time::Instant>,
    /// The timer of the connect and of every reply, re-armed each time (see
    /// [`before`]). `None` only while a wait has it out.
    timer: Option<Pin<Box<Sleep>>>,
}

impl Connection {
    /// Opens a TCP connection within `timeout`.
    pub async fn connect(addr: &str, timeout: Duration, max_frame_bytes: usize) -> Result<Self, ConnectionError> {
        let mut timer = Box::pin(tokio::time::sleep(timeout));
        let (stream, peer) = match before(timer.as_mut(), open(addr)).await {
            None => {
                return Err(ConnectionError::ConnectTimeout {
                    addr: addr.to_owned(),
                    after: timeout,
                })
            }
            Some(Err(source)) => {
                return Err(ConnectionError::Connect {
                    addr: addr.to_owned(),
                    source,
                })
            }
            Some(Ok(s)) => s,
        };
        stream.set_nodelay(true).map_err(|source| ConnectionError::Connect {
            addr: addr.to_owned(),
            source,
        })?;
        Ok(Self {
            stream,
            peer,
            buf: BytesMut::with_capacity(READ_CHUNK),
            max_frame_bytes,
            eof: false,
            dead: None,
            transcript: None,
            quiet_until: None,
            timer: Some(timer),
        })
    }

    /// Notes a reply of API `key` at `version` that carried
    /// `throttle_time_ms`: where KIP-219 obliges the client
    /// ([`client_must_wait`]), the next request waits that long.
    pub fn throttle(&mut self, key: i16, version: i16, throttle_time_ms: i32) {
        if throttle_time_ms > 0 && client_must_wait(key, version) {
            let until = tokio::time::Instant::now() + Duration::from_millis(throttle_time_ms.unsigned_abs().into());
            self.quiet_until = Some(self.quiet_until.map_or(until, |t| t.max(until)));
            tracing::debug!(key, version, throttle_time_ms, "throttled by the broker");
        }
    }

    /// Waits out a throttle, if one is on. Call before checking the
    /// connection and writing, so that a close during the wait is seen.
    pub async fn wait_throttle(&mut self) {
        if let Some(until) = self.quiet_until.take() {
            tokio::time::sleep_until(until).await;
        }
    }

    /// Records this connection's frames, closes and death in `transcript`.
    pub fn with_transcript(mut self, transcript: &Transcript) -> Self {
        let n = transcript.connected(self.peer);
        self.transcript = Some((transcript.clone(), n));
        self
    }

    fn record(&self, event: WireEvent) {
        if let Some((t, n)) = &self.transcript {
            t.record(*n, event);
        }
    }

    fn saw_eof(&mut self) {
        if !self.eof {
            self.eof = true;
            self.record(WireEvent::PeerClosed);
        }
    }

    /// The broker's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Whether the connection is dead (and why).
    pub fn dead_cause(&self) -> Option<&str> {
        self.dead.as_deref()
    }

    /// Marks the connection dead with `cause` (kept if one is already set).
    pub fn kill(&mut self, cause: impl std::fmt::Display) {
        if self.dead.is_none() {
            let cause = cause.to_string();
            self.record(WireEvent::Dead { cause: cause.clone() });
            self.dead = Some(cause);
        }
    }

    fn check_alive(&self) -> Result<(), ConnectionError> {
        match &self.dead {
            Some(cause) => Err(ConnectionError::Dead {
                peer: self.peer,
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    fn fail<T>(&mut self, e: ConnectionError) -> Result<T, ConnectionError> {
        self.kill(&e);
        Err(e)
    }

    /// Without waiting: has the broker already closed its side, as far as
    /// this socket can tell now? It reads only when tokio's reactor has seen
    /// the socket readable (bytes or a FIN; a FIN once seen stays seen), so
    /// it costs no syscall on the common path; a FIN the reactor has not yet
    /// polled is not seen (why the emulator sends a reply and the FIN after
    /// it in one segment, see `docs/behaviours.md`). Bytes that
    /// arrive meanwhile are kept for the next read, but at most
    /// [`PEEK_LIMIT`] per call: a broker that floods bytes nobody asked for
    /// cannot grow the buffer here, where the frame limit is not checked
    /// (the next [`Connection::recv`] judges them). Past that the answer is
    /// "not closed" and the socket keeps the rest.
    pub fn peer_closed(&mut self) -> bool {
        if self.eof {
            return true;
        }
        let mut budget = PEEK_LIMIT;
        while budget > 0 {
            let want = budget.min(READ_CHUNK);
            // Straight into the read buffer's spare room, at most `want` (no
            // zeroed chunk to copy from, no reservation: this runs before every
            // request and mostly reads nothing; a full buffer grows by a little).
            match self.stream.try_read_buf(&mut (&mut self.buf).limit(want)) {
                Ok(0) => {
                    self.saw_eof();
                    return true;
                }
                Ok(n) => {
                    budget -= n;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
                Err(_) => {
                    self.saw_eof();
                    return true;
                }
            }
        }
        false
    }

    /// Writes one whole frame. Refuses (writing nothing) on a dead connection
    /// or one the broker has closed (EOF seen now or earlier).
    pub async fn send(&mut self, frame: &[u8]) -> Result<(), ConnectionError> {
        self.check_alive()?;
        if self.peer_closed() {
            return self.fail(ConnectionError::Io {
                peer: self.peer,
                source: std::io::Error::new(std::io::ErrorKind::NotConnected, "the broker closed the connection"),
            });
        }
        self.write_frame(frame).await
    }

    /// Writes one whole frame on a connection the caller has just checked
    /// for a pending EOF ([`Connection::peer_closed`], done once per request).
    /// A dead connection still refuses.
    pub(crate) async fn write_frame(&mut self, frame: &[u8]) -> Result<(), ConnectionError> {
        self.check_alive()?;
        if let Err(source) = self.stream.write_all(frame).await {
            return self.fail(ConnectionError::Io {
                peer: self.peer,
                source,
            });
        }
        if self.transcript.is_some() {
            let (api_key, version, correlation_id) = frame
                .get(4..)
                .and_then(|h| RequestHeader::peek_ids(h).ok())
                .unwrap_or((-1, -1, -1));
            self.record(WireEvent::Sent {
                api_key,
                version,
                correlation_id,
                bytes: frame.len(),
            });
        }
        Ok(())
    }

    /// Reads the next whole frame (without its size prefix). `Ok(None)` is a
    /// clean EOF between frames; EOF inside a frame is an error.
    pub async fn recv(&mut self) -> Result<Option<Bytes>, ConnectionError> {
        self.check_alive()?;
        loop {
            match split_frame(&mut self.buf, self.max_frame_bytes) {
                Ok(Some(frame)) => {
                    self.record_received(&frame);
                    return Ok(Some(frame));
                }
                Ok(None) => {}
                Err(source) => {
                    return self.fail(ConnectionError::Frame {
                        peer: self.peer,
                        source,
                    })
                }
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                let have = self.buf.len();
                return self.fail(ConnectionError::ClosedMidFrame { peer: self.peer, have });
            }
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => self.saw_eof(),
                Ok(_) => {}
                Err(source) => {
                    return self.fail(ConnectionError::Io {
                        peer: self.peer,
                        source,
                    })
                }
            }
        }
    }

    /// [`Connection::recv`] within `timeout`; `None` if it ran out (the
    /// caller decides what that means for the connection).
    pub async fn recv_within(&mut self, timeout: Duration) -> Option<Result<Option<Bytes>, ConnectionError>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut timer = match self.timer.take() {
            Some(mut t) => {
                t.as_mut().reset(deadline);
                t
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        };
        let got = before(timer.as_mut(), self.recv()).await;
        self.timer = Some(timer);
        got
    }

    fn record_received(&self, frame: &[u8]) {
        if let Some((t, n)) = &self.transcript {
            let correlation_id = frame
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(i32::from_be_bytes);
            let request = correlation_id.and_then(|c| t.request_for(*n, c));
            t.record(
                *n,
                WireEvent::Received {
                    api_key: request.map(|r| r.0),
                    version: request.map(|r| r.1),
                    correlation_id,
                    bytes: frame.len() + 4,
                },
            );
        }
    }

    /// Sends `frame` and waits up to `timeout` for the reply to `req`,
    /// checking its correlation id. Returns the reply with the response
    /// header already consumed (a [`Reader`] position), as raw bytes.
    pub async fn round_trip(
        &mut self,
        frame: &[u8],
        req: InFlight,
        timeout: Duration,
    ) -> Result<Reply, ConnectionError> {
        let span = tracing::debug_span!(
            "request",
            api = req.api,
            version = req.version,
            correlation_id = req.correlation_id
        );
        async {
            self.wait_throttle().await;
            // The clock is read only for a subscriber that will see it.
            let started = tracing::enabled!(tracing::Level::DEBUG).then(std::time::Instant::now);
            // Never write on a connection the broker has already closed (the
            // franz-go 1.19 failure): its FIN may be waiting unread.
            self.check_alive()?;
            if self.peer_closed() {
                return self.fail(ConnectionError::ClosedByPeer {
                    peer: self.peer,
                    api: req.api,
                    version: req.version,
                    correlation_id: req.correlation_id,
                });
            }
            self.write_frame(frame).await?;
            let reply = match self.recv_within(timeout).await {
                None => {
                    return self.fail(ConnectionError::Timeout {
                        api: req.api,
                        version: req.version,
                        correlation_id: req.correlation_id,
                        after: timeout,
                    })
                }
                Some(r) => r?,
            };
            let Some(body) = reply else {
                return self.fail(ConnectionError::ClosedByPeer {
                    peer: self.peer,
                    api: req.api,
                    version: req.version,
                    correlation_id: req.correlation_id,
                });
            };
            let reply = self.check_reply(body, req)?;
            if let Some(started) = started {
                tracing::debug!(latency_us = started.elapsed().as_micros() as u64, "reply");
            }
            Ok(reply)
        }
        .instrument(span)
        .await
    }

    fn check_reply(&mut self, body: Bytes, req: InFlight) -> Result<Reply, ConnectionError> {
        let mut r = Reader::new(&body);
        let header = match ResponseHeader::decode(&mut r, req.response_header_version) {
            Ok(h) => h,
            Err(source) => {
                return self.fail(ConnectionError::Decode {
                    api: req.api,
                    version: req.version,
                    source,
                })
            }
        };
        if header.correlation_id != req.correlation_id {
            return self.fail(ConnectionError::CorrelationMismatch {
                api: req.api,
                version: req.version,
                expected: req.correlation_id,
                got: header.correlation_id,
            });
        }
        let offset = r.position();
        Ok(Reply { frame: body, offset })
    }
}

/// A reply whose header was checked; [`Reply::body`] is what follows it.
#[derive(Debug, Clone)]
pub struct Reply {
    frame: Bytes,
    offset: usize,
}

impl Reply {
    /// The whole frame, header included.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// The body after the response header.
    pub fn body(&self) -> &[u8] {
        &self.frame[self.offset..]
    }

    /// [`Reply::body`], sharing the frame's memory (no copy).
    pub fn body_bytes(&self) -> Bytes {
        self.frame.slice(self.offset..)
    }
}
