//! ApiVersions (key 18).
//!
//! Behaviour:
//! - a version the release supports: that release's table for that mode,
//!   error 0, throttle 0, at the request's version (header v0);
//! - a version it does not support: the body is *not* read; the reply is a
//!   v0 body with UNSUPPORTED_VERSION (35) and, from 2.4 (KIP-511), a single
//!   entry with the broker's ApiVersions range; before 2.4 no entries. The
//!   connection stays open;
//! - v3+ with a ClientSoftwareName/Version that fails Kafka's pattern
//!   `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?` (2.4+): INVALID_REQUEST (42)
//!   at the request's version, no entries, connection open.
//!
//! - v3+: the KIP-584 tagged fields a default broker of the release fills
//!   (`versions::features`: ZooKeeper 2.7+ epoch 0; KRaft 3.3+
//!   `metadata.version` and, in 4.x, the group/transaction/share/streams
//!   features), less the supported features with min 0 for a request below
//!   v4 from 3.9 (KAFKA-17492).
//!
//! Sources (Apache Kafka): `RequestContext.parseRequest`
//! (isUnsupportedApiVersionsRequest), `KafkaApis.handleApiVersionsRequest`,
//! `ApiVersionsRequest.getErrorResponse` and `isValid`, at tags 2.0.0, 2.3.0,
//! 2.4.0, 3.8.0, 3.9.0, 4.0.0. See docs/fidelity.md.

use crate::protocol::messages::{
    ApiVersionEntry, ApiVersionsRequest, ApiVersionsResponse, FinalizedFeature, SupportedFeature,
};
use bytes::{Bytes, BytesMut};

use crate::protocol::{api_key, encode_response, EncodeError, ErrorCode, ResponseBody};
use crate::versions::{ApiTable, Features, Quirks, Release};

use super::metadata::NODE_ID;

/// The tagged-field section of tansu 0.6.0's ApiVersions v3+ reply: all four
/// fields written out at their default values (SupportedFeatures `[]`,
/// FinalizedFeaturesEpoch -1, FinalizedFeatures `[]`, ZkMigrationReady
/// false), where Kafka writes none. Captured from tansu 0.6.0
/// (`tansu-service/src/api.rs@v0.6.0` sets all four; docs/research/behaviours.md
/// entry 10): librdkafka < 2.2.0 misreads it ("Read underflow",
/// librdkafka#4253, fixed by #4278).
pub const TANSU_TAGS: [u8; 20] = [
    4, // four tagged fields
    0, 1, 1, // tag 0, 1 byte: empty compact array
    1, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // tag 1, 8 bytes: -1
    2, 1, 1, // tag 2, 1 byte: empty compact array
    3, 1, 0, // tag 3, 1 byte: false
];

/// `reply` (v3+) encoded as tansu 0.6.0 writes it: without features, with
/// [`TANSU_TAGS`] as its tagged fields (the `tansu-tagged-fields` behaviour).
pub fn tansu_reply(correlation_id: i32, version: i16, reply: ApiVersionsResponse) -> Result<Bytes, EncodeError> {
    let plain = ApiVersionsResponse {
        supported_features: Vec::new(),
        finalized_features_epoch: -1,
        finalized_features: Vec::new(),
        zk_migration_ready: false,
        ..reply
    };
    let bytes = encode_response(correlation_id, version, &ResponseBody::ApiVersions(plain))?;
    // With every tagged field at its default the body ends in a tag count of 0.
    let mut out = BytesMut::with_capacity(bytes.len() + TANSU_TAGS.len());
    out.extend_from_slice(&bytes[..bytes.len() - 1]);
    out.extend_from_slice(&TANSU_TAGS);
    let len = out.len() - 4;
    let size = i32::try_from(len).map_err(|_| EncodeError::TooLong {
        what: "ApiVersions reply",
        len,
    })?;
    out[..4].copy_from_slice(&size.to_be_bytes());
    Ok(out.freeze())
}

/// The reply to a version the release does not support (always encoded as v0).
pub fn unsupported(table: &ApiTable, quirks: Quirks) -> ApiVersionsResponse {
    let api_keys = match (quirks.kip511_hint, table.get(api_key::API_VERSIONS)) {
        (true, Some(range)) => vec![ApiVersionEntry {
            api_key: api_key::API_VERSIONS,
            min_version: range.min,
            max_version: range.max,
        }],
        _ => Vec::new(),
    };
    ApiVersionsResponse {
        error_code: ErrorCode::UNSUPPORTED_VERSION.0,
        api_keys,
        ..ApiVersionsResponse::default()
    }
}

/// v5 (KIP-1242): the client may say which cluster and node it meant to
/// reach. As a real 4.4.0 broker answers (recorded: `docs/fidelity.md`):
/// neither given is fine; both given and both ours is fine; one without the
/// other is INVALID_REQUEST; both given and either not ours is
/// REBOOTSTRAP_REQUIRED. Either error has an empty table, and the
/// connection stays open.
fn identity_error(req: &ApiVersionsRequest, version: i16, cluster_id: &str) -> Option<ErrorCode> {
    if version < 5 {
        return None;
    }
    match (req.cluster_id.as_deref(), req.node_id) {
        (None, -1) => None,
        (Some(_), -1) | (None, _) => Some(ErrorCode::INVALID_REQUEST),
        (Some(c), n) if c == cluster_id && n == NODE_ID => None,
        (Some(_), _) => Some(ErrorCode::REBOOTSTRAP_REQUIRED),
    }
}

/// The reply to a supported version by `release`, which advertises `table`
/// and `features`.
pub fn handle(
    req: &ApiVersionsRequest,
    version: i16,
    release: Release,
    table: &ApiTable,
    features: &Features,
    quirks: Quirks,
    cluster_id: &str,
) -> ApiVersionsResponse {
    if let Some(code) = identity_error(req, version, cluster_id) {
        return ApiVersionsResponse {
            error_code: code.0,
            ..ApiVersionsResponse::default()
        };
    }
    if version >= 3
        && quirks.validates_client_software
        && !(valid_software_field(&req.client_software_name) && valid_software_field(&req.client_software_version))
    {
        return ApiVersionsResponse {
            error_code: ErrorCode::INVALID_REQUEST.0,
            ..ApiVersionsResponse::default()
        };
    }
    let mut reply = ApiVersionsResponse {
        api_keys: table
            .iter()
            .map(|e| ApiVersionEntry {
                api_key: e.key,
                min_version: e.range.min,
                max_version: e.range.max,
            })
            .collect(),
        ..ApiVersionsResponse::default()
    };
    if quirks.envelope_last {
        const ENVELOPE: i16 = 58;
        if let Some(i) = reply.api_keys.iter().position(|e| e.api_key == ENVELOPE) {
            let envelope = reply.api_keys.remove(i);
            reply.api_keys.push(envelope);
        }
    }
    if version >= 3 {
        reply.supported_features = features
            .supported_for(release, version)
            .map(|f| SupportedFeature {
                name: f.name.to_owned(),
                min_version: f.min,
                max_version: f.max,
            })
            .collect();
        reply.finalized_features = features
            .finalized
            .iter()
            .map(|f| FinalizedFeature {
                name: f.name.to_owned(),
                max_version_level: f.max,
                min_version_level: f.min,
            })
            .collect();
        reply.finalized_features_epoch = features.epoch.unwrap_or(-1);
    }
    reply
}

/// Kafka's `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`, whole string.
fn valid_software_field(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: &u8| c.is_ascii_alphanumeric();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            edge(first) && edge(last) && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_pattern_matches_kafkas() {
        for ok in ["a", "kgo", "librdkafka", "2.0.2", "kafka-python", "a.b-c"] {
            assert!(valid_software_field(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a.", "a b", "kafka_python", "é"] {
            assert!(!valid_software_field(bad), "{bad}");
        }
    }
}
