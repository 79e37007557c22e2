//! The tokio/testcontainers shell around a [`BrokerPlan`]: build local
//! images, start containers, wait until the broker really answers, tear down.
//!
//! Readiness is a Kafka round trip, never a sleep or a log line: this
//! crate's client must negotiate ApiVersions with the broker and Metadata
//! must list the probe topic with all its partitions. Every container and
//! network carries [`RUN_LABEL`] so a run can count and sweep its own;
//! `ContainerAsync`'s `Drop` removes a container even when a cell panics,
//! and the `watchdog` feature removes them on SIGINT/SIGTERM.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use testcontainers::bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};
use testcontainers::bollard::Docker;
use testcontainers::core::client::ClientError;
use testcontainers::core::{CmdWaitFor, ExecCommand, IntoContainerPort, WaitFor};
use testcontainers::runners::{AsyncBuilder, AsyncRunner};
use testcontainers::{ContainerAsync, GenericBuildableImage, GenericImage, ImageExt, TestcontainersError};
use tracing::Instrument as _;

use super::local::LocalImage;
use super::spec::{BrokerPlan, ContainerSpec, CLIENT_PORT, RUN_LABEL};
use crate::backend::probe::probe_once;
use crate::client::ClientConfig;

pub use super::error::ContainerError;

/// Connects to the Docker engine (honouring `DOCKER_HOST`) and pings it.
pub async fn engine() -> Result<Docker, ContainerError> {
    let docker = Docker::connect_with_defaults().map_err(|e| ContainerError::NoEngine(e.to_string()))?;
    match tokio::time::timeout(Duration::from_secs(5), docker.ping()).await {
        Ok(Ok(_)) => Ok(docker),
        Ok(Err(e)) => Err(ContainerError::NoEngine(e.to_string())),
        Err(_) => Err(ContainerError::NoEngine("no answer to a ping within 5 s".into())),
    }
}

/// Whether `reference` (`name:tag`) is present in the engine.
pub async fn image_present(docker: &Docker, reference: &str) -> bool {
    docker.inspect_image(reference).await.is_ok()
}

/// Builds `image` (the engine's layer cache makes an unchanged rebuild cheap,
/// and a changed binary is always picked up).
pub async fn build(image: &LocalImage) -> Result<(), ContainerError> {
    let err = |reason: String| ContainerError::Build {
        image: image.reference(),
        reason,
    };
    if !image.binary.is_file() {
        return Err(err(format!("{} does not exist", image.binary.display())));
    }
    GenericBuildableImage::new(image.name, &image.tag)
        .with_dockerfile_string(image.dockerfile.clone())
        .with_file(image.binary.clone(), image.binary_name)
        .build_image()
        .await
        .map(|_| ())
        .map_err(|e| err(e.to_string()))
}

/// A started broker: its containers, broker last. Dropping it removes them
/// too; [`RunningBroker::stop`] does so explicitly and waits.
#[derive(Debug)]
pub struct RunningBroker {
    containers: Vec<ContainerAsync<GenericImage>>,
}

impl RunningBroker {
    /// Removes every container (broker first, then what it depended on).
    pub async fn stop(mut self) {
        while let Some(c) = self.containers.pop() {
            if let Err(e) = c.rm().await {
                tracing::warn!(error = %e, "removing a container failed; the run's sweep will retry");
            }
        }
    }
}

fn request(spec: &ContainerSpec, startup_timeout: Duration) -> testcontainers::ContainerRequest<GenericImage> {
    let mut req = GenericImage::new(spec.image.as_str(), spec.tag.as_str())
        .with_wait_for(WaitFor::Nothing)
        .with_container_name(spec.name.as_str())
        .with_startup_timeout(startup_timeout)
        .with_labels(spec.labels.clone());
    for (k, v) in &spec.env {
        req = req.with_env_var(k.as_str(), v.as_str());
    }
    if !spec.cmd.is_empty() {
        req = req.with_cmd(spec.cmd.clone());
    }
    if let Some(port) = spec.host_port {
        req = req.with_mapped_port(port, CLIENT_PORT.tcp());
    }
    if let Some(net) = &spec.network {
        req = req.with_network(net.as_str());
    }
    req
}

fn start_error(spec: &ContainerSpec, e: TestcontainersError) -> ContainerError {
    match e {
        TestcontainersError::Client(ClientError::PullImage { err, .. }) => ContainerError::ImageUnavailable {
            image: spec.reference(),
            reason: one_line(&err.to_string()),
        },
        TestcontainersError::Client(ClientError::Init(err)) => ContainerError::NoEngine(one_line(&err.to_string())),
        other => ContainerError::Start {
            image: spec.reference(),
            reason: one_line(&other.to_string()),
        },
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Starts `plan`'s containers and waits until the broker answers.
pub async fn start(plan: &BrokerPlan) -> Result<RunningBroker, ContainerError> {
    let span = tracing::info_span!("container.start", image = %plan.image(), bootstrap = %plan.bootstrap);
    start_containers(plan).instrument(span).await
}

async fn start_containers(plan: &BrokerPlan) -> Result<RunningBroker, ContainerError> {
    let mut running = RunningBroker { containers: Vec::new() };
    for spec in plan.dependencies.iter().chain([&plan.broker]) {
        match request(spec, plan.startup_timeout).start().await {
            Ok(c) => running.containers.push(c),
            Err(e) => {
                running.stop().await;
                return Err(start_error(spec, e));
            }
        }
    }
    if let Err(e) = ready(plan, &running).await {
        running.stop().await;
        return Err(e);
    }
    Ok(running)
}

/// The readiness check: negotiate, run the plan's set-up commands, then
/// (for brokers that auto-create) ask for the probe topic until it is there.
async fn ready(plan: &BrokerPlan, running: &RunningBroker) -> Result<(), ContainerError> {
    let started = Instant::now();
    let deadline = started + plan.startup_timeout;
    let config = ClientConfig {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    };
    let broker = running.containers.last();
    let not_ready = |last: String| async move {
        ContainerError::NotReady {
            image: plan.image(),
            bootstrap: plan.bootstrap.clone(),
            waited: started.elapsed(),
            last,
            logs: match broker {
                Some(c) => log_tail(c).await,
                None => String::new(),
            },
        }
    };
    let mut last = String::from("no attempt yet");
    let mut setup_done = plan.setup.is_empty();
    while Instant::now() < deadline {
        if let Some(c) = broker {
            if let Ok(false) = c.is_running().await {
                return Err(not_ready(format!("the container exited ({last})")).await);
            }
        }
        match probe_once(&plan.bootstrap, plan.auto_creates_probe_topic, &config).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(_)) if !setup_done => {
                if let Some(c) = broker {
                    run_setup(plan, c).await?;
                }
                setup_done = true;
                continue;
            }
            Ok(Err(not_yet)) => last = format!("{not_yet} (not yet)"),
            Err(e) => last = e.to_string(),
        }
        tracing::debug!(%last, "not ready yet");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(not_ready(last).await)
}

async fn run_setup(plan: &BrokerPlan, container: &ContainerAsync<GenericImage>) -> Result<(), ContainerError> {
    for cmd in &plan.setup {
        let exec = ExecCommand::new(cmd.clone()).with_cmd_ready_condition(CmdWaitFor::exit_code(0));
        if let Err(e) = container.exec(exec).await {
            return Err(ContainerError::Setup {
                image: plan.image(),
                cmd: cmd.clone(),
                reason: one_line(&e.to_string()),
            });
        }
    }
    Ok(())
}

/// The container's last few log lines, as `; logs: a | b | c`.
async fn log_tail(c: &ContainerAsync<GenericImage>) -> String {
    let mut all = c.stdout_to_vec().await.unwrap_or_default();
    all.extend(c.stderr_to_vec().await.unwrap_or_default());
    let text = String::from_utf8_lossy(&all);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(4)..];
    format!("; logs: {}", tail.join(" | "))
}

/// Every container (running or not) that carries `run`'s label.
async fn run_containers(
    docker: &Docker,
    run: &str,
) -> Result<Vec<testcontainers::bollard::models::ContainerSummary>, ContainerError> {
    let filter = HashMap::from([("label".to_owned(), vec![format!("{RUN_LABEL}={run}")])]);
    let opts = ListContainersOptionsBuilder::new().all(true).filters(&filter).build();
    docker
        .list_containers(Some(opts))
        .await
        .map_err(|e| ContainerError::NoEngine(e.to_string()))
}

/// Removes the containers called `names`, where they exist. A start that
/// failed after the engine created a container (its port was taken) leaves
/// it behind, and a retry under the same name would get 409 Conflict. A name
/// with no container is what most calls meet, so no error is reported; one
/// that could not be removed shows up in the retry's own error.
pub async fn remove_named(docker: &Docker, names: &[&str]) {
    for name in names {
        let opts = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
        let _ = docker.remove_container(name, Some(opts)).await;
    }
}

/// Removes any container still carrying `run`'s label (a cell that was
/// cancelled mid-start can leave one); returns how many it removed.
pub async fn sweep(docker: &Docker, run: &str) -> Result<usize, ContainerError> {
    let mut removed = 0;
    for c in run_containers(docker, run).await? {
        if let Some(id) = c.id {
            let opts = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
            if docker.remove_container(&id, Some(opts)).await.is_ok() {
                removed += 1;
            }
        }
    }
    Ok(removed)
}
