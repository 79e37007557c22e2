//! `kafka-matrix matrix [--releases SPEC] [--modes zk,kraft] [--backend B]
//! [--image-source S] [--bootstrap LIST] [--jobs N] [--out DIR]`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{default_out, CliError};
use crate::backend::{parse_bootstrap, Backend, BackendChoice, ExternalBroker, ImageSource};
use crate::matrix::corpus::{self, ClientStatus, CorpusClient};
use crate::matrix::{cells_with, plan_scenarios, run as run_cells, Cell, ClientCommand, RunContext, Scenario, Target};
use crate::report::{progress_line, NotRun, Report};
use crate::versions::{parse_releases, Mode};

/// Set to 1 to make a missing Docker engine an error instead of a skip.
#[cfg(feature = "containers")]
pub const REQUIRE_DOCKER_ENV: &str = "KAFKA_MATRIX_REQUIRE_DOCKER";

/// Arguments of `matrix`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Releases: `all`, `3.8`, `2.0..3.8`, or a comma list of those.
    #[arg(long, default_value = "all", env = "KAFKA_VERSIONS")]
    releases: String,
    /// Modes to include.
    #[arg(long, value_delimiter = ',', default_value = "zk,kraft")]
    modes: Vec<Mode>,
    /// Where brokers come from: embedded, container, external, or all.
    #[arg(long, default_value = "embedded", env = "KAFKA_MATRIX_BACKEND")]
    backend: BackendChoice,
    /// Container images: registry (real Kafka), local (built emulated images), or auto.
    #[arg(long, default_value = "auto", env = "KAFKA_MATRIX_IMAGE_SOURCE")]
    image_source: ImageSource,
    /// Registry images: apache (apache/kafka first), native (apache/kafka-native where published), confluent (cp-kafka).
    #[arg(long, default_value = "apache", env = "KAFKA_MATRIX_IMAGE_FLAVOR")]
    image_flavor: crate::backend::container::ImagePreference,
    /// External brokers: a comma list of `[RELEASE[/MODE]=]HOST:PORT`; HOST is a DNS name, an IPv4 address
    /// or a bracketed IPv6 address.
    #[arg(long, env = "KAFKA_MATRIX_BOOTSTRAP", value_name = "LIST")]
    bootstrap: Option<String>,
    /// Scenarios per target: ping, metadata, command (default: ping,metadata, plus command with --client-cmd).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<Scenario>,
    /// Your own client, run once per cell as `sh -c`: placeholders {bootstrap} {host} {port} {release} {mode},
    /// each filled in as one shell-quoted word. All of its output goes to transcripts/NNN-<cell>.out.
    #[arg(long, value_name = "COMMAND")]
    client_cmd: Option<String>,
    /// Real clients from the interop corpus (clients/): NAME[,NAME...], `all`, or `list` (show them and exit).
    /// Each runs as a command cell; the report gets a client × release grid.
    #[arg(long = "client", value_delimiter = ',', value_name = "NAME")]
    clients: Vec<String>,
    /// Seconds before the client command is killed.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    client_timeout: u64,
    /// Leave out the tansu cells of the container backend.
    #[arg(long)]
    no_tansu: bool,
    /// Cells run at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Directory for report.json, report.md and transcripts/ (checked to be writable before any cell runs).
    #[arg(long, default_value_os_t = default_out())]
    out: PathBuf,
}

/// Parses `--bootstrap` (or `KAFKA_MATRIX_BOOTSTRAP`), when given: a bad
/// entry is one line naming it, before anything runs.
fn brokers(args: &MatrixArgs) -> Result<Option<Vec<ExternalBroker>>, CliError> {
    args.bootstrap
        .as_deref()
        .map(|spec| {
            parse_bootstrap(spec).map_err(|e| CliError(format!("--bootstrap (or KAFKA_MATRIX_BOOTSTRAP): {e}")))
        })
        .transpose()
}

/// Makes sure the report can be written to `dir`: creates it and its
/// `transcripts/`, and writes and removes a file in each.
fn check_out(dir: &Path) -> Result<(), CliError> {
    let check = |d: &Path| -> std::io::Result<()> {
        std::fs::create_dir_all(d)?;
        let probe = d.join(format!(".kafka-matrix-write-check-{}", std::process::id()));
        std::fs::write(&probe, b"")?;
        std::fs::remove_file(&probe)
    };
    for d in [dir.to_owned(), dir.join("transcripts")] {
        check(&d).map_err(|e| CliError(format!("--out {}: cannot write the report there: {e}", d.display())))?;
    }
    Ok(())
}

/// The cells to run and what was left out.
struct Planned {
    cells: Vec<Cell>,
    clients: Vec<CorpusClient>,
    not_run: Vec<NotRun>,
    notes: Vec<String>,
    ctx: RunContext,
}

/// Whether the environment variable `name` is set to `1` or `true`.
fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v == "true")
}

#[cfg(feature = "containers")]
fn require_docker() -> bool {
    env_flag(REQUIRE_DOCKER_ENV)
}

/// Set to 1 to make a corpus client that is not installed an error instead of a skip (CI sets `CI`).
pub const REQUIRE_CLIENTS_ENV: &str = "KAFKA_MATRIX_REQUIRE_CLIENTS";

fn require_clients() -> bool {
    env_flag(REQUIRE_CLIENTS_ENV) || env_flag("CI")
}

pub(super) async fn run(args: MatrixArgs) -> Result<(), CliError> {
    if args.clients.iter().any(|c| c == "list") {
        let dir = corpus::clients_dir();
        let clients = corpus::discover(&dir).await.map_err(|e| CliError(e.to_string()))?;
        say!("{} clients in {}:", clients.len(), dir.display());
        for c in &clients {
            say!("  {}", c.line());
        }
        return Ok(());
    }
    let brokers = brokers(&args)?;
    check_out(&args.out)?;
    let planned = plan_run(&args, brokers).await?;
    if planned.cells.is_empty() {
        return Err(CliError(format!(
            "no cells to run for releases {:?}, modes {:?}, backend {}{}",
            args.releases,
            args.modes,
            args.backend,
            planned
                .not_run
                .first()
                .map(|n| format!(" ({}: {})", n.what, n.reason))
                .unwrap_or_default()
        )));
    }
    for n in &planned.notes {
        say!("{n}");
    }
    for n in &planned.not_run {
        say!("NOT RUN {}: {}", n.what, n.reason);
    }
    say!("running {} cells, {} at a time", planned.cells.len(), args.jobs);
    let results = run_cells(&planned.cells, &planned.ctx, |r| say!("{}", progress_line(r))).await;
    let notes = sweep(planned.notes, &planned.ctx).await;
    let mut report = Report::new(results);
    report.clients = planned.clients;
    report.not_run = planned.not_run;
    report.notes = notes;
    say!();
    say_raw!("{}{}", report.grid(), report.table());
    let (json, md) = report
        .write(&args.out)
        .map_err(|e| CliError(format!("cannot write the report to {}: {e}", args.out.display())))?;
    say!(
        "\n{} passed, {} failed, {} not run; report: {} and {}",
        report.passed,
        report.failed,
        report.not_run.len(),
        json.display(),
        md.display()
    );
    if report.failed > 0 {
        return Err(CliError(format!(
            "{} of {} cells failed",
            report.failed,
            report.cells.len()
        )));
    }
    Ok(())
}

/// Removes what container cells left behind and says so in the notes.
#[cfg(feature = "containers")]
async fn sweep(mut notes: Vec<String>, ctx: &RunContext) -> Vec<String> {
    if let Some(run) = &ctx.containers {
        match run.sweep().await {
            Ok(0) => notes.push(format!("containers: none left behind (run label {})", run.run_id())),
            Ok(n) => notes.push(format!("containers: {n} left behind by failed cells were removed")),
            Err(e) => notes.push(format!("containers: could not check for leftovers: {e}")),
        }
    }
    notes
}

#[cfg(not(feature = "containers"))]
async fn sweep(notes: Vec<String>, _: &RunContext) -> Vec<String> {
    notes
}

/// The scenarios to run: `--scenarios`, else ping and metadata (and command
/// when `--client-cmd` is given).
fn scenarios(args: &MatrixArgs) -> Result<Vec<Scenario>, CliError> {
    let mut list = if args.scenarios.is_empty() {
        // --client alone runs only the clients: the grid is what it is for.
        let mut l = if args.clients.is_empty() {
            Scenario::ALL.to_vec()
        } else {
            Vec::new()
        };
        if args.client_cmd.is_some() || !args.clients.is_empty() {
            l.push(Scenario::Command);
        }
        l
    } else {
        args.scenarios.clone()
    };
    list.dedup();
    if list.contains(&Scenario::Command) && args.client_cmd.is_none() && args.clients.is_empty() {
        return Err(CliError(
            "the command scenario needs --client-cmd 'COMMAND {bootstrap}' or --client NAME".into(),
        ));
    }
    if !args.clients.is_empty() && !list.contains(&Scenario::Command) {
        return Err(CliError(
            "--client is given but --scenarios leaves out `command`".into(),
        ));
    }
    if let Some(cmd) = &args.client_cmd {
        if cmd.trim().is_empty() {
            return Err(CliError("--client-cmd is empty".into()));
        }
        if !list.contains(&Scenario::Command) {
            return Err(CliError(
                "--client-cmd is given but --scenarios leaves out `command`".into(),
            ));
        }
    }
    Ok(list)
}

async fn plan_run(args: &MatrixArgs, brokers: Option<Vec<ExternalBroker>>) -> Result<Planned, CliError> {
    let releases = parse_releases(&args.releases)?;
    let scenarios = scenarios(args)?;
    let mut p = Planned {
        cells: Vec::new(),
        clients: Vec::new(),
        not_run: Vec::new(),
        notes: Vec::new(),
        ctx: RunContext {
            jobs: usize::from(args.jobs),
            client_cmd: args.client_cmd.as_ref().map(|template| ClientCommand {
                template: template.clone(),
                timeout: std::time::Duration::from_secs(args.client_timeout),
            }),
            report_dir: Some(args.out.clone()),
            ..RunContext::default()
        },
    };
    if let Some(cmd) = &args.client_cmd {
        p.notes
            .push(format!("client command: `{cmd}` (timeout {} s)", args.client_timeout));
    }
    if !args.clients.is_empty() {
        plan_clients(args, &mut p).await?;
    }
    if args.backend.includes(Backend::Embedded) {
        let cells = with_clients(
            plan_scenarios(&releases, &args.modes, Backend::Embedded, &scenarios),
            args,
            &p.ctx,
        );
        p.notes.push(format!(
            "embedded: {} cells on the in-process emulator (emulated, not real Kafka)",
            cells.len()
        ));
        p.cells.extend(cells);
    }
    if args.backend.includes(Backend::Container) {
        plan_containers(args, &releases, &scenarios, &mut p).await?;
    }
    if args.backend.includes(Backend::External) {
        match &brokers {
            Some(brokers) => {
                for b in brokers {
                    let cells = cells_with(&Target::External(b.clone()), Backend::External, &scenarios);
                    p.cells.extend(with_clients(cells, args, &p.ctx));
                }
                p.notes.push(format!(
                    "external: {} broker(s) by address; what they are is not verified",
                    brokers.len()
                ));
            }
            None if args.backend == BackendChoice::One(Backend::External) => {
                return Err(CliError(
                    "--backend external needs --bootstrap [RELEASE=]HOST:PORT[,...] (or KAFKA_MATRIX_BOOTSTRAP)".into(),
                ))
            }
            None => p.not_run.push(NotRun {
                what: "external".into(),
                reason: "no --bootstrap given".into(),
            }),
        }
    }
    Ok(p)
}

/// Sets up the corpus clients of `--client` (see [`with_clients`]).
async fn plan_clients(args: &MatrixArgs, p: &mut Planned) -> Result<(), CliError> {
    let dir = corpus::clients_dir();
    let all = corpus::discover(&dir).await.map_err(|e| CliError(e.to_string()))?;
    let chosen = corpus::select(&all, &args.clients).map_err(|e| CliError(e.to_string()))?;
    let named = !args.clients.iter().any(|c| c == "all");
    let timeout = std::time::Duration::from_secs(args.client_timeout);
    for c in chosen {
        match &c.status {
            ClientStatus::Installed { version } => {
                p.notes.push(format!("client {}: {version}", c.name));
                p.ctx.corpus.insert(c.name.clone(), c.command(timeout));
                p.clients.push(c);
            }
            ClientStatus::Unavailable { why } => {
                // Not installable on this machine at all: a loud "not run", never a pass.
                eprintln!("NOT RUN client {}: {why}", c.name);
                p.not_run.push(NotRun {
                    what: format!("client {}", c.name),
                    reason: why.clone(),
                });
            }
            ClientStatus::Missing { how: why } | ClientStatus::Broken { why } => {
                let reason = format!(
                    "client {} cannot run: {why} (scripts/install-clients.sh installs the corpus)",
                    c.name
                );
                if named || require_clients() {
                    return Err(CliError(reason));
                }
                eprintln!("SKIPPED {reason}");
                p.not_run.push(NotRun {
                    what: format!("client {}", c.name),
                    reason: why.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Each `command` cell once per corpus client of `--client` (and once for
/// `--client-cmd`, when given); other cells as they are.
fn with_clients(cells: Vec<Cell>, args: &MatrixArgs, ctx: &RunContext) -> Vec<Cell> {
    if args.clients.is_empty() {
        return cells;
    }
    cells
        .into_iter()
        .flat_map(|cell| {
            if cell.scenario != Scenario::Command {
                return vec![cell];
            }
            let mut out: Vec<Cell> = ctx.corpus.keys().map(|n| cell.clone().with_client(n)).collect();
            if args.client_cmd.is_some() {
                out.insert(0, cell);
            }
            out
        })
        .collect()
}

#[cfg(not(feature = "containers"))]
async fn plan_containers(
    args: &MatrixArgs,
    _: &[crate::versions::Release],
    _: &[Scenario],
    _: &mut Planned,
) -> Result<(), CliError> {
    let _ = args;
    Err(CliError(
        "this kafka-matrix was built without the `containers` feature; rebuild with default features".into(),
    ))
}

#[cfg(feature = "containers")]
async fn plan_containers(
    args: &MatrixArgs,
    releases: &[crate::versions::Release],
    scenarios: &[Scenario],
    p: &mut Planned,
) -> Result<(), CliError> {
    use std::sync::Arc;

    use crate::backend::container::{ContainerRun, ContainerTarget};

    let only_containers = args.backend == BackendChoice::One(Backend::Container);
    let skip = |p: &mut Planned, reason: String| -> Result<(), CliError> {
        if only_containers || require_docker() {
            return Err(CliError(reason));
        }
        eprintln!("SKIPPED the container backend: {reason}");
        p.not_run.push(NotRun {
            what: "container backend".into(),
            reason,
        });
        Ok(())
    };
    let root = std::env::current_dir().map_err(|e| CliError(format!("no current directory: {e}")))?;
    let run = match ContainerRun::with_preference(args.image_source, args.image_flavor, &root).await {
        Ok(r) => r,
        Err(e) => return skip(p, e.to_string()),
    };
    if let Err(e) = run.preflight() {
        return skip(p, e.to_string());
    }
    let flavor = match run.source() {
        ImageSource::Registry => format!(", preferring {} images", args.image_flavor),
        _ => String::new(),
    };
    p.notes
        .push(format!("container images: {} ({}){flavor}", run.source(), run.why()));
    let mut cells = 0;
    let planned = with_clients(
        plan_scenarios(releases, &args.modes, Backend::Container, scenarios),
        args,
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
                    p.not_run.push(NotRun { what, reason: reason.to_string() });
                }
            }
        }
    }
    if !args.no_tansu {
        match run.tansu() {
            Ok((_, version)) => {
                let tansu = with_clients(cells_with(&Target::Tansu, Backend::Container, scenarios), args, &p.ctx);
                cells += tansu.len();
                p.cells.extend(tansu);
                p.notes.push(format!(
                    "tansu {version}: an independent Kafka-compatible broker (not Apache Kafka), locally built image"
                ));
            }
            Err(e) => {
                eprintln!("SKIPPED tansu: {e}");
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
