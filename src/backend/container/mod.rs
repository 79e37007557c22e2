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
pub mod local;
pub mod spec;

#[cfg(feature = "containers")]
pub mod docker;
#[cfg(feature = "containers")]
mod run;

#[cfg(feature = "containers")]
pub use run::{ContainerRun, ContainerTarget};

use std::fmt;
use std::str::FromStr;

/// Where container images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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

impl fmt::Display for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageSource::Auto => "auto",
            ImageSource::Registry => "registry",
            ImageSource::Local => "local",
        })
    }
}

impl FromStr for ImageSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(ImageSource::Auto),
            "registry" => Ok(ImageSource::Registry),
            "local" => Ok(ImageSource::Local),
            other => Err(format!("unknown image source {other:?}; known: auto, registry, local")),
        }
    }
}
