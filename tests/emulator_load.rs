//! The emulator under load and abuse, on loopback only, bounded in count and time.
//!
//! One emulated Kafka 3.8 (so every good client needs three round trips: ApiVersions v4
//! refused with the KIP-511 hint, v3 accepted, Metadata v12) serves at once:
//!
//! - `LOAD_CLIENTS` good clients (default 1,000), all started together, each negotiating
//!   and fetching metadata;
//! - abusers, 50 of each kind, started alongside them: random garbage; size prefixes
//!   above Kafka's `socket.request.max.bytes` (104857600) or negative; a legal prefix
//!   of exactly 104857600 followed by a few bytes and a stall; and a valid ApiVersions
//!   request written one byte at a time.
//!
//! What must hold: every good client succeeds and sees the seeded topic; every slow
//! writer gets its full, correct reply; every oversized prefix is closed at once without
//! a reply; the emulator is still up afterwards (a fresh client negotiates); every
//! connection's record says why it ended; and memory stays bounded, measured two ways
//! for the whole process (emulator and clients together): the peak heap, counted by a
//! global allocator (`cap`), grows by less than [`HEAP_BUDGET_MIB`], and the peak
//! resident set (`VmHWM`) by less than [`RSS_BUDGET_MIB`]. The heap count is the sharp
//! one: reserving the 100 MiB a stalling prefix announces would cost the stallers alone
//! 5 GiB of heap, yet almost no RSS, since untouched pages are never resident.
//!
//! Each phase has a hang guard; nothing is timed for speed. Figures (time, connections,
//! RSS) are printed with `--nocapture`. `just load` runs 5,000 clients in release mode.
//!
//! File descriptors: each good client costs two (both ends live in this process). The
//! test raises its soft `RLIMIT_NOFILE` to the hard limit with `prlimit` (util-linux)
//! if it is too low, and otherwise fails saying how many it needs.

use std::alloc::System;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cap::Cap;
use kafka_matrix::client::{Client, ClientConfig};
use kafka_matrix::emulator::{CloseReason, ConnRecord, Emulator, EmulatorOptions, Faults, SeededTopic};
use kafka_matrix::protocol::messages::ApiVersionsRequest;
use kafka_matrix::protocol::{encode_request, RequestBody};
use kafka_matrix::versions::{Mode, Release};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

/// Abusers of each kind.
const ABUSERS: usize = 50;
/// Peak heap growth allowed over the whole run.
const HEAP_BUDGET_MIB: usize = 128;
/// Peak RSS growth allowed over the whole run.
const RSS_BUDGET_MIB: u64 = 256;
/// Hang guard for each phase.
const PHASE: Duration = Duration::from_secs(60);

fn clients() -> usize {
    std::env::var("LOAD_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// A `/proc/self/status` field in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// The soft and hard `RLIMIT_NOFILE` from `/proc/self/limits`.
fn nofile() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files");
    let nums: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    let unlimited = line.contains("unlimited");
    match (nums.as_slice(), unlimited) {
        ([soft, hard], _) => (*soft, *hard),
        ([soft], true) => (*soft, u64::MAX),
        _ => (0, 0),
    }
}

/// Makes sure `needed` descriptors can be open at once, raising the soft limit to the
/// hard one if that is enough.
fn ensure_nofile(needed: u64) {
    let (soft, hard) = nofile();
    if soft >= needed {
        return;
    }
    if hard >= needed {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("prlimit")
            .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
            .status();
    }
    let (soft, _) = nofile();
    assert!(
        soft >= needed,
        "this test needs {needed} open files at once; the soft limit is {soft} (raise it with `ulimit -n {needed}`)"
    );
}

/// A small deterministic PRNG (xorshift64*) for the garbage.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Reads until EOF or error; returns what came. Bounded by the phase guard.
async fn drain(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let _ = timeout(PHASE, s.read_to_end(&mut got)).await;
    got
}

/// Random bytes, sometimes behind a small legal size prefix so that they reach the
/// header parser; then wait for the emulator to close.
async fn garbage(addr: std::net::SocketAddr, seed: u64) -> Result<(), String> {
    let mut rng = Rng(seed | 1);
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let len = 512 + (rng.next() % 2048) as usize;
    let mut bytes = rng.bytes(len);
    if seed.is_multiple_of(2) {
        let len = (bytes.len() - 4) as i32;
        bytes[..4].copy_from_slice(&len.to_be_bytes());
    }
    // The emulator may close while we write; that is fine.
    let _ = s.write_all(&bytes).await;
    let _ = s.shutdown().await;
    drain(&mut s).await;
    Ok(())
}

/// A size prefix Kafka refuses: the emulator must close at once, with no reply, before
/// we have sent anything else.
async fn oversized(addr: std::net::SocketAddr, i: usize) -> Result<(), String> {
    let size: i32 = match i % 3 {
        0 => 104_857_601,
        1 => i32::MAX,
        _ => -1,
    };
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    s.write_all(&size.to_be_bytes()).await.map_err(|e| e.to_string())?;
    let got = drain(&mut s).await;
    if got.is_empty() {
        Ok(())
    } else {
        Err(format!("prefix {size}: got {} bytes back", got.len()))
    }
}

/// A legal prefix of exactly the limit, a few bytes of header, then a stall until told
/// to go: the emulator must hold on without reserving the 100 MiB.
async fn stall(addr: std::net::SocketAddr, go: Arc<tokio::sync::Notify>) -> Result<(), String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    s.write_all(&104_857_600i32.to_be_bytes())
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(&[0, 18, 0, 3, 0, 0]).await.map_err(|e| e.to_string())?;
    go.notified().await;
    Ok(())
}

/// A valid ApiVersions v3 request written one byte at a time; the reply must be whole.
async fn slow_writer(addr: std::net::SocketAddr, i: usize) -> Result<(), String> {
    let body = RequestBody::ApiVersions(ApiVersionsRequest {
        client_software_name: "slow".into(),
        client_software_version: "1".into(),
        ..ApiVersionsRequest::default()
    });
    let corr = 1000 + i as i32;
    let frame = encode_request(corr, Some("slow"), 3, &body).map_err(|e| e.to_string())?;
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    for b in frame.iter() {
        s.write_all(&[*b]).await.map_err(|e| e.to_string())?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut prefix = [0u8; 4];
    s.read_exact(&mut prefix).await.map_err(|e| e.to_string())?;
    let len = i32::from_be_bytes(prefix);
    if !(8..4096).contains(&len) {
        return Err(format!("reply size {len}"));
    }
    let mut reply = vec![0u8; len as usize];
    s.read_exact(&mut reply).await.map_err(|e| e.to_string())?;
    // Correlation id, then error code 0.
    if reply[..4] != corr.to_be_bytes() || reply[4..6] != [0, 0] {
        return Err(format!("bad reply {:?}", &reply[..6]));
    }
    Ok(())
}

async fn good_client(bootstrap: String) -> Result<(), String> {
    let config = ClientConfig {
        connect_timeout: Duration::from_secs(20),
        request_timeout: Duration::from_secs(20),
        ..ClientConfig::default()
    };
    let mut client = Client::connect(&bootstrap, config).await.map_err(|e| e.to_string())?;
    if client.versions().api_versions != 3 {
        return Err(format!("negotiated {:?}", client.versions()));
    }
    let md = client.metadata(None).await.map_err(|e| e.to_string())?;
    let orders = md.topics.iter().find(|t| t.name.as_deref() == Some("orders"));
    match (md.brokers.len(), orders.map(|t| t.partitions.len())) {
        (1, Some(3)) => Ok(()),
        other => Err(format!("unexpected metadata {other:?}")),
    }
}

/// Runs one abuser under its own hang guard, naming it in any error.
async fn abuser(
    kind: &'static str,
    i: usize,
    run: impl std::future::Future<Output = Result<(), String>>,
) -> Result<(), String> {
    match timeout(PHASE / 2, run).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("{kind} {i}: {e}")),
        Err(_) => Err(format!("{kind} {i}: still running after {:?}", PHASE / 2)),
    }
}

fn count(records: &[ConnRecord], pred: impl Fn(&CloseReason) -> bool) -> usize {
    records.iter().filter(|r| r.closed.as_ref().is_some_and(&pred)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_clients_and_abusers_at_once() {
    let n = clients();
    let total_conns = n + 4 * ABUSERS + 1;
    ensure_nofile((2 * total_conns + 256) as u64);
    // The emulator listens on loopback by default; the load never leaves it.
    assert!(EmulatorOptions::default().listen.ip().is_loopback());

    let rss_before = status_kib("VmRSS");
    let heap_before = ALLOC.allocated();
    let emu = Emulator::start(
        Release::new(3, 8),
        Mode::Zk,
        EmulatorOptions {
            topics: vec![SeededTopic::new("orders", 3)],
            faults: Faults::default(),
            ..EmulatorOptions::default()
        },
    )
    .await
    .expect("emulator");
    let addr = emu.addr();
    let started = Instant::now();

    let go = Arc::new(tokio::sync::Notify::new());
    let mut abusers = tokio::task::JoinSet::new();
    for i in 0..ABUSERS {
        abusers.spawn(abuser("garbage", i, garbage(addr, 0x9e37_79b9_7f4a_7c15 ^ i as u64)));
        abusers.spawn(abuser("oversized", i, oversized(addr, i)));
        abusers.spawn(abuser("slow writer", i, slow_writer(addr, i)));
    }
    let mut stallers = tokio::task::JoinSet::new();
    for _ in 0..ABUSERS {
        stallers.spawn(stall(addr, Arc::clone(&go)));
    }
    let ok = Arc::new(AtomicUsize::new(0));
    let mut good = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (bootstrap, ok) = (emu.bootstrap(), Arc::clone(&ok));
        good.spawn(async move {
            let r = good_client(bootstrap).await;
            if r.is_ok() {
                ok.fetch_add(1, Ordering::Relaxed);
            }
            r
        });
    }

    let mut failures = Vec::new();
    timeout(PHASE, async {
        while let Some(r) = good.join_next().await {
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(e),
                Err(e) => failures.push(format!("task: {e}")),
            }
        }
    })
    .await
    .expect("the good clients finish in time");
    let good_done = started.elapsed();
    timeout(PHASE, async {
        while let Some(r) = abusers.join_next().await {
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(e),
                Err(e) => failures.push(format!("abuser task: {e}")),
            }
        }
    })
    .await
    .expect("the abusers finish in time");
    let hwm_under_load = status_kib("VmHWM");
    go.notify_waiters();
    while let Some(r) = stallers.join_next().await {
        if let Ok(Err(e)) = r {
            failures.push(format!("staller: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures, first: {:?}",
        failures.len(),
        failures.first()
    );
    assert_eq!(ok.load(Ordering::Relaxed), n);

    // Still up: a fresh client negotiates and reads metadata.
    timeout(PHASE, good_client(emu.bootstrap()))
        .await
        .expect("in time")
        .expect("the emulator still serves");

    // Every connection ended, each for the reason its kind implies.
    let records = timeout(PHASE, async {
        loop {
            let r = emu.records();
            if r.len() >= total_conns {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("expected {total_conns} records, have {}", emu.records().len()));
    let invalid_frame = count(&records, |c| matches!(c, CloseReason::InvalidFrame(_)));
    let mid_frame = count(&records, |c| *c == CloseReason::ClientClosedMidFrame);
    let client_closed = count(&records, |c| *c == CloseReason::ClientClosed);
    // The oversized prefixes, and garbage whose first 4 bytes were out of range.
    assert!(invalid_frame >= ABUSERS, "{invalid_frame} invalid-frame closes");
    // The stallers (and garbage whose prefix announced more than was sent).
    assert!(mid_frame >= ABUSERS, "{mid_frame} closes mid-frame");
    // Good clients (3.8 keeps the refused connection open: one connection each), slow
    // writers and the final check.
    assert!(client_closed > n + ABUSERS, "{client_closed} clean closes");
    let hwm = status_kib("VmHWM").max(hwm_under_load);
    let growth_mib = hwm.saturating_sub(rss_before) / 1024;
    let heap_growth_mib = ALLOC.max_allocated().saturating_sub(heap_before) / (1024 * 1024);
    eprintln!(
        "{n} good clients (3 round trips each) + {} abusers: good clients done in {:.2?}, {} connections \
         recorded; peak heap growth {heap_growth_mib} MiB; VmRSS before {} MiB, peak VmHWM {} MiB (growth \
         {growth_mib} MiB)",
        4 * ABUSERS,
        good_done,
        records.len(),
        rss_before / 1024,
        hwm / 1024,
    );
    assert!(
        heap_growth_mib < HEAP_BUDGET_MIB,
        "peak heap grew by {heap_growth_mib} MiB (budget {HEAP_BUDGET_MIB} MiB)"
    );
    assert!(
        growth_mib < RSS_BUDGET_MIB,
        "peak RSS grew by {growth_mib} MiB (budget {RSS_BUDGET_MIB} MiB)"
    );
    emu.shutdown().await;
}
