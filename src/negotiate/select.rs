//! Picking one version per API from the client's and the broker's ranges.
//!
//! The rule, as every Kafka client applies it: use the highest version both
//! sides support, `min(client.max, broker.max)`; if that is below
//! `max(client.min, broker.min)` the ranges do not overlap and there is no
//! version to use.

use std::collections::BTreeMap;

use super::error::NegotiateError;
use crate::protocol::{api_key, VersionRange};

/// What the client can speak, per API key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientApis {
    ranges: BTreeMap<i16, (&'static str, VersionRange)>,
}

impl ClientApis {
    /// This crate's own client: ApiVersions v0–4, Metadata v0–13.
    pub fn kafka_matrix() -> Self {
        Self::default()
            .with(
                api_key::API_VERSIONS,
                "ApiVersions",
                crate::protocol::messages::api_versions::CLIENT_VERSIONS,
            )
            .with(
                api_key::METADATA,
                "Metadata",
                crate::protocol::messages::metadata::VERSIONS,
            )
    }

    /// Adds (or replaces) an API.
    pub fn with(mut self, key: i16, name: &'static str, range: VersionRange) -> Self {
        self.ranges.insert(key, (name, range));
        self
    }

    /// The client's range for `key`.
    pub fn range(&self, key: i16) -> Option<VersionRange> {
        self.ranges.get(&key).map(|(_, r)| *r)
    }

    /// Iterates `(key, name, range)`.
    pub fn iter(&self) -> impl Iterator<Item = (i16, &'static str, VersionRange)> + '_ {
        self.ranges.iter().map(|(k, (n, r))| (*k, *n, *r))
    }
}

/// The version to use for one API.
pub fn select(
    api: &'static str,
    key: i16,
    client: VersionRange,
    broker: Option<VersionRange>,
) -> Result<i16, NegotiateError> {
    let broker = broker.ok_or(NegotiateError::ApiNotSupported { api, key })?;
    let version = client.max.min(broker.max);
    if version < client.min.max(broker.min) {
        return Err(NegotiateError::NoCommonVersion {
            api,
            key,
            client,
            broker,
        });
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(min: i16, max: i16) -> VersionRange {
        VersionRange { min, max }
    }

    #[test]
    fn picks_the_lower_max() {
        assert_eq!(select("Metadata", 3, r(0, 13), Some(r(0, 12))), Ok(12));
        assert_eq!(select("Metadata", 3, r(0, 4), Some(r(0, 12))), Ok(4));
        assert_eq!(select("Metadata", 3, r(4, 4), Some(r(0, 12))), Ok(4));
    }

    #[test]
    fn disjoint_ranges_name_the_api_and_both_ranges() {
        let err = select("Fetch", 1, r(0, 3), Some(r(4, 17)));
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("no common Fetch version: client supports v0-v3, broker supports v4-v17".to_string())
        );
        let err = select("Fetch", 1, r(13, 17), Some(r(0, 12)));
        assert!(matches!(err, Err(NegotiateError::NoCommonVersion { .. })));
    }

    #[test]
    fn missing_api_is_its_own_error() {
        assert_eq!(
            select("DescribeQuorum", 55, r(0, 1), None).map_err(|e| e.to_string()),
            Err("broker does not support DescribeQuorum (key 55) at all".to_string())
        );
    }
}
