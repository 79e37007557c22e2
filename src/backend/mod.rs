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

/// What `--backend` selects: one backend, a list (`embedded,jvm`: the real
/// broker and its emulated twin side by side), or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// Just this one.
    One(Backend),
    /// These (two or more; a bit per [`Backend::ALL`] entry).
    Some(u8),
    /// Embedded, container, JVM, and external when an address is given.
    All,
}

impl BackendChoice {
    /// Whether `backend` is selected.
    pub fn includes(self, backend: Backend) -> bool {
        match self {
            BackendChoice::One(b) => b == backend,
            BackendChoice::Some(bits) => bits & Self::bit(backend) != 0,
            BackendChoice::All => true,
        }
    }

    fn bit(backend: Backend) -> u8 {
        1 << Backend::ALL.iter().position(|b| *b == backend).unwrap_or(0)
    }
}

impl FromStr for BackendChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let one = |name: &str| {
            <Backend as clap::ValueEnum>::from_str(name, false)
                .map_err(|_| crate::value_enum::unknown::<Backend>("backend", name, &["all"]))
        };
        if s == "all" {
            return Ok(BackendChoice::All);
        }
        if !s.contains(',') {
            return one(s).map(BackendChoice::One);
        }
        let mut bits = 0;
        for name in s.split(',').map(str::trim) {
            if name == "all" {
                return Err("`all` cannot be part of a backend list".into());
            }
            bits |= Self::bit(one(name)?);
        }
        Ok(match Backend::ALL.iter().find(|b| bits == Self::bit(**b)) {
            Some(b) => BackendChoice::One(*b),
            None => BackendChoice::Some(bits),
        })
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendChoice::One(b) => b.fmt(f),
            BackendChoice::Some(_) => {
                let names: Vec<String> = Backend::ALL
                    .iter()
                    .filter(|b| self.includes(**b))
                    .map(ToString::to_string)
                    .collect();
                f.write_str(&names.join(","))
            }
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
        let pair: BackendChoice = "jvm,embedded".parse().expect("a list");
        assert!(pair.includes(Backend::Embedded) && pair.includes(Backend::Jvm));
        assert!(!pair.includes(Backend::Container) && !pair.includes(Backend::External));
        assert_eq!(pair.to_string(), "embedded,jvm");
        assert_eq!("jvm,jvm".parse(), Ok(BackendChoice::One(Backend::Jvm)));
        assert_eq!(
            "embedded,dock".parse::<BackendChoice>(),
            Err("unknown backend \"dock\"; known: embedded, container, jvm, external, all".into())
        );
        assert_eq!(
            "embedded,all".parse::<BackendChoice>(),
            Err("`all` cannot be part of a backend list".into())
        );
        assert_eq!(
            "docker".parse::<BackendChoice>(),
            Err("unknown backend \"docker\"; known: embedded, container, jvm, external, all".into())
        );
    }
}
