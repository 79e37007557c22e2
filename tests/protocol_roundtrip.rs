//! Property tests for the hand-written, sans-io Kafka codec in `kafka_matrix::protocol`.
//!
//! What is checked, for every version each message has (ApiVersions v0–4, Metadata v0–13):
//!
//! - **Round trip**: an arbitrary *valid* value for that version (only the fields the
//!   version carries hold non-default values) encodes, and decodes back to itself — as a
//!   bare body, and as a whole frame through `codec::{encode,decode}_{request,response}`
//!   (size prefix, header version, api key/version, correlation id and client id checked
//!   against an independently written expectation of the header bytes).
//! - **No panics on hostile input**: any byte vector (0..512 bytes) decoded as any of the
//!   four bodies at any version (including versions out of range), via `decode_request`
//!   and via `decode_response`; also mutated valid encodings, which reach far deeper
//!   into the decoders than uniform noise does. Whatever does decode re-encodes and
//!   decodes to the same value.
//! - **Framing**: `frame::split_frame` on random bytes never panics and never yields a
//!   frame larger than the limit; frames built by `build_frame` and fed in arbitrary
//!   chunks come back out unchanged.
//! - **Truncation**: cutting a valid encoding (body or frame) at any byte position is an
//!   `Err`, never a panic and never a (wrong) `Ok`; trailing bytes are ignored, as Kafka ignores them.
//!
//! The case count is proptest's default (256), overridable with `PROPTEST_CASES`.
//! Failures are persisted under `tests/proptest-regressions/`.

use std::fmt::Debug;
use std::ops::RangeInclusive;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_matrix::protocol::codec::{decode_request, decode_response, encode_request, encode_response, RequestBody};
use kafka_matrix::protocol::frame::{body_len, build_frame, split_frame, FrameError, DEFAULT_MAX_FRAME_BYTES};
use kafka_matrix::protocol::header::{RequestHeader, ResponseHeader};
use kafka_matrix::protocol::messages::metadata::AUTHORIZED_OPERATIONS_OMITTED;
use kafka_matrix::protocol::messages::{
    ApiVersionEntry, ApiVersionsRequest, ApiVersionsResponse, DescribeClusterBroker, DescribeClusterRequest,
    DescribeClusterResponse, FinalizedFeature, Message, MetadataBroker, MetadataPartition, MetadataRequest,
    MetadataRequestTopic, MetadataResponse, MetadataTopic, SupportedFeature,
};
use kafka_matrix::protocol::primitives::Reader;
use kafka_matrix::protocol::{api_key, DecodeError, EncodeError};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

// ---------------------------------------------------------------------------------------
// A common face for the four bodies, so every property is written once.
// ---------------------------------------------------------------------------------------

/// A decoded frame: correlation id, the request header (requests only), and the body if
/// the frame held a body of the expected type.
type Framed<T> = (i32, Option<RequestHeader>, Option<T>);

/// [`Message`] (key, versions, encode, decode, project: declared once in the crate) plus
/// the frame functions of the body's side.
trait Body: Message {
    const KEY: i16 = Self::API.spec().key;
    /// First flexible version, written out here independently of the crate.
    fn flexible(v: i16) -> bool {
        match Self::KEY {
            api_key::API_VERSIONS => v >= 3,
            api_key::DESCRIBE_CLUSTER => v >= 0,
            _ => v >= 9,
        }
    }
    fn encode_frame(&self, correlation_id: i32, client_id: Option<&str>, v: i16) -> Result<Bytes, EncodeError>;
    /// Decodes a frame without its size prefix. Requests ignore `v` (the header names it).
    fn decode_frame(frame: &[u8], v: i16) -> Result<Framed<Self>, DecodeError>;

    fn to_bytes(&self, v: i16) -> Result<Vec<u8>, EncodeError> {
        let mut b = BytesMut::new();
        Message::encode(self, &mut b, v).map(|()| b.to_vec())
    }
    fn from_bytes(bytes: &[u8], v: i16) -> Result<Self, DecodeError> {
        <Self as Message>::decode(&mut Reader::new(bytes), v)
    }
}

/// Every version the crate declares for `T`.
fn versions<T: Message>() -> RangeInclusive<i16> {
    let r = T::versions();
    r.min..=r.max
}

macro_rules! request_body {
    ($($t:ty),*) => {$(
        impl Body for $t {
            fn encode_frame(&self, correlation_id: i32, client_id: Option<&str>, v: i16) -> Result<Bytes, EncodeError> {
                encode_request(correlation_id, client_id, v, &self.clone().into())
            }
            fn decode_frame(frame: &[u8], _v: i16) -> Result<Framed<Self>, DecodeError> {
                decode_request(frame).map(|(h, b)| (h.correlation_id, Some(h), b.try_into().ok()))
            }
        }
    )*};
}

macro_rules! response_body {
    ($($t:ty),*) => {$(
        impl Body for $t {
            fn encode_frame(&self, correlation_id: i32, _client_id: Option<&str>, v: i16) -> Result<Bytes, EncodeError> {
                encode_response(correlation_id, v, &self.clone().into())
            }
            fn decode_frame(frame: &[u8], v: i16) -> Result<Framed<Self>, DecodeError> {
                decode_response(frame, Self::KEY, v).map(|(h, b)| (h.correlation_id, None, b.try_into().ok()))
            }
        }
    )*};
}

request_body!(ApiVersionsRequest, MetadataRequest, DescribeClusterRequest);
response_body!(ApiVersionsResponse, MetadataResponse, DescribeClusterResponse);

// ---------------------------------------------------------------------------------------
// Strategies. Each message has a version-agnostic generator ("full": every field may be
// set) and the crate's `Message::project(v)` resets what version `v` does not carry to the
// value the decoder reports for an absent field. `arb_*(v)` = full, projected to `v`.
// ---------------------------------------------------------------------------------------

/// Any Unicode (multi-byte UTF-8 included), short.
fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        3 => "[a-zA-Z0-9._-]{1,12}",
        2 => vec(any::<char>(), 0..10).prop_map(String::from_iter),
    ]
}

fn arb_uuid() -> impl Strategy<Value = [u8; 16]> {
    prop_oneof![1 => Just([0u8; 16]), 3 => any::<[u8; 16]>()]
}

/// An `i32` that is often the "omitted" sentinel.
fn arb_authorized_operations() -> impl Strategy<Value = i32> {
    prop_oneof![1 => Just(AUTHORIZED_OPERATIONS_OMITTED), 2 => any::<i32>()]
}

fn full_api_versions_request() -> impl Strategy<Value = ApiVersionsRequest> {
    (arb_string(), arb_string()).prop_map(|(n, v)| ApiVersionsRequest {
        client_software_name: n,
        client_software_version: v,
        ..ApiVersionsRequest::default()
    })
}

fn full_api_versions_response() -> impl Strategy<Value = ApiVersionsResponse> {
    let entry = (any::<i16>(), any::<i16>(), any::<i16>()).prop_map(|(k, a, b)| ApiVersionEntry {
        api_key: k,
        min_version: a,
        max_version: b,
    });
    let supported = (arb_string(), any::<i16>(), any::<i16>()).prop_map(|(name, a, b)| SupportedFeature {
        name,
        min_version: a,
        max_version: b,
    });
    let finalized = (arb_string(), any::<i16>(), any::<i16>()).prop_map(|(name, a, b)| FinalizedFeature {
        name,
        max_version_level: a,
        min_version_level: b,
    });
    (
        any::<i16>(),
        vec(entry, 0..8),
        any::<i32>(),
        vec(supported, 0..3),
        prop_oneof![Just(-1i64), any::<i64>()],
        vec(finalized, 0..3),
        any::<bool>(),
    )
        .prop_map(|(e, keys, t, sf, epoch, ff, zk)| ApiVersionsResponse {
            error_code: e,
            api_keys: keys,
            throttle_time_ms: t,
            supported_features: sf,
            finalized_features_epoch: epoch,
            finalized_features: ff,
            zk_migration_ready: zk,
        })
}

fn full_metadata_request() -> impl Strategy<Value = MetadataRequest> {
    let topic = (arb_uuid(), proptest::option::weighted(0.8, arb_string()))
        .prop_map(|(topic_id, name)| MetadataRequestTopic { topic_id, name });
    (
        proptest::option::weighted(0.8, vec(topic, 0..5)),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(topics, a, c, t)| MetadataRequest {
            topics,
            allow_auto_topic_creation: a,
            include_cluster_authorized_operations: c,
            include_topic_authorized_operations: t,
        })
}

fn full_metadata_response() -> impl Strategy<Value = MetadataResponse> {
    let broker = (
        any::<i32>(),
        arb_string(),
        any::<i32>(),
        proptest::option::of(arb_string()),
    )
        .prop_map(|(node_id, host, port, rack)| MetadataBroker {
            node_id,
            host,
            port,
            rack,
        });
    let partition = (
        (any::<i16>(), any::<i32>(), any::<i32>(), any::<i32>()),
        vec(any::<i32>(), 0..5),
        vec(any::<i32>(), 0..5),
        vec(any::<i32>(), 0..3),
    )
        .prop_map(|((e, i, l, epoch), r, isr, off)| MetadataPartition {
            error_code: e,
            partition_index: i,
            leader_id: l,
            leader_epoch: epoch,
            replica_nodes: r,
            isr_nodes: isr,
            offline_replicas: off,
        });
    let topic = (
        any::<i16>(),
        proptest::option::weighted(0.8, arb_string()),
        arb_uuid(),
        any::<bool>(),
        vec(partition, 0..4),
        arb_authorized_operations(),
    )
        .prop_map(|(e, name, id, internal, parts, ops)| MetadataTopic {
            error_code: e,
            name,
            topic_id: id,
            is_internal: internal,
            partitions: parts,
            topic_authorized_operations: ops,
        });
    (
        any::<i32>(),
        vec(broker, 0..4),
        proptest::option::of(arb_string()),
        any::<i32>(),
        vec(topic, 0..4),
        arb_authorized_operations(),
        any::<i16>(),
    )
        .prop_map(
            |(t, brokers, cluster_id, controller, topics, ops, e)| MetadataResponse {
                throttle_time_ms: t,
                brokers,
                cluster_id,
                controller_id: controller,
                topics,
                cluster_authorized_operations: ops,
                error_code: e,
            },
        )
}

fn full_describe_cluster_request() -> impl Strategy<Value = DescribeClusterRequest> {
    (any::<bool>(), any::<i8>(), any::<bool>()).prop_map(|(ops, endpoint_type, fenced)| DescribeClusterRequest {
        include_cluster_authorized_operations: ops,
        endpoint_type,
        include_fenced_brokers: fenced,
    })
}

fn full_describe_cluster_response() -> impl Strategy<Value = DescribeClusterResponse> {
    let broker = (
        any::<i32>(),
        arb_string(),
        any::<i32>(),
        proptest::option::of(arb_string()),
        any::<bool>(),
    )
        .prop_map(|(broker_id, host, port, rack, is_fenced)| DescribeClusterBroker {
            broker_id,
            host,
            port,
            rack,
            is_fenced,
        });
    (
        (
            any::<i32>(),
            any::<i16>(),
            proptest::option::of(arb_string()),
            any::<i8>(),
        ),
        (
            arb_string(),
            any::<i32>(),
            vec(broker, 0..4),
            arb_authorized_operations(),
        ),
    )
        .prop_map(
            |((t, e, m, et), (cluster_id, controller, brokers, ops))| DescribeClusterResponse {
                throttle_time_ms: t,
                error_code: e,
                error_message: m,
                endpoint_type: et,
                cluster_id,
                controller_id: controller,
                brokers,
                cluster_authorized_operations: ops,
            },
        )
}

/// A valid ApiVersions request for version `v`.
fn arb_api_versions_request(v: i16) -> impl Strategy<Value = ApiVersionsRequest> {
    full_api_versions_request().prop_map(move |x| x.project(v))
}

/// A valid ApiVersions response for version `v`.
fn arb_api_versions_response(v: i16) -> impl Strategy<Value = ApiVersionsResponse> {
    full_api_versions_response().prop_map(move |x| x.project(v))
}

/// A valid Metadata request for version `v`.
fn arb_metadata_request(v: i16) -> impl Strategy<Value = MetadataRequest> {
    full_metadata_request().prop_map(move |x| x.project(v))
}

/// A valid Metadata response for version `v`.
fn arb_metadata_response(v: i16) -> impl Strategy<Value = MetadataResponse> {
    full_metadata_response().prop_map(move |x| x.project(v))
}

fn arb_client_id() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(arb_string())
}

// ---------------------------------------------------------------------------------------
// Properties, generic over the body type.
// ---------------------------------------------------------------------------------------

/// The header bytes a frame must start with, written out by hand from the spec
/// (RequestHeader.json / ResponseHeader.json), not with the crate's header encoder.
fn expected_header<T: Body>(correlation_id: i32, client_id: Option<&str>, v: i16) -> Vec<u8> {
    let mut h = Vec::new();
    if T::IS_REQUEST {
        h.extend_from_slice(&T::KEY.to_be_bytes());
        h.extend_from_slice(&v.to_be_bytes());
        h.extend_from_slice(&correlation_id.to_be_bytes());
        // client_id is a classic nullable_string even in header v2.
        match client_id {
            None => h.extend_from_slice(&(-1i16).to_be_bytes()),
            Some(s) => {
                h.extend_from_slice(&(s.len() as i16).to_be_bytes());
                h.extend_from_slice(s.as_bytes());
            }
        }
        if T::flexible(v) {
            h.push(0); // header v2: empty tagged fields
        }
    } else {
        h.extend_from_slice(&correlation_id.to_be_bytes());
        // Response header v1 for flexible versions, except ApiVersions (always v0, KIP-511).
        if T::flexible(v) && T::KEY != api_key::API_VERSIONS {
            h.push(0);
        }
    }
    h
}

/// Body and frame round trip of one valid value at one version.
fn check_round_trip<T: Body>(x: &T, v: i16, correlation_id: i32, client_id: Option<&str>) -> Result<(), TestCaseError> {
    let body = x
        .to_bytes(v)
        .map_err(|e| TestCaseError::fail(format!("v{v}: encode failed: {e}")))?;
    let back = T::from_bytes(&body, v);
    prop_assert_eq!(back.as_ref(), Ok(x), "v{} body round trip", v);

    let frame = x
        .encode_frame(correlation_id, client_id, v)
        .map_err(|e| TestCaseError::fail(format!("v{v}: frame encode failed: {e}")))?;
    prop_assert!(frame.len() >= 4);
    let mut prefix = [0u8; 4];
    prefix.copy_from_slice(&frame[..4]);
    prop_assert_eq!(
        body_len(prefix, DEFAULT_MAX_FRAME_BYTES),
        Ok(frame.len() - 4),
        "v{} size prefix",
        v
    );
    // The frame is exactly prefix + header (of the right header version) + body.
    let want_header = expected_header::<T>(correlation_id, client_id, v);
    prop_assert_eq!(
        &frame[4..4 + want_header.len()],
        &want_header[..],
        "v{} header bytes",
        v
    );
    prop_assert_eq!(&frame[4 + want_header.len()..], &body[..], "v{} body bytes in frame", v);

    let (corr, header, back) =
        T::decode_frame(&frame[4..], v).map_err(|e| TestCaseError::fail(format!("v{v}: frame decode failed: {e}")))?;
    prop_assert_eq!(corr, correlation_id);
    prop_assert_eq!(back.as_ref(), Some(x), "v{} frame round trip", v);
    if T::IS_REQUEST {
        let header = header.ok_or_else(|| TestCaseError::fail("request without header"))?;
        prop_assert_eq!(header.api_key, T::KEY);
        prop_assert_eq!(header.api_version, v);
        prop_assert_eq!(header.correlation_id, correlation_id);
        prop_assert_eq!(header.client_id.as_deref(), client_id);
    } else {
        // The response header decodes on its own as well.
        let hv = i16::from(T::flexible(v) && T::KEY != api_key::API_VERSIONS);
        let mut r = Reader::new(&frame[4..]);
        prop_assert_eq!(
            ResponseHeader::decode(&mut r, hv),
            Ok(ResponseHeader { correlation_id })
        );
        prop_assert_eq!(r.rest(), &body[..]);
    }
    Ok(())
}

/// Every strict prefix of a valid encoding is an error, and so is one extra byte.
fn check_truncation<T: Body>(x: &T, v: i16, correlation_id: i32, client_id: Option<&str>) -> Result<(), TestCaseError> {
    let body = x
        .to_bytes(v)
        .map_err(|e| TestCaseError::fail(format!("v{v}: encode failed: {e}")))?;
    for cut in 0..body.len() {
        let got = T::from_bytes(&body[..cut], v);
        prop_assert!(
            got.is_err(),
            "v{} body cut at {}/{} decoded: {:?}",
            v,
            cut,
            body.len(),
            got
        );
    }
    // Bytes after the last field are left unread, as Kafka's readers leave them.
    let mut longer = body.clone();
    longer.extend_from_slice(&[1, 0, 0]);
    prop_assert_eq!(T::from_bytes(&longer, v).ok(), T::from_bytes(&body, v).ok());

    let frame = x
        .encode_frame(correlation_id, client_id, v)
        .map_err(|e| TestCaseError::fail(format!("v{v}: frame encode failed: {e}")))?;
    let frame = &frame[4..];
    for cut in 0..frame.len() {
        let got = T::decode_frame(&frame[..cut], v);
        prop_assert!(
            got.is_err(),
            "v{} frame cut at {}/{} decoded: {:?}",
            v,
            cut,
            frame.len(),
            got
        );
    }
    Ok(())
}

/// Whatever decodes must re-encode, and decode again to the same value.
fn check_reencode<T: Body>(decoded: &T, v: i16) -> Result<(), TestCaseError> {
    let again = decoded
        .to_bytes(v)
        .map_err(|e| TestCaseError::fail(format!("v{v}: decoded value does not re-encode: {e}: {decoded:?}")))?;
    let back = T::from_bytes(&again, v);
    prop_assert_eq!(back.as_ref(), Ok(decoded));
    Ok(())
}

/// Decodes `bytes` as `T` at `v` (must not panic); if that succeeds, checks re-encoding.
fn decode_any<T: Body>(bytes: &[u8], v: i16) -> Result<(), TestCaseError> {
    if let Ok(x) = T::from_bytes(bytes, v) {
        prop_assert!(T::versions().contains(v), "decoded at unsupported v{}", v);
        check_reencode(&x, v)?;
    }
    Ok(())
}

/// Every version, plus some on either side of the range.
const FUZZ_VERSIONS: RangeInclusive<i16> = -2..=16;

/// All decoders on the same bytes at version `v`.
fn decode_everything(bytes: &[u8], v: i16) -> Result<(), TestCaseError> {
    decode_any::<ApiVersionsRequest>(bytes, v)?;
    decode_any::<ApiVersionsResponse>(bytes, v)?;
    decode_any::<MetadataRequest>(bytes, v)?;
    decode_any::<MetadataResponse>(bytes, v)?;
    for key in [api_key::API_VERSIONS, api_key::METADATA, 0, -1, i16::MAX] {
        let _ = decode_response(bytes, key, v);
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        mask: u8,
    },
    Set {
        at: usize,
        byte: u8,
    },
    Insert {
        at: usize,
        byte: u8,
    },
    Remove {
        at: usize,
    },
    /// Overwrite 4 bytes with a big-endian `i32` (a hostile length or count).
    Big {
        at: usize,
        value: i32,
    },
    Truncate {
        at: usize,
    },
}

fn arb_mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let m = prop_oneof![
        (any::<usize>(), 1..=u8::MAX).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Remove { at }),
        (
            any::<usize>(),
            prop_oneof![Just(-1), Just(-2), Just(i32::MAX), Just(i32::MIN), any::<i32>()]
        )
            .prop_map(|(at, value)| Mutation::Big { at, value }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ];
    vec(m, 1..4)
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = bytes.len();
        match *m {
            Mutation::Flip { at, mask } if n > 0 => bytes[at % n] ^= mask,
            Mutation::Set { at, byte } if n > 0 => bytes[at % n] = byte,
            Mutation::Insert { at, byte } => bytes.insert(at % (n + 1), byte),
            Mutation::Remove { at } if n > 0 => {
                bytes.remove(at % n);
            }
            Mutation::Big { at, value } if n >= 4 => {
                let i = at % (n - 3);
                bytes[i..i + 4].copy_from_slice(&value.to_be_bytes());
            }
            Mutation::Truncate { at } => bytes.truncate(at % (n + 1)),
            _ => {}
        }
    }
    bytes
}

/// Mutates the body and frame encodings of `x` at `v` and decodes them at `v`.
fn check_mutated<T: Body>(x: &T, v: i16, mutations: &[Mutation]) -> Result<(), TestCaseError> {
    let body = x
        .to_bytes(v)
        .map_err(|e| TestCaseError::fail(format!("v{v}: encode failed: {e}")))?;
    let body = mutate(body, mutations);
    decode_any::<T>(&body, v)?;
    let frame = x
        .encode_frame(7, Some("c"), v)
        .map_err(|e| TestCaseError::fail(format!("v{v}: frame encode failed: {e}")))?;
    let frame = mutate(frame[4..].to_vec(), mutations);
    if let Ok((_, _, Some(back))) = T::decode_frame(&frame, v) {
        if T::IS_REQUEST {
            // The mutation may have changed the version in the header; re-decode with it.
            if let Ok((h, _)) = decode_request(&frame) {
                check_reencode(&back, h.api_version)?;
            }
        } else {
            check_reencode(&back, v)?;
        }
    }
    Ok(())
}

/// A frame limit and the bytes to split under it: uniform noise, or a run of segments
/// whose size prefixes sit just under, on and just over the limit (or anywhere at all).
fn arb_limit_and_wire() -> impl Strategy<Value = (usize, Vec<u8>)> {
    let small = (0usize..80).prop_flat_map(|max| {
        let m = max as i32;
        let segment = (
            prop_oneof![4 => (m - 2)..=(m + 2), 1 => -2i32..90, 1 => any::<i32>()],
            vec(any::<u8>(), 0..max + 8),
        )
            .prop_map(|(size, body)| {
                let mut s = size.to_be_bytes().to_vec();
                s.extend(body);
                s
            });
        (Just(max), vec(segment, 1..6).prop_map(|segs| segs.concat()))
    });
    prop_oneof![
        small,
        (
            prop_oneof![0usize..80, Just(DEFAULT_MAX_FRAME_BYTES)],
            vec(any::<u8>(), 0..512)
        ),
    ]
}

fn config() -> ProptestConfig {
    ProptestConfig {
        // Where a failing seed is kept (relative to the package root, where `cargo test` runs).
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/protocol_roundtrip.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    // ----- round trips: every case is checked at every version -----

    #[test]
    fn api_versions_request_round_trips(full in full_api_versions_request(), corr in any::<i32>(), client in arb_client_id()) {
        for v in versions::<ApiVersionsRequest>() {
            check_round_trip(&full.project(v), v, corr, client.as_deref())?;
        }
    }

    #[test]
    fn api_versions_response_round_trips(full in full_api_versions_response(), corr in any::<i32>()) {
        for v in versions::<ApiVersionsResponse>() {
            check_round_trip(&full.project(v), v, corr, None)?;
        }
    }

    #[test]
    fn metadata_request_round_trips(full in full_metadata_request(), corr in any::<i32>(), client in arb_client_id()) {
        for v in versions::<MetadataRequest>() {
            check_round_trip(&full.project(v), v, corr, client.as_deref())?;
        }
    }

    #[test]
    fn metadata_response_round_trips(full in full_metadata_response(), corr in any::<i32>()) {
        for v in versions::<MetadataResponse>() {
            check_round_trip(&full.project(v), v, corr, None)?;
        }
    }

    #[test]
    fn describe_cluster_round_trips(
        req in full_describe_cluster_request(),
        resp in full_describe_cluster_response(),
        corr in any::<i32>(),
        client in arb_client_id(),
    ) {
        for v in versions::<DescribeClusterRequest>() {
            check_round_trip(&req.project(v), v, corr, client.as_deref())?;
            check_round_trip(&resp.project(v), v, corr, None)?;
            check_truncation(&req.project(v), v, corr, client.as_deref())?;
            check_truncation(&resp.project(v), v, corr, None)?;
        }
    }

    // Per-version strategies, with the version drawn at random.
    #[test]
    fn any_version_round_trips(
        (v, x) in (0i16..=4).prop_flat_map(|v| (Just(v), arb_api_versions_request(v))),
        (w, y) in (0i16..=4).prop_flat_map(|v| (Just(v), arb_api_versions_response(v))),
        (u, z) in (0i16..=13).prop_flat_map(|v| (Just(v), arb_metadata_request(v))),
        (t, r) in (0i16..=13).prop_flat_map(|v| (Just(v), arb_metadata_response(v))),
        corr in any::<i32>(),
    ) {
        check_round_trip(&x, v, corr, Some("c"))?;
        check_round_trip(&y, w, corr, None)?;
        check_round_trip(&z, u, corr, None)?;
        check_round_trip(&r, t, corr, None)?;
    }

    // ----- truncation: every cut of every version is an error -----

    #[test]
    fn truncated_api_versions_are_errors(
        req in full_api_versions_request(),
        resp in full_api_versions_response(),
        corr in any::<i32>(),
        client in arb_client_id(),
    ) {
        for v in versions::<ApiVersionsRequest>() {
            check_truncation(&req.project(v), v, corr, client.as_deref())?;
            check_truncation(&resp.project(v), v, corr, None)?;
        }
    }

    #[test]
    fn truncated_metadata_requests_are_errors(req in full_metadata_request(), corr in any::<i32>(), client in arb_client_id()) {
        for v in versions::<MetadataRequest>() {
            check_truncation(&req.project(v), v, corr, client.as_deref())?;
        }
    }

    #[test]
    fn truncated_metadata_responses_are_errors(resp in full_metadata_response(), corr in any::<i32>()) {
        for v in versions::<MetadataResponse>() {
            check_truncation(&resp.project(v), v, corr, None)?;
        }
    }

    // ----- hostile input never panics -----

    #[test]
    fn random_bytes_never_panic_any_body_any_version(bytes in vec(any::<u8>(), 0..512)) {
        for v in FUZZ_VERSIONS {
            decode_everything(&bytes, v)?;
        }
        let _ = decode_request(&bytes);
    }

    /// Random bodies behind a plausible request header, so `decode_request` gets past the
    /// header and into the body decoders.
    #[test]
    fn random_request_bodies_never_panic(
        key in prop_oneof![Just(api_key::API_VERSIONS), Just(api_key::METADATA), Just(api_key::DESCRIBE_CLUSTER), any::<i16>()],
        v in -2i16..=16,
        corr in any::<i32>(),
        client in proptest::option::of("[a-z]{0,4}"),
        flexible_header in any::<bool>(),
        rest in vec(any::<u8>(), 0..512),
    ) {
        let mut frame = BytesMut::new();
        RequestHeader { api_key: key, api_version: v, correlation_id: corr, client_id: client }
            .encode(&mut frame, if flexible_header { 2 } else { 1 })
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        frame.put_slice(&rest);
        if let Ok((h, body)) = decode_request(&frame) {
            prop_assert_eq!(h.api_key, key);
            prop_assert_eq!(h.api_version, v);
            prop_assert_eq!(body.api_key(), key);
            match body {
                RequestBody::ApiVersions(b) => check_reencode(&b, v)?,
                RequestBody::Metadata(b) => check_reencode(&b, v)?,
                RequestBody::DescribeCluster(b) => check_reencode(&b, v)?,
            }
        }
    }

    #[test]
    fn mutated_encodings_never_panic(
        avreq in full_api_versions_request(),
        avresp in full_api_versions_response(),
        mreq in full_metadata_request(),
        mresp in full_metadata_response(),
        mutations in arb_mutations(),
    ) {
        for v in versions::<ApiVersionsRequest>() {
            check_mutated(&avreq.project(v), v, &mutations)?;
            check_mutated(&avresp.project(v), v, &mutations)?;
        }
        for v in versions::<MetadataRequest>() {
            check_mutated(&mreq.project(v), v, &mutations)?;
            check_mutated(&mresp.project(v), v, &mutations)?;
        }
    }

    // ----- framing -----

    #[test]
    fn split_frame_on_random_bytes((max, bytes) in arb_limit_and_wire()) {
        let mut buf = BytesMut::from(&bytes[..]);
        let mut consumed = 0usize;
        loop {
            let before = buf.len();
            // The prefix as written, read here independently of the crate.
            let size = (buf.len() >= 4).then(|| i64::from(i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]])));
            let fits = size.is_some_and(|s| s >= 0 && s <= max as i64);
            match split_frame(&mut buf, max) {
                Ok(Some(frame)) => {
                    prop_assert!(frame.len() <= max, "frame of {} bytes over the limit {}", frame.len(), max);
                    prop_assert!(fits);
                    prop_assert_eq!(Some(frame.len() as i64), size);
                    prop_assert_eq!(&frame[..], &bytes[consumed + 4..consumed + 4 + frame.len()]);
                    consumed += 4 + frame.len();
                    prop_assert_eq!(buf.len(), bytes.len() - consumed);
                }
                Ok(None) => {
                    // Nothing consumed, and indeed not enough bytes for an acceptable frame.
                    prop_assert_eq!(buf.len(), before);
                    match size {
                        None => {}
                        Some(s) => prop_assert!(fits && (buf.len() as i64) < 4 + s, "size {} max {}", s, max),
                    }
                    break;
                }
                Err(e) => {
                    prop_assert_eq!(buf.len(), before, "nothing consumed on error");
                    let size = size.ok_or_else(|| TestCaseError::fail("error without a prefix"))?;
                    match e {
                        FrameError::Negative { size: s } => prop_assert!(size < 0 && i64::from(s) == size),
                        FrameError::TooLarge { size: s, max: m } => {
                            prop_assert!(m == max && size > max as i64 && s as i64 == size);
                        }
                        other => return Err(TestCaseError::fail(format!("unexpected frame error {other:?}"))),
                    }
                    break;
                }
            }
        }
    }

    #[test]
    fn built_frames_split_back_in_any_chunking(
        bodies in vec(vec(any::<u8>(), 0..64), 0..6),
        chunk_sizes in vec(1usize..40, 1..20),
    ) {
        let mut wire = Vec::new();
        for b in &bodies {
            let f = build_frame::<()>(|buf| {
                buf.put_slice(b);
                Ok(())
            })
            .map_err(|()| TestCaseError::fail("build_frame failed"))?;
            wire.extend_from_slice(&f);
        }
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut pos = 0;
        let mut chunks = chunk_sizes.iter().cycle();
        while pos < wire.len() {
            let n = (*chunks.next().unwrap_or(&1)).min(wire.len() - pos);
            buf.extend_from_slice(&wire[pos..pos + n]);
            pos += n;
            while let Some(f) = split_frame(&mut buf, 64).map_err(|e| TestCaseError::fail(e.to_string()))? {
                out.push(f.to_vec());
            }
        }
        prop_assert_eq!(out, bodies);
        prop_assert!(buf.is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// Fixed cases.
// ---------------------------------------------------------------------------------------

/// An array count of `i32::MAX` (classic) or `u32::MAX - 1` (compact) right where each
/// body's first array starts is refused without allocating for it.
#[test]
fn hostile_counts_are_refused_at_every_version() {
    for v in versions::<MetadataRequest>() {
        let flexible = v >= 9;
        let count: &[u8] = if flexible {
            &[0xff, 0xff, 0xff, 0xff, 0x0f]
        } else {
            &[0x7f, 0xff, 0xff, 0xff]
        };
        assert!(matches!(
            MetadataRequest::from_bytes(count, v),
            Err(DecodeError::CountTooLarge { .. })
        ));
        // Responses: the brokers array, after throttle_time_ms from v3.
        let mut resp = if v >= 3 { vec![0, 0, 0, 0] } else { vec![] };
        resp.extend_from_slice(count);
        assert!(matches!(
            MetadataResponse::from_bytes(&resp, v),
            Err(DecodeError::CountTooLarge { .. })
        ));
    }
    for v in versions::<ApiVersionsResponse>() {
        let count: &[u8] = if v >= 3 {
            &[0xff, 0xff, 0xff, 0xff, 0x0f]
        } else {
            &[0x7f, 0xff, 0xff, 0xff]
        };
        let mut resp = vec![0, 0];
        resp.extend_from_slice(count);
        assert!(matches!(
            ApiVersionsResponse::from_bytes(&resp, v),
            Err(DecodeError::CountTooLarge { .. })
        ));
    }
}

#[test]
fn versions_outside_the_range_are_errors_both_ways() {
    for v in [-1i16, 6, i16::MAX, i16::MIN] {
        assert!(matches!(
            ApiVersionsRequest::default().to_bytes(v),
            Err(EncodeError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            ApiVersionsResponse::default().to_bytes(v),
            Err(EncodeError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            ApiVersionsRequest::from_bytes(&[], v),
            Err(DecodeError::UnsupportedVersion { .. })
        ));
    }
    for v in [-1i16, 14, i16::MAX, i16::MIN] {
        assert!(matches!(
            MetadataRequest::default().to_bytes(v),
            Err(EncodeError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            MetadataResponse::default().to_bytes(v),
            Err(EncodeError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            MetadataResponse::from_bytes(&[], v),
            Err(DecodeError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            encode_request(1, None, v, &RequestBody::Metadata(MetadataRequest::default())),
            Err(EncodeError::UnsupportedVersion { .. })
        ));
    }
}

/// Kafka's generated code refuses any string (classic *or* compact) longer than
/// `0x7fff` bytes; the encoder must not write one that Kafka would refuse to read.
#[test]
fn strings_longer_than_i16_max_are_refused_in_every_version() {
    let long = "x".repeat(32_768);
    let fits = "x".repeat(32_767);
    for v in 3..=4 {
        let req = ApiVersionsRequest {
            client_software_name: long.clone(),
            client_software_version: "1".into(),
            ..ApiVersionsRequest::default()
        };
        assert!(matches!(req.to_bytes(v), Err(EncodeError::TooLong { .. })), "v{v}");
        let ok = ApiVersionsRequest {
            client_software_name: fits.clone(),
            client_software_version: "1".into(),
            ..ApiVersionsRequest::default()
        };
        let bytes = ok.to_bytes(v).expect("i16::MAX bytes fit");
        assert_eq!(ApiVersionsRequest::from_bytes(&bytes, v), Ok(ok));
    }
    for v in versions::<MetadataRequest>() {
        let req = MetadataRequest::for_topics([long.clone()]);
        assert!(matches!(req.to_bytes(v), Err(EncodeError::TooLong { .. })), "v{v}");
        let ok = MetadataRequest::for_topics([fits.clone()]);
        let bytes = ok.to_bytes(v).expect("i16::MAX bytes fit");
        assert_eq!(MetadataRequest::from_bytes(&bytes, v), Ok(ok));
    }
}

/// A v0 Metadata request cannot say "no topics" (its empty array is "all topics"), and
/// below v10 a topic is named; these are encode errors, not silent rewrites.
#[test]
fn metadata_request_values_a_version_cannot_carry_are_refused() {
    let none = MetadataRequest::for_topics(Vec::<String>::new());
    assert!(matches!(none.to_bytes(0), Err(EncodeError::FieldNotAvailable { .. })));
    for v in 1..=13 {
        assert_eq!(
            none.to_bytes(v).map(|b| MetadataRequest::from_bytes(&b, v)),
            Ok(Ok(none.clone()))
        );
    }
    let by_id = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            topic_id: [9; 16],
            name: None,
        }]),
        ..MetadataRequest::default()
    };
    for v in 0..=9 {
        assert!(
            matches!(by_id.to_bytes(v), Err(EncodeError::FieldNotAvailable { .. })),
            "v{v}"
        );
    }
    let nameless = MetadataResponse {
        topics: vec![MetadataTopic {
            error_code: 100,
            name: None,
            topic_id: [9; 16],
            is_internal: false,
            partitions: vec![],
            topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
        }],
        ..MetadataResponse::default()
    };
    for v in 0..=11 {
        assert!(
            matches!(nameless.to_bytes(v), Err(EncodeError::FieldNotAvailable { .. })),
            "v{v}"
        );
    }
}
