//! Differential tests: our hand-written codec against the `kafka-protocol` crate (0.18).
//!
//! For every version of ApiVersions (v0–4) and Metadata (v0–13), requests and responses,
//! a handful of representative values is
//!
//! 1. encoded with OUR codec and decoded with kafka-protocol, and the kafka-protocol value
//!    compared (with its own `PartialEq`, so every field) to the same value built
//!    directly in kafka-protocol's types; the bytes must be consumed exactly;
//! 2. encoded with kafka-protocol and decoded with ours, compared with our `PartialEq`;
//!    and the two encodings must be byte-for-byte identical — bodies, and whole frames
//!    (request header v1/v2, response header v0/v1) as well.
//!
//! Rule for this file: kafka-protocol's decoders preallocate from wire counts and can
//! abort the process on hostile input, so they are ONLY ever given bytes our encoder
//! produced from valid values. Our decoders may be given anything.
//!
//! Known semantic differences are asserted explicitly in the `difference_*` tests:
//!
//! - D1 v0 Metadata "all topics": ours writes an empty array (v0 has no null array;
//!   Kafka's `MetadataRequest.json` makes topics nullable only from v1). kafka-protocol
//!   writes `None` as a null array (-1) at v0, which our decoder refuses, and reads the
//!   empty array back as `Some([])` ("no topics" in its v1+ reading).
//! - D2 Nullability by version: kafka-protocol writes a null request topic name below v10
//!   and a null response topic name below v12 (the fields are not nullable there); ours
//!   refuses to encode them and refuses to decode kafka-protocol's bytes.
//! - D3 Request topic_id below v10: kafka-protocol drops it silently; ours refuses
//!   (`FieldNotAvailable`) because dropping it would change what is asked.
//! - D4 Authorized operations outside their versions (topic: below v8; cluster: outside
//!   v8–10): kafka-protocol refuses to encode a non-default value; ours drops it (response
//!   fields are ignorable, as Kafka's broker treats them) and decodes `i32::MIN`.
//!   Both drop leader_epoch below v7, offline_replicas below v5, rack at v0, etc.
//! - D5 String length: Kafka limits every string, compact ones included, to 0x7fff bytes.
//!   kafka-protocol writes compact strings up to u32::MAX - 1 bytes; ours refuses above
//!   0x7fff (and, like kafka-protocol, still reads a longer one).
//! - D6 Unknown tagged fields: kafka-protocol keeps them (`unknown_tagged_fields`); ours
//!   skips them on decode (so they are lost on re-encode).
//! - D7 Request header v0 (only ControlledShutdown v0 used it): ours can encode/decode
//!   it; kafka-protocol's `RequestHeader` supports v1–2 only.
//! - D8 Defaults: kafka-protocol's `MetadataRequest::default()` asks for NO topics
//!   (`Some([])`), ours for ALL topics (`None`).
//! - Not testable under the rule above, documented only: for a *known* tagged field
//!   kafka-protocol ignores the declared size and decodes the struct in place, while
//!   ours reads exactly `size` bytes and fails if the field does not fill them; both read
//!   any non-zero boolean byte as true.

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use kafka_matrix::protocol::codec::{encode_request, encode_response, RequestBody, ResponseBody};
use kafka_matrix::protocol::header::{
    request_header_version, response_header_version, RequestHeader as OurRequestHeader,
    ResponseHeader as OurResponseHeader,
};
use kafka_matrix::protocol::messages::metadata::AUTHORIZED_OPERATIONS_OMITTED;
use kafka_matrix::protocol::messages::{
    ApiVersionEntry, ApiVersionsRequest, ApiVersionsResponse, FinalizedFeature, Message, MetadataBroker,
    MetadataPartition, MetadataRequest, MetadataRequestTopic, MetadataResponse, MetadataTopic, SupportedFeature,
};
use kafka_matrix::protocol::primitives::Reader;
use kafka_matrix::protocol::{api_key, DecodeError, EncodeError};
use kafka_protocol::messages as kp;
use kafka_protocol::messages::api_versions_response::{ApiVersion, FinalizedFeatureKey, SupportedFeatureKey};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic as KpRequestTopic;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use rstest::rstest;

// ---------------------------------------------------------------------------------------
// Plumbing
// ---------------------------------------------------------------------------------------

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

fn topic_name(s: &str) -> TopicName {
    TopicName(sb(s))
}

/// kafka-protocol's `uuid::Uuid` without naming it (the `uuid` crate is not our dependency).
fn kp_uuid<U: std::str::FromStr>(bytes: &[u8; 16]) -> U
where
    U::Err: Debug,
{
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.parse().expect("32 hex digits are a uuid")
}

fn kp_encode<T: Encodable>(x: &T, v: i16) -> Vec<u8> {
    let mut b = BytesMut::new();
    x.encode(&mut b, v).expect("kafka-protocol encodes a valid value");
    assert_eq!(
        x.compute_size(v).expect("size"),
        b.len(),
        "kafka-protocol compute_size v{v}"
    );
    b.to_vec()
}

/// Only ever called with bytes OUR encoder produced from a valid value (see module docs).
fn kp_decode_ours<T: Decodable>(ours: &[u8], v: i16) -> T {
    let mut b = Bytes::copy_from_slice(ours);
    let x = T::decode(&mut b, v).expect("kafka-protocol decodes our encoding");
    assert!(
        b.is_empty(),
        "kafka-protocol left {} of our bytes unread at v{v}",
        b.len()
    );
    x
}

fn ours_encode(f: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>) -> Vec<u8> {
    let mut b = BytesMut::new();
    f(&mut b).expect("our codec encodes a valid value");
    b.to_vec()
}

/// Our side of one message type: encode / decode at a version.
trait Ours: Clone + PartialEq + Debug {
    fn enc(&self, v: i16) -> Result<Vec<u8>, EncodeError>;
    fn dec(bytes: &[u8], v: i16) -> Result<Self, DecodeError>;
}

impl<T: Message> Ours for T {
    fn enc(&self, v: i16) -> Result<Vec<u8>, EncodeError> {
        let mut b = BytesMut::new();
        Message::encode(self, &mut b, v).map(|()| b.to_vec())
    }
    fn dec(bytes: &[u8], v: i16) -> Result<Self, DecodeError> {
        <T as Message>::decode(&mut Reader::new(bytes), v)
    }
}

/// Every version the crate declares for `T`.
/// The versions both codecs have: ours, up to kafka-protocol's (0.18 knows
/// ApiVersions only to v4; our v5, KIP-1242, is checked against bytes a real
/// 4.4 broker answered, in `emulator_fidelity`, and by round trip).
fn versions<T: Message, K: kafka_protocol::protocol::Message>() -> std::ops::RangeInclusive<i16> {
    let r = T::versions();
    r.min..=r.max.min(K::VERSIONS.max)
}

/// Both directions for one value at one version: ours→kp equals `want_kp`, kp→ours
/// equals `ours`, and both encodings are the same bytes.
fn check_body<O: Ours, K: Encodable + Decodable + PartialEq + Debug>(ours: &O, want_kp: &K, v: i16) {
    let ours_bytes = ours.enc(v).expect("our codec encodes a valid value");
    let got_kp: K = kp_decode_ours(&ours_bytes, v);
    assert_eq!(&got_kp, want_kp, "ours -> kafka-protocol at v{v}");

    let kp_bytes = kp_encode(want_kp, v);
    assert_eq!(
        kp_bytes, ours_bytes,
        "kafka-protocol and ours encode differently at v{v}"
    );
    assert_eq!(
        O::dec(&kp_bytes, v).as_ref(),
        Ok(ours),
        "kafka-protocol -> ours at v{v}"
    );
}

/// Whole request frames: kafka-protocol header (at its own header version) + body must be
/// our frame, and our frame must decode in kafka-protocol.
fn check_request_frame<K: Encodable + Decodable + PartialEq + Debug + HeaderVersion>(
    ours: &RequestBody,
    want_kp: &K,
    v: i16,
) {
    let key = ours.api_key();
    for client_id in [None, Some("kafka-matrix"), Some("")] {
        let frame = encode_request(0x0102_0304, client_id, v, ours).expect("frame encodes");
        let hv = K::header_version(v);
        assert_eq!(
            request_header_version(key, v),
            Some(hv),
            "request header version, key {key} v{v}"
        );
        let kp_header = kp::RequestHeader::default()
            .with_request_api_key(key)
            .with_request_api_version(v)
            .with_correlation_id(0x0102_0304)
            .with_client_id(client_id.map(sb));
        let mut want = kp_encode(&kp_header, hv);
        want.extend(kp_encode(want_kp, v));
        assert_eq!(&frame[4..], &want[..], "request frame, key {key} v{v}");
        assert_eq!(
            i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize,
            want.len()
        );
        let mut b = Bytes::copy_from_slice(&frame[4..]);
        let h = kp::RequestHeader::decode(&mut b, hv).expect("kafka-protocol reads our header");
        assert_eq!(h, kp_header);
        assert_eq!(&K::decode(&mut b, v).expect("kafka-protocol reads our body"), want_kp);
        assert!(b.is_empty());
    }
}

fn check_response_frame<K: Encodable + Decodable + PartialEq + Debug + HeaderVersion>(
    ours: &ResponseBody,
    key: i16,
    want_kp: &K,
    v: i16,
) {
    let frame = encode_response(-7, v, ours).expect("frame encodes");
    let hv = K::header_version(v);
    assert_eq!(
        response_header_version(key, v),
        Some(hv),
        "response header version, key {key} v{v}"
    );
    let kp_header = kp::ResponseHeader::default().with_correlation_id(-7);
    let mut want = kp_encode(&kp_header, hv);
    want.extend(kp_encode(want_kp, v));
    assert_eq!(&frame[4..], &want[..], "response frame, key {key} v{v}");
    let mut b = Bytes::copy_from_slice(&frame[4..]);
    assert_eq!(kp::ResponseHeader::decode(&mut b, hv).expect("header"), kp_header);
    assert_eq!(&K::decode(&mut b, v).expect("body"), want_kp);
    assert!(b.is_empty());
}

// ---------------------------------------------------------------------------------------
// Conversion of our values into kafka-protocol's types (projection to a version is the
// crate's `Message::project`).
// ---------------------------------------------------------------------------------------

fn kp_api_versions_request(x: &ApiVersionsRequest) -> kp::ApiVersionsRequest {
    kp::ApiVersionsRequest::default()
        .with_client_software_name(sb(&x.client_software_name))
        .with_client_software_version(sb(&x.client_software_version))
}

fn kp_api_versions_response(x: &ApiVersionsResponse) -> kp::ApiVersionsResponse {
    kp::ApiVersionsResponse::default()
        .with_error_code(x.error_code)
        .with_api_keys(
            x.api_keys
                .iter()
                .map(|e| {
                    ApiVersion::default()
                        .with_api_key(e.api_key)
                        .with_min_version(e.min_version)
                        .with_max_version(e.max_version)
                })
                .collect(),
        )
        .with_throttle_time_ms(x.throttle_time_ms)
        .with_supported_features(
            x.supported_features
                .iter()
                .map(|f| {
                    SupportedFeatureKey::default()
                        .with_name(sb(&f.name))
                        .with_min_version(f.min_version)
                        .with_max_version(f.max_version)
                })
                .collect(),
        )
        .with_finalized_features_epoch(x.finalized_features_epoch)
        .with_finalized_features(
            x.finalized_features
                .iter()
                .map(|f| {
                    FinalizedFeatureKey::default()
                        .with_name(sb(&f.name))
                        .with_max_version_level(f.max_version_level)
                        .with_min_version_level(f.min_version_level)
                })
                .collect(),
        )
        .with_zk_migration_ready(x.zk_migration_ready)
}

/// Our request as kafka-protocol must see it on the wire at `v`.
fn kp_metadata_request(x: &MetadataRequest, v: i16) -> kp::MetadataRequest {
    let topics = match &x.topics {
        // D1: our v0 "all topics" is the empty array on the wire, which kafka-protocol
        // reads as `Some([])`.
        None if v == 0 => Some(vec![]),
        None => None,
        Some(ts) => Some(
            ts.iter()
                .map(|t| {
                    KpRequestTopic::default()
                        .with_topic_id(kp_uuid(&t.topic_id))
                        .with_name(t.name.as_deref().map(topic_name))
                })
                .collect(),
        ),
    };
    kp::MetadataRequest::default()
        .with_topics(topics)
        .with_allow_auto_topic_creation(x.allow_auto_topic_creation)
        .with_include_cluster_authorized_operations(x.include_cluster_authorized_operations)
        .with_include_topic_authorized_operations(x.include_topic_authorized_operations)
}

fn kp_metadata_response(x: &MetadataResponse) -> kp::MetadataResponse {
    kp::MetadataResponse::default()
        .with_throttle_time_ms(x.throttle_time_ms)
        .with_brokers(
            x.brokers
                .iter()
                .map(|b| {
                    MetadataResponseBroker::default()
                        .with_node_id(BrokerId(b.node_id))
                        .with_host(sb(&b.host))
                        .with_port(b.port)
                        .with_rack(b.rack.as_deref().map(sb))
                })
                .collect(),
        )
        .with_cluster_id(x.cluster_id.as_deref().map(sb))
        .with_controller_id(BrokerId(x.controller_id))
        .with_topics(
            x.topics
                .iter()
                .map(|t| {
                    MetadataResponseTopic::default()
                        .with_error_code(t.error_code)
                        .with_name(t.name.as_deref().map(topic_name))
                        .with_topic_id(kp_uuid(&t.topic_id))
                        .with_is_internal(t.is_internal)
                        .with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    let ids = |v: &[i32]| v.iter().copied().map(BrokerId).collect::<Vec<_>>();
                                    MetadataResponsePartition::default()
                                        .with_error_code(p.error_code)
                                        .with_partition_index(p.partition_index)
                                        .with_leader_id(BrokerId(p.leader_id))
                                        .with_leader_epoch(p.leader_epoch)
                                        .with_replica_nodes(ids(&p.replica_nodes))
                                        .with_isr_nodes(ids(&p.isr_nodes))
                                        .with_offline_replicas(ids(&p.offline_replicas))
                                })
                                .collect(),
                        )
                        .with_topic_authorized_operations(t.topic_authorized_operations)
                })
                .collect(),
        )
        .with_cluster_authorized_operations(x.cluster_authorized_operations)
        .with_error_code(x.error_code)
}

// ---------------------------------------------------------------------------------------
// Representative values (version-agnostic; projected to each version before use).
// ---------------------------------------------------------------------------------------

fn api_versions_requests() -> Vec<ApiVersionsRequest> {
    vec![
        ApiVersionsRequest::default(),
        ApiVersionsRequest {
            client_software_name: "kafka-matrix".into(),
            client_software_version: "0.1.0".into(),
            ..ApiVersionsRequest::default()
        },
        ApiVersionsRequest {
            client_software_name: "apache-kafka-java".into(),
            client_software_version: "3.9.0-SNAPSHOT".into(),
            ..ApiVersionsRequest::default()
        },
        // Not what Kafka's validation accepts, but any UTF-8 is valid on the wire.
        ApiVersionsRequest {
            client_software_name: "é漢🦀".into(),
            client_software_version: String::new(),
            ..ApiVersionsRequest::default()
        },
    ]
}

fn entry(api_key: i16, min_version: i16, max_version: i16) -> ApiVersionEntry {
    ApiVersionEntry {
        api_key,
        min_version,
        max_version,
    }
}

fn api_versions_responses() -> Vec<ApiVersionsResponse> {
    let full = ApiVersionsResponse {
        error_code: 0,
        api_keys: vec![entry(0, 0, 11), entry(3, 0, 12), entry(18, 0, 4), entry(68, 0, 0)],
        throttle_time_ms: 100,
        supported_features: vec![
            SupportedFeature {
                name: "metadata.version".into(),
                min_version: 1,
                max_version: 21,
            },
            // KAFKA-17011: v4 allows min_version 0.
            SupportedFeature {
                name: "kraft.version".into(),
                min_version: 0,
                max_version: 1,
            },
        ],
        finalized_features_epoch: 42,
        finalized_features: vec![FinalizedFeature {
            name: "metadata.version".into(),
            max_version_level: 21,
            min_version_level: 21,
        }],
        zk_migration_ready: true,
    };
    vec![
        ApiVersionsResponse::default(),
        // KIP-511: what a broker answers to an ApiVersions version it does not know.
        ApiVersionsResponse {
            error_code: 35,
            api_keys: vec![entry(18, 0, 3)],
            ..ApiVersionsResponse::default()
        },
        full.clone(),
        // Each tagged field alone, and extreme values.
        ApiVersionsResponse {
            supported_features: full.supported_features.clone(),
            ..ApiVersionsResponse::default()
        },
        ApiVersionsResponse {
            finalized_features_epoch: 0,
            ..ApiVersionsResponse::default()
        },
        ApiVersionsResponse {
            finalized_features_epoch: i64::MAX,
            finalized_features: full.finalized_features.clone(),
            ..ApiVersionsResponse::default()
        },
        ApiVersionsResponse {
            zk_migration_ready: true,
            finalized_features_epoch: i64::MIN,
            ..ApiVersionsResponse::default()
        },
        ApiVersionsResponse {
            error_code: i16::MIN,
            api_keys: vec![entry(i16::MIN, i16::MAX, -1), entry(i16::MAX, 0, i16::MIN)],
            throttle_time_ms: i32::MIN,
            ..ApiVersionsResponse::default()
        },
    ]
}

fn metadata_requests() -> Vec<MetadataRequest> {
    let by_name = |n: &str| MetadataRequestTopic {
        topic_id: [0; 16],
        name: Some(n.into()),
    };
    vec![
        MetadataRequest::default(),
        MetadataRequest::for_topics(Vec::<String>::new()),
        MetadataRequest::for_topics(["orders", "__consumer_offsets", "t.é"]),
        MetadataRequest {
            topics: Some(vec![by_name("a")]),
            allow_auto_topic_creation: false,
            include_cluster_authorized_operations: true,
            include_topic_authorized_operations: true,
        },
        MetadataRequest {
            topics: None,
            allow_auto_topic_creation: false,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: true,
        },
        // By id (v10+; projected to by-name below v10).
        MetadataRequest {
            topics: Some(vec![
                MetadataRequestTopic {
                    topic_id: *b"\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10",
                    name: None,
                },
                MetadataRequestTopic {
                    topic_id: [0xff; 16],
                    name: Some("both".into()),
                },
                by_name(""),
            ]),
            ..MetadataRequest::default()
        },
    ]
}

fn partition(index: i32, leader: i32) -> MetadataPartition {
    MetadataPartition {
        error_code: 0,
        partition_index: index,
        leader_id: leader,
        leader_epoch: 17,
        replica_nodes: vec![1, 2, 3],
        isr_nodes: vec![1, 2],
        offline_replicas: vec![3],
    }
}

fn metadata_responses() -> Vec<MetadataResponse> {
    let broker = |id: i32, rack: Option<&str>| MetadataBroker {
        node_id: id,
        host: format!("broker-{id}.kafka.svc"),
        port: 9092,
        rack: rack.map(str::to_owned),
    };
    let full = MetadataResponse {
        throttle_time_ms: 250,
        brokers: vec![broker(1, Some("rack-a")), broker(2, None), broker(3, Some(""))],
        cluster_id: Some("MkU3OEVBNTcwNTJENDM2Qk".into()),
        controller_id: 2,
        topics: vec![
            MetadataTopic {
                error_code: 0,
                name: Some("orders".into()),
                topic_id: [0x5a; 16],
                is_internal: false,
                partitions: vec![partition(0, 1), partition(1, 2)],
                topic_authorized_operations: 0b1111_1000,
            },
            MetadataTopic {
                error_code: 0,
                name: Some("__consumer_offsets".into()),
                topic_id: [0x01; 16],
                is_internal: true,
                partitions: vec![MetadataPartition {
                    error_code: 5,
                    leader_id: -1,
                    leader_epoch: -1,
                    replica_nodes: vec![],
                    isr_nodes: vec![],
                    offline_replicas: vec![],
                    ..partition(0, -1)
                }],
                topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
            },
            // Asked for by an unknown id: null name from v12.
            MetadataTopic {
                error_code: 100,
                name: None,
                topic_id: [0xee; 16],
                is_internal: false,
                partitions: vec![],
                topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
            },
        ],
        cluster_authorized_operations: 0b0110,
        error_code: 0,
    };
    vec![
        MetadataResponse::default(),
        full,
        MetadataResponse {
            throttle_time_ms: i32::MAX,
            brokers: vec![broker(i32::MIN, Some("漢"))],
            cluster_id: Some(String::new()),
            controller_id: i32::MAX,
            topics: vec![MetadataTopic {
                error_code: i16::MIN,
                name: Some(String::new()),
                topic_id: [0; 16],
                is_internal: true,
                partitions: vec![MetadataPartition {
                    error_code: i16::MAX,
                    partition_index: i32::MAX,
                    leader_id: i32::MIN,
                    leader_epoch: i32::MIN,
                    replica_nodes: vec![i32::MIN, i32::MAX, 0, -1],
                    isr_nodes: vec![i32::MAX],
                    offline_replicas: vec![i32::MIN],
                }],
                topic_authorized_operations: i32::MAX,
            }],
            cluster_authorized_operations: 0,
            // Kafka 4.0 (v13) top-level error, e.g. REBOOTSTRAP_REQUIRED (129).
            error_code: 129,
        },
    ]
}

// ---------------------------------------------------------------------------------------
// Per-version differential tests.
// ---------------------------------------------------------------------------------------

#[test]
fn api_versions_request() {
    for v in versions::<ApiVersionsRequest, kp::ApiVersionsRequest>() {
        for x in api_versions_requests() {
            let x = x.project(v);
            let want = kp_api_versions_request(&x);
            check_body(&x, &want, v);
            check_request_frame(&RequestBody::ApiVersions(x), &want, v);
        }
    }
}

#[test]
fn api_versions_response() {
    for v in versions::<ApiVersionsResponse, kp::ApiVersionsResponse>() {
        for x in api_versions_responses() {
            let x = x.project(v);
            let want = kp_api_versions_response(&x);
            check_body(&x, &want, v);
            check_response_frame(&ResponseBody::ApiVersions(x), api_key::API_VERSIONS, &want, v);
        }
    }
}

#[test]
fn metadata_request() {
    for v in versions::<MetadataRequest, kp::MetadataRequest>() {
        for x in metadata_requests() {
            let x = x.project(v);
            let want = kp_metadata_request(&x, v);
            check_body(&x, &want, v);
            check_request_frame(&RequestBody::Metadata(x), &want, v);
        }
    }
}

#[test]
fn metadata_response() {
    for v in versions::<MetadataResponse, kp::MetadataResponse>() {
        for x in metadata_responses() {
            let x = x.project(v);
            let want = kp_metadata_response(&x);
            check_body(&x, &want, v);
            check_response_frame(&ResponseBody::Metadata(x), api_key::METADATA, &want, v);
        }
    }
}

/// The ApiVersions v3/v4 tagged fields, field by field in kafka-protocol's reading.
#[rstest]
fn api_versions_response_tagged_fields(#[values(3, 4)] v: i16) {
    let full = &api_versions_responses()[2];
    let bytes = full.enc(v).expect("encodes");
    let got: kp::ApiVersionsResponse = kp_decode_ours(&bytes, v);
    assert_eq!(got.supported_features.len(), 2);
    assert_eq!(got.supported_features[0].name.as_str(), "metadata.version");
    assert_eq!(
        (
            got.supported_features[0].min_version,
            got.supported_features[0].max_version
        ),
        (1, 21)
    );
    assert_eq!(got.supported_features[1].name.as_str(), "kraft.version");
    assert_eq!(got.supported_features[1].min_version, 0);
    assert_eq!(got.finalized_features_epoch, 42);
    assert_eq!(got.finalized_features.len(), 1);
    assert_eq!(got.finalized_features[0].name.as_str(), "metadata.version");
    assert_eq!(
        (
            got.finalized_features[0].max_version_level,
            got.finalized_features[0].min_version_level
        ),
        (21, 21)
    );
    assert!(got.zk_migration_ready);
    assert!(got.unknown_tagged_fields.is_empty());

    // Absent tags read as their defaults on both sides.
    let bare = ApiVersionsResponse::default().enc(v).expect("encodes");
    let got: kp::ApiVersionsResponse = kp_decode_ours(&bare, v);
    assert!(got.supported_features.is_empty() && got.finalized_features.is_empty());
    assert_eq!((got.finalized_features_epoch, got.zk_migration_ready), (-1, false));
}

// ---------------------------------------------------------------------------------------
// Headers.
// ---------------------------------------------------------------------------------------

#[rstest]
fn request_header(
    #[values(1, 2)] hv: i16, #[values(None, Some(""), Some("kgo"), Some("é漢🦀"))] client: Option<&str>
) {
    for (key, version, corr) in [(18i16, 4i16, 1i32), (3, 12, i32::MAX), (3, 0, i32::MIN), (18, 0, 0)] {
        let ours = OurRequestHeader {
            api_key: key,
            api_version: version,
            correlation_id: corr,
            client_id: client.map(str::to_owned),
        };
        let kp_h = kp::RequestHeader::default()
            .with_request_api_key(key)
            .with_request_api_version(version)
            .with_correlation_id(corr)
            .with_client_id(client.map(sb));
        let ours_bytes = ours_encode(|b| ours.encode(b, hv));
        assert_eq!(kp_decode_ours::<kp::RequestHeader>(&ours_bytes, hv), kp_h);
        let kp_bytes = kp_encode(&kp_h, hv);
        assert_eq!(kp_bytes, ours_bytes, "request header v{hv}");
        let mut r = Reader::new(&kp_bytes);
        assert_eq!(OurRequestHeader::decode(&mut r, hv), Ok(ours));
        assert_eq!(r.remaining(), 0);
    }
}

#[rstest]
fn response_header(#[values(0, 1)] hv: i16, #[values(0, 1, -1, i32::MAX, i32::MIN)] corr: i32) {
    let ours = OurResponseHeader { correlation_id: corr };
    let kp_h = kp::ResponseHeader::default().with_correlation_id(corr);
    let ours_bytes = ours_encode(|b| {
        ours.encode(b, hv);
        Ok(())
    });
    assert_eq!(kp_decode_ours::<kp::ResponseHeader>(&ours_bytes, hv), kp_h);
    let kp_bytes = kp_encode(&kp_h, hv);
    assert_eq!(kp_bytes, ours_bytes, "response header v{hv}");
    let mut r = Reader::new(&kp_bytes);
    assert_eq!(OurResponseHeader::decode(&mut r, hv), Ok(ours));
    assert_eq!(r.remaining(), 0);
}

/// Which header version each body version uses agrees with kafka-protocol's table —
/// including the KIP-511 rule that an ApiVersions response header is always v0.
#[test]
fn header_versions_agree() {
    for v in versions::<ApiVersionsRequest, kp::ApiVersionsRequest>() {
        assert_eq!(
            request_header_version(api_key::API_VERSIONS, v),
            Some(<kp::ApiVersionsRequest as HeaderVersion>::header_version(v))
        );
        assert_eq!(
            response_header_version(api_key::API_VERSIONS, v),
            Some(<kp::ApiVersionsResponse as HeaderVersion>::header_version(v))
        );
    }
    for v in versions::<MetadataRequest, kp::MetadataRequest>() {
        assert_eq!(
            request_header_version(api_key::METADATA, v),
            Some(<kp::MetadataRequest as HeaderVersion>::header_version(v))
        );
        assert_eq!(
            response_header_version(api_key::METADATA, v),
            Some(<kp::MetadataResponse as HeaderVersion>::header_version(v))
        );
    }
}

// ---------------------------------------------------------------------------------------
// Known differences, asserted (see the module docs for D1–D8).
// ---------------------------------------------------------------------------------------

/// D1: v0 "all topics".
#[test]
fn difference_v0_all_topics() {
    // Ours: the empty array, which is what a v0 broker reads as "all topics".
    let ours_bytes = MetadataRequest::default().enc(0).expect("encodes");
    assert_eq!(ours_bytes, [0, 0, 0, 0]);
    let got: kp::MetadataRequest = kp_decode_ours(&ours_bytes, 0);
    assert_eq!(got.topics, Some(vec![]), "kafka-protocol reads it as an empty list");

    // kafka-protocol: `None` becomes a null array, which v0 does not have.
    let kp_none = kp::MetadataRequest::default().with_topics(None);
    let kp_bytes = kp_encode(&kp_none, 0);
    assert_eq!(kp_bytes, [0xff, 0xff, 0xff, 0xff]);
    assert!(matches!(
        MetadataRequest::dec(&kp_bytes, 0),
        Err(DecodeError::UnexpectedNull { what: "topics" })
    ));
    // From v1 the two agree: null = all topics.
    for v in 1..=13 {
        assert_eq!(
            kp_encode(&kp_none, v),
            MetadataRequest::default().enc(v).expect("encodes")
        );
    }
    // kafka-protocol's `Some([])` at v0 is the same empty array, which we read as "all".
    let kp_empty = kp_encode(&kp::MetadataRequest::default(), 0);
    assert_eq!(MetadataRequest::dec(&kp_empty, 0), Ok(MetadataRequest::default()));
    // And ours refuses to send "no topics" at v0 at all.
    assert!(matches!(
        MetadataRequest::for_topics(Vec::<String>::new()).enc(0),
        Err(EncodeError::FieldNotAvailable { .. })
    ));
}

/// D2: null topic names where the version does not allow them.
#[test]
fn difference_null_names_below_their_version() {
    let kp_req = kp::MetadataRequest::default().with_topics(Some(vec![KpRequestTopic::default().with_name(None)]));
    for v in 1..=9 {
        let kp_bytes = kp_encode(&kp_req, v);
        assert!(
            matches!(
                MetadataRequest::dec(&kp_bytes, v),
                Err(DecodeError::UnexpectedNull { .. })
            ),
            "v{v}"
        );
        let ours = MetadataRequest {
            topics: Some(vec![MetadataRequestTopic::default()]),
            ..MetadataRequest::default()
        };
        assert!(
            matches!(ours.enc(v), Err(EncodeError::FieldNotAvailable { .. })),
            "v{v}"
        );
    }
    for v in 10..=13 {
        let kp_bytes = kp_encode(&kp_req, v);
        let ours = MetadataRequest::dec(&kp_bytes, v).expect("null name by id from v10");
        assert_eq!(ours.topics.as_deref().map(|t| t[0].name.clone()), Some(None));
    }

    let kp_resp = kp::MetadataResponse::default().with_topics(vec![MetadataResponseTopic::default().with_name(None)]);
    let ours_resp = MetadataResponse {
        topics: vec![MetadataTopic {
            error_code: 0,
            name: None,
            topic_id: [0; 16],
            is_internal: false,
            partitions: vec![],
            topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
        }],
        ..MetadataResponse::default()
    };
    for v in 0..=11 {
        let kp_bytes = kp_encode(&kp_resp, v);
        assert!(
            matches!(
                MetadataResponse::dec(&kp_bytes, v),
                Err(DecodeError::UnexpectedNull { .. })
            ),
            "v{v}"
        );
        assert!(
            matches!(ours_resp.enc(v), Err(EncodeError::FieldNotAvailable { .. })),
            "v{v}"
        );
    }
    for v in 12..=13 {
        check_body(&ours_resp, &kp_resp, v);
    }
}

/// D3: a request topic id below v10.
#[test]
fn difference_request_topic_id_below_v10() {
    let id = [7u8; 16];
    let ours = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            topic_id: id,
            name: Some("t".into()),
        }]),
        ..MetadataRequest::default()
    };
    let kp_req = kp_metadata_request(&ours, 1);
    for v in 1..=9 {
        assert!(matches!(
            ours.enc(v),
            Err(EncodeError::FieldNotAvailable { field: "topic_id", .. })
        ));
        // kafka-protocol drops the id: the bytes are those of a by-name request.
        let named = MetadataRequest::for_topics(["t"]);
        assert_eq!(kp_encode(&kp_req, v), named.enc(v).expect("encodes"), "v{v}");
    }
}

/// D4: authorized operations outside their versions.
#[test]
fn difference_authorized_operations_outside_their_versions() {
    let ours = MetadataResponse {
        topics: vec![MetadataTopic {
            error_code: 0,
            name: Some("t".into()),
            topic_id: [0; 16],
            is_internal: false,
            partitions: vec![],
            topic_authorized_operations: 8,
        }],
        cluster_authorized_operations: 4,
        ..MetadataResponse::default()
    };
    let kp_resp = kp_metadata_response(&ours);
    for v in 0..=13 {
        let carried_topic = v >= 8;
        let carried_cluster = (8..=10).contains(&v);
        let bytes = ours.enc(v).expect("ours drops what the version lacks");
        let back = MetadataResponse::dec(&bytes, v).expect("decodes");
        let want_topic = if carried_topic {
            8
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        };
        let want_cluster = if carried_cluster {
            4
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        };
        assert_eq!(back.topics[0].topic_authorized_operations, want_topic, "v{v}");
        assert_eq!(back.cluster_authorized_operations, want_cluster, "v{v}");
        let mut b = BytesMut::new();
        assert_eq!(
            kp_resp.encode(&mut b, v).is_ok(),
            carried_topic && carried_cluster,
            "kafka-protocol refuses a non-default field the version lacks (v{v})"
        );
    }
    // Both silently drop leader_epoch below v7 and offline_replicas below v5.
    let with_partition = MetadataResponse {
        topics: vec![MetadataTopic {
            partitions: vec![partition(0, 1)],
            topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
            ..ours.topics[0].clone()
        }],
        cluster_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
        ..MetadataResponse::default()
    };
    let kp_with_partition = kp_metadata_response(&with_partition);
    for v in 0..=6 {
        assert_eq!(
            kp_encode(&kp_with_partition, v),
            with_partition.enc(v).expect("encodes"),
            "v{v}"
        );
    }
}

/// D5: strings longer than 0x7fff bytes in compact form.
#[test]
fn difference_long_compact_strings() {
    let long = "x".repeat(40_000);
    let ours = ApiVersionsRequest {
        client_software_name: long.clone(),
        client_software_version: "1".into(),
        ..ApiVersionsRequest::default()
    };
    let kp_req = kp_api_versions_request(&ours);
    for v in 3..=4 {
        assert!(matches!(ours.enc(v), Err(EncodeError::TooLong { .. })), "v{v}");
        // kafka-protocol writes it; a Kafka broker refuses to read it, and so do we.
        let kp_bytes = kp_encode(&kp_req, v);
        assert!(
            matches!(
                ApiVersionsRequest::dec(&kp_bytes, v),
                Err(DecodeError::StringTooLong { length: 40_000, .. })
            ),
            "v{v}"
        );
    }
    // Classic strings: both refuse.
    let mut b = BytesMut::new();
    let kp_meta = kp::MetadataRequest::default()
        .with_topics(Some(vec![KpRequestTopic::default().with_name(Some(topic_name(&long)))]));
    assert!(kp_meta.encode(&mut b, 8).is_err());
    assert!(matches!(
        MetadataRequest::for_topics([long]).enc(8),
        Err(EncodeError::TooLong { .. })
    ));
}

/// D6: unknown tagged fields are kept by kafka-protocol, skipped by us.
#[test]
fn difference_unknown_tagged_fields() {
    let blob = Bytes::from_static(&[1, 2, 3]);
    // ApiVersions response: an unknown top-level tag after the known ones.
    let full = api_versions_responses()[2].clone();
    let kp_resp = kp_api_versions_response(&full).with_unknown_tagged_field(10, blob.clone());
    for v in 3..=4 {
        let kp_bytes = kp_encode(&kp_resp, v);
        assert_eq!(ApiVersionsResponse::dec(&kp_bytes, v), Ok(full.clone()), "v{v}");
        assert_ne!(
            full.enc(v).expect("encodes"),
            kp_bytes,
            "the unknown tag is not re-encoded"
        );
    }
    // Metadata: unknown tags at every struct level.
    let ours = metadata_responses()[1].project(12);
    let mut kp_resp = kp_metadata_response(&ours).with_unknown_tagged_field(7, blob.clone());
    kp_resp.brokers[0].unknown_tagged_fields.insert(1, blob.clone());
    kp_resp.topics[0].unknown_tagged_fields.insert(0, blob.clone());
    kp_resp.topics[0].partitions[1]
        .unknown_tagged_fields
        .insert(99, blob.clone());
    for v in 12..=13 {
        let mut want = ours.clone();
        if v == 13 {
            want.error_code = 0;
        }
        assert_eq!(MetadataResponse::dec(&kp_encode(&kp_resp, v), v), Ok(want), "v{v}");
    }
    let kp_req = kp_metadata_request(&MetadataRequest::for_topics(["a"]), 9).with_unknown_tagged_field(3, blob.clone());
    assert_eq!(
        MetadataRequest::dec(&kp_encode(&kp_req, 9), 9),
        Ok(MetadataRequest::for_topics(["a"]))
    );
    let kp_av = kp_api_versions_request(&api_versions_requests()[1]).with_unknown_tagged_field(0, blob.clone());
    assert_eq!(
        ApiVersionsRequest::dec(&kp_encode(&kp_av, 4), 4),
        Ok(api_versions_requests()[1].clone())
    );
    // Headers.
    let kp_h = kp::RequestHeader::default()
        .with_request_api_key(3)
        .with_request_api_version(12)
        .with_correlation_id(5)
        .with_client_id(Some(sb("c")))
        .with_unknown_tagged_field(0, blob.clone());
    let bytes = kp_encode(&kp_h, 2);
    let mut r = Reader::new(&bytes);
    let h = OurRequestHeader::decode(&mut r, 2).expect("decodes");
    assert_eq!((h.api_key, h.api_version, h.correlation_id), (3, 12, 5));
    assert_eq!(r.remaining(), 0);
    let kp_rh = kp::ResponseHeader::default()
        .with_correlation_id(5)
        .with_unknown_tagged_field(4, blob);
    let bytes = kp_encode(&kp_rh, 1);
    let mut r = Reader::new(&bytes);
    assert_eq!(
        OurResponseHeader::decode(&mut r, 1),
        Ok(OurResponseHeader { correlation_id: 5 })
    );
    assert_eq!(r.remaining(), 0);
}

/// D7: request header v0.
#[test]
fn difference_request_header_v0() {
    let ours = OurRequestHeader {
        api_key: 7,
        api_version: 0,
        correlation_id: 9,
        client_id: None,
    };
    let bytes = ours_encode(|b| ours.encode(b, 0));
    assert_eq!(bytes, [0, 7, 0, 0, 0, 0, 0, 9]);
    assert_eq!(OurRequestHeader::decode(&mut Reader::new(&bytes), 0), Ok(ours));
    let mut b = BytesMut::new();
    assert!(kp::RequestHeader::default().encode(&mut b, 0).is_err());
}

/// D8: what "default" asks for.
#[test]
fn difference_metadata_request_default() {
    assert_eq!(kp::MetadataRequest::default().topics, Some(vec![]));
    assert_eq!(MetadataRequest::default().topics, None);
    // Both refuse request fields their version lacks, alike.
    for v in 0..=13 {
        let mut b = BytesMut::new();
        let no_auto = MetadataRequest {
            allow_auto_topic_creation: false,
            ..MetadataRequest::for_topics(["a"])
        };
        assert_eq!(
            no_auto.enc(v).is_ok(),
            kp_metadata_request(&no_auto, v).encode(&mut b, v).is_ok(),
            "v{v}"
        );
        let cluster_ops = MetadataRequest {
            include_cluster_authorized_operations: true,
            ..MetadataRequest::for_topics(["a"])
        };
        b.clear();
        assert_eq!(
            cluster_ops.enc(v).is_ok(),
            kp_metadata_request(&cluster_ops, v).encode(&mut b, v).is_ok(),
            "v{v}"
        );
    }
    // ApiVersions request software fields below v3: both drop them silently.
    let named = &api_versions_requests()[1];
    for v in 0..=2 {
        assert_eq!(named.enc(v), Ok(vec![]));
        assert_eq!(kp_encode(&kp_api_versions_request(named), v), Vec::<u8>::new());
    }
}
