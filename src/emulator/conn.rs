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

use super::fault::closed;
use super::handlers::api_versions;
use super::handlers::metadata::{MetadataReply, Plan, REPLY_CHUNK, REPLY_WORK};
use super::pool::{Reservation, UNPOOLED_FRAME_BYTES};
use super::record::{CloseReason, ConnRecord, Recorder, ThrottleViolation};
use super::Broker;
use crate::protocol::frame::{body_len, split_frame};
use crate::protocol::header::{request_header_version, RequestHeader};
use crate::protocol::messages::MetadataRequestView;
use crate::protocol::primitives::Reader;
use crate::protocol::throttle::client_must_wait;
use crate::protocol::{api_key, decode_request_with, encode_response, DecodeError, RequestBody, ResponseBody};

/// How long to keep reading after closing our side, to catch a client that
/// writes on a connection the broker has closed.
const LINGER_AFTER_CLOSE: Duration = Duration::from_millis(200);

/// Most bytes already waiting unread that [`linger`] takes off before the
/// close (beyond them, the rest counts as written after the close).
const PIPELINED_LIMIT: usize = 1 << 20;

/// After a fault that leaves a reply cut, forged or missing, how long the
/// emulator keeps reading before its FIN: a request the client pipelined
/// before the fault (librdkafka sends two Metadata requests back to back)
/// must not count as written after the close. The client has nothing whole
/// to react to meanwhile. After a whole reply the FIN goes at once.
const PIPELINE_GRACE: Duration = Duration::from_millis(100);

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

/// A throttled connection (the `throttle` fault): Kafka mutes the channel
/// after sending a throttled reply, so no request is read before `until`.
struct Mute {
    until: Instant,
    /// The client may send again from here on (see [`throttled`]).
    client_until: Instant,
    /// `(api_key, api_version)` of the throttled reply.
    reply: (i16, i16),
    /// Whether that reply obliged the client to wait (KIP-219).
    obliged: bool,
    throttle_ms: u32,
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

    /// Waits `d` before a reply (the `delay` fault), unless the client hangs
    /// up or the emulator shuts down first.
    async fn pause(&mut self, d: Duration) -> Result<(), CloseReason> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = Self::hung_up(&self.stream) => Err(CloseReason::ClientClosed),
            _ = self.shutdown.changed() => Err(CloseReason::Shutdown),
        }
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
    let _open = recorder.opened();
    let mut conn = Conn {
        stream,
        idle: broker.idle_timeout,
        last_active: Instant::now(),
        shutdown,
    };
    let mut buf = BytesMut::with_capacity(4096);
    let mut mute: Option<Mute> = None;
    let mut fin_sent = false;
    let reason = loop {
        let (frame, reservation) = match conn.next_frame(&mut buf, &broker).await {
            Ok(f) => f,
            Err(reason) => break reason,
        };
        let ids = RequestHeader::peek_ids(&frame).ok();
        let mut early = false;
        if let Some(m) = mute.take() {
            let arrived = Instant::now();
            early = arrived < m.until;
            if m.obliged && arrived < m.client_until {
                record.push_violation(ThrottleViolation {
                    throttled: m.reply,
                    throttle_ms: m.throttle_ms,
                    early: ids.map_or((-1, -1), |(k, v, _)| (k, v)),
                    early_by: m.client_until - arrived,
                });
            }
            if arrived < m.until {
                // Muted: the request is not handled before the throttle ends.
                tokio::select! {
                    _ = tokio::time::sleep_until(m.until) => {}
                    _ = conn.shutdown.changed() => break CloseReason::Shutdown,
                }
            }
        }
        // The `throttle` fault: the connection's first reply that can carry
        // a throttle time does, and so does every reply to a request sent
        // before the last throttle had passed (a client that does not wait
        // stays over its quota).
        let throttle = broker.faults.throttle.filter(|_| {
            ids.is_some_and(|(k, v, _)| carries_throttle(&broker, k, v)) && (early || record.throttled_replies == 0)
        });
        let large = frame.len() > UNPOOLED_FRAME_BYTES;
        let step = answer(&broker, &frame, ids, &mut record, throttle);
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
                    let mut plan = Plan::for_view(req, &b.view);
                    if let Some(t) = throttle {
                        plan = plan.throttle_ms(throttle_ms(t));
                    }
                    if b.take_leaderless() {
                        plan = plan.leaderless();
                    }
                    if b.take_creating() {
                        plan = plan.creating();
                    }
                    MetadataReply::new(plan, correlation_id).map_err(|e| CloseReason::Internal(e.to_string()))
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
                    let sent_from = match stream_reply(&mut conn, &broker, reply, large, record.responses).await {
                        Ok(t) => t,
                        Err(reason) => break reason,
                    };
                    drop(reservation);
                    record.responses += 1;
                    mute = throttled(throttle, ids, sent_from, &mut record);
                    if broker
                        .faults
                        .close_after_responses
                        .is_some_and(|n| record.responses >= n)
                    {
                        break CloseReason::Fault(closed::AFTER_N_RESPONSES);
                    }
                    continue;
                }
            }
        };
        let faults = &broker.faults;
        let key = ids.map_or(-1, |(k, _, _)| k);
        let faulted = faults.apply(reply, record.responses, key);
        if let Some(delay) = faulted.delay {
            if let Err(reason) = conn.pause(delay).await {
                break reason;
            }
        }
        // A whole reply followed by a close: the FIN leaves with the reply
        // (corked), so that no client can have the one without the other,
        // and any byte it writes afterwards was written on a closed
        // connection.
        let last_whole = faulted.close.is_none()
            && (after.is_some() || faults.close_after_responses.is_some_and(|n| record.responses + 1 >= n));
        if last_whole {
            cork(&conn.stream);
        }
        let sent_from = Instant::now();
        if let Err(reason) = conn.write_all(&faulted.bytes).await {
            break reason;
        }
        if last_whole {
            let _ = conn.stream.shutdown().await;
            fin_sent = true;
        }
        // Held until the reply is written.
        drop(reservation);
        record.responses += 1;
        mute = throttled(throttle, ids, sent_from, &mut record);
        if let Some(what) = faulted.close {
            break CloseReason::Fault(what);
        }
        if let Some(reason) = after {
            break reason;
        }
        if faults.close_after_responses.is_some_and(|n| record.responses >= n) {
            break CloseReason::Fault(closed::AFTER_N_RESPONSES);
        }
    };
    if let CloseReason::Reset(_) = reason {
        // RST: SO_LINGER 0, then close; nothing more can be read.
        let _ = conn.stream.set_zero_linger();
    } else if fin_sent {
        record.bytes_after_close = count_after_fin(&mut conn.stream).await;
    } else if reason.closed_by_emulator() {
        let grace = match &reason {
            // A reply cut, forged or missing: nothing whole to react to.
            CloseReason::Fault(_) => PIPELINE_GRACE,
            _ => Duration::ZERO,
        };
        record.bytes_after_close = linger(&mut conn.stream, grace).await;
    }
    record.closed = Some(reason);
    tracing::debug!(?record, "connection closed");
    recorder.push(record);
}

/// Whether the reply to `key` v`version` has a `throttle_time_ms` field:
/// ApiVersions v1+ when answered (a refusal is a v0 body), Metadata v3+.
fn carries_throttle(broker: &Broker, key: i16, version: i16) -> bool {
    match key {
        api_key::API_VERSIONS => version >= 1 && broker.table.get(key).is_some_and(|r| r.contains(version)),
        api_key::METADATA => version >= 3,
        api_key::DESCRIBE_CLUSTER => true,
        _ => false,
    }
}

/// `throttle_time_ms` for a throttle (saturating).
fn throttle_ms(t: Duration) -> i32 {
    i32::try_from(t.as_millis()).unwrap_or(i32::MAX)
}

/// After a reply to the request `ids` was written (from `sent_from` on), with
/// `throttle` in it: the mute that puts on the connection, counting the
/// replies that oblige the client to wait (KIP-219).
///
/// The channel is muted from the end of the write, as Kafka mutes it after
/// the send; the client is held to the throttle from the start of the write,
/// before which it cannot have had the reply, so that a busy emulator can
/// never blame a client that waited.
fn throttled(
    throttle: Option<Duration>,
    ids: Option<(i16, i16, i32)>,
    sent_from: Instant,
    record: &mut ConnRecord,
) -> Option<Mute> {
    let t = throttle?;
    let (key, version, _) = ids?;
    record.throttled_replies += 1;
    let obliged = client_must_wait(key, version);
    if obliged {
        record.throttled += 1;
    }
    Some(Mute {
        until: Instant::now() + t,
        client_until: sent_from + t,
        reply: (key, version),
        obliged,
        throttle_ms: u32::try_from(t.as_millis()).unwrap_or(u32::MAX),
    })
}

/// Writes a Metadata reply chunk by chunk: at most one chunk of it is in
/// memory, and a client that does not read holds only that. Returns when the
/// writing began.
async fn stream_reply(
    conn: &mut Conn,
    broker: &Broker,
    mut reply: MetadataReply<MetadataRequestView>,
    large: bool,
    index: u32,
) -> Result<Instant, CloseReason> {
    if let Some(delay) = broker.faults.delay_for(index, api_key::METADATA) {
        conn.pause(delay).await?;
    }
    let sent_from = Instant::now();
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
    Ok(sent_from)
}

/// Holds back what is written next until the FIN (Linux `TCP_CORK`; the
/// shutdown flushes it with the FIN). Best effort: without it, the FIN
/// follows the reply at once.
fn cork(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        let _ = socket2::SockRef::from(stream).set_tcp_cork(true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

/// Closes our write side (FIN), then counts what the client still sends.
/// What arrives before the FIN (for `grace`, and what is already waiting
/// unread: requests the client pipelined before it could see the close) is
/// taken off first and not counted.
async fn linger(stream: &mut TcpStream, grace: Duration) -> usize {
    let mut chunk = [0u8; 4096];
    let mut unread = 0usize;
    let until = tokio::time::Instant::now() + grace;
    while unread < PIPELINED_LIMIT {
        match tokio::time::timeout_at(until, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => unread += n,
            _ => break,
        }
    }
    while unread < PIPELINED_LIMIT {
        match stream.try_read(&mut chunk) {
            Ok(n) if n > 0 => unread += n,
            _ => break,
        }
    }
    let _ = stream.shutdown().await;
    count_after_fin(stream).await
}

/// Counts what the client sends after our FIN (for [`LINGER_AFTER_CLOSE`]).
async fn count_after_fin(stream: &mut TcpStream) -> usize {
    let mut chunk = [0u8; 4096];
    let mut after = 0usize;
    let deadline = tokio::time::Instant::now() + LINGER_AFTER_CLOSE;
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
        if n == 0 {
            break;
        }
        after += n;
    }
    after
}

/// Answers `frame`, whose header ids (`RequestHeader::peek_ids`) are `ids`.
fn answer(
    broker: &Broker,
    frame: &Bytes,
    ids: Option<(i16, i16, i32)>,
    record: &mut ConnRecord,
    throttle: Option<Duration>,
) -> Step {
    let Some((key, version, correlation_id)) = ids else {
        return Step::Close(CloseReason::UnparsableHeader);
    };
    record.push_request((key, version, correlation_id));
    let Some(range) = broker.table.get(key) else {
        return Step::Close(CloseReason::UnknownApi { key });
    };
    let faults = &broker.faults;
    if key == api_key::API_VERSIONS && faults.reset_api_versions_above.is_some_and(|n| version > n) {
        return Step::Close(CloseReason::Reset(closed::RESET_API_VERSIONS));
    }
    if key == api_key::METADATA && faults.close_on_newest_metadata && version == range.max {
        return Step::Close(CloseReason::Fault(closed::NEWEST_METADATA));
    }
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
                Step::ReplyThenClose(reply, CloseReason::Fault(closed::AFTER_REFUSAL))
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
        RequestBody::ApiVersions(req) => {
            let mut reply = api_versions::handle(
                req,
                version,
                broker.release,
                broker.table,
                broker.features,
                broker.quirks,
                &broker.view.cluster_id,
            );
            if let Some(t) = throttle {
                reply.throttle_time_ms = throttle_ms(t);
            }
            if faults.tansu_tagged_fields && version >= 3 {
                return match api_versions::tansu_reply(correlation_id, version, reply) {
                    Ok(bytes) => Step::Reply(bytes),
                    Err(e) => Step::Close(CloseReason::Internal(e.to_string())),
                };
            }
            ResponseBody::ApiVersions(reply)
        }
        RequestBody::Metadata(req) => {
            ResponseBody::Metadata(super::handlers::metadata::handle(req, version, &broker.view))
        }
        RequestBody::DescribeCluster(req) => {
            let mut reply = super::handlers::describe_cluster::handle(req, &broker.view);
            if let Some(t) = throttle {
                reply.throttle_time_ms = throttle_ms(t);
            }
            ResponseBody::DescribeCluster(reply)
        }
    };
    match encode_response(correlation_id, version, &response) {
        Ok(reply) => Step::Reply(reply),
        Err(e) => Step::Close(CloseReason::Internal(e.to_string())),
    }
}
