//! The sans-io negotiation core fed byte-exact broker replies.
//!
//! The replies are written out byte by byte, as the Kafka sources at each tag
//! produce them (see docs/fidelity.md): `KafkaApis.handleApiVersionsRequest`
//! + `ApiVersionsRequest.getErrorResponse` answer an unsupported version with a
//!   v0 body; from 2.4 (KIP-511) it lists the broker's ApiVersions range.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_matrix::negotiate::{
    Action, Attempt, ClientApis, Hint, Input, NegotiateError, Negotiated, Outcome, Session, SessionConfig,
};
use kafka_matrix::protocol::messages::{ApiVersionEntry, ApiVersionsResponse, FinalizedFeature, SupportedFeature};
use kafka_matrix::protocol::{api_key, VersionRange};

/// Kafka 3.8's reply to ApiVersions v4: header v0 (correlation id), then the
/// v0 body: error 35, api_keys = [{18, 0, 3}]. 16 bytes after the size prefix.
fn kafka_38_refusal(correlation_id: i32) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i32(correlation_id);
    b.put_slice(&[0x00, 0x23, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03]);
    b.freeze()
}

/// Kafka 2.3's reply to an ApiVersions version above 2: error 35, no entries.
fn kafka_23_refusal(correlation_id: i32) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i32(correlation_id);
    b.put_slice(&[0x00, 0x23, 0x00, 0x00, 0x00, 0x00]);
    b.freeze()
}

/// A successful reply at `version` listing ApiVersions and Metadata ranges.
fn accepted(correlation_id: i32, version: i16, api_versions_max: i16, metadata_max: i16) -> Bytes {
    let resp = ApiVersionsResponse {
        api_keys: vec![
            ApiVersionEntry {
                api_key: 3,
                min_version: 0,
                max_version: metadata_max,
            },
            ApiVersionEntry {
                api_key: 18,
                min_version: 0,
                max_version: api_versions_max,
            },
        ],
        ..ApiVersionsResponse::default()
    };
    let mut b = BytesMut::new();
    b.put_i32(correlation_id);
    resp.encode(&mut b, version).expect("valid response");
    b.freeze()
}

/// The (api version, correlation id) of a request frame the session asked to send.
fn sent(action: &Action) -> (i16, i32) {
    match action {
        Action::Send(frame) => {
            assert_eq!(frame[4..6], [0, 18], "an ApiVersions request");
            let version = i16::from_be_bytes([frame[6], frame[7]]);
            let corr = i32::from_be_bytes([frame[8], frame[9], frame[10], frame[11]]);
            (version, corr)
        }
        other => panic!("expected Send, got {other:?}"),
    }
}

fn done(action: Action) -> Negotiated {
    match action {
        Action::Done(n) => n,
        other => panic!("expected Done, got {other:?}"),
    }
}

fn failed(action: Action) -> NegotiateError {
    match action {
        Action::Fail(e) => e,
        other => panic!("expected Fail, got {other:?}"),
    }
}

fn range(min: i16, max: i16) -> VersionRange {
    VersionRange { min, max }
}

#[test]
fn franz_go_119_trap_v4_to_kafka_38_falls_back_to_v3_and_reads_the_real_table() {
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    let first = s.on_connected();
    assert_eq!(sent(&first), (4, 1), "starts at the newest version");

    let retry = s.on_input(Input::Frame(kafka_38_refusal(1)));
    assert_eq!(
        sent(&retry),
        (3, 2),
        "retries at min(client 4, broker 3), same connection"
    );

    let n = done(s.on_input(Input::Frame(accepted(2, 3, 3, 12))));
    assert_eq!(n.api_versions_version, 3);
    assert_eq!(n.reconnects, 0);
    assert_eq!(
        n.attempts.to_vec(),
        vec![
            Attempt {
                version: 4,
                correlation_id: 1,
                outcome: Outcome::Unsupported {
                    hint: Some(range(0, 3))
                }
            },
            Attempt {
                version: 3,
                correlation_id: 2,
                outcome: Outcome::Accepted
            },
        ]
    );
    // The franz-go 1.19 bug was to take the one-entry refusal as the broker's
    // table, leaving Metadata at the client's own max (v13), which 3.8 closes
    // the connection on. The table here is the v3 reply's: Metadata v12.
    assert_eq!(n.version_for(&ClientApis::kafka_matrix(), api_key::METADATA), Ok(12));
    assert_eq!(n.next_correlation_id, 3);
}

#[test]
fn pre_kip_511_broker_without_a_hint_gets_v0() {
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    assert_eq!(sent(&s.on_connected()), (4, 1));
    let retry = s.on_input(Input::Frame(kafka_23_refusal(1)));
    assert_eq!(sent(&retry), (0, 2), "no hint: retry at v0");
    let n = done(s.on_input(Input::Frame(accepted(2, 0, 2, 8))));
    assert_eq!(n.api_versions_version, 0);
    assert_eq!(n.attempts[0].outcome, Outcome::Unsupported { hint: None });
    assert_eq!(n.version_for(&ClientApis::kafka_matrix(), api_key::METADATA), Ok(8));
}

#[test]
fn kafka_39_accepts_v4_first_time() {
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    assert_eq!(sent(&s.on_connected()), (4, 1));
    let n = done(s.on_input(Input::Frame(accepted(1, 4, 4, 12))));
    assert_eq!(n.api_versions_version, 4);
    assert_eq!(n.attempts.len(), 1);
}

#[test]
fn a_broker_that_closes_after_refusing_gets_the_retry_on_a_new_connection() {
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    s.on_connected();
    let retry = s.on_input(Input::Frame(kafka_38_refusal(1)));
    assert_eq!(sent(&retry), (3, 2));
    // The shell saw EOF: it must not write, it reports Closed instead.
    assert_eq!(s.on_input(Input::Closed), Action::Reconnect);
    assert_eq!(
        sent(&s.on_connected()),
        (3, 3),
        "the same version, a fresh correlation id"
    );
    let n = done(s.on_input(Input::Frame(accepted(3, 3, 3, 12))));
    assert_eq!(n.reconnects, 1);
    let outcomes: Vec<_> = n.attempts.iter().map(|a| (a.version, a.outcome)).collect();
    assert_eq!(
        outcomes,
        vec![
            (
                4,
                Outcome::Unsupported {
                    hint: Some(range(0, 3))
                }
            ),
            (3, Outcome::Closed),
            (3, Outcome::Accepted)
        ]
    );
}

#[test]
fn close_without_any_reply_falls_back_to_v3_then_v0_then_fails() {
    // Azure Event Hubs resets ApiVersions v4 (franz-go#1025): a new
    // connection at v3, then at v0, then a failure naming the last version.
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    assert_eq!(sent(&s.on_connected()), (4, 1));
    assert_eq!(s.on_input(Input::Closed), Action::Reconnect);
    assert_eq!(sent(&s.on_connected()), (3, 2));
    assert_eq!(s.on_input(Input::Closed), Action::Reconnect);
    assert_eq!(sent(&s.on_connected()), (0, 3));
    let e = failed(s.on_input(Input::Closed));
    assert_eq!(
        e.to_string(),
        "broker closed the connection before answering ApiVersions v0"
    );
    assert!(matches!(
        s.on_input(Input::Closed),
        Action::Fail(NegotiateError::Misuse(_))
    ));

    // The fallback reaches a broker that answers v3.
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    s.on_connected();
    assert_eq!(s.on_input(Input::Closed), Action::Reconnect);
    assert_eq!(sent(&s.on_connected()), (3, 2));
    let n = done(s.on_input(Input::Frame(accepted(2, 3, 3, 12))));
    assert_eq!((n.api_versions_version, n.reconnects), (3, 1));

    // With no reconnect allowed, the first silent close is the end.
    let config = SessionConfig {
        max_reconnects: 0,
        ..SessionConfig::default()
    };
    let mut s = Session::new(&config);
    s.on_connected();
    let e = failed(s.on_input(Input::Closed));
    assert_eq!(e, NegotiateError::ClosedWithoutReply { version: 4 });
}

#[test]
fn wrong_correlation_id_fails() {
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    s.on_connected();
    let e = failed(s.on_input(Input::Frame(accepted(99, 4, 4, 12))));
    assert_eq!(e.to_string(), "ApiVersions v4 reply has correlation id 99, expected 1");
}

#[test]
fn a_hint_that_does_not_go_lower_is_refused() {
    // A broker that refuses v4 yet claims to support v0-v4.
    let mut body = BytesMut::new();
    body.put_i32(1);
    body.put_slice(&[0x00, 0x23, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x04]);
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    s.on_connected();
    let e = failed(s.on_input(Input::Frame(body.freeze())));
    assert_eq!(
        e,
        NegotiateError::NoFallback {
            version: 4,
            hint: Hint::Range(range(0, 4))
        }
    );
}

#[test]
fn v0_refused_leaves_nothing_to_try() {
    let config = SessionConfig {
        start_version: 0,
        ..SessionConfig::default()
    };
    let mut s = Session::new(&config);
    assert_eq!(sent(&s.on_connected()), (0, 1));
    let e = failed(s.on_input(Input::Frame(kafka_23_refusal(1))));
    assert_eq!(
        e.to_string(),
        "broker refused ApiVersions v0 and left no lower version to try (hint: no ApiVersions range in the body)"
    );
}

#[test]
fn hint_below_the_clients_minimum_names_both_ranges() {
    let config = SessionConfig {
        apis: ClientApis::kafka_matrix().with(api_key::API_VERSIONS, "ApiVersions", range(3, 4)),
        ..SessionConfig::default()
    };
    let mut s = Session::new(&config);
    s.on_connected();
    let mut body = BytesMut::new();
    body.put_i32(1);
    body.put_slice(&[0x00, 0x23, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x02]);
    let e = failed(s.on_input(Input::Frame(body.freeze())));
    assert_eq!(
        e.to_string(),
        "no common ApiVersions version: client supports v3-v4, broker supports v0-v2"
    );
}

#[test]
fn attempts_and_reconnects_are_bounded() {
    let config = SessionConfig {
        max_attempts: 1,
        ..SessionConfig::default()
    };
    let mut s = Session::new(&config);
    s.on_connected();
    let e = failed(s.on_input(Input::Frame(kafka_38_refusal(1))));
    assert_eq!(e.to_string(), "gave up after 1 ApiVersions attempts (0 reconnects)");

    let config = SessionConfig {
        max_reconnects: 0,
        ..SessionConfig::default()
    };
    let mut s = Session::new(&config);
    s.on_connected();
    s.on_input(Input::Frame(kafka_38_refusal(1)));
    let e = failed(s.on_input(Input::Closed));
    assert_eq!(
        e,
        NegotiateError::RetriesExhausted {
            attempts: 2,
            reconnects: 0
        }
    );
}

#[test]
fn truncated_bodies_are_decode_errors_and_trailing_bytes_are_not() {
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    s.on_connected();
    let full = kafka_38_refusal(1);
    let e = failed(s.on_input(Input::Frame(full.slice(..full.len() - 1))));
    assert!(matches!(e, NegotiateError::Decode { version: 0, .. }), "{e}");

    // Bytes after the v0 body are left unread (as Kafka's Java client does): the
    // hint is still read and the session retries at v3.
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    s.on_connected();
    let mut longer = full.to_vec();
    longer.extend_from_slice(&[1, 0, 0]);
    assert_eq!(sent(&s.on_input(Input::Frame(Bytes::from(longer)))).0, 3);

    let config = SessionConfig::default();

    let mut s = Session::new(&config);
    s.on_connected();
    let e = failed(s.on_input(Input::Frame(Bytes::from_static(&[0, 0]))));
    assert_eq!(
        e.to_string(),
        "ApiVersions v4 reply did not decode: truncated correlation_id: needed 4 bytes, 2 left"
    );
}

#[test]
fn other_broker_errors_are_reported_as_such() {
    // INVALID_REQUEST (42) at v3: what Kafka sends for a bad ClientSoftwareName.
    let mut b = BytesMut::new();
    b.put_i32(1);
    b.put_slice(&[0x00, 0x2a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00]);
    let config = SessionConfig {
        start_version: 3,
        ..SessionConfig::default()
    };
    let mut s = Session::new(&config);
    s.on_connected();
    let e = failed(s.on_input(Input::Frame(b.freeze())));
    assert_eq!(
        e.to_string(),
        "broker answered ApiVersions v3 with INVALID_REQUEST (42)"
    );
}

#[test]
fn driving_out_of_order_is_misuse() {
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    assert!(matches!(
        s.on_input(Input::Frame(Bytes::new())),
        Action::Fail(NegotiateError::Misuse(_))
    ));
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    s.on_connected();
    assert!(matches!(s.on_connected(), Action::Fail(NegotiateError::Misuse(_))));
}

/// A 4.x-style reply at v4 with feature lists: the negotiation takes the table
/// and the throttle time and skips the features by their size;
/// `Negotiated::response` reads the whole reply when asked.
#[test]
fn features_are_read_on_demand() {
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    let (version, corr) = sent(&s.on_connected());
    let full = ApiVersionsResponse {
        api_keys: vec![
            ApiVersionEntry {
                api_key: 3,
                min_version: 0,
                max_version: 13,
            },
            ApiVersionEntry {
                api_key: 18,
                min_version: 0,
                max_version: 4,
            },
        ],
        throttle_time_ms: 7,
        supported_features: vec![SupportedFeature {
            name: "metadata.version".into(),
            min_version: 1,
            max_version: 27,
        }],
        finalized_features_epoch: 3,
        finalized_features: vec![FinalizedFeature {
            name: "metadata.version".into(),
            max_version_level: 27,
            min_version_level: 27,
        }],
        ..ApiVersionsResponse::default()
    };
    let mut b = BytesMut::new();
    b.put_i32(corr);
    full.encode(&mut b, version).expect("valid response");
    let n = done(s.on_input(Input::Frame(b.freeze())));
    assert_eq!((n.api_keys.to_vec(), n.throttle_time_ms), (full.api_keys.clone(), 7));
    assert_eq!(n.range_of(api_key::METADATA), VersionRange::new(0, 13));
    assert_eq!(n.response(), Ok(full));
}

/// A feature list that does not decode (tag 0 claims 5 features in 0 bytes)
/// does not fail the negotiation, which never reads it, as librdkafka never
/// does; reading the whole reply reports it.
#[test]
fn a_bad_feature_list_fails_only_the_reading_of_it() {
    let config = SessionConfig::default();
    let mut s = Session::new(&config);
    let (version, corr) = sent(&s.on_connected());
    let frame = accepted(corr, version, 4, 13);
    let mut b = BytesMut::from(&frame[..frame.len() - 1]);
    assert_eq!(frame[frame.len() - 1], 0, "no tagged fields to replace");
    b.put_slice(&[1, 0, 1, 6]);
    let n = done(s.on_input(Input::Frame(b.freeze())));
    assert_eq!(n.api_versions_version, 4);
    assert_eq!(n.range_of(api_key::METADATA), VersionRange::new(0, 13));
    let e = n.response().expect_err("the feature list does not decode");
    assert!(e.to_string().contains("supported_features"), "{e}");
}
