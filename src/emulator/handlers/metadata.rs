//! Metadata (key 3).
//!
//! Behaviour (one broker, auto topic creation off):
//! - brokers: the one emulated broker, node 1, at the advertised host/port;
//! - cluster_id (v2+): the emulator's cluster id; controller_id (v1+): 1
//!   (ZK: the controller; KRaft 3.0+: a random alive broker, which with one
//!   broker is also 1);
//! - all topics (v0 empty list, v1+ null): every seeded topic;
//! - a named topic that exists: its partitions, leader 1, replicas/ISR [1],
//!   leader epoch 0, topic id (v10+);
//! - a named topic that does not: UNKNOWN_TOPIC_OR_PARTITION (3), zero topic
//!   id, no partitions, is_internal as Kafka's `Topic.isInternal` says; an
//!   invalid name (`Topic.validate`): INVALID_TOPIC_EXCEPTION (17);
//! - v10/v11 with a topic id or a null name: the whole reply is Kafka's error
//!   response, INVALID_REQUEST (42) per topic, no brokers ("this functionality
//!   was not implemented on the server" — MetadataRequest.json 3.8.0);
//! - v12+ by id: the topic, or UNKNOWN_TOPIC_ID (100) with a null name;
//! - authorized operations: Int.MinValue unless requested; when requested,
//!   every operation Kafka supports on the resource (no authorizer).
//!
//! Not emulated: auto topic creation (Kafka's default is on; the emulator
//! behaves as `auto.create.topics.enable=false`), internal topics, racks.
//!
//! Sources (Apache Kafka 3.8.0 unless noted): `KafkaApis.handleTopicMetadataRequest`
//! and `getTopicMetadata`, `MetadataRequest.getErrorResponse`,
//! `MetadataResponse.json`, `KRaftMetadataCache.getRandomAliveBrokerId`.

use crate::protocol::messages::metadata::AUTHORIZED_OPERATIONS_OMITTED;
use crate::protocol::messages::{MetadataBroker, MetadataPartition, MetadataRequest, MetadataResponse, MetadataTopic};
use crate::protocol::primitives::Uuid;
use crate::protocol::ErrorCode;

/// The broker id of the single emulated broker.
pub const NODE_ID: i32 = 1;

/// Operations on a TOPIC as a 32-bit field when no authorizer is configured:
/// READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS
/// 10, ALTER_CONFIGS 11 (Kafka `AclEntry.supportedOperations(TOPIC)`).
pub const TOPIC_OPERATIONS: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);

/// Operations on the CLUSTER likewise: CREATE 5, ALTER 7, DESCRIBE 8,
/// CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
pub const CLUSTER_OPERATIONS: i32 = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

/// A topic the emulator serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededTopic {
    /// Name.
    pub name: String,
    /// Partition count.
    pub partitions: i32,
    /// Topic id.
    pub id: Uuid,
}

impl SeededTopic {
    /// A topic with a stable id derived from its name (Kafka's are random;
    /// stable ids keep reports and transcripts reproducible).
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        let name = name.into();
        let id = stable_id(&name);
        Self { name, partitions, id }
    }
}

/// What Metadata describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// Cluster id.
    pub cluster_id: String,
    /// Seeded topics.
    pub topics: Vec<SeededTopic>,
}

/// Kafka's `Topic.validate`: 1–249 characters of `[a-zA-Z0-9._-]`, and
/// not `.` or `..`.
pub fn is_valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
}

/// Kafka's `Topic.isInternal`.
fn is_internal(name: &str) -> bool {
    name == "__consumer_offsets" || name == "__transaction_state"
}

/// FNV-1a over the name, twice with different seeds, as 16 bytes (never zero).
fn stable_id(name: &str) -> Uuid {
    let hash = |seed: u64| {
        name.bytes()
            .fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    };
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&hash(0xcbf2_9ce4_8422_2325).to_be_bytes());
    id[8..].copy_from_slice(&hash(0x6c62_272e_07bb_0142).to_be_bytes());
    id[0] |= 1;
    id
}

fn topic_entry(t: &SeededTopic, include_ops: bool) -> MetadataTopic {
    MetadataTopic {
        error_code: 0,
        name: Some(t.name.clone()),
        topic_id: t.id,
        is_internal: is_internal(&t.name),
        partitions: (0..t.partitions)
            .map(|i| MetadataPartition {
                error_code: 0,
                partition_index: i,
                leader_id: NODE_ID,
                leader_epoch: 0,
                replica_nodes: vec![NODE_ID],
                isr_nodes: vec![NODE_ID],
                offline_replicas: Vec::new(),
            })
            .collect(),
        topic_authorized_operations: if include_ops {
            TOPIC_OPERATIONS
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        },
    }
}

fn missing(name: Option<String>, id: Uuid, code: ErrorCode) -> MetadataTopic {
    let internal = name.as_deref().is_some_and(is_internal) && code == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    MetadataTopic {
        error_code: code.0,
        name,
        topic_id: id,
        is_internal: internal,
        partitions: Vec::new(),
        topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
    }
}

/// Answers a Metadata request at `version`.
pub fn handle(req: &MetadataRequest, version: i16, view: &ClusterView) -> MetadataResponse {
    let include_ops = req.include_topic_authorized_operations;
    let requested = req.topics.as_deref();
    let by_id = requested.is_some_and(|ts| ts.iter().any(|t| t.topic_id != [0; 16] || t.name.is_none()));
    if by_id && version < 12 {
        // MetadataRequest.getErrorResponse: brokers empty, no cluster id,
        // controller -1, INVALID_REQUEST for each topic as asked.
        let topics = requested
            .unwrap_or_default()
            .iter()
            .map(|t| MetadataTopic {
                name: Some(t.name.clone().unwrap_or_default()),
                ..missing(None, t.topic_id, ErrorCode::INVALID_REQUEST)
            })
            .collect();
        return MetadataResponse {
            topics,
            error_code: ErrorCode::INVALID_REQUEST.0,
            ..MetadataResponse::default()
        };
    }
    let topics = match requested {
        None => view.topics.iter().map(|t| topic_entry(t, include_ops)).collect(),
        Some(asked) => asked
            .iter()
            .map(|a| {
                if by_id {
                    match view.topics.iter().find(|t| t.id == a.topic_id) {
                        Some(t) => topic_entry(t, include_ops),
                        None => missing(None, a.topic_id, ErrorCode::UNKNOWN_TOPIC_ID),
                    }
                } else {
                    let name = a.name.clone().unwrap_or_default();
                    match view.topics.iter().find(|t| t.name == name) {
                        Some(t) => topic_entry(t, include_ops),
                        None if !is_valid_topic_name(&name) => {
                            missing(Some(name), [0; 16], ErrorCode::INVALID_TOPIC_EXCEPTION)
                        }
                        None => missing(Some(name), [0; 16], ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
                    }
                }
            })
            .collect(),
    };
    MetadataResponse {
        brokers: vec![MetadataBroker {
            node_id: NODE_ID,
            host: view.host.clone(),
            port: view.port,
            rack: None,
        }],
        cluster_id: Some(view.cluster_id.clone()),
        controller_id: NODE_ID,
        topics,
        cluster_authorized_operations: if req.include_cluster_authorized_operations {
            CLUSTER_OPERATIONS
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        },
        ..MetadataResponse::default()
    }
}
