//! `kafka-matrix conform (--client-cmd CMD | --client NAME) [--releases SPEC]
//! [--modes zk,kraft] [--behaviours LIST] [--client-timeout S] [--jobs N]
//! [--out DIR]`: a client against release × behaviour, with a verdict per
//! cell (`matrix::conform`) and a report card (`report::conform`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::CliError;
use crate::emulator::behaviour::{self, Behaviour, CATALOGUE};
use crate::matrix::conform::{plan, run_all};
use crate::matrix::corpus::{self, ClientStatus};
use crate::matrix::plan::corpus_clients;
use crate::report::conform::{progress_line, ConformReport};
use crate::versions::{parse_releases, table, Mode};

/// Arguments of `conform`.
#[derive(Debug, Args)]
pub struct ConformArgs {
    /// Your client, run once per cell as `sh -c`: placeholders {bootstrap} {host} {port} {release} {mode}, each
    /// filled in as one shell-quoted word. It should do what it normally does on start (connect, fetch metadata)
    /// and exit 0 on success, non-zero on failure.
    #[arg(
        long,
        value_name = "COMMAND",
        required_unless_present = "clients",
        conflicts_with = "clients"
    )]
    client_cmd: Option<String>,
    /// Its name in the report (with --client-cmd).
    #[arg(long, default_value = "custom", requires = "client_cmd")]
    name: String,
    /// Clients from the interop corpus (clients/) instead: NAME[,NAME...] or `all`.
    #[arg(long = "client", value_delimiter = ',', value_name = "NAME")]
    clients: Vec<String>,
    /// Releases: `all`, `3.8`, `2.0..3.8`, or a comma list of those.
    #[arg(long, default_value = "all", env = "KAFKA_VERSIONS")]
    releases: String,
    /// Modes to include.
    #[arg(long, value_delimiter = ',', default_value = "zk,kraft")]
    modes: Vec<Mode>,
    /// Behaviours (`kafka-matrix behaviours` lists them): NAME[,NAME...] or `all`.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    behaviours: Vec<String>,
    /// Seconds before the client is killed (a killed client fails its cell: it did not give up in time).
    #[arg(long, default_value_t = 45, value_parser = clap::value_parser!(u64).range(1..=3600))]
    client_timeout: u64,
    /// Cells run at once (each has its own emulator; most of a cell is waiting).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Directory for report.md, report.json, report.svg and transcripts/.
    #[arg(long, default_value = "target/kafka-matrix/conform")]
    out: PathBuf,
}

fn selected_behaviours(names: &[String]) -> Result<Vec<&'static Behaviour>, CliError> {
    if names.iter().any(|n| n == "all") {
        return Ok(CATALOGUE.iter().collect());
    }
    let mut out: Vec<&'static Behaviour> = Vec::new();
    for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let b = behaviour::find(n).ok_or_else(|| {
            let names: Vec<&str> = CATALOGUE.iter().map(|b| b.name).collect();
            CliError(format!(
                "--behaviours: unknown behaviour {n:?}; known: {}",
                names.join(", ")
            ))
        })?;
        if !out.contains(&b) {
            out.push(b);
        }
    }
    if out.is_empty() {
        return Err(CliError("--behaviours is empty".into()));
    }
    Ok(out)
}

/// Checks that the report can be written to `dir` (as `matrix` does) and
/// removes an earlier run's transcripts (they would be mistaken for this
/// run's).
fn prepare_out(dir: &Path) -> Result<(), CliError> {
    super::check_out(dir)?;
    let stale = || -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir.join("transcripts"))? {
            let path = entry?.path();
            if path.is_file() {
                std::fs::remove_file(&path)?;
            }
        }
        Ok(())
    };
    stale().map_err(|e| CliError(format!("--out {}: cannot clear its transcripts: {e}", dir.display())))
}

/// The clients to run: (name, command template).
async fn clients(args: &ConformArgs) -> Result<Vec<(String, String)>, CliError> {
    if let Some(cmd) = &args.client_cmd {
        if cmd.trim().is_empty() {
            return Err(CliError("--client-cmd is empty".into()));
        }
        if args.name.is_empty()
            || !args
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            return Err(CliError(format!(
                "--name {:?}: use letters, digits, '.', '_' and '-' (it names transcript files)",
                args.name
            )));
        }
        return Ok(vec![(args.name.clone(), cmd.clone())]);
    }
    let timeout = Duration::from_secs(args.client_timeout);
    let (clients, _) = corpus_clients(
        &corpus::clients_dir(),
        &args.clients,
        super::matrix::require_clients(),
        &mut |line| eprintln!("{line}"),
    )
    .await?;
    let mut out = Vec::new();
    for c in clients {
        if let ClientStatus::Installed { version } = &c.status {
            say!("client {}: {version}", c.name);
        }
        out.push((c.name.clone(), c.command(timeout).template));
    }
    if out.is_empty() {
        return Err(CliError("no client to run".into()));
    }
    Ok(out)
}

pub(super) async fn run(args: ConformArgs) -> Result<(), CliError> {
    let behaviours = selected_behaviours(&args.behaviours)?;
    let releases = parse_releases(&args.releases).map_err(|e| CliError(format!("--releases: {e}")))?;
    let pairs: Vec<_> = releases
        .iter()
        .flat_map(|&r| args.modes.iter().map(move |&m| (r, m)))
        .filter(|&(r, m)| table(r, m).is_some())
        .collect();
    if pairs.is_empty() {
        return Err(CliError(format!(
            "no release in {:?} has a mode in {:?}",
            args.releases, args.modes
        )));
    }
    prepare_out(&args.out)?;
    let clients = clients(&args).await?;
    let runs = plan(&clients, &pairs, &behaviours);
    let cells: usize = runs.iter().map(|r| r.behaviours.len()).sum();
    say!(
        "conform: {} client(s) × {} release/mode pairs × {} behaviours = {cells} cells in {} runs, {} at a time \
         (broker: the in-process emulator)",
        clients.len(),
        pairs.len(),
        behaviours.len(),
        runs.len(),
        args.jobs
    );
    let timeout = Duration::from_secs(args.client_timeout);
    let results = run_all(&runs, timeout, usize::from(args.jobs), &args.out, |cells| {
        for c in cells {
            say!("{}", progress_line(c));
        }
    })
    .await
    .map_err(|e| CliError(e.to_string()))?;
    let report = ConformReport::new(clients, results);
    let md = report
        .write(&args.out)
        .map_err(|e| CliError(format!("cannot write the report to {}: {e}", args.out.display())))?;
    say!(
        "\n{} PASS, {} FAIL, {} N/A; report: {} (and report.json, report.svg)",
        report.passed,
        report.failed,
        report.not_applicable,
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
