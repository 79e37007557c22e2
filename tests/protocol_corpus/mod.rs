//! A corpus of valid encodings, shared by `tests/protocol_fuzz.rs` (seeds to mutate) and
//! `tests/protocol_alloc.rs` (inputs to make hostile): rich values of ApiVersions and
//! Metadata requests and responses at every version, whole request and response frames,
//! and request/response headers at every header version, all written by the crate's
//! own encoders.

#![allow(dead_code)]

use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};
use kafka_matrix::protocol::codec::{encode_request, encode_response};
use kafka_matrix::protocol::header::{RequestHeader, ResponseHeader};
use kafka_matrix::protocol::messages::metadata::AUTHORIZED_OPERATIONS_OMITTED;
use kafka_matrix::protocol::messages::{
    api_versions, metadata, ApiVersionEntry, ApiVersionsRequest, ApiVersionsResponse, FinalizedFeature, MetadataBroker,
    MetadataPartition, MetadataRequest, MetadataRequestTopic, MetadataResponse, MetadataTopic, SupportedFeature,
};
use kafka_matrix::protocol::primitives::put_tagged_fields;
use kafka_matrix::protocol::{EncodeError, RequestBody, ResponseBody};

/// One valid input: the version it was written at (or header version), an API key where
/// the decoder needs one, and the bytes.
#[derive(Debug, Clone)]
pub struct Seed {
    pub version: i16,
    pub key: i16,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Corpus {
    pub frames: Vec<Seed>,
    pub request_headers: Vec<Seed>,
    pub response_headers: Vec<Seed>,
    pub api_versions_requests: Vec<Seed>,
    pub api_versions_responses: Vec<Seed>,
    pub metadata_requests: Vec<Seed>,
    pub metadata_responses: Vec<Seed>,
    pub request_frames: Vec<Seed>,
    pub response_frames: Vec<Seed>,
}

pub fn api_versions_requests() -> Vec<ApiVersionsRequest> {
    vec![
        ApiVersionsRequest::default(),
        ApiVersionsRequest {
            client_software_name: "kafka-matrix".into(),
            client_software_version: "0.1.0-é".into(),
            ..ApiVersionsRequest::default()
        },
    ]
}

pub fn api_versions_responses() -> Vec<ApiVersionsResponse> {
    let entry = |api_key, min_version, max_version| ApiVersionEntry {
        api_key,
        min_version,
        max_version,
    };
    vec![
        ApiVersionsResponse::default(),
        // The KIP-511 refusal.
        ApiVersionsResponse {
            error_code: 35,
            api_keys: vec![entry(18, 0, 3)],
            ..ApiVersionsResponse::default()
        },
        ApiVersionsResponse {
            error_code: 0,
            api_keys: vec![entry(0, 0, 11), entry(3, 0, 12), entry(18, 0, 4), entry(-1, 5, 2)],
            throttle_time_ms: 250,
            supported_features: vec![SupportedFeature {
                name: "metadata.version".into(),
                min_version: 1,
                max_version: 20,
            }],
            finalized_features_epoch: 7,
            finalized_features: vec![FinalizedFeature {
                name: "metadata.version".into(),
                max_version_level: 20,
                min_version_level: 20,
            }],
            zk_migration_ready: true,
        },
    ]
}

pub fn metadata_requests() -> Vec<MetadataRequest> {
    let by_name = |names: &[&str]| MetadataRequest::for_topics(names.iter().copied());
    vec![
        MetadataRequest::default(),
        by_name(&[]),
        by_name(&["orders", "audit", "ünïcode"]),
        MetadataRequest {
            allow_auto_topic_creation: false,
            include_topic_authorized_operations: true,
            ..by_name(&["orders"])
        },
        MetadataRequest {
            include_cluster_authorized_operations: true,
            ..by_name(&["orders"])
        },
        MetadataRequest {
            topics: Some(vec![
                MetadataRequestTopic {
                    topic_id: [7; 16],
                    name: None,
                },
                MetadataRequestTopic {
                    topic_id: [0; 16],
                    name: Some("orders".into()),
                },
            ]),
            ..MetadataRequest::default()
        },
    ]
}

pub fn metadata_responses() -> Vec<MetadataResponse> {
    let partition = |i| MetadataPartition {
        error_code: 0,
        partition_index: i,
        leader_id: 1,
        leader_epoch: 3,
        replica_nodes: vec![1, 2, 3],
        isr_nodes: vec![1, 2],
        offline_replicas: vec![3],
    };
    let topic = |name: Option<&str>, error_code, partitions| MetadataTopic {
        error_code,
        name: name.map(str::to_owned),
        topic_id: [9; 16],
        is_internal: false,
        partitions,
        topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
    };
    vec![
        MetadataResponse::default(),
        MetadataResponse {
            throttle_time_ms: 10,
            brokers: vec![
                MetadataBroker {
                    node_id: 1,
                    host: "localhost".into(),
                    port: 9092,
                    rack: Some("r1".into()),
                },
                MetadataBroker {
                    node_id: 2,
                    host: "b2".into(),
                    port: 9093,
                    rack: None,
                },
            ],
            cluster_id: Some("a2Fma2EtbWF0cml4LWVtdQ".into()),
            controller_id: 1,
            topics: vec![
                topic(Some("orders"), 0, vec![partition(0), partition(1)]),
                topic(Some("missing"), 3, vec![]),
            ],
            cluster_authorized_operations: 0x0f,
            error_code: 0,
        },
        MetadataResponse {
            topics: vec![topic(None, 100, vec![])],
            error_code: 41,
            ..MetadataResponse::default()
        },
    ]
}

pub fn encoded(write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>) -> Option<Vec<u8>> {
    let mut b = BytesMut::new();
    write(&mut b).ok().map(|()| b.to_vec())
}

pub fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(build_corpus)
}

pub fn build_corpus() -> Corpus {
    let mut c = Corpus::default();
    let seed = |version, key, bytes: Vec<u8>| Seed { version, key, bytes };
    for v in api_versions::VERSIONS.min..=api_versions::VERSIONS.max {
        for x in api_versions_requests() {
            if let Some(b) = encoded(|buf| x.encode(buf, v)) {
                c.api_versions_requests.push(seed(v, 18, b));
            }
            if let Ok(f) = encode_request(3, Some("c"), v, &RequestBody::ApiVersions(x)) {
                c.request_frames.push(seed(v, 18, f[4..].to_vec()));
                c.frames.push(seed(v, 18, f.to_vec()));
            }
        }
        for x in api_versions_responses() {
            if let Some(b) = encoded(|buf| x.encode(buf, v)) {
                c.api_versions_responses.push(seed(v, 18, b));
            }
            if let Ok(f) = encode_response(3, v, &ResponseBody::ApiVersions(x)) {
                c.response_frames.push(seed(v, 18, f[4..].to_vec()));
                c.frames.push(seed(v, 18, f.to_vec()));
            }
        }
    }
    for v in metadata::VERSIONS.min..=metadata::VERSIONS.max {
        for x in metadata_requests() {
            // Requests a version cannot carry are refused by the encoder; skip those.
            if let Some(b) = encoded(|buf| x.encode(buf, v)) {
                c.metadata_requests.push(seed(v, 3, b));
            }
            if let Ok(f) = encode_request(i32::MAX, None, v, &RequestBody::Metadata(x)) {
                c.request_frames.push(seed(v, 3, f[4..].to_vec()));
            }
        }
        for x in metadata_responses() {
            if let Some(b) = encoded(|buf| x.encode(buf, v)) {
                c.metadata_responses.push(seed(v, 3, b));
            }
            if let Ok(f) = encode_response(-7, v, &ResponseBody::Metadata(x)) {
                c.response_frames.push(seed(v, 3, f[4..].to_vec()));
                c.frames.push(seed(v, 3, f.to_vec()));
            }
        }
    }
    for hv in 0..=2 {
        for client_id in [None, Some(""), Some("kafka-matrix")] {
            let h = RequestHeader {
                api_key: 18,
                api_version: 4,
                correlation_id: 42,
                client_id: client_id.map(str::to_owned),
            };
            if let Some(b) = encoded(|buf| h.encode(buf, hv)) {
                c.request_headers.push(seed(hv, 0, b));
            }
        }
    }
    for hv in 0..=1 {
        let mut b = BytesMut::new();
        ResponseHeader { correlation_id: 42 }.encode(&mut b, hv);
        c.response_headers.push(seed(hv, 0, b.to_vec()));
    }
    // A v1 response header with unknown tagged fields, which the decoder must skip.
    let mut b = BytesMut::from(&42i32.to_be_bytes()[..]);
    put_tagged_fields(&mut b, &[(0, Bytes::from_static(b"ab")), (9, Bytes::new())]);
    c.response_headers.push(seed(1, 0, b.to_vec()));
    c
}
