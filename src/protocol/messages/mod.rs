//! Message bodies, one file per API. Each type has `encode(buf, version)` and
//! `decode(reader, version)`; the version is always explicit, because a body
//! cannot be read without knowing which version wrote it.
//!
//! Each API is declared once, in its own file, as an [`ApiSpec`]: key, name,
//! the versions this codec handles, the first flexible (KIP-482) version and
//! whether its response header follows flexibility. Header versions
//! (`header.rs`), codec dispatch (`codec.rs`, over [`Api`], exhaustively) and
//! the tests that iterate every version all read it from there: adding a
//! version is one edit to the spec plus the fields it brings (and
//! [`Message::project`]).

pub mod api_versions;
pub mod describe_cluster;
pub mod metadata;

use std::fmt::Debug;

use bytes::BytesMut;

pub use api_versions::{
    ApiKeys, ApiVersionEntry, ApiVersionsReply, ApiVersionsRequest, ApiVersionsResponse, FinalizedFeature,
    SupportedFeature,
};
pub use describe_cluster::{DescribeClusterBroker, DescribeClusterRequest, DescribeClusterResponse};
pub use metadata::{
    BrokerEntry, MetadataBody, MetadataBroker, MetadataPartition, MetadataRequest, MetadataRequestTopic,
    MetadataRequestView, MetadataResponse, MetadataSink, MetadataTopic, PartitionEntry, RequestTopicRef, TopicCursor,
    TopicEntry,
};

use super::error::{DecodeError, EncodeError};
use super::primitives::Reader;
use super::version::VersionRange;

/// What one API is, declared once in its message file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiSpec {
    /// The API key.
    pub key: i16,
    /// The API's name, as Kafka's protocol guide spells it.
    pub name: &'static str,
    /// The versions this codec encodes and decodes.
    pub versions: VersionRange,
    /// The first flexible version (KIP-482: compact strings and arrays,
    /// tagged fields, and header v2 requests / v1 responses).
    pub first_flexible: i16,
    /// Whether the response header becomes v1 at `first_flexible`. False
    /// only for ApiVersions, whose response header is always v0 (KIP-511).
    pub flexible_response_header: bool,
}

impl ApiSpec {
    /// Whether `version` is flexible.
    pub const fn is_flexible(&self, version: i16) -> bool {
        version >= self.first_flexible
    }

    /// The request header version of `version`: 2 when flexible, else 1.
    pub const fn request_header_version(&self, version: i16) -> i16 {
        if self.is_flexible(version) {
            2
        } else {
            1
        }
    }

    /// The response header version of `version`: 1 when flexible (except
    /// ApiVersions), else 0.
    pub const fn response_header_version(&self, version: i16) -> i16 {
        if self.flexible_response_header && self.is_flexible(version) {
            1
        } else {
            0
        }
    }

    /// `Some(flexible)` for a version this codec handles.
    pub const fn flexible_if_supported(&self, version: i16) -> Option<bool> {
        if self.versions.contains(version) {
            Some(self.is_flexible(version))
        } else {
            None
        }
    }

    /// `Ok(flexible)` for a version this codec writes.
    pub fn check_encode(&self, version: i16) -> Result<bool, EncodeError> {
        let api = self.name;
        self.flexible_if_supported(version)
            .ok_or(EncodeError::UnsupportedVersion { api, version })
    }

    /// `Ok(flexible)` for a version this codec reads.
    pub fn check_decode(&self, version: i16) -> Result<bool, DecodeError> {
        let api = self.name;
        self.flexible_if_supported(version)
            .ok_or(DecodeError::UnsupportedVersion { api, version })
    }
}

/// The APIs this crate speaks. Matching on it is exhaustive, so a new API
/// cannot be left out of the codec's dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// Key 18.
    ApiVersions,
    /// Key 3.
    Metadata,
    /// Key 60.
    DescribeCluster,
}

impl Api {
    /// Every API this crate speaks.
    pub const ALL: [Api; 3] = [Api::ApiVersions, Api::Metadata, Api::DescribeCluster];

    /// Its declaration.
    pub const fn spec(self) -> &'static ApiSpec {
        match self {
            Api::ApiVersions => &api_versions::SPEC,
            Api::Metadata => &metadata::SPEC,
            Api::DescribeCluster => &describe_cluster::SPEC,
        }
    }

    /// The API with `key`, if this crate speaks it.
    pub fn from_key(key: i16) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.spec().key == key)
    }
}

/// A request or response body of an API this crate speaks.
///
/// The types also have inherent `encode`/`decode` methods of the same
/// shape (callers need no trait import); the trait lets code and tests be
/// written once over every body.
pub trait Message: Sized + Clone + PartialEq + Debug {
    /// The API the body belongs to.
    const API: Api;
    /// Whether this is the request (else the response) body.
    const IS_REQUEST: bool;

    /// The versions this codec handles.
    fn versions() -> VersionRange {
        Self::API.spec().versions
    }

    /// Writes the body at `version`.
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError>;

    /// Reads the body at `version`.
    fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError>;

    /// This value as `version` carries it: every field the version lacks
    /// set to what the decoder reports for it, and values the version
    /// cannot express (a null name where names are not nullable) replaced
    /// by the nearest one it can. `decode(encode(x.project(v), v), v) ==
    /// x.project(v)`.
    fn project(&self, version: i16) -> Self;
}

macro_rules! message {
    ($t:ty, $api:expr, $is_request:expr) => {
        impl Message for $t {
            const API: Api = $api;
            const IS_REQUEST: bool = $is_request;
            fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
                <$t>::encode(self, buf, version)
            }
            fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
                <$t>::decode(r, version)
            }
            fn project(&self, version: i16) -> Self {
                <$t>::project(self, version)
            }
        }
    };
}

message!(ApiVersionsRequest, Api::ApiVersions, true);
message!(ApiVersionsResponse, Api::ApiVersions, false);
message!(MetadataRequest, Api::Metadata, true);
message!(MetadataResponse, Api::Metadata, false);
message!(DescribeClusterRequest, Api::DescribeCluster, true);
message!(DescribeClusterResponse, Api::DescribeCluster, false);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_and_found_again() {
        for api in Api::ALL {
            assert_eq!(Api::from_key(api.spec().key), Some(api));
            assert!(api.spec().versions.contains(api.spec().first_flexible));
        }
        assert_eq!(Api::from_key(0), None);
    }
}
