//! What connecting costs: our negotiating client against a broker, next to a
//! raw TCP "floor" that sends the very same request frames (pre-encoded) and
//! only reads the replies back, and next to other clients (rskafka, and
//! librdkafka as the system has it and as the rdkafka crate bundles it) on
//! the same broker, in the same rounds. The gap between `kafka-matrix` and
//! `tcp-floor` is our client's logic.
//!
//! Layout (one file, one job):
//! - `settings.rs`: what the environment asks for (releases, profile, rounds);
//! - `runtimes.rs`: clients on the bench's thread, emulators on their own;
//! - `floor.rs`: the raw TCP floor and the frames it sends;
//! - `ours.rs`: our client as measured, and the reconnect option
//!   (`ApiVersionsMemo`);
//! - `brokers.rs`: emulators, tansu, an external broker; each prepared and
//!   checked along our three paths before anything is timed;
//! - `peers.rs`: the peer processes (`tools/bench-peer`,
//!   `tools/peer-librdkafka`);
//! - `paired.rs`: paired, interleaved rounds;
//! - `groups/`: the paired groups, and the emulator's own costs (criterion).
//!
//! Brokers: `2.0` … `4.4`, the in-process emulator of that release (the
//! default); `external`, the broker at `KAFKA_MATRIX_BENCH_BOOTSTRAP=host:port`
//! instead; `tansu-X.Y.Z`, an independent Kafka-compatible broker started on a
//! loopback port (absent tansu is a loud skip;
//! `KAFKA_MATRIX_BENCH_REQUIRE_TANSU=1` makes it a failure,
//! `KAFKA_MATRIX_BENCH_TANSU=0` leaves it out).
//!
//! Every (broker, client) is checked once before it is measured: negotiated
//! versions against `matrix::expected_versions`, every floor reply decoded,
//! the floor's requests compared with the client's as the emulator saw them,
//! and every peer's topic list compared with ours. A broken path of our
//! client or the floor panics instead of being timed; a peer that fails
//! against a broker is a finding: it is printed, written to `run.json`, and
//! that series is not measured.
//!
//! `KAFKA_MATRIX_BENCH_RELEASES` limits the releases (`2.0,3.8,4.3`,
//! `2.0..2.4`, `all`; default all), `KAFKA_MATRIX_BENCH_PROFILE`
//! (`full`/`quick`/`smoke`) and `KAFKA_MATRIX_BENCH_ROUNDS` the rounds. Run:
//! `just bench`, `just bench-quick`, then `just bench-report`. The run is
//! described in `$CARGO_TARGET_DIR/kafka-matrix/bench/run.json`
//! (`bench_schema::RunLog`).

mod brokers;
mod floor;
mod groups;
mod ours;
mod paired;
mod peers;
mod runtimes;
mod settings;
mod tune;

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use bench_schema::run::names::{
    FLOOR, FLOOR_PROC, FLOOR_REMEMBERED, FLOOR_V3, OURS, OURS_REMEMBERED, OURS_V3, PEER_IPC, RSKAFKA,
};
use bench_schema::{ClientInfo, LoadAvg, Machine, Role, RunLog};
use criterion::Criterion;

use crate::floor::{CONNECT_TIMEOUT, STALLS_FLOOR, STALLS_OURS};

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The commit measured: `git rev-parse --short HEAD`, `-dirty` if the
/// tracked files differ from it.
fn commit() -> Option<String> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(["-C", dir])
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "--short", "HEAD"])?;
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

/// Ours and the floors, described.
fn own_clients() -> Vec<ClientInfo> {
    let version = env!("CARGO_PKG_VERSION").to_owned();
    let here = "bench process".to_owned();
    let c = |name: &str, role, process: &str, what: &str| ClientInfo {
        name: name.to_owned(),
        role,
        version: version.clone(),
        process: process.to_owned(),
        what: what.to_owned(),
    };
    vec![
        c(
            OURS,
            Role::Ours,
            &here,
            "a fresh client: ApiVersions from v4 (the newest)",
        ),
        c(
            OURS_V3,
            Role::Ours,
            &here,
            "started at ApiVersions v3, where rskafka and librdkafka start",
        ),
        c(
            OURS_REMEMBERED,
            Role::Ours,
            &here,
            "the reconnect option: starts at the ApiVersions version this address accepted last time",
        ),
        c(FLOOR, Role::Floor, &here, "raw TCP replay of kafka-matrix's frames"),
        c(
            FLOOR_V3,
            Role::Floor,
            &here,
            "raw TCP replay of kafka-matrix-v3's frames",
        ),
        c(
            FLOOR_REMEMBERED,
            Role::Floor,
            &here,
            "raw TCP replay of kafka-matrix-remembered's frames",
        ),
    ]
}

fn main() {
    // Without `--bench` (e.g. under `cargo test --all-targets`) criterion runs
    // each benchmark once as a test, the paired groups run one round, and
    // run.json is left alone.
    let measuring = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    let mut log = RunLog::new(now_unix());
    // The machine as it is, before pinning narrows what this process sees
    // (its core count is part of the machine's identity in comparisons).
    log.machine = Machine::detect();
    log.load_start = LoadAvg::now();
    // Before any runtime, thread or process starts: they inherit it.
    let tuned = tune::tune(measuring && !settings::off(settings::TUNE_ENV));
    let rt = runtimes::clients();
    log.commit = commit();
    log.settings = settings::settings(measuring);
    log.tuning = tuned.tuning.clone();
    eprintln!(
        "machine: {}; load {}; profile {}: {} rounds (+{} warm-up)",
        log.machine.summary(),
        log.load_start.map(|l| l.summary()).unwrap_or_default(),
        log.settings.profile,
        log.settings.rounds,
        log.settings.warmup_rounds
    );
    if measuring {
        eprintln!("machine state while measuring: {}", log.tuning.summary());
    }

    let targets = brokers::targets(&rt, &mut log);
    let mut peers = peers::start(&mut log, measuring);
    log.clients = own_clients();
    if let Some(p) = peers.iter().find(|p| p.name == RSKAFKA) {
        let process = p.info().process;
        log.clients.push(ClientInfo {
            name: FLOOR_PROC.to_owned(),
            role: Role::Floor,
            version: p.version.clone(),
            process: process.clone(),
            what: "tcp-floor's frames sent from a peer process: what being another process costs".to_owned(),
        });
        log.clients.push(ClientInfo {
            name: PEER_IPC.to_owned(),
            role: Role::Overhead,
            version: p.version.clone(),
            process,
            what: "a no-op request to a peer process and its answer, timed by the bench: \
                   the IPC cost, in no peer's figure (peers time themselves)"
                .to_owned(),
        });
    }
    log.clients.extend(peers.iter().map(peers::Peer::info));

    groups::paired(&rt, &targets, &mut peers, &log.settings.clone(), &mut log);
    drop(peers);
    groups::emulator::costs(&mut c, &rt, &targets, &mut log);
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
                 the measurements that stalled keep their time (see the p99s)",
                ours + floor
            ),
        );
    }
    drop(tuned);
    log.load_end = LoadAvg::now();
    log.finished_unix = now_unix();
    if measuring {
        let dir = settings::out_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join("run.json");
        let json = serde_json::to_string(&log).expect("run log serializes");
        std::fs::write(&path, json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("run description written to {}", path.display());
    }
}
