//! Container images that carry a given Kafka release, as plain data.
//!
//! Each [`ImageRef`] is a fixed `name:tag` (never `latest`) plus an
//! [`ImageFlavor`] that says how the image must be started: the Apache images
//! run KRaft only, while `confluentinc/cp-kafka` runs either a ZooKeeper broker
//! (it then needs a `confluentinc/cp-zookeeper` container of the same tag) or,
//! from Confluent Platform 7.4 (Kafka 3.4), a KRaft broker. Which images exist
//! for which release lives in the catalog rows (`catalog.rs`); this file only
//! defines the vocabulary and picks the preferred order. Starting them is the
//! job of a later layer (testcontainers); see `docs/catalog.md` for sources.

use std::fmt;

use super::release::Mode;

/// `apache/kafka`: the ASF JVM image, published from 3.7.0 on (KIP-975).
pub const APACHE_KAFKA: &str = "apache/kafka";
/// `apache/kafka-native`: the GraalVM native image, from 3.8.0 on (KIP-974).
pub const APACHE_KAFKA_NATIVE: &str = "apache/kafka-native";
/// `confluentinc/cp-kafka`: Confluent Platform's broker image.
pub const CONFLUENT_KAFKA: &str = "confluentinc/cp-kafka";

/// How an image runs the broker, which fixes the mode it can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFlavor {
    /// `apache/kafka`, JVM, KRaft (combined broker+controller by default).
    ApacheJvm,
    /// `apache/kafka-native`, GraalVM native binary, KRaft. Marked
    /// experimental upstream (not for production), but starts much faster.
    ApacheNative,
    /// `confluentinc/cp-kafka` configured with `KAFKA_ZOOKEEPER_CONNECT`;
    /// needs a `confluentinc/cp-zookeeper` container of the same tag.
    ConfluentZk,
    /// `confluentinc/cp-kafka` configured with `KAFKA_PROCESS_ROLES`
    /// (the image's configure script supports this from CP 7.4.0).
    ConfluentKraft,
}

impl ImageFlavor {
    /// The broker mode this flavor runs.
    pub const fn mode(self) -> Mode {
        match self {
            ImageFlavor::ConfluentZk => Mode::Zk,
            ImageFlavor::ApacheJvm | ImageFlavor::ApacheNative | ImageFlavor::ConfluentKraft => Mode::Kraft,
        }
    }

    /// Whether a separate ZooKeeper container is needed.
    pub const fn requires_zookeeper(self) -> bool {
        matches!(self, ImageFlavor::ConfluentZk)
    }

    /// Lower is preferred. Apache's own JVM build first (the exact upstream
    /// artifact at the latest patch), then Apache's native build of the same
    /// source, then Confluent's CCS build (same Kafka minor, Confluent's own
    /// patch cadence).
    pub(crate) const fn preference(self) -> u8 {
        match self {
            ImageFlavor::ApacheJvm => 0,
            ImageFlavor::ApacheNative => 1,
            ImageFlavor::ConfluentKraft | ImageFlavor::ConfluentZk => 2,
        }
    }
}

/// A fixed container image reference, e.g. `apache/kafka:3.8.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ImageRef {
    /// Repository name on Docker Hub, e.g. `apache/kafka`.
    pub name: &'static str,
    /// A fixed tag, e.g. `3.8.1` or `7.8.7`; never `latest`.
    pub tag: &'static str,
    /// How to run it.
    pub flavor: ImageFlavor,
}

impl ImageRef {
    /// `apache/kafka:<tag>`.
    pub const fn apache(tag: &'static str) -> Self {
        Self {
            name: APACHE_KAFKA,
            tag,
            flavor: ImageFlavor::ApacheJvm,
        }
    }

    /// `apache/kafka-native:<tag>`.
    pub const fn apache_native(tag: &'static str) -> Self {
        Self {
            name: APACHE_KAFKA_NATIVE,
            tag,
            flavor: ImageFlavor::ApacheNative,
        }
    }

    /// `confluentinc/cp-kafka:<tag>` run against ZooKeeper.
    pub const fn confluent_zk(tag: &'static str) -> Self {
        Self {
            name: CONFLUENT_KAFKA,
            tag,
            flavor: ImageFlavor::ConfluentZk,
        }
    }

    /// `confluentinc/cp-kafka:<tag>` run in KRaft mode.
    pub const fn confluent_kraft(tag: &'static str) -> Self {
        Self {
            name: CONFLUENT_KAFKA,
            tag,
            flavor: ImageFlavor::ConfluentKraft,
        }
    }

    /// The broker mode this image serves.
    pub const fn mode(&self) -> Mode {
        self.flavor.mode()
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavor_facts() {
        assert!(ImageFlavor::ConfluentZk.requires_zookeeper());
        assert!(!ImageFlavor::ConfluentKraft.requires_zookeeper());
        assert_eq!(ImageFlavor::ApacheNative.mode(), Mode::Kraft);
        assert_eq!(ImageRef::apache("4.0.2").to_string(), "apache/kafka:4.0.2");
        let json = serde_json::to_string(&ImageRef::confluent_kraft("7.4.14")).expect("serialize");
        assert_eq!(
            json,
            r#"{"name":"confluentinc/cp-kafka","tag":"7.4.14","flavor":"confluent_kraft"}"#
        );
    }
}
