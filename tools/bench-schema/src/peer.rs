//! The line protocol between the bench and a peer process.
//!
//! A peer process runs one other client (rskafka, a librdkafka build) so
//! that clients that cannot share one cargo build (two `links = "rdkafka"`
//! packages) or that should not be dev-dependencies of the library can still
//! be measured in the same rounds as ours. The bench writes one request per
//! line on the peer's stdin; the peer answers one line on stdout:
//!
//! ```text
//! hello                               → hello kafka-matrix-bench-peer/1 rskafka 0.6.0
//! check 127.0.0.1:9092                → topics t:3,u:1      (what the client sees)
//! run 17 127.0.0.1:9092               → elapsed 183021      (ns: connect + negotiate + Metadata)
//! floor 17 127.0.0.1:9092 HEX HEX ..  → elapsed 95012       (the frames sent raw, one reply each)
//! noop 17                             → elapsed 0
//! anything that failed                → error WHAT
//! ```
//!
//! A peer times itself (from just before it connects to just after the
//! Metadata answer is in), then releases everything it built, and only then
//! answers: the IPC round trip is in no figure, and no peer thread is still
//! winding down while the bench times the next client. The bench times
//! `noop` from its side to report what the IPC costs. End of input ends the
//! peer.

use std::io::{BufRead, Write};

/// The `hello` reply's protocol tag; the bench refuses any other.
pub const PROTOCOL: &str = "kafka-matrix-bench-peer/1";

/// One line from the bench.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Hello,
    /// What does the client see on this broker (topic, partitions)?
    Check {
        addr: String,
    },
    /// Time one connect + negotiate + Metadata (all topics).
    Run {
        round: u64,
        addr: String,
    },
    /// Time a raw replay of these frames (each size-prefixed), one reply each.
    Floor {
        round: u64,
        addr: String,
        frames: Vec<Vec<u8>>,
    },
    /// Nothing; the bench times the round trip.
    Noop {
        round: u64,
    },
}

/// One line from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Hello {
        protocol: String,
        client: String,
        version: String,
    },
    Topics(Vec<(String, usize)>),
    Elapsed {
        ns: u64,
    },
    Error(String),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| format!("hex {s:?}: {e}")))
        .collect()
}

fn number(s: Option<&str>, what: &str) -> Result<u64, String> {
    s.ok_or_else(|| format!("missing {what}"))?
        .parse()
        .map_err(|e| format!("{what}: {e}"))
}

fn word<'a>(s: Option<&'a str>, what: &str) -> Result<&'a str, String> {
    s.ok_or_else(|| format!("missing {what}"))
}

impl Request {
    pub fn to_line(&self) -> String {
        match self {
            Self::Hello => "hello".to_owned(),
            Self::Check { addr } => format!("check {addr}"),
            Self::Run { round, addr } => format!("run {round} {addr}"),
            Self::Floor { round, addr, frames } => {
                let frames: Vec<String> = frames.iter().map(|f| hex(f)).collect();
                format!("floor {round} {addr} {}", frames.join(" "))
            }
            Self::Noop { round } => format!("noop {round}"),
        }
    }

    pub fn parse(line: &str) -> Result<Self, String> {
        let mut it = line.split_whitespace();
        let req = match it.next() {
            Some("hello") => Self::Hello,
            Some("check") => Self::Check {
                addr: word(it.next(), "address")?.to_owned(),
            },
            Some("run") => Self::Run {
                round: number(it.next(), "round")?,
                addr: word(it.next(), "address")?.to_owned(),
            },
            Some("floor") => {
                let round = number(it.next(), "round")?;
                let addr = word(it.next(), "address")?.to_owned();
                let frames = it.by_ref().map(unhex).collect::<Result<Vec<_>, _>>()?;
                if frames.is_empty() {
                    return Err("floor: no frames".to_owned());
                }
                return Ok(Self::Floor { round, addr, frames });
            }
            Some("noop") => Self::Noop {
                round: number(it.next(), "round")?,
            },
            Some(other) => return Err(format!("unknown request {other:?}")),
            None => return Err("empty request".to_owned()),
        };
        match it.next() {
            Some(extra) => Err(format!("unexpected {extra:?} after the request")),
            None => Ok(req),
        }
    }
}

impl Reply {
    pub fn to_line(&self) -> String {
        match self {
            Self::Hello {
                protocol,
                client,
                version,
            } => format!("hello {protocol} {client} {version}"),
            Self::Topics(topics) => {
                let list: Vec<String> = topics.iter().map(|(n, p)| format!("{n}:{p}")).collect();
                format!("topics {}", list.join(","))
            }
            Self::Elapsed { ns } => format!("elapsed {ns}"),
            // One line, whatever the error said.
            Self::Error(what) => format!("error {}", what.replace(['\n', '\r'], " ")),
        }
    }

    pub fn parse(line: &str) -> Result<Self, String> {
        let line = line.trim_end();
        let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
        match head {
            "hello" => {
                let mut it = rest.split_whitespace();
                Ok(Self::Hello {
                    protocol: word(it.next(), "protocol")?.to_owned(),
                    client: word(it.next(), "client")?.to_owned(),
                    version: it.collect::<Vec<_>>().join(" "),
                })
            }
            "topics" => rest
                .split(',')
                .filter(|t| !t.is_empty())
                .map(|t| {
                    let (name, n) = t.rsplit_once(':').ok_or_else(|| format!("topic {t:?}"))?;
                    let n = n.parse().map_err(|e| format!("topic {t:?}: {e}"))?;
                    Ok((name.to_owned(), n))
                })
                .collect::<Result<Vec<_>, String>>()
                .map(Self::Topics),
            "elapsed" => Ok(Self::Elapsed {
                ns: number(Some(rest.trim()), "elapsed ns")?,
            }),
            "error" => Ok(Self::Error(rest.to_owned())),
            other => Err(format!("unknown reply {other:?} in {line:?}")),
        }
    }
}

/// A peer's main loop: answers `hello` itself, hands every other request to
/// `handle`, until stdin ends. `Err` only when stdout is gone.
pub fn serve(client: &str, version: &str, mut handle: impl FnMut(Request) -> Reply) -> std::io::Result<()> {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let reply = match Request::parse(&line) {
            Ok(Request::Hello) => Reply::Hello {
                protocol: PROTOCOL.to_owned(),
                client: client.to_owned(),
                version: version.to_owned(),
            },
            Ok(req) => handle(req),
            Err(e) => Reply::Error(e),
        };
        writeln!(stdout, "{}", reply.to_line())?;
        stdout.flush()?;
    }
    Ok(())
}

/// Topics as (name, partitions), internal (`__…`) ones left out, sorted: the
/// form every client's view is compared in.
pub fn topic_set<'a>(topics: impl Iterator<Item = (Option<&'a str>, usize)>) -> Vec<(String, usize)> {
    let mut set: Vec<_> = topics
        .filter(|(name, _)| !name.is_some_and(|n| n.starts_with("__")))
        .map(|(name, n)| (name.unwrap_or("<no name>").to_owned(), n))
        .collect();
    set.sort();
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for req in [
            Request::Hello,
            Request::Check {
                addr: "127.0.0.1:9092".into(),
            },
            Request::Run {
                round: 17,
                addr: "127.0.0.1:9092".into(),
            },
            Request::Floor {
                round: 3,
                addr: "[::1]:1".into(),
                frames: vec![vec![0, 0, 0, 1, 0xff], vec![0xab]],
            },
            Request::Noop { round: 0 },
        ] {
            assert_eq!(Request::parse(&req.to_line()), Ok(req));
        }
        assert!(Request::parse("run x 1").is_err());
        assert!(Request::parse("run 1 a b").is_err());
        assert!(Request::parse("floor 1 a").is_err());
        assert!(Request::parse("floor 1 a 0").is_err());
        assert!(Request::parse("jump").is_err());
        assert!(Request::parse("").is_err());
    }

    #[test]
    fn replies_round_trip() {
        for reply in [
            Reply::Hello {
                protocol: PROTOCOL.into(),
                client: "librdkafka".into(),
                version: "2.12.1".into(),
            },
            Reply::Topics(vec![("t".into(), 3), ("a.b-c".into(), 1)]),
            Reply::Topics(vec![]),
            Reply::Elapsed { ns: 123_456 },
            Reply::Error("build: connection refused".into()),
        ] {
            assert_eq!(Reply::parse(&reply.to_line()), Ok(reply));
        }
        assert_eq!(
            Reply::parse(&Reply::Error("two\nlines".into()).to_line()),
            Ok(Reply::Error("two lines".into()))
        );
        assert!(Reply::parse("elapsed -1").is_err());
        assert!(Reply::parse("what").is_err());
    }

    #[test]
    fn topic_sets_drop_internal_topics_and_sort() {
        let got = topic_set([(Some("u"), 1), (Some("__consumer_offsets"), 50), (Some("t"), 3)].into_iter());
        assert_eq!(got, vec![("t".to_owned(), 3), ("u".to_owned(), 1)]);
    }
}
