//! Other clients, each in a peer process (`bench_schema::peer`): rskafka
//! (`tools/bench-peer`, which also sends the floor from its own process),
//! librdkafka as the system has it and librdkafka as the rdkafka crate
//! bundles it today (`tools/peer-librdkafka`). `just bench-peers` builds them
//! into the bench's profile directory (`target/release`).
//!
//! A missing peer binary is a loud skip and a note in the report
//! (`KAFKA_MATRIX_BENCH_REQUIRE_PEERS=1`, set by the recipes, fails instead).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use bench_schema::peer::{Reply, Request, PROTOCOL};
use bench_schema::run::names::{LIBRDKAFKA_BUNDLED, LIBRDKAFKA_SYSTEM, RSKAFKA};
use bench_schema::{ClientInfo, Role, RunLog};

use crate::settings::{flag, out_dir, PEERS_DIR_ENV, REQUIRE_PEERS_ENV};

/// A peer client: its series name, binary, and what one run of it is.
struct Spec {
    name: &'static str,
    binary: &'static str,
    what: &'static str,
}

const SPECS: [Spec; 3] = [
    Spec {
        name: RSKAFKA,
        binary: "bench-peer",
        what: "rskafka `ClientBuilder::build()`: connect, ApiVersions 3→0, Metadata (≤ v4) for all topics",
    },
    Spec {
        name: LIBRDKAFKA_SYSTEM,
        binary: "peer-librdkafka-system",
        what: "librdkafka (system library, rdkafka 0.33.2 dynamic): new BaseConsumer + fetch_metadata(None); \
               destruction not timed",
    },
    Spec {
        name: LIBRDKAFKA_BUNDLED,
        binary: "peer-librdkafka-bundled",
        what: "librdkafka (bundled by rdkafka 0.39.0, its configure + make): new BaseConsumer + fetch_metadata(None); \
               destruction not timed",
    },
];

/// A running peer process.
pub struct Peer {
    /// Its series name.
    pub name: &'static str,
    pub version: String,
    pub binary: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        // End of input ends a peer; kill it if it does not.
        drop(self.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    fn spawn(spec: &Spec, binary: PathBuf) -> Result<Self, String> {
        let log_path = out_dir().join(format!("{}.log", spec.binary));
        std::fs::create_dir_all(out_dir()).map_err(|e| format!("{}: {e}", out_dir().display()))?;
        let log = std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let mut child = Command::new(&binary)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{}: cannot spawn: {e}", binary.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut peer = Self {
            name: spec.name,
            version: String::new(),
            binary,
            child,
            stdin: Some(stdin),
            stdout,
        };
        match peer.ask(&Request::Hello)? {
            Reply::Hello { protocol, version, .. } if protocol == PROTOCOL => peer.version = version,
            Reply::Hello { protocol, .. } => {
                return Err(format!(
                    "{} speaks {protocol}, the bench {PROTOCOL}: rebuild it (`just bench-peers`)",
                    peer.binary.display()
                ))
            }
            other => return Err(format!("{}: hello answered {other:?}", peer.binary.display())),
        }
        Ok(peer)
    }

    /// One request, one reply.
    pub fn ask(&mut self, req: &Request) -> Result<Reply, String> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "{}", req.to_line())
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("{}: write: {e}", self.name))?;
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .map_err(|e| format!("{}: read: {e}", self.name))?;
        if n == 0 {
            return Err(format!(
                "{} exited (see {})",
                self.name,
                out_dir().join(format!("{}.log", self.binary_name())).display()
            ));
        }
        Reply::parse(&line).map_err(|e| format!("{}: {e}", self.name))
    }

    fn binary_name(&self) -> String {
        self.binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// A request answered with `elapsed`.
    pub fn timed(&mut self, req: &Request) -> Result<u64, String> {
        match self.ask(req)? {
            Reply::Elapsed { ns } => Ok(ns),
            Reply::Error(e) => Err(e),
            other => Err(format!("{}: expected elapsed, got {other:?}", self.name)),
        }
    }

    /// The bench-side time of a no-op request: the IPC round trip.
    pub fn noop(&mut self, round: u64) -> Result<u64, String> {
        let started = Instant::now();
        self.timed(&Request::Noop { round })?;
        Ok(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// The topics the peer sees on `addr`.
    pub fn check(&mut self, addr: &str) -> Result<Vec<(String, usize)>, String> {
        match self.ask(&Request::Check { addr: addr.to_owned() })? {
            Reply::Topics(t) => Ok(t),
            Reply::Error(e) => Err(e),
            other => Err(format!("expected topics, got {other:?}")),
        }
    }

    pub fn info(&self) -> ClientInfo {
        let what = SPECS
            .iter()
            .find(|s| s.name == self.name)
            .map(|s| s.what)
            .unwrap_or_default();
        ClientInfo {
            name: self.name.to_owned(),
            role: Role::Peer,
            version: self.version.clone(),
            process: format!("peer process `{}`", self.binary_name()),
            what: what.to_owned(),
        }
    }
}

/// Where the peer binaries are: `$KAFKA_MATRIX_BENCH_PEERS_DIR`, else the
/// directory of the bench's own profile (`target/release` for
/// `target/release/deps/negotiation-…`).
fn peers_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(PEERS_DIR_ENV) {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(|deps| deps.parent()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target/release"))
}

/// Starts every peer that is built; notes the ones that are not.
pub fn start(log: &mut RunLog, measuring: bool) -> Vec<Peer> {
    let dir = peers_dir();
    let required = measuring && flag(REQUIRE_PEERS_ENV);
    let mut peers = Vec::new();
    for spec in &SPECS {
        let binary = dir.join(spec.binary);
        let started = if binary.is_file() {
            Peer::spawn(spec, binary)
        } else {
            Err(format!(
                "{} is not built (`just bench-peers` builds every peer)",
                binary.display()
            ))
        };
        match started {
            Ok(peer) => {
                eprintln!("peer {}: {} ({})", spec.name, peer.version, peer.binary.display());
                peers.push(peer);
            }
            Err(why) if required => panic!("peer {} is required ({REQUIRE_PEERS_ENV}=1): {why}", spec.name),
            Err(why) => {
                if measuring {
                    let banner = "=".repeat(78);
                    eprintln!("\n{banner}\nPEER {} SKIPPED: {why}\n{banner}\n", spec.name);
                }
                log.finding("*", spec.name, spec.name, format!("SKIPPED, not measured: {why}"));
            }
        }
    }
    peers
}
