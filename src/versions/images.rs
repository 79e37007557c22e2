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

use super::catalog::release_info;
use super::release::{Mode, Release};

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
    const fn preference(self) -> u8 {
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

/// The images that run `release` in `mode`, preferred first (see
/// [`ImageFlavor`]). Empty when no published image can: every ZooKeeper-mode
/// release has one, but KRaft 2.8–3.3 has none (no Apache image before 3.7,
/// no KRaft support in `cp-kafka` before CP 7.4).
pub fn images(release: Release, mode: Mode) -> Vec<ImageRef> {
    let Some(info) = release_info(release) else {
        return Vec::new();
    };
    let mut out: Vec<ImageRef> = info.images.iter().copied().filter(|i| i.mode() == mode).collect();
    out.sort_by_key(|i| i.flavor.preference());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::catalog::releases;
    use rstest::rstest;

    fn r(s: &str) -> Release {
        s.parse().expect("known release")
    }

    /// The Confluent Platform minor that ships each Kafka minor (Confluent's
    /// "Supported Versions and Interoperability" table).
    fn cp_line(release: Release) -> String {
        match (release.major, release.minor) {
            (2, m @ 0..=5) => format!("5.{m}"),
            (2, m @ 6..=8) => format!("6.{}", m - 6),
            (3, m) => format!("7.{m}"),
            (4, m) => format!("8.{m}"),
            _ => unreachable!("{release}"),
        }
    }

    #[test]
    fn every_image_is_consistent_with_its_release() {
        for info in releases() {
            let rel = info.release;
            for img in info.images {
                assert!(info.modes.contains(&img.mode()), "{rel}: {img} serves a missing mode");
                assert_ne!(img.tag, "latest");
                match img.flavor {
                    ImageFlavor::ApacheJvm => {
                        assert!(rel >= r("3.7"), "{rel}: {img}");
                        assert_eq!(img.tag, info.latest_patch, "{rel}");
                    }
                    ImageFlavor::ApacheNative => {
                        assert!(rel >= r("3.8"), "{rel}: {img}");
                        assert_eq!(img.tag, info.latest_patch, "{rel}");
                    }
                    ImageFlavor::ConfluentZk | ImageFlavor::ConfluentKraft => {
                        let line = cp_line(rel);
                        assert!(img.tag.starts_with(&format!("{line}.")), "{rel}: {img}");
                        if img.flavor == ImageFlavor::ConfluentKraft {
                            assert!(rel >= r("3.4"), "{rel}: cp-kafka KRaft needs CP 7.4");
                        }
                    }
                }
            }
        }
    }

    #[rstest]
    #[case("2.0", Mode::Zk, &["confluentinc/cp-kafka:5.0.4"])]
    #[case("2.8", Mode::Zk, &["confluentinc/cp-kafka:6.2.15"])]
    #[case("2.8", Mode::Kraft, &[])]
    #[case("3.3", Mode::Kraft, &[])]
    #[case("3.4", Mode::Kraft, &["confluentinc/cp-kafka:7.4.14"])]
    #[case("3.7", Mode::Kraft, &["apache/kafka:3.7.2", "confluentinc/cp-kafka:7.7.11"])]
    #[case("3.7", Mode::Zk, &["confluentinc/cp-kafka:7.7.11"])]
    #[case(
        "3.8",
        Mode::Kraft,
        &["apache/kafka:3.8.1", "apache/kafka-native:3.8.1", "confluentinc/cp-kafka:7.8.7"]
    )]
    #[case("3.9", Mode::Zk, &["confluentinc/cp-kafka:7.9.9"])]
    #[case("4.0", Mode::Zk, &[])]
    #[case(
        "4.3",
        Mode::Kraft,
        &["apache/kafka:4.3.1", "apache/kafka-native:4.3.1", "confluentinc/cp-kafka:8.3.2"]
    )]
    fn preferred_images(#[case] release: &str, #[case] mode: Mode, #[case] expected: &[&str]) {
        let got: Vec<String> = images(r(release), mode).iter().map(ToString::to_string).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn every_zk_release_and_kraft_from_3_4_has_an_image() {
        for info in releases() {
            for &mode in info.modes {
                let imgs = images(info.release, mode);
                let expect_some = mode == Mode::Zk || info.release >= r("3.4");
                assert_eq!(!imgs.is_empty(), expect_some, "{} {mode}", info.release);
                assert!(imgs.iter().all(|i| i.mode() == mode));
                assert!(imgs
                    .windows(2)
                    .all(|w| w[0].flavor.preference() <= w[1].flavor.preference()));
            }
        }
    }

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
