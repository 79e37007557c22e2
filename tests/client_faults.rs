//! The client against the emulator: what it negotiates with each release, and
//! the typed error each injected fault produces, within the configured timeouts.
//!
//! Besides the client's own results, the emulator's connection records are
//! checked: after any close by the emulator the client must not have written a
//! byte (`bytes_after_close == 0`), which is the franz-go 1.19 failure mode.

use std::time::Duration;

use kafka_matrix::client::{Client, ClientConfig, ClientError, Connection, ConnectionError, InFlight};
use kafka_matrix::emulator::{CloseReason, ConnRecord, Emulator, EmulatorOptions, Faults, SeededTopic};
use kafka_matrix::negotiate::{Attempt, NegotiateError, Outcome};
use kafka_matrix::protocol::messages::ApiVersionsRequest;
use kafka_matrix::protocol::{encode_request, ErrorCode, RequestBody, VersionRange, DEFAULT_MAX_FRAME_BYTES};
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
        n.attempts,
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
    assert_eq!(named.topics[1].error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);

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
        client.negotiated().attempts,
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
#[case((3, 9), Mode::Zk, 12)]
#[case((3, 9), Mode::Kraft, 12)]
#[case((4, 0), Mode::Kraft, 13)]
#[case((4, 3), Mode::Kraft, 13)]
#[tokio::test]
async fn releases_with_api_versions_v4_need_one_attempt(
    #[case] (major, minor): (u8, u8),
    #[case] mode: Mode,
    #[case] metadata: i16,
) {
    let emu = start(Release::new(major, minor), mode, Faults::default()).await;
    let mut client = connect_ok(&emu).await;
    assert_eq!(client.negotiated().attempts, vec![attempt(4, 1, Outcome::Accepted)]);
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
    assert_eq!(checked, 34);
}

// ---------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------

#[rstest]
#[case((3, 8), Mode::Zk, 3)]
#[case((3, 8), Mode::Kraft, 3)]
#[case((2, 4), Mode::Zk, 3)]
#[case((2, 3), Mode::Zk, 0)]
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
#[case((3, 9), Mode::Kraft)]
#[case((3, 8), Mode::Zk)]
#[case((2, 0), Mode::Zk)]
#[tokio::test]
async fn truncated_response_fails_connect_as_closed(#[case] (major, minor): (u8, u8), #[case] mode: Mode) {
    let faults = Faults {
        truncate_response_to: Some(6),
        ..Faults::default()
    };
    let emu = start(Release::new(major, minor), mode, faults).await;
    let err = connect(&emu).await.expect_err("a truncated reply cannot negotiate");
    match &err {
        ClientError::Negotiate(NegotiateError::ClosedWithoutReply { version: 4 }) => {}
        ClientError::Connection(ConnectionError::ClosedMidFrame { have: 2, .. }) => {}
        other => panic!("expected a closed-mid-frame error, got {other:?}"),
    }
    if let ClientError::Negotiate(_) = err {
        assert_eq!(
            err.to_string(),
            "negotiation failed: broker closed the connection before answering ApiVersions v4"
        );
    }
    let recs = records(&emu, 1).await;
    assert_eq!(recs[0].closed, Some(CloseReason::Fault("truncated response")));
    assert_nothing_written_after_close(&recs);
}

#[rstest]
#[case((3, 9), Mode::Zk)]
#[case((3, 8), Mode::Zk)]
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
