//! [`BackendError`]: why a cell's broker could not be started or found.

use super::container::ContainerError;
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
