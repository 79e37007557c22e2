//! What each matrix cell does against its broker.

use serde::Serialize;

/// A scenario run in one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Connect, negotiate, one ApiVersions round trip at the negotiated version.
    Ping,
    /// Connect, negotiate, Metadata for all topics at the negotiated version.
    Metadata,
    /// Run the user's `--client-cmd` against the cell's broker.
    Command,
}

value_enum_text!(Scenario => "scenario");

impl Scenario {
    /// This crate's own scenarios, in report order (`Command` needs a command).
    pub const ALL: [Scenario; 2] = [Scenario::Ping, Scenario::Metadata];
}
