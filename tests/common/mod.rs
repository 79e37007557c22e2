//! Shared by the test binaries that need Docker: the engine check with its
//! loud skip (or failure under `KAFKA_MATRIX_REQUIRE_DOCKER=1`), and the
//! static emulator binary the local images are built from.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Whether a missing Docker engine must fail the test (`.ci/run` sets this
/// wherever `docker info` works).
pub fn docker_required() -> bool {
    std::env::var("KAFKA_MATRIX_REQUIRE_DOCKER").is_ok_and(|v| v == "1" || v == "true")
}

/// `true` if the Docker engine answers; otherwise fails (required) or prints
/// a SKIPPED banner naming what is missing and returns `false`.
pub fn docker_or_skip(test: &str) -> bool {
    let out = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output();
    let problem = match out {
        Ok(o) if o.status.success() => return true,
        Ok(o) => String::from_utf8_lossy(&o.stderr)
            .lines()
            .last()
            .unwrap_or("")
            .to_owned(),
        Err(e) => format!("cannot run `docker`: {e}"),
    };
    if docker_required() {
        panic!("{test}: Docker is required (KAFKA_MATRIX_REQUIRE_DOCKER=1) but `docker info` failed: {problem}");
    }
    let bar = "!".repeat(100);
    eprintln!(
        "\n{bar}\n!!! SKIPPED {test}: no Docker engine ({problem}).\n!!! Start Docker (or set DOCKER_HOST); \
         this test reports `ok` but checked NOTHING.\n!!! Set KAFKA_MATRIX_REQUIRE_DOCKER=1 to make this a failure.\n{bar}\n"
    );
    false
}

/// Builds (once per test binary; a no-op when up to date) the static
/// emulator binary that the `kafka-matrix/emulated-kafka` images copy, and
/// returns its path. A failed build fails the test.
pub fn static_emulator() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            let out = Command::new(env!("CARGO"))
                .current_dir(&root)
                .env("RUSTFLAGS", "-C target-feature=+crt-static")
                .args([
                    "build",
                    "--release",
                    "--no-default-features",
                    "--target",
                    "x86_64-unknown-linux-gnu",
                    "--target-dir",
                    "target/static",
                    "--bin",
                    "kafka-matrix",
                ])
                .output()
                .expect("run cargo");
            assert!(
                out.status.success(),
                "building the static emulator failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            root.join(kafka_matrix::backend::container::local::STATIC_BINARY)
        })
        .clone()
}

/// How many containers carry the run label `run`.
pub fn containers_labelled(run: &str) -> usize {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=org.kafka-matrix.run={run}")])
        .output()
        .expect("docker ps");
    assert!(out.status.success(), "docker ps failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}
