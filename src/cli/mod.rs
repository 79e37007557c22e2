//! The `kafka-matrix` command line: clap definitions and one file per
//! subcommand. `main.rs` only parses and maps errors to exit codes.

/// `println!` for the CLI: a closed stdout (`kafka-matrix catalog | head`)
/// ends the program quietly instead of panicking with a backtrace.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::cli::stdout_failed(&e);
        }
    }};
}

/// `print!` for the CLI, as [`say!`].
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            $crate::cli::stdout_failed(&e);
        }
    }};
}

mod behaviours;
mod catalog;
mod compose;
mod conform;
mod diff;
mod fetch;
#[cfg(feature = "containers")]
mod images;
mod matrix;
mod probe;
mod serve;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::versions::{Mode, Release};

/// Test Kafka clients against every Kafka release.
#[derive(Debug, Parser)]
#[command(name = "kafka-matrix", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an emulated Kafka broker of one release (or, with --real, the real one) until SIGINT/SIGTERM.
    Serve(serve::ServeArgs),
    /// Negotiate with a broker and report what it is.
    Probe(probe::ProbeArgs),
    /// Run ping and metadata against every selected release.
    Matrix(matrix::MatrixArgs),
    /// List the broker behaviours `serve --behave` can put on: real cases that broke clients.
    Behaviours(behaviours::BehavioursArgs),
    /// Run a client against every release × behaviour and judge it: a report card with a verdict per cell.
    Conform(conform::ConformArgs),
    /// Print the release catalog, or check published Kafka versions against it.
    Catalog(catalog::CatalogArgs),
    /// Send the same bytes to the real broker of each release and to its emulated twin; list every difference.
    Diff(diff::DiffArgs),
    /// Fetch real Kafka's jars from Maven Central into the JVM backend's cache (runs then need no network).
    Fetch(fetch::FetchArgs),
    /// Print a compose file (or its `--bootstrap` list) generated from the container plans.
    Compose(compose::ComposeArgs),
    /// Build the local images (emulated releases, tansu) from static binaries.
    #[cfg(feature = "containers")]
    Images(images::ImagesArgs),
}

/// Stdout is gone: a reader that stopped reading (`| head`) is a normal end;
/// anything else is reported in one line.
pub(crate) fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("kafka-matrix: cannot write to stdout: {e}");
    std::process::exit(1);
}

/// A failed command; `main` prints its `Display` as one line and exits 1.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// A bad flag, a bad combination of flags, or a failed step, in words.
    #[error("{0}")]
    Message(String),
    /// The matrix run could not be planned.
    #[error(transparent)]
    Plan(#[from] crate::matrix::plan::PlanError),
    /// The emulator could not start.
    #[error(transparent)]
    Emulator(#[from] crate::emulator::EmulatorError),
    /// The container backend failed.
    #[error(transparent)]
    Container(#[from] crate::backend::container::ContainerError),
    /// A binary for a local image is missing.
    #[error(transparent)]
    LocalImage(#[from] crate::backend::container::local::LocalImageError),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// JSON output failed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The matrix ran, and some cells failed.
    #[error("{failed} of {cells} cells failed")]
    CellsFailed {
        /// Cells that failed.
        failed: usize,
        /// Cells that ran.
        cells: usize,
    },
}

/// [`CliError::Message`], under the name the error's old tuple-struct
/// constructor had: `serve.rs` (being changed on another branch) still
/// writes `CliError(format!(..))`. Once it writes `CliError::Message`, this goes.
#[allow(non_snake_case)]
pub(crate) fn CliError(message: String) -> CliError {
    CliError::Message(message)
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Message(message)
    }
}

/// Makes sure the report can be written to `dir`: creates it and its
/// `transcripts/`, and writes and removes a file in each.
pub(super) fn check_out(dir: &Path) -> Result<(), CliError> {
    let check = |d: &Path| -> std::io::Result<()> {
        std::fs::create_dir_all(d)?;
        let probe = d.join(format!(".kafka-matrix-write-check-{}", std::process::id()));
        std::fs::write(&probe, b"")?;
        std::fs::remove_file(&probe)
    };
    for d in [dir.to_owned(), dir.join("transcripts")] {
        check(&d)
            .map_err(|e| CliError::Message(format!("--out {}: cannot write the report there: {e}", d.display())))?;
    }
    Ok(())
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Probe(args) => probe::run(args).await,
        Command::Matrix(args) => matrix::run(args).await,
        Command::Behaviours(args) => behaviours::run(&args),
        Command::Conform(args) => conform::run(args).await,
        Command::Catalog(args) => catalog::run(args),
        Command::Compose(args) => compose::run(args),
        Command::Fetch(args) => fetch::run(args).await,
        Command::Diff(args) => diff::run(args).await,
        #[cfg(feature = "containers")]
        Command::Images(args) => images::run(args).await,
    }
}

/// The mode to use for `release` when none is given: ZooKeeper where the
/// release has it (≤ 3.9), KRaft otherwise.
fn default_mode(release: Release) -> Mode {
    crate::versions::release_info(release)
        .and_then(|info| info.modes.first().copied())
        .unwrap_or(Mode::Kraft)
}

/// Default report directory.
fn default_out() -> PathBuf {
    PathBuf::from("target/kafka-matrix/report")
}
