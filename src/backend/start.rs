//! [`start`]: the one way a cell gets its broker, whatever the backend.
//! It starts the broker, waits until it is ready (the container backend's
//! readiness check), and says what kind of broker it is ([`describe`]
//! before anything starts, [`RunningBroker::kind`] after).

use std::time::Duration;

use tracing::Instrument as _;

use super::container::{ContainerRun, ContainerTarget};
use super::jvm::{JvmRun, Lease};
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
    /// From asking for it until it answered (container and JVM brokers;
    /// a JVM broker shared by a pair's cells reports its start-up to each).
    pub startup: Option<Duration>,
    /// The broker's own log, as it is now (JVM brokers).
    pub log: Option<std::path::PathBuf>,
    handle: Handle,
}

#[derive(Debug)]
enum Handle {
    Emulator(Emulator),
    #[cfg(feature = "containers")]
    Containers(super::container::docker::RunningBroker),
    Jvm(Lease),
    External,
}

impl RunningBroker {
    /// Stops the broker (an external one is left alone) and waits.
    pub async fn stop(self) {
        match self.handle {
            Handle::Emulator(e) => e.shutdown().await,
            #[cfg(feature = "containers")]
            Handle::Containers(c) => c.stop().await,
            Handle::Jvm(lease) => lease.finish().await,
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

/// The run-wide state of the backends that have one: set up when their
/// cells are planned.
#[derive(Debug, Clone, Copy, Default)]
pub struct Runs<'a> {
    /// The container backend's run.
    pub containers: Option<&'a ContainerRun>,
    /// The JVM backend's brokers.
    pub jvm: Option<&'a JvmRun>,
}

/// What `target` will run as on `backend` before anything starts: its kind
/// and what a report names for it (the image of a container, the version,
/// artifact and JDK of a JVM broker).
pub fn describe(backend: Backend, target: &Target, runs: Runs<'_>) -> (BrokerKind, Option<String>) {
    match (backend, container_target(target)) {
        (Backend::Container, Some(what)) if runs.containers.is_some() => runs
            .containers
            .map_or((BrokerKind::Unknown, None), |run| run.describe(what)),
        (Backend::Jvm, _) => (
            BrokerKind::of(backend, target, ImageSource::Auto),
            match (runs.jvm, target) {
                (Some(run), Target::Kafka { release, .. }) => Some(run.setup().describe(*release)),
                _ => None,
            },
        ),
        _ => (BrokerKind::of(backend, target, ImageSource::Auto), None),
    }
}

/// Starts (or finds) `target`'s broker on `backend` for cell number `index`
/// (the index names its containers) and waits until it is ready.
pub async fn start(
    backend: Backend,
    target: &Target,
    index: usize,
    runs: Runs<'_>,
) -> Result<RunningBroker, BackendError> {
    let span = tracing::info_span!("backend.start", %backend, %target, index);
    start_inner(backend, target, index, runs).instrument(span).await
}

#[cfg_attr(not(feature = "containers"), allow(unused_variables))]
async fn start_inner(
    backend: Backend,
    target: &Target,
    index: usize,
    runs: Runs<'_>,
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
                log: None,
                handle: Handle::Emulator(emulator),
            })
        }
        (Backend::External, Target::External(e)) => Ok(RunningBroker {
            bootstrap: e.bootstrap.clone(),
            kind: BrokerKind::of(backend, target, ImageSource::Auto),
            image: None,
            startup: None,
            log: None,
            handle: Handle::External,
        }),
        (Backend::Jvm, Target::Kafka { release, mode }) => {
            let run = runs.jvm.ok_or(BackendError::JvmNotSetUp)?;
            let lease = run.lease(*release, *mode).await?;
            Ok(RunningBroker {
                bootstrap: lease.broker.bootstrap.clone(),
                kind: BrokerKind::of(backend, target, ImageSource::Auto),
                image: Some(lease.broker.description.clone()),
                startup: Some(lease.broker.startup),
                log: Some(lease.broker.log.clone()),
                handle: Handle::Jvm(lease),
            })
        }
        #[cfg(feature = "containers")]
        (Backend::Container, target) => {
            let run = runs.containers.ok_or(BackendError::ContainersNotSetUp)?;
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
                log: None,
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
