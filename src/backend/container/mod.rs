//! The container backend: each cell's broker in its own container(s).
//!
//! - `spec.rs`: what to start, as data (images, env, advertised listener),
//!   unit-tested for every catalog release without Docker;
//! - `local.rs`: the locally built `FROM scratch` images (emulator, tansu);
//! - `docker.rs` (feature `containers`): testcontainers and the engine.
//!
//! [`ImageSource`] picks real images from a registry or locally built
//! emulated ones; a report names the exact image of every cell.

pub mod compose;
pub mod error;
pub mod local;
pub mod spec;

#[cfg(not(feature = "containers"))]
mod absent;
#[cfg(feature = "containers")]
pub mod docker;
#[cfg(feature = "containers")]
mod run;

#[cfg(not(feature = "containers"))]
pub use absent::ContainerRun;
pub use error::ContainerError;
#[cfg(feature = "containers")]
pub use run::ContainerRun;

use crate::versions::{Mode, Release};

/// What a container cell asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerTarget {
    /// A Kafka release in a mode.
    Kafka(Release, Mode),
    /// tansu.
    Tansu,
}

impl From<ContainerTarget> for super::Target {
    fn from(t: ContainerTarget) -> Self {
        match t {
            ContainerTarget::Kafka(release, mode) => super::Target::Kafka { release, mode },
            ContainerTarget::Tansu => super::Target::Tansu,
        }
    }
}

/// Where container images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ImageSource {
    /// `registry` when a registry answers or the real images are already
    /// present, else `local`; the run says which it chose and why.
    Auto,
    /// Real Kafka images (`apache/kafka`, `confluentinc/cp-kafka`), pulled if absent.
    Registry,
    /// Locally built `kafka-matrix/emulated-kafka:<release>` images (the emulator, not Kafka).
    Local,
}

value_enum_text!(ImageSource => "image source", ImagePreference => "image preference");

/// Which published image a registry cell prefers when a release has several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ImagePreference {
    /// The catalog's order: `apache/kafka` (JVM), then `apache/kafka-native`, then `cp-kafka`.
    #[default]
    Apache,
    /// `apache/kafka-native` (GraalVM, 3.8+) where it exists.
    Native,
    /// `confluentinc/cp-kafka` (ZooKeeper, or KRaft from CP 7.4) where it exists.
    Confluent,
}

impl ImagePreference {
    /// The image of `release`/`mode` this preference picks: the preferred
    /// flavor if published, else the catalog's first choice.
    pub fn pick(
        self,
        release: crate::versions::Release,
        mode: crate::versions::Mode,
    ) -> Option<crate::versions::ImageRef> {
        use crate::versions::ImageFlavor as F;
        let all = crate::versions::images(release, mode);
        let wanted = |f: F| match self {
            ImagePreference::Apache => true,
            ImagePreference::Native => f == F::ApacheNative,
            ImagePreference::Confluent => matches!(f, F::ConfluentZk | F::ConfluentKraft),
        };
        all.iter()
            .copied()
            .find(|i| wanted(i.flavor))
            .or_else(|| all.first().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::{Mode, Release};

    #[test]
    fn image_preference_picks_the_flavor_where_published_else_the_default() {
        let pick = |p: ImagePreference, r: (u8, u8), m| p.pick(Release::new(r.0, r.1), m).map(|i| i.to_string());
        assert_eq!(
            pick(ImagePreference::Apache, (3, 8), Mode::Kraft).as_deref(),
            Some("apache/kafka:3.8.1")
        );
        assert_eq!(
            pick(ImagePreference::Native, (3, 8), Mode::Kraft).as_deref(),
            Some("apache/kafka-native:3.8.1")
        );
        assert_eq!(
            pick(ImagePreference::Confluent, (3, 8), Mode::Kraft).as_deref(),
            Some("confluentinc/cp-kafka:7.8.7")
        );
        // 3.7 has no native image: the catalog's first choice.
        assert_eq!(
            pick(ImagePreference::Native, (3, 7), Mode::Kraft).as_deref(),
            Some("apache/kafka:3.7.2")
        );
        assert_eq!(pick(ImagePreference::Native, (2, 8), Mode::Kraft), None);
        assert_eq!("native".parse(), Ok(ImagePreference::Native));
        assert!("graal".parse::<ImagePreference>().is_err());
    }
}
