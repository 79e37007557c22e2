//! What the environment says about this run.

use std::path::PathBuf;

use bench_schema::Settings;

/// Limits the releases: `2.0,3.8,4.3`, `2.0..2.4`, `all` (default all).
pub const RELEASES_ENV: &str = "KAFKA_MATRIX_BENCH_RELEASES";
/// `host:port`: one external broker instead of the emulators.
pub const BOOTSTRAP_ENV: &str = "KAFKA_MATRIX_BENCH_BOOTSTRAP";
/// `0` leaves tansu out on purpose.
pub const TANSU_ENV: &str = "KAFKA_MATRIX_BENCH_TANSU";
/// `1` makes a missing tansu a failure.
pub const REQUIRE_TANSU_ENV: &str = "KAFKA_MATRIX_BENCH_REQUIRE_TANSU";
/// `full` (default under `--bench`), `quick` or `smoke`.
pub const PROFILE_ENV: &str = "KAFKA_MATRIX_BENCH_PROFILE";
/// Rounds per paired group, instead of the profile's.
pub const ROUNDS_ENV: &str = "KAFKA_MATRIX_BENCH_ROUNDS";
/// Where the peer binaries are (default: the bench's own profile directory).
pub const PEERS_DIR_ENV: &str = "KAFKA_MATRIX_BENCH_PEERS_DIR";
/// `1` makes a missing peer binary a failure (the recipes build them first).
pub const REQUIRE_PEERS_ENV: &str = "KAFKA_MATRIX_BENCH_REQUIRE_PEERS";
/// `0` leaves the machine as found: no pinning, idle CPUs may sleep
/// (`tune.rs`; default: tuned while measuring).
pub const TUNE_ENV: &str = "KAFKA_MATRIX_BENCH_TUNE";
/// `one` (default): clients and brokers pinned to one CPU; `two`: each to
/// its own (`tune.rs`).
pub const CPUS_ENV: &str = "KAFKA_MATRIX_BENCH_CPUS";

/// Pings per measurement in the warm-ping group: one ping is ~20 µs, near
/// the clock's and the scheduler's grain; 16 make a measurement of a few
/// hundred µs, like the connect groups'.
const PINGS: u32 = 16;

/// The sampling of this run. Without `--bench` (`cargo test --all-targets`
/// runs the bench once as a test) one round, nothing written.
pub fn settings(measuring: bool) -> Settings {
    let profile = if measuring {
        std::env::var(PROFILE_ENV)
            .ok()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "full".to_owned())
    } else {
        "test".to_owned()
    };
    let (rounds, warmup_rounds) = match profile.as_str() {
        "full" => (1000, 20),
        "quick" => (150, 10),
        "smoke" => (20, 3),
        "test" => (1, 0),
        other => panic!("{PROFILE_ENV}={other:?}: use full, quick or smoke"),
    };
    let rounds = match std::env::var(ROUNDS_ENV) {
        Ok(n) if measuring && !n.trim().is_empty() => n
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("{ROUNDS_ENV}={n:?}: a number of rounds > 0")),
        _ => rounds,
    };
    Settings {
        profile,
        rounds,
        warmup_rounds,
        pings_per_measurement: PINGS,
        per_round: bench_schema::run::PER_ROUND.to_owned(),
    }
}

/// `$CARGO_TARGET_DIR/kafka-matrix/bench` (else `target/…`): run.json, the
/// peers' and tansu's logs.
pub fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("kafka-matrix").join("bench")
}

/// Whether `name=1`.
pub fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// Whether `name=0`.
pub fn off(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "0")
}
