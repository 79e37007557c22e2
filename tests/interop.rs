//! Interop tests: Kafka clients that this project did not write get metadata
//! from the emulator, for every (release, mode) in the catalog.
//!
//! Peers (install both with `bash scripts/install-interop-deps.sh`):
//! - `kcat` (Debian bookworm: kcat 1.7.1 on librdkafka 2.0.2): `kcat -b ADDR -L -J -m 5`.
//!   librdkafka sends ApiVersions v3 first and falls back to v0 on UNSUPPORTED_VERSION.
//! - `kafka-python` (pinned in the install script), through
//!   `tests/interop/kafka_python_metadata.py`: `KafkaConsumer(api_version=None)`
//!   auto-detects the broker release from ApiVersions (v4 first, then the version the
//!   broker's KIP-511 hint names, else v0) and lists topics with Metadata.
//!
//! Each (release, mode) starts its own `kafka-matrix serve --kafka R --mode M
//! --listen 127.0.0.1:0 --topic interop:3` child, which a guard kills on drop
//! (also on panic). Every child process has a deadline, so nothing hangs.
//!
//! One test per client; each runs the 35 pairs on [`WORKERS`] threads and fails
//! once at the end with one line per failing release. On a failure the client
//! is run again with its debug logging (`kcat -d protocol,broker`,
//! `KAFKA_PYTHON_DEBUG=1`) and the tail of that log is part of the message.
//!
//! A missing peer fails the test when `CI` is set (non-empty) or
//! `KAFKA_MATRIX_REQUIRE_INTEROP=1`; otherwise the test prints a loud
//! `SKIPPED` banner on stderr and returns (libtest still shows `ok`).
//! `KAFKA_MATRIX_PYTHON` picks the Python interpreter (default `python3`).
//!
//! What real Kafka would answer differently from the release number, and why,
//! is in `tests/interop/FINDINGS.md`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use kafka_matrix::versions::{releases, Mode, Release};
use serde_json::Value;

/// The topic every emulator serves.
const TOPIC: &str = "interop";
/// Its partition count.
const PARTITIONS: i64 = 3;
/// Deadline for the emulator to print `listening on`.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline for one client run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);
/// (release, mode) pairs run at once per test (the machine has 2 cores; libtest runs the two tests side by side).
const WORKERS: usize = 2;
/// Lines of a debug log kept in a failure message.
const LOG_TAIL_LINES: usize = 60;
/// Characters kept of each log line (kafka-python logs whole ApiVersions tables on one line).
const MAX_LINE_CHARS: usize = 400;

const INSTALL_HINT: &str = "install with `bash scripts/install-interop-deps.sh` \
     (apt-get install -y kcat; python3 -m pip install kafka-python==3.0.12)";

// ---------------------------------------------------------------------------------------------
// Processes with deadlines
// ---------------------------------------------------------------------------------------------

/// What a finished (or killed) child produced.
#[derive(Debug)]
struct Output {
    /// `None` if it was killed at the deadline.
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Output {
    fn describe_status(&self) -> String {
        match self.status {
            Some(s) => s.to_string(),
            None => format!("killed after the {CLIENT_TIMEOUT:?} deadline"),
        }
    }

    fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

fn drain<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = r.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `cmd` with no stdin, killing it at `timeout`.
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("waiting for {shown}: {e}"));
            }
        }
    };
    let join = |h: Option<thread::JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Output {
        status,
        stdout: join(out),
        stderr: join(err),
        elapsed: start.elapsed(),
    })
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    let mut s = String::new();
    if from > 0 {
        s.push_str(&format!("      … {from} earlier lines …\n"));
    }
    for line in &all[from..] {
        s.push_str("      ");
        match line.char_indices().nth(MAX_LINE_CHARS) {
            Some((cut, _)) => {
                s.push_str(&line[..cut]);
                s.push_str(" …");
            }
            None => s.push_str(line),
        }
        s.push('\n');
    }
    s
}

// ---------------------------------------------------------------------------------------------
// The emulator as a child process
// ---------------------------------------------------------------------------------------------

/// A running `kafka-matrix serve`; killed (and reaped) on drop, also during a panic.
struct ServeGuard {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl ServeGuard {
    fn start(release: Release, mode: Mode) -> Result<Self, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kafka-matrix"))
            .args(["serve", "--kafka", &release.to_string(), "--mode", mode.as_str()])
            .args(["--listen", "127.0.0.1:0", "--topic", &format!("{TOPIC}:{PARTITIONS}")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start kafka-matrix serve: {e}"))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        let (tx, rx) = mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            thread::spawn(move || forward_lines(pipe, tx));
        }
        // From here on the guard owns the child, so every early return kills it.
        let mut guard = Self {
            child,
            addr: String::new(),
            stderr,
        };
        match rx.recv_timeout(LISTEN_TIMEOUT) {
            Ok(line) => match line.trim().strip_prefix("listening on ") {
                Some(addr) => {
                    guard.addr = addr.to_owned();
                    Ok(guard)
                }
                None => Err(format!("serve printed {line:?} instead of `listening on ADDR`")),
            },
            Err(_) => Err(format!(
                "serve did not print `listening on` within {LISTEN_TIMEOUT:?}; stderr:\n{}",
                tail(&guard.stderr_text(), 20)
            )),
        }
    }

    fn stderr_text(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Sends stdout lines on; keeps draining after the receiver is gone so the child never blocks on a full pipe.
fn forward_lines(pipe: ChildStdout, tx: mpsc::Sender<String>) {
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { break };
        let _ = tx.send(line);
    }
}

impl Drop for ServeGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Peers: presence, versions
// ---------------------------------------------------------------------------------------------

fn python() -> String {
    std::env::var("KAFKA_MATRIX_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/kafka_python_metadata.py")
}

fn interop_required() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    let forced = std::env::var("KAFKA_MATRIX_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    ci || forced
}

/// `Some(version text)` if the peer runs; otherwise fails (CI) or prints a SKIPPED banner and gives `None`.
fn require_peer(what: &str, probe: Command) -> Option<String> {
    let problem = match run_with_timeout(probe, Duration::from_secs(20)) {
        Ok(out) if out.success() => return Some(out.stdout.trim().to_owned()),
        Ok(out) => format!(
            "{what} probe exited {}: {}",
            out.describe_status(),
            out.stderr.trim().lines().last().unwrap_or("")
        ),
        Err(e) => e,
    };
    if interop_required() {
        panic!(
            "interop peer missing: {problem}\n  {what} is required because CI or KAFKA_MATRIX_REQUIRE_INTEROP=1 \
             is set; {INSTALL_HINT}"
        );
    }
    let bar = "!".repeat(100);
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests, and this must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n{bar}\n!!! SKIPPED: {what} not found ({problem});\n!!! {INSTALL_HINT}.\n!!! This test reports `ok` \
         but checked NOTHING. Set KAFKA_MATRIX_REQUIRE_INTEROP=1 to make this a failure.\n{bar}\n"
    );
    None
}

fn kcat_version() -> Option<String> {
    let mut probe = Command::new("kcat");
    probe.arg("-V");
    let text = require_peer("kcat", probe)?;
    // "Version 1.7.1 (JSON, …, librdkafka 2.0.2 builtin.features=…)"
    let line = text.lines().find(|l| l.starts_with("Version")).unwrap_or(&text);
    Some(line.split(" builtin").next().unwrap_or(line).to_owned())
}

fn kafka_python_version() -> Option<String> {
    let mut probe = Command::new(python());
    probe.args(["-c", "import kafka; print(kafka.__version__)"]);
    require_peer("python3 with kafka-python", probe)
}

// ---------------------------------------------------------------------------------------------
// The runs
// ---------------------------------------------------------------------------------------------

/// Every (release, mode) in the catalog, oldest first.
fn pairs() -> Vec<(Release, Mode)> {
    releases()
        .iter()
        .flat_map(|info| info.modes.iter().map(move |&mode| (info.release, mode)))
        .collect()
}

/// Runs `check` on every pair with bounded parallelism; panics with one line per failing pair.
fn run_matrix(client: &str, check: fn(Release, Mode) -> Result<String, String>) {
    let all = pairs();
    assert!(
        all.len() >= 35,
        "the catalog has only {} (release, mode) pairs",
        all.len()
    );
    let queue = Mutex::new(all.iter().copied().enumerate().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some((i, (release, mode))) = next else { break };
                let t = Instant::now();
                let outcome = check(release, mode);
                let mut done = results.lock().unwrap_or_else(|p| p.into_inner());
                done.push((i, release, mode, t.elapsed(), outcome));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|r| r.0);
    let mut failures = Vec::new();
    for (_, release, mode, took, outcome) in &results {
        match outcome {
            Ok(summary) => eprintln!(
                "[{client}] {release} {mode:<5} ok   {:>5} ms  {summary}",
                took.as_millis()
            ),
            Err(why) => {
                eprintln!("[{client}] {release} {mode:<5} FAIL {:>5} ms", took.as_millis());
                failures.push(format!("{client} vs Kafka {release} ({mode}): {why}"));
            }
        }
    }
    eprintln!(
        "[{client}] {} pairs, {} failed, {:.1} s",
        results.len(),
        failures.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} (release, mode) pairs failed:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

fn kcat_command(addr: &str, debug: bool) -> Command {
    let mut cmd = Command::new("kcat");
    cmd.args(["-b", addr, "-L", "-J", "-m", "5"]);
    if debug {
        cmd.args(["-d", "protocol,broker"]);
    }
    cmd
}

fn python_command(addr: &str, debug: bool) -> Command {
    let mut cmd = Command::new(python());
    cmd.arg(script()).args([addr, TOPIC, &PARTITIONS.to_string()]);
    if debug {
        cmd.env("KAFKA_PYTHON_DEBUG", "1");
    }
    cmd
}

/// Runs a client against a fresh emulator; on failure re-runs it with debug logging for the message.
fn against_emulator(
    release: Release,
    mode: Mode,
    command: fn(&str, bool) -> Command,
    verify: &dyn Fn(&Output, &str) -> Result<String, String>,
) -> Result<String, String> {
    let serve = ServeGuard::start(release, mode)?;
    let out = run_with_timeout(command(&serve.addr, false), CLIENT_TIMEOUT)?;
    match verify(&out, &serve.addr) {
        Ok(summary) => Ok(summary),
        Err(why) => {
            let debug = run_with_timeout(command(&serve.addr, true), CLIENT_TIMEOUT)
                .map(|d| {
                    format!(
                        "debug re-run ({}):\n{}",
                        d.describe_status(),
                        tail(&d.stderr, LOG_TAIL_LINES)
                    )
                })
                .unwrap_or_else(|e| e);
            Err(format!(
                "{why}\n    exit: {}\n    stdout: {}\n    stderr:\n{}    emulator stderr:\n{}    {debug}",
                out.describe_status(),
                out.stdout.trim(),
                tail(&out.stderr, 15),
                tail(&serve.stderr_text(), 15),
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// kcat
// ---------------------------------------------------------------------------------------------

fn verify_kcat(out: &Output, addr: &str) -> Result<String, String> {
    if !out.success() {
        return Err(format!("kcat -L failed ({})", out.describe_status()));
    }
    let meta: Value =
        serde_json::from_str(out.stdout.trim()).map_err(|e| format!("kcat -J output is not JSON: {e}"))?;
    let brokers = meta["brokers"].as_array().ok_or("no `brokers` array in kcat's JSON")?;
    let broker_ok = brokers.iter().any(|b| b["id"] == 1 && b["name"] == addr);
    if brokers.len() != 1 || !broker_ok {
        return Err(format!(
            "want exactly broker {{id 1, name {addr}}}, kcat saw {brokers:?}"
        ));
    }
    let topics = meta["topics"].as_array().ok_or("no `topics` array in kcat's JSON")?;
    let topic = topics
        .iter()
        .find(|t| t["topic"] == TOPIC)
        .ok_or_else(|| format!("topic {TOPIC:?} not in kcat's metadata: {topics:?}"))?;
    if let Some(err) = topic.get("error") {
        return Err(format!("topic {TOPIC:?} has error {err}"));
    }
    let parts = topic["partitions"]
        .as_array()
        .ok_or("topic has no `partitions` array")?;
    let mut ids: Vec<i64> = parts.iter().filter_map(|p| p["partition"].as_i64()).collect();
    ids.sort_unstable();
    if ids != (0..PARTITIONS).collect::<Vec<_>>() {
        return Err(format!(
            "topic {TOPIC:?}: want partitions 0..{PARTITIONS}, kcat saw {ids:?}"
        ));
    }
    for p in parts {
        if p["leader"] != 1 || p.get("error").is_some() {
            return Err(format!("partition {p} should have leader 1 and no error"));
        }
    }
    Ok(format!("topics={} partitions={PARTITIONS} broker={addr}", topics.len()))
}

fn kcat_check(release: Release, mode: Mode) -> Result<String, String> {
    against_emulator(release, mode, kcat_command, &verify_kcat)
}

#[test]
fn kcat_reads_metadata_from_every_release() {
    let Some(version) = kcat_version() else { return };
    eprintln!("[kcat] {version}");
    run_matrix("kcat", kcat_check);
}

// ---------------------------------------------------------------------------------------------
// kafka-python
// ---------------------------------------------------------------------------------------------

/// The broker version kafka-python's auto-detection should report for a real broker of `release`/`mode`.
///
/// kafka-python infers the release from ApiVersions with one probe per release
/// (`infer_broker_version_from_api_versions`). Its 3.4 probe is LeaderAndIsr v7,
/// an API a KRaft broker never advertises (LeaderAndIsrRequest.json 3.4.0:
/// `"listeners": ["zkBroker"]`), so a real 3.4 KRaft broker is detected as 3.3.
/// See tests/interop/FINDINGS.md. Its newest probe is 4.3's (DescribeLogDirs
/// v5, `kafka/protocol/broker_version_data.py` of kafka-python 3.0.12), so a
/// newer broker, 4.4 included, is detected as 4.3: the client's limit, which a
/// real 4.4 broker meets the same way.
fn expected_kafka_python_version(release: Release, mode: Mode) -> (u8, u8) {
    const NEWEST_KNOWN: (u8, u8) = (4, 3);
    if mode == Mode::Kraft && release == Release::new(3, 4) {
        return (3, 3);
    }
    (release.major, release.minor).min(NEWEST_KNOWN)
}

fn verify_kafka_python(out: &Output, addr: &str, want_version: (u8, u8)) -> Result<String, String> {
    let line = out.stdout.lines().last().unwrap_or("").trim();
    let seen: Value = serde_json::from_str(line)
        .map_err(|e| format!("script printed no JSON line ({e}); exit {}", out.describe_status()))?;
    if !out.success() || seen["ok"] != true {
        let err = seen["error"].as_str().unwrap_or("(no error given)");
        return Err(format!("kafka-python failed ({}): {err}", out.describe_status()));
    }
    let detected: Vec<u8> = seen["broker_version"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|n| n.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect()
        })
        .unwrap_or_default();
    if detected.get(..2) != Some(&[want_version.0, want_version.1][..]) {
        return Err(format!(
            "kafka-python detected broker version {detected:?}, want {}.{}",
            want_version.0, want_version.1
        ));
    }
    let brokers = seen["brokers"].as_array().cloned().unwrap_or_default();
    let broker_ok = brokers.iter().any(|b| {
        b["node_id"] == 1
            && b["port"]
                .as_u64()
                .map(|p| format!("{}:{p}", b["host"].as_str().unwrap_or("")))
                == Some(addr.to_owned())
    });
    if brokers.len() != 1 || !broker_ok {
        return Err(format!(
            "want exactly broker {{node_id 1 at {addr}}}, kafka-python saw {brokers:?}"
        ));
    }
    Ok(format!(
        "detected={} partitions={} took {} ms",
        detected.iter().map(u8::to_string).collect::<Vec<_>>().join("."),
        seen["partitions"],
        out.elapsed.as_millis()
    ))
}

fn kafka_python_check(release: Release, mode: Mode) -> Result<String, String> {
    let want = expected_kafka_python_version(release, mode);
    against_emulator(release, mode, python_command, &|out, addr| {
        verify_kafka_python(out, addr, want)
    })
}

#[test]
fn kafka_python_reads_metadata_from_every_release() {
    let Some(version) = kafka_python_version() else { return };
    eprintln!("[kafka-python] {version}");
    run_matrix("kafka-python", kafka_python_check);
}
