//! What a cell's broker is asked to be.

use serde::Serialize;

use super::ExternalBroker;
use crate::versions::{Mode, Release};

/// What a cell runs against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target {
    /// A Kafka release in a mode.
    Kafka {
        /// The release.
        release: Release,
        /// Its mode.
        mode: Mode,
    },
    /// tansu, an independent Kafka-compatible broker (container backend).
    Tansu,
    /// A broker the user runs.
    External(ExternalBroker),
}

impl Target {
    /// The Kafka release (and mode) this target is, or claims to be.
    pub fn release(&self) -> Option<(Release, Mode)> {
        match self {
            Target::Kafka { release, mode } => Some((*release, *mode)),
            Target::Tansu => None,
            Target::External(e) => e.claimed,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Kafka { release, mode } => write!(f, "{release} {mode}"),
            Target::Tansu => f.write_str("tansu"),
            Target::External(e) => match e.claimed {
                Some((r, m)) => write!(f, "{r} {m} @{}", e.bootstrap),
                None => write!(f, "@{}", e.bootstrap),
            },
        }
    }
}
