//! One matrix run on the container backend: the engine, the resolved image
//! source, the local images built once per run, and a sweep at the end.

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use testcontainers::bollard::Docker;
use tokio::sync::Mutex;

use super::docker::{self, ContainerError, RunningBroker};
use super::local::{emulated_image, find_static_emulator, find_tansu, tansu_image, LocalImage, LocalImageError};
use super::spec::{self, BrokerPlan, HostAddr, Names, EMULATED_IMAGE, TANSU_IMAGE};
use super::{ContainerTarget, ImagePreference, ImageSource};
use crate::backend::{Backend, BrokerKind};

/// The public registry the images live on.
const REGISTRY: &str = "registry-1.docker.io:443";

/// State shared by every container cell of one run.
#[derive(Debug)]
pub struct ContainerRun {
    docker: Docker,
    run_id: String,
    source: ImageSource,
    preference: ImagePreference,
    why: String,
    root: PathBuf,
    built: Mutex<HashSet<String>>,
    tansu: std::sync::OnceLock<Result<(PathBuf, String), LocalImageError>>,
}

impl ContainerRun {
    /// Connects to the engine and resolves `source` (`Auto` becomes
    /// `Registry` or `Local`). `root` is the project directory, where
    /// `target/static/...` is looked for.
    pub async fn new(source: ImageSource, root: &Path) -> Result<Self, ContainerError> {
        Self::with_preference(source, ImagePreference::default(), root).await
    }

    /// [`ContainerRun::new`] with a preferred image flavor for registry cells.
    pub async fn with_preference(
        source: ImageSource,
        preference: ImagePreference,
        root: &Path,
    ) -> Result<Self, ContainerError> {
        let docker = docker::engine().await?;
        let (source, why) = match source {
            ImageSource::Auto => match registry_reachable().await {
                Ok(()) => (ImageSource::Registry, format!("{REGISTRY} answers")),
                Err(e) => (
                    ImageSource::Local,
                    format!("no registry ({REGISTRY}: {e}); locally built emulated images, not real Kafka"),
                ),
            },
            s => (s, "asked for".to_owned()),
        };
        // Unique per run: the process, the time, and a count of the runs this
        // process made (tests make several in the same millisecond, and their
        // container names must not collide).
        static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let run_id = format!(
            "{:x}{:06x}{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0)
                & 0xff_ffff,
            RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        Ok(Self {
            docker,
            run_id,
            source,
            preference,
            why,
            root: root.to_path_buf(),
            built: Mutex::new(HashSet::new()),
            tansu: std::sync::OnceLock::new(),
        })
    }

    /// The resolved image source.
    pub fn source(&self) -> ImageSource {
        self.source
    }

    /// Why that source.
    pub fn why(&self) -> &str {
        &self.why
    }

    /// The run id every container is labelled with.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The engine.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Whether `target` can run with this source; `Err` says why not (a
    /// release/mode no published image carries).
    pub fn runnable(&self, target: ContainerTarget) -> Result<(), ContainerError> {
        match (target, self.source) {
            (ContainerTarget::Kafka(release, mode), ImageSource::Registry)
                if self.preference.pick(release, mode).is_none() =>
            {
                Err(ContainerError::NoPublishedImage { release, mode })
            }
            _ => Ok(()),
        }
    }

    /// The tansu binary and its version, looked up once per run.
    pub fn tansu(&self) -> Result<(PathBuf, String), LocalImageError> {
        self.tansu.get_or_init(find_tansu).clone()
    }

    /// What `target` will run as on this source, before anything starts:
    /// the broker kind and the image a report names.
    pub fn describe(&self, target: ContainerTarget) -> (BrokerKind, Option<String>) {
        let kind = BrokerKind::of(Backend::Container, &target.into(), self.source);
        let image = match (target, self.source) {
            (ContainerTarget::Tansu, _) => self.tansu().ok().map(|(_, v)| format!("{TANSU_IMAGE}:{v}")),
            (ContainerTarget::Kafka(release, mode), ImageSource::Registry) => {
                self.preference.pick(release, mode).map(|i| i.to_string())
            }
            (ContainerTarget::Kafka(release, _), ImageSource::Local | ImageSource::Auto) => {
                Some(format!("{EMULATED_IMAGE}:{}", spec::emulated_tag(release)))
            }
        };
        (kind, image)
    }

    /// Starts `target`'s broker for cell number `cell` and waits until it
    /// answers. Returns the plan (image, bootstrap) with the handle.
    pub async fn start(
        &self,
        target: ContainerTarget,
        cell: usize,
    ) -> Result<(BrokerPlan, RunningBroker), ContainerError> {
        let names = Names::for_cell(&self.run_id, cell);
        let mut last = None;
        // A free host port can be taken by someone else before the engine
        // binds it; try a fresh one a few times.
        for _ in 0..3 {
            let addr = HostAddr {
                host: advertised_host(),
                port: free_port().map_err(|e| ContainerError::Start {
                    image: "-".into(),
                    reason: format!("no free host port: {e}"),
                })?,
            };
            let plan = self.plan(target, &addr, &names).await?;
            match docker::start(&plan).await {
                Err(ContainerError::Start { reason, image })
                    if reason.contains("port is already allocated") || reason.contains("address already in use") =>
                {
                    docker::remove_named(&self.docker, &[&names.broker, &names.zookeeper]).await;
                    last = Some(ContainerError::Start { image, reason });
                }
                other => return other.map(|running| (plan, running)),
            }
        }
        Err(last.unwrap_or_else(|| ContainerError::Start {
            image: "-".into(),
            reason: "no attempt".into(),
        }))
    }

    async fn plan(
        &self,
        target: ContainerTarget,
        addr: &HostAddr,
        names: &Names,
    ) -> Result<BrokerPlan, ContainerError> {
        match target {
            ContainerTarget::Tansu => {
                let (bin, version) = self.tansu()?;
                self.ensure_built(tansu_image(&version, &bin)).await?;
                Ok(spec::tansu(&version, addr, names))
            }
            ContainerTarget::Kafka(release, mode) => match self.source {
                ImageSource::Registry => {
                    let image = self
                        .preference
                        .pick(release, mode)
                        .ok_or_else(|| ContainerError::Start {
                            image: "-".into(),
                            reason: format!("no published image runs Kafka {release} in {mode} mode"),
                        })?;
                    Ok(spec::real_kafka(release, image, addr, names))
                }
                ImageSource::Local | ImageSource::Auto => {
                    let bin = find_static_emulator(&self.root)?;
                    self.ensure_built(emulated_image(release, &bin)).await?;
                    Ok(spec::emulated(release, mode, addr, names))
                }
            },
        }
    }

    /// Builds a local image once per run.
    async fn ensure_built(&self, image: LocalImage) -> Result<(), ContainerError> {
        let mut built = self.built.lock().await;
        if built.contains(&image.reference()) {
            return Ok(());
        }
        docker::build(&image).await?;
        built.insert(image.reference());
        Ok(())
    }

    /// Removes anything this run left behind and returns how many.
    pub async fn sweep(&self) -> Result<usize, ContainerError> {
        docker::sweep(&self.docker, &self.run_id).await
    }

    /// The emulator binary check done up front (local images), so a missing
    /// binary is one line before any cell runs rather than the same error in
    /// every cell.
    pub fn preflight(&self) -> Result<(), LocalImageError> {
        if self.source == ImageSource::Local {
            find_static_emulator(&self.root)?;
        }
        Ok(())
    }
}

/// The host a client on this machine reaches mapped ports on: the host of a
/// `tcp://` `DOCKER_HOST`, else 127.0.0.1.
fn advertised_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| {
            let rest = h.strip_prefix("tcp://")?;
            let host = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
            (!host.is_empty()).then(|| host.to_owned())
        })
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// Why the registry did not answer; `Display` is what the run's note says.
#[derive(Debug, thiserror::Error)]
enum Unreachable {
    #[error("{0}")]
    Connect(std::io::Error),
    #[error("no answer within 3 s")]
    Timeout,
}

async fn registry_reachable() -> Result<(), Unreachable> {
    match tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(REGISTRY)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Unreachable::Connect(e)),
        Err(_) => Err(Unreachable::Timeout),
    }
}
