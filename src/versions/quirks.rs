//! Per-release behaviour that is not in the ApiVersions table, as data, and
//! what this crate's client negotiates with each release.
//!
//! Each field cites the Apache Kafka source it follows; docs/fidelity.md has
//! the longer story and docs/research/kafka-wire-behaviour.md the notes.

use super::release::{Mode, Release};
use super::table::table;
use crate::protocol::{api_key, ErrorCode, VersionRange};

/// Behaviour switches for one (release, mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quirks {
    /// The UNSUPPORTED_VERSION reply to ApiVersions lists the broker's
    /// ApiVersions range (KIP-511). From 2.4.0:
    /// `ApiVersionsRequest.getErrorResponse` adds the ApiVersions key; 2.0–2.3
    /// answer with an empty `api_keys` (2.3.0 `ApiVersionsRequest.java` ~L94).
    pub kip511_hint: bool,
    /// ApiVersions v3+ requests have ClientSoftwareName/Version validated
    /// (INVALID_REQUEST on failure). From 2.4.0, `ApiVersionsRequest.isValid`.
    pub validates_client_software: bool,
    /// The request header version follows the API version (v2 for flexible
    /// versions, and for any ApiVersions version above the broker's max). From
    /// 2.4.0: `RequestHeader.parse` asks `requestHeaderVersion(apiVersion)`.
    /// 2.0–2.3 parse every header with the one hand-written v1 schema (2.0.0
    /// `RequestHeader.schema()`), so bytes after client_id are never header.
    pub flexible_request_headers: bool,
    /// Metadata's controller_id: ZK brokers report the controller; KRaft
    /// brokers from 3.0 a random alive broker (3.0.0 `KRaftMetadataCache`
    /// "Choose a random broker node to report as the controller"). With one
    /// broker both are node 1, so this only documents the difference.
    pub controller_is_random_broker: bool,
    /// The first Metadata answer for a topic being auto-created. ZooKeeper
    /// brokers create it in ZooKeeper and answer LEADER_NOT_AVAILABLE (2.0.0
    /// `KafkaApis.createTopic`; 2.8.0–3.9 `AutoTopicCreationManager.createTopicsInZk`
    /// maps `REQUEST_TIMED_OUT` of its zero-timeout create to it); KRaft
    /// brokers forward CreateTopics to the controller and answer
    /// UNKNOWN_TOPIC_OR_PARTITION meanwhile (2.8.0+ `sendCreateTopicRequest`).
    pub auto_create_answer: ErrorCode,
    /// Request bodies refuse tagged fields out of ascending order (and the
    /// connection is closed): 2.4–2.7 parsed bodies through the `Struct`
    /// schemas, whose `TaggedFields.read` throws "Invalid or out-of-order
    /// tag" (2.4.0–2.7.0 `protocol/types/TaggedFields.java`); 2.8.0 parses
    /// with the generated readers, which accept any order.
    pub strict_body_tag_order: bool,
    /// An invalid topic name is answered INVALID_TOPIC_EXCEPTION even when
    /// auto-creation is not allowed: from 2.8.0 (`KafkaApis.getTopicMetadata`
    /// runs `Topic.validate`). 2.0–2.7 answer such a name
    /// UNKNOWN_TOPIC_OR_PARTITION unless a creation was attempted (2.0.0
    /// `KafkaApis.getTopicMetadata`; creating runs `Topic.validate` → 17).
    pub validates_unknown_topic_names: bool,
    /// Metadata v8+'s `cluster_authorized_operations` and
    /// `topic_authorized_operations` when the request did not ask for them:
    /// 0 on 2.3–2.4 (2.3.0/2.4.0 `KafkaApis.handleTopicMetadataRequest`
    /// `var clusterAuthorizedOperations = 0`; `MetadataResponse.TopicMetadata`'s
    /// constructor without them passes 0), Int.MinValue from 2.5.0
    /// (`var clusterAuthorizedOperations = Int.MinValue`, the constructor
    /// passes `AUTHORIZED_OPERATIONS_OMITTED`; 2.6+ the generated default).
    /// 2.0–2.2 have no Metadata v8.
    pub authorized_operations_omitted: i32,
    /// A missing internal topic (`__consumer_offsets`, `__transaction_state`)
    /// named in Metadata is created whatever auto-creation says: 2.0–2.7
    /// `KafkaApis.getTopicMetadata` calls `createInternalTopic` for it before
    /// looking at `allowAutoTopicCreation`. From 2.8 it goes through
    /// `AutoTopicCreationManager` like any other name (only when allowed).
    pub creates_internal_topics_unasked: bool,
    /// The answer while an internal topic is being created, on this
    /// emulator's single broker with Kafka's default replication factor for
    /// it (`offsets.topic.replication.factor` = 3, likewise for
    /// transactions), which one broker cannot meet. ZooKeeper:
    /// INVALID_REPLICATION_FACTOR (2.0–2.7 `createInternalTopic` answers
    /// COORDINATOR_NOT_AVAILABLE and `getTopicMetadata` turns it into 38;
    /// 2.8–3.9 `createTopicsInZk` gets 38 from `AdminUtils` "larger than
    /// available brokers"). KRaft: UNKNOWN_TOPIC_OR_PARTITION
    /// (`sendCreateTopicRequest` answers it while the controller, which will
    /// refuse, is asked). The topic is never created.
    pub internal_topic_answer: ErrorCode,
    /// The ApiVersions reply lists Envelope (58) last, after every other
    /// key, instead of in key order: KRaft 2.8–3.1, recorded from the real
    /// 2.8.2, 3.0.2 and 3.1.2 (`kafka-matrix diff`, api-versions-v*: `…, 57,
    /// 60, 61, 65, 66, 58`). Those brokers add the forwarded Envelope to the
    /// listener's API list after the rest.
    pub envelope_last: bool,
}

impl Quirks {
    /// The quirks of `release` in `mode`.
    pub fn of(release: Release, mode: Mode) -> Self {
        let since_2_4 = release >= Release::new(2, 4);
        Self {
            kip511_hint: since_2_4,
            validates_client_software: since_2_4,
            flexible_request_headers: since_2_4,
            controller_is_random_broker: mode == Mode::Kraft && release >= Release::new(3, 0),
            strict_body_tag_order: since_2_4 && release < Release::new(2, 8),
            validates_unknown_topic_names: release >= Release::new(2, 8),
            creates_internal_topics_unasked: release < Release::new(2, 8),
            internal_topic_answer: match mode {
                Mode::Zk => ErrorCode::INVALID_REPLICATION_FACTOR,
                Mode::Kraft => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            },
            envelope_last: mode == Mode::Kraft && release < Release::new(3, 2),
            authorized_operations_omitted: if release < Release::new(2, 5) { 0 } else { i32::MIN },
            auto_create_answer: match mode {
                Mode::Zk => ErrorCode::LEADER_NOT_AVAILABLE,
                Mode::Kraft => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            },
        }
    }
}

/// What the catalog says this client must negotiate with `release`/`mode`:
/// `(ApiVersions, Metadata)`. ApiVersions starts at v4; a release that
/// refuses it with a KIP-511 hint (2.4+) lands on `min(4, its max)`, one
/// without a hint (2.0–2.3) on v0.
pub fn expected_versions(release: Release, mode: Mode) -> Option<(i16, i16)> {
    let t = table(release, mode)?;
    let ours = |key, codec: VersionRange| t.get(key).and_then(|b| b.intersect(&codec)).map(|r| r.max);
    let api_versions = ours(
        api_key::API_VERSIONS,
        crate::protocol::messages::api_versions::CLIENT_VERSIONS,
    )?;
    let start = crate::protocol::messages::api_versions::CLIENT_VERSIONS.max;
    let api_versions = if api_versions == start || Quirks::of(release, mode).kip511_hint {
        api_versions
    } else {
        0
    };
    Some((
        api_versions,
        ours(api_key::METADATA, crate::protocol::messages::metadata::VERSIONS)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_versions_follow_the_catalog() {
        assert_eq!(expected_versions(Release::new(3, 8), Mode::Zk), Some((3, 12)));
        assert_eq!(expected_versions(Release::new(2, 3), Mode::Zk), Some((0, 8)));
        assert_eq!(expected_versions(Release::new(3, 9), Mode::Kraft), Some((4, 12)));
        // 4.4 advertises ApiVersions v5; this client's codec stops at v4.
        assert_eq!(expected_versions(Release::new(4, 4), Mode::Kraft), Some((4, 13)));
        assert_eq!(expected_versions(Release::new(4, 0), Mode::Zk), None);
    }
}
