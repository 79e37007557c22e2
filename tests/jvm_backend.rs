//! The JVM backend against real Kafka: `serve --real`, `--kafka-home`, the
//! matrix, and the promise that nothing outlives a run — not on SIGTERM, not
//! when kafka-matrix is SIGKILLed, not when a broker fails to start — with
//! the check shown able to fail (cleanup disabled).
//!
//! Needs a JDK and the jars of 2.0 and 3.8 (`kafka-matrix fetch --releases
//! 2.0,3.8`, or Maven and the network to fetch them). Without them each test
//! says loudly that it checked nothing; under `CI` or
//! `KAFKA_MATRIX_REQUIRE_JVM=1` it fails instead.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kafka_matrix::client::{Client, ClientConfig};
use kafka_matrix::versions::{expected_versions, Mode, Release};

const BIN: &str = env!("CARGO_BIN_EXE_kafka-matrix");

fn required() -> bool {
    ["KAFKA_MATRIX_REQUIRE_JVM", "CI"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| v == "1" || v == "true"))
}

/// Whether real brokers can run here (a JDK, and the jars of 2.0 and 3.8 in
/// the cache or fetchable); otherwise a loud skip, or a failure when required.
fn jvm_or_skip(test: &str) -> bool {
    let out = Command::new(BIN).args(["fetch", "--releases", "2.0,3.8"]).output();
    let java = Command::new("java").arg("-version").output();
    let problem = match (out, java) {
        (Ok(o), Ok(j)) if o.status.success() && j.status.success() => return true,
        (_, Err(e)) => format!("no `java`: {e}"),
        (Ok(o), _) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
        (Err(e), _) => e.to_string(),
    };
    if required() {
        panic!("{test}: real brokers are required (CI / KAFKA_MATRIX_REQUIRE_JVM=1) but cannot run: {problem}");
    }
    let bar = "!".repeat(100);
    eprintln!(
        "\n{bar}\n!!! SKIPPED {test}: no real broker here ({problem}).\n!!! Install a JDK 17 and Maven, then \
         `kafka-matrix fetch --releases 2.0,3.8`; this test reports `ok` but checked NOTHING.\n\
         !!! Set KAFKA_MATRIX_REQUIRE_JVM=1 to make this a failure.\n{bar}\n"
    );
    false
}

/// The JVMs a kafka-matrix process started (each carries
/// `-Dkafka.matrix.owner=<its pid>`), by pid; zombies have no command line.
fn jvms_of(owner: u32) -> Vec<u32> {
    let mark = format!("-Dkafka.matrix.owner={owner}");
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.split(|&b| b == 0).any(|arg| arg == mark.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// The broker directories a kafka-matrix process made.
fn dirs_of(owner: u32) -> Vec<PathBuf> {
    let prefix = format!("kafka-matrix-jvm-{owner}-");
    std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// What `owner` left behind once `within` has passed: JVMs and directories.
fn leftovers(owner: u32, within: Duration) -> (Vec<u32>, Vec<PathBuf>) {
    let deadline = Instant::now() + within;
    loop {
        let (jvms, dirs) = (jvms_of(owner), dirs_of(owner));
        if (jvms.is_empty() && dirs.is_empty()) || Instant::now() > deadline {
            return (jvms, dirs);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .map(|s| s.success());
    assert_eq!(ok.ok(), Some(true), "kill {sig} {pid}");
}

/// `serve --real ARGS…`, up to its `listening on ADDR` line.
fn serve_real(args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--real", "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("kafka-matrix runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("a line");
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("expected `listening on ADDR`, got {line:?}"))
        .trim()
        .to_owned();
    (child, addr)
}

/// Negotiates with `addr` and checks the versions `release`/`mode`'s table implies.
fn answers_as(addr: &str, release: Release, mode: Mode) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (av, md) = rt.block_on(async {
        let mut client = Client::connect(addr, ClientConfig::default()).await.expect("connects");
        let md = client.metadata(None).await.expect("metadata");
        assert!(!md.brokers.is_empty(), "Metadata names a broker");
        (client.versions().api_versions, client.versions().metadata)
    });
    assert_eq!(Some((av, md)), expected_versions(release, mode), "{release} {mode}");
}

/// `matrix --backend jvm` on 3.8 KRaft alone, reporting into `out`.
fn matrix_3_8_kraft(out: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "matrix",
        "--backend",
        "jvm",
        "--releases",
        "3.8",
        "--modes",
        "kraft",
        "--out",
    ])
    .arg(out);
    cmd
}

fn r(s: &str) -> Release {
    s.parse().expect("release")
}

#[test]
fn serve_real_is_the_release_and_sigterm_leaves_nothing() {
    if !jvm_or_skip("serve --real 3.8 kraft, SIGTERM") {
        return;
    }
    let (mut child, addr) = serve_real(&["--kafka", "3.8", "--mode", "kraft"], &[]);
    answers_as(&addr, r("3.8"), Mode::Kraft);
    assert!(!jvms_of(child.id()).is_empty(), "the broker runs as a JVM of ours");
    signal(child.id(), "-TERM");
    let status = child.wait().expect("exits");
    assert!(status.success(), "a clean stop on SIGTERM: {status}");
    let (jvms, dirs) = leftovers(child.id(), Duration::from_secs(10));
    assert!(jvms.is_empty() && dirs.is_empty(), "left behind: {jvms:?} {dirs:?}");
}

#[test]
fn sigkill_of_kafka_matrix_takes_zookeeper_and_the_broker_along() {
    if !jvm_or_skip("serve --real 2.0 zk, SIGKILL") {
        return;
    }
    let (mut child, addr) = serve_real(&["--kafka", "2.0"], &[]);
    answers_as(&addr, r("2.0"), Mode::Zk);
    assert_eq!(jvms_of(child.id()).len(), 2, "ZooKeeper and the broker");
    signal(child.id(), "-KILL");
    let _ = child.wait();
    let (jvms, dirs) = leftovers(child.id(), Duration::from_secs(15));
    assert!(jvms.is_empty() && dirs.is_empty(), "left behind: {jvms:?} {dirs:?}");
}

#[test]
fn with_the_cleanup_disabled_the_same_check_finds_the_orphans() {
    if !jvm_or_skip("serve --real with the cleanup disabled") {
        return;
    }
    let (mut child, _) = serve_real(&["--kafka", "2.0"], &[("KAFKA_MATRIX_UNSAFE_NO_CLEANUP", "1")]);
    let owner = child.id();
    signal(owner, "-KILL");
    let _ = child.wait();
    let (jvms, dirs) = leftovers(owner, Duration::from_secs(3));
    // Clean up what the disabled cleanup left, before asserting.
    for pid in &jvms {
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    for d in &dirs {
        let _ = std::fs::remove_dir_all(d);
    }
    assert_eq!(jvms.len(), 2, "the check sees ZooKeeper and the broker survive");
    assert_eq!(dirs.len(), 1, "and the broker's directory");
}

#[test]
fn a_matrix_killed_mid_run_leaves_nothing_and_a_finished_one_neither() {
    if !jvm_or_skip("matrix --backend jvm, SIGKILL mid-run") {
        return;
    }
    let out = std::env::temp_dir().join(format!("kafka-matrix-jvm-test-report-{}", std::process::id()));
    let mut child = Command::new(BIN)
        .args(["matrix", "--backend", "jvm", "--releases", "2.0,3.8", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while jvms_of(child.id()).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!jvms_of(child.id()).is_empty(), "a broker JVM started");
    signal(child.id(), "-KILL");
    let _ = child.wait();
    let (jvms, dirs) = leftovers(child.id(), Duration::from_secs(15));
    assert!(jvms.is_empty() && dirs.is_empty(), "left behind: {jvms:?} {dirs:?}");

    let finished = matrix_3_8_kraft(&out).output().expect("runs");
    let text = String::from_utf8_lossy(&finished.stdout);
    assert!(finished.status.success(), "{text}");
    assert!(text.contains("2 passed, 0 failed"), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).expect("report.json")).expect("json");
    let cell = &report["cells"][0];
    assert_eq!(cell["broker"], "real_kafka");
    assert_eq!(cell["real_kafka"], true);
    assert!(
        cell["image"]
            .as_str()
            .is_some_and(|i| i.contains("org.apache.kafka:kafka_2.13:3.8.")),
        "{cell}"
    );
    assert!(cell["startup_ms"].as_u64().is_some_and(|ms| ms > 0));
    let log = cell["log_file"].as_str().expect("the broker's log is kept");
    let kept = std::fs::read_to_string(out.join(log)).expect("kept log");
    assert!(kept.contains("Kafka"), "a broker log");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_broker_that_cannot_start_fails_its_cell_in_one_line_with_its_log() {
    if !jvm_or_skip("a broker that cannot start") {
        return;
    }
    let out = std::env::temp_dir().join(format!("kafka-matrix-jvm-test-fail-{}", std::process::id()));
    // A heap too small for the JVM to start: the broker exits at once.
    let child = matrix_3_8_kraft(&out)
        .env("KAFKA_MATRIX_JVM_OPTS", "-Xmx1m")
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    let owner = child.id();
    let run = child.wait_with_output().expect("runs");
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(!run.status.success());
    let fail = text
        .lines()
        .find(|l| l.starts_with("FAIL 3.8 kraft"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        fail.contains("was not ready after") && fail.contains("its log ends:"),
        "{fail}"
    );
    assert!(fail.contains("heap"), "the log's own words: {fail}");
    assert!(text.contains("0 passed, 2 failed"), "{text}");
    let (jvms, dirs) = leftovers(owner, Duration::from_secs(10));
    assert!(jvms.is_empty() && dirs.is_empty(), "left behind: {jvms:?} {dirs:?}");
    let _ = std::fs::remove_dir_all(&out);
}

/// The cache's directory of `version`'s jars.
fn cached_libs(version: &str) -> PathBuf {
    let root = std::env::var_os("KAFKA_MATRIX_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("kafka-matrix")))
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/kafka-matrix"));
    root.join("jvm").join(format!("kafka-{version}")).join("libs")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read").flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

#[test]
fn kafka_home_runs_an_installation_in_the_tarball_layout() {
    if !jvm_or_skip("--kafka-home") {
        return;
    }
    let version = kafka_matrix::versions::release_info(r("3.8"))
        .expect("3.8")
        .latest_patch;
    let home = std::env::temp_dir().join(format!("kafka-matrix-home-{}/kafka_2.13-{version}", std::process::id()));
    copy_dir(&cached_libs(version), &home.join("libs"));
    let spec = format!("3.8={}", home.display());
    let (mut child, addr) = serve_real(&["--kafka", "3.8", "--mode", "zk", "--kafka-home", &spec], &[]);
    answers_as(&addr, r("3.8"), Mode::Zk);
    signal(child.id(), "-TERM");
    assert!(child.wait().expect("exits").success());

    // The wrong release for the directory, and a directory that is not an installation.
    for (spec, says) in [
        (
            format!("3.7={}", home.display()),
            format!("it holds Kafka {version}, not 3.7"),
        ),
        (
            "3.8=/nonexistent".to_owned(),
            "cannot read /nonexistent/libs".to_owned(),
        ),
    ] {
        let release = &spec[..3];
        let out = Command::new(BIN)
            .args(["serve", "--real", "--kafka", release, "--kafka-home", &spec])
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&says), "{err}");
    }
    let _ = std::fs::remove_dir_all(home.parent().expect("parent"));
}

#[test]
fn bad_inputs_to_the_real_backend_are_one_line_errors() {
    // These are refused before any JVM or fetch, so they need neither.
    // Ours are one line; clap's (a flag that needs another) carry its usage.
    for (args, says, ours) in [
        (
            &["serve", "--real", "--kafka", "3.8", "--behave", "close-after=1"][..],
            "--behave is an emulator option",
            true,
        ),
        (
            &["serve", "--real", "--kafka", "4.0", "--mode", "zk"][..],
            "Kafka 4.0 has no zk mode",
            true,
        ),
        (
            &["serve", "--real", "--kafka", "3.8", "--kafka-home", "3.8"][..],
            "is not RELEASE=DIR",
            true,
        ),
        (
            &["matrix", "--backend", "jvm", "--kafka-home", "9.9=/x"][..],
            "9.9",
            true,
        ),
        (&["fetch", "--releases", "1.0"][..], "1.0", true),
        (
            &["serve", "--kafka", "3.8", "--kafka-home", "3.8=/x"][..],
            "--real",
            false,
        ),
    ] {
        let out = Command::new(BIN).args(args).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
        if ours {
            assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
        }
    }
}
