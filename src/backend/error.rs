//! [`BackendError`]: why a cell's broker could not be started or found.

use super::container::ContainerError;
use super::jvm::JvmError;
use super::{Backend, Target};
use crate::emulator::EmulatorError;

/// Why a backend could not give a cell its broker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The in-process emulator did not start.
    #[error("cannot start the emulator: {0}")]
    Emulator(#[from] EmulatorError),
    /// The container backend failed.
    #[error(transparent)]
    Container(#[from] ContainerError),
    /// The JVM backend failed.
    #[error(transparent)]
    Jvm(#[from] JvmError),
    /// A JVM cell ran without the JVM backend set up.
    #[error("the JVM backend was not set up for this run")]
    JvmNotSetUp,
    /// A container cell ran without a container run set up.
    #[error("the container backend was not set up for this run")]
    ContainersNotSetUp,
    /// An external broker was asked for on the container backend.
    #[error("an external broker cannot run in a container")]
    ExternalInContainer,
    /// Any other target/backend pair that does not go together.
    #[error("a {target} target cannot run on the {backend} backend")]
    Unsupported {
        /// The target.
        target: Box<Target>,
        /// The backend.
        backend: Backend,
    },
}

impl BackendError {
    /// The broker's log tail, when the failure carries one.
    pub fn log(&self) -> Option<&str> {
        match self {
            BackendError::Jvm(e) => e.log(),
            _ => None,
        }
    }
}
