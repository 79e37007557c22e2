//! `kafka-matrix behaviours [--json]`: the catalogue of broker behaviours
//! that have broken real clients, with their sources (`emulator::behaviour`).

use clap::Args;
use serde::Serialize;

use super::CliError;
use crate::emulator::behaviour::{Ending, CATALOGUE, KNOBS};

/// Arguments of `behaviours`.
#[derive(Debug, Args)]
pub struct BehavioursArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Entry {
    name: &'static str,
    wire: &'static str,
    case: &'static str,
    correct: &'static str,
    behave: String,
    /// How `conform` expects a correct client's run to end.
    ends: &'static str,
}

pub(super) fn run(args: &BehavioursArgs) -> Result<(), CliError> {
    let entries: Vec<Entry> = CATALOGUE
        .iter()
        .map(|b| Entry {
            name: b.name,
            wire: b.wire,
            case: b.case,
            correct: b.correct,
            behave: if b.knobs.is_empty() {
                "the release itself (choose it with --kafka)".to_owned()
            } else {
                format!("--behave {}", b.name)
            },
            ends: match b.expect.ending {
                Ending::Succeeds => "exit 0 (a client must get through this)",
                Ending::Fails => "a non-zero exit, in time (nothing usable can be had)",
                Ending::Either => "either exit, in time",
            },
        })
        .collect();
    if args.json {
        say!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(());
    }
    for e in &entries {
        say!(
            "{}\n  on the wire: {}\n  real case:   {}\n  correct:     {}\n  conform:     {}\n  use:         {}\n",
            e.name,
            e.wire,
            e.case,
            e.correct,
            e.ends,
            e.behave
        );
    }
    say!("knobs for --behave: {KNOBS}");
    Ok(())
}
