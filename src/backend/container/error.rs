//! The container backend's failures, each one line that says what to do.
//! Not feature-gated, so a build without containers can still name them.

use std::time::Duration;

use super::local::LocalImageError;
use crate::versions::{Mode, Release};

/// Container backend failures, each one line that says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerError {
    /// No Docker engine answers.
    #[error(
        "the container backend needs a Docker engine, and none answers ({0}); start Docker or set DOCKER_HOST, \
         or run --backend embedded"
    )]
    NoEngine(String),
    /// A registry image is absent and could not be pulled.
    #[error(
        "image {image} is not present and could not be pulled ({reason}); with no registry, use \
         --image-source local (locally built emulated images)"
    )]
    ImageUnavailable {
        /// `name:tag`.
        image: String,
        /// The engine's words.
        reason: String,
    },
    /// A local image could not be built.
    #[error("cannot build image {image}: {reason}")]
    Build {
        /// `name:tag`.
        image: String,
        /// Why.
        reason: String,
    },
    /// A binary for a local image is missing.
    #[error(transparent)]
    Local(#[from] LocalImageError),
    /// A container did not start.
    #[error("container {image} did not start: {reason}")]
    Start {
        /// `name:tag`.
        image: String,
        /// Why.
        reason: String,
    },
    /// The broker never answered the readiness check.
    #[error("{image} on {bootstrap} was not ready after {waited:?}: {last}{logs}")]
    NotReady {
        /// `name:tag`.
        image: String,
        /// The address polled.
        bootstrap: String,
        /// How long we waited.
        waited: Duration,
        /// The last readiness failure.
        last: String,
        /// The container's last log lines, if any.
        logs: String,
    },
    /// A set-up command in the container failed.
    #[error("set-up command {cmd:?} in {image} failed: {reason}")]
    Setup {
        /// `name:tag`.
        image: String,
        /// The argv.
        cmd: Vec<String>,
        /// Why.
        reason: String,
    },
    /// No published image carries this release in this mode.
    #[error("no published image runs Kafka {release} in {mode} mode (try --image-source local)")]
    NoPublishedImage {
        /// The release.
        release: Release,
        /// The mode.
        mode: Mode,
    },
    /// This build has no container backend (no `containers` feature).
    #[error("this build has no container backend (built without the `containers` feature)")]
    NotBuilt,
}
