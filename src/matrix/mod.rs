//! The release matrix: cells = target × backend × scenario.
//!
//! A target is a Kafka release in a mode, tansu (an independent
//! Kafka-compatible broker), or a broker the user runs. Each cell starts (or
//! is given) a broker on its backend, connects this crate's client, runs its
//! scenario, and checks what came back: for a Kafka release the negotiated
//! ApiVersions and Metadata versions must be what the release's table
//! implies, and Metadata must describe the broker the cell started. A cell's
//! [`CellResult`] names its backend, its image, and what kind of broker
//! answered, so an emulated pass is never shown as real Kafka.

pub mod command;
pub mod conform;
pub mod corpus;
pub mod diff;
mod diff_cases;
pub mod error;
pub mod plan;
pub mod result;
pub mod scenario;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument as _;

pub use command::{ClientCommand, CommandOutcome};
pub use error::{ExpectationError, MatrixError, ScenarioError};
pub use plan::NotRun;
pub use result::{transcript_file, BrokerFacts, CellOutcome, CellResult, NegotiationFacts, Timings};
pub use scenario::Scenario;

use crate::backend;
use crate::backend::container::ContainerRun;
use crate::backend::jvm::JvmRun;
use crate::backend::probe::check_probe_topic;
pub use crate::backend::probe::{PROBE_PARTITIONS, PROBE_TOPIC};
pub use crate::backend::{Backend, BrokerKind, ExternalBroker, Target};
use crate::client::{Client, ClientConfig, Transcript};
use crate::versions::{describe_broker, releases, Mode, Release};
/// Facts about releases that the matrix checks against, kept in `versions`.
pub use crate::versions::{expected_versions, parse_releases};

/// The rules of a rule file (a client's `expect`, the diff's accepted
/// differences): each line that is neither blank nor a `#` comment, trimmed,
/// with its line number from 1 for error messages.
pub(crate) fn rule_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, raw)| (i + 1, raw.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

/// One cell to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// What it runs against.
    pub target: Target,
    /// Broker source.
    pub backend: Backend,
    /// What to do.
    pub scenario: Scenario,
    /// For a `command` cell, the corpus client it runs (`matrix --client`);
    /// `None` for `--client-cmd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

impl Cell {
    /// A Kafka-release cell.
    pub fn kafka(release: Release, mode: Mode, backend: Backend, scenario: Scenario) -> Self {
        Self {
            target: Target::Kafka { release, mode },
            backend,
            scenario,
            client: None,
        }
    }

    /// This `command` cell, running corpus client `name` instead.
    pub fn with_client(self, name: &str) -> Self {
        Self {
            client: Some(name.to_owned()),
            ..self
        }
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.target, self.backend, self.scenario)?;
        match &self.client {
            Some(name) => write!(f, " {name}"),
            None => Ok(()),
        }
    }
}

/// Every cell for `releases` × their catalog modes (filtered by `modes`) ×
/// `backend` × `scenarios`, in catalog order.
pub fn plan_scenarios(selected: &[Release], modes: &[Mode], backend: Backend, scenarios: &[Scenario]) -> Vec<Cell> {
    releases()
        .iter()
        .filter(|info| selected.contains(&info.release))
        .flat_map(|info| {
            info.modes.iter().filter(|m| modes.contains(m)).flat_map(move |&mode| {
                scenarios
                    .iter()
                    .map(move |&scenario| Cell::kafka(info.release, mode, backend, scenario))
            })
        })
        .collect()
}

/// Both scenarios against `target` on `backend`.
pub fn cells_for(target: &Target, backend: Backend) -> Vec<Cell> {
    cells_with(target, backend, &Scenario::ALL)
}

/// The given scenarios against `target` on `backend`.
pub fn cells_with(target: &Target, backend: Backend, scenarios: &[Scenario]) -> Vec<Cell> {
    scenarios
        .iter()
        .map(|&scenario| Cell {
            target: target.clone(),
            backend,
            scenario,
            client: None,
        })
        .collect()
}

/// What cells share in one run.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The client's settings.
    pub config: ClientConfig,
    /// Cells run at once (containers are the expensive part; 2 suits a 2-core machine).
    pub jobs: usize,
    /// The container backend's run state, when container cells are planned.
    pub containers: Option<Arc<ContainerRun>>,
    /// The JVM backend's brokers, when JVM cells are planned.
    pub jvm: Option<Arc<JvmRun>>,
    /// The command the `command` scenario runs (`--client-cmd`).
    pub client_cmd: Option<ClientCommand>,
    /// The corpus clients, by name (`--client`).
    pub corpus: std::collections::BTreeMap<String, corpus::CorpusRun>,
    /// The report directory: a command cell streams all of its output to
    /// `transcripts/NNN-<cell>.out` there (see [`command`]). Without one,
    /// only the tails of the output are kept.
    pub report_dir: Option<std::path::PathBuf>,
}

impl RunContext {
    /// The backends' run state, as [`backend::start`] takes it.
    pub fn runs(&self) -> backend::Runs<'_> {
        backend::Runs {
            containers: self.containers.as_deref(),
            jvm: self.jvm.as_deref(),
        }
    }
}

impl Default for RunContext {
    fn default() -> Self {
        Self {
            config: ClientConfig::default(),
            jobs: 2,
            containers: None,
            jvm: None,
            client_cmd: None,
            corpus: std::collections::BTreeMap::new(),
            report_dir: None,
        }
    }
}

/// Runs one cell.
pub async fn run_cell(cell: Cell, ctx: &RunContext) -> CellResult {
    run_cell_at(cell, 0, ctx).await
}

/// Runs cell number `index` of a run (the index names its containers).
pub async fn run_cell_at(cell: Cell, index: usize, ctx: &RunContext) -> CellResult {
    let span = tracing::info_span!("matrix.cell", index, cell = %cell);
    async move {
        let (kind, image) = backend::describe(cell.backend, &cell.target, ctx.runs());
        let mut result = CellResult::new(cell.clone(), index, kind);
        result.set_broker(kind, image);
        match run_phases(&cell, index, ctx, &mut result).await {
            Ok(()) => {
                tracing::debug!("cell passed");
                result.outcome.passed = true;
            }
            Err(e) => {
                tracing::info!(error = %e, "cell failed");
                if let MatrixError::Start(start) = &e {
                    result.outcome.transcript = format!("the broker did not start: {e}\n");
                    if let Some(log) = start.log() {
                        result
                            .outcome
                            .transcript
                            .push_str(&format!("--- the end of its log ---\n{log}\n"));
                    }
                }
                result.outcome.error = Some(e.to_string());
            }
        }
        result
    }
    .instrument(span)
    .await
}

/// Start, negotiate, check, run the scenario; then stop the broker.
async fn run_phases(cell: &Cell, index: usize, ctx: &RunContext, result: &mut CellResult) -> Result<(), MatrixError> {
    let broker = backend::start(cell.backend, &cell.target, index, ctx.runs()).await?;
    if let Some(startup) = broker.startup {
        result.broker.startup_ms = Some(u64::try_from(startup.as_millis()).unwrap_or(u64::MAX));
    }
    result.set_broker(broker.kind, broker.image.clone());
    let bootstrap = broker.bootstrap.clone();
    result.broker.bootstrap = Some(bootstrap.clone());
    let outcome = if cell.scenario == Scenario::Command {
        run_command(&bootstrap, cell, ctx, result)
            .await
            .map_err(MatrixError::from)
    } else {
        let transcript = Transcript::new();
        let config = ClientConfig {
            transcript: Some(transcript.clone()),
            ..ctx.config.clone()
        };
        let outcome = drive(&bootstrap, cell, &config, result).await;
        result.outcome.transcript = transcript.render();
        outcome
    };
    if let Some(log) = &broker.log {
        keep_broker_log(log, ctx, result).await;
    }
    broker.stop().await;
    outcome
}

/// Copies the broker's log, as it is at the cell's end, beside the cell's
/// transcript (`transcripts/NNN-<cell>.broker.log`).
async fn keep_broker_log(log: &std::path::Path, ctx: &RunContext, result: &mut CellResult) {
    let Some(dir) = &ctx.report_dir else {
        return;
    };
    let name = result.outcome.beside_transcript("broker.log");
    match tokio::fs::copy(log, dir.join(&name)).await {
        Ok(_) => result.broker.log_file = Some(name),
        Err(e) => tracing::warn!(error = %e, "could not keep the broker's log"),
    }
}

async fn run_command(
    bootstrap: &str,
    cell: &Cell,
    ctx: &RunContext,
    out: &mut CellResult,
) -> Result<(), ScenarioError> {
    let release = cell.target.release();
    let (cmd, expected_failure) = match &cell.client {
        Some(name) => {
            let client = ctx
                .corpus
                .get(name)
                .ok_or_else(|| ScenarioError::ClientNotSetUp(name.clone()))?;
            let expected = release.and_then(|(r, m)| client.expected_failure(r, m));
            (&client.command, expected)
        }
        None => (ctx.client_cmd.as_ref().ok_or(ScenarioError::NoClientCommand)?, None),
    };
    let (release, mode) = release.map_or((String::new(), String::new()), |(r, m)| (r.to_string(), m.to_string()));
    let line = command::fill(&cmd.template, bootstrap, &release, &mode);
    // All of the output goes next to the transcript, `NNN-<cell>.out`.
    let output_file = ctx.report_dir.as_ref().map(|dir| {
        let name = out.outcome.beside_transcript("out");
        (dir.join(&name), name)
    });
    let mut outcome = command::run_to(line, cmd.timeout, output_file.as_ref().map(|(path, _)| path.as_path()))
        .await
        .map_err(ScenarioError::CommandNotRun)?;
    outcome.output_file = output_file.map(|(_, name)| name);
    out.outcome.transcript = outcome.render();
    out.timings.request_us = Some(outcome.duration_ms.saturating_mul(1000));
    let passed = outcome.passed();
    let failure = outcome.failure();
    out.outcome.command = Some(outcome);
    match (passed, expected_failure) {
        (true, None) => Ok(()),
        (false, None) => Err(ScenarioError::CommandFailed(failure)),
        (false, Some(reason)) => {
            // Failed where it is kept to fail: the cell passes, and keeps
            // the client's own error beside the rule's reason.
            out.outcome.expected_failure = Some(reason.to_owned());
            out.outcome.error = Some(failure);
            Ok(())
        }
        (true, Some(reason)) => {
            out.outcome.expected_failure = Some(reason.to_owned());
            Err(ScenarioError::UnexpectedPass {
                client: cell.client.clone().unwrap_or_default(),
                reason: reason.to_owned(),
            })
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

async fn drive(bootstrap: &str, cell: &Cell, config: &ClientConfig, out: &mut CellResult) -> Result<(), MatrixError> {
    let started = Instant::now();
    let mut client = Client::connect(bootstrap, config.clone())
        .await
        .map_err(MatrixError::Negotiate)?;
    out.timings.connect_us = Some(micros(started.elapsed()));
    let negotiated = client.negotiated();
    out.negotiation.attempts = negotiated.attempts.to_vec();
    out.negotiation.guessed = Some(describe_broker(&negotiated.response(), negotiated.api_versions_version));
    let versions = client.versions();
    out.negotiation.api_versions_version = Some(versions.api_versions);
    out.negotiation.metadata_version = Some(versions.metadata);
    if let Some((release, mode)) = cell.target.release() {
        if let Some((av, md)) = expected_versions(release, mode) {
            if (versions.api_versions, versions.metadata) != (av, md) {
                return Err(ExpectationError::Versions {
                    api_versions: versions.api_versions,
                    metadata: versions.metadata,
                    release,
                    mode,
                    want_api_versions: av,
                    want_metadata: md,
                }
                .into());
            }
        }
    }
    let started = Instant::now();
    match cell.scenario {
        Scenario::Ping => {
            client.ping().await.map_err(ScenarioError::Request)?;
        }
        Scenario::Metadata => {
            let md = client.metadata(None).await.map_err(ScenarioError::Request)?;
            match cell.backend {
                Backend::External => check_external_metadata(&md)?,
                Backend::Embedded | Backend::Container | Backend::Jvm => check_metadata(&md, bootstrap)?,
            }
        }
        Scenario::Command => return Err(ScenarioError::NotAClientScenario.into()),
    }
    out.timings.request_us = Some(micros(started.elapsed()));
    Ok(())
}

/// Metadata must name the broker we talked to and the probe topic.
fn check_metadata(md: &crate::client::ClusterMetadata, bootstrap: &str) -> Result<(), ExpectationError> {
    let advertised: Vec<String> = md.brokers.iter().map(|b| format!("{}:{}", b.host, b.port)).collect();
    if !advertised.iter().any(|a| a == bootstrap) {
        return Err(ExpectationError::BootstrapNotAdvertised {
            advertised,
            bootstrap: bootstrap.to_owned(),
        });
    }
    Ok(check_probe_topic(md)?)
}

/// An external broker's topics are its own business; it must name at least
/// one broker a client could go on to.
fn check_external_metadata(md: &crate::client::ClusterMetadata) -> Result<(), ExpectationError> {
    if md.brokers.is_empty() {
        return Err(ExpectationError::NoBrokers { version: md.version });
    }
    Ok(())
}

/// Runs `cells`, at most `ctx.jobs` at once, calling `progress` as each
/// finishes; returns the results in `cells` order. A cell that panics is
/// reported as failed (its containers are removed as the panic unwinds).
pub async fn run(cells: &[Cell], ctx: &RunContext, mut progress: impl FnMut(&CellResult)) -> Vec<CellResult> {
    tracing::info!(cells = cells.len(), jobs = ctx.jobs, "running the matrix");
    let ctx = Arc::new(ctx.clone());
    let permits = Arc::new(Semaphore::new(ctx.jobs.max(1)));
    let mut set = JoinSet::new();
    let mut ids = std::collections::HashMap::new();
    for (index, cell) in cells.iter().cloned().enumerate() {
        let ctx = Arc::clone(&ctx);
        let permits = Arc::clone(&permits);
        let handle = set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (index, run_cell_at(cell, index, &ctx).await)
        });
        ids.insert(handle.id(), index);
    }
    let mut results: Vec<Option<CellResult>> = vec![None; cells.len()];
    while let Some(joined) = set.join_next_with_id().await {
        let (index, result) = match joined {
            Ok((_, (index, r))) => (index, r),
            Err(e) => {
                let index = ids.get(&e.id()).copied().unwrap_or(0);
                let cell = &cells[index];
                let (kind, image) = backend::describe(cell.backend, &cell.target, ctx.runs());
                let mut r = CellResult::new(cell.clone(), index, kind);
                r.set_broker(kind, image);
                r.outcome.error = Some(format!("the cell panicked or was cancelled: {e}"));
                (index, r)
            }
        };
        progress(&result);
        results[index] = Some(result);
    }
    results.into_iter().flatten().collect()
}
