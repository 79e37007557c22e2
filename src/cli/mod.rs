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
#[cfg(feature = "containers")]
mod images;
mod matrix;
mod probe;
mod serve;

use std::path::PathBuf;

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
    /// Run an emulated Kafka broker of one release until SIGINT/SIGTERM.
    Serve(serve::ServeArgs),
    /// Negotiate with a broker and report what it is.
    Probe(probe::ProbeArgs),
    /// Run ping and metadata against every selected release.
    Matrix(matrix::MatrixArgs),
    /// List the broker behaviours `serve --behave` can put on: real cases that broke clients.
    Behaviours(behaviours::BehavioursArgs),
    /// Print the release catalog, or check published Kafka versions against it.
    Catalog(catalog::CatalogArgs),
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

/// A failed command: the message is printed as one line.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! cli_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError(e.to_string())
            }
        }
    )*};
}

cli_error_from!(
    String,
    std::io::Error,
    serde_json::Error,
    crate::emulator::EmulatorError,
    crate::matrix::plan::PlanError
);

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Probe(args) => probe::run(args).await,
        Command::Matrix(args) => matrix::run(args).await,
        Command::Behaviours(args) => behaviours::run(&args),
        Command::Catalog(args) => catalog::run(args),
        Command::Compose(args) => compose::run(args),
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
