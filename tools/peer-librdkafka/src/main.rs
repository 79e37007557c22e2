//! `peer-librdkafka-{system,bundled}`: a peer process of
//! `benches/negotiation.rs` (protocol: `bench_schema::peer`) around one
//! librdkafka build. One source, two manifests (`system/`, `bundled/`), each
//! its own workspace: two `links = "rdkafka"` packages cannot be in one cargo
//! resolve.
//!
//! - `run`: a new `BaseConsumer` (librdkafka spawns its threads, connects to
//!   the bootstrap broker and negotiates ApiVersions) and
//!   `fetch_metadata(None)`, timed; its destruction (which joins those
//!   threads) is not timed, but is over before the answer goes out;
//! - `check`: the topics it sees, or the error with its first log line.

use std::time::{Duration, Instant};

use bench_schema::peer::{serve, topic_set, Reply, Request};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::ClientContext;

/// Longest a measured fetch may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the one correctness check may take (librdkafka retries quietly
/// where it cannot read a reply, so a failing check takes all of it).
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

fn main() {
    let (_, version) = rdkafka::util::get_rdkafka_version();
    let served = serve("librdkafka", &version, |req| match req {
        Request::Check { addr } => match topics(&addr) {
            Ok(topics) => Reply::Topics(topics),
            Err(e) => Reply::Error(e),
        },
        Request::Run { addr, .. } => match run(&addr) {
            Ok(ns) => Reply::Elapsed { ns },
            Err(e) => Reply::Error(e),
        },
        Request::Noop { .. } => Reply::Elapsed { ns: 0 },
        Request::Floor { .. } => Reply::Error("this peer has no floor; bench-peer does".to_owned()),
        Request::Hello => unreachable!("serve answers hello"),
    });
    if let Err(e) = served {
        eprintln!("peer-librdkafka: stdout: {e}");
        std::process::exit(1);
    }
}

/// Writes librdkafka's log lines to stderr (the peer's log file under the
/// bench's directory), with the time since the peer started.
#[derive(Debug)]
struct StderrLog;

impl ClientContext for StderrLog {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        let t = START.get_or_init(Instant::now).elapsed();
        eprintln!("{:>10.3} ms {level:?} {fac}: {log_message}", t.as_secs_f64() * 1e3);
    }
}

impl ConsumerContext for StderrLog {}

fn run(addr: &str) -> Result<u64, String> {
    let started = Instant::now();
    let consumer: BaseConsumer<StderrLog> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", addr)
        .create_with_context(StderrLog)
        .map_err(|e| format!("cannot create a BaseConsumer: {e}"))?;
    let fetched = consumer.fetch_metadata(None, TIMEOUT);
    let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    drop(fetched.map_err(|e| format!("fetch_metadata: {e}"))?);
    // Destroying the handle joins librdkafka's threads: not timed.
    drop(consumer);
    Ok(ns)
}

/// Keeps librdkafka's log lines, so that a failure can say what it logged.
#[derive(Debug, Default)]
struct LogKeeper(std::sync::Mutex<Vec<String>>);

impl ClientContext for LogKeeper {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(format!("{level:?} {fac}: {log_message}"));
        }
    }
}

impl ConsumerContext for LogKeeper {}

/// What librdkafka sees, or why it failed (with its first log line).
fn topics(addr: &str) -> Result<Vec<(String, usize)>, String> {
    let consumer: BaseConsumer<LogKeeper> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set_log_level(RDKafkaLogLevel::Warning)
        .create_with_context(LogKeeper::default())
        .map_err(|e| format!("cannot create a BaseConsumer: {e}"))?;
    let metadata = consumer.fetch_metadata(None, CHECK_TIMEOUT).map_err(|e| {
        let logged = consumer.context().0.lock().map(|l| l.first().cloned()).ok().flatten();
        match logged {
            Some(line) => format!("fetch_metadata: {e}; it logged: {line}"),
            None => format!("fetch_metadata: {e}"),
        }
    })?;
    Ok(topic_set(
        metadata.topics().iter().map(|t| (Some(t.name()), t.partitions().len())),
    ))
}
