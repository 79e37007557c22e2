//! Message bodies, one file per API. Each type has `encode(buf, version)` and
//! `decode(reader, version)`; the version is always explicit, because a body
//! cannot be read without knowing which version wrote it.

pub mod api_versions;
pub mod metadata;

pub use api_versions::{ApiVersionEntry, ApiVersionsRequest, ApiVersionsResponse, FinalizedFeature, SupportedFeature};
pub use metadata::{
    MetadataBroker, MetadataPartition, MetadataRequest, MetadataRequestTopic, MetadataRequestView, MetadataResponse,
    MetadataTopic, RequestTopicRef, TopicCursor,
};
