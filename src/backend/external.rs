//! The external backend: brokers the user runs, given by address.
//!
//! `--bootstrap` takes a comma list of `[RELEASE[/MODE]=]HOST:PORT`. With a
//! release, the cell checks the negotiated versions against that release's
//! table, as for the other backends; without one it reports what the broker
//! looks like (the release guessed from its ApiVersions table) and checks
//! only that it negotiates and answers.

pub use crate::emulator::address::{check_host, parse_host_port};
use crate::versions::{release_info, Mode, Release};

/// One broker given by address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ExternalBroker {
    /// `host:port`.
    pub bootstrap: String,
    /// The release and mode the user says it runs.
    pub claimed: Option<(Release, Mode)>,
}

/// What is wrong with a `--bootstrap` list, in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    /// The list is empty.
    #[error("--bootstrap names no broker")]
    Empty,
    /// An address is not `HOST:PORT` with a valid host and port.
    #[error("{0}")]
    Address(String),
    /// A claimed release or mode does not parse.
    #[error("{entry:?}: {reason}")]
    Claim {
        /// The list entry.
        entry: String,
        /// Why.
        reason: String,
    },
    /// A claimed release is not in the catalog.
    #[error("{entry:?}: Kafka {release} is not in the catalog")]
    NotInCatalog {
        /// The list entry.
        entry: String,
        /// The release.
        release: Release,
    },
    /// A claimed release has no such mode.
    #[error("{entry:?}: Kafka {release} has no {mode} mode")]
    NoSuchMode {
        /// The list entry.
        entry: String,
        /// The release.
        release: Release,
        /// The mode.
        mode: Mode,
    },
}

/// Parses `--bootstrap`.
pub fn parse_bootstrap(spec: &str) -> Result<Vec<ExternalBroker>, BootstrapError> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (claim, addr) = match part.split_once('=') {
            Some((c, a)) => (Some(c.trim()), a.trim()),
            None => (None, part),
        };
        parse_host_port(addr).map_err(BootstrapError::Address)?;
        let claimed = match claim {
            None => None,
            Some(c) => {
                let (rel, mode) = match c.split_once('/') {
                    Some((r, m)) => (r, Some(m)),
                    None => (c, None),
                };
                let claim = |reason: String| BootstrapError::Claim {
                    entry: part.to_owned(),
                    reason,
                };
                let release: Release = rel.parse().map_err(|e| claim(format!("{e}")))?;
                let info = release_info(release).ok_or_else(|| BootstrapError::NotInCatalog {
                    entry: part.to_owned(),
                    release,
                })?;
                let mode = match mode {
                    Some(m) => m.parse::<Mode>().map_err(|e| claim(format!("{e}")))?,
                    None => info.modes.first().copied().unwrap_or(Mode::Kraft),
                };
                if !info.modes.contains(&mode) {
                    return Err(BootstrapError::NoSuchMode {
                        entry: part.to_owned(),
                        release,
                        mode,
                    });
                }
                Some((release, mode))
            }
        };
        out.push(ExternalBroker {
            bootstrap: addr.to_owned(),
            claimed,
        });
    }
    if out.is_empty() {
        return Err(BootstrapError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_lists_with_and_without_claimed_releases() {
        let got = parse_bootstrap("3.8=127.0.0.1:19038, 4.0/kraft=localhost:19040,broker:9092").expect("valid");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].claimed, Some((Release::new(3, 8), Mode::Zk)));
        assert_eq!(got[0].bootstrap, "127.0.0.1:19038");
        assert_eq!(got[1].claimed, Some((Release::new(4, 0), Mode::Kraft)));
        assert_eq!(got[2].claimed, None);
        assert_eq!(got[2].bootstrap, "broker:9092");
    }

    #[test]
    fn bad_bootstrap_lists_say_what_is_wrong() {
        let parse = |s: &str| parse_bootstrap(s).map_err(|e| e.to_string());
        assert_eq!(parse(""), Err("--bootstrap names no broker".into()));
        assert_eq!(parse("localhost"), Err("\"localhost\" is not HOST:PORT".into()));
        assert!(parse_bootstrap("localhost:0").is_err());
        assert!(parse_bootstrap("localhost:99999").is_err());
        assert_eq!(
            parse("4.0/zk=h:1"),
            Err("\"4.0/zk=h:1\": Kafka 4.0 has no zk mode".into())
        );
        assert!(parse_bootstrap("3.10=h:1").is_err());
    }

    #[test]
    fn hosts_are_names_or_addresses_and_nothing_else() {
        for good in [
            "localhost",
            "kafka-1.example.com",
            "broker_2",
            "host.",
            "127.0.0.1",
            "[::1]",
            "[fe80::1:2]",
        ] {
            assert_eq!(check_host(good), Ok(()), "{good}");
        }
        for bad in [
            "x$(touch F)",
            "a b",
            "it's",
            "-oProxyCommand",
            "a..b",
            ".a",
            "300.1.1.1",
            "1.2.3",
            "::1",
            "[::1",
            "[not-v6]",
            "h;rm",
            "h`x`",
            "é",
            "",
        ] {
            assert!(check_host(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(check_host(&"a".repeat(64)).is_err());
        assert_eq!(check_host(&["a"; 127].join(".")), Ok(()), "253 characters");
        assert!(check_host(&["a"; 128].join(".")).is_err(), "255 characters");
        let parse = |s: &str| parse_bootstrap(s).map_err(|e| e.to_string());
        assert_eq!(
            parse("3.8=x$(touch F):9092"),
            Err("\"x$(touch F):9092\": host \"x$(touch F)\" is not a DNS name, an IPv4 address or a bracketed IPv6 address".into())
        );
        assert_eq!(
            parse("h:1,h:x"),
            Err("\"h:x\": port \"x\" is not a number 1-65535".into())
        );
        assert_eq!(parse_host_port("[::1]:9092"), Ok(("[::1]", 9092)));
    }
}
