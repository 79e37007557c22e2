//! `kafka-matrix matrix [--releases SPEC] [--modes zk,kraft] [--backend B]
//! [--image-source S] [--bootstrap LIST] [--jobs N] [--out DIR]`.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;

use super::{default_out, CliError};
use crate::backend::container::ImagePreference;
use crate::backend::{parse_bootstrap, BackendChoice, ExternalBroker, ImageSource};
use crate::matrix::corpus;
use crate::matrix::plan::{plan, sweep, PlanRequest};
use crate::matrix::{run as run_cells, ClientCommand, Scenario};
use crate::report::{progress_line, Report};
use crate::versions::{parse_releases, Mode};

/// Set to 1 to make a missing Docker engine an error instead of a skip.
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
    /// Where brokers come from: embedded, container, jvm (real Kafka from Maven Central's jars), external, a list
    /// (`embedded,jvm`: each real broker beside its emulated twin, one grid), or all.
    #[arg(long, default_value = "embedded", env = "KAFKA_MATRIX_BACKEND")]
    backend: BackendChoice,
    /// Container images: registry (real Kafka), local (built emulated images), or auto.
    #[arg(long, default_value = "auto", env = "KAFKA_MATRIX_IMAGE_SOURCE", value_parser = ImageSource::from_str)]
    image_source: ImageSource,
    /// Registry images: apache (apache/kafka first), native (apache/kafka-native where published), confluent (cp-kafka).
    #[arg(long, default_value = "apache", env = "KAFKA_MATRIX_IMAGE_FLAVOR", value_parser = ImagePreference::from_str)]
    image_flavor: ImagePreference,
    /// External brokers: a comma list of `[RELEASE[/MODE]=]HOST:PORT`; HOST is a DNS name, an IPv4 address
    /// or a bracketed IPv6 address.
    #[arg(long, env = "KAFKA_MATRIX_BOOTSTRAP", value_name = "LIST")]
    bootstrap: Option<String>,
    /// Scenarios per target: ping, metadata, command (default: ping,metadata, plus command with --client-cmd).
    #[arg(long, value_delimiter = ',', value_parser = Scenario::from_str)]
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
    /// The JVM backend: run this Kafka installation (the release tarball's layout) instead of fetched jars,
    /// RELEASE=DIR, e.g. 3.8=/opt/kafka_2.13-3.8.0; repeatable or comma-separated.
    #[arg(long = "kafka-home", value_name = "RELEASE=DIR", env = "KAFKA_MATRIX_KAFKA_HOME")]
    kafka_homes: Vec<String>,
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
            parse_bootstrap(spec)
                .map_err(|e| CliError::Message(format!("--bootstrap (or KAFKA_MATRIX_BOOTSTRAP): {e}")))
        })
        .transpose()
}

/// Whether the environment variable `name` is set to `1` or `true`.
fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v == "true")
}

fn require_docker() -> bool {
    env_flag(REQUIRE_DOCKER_ENV)
}

/// Set to 1 to make a JVM backend that cannot run (no JDK, no jars) an error instead of a skip (CI sets `CI`).
pub const REQUIRE_JVM_ENV: &str = "KAFKA_MATRIX_REQUIRE_JVM";

/// Set to 1 to make a corpus client that is not installed an error instead of a skip (CI sets `CI`).
pub const REQUIRE_CLIENTS_ENV: &str = "KAFKA_MATRIX_REQUIRE_CLIENTS";

pub(super) fn require_clients() -> bool {
    env_flag(REQUIRE_CLIENTS_ENV) || env_flag("CI")
}

pub(super) async fn run(args: MatrixArgs) -> Result<(), CliError> {
    if args.clients.iter().any(|c| c == "list") {
        let dir = corpus::clients_dir();
        let clients = corpus::discover(&dir)
            .await
            .map_err(|e| CliError::Message(e.to_string()))?;
        say!("{} clients in {}:", clients.len(), dir.display());
        for c in &clients {
            say!("  {}", c.line());
        }
        return Ok(());
    }
    let brokers = brokers(&args)?;
    super::check_out(&args.out)?;
    let req = plan_request(&args, brokers)?;
    let planned = plan(&req, |line| eprintln!("{line}")).await?;
    if planned.cells.is_empty() {
        return Err(CliError::Message(format!(
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
        .map_err(|e| CliError::Message(format!("cannot write the report to {}: {e}", args.out.display())))?;
    say!(
        "\n{} passed{}, {} failed, {} not run; report: {} and {}",
        report.passed,
        report.expected_failures_text(),
        report.failed,
        report.not_run.len(),
        json.display(),
        md.display()
    );
    if report.failed > 0 {
        return Err(CliError::CellsFailed {
            failed: report.failed,
            cells: report.cells.len(),
        });
    }
    Ok(())
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
        return Err(CliError::Message(
            "the command scenario needs --client-cmd 'COMMAND {bootstrap}' or --client NAME".into(),
        ));
    }
    if !args.clients.is_empty() && !list.contains(&Scenario::Command) {
        return Err(CliError::Message(
            "--client is given but --scenarios leaves out `command`".into(),
        ));
    }
    if let Some(cmd) = &args.client_cmd {
        if cmd.trim().is_empty() {
            return Err(CliError::Message("--client-cmd is empty".into()));
        }
        if !list.contains(&Scenario::Command) {
            return Err(CliError::Message(
                "--client-cmd is given but --scenarios leaves out `command`".into(),
            ));
        }
    }
    Ok(list)
}

/// What `args` ask the planner for.
fn plan_request(args: &MatrixArgs, brokers: Option<Vec<ExternalBroker>>) -> Result<PlanRequest, CliError> {
    let releases = parse_releases(&args.releases)?;
    let scenarios = scenarios(args)?;
    let root = std::env::current_dir().map_err(|e| CliError::Message(format!("no current directory: {e}")))?;
    Ok(PlanRequest {
        releases,
        modes: args.modes.clone(),
        backend: args.backend,
        image_source: args.image_source,
        image_flavor: args.image_flavor,
        brokers,
        scenarios,
        client_cmd: args.client_cmd.as_ref().map(|template| ClientCommand {
            template: template.clone(),
            timeout: Duration::from_secs(args.client_timeout),
        }),
        clients: args.clients.clone(),
        clients_dir: corpus::clients_dir(),
        client_timeout: Duration::from_secs(args.client_timeout),
        tansu: !args.no_tansu,
        jobs: usize::from(args.jobs),
        report_dir: Some(args.out.clone()),
        root,
        require_docker: require_docker(),
        require_clients: require_clients(),
        kafka_homes: crate::backend::jvm::parse_kafka_homes(&args.kafka_homes)?,
        require_jvm: env_flag(REQUIRE_JVM_ENV) || env_flag("CI"),
    })
}
