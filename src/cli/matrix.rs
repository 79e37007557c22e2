//! `kafka-matrix matrix [--releases SPEC] [--modes zk,kraft] [--out DIR]`.

use std::path::PathBuf;

use clap::Args;

use super::{default_out, CliError};
use crate::client::ClientConfig;
use crate::matrix::{parse_releases, plan, run as run_cells, Backend};
use crate::report::{progress_line, Report};
use crate::versions::Mode;

/// Arguments of `matrix`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Releases: `all`, `3.8`, `2.0..3.8`, or a comma list of those.
    #[arg(long, default_value = "all", env = "KAFKA_VERSIONS")]
    releases: String,
    /// Modes to include.
    #[arg(long, value_delimiter = ',', default_value = "zk,kraft")]
    modes: Vec<Mode>,
    /// Directory for report.json and report.md.
    #[arg(long, default_value_os_t = default_out())]
    out: PathBuf,
}

pub(super) async fn run(args: MatrixArgs) -> Result<(), CliError> {
    let releases = parse_releases(&args.releases)?;
    let cells = plan(&releases, &args.modes, Backend::Embedded);
    if cells.is_empty() {
        return Err(CliError(format!(
            "no cells: releases {:?} have none of the modes {:?}",
            args.releases, args.modes
        )));
    }
    println!(
        "running {} cells on the embedded backend (emulated Kafka, not real brokers)",
        cells.len()
    );
    let results = run_cells(&cells, &ClientConfig::default(), |r| println!("{}", progress_line(r))).await;
    let report = Report::new(results);
    println!();
    print!("{}", report.table());
    let (json, md) = report
        .write(&args.out)
        .map_err(|e| CliError(format!("cannot write the report to {}: {e}", args.out.display())))?;
    println!(
        "\n{} passed, {} failed; report: {} and {}",
        report.passed,
        report.failed,
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
