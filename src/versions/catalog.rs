//! One row per Kafka minor release: its newest patch, the broker modes it
//! has, how mature its KRaft is, and the container images that carry it.
//!
//! This is data, not logic: callers look a release up instead of writing
//! `if release >= 3.7`. Every value here has a source in `docs/catalog.md`;
//! "newest patch" and image tags are as researched for November 2026 (4.3.2
//! and 4.4.0 from recordings of the real brokers, December 2026) and will go
//! stale as new patches ship.

use std::fmt;

use super::images::ImageRef;
use super::release::{Mode, Release};

/// How far KRaft had come in a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KraftStatus {
    /// No KRaft mode (2.0–2.7).
    None,
    /// Early access / preview, not for production (2.8–3.2, KIP-500 EA).
    EarlyAccess,
    /// Production ready (3.3 on; KIP-833 marked KRaft production ready in 3.3).
    Production,
}

impl fmt::Display for KraftStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KraftStatus::None => "none",
            KraftStatus::EarlyAccess => "early access",
            KraftStatus::Production => "production",
        })
    }
}

/// Everything the crate knows about one minor release besides its API table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReleaseInfo {
    /// The minor release, e.g. `3.8`.
    pub release: Release,
    /// The newest published patch release of this minor, e.g. `"3.8.1"`.
    pub latest_patch: &'static str,
    /// The broker modes this release has, `Zk` first. Each has a table in
    /// [`super::table()`] (the `x.y.0` row set).
    pub modes: &'static [Mode],
    /// KRaft maturity in this release.
    pub kraft_status: KraftStatus,
    /// Every published image that carries this release, any mode, any order;
    /// use [`super::images()`] for the preferred ones of a mode.
    pub images: &'static [ImageRef],
}

const ZK: &[Mode] = &[Mode::Zk];
const BOTH: &[Mode] = &[Mode::Zk, Mode::Kraft];
const KRAFT: &[Mode] = &[Mode::Kraft];

const fn row(
    major: u8,
    minor: u8,
    latest_patch: &'static str,
    modes: &'static [Mode],
    kraft_status: KraftStatus,
    images: &'static [ImageRef],
) -> ReleaseInfo {
    ReleaseInfo {
        release: Release::new(major, minor),
        latest_patch,
        modes,
        kraft_status,
        images,
    }
}

use ImageRef as I;
use KraftStatus::{EarlyAccess, Production};

/// The catalog, oldest first. Sources per value: `docs/catalog.md`.
static RELEASES: [ReleaseInfo; 24] = [
    row(2, 0, "2.0.1", ZK, KraftStatus::None, &[I::confluent_zk("5.0.4")]),
    row(2, 1, "2.1.1", ZK, KraftStatus::None, &[I::confluent_zk("5.1.4")]),
    row(2, 2, "2.2.2", ZK, KraftStatus::None, &[I::confluent_zk("5.2.7")]),
    row(2, 3, "2.3.1", ZK, KraftStatus::None, &[I::confluent_zk("5.3.8")]),
    row(2, 4, "2.4.1", ZK, KraftStatus::None, &[I::confluent_zk("5.4.11")]),
    row(2, 5, "2.5.1", ZK, KraftStatus::None, &[I::confluent_zk("5.5.15")]),
    row(2, 6, "2.6.3", ZK, KraftStatus::None, &[I::confluent_zk("6.0.15")]),
    row(2, 7, "2.7.2", ZK, KraftStatus::None, &[I::confluent_zk("6.1.15")]),
    row(2, 8, "2.8.2", BOTH, EarlyAccess, &[I::confluent_zk("6.2.15")]),
    row(3, 0, "3.0.2", BOTH, EarlyAccess, &[I::confluent_zk("7.0.16")]),
    row(3, 1, "3.1.2", BOTH, EarlyAccess, &[I::confluent_zk("7.1.16")]),
    row(3, 2, "3.2.3", BOTH, EarlyAccess, &[I::confluent_zk("7.2.15")]),
    row(3, 3, "3.3.2", BOTH, Production, &[I::confluent_zk("7.3.15")]),
    row(
        3,
        4,
        "3.4.1",
        BOTH,
        Production,
        &[I::confluent_zk("7.4.14"), I::confluent_kraft("7.4.14")],
    ),
    row(
        3,
        5,
        "3.5.2",
        BOTH,
        Production,
        &[I::confluent_zk("7.5.16"), I::confluent_kraft("7.5.16")],
    ),
    row(
        3,
        6,
        "3.6.2",
        BOTH,
        Production,
        &[I::confluent_zk("7.6.13"), I::confluent_kraft("7.6.13")],
    ),
    row(
        3,
        7,
        "3.7.2",
        BOTH,
        Production,
        &[
            I::apache("3.7.2"),
            I::confluent_zk("7.7.11"),
            I::confluent_kraft("7.7.11"),
        ],
    ),
    row(
        3,
        8,
        "3.8.1",
        BOTH,
        Production,
        &[
            I::apache("3.8.1"),
            I::apache_native("3.8.1"),
            I::confluent_zk("7.8.7"),
            I::confluent_kraft("7.8.7"),
        ],
    ),
    row(
        3,
        9,
        "3.9.2",
        BOTH,
        Production,
        &[
            I::apache("3.9.2"),
            I::apache_native("3.9.2"),
            I::confluent_zk("7.9.9"),
            I::confluent_kraft("7.9.9"),
        ],
    ),
    row(
        4,
        0,
        "4.0.2",
        KRAFT,
        Production,
        &[
            I::apache("4.0.2"),
            I::apache_native("4.0.2"),
            I::confluent_kraft("8.0.7"),
        ],
    ),
    row(
        4,
        1,
        "4.1.2",
        KRAFT,
        Production,
        &[
            I::apache("4.1.2"),
            I::apache_native("4.1.2"),
            I::confluent_kraft("8.1.5"),
        ],
    ),
    row(
        4,
        2,
        "4.2.2",
        KRAFT,
        Production,
        &[
            I::apache("4.2.2"),
            I::apache_native("4.2.2"),
            I::confluent_kraft("8.2.2"),
        ],
    ),
    row(
        4,
        3,
        "4.3.2",
        KRAFT,
        Production,
        &[
            I::apache("4.3.2"),
            I::apache_native("4.3.2"),
            I::confluent_kraft("8.3.2"),
        ],
    ),
    // No cp-kafka: no evidence of a CP 8.4 image tag yet (docs/catalog.md).
    row(
        4,
        4,
        "4.4.0",
        KRAFT,
        Production,
        &[I::apache("4.4.0"), I::apache_native("4.4.0")],
    ),
];

/// Every minor release 2.0 … 4.4, oldest first (same order as [`Release::ALL`]).
pub fn releases() -> &'static [ReleaseInfo] {
    &RELEASES
}

/// The catalog row of `release`, if it is a known release.
pub fn release_info(release: Release) -> Option<&'static ReleaseInfo> {
    RELEASES
        .binary_search_by_key(&release, |info| info.release)
        .ok()
        .map(|i| &RELEASES[i])
}

/// A published Apache Kafka version the catalog does not cover.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogGap {
    /// Not `MAJOR.MINOR.PATCH`.
    #[error("{0:?} is not a Kafka version (MAJOR.MINOR.PATCH)")]
    Malformed(String),
    /// A whole minor release is missing.
    #[error("Kafka {major}.{minor} is not in the catalog (published: {version}); add a row to src/versions/catalog.rs and its ApiVersions table")]
    MissingRelease {
        /// Major.
        major: u32,
        /// Minor.
        minor: u32,
        /// The published version.
        version: String,
    },
    /// A newer patch of a catalogued minor.
    #[error("Kafka {version} is published, but the catalog's newest {release} patch is {catalog}; update latest_patch and the image tags")]
    StalePatch {
        /// The minor.
        release: Release,
        /// The published version.
        version: String,
        /// What the catalog has.
        catalog: &'static str,
    },
}

fn triple(v: &str) -> Option<[u32; 3]> {
    let mut it = v.trim().split('.').map(|p| p.parse::<u32>().ok());
    let t = [it.next()??, it.next()??, it.next()??];
    it.next().is_none().then_some(t)
}

/// Checks one published Apache Kafka version (e.g. `4.1.1`, from
/// downloads.apache.org) against the catalog: its minor must have a row,
/// and that row's newest patch must not be older. Versions before 2.0 are
/// outside the catalog's range and pass.
pub fn check_published(version: &str) -> Result<(), CatalogGap> {
    let [major, minor, _] = triple(version).ok_or_else(|| CatalogGap::Malformed(version.to_owned()))?;
    if major < 2 {
        return Ok(());
    }
    let found = u8::try_from(major)
        .ok()
        .zip(u8::try_from(minor).ok())
        .and_then(|(ma, mi)| release_info(Release::new(ma, mi)));
    let Some(info) = found else {
        return Err(CatalogGap::MissingRelease {
            major,
            minor,
            version: version.trim().to_owned(),
        });
    };
    match (triple(version), triple(info.latest_patch)) {
        (Some(published), Some(ours)) if published > ours => Err(CatalogGap::StalePatch {
            release: info.release,
            version: version.trim().to_owned(),
            catalog: info.latest_patch,
        }),
        _ => Ok(()),
    }
}

/// The images that run `release` in `mode`, preferred first (see
/// [`ImageFlavor`](super::images::ImageFlavor)). Empty when no published
/// image can: every ZooKeeper-mode release has one, but KRaft 2.8–3.3 has
/// none (no Apache image before 3.7, no KRaft support in `cp-kafka` before
/// CP 7.4).
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
    use crate::versions::images::ImageFlavor;
    use crate::versions::table::{table, tables};
    use rstest::rstest;

    #[test]
    fn published_versions_are_checked_against_the_catalog() {
        assert_eq!(check_published("3.8.1"), Ok(()));
        assert_eq!(check_published("3.8.0"), Ok(()));
        assert_eq!(check_published("1.1.1"), Ok(()));
        assert_eq!(check_published("4.4.0"), Ok(()));
        assert_eq!(check_published("4.3.2"), Ok(()));
        assert_eq!(
            check_published("4.5.0").map_err(|e| e.to_string()),
            Err("Kafka 4.5 is not in the catalog (published: 4.5.0); add a row to src/versions/catalog.rs and its ApiVersions table".into())
        );
        assert!(matches!(
            check_published("3.8.2"),
            Err(CatalogGap::StalePatch { catalog: "3.8.1", .. })
        ));
        assert!(matches!(
            check_published("4.4.1"),
            Err(CatalogGap::StalePatch { catalog: "4.4.0", .. })
        ));
        assert!(matches!(check_published("4.x"), Err(CatalogGap::Malformed(_))));
        assert!(matches!(check_published("4.1.1.1"), Err(CatalogGap::Malformed(_))));
    }

    #[test]
    fn covers_every_release_in_order() {
        let got: Vec<Release> = releases().iter().map(|i| i.release).collect();
        assert_eq!(got, Release::ALL);
        for info in releases() {
            assert_eq!(release_info(info.release), Some(info));
        }
        assert_eq!(release_info(Release::new(2, 9)), None);
        assert_eq!(release_info(Release::new(4, 5)), None);
    }

    #[test]
    fn every_catalog_mode_has_a_table_and_vice_versa() {
        for info in releases() {
            for &mode in info.modes {
                assert!(table(info.release, mode).is_some(), "{} {mode}", info.release);
            }
            assert!(info.modes.windows(2).all(|w| w[0] < w[1]), "Zk first, no duplicates");
        }
        for (release, mode, _) in tables() {
            let info = release_info(release).expect("every table's release is catalogued");
            assert!(info.modes.contains(&mode), "{release} {mode} missing from catalog");
        }
    }

    #[test]
    fn kraft_status_matches_modes() {
        for info in releases() {
            let r = info.release;
            let expected = if r < Release::new(2, 8) {
                KraftStatus::None
            } else if r <= Release::new(3, 2) {
                KraftStatus::EarlyAccess
            } else {
                KraftStatus::Production
            };
            assert_eq!(info.kraft_status, expected, "{r}");
            assert_eq!(info.modes.contains(&Mode::Kraft), expected != KraftStatus::None, "{r}");
            assert_eq!(info.modes.contains(&Mode::Zk), r <= Release::new(3, 9), "{r}");
        }
    }

    #[test]
    fn latest_patch_belongs_to_its_minor() {
        for info in releases() {
            let prefix = format!("{}.", info.release);
            let patch = info
                .latest_patch
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{} is not a {} patch", info.latest_patch, info.release));
            assert!(patch.parse::<u8>().is_ok(), "{}", info.latest_patch);
            assert_eq!(info.latest_patch.parse::<Release>(), Ok(info.release));
        }
    }

    #[test]
    fn serializes_as_strings() {
        let info = release_info(Release::new(3, 8)).expect("3.8");
        let json = serde_json::to_value(info).expect("serialize");
        assert_eq!(json["release"], "3.8");
        assert_eq!(json["latest_patch"], "3.8.1");
        assert_eq!(json["modes"], serde_json::json!(["zk", "kraft"]));
        assert_eq!(json["kraft_status"], "production");
        assert_eq!(KraftStatus::EarlyAccess.to_string(), "early access");
    }

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
        &["apache/kafka:4.3.2", "apache/kafka-native:4.3.2", "confluentinc/cp-kafka:8.3.2"]
    )]
    #[case("4.4", Mode::Kraft, &["apache/kafka:4.4.0", "apache/kafka-native:4.4.0"])]
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
}
