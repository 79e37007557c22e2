//! Raw-bytes fidelity tests for the emulator: requests are written to a plain
//! `TcpStream`, replies read back frame by frame, and both compared with what
//! a real Kafka broker of each release sends (docs/research/kafka-wire-behaviour.md).
//!
//! - ApiVersions v0..=max for every catalog (release, mode): the release's table,
//!   error 0, response header v0.
//! - ApiVersions at an unsupported version: Kafka's exact v0 error bytes (with the
//!   KIP-511 hint from 2.4), and the connection stays open (research Q1); with the
//!   `close_after_unsupported_api_versions` fault, the same bytes and then EOF.
//! - ApiVersions v3+ with an invalid ClientSoftwareName: INVALID_REQUEST (research Q4).
//! - Metadata v0..=max for every catalog (release, mode) (research Q5).
//! - What Kafka closes without a reply (research Q2/Q3): Metadata above the
//!   release's max, unknown API keys, too-short frames, bad length prefixes.
//!
//! Every read has a timeout, so a missing reply fails instead of hanging.

use std::time::Duration;

use bytes::Bytes;
use kafka_matrix::emulator::{CloseReason, ConnRecord, Emulator, EmulatorOptions, Faults, SeededTopic};
use kafka_matrix::protocol::messages::{
    ApiVersionEntry, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataRequestTopic, MetadataResponse,
};
use kafka_matrix::protocol::{api_key, decode_response, encode_request, RequestBody, ResponseBody};
use kafka_matrix::versions::{releases, table, Mode, Release};
use rstest::rstest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Upper bound for any single network wait; only reached when something is wrong.
const WAIT: Duration = Duration::from_secs(5);

/// The newest ApiVersions version the emulator answers (its codec's).
const CODEC_MAX: i16 = kafka_matrix::protocol::messages::api_versions::VERSIONS.max;

const SOFTWARE_NAME: &str = "kafka-matrix";
const SOFTWARE_VERSION: &str = "0.1.0";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Every (release, mode) the catalog lists.
fn catalog() -> Vec<(Release, Mode)> {
    releases()
        .iter()
        .flat_map(|info| info.modes.iter().map(move |&m| (info.release, m)))
        .collect()
}

fn max_of(release: Release, mode: Mode, key: i16) -> i16 {
    table(release, mode)
        .and_then(|t| t.get(key))
        .unwrap_or_else(|| panic!("{release} {mode} has no API key {key}"))
        .max
}

/// Two topics, auto-creation off (`auto.create.topics.enable=false`): these
/// tests check the unknown-topic answer at every version on one emulator;
/// tests/emulator_parsing.rs checks auto-creation.
fn seeded() -> EmulatorOptions {
    EmulatorOptions {
        topics: vec![SeededTopic::new("orders", 3), SeededTopic::new("payments", 1)],
        auto_create_topics: false,
        ..EmulatorOptions::default()
    }
}

async fn start(release: Release, mode: Mode, options: EmulatorOptions) -> Emulator {
    Emulator::start(release, mode, options)
        .await
        .unwrap_or_else(|e| panic!("emulator {release} {mode} starts: {e}"))
}

async fn connect(emu: &Emulator) -> TcpStream {
    timeout(WAIT, TcpStream::connect(emu.addr()))
        .await
        .expect("connect in time")
        .expect("connect")
}

async fn send(stream: &mut TcpStream, bytes: &[u8]) {
    timeout(WAIT, stream.write_all(bytes))
        .await
        .expect("write in time")
        .expect("write");
}

/// Reads one whole frame, size prefix included. `None` is a clean EOF before
/// the first byte of a frame; EOF inside a frame panics.
async fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut prefix = [0u8; 4];
    let mut have = 0;
    while have < 4 {
        let n = timeout(WAIT, stream.read(&mut prefix[have..]))
            .await
            .expect("reply (or EOF) in time")
            .expect("read");
        if n == 0 {
            assert_eq!(have, 0, "EOF inside a length prefix");
            return None;
        }
        have += n;
    }
    let len = usize::try_from(i32::from_be_bytes(prefix)).expect("non-negative response length");
    let mut frame = prefix.to_vec();
    frame.resize(4 + len, 0);
    timeout(WAIT, stream.read_exact(&mut frame[4..]))
        .await
        .expect("frame body in time")
        .expect("whole frame body");
    Some(frame)
}

async fn expect_frame(stream: &mut TcpStream) -> Vec<u8> {
    read_frame(stream).await.expect("a reply frame, not EOF")
}

/// The emulator closed without answering: the next read is EOF (a reset also
/// counts as closed, but no reply bytes may arrive).
async fn expect_eof(stream: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 64];
    let read = timeout(WAIT, stream.read(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("{what}: the emulator neither answered nor closed"));
    match read {
        Ok(0) => {}
        Ok(n) => panic!("{what}: expected EOF, got {n} bytes: {:02x?}", &buf[..n]),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{what}: {e}"),
    }
}

/// Waits for the record of a connection that ended with `reason` (records are
/// pushed asynchronously, after the emulator's linger).
async fn record_closed_with(emu: &Emulator, reason: &CloseReason) -> ConnRecord {
    let found = timeout(WAIT, async {
        loop {
            if let Some(r) = emu.records().into_iter().find(|r| r.closed.as_ref() == Some(reason)) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no record closed with {reason:?}; records: {:?}", emu.records()))
}

/// An ApiVersions request frame at any version, including ones above what the
/// codec speaks (v5+ is v4's bytes with the version patched: the broker reads
/// only the header of a version it does not know).
fn api_versions_frame(corr: i32, version: i16, name: &str, sw_version: &str) -> Bytes {
    let body = RequestBody::ApiVersions(ApiVersionsRequest {
        client_software_name: name.into(),
        client_software_version: sw_version.into(),
        ..ApiVersionsRequest::default()
    });
    let encode_at = version.min(CODEC_MAX);
    let frame = encode_request(corr, Some("fidelity"), encode_at, &body).expect("ApiVersions request encodes");
    patch_version(frame, version)
}

/// A Metadata request frame; v14+ is v13's bytes with the version patched.
fn metadata_frame(corr: i32, version: i16, req: &MetadataRequest) -> Bytes {
    let frame = encode_request(
        corr,
        Some("fidelity"),
        version.min(13),
        &RequestBody::Metadata(req.clone()),
    )
    .expect("encodes");
    patch_version(frame, version)
}

fn patch_version(frame: Bytes, version: i16) -> Bytes {
    let mut v = frame.to_vec();
    v[6..8].copy_from_slice(&version.to_be_bytes());
    Bytes::from(v)
}

fn decode_api_versions(frame: &[u8], version: i16) -> (i32, ApiVersionsResponse) {
    let (header, body) = decode_response(&frame[4..], api_key::API_VERSIONS, version)
        .unwrap_or_else(|e| panic!("ApiVersions v{version} reply decodes: {e}; bytes {frame:02x?}"));
    match body {
        ResponseBody::ApiVersions(b) => (header.correlation_id, b),
        other => panic!("not an ApiVersions body: {other:?}"),
    }
}

fn decode_metadata(frame: &[u8], version: i16) -> (i32, MetadataResponse) {
    let (header, body) = decode_response(&frame[4..], api_key::METADATA, version)
        .unwrap_or_else(|e| panic!("Metadata v{version} reply decodes: {e}; bytes {frame:02x?}"));
    match body {
        ResponseBody::Metadata(b) => (header.correlation_id, b),
        other => panic!("not a Metadata body: {other:?}"),
    }
}

/// Kafka's UNSUPPORTED_VERSION reply to an ApiVersions version it does not
/// know, as bytes (research Q1.3): v0 body, header v0; from 2.4 one entry
/// {18, 0, max}, before that no entries.
fn unsupported_reply(release: Release, corr: i32, api_versions_max: i16) -> Vec<u8> {
    let mut body = corr.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x00, 0x23]);
    if release >= Release::new(2, 4) {
        body.extend_from_slice(&[0, 0, 0, 1, 0x00, 0x12, 0, 0]);
        body.extend_from_slice(&api_versions_max.to_be_bytes());
    } else {
        body.extend_from_slice(&[0, 0, 0, 0]);
    }
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

/// A follow-up request on the same socket gets a normal answer.
async fn assert_still_serving(stream: &mut TcpStream, corr: i32, what: &str) {
    send(stream, &api_versions_frame(corr, 0, "", "")).await;
    let frame = read_frame(stream)
        .await
        .unwrap_or_else(|| panic!("{what}: the connection was closed, a follow-up request got EOF"));
    let (got_corr, resp) = decode_api_versions(&frame, 0);
    assert_eq!(got_corr, corr, "{what}");
    assert_eq!(resp.error_code, 0, "{what}");
    assert!(!resp.api_keys.is_empty(), "{what}");
}

// ---------------------------------------------------------------------------------------
// ApiVersions
// ---------------------------------------------------------------------------------------

#[test]
fn catalog_is_not_empty() {
    // Guards the loops below against silently testing nothing.
    let all = catalog();
    assert_eq!(all.len(), 35, "{all:?}");
    assert!(all.contains(&(Release::new(3, 8), Mode::Zk)));
    assert!(all.contains(&(Release::new(4, 4), Mode::Kraft)));
}

#[tokio::test]
async fn api_versions_at_every_supported_version_is_the_release_table() {
    let mut checked = 0;
    for (release, mode) in catalog() {
        let t = table(release, mode).expect("table");
        let mut want: Vec<ApiVersionEntry> = t
            .iter()
            .map(|e| ApiVersionEntry {
                api_key: e.key,
                min_version: e.range.min,
                max_version: e.range.max,
            })
            .collect();
        // KRaft 2.8-3.1 list Envelope (58) last (recorded from the real 2.8.2,
        // 3.0.2, 3.1.2 by `kafka-matrix diff`; Quirks::envelope_last).
        if mode == Mode::Kraft && release < Release::new(3, 2) {
            let i = want
                .iter()
                .position(|e| e.api_key == 58)
                .expect("KRaft 2.8-3.1 advertise Envelope");
            let envelope = want.remove(i);
            want.push(envelope);
        }
        let emu = start(release, mode, EmulatorOptions::default()).await;
        let mut s = connect(&emu).await;
        let max = max_of(release, mode, api_key::API_VERSIONS);
        // All versions on one connection: the emulator answers serially (4.4's
        // v5 with neither cluster nor node named; the rest of v5 below).
        for version in 0..=max.min(CODEC_MAX) {
            let corr = 1000 + i32::from(version);
            send(
                &mut s,
                &api_versions_frame(corr, version, SOFTWARE_NAME, SOFTWARE_VERSION),
            )
            .await;
            let frame = expect_frame(&mut s).await;
            let what = format!("{release} {mode} ApiVersions v{version}");
            // Header v0: the error code follows the correlation id directly,
            // with no tagged-field byte, even for flexible versions.
            assert_eq!(&frame[4..8], &corr.to_be_bytes(), "{what}");
            assert_eq!(&frame[8..10], &[0, 0], "{what}: header v0 then error 0");
            let (got_corr, resp) = decode_api_versions(&frame, version);
            assert_eq!(got_corr, corr, "{what}");
            assert_eq!(resp.error_code, 0, "{what}");
            assert_eq!(
                resp.api_keys, want,
                "{what}: api_keys must be the table, in key order (Envelope last on KRaft 2.8-3.1)"
            );
            assert_eq!(resp.throttle_time_ms, 0, "{what}");
            assert_eq!(resp.range_of(api_key::API_VERSIONS).map(|r| r.max), Some(max), "{what}");
            checked += 1;
        }
    }
    // 2.0–2.3: v0–2 (4 × 3); 2.4–3.8 zk+kraft: v0–3; 3.9+: v0–4.
    assert!(checked > 100, "only {checked} (release, mode, version) triples checked");
}

/// Kafka 4.4 answers ApiVersions v5 (KIP-1242), whose request may name the
/// cluster and node the client meant to reach. The expected answers are a
/// real 4.4.0 broker's (kafka_2.13-4.4.0 from Maven Central, recorded
/// 2026-12-07, docs/fidelity.md): neither named, or both ours, is the table;
/// one without the other is INVALID_REQUEST (42); both, with either not ours,
/// is REBOOTSTRAP_REQUIRED (129). An error reply is 12 bytes (empty table,
/// throttle 0, no tags), and the connection stays open.
#[rstest]
#[case::neither(None, -1, 0)]
#[case::both_ours(Some("ours"), 1, 0)]
#[case::another_cluster(Some("AAAAAAAAAAAAAAAAAAAAAA"), 1, 129)]
#[case::another_node(Some("ours"), 2, 129)]
#[case::cluster_without_node(Some("ours"), -1, 42)]
#[case::node_without_cluster(None, 1, 42)]
#[tokio::test]
async fn api_versions_v5_checks_the_cluster_and_node_as_4_4_does(
    #[case] cluster: Option<&str>,
    #[case] node_id: i32,
    #[case] error: i16,
) {
    let release = Release::new(4, 4);
    assert_eq!(max_of(release, Mode::Kraft, api_key::API_VERSIONS), 5);
    let options = EmulatorOptions::default();
    let ours = options.cluster_id.clone();
    let emu = start(release, Mode::Kraft, options).await;
    let mut s = connect(&emu).await;
    let body = RequestBody::ApiVersions(ApiVersionsRequest {
        client_software_name: SOFTWARE_NAME.into(),
        client_software_version: SOFTWARE_VERSION.into(),
        cluster_id: cluster.map(|c| if c == "ours" { ours.clone() } else { c.to_owned() }),
        node_id,
    });
    let frame = encode_request(9, Some("fidelity"), 5, &body).expect("v5 encodes");
    send(&mut s, &frame).await;
    let reply = expect_frame(&mut s).await;
    if error == 0 {
        let (corr, resp) = decode_api_versions(&reply, 5);
        assert_eq!((corr, resp.error_code), (9, 0));
        assert_eq!(resp.range_of(api_key::API_VERSIONS).map(|r| r.max), Some(5));
        assert!(!resp.supported_features.is_empty(), "the v3+ features come along");
    } else {
        let [hi, lo] = error.to_be_bytes();
        assert_eq!(
            &reply[..],
            &[0, 0, 0, 12, 0, 0, 0, 9, hi, lo, 1, 0, 0, 0, 0, 0],
            "error {error}"
        );
    }
    assert_still_serving(&mut s, 10, "4.4 after ApiVersions v5").await;
}

/// Exact bytes from docs/research/kafka-wire-behaviour.md Q1.3, written out.
#[rstest]
#[case::kafka_3_8_zk_v4((3, 8), Mode::Zk, 4, &[0, 0, 0, 0x10, 0, 0, 0, 7, 0, 0x23, 0, 0, 0, 1, 0, 0x12, 0, 0, 0, 3])]
#[case::kafka_3_8_kraft_v4((3, 8), Mode::Kraft, 4, &[0, 0, 0, 0x10, 0, 0, 0, 7, 0, 0x23, 0, 0, 0, 1, 0, 0x12, 0, 0, 0, 3])]
#[case::kafka_2_4_v4((2, 4), Mode::Zk, 4, &[0, 0, 0, 0x10, 0, 0, 0, 7, 0, 0x23, 0, 0, 0, 1, 0, 0x12, 0, 0, 0, 3])]
#[case::kafka_3_9_v5((3, 9), Mode::Zk, 5, &[0, 0, 0, 0x10, 0, 0, 0, 7, 0, 0x23, 0, 0, 0, 1, 0, 0x12, 0, 0, 0, 4])]
#[case::kafka_4_0_v5((4, 0), Mode::Kraft, 5, &[0, 0, 0, 0x10, 0, 0, 0, 7, 0, 0x23, 0, 0, 0, 1, 0, 0x12, 0, 0, 0, 4])]
#[case::kafka_2_3_v3((2, 3), Mode::Zk, 3, &[0, 0, 0, 0x0a, 0, 0, 0, 7, 0, 0x23, 0, 0, 0, 0])]
#[case::kafka_2_0_v3((2, 0), Mode::Zk, 3, &[0, 0, 0, 0x0a, 0, 0, 0, 7, 0, 0x23, 0, 0, 0, 0])]
#[case::kafka_3_8_v127((3, 8), Mode::Zk, 127, &[0, 0, 0, 0x10, 0, 0, 0, 7, 0, 0x23, 0, 0, 0, 1, 0, 0x12, 0, 0, 0, 3])]
#[tokio::test]
async fn api_versions_above_max_exact_bytes_and_connection_stays_open(
    #[case] (major, minor): (u8, u8),
    #[case] mode: Mode,
    #[case] version: i16,
    #[case] want: &[u8],
) {
    let release = Release::new(major, minor);
    let emu = start(release, mode, EmulatorOptions::default()).await;
    let mut s = connect(&emu).await;
    send(&mut s, &api_versions_frame(7, version, SOFTWARE_NAME, SOFTWARE_VERSION)).await;
    let frame = expect_frame(&mut s).await;
    assert_eq!(frame, want, "{release} {mode} ApiVersions v{version}");
    assert_still_serving(&mut s, 8, &format!("{release} {mode} after v{version}")).await;
}

#[tokio::test]
async fn api_versions_max_plus_one_for_every_release_keeps_the_connection() {
    for (release, mode) in catalog() {
        let max = max_of(release, mode, api_key::API_VERSIONS);
        let emu = start(release, mode, EmulatorOptions::default()).await;
        let mut s = connect(&emu).await;
        let what = format!("{release} {mode} ApiVersions v{}", max + 1);
        send(
            &mut s,
            &api_versions_frame(42, max + 1, SOFTWARE_NAME, SOFTWARE_VERSION),
        )
        .await;
        let frame = expect_frame(&mut s).await;
        assert_eq!(frame, unsupported_reply(release, 42, max), "{what}");
        // The body is a v0 body whatever version was asked.
        let (_, resp) = decode_api_versions(&frame, 0);
        assert_eq!(resp.error_code, 35, "{what}");
        assert_still_serving(&mut s, 43, &what).await;
        // And the retry at the advertised max works on the same socket.
        let retry = max.min(CODEC_MAX);
        send(&mut s, &api_versions_frame(44, retry, SOFTWARE_NAME, SOFTWARE_VERSION)).await;
        let (corr, resp) = decode_api_versions(&expect_frame(&mut s).await, retry);
        assert_eq!((corr, resp.error_code), (44, 0), "{what}");
    }
}

#[rstest]
#[case::kafka_2_3_zk((2, 3), Mode::Zk, 3)]
#[case::kafka_3_8_zk((3, 8), Mode::Zk, 4)]
#[case::kafka_3_9_kraft((3, 9), Mode::Kraft, 5)]
#[case::kafka_4_3_kraft((4, 3), Mode::Kraft, 5)]
#[tokio::test]
async fn close_after_unsupported_api_versions_fault_sends_the_reply_then_eof(
    #[case] (major, minor): (u8, u8),
    #[case] mode: Mode,
    #[case] version: i16,
) {
    let release = Release::new(major, minor);
    let options = EmulatorOptions {
        faults: Faults {
            close_after_unsupported_api_versions: true,
            ..Faults::default()
        },
        ..EmulatorOptions::default()
    };
    let emu = start(release, mode, options).await;
    let mut s = connect(&emu).await;
    send(&mut s, &api_versions_frame(3, version, SOFTWARE_NAME, SOFTWARE_VERSION)).await;
    let frame = expect_frame(&mut s).await;
    assert_eq!(frame, unsupported_reply(release, 3, version - 1));
    expect_eof(&mut s, "after the UNSUPPORTED_VERSION reply").await;
    let record = record_closed_with(&emu, &CloseReason::Fault("close after UNSUPPORTED_VERSION")).await;
    assert_eq!(record.responses, 1);
    assert_eq!(record.requests, vec![(18, version, 3)]);
    assert_eq!(record.bytes_after_close, 0);

    // Supported versions are unaffected by that fault.
    let mut s = connect(&emu).await;
    assert_still_serving(&mut s, 4, "supported version under the fault").await;
}

#[rstest]
#[case::kafka_2_4_zk((2, 4), Mode::Zk, 3)]
#[case::kafka_3_8_zk((3, 8), Mode::Zk, 3)]
#[case::kafka_3_8_kraft((3, 8), Mode::Kraft, 3)]
#[case::kafka_3_9_zk((3, 9), Mode::Zk, 4)]
#[case::kafka_4_0_kraft((4, 0), Mode::Kraft, 3)]
#[case::kafka_4_3_kraft((4, 3), Mode::Kraft, 4)]
#[tokio::test]
async fn invalid_client_software_name_is_invalid_request_and_stays_open(
    #[case] (major, minor): (u8, u8),
    #[case] mode: Mode,
    #[case] version: i16,
) {
    let release = Release::new(major, minor);
    let emu = start(release, mode, EmulatorOptions::default()).await;
    let mut s = connect(&emu).await;
    for (corr, name, sw) in [(5, "bad name", "1.0"), (6, "kgo", "1.0-"), (7, "", "1.0")] {
        send(&mut s, &api_versions_frame(corr, version, name, sw)).await;
        let frame = expect_frame(&mut s).await;
        // Research Q4: body at the request's version, header v0, error 42,
        // empty compact array, throttle 0, no tagged fields.
        let mut want = vec![0, 0, 0, 0x0c];
        want.extend_from_slice(&corr.to_be_bytes());
        want.extend_from_slice(&[0x00, 0x2a, 0x01, 0, 0, 0, 0, 0x00]);
        assert_eq!(frame, want, "{release} {mode} v{version} name {name:?} version {sw:?}");
    }
    assert_still_serving(&mut s, 9, "after INVALID_REQUEST").await;
    // A valid name on the same connection is accepted at the same version.
    send(&mut s, &api_versions_frame(10, version, "kgo", "1.19.0")).await;
    let (_, resp) = decode_api_versions(&expect_frame(&mut s).await, version);
    assert_eq!(resp.error_code, 0);
}

#[tokio::test]
async fn invalid_client_software_name_before_2_4_takes_the_unsupported_path() {
    // 2.3 has no ApiVersions v3, so the body (and its name) is never read.
    let emu = start(Release::new(2, 3), Mode::Zk, EmulatorOptions::default()).await;
    let mut s = connect(&emu).await;
    send(&mut s, &api_versions_frame(11, 3, "bad name", "1.0")).await;
    let frame = expect_frame(&mut s).await;
    assert_eq!(frame, [0, 0, 0, 0x0a, 0, 0, 0, 11, 0x00, 0x23, 0, 0, 0, 0]);
    assert_still_serving(&mut s, 12, "2.3 after v3").await;
}

// ---------------------------------------------------------------------------------------
// Metadata
// ---------------------------------------------------------------------------------------

/// Checks one Metadata answer for the seeded topics.
fn check_metadata(resp: &MetadataResponse, version: i16, host: &str, port: i32, what: &str) {
    assert_eq!(resp.brokers.len(), 1, "{what}: one broker");
    let b = &resp.brokers[0];
    assert_eq!((b.node_id, b.host.as_str(), b.port), (1, host, port), "{what}");
    assert_eq!(b.rack, None, "{what}");
    if version >= 2 {
        assert_eq!(
            resp.cluster_id.as_deref(),
            Some(kafka_matrix::emulator::DEFAULT_CLUSTER_ID),
            "{what}"
        );
    } else {
        assert_eq!(resp.cluster_id, None, "{what}: no cluster id before v2");
    }
    assert_eq!(resp.controller_id, if version >= 1 { 1 } else { -1 }, "{what}");
    assert_eq!(resp.error_code, 0, "{what}");
}

fn check_orders(resp: &MetadataResponse, version: i16, what: &str) {
    let t = resp
        .topics
        .iter()
        .find(|t| t.name.as_deref() == Some("orders"))
        .unwrap_or_else(|| panic!("{what}: orders missing from {:?}", resp.topics));
    assert_eq!(t.error_code, 0, "{what}");
    assert!(!t.is_internal, "{what}");
    if version >= 10 {
        assert_ne!(t.topic_id, [0; 16], "{what}: topic id from v10");
        assert_eq!(t.topic_id, SeededTopic::new("orders", 3).id, "{what}");
    } else {
        assert_eq!(t.topic_id, [0; 16], "{what}: no topic id before v10");
    }
    let indexes: Vec<i32> = t.partitions.iter().map(|p| p.partition_index).collect();
    assert_eq!(indexes, vec![0, 1, 2], "{what}");
    for p in &t.partitions {
        assert_eq!(p.error_code, 0, "{what}");
        assert_eq!(p.leader_id, 1, "{what}");
        assert_eq!(p.replica_nodes, vec![1], "{what}");
        assert_eq!(p.isr_nodes, vec![1], "{what}");
    }
}

async fn metadata_round_trip(s: &mut TcpStream, corr: i32, version: i16, req: &MetadataRequest) -> MetadataResponse {
    send(s, &metadata_frame(corr, version, req)).await;
    let frame = expect_frame(s).await;
    let (got, resp) = decode_metadata(&frame, version);
    assert_eq!(got, corr, "Metadata v{version} correlation id");
    resp
}

async fn check_metadata_all_versions(release: Release, mode: Mode, options: EmulatorOptions) -> usize {
    let emu = start(release, mode, options.clone()).await;
    let (host, port) = options
        .advertise
        .clone()
        .map(|(h, p)| (h, i32::from(p)))
        .unwrap_or_else(|| (emu.addr().ip().to_string(), i32::from(emu.addr().port())));
    let max = max_of(release, mode, api_key::METADATA);
    let mut s = connect(&emu).await;
    let mut corr = 0;
    let mut checked = 0;
    for version in 0..=max {
        let what = format!("{release} {mode} Metadata v{version}");

        // All topics: v0 sends an empty array, v1+ a null one (the codec maps
        // `topics: None` to each).
        corr += 1;
        let all = metadata_round_trip(&mut s, corr, version, &MetadataRequest::default()).await;
        check_metadata(&all, version, &host, port, &format!("{what} all topics"));
        let mut names: Vec<_> = all.topics.iter().map(|t| t.name.clone().unwrap_or_default()).collect();
        names.sort();
        assert_eq!(names, ["orders", "payments"], "{what} all topics");
        check_orders(&all, version, &format!("{what} all topics"));

        // Named: one that exists, one that does not, one Kafka's
        // Topic.validate refuses: INVALID_TOPIC_EXCEPTION (17) from 2.8; with
        // no creation attempted, 2.0–2.7 never validate it and answer 3.
        corr += 1;
        let asked = MetadataRequest::for_topics(["orders", "nope", "bad name"]);
        let named = metadata_round_trip(&mut s, corr, version, &asked).await;
        check_metadata(&named, version, &host, port, &format!("{what} named"));
        assert_eq!(named.topics.len(), 3, "{what} named");
        let invalid = if release >= Release::new(2, 8) { 17 } else { 3 };
        assert_eq!(named.topics[2].error_code, invalid, "{what}: the invalid name");
        check_orders(&named, version, &format!("{what} named"));
        let nope = &named.topics[1];
        assert_eq!(nope.name.as_deref(), Some("nope"), "{what}");
        assert_eq!(nope.error_code, 3, "{what}: UNKNOWN_TOPIC_OR_PARTITION");
        assert!(nope.partitions.is_empty(), "{what}");
        assert_eq!(nope.topic_id, [0; 16], "{what}: zero id for an unknown topic");

        // v1+: an empty (non-null) array asks for no topics.
        if version >= 1 {
            corr += 1;
            let none = metadata_round_trip(
                &mut s,
                corr,
                version,
                &MetadataRequest::for_topics(Vec::<String>::new()),
            )
            .await;
            check_metadata(&none, version, &host, port, &format!("{what} no topics"));
            assert!(none.topics.is_empty(), "{what}: empty array means no topics from v1");
        }
        checked += 1;
    }
    // Everything above on one connection, which is still open.
    assert_still_serving(&mut s, 9999, &format!("{release} {mode} after Metadata")).await;
    checked
}

#[tokio::test]
async fn metadata_at_every_supported_version_for_every_release() {
    let mut checked = 0;
    for (release, mode) in catalog() {
        checked += check_metadata_all_versions(release, mode, seeded()).await;
    }
    assert!(checked > 300, "only {checked} (release, mode, version) triples checked");
}

#[rstest]
#[case::kafka_3_8_zk((3, 8), Mode::Zk)]
#[case::kafka_2_0_zk((2, 0), Mode::Zk)]
#[case::kafka_4_0_kraft((4, 0), Mode::Kraft)]
#[tokio::test]
async fn metadata_reports_the_advertised_address(#[case] (major, minor): (u8, u8), #[case] mode: Mode) {
    let options = EmulatorOptions {
        advertise: Some(("broker-1.example".into(), 19092)),
        ..seeded()
    };
    let checked = check_metadata_all_versions(Release::new(major, minor), mode, options).await;
    assert!(checked > 0);
}

#[rstest]
#[case::kafka_2_3((2, 3), 0)]
#[case::kafka_2_4((2, 4), 0)]
#[case::kafka_2_5((2, 5), i32::MIN)]
#[case::kafka_3_8((3, 8), i32::MIN)]
#[tokio::test]
async fn authorized_operations_not_asked_for_are_0_before_2_5(#[case] (major, minor): (u8, u8), #[case] omitted: i32) {
    // 2.3.0/2.4.0 KafkaApis: `var clusterAuthorizedOperations = 0`, and
    // TopicMetadata's constructor without them passes 0; 2.5.0 Int.MinValue.
    // Asked for, every topic entry getTopicMetadata makes has all of a
    // topic's operations (no authorizer), an unknown topic's too.
    let emu = start(Release::new(major, minor), Mode::Zk, seeded()).await;
    let mut s = connect(&emu).await;
    let plain = MetadataRequest {
        allow_auto_topic_creation: false,
        ..MetadataRequest::for_topics(["orders", "nope"])
    };
    let resp = metadata_round_trip(&mut s, 1, 8, &plain).await;
    let ops: Vec<i32> = resp.topics.iter().map(|t| t.topic_authorized_operations).collect();
    assert_eq!(
        (ops, resp.cluster_authorized_operations),
        (vec![omitted, omitted], omitted),
        "{major}.{minor} v8, not asked for"
    );
    let asked = MetadataRequest {
        include_topic_authorized_operations: true,
        include_cluster_authorized_operations: true,
        ..plain
    };
    let resp = metadata_round_trip(&mut s, 2, 8, &asked).await;
    let ops: Vec<(i16, i32)> = resp
        .topics
        .iter()
        .map(|t| (t.error_code, t.topic_authorized_operations))
        .collect();
    // READ..DESCRIBE (3–8), DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11; CREATE 5,
    // ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9 .. IDEMPOTENT_WRITE 12.
    assert_eq!(
        (ops, resp.cluster_authorized_operations),
        (vec![(0, 0b1101_1111_1000), (3, 0b1101_1111_1000)], 0b1_1111_1010_0000),
        "{major}.{minor} v8, asked for"
    );
}

#[rstest]
#[case::kafka_2_0_zk_unasked((2, 0), Mode::Zk, false, 38)]
#[case::kafka_2_0_zk_asked((2, 0), Mode::Zk, true, 38)]
#[case::kafka_2_7_zk_unasked((2, 7), Mode::Zk, false, 38)]
#[case::kafka_2_8_zk_unasked((2, 8), Mode::Zk, false, 3)]
#[case::kafka_2_8_zk_asked((2, 8), Mode::Zk, true, 38)]
#[case::kafka_3_8_zk_asked((3, 8), Mode::Zk, true, 38)]
#[case::kafka_3_8_kraft_asked((3, 8), Mode::Kraft, true, 3)]
#[case::kafka_4_0_kraft_asked((4, 0), Mode::Kraft, true, 3)]
#[case::kafka_4_0_kraft_unasked((4, 0), Mode::Kraft, false, 3)]
#[tokio::test]
async fn a_missing_internal_topic_is_answered_as_its_creation_fails(
    #[case] (major, minor): (u8, u8),
    #[case] mode: Mode,
    #[case] allow: bool,
    #[case] code: i16,
) {
    // A default broker creates __consumer_offsets with replication factor 3,
    // which one broker cannot meet. ZooKeeper 2.0–2.7 try whatever the request
    // allows (createInternalTopic → COORDINATOR_NOT_AVAILABLE → 38); 2.8–3.9
    // try when auto-creation is allowed (createTopicsInZk → 38); KRaft asks
    // the controller and answers 3 meanwhile. The topic never appears.
    let release = Release::new(major, minor);
    let what = format!("{release} {mode:?} allow={allow}");
    let options = EmulatorOptions {
        auto_create_topics: true,
        ..seeded()
    };
    let emu = start(release, mode, options).await;
    let mut s = connect(&emu).await;
    let req = MetadataRequest {
        allow_auto_topic_creation: allow,
        ..MetadataRequest::for_topics(["__consumer_offsets", "bad name"])
    };
    for corr in [1, 2] {
        let resp = metadata_round_trip(&mut s, corr, 4, &req).await;
        let got: Vec<(&str, i16, bool, usize)> = resp
            .topics
            .iter()
            .map(|t| {
                (
                    t.name.as_deref().unwrap_or(""),
                    t.error_code,
                    t.is_internal,
                    t.partitions.len(),
                )
            })
            .collect();
        assert!(
            got.contains(&("__consumer_offsets", code, true, 0)),
            "{what}, request {corr}: {got:?}"
        );
    }
    if allow && release >= Release::new(2, 8) {
        // 2.8+: `uncreatableTopicResponses ++ creatableTopicResponses`.
        let resp = metadata_round_trip(&mut s, 3, 4, &req).await;
        let names: Vec<_> = resp.topics.iter().map(|t| t.name.clone().unwrap_or_default()).collect();
        assert_eq!(names, ["bad name", "__consumer_offsets"], "{what}: order");
    }
}

#[tokio::test]
async fn metadata_v0_all_topics_is_an_empty_array_on_the_wire() {
    // The request bytes for "all topics" at v0 (empty int32 array) and v1 (null).
    let v0 = metadata_frame(1, 0, &MetadataRequest::default());
    assert_eq!(&v0[v0.len() - 4..], &[0, 0, 0, 0]);
    let v1 = metadata_frame(1, 1, &MetadataRequest::default());
    assert_eq!(&v1[v1.len() - 4..], &[0xff, 0xff, 0xff, 0xff]);
    // ... and at v9 (flexible) null is compact length 0, then allow_auto_topic_creation,
    // the two include_*_authorized_operations flags and the empty tag section.
    let v9 = metadata_frame(1, 9, &MetadataRequest::default());
    assert_eq!(&v9[v9.len() - 5..], &[0x00, 0x01, 0x00, 0x00, 0x00]);
}

#[rstest]
#[case(10)]
#[case(11)]
#[tokio::test]
async fn metadata_by_topic_id_before_v12_is_invalid_request_and_stays_open(#[case] version: i16) {
    // Research 5.4: error response, INVALID_REQUEST per topic, no brokers, connection open.
    let emu = start(Release::new(3, 8), Mode::Zk, seeded()).await;
    let mut s = connect(&emu).await;
    let id = SeededTopic::new("orders", 3).id;
    let req = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            topic_id: id,
            name: None,
        }]),
        ..MetadataRequest::default()
    };
    let resp = metadata_round_trip(&mut s, 1, version, &req).await;
    assert!(resp.brokers.is_empty());
    assert_eq!(resp.cluster_id, None);
    assert_eq!(resp.controller_id, -1);
    assert_eq!(resp.topics.len(), 1);
    assert_eq!(resp.topics[0].error_code, 42);
    assert_eq!(resp.topics[0].name.as_deref(), Some(""));
    assert_eq!(resp.topics[0].topic_id, id);
    assert_still_serving(&mut s, 2, "after a v10/v11 by-id request").await;
}

#[tokio::test]
async fn metadata_by_topic_id_at_v12() {
    let emu = start(Release::new(3, 8), Mode::Kraft, seeded()).await;
    let mut s = connect(&emu).await;
    let id = SeededTopic::new("orders", 3).id;
    let unknown = [7u8; 16];
    let req = MetadataRequest {
        topics: Some(vec![
            MetadataRequestTopic {
                topic_id: id,
                name: None,
            },
            MetadataRequestTopic {
                topic_id: unknown,
                name: None,
            },
        ]),
        ..MetadataRequest::default()
    };
    let resp = metadata_round_trip(&mut s, 1, 12, &req).await;
    assert_eq!(resp.topics.len(), 2);
    check_orders(&resp, 12, "v12 by id");
    // Unknown ids come first (KafkaApis: `unknownTopicIdsTopicMetadataResponse ++ topicMetadata`).
    assert_eq!(resp.topics[0].error_code, 100, "UNKNOWN_TOPIC_ID");
    assert_eq!(resp.topics[0].name, None);
    assert_eq!(resp.topics[0].topic_id, unknown);
}

// ---------------------------------------------------------------------------------------
// What Kafka closes without a reply
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn metadata_above_max_closes_without_reply_for_every_release() {
    // Start everything first, then collect records: each close lingers ~200 ms
    // in the emulator before its record is pushed, and the lingers overlap.
    let mut running = Vec::new();
    for (release, mode) in catalog() {
        let max = max_of(release, mode, api_key::METADATA);
        let emu = start(release, mode, seeded()).await;
        let mut s = connect(&emu).await;
        // First a valid request, so the close is about the version, not the connection.
        let ok = metadata_round_trip(&mut s, 1, max, &MetadataRequest::default()).await;
        assert_eq!(ok.topics.len(), 2);
        send(&mut s, &metadata_frame(2, max + 1, &MetadataRequest::default())).await;
        expect_eof(&mut s, &format!("{release} {mode} Metadata v{}", max + 1)).await;
        running.push((release, mode, max, emu, s));
    }
    for (release, mode, max, emu, _s) in &running {
        let reason = CloseReason::UnsupportedVersion {
            key: 3,
            version: max + 1,
        };
        let record = record_closed_with(emu, &reason).await;
        assert_eq!(record.responses, 1, "{release} {mode}");
        assert_eq!(record.requests, vec![(3, *max, 1), (3, max + 1, 2)], "{release} {mode}");
        assert_eq!(record.bytes_after_close, 0, "{release} {mode}");
    }
}

/// The exact follow-up request franz-go 1.19.0 sent to Kafka 3.8 (issues #1009/#1010).
#[tokio::test]
async fn franz_go_1_19_metadata_v13_to_3_8_is_closed_without_reply() {
    let emu = start(Release::new(3, 8), Mode::Zk, seeded()).await;
    let mut s = connect(&emu).await;
    send(&mut s, &api_versions_frame(1, 4, "kgo", "1.19.0")).await;
    assert_eq!(expect_frame(&mut s).await, unsupported_reply(Release::new(3, 8), 1, 3));
    let req = MetadataRequest {
        topics: Some(Vec::new()),
        allow_auto_topic_creation: false,
        ..MetadataRequest::default()
    };
    let frame = encode_request(2, Some("kgo"), 13, &RequestBody::Metadata(req)).expect("v13 encodes");
    send(&mut s, &frame).await;
    expect_eof(&mut s, "Metadata v13 to 3.8").await;
    let record = record_closed_with(&emu, &CloseReason::UnsupportedVersion { key: 3, version: 13 }).await;
    assert_eq!(record.responses, 1, "only the ApiVersions refusal was answered");
    assert_eq!(
        record.closed.map(|c| c.to_string()).as_deref(),
        Some("closed: API key 3 v13 is not supported by this release")
    );
}

#[rstest]
#[case::unknown_api_key(
    vec![0, 0, 0, 10, 0x27, 0x0f, 0, 0, 0, 0, 0, 5, 0xff, 0xff],
    CloseReason::UnknownApi { key: 9999 },
    "closed: API key 9999 is not supported by this release"
)]
#[case::negative_api_key(
    vec![0, 0, 0, 10, 0xff, 0xff, 0, 0, 0, 0, 0, 5, 0xff, 0xff],
    CloseReason::UnknownApi { key: -1 },
    "closed: API key -1 is not supported by this release"
)]
#[case::too_short_frame(
    vec![0, 0, 0, 3, 0, 18, 0],
    CloseReason::UnparsableHeader,
    "closed: unparsable request header"
)]
#[case::empty_frame(vec![0, 0, 0, 0], CloseReason::UnparsableHeader, "closed: unparsable request header")]
#[case::truncated_metadata_body(
    // Metadata v1, a 1-byte body where a topics array length is due.
    vec![0, 0, 0, 11, 0, 3, 0, 1, 0, 0, 0, 5, 0xff, 0xff, 0],
    CloseReason::InvalidRequest("unexpected end of input reading topics".into()),
    ""
)]
#[case::oversized_length_prefix(
    vec![0x06, 0x40, 0x00, 0x01],
    CloseReason::InvalidFrame("invalid frame size 104857601: larger than the limit of 104857600 bytes".into()),
    "closed: invalid frame size 104857601: larger than the limit of 104857600 bytes"
)]
#[case::negative_length_prefix(
    vec![0xff, 0xff, 0xff, 0xfe],
    CloseReason::InvalidFrame("invalid frame size -2: negative".into()),
    "closed: invalid frame size -2: negative"
)]
#[tokio::test]
async fn closes_without_reply_and_keeps_serving(
    #[case] bytes: Vec<u8>,
    #[case] reason: CloseReason,
    #[case] display: &str,
) {
    for (release, mode) in [
        (Release::new(2, 0), Mode::Zk),
        (Release::new(3, 8), Mode::Zk),
        (Release::new(4, 3), Mode::Kraft),
    ] {
        let emu = start(release, mode, seeded()).await;
        let mut s = connect(&emu).await;
        // Only these bytes are sent (for the length prefixes: no body at all), so
        // an EOF here means the emulator closed at once, without waiting for more.
        send(&mut s, &bytes).await;
        expect_eof(&mut s, &format!("{release} {mode} {reason:?}")).await;
        let record = if matches!(reason, CloseReason::InvalidRequest(_)) {
            // The decoder's wording is not this test's business; the kind is.
            let rec = timeout(WAIT, async {
                loop {
                    if let Some(r) = emu.records().into_iter().find(|r| r.closed.is_some()) {
                        return r;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await
            .expect("a record");
            assert!(
                matches!(rec.closed, Some(CloseReason::InvalidRequest(_))),
                "{release} {mode}: {:?}",
                rec.closed
            );
            rec
        } else {
            let rec = record_closed_with(&emu, &reason).await;
            assert_eq!(reason.to_string(), display);
            rec
        };
        assert_eq!(record.responses, 0, "{release} {mode}: no reply");
        assert_eq!(record.bytes_after_close, 0);

        // The emulator keeps serving new connections.
        let mut s2 = connect(&emu).await;
        assert_still_serving(&mut s2, 77, &format!("{release} {mode} after {reason:?}")).await;
    }
}

#[tokio::test]
async fn unknown_key_for_this_release_closes_even_if_a_later_release_knows_it() {
    // DescribeQuorum (55) exists from 2.7 (KRaft-only APIs aside); 2.0 does not
    // have it, so the header names an API the release does not know.
    let t20 = table(Release::new(2, 0), Mode::Zk).expect("2.0");
    let key = 55;
    assert!(!t20.contains_key(key));
    let emu = start(Release::new(2, 0), Mode::Zk, seeded()).await;
    let mut s = connect(&emu).await;
    send(&mut s, &[0, 0, 0, 10, 0, key as u8, 0, 0, 0, 0, 0, 1, 0xff, 0xff]).await;
    expect_eof(&mut s, "key 55 to 2.0").await;
    let record = record_closed_with(&emu, &CloseReason::UnknownApi { key }).await;
    assert_eq!(record.responses, 0);
}

#[tokio::test]
async fn a_request_split_across_writes_is_reassembled() {
    // Framing: the emulator must not treat a partial frame as a request.
    let emu = start(Release::new(3, 8), Mode::Zk, seeded()).await;
    let mut s = connect(&emu).await;
    let frame = api_versions_frame(21, 3, SOFTWARE_NAME, SOFTWARE_VERSION);
    for chunk in frame.chunks(3) {
        send(&mut s, chunk).await;
        tokio::task::yield_now().await;
    }
    let (corr, resp) = decode_api_versions(&expect_frame(&mut s).await, 3);
    assert_eq!((corr, resp.error_code), (21, 0));
    // Two requests in one write: two replies, in order.
    let mut two = api_versions_frame(22, 0, "", "").to_vec();
    two.extend_from_slice(&metadata_frame(23, 12, &MetadataRequest::default()));
    send(&mut s, &two).await;
    assert_eq!(decode_api_versions(&expect_frame(&mut s).await, 0).0, 22);
    assert_eq!(decode_metadata(&expect_frame(&mut s).await, 12).0, 23);
}

/// ApiVersions v3 whose header stops after client_id (no tagged-field byte).
/// From 2.4 Kafka parses header v2 for v3+ and closes (research Q1.1); 2.0–2.3
/// parse every header as v1, never read the body of a version they do not
/// know, and answer UNSUPPORTED_VERSION.
#[rstest]
#[case::kafka_2_0_zk((2, 0), Mode::Zk, true)]
#[case::kafka_2_3_zk((2, 3), Mode::Zk, true)]
#[case::kafka_2_4_zk((2, 4), Mode::Zk, false)]
#[case::kafka_3_8_zk((3, 8), Mode::Zk, false)]
#[case::kafka_4_3_kraft((4, 3), Mode::Kraft, false)]
#[tokio::test]
async fn api_versions_v3_with_a_v1_header(#[case] (major, minor): (u8, u8), #[case] mode: Mode, #[case] answers: bool) {
    let release = Release::new(major, minor);
    let emu = start(release, mode, seeded()).await;
    let mut s = connect(&emu).await;
    send(&mut s, &[0, 0, 0, 10, 0, 18, 0, 3, 0, 0, 0, 5, 0xff, 0xff]).await;
    if answers {
        assert_eq!(expect_frame(&mut s).await, unsupported_reply(release, 5, 2));
        assert_still_serving(&mut s, 6, &format!("{release}")).await;
    } else {
        expect_eof(&mut s, &format!("{release} {mode}")).await;
        let record = record_closed_with(&emu, &CloseReason::UnparsableHeader).await;
        assert_eq!(record.responses, 0);
        assert_eq!(record.requests, vec![(18, 3, 5)]);
    }
}

// ---------------------------------------------------------------------------------------
// Parsing as Kafka parses (docs/fidelity.md, "Parsing"): byte-exact fixtures
// ---------------------------------------------------------------------------------------

/// A request frame from its header and body bytes.
fn raw_frame(header_and_body: &[u8]) -> Vec<u8> {
    let mut frame = (header_and_body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(header_and_body);
    frame
}

/// Request header v1 (or v2 with `tags`): key, version, correlation id, client id bytes.
fn raw_header(key: i16, version: i16, corr: i32, client_id: &[u8], tags: Option<&[u8]>) -> Vec<u8> {
    let mut h = key.to_be_bytes().to_vec();
    h.extend_from_slice(&version.to_be_bytes());
    h.extend_from_slice(&corr.to_be_bytes());
    h.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    h.extend_from_slice(client_id);
    if let Some(tags) = tags {
        h.extend_from_slice(tags);
    }
    h
}

/// Sends a raw Metadata request (correlation id 7) and returns the decoded
/// answer; the connection must stay open.
async fn raw_metadata(emu: &Emulator, version: i16, header_and_body: &[u8]) -> MetadataResponse {
    raw_metadata_at(emu, version, 7, header_and_body).await
}

async fn raw_metadata_at(emu: &Emulator, version: i16, corr: i32, header_and_body: &[u8]) -> MetadataResponse {
    let mut s = connect(emu).await;
    send(&mut s, &raw_frame(header_and_body)).await;
    let frame = read_frame(&mut s).await.unwrap_or_else(|| {
        panic!(
            "Metadata v{version}: closed instead of answered; records {:?}",
            emu.records()
        )
    });
    let (got, resp) = decode_metadata(&frame, version);
    assert_eq!(got, corr, "Metadata v{version} correlation id");
    assert_still_serving(&mut s, corr + 1000, &format!("after Metadata v{version}")).await;
    resp
}

fn names(resp: &MetadataResponse) -> Vec<(String, i16)> {
    resp.topics
        .iter()
        .map(|t| (t.name.clone().unwrap_or_default(), t.error_code))
        .collect()
}

#[tokio::test]
async fn confluent_kafka_2_16_metadata_v12_with_three_trailing_bytes_is_answered() {
    // librdkafka 2.16 (confluent-kafka 2.16.1) asks for all topics at v12 with
    // three bytes after the last field; Kafka's generated reader stops after
    // the body's tagged fields and never looks at them.
    let emu = start(Release::new(3, 8), Mode::Zk, seeded()).await;
    let mut req = raw_header(3, 12, 7, b"rdkafka", Some(&[0]));
    #[rustfmt::skip]
    req.extend_from_slice(&[
        0x00,             // topics: null (all)
        0x00,             // allow_auto_topic_creation
        0x00,             // include_topic_authorized_operations
        0x00,             // tagged fields
        0x01, 0x00, 0x00, // bytes after the last field
    ]);
    let resp = raw_metadata(&emu, 12, &req).await;
    assert_eq!(names(&resp), [("orders".into(), 0), ("payments".into(), 0)]);
}

#[rstest]
#[case::v0(0)]
#[case::v1(1)]
#[case::v4(4)]
#[case::v8(8)]
#[case::v9_flexible(9)]
#[case::v12(12)]
#[tokio::test]
async fn metadata_bytes_after_the_last_field_are_ignored(#[case] version: i16) {
    let emu = start(Release::new(3, 8), Mode::Kraft, seeded()).await;
    let mut frame = metadata_frame(7, version, &MetadataRequest::for_topics(["orders"])).to_vec();
    frame.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    let resp = raw_metadata(&emu, version, &frame[4..]).await;
    check_orders(&resp, version, &format!("v{version} with 4 trailing bytes"));
}

#[tokio::test]
async fn api_versions_bytes_after_the_last_field_are_ignored() {
    let emu = start(Release::new(3, 8), Mode::Zk, seeded()).await;
    for version in 0..=3 {
        let mut frame = api_versions_frame(version as i32, version, SOFTWARE_NAME, SOFTWARE_VERSION).to_vec();
        frame.extend_from_slice(&[1, 0, 0]);
        let mut s = connect(&emu).await;
        send(&mut s, &raw_frame(&frame[4..])).await;
        let (corr, resp) = decode_api_versions(&expect_frame(&mut s).await, version);
        assert_eq!((corr, resp.error_code), (version as i32, 0), "ApiVersions v{version}");
        assert_still_serving(&mut s, 100, &format!("after ApiVersions v{version}")).await;
    }
}

#[tokio::test]
async fn invalid_utf8_in_client_id_and_topic_name_is_decoded_leniently() {
    // Kafka reads strings with `new String(bytes, UTF_8)`: malformed input
    // becomes U+FFFD and the request is answered. A topic name with U+FFFD
    // fails Topic.validate: INVALID_TOPIC_EXCEPTION, echoing the decoded name.
    let emu = start(Release::new(3, 8), Mode::Zk, seeded()).await;
    let mut req = raw_header(3, 1, 7, &[b'c', 0xff, 0xfe], None);
    #[rustfmt::skip]
    req.extend_from_slice(&[
        0, 0, 0, 2,                     // two topics
        0, 6, b'o', b'r', b'd', b'e', b'r', b's',
        0, 2, b'o', 0xc3,               // "o" + a truncated two-byte sequence
    ]);
    let resp = raw_metadata(&emu, 1, &req).await;
    assert_eq!(
        names(&resp),
        [("orders".into(), 0), ("o\u{fffd}".into(), 17)],
        "the invalid name comes back as its lenient decoding"
    );
}

#[tokio::test]
async fn invalid_utf8_software_name_is_invalid_request_not_a_close() {
    let emu = start(Release::new(3, 8), Mode::Zk, seeded()).await;
    let mut req = raw_header(18, 3, 7, b"c", Some(&[0]));
    req.extend_from_slice(&[3, 0xff, b'x', 2, b'1', 0]);
    let mut s = connect(&emu).await;
    send(&mut s, &raw_frame(&req)).await;
    let (corr, resp) = decode_api_versions(&expect_frame(&mut s).await, 3);
    assert_eq!(
        (corr, resp.error_code),
        (7, 42),
        "INVALID_REQUEST, as for any name failing the pattern"
    );
    assert_still_serving(&mut s, 8, "after an invalid software name").await;
}

#[tokio::test]
async fn unknown_tagged_fields_in_any_order_are_skipped() {
    // Header v2 and body tagged fields with tags this version does not
    // define, out of order: Kafka's generated readers skip each by its size.
    let emu = start(Release::new(4, 0), Mode::Kraft, seeded()).await;
    let tags: &[u8] = &[2, 9, 2, 0xaa, 0xbb, 3, 0];
    let mut req = raw_header(3, 12, 7, b"tags", Some(tags));
    req.extend_from_slice(&[2]); // one topic (compact array)
    req.extend_from_slice(&[0; 16]); // topic id: zero
    req.extend_from_slice(&[7, b'o', b'r', b'd', b'e', b'r', b's']);
    req.extend_from_slice(tags); // topic entry tags
    req.extend_from_slice(&[1, 0]); // allow_auto_topic_creation, include_topic_authorized_operations
    req.extend_from_slice(tags); // body tags
    let resp = raw_metadata(&emu, 12, &req).await;
    check_orders(&resp, 12, "v12 with unknown tags everywhere");

    let mut req = raw_header(18, 3, 7, b"tags", Some(tags));
    req.extend_from_slice(&[4, b'a', b'b', b'c', 2, b'1']);
    req.extend_from_slice(tags);
    let mut s = connect(&emu).await;
    send(&mut s, &raw_frame(&req)).await;
    let (corr, resp) = decode_api_versions(&expect_frame(&mut s).await, 3);
    assert_eq!((corr, resp.error_code), (7, 0), "ApiVersions v3 with unknown tags");
}

#[rstest]
#[case::kafka_2_4_strict(Release::new(2, 4), false)]
#[case::kafka_2_7_strict(Release::new(2, 7), false)]
#[case::kafka_2_8_lenient(Release::new(2, 8), true)]
#[case::kafka_3_8_lenient(Release::new(3, 8), true)]
#[tokio::test]
async fn out_of_order_body_tags_close_on_2_4_to_2_7_only(#[case] release: Release, #[case] answers: bool) {
    // 2.4–2.7 read request bodies through the Struct schemas, whose
    // TaggedFields.read throws "Invalid or out-of-order tag"; the header's
    // tags were already read by generated code and never checked.
    let emu = start(release, Mode::Zk, seeded()).await;
    let out_of_order: &[u8] = &[2, 9, 0, 3, 0];
    let mut req = raw_header(3, 9, 7, b"tags", Some(out_of_order));
    req.extend_from_slice(&[2, 7, b'o', b'r', b'd', b'e', b'r', b's', 0]); // one topic, no tags
    req.extend_from_slice(&[1, 0, 0]); // allow_auto_topic_creation, include_{cluster,topic}_authorized_operations
    req.extend_from_slice(out_of_order); // body tags
    let mut s = connect(&emu).await;
    send(&mut s, &raw_frame(&req)).await;
    if answers {
        let (corr, resp) = decode_metadata(&expect_frame(&mut s).await, 9);
        assert_eq!(corr, 7);
        check_orders(&resp, 9, &format!("{release}: out-of-order tags"));
    } else {
        expect_eof(&mut s, &format!("{release}: out-of-order body tags")).await;
    }
    // Ordered tags in the body are fine everywhere, out of order in the header too.
    let mut req = raw_header(3, 9, 8, b"tags", Some(out_of_order));
    req.extend_from_slice(&[2, 7, b'o', b'r', b'd', b'e', b'r', b's', 0, 1, 0, 0]);
    req.extend_from_slice(&[2, 3, 0, 9, 0]);
    let resp = raw_metadata_at(&emu, 9, 8, &req).await;
    check_orders(&resp, 9, &format!("{release}: ordered body tags"));
}

#[tokio::test]
async fn a_negative_length_is_null_and_null_where_not_allowed_closes() {
    // Kafka reads any negative length as null: -2 for the (nullable) client
    // id is fine; -2 for a topic name (not nullable before v10) closes.
    let emu = start(Release::new(3, 8), Mode::Zk, seeded()).await;
    let mut req = Vec::from(&[0, 3, 0, 1, 0, 0, 0, 7, 0xff, 0xfe][..]); // Metadata v1, client id length -2
    req.extend_from_slice(&[0, 0, 0, 1, 0, 6, b'o', b'r', b'd', b'e', b'r', b's']);
    let resp = raw_metadata(&emu, 1, &req).await;
    check_orders(&resp, 1, "client id length -2");

    let req = [0, 3, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 1, 0xff, 0xfe];
    let mut s = connect(&emu).await;
    send(&mut s, &raw_frame(&req)).await;
    expect_eof(&mut s, "a topic name of length -2").await;
}

#[tokio::test]
async fn duplicate_topics_get_one_entry_each() {
    let emu = start(Release::new(3, 8), Mode::Zk, seeded()).await;
    let asked = MetadataRequest::for_topics(["nope", "orders", "nope", "orders", "bad name", "bad name"]);
    let frame = metadata_frame(7, 1, &asked);
    let resp = raw_metadata(&emu, 1, &frame[4..]).await;
    // Existing topics first, then the rest (KafkaApis: `topicResponses ++ nonExistingTopicResponses`).
    assert_eq!(
        names(&resp),
        [("orders".into(), 0), ("nope".into(), 3), ("bad name".into(), 17)]
    );

    let id = SeededTopic::new("orders", 3).id;
    let by_id = |topic_id| MetadataRequestTopic { topic_id, name: None };
    let asked = MetadataRequest {
        topics: Some(vec![by_id(id), by_id([7; 16]), by_id(id), by_id([7; 16])]),
        ..MetadataRequest::default()
    };
    let frame = metadata_frame(7, 12, &asked);
    let resp = raw_metadata(&emu, 12, &frame[4..]).await;
    let ids: Vec<_> = resp.topics.iter().map(|t| (t.topic_id, t.error_code)).collect();
    assert_eq!(ids, [([7; 16], 100), (id, 0)]);
}

// ---------------------------------------------------------------------------------------
// Auto topic creation (auto.create.topics.enable=true, num.partitions=1)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn auto_creation_first_answer_then_the_topic_for_every_release() {
    let mut checked = 0;
    for (release, mode) in catalog() {
        let what = format!("{release} {mode}");
        let emu = start(release, mode, EmulatorOptions::default()).await;
        let version = max_of(release, mode, api_key::METADATA);
        let mut s = connect(&emu).await;
        let asked = MetadataRequest::for_topics(["fresh", "bad name"]);
        let first = metadata_round_trip(&mut s, 1, version, &asked).await;
        let first_code = match mode {
            Mode::Zk => 5,    // LEADER_NOT_AVAILABLE: created in ZooKeeper
            Mode::Kraft => 3, // UNKNOWN_TOPIC_OR_PARTITION: forwarded to the controller
        };
        // Uncreatable (invalid) before the one being created.
        assert_eq!(
            names(&first),
            [("bad name".into(), 17), ("fresh".into(), first_code)],
            "{what} first answer"
        );
        assert!(first.topics[1].partitions.is_empty(), "{what}");

        let next = metadata_round_trip(&mut s, 2, version, &asked).await;
        assert_eq!(
            names(&next),
            [("fresh".into(), 0), ("bad name".into(), 17)],
            "{what} next answer"
        );
        let fresh = &next.topics[0];
        assert_eq!(fresh.partitions.len(), 1, "{what}: num.partitions = 1");
        assert_eq!(fresh.partitions[0].leader_id, 1, "{what}");
        let all = metadata_round_trip(&mut s, 3, version, &MetadataRequest::default()).await;
        assert_eq!(names(&all), [("fresh".into(), 0)], "{what}: all topics lists it");
        checked += 1;
    }
    assert_eq!(checked, 35, "every catalog release/mode");
}

#[rstest]
#[case::request_says_no(true, false)]
#[case::broker_says_no(false, true)]
#[tokio::test]
async fn no_auto_creation_when_the_request_or_the_broker_says_no(#[case] broker: bool, #[case] request: bool) {
    let emu = start(
        Release::new(3, 8),
        Mode::Kraft,
        EmulatorOptions {
            auto_create_topics: broker,
            ..EmulatorOptions::default()
        },
    )
    .await;
    let mut s = connect(&emu).await;
    let asked = MetadataRequest {
        allow_auto_topic_creation: request,
        ..MetadataRequest::for_topics(["fresh"])
    };
    for corr in 1..=2 {
        let resp = metadata_round_trip(&mut s, corr, 12, &asked).await;
        assert_eq!(names(&resp), [("fresh".into(), 3)], "request {corr}");
    }
}

#[tokio::test]
async fn metadata_v0_to_v3_always_allow_auto_creation() {
    // allow_auto_topic_creation appears in v4; before, a broker with
    // auto-creation on creates every unknown topic named.
    let emu = start(Release::new(2, 0), Mode::Zk, EmulatorOptions::default()).await;
    let mut s = connect(&emu).await;
    let first = metadata_round_trip(&mut s, 1, 0, &MetadataRequest::for_topics(["fresh"])).await;
    assert_eq!(names(&first), [("fresh".into(), 5)]);
    let next = metadata_round_trip(&mut s, 2, 0, &MetadataRequest::for_topics(["fresh"])).await;
    assert_eq!(names(&next), [("fresh".into(), 0)]);
}

// ---------------------------------------------------------------------------------------
// ApiVersions v3+: the KIP-584 tagged fields (data/features.csv)
// ---------------------------------------------------------------------------------------

async fn api_versions_reply(release: Release, mode: Mode, version: i16) -> (Vec<u8>, ApiVersionsResponse) {
    let emu = start(release, mode, seeded()).await;
    let mut s = connect(&emu).await;
    send(&mut s, &api_versions_frame(7, version, SOFTWARE_NAME, SOFTWARE_VERSION)).await;
    let frame = expect_frame(&mut s).await;
    let (_, resp) = decode_api_versions(&frame, version);
    (frame, resp)
}

#[tokio::test]
async fn kafka_3_8_kraft_v3_ends_with_kafkas_feature_tags_exactly() {
    let (frame, resp) = api_versions_reply(Release::new(3, 8), Mode::Kraft, 3).await;
    #[rustfmt::skip]
    let tail: &[u8] = &[
        0, 0, 0, 0,                                   // throttle_time_ms
        3,                                            // three tagged fields, in tag order
        0, 23, 2, 17, b'm', b'e', b't', b'a', b'd', b'a', b't', b'a', b'.', b'v', b'e', b'r', b's', b'i', b'o', b'n',
        0, 1, 0, 20, 0,                               // tag 0, 23 bytes, SupportedFeatures: metadata.version 1-20
        1, 8, 0, 0, 0, 0, 0, 0, 0, 10,                // FinalizedFeaturesEpoch 10
        2, 23, 2, 17, b'm', b'e', b't', b'a', b'd', b'a', b't', b'a', b'.', b'v', b'e', b'r', b's', b'i', b'o', b'n',
        0, 20, 0, 20, 0,                              // FinalizedFeatures: metadata.version level 20 (max, then min)
    ];
    // The body ends with the tagged-field section.
    assert!(
        frame.ends_with(tail),
        "tail {:02x?}",
        &frame[frame.len().saturating_sub(tail.len())..]
    );
    assert_eq!(resp.finalized_features_epoch, 10);
}

#[rstest]
#[case::kafka_2_6_zk_none(Release::new(2, 6), Mode::Zk, 2, None)]
#[case::kafka_2_7_zk_epoch_0(Release::new(2, 7), Mode::Zk, 2, Some(0))]
#[case::kafka_3_9_zk_epoch_0(Release::new(3, 9), Mode::Zk, 3, Some(0))]
#[case::kafka_3_2_kraft_none(Release::new(3, 2), Mode::Kraft, 3, None)]
#[case::kafka_4_3_kraft_v3(Release::new(4, 3), Mode::Kraft, 3, Some(10))]
#[tokio::test]
async fn feature_epoch_per_release(
    #[case] release: Release,
    #[case] mode: Mode,
    #[case] version: i16,
    #[case] epoch: Option<i64>,
) {
    let (_, resp) = api_versions_reply(release, mode, version).await;
    let want = if version >= 3 { epoch.unwrap_or(-1) } else { -1 };
    assert_eq!(resp.finalized_features_epoch, want, "{release} {mode} v{version}");
    if mode == Mode::Zk {
        assert!(resp.supported_features.is_empty() && resp.finalized_features.is_empty());
    }
}

#[tokio::test]
async fn kafka_4_0_hides_min_0_features_below_v4() {
    // KAFKA-17492: from 3.9, a request below v4 gets no supported feature with min 0.
    let names = |r: &ApiVersionsResponse| r.supported_features.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    let (_, v3) = api_versions_reply(Release::new(4, 0), Mode::Kraft, 3).await;
    assert_eq!(names(&v3), ["metadata.version"]);
    let (_, v4) = api_versions_reply(Release::new(4, 0), Mode::Kraft, 4).await;
    assert_eq!(
        names(&v4),
        [
            "group.version",
            "kraft.version",
            "metadata.version",
            "transaction.version",
            "eligible.leader.replicas.version"
        ]
    );
    let finalized: Vec<_> = v4
        .finalized_features
        .iter()
        .map(|f| (f.name.as_str(), f.max_version_level))
        .collect();
    assert_eq!(
        finalized,
        [
            ("group.version", 1),
            ("transaction.version", 2),
            ("metadata.version", 25)
        ]
    );
    assert_eq!(
        v3.finalized_features, v4.finalized_features,
        "finalized features do not depend on the version"
    );
}
