//! One client connection: read a frame, answer it, repeat — serially, as a
//! Kafka broker handles each connection (one request in flight per channel
//! is processed at a time; `SocketServer` mutes the channel until the reply).
//!
//! Where Kafka closes the connection (an unparsable header, an unknown API
//! key, a version it does not support for any API but ApiVersions, an
//! oversized length prefix) this closes it too, and says why in the
//! connection's record.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::handlers::{api_versions, metadata};
use super::record::{CloseReason, ConnRecord, Recorder};
use super::Broker;
use crate::protocol::frame::split_frame;
use crate::protocol::header::{request_header_version, RequestHeader};
use crate::protocol::primitives::Reader;
use crate::protocol::{api_key, decode_request_with, encode_response, RequestBody, ResponseBody};

/// How long to keep reading after closing our side, to catch a client that
/// writes on a connection the broker has closed.
const LINGER_AFTER_CLOSE: Duration = Duration::from_millis(200);

/// What to do with one request.
enum Step {
    Reply(Bytes),
    /// Reply, then close (a fault).
    ReplyThenClose(Bytes, CloseReason),
    Close(CloseReason),
}

/// Serves one connection until it closes or the emulator shuts down.
pub(super) async fn serve(
    mut stream: TcpStream,
    broker: Arc<Broker>,
    recorder: Recorder,
    mut shutdown: watch::Receiver<bool>,
) {
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let mut record = ConnRecord::new(peer);
    let mut buf = BytesMut::with_capacity(4096);
    let reason = loop {
        let frame = match split_frame(&mut buf, broker.max_frame_bytes) {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                let read = tokio::select! {
                    r = stream.read_buf(&mut buf) => r,
                    _ = shutdown.changed() => break CloseReason::Shutdown,
                };
                match read {
                    Ok(0) if buf.is_empty() => break CloseReason::ClientClosed,
                    Ok(0) => break CloseReason::ClientClosedMidFrame,
                    Ok(_) => continue,
                    Err(e) => break CloseReason::Io(e.to_string()),
                }
            }
            Err(e) => break CloseReason::InvalidFrame(e.to_string()),
        };
        let step = answer(&broker, &frame, &mut record);
        let (reply, after) = match step {
            Step::Close(reason) => break reason,
            Step::Reply(reply) => (reply, None),
            Step::ReplyThenClose(reply, reason) => (reply, Some(reason)),
        };
        let faults = &broker.faults;
        let faulted = faults.apply(reply, record.responses);
        if let Some(delay) = faulted.delay {
            tokio::time::sleep(delay).await;
        }
        if let Err(e) = stream.write_all(&faulted.bytes).await {
            break CloseReason::Io(e.to_string());
        }
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
        record.bytes_after_close = linger(&mut stream).await;
    }
    record.closed = Some(reason);
    tracing::debug!(?record, "connection closed");
    recorder.push(record);
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
    if let Some(hv) = request_header_version(key, version) {
        if RequestHeader::decode(&mut Reader::new(frame), hv).is_err() {
            return Step::Close(CloseReason::UnparsableHeader);
        }
    }
    let body = match decode_request_with(frame, broker.quirks.strict_body_tag_order) {
        Ok((_, body)) => body,
        Err(crate::protocol::DecodeError::UnsupportedVersion { .. }) => {
            return Step::Close(CloseReason::NotEmulated { key, version })
        }
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
        RequestBody::Metadata(req) => ResponseBody::Metadata(metadata::handle(req, version, &broker.view)),
    };
    match encode_response(correlation_id, version, &response) {
        Ok(reply) => Step::Reply(reply),
        Err(e) => Step::Close(CloseReason::Internal(e.to_string())),
    }
}
