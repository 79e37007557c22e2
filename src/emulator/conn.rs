//! One client connection: read a frame, answer it, repeat — serially, as a
//! Kafka broker handles each connection (one request in flight per channel
//! is processed at a time; `SocketServer` mutes the channel until the reply).
//!
//! Where Kafka closes the connection (an unparsable header, an unknown API
//! key, a version it does not support for any API but ApiVersions, an
//! oversized length prefix) this closes it too, and says why in the
//! connection's record.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::handlers::api_versions;
use super::handlers::metadata::{MetadataReply, Plan, REPLY_CHUNK, REPLY_WORK};
use super::pool::{Reservation, UNPOOLED_FRAME_BYTES};
use super::record::{CloseReason, ConnRecord, Recorder};
use super::Broker;
use crate::protocol::frame::{body_len, split_frame};
use crate::protocol::header::{request_header_version, RequestHeader};
use crate::protocol::messages::MetadataRequestView;
use crate::protocol::primitives::Reader;
use crate::protocol::{api_key, decode_request_with, encode_response, DecodeError, RequestBody, ResponseBody};

/// How long to keep reading after closing our side, to catch a client that
/// writes on a connection the broker has closed.
const LINGER_AFTER_CLOSE: Duration = Duration::from_millis(200);

/// While a connection waits for the memory pool it is not read; this is how
/// often it looks whether the client has hung up meanwhile.
const HANGUP_CHECK: Duration = Duration::from_millis(200);

/// Read buffers above this capacity are not kept between requests (a large
/// frame's buffer goes with the frame).
const KEEP_BUFFER: usize = 64 * 1024;

/// What to do with one request.
enum Step {
    Reply(Bytes),
    /// Reply, then close (a fault).
    ReplyThenClose(Bytes, CloseReason),
    Close(CloseReason),
    /// A Metadata request whose header parsed, to be read and answered.
    Metadata {
        frame: Bytes,
        body_at: usize,
        version: i16,
        correlation_id: i32,
    },
}

/// One connection's socket, with the idle clock (Kafka's Selector: a
/// connection is idle when no read or write completed for
/// `connections.max.idle.ms`).
struct Conn {
    stream: TcpStream,
    idle: Option<Duration>,
    last_active: Instant,
    shutdown: watch::Receiver<bool>,
}

impl Conn {
    /// Resolves when the connection has been idle for the timeout.
    fn idle_expiry(&self) -> impl Future<Output = ()> + use<> {
        let deadline = self.idle.map(|d| self.last_active + d);
        async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        }
    }

    /// Reads what is there into `buf` (at least one byte).
    async fn read_some(&mut self, buf: &mut BytesMut) -> Result<(), CloseReason> {
        let expiry = self.idle_expiry();
        let read = tokio::select! {
            r = self.stream.read_buf(buf) => r,
            _ = self.shutdown.changed() => return Err(CloseReason::Shutdown),
            _ = expiry => return Err(CloseReason::IdleTimeout),
        };
        match read {
            Ok(0) if buf.is_empty() => Err(CloseReason::ClientClosed),
            Ok(0) => Err(CloseReason::ClientClosedMidFrame),
            Ok(_) => {
                self.last_active = Instant::now();
                Ok(())
            }
            Err(e) => Err(CloseReason::Io(e.to_string())),
        }
    }

    /// Writes all of `bytes`; each write that makes progress counts as activity.
    async fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), CloseReason> {
        while !bytes.is_empty() {
            let expiry = self.idle_expiry();
            let wrote = tokio::select! {
                r = self.stream.write(bytes) => r,
                _ = self.shutdown.changed() => return Err(CloseReason::Shutdown),
                _ = expiry => return Err(CloseReason::IdleTimeout),
            };
            match wrote {
                Ok(0) => return Err(CloseReason::Io("wrote zero bytes".into())),
                Ok(n) => {
                    bytes = &bytes[n..];
                    self.last_active = Instant::now();
                }
                Err(e) => return Err(CloseReason::Io(e.to_string())),
            }
        }
        Ok(())
    }

    /// Resolves when the client has hung up (checked every [`HANGUP_CHECK`]
    /// without reading, for a connection that is not being read).
    async fn hung_up(stream: &TcpStream) {
        loop {
            match stream.ready(Interest::READABLE).await {
                Ok(r) if r.is_read_closed() || r.is_error() => return,
                Err(_) => return,
                Ok(_) => tokio::time::sleep(HANGUP_CHECK).await,
            }
        }
    }

    /// The next request frame, with its memory reserved from the pool
    /// before its body is read (see `pool`).
    async fn next_frame(&mut self, buf: &mut BytesMut, broker: &Broker) -> Result<(Bytes, Reservation), CloseReason> {
        while buf.len() < 4 {
            self.read_some(buf).await?;
        }
        let mut prefix = [0u8; 4];
        prefix.copy_from_slice(&buf[..4]);
        let len = body_len(prefix, broker.max_frame_bytes).map_err(|e| CloseReason::InvalidFrame(e.to_string()))?;
        let reservation = match broker.pool.try_reserve(len) {
            Some(r) => r,
            None => {
                // The pool is full: stop reading this socket until it has room.
                let expiry = self.idle_expiry();
                tokio::select! {
                    r = broker.pool.reserve(len) => r,
                    _ = Self::hung_up(&self.stream) => return Err(CloseReason::ClientClosedMidFrame),
                    _ = expiry => return Err(CloseReason::IdleTimeout),
                    _ = self.shutdown.changed() => return Err(CloseReason::Shutdown),
                }
            }
        };
        loop {
            match split_frame(buf, broker.max_frame_bytes) {
                Ok(Some(frame)) => {
                    if buf.capacity() > KEEP_BUFFER {
                        // Do not keep the large frame's allocation alive with
                        // the bytes that followed it.
                        *buf = BytesMut::from(&buf[..]);
                    }
                    return Ok((frame, reservation));
                }
                Ok(None) => self.read_some(buf).await?,
                Err(e) => return Err(CloseReason::InvalidFrame(e.to_string())),
            }
        }
    }
}

/// Runs `work` on the blocking pool when `large`, inline otherwise: work
/// proportional to a large request must not hold an async worker (and with
/// it every connection that worker serves).
async fn run_work<T: Send + 'static>(large: bool, work: impl FnOnce() -> T + Send + 'static) -> Result<T, CloseReason> {
    if large {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| CloseReason::Internal(format!("request work failed: {e}")))
    } else {
        Ok(work())
    }
}

/// Serves one connection until it closes or the emulator shuts down.
pub(super) async fn serve(stream: TcpStream, broker: Arc<Broker>, recorder: Recorder, shutdown: watch::Receiver<bool>) {
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let mut record = ConnRecord::new(peer);
    let mut conn = Conn {
        stream,
        idle: broker.idle_timeout,
        last_active: Instant::now(),
        shutdown,
    };
    let mut buf = BytesMut::with_capacity(4096);
    let reason = loop {
        let (frame, reservation) = match conn.next_frame(&mut buf, &broker).await {
            Ok(f) => f,
            Err(reason) => break reason,
        };
        let large = frame.len() > UNPOOLED_FRAME_BYTES;
        let step = answer(&broker, &frame, &mut record);
        drop(frame);
        let (reply, after) = match step {
            Step::Close(reason) => break reason,
            Step::Reply(reply) => (reply, None),
            Step::ReplyThenClose(reply, reason) => (reply, Some(reason)),
            Step::Metadata {
                frame,
                body_at,
                version,
                correlation_id,
            } => {
                let b = Arc::clone(&broker);
                let made = run_work(large, move || {
                    let strict = b.quirks.strict_body_tag_order;
                    let req = match MetadataRequestView::decode(frame, body_at, version, strict) {
                        Ok(req) => req,
                        Err(DecodeError::UnsupportedVersion { .. }) => {
                            return Err(CloseReason::NotEmulated {
                                key: api_key::METADATA,
                                version,
                            })
                        }
                        Err(e) => return Err(CloseReason::InvalidRequest(e.to_string())),
                    };
                    MetadataReply::new(Plan::for_view(req, &b.view), correlation_id)
                        .map_err(|e| CloseReason::Internal(e.to_string()))
                })
                .await;
                let reply = match made {
                    Ok(Ok(reply)) => reply,
                    Ok(Err(reason)) | Err(reason) => break reason,
                };
                if broker.faults.rewrites() {
                    // The faults rewrite whole replies (docs/robustness.md).
                    match run_work(large, move || reply.into_bytes()).await {
                        Ok(Ok(bytes)) => (bytes, None),
                        Ok(Err(e)) => break CloseReason::Internal(e.to_string()),
                        Err(reason) => break reason,
                    }
                } else {
                    if let Err(reason) = stream_reply(&mut conn, &broker, reply, large, record.responses).await {
                        break reason;
                    }
                    drop(reservation);
                    record.responses += 1;
                    if broker
                        .faults
                        .close_after_responses
                        .is_some_and(|n| record.responses >= n)
                    {
                        break CloseReason::Fault("close after N responses");
                    }
                    continue;
                }
            }
        };
        let faults = &broker.faults;
        let faulted = faults.apply(reply, record.responses);
        if let Some(delay) = faulted.delay {
            tokio::time::sleep(delay).await;
        }
        if let Err(reason) = conn.write_all(&faulted.bytes).await {
            break reason;
        }
        // Held until the reply is written.
        drop(reservation);
        record.responses += 1;
        if let Some(what) = faulted.close {
            break CloseReason::Fault(what);
        }
        if let Some(reason) = after {
            break reason;
        }
        if faults.close_after_responses.is_some_and(|n| record.responses >= n) {
            break CloseReason::Fault("close after N responses");
        }
    };
    if reason.closed_by_emulator() {
        record.bytes_after_close = linger(&mut conn.stream).await;
    }
    record.closed = Some(reason);
    tracing::debug!(?record, "connection closed");
    recorder.push(record);
}

/// Writes a Metadata reply chunk by chunk: at most one chunk of it is in
/// memory, and a client that does not read holds only that.
async fn stream_reply(
    conn: &mut Conn,
    broker: &Broker,
    mut reply: MetadataReply<MetadataRequestView>,
    large: bool,
    index: u32,
) -> Result<(), CloseReason> {
    if let Some(delay) = broker.faults.delay_for(index) {
        tokio::time::sleep(delay).await;
    }
    let mut out = BytesMut::with_capacity(REPLY_CHUNK.min(reply.frame_len()) + 1024);
    while !reply.is_done() {
        let (r, o, filled) = run_work(large, move || {
            let filled = reply.fill(&mut out, REPLY_CHUNK, REPLY_WORK);
            (reply, out, filled)
        })
        .await?;
        (reply, out) = (r, o);
        filled.map_err(|e| CloseReason::Internal(e.to_string()))?;
        conn.write_all(&out).await?;
        out.clear();
    }
    Ok(())
}

/// Closes our write side (FIN), then counts what the client still sends.
async fn linger(stream: &mut TcpStream) -> usize {
    let _ = stream.shutdown().await;
    let mut after = 0usize;
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + LINGER_AFTER_CLOSE;
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
        if n == 0 {
            break;
        }
        after += n;
    }
    after
}

fn answer(broker: &Broker, frame: &Bytes, record: &mut ConnRecord) -> Step {
    let Ok((key, version, correlation_id)) = RequestHeader::peek_ids(frame) else {
        return Step::Close(CloseReason::UnparsableHeader);
    };
    record.push_request((key, version, correlation_id));
    let Some(range) = broker.table.get(key) else {
        return Step::Close(CloseReason::UnknownApi { key });
    };
    if key == api_key::API_VERSIONS && !range.contains(version) {
        // The body is not read; the header must still parse (from 2.4 header
        // v2 for any version >= 3, as Kafka's generated code picks it; before
        // 2.4 the one v1 schema).
        let hv = if broker.quirks.flexible_request_headers {
            request_header_version(key, version).unwrap_or(1)
        } else {
            1
        };
        if RequestHeader::decode(&mut Reader::new(frame), hv).is_err() {
            return Step::Close(CloseReason::UnparsableHeader);
        }
        let body = api_versions::unsupported(broker.table, broker.quirks);
        return match encode_response(correlation_id, 0, &ResponseBody::ApiVersions(body)) {
            Ok(reply) if broker.faults.close_after_unsupported_api_versions => {
                Step::ReplyThenClose(reply, CloseReason::Fault("close after UNSUPPORTED_VERSION"))
            }
            Ok(reply) => Step::Reply(reply),
            Err(e) => Step::Close(CloseReason::Internal(e.to_string())),
        };
    }
    if !range.contains(version) {
        return Step::Close(CloseReason::UnsupportedVersion { key, version });
    }
    // Kafka parses the header before the body and closes if it does not parse.
    let mut body_at = None;
    if let Some(hv) = request_header_version(key, version) {
        let mut r = Reader::new(frame);
        if RequestHeader::decode(&mut r, hv).is_err() {
            return Step::Close(CloseReason::UnparsableHeader);
        }
        body_at = Some(r.position());
    }
    if let (api_key::METADATA, Some(at)) = (key, body_at) {
        // Read in place (no owned entry per topic, see handlers::metadata), by
        // the caller: the walk is as long as the request.
        return Step::Metadata {
            frame: frame.clone(),
            body_at: at,
            version,
            correlation_id,
        };
    }
    let body = match decode_request_with(frame, broker.quirks.strict_body_tag_order) {
        Ok((_, body)) => body,
        Err(DecodeError::UnsupportedVersion { .. }) => return Step::Close(CloseReason::NotEmulated { key, version }),
        Err(e) => return Step::Close(CloseReason::InvalidRequest(e.to_string())),
    };
    let response = match &body {
        RequestBody::ApiVersions(req) => ResponseBody::ApiVersions(api_versions::handle(
            req,
            version,
            broker.release,
            broker.table,
            broker.features,
            broker.quirks,
        )),
        RequestBody::Metadata(req) => {
            ResponseBody::Metadata(super::handlers::metadata::handle(req, version, &broker.view))
        }
    };
    match encode_response(correlation_id, version, &response) {
        Ok(reply) => Step::Reply(reply),
        Err(e) => Step::Close(CloseReason::Internal(e.to_string())),
    }
}
