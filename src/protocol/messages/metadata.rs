//! Metadata (key 3), v0–v13.
//!
//! Version notes (Kafka `MetadataRequest.json` / `MetadataResponse.json`):
//! - v0: topics is a plain array; an *empty* array means "all topics".
//! - v1: topics is nullable (null = all topics, empty = none); response adds
//!   rack, controller_id, is_internal.
//! - v2: response adds cluster_id. v3: throttle_time_ms.
//! - v4: request adds allow_auto_topic_creation.
//! - v5: partitions carry offline_replicas. v6: no format change.
//! - v7: partitions carry leader_epoch.
//! - v8: include_{cluster,topic}_authorized_operations and the matching
//!   response fields.
//! - v9: first flexible version.
//! - v10: topic ids (request and response); request topic name nullable.
//! - v11: cluster authorized operations removed (request and response).
//! - v12: response topic name nullable. v13: top-level error_code (Kafka 4.0).
//!
//! Request encoding is strict: a field set to a non-default value that the
//! version cannot carry is an [`EncodeError::FieldNotAvailable`], because
//! silently dropping it would change what is asked. Response fields the
//! version lacks are dropped, as Kafka's broker does for ignorable fields.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::messages::ApiSpec;
use crate::protocol::primitives::{
    put_array_len, put_empty_tagged_fields, put_i32_vec, put_nullable_string, put_string, put_vec, Int32s, Reader, Uuid,
};
use crate::protocol::version::{api_key, VersionRange};

/// Metadata, declared once: key 3, v0-13, flexible from v9.
pub const SPEC: ApiSpec = ApiSpec {
    key: api_key::METADATA,
    name: "Metadata",
    versions: VersionRange { min: 0, max: 13 },
    first_flexible: 9,
    flexible_response_header: true,
};

const API: &str = SPEC.name;

/// Versions of Metadata this codec handles.
pub const VERSIONS: VersionRange = SPEC.versions;

/// Kafka's "authorized operations were not requested" value (`Integer.MIN_VALUE`).
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

fn flexible(version: i16) -> bool {
    SPEC.is_flexible(version)
}

fn unsupported_encode(version: i16) -> Result<(), EncodeError> {
    SPEC.check_encode(version).map(|_| ())
}

fn unsupported_decode(version: i16) -> Result<(), DecodeError> {
    SPEC.check_decode(version).map(|_| ())
}

fn refuse(field: &'static str, version: i16) -> EncodeError {
    EncodeError::FieldNotAvailable {
        api: API,
        field,
        version,
    }
}

/// One topic asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataRequestTopic {
    /// v10+: the topic id; all zeroes when asking by name.
    pub topic_id: Uuid,
    /// The topic name; may be null from v10 when asking by id.
    pub name: Option<String>,
}

/// Metadata request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataRequest {
    /// `None` asks for all topics.
    pub topics: Option<Vec<MetadataRequestTopic>>,
    /// v4+; default true.
    pub allow_auto_topic_creation: bool,
    /// v8–v10.
    pub include_cluster_authorized_operations: bool,
    /// v8+.
    pub include_topic_authorized_operations: bool,
}

impl Default for MetadataRequest {
    fn default() -> Self {
        Self {
            topics: None,
            allow_auto_topic_creation: true,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: false,
        }
    }
}

impl MetadataRequest {
    /// A request for these topics by name (an empty list asks for none).
    pub fn for_topics<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        Self {
            topics: Some(
                names
                    .into_iter()
                    .map(|n| MetadataRequestTopic {
                        topic_id: [0; 16],
                        name: Some(n.into()),
                    })
                    .collect(),
            ),
            ..Self::default()
        }
    }

    /// Writes the body at `version`.
    pub fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        unsupported_encode(version)?;
        let flex = flexible(version);
        match (&self.topics, version) {
            // v0 has no null array: "all topics" is the empty array.
            (None, 0) => put_array_len(buf, false, Some(0), "topics")?,
            (Some(t), 0) if t.is_empty() => return Err(refuse("an empty topic list (no topics)", 0)),
            (None, _) => put_array_len(buf, flex, None, "topics")?,
            (Some(topics), _) => put_vec(buf, flex, topics, "topics", |b, t| {
                if version >= 10 {
                    b.put_slice(&t.topic_id);
                } else if t.topic_id != [0; 16] {
                    return Err(refuse("topic_id", version));
                }
                match (&t.name, version >= 10) {
                    (None, false) => return Err(refuse("a null topic name", version)),
                    (name, _) => put_nullable_string(b, flex, name.as_deref(), "topic name")?,
                }
                if flex {
                    put_empty_tagged_fields(b);
                }
                Ok(())
            })?,
        }
        if version >= 4 {
            buf.put_u8(u8::from(self.allow_auto_topic_creation));
        } else if !self.allow_auto_topic_creation {
            return Err(refuse("allow_auto_topic_creation=false", version));
        }
        if (8..=10).contains(&version) {
            buf.put_u8(u8::from(self.include_cluster_authorized_operations));
        } else if self.include_cluster_authorized_operations {
            return Err(refuse("include_cluster_authorized_operations", version));
        }
        if version >= 8 {
            buf.put_u8(u8::from(self.include_topic_authorized_operations));
        } else if self.include_topic_authorized_operations {
            return Err(refuse("include_topic_authorized_operations", version));
        }
        if flex {
            put_empty_tagged_fields(buf);
        }
        Ok(())
    }

    /// Reads the body at `version`. Bytes after the last field the version
    /// defines are not read, as Kafka's generated readers leave them (see
    /// docs/fidelity.md, "Parsing").
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        unsupported_decode(version)?;
        let flex = flexible(version);
        let topics = r.nullable_vec(flex, 2, "topics", |r| {
            let topic_id = if version >= 10 { r.uuid("topic_id")? } else { [0; 16] };
            let name = if version >= 10 {
                r.nullable_string(flex, "topic name")?
            } else {
                Some(r.string(flex, "topic name")?)
            };
            if flex {
                r.skip_tagged_fields()?;
            }
            Ok(MetadataRequestTopic { topic_id, name })
        })?;
        let topics = match (topics, version) {
            (None, 0) => return Err(DecodeError::UnexpectedNull { what: "topics" }),
            (Some(t), 0) if t.is_empty() => None,
            (t, _) => t,
        };
        let (allow_auto_topic_creation, include_cluster_authorized_operations, include_topic_authorized_operations) =
            read_flags(r, version)?;
        Ok(Self {
            topics,
            allow_auto_topic_creation,
            include_cluster_authorized_operations,
            include_topic_authorized_operations,
        })
    }
}

/// The request's fields after the topics, and its tagged fields:
/// `(allow_auto_topic_creation, include_cluster_authorized_operations,
/// include_topic_authorized_operations)`, each at its default where the
/// version lacks it.
fn read_flags(r: &mut Reader<'_>, version: i16) -> Result<(bool, bool, bool), DecodeError> {
    let allow = if version >= 4 {
        r.bool("allow_auto_topic_creation")?
    } else {
        true
    };
    let cluster = (8..=10).contains(&version) && r.bool("include_cluster_authorized_operations")?;
    let topic = version >= 8 && r.bool("include_topic_authorized_operations")?;
    if flexible(version) {
        r.skip_tagged_fields()?;
    }
    Ok((allow, cluster, topic))
}

/// A Metadata request read without copying its topic list.
///
/// [`MetadataRequest::decode`] makes an owned [`MetadataRequestTopic`] (about
/// 40 bytes of heap and struct) for every entry, and a legal 100 MiB request
/// of empty names has 52 million of them. This view checks the body exactly
/// as `decode` does (the same reads in the same order, so the same errors)
/// but keeps only the frame and where its topic array starts;
/// [`MetadataRequestView::next_topic`] walks the entries in place, each name
/// borrowed as raw bytes. Decode a name with `String::from_utf8_lossy`, as
/// `decode` does, to get the same string.
///
/// Offsets are `u32`: a frame comes behind an `int32` size prefix.
#[derive(Debug, Clone)]
pub struct MetadataRequestView {
    frame: Bytes,
    version: i16,
    /// Where the first topic entry starts in `frame`, and how many there are;
    /// `None` asks for all topics (as [`MetadataRequest::topics`]).
    topics: Option<(usize, usize)>,
    /// v4+; default true.
    pub allow_auto_topic_creation: bool,
    /// v8–v10.
    pub include_cluster_authorized_operations: bool,
    /// v8+.
    pub include_topic_authorized_operations: bool,
}

/// One entry of a request's topic array, borrowed from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTopicRef<'a> {
    /// Where the entry starts in the frame: a stable handle for
    /// [`MetadataRequestView::topic_at`].
    pub offset: u32,
    /// v10+: the topic id; all zeroes when asking by name.
    pub topic_id: Uuid,
    /// The raw bytes of the name; `None` for a null name (v10+).
    pub name: Option<&'a [u8]>,
}

/// A position in a view's topic array (see [`MetadataRequestView::next_topic`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicCursor {
    pos: usize,
    left: usize,
}

impl MetadataRequestView {
    /// Reads the body that starts at `offset` of `frame` (after the request
    /// header) at `version`, failing exactly where [`MetadataRequest::decode`]
    /// fails.
    ///
    /// `strict_tag_order` refuses tagged fields out of order, as Kafka 2.4–2.7
    /// read request bodies (see `decode_request_with`).
    pub fn decode(frame: Bytes, offset: usize, version: i16, strict_tag_order: bool) -> Result<Self, DecodeError> {
        unsupported_decode(version)?;
        let flex = flexible(version);
        let body = frame.get(offset..).ok_or(DecodeError::Truncated {
            what: "topics",
            needed: offset,
            available: frame.len(),
        })?;
        let mut r = Reader::new(body);
        r.set_strict_tag_order(strict_tag_order);
        let topics = match r.array_len(flex, 2, "topics")? {
            None if version == 0 => return Err(DecodeError::UnexpectedNull { what: "topics" }),
            None => None,
            Some(n) => {
                let start = offset + r.position();
                if u32::try_from(frame.len()).is_err() {
                    return Err(DecodeError::CountTooLarge {
                        what: "topics",
                        count: n,
                        remaining: r.remaining(),
                    });
                }
                for _ in 0..n {
                    read_topic(&mut r, version, 0)?;
                }
                // v0: an empty array asks for all topics.
                (n > 0 || version > 0).then_some((start, n))
            }
        };
        let mut out = Self {
            frame: frame.clone(),
            version,
            topics,
            allow_auto_topic_creation: true,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: false,
        };
        (
            out.allow_auto_topic_creation,
            out.include_cluster_authorized_operations,
            out.include_topic_authorized_operations,
        ) = read_flags(&mut r, version)?;
        Ok(out)
    }

    /// The version the body was read at.
    pub fn version(&self) -> i16 {
        self.version
    }

    /// The frame the view reads from.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// How many topics are named; `None` asks for all topics.
    pub fn topic_count(&self) -> Option<usize> {
        self.topics.map(|(_, n)| n)
    }

    /// A cursor at the first topic entry; `None` asks for all topics.
    pub fn topic_cursor(&self) -> Option<TopicCursor> {
        self.topics.map(|(pos, left)| TopicCursor { pos, left })
    }

    /// The entry at `cursor`, moving the cursor past it; `None` at the end.
    pub fn next_topic(&self, cursor: &mut TopicCursor) -> Option<RequestTopicRef<'_>> {
        if cursor.left == 0 {
            return None;
        }
        let mut r = Reader::new(self.frame.get(cursor.pos..)?);
        // Checked by `decode`: cannot fail on the entries it walked.
        let topic = read_topic(&mut r, self.version, cursor.pos).ok()?;
        cursor.pos += r.position();
        cursor.left -= 1;
        Some(topic)
    }

    /// The entry that starts at `offset` (a [`RequestTopicRef::offset`]).
    pub fn topic_at(&self, offset: u32) -> Option<RequestTopicRef<'_>> {
        let pos = offset as usize;
        read_topic(&mut Reader::new(self.frame.get(pos..)?), self.version, pos).ok()
    }

    /// The owned request [`MetadataRequest::decode`] gives for the same bytes.
    pub fn to_request(&self) -> MetadataRequest {
        let topics = self.topic_cursor().map(|mut c| {
            let mut out = Vec::new();
            while let Some(t) = self.next_topic(&mut c) {
                out.push(MetadataRequestTopic {
                    topic_id: t.topic_id,
                    name: t.name.map(|n| String::from_utf8_lossy(n).into_owned()),
                });
            }
            out
        });
        MetadataRequest {
            topics,
            allow_auto_topic_creation: self.allow_auto_topic_creation,
            include_cluster_authorized_operations: self.include_cluster_authorized_operations,
            include_topic_authorized_operations: self.include_topic_authorized_operations,
        }
    }
}

/// One request topic entry, as `MetadataRequest::decode` reads it; `base` is
/// the reader's offset in the frame.
fn read_topic<'a>(r: &mut Reader<'a>, version: i16, base: usize) -> Result<RequestTopicRef<'a>, DecodeError> {
    let flex = flexible(version);
    // The frame fits an i32 (checked by the caller of `decode`), so this fits a u32.
    let offset = u32::try_from(base + r.position()).unwrap_or(u32::MAX);
    let topic_id = if version >= 10 { r.uuid("topic_id")? } else { [0; 16] };
    let name = r.nullable_bytes_of_string(flex, "topic name")?;
    if name.is_none() && version < 10 {
        return Err(DecodeError::UnexpectedNull { what: "topic name" });
    }
    if flex {
        r.skip_tagged_fields()?;
    }
    Ok(RequestTopicRef { offset, topic_id, name })
}

/// A broker in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataBroker {
    /// Broker id.
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// v1+: rack.
    pub rack: Option<String>,
}

/// One partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataPartition {
    /// Partition-level error.
    pub error_code: i16,
    /// Partition number.
    pub partition_index: i32,
    /// Leader broker id, -1 if none.
    pub leader_id: i32,
    /// v7+: leader epoch, -1 if unknown.
    pub leader_epoch: i32,
    /// Replica broker ids.
    pub replica_nodes: Vec<i32>,
    /// In-sync replica ids.
    pub isr_nodes: Vec<i32>,
    /// v5+: offline replica ids.
    pub offline_replicas: Vec<i32>,
}

/// One topic in the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataTopic {
    /// Topic-level error, e.g. 3 UNKNOWN_TOPIC_OR_PARTITION.
    pub error_code: i16,
    /// Topic name; may be null from v12 (a topic asked for by an unknown id).
    pub name: Option<String>,
    /// v10+: topic id.
    pub topic_id: Uuid,
    /// v1+.
    pub is_internal: bool,
    /// The partitions.
    pub partitions: Vec<MetadataPartition>,
    /// v8+; [`AUTHORIZED_OPERATIONS_OMITTED`] unless requested.
    pub topic_authorized_operations: i32,
}

/// Metadata response body: [`MetadataBody`] with this module's entry types.
pub type MetadataResponse = MetadataBody<MetadataBroker, MetadataTopic>;

impl Default for MetadataResponse {
    fn default() -> Self {
        Self {
            throttle_time_ms: 0,
            brokers: Vec::new(),
            cluster_id: None,
            controller_id: -1,
            topics: Vec::new(),
            cluster_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
            error_code: 0,
        }
    }
}

impl MetadataResponse {
    /// Writes the body at `version`; fields the version lacks are dropped.
    pub fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        self.encode_head(buf, version, self.topics.len())?;
        for t in &self.topics {
            Self::encode_topic(t, buf, version)?;
        }
        self.encode_tail(buf, version)
    }

    /// Writes the part of the body before the topic entries, ending with a
    /// topic array length of `topic_count` (`self.topics` is not looked at).
    /// With [`MetadataResponse::encode_topic`] for each entry and then
    /// [`MetadataResponse::encode_tail`], this writes exactly what
    /// [`MetadataResponse::encode`] writes, so that a reply with millions of
    /// topics can be encoded piece by piece without holding them all.
    pub fn encode_head(&self, buf: &mut BytesMut, version: i16, topic_count: usize) -> Result<(), EncodeError> {
        unsupported_encode(version)?;
        let flex = flexible(version);
        if version >= 3 {
            buf.put_i32(self.throttle_time_ms);
        }
        put_vec(buf, flex, &self.brokers, "brokers", |b, br| {
            b.put_i32(br.node_id);
            put_string(b, flex, &br.host, "host")?;
            b.put_i32(br.port);
            if version >= 1 {
                put_nullable_string(b, flex, br.rack.as_deref(), "rack")?;
            }
            if flex {
                put_empty_tagged_fields(b);
            }
            Ok(())
        })?;
        if version >= 2 {
            put_nullable_string(buf, flex, self.cluster_id.as_deref(), "cluster_id")?;
        }
        if version >= 1 {
            buf.put_i32(self.controller_id);
        }
        put_array_len(buf, flex, Some(topic_count), "topics")
    }

    /// Writes one topic entry at `version` (see [`MetadataResponse::encode_head`]).
    pub fn encode_topic(t: &MetadataTopic, b: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        unsupported_encode(version)?;
        let flex = flexible(version);
        b.put_i16(t.error_code);
        match (&t.name, version >= 12) {
            (None, false) => return Err(refuse("a null topic name", version)),
            (name, _) => put_nullable_string(b, flex, name.as_deref(), "topic name")?,
        }
        if version >= 10 {
            b.put_slice(&t.topic_id);
        }
        if version >= 1 {
            b.put_u8(u8::from(t.is_internal));
        }
        put_vec(b, flex, &t.partitions, "partitions", |b, p| {
            b.put_i16(p.error_code);
            b.put_i32(p.partition_index);
            b.put_i32(p.leader_id);
            if version >= 7 {
                b.put_i32(p.leader_epoch);
            }
            put_i32_vec(b, flex, &p.replica_nodes, "replica_nodes")?;
            put_i32_vec(b, flex, &p.isr_nodes, "isr_nodes")?;
            if version >= 5 {
                put_i32_vec(b, flex, &p.offline_replicas, "offline_replicas")?;
            }
            if flex {
                put_empty_tagged_fields(b);
            }
            Ok(())
        })?;
        if version >= 8 {
            b.put_i32(t.topic_authorized_operations);
        }
        if flex {
            put_empty_tagged_fields(b);
        }
        Ok(())
    }

    /// Writes the part of the body after the topic entries (see
    /// [`MetadataResponse::encode_head`]).
    pub fn encode_tail(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        unsupported_encode(version)?;
        if (8..=10).contains(&version) {
            buf.put_i32(self.cluster_authorized_operations);
        }
        if version >= 13 {
            buf.put_i16(self.error_code);
        }
        if flexible(version) {
            put_empty_tagged_fields(buf);
        }
        Ok(())
    }

    /// Reads the body at `version`. Bytes after the last field the version
    /// defines are not read, as Kafka's generated readers leave them (see
    /// docs/fidelity.md, "Parsing").
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        Self::decode_into(r, version, &mut Owned)
    }

    /// Reads the body at `version` as [`MetadataResponse::decode`] does, with
    /// each broker, partition and topic entry built by `sink` from the entry
    /// as read (its strings and id lists borrowed from the message). A caller
    /// that keeps other types than these gets them in one pass, without
    /// building these first.
    pub fn decode_into<S: MetadataSink>(
        r: &mut Reader<'_>,
        version: i16,
        sink: &mut S,
    ) -> Result<MetadataBody<S::Broker, S::Topic>, DecodeError> {
        unsupported_decode(version)?;
        let flex = flexible(version);
        let throttle_time_ms = if version >= 3 { r.i32("throttle_time_ms")? } else { 0 };
        let brokers = r.vec(flex, 10, "brokers", |r| {
            let b = BrokerEntry {
                node_id: r.i32("node_id")?,
                host: r.str(flex, "host")?,
                port: r.i32("port")?,
                rack: if version >= 1 {
                    r.nullable_str(flex, "rack")?
                } else {
                    None
                },
            };
            if flex {
                r.skip_tagged_fields()?;
            }
            Ok(sink.broker(b))
        })?;
        let cluster_id = if version >= 2 {
            r.nullable_string(flex, "cluster_id")?
        } else {
            None
        };
        let controller_id = if version >= 1 { r.i32("controller_id")? } else { -1 };
        let topics = r.vec(flex, 8, "topics", |r| {
            let error_code = r.i16("topic error_code")?;
            let name = if version >= 12 {
                r.nullable_str(flex, "topic name")?
            } else {
                Some(r.str(flex, "topic name")?)
            };
            let topic_id = if version >= 10 { r.uuid("topic_id")? } else { [0; 16] };
            let is_internal = version >= 1 && r.bool("is_internal")?;
            let partitions = r.vec(flex, 14, "partitions", |r| {
                let p = PartitionEntry {
                    error_code: r.i16("partition error_code")?,
                    partition_index: r.i32("partition_index")?,
                    leader_id: r.i32("leader_id")?,
                    leader_epoch: if version >= 7 { r.i32("leader_epoch")? } else { -1 },
                    replica_nodes: r.i32s(flex, "replica_nodes")?,
                    isr_nodes: r.i32s(flex, "isr_nodes")?,
                    offline_replicas: if version >= 5 {
                        r.i32s(flex, "offline_replicas")?
                    } else {
                        Int32s::EMPTY
                    },
                };
                if flex {
                    r.skip_tagged_fields()?;
                }
                Ok(sink.partition(p))
            })?;
            let topic_authorized_operations = if version >= 8 {
                r.i32("topic_authorized_operations")?
            } else {
                AUTHORIZED_OPERATIONS_OMITTED
            };
            if flex {
                r.skip_tagged_fields()?;
            }
            let t = TopicEntry {
                error_code,
                name,
                topic_id,
                is_internal,
                topic_authorized_operations,
            };
            Ok(sink.topic(t, partitions))
        })?;
        let cluster_authorized_operations = if (8..=10).contains(&version) {
            r.i32("cluster_authorized_operations")?
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        };
        let error_code = if version >= 13 { r.i16("error_code")? } else { 0 };
        if flex {
            r.skip_tagged_fields()?;
        }
        Ok(MetadataBody {
            throttle_time_ms,
            brokers,
            cluster_id,
            controller_id,
            topics,
            cluster_authorized_operations,
            error_code,
        })
    }
}

/// A broker entry of a Metadata response as read ([`MetadataSink`]).
#[derive(Debug, Clone)]
pub struct BrokerEntry<'a> {
    /// Broker id.
    pub node_id: i32,
    /// Advertised host.
    pub host: Cow<'a, str>,
    /// Advertised port.
    pub port: i32,
    /// v1+: rack.
    pub rack: Option<Cow<'a, str>>,
}

/// A partition entry as read ([`MetadataSink`]); fields as in [`MetadataPartition`].
#[derive(Debug, Clone)]
pub struct PartitionEntry<'a> {
    /// Partition-level error.
    pub error_code: i16,
    /// Partition number.
    pub partition_index: i32,
    /// Leader broker id, -1 if none.
    pub leader_id: i32,
    /// v7+: leader epoch, -1 if unknown.
    pub leader_epoch: i32,
    /// Replica broker ids.
    pub replica_nodes: Int32s<'a>,
    /// In-sync replica ids.
    pub isr_nodes: Int32s<'a>,
    /// v5+: offline replica ids.
    pub offline_replicas: Int32s<'a>,
}

/// A topic entry as read, without its partitions ([`MetadataSink`]); fields
/// as in [`MetadataTopic`].
#[derive(Debug, Clone)]
pub struct TopicEntry<'a> {
    /// Topic-level error.
    pub error_code: i16,
    /// Topic name; may be null from v12.
    pub name: Option<Cow<'a, str>>,
    /// v10+: topic id.
    pub topic_id: Uuid,
    /// v1+.
    pub is_internal: bool,
    /// v8+; [`AUTHORIZED_OPERATIONS_OMITTED`] unless requested.
    pub topic_authorized_operations: i32,
}

/// What [`MetadataResponse::decode_into`] turns each entry into, as it is
/// read: a topic's partitions are built before the topic.
pub trait MetadataSink {
    /// What a broker entry becomes.
    type Broker;
    /// What a partition entry becomes.
    type Partition;
    /// What a topic entry becomes, given its partitions.
    type Topic;
    /// Builds a broker.
    fn broker(&mut self, b: BrokerEntry<'_>) -> Self::Broker;
    /// Builds a partition.
    fn partition(&mut self, p: PartitionEntry<'_>) -> Self::Partition;
    /// Builds a topic from its entry and its partitions.
    fn topic(&mut self, t: TopicEntry<'_>, partitions: Vec<Self::Partition>) -> Self::Topic;
}

/// A Metadata response body, with broker entries `B` and topic entries `T`:
/// the protocol's own ([`MetadataResponse`]) or the caller's
/// ([`MetadataResponse::decode_into`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataBody<B, T> {
    /// v3+.
    pub throttle_time_ms: i32,
    /// The brokers.
    pub brokers: Vec<B>,
    /// v2+.
    pub cluster_id: Option<String>,
    /// v1+; -1 if unknown.
    pub controller_id: i32,
    /// The topics.
    pub topics: Vec<T>,
    /// v8–v10; [`AUTHORIZED_OPERATIONS_OMITTED`] unless requested.
    pub cluster_authorized_operations: i32,
    /// v13+: top-level error.
    pub error_code: i16,
}

/// The sink of [`MetadataResponse::decode`]: this module's own types.
struct Owned;

impl MetadataSink for Owned {
    type Broker = MetadataBroker;
    type Partition = MetadataPartition;
    type Topic = MetadataTopic;

    fn broker(&mut self, b: BrokerEntry<'_>) -> MetadataBroker {
        MetadataBroker {
            node_id: b.node_id,
            host: b.host.into_owned(),
            port: b.port,
            rack: b.rack.map(Cow::into_owned),
        }
    }

    fn partition(&mut self, p: PartitionEntry<'_>) -> MetadataPartition {
        MetadataPartition {
            error_code: p.error_code,
            partition_index: p.partition_index,
            leader_id: p.leader_id,
            leader_epoch: p.leader_epoch,
            replica_nodes: p.replica_nodes.iter().collect(),
            isr_nodes: p.isr_nodes.iter().collect(),
            offline_replicas: p.offline_replicas.iter().collect(),
        }
    }

    fn topic(&mut self, t: TopicEntry<'_>, partitions: Vec<MetadataPartition>) -> MetadataTopic {
        MetadataTopic {
            error_code: t.error_code,
            name: t.name.map(Cow::into_owned),
            topic_id: t.topic_id,
            is_internal: t.is_internal,
            partitions,
            topic_authorized_operations: t.topic_authorized_operations,
        }
    }
}

impl MetadataRequest {
    /// This request as `version` carries it (see [`super::Message::project`]).
    pub fn project(&self, version: i16) -> Self {
        let mut x = self.clone();
        for t in x.topics.iter_mut().flatten() {
            if version < 10 {
                // No topic ids, and the name is not nullable, below v10.
                t.topic_id = [0; 16];
                t.name = Some(t.name.take().unwrap_or_default());
            }
        }
        if version == 0 && x.topics.as_ref().is_some_and(Vec::is_empty) {
            // v0 cannot ask for "no topics": its empty array means "all topics".
            x.topics = None;
        }
        if version < 4 {
            x.allow_auto_topic_creation = true;
        }
        if !(8..=10).contains(&version) {
            x.include_cluster_authorized_operations = false;
        }
        if version < 8 {
            x.include_topic_authorized_operations = false;
        }
        x
    }
}

impl MetadataResponse {
    /// This response as `version` carries it (see [`super::Message::project`]).
    pub fn project(&self, version: i16) -> Self {
        let v = version;
        let mut x = self.clone();
        if v < 3 {
            x.throttle_time_ms = 0;
        }
        if v < 1 {
            x.brokers.iter_mut().for_each(|b| b.rack = None);
            x.controller_id = -1;
        }
        if v < 2 {
            x.cluster_id = None;
        }
        for t in &mut x.topics {
            if v < 12 {
                // Topic names are nullable only from v12.
                t.name = Some(t.name.take().unwrap_or_default());
            }
            if v < 10 {
                t.topic_id = [0; 16];
            }
            if v < 1 {
                t.is_internal = false;
            }
            if v < 8 {
                t.topic_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
            }
            for p in &mut t.partitions {
                if v < 7 {
                    p.leader_epoch = -1;
                }
                if v < 5 {
                    p.offline_replicas.clear();
                }
            }
        }
        if !(8..=10).contains(&v) {
            x.cluster_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
        }
        if v < 13 {
            x.error_code = 0;
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_req(req: &MetadataRequest, v: i16) -> Result<Vec<u8>, EncodeError> {
        let mut b = BytesMut::new();
        req.encode(&mut b, v).map(|()| b.to_vec())
    }

    #[test]
    fn all_topics_is_an_empty_array_at_v0_and_null_from_v1() {
        let all = MetadataRequest::default();
        assert_eq!(encode_req(&all, 0), Ok(vec![0, 0, 0, 0]));
        assert_eq!(encode_req(&all, 1), Ok(vec![0xff, 0xff, 0xff, 0xff]));
        // v9 flexible: null compact array (0), allow_auto=1, cluster ops=0, topic ops=0, tags=0
        assert_eq!(encode_req(&all, 9), Ok(vec![0, 1, 0, 0, 0]));
        assert_eq!(encode_req(&all, 11), Ok(vec![0, 1, 0, 0]));
        assert_eq!(
            MetadataRequest::decode(&mut Reader::new(&[0, 0, 0, 0]), 0),
            Ok(MetadataRequest::default())
        );
        let none = MetadataRequest::for_topics(Vec::<String>::new());
        assert_eq!(
            encode_req(&none, 0).map_err(|e| e.to_string()),
            Err("an empty topic list (no topics) cannot be sent in Metadata v0".to_string())
        );
    }

    #[test]
    fn request_fields_the_version_lacks_are_refused() {
        let mut req = MetadataRequest::for_topics(["a"]);
        req.allow_auto_topic_creation = false;
        assert!(matches!(
            encode_req(&req, 3),
            Err(EncodeError::FieldNotAvailable { .. })
        ));
        assert!(encode_req(&req, 4).is_ok());
        let by_id = MetadataRequest {
            topics: Some(vec![MetadataRequestTopic {
                topic_id: [1; 16],
                name: None,
            }]),
            ..MetadataRequest::default()
        };
        assert!(matches!(
            encode_req(&by_id, 9),
            Err(EncodeError::FieldNotAvailable { field: "topic_id", .. })
        ));
        assert!(encode_req(&by_id, 10).is_ok());
    }

    #[test]
    fn response_null_name_needs_v12() {
        let resp = MetadataResponse {
            topics: vec![MetadataTopic {
                error_code: 100,
                name: None,
                topic_id: [7; 16],
                is_internal: false,
                partitions: vec![],
                topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
            }],
            ..MetadataResponse::default()
        };
        let mut b = BytesMut::new();
        assert!(resp.encode(&mut b, 11).is_err());
        let mut b = BytesMut::new();
        resp.encode(&mut b, 12).expect("v12 allows a null name");
        assert_eq!(MetadataResponse::decode(&mut Reader::new(&b), 12), Ok(resp));
    }

    #[test]
    fn v0_response_bytes() {
        let resp = MetadataResponse {
            brokers: vec![MetadataBroker {
                node_id: 1,
                host: "h".into(),
                port: 9092,
                rack: None,
            }],
            topics: vec![MetadataTopic {
                error_code: 0,
                name: Some("t".into()),
                topic_id: [0; 16],
                is_internal: false,
                partitions: vec![MetadataPartition {
                    error_code: 0,
                    partition_index: 0,
                    leader_id: 1,
                    leader_epoch: -1,
                    replica_nodes: vec![1],
                    isr_nodes: vec![1],
                    offline_replicas: vec![],
                }],
                topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
            }],
            ..MetadataResponse::default()
        };
        let mut b = BytesMut::new();
        resp.encode(&mut b, 0).expect("encodes");
        #[rustfmt::skip]
        let want: &[u8] = &[
            0, 0, 0, 1, /* broker */ 0, 0, 0, 1, 0, 1, b'h', 0, 0, 0x23, 0x84,
            0, 0, 0, 1, /* topic */ 0, 0, 0, 1, b't',
            0, 0, 0, 1, /* partition */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
        ];
        assert_eq!(&b[..], want);
        assert_eq!(MetadataResponse::decode(&mut Reader::new(&b), 0), Ok(resp));
    }

    /// The view accepts and refuses exactly what `decode` does, and sees the same request.
    fn same_as_decode(bytes: &[u8], version: i16) {
        let owned = MetadataRequest::decode(&mut Reader::new(bytes), version);
        // Behind a few header bytes, so offsets are exercised.
        let mut frame = vec![9u8; 3];
        frame.extend_from_slice(bytes);
        let view = MetadataRequestView::decode(Bytes::from(frame), 3, version, false);
        assert_eq!(
            view.map(|v| v.to_request()),
            owned,
            "version {version}, bytes {bytes:?}"
        );
    }

    #[test]
    fn view_matches_decode_on_every_version() {
        let named = MetadataRequest {
            include_topic_authorized_operations: true,
            ..MetadataRequest::for_topics(["a", "", "orders", "a"])
        };
        let by_id = MetadataRequest {
            topics: Some(vec![
                MetadataRequestTopic {
                    topic_id: [3; 16],
                    name: None,
                },
                MetadataRequestTopic {
                    topic_id: [0; 16],
                    name: Some("x".into()),
                },
            ]),
            ..MetadataRequest::default()
        };
        for version in 0..=13 {
            for req in [&MetadataRequest::default(), &named, &by_id] {
                let Ok(bytes) = encode_req(req, version) else { continue };
                same_as_decode(&bytes, version);
                // Every truncation, and trailing bytes.
                for cut in 0..bytes.len() {
                    same_as_decode(&bytes[..cut], version);
                }
                let mut longer = bytes.clone();
                longer.extend_from_slice(&[1, 2, 3]);
                same_as_decode(&longer, version);
            }
        }
        // v0 null array; invalid UTF-8 (decoded leniently by both).
        same_as_decode(&[0xff, 0xff, 0xff, 0xff], 0);
        same_as_decode(&[0, 0, 0, 1, 0, 2, 0x80, b'a'], 1);
        same_as_decode(&[0, 0, 0, 1, 0xff, 0xff], 1);
    }

    #[test]
    fn view_walks_entries_in_place_and_finds_them_by_offset() {
        let bytes = encode_req(&MetadataRequest::for_topics(["ab", "", "c"]), 1).expect("encodes");
        let view = MetadataRequestView::decode(Bytes::from(bytes), 0, 1, false).expect("decodes");
        let mut c = view.topic_cursor().expect("named");
        let mut seen = vec![];
        while let Some(t) = view.next_topic(&mut c) {
            assert_eq!(view.topic_at(t.offset), Some(t));
            seen.push((t.offset, t.name.map(<[u8]>::to_vec)));
        }
        assert_eq!(
            seen,
            vec![(4, Some(b"ab".to_vec())), (8, Some(vec![])), (10, Some(b"c".to_vec()))]
        );
        assert_eq!(view.topic_count(), Some(3));
    }

    proptest::proptest! {
        #[test]
        fn view_matches_decode_on_random_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), version in 0i16..=14) {
            same_as_decode(&bytes, version);
        }
    }
}
