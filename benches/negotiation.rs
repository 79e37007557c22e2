//! What connecting costs: our negotiating client against the in-process
//! emulator of each Kafka release, next to a raw TCP "floor" that sends the
//! very same request frames (pre-encoded) and only reads the replies back.
//! The gap between `kafka-matrix` and `tcp-floor` is our client's logic.
//!
//! Groups:
//! - `connect_api_versions`: TCP connect + the whole ApiVersions negotiation
//!   (v4, then the KIP-511 fallback for 2.4–3.8 or the v0 fallback for
//!   2.0–2.3), then drop.
//! - `connect_api_versions_metadata`: the same plus one Metadata (all topics).
//! - `ping_warm`: one ApiVersions round trip on a connection kept open.
//! - `fallback_vs_direct`: 3.8 started at ApiVersions v4 (refused, retried
//!   at v3) vs started at v3.
//!
//! Every (release, path) is checked once before it is measured: negotiated
//! versions against `matrix::expected_versions`, every floor reply decoded,
//! and the floor's requests compared with the client's as the emulator saw
//! them. A broken path panics instead of being timed.
//!
//! `KAFKA_MATRIX_BENCH_RELEASES` limits the releases (`2.0,3.8,4.3`,
//! `2.0..2.4`, `all`; default all). Run:
//! `cargo bench --bench negotiation` (add `-- --quick` for a short run).

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use kafka_matrix::client::{Client, ClientConfig};
use kafka_matrix::emulator::{ConnRecord, Emulator, EmulatorOptions, SeededTopic};
use kafka_matrix::matrix::{expected_versions, parse_releases};
use kafka_matrix::negotiate::{Outcome, SessionConfig};
use kafka_matrix::protocol::messages::{ApiVersionsRequest, MetadataRequest};
use kafka_matrix::protocol::{api_key, decode_response, encode_request, ErrorCode, RequestBody, ResponseBody};
use kafka_matrix::versions::{releases, Mode, Release};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::Mutex;

const RELEASES_ENV: &str = "KAFKA_MATRIX_BENCH_RELEASES";
const SAMPLE_SIZE: usize = 30;
const TOPIC: &str = "t";
const PARTITIONS: i32 = 3;

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

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime")
}

/// The exact frames our client sends to one release, pre-encoded.
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

/// One emulated broker and what our client negotiated with it.
struct Target {
    release: Release,
    mode: Mode,
    emulator: Emulator,
    addr: String,
    sock: SocketAddr,
    config: ClientConfig,
    wire: Wire,
}

fn client_config(start_version: i16) -> ClientConfig {
    ClientConfig {
        session: SessionConfig {
            start_version,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn api_versions_frame(session: &SessionConfig, correlation_id: i32, version: i16) -> Bytes {
    let body = RequestBody::ApiVersions(ApiVersionsRequest {
        client_software_name: session.software_name.clone(),
        client_software_version: session.software_version.clone(),
    });
    encode_request(correlation_id, session.client_id.as_deref(), version, &body)
        .unwrap_or_else(|e| panic!("cannot encode ApiVersions v{version}: {e}"))
}

/// Starts the emulator, negotiates once with the client, checks the result
/// against the catalog and derives the floor's frames from it.
fn prepare(rt: &Runtime, release: Release, mode: Mode, config: ClientConfig) -> Target {
    let what = format!("Kafka {release} ({mode})");
    let options = EmulatorOptions {
        topics: vec![SeededTopic::new(TOPIC, PARTITIONS)],
        ..Default::default()
    };
    let emulator = rt
        .block_on(Emulator::start(release, mode, options))
        .unwrap_or_else(|e| panic!("{what}: cannot start the emulator: {e}"));
    let addr = emulator.bootstrap();
    let (expected_av, expected_md) =
        expected_versions(release, mode).unwrap_or_else(|| panic!("{what}: no expected versions in the catalog"));

    let mut client = rt
        .block_on(Client::connect(&addr, config.clone()))
        .unwrap_or_else(|e| panic!("{what}: Client::connect failed: {e}"));
    let negotiated = client.negotiated().clone();
    let versions = client.versions();
    if config.session.start_version >= expected_av
        && (versions.api_versions, versions.metadata) != (expected_av, expected_md)
    {
        panic!(
            "{what}: negotiated ApiVersions v{} / Metadata v{}, the catalog expects v{expected_av} / v{expected_md}",
            versions.api_versions, versions.metadata
        );
    }
    if negotiated.reconnects != 0 {
        panic!(
            "{what}: negotiation reconnected {} time(s); the emulator should keep the connection",
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
    check_topics(
        &what,
        metadata.topics.iter().map(|t| (t.name.as_deref(), t.partitions.len())),
    );
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
    let sock = emulator.addr();
    let target = Target {
        release,
        mode,
        emulator,
        addr,
        sock,
        config,
        wire: Wire {
            negotiation,
            metadata,
            ping,
        },
    };
    check_floor(rt, &target, versions.api_versions, versions.metadata);
    target
}

fn check_topics<'a>(what: &str, topics: impl Iterator<Item = (Option<&'a str>, usize)>) {
    let topics: Vec<_> = topics.collect();
    if topics != [(Some(TOPIC), PARTITIONS as usize)] {
        panic!("{what}: Metadata listed {topics:?}, expected topic {TOPIC:?} with {PARTITIONS} partitions");
    }
}

/// Runs the floor's exchanges once, decoding every reply, and checks that
/// the emulator saw the same requests from the floor as from the client.
fn check_floor(rt: &Runtime, t: &Target, api_versions: i16, metadata: i16) {
    let what = format!("Kafka {} ({}) tcp-floor", t.release, t.mode);
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
        assert_eq!(v, api_versions, "{what}: ping frame version");
        conn.exchange(&t.wire.ping).await;
        let reply = conn.exchange(&t.wire.metadata).await.to_vec();
        let (_, body) = decode_response(&reply, api_key::METADATA, metadata)
            .unwrap_or_else(|e| panic!("{what}: Metadata v{metadata} reply does not decode: {e}"));
        let ResponseBody::Metadata(body) = body else {
            unreachable!()
        };
        check_topics(
            &what,
            body.topics.iter().map(|t| (t.name.as_deref(), t.partitions.len())),
        );
        // A connection that only negotiates, for the comparison below.
        let mut conn = Raw::connect(t.sock).await;
        for frame in &t.wire.negotiation {
            conn.exchange(frame).await;
        }
        conn.exchange(&t.wire.metadata).await;
    });
    // Connections: the client's (negotiation + Metadata), the floor's check
    // (negotiation + ping + Metadata), the floor's (negotiation + Metadata).
    let records = wait_records(&t.emulator, 3);
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
    async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("tcp-floor: connect failed");
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
        loop {
            if self.buf.len() >= 4 {
                let size = i32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
                let end = 4 + usize::try_from(size).expect("tcp-floor: negative frame size");
                if self.buf.len() >= end {
                    return &self.buf[4..end];
                }
            }
            let n = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .expect("tcp-floor: read failed");
            assert!(n > 0, "tcp-floor: the emulator closed the connection");
        }
    }
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(SAMPLE_SIZE);
    g
}

fn targets(rt: &Runtime) -> Vec<Target> {
    selected()
        .into_iter()
        .map(|(release, mode)| prepare(rt, release, mode, ClientConfig::default()))
        .collect()
}

fn connect_api_versions(c: &mut Criterion) {
    let rt = runtime();
    let targets = targets(&rt);
    let mut g = group(c, "connect_api_versions");
    for t in &targets {
        g.bench_with_input(BenchmarkId::new("kafka-matrix", t.release), t, |b, t| {
            b.to_async(&rt).iter(|| async {
                let client = Client::connect(&t.addr, t.config.clone())
                    .await
                    .expect("Client::connect failed");
                drop(black_box(client));
            })
        });
        g.bench_with_input(BenchmarkId::new("tcp-floor", t.release), t, |b, t| {
            b.to_async(&rt).iter(|| async {
                let mut conn = Raw::connect(t.sock).await;
                for frame in &t.wire.negotiation {
                    black_box(conn.exchange(frame).await);
                }
            })
        });
    }
    g.finish();
}

fn connect_api_versions_metadata(c: &mut Criterion) {
    let rt = runtime();
    let targets = targets(&rt);
    let mut g = group(c, "connect_api_versions_metadata");
    for t in &targets {
        g.bench_with_input(BenchmarkId::new("kafka-matrix", t.release), t, |b, t| {
            b.to_async(&rt).iter(|| async {
                let mut client = Client::connect(&t.addr, t.config.clone())
                    .await
                    .expect("Client::connect failed");
                black_box(client.metadata(None).await.expect("Metadata failed"));
            })
        });
        g.bench_with_input(BenchmarkId::new("tcp-floor", t.release), t, |b, t| {
            b.to_async(&rt).iter(|| async {
                let mut conn = Raw::connect(t.sock).await;
                for frame in &t.wire.negotiation {
                    black_box(conn.exchange(frame).await);
                }
                black_box(conn.exchange(&t.wire.metadata).await);
            })
        });
    }
    g.finish();
}

fn ping_warm(c: &mut Criterion) {
    let rt = runtime();
    let targets = targets(&rt);
    let mut g = group(c, "ping_warm");
    for t in &targets {
        let client = rt
            .block_on(Client::connect(&t.addr, t.config.clone()))
            .expect("Client::connect failed");
        let client = Arc::new(Mutex::new(client));
        g.bench_with_input(BenchmarkId::new("kafka-matrix", t.release), t, |b, _| {
            b.to_async(&rt).iter_custom(|iters| {
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
        g.bench_with_input(BenchmarkId::new("tcp-floor", t.release), t, |b, _| {
            b.to_async(&rt).iter_custom(|iters| {
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

fn fallback_vs_direct(c: &mut Criterion) {
    let release = Release::new(3, 8);
    let Some(&(_, mode)) = selected().iter().find(|(r, _)| *r == release) else {
        eprintln!("fallback_vs_direct: skipped, {release} is not in {RELEASES_ENV}");
        return;
    };
    let rt = runtime();
    let paths = [("fallback-v4-v3", 4, &[4, 3][..]), ("direct-v3", 3, &[3][..])];
    let mut g = group(c, "fallback_vs_direct");
    for (name, start, attempts) in paths {
        let t = prepare(&rt, release, mode, client_config(start));
        let sent: Vec<i16> = t.wire.negotiation.iter().map(|f| ids(f).1).collect();
        if sent != attempts {
            panic!("Kafka {release} ({mode}) {name}: ApiVersions attempts {sent:?}, expected {attempts:?}");
        }
        g.bench_with_input(BenchmarkId::new("kafka-matrix", name), &t, |b, t| {
            b.to_async(&rt).iter(|| async {
                let client = Client::connect(&t.addr, t.config.clone())
                    .await
                    .expect("Client::connect failed");
                drop(black_box(client));
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    connect_api_versions,
    connect_api_versions_metadata,
    ping_warm,
    fallback_vs_direct
);
criterion_main!(benches);
