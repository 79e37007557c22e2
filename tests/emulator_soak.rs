//! Soak and abuse: each row of the robustness issue replayed against a `kafka-matrix
//! serve` child process, whose resident memory is read from `/proc/<pid>/status` (a
//! separate process is the honest way to measure it: the attack's own buffers live in
//! this one).
//!
//! `just soak` runs it at full size in release mode (`SOAK_FULL=1`): 100 MiB Metadata
//! requests of 52 million empty topic names, four at once, a 30 MiB one, 5,000 idle
//! connections, non-reading and half-sent clients, and 100 MiB of distinct names. Each
//! row prints its figures beside its target (docs/robustness.md records them); budgets
//! are measured and printed, never asserted on time. Plain `cargo test` runs a small
//! version and asserts only what must hold whatever the machine: the server stays up,
//! good clients get answers, idle connections are closed after a short idle timeout,
//! and a full memory pool stops reading a request until memory comes back.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_matrix::client::{Client, ClientConfig};
use kafka_matrix::protocol::messages::ApiVersionsRequest;
use kafka_matrix::protocol::{encode_request, RequestBody};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const MIB: usize = 1 << 20;
/// Hang guard for any one step.
const GUARD: Duration = Duration::from_secs(300);

fn full() -> bool {
    std::env::var("SOAK_FULL").is_ok_and(|v| v == "1")
}

/// Scales a full-size figure down for plain `cargo test` (a debug build).
fn size(full_size: usize, small: usize) -> usize {
    if full() {
        full_size
    } else {
        small
    }
}

/// A `kafka-matrix serve` child; killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(args: &[&str]) -> Self {
        Self::start_with(env!("CARGO_BIN_EXE_kafka-matrix"), &[], args)
    }

    /// `program pre... serve ... args...` (a wrapper such as `prlimit`, or the binary).
    fn start_with(program: &str, pre: &[&str], args: &[&str]) -> Self {
        let mut child = Command::new(program)
            .args(pre)
            .args([
                "serve",
                "--kafka",
                "3.8",
                "--listen",
                "127.0.0.1:0",
                "--topic",
                "orders:3",
            ])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kafka-matrix serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self { child, addr }
    }

    /// `VmRSS` or `VmHWM` of the server, in MiB.
    fn mem_mib(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Metadata v1 request frame of `bytes` bytes (size prefix excluded) made of empty
/// topic names, the cheapest legal entry (2 bytes each).
fn empty_names_request(bytes: usize, corr: i32) -> Vec<u8> {
    let header: &[u8] = &[0, 3, 0, 1];
    let client: &[u8] = &[0, 4, b's', b'o', b'a', b'k'];
    let fixed = header.len() + 4 + client.len() + 4;
    let n = (bytes - fixed) / 2;
    let body = fixed + 2 * n;
    let mut f = Vec::with_capacity(4 + body);
    f.extend_from_slice(&(body as i32).to_be_bytes());
    f.extend_from_slice(header);
    f.extend_from_slice(&corr.to_be_bytes());
    f.extend_from_slice(client);
    f.extend_from_slice(&(n as i32).to_be_bytes());
    f.resize(4 + body, 0);
    f
}

/// A Metadata v1 request frame of about `bytes` bytes of distinct 4-character ASCII
/// names (6 bytes each): the de-duplication table's worst case, and a reply larger
/// than the request.
fn distinct_names_request(bytes: usize, corr: i32) -> Vec<u8> {
    let n = (bytes - 18) / 6;
    let body = 18 + 6 * n;
    let mut f = Vec::with_capacity(4 + body);
    f.extend_from_slice(&(body as i32).to_be_bytes());
    f.extend_from_slice(&[0, 3, 0, 1]);
    f.extend_from_slice(&corr.to_be_bytes());
    f.extend_from_slice(&[0, 4, b's', b'o', b'a', b'k']);
    f.extend_from_slice(&(n as i32).to_be_bytes());
    for i in 0..n {
        let mut v = i;
        f.extend_from_slice(&[0, 4]);
        for _ in 0..4 {
            f.push(0x21 + (v % 94) as u8);
            v /= 94;
        }
    }
    f
}

fn api_versions_frame(corr: i32) -> Vec<u8> {
    let body = RequestBody::ApiVersions(ApiVersionsRequest {
        client_software_name: "soak".into(),
        client_software_version: "1".into(),
        ..ApiVersionsRequest::default()
    });
    encode_request(corr, Some("soak"), 3, &body).expect("encodes").to_vec()
}

/// Reads one reply frame; returns its size (size prefix excluded).
async fn read_reply(s: &mut TcpStream) -> std::io::Result<usize> {
    let mut prefix = [0u8; 4];
    s.read_exact(&mut prefix).await?;
    let len = i32::from_be_bytes(prefix) as usize;
    let mut left = len;
    let mut chunk = vec![0u8; 256 * 1024];
    while left > 0 {
        let n = s.read(&mut chunk[..left.min(256 * 1024)]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        left -= n;
    }
    Ok(len)
}

/// Sends `frame`, reads the reply; returns (reply size, seconds).
async fn round_trip(addr: SocketAddr, frame: Arc<Vec<u8>>) -> Result<(usize, f64), String> {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    s.write_all(&frame).await.map_err(|e| e.to_string())?;
    let len = read_reply(&mut s)
        .await
        .map_err(|e| format!("reading the reply: {e}"))?;
    Ok((len, start.elapsed().as_secs_f64()))
}

/// A good client on one connection, sending ApiVersions every 10 ms and timing each
/// round trip, until told to stop.
struct Prober {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Result<Vec<f64>, String>>,
}

impl Prober {
    async fn start(addr: SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let mut s = TcpStream::connect(addr).await.expect("prober connects");
        let _ = s.set_nodelay(true);
        let task = tokio::spawn(async move {
            let mut rtts = Vec::new();
            let mut corr = 0;
            while !flag.load(Ordering::Relaxed) {
                corr += 1;
                let t = Instant::now();
                s.write_all(&api_versions_frame(corr))
                    .await
                    .map_err(|e| e.to_string())?;
                timeout(GUARD, read_reply(&mut s))
                    .await
                    .map_err(|_| "ApiVersions unanswered".to_string())?
                    .map_err(|e| e.to_string())?;
                rtts.push(t.elapsed().as_secs_f64() * 1000.0);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok(rtts)
        });
        Self { stop, task }
    }

    /// Stops; returns the round trips in ms, sorted.
    async fn finish(self) -> Vec<f64> {
        self.stop.store(true, Ordering::Relaxed);
        let mut rtts = self
            .task
            .await
            .expect("prober task")
            .expect("the good client is answered");
        rtts.sort_by(f64::total_cmp);
        rtts
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn latency(sorted: &[f64]) -> String {
    format!(
        "good client ApiVersions p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} round trips)",
        pct(sorted, 0.5),
        pct(sorted, 0.99),
        pct(sorted, 1.0),
        sorted.len()
    )
}

fn row(name: &str, measured: &str, target: &str, met: bool) {
    let verdict = if met { "MET" } else { "NOT MET" };
    eprintln!("| {name} | {measured} | {target} | {verdict} |");
}

/// Negotiates as a new client; returns milliseconds.
async fn new_client_ms(addr: SocketAddr) -> Result<f64, String> {
    let t = Instant::now();
    let config = ClientConfig {
        connect_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    };
    Client::connect(&addr.to_string(), config)
        .await
        .map_err(|e| e.to_string())?;
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

/// Rows 1 and 3: one legal request of empty names, a good client beside it.
async fn one_request(label: &str, bytes: usize) {
    let mut server = Server::start(&[]);
    let idle = server.mem_mib("VmRSS");
    let frame = Arc::new(empty_names_request(bytes, 1));
    let prober = Prober::start(server.addr).await;
    let (reply, secs) = timeout(GUARD, round_trip(server.addr, frame))
        .await
        .expect("in time")
        .expect("the request is answered");
    let rtts = prober.finish().await;
    let peak = server.mem_mib("VmHWM") - idle;
    assert!(server.alive(), "the server died");
    let mib = bytes as f64 / MIB as f64;
    row(
        label,
        &format!("peak RSS +{peak:.0} MiB over idle {idle:.0} MiB; reply {reply} bytes in {secs:.2} s"),
        &format!("≤ 3× the request ({:.0} MiB)", 3.0 * mib),
        peak <= 3.0 * mib,
    );
    row(label, &latency(&rtts), "p99 < 50 ms", pct(&rtts, 0.99) < 50.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_1_one_maximal_request() {
    one_request("one 100 MiB Metadata v1 request, empty names", size(100 * MIB, 2 * MIB)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_3_one_30_mib_request() {
    one_request("one 30 MiB request", size(30 * MIB, MIB)).await;
}

/// Row 2: four maximal requests at once; every one answered, the server alive and
/// under its budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_2_four_maximal_requests_at_once() {
    let bytes = size(100 * MIB, 2 * MIB);
    let budget = size(1 << 30, 8 * MIB);
    let mut server = Server::start(&["--memory-budget", &budget.to_string()]);
    let idle = server.mem_mib("VmRSS");
    let frame = Arc::new(empty_names_request(bytes, 1));
    let prober = Prober::start(server.addr).await;
    let t = Instant::now();
    let mut all = tokio::task::JoinSet::new();
    for _ in 0..4 {
        all.spawn(round_trip(server.addr, Arc::clone(&frame)));
    }
    let mut answered = 0;
    while let Some(r) = timeout(GUARD, all.join_next()).await.expect("in time") {
        r.expect("task").expect("each request is answered");
        answered += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    let rtts = prober.finish().await;
    assert!(server.alive(), "the server died");
    assert_eq!(answered, 4);
    let peak = server.mem_mib("VmHWM");
    let budget_mib = budget as f64 / MIB as f64;
    row(
        "four maximal requests at once",
        &format!("alive, 4/4 answered in {secs:.2} s; peak RSS {peak:.0} MiB (idle {idle:.0} MiB)"),
        &format!("alive, under the {budget_mib:.0} MiB budget + fixed overhead"),
        peak <= budget_mib + idle + 64.0,
    );
    row(
        "four maximal requests at once",
        &latency(&rtts),
        "good clients answered",
        true,
    );
}

/// Row 4: thousands of idle connections; a new client still negotiates, and they are
/// closed after the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_4_idle_connections() {
    let n = size(5000, 200);
    let idle_ms = size(5000, 800);
    let server = Server::start(&["--idle-timeout", &idle_ms.to_string()]);
    let mut idle = Vec::with_capacity(n);
    for _ in 0..n {
        idle.push(TcpStream::connect(server.addr).await.expect("an idle connection"));
    }
    let opened = Instant::now();
    let mut times = Vec::new();
    for _ in 0..5 {
        times.push(
            timeout(GUARD, new_client_ms(server.addr))
                .await
                .expect("in time")
                .expect("negotiates"),
        );
    }
    times.sort_by(f64::total_cmp);
    let rss = server.mem_mib("VmRSS");
    row(
        &format!("{n} idle connections"),
        &format!(
            "new client negotiated in {:.1} ms (worst of 5: {:.1} ms); server RSS {rss:.0} MiB",
            times[0], times[4]
        ),
        "< 100 ms",
        times[4] < 100.0,
    );
    // Every idle connection is closed by the server after the idle timeout.
    let mut closed = 0;
    for mut s in idle {
        let mut b = [0u8; 1];
        if let Ok(Ok(0)) = timeout(GUARD, s.read(&mut b)).await {
            closed += 1;
        }
    }
    let after = opened.elapsed().as_secs_f64();
    assert_eq!(closed, n, "every idle connection is closed by the server");
    let ms = timeout(GUARD, new_client_ms(server.addr))
        .await
        .expect("in time")
        .expect("negotiates");
    row(
        &format!("{n} idle connections, --idle-timeout {idle_ms}"),
        &format!("all {n} closed {after:.1} s after they were opened; then a new client in {ms:.1} ms"),
        &format!("closed after {:.1} s idle", idle_ms as f64 / 1000.0),
        after >= idle_ms as f64 / 1000.0 * 0.9,
    );
}

/// Row 5: non-reading clients and half-sent frames cannot pin more than the pool; the
/// idle timeout frees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_5_slow_and_half_sent_clients() {
    let idle_ms = size(5000, 1000);
    let budget = size(1 << 30, 8 * MIB);
    let mut server = Server::start(&[
        "--idle-timeout",
        &idle_ms.to_string(),
        "--memory-budget",
        &budget.to_string(),
    ]);
    let idle_rss = server.mem_mib("VmRSS");
    // Non-reading clients of large requests whose replies are large (distinct names).
    let readers = 5;
    let nonreading = Arc::new(distinct_names_request(size(10 * MIB, MIB), 1));
    let mut held = Vec::new();
    for _ in 0..readers {
        let mut s = TcpStream::connect(server.addr).await.expect("connect");
        s.write_all(&nonreading).await.expect("send");
        held.push(s);
    }
    // Nearly complete frames: the prefix of a large frame and all but one byte.
    let half = size(20, 4);
    let big = size(100 * MIB, 2 * MIB);
    let nearly = Arc::new(empty_names_request(big, 2));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..half {
        let (addr, frame) = (server.addr, Arc::clone(&nearly));
        senders.spawn(async move {
            let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
            // Blocks once the server stops reading (pool full): that is the point.
            let _ = s.write_all(&frame[..frame.len() - 1]).await;
            let mut b = [0u8; 1];
            // The server closes it after the idle timeout.
            match timeout(GUARD, s.read(&mut b)).await {
                Ok(Ok(0)) | Ok(Err(_)) => Ok(()),
                other => Err(format!("not closed: {other:?}")),
            }
        });
    }
    // A good client is served meanwhile.
    tokio::time::sleep(Duration::from_millis(size(3000, 300) as u64)).await;
    let during = server.mem_mib("VmRSS");
    let good = timeout(GUARD, new_client_ms(server.addr))
        .await
        .expect("in time")
        .expect("negotiates");
    let budget_mib = budget as f64 / MIB as f64;
    row(
        &format!(
            "{readers} non-reading clients of distinct-name requests + {half} nearly complete {} MiB frames",
            big / MIB
        ),
        &format!("server RSS {during:.0} MiB (idle {idle_rss:.0} MiB); a new client negotiates in {good:.1} ms"),
        &format!("bounded by the {budget_mib:.0} MiB pool + fixed overhead"),
        during <= budget_mib + idle_rss + 64.0,
    );
    // All of them are closed after the idle timeout, and the memory is given back.
    let t = Instant::now();
    while let Some(r) = timeout(GUARD, senders.join_next()).await.expect("in time") {
        r.expect("task").expect("closed by the server");
    }
    for mut s in held {
        // Whatever reply bytes were sent, then EOF.
        let mut sink = Vec::new();
        let _ = timeout(GUARD, s.read_to_end(&mut sink))
            .await
            .expect("closed by the server");
    }
    let freed_after = t.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = server.mem_mib("VmRSS");
    assert!(server.alive(), "the server died");
    let good = timeout(GUARD, new_client_ms(server.addr))
        .await
        .expect("in time")
        .expect("negotiates");
    row(
        "… after the idle timeout",
        &format!(
            "all closed within {freed_after:.1} s more; RSS {after:.0} MiB, peak {:.0} MiB; a new client in {good:.1} ms",
            server.mem_mib("VmHWM")
        ),
        &format!("closed after {:.1} s idle, memory given back", idle_ms as f64 / 1000.0),
        after <= idle_rss + 64.0,
    );
}

/// Not a row of the issue: 100 MiB of distinct names, the de-duplication table's worst
/// case, with a reply larger than the request (streamed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_6_distinct_names() {
    let bytes = size(100 * MIB, MIB);
    let mut server = Server::start(&[]);
    let idle = server.mem_mib("VmRSS");
    let frame = Arc::new(distinct_names_request(bytes, 1));
    let prober = Prober::start(server.addr).await;
    let (reply, secs) = timeout(GUARD, round_trip(server.addr, frame))
        .await
        .expect("in time")
        .expect("answered");
    let rtts = prober.finish().await;
    assert!(server.alive(), "the server died");
    let peak = server.mem_mib("VmHWM") - idle;
    let mib = bytes as f64 / MIB as f64;
    row(
        "one 100 MiB request of distinct 4-character names",
        &format!("peak RSS +{peak:.0} MiB; reply {reply} bytes (streamed) in {secs:.2} s"),
        &format!("≤ 3× the request ({:.0} MiB)", 3.0 * mib),
        peak <= 3.0 * mib,
    );
    row("… beside it", &latency(&rtts), "p99 < 50 ms", pct(&rtts, 0.99) < 50.0);
}

/// The pool stops reading a request when it is full, and reads it once memory comes
/// back; small requests are served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_7_a_full_pool_stops_reading_until_memory_comes_back() {
    // 2 MiB budget: a 1 MiB frame reserves all of it.
    let server = Server::start(&["--memory-budget", "2M"]);
    let frame = empty_names_request(MIB, 1);
    // A: all but the last byte: its reservation is held.
    let mut a = TcpStream::connect(server.addr).await.expect("connect");
    a.write_all(&frame[..frame.len() - 1]).await.expect("send");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // B: a whole request; it cannot be read while A holds the pool.
    let b = tokio::spawn(round_trip(server.addr, Arc::new(frame.clone())));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!b.is_finished(), "B was answered while the pool was full");
    // Small requests need no reservation: still served.
    timeout(GUARD, new_client_ms(server.addr))
        .await
        .expect("in time")
        .expect("a good client negotiates while the pool is full");
    // A completes its frame and reads its reply: the pool frees, B is answered.
    a.write_all(&frame[frame.len() - 1..]).await.expect("send");
    timeout(GUARD, read_reply(&mut a))
        .await
        .expect("in time")
        .expect("A answered");
    timeout(GUARD, b)
        .await
        .expect("B answered once memory came back")
        .expect("task")
        .expect("B answered");
}

/// Out of file descriptors: the server keeps running without spinning, and serves new
/// clients again once connections close. The child runs under `prlimit --nofile=64`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_8_out_of_file_descriptors_recovers_as_connections_close() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("SKIPPED soak_8: no `prlimit` (util-linux) to lower the server's descriptor limit");
        return;
    }
    let server = Server::start_with(
        "prlimit",
        &["--nofile=64:64", "--", env!("CARGO_BIN_EXE_kafka-matrix")],
        &["--idle-timeout", "-1"],
    );
    let cpu = || {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.child.id())).unwrap_or_default();
        let f: Vec<u64> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        // utime + stime, in clock ticks (fields 14 and 15 of /proc/<pid>/stat).
        f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
    };
    // More connections than the server has descriptors for: the kernel completes
    // the handshakes; the server accepts until EMFILE.
    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = cpu();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let spent = cpu().saturating_sub(before);
    // A new client cannot be served now; once connections close it is.
    held.truncate(20);
    let ms = timeout(Duration::from_secs(30), new_client_ms(server.addr))
        .await
        .expect("in time")
        .expect("a new client negotiates once descriptors are free again");
    row(
        "out of descriptors (nofile 64, 100 connections)",
        &format!("{spent} CPU ticks in 2 s while out of descriptors; after 80 closed, a new client in {ms:.1} ms"),
        "no busy loop; recovers",
        spent < 50,
    );
    assert!(spent < 100, "the accept loop spun: {spent} ticks in 2 s");
}
