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
//! - a named topic that exists: its partitions, leader 1, replicas/ISR \[1\],
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
//!   sees the topic;
//! - a missing internal topic (`__consumer_offsets`, `__transaction_state`):
//!   its creation is attempted (on 2.0–2.7 whatever auto-creation says) and
//!   fails on one broker with Kafka's default replication factor of 3:
//!   INVALID_REPLICATION_FACTOR (38) on ZooKeeper, UNKNOWN_TOPIC_OR_PARTITION
//!   (3) on KRaft (`Quirks::internal_topic_answer`); it never appears;
//! - otherwise UNKNOWN_TOPIC_OR_PARTITION (3), zero topic id, no partitions,
//!   is_internal as Kafka's `Topic.isInternal` says;
//! - v10/v11 with a topic id or a null name: the whole reply is Kafka's error
//!   response, INVALID_REQUEST (42) per topic, no brokers ("this functionality
//!   was not implemented on the server" — MetadataRequest.json 3.8.0);
//! - v12+ by id: the topic, or UNKNOWN_TOPIC_ID (100) with a null name;
//! - authorized operations: when requested, every operation Kafka supports
//!   on the resource (no authorizer), on every topic entry Kafka's
//!   `getTopicMetadata` makes, found or not (not on unknown ids); otherwise
//!   Int.MinValue, or 0 on 2.3–2.4 (`Quirks::authorized_operations_omitted`).
//!
//! Bounded, unlike Kafka: at most [`AUTO_CREATE_LIMIT`] topics are ever
//! auto-created; past that a new name is answered as if auto-creation were
//! off, and a warning is logged (a long-running `serve` must not grow
//! without bound on client input).
//!
//! One logic, two ways in: [`handle`] answers a decoded [`MetadataRequest`]
//! with a whole [`MetadataResponse`]; [`Plan::for_view`] answers a
//! [`MetadataRequestView`] (the topic list left in the request frame) and
//! [`MetadataReply`] encodes that answer in chunks, so that a legal 100 MiB
//! request (52 million topic names) needs neither an owned entry per name nor
//! its whole reply in memory. Both go through [`Plan`]: names are
//! de-duplicated in a hash table of offsets into the request (4 bytes a slot,
//! presized from a length histogram so that it never grows), and each entry
//! carries two bits (first occurrence; answer group), so the answer is
//! produced by walking the request once per group.
//!
//! Sources (Apache Kafka 3.8.0 unless noted): `KafkaApis.handleTopicMetadataRequest`
//! (`metadataRequest.topics.asScala.toSet`) and `getTopicMetadata`,
//! `AutoTopicCreationManager.createTopicsInZk` (`TOPIC_ALREADY_EXISTS |
//! REQUEST_TIMED_OUT => LEADER_NOT_AVAILABLE`, 2.8.0–3.9) and
//! `sendCreateTopicRequest` (UNKNOWN_TOPIC_OR_PARTITION, 2.8.0+), 2.0.0–2.7.0
//! `KafkaApis.createTopic` (LEADER_NOT_AVAILABLE), `MetadataRequest.getErrorResponse`,
//! `MetadataResponse.json`, `KRaftMetadataCache.getRandomAliveBrokerId`.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use bytes::{BufMut, Bytes, BytesMut};
use hashbrown::HashTable;

use crate::protocol::header::{response_header_version, ResponseHeader};
use crate::protocol::messages::metadata::AUTHORIZED_OPERATIONS_OMITTED;
use crate::protocol::messages::{
    MetadataBroker, MetadataPartition, MetadataRequest, MetadataRequestTopic, MetadataRequestView, MetadataResponse,
    MetadataTopic, TopicCursor,
};
use crate::protocol::primitives::Uuid;
use crate::protocol::{api_key, EncodeError, ErrorCode};

/// The broker id of the single emulated broker.
pub const NODE_ID: i32 = 1;

/// Operations on a TOPIC as a 32-bit field when no authorizer is configured
/// (`AuthHelper.authorizedOperations`: `case None => supportedOps`): READ 3,
/// WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10,
/// ALTER_CONFIGS 11. Kafka `AclEntry.supportedOperations(TOPIC)` (3.8.0
/// `server/.../security/authorizer/AclEntry.java`, unchanged on trunk in
/// 2024-10; 2.3.0 `security/auth/ResourceType.scala`), codes from
/// `AclOperation.java`.
pub const TOPIC_OPERATIONS: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);

/// Operations on the CLUSTER likewise (same sources): CREATE 5, ALTER 7,
/// DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
/// IDEMPOTENT_WRITE 12.
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
    /// Whether a missing internal topic is created even when auto-creation
    /// is off (2.0–2.7; `Quirks::creates_internal_topics_unasked`).
    pub internal_unasked: bool,
    /// The answer for an internal topic being created, which the single
    /// broker never manages (`Quirks::internal_topic_answer`).
    pub internal_answer: ErrorCode,
}

/// The topics a broker has: seeded ones, then auto-created ones, by name
/// and by id (the first topic with an id wins, as a scan of the list would).
#[derive(Debug, Default, Clone)]
pub struct Topics {
    list: Vec<SeededTopic>,
    by_name: HashMap<String, usize>,
    by_id: HashMap<Uuid, usize>,
    created: usize,
}

impl Topics {
    fn insert(&mut self, topic: SeededTopic) {
        if !self.by_name.contains_key(&topic.name) {
            self.by_name.insert(topic.name.clone(), self.list.len());
            self.by_id.entry(topic.id).or_insert(self.list.len());
            self.list.push(topic);
        }
    }

    fn get(&self, name: &str) -> Option<&SeededTopic> {
        self.by_name.get(name).map(|&i| &self.list[i])
    }

    fn get_id(&self, id: &Uuid) -> Option<&SeededTopic> {
        self.by_id.get(id).map(|&i| &self.list[i])
    }
}

/// What Metadata describes. Auto-created topics are added as requests
/// arrive, so the topic list sits behind a lock; readers take a snapshot
/// (an `Arc`, copied on write), so an answer being streamed to a slow
/// client holds no lock.
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
    /// What a reply carries where authorized operations were not asked for
    /// (`Quirks::authorized_operations_omitted`).
    operations_omitted: i32,
    topics: RwLock<Arc<Topics>>,
}

impl ClusterView {
    /// A cluster serving `topics` (a repeated name is served once, the first).
    /// Authorized operations not asked for are answered Int.MinValue (Kafka
    /// 2.5+; see [`ClusterView::omitting_operations_as`]).
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
            operations_omitted: AUTHORIZED_OPERATIONS_OMITTED,
            topics: RwLock::new(Arc::new(all)),
        }
    }

    /// Answers authorized operations that were not asked for with `value`
    /// (0 on Kafka 2.3–2.4, `Quirks::authorized_operations_omitted`).
    pub fn omitting_operations_as(mut self, value: i32) -> Self {
        self.operations_omitted = value;
        self
    }

    /// Every topic now served, seeded first, then auto-created in order.
    pub fn topics(&self) -> Vec<SeededTopic> {
        self.snapshot().list.clone()
    }

    /// The topics as they are now.
    fn snapshot(&self) -> Arc<Topics> {
        // A panic while holding the lock cannot leave `Topics` half-written
        // (each insert is one push), so a poisoned lock is still usable.
        Arc::clone(&self.topics.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Creates those of `names` (distinct, in the order asked; `names` is
    /// called again when another request created topics meanwhile) that do
    /// not exist and may be auto-created, up to [`AUTO_CREATE_LIMIT`] over
    /// the emulator's life; returns the names created now.
    ///
    /// The names are scanned under no lock (on a snapshot); the write lock is
    /// held only to insert the (at most [`AUTO_CREATE_LIMIT`]) candidates, so
    /// a request naming millions of topics does not stall other connections.
    fn auto_create<'n, I: Iterator<Item = Cow<'n, str>>>(&self, names: impl Fn() -> I) -> HashSet<String> {
        let creatable = |t: &Topics, n: &str| t.get(n).is_none() && is_valid_topic_name(n) && !is_internal(n);
        loop {
            let seen = self.snapshot();
            let room = AUTO_CREATE_LIMIT.saturating_sub(seen.created);
            let mut candidates = Vec::new();
            let mut refused = 0usize;
            for name in names() {
                if creatable(&seen, &name) {
                    if candidates.len() < room {
                        candidates.push(name.into_owned());
                    } else {
                        refused += 1;
                    }
                }
            }
            if candidates.is_empty() && refused == 0 {
                return HashSet::new();
            }
            let mut guard = self.topics.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            if guard.list.len() != seen.list.len() {
                // Another request created topics since the scan: scan again.
                continue;
            }
            let topics = Arc::make_mut(&mut guard);
            let mut created = HashSet::new();
            for name in candidates {
                topics.created += 1;
                topics.insert(SeededTopic::new(name.as_str(), self.auto_create.partitions));
                created.insert(name);
            }
            if refused > 0 {
                tracing::warn!(
                    refused,
                    limit = AUTO_CREATE_LIMIT,
                    "auto-creation limit reached; topics not created"
                );
            }
            return created;
        }
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

/// A seeded topic's entry. `leaderless`: each partition as Kafka answers one
/// whose leader is not alive (3.8.0 `ZkMetadataCache.getPartitionMetadata`:
/// LEADER_NOT_AVAILABLE, `NO_LEADER_ID` = -1, the partition state's epoch,
/// replicas and ISR), the `leaderless` fault. `operations`: its
/// `topic_authorized_operations` ([`Plan::topic_operations`]).
fn topic_entry(t: &SeededTopic, operations: i32, leaderless: bool) -> MetadataTopic {
    let (error_code, leader_id) = if leaderless {
        (ErrorCode::LEADER_NOT_AVAILABLE.0, -1)
    } else {
        (0, NODE_ID)
    };
    MetadataTopic {
        error_code: 0,
        name: Some(t.name.clone()),
        topic_id: t.id,
        is_internal: is_internal(&t.name),
        partitions: (0..t.partitions)
            .map(|i| MetadataPartition {
                error_code,
                partition_index: i,
                leader_id,
                leader_epoch: 0,
                replica_nodes: vec![NODE_ID],
                isr_nodes: vec![NODE_ID],
                offline_replicas: Vec::new(),
            })
            .collect(),
        topic_authorized_operations: operations,
    }
}

/// An entry for a topic the broker does not have, answered `code`, with
/// `operations` as its `topic_authorized_operations`.
fn missing(name: Option<String>, id: Uuid, code: ErrorCode, operations: i32) -> MetadataTopic {
    // Every entry with a name is answered with `Topic.isInternal(name)`
    // (2.0–2.7: `createInternalTopic` passes true; 2.8+ each path sets it).
    let internal = name.as_deref().is_some_and(is_internal);
    MetadataTopic {
        error_code: code.0,
        name,
        topic_id: id,
        is_internal: internal,
        partitions: Vec::new(),
        topic_authorized_operations: operations,
    }
}

/// What a Metadata request asks, as it matters to the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    /// v4+ `allow_auto_topic_creation` (true before).
    pub allow_auto_topic_creation: bool,
    /// v8–v10 `include_cluster_authorized_operations`.
    pub include_cluster_authorized_operations: bool,
    /// v8+ `include_topic_authorized_operations`.
    pub include_topic_authorized_operations: bool,
}

/// One topic as a request names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked<'a> {
    /// A stable handle for [`AskedTopics::at`].
    pub key: u32,
    /// The topic id; zeroes when asked by name.
    pub topic_id: Uuid,
    /// The raw name (decoded leniently when used); `None` is null.
    pub name: Option<&'a [u8]>,
}

/// The topic list of a Metadata request, wherever it lives: decoded
/// (`&[MetadataRequestTopic]`, key = index) or still in the request frame
/// ([`MetadataRequestView`], key = byte offset).
pub trait AskedTopics {
    /// A position in the list.
    type Cursor: Clone + std::fmt::Debug;
    /// The first position.
    fn start(&self) -> Self::Cursor;
    /// The topic at `cursor`, moving past it; `None` at the end.
    fn next(&self, cursor: &mut Self::Cursor) -> Option<Asked<'_>>;
    /// The topic whose key is `key`.
    fn at(&self, key: u32) -> Option<Asked<'_>>;
}

impl AskedTopics for &[MetadataRequestTopic] {
    type Cursor = usize;

    fn start(&self) -> usize {
        0
    }

    fn next(&self, cursor: &mut usize) -> Option<Asked<'_>> {
        let a = self.at(u32::try_from(*cursor).ok()?)?;
        *cursor += 1;
        Some(a)
    }

    fn at(&self, key: u32) -> Option<Asked<'_>> {
        self.get(key as usize).map(|t| Asked {
            key,
            topic_id: t.topic_id,
            name: t.name.as_deref().map(str::as_bytes),
        })
    }
}

impl AskedTopics for MetadataRequestView {
    type Cursor = Option<TopicCursor>;

    fn start(&self) -> Option<TopicCursor> {
        self.topic_cursor()
    }

    fn next(&self, cursor: &mut Option<TopicCursor>) -> Option<Asked<'_>> {
        let t = self.next_topic(cursor.as_mut()?)?;
        Some(Asked {
            key: t.offset,
            topic_id: t.topic_id,
            name: t.name,
        })
    }

    fn at(&self, key: u32) -> Option<Asked<'_>> {
        let t = self.topic_at(key)?;
        Some(Asked {
            key: t.offset,
            topic_id: t.topic_id,
            name: t.name,
        })
    }
}

/// Which answer a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// All topics (v0 empty list, v1+ null).
    All,
    /// v10/v11 by id or null name: Kafka's error response, every topic as asked.
    Invalid,
    /// v12+ by id: unknown ids (group 0), then known ones (group 1).
    ById,
    /// By name: existing (0), uncreatable (1), being created (2).
    ByName,
}

impl Kind {
    fn groups(self) -> u8 {
        match self {
            Self::All | Self::Invalid => 1,
            Self::ById => 2,
            Self::ByName => 3,
        }
    }
}

/// Two bits per asked entry: 0 = not answered (a repeat, or a zero id),
/// `g + 1` = answered in group `g`; [`PENDING`] = first occurrence, group
/// not yet known.
#[derive(Debug, Default)]
struct Marks(Vec<u8>);

const PENDING: u8 = 3;

impl Marks {
    fn with_len(n: usize) -> Self {
        Self(vec![0; n.div_ceil(4)])
    }

    fn get(&self, i: usize) -> u8 {
        (self.0.get(i / 4).copied().unwrap_or(0) >> ((i % 4) * 2)) & 3
    }

    fn set(&mut self, i: usize, v: u8) {
        if let Some(b) = self.0.get_mut(i / 4) {
            let shift = (i % 4) * 2;
            *b = (*b & !(3 << shift)) | ((v & 3) << shift);
        }
    }
}

/// The answer to one Metadata request, decided but not yet written out:
/// the topics to answer are marks over the request's own list.
#[derive(Debug)]
pub struct Plan<A> {
    asked: A,
    kind: Kind,
    version: i16,
    /// `topic_authorized_operations` of every entry Kafka's
    /// `getTopicMetadata` makes, found or not: all of a topic's operations
    /// when asked for (no authorizer), else [`Plan::operations_omitted`].
    topic_operations: i32,
    /// The same where Kafka never sets it (unknown topic ids, the v10/v11
    /// error response): always the omitted value.
    operations_omitted: i32,
    first_answer: ErrorCode,
    /// Whether a missing internal topic named here is being created (and
    /// answered [`Plan::internal_answer`], after the names that cannot be).
    internal_attempted: bool,
    /// See [`AutoCreate::internal_answer`].
    internal_answer: ErrorCode,
    /// The answer to an invalid name: 17, or 3 on 2.0–2.7 when no creation
    /// is attempted (`Quirks::validates_unknown_topic_names`).
    invalid_answer: ErrorCode,
    snapshot: Arc<Topics>,
    head: MetadataResponse,
    marks: Marks,
    count: usize,
    /// Entries answered in each group: a walk for a group stops at its last.
    per_group: [usize; 3],
    /// First occurrences (entries marked [`PENDING`] before grouping).
    distinct: usize,
    /// Every partition answered without a leader (a fault).
    leaderless: bool,
    /// Existing topics answered as still being created (a fault).
    creating: bool,
}

/// Where an answer's topic entries have got to.
#[derive(Debug, Clone)]
pub struct EntryCursor<C> {
    group: u8,
    index: usize,
    emitted: usize,
    asked: Option<C>,
}

impl<A: AskedTopics> Plan<A> {
    /// Decides the answer to a request naming `asked` (`named` false: all
    /// topics), auto-creating topics as the broker would.
    pub fn new(asked: A, named: bool, flags: Flags, version: i16, view: &ClusterView) -> Self {
        let mut plan = Self {
            asked,
            kind: Kind::All,
            version,
            topic_operations: if flags.include_topic_authorized_operations {
                TOPIC_OPERATIONS
            } else {
                view.operations_omitted
            },
            operations_omitted: view.operations_omitted,
            first_answer: view.auto_create.first_answer,
            internal_attempted: view.auto_create.internal_unasked
                || (view.auto_create.enabled && flags.allow_auto_topic_creation),
            internal_answer: view.auto_create.internal_answer,
            invalid_answer: if (view.auto_create.enabled && flags.allow_auto_topic_creation)
                || view.auto_create.validates_names
            {
                ErrorCode::INVALID_TOPIC_EXCEPTION
            } else {
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            },
            snapshot: Arc::default(),
            head: MetadataResponse {
                brokers: vec![MetadataBroker {
                    node_id: NODE_ID,
                    host: view.host.clone(),
                    port: view.port,
                    rack: None,
                }],
                cluster_id: Some(view.cluster_id.clone()),
                controller_id: NODE_ID,
                cluster_authorized_operations: if flags.include_cluster_authorized_operations {
                    CLUSTER_OPERATIONS
                } else {
                    view.operations_omitted
                },
                ..MetadataResponse::default()
            },
            marks: Marks::default(),
            count: 0,
            per_group: [0; 3],
            distinct: 0,
            leaderless: false,
            creating: false,
        };
        if !named {
            plan.snapshot = view.snapshot();
            plan.count = plan.snapshot.list.len();
            return plan;
        }
        let (mut entries, mut by_id) = (0usize, false);
        let mut c = plan.asked.start();
        while let Some(a) = plan.asked.next(&mut c) {
            entries += 1;
            by_id |= a.topic_id != [0; 16] || a.name.is_none();
        }
        if by_id && version < 12 {
            // MetadataRequest.getErrorResponse: brokers empty, no cluster id,
            // controller -1, INVALID_REQUEST for each topic as asked.
            plan.kind = Kind::Invalid;
            plan.count = entries;
            plan.per_group[0] = entries;
            plan.head = MetadataResponse {
                error_code: ErrorCode::INVALID_REQUEST.0,
                ..MetadataResponse::default()
            };
            return plan;
        }
        plan.marks = Marks::with_len(entries);
        if by_id {
            // Unknown ids first, then the topics found (Kafka:
            // `unknownTopicIdsTopicMetadataResponse ++ topicMetadata`).
            plan.kind = Kind::ById;
            plan.mark_first_occurrences(entries, |a| (a.topic_id != [0; 16]).then_some(Key::Id(a.topic_id)));
            plan.snapshot = view.snapshot();
            plan.group_pending(|plan, a| u8::from(plan.snapshot.get_id(&a.topic_id).is_some()));
            return plan;
        }
        plan.kind = Kind::ByName;
        plan.mark_first_occurrences(entries, |a| a.name.map(|n| Key::Name(lossy_bytes(n))));
        let created = if view.auto_create.enabled && flags.allow_auto_topic_creation {
            view.auto_create(|| {
                walk(&plan.asked)
                    .filter(|(i, _)| plan.marks.get(*i) == PENDING)
                    .take(plan.distinct)
                    .filter_map(|(_, a)| a.name.map(String::from_utf8_lossy))
            })
        } else {
            HashSet::new()
        };
        // Existing topics first, then the others; when auto-creating, the
        // ones that cannot be created before the ones being created (Kafka:
        // `topicResponses ++ nonExistingTopicResponses`, and
        // `uncreatableTopicResponses ++ creatableTopicResponses`).
        plan.snapshot = view.snapshot();
        plan.group_pending(|plan, a| {
            let name = String::from_utf8_lossy(a.name.unwrap_or_default());
            match plan.snapshot.get(&name) {
                Some(_) if created.contains(name.as_ref()) => 2,
                Some(_) => 0,
                None if plan.internal_attempted && is_internal(&name) => 2,
                None => 1,
            }
        });
        plan
    }

    /// Marks [`PENDING`] each entry whose key (`None`: not answered) was not
    /// seen before. The table holds entry keys and hashes the bytes they
    /// refer to; it is presized to a bound on the distinct keys (at most
    /// 256^L distinct keys of L bytes), so that it never grows: growing
    /// would hold the old and the new table at once.
    fn mark_first_occurrences(&mut self, entries: usize, key: impl for<'a> Fn(&Asked<'a>) -> Option<Key<'a>>) {
        let mut by_len = [0usize; 4];
        let mut longer = 0usize;
        for (_, a) in walk(&self.asked) {
            match key(&a).map(|k| k.len()) {
                Some(l) if l < 4 => by_len[l] += 1,
                Some(_) => longer += 1,
                None => {}
            }
        }
        let bound = by_len
            .iter()
            .enumerate()
            .map(|(l, &n)| n.min(1 << (8 * l)))
            .sum::<usize>()
            + longer;
        let state = RandomState::new();
        let mut seen: HashTable<u32> = HashTable::with_capacity(bound.min(entries));
        let asked = &self.asked;
        let hash_of = |k: u32| {
            asked
                .at(k)
                .and_then(|a| key(&a).map(|b| state.hash_one(&*b)))
                .unwrap_or(0)
        };
        // The entry before, when it had a key: a run of one name repeated (the
        // cheapest attack) is recognised without hashing.
        let mut before: Option<Key<'_>> = None;
        for (i, a) in walk(asked) {
            let Some(k) = key(&a) else { continue };
            if before.as_deref().is_some_and(|b| same_bytes(b, &k)) {
                continue;
            }
            let hash = state.hash_one(&*k);
            let same = |&other: &u32| {
                asked
                    .at(other)
                    .and_then(|o| key(&o))
                    .is_some_and(|o| same_bytes(&o, &k))
            };
            if seen.find(hash, same).is_none() {
                seen.insert_unique(hash, a.key, |&other| hash_of(other));
                self.marks.set(i, PENDING);
                self.distinct += 1;
            }
            before = Some(k);
        }
    }

    /// Gives each [`PENDING`] entry its group (`group(plan, entry)`).
    fn group_pending(&mut self, group: impl Fn(&Self, &Asked<'_>) -> u8) {
        let mut decided = Vec::new();
        let mut c = self.asked.start();
        let mut i = 0usize;
        let mut left = self.distinct;
        loop {
            // In batches: the group is decided on `&self`, then written.
            while decided.len() < 1 << 16 && left > decided.len() {
                let Some(a) = self.asked.next(&mut c) else { break };
                if self.marks.get(i) == PENDING {
                    decided.push((i, group(self, &a) + 1));
                }
                i += 1;
            }
            if decided.is_empty() {
                return;
            }
            for &(j, m) in &decided {
                self.marks.set(j, m);
                self.count += 1;
                self.per_group[usize::from(m - 1)] += 1;
            }
            left -= decided.len();
            decided.clear();
        }
    }

    /// How many topics the answer lists.
    pub fn topic_count(&self) -> usize {
        self.count
    }

    /// Answers every partition without a leader (the `leaderless` fault).
    pub fn leaderless(mut self) -> Self {
        self.leaderless = true;
        self
    }

    /// Answers every existing topic as one still being created (the
    /// `creating` fault): on ZooKeeper brokers a topic whose leaders are not
    /// yet elected is not in the metadata cache, so a request naming it is
    /// answered LEADER_NOT_AVAILABLE with no partitions (3.8.0
    /// `AutoTopicCreationManager.createTopicsInZk`: TOPIC_ALREADY_EXISTS →
    /// LEADER_NOT_AVAILABLE) and a request for all topics leaves it out.
    pub fn creating(mut self) -> Self {
        self.creating = true;
        if self.kind == Kind::All {
            self.snapshot = Arc::default();
            self.count = 0;
        }
        self
    }

    /// Sets the reply's `throttle_time_ms` (v3+; the `throttle` fault).
    pub fn throttle_ms(mut self, ms: i32) -> Self {
        self.head.throttle_time_ms = ms;
        self
    }

    /// The version answered.
    pub fn version(&self) -> i16 {
        self.version
    }

    /// The answer without its topics.
    pub fn head(&self) -> &MetadataResponse {
        &self.head
    }

    /// The entry for asked topic `a` answered in `group`.
    fn entry(&self, group: u8, a: &Asked<'_>) -> MetadataTopic {
        let name = String::from_utf8_lossy(a.name.unwrap_or_default());
        let by_id = |found: Option<&SeededTopic>| match found {
            Some(t) => topic_entry(t, self.topic_operations, self.leaderless),
            None => missing(None, a.topic_id, ErrorCode::UNKNOWN_TOPIC_ID, self.operations_omitted),
        };
        // Every other entry is a name the broker answers without the topic:
        // only its error code differs.
        let code = match (self.kind, group) {
            (Kind::Invalid, _) => {
                return MetadataTopic {
                    name: Some(name.into_owned()),
                    ..missing(None, a.topic_id, ErrorCode::INVALID_REQUEST, self.operations_omitted)
                }
            }
            (Kind::ById, 0) => return by_id(None),
            (Kind::ById, _) => return by_id(self.snapshot.get_id(&a.topic_id)),
            (_, 0) => match self.snapshot.get(&name) {
                Some(_) if self.creating => ErrorCode::LEADER_NOT_AVAILABLE,
                Some(t) => return topic_entry(t, self.topic_operations, self.leaderless),
                None => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            },
            (_, 1) if !is_valid_topic_name(&name) => self.invalid_answer,
            (_, 1) => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            (_, _) if is_internal(&name) => self.internal_answer,
            (_, _) => self.first_answer,
        };
        missing(Some(name.into_owned()), [0; 16], code, self.topic_operations)
    }

    /// A cursor at the first entry of the answer.
    pub fn entries(&self) -> EntryCursor<A::Cursor> {
        EntryCursor {
            group: 0,
            index: 0,
            emitted: 0,
            asked: None,
        }
    }

    /// Whether `cursor` has passed the last entry.
    pub fn entries_done(&self, cursor: &EntryCursor<A::Cursor>) -> bool {
        cursor.group >= self.kind.groups()
    }

    /// Hands the answer's entries from `cursor` on to `sink`, in Kafka's
    /// group order, until `sink` returns true (pause), the list ends, or
    /// `work` request entries have been looked at (so that a caller on an
    /// async worker can yield). Entries are made one at a time.
    pub fn next_entries<E>(
        &self,
        cursor: &mut EntryCursor<A::Cursor>,
        mut work: usize,
        mut sink: impl FnMut(&MetadataTopic) -> Result<bool, E>,
    ) -> Result<(), E> {
        while cursor.group < self.kind.groups() {
            if self.kind == Kind::All {
                while let Some(t) = self.snapshot.list.get(cursor.index) {
                    if work == 0 {
                        return Ok(());
                    }
                    work -= 1;
                    cursor.index += 1;
                    if sink(&topic_entry(t, self.topic_operations, self.leaderless))? {
                        return Ok(());
                    }
                }
            } else {
                // The walk for a group ends at its last entry answered.
                let quota = self.per_group[usize::from(cursor.group)];
                let mut c = cursor.asked.take().unwrap_or_else(|| self.asked.start());
                while cursor.emitted < quota {
                    if work == 0 {
                        cursor.asked = Some(c);
                        return Ok(());
                    }
                    work -= 1;
                    let Some(a) = self.asked.next(&mut c) else { break };
                    let i = cursor.index;
                    cursor.index += 1;
                    if self.kind == Kind::Invalid || self.marks.get(i) == cursor.group + 1 {
                        cursor.emitted += 1;
                        if sink(&self.entry(cursor.group, &a))? {
                            cursor.asked = Some(c);
                            return Ok(());
                        }
                    }
                }
            }
            cursor.group += 1;
            cursor.index = 0;
            cursor.emitted = 0;
            cursor.asked = None;
        }
        Ok(())
    }

    /// The whole answer.
    pub fn into_response(self) -> MetadataResponse {
        let mut topics = Vec::with_capacity(self.count);
        let mut cursor = self.entries();
        let _ = self.next_entries::<()>(&mut cursor, usize::MAX, |t| {
            topics.push(t.clone());
            Ok(false)
        });
        MetadataResponse { topics, ..self.head }
    }
}

impl Plan<MetadataRequestView> {
    /// Decides the answer to a request read as a view (see the module docs).
    pub fn for_view(req: MetadataRequestView, view: &ClusterView) -> Self {
        let flags = Flags {
            allow_auto_topic_creation: req.allow_auto_topic_creation,
            include_cluster_authorized_operations: req.include_cluster_authorized_operations,
            include_topic_authorized_operations: req.include_topic_authorized_operations,
        };
        let (version, named) = (req.version(), req.topic_count().is_some());
        Self::new(req, named, flags, version, view)
    }
}

/// Every asked entry with its index.
fn walk<A: AskedTopics>(asked: &A) -> impl Iterator<Item = (usize, Asked<'_>)> {
    let mut c = asked.start();
    std::iter::from_fn(move || asked.next(&mut c)).enumerate()
}

/// `a == b`, without calling `memcmp` for empty slices: glibc's AVX-512
/// `memcmp` spends ~100 ns on a zero-length compare on some CPUs (a masked
/// load), which over 52 million empty names was most of a request's time.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

/// What de-duplication compares: a name as decoded, or an id.
enum Key<'a> {
    Name(Cow<'a, [u8]>),
    Id(Uuid),
}

impl std::ops::Deref for Key<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Name(n) => n,
            Self::Id(id) => id,
        }
    }
}

/// A name's bytes as Kafka's lenient decode gives them (see docs/fidelity.md,
/// "Parsing"): two names are the same topic when these are equal.
fn lossy_bytes(name: &[u8]) -> Cow<'_, [u8]> {
    match String::from_utf8_lossy(name) {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

/// Answers a Metadata request at `version`, auto-creating topics as the
/// broker would.
pub fn handle(req: &MetadataRequest, version: i16, view: &ClusterView) -> MetadataResponse {
    let flags = Flags {
        allow_auto_topic_creation: req.allow_auto_topic_creation,
        include_cluster_authorized_operations: req.include_cluster_authorized_operations,
        include_topic_authorized_operations: req.include_topic_authorized_operations,
    };
    let asked = req.topics.as_deref();
    Plan::new(asked.unwrap_or_default(), asked.is_some(), flags, version, view).into_response()
}

/// Most bytes of reply one [`MetadataReply::fill`] adds (about).
pub const REPLY_CHUNK: usize = 64 * 1024;

/// Most request entries one [`MetadataReply::fill`] looks at: a bound on
/// the time one step takes (a few milliseconds), even when a long stretch
/// of the request holds only repeats.
pub const REPLY_WORK: usize = 1 << 20;

#[derive(Debug)]
enum Stage<C> {
    Head,
    Topics(EntryCursor<C>),
    Tail,
    Done,
}

/// A Metadata reply frame encoded in chunks from a [`Plan`]: its exact size
/// is known first (every entry is encoded once into a scratch buffer), so
/// the size prefix goes out before the body is made. The bytes are exactly
/// those of `encode_response` on the whole answer.
#[derive(Debug)]
pub struct MetadataReply<A: AskedTopics> {
    plan: Plan<A>,
    correlation_id: i32,
    stage: Stage<A::Cursor>,
    body_len: usize,
}

impl<A: AskedTopics> MetadataReply<A> {
    /// Sizes the reply to request `correlation_id` (work proportional to the
    /// request; run it off the async workers for a large one).
    pub fn new(plan: Plan<A>, correlation_id: i32) -> Result<Self, EncodeError> {
        let version = plan.version;
        let mut scratch = BytesMut::new();
        Self::header(&mut scratch, correlation_id, version)?;
        plan.head.encode_head(&mut scratch, version, plan.count)?;
        plan.head.encode_tail(&mut scratch, version)?;
        let mut body_len = scratch.len();
        let mut cursor = plan.entries();
        while !plan.entries_done(&cursor) {
            plan.next_entries(&mut cursor, usize::MAX, |t| {
                scratch.clear();
                MetadataResponse::encode_topic(t, &mut scratch, version)?;
                body_len += scratch.len();
                Ok::<_, EncodeError>(false)
            })?;
        }
        if i32::try_from(body_len).is_err() {
            return Err(EncodeError::TooLong {
                what: "Metadata response",
                len: body_len,
            });
        }
        Ok(Self {
            plan,
            correlation_id,
            stage: Stage::Head,
            body_len,
        })
    }

    fn header(buf: &mut BytesMut, correlation_id: i32, version: i16) -> Result<(), EncodeError> {
        let hv = response_header_version(api_key::METADATA, version).ok_or(EncodeError::UnsupportedVersion {
            api: "Metadata",
            version,
        })?;
        ResponseHeader { correlation_id }.encode(buf, hv);
        Ok(())
    }

    /// Bytes of the whole frame, size prefix included.
    pub fn frame_len(&self) -> usize {
        4 + self.body_len
    }

    /// Whether every byte has been handed out.
    pub fn is_done(&self) -> bool {
        matches!(self.stage, Stage::Done)
    }

    /// Appends the next bytes of the frame to `out`: until `out` holds about
    /// `chunk` bytes, or `work` request entries have been looked at, or the
    /// frame is complete.
    pub fn fill(&mut self, out: &mut BytesMut, chunk: usize, work: usize) -> Result<(), EncodeError> {
        let version = self.plan.version;
        loop {
            match &mut self.stage {
                Stage::Head => {
                    // The size was checked to fit an i32 in `new`.
                    out.put_i32(i32::try_from(self.body_len).unwrap_or(i32::MAX));
                    Self::header(out, self.correlation_id, version)?;
                    self.plan.head.encode_head(out, version, self.plan.count)?;
                    self.stage = Stage::Topics(self.plan.entries());
                }
                Stage::Topics(cursor) => {
                    self.plan.next_entries(cursor, work, |t| {
                        MetadataResponse::encode_topic(t, out, version)?;
                        Ok::<_, EncodeError>(out.len() >= chunk)
                    })?;
                    if !self.plan.entries_done(cursor) {
                        return Ok(());
                    }
                    self.stage = Stage::Tail;
                }
                Stage::Tail => {
                    self.plan.head.encode_tail(out, version)?;
                    self.stage = Stage::Done;
                }
                Stage::Done => return Ok(()),
            }
            if out.len() >= chunk {
                return Ok(());
            }
        }
    }

    /// The whole frame in one buffer (for the response faults, which rewrite
    /// a whole reply).
    pub fn into_bytes(mut self) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::with_capacity(self.frame_len());
        while !self.is_done() {
            self.fill(&mut out, usize::MAX, usize::MAX)?;
        }
        Ok(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{encode_request, encode_response, RequestBody, ResponseBody};

    fn cluster(auto: bool) -> ClusterView {
        let auto_create = AutoCreate {
            enabled: auto,
            first_answer: ErrorCode::LEADER_NOT_AVAILABLE,
            partitions: 1,
            validates_names: true,
            internal_unasked: false,
            internal_answer: ErrorCode::INVALID_REPLICATION_FACTOR,
        };
        ClusterView::new(
            "h".into(),
            9092,
            "c".into(),
            &[SeededTopic::new("orders", 3), SeededTopic::new("audit", 1)],
            auto_create,
        )
    }

    /// The streamed reply to a request read in place is byte for byte the
    /// whole reply `handle` gives to the same request decoded, for every
    /// version, and both views of the cluster end up the same.
    #[test]
    fn streamed_reply_equals_the_whole_reply() {
        let by_id = |ids: &[(u8, Option<&str>)]| MetadataRequest {
            topics: Some(
                ids.iter()
                    .map(|&(b, n)| MetadataRequestTopic {
                        topic_id: [b; 16],
                        name: n.map(str::to_owned),
                    })
                    .collect(),
            ),
            ..MetadataRequest::default()
        };
        let orders_id = SeededTopic::new("orders", 3).id;
        let mut known_id = by_id(&[(0, None)]);
        if let Some(ts) = known_id.topics.as_mut() {
            ts[0].topic_id = orders_id;
            ts.push(MetadataRequestTopic {
                topic_id: [9; 16],
                name: None,
            });
            ts.push(ts[0].clone());
        }
        let many: Vec<String> = (0..5000).map(|i| format!("t{}", i % 1500)).collect();
        let requests = [
            MetadataRequest::default(),
            MetadataRequest::for_topics(Vec::<String>::new()),
            MetadataRequest::for_topics([
                "nope", "orders", "nope", "orders", "bad name", "bad name", "audit", "fresh",
            ]),
            MetadataRequest::for_topics(["", "", "", "__consumer_offsets", "a\u{fffd}"]),
            MetadataRequest::for_topics(many),
            MetadataRequest {
                include_topic_authorized_operations: true,
                include_cluster_authorized_operations: true,
                ..MetadataRequest::for_topics(["orders", "x"])
            },
            by_id(&[(1, None), (2, Some("n")), (1, None)]),
            known_id,
        ];
        for version in 0..=13i16 {
            for (i, req) in requests.iter().enumerate() {
                for auto in [true, false] {
                    let Ok(frame) = encode_request(7, Some("c"), version, &RequestBody::Metadata(req.clone())) else {
                        continue;
                    };
                    let (whole_view, streamed_view) = (cluster(auto), cluster(auto));
                    let whole = encode_response(7, version, &ResponseBody::Metadata(handle(req, version, &whole_view)));
                    // Body after the size prefix and the header v1/v2 (client id "c").
                    let at = if version >= 9 { 4 + 8 + 3 + 1 } else { 4 + 8 + 3 };
                    let frame = frame.slice(4..);
                    let view = MetadataRequestView::decode(frame, at - 4, version, false).expect("decodes");
                    let mut reply = MetadataReply::new(Plan::for_view(view, &streamed_view), 7).expect("sizes");
                    let len = reply.frame_len();
                    let mut out = BytesMut::new();
                    while !reply.is_done() {
                        reply.fill(&mut out, 100, 7).expect("fills");
                    }
                    let what = format!("request {i} v{version} auto {auto}");
                    assert_eq!(len, out.len(), "{what}: the size announced");
                    assert_eq!(Some(out.freeze()), whole.ok(), "{what}");
                    assert_eq!(whole_view.topics(), streamed_view.topics(), "{what}");
                }
            }
        }
    }

    /// Authorized operations as Kafka's `handleTopicMetadataRequest` sets
    /// them (3.8.0): on every entry `getTopicMetadata` makes when asked for,
    /// found or not, never on unknown ids; the omitted value otherwise.
    #[test]
    fn authorized_operations_are_set_where_kafka_sets_them() {
        let ops = |view: &ClusterView, version: i16, req: &MetadataRequest| {
            let r = handle(req, version, view);
            let topics: Vec<(Option<String>, i16, i32)> = r
                .topics
                .iter()
                .map(|t| (t.name.clone(), t.error_code, t.topic_authorized_operations))
                .collect();
            (topics, r.cluster_authorized_operations)
        };
        let asked = |topic: bool, cluster: bool| MetadataRequest {
            include_topic_authorized_operations: topic,
            include_cluster_authorized_operations: cluster,
            ..MetadataRequest::for_topics(["orders", "nope", "bad name"])
        };
        let view = cluster(false);
        let (topics, cluster_ops) = ops(&view, 9, &asked(true, true));
        assert_eq!(
            topics,
            [
                (Some("orders".to_owned()), 0, TOPIC_OPERATIONS),
                (Some("nope".to_owned()), 3, TOPIC_OPERATIONS),
                (Some("bad name".to_owned()), 17, TOPIC_OPERATIONS),
            ]
        );
        assert_eq!(cluster_ops, CLUSTER_OPERATIONS);
        let (topics, cluster_ops) = ops(&view, 9, &asked(false, false));
        assert!(topics.iter().all(|t| t.2 == i32::MIN), "{topics:?}");
        assert_eq!(cluster_ops, i32::MIN);

        // Unknown ids (v12+) keep the omitted value even when asked for.
        let by_id = MetadataRequest {
            include_topic_authorized_operations: true,
            topics: Some(vec![MetadataRequestTopic {
                topic_id: [7; 16],
                name: None,
            }]),
            ..MetadataRequest::default()
        };
        let (topics, _) = ops(&view, 12, &by_id);
        assert_eq!(topics, [(None, 100, i32::MIN)]);

        // Kafka 2.3–2.4 answer 0 where 2.5+ answer Int.MinValue.
        let old = cluster(false).omitting_operations_as(0);
        let (topics, cluster_ops) = ops(&old, 8, &asked(false, false));
        assert!(topics.iter().all(|t| t.2 == 0), "{topics:?}");
        assert_eq!(cluster_ops, 0);
        let (topics, cluster_ops) = ops(&old, 8, &asked(true, true));
        assert!(topics.iter().all(|t| t.2 == TOPIC_OPERATIONS), "{topics:?}");
        assert_eq!(cluster_ops, CLUSTER_OPERATIONS);
    }
}
