//! Where a cell's broker comes from, and starting/stopping it.
//!
//! - [`Backend::Embedded`]: the emulator in this process (the default);
//! - [`Backend::Container`]: a container per cell, real Kafka images or
//!   locally built emulated ones (see [`container`]);
//! - [`Backend::Jvm`]: real Kafka from Kafka's own jars, as local JVM
//!   processes (see [`jvm`]), one broker per release/mode pair of a run;
//! - [`Backend::External`]: a broker the user runs, given by address.
//!
//! Every started broker says what it is ([`BrokerKind`]), so a report can
//! never show an emulated or independent broker as real Kafka.

pub mod container;
pub mod error;
pub mod external;
pub mod group;
pub mod jvm;
pub mod kind;
pub mod probe;
pub mod settings;
mod start;
pub mod target;

use std::fmt;
use std::str::FromStr;

pub use container::ImageSource;
pub use error::BackendError;
pub use external::{parse_bootstrap, BootstrapError, ExternalBroker};
pub use kind::BrokerKind;
pub use start::{describe, start, RunningBroker, Runs};
pub use target::Target;

/// One backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The in-process emulator (not real Kafka).
    Embedded,
    /// A container per cell.
    Container,
    /// Real Kafka from Maven Central's jars, as local JVM processes.
    Jvm,
    /// A broker given by address.
    External,
}

value_enum_text!(Backend => "backend");

impl Backend {
    /// Every backend, in report order.
    pub const ALL: [Backend; 4] = [Backend::Embedded, Backend::Container, Backend::Jvm, Backend::External];
}

/// What `--backend` selects: one backend or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// Just this one.
    One(Backend),
    /// Embedded, container, JVM, and external when an address is given.
    All,
}

impl BackendChoice {
    /// Whether `backend` is selected.
    pub fn includes(self, backend: Backend) -> bool {
        match self {
            BackendChoice::One(b) => b == backend,
            BackendChoice::All => true,
        }
    }
}

impl FromStr for BackendChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(BackendChoice::All),
            other => <Backend as clap::ValueEnum>::from_str(other, false)
                .map(BackendChoice::One)
                .map_err(|_| crate::value_enum::unknown::<Backend>("backend", other, &["all"])),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendChoice::One(b) => b.fmt(f),
            BackendChoice::All => f.write_str("all"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_choice_parses_every_name_and_rejects_others() {
        assert_eq!("all".parse(), Ok(BackendChoice::All));
        for b in Backend::ALL {
            assert_eq!(b.to_string().parse(), Ok(BackendChoice::One(b)));
            assert!(BackendChoice::All.includes(b));
        }
        assert!(!BackendChoice::One(Backend::Embedded).includes(Backend::Container));
        assert_eq!(
            "docker".parse::<BackendChoice>(),
            Err("unknown backend \"docker\"; known: embedded, container, jvm, external, all".into())
        );
    }
}
