//! Run planning: which cells a run has, what was left out and why, and the
//! context the cells share. The skip policy (a missing Docker engine or
//! client is a loud "not run", or an error when asked to be strict) lives
//! here; the CLI only turns flags and environment into a [`PlanRequest`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tracing::Instrument as _;

use super::corpus::{self, ClientStatus, CorpusClient, CorpusError};
use super::{cells_with, plan_scenarios, Cell, ClientCommand, RunContext, Scenario, Target};
use crate::backend::container::{ContainerError, ContainerRun, ContainerTarget, ImagePreference};
use crate::backend::jvm::{Fetched, JvmError, JvmRun, JvmSetup};
use crate::backend::{Backend, BackendChoice, ExternalBroker, ImageSource};
use crate::versions::{Mode, Release};

/// A planned cell (or group of cells) that did not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotRun {
    /// What, e.g. `2.8 kraft container`.
    pub what: String,
    /// Why, in one line.
    pub reason: String,
}

/// What a run asks for.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// Releases to cover.
    pub releases: Vec<Release>,
    /// Modes to include.
    pub modes: Vec<Mode>,
    /// Backends to plan.
    pub backend: BackendChoice,
    /// Where container images come from.
    pub image_source: ImageSource,
    /// Which registry image a release prefers.
    pub image_flavor: ImagePreference,
    /// External brokers, when given.
    pub brokers: Option<Vec<ExternalBroker>>,
    /// Scenarios per target.
    pub scenarios: Vec<Scenario>,
    /// The `command` scenario's own command (`--client-cmd`).
    pub client_cmd: Option<ClientCommand>,
    /// Corpus clients by name (`all` for every one).
    pub clients: Vec<String>,
    /// Where the corpus lives.
    pub clients_dir: PathBuf,
    /// Time limit of a corpus client's run.
    pub client_timeout: Duration,
    /// Whether tansu cells join the container backend.
    pub tansu: bool,
    /// Cells run at once.
    pub jobs: usize,
    /// The report directory.
    pub report_dir: Option<PathBuf>,
    /// The project directory (where `target/static/...` is looked for).
    pub root: PathBuf,
    /// A container backend that cannot run is an error, not a skip.
    pub require_docker: bool,
    /// A corpus client that is not installed is an error, not a skip.
    pub require_clients: bool,
    /// Kafka installations to run instead of fetched jars (`--kafka-home`).
    pub kafka_homes: std::collections::BTreeMap<Release, PathBuf>,
    /// A JVM backend that cannot run is an error, not a skip.
    pub require_jvm: bool,
}

/// The cells to run and what was left out.
#[derive(Debug)]
pub struct Plan {
    /// Cells, in report order.
    pub cells: Vec<Cell>,
    /// The corpus clients that will run.
    pub clients: Vec<CorpusClient>,
    /// What was left out, and why.
    pub not_run: Vec<NotRun>,
    /// How the run was set up, one line each.
    pub notes: Vec<String>,
    /// What the cells share.
    pub ctx: RunContext,
}

/// Why a run cannot be planned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// `--backend external` without any address.
    #[error("--backend external needs --bootstrap [RELEASE=]HOST:PORT[,...] (or KAFKA_MATRIX_BOOTSTRAP)")]
    ExternalNeedsBootstrap,
    /// The container backend was asked for in a build without it.
    #[error("this kafka-matrix was built without the `containers` feature; rebuild with default features")]
    NoContainerBackend,
    /// The container backend cannot run, and skipping it is not allowed.
    #[error(transparent)]
    Containers(ContainerError),
    /// The JVM backend cannot run, and skipping it is not allowed.
    #[error(transparent)]
    Jvm(JvmError),
    /// The client corpus could not be read, or a name is unknown.
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    /// A corpus client is not installed, and skipping it is not allowed.
    #[error("client {name} cannot run: {why} (scripts/install-clients.sh installs the corpus)")]
    ClientCannotRun {
        /// The client.
        name: String,
        /// Why.
        why: String,
    },
}

/// Plans a run. `warn` gets each line that says a part was skipped, as it
/// is decided (`SKIPPED ...`, `NOT RUN client ...`).
pub async fn plan(req: &PlanRequest, warn: impl FnMut(&str)) -> Result<Plan, PlanError> {
    let span = tracing::info_span!("matrix.plan", backend = %req.backend, releases = req.releases.len());
    plan_inner(req, warn).instrument(span).await
}

async fn plan_inner(req: &PlanRequest, mut warn: impl FnMut(&str)) -> Result<Plan, PlanError> {
    let mut p = Plan {
        cells: Vec::new(),
        clients: Vec::new(),
        not_run: Vec::new(),
        notes: Vec::new(),
        ctx: RunContext {
            jobs: req.jobs,
            client_cmd: req.client_cmd.clone(),
            report_dir: req.report_dir.clone(),
            ..RunContext::default()
        },
    };
    if let Some(cmd) = &req.client_cmd {
        p.notes.push(format!(
            "client command: `{}` (timeout {} s)",
            cmd.template,
            cmd.timeout.as_secs()
        ));
    }
    if !req.clients.is_empty() {
        plan_clients(req, &mut p, &mut warn).await?;
    }
    if req.backend.includes(Backend::Embedded) {
        let cells = with_clients(
            plan_scenarios(&req.releases, &req.modes, Backend::Embedded, &req.scenarios),
            req,
            &p.ctx,
        );
        p.notes.push(format!(
            "embedded: {} cells on the in-process emulator (emulated, not real Kafka)",
            cells.len()
        ));
        p.cells.extend(cells);
    }
    if req.backend.includes(Backend::Container) {
        plan_containers(req, &mut p, &mut warn).await?;
    }
    if req.backend.includes(Backend::Jvm) {
        plan_jvm(req, &mut p, &mut warn).await?;
    }
    if req.backend.includes(Backend::External) {
        match &req.brokers {
            Some(brokers) => {
                for b in brokers {
                    let cells = cells_with(&Target::External(b.clone()), Backend::External, &req.scenarios);
                    p.cells.extend(with_clients(cells, req, &p.ctx));
                }
                p.notes.push(format!(
                    "external: {} broker(s) by address; what they are is not verified",
                    brokers.len()
                ));
            }
            None if req.backend == BackendChoice::One(Backend::External) => {
                return Err(PlanError::ExternalNeedsBootstrap)
            }
            None => p.not_run.push(NotRun {
                what: "external".into(),
                reason: "no --bootstrap given".into(),
            }),
        }
    }
    Ok(p)
}

/// Sets up the corpus clients of `req.clients` (see [`with_clients`]).
async fn plan_clients(req: &PlanRequest, p: &mut Plan, warn: &mut impl FnMut(&str)) -> Result<(), PlanError> {
    let (clients, not_run) = corpus_clients(&req.clients_dir, &req.clients, req.require_clients, warn).await?;
    for c in clients {
        if let ClientStatus::Installed { version } = &c.status {
            p.notes.push(format!("client {}: {version}", c.name));
        }
        p.ctx.corpus.insert(c.name.clone(), c.for_run(req.client_timeout));
        p.clients.push(c);
    }
    p.not_run.extend(not_run);
    Ok(())
}

/// The corpus clients `names` (or `all`) in `dir` that can run, and the ones
/// that cannot, with why. One not installable here at all is a loud "not
/// run", never a pass; one that is missing or broken is an error when named
/// (or when `require` is set), else a loud skip.
pub async fn corpus_clients(
    dir: &Path,
    names: &[String],
    require: bool,
    warn: &mut impl FnMut(&str),
) -> Result<(Vec<CorpusClient>, Vec<NotRun>), PlanError> {
    let all = corpus::discover(dir).await?;
    let chosen = corpus::select(&all, names)?;
    let named = !names.iter().any(|c| c == "all");
    let (mut runnable, mut not_run) = (Vec::new(), Vec::new());
    for c in chosen {
        match &c.status {
            ClientStatus::Installed { .. } => runnable.push(c),
            ClientStatus::Unavailable { why } => {
                warn(&format!("NOT RUN client {}: {why}", c.name));
                not_run.push(NotRun {
                    what: format!("client {}", c.name),
                    reason: why.clone(),
                });
            }
            ClientStatus::Missing { how: why } | ClientStatus::Broken { why } => {
                let err = PlanError::ClientCannotRun {
                    name: c.name.clone(),
                    why: why.clone(),
                };
                if named || require {
                    return Err(err);
                }
                warn(&format!("SKIPPED {err}"));
                not_run.push(NotRun {
                    what: format!("client {}", c.name),
                    reason: why.clone(),
                });
            }
        }
    }
    Ok((runnable, not_run))
}

/// Each `command` cell once per corpus client (and once for the
/// `--client-cmd` command, when given); other cells as they are.
fn with_clients(cells: Vec<Cell>, req: &PlanRequest, ctx: &RunContext) -> Vec<Cell> {
    if req.clients.is_empty() {
        return cells;
    }
    cells
        .into_iter()
        .flat_map(|cell| {
            if cell.scenario != Scenario::Command {
                return vec![cell];
            }
            let mut out: Vec<Cell> = ctx.corpus.keys().map(|n| cell.clone().with_client(n)).collect();
            if req.client_cmd.is_some() {
                out.insert(0, cell);
            }
            out
        })
        .collect()
}

/// Plans the container backend: sets up the run, keeps the cells a
/// published (or locally built) image can run, and adds tansu.
async fn plan_containers(req: &PlanRequest, p: &mut Plan, warn: &mut impl FnMut(&str)) -> Result<(), PlanError> {
    let only_containers = req.backend != BackendChoice::All && req.backend.includes(Backend::Container);
    let mut skip = |p: &mut Plan, e: ContainerError| -> Result<(), PlanError> {
        if only_containers || req.require_docker {
            return Err(PlanError::Containers(e));
        }
        let reason = e.to_string();
        warn(&format!("SKIPPED the container backend: {reason}"));
        p.not_run.push(NotRun {
            what: "container backend".into(),
            reason,
        });
        Ok(())
    };
    let run = match ContainerRun::with_preference(req.image_source, req.image_flavor, &req.root).await {
        Ok(r) => r,
        Err(ContainerError::NotBuilt) => return Err(PlanError::NoContainerBackend),
        Err(e) => return skip(p, e),
    };
    if let Err(e) = run.preflight() {
        return skip(p, e.into());
    }
    let flavor = match run.source() {
        ImageSource::Registry => format!(", preferring {} images", req.image_flavor),
        _ => String::new(),
    };
    p.notes
        .push(format!("container images: {} ({}){flavor}", run.source(), run.why()));
    let mut cells = 0;
    let planned = with_clients(
        plan_scenarios(&req.releases, &req.modes, Backend::Container, &req.scenarios),
        req,
        &p.ctx,
    );
    for cell in planned {
        let Some((release, mode)) = cell.target.release() else {
            continue;
        };
        match run.runnable(ContainerTarget::Kafka(release, mode)) {
            Ok(()) => {
                p.cells.push(cell);
                cells += 1;
            }
            Err(reason) => {
                let what = format!("{release} {mode} container");
                if !p.not_run.iter().any(|n| n.what == what) {
                    p.not_run.push(NotRun {
                        what,
                        reason: reason.to_string(),
                    });
                }
            }
        }
    }
    if req.tansu {
        match run.tansu() {
            Ok((_, version)) => {
                let tansu = with_clients(
                    cells_with(&Target::Tansu, Backend::Container, &req.scenarios),
                    req,
                    &p.ctx,
                );
                cells += tansu.len();
                p.cells.extend(tansu);
                p.notes.push(format!(
                    "tansu {version}: an independent Kafka-compatible broker (not Apache Kafka), locally built image"
                ));
            }
            Err(e) => {
                warn(&format!("SKIPPED tansu: {e}"));
                p.not_run.push(NotRun {
                    what: "tansu container".into(),
                    reason: e.to_string(),
                });
            }
        }
    }
    p.notes.push(format!(
        "container: {cells} cells, one container (or two, with ZooKeeper) per cell"
    ));
    p.ctx.containers = Some(Arc::new(run));
    Ok(())
}

/// Plans the JVM backend: finds the JDK, fetches (or checks) every
/// release's jars up front, so that a missing Maven or jar is one line
/// before any cell runs, and shares one broker per release/mode pair.
async fn plan_jvm(req: &PlanRequest, p: &mut Plan, warn: &mut impl FnMut(&str)) -> Result<(), PlanError> {
    // Named (alone or in a list), the JVM backend must run; under `all` it may be skipped.
    let strict = req.require_jvm || (req.backend != BackendChoice::All && req.backend.includes(Backend::Jvm));
    let skip = |p: &mut Plan, warn: &mut dyn FnMut(&str), e: JvmError| -> Result<(), PlanError> {
        if strict {
            return Err(PlanError::Jvm(e));
        }
        let reason = e.to_string();
        warn(&format!("SKIPPED the jvm backend: {reason}"));
        p.not_run.push(NotRun {
            what: "jvm backend".into(),
            reason,
        });
        Ok(())
    };
    let setup = match JvmSetup::detect(req.kafka_homes.clone()).await {
        Ok(s) => s,
        Err(e) => return skip(p, warn, e),
    };
    let cells = with_clients(
        plan_scenarios(&req.releases, &req.modes, Backend::Jvm, &req.scenarios),
        req,
        &p.ctx,
    );
    let mut releases: Vec<Release> = cells
        .iter()
        .filter_map(|c| c.target.release())
        .map(|(r, _)| r)
        .collect();
    releases.dedup();
    for &release in &releases {
        match setup.install(release).await {
            Ok((install, Fetched::Now(took))) => p.notes.push(format!(
                "jvm: fetched {} in {:.1} s",
                install.describe(),
                took.as_secs_f64()
            )),
            Ok((_, Fetched::Cached)) => {}
            Err(e) => return skip(p, warn, e),
        }
    }
    let pairs: std::collections::BTreeSet<_> = cells.iter().filter_map(|c| c.target.release()).collect();
    p.notes.push(format!(
        "jvm: {} cells on {} real brokers (one per release/mode pair), Kafka's own jars (cache {}), {}",
        cells.len(),
        pairs.len(),
        setup.cache.root().display(),
        setup.java
    ));
    let run = JvmRun::new(setup, cells.iter().filter_map(|c| c.target.release()));
    p.cells.extend(cells);
    p.ctx.jvm = Some(Arc::new(run));
    Ok(())
}

/// Removes what container cells left behind and says so in the notes.
pub async fn sweep(mut notes: Vec<String>, ctx: &RunContext) -> Vec<String> {
    if let Some(run) = &ctx.containers {
        match run.sweep().await {
            Ok(0) => notes.push(format!("containers: none left behind (run label {})", run.run_id())),
            Ok(n) => notes.push(format!("containers: {n} left behind by failed cells were removed")),
            Err(e) => notes.push(format!("containers: could not check for leftovers: {e}")),
        }
    }
    notes
}
