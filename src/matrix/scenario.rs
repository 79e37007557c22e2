//! What each matrix cell does against its broker.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A scenario run in one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Connect, negotiate, one ApiVersions round trip at the negotiated version.
    Ping,
    /// Connect, negotiate, Metadata for all topics at the negotiated version.
    Metadata,
    /// Run the user's `--client-cmd` against the cell's broker.
    Command,
}

impl Scenario {
    /// This crate's own scenarios, in report order (`Command` needs a command).
    pub const ALL: [Scenario; 2] = [Scenario::Ping, Scenario::Metadata];
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scenario::Ping => "ping",
            Scenario::Metadata => "metadata",
            Scenario::Command => "command",
        })
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ping" => Ok(Scenario::Ping),
            "metadata" => Ok(Scenario::Metadata),
            "command" => Ok(Scenario::Command),
            other => Err(format!("unknown scenario {other:?}; known: ping, metadata, command")),
        }
    }
}
