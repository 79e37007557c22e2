//! The external backend: brokers the user runs, given by address.
//!
//! `--bootstrap` takes a comma list of `[RELEASE[/MODE]=]HOST:PORT`. With a
//! release, the cell checks the negotiated versions against that release's
//! table, as for the other backends; without one it reports what the broker
//! looks like (the release guessed from its ApiVersions table) and checks
//! only that it negotiates and answers.

use crate::versions::{release_info, Mode, Release};

/// One broker given by address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ExternalBroker {
    /// `host:port`.
    pub bootstrap: String,
    /// The release and mode the user says it runs.
    pub claimed: Option<(Release, Mode)>,
}

/// Parses `--bootstrap`.
pub fn parse_bootstrap(spec: &str) -> Result<Vec<ExternalBroker>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (claim, addr) = match part.split_once('=') {
            Some((c, a)) => (Some(c.trim()), a.trim()),
            None => (None, part),
        };
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| format!("{addr:?} is not HOST:PORT"))?;
        let port_ok = port.parse::<u16>().is_ok_and(|p| p != 0);
        if host.is_empty() || !port_ok {
            return Err(format!("{addr:?} is not HOST:PORT with a port 1-65535"));
        }
        let claimed = match claim {
            None => None,
            Some(c) => {
                let (rel, mode) = match c.split_once('/') {
                    Some((r, m)) => (r, Some(m)),
                    None => (c, None),
                };
                let release: Release = rel.parse().map_err(|e| format!("{part:?}: {e}"))?;
                let info =
                    release_info(release).ok_or_else(|| format!("{part:?}: Kafka {release} is not in the catalog"))?;
                let mode = match mode {
                    Some(m) => m.parse::<Mode>().map_err(|e| format!("{part:?}: {e}"))?,
                    None => info.modes.first().copied().unwrap_or(Mode::Kraft),
                };
                if !info.modes.contains(&mode) {
                    return Err(format!("{part:?}: Kafka {release} has no {mode} mode"));
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
        return Err("--bootstrap names no broker".into());
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
        assert_eq!(parse_bootstrap(""), Err("--bootstrap names no broker".into()));
        assert_eq!(
            parse_bootstrap("localhost"),
            Err("\"localhost\" is not HOST:PORT".into())
        );
        assert!(parse_bootstrap("localhost:0").is_err());
        assert!(parse_bootstrap("localhost:99999").is_err());
        assert_eq!(
            parse_bootstrap("4.0/zk=h:1"),
            Err("\"4.0/zk=h:1\": Kafka 4.0 has no zk mode".into())
        );
        assert!(parse_bootstrap("3.10=h:1").is_err());
    }
}
