//! The brokers of a run, each prepared and checked before anything is timed:
//! the in-process emulator of every selected release, tansu, or an external
//! broker. For each, our client's three wire paths (fresh, started at v3,
//! remembered) are negotiated once and turned into the floor's frames.

use std::fs::File;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_schema::peer::topic_set;
use bench_schema::{BrokerInfo, RoundTrips, RunLog};
use kafka_matrix::backend::container::local::find_tansu;
use kafka_matrix::client::{ApiVersionsMemo, Client, ClientConfig};
use kafka_matrix::emulator::{ConnRecord, Emulator, EmulatorOptions, SeededTopic};
use kafka_matrix::matrix::{expected_versions, parse_releases};
use kafka_matrix::negotiate::Outcome;
use kafka_matrix::protocol::messages::MetadataRequest;
use kafka_matrix::protocol::{api_key, decode_response, encode_request, ErrorCode, RequestBody, ResponseBody};
use kafka_matrix::versions::{releases, Mode, Release};
use tokio::runtime::Runtime;

use crate::floor::{api_versions_frame, ids, Raw, Wire};
use crate::ours;
use crate::runtimes;
use crate::settings::{self, out_dir, BOOTSTRAP_ENV, RELEASES_ENV, REQUIRE_TANSU_ENV, TANSU_ENV};
use crate::tune;

pub const TOPIC: &str = "t";
pub const PARTITIONS: i32 = 3;
/// How long tansu may take to answer after it is spawned.
const TANSU_READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the emulator may take to record connections that have closed.
const RECORDS_TIMEOUT: Duration = Duration::from_secs(5);

/// What serves the broker end.
pub enum Backend {
    Emulated {
        emulator: Emulator,
        release: Release,
        mode: Mode,
    },
    Tansu(Tansu),
    External,
}

/// One of our client's ways to the same broker, and the floor's frames for it.
#[derive(Debug, Clone)]
pub struct Path {
    /// The configuration the path is measured with (for the remembered
    /// path: the base, which the memo starts elsewhere).
    pub config: Arc<ClientConfig>,
    pub wire: Wire,
    /// What was negotiated.
    pub api_versions: i16,
    pub metadata: i16,
}

impl Path {
    /// The requests of one measurement, as the floor sends them.
    pub fn round_trips(&self, with_metadata: bool) -> RoundTrips {
        let n = self.wire.negotiation.len();
        let mut detail: Vec<String> = self
            .wire
            .api_versions_path()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let refused = if i + 1 < n { " (refused)" } else { "" };
                format!("ApiVersions v{v}{refused}")
            })
            .collect();
        if with_metadata {
            detail.push(format!("Metadata v{}", self.metadata));
        }
        RoundTrips {
            connections: 1,
            requests: u32::try_from(detail.len()).unwrap_or(u32::MAX),
            detail: detail.join(", "),
        }
    }
}

/// One broker, prepared.
pub struct Target {
    pub label: String,
    pub backend: Backend,
    pub addr: String,
    pub sock: SocketAddr,
    /// (name, partitions) our client saw, internal topics left out, sorted.
    pub topics: Vec<(String, usize)>,
    /// A fresh client: ApiVersions from the newest version.
    pub fresh: Path,
    /// Started at ApiVersions v3 (where rskafka and librdkafka start).
    pub v3: Path,
    /// Started where this broker's last answer says (the memo).
    pub remembered: Path,
    /// The memo the remembered path connects through; it holds this broker.
    pub memo: ApiVersionsMemo,
}

impl Target {
    pub fn emulator(&self) -> Option<(&Emulator, Release, Mode)> {
        match &self.backend {
            Backend::Emulated {
                emulator,
                release,
                mode,
            } => Some((emulator, *release, *mode)),
            _ => None,
        }
    }

    pub fn info(&self) -> BrokerInfo {
        let (kind, description) = match &self.backend {
            Backend::Emulated { release, mode, .. } => (
                "emulator",
                format!(
                    "kafka-matrix emulator of Kafka {release} ({mode}), in process, {}",
                    self.addr
                ),
            ),
            Backend::Tansu(t) => ("tansu", format!("tansu {} (memory storage), {}", t.version, self.addr)),
            Backend::External => ("external", format!("external broker {}", self.addr)),
        };
        use bench_schema::run::names::{OURS, OURS_REMEMBERED, OURS_V3};
        BrokerInfo {
            label: self.label.clone(),
            kind: kind.to_owned(),
            description,
            api_versions: self.fresh.api_versions,
            metadata: self.fresh.metadata,
            paths: [
                (OURS, &self.fresh),
                (OURS_V3, &self.v3),
                (OURS_REMEMBERED, &self.remembered),
            ]
            .into_iter()
            .map(|(name, p)| (name.to_owned(), p.wire.api_versions_path()))
            .collect(),
        }
    }
}

/// The releases to measure, with their default (first catalog) mode.
pub fn selected() -> Vec<(Release, Mode)> {
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

/// Starts an emulator of `release` on the emulators' runtime and prepares
/// it as a target ([`prepare`]).
pub fn emulated(rt: &Runtime, release: Release, mode: Mode) -> Target {
    let options = EmulatorOptions {
        topics: vec![SeededTopic::new(TOPIC, PARTITIONS)],
        ..Default::default()
    };
    let emulator = runtimes::server()
        .block_on(Emulator::start(release, mode, options))
        .unwrap_or_else(|e| panic!("Kafka {release} ({mode}): cannot start the emulator: {e}"));
    let addr = emulator.bootstrap();
    let backend = Backend::Emulated {
        emulator,
        release,
        mode,
    };
    prepare(rt, release.to_string(), backend, addr)
}

/// Negotiates once along one path, checks the result (against the catalog
/// for an emulated release's fresh path), derives the floor's frames and
/// checks the floor with them. Returns the path and the topics seen.
fn probe_path(
    rt: &Runtime,
    what: &str,
    backend: &Backend,
    addr: &str,
    sock: SocketAddr,
    config: Arc<ClientConfig>,
    fresh: bool,
) -> (Path, Vec<(String, usize)>) {
    // Every earlier connection to this emulator has been recorded (each
    // check waits for its own), so the next records are this path's.
    let mark = match backend {
        Backend::Emulated { emulator, .. } => Some(RecordsMark::now(emulator)),
        _ => None,
    };
    let mut client = rt
        .block_on(Client::connect(addr, Arc::clone(&config)))
        .unwrap_or_else(|e| panic!("{what}: Client::connect failed: {e}"));
    let negotiated = client.negotiated().clone();
    let versions = client.versions();
    if let Backend::Emulated { release, mode, .. } = backend {
        let (expected_av, expected_md) =
            expected_versions(*release, *mode).unwrap_or_else(|| panic!("{what}: no expected versions in the catalog"));
        let av_ok = !fresh || versions.api_versions == expected_av;
        if !av_ok || versions.metadata != expected_md {
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
    let metadata_frame = encode_request(
        negotiated.next_correlation_id,
        session.client_id.as_deref(),
        versions.metadata,
        &RequestBody::Metadata(MetadataRequest::default()),
    )
    .unwrap_or_else(|e| panic!("{what}: cannot encode Metadata v{}: {e}", versions.metadata));
    let ping = api_versions_frame(session, negotiated.next_correlation_id, versions.api_versions);
    let path = Path {
        config,
        wire: Wire {
            negotiation,
            metadata: metadata_frame,
            ping,
        },
        api_versions: versions.api_versions,
        metadata: versions.metadata,
    };
    check_floor(rt, what, backend, mark, sock, &path, &topics);
    (path, topics)
}

/// Prepares one broker: the three paths, each checked.
pub fn prepare(rt: &Runtime, label: String, backend: Backend, addr: String) -> Target {
    let sock = rt
        .block_on(tokio::net::lookup_host(&addr))
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("{label}: cannot resolve {addr}"));
    let what = |path: &str| format!("{label} ({addr}) {path}");
    let base = ours::config(ours::default_start());
    let (fresh, topics) = probe_path(rt, &what("fresh"), &backend, &addr, sock, base.clone(), true);
    let (v3, _) = probe_path(rt, &what("v3"), &backend, &addr, sock, ours::config(3), false);
    let memo = ApiVersionsMemo::default();
    memo.remember_version(&addr, fresh.api_versions);
    let (mut remembered, _) = probe_path(
        rt,
        &what("remembered"),
        &backend,
        &addr,
        sock,
        Arc::new(memo.config_for(&addr, &base)),
        false,
    );
    if remembered.wire.negotiation.len() != 1 {
        panic!(
            "{}: starting at the version it accepted (v{}) still took {} ApiVersions requests",
            what("remembered"),
            fresh.api_versions,
            remembered.wire.negotiation.len()
        );
    }
    remembered.config = base;
    Target {
        label,
        backend,
        addr,
        sock,
        topics,
        fresh,
        v3,
        remembered,
        memo,
    }
}

/// Runs the floor's exchanges once, decoding every reply, and (on the
/// emulator) checks that it saw the same requests from the floor as from
/// the client.
fn check_floor(
    rt: &Runtime,
    what: &str,
    backend: &Backend,
    mark: Option<RecordsMark>,
    sock: SocketAddr,
    path: &Path,
    topics: &[(String, usize)],
) {
    let what = format!("{what} tcp-floor");
    let wire = &path.wire;
    rt.block_on(async {
        let mut conn = Raw::connect(sock).await;
        let n = wire.negotiation.len();
        for (i, frame) in wire.negotiation.iter().enumerate() {
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
        let (_, v, _) = ids(&wire.ping);
        assert_eq!(v, path.api_versions, "{what}: ping frame version");
        conn.exchange(&wire.ping).await;
        let reply = conn.exchange(&wire.metadata).await.to_vec();
        let (_, body) = decode_response(&reply, api_key::METADATA, path.metadata)
            .unwrap_or_else(|e| panic!("{what}: Metadata v{} reply does not decode: {e}", path.metadata));
        let ResponseBody::Metadata(body) = body else {
            unreachable!()
        };
        let seen = topic_set(body.topics.iter().map(|t| (t.name.as_deref(), t.partitions.len())));
        if seen != topics {
            panic!("{what}: Metadata listed {seen:?}, the client saw {topics:?}");
        }
        // A connection that only negotiates and asks Metadata, as measured.
        let mut conn = Raw::connect(sock).await;
        for frame in &wire.negotiation {
            conn.exchange(frame).await;
        }
        conn.exchange(&wire.metadata).await;
    });
    let (Backend::Emulated { emulator, .. }, Some(mark)) = (backend, mark) else {
        return;
    };
    // Connections: the client's (negotiation + Metadata), the floor's check
    // (negotiation + ping + Metadata), the floor's (negotiation + Metadata);
    // they are recorded in the order they close.
    let records = new_records_after(emulator, mark, 3);
    let requests = |r: &ConnRecord| r.requests.clone();
    let client = records
        .iter()
        .find(|r| r.requests.len() == wire.negotiation.len() + 1)
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

/// How many connection records an emulator had at some point.
#[derive(Debug, Clone, Copy)]
pub struct RecordsMark(usize);

impl RecordsMark {
    /// Now.
    pub fn now(emulator: &Emulator) -> Self {
        Self(emulator.records().len())
    }
}

/// Waits (bounded) until `n` connections after `mark` are recorded, then
/// returns them.
fn new_records_after(emulator: &Emulator, mark: RecordsMark, n: usize) -> Vec<ConnRecord> {
    let deadline = Instant::now() + RECORDS_TIMEOUT;
    loop {
        let records = emulator.records();
        if records.len() >= mark.0 + n {
            return records[mark.0..].to_vec();
        }
        if Instant::now() > deadline {
            panic!(
                "the emulator recorded {} new connection(s) within {RECORDS_TIMEOUT:?}, expected {n}",
                records.len() - mark.0
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The connections recorded after `mark` once no new one has closed for a
/// while (a peer may open several): what one peer measurement sent.
pub fn settled_records_after(emulator: &Emulator, mark: RecordsMark) -> Vec<ConnRecord> {
    let quiet = Duration::from_millis(100);
    let deadline = Instant::now() + RECORDS_TIMEOUT;
    let mut last = (emulator.records().len(), Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(5));
        let n = emulator.records().len();
        if n != last.0 {
            last = (n, Instant::now());
        } else if last.1.elapsed() >= quiet || Instant::now() > deadline {
            return emulator.records().get(mark.0..).map(<[_]>::to_vec).unwrap_or_default();
        }
    }
}

/// The round trips in some connection records.
pub fn round_trips_of(records: &[ConnRecord]) -> RoundTrips {
    let name = |key: i16| match key {
        api_key::API_VERSIONS => "ApiVersions".to_owned(),
        api_key::METADATA => "Metadata".to_owned(),
        k => format!("key {k}"),
    };
    let per_conn: Vec<String> = records
        .iter()
        .map(|r| {
            r.requests
                .iter()
                .map(|(k, v, _)| format!("{} v{v}", name(*k)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    RoundTrips {
        connections: u32::try_from(records.len()).unwrap_or(u32::MAX),
        requests: u32::try_from(records.iter().map(|r| r.requests_total).sum::<u64>()).unwrap_or(u32::MAX),
        detail: per_conn.join(" | "),
    }
}

/// tansu, spawned on a loopback port with in-memory storage; killed on drop.
pub struct Tansu {
    child: Child,
    pub version: String,
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts tansu (found as the container backend finds it) and creates the
/// benchmark topic; `Err` says why not.
fn start_tansu(rt: &Runtime) -> Result<(Tansu, String), String> {
    let (bin, version) = find_tansu().map_err(|e| e.to_string())?;
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
    // A broker: on the brokers' CPU (tune.rs), as the emulators are.
    let child = tune::on_broker_cpu(|| {
        Command::new(&bin)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
    })
    .map_err(|e| format!("{}: cannot spawn: {e}", bin.display()))?;
    let mut tansu = Tansu { child, version };
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
pub fn targets(rt: &Runtime, log: &mut RunLog) -> Vec<Target> {
    let mut targets = Vec::new();
    match std::env::var(BOOTSTRAP_ENV) {
        Ok(addr) if !addr.trim().is_empty() => {
            let addr = addr.trim().to_owned();
            log.backend = format!("external broker {addr} ({BOOTSTRAP_ENV})");
            targets.push(prepare(rt, "external".to_owned(), Backend::External, addr));
        }
        _ => {
            log.backend = "embedded emulator (in process)".to_owned();
            for (release, mode) in selected() {
                targets.push(emulated(rt, release, mode));
            }
        }
    }
    if settings::off(TANSU_ENV) {
        eprintln!("tansu: left out ({TANSU_ENV}=0)");
        log.finding("*", "*", "tansu", format!("left out on purpose ({TANSU_ENV}=0)"));
    } else {
        match start_tansu(rt) {
            Ok((tansu, addr)) => {
                let label = format!("tansu-{}", tansu.version);
                targets.push(prepare(rt, label, Backend::Tansu(tansu), addr));
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

/// The frames, as hex-able bytes, of a path's negotiation and Metadata.
pub fn frames_of(wire: &Wire) -> Vec<Vec<u8>> {
    wire.with_metadata().iter().map(|f| f.to_vec()).collect()
}
