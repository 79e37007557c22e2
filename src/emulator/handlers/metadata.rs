//! Metadata (key 3).
//!
//! Behaviour (one broker, default configuration):
//! - brokers: the one emulated broker, node 1, at the advertised host/port;
//! - cluster_id (v2+): the emulator's cluster id; controller_id (v1+): 1
//!   (ZK: the controller; KRaft 3.0+: a random alive broker, which with one
//!   broker is also 1);
//! - all topics (v0 empty list, v1+ null): every topic, seeded or created;
//! - named topics are de-duplicated: one entry per distinct name (Kafka reads
//!   them into a `Set`), in the order first asked;
//! - a named topic that exists: its partitions, leader 1, replicas/ISR [1],
//!   leader epoch 0, topic id (v10+);
//! - an invalid name (`Topic.validate`): INVALID_TOPIC_EXCEPTION (17); before
//!   2.8 only when a creation was attempted, else UNKNOWN_TOPIC_OR_PARTITION;
//! - a valid name that does not exist, with auto-creation allowed (the
//!   broker's `auto.create.topics.enable`, default true, and the request's
//!   `allow_auto_topic_creation`, v4+, always true before): the topic is
//!   created with `num.partitions` (1) partitions, and this first answer is
//!   LEADER_NOT_AVAILABLE (5) on ZooKeeper brokers (created in ZooKeeper,
//!   leaders not yet elected) or UNKNOWN_TOPIC_OR_PARTITION (3) on KRaft
//!   brokers (CreateTopics forwarded to the controller); the next request
//!   sees the topic. Internal topic names are not auto-created here;
//! - otherwise UNKNOWN_TOPIC_OR_PARTITION (3), zero topic id, no partitions,
//!   is_internal as Kafka's `Topic.isInternal` says;
//! - v10/v11 with a topic id or a null name: the whole reply is Kafka's error
//!   response, INVALID_REQUEST (42) per topic, no brokers ("this functionality
//!   was not implemented on the server" — MetadataRequest.json 3.8.0);
//! - v12+ by id: the topic, or UNKNOWN_TOPIC_ID (100) with a null name;
//! - authorized operations: Int.MinValue unless requested; when requested,
//!   every operation Kafka supports on the resource (no authorizer).
//!
//! Bounded, unlike Kafka: at most [`AUTO_CREATE_LIMIT`] topics are ever
//! auto-created; past that a new name is answered as if auto-creation were
//! off, and a warning is logged (a long-running `serve` must not grow
//! without bound on client input).
//!
//! Sources (Apache Kafka 3.8.0 unless noted): `KafkaApis.handleTopicMetadataRequest`
//! (`metadataRequest.topics.asScala.toSet`) and `getTopicMetadata`,
//! `AutoTopicCreationManager.createTopicsInZk` (`TOPIC_ALREADY_EXISTS |
//! REQUEST_TIMED_OUT => LEADER_NOT_AVAILABLE`, 2.8.0–3.9) and
//! `sendCreateTopicRequest` (UNKNOWN_TOPIC_OR_PARTITION, 2.8.0+), 2.0.0–2.7.0
//! `KafkaApis.createTopic` (LEADER_NOT_AVAILABLE), `MetadataRequest.getErrorResponse`,
//! `MetadataResponse.json`, `KRaftMetadataCache.getRandomAliveBrokerId`.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

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

/// Most topics auto-creation adds over an emulator's life (see the module docs).
pub const AUTO_CREATE_LIMIT: usize = 10_000;

/// How the broker auto-creates topics that Metadata names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoCreate {
    /// Kafka's `auto.create.topics.enable` (default true).
    pub enabled: bool,
    /// The first answer for a topic being created: LEADER_NOT_AVAILABLE on
    /// ZooKeeper brokers, UNKNOWN_TOPIC_OR_PARTITION on KRaft brokers.
    pub first_answer: ErrorCode,
    /// Kafka's `num.partitions` (default 1).
    pub partitions: i32,
    /// Whether an invalid name is answered INVALID_TOPIC_EXCEPTION when no
    /// creation is attempted (2.8+; see `Quirks::validates_unknown_topic_names`).
    pub validates_names: bool,
}

/// The topics a broker has: seeded ones, then auto-created ones, by name.
#[derive(Debug, Default)]
struct Topics {
    list: Vec<SeededTopic>,
    by_name: HashMap<String, usize>,
    created: usize,
}

impl Topics {
    fn insert(&mut self, topic: SeededTopic) {
        if !self.by_name.contains_key(&topic.name) {
            self.by_name.insert(topic.name.clone(), self.list.len());
            self.list.push(topic);
        }
    }

    fn get(&self, name: &str) -> Option<&SeededTopic> {
        self.by_name.get(name).map(|&i| &self.list[i])
    }
}

/// What Metadata describes. Auto-created topics are added as requests
/// arrive, so the topic list sits behind a lock.
#[derive(Debug)]
pub struct ClusterView {
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// Cluster id.
    pub cluster_id: String,
    /// Auto-creation.
    pub auto_create: AutoCreate,
    topics: RwLock<Topics>,
}

impl ClusterView {
    /// A cluster serving `topics` (a repeated name is served once, the first).
    pub fn new(host: String, port: i32, cluster_id: String, topics: &[SeededTopic], auto_create: AutoCreate) -> Self {
        let mut all = Topics::default();
        for t in topics {
            all.insert(t.clone());
        }
        Self {
            host,
            port,
            cluster_id,
            auto_create,
            topics: RwLock::new(all),
        }
    }

    /// Every topic now served, seeded first, then auto-created in order.
    pub fn topics(&self) -> Vec<SeededTopic> {
        self.read().list.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Topics> {
        // A panic while holding the lock cannot leave `Topics` half-written
        // (each insert is one push), so a poisoned lock is still usable.
        self.topics.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Creates those of `names` that do not exist and may be auto-created,
    /// up to [`AUTO_CREATE_LIMIT`] over the emulator's life; returns the
    /// names created now.
    fn auto_create<'n>(&self, names: &[&'n str]) -> HashSet<&'n str> {
        let mut created = HashSet::new();
        let creatable = |t: &Topics, n: &str| t.get(n).is_none() && is_valid_topic_name(n) && !is_internal(n);
        if !names.iter().any(|n| creatable(&self.read(), n)) {
            return created;
        }
        let mut topics = self.topics.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        for name in names {
            if !creatable(&topics, name) {
                continue;
            }
            if topics.created >= AUTO_CREATE_LIMIT {
                tracing::warn!(
                    topic = name,
                    limit = AUTO_CREATE_LIMIT,
                    "auto-creation limit reached; not created"
                );
                continue;
            }
            topics.created += 1;
            topics.insert(SeededTopic::new(*name, self.auto_create.partitions));
            created.insert(*name);
        }
        created
    }
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

/// Kafka answers named topics in groups (see `handle`); within a group its
/// order is that of a Scala `Set` (insertion order up to four elements, hash
/// order beyond), which no client may rely on: here it is the order asked.
fn in_kafka_order(entries: impl Iterator<Item = (u8, MetadataTopic)>) -> Vec<MetadataTopic> {
    let mut entries: Vec<_> = entries.collect();
    entries.sort_by_key(|(group, _)| *group);
    entries.into_iter().map(|(_, t)| t).collect()
}

/// Answers a Metadata request at `version`, auto-creating topics as the
/// broker would.
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
        None => view.read().list.iter().map(|t| topic_entry(t, include_ops)).collect(),
        Some(asked) if by_id => {
            // Unknown ids first, then the topics found (Kafka:
            // `unknownTopicIdsTopicMetadataResponse ++ topicMetadata`).
            let known = view.read();
            let mut seen = HashSet::new();
            in_kafka_order(
                asked
                    .iter()
                    .filter(|a| a.topic_id != [0; 16] && seen.insert(a.topic_id))
                    .map(|a| match known.list.iter().find(|t| t.id == a.topic_id) {
                        Some(t) => (1, topic_entry(t, include_ops)),
                        None => (0, missing(None, a.topic_id, ErrorCode::UNKNOWN_TOPIC_ID)),
                    }),
            )
        }
        Some(asked) => {
            let mut seen = HashSet::new();
            let names: Vec<&str> = asked
                .iter()
                .filter_map(|a| a.name.as_deref())
                .filter(|name| seen.insert(*name))
                .collect();
            let may_create = view.auto_create.enabled && req.allow_auto_topic_creation;
            let created = if may_create {
                view.auto_create(&names)
            } else {
                HashSet::new()
            };
            let invalid = if may_create || view.auto_create.validates_names {
                ErrorCode::INVALID_TOPIC_EXCEPTION
            } else {
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            };
            // Existing topics first, then the others; when auto-creating,
            // the ones that cannot be created before the ones being created
            // (Kafka: `topicResponses ++ nonExistingTopicResponses`, and
            // `uncreatableTopicResponses ++ creatableTopicResponses`).
            let known = view.read();
            in_kafka_order(names.iter().map(|&name| {
                let (group, code) = match known.get(name) {
                    Some(_) if created.contains(name) => (2, view.auto_create.first_answer),
                    Some(t) => return (0, topic_entry(t, include_ops)),
                    None if !is_valid_topic_name(name) => (1, invalid),
                    None => (1, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
                };
                (group, missing(Some(name.to_owned()), [0; 16], code))
            }))
        }
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
