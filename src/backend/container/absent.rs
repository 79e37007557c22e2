//! A build without the `containers` feature: the container run is a type
//! with no values, so code above the backend names it without a `cfg`, and
//! setting one up says why it cannot be.

use std::path::{Path, PathBuf};

use super::local::LocalImageError;
use super::{ContainerError, ContainerTarget, ImagePreference, ImageSource};
use crate::backend::BrokerKind;

/// No container backend in this build; never constructed.
#[derive(Debug)]
pub enum ContainerRun {}

impl ContainerRun {
    /// Always [`ContainerError::NotBuilt`].
    pub async fn new(source: ImageSource, root: &Path) -> Result<Self, ContainerError> {
        Self::with_preference(source, ImagePreference::default(), root).await
    }

    /// Always [`ContainerError::NotBuilt`].
    pub async fn with_preference(_: ImageSource, _: ImagePreference, _: &Path) -> Result<Self, ContainerError> {
        Err(ContainerError::NotBuilt)
    }

    /// The resolved image source.
    pub fn source(&self) -> ImageSource {
        match *self {}
    }

    /// Why that source.
    pub fn why(&self) -> &str {
        match *self {}
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        match *self {}
    }

    /// Whether `target` can run with this source.
    pub fn runnable(&self, _: ContainerTarget) -> Result<(), ContainerError> {
        match *self {}
    }

    /// The tansu binary and its version.
    pub fn tansu(&self) -> Result<(PathBuf, String), LocalImageError> {
        match *self {}
    }

    /// What `target` will run as.
    pub fn describe(&self, _: ContainerTarget) -> (BrokerKind, Option<String>) {
        match *self {}
    }

    /// Removes what the run left behind.
    pub async fn sweep(&self) -> Result<usize, ContainerError> {
        match *self {}
    }

    /// The up-front binary check.
    pub fn preflight(&self) -> Result<(), LocalImageError> {
        match *self {}
    }
}
