//! The client against the emulator: what it negotiates with each release, and
//! the typed error each injected fault produces, within the configured timeouts.
//!
//! Besides the client's own results, the emulator's connection records are
//! checked: after any close by the emulator the client must not have written a
//! byte (`bytes_after_close == 0`), which is the franz-go 1.19 failure mode.
//!
//! The fault matrix (each fault → the typed error → the test here that checks it) is
//! the table "Faults" in docs/fidelity.md; a new fault gets a row there and a test here.

use std::time::Duration;

use kafka_matrix::client::{Client, ClientConfig, ClientError, Connection, ConnectionError, InFlight};
use kafka_matrix::emulator::{CloseReason, ConnRecord, Emulator, EmulatorOptions, Faults, SeededTopic};
use kafka_matrix::negotiate::{Attempt, NegotiateError, Outcome};
use kafka_matrix::protocol::messages::ApiVersionsRequest;
use kafka_matrix::protocol::{
    encode_request, DecodeError, ErrorCode, FrameError, RequestBody, VersionRange, DEFAULT_MAX_FRAME_BYTES,
};
use kafka_matrix::versions::{releases, table, Mode, Release};
use rstest::rstest;
use tokio::time::timeout;

/// Hang guard for whole operations; far above any configured timeout.
const WAIT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);

fn config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_millis(500),
        request_timeout: REQUEST_TIMEOUT,
        ..ClientConfig::default()
    }
}

fn options(faults: Faults) -> EmulatorOptions {
    EmulatorOptions {
        topics: vec![SeededTopic::new("orders", 3)],
        faults,
        ..EmulatorOptions::default()
    }
}

async fn start(release: Release, mode: Mode, faults: Faults) -> Emulator {
    Emulator::start(release, mode, options(faults))
        .await
        .unwrap_or_else(|e| panic!("emulator {release} {mode}: {e}"))
}

async fn connect(emu: &Emulator) -> Result<Client, ClientError> {
    timeout(WAIT, Client::connect(&emu.bootstrap(), config()))
        .await
        .expect("Client::connect returns within its own timeouts")
}

async fn connect_ok(emu: &Emulator) -> Client {
    connect(emu).await.unwrap_or_else(|e| panic!("connect: {e}"))
}

/// Waits until `n` connection records exist (pushed asynchronously, after
/// the emulator's linger on connections it closed).
async fn records(emu: &Emulator, n: usize) -> Vec<ConnRecord> {
    let got = timeout(WAIT, async {
        loop {
            let r = emu.records();
            if r.len() >= n {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    got.unwrap_or_else(|_| panic!("expected {n} records, have {:?}", emu.records()))
}

fn assert_nothing_written_after_close(records: &[ConnRecord]) {
    for r in records {
        assert_eq!(
            r.bytes_after_close, 0,
            "the client wrote on a connection the emulator had closed: {r:?}"
        );
    }
}

fn range(min: i16, max: i16) -> VersionRange {
    VersionRange::new(min, max).expect("valid range")
}

fn attempt(version: i16, correlation_id: i32, outcome: Outcome) -> Attempt {
    Attempt {
        version,
        correlation_id,
        outcome,
    }
}

// ---------------------------------------------------------------------------------------
// Negotiation without faults
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn kafka_3_8_zk_negotiates_v3_after_a_v4_refusal() {
    let emu = start(Release::new(3, 8), Mode::Zk, Faults::default()).await;
    let mut client = connect_ok(&emu).await;
    let n = client.negotiated();
    assert_eq!(
        n.attempts.to_vec(),
        vec![
            attempt(
                4,
                1,
                Outcome::Unsupported {
                    hint: Some(range(0, 3))
                }
            ),
            attempt(3, 2, Outcome::Accepted),
        ]
    );
    assert_eq!(n.reconnects, 0);
    assert_eq!(n.api_versions_version, 3);
    assert_eq!(client.versions().api_versions, 3);
    assert_eq!(client.versions().metadata, 12);

    timeout(WAIT, client.ping()).await.expect("in time").expect("ping");
    let md = timeout(WAIT, client.metadata(None))
        .await
        .expect("in time")
        .expect("metadata");
    assert_eq!(md.version, 12);
    assert_eq!(md.controller_id, 1);
    assert_eq!(
        md.cluster_id.as_deref(),
        Some(kafka_matrix::emulator::DEFAULT_CLUSTER_ID)
    );
    assert_eq!(md.brokers.len(), 1);
    assert_eq!(md.brokers[0].port, i32::from(emu.addr().port()));
    assert_eq!(md.topics.len(), 1);
    let orders = &md.topics[0];
    assert_eq!(orders.name.as_deref(), Some("orders"));
    assert_eq!(orders.error, ErrorCode::NONE);
    assert!(orders.id.is_some(), "v12 carries a topic id");
    assert_eq!(orders.partitions.iter().map(|p| p.index).collect::<Vec<_>>(), [0, 1, 2]);

    let named = timeout(WAIT, client.metadata(Some(&["orders", "nope"])))
        .await
        .expect("in time")
        .expect("metadata");
    assert_eq!(named.topics.len(), 2);
    // A default 3.8 ZooKeeper broker auto-creates "nope" and answers LEADER_NOT_AVAILABLE first.
    assert_eq!(named.topics[1].error, ErrorCode::LEADER_NOT_AVAILABLE);

    // Everything went over one connection, in order, and nothing after a close.
    drop(client);
    let recs = records(&emu, 1).await;
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(
        recs[0].requests,
        vec![(18, 4, 1), (18, 3, 2), (18, 3, 3), (3, 12, 4), (3, 12, 5)]
    );
    assert_eq!(recs[0].closed, Some(CloseReason::ClientClosed));
    assert_nothing_written_after_close(&recs);
}

#[tokio::test]
async fn kafka_2_3_negotiates_v0_after_a_hintless_refusal() {
    let emu = start(Release::new(2, 3), Mode::Zk, Faults::default()).await;
    let mut client = connect_ok(&emu).await;
    assert_eq!(
        client.negotiated().attempts.to_vec(),
        vec![
            attempt(4, 1, Outcome::Unsupported { hint: None }),
            attempt(0, 2, Outcome::Accepted)
        ]
    );
    assert_eq!(client.versions().api_versions, 0);
    assert_eq!(client.versions().metadata, 8);
    timeout(WAIT, client.ping()).await.expect("in time").expect("ping");
    let md = timeout(WAIT, client.metadata(None))
        .await
        .expect("in time")
        .expect("metadata");
    assert_eq!(md.version, 8);
    assert_eq!(md.topics.len(), 1);
    assert_eq!(md.topics[0].id, None, "no topic ids before v10");
}

#[rstest]
#[case::kafka_3_9_zk((3, 9), Mode::Zk, 12)]
#[case::kafka_3_9_kraft((3, 9), Mode::Kraft, 12)]
#[case::kafka_4_0_kraft((4, 0), Mode::Kraft, 13)]
#[case::kafka_4_3_kraft((4, 3), Mode::Kraft, 13)]
#[tokio::test]
async fn releases_with_api_versions_v4_need_one_attempt(
    #[case] (major, minor): (u8, u8),
    #[case] mode: Mode,
    #[case] metadata: i16,
) {
    let emu = start(Release::new(major, minor), mode, Faults::default()).await;
    let mut client = connect_ok(&emu).await;
    assert_eq!(
        client.negotiated().attempts.to_vec(),
        vec![attempt(4, 1, Outcome::Accepted)]
    );
    assert_eq!(client.versions().api_versions, 4);
    assert_eq!(client.versions().metadata, metadata);
    timeout(WAIT, client.ping()).await.expect("in time").expect("ping");
    let md = timeout(WAIT, client.metadata(None))
        .await
        .expect("in time")
        .expect("metadata");
    assert_eq!(md.version, metadata);
    assert_eq!(md.topics[0].partitions.len(), 3);
}

#[tokio::test]
async fn every_catalog_release_negotiates_and_answers() {
    let mut checked = 0;
    for info in releases() {
        for &mode in info.modes {
            let release = info.release;
            let t = table(release, mode).expect("table");
            let av_max = t.get(18).expect("ApiVersions").max;
            let md_max = t.get(3).expect("Metadata").max;
            // Hint-less (pre-2.4) refusals fall back to v0; KIP-511 ones to the hint.
            let want_av = if av_max >= 4 {
                4
            } else if release >= Release::new(2, 4) {
                av_max
            } else {
                0
            };
            let emu = start(release, mode, Faults::default()).await;
            let mut client = connect_ok(&emu).await;
            let what = format!("{release} {mode}");
            assert_eq!(client.versions().api_versions, want_av, "{what}");
            assert_eq!(client.versions().metadata, md_max.min(13), "{what}");
            assert_eq!(client.negotiated().reconnects, 0, "{what}");
            timeout(WAIT, client.ping())
                .await
                .expect("in time")
                .unwrap_or_else(|e| panic!("{what} ping: {e}"));
            let md = timeout(WAIT, client.metadata(Some(&["orders"])))
                .await
                .expect("in time")
                .unwrap_or_else(|e| panic!("{what} metadata: {e}"));
            assert_eq!(md.topics.len(), 1, "{what}");
            assert_eq!(md.topics[0].partitions.len(), 3, "{what}");
            checked += 1;
        }
    }
    assert_eq!(checked, 35);
}

// ---------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------

#[rstest]
#[case::kafka_3_8_zk((3, 8), Mode::Zk, 3)]
#[case::kafka_3_8_kraft((3, 8), Mode::Kraft, 3)]
#[case::kafka_2_4_zk((2, 4), Mode::Zk, 3)]
#[case::kafka_2_3_zk((2, 3), Mode::Zk, 0)]
#[tokio::test]
async fn close_after_unsupported_api_versions_reconnects_without_writing_on_the_dead_connection(
    #[case] (major, minor): (u8, u8),
    #[case] mode: Mode,
    #[case] retry: i16,
) {
    let faults = Faults {
        close_after_unsupported_api_versions: true,
        ..Faults::default()
    };
    let emu = start(Release::new(major, minor), mode, faults).await;
    let mut client = connect_ok(&emu).await;
    let n = client.negotiated();
    assert_eq!(n.api_versions_version, retry);
    assert_eq!(n.reconnects, 1, "attempts: {:?}", n.attempts);
    // The retry was not sent on the closed connection: the client saw the
    // close, recorded it, and sent the retry on a new connection.
    assert_eq!(n.attempts.len(), 3, "{:?}", n.attempts);
    assert_eq!(n.attempts[1], attempt(retry, 2, Outcome::Closed));
    assert_eq!(n.attempts[2], attempt(retry, 3, Outcome::Accepted));
    timeout(WAIT, client.ping()).await.expect("in time").expect("ping");
    timeout(WAIT, client.metadata(None))
        .await
        .expect("in time")
        .expect("metadata");

    drop(client);
    let recs = records(&emu, 2).await;
    let first = recs
        .iter()
        .find(|r| r.closed == Some(CloseReason::Fault("close after UNSUPPORTED_VERSION")))
        .unwrap_or_else(|| panic!("{recs:?}"));
    assert_eq!(
        first.requests,
        vec![(18, 4, 1)],
        "nothing but the v4 request on the closed connection"
    );
    assert_nothing_written_after_close(&recs);
}

#[rstest]
#[case::one_attempt((3, 9), Mode::Zk, 0, 4, 2)]
#[case::reconnect_during_negotiation((3, 8), Mode::Zk, 1, 3, 4)]
#[tokio::test]
async fn close_after_one_response_then_ping_is_closed_then_dead(
    #[case] (major, minor): (u8, u8),
    #[case] mode: Mode,
    #[case] reconnects: u32,
    #[case] ping_version: i16,
    #[case] ping_correlation_id: i32,
) {
    let faults = Faults {
        close_after_responses: Some(1),
        ..Faults::default()
    };
    let emu = start(Release::new(major, minor), mode, faults).await;
    // 3.9: the one ApiVersions reply is the connection's only response.
    // 3.8: the v4 refusal closes the first connection; the retry's answer the second.
    let mut client = connect_ok(&emu).await;
    assert_eq!(client.negotiated().reconnects, reconnects);

    let first = timeout(WAIT, client.ping()).await.expect("ping returns in time");
    let Err(ClientError::Connection(ConnectionError::ClosedByPeer {
        api,
        version,
        correlation_id,
        ..
    })) = &first
    else {
        panic!("expected ClosedByPeer, got {first:?}");
    };
    assert_eq!(
        (*api, *version, *correlation_id),
        ("ApiVersions", ping_version, ping_correlation_id)
    );
    let first_text = first.expect_err("checked above").to_string();
    assert_eq!(
        first_text,
        format!(
            "broker {} closed the connection before answering ApiVersions v{ping_version} (correlation id \
             {ping_correlation_id})",
            emu.addr()
        )
    );
    let second = timeout(WAIT, client.metadata(None)).await.expect("in time");
    let Err(ClientError::Connection(ConnectionError::Dead { peer, cause })) = &second else {
        panic!("expected Dead, got {second:?}");
    };
    assert_eq!(*peer, emu.addr());
    assert_eq!(cause, &first_text, "Dead carries the first error as its cause");
    let want = format!(
        "connection to {} is closed (because: {cause}); nothing was sent",
        emu.addr()
    );
    assert_eq!(second.expect_err("checked above").to_string(), want);
    assert!(client.connection().dead_cause().is_some());

    drop(client);
    let recs = records(&emu, 1 + reconnects as usize).await;
    for r in &recs {
        assert_eq!(
            r.closed,
            Some(CloseReason::Fault("close after N responses")),
            "{recs:?}"
        );
        assert_eq!(r.responses, 1, "{r:?}");
    }
    // Neither the ping nor the metadata call wrote on the closed connection.
    assert_nothing_written_after_close(&recs);
}

#[rstest]
#[case::kafka_3_9_kraft((3, 9), Mode::Kraft)]
#[case::kafka_3_8_zk((3, 8), Mode::Zk)]
#[case::kafka_2_0_zk((2, 0), Mode::Zk)]
#[tokio::test]
async fn truncated_response_fails_connect_as_closed(#[case] (major, minor): (u8, u8), #[case] mode: Mode) {
    let faults = Faults {
        truncate_response_to: Some(6),
        ..Faults::default()
    };
    let emu = start(Release::new(major, minor), mode, faults).await;
    let err = connect(&emu).await.expect_err("a truncated reply cannot negotiate");
    // A reply cut short is no reply: the client falls back as from a broker
    // that hangs up on a version it does not know (v4, then v3, then v0),
    // each on a new connection, then gives up.
    match &err {
        ClientError::Negotiate(NegotiateError::ClosedWithoutReply { version: 0 }) => {}
        other => panic!("expected a closed-without-reply error, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "negotiation failed: broker closed the connection before answering ApiVersions v0"
    );
    let recs = records(&emu, 3).await;
    let mut asked: Vec<i16> = recs.iter().map(|r| r.requests[0].1).collect();
    asked.sort_unstable();
    assert_eq!(asked, vec![0, 3, 4], "{recs:?}");
    for r in &recs {
        assert_eq!(r.closed, Some(CloseReason::Fault("truncated response")), "{r:?}");
    }
    assert_nothing_written_after_close(&recs);
}

#[rstest]
#[case::kafka_3_9_zk((3, 9), Mode::Zk)]
#[case::kafka_3_8_zk((3, 8), Mode::Zk)]
#[tokio::test]
async fn wrong_correlation_id_is_a_negotiation_mismatch(#[case] (major, minor): (u8, u8), #[case] mode: Mode) {
    let faults = Faults {
        wrong_correlation_id: true,
        ..Faults::default()
    };
    let emu = start(Release::new(major, minor), mode, faults).await;
    let err = connect(&emu).await.expect_err("mismatched reply");
    let ClientError::Negotiate(NegotiateError::CorrelationMismatch { version, expected, got }) = err else {
        panic!("expected CorrelationMismatch, got {err:?}");
    };
    assert_eq!((version, expected, got), (4, 1, 2));
    assert_eq!(
        err.to_string(),
        "negotiation failed: ApiVersions v4 reply has correlation id 2, expected 1"
    );
    // Nothing was sent after the mismatched reply.
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].requests, vec![(18, 4, 1)]);
    assert_nothing_written_after_close(&recs);
}

#[tokio::test]
async fn response_delay_beyond_request_timeout_is_a_timeout() {
    let faults = Faults {
        response_delay: Some(REQUEST_TIMEOUT * 4),
        ..Faults::default()
    };
    let emu = start(Release::new(3, 9), Mode::Zk, faults).await;
    let err = connect(&emu).await.expect_err("no reply within the request timeout");
    let ClientError::Connection(ConnectionError::Timeout {
        api,
        version,
        correlation_id,
        after,
    }) = &err
    else {
        panic!("expected Timeout, got {err:?}");
    };
    assert_eq!(
        (*api, *version, *correlation_id, *after),
        ("ApiVersions", 4, 1, REQUEST_TIMEOUT)
    );
    assert_eq!(
        err.to_string(),
        "ApiVersions v4 (correlation id 1) got no reply within 500ms"
    );
    // The record comes once the emulator's delayed reply meets the closed connection.
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].requests, vec![(18, 4, 1)], "no retry after the timeout");
}

/// Timeout kills the connection: the next call is `Dead` and sends nothing
/// (checked on the emulator's record of requests).
#[tokio::test]
async fn after_a_timeout_the_connection_is_dead_and_sends_nothing() {
    let faults = Faults {
        response_delay: Some(REQUEST_TIMEOUT * 2),
        ..Faults::default()
    };
    let emu = start(Release::new(3, 9), Mode::Zk, faults).await;
    let timeout_after = Duration::from_millis(100);
    let mut conn = timeout(
        WAIT,
        Connection::connect(&emu.bootstrap(), Duration::from_millis(500), DEFAULT_MAX_FRAME_BYTES),
    )
    .await
    .expect("in time")
    .expect("connect");
    let body = RequestBody::ApiVersions(ApiVersionsRequest {
        client_software_name: "kafka-matrix".into(),
        client_software_version: "0.1.0".into(),
        ..ApiVersionsRequest::default()
    });
    let in_flight = |correlation_id| InFlight {
        api: "ApiVersions",
        key: 18,
        version: 4,
        correlation_id,
        response_header_version: 0,
    };
    let frame = encode_request(1, Some("t"), 4, &body).expect("encodes");
    let first = timeout(WAIT, conn.round_trip(&frame, in_flight(1), timeout_after))
        .await
        .expect("in time");
    let Err(e @ ConnectionError::Timeout { .. }) = first else {
        panic!("expected Timeout, got {first:?}");
    };
    assert_eq!(
        e.to_string(),
        "ApiVersions v4 (correlation id 1) got no reply within 100ms"
    );

    let frame2 = encode_request(2, Some("t"), 4, &body).expect("encodes");
    let second = timeout(WAIT, conn.round_trip(&frame2, in_flight(2), timeout_after))
        .await
        .expect("in time");
    let Err(ConnectionError::Dead { cause, .. }) = &second else {
        panic!("expected Dead, got {second:?}");
    };
    assert_eq!(cause, &e.to_string());
    assert_eq!(
        second.expect_err("checked").to_string(),
        format!(
            "connection to {} is closed (because: ApiVersions v4 (correlation id 1) got no reply within 100ms); \
             nothing was sent",
            emu.addr()
        )
    );
    drop(conn);
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].requests, vec![(18, 4, 1)], "the Dead call wrote nothing");
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let result = timeout(WAIT, Client::connect(&addr.to_string(), config()))
        .await
        .expect("in time");
    let Err(err) = result else {
        panic!("connected to a closed port");
    };
    let ClientError::Connection(ConnectionError::Connect { addr: a, source }) = &err else {
        panic!("expected Connect, got {err:?}");
    };
    assert_eq!(a, &addr.to_string());
    assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(err.to_string(), format!("cannot connect to {addr}: {source}"));
    assert!(err.to_string().starts_with(&format!("cannot connect to {addr}: ")));
}

// ---------------------------------------------------------------------------------------
// Faults after a normal negotiation (`spare_responses: 1`): the typed error of the call
// that meets the fault, `Dead` for the next call, and the emulator's record of requests
// proving the `Dead` call wrote nothing.
// ---------------------------------------------------------------------------------------

/// 3.9 accepts ApiVersions v4 at once, so with `spare_responses: 1` the negotiation is
/// untouched and the fault hits the next request (correlation id 2).
async fn negotiated_then(faults: Faults) -> (Emulator, Client) {
    let emu = start(
        Release::new(3, 9),
        Mode::Zk,
        Faults {
            spare_responses: 1,
            ..faults
        },
    )
    .await;
    let client = connect_ok(&emu).await;
    assert_eq!(
        client.negotiated().attempts.to_vec(),
        vec![attempt(4, 1, Outcome::Accepted)]
    );
    (emu, client)
}

/// The second call after a failure is `Dead` (carrying the first error) and sends nothing.
async fn assert_dead_after(client: &mut Client, first: &ClientError) {
    let second = timeout(WAIT, client.metadata(None)).await.expect("in time");
    let Err(ClientError::Connection(ConnectionError::Dead { cause, .. })) = &second else {
        panic!("expected Dead, got {second:?}");
    };
    assert_eq!(cause, &first.to_string());
}

#[rstest]
#[case::inside_the_size_prefix(2)]
#[case::inside_the_header(6)]
#[case::inside_the_body(20)]
#[tokio::test]
async fn close_mid_frame_is_closed_mid_frame_then_dead(#[case] cut: usize) {
    let (emu, mut client) = negotiated_then(Faults {
        truncate_response_to: Some(cut),
        ..Faults::default()
    })
    .await;
    let first = timeout(WAIT, client.ping())
        .await
        .expect("ping returns in time")
        .expect_err("a cut reply");
    let ClientError::Connection(ConnectionError::ClosedMidFrame { have, .. }) = &first else {
        panic!("expected ClosedMidFrame, got {first:?}");
    };
    assert_eq!(*have, cut, "the bytes buffered are the bytes sent");
    assert_eq!(
        first.to_string(),
        format!(
            "broker {} closed the connection in the middle of a response frame ({cut} bytes buffered)",
            emu.addr()
        )
    );
    assert_dead_after(&mut client, &first).await;
    drop(client);
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].closed, Some(CloseReason::Fault("truncated response")));
    assert_eq!(recs[0].requests, vec![(18, 4, 1), (18, 4, 2)]);
    assert_nothing_written_after_close(&recs);
}

/// A complete frame whose message is cut short: the correlation id matches, the body does
/// not decode. Checked for both APIs the client reads after negotiation.
#[rstest]
#[case::api_versions(true)]
#[case::metadata(false)]
#[tokio::test]
async fn shortened_response_is_a_decode_error_then_dead(#[case] ping: bool) {
    let (emu, mut client) = negotiated_then(Faults {
        shorten_response_to: Some(7),
        ..Faults::default()
    })
    .await;
    let first = if ping {
        timeout(WAIT, client.ping()).await.expect("in time").map(|_| ())
    } else {
        timeout(WAIT, client.metadata(None)).await.expect("in time").map(|_| ())
    };
    let first = first.expect_err("a shortened reply");
    let ClientError::Connection(ConnectionError::Decode { api, version, source }) = &first else {
        panic!("expected Decode, got {first:?}");
    };
    let (want_api, want_version) = if ping { ("ApiVersions", 4) } else { ("Metadata", 12) };
    assert_eq!((*api, *version), (want_api, want_version));
    assert!(
        matches!(
            source,
            DecodeError::Truncated { .. } | DecodeError::CountTooLarge { remaining: 0, .. }
        ),
        "{source:?}"
    );
    assert!(client.connection().dead_cause().is_some());
    let second = timeout(WAIT, client.ping()).await.expect("in time");
    assert!(
        matches!(second, Err(ClientError::Connection(ConnectionError::Dead { .. }))),
        "{second:?}"
    );
    drop(client);
    // The emulator kept the connection open; the client closed it, having sent only the
    // negotiation and the one failed request.
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].closed, Some(CloseReason::ClientClosed));
    assert_eq!(recs[0].requests.len(), 2, "{:?}", recs[0].requests);
}

#[tokio::test]
async fn shortened_api_versions_reply_fails_negotiation_as_decode() {
    let emu = start(
        Release::new(3, 9),
        Mode::Zk,
        Faults {
            shorten_response_to: Some(7),
            ..Faults::default()
        },
    )
    .await;
    let err = connect(&emu).await.expect_err("a shortened reply cannot negotiate");
    let ClientError::Negotiate(NegotiateError::Decode { version: 4, source }) = &err else {
        panic!("expected NegotiateError::Decode, got {err:?}");
    };
    assert!(
        matches!(
            source,
            DecodeError::Truncated { .. } | DecodeError::CountTooLarge { remaining: 0, .. }
        ),
        "{source:?}"
    );
    let recs = records(&emu, 1).await;
    assert_eq!(
        recs[0].requests,
        vec![(18, 4, 1)],
        "no second request on that connection"
    );
}

/// A response size prefix above the client's limit (or negative) is refused as soon as
/// its 4 bytes are in, before anything is allocated for the body (the allocation itself
/// is measured in `tests/protocol_alloc.rs`), during negotiation and after it.
#[rstest]
#[case::one_above_kafkas_limit(104_857_601, true)]
#[case::i32_max(i32::MAX, true)]
#[case::negative(-1, false)]
#[tokio::test]
async fn forged_response_size_is_a_frame_error(#[case] size: i32, #[case] too_large: bool) {
    let check = |err: &ClientError| {
        let ClientError::Connection(ConnectionError::Frame { source, .. }) = err else {
            panic!("expected a Frame error, got {err:?}");
        };
        if too_large {
            assert_eq!(
                *source,
                FrameError::TooLarge {
                    size: size as usize,
                    max: DEFAULT_MAX_FRAME_BYTES
                }
            );
        } else {
            assert_eq!(*source, FrameError::Negative { size });
        }
    };
    // During negotiation.
    let emu = start(
        Release::new(3, 9),
        Mode::Zk,
        Faults {
            forge_response_size: Some(size),
            ..Faults::default()
        },
    )
    .await;
    let err = connect(&emu).await.expect_err("a forged size cannot negotiate");
    check(&err);
    if too_large {
        assert_eq!(
            err.to_string(),
            format!(
                "bad response frame from {}: invalid frame size {size}: larger than the limit of 104857600 bytes",
                emu.addr()
            )
        );
    }
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].closed, Some(CloseReason::Fault("forged response size")));
    assert_nothing_written_after_close(&recs);

    // After negotiation.
    let (emu, mut client) = negotiated_then(Faults {
        forge_response_size: Some(size),
        ..Faults::default()
    })
    .await;
    let first = timeout(WAIT, client.metadata(None))
        .await
        .expect("in time")
        .expect_err("forged size");
    check(&first);
    assert_dead_after(&mut client, &first).await;
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].closed, Some(CloseReason::Fault("forged response size")));
    assert_eq!(recs[0].requests.len(), 2, "{:?}", recs[0].requests);
    assert_nothing_written_after_close(&recs);
}

#[tokio::test]
async fn wrong_correlation_id_after_negotiation_is_a_mismatch_then_dead() {
    let (emu, mut client) = negotiated_then(Faults {
        wrong_correlation_id: true,
        ..Faults::default()
    })
    .await;
    let first = timeout(WAIT, client.ping())
        .await
        .expect("in time")
        .expect_err("mismatch");
    let ClientError::Connection(ConnectionError::CorrelationMismatch {
        api,
        version,
        expected,
        got,
    }) = &first
    else {
        panic!("expected CorrelationMismatch, got {first:?}");
    };
    assert_eq!((*api, *version, *expected, *got), ("ApiVersions", 4, 2, 3));
    assert_eq!(
        first.to_string(),
        "ApiVersions v4 reply has correlation id 3, expected 2"
    );
    assert_dead_after(&mut client, &first).await;
    drop(client);
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].requests, vec![(18, 4, 1), (18, 4, 2)]);
}

#[tokio::test]
async fn slow_broker_after_negotiation_is_a_timeout_then_dead() {
    let (emu, mut client) = negotiated_then(Faults {
        response_delay: Some(REQUEST_TIMEOUT * 3),
        ..Faults::default()
    })
    .await;
    let first = timeout(WAIT, client.metadata(None))
        .await
        .expect("the client's own timeout fires first")
        .expect_err("timeout");
    let ClientError::Connection(ConnectionError::Timeout {
        api,
        version,
        correlation_id,
        after,
    }) = &first
    else {
        panic!("expected Timeout, got {first:?}");
    };
    assert_eq!(
        (*api, *version, *correlation_id, *after),
        ("Metadata", 12, 2, REQUEST_TIMEOUT)
    );
    assert_dead_after(&mut client, &first).await;
    drop(client);
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].requests, vec![(18, 4, 1), (3, 12, 2)]);
}

// ---------------------------------------------------------------------------------------
// The emulator against a hostile client's length prefix (raw TCP).
// ---------------------------------------------------------------------------------------

/// Reads until EOF (or a reset); returns what was read. Hangs are caught by `WAIT`.
async fn read_to_eof(s: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let _ = timeout(WAIT, s.read_to_end(&mut got))
        .await
        .expect("the emulator closes in time");
    got
}

/// Kafka's `NetworkReceive` refuses a size above `socket.request.max.bytes` (104857600)
/// or below 0 as soon as it has the 4 bytes, and the broker closes the connection without
/// a reply; so does the emulator. Exactly 104857600 is legal: it waits for the body.
#[rstest]
#[case::one_above_the_limit(104_857_601)]
#[case::i32_max(i32::MAX)]
#[case::negative(-5)]
#[tokio::test]
async fn emulator_closes_at_once_on_an_invalid_request_size(#[case] size: i32) {
    use tokio::io::AsyncWriteExt;
    let emu = start(Release::new(3, 8), Mode::Zk, Faults::default()).await;
    let mut s = tokio::net::TcpStream::connect(emu.addr()).await.expect("connect");
    s.write_all(&size.to_be_bytes()).await.expect("write the prefix");
    assert_eq!(read_to_eof(&mut s).await, Vec::<u8>::new(), "closed without a reply");
    drop(s);
    let recs = records(&emu, 1).await;
    let want = if size < 0 {
        format!("invalid frame size {size}: negative")
    } else {
        format!("invalid frame size {size}: larger than the limit of 104857600 bytes")
    };
    assert_eq!(recs[0].closed, Some(CloseReason::InvalidFrame(want)));
    assert!(recs[0].requests.is_empty());
    assert_nothing_written_after_close(&recs);
}

#[tokio::test]
async fn emulator_waits_for_the_body_of_a_request_exactly_at_the_limit() {
    use tokio::io::AsyncWriteExt;
    let emu = start(Release::new(3, 8), Mode::Zk, Faults::default()).await;
    let mut s = tokio::net::TcpStream::connect(emu.addr()).await.expect("connect");
    s.write_all(&104_857_600i32.to_be_bytes()).await.expect("write");
    s.write_all(&[0, 18, 0, 0]).await.expect("write");
    // Still open after a while: no reply, no close.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(emu.records().is_empty(), "{:?}", emu.records());
    s.shutdown().await.expect("shutdown");
    drop(s);
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].closed, Some(CloseReason::ClientClosedMidFrame));
}

/// The check every fault test relies on can fail: a client that writes after the
/// emulator closed is counted in `bytes_after_close`.
#[tokio::test]
async fn bytes_written_after_the_emulator_closed_are_counted() {
    use tokio::io::AsyncWriteExt;
    let emu = start(Release::new(3, 8), Mode::Zk, Faults::default()).await;
    let mut s = tokio::net::TcpStream::connect(emu.addr()).await.expect("connect");
    s.write_all(&i32::MAX.to_be_bytes()).await.expect("write");
    assert!(read_to_eof(&mut s).await.is_empty());
    s.write_all(b"late!").await.expect("the write itself succeeds");
    drop(s);
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].bytes_after_close, 5, "{recs:?}");
}
