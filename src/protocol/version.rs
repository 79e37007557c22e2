//! API keys and version ranges: the vocabulary every layer above shares.
//!
//! # References
//! - <https://kafka.apache.org/protocol#protocol_api_keys>

use std::fmt;

/// The API keys this crate speaks. Every other key is only ever a number
/// read from (or written into) an ApiVersions table.
pub mod api_key {
    /// Metadata (key 3).
    pub const METADATA: i16 = 3;
    /// ApiVersions (key 18).
    pub const API_VERSIONS: i16 = 18;
    /// DescribeCluster (key 60).
    pub const DESCRIBE_CLUSTER: i16 = 60;
}

/// An inclusive range of versions of one API, as an ApiVersions entry carries it.
///
/// Constructed with [`VersionRange::new`], which refuses a flipped range, so a
/// value of this type always has `min <= max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct VersionRange {
    /// Lowest supported version.
    pub min: i16,
    /// Highest supported version.
    pub max: i16,
}

impl VersionRange {
    /// `Some(range)` when `min <= max`, `None` for a flipped range.
    pub const fn new(min: i16, max: i16) -> Option<Self> {
        if min <= max {
            Some(Self { min, max })
        } else {
            None
        }
    }

    /// Whether `version` lies in the range.
    pub const fn contains(&self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }

    /// The versions both sides support, if any.
    pub fn intersect(&self, other: &VersionRange) -> Option<VersionRange> {
        VersionRange::new(self.min.max(other.min), self.max.min(other.max))
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}-v{}", self.min, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flipped_range_is_refused() {
        assert_eq!(VersionRange::new(3, 2), None);
        assert_eq!(VersionRange::new(2, 2), Some(VersionRange { min: 2, max: 2 }));
    }

    #[test]
    fn intersect_overlapping_and_disjoint() {
        let a = VersionRange { min: 0, max: 4 };
        let b = VersionRange { min: 1, max: 3 };
        assert_eq!(a.intersect(&b), Some(VersionRange { min: 1, max: 3 }));
        let c = VersionRange { min: 5, max: 6 };
        assert_eq!(a.intersect(&c), None);
        assert_eq!(format!("{a}"), "v0-v4");
    }
}
