//! [`start`]: the one way a cell gets its broker, whatever the backend.
//! It starts the broker, waits until it is ready (the container backend's
//! readiness check), and says what kind of broker it is ([`describe`]
//! before anything starts, [`RunningBroker::kind`] after).

use std::time::Duration;

use tracing::Instrument as _;

use super::container::{ContainerRun, ContainerTarget};
use super::probe::{PROBE_PARTITIONS, PROBE_TOPIC};
use super::{Backend, BackendError, BrokerKind, ImageSource, Target};
use crate::emulator::{Emulator, EmulatorOptions, SeededTopic};

/// A started (or given) broker: where a client bootstraps, what it is, and
/// what stops it.
#[derive(Debug)]
pub struct RunningBroker {
    /// The address clients bootstrap on.
    pub bootstrap: String,
    /// What kind of broker it is.
    pub kind: BrokerKind,
    /// Its container image (`name:tag`), for container brokers.
    pub image: Option<String>,
    /// From asking for it until it answered (container brokers).
    pub startup: Option<Duration>,
    handle: Handle,
}

#[derive(Debug)]
enum Handle {
    Emulator(Emulator),
    #[cfg(feature = "containers")]
    Containers(super::container::docker::RunningBroker),
    External,
}

impl RunningBroker {
    /// Stops the broker (an external one is left alone) and waits.
    pub async fn stop(self) {
        match self.handle {
            Handle::Emulator(e) => e.shutdown().await,
            #[cfg(feature = "containers")]
            Handle::Containers(c) => c.stop().await,
            Handle::External => {}
        }
    }
}

fn container_target(target: &Target) -> Option<ContainerTarget> {
    match target {
        Target::Kafka { release, mode } => Some(ContainerTarget::Kafka(*release, *mode)),
        Target::Tansu => Some(ContainerTarget::Tansu),
        Target::External(_) => None,
    }
}

/// What `target` will run as on `backend` before anything starts: its kind
/// and, for containers, the image a report names. `containers` is the run's
/// container state, when container cells are planned.
pub fn describe(backend: Backend, target: &Target, containers: Option<&ContainerRun>) -> (BrokerKind, Option<String>) {
    match (backend, containers, container_target(target)) {
        (Backend::Container, Some(run), Some(what)) => run.describe(what),
        _ => (BrokerKind::of(backend, target, ImageSource::Auto), None),
    }
}

/// Starts (or finds) `target`'s broker on `backend` for cell number `index`
/// (the index names its containers) and waits until it is ready.
pub async fn start(
    backend: Backend,
    target: &Target,
    index: usize,
    containers: Option<&ContainerRun>,
) -> Result<RunningBroker, BackendError> {
    let span = tracing::info_span!("backend.start", %backend, %target, index);
    start_inner(backend, target, index, containers).instrument(span).await
}

#[cfg_attr(not(feature = "containers"), allow(unused_variables))]
async fn start_inner(
    backend: Backend,
    target: &Target,
    index: usize,
    containers: Option<&ContainerRun>,
) -> Result<RunningBroker, BackendError> {
    match (backend, target) {
        (Backend::Embedded, Target::Kafka { release, mode }) => {
            let options = EmulatorOptions {
                topics: vec![SeededTopic::new(PROBE_TOPIC, PROBE_PARTITIONS)],
                ..EmulatorOptions::default()
            };
            let emulator = Emulator::start(*release, *mode, options).await?;
            tracing::debug!(bootstrap = %emulator.bootstrap(), "emulator started");
            Ok(RunningBroker {
                bootstrap: emulator.bootstrap(),
                kind: BrokerKind::of(backend, target, ImageSource::Auto),
                image: None,
                startup: None,
                handle: Handle::Emulator(emulator),
            })
        }
        (Backend::External, Target::External(e)) => Ok(RunningBroker {
            bootstrap: e.bootstrap.clone(),
            kind: BrokerKind::of(backend, target, ImageSource::Auto),
            image: None,
            startup: None,
            handle: Handle::External,
        }),
        #[cfg(feature = "containers")]
        (Backend::Container, target) => {
            let run = containers.ok_or(BackendError::ContainersNotSetUp)?;
            let what = container_target(target).ok_or(BackendError::ExternalInContainer)?;
            let started = std::time::Instant::now();
            let (plan, running) = run.start(what, index).await?;
            let startup = started.elapsed();
            let kind = BrokerKind::of(backend, target, run.source());
            tracing::info!(image = %plan.image(), bootstrap = %plan.bootstrap, ?startup, "container broker ready");
            Ok(RunningBroker {
                bootstrap: plan.bootstrap.clone(),
                kind,
                image: Some(plan.image()),
                startup: Some(startup),
                handle: Handle::Containers(running),
            })
        }
        #[cfg(not(feature = "containers"))]
        (Backend::Container, _) => Err(super::container::ContainerError::NotBuilt.into()),
        (backend, target) => Err(BackendError::Unsupported {
            target: Box::new(target.clone()),
            backend,
        }),
    }
}
