//! `kafka-matrix compose FILE [--bootstrap]`: print a compose file generated
//! from the container backend's own plans, or the `--bootstrap` list for
//! `matrix --backend external` against what that file starts.

use std::str::FromStr;

use clap::Args;

use super::CliError;
use crate::backend::container::compose::{bootstrap_list, render, ComposeFile};

/// Arguments of `compose`.
#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// kraft, zookeeper, emulated, or tansu.
    #[arg(value_parser = ComposeFile::from_str)]
    file: ComposeFile,
    /// Print the brokers' addresses as a `--bootstrap` list instead.
    #[arg(long)]
    bootstrap: bool,
}

pub(super) fn run(args: ComposeArgs) -> Result<(), CliError> {
    if args.bootstrap {
        say!("{}", bootstrap_list(args.file));
    } else {
        say_raw!("{}", render(args.file));
    }
    Ok(())
}
