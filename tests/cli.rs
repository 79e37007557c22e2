//! The `kafka-matrix` binary end to end: serve, probe, matrix, and bad input.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kafka-matrix");

/// A `serve` child that is killed on drop, even if the test panics.
struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Served {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).expect("serve printed a line");
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim()
        .to_owned();
    Served { child, addr }
}

#[test]
fn serve_38_answers_v4_api_versions_like_kafka_38_and_keeps_the_connection() {
    let served = serve(&["--kafka", "3.8", "--topic", "orders:3"]);
    let mut s = TcpStream::connect(&served.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    // ApiVersions v4, correlation id 7, header v2, client id "t", body with software name/version.
    let req: &[u8] = &[
        0, 0, 0, 19, 0, 18, 0, 4, 0, 0, 0, 7, 0, 1, b't', 0, 2, b'k', 4, b'1', b'.', b'0', 0,
    ];
    assert_eq!(req.len(), 4 + 19);
    s.write_all(req).expect("write");
    let mut reply = [0u8; 20];
    s.read_exact(&mut reply).expect("a reply");
    assert_eq!(
        reply,
        [0, 0, 0, 16, 0, 0, 0, 7, 0, 0x23, 0, 0, 0, 1, 0, 0x12, 0, 0, 0, 3],
        "size 16, correlation 7, error 35, one entry {{18, 0, 3}}"
    );
    // The connection is still open: ApiVersions v0 on it is answered.
    s.write_all(&[0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 8, 0, 0])
        .expect("write v0");
    let mut size = [0u8; 4];
    s.read_exact(&mut size).expect("v0 reply size");
    let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
    s.read_exact(&mut body).expect("v0 reply");
    assert_eq!(&body[..6], &[0, 0, 0, 8, 0, 0], "correlation 8, error 0");
}

#[test]
fn probe_reports_v3_and_guesses_38() {
    let served = serve(&["--kafka", "3.8", "--topic", "orders:3"]);
    let out = Command::new(BIN)
        .args(["probe", &served.addr, "--json"])
        .output()
        .expect("run probe");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("probe --json is JSON");
    assert_eq!(json["api_versions_version"], 3);
    assert_eq!(json["metadata"]["version"], 12);
    assert!(
        json["guessed"].as_str().is_some_and(|g| g.contains("3.8")),
        "guessed {}",
        json["guessed"]
    );
    assert_eq!(json["metadata"]["topics"][0]["name"], "orders");

    let text = Command::new(BIN)
        .args(["probe", &served.addr])
        .output()
        .expect("run probe");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("ApiVersions: v3 (v4 refused (hint v0-v3) → v3 ok)"),
        "{text}"
    );
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let mut served = serve(&["--kafka", "2.0"]);
    let pid = served.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let (tx, rx) = std::sync::mpsc::channel();
    let mut child = std::mem::replace(
        &mut served.child,
        Command::new("true").spawn().expect("placeholder child"),
    );
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("exited")
        .expect("status");
    assert!(status.success(), "exit status {status:?}");
}

fn fails_with_one_line(args: &[&str], code: i32, expected: &str) {
    let out = Command::new(BIN).args(args).output().expect("run");
    assert_eq!(out.status.code(), Some(code), "{args:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(expected), "{args:?}: stderr {stderr:?}");
    assert!(out.stdout.is_empty(), "nothing on stdout for {args:?}");
}

#[test]
fn bad_input_gets_one_clear_line() {
    fails_with_one_line(
        &["serve", "--kafka", "3.10"],
        2,
        "unknown Kafka release \"3.10\"; known releases: 2.0,",
    );
    fails_with_one_line(
        &["serve", "--kafka", "4.0", "--mode", "zk", "--listen", "127.0.0.1:0"],
        1,
        "kafka-matrix: Kafka 4.0 has no zk mode; it has: kraft\n",
    );
    fails_with_one_line(
        &["serve", "--kafka", "3.8", "--topic", "bad name:3"],
        2,
        "\"bad name\" is not a valid Kafka topic name",
    );
    // A port nothing listens on: bind one, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let out = Command::new(BIN).args(["probe", &addr]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.starts_with(&format!("kafka-matrix: probe {addr} failed: cannot connect to {addr}")));
    fails_with_one_line(&["matrix", "--releases", "3.8..2.0"], 1, "empty release range 3.8..2.0");
}

#[test]
fn matrix_prints_cells_and_writes_the_report() {
    let dir = std::env::temp_dir().join(format!("kafka-matrix-cli-test-{}", std::process::id()));
    let out = Command::new(BIN)
        .args(["matrix", "--releases", "2.3,3.8", "--out"])
        .arg(&dir)
        .env_remove("KAFKA_VERSIONS")
        .env_remove("KAFKA_MATRIX_BACKEND")
        .output()
        .expect("run matrix");
    // 2.3 zk, 3.8 zk, 3.8 kraft × ping, metadata
    let stdout = passed(&out, 6);
    assert!(stdout.contains("6 passed, 0 failed"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("report.json")).expect("JSON");
    assert_eq!(json["cells"].as_array().map(Vec::len), Some(6));
    assert_eq!(json["cells"][0]["real_kafka"], false);
    assert_eq!(json["cells"][0]["broker"], "emulated_in_process");
    assert_eq!(json["cells"][0]["target"]["release"], "2.3");
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("| 3.8 kraft | embedded | emulated (in-process) | - | metadata | v3 | v12 |"),
        "{md}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Asserts a `matrix` run succeeded with `passes` PASS lines; returns its stdout.
fn passed(out: &std::process::Output, passes: usize) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("PASS ")).count(),
        passes,
        "{stdout}"
    );
    stdout
}

/// `matrix` with everything that selects backends cleared from the environment.
fn matrix_cmd(args: &[&str], dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("matrix")
        .args(args)
        .arg("--out")
        .arg(dir)
        .env_remove("KAFKA_VERSIONS")
        .env_remove("KAFKA_MATRIX_BACKEND")
        .env_remove("KAFKA_MATRIX_IMAGE_SOURCE")
        .env_remove("KAFKA_MATRIX_BOOTSTRAP")
        .env_remove("KAFKA_MATRIX_REQUIRE_DOCKER");
    cmd
}

fn report_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("kafka-matrix-cli-{name}-{}", std::process::id()))
}

#[test]
fn container_backend_without_docker_fails_with_one_line() {
    let dir = report_dir("nodocker");
    let out = matrix_cmd(&["--backend", "container", "--releases", "3.8"], &dir)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("kafka-matrix: the container backend needs a Docker engine, and none answers"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn all_backends_without_docker_run_embedded_and_list_the_rest_as_not_run() {
    let dir = report_dir("all-nodocker");
    // No Docker and no Java here, whatever the machine has; and no CI, under
    // which a JVM backend that cannot run is an error.
    let out = matrix_cmd(&["--backend", "all", "--releases", "3.9"], &dir)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("KAFKA_MATRIX_JAVA_HOME", "/nonexistent")
        .env_remove("CI")
        .env_remove("KAFKA_MATRIX_REQUIRE_JVM")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("SKIPPED the container backend: the container backend needs a Docker engine"));
    assert!(stdout.contains("NOT RUN container backend:"), "{stdout}");
    assert!(
        stderr.contains("SKIPPED the jvm backend: no usable Java at /nonexistent/bin/java"),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("report.json")).expect("JSON");
    assert_eq!(
        json["cells"].as_array().map(Vec::len),
        Some(4),
        "3.9 zk/kraft × ping/metadata, embedded"
    );
    let not_run: Vec<&str> = json["not_run"]
        .as_array()
        .expect("not_run")
        .iter()
        .filter_map(|n| n["what"].as_str())
        .collect();
    assert_eq!(not_run, ["container backend", "jvm backend", "external"]);

    // Where Docker is required, the same run is an error.
    let out = matrix_cmd(&["--backend", "all", "--releases", "3.9"], &dir)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("KAFKA_MATRIX_REQUIRE_DOCKER", "1")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn external_backend_runs_against_a_served_broker_and_checks_the_claimed_release() {
    let served = serve(&["--kafka", "3.7", "--mode", "kraft"]);
    let dir = report_dir("external");
    let spec = format!("3.7/kraft={0},{0}", served.addr);
    let out = matrix_cmd(&["--backend", "external", "--bootstrap", &spec], &dir)
        .output()
        .expect("run");
    passed(&out, 4);
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(
        md.contains(&format!(
            "| 3.7 kraft @{} | external | external (unverified) |",
            served.addr
        )),
        "{md}"
    );
    assert!(md.contains("| 3.7 (kraft) |"), "the guess is reported: {md}");

    // Claiming the wrong release fails the cell with the versions that differ.
    let spec = format!("3.9/kraft={}", served.addr);
    let out = matrix_cmd(&["--backend", "external", "--bootstrap", &spec], &dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("negotiated ApiVersions v3 / Metadata v12, but Kafka 3.9 (kraft) implies v4 / v12"),
        "{stdout}"
    );
    // The failing cell points to its wire transcript, which shows the fallback.
    let pointer = "(transcript: transcripts/000-3.9-kraft-";
    assert!(stdout.contains(pointer), "{stdout}");
    let transcripts: Vec<_> = std::fs::read_dir(dir.join("transcripts"))
        .expect("transcripts")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(
        transcripts.len(),
        2,
        "one per cell, earlier runs' removed: {transcripts:?}"
    );
    let first = transcripts
        .iter()
        .find(|p| p.to_string_lossy().contains("/000-"))
        .expect("cell 0's transcript");
    let text = std::fs::read_to_string(first).expect("read");
    assert!(text.contains("— FAIL"), "{text}");
    assert!(text.contains("#1 → ApiVersions v4  corr"), "{text}");
    assert!(text.contains("#1 ← ApiVersions v4  corr"), "{text}");
    assert!(text.contains("#1 → ApiVersions v3  corr"), "{text}");
    fails_with_one_line(
        &["matrix", "--backend", "external"],
        1,
        "--backend external needs --bootstrap",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

mod common;

/// The README's container command: every cell in a container, on locally
/// built images, reported as emulated, tansu beside them, nothing left.
#[test]
fn container_matrix_on_local_images_reports_emulated_images_and_tansu() {
    if !common::docker_or_skip("container matrix CLI") {
        return;
    }
    common::static_emulator();
    let dir = report_dir("container");
    let out = matrix_cmd(
        &[
            "--backend",
            "container",
            "--image-source",
            "local",
            "--releases",
            "2.3,3.8",
        ],
        &dir,
    )
    .current_dir(env!("CARGO_MANIFEST_DIR"))
    .output()
    .expect("run");
    // 2.3 zk, 3.8 zk, 3.8 kraft, tansu × ping, metadata
    passed(&out, 8);
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(
        md.contains(
            "| 3.8 kraft | container | emulated image | kafka-matrix/emulated-kafka:3.8 | metadata | v3 | v12 |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| tansu | container | independent (not Kafka) | kafka-matrix/tansu:"),
        "{md}"
    );
    assert!(!md.contains("| real Kafka |"), "{md}");
    let run = md
        .split("none left behind (run label ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("the report says nothing was left behind: {md}"));
    assert_eq!(common::containers_labelled(run), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The topic error codes of a Metadata v1 answer for `names`, over `s`.
fn metadata_v1_errors(s: &mut TcpStream, corr: i32, names: &[&str]) -> Vec<i16> {
    use kafka_matrix::protocol::messages::MetadataRequest;
    use kafka_matrix::protocol::{api_key, decode_response, encode_request, RequestBody, ResponseBody};
    let req = RequestBody::Metadata(MetadataRequest::for_topics(names.iter().copied()));
    s.write_all(&encode_request(corr, Some("t"), 1, &req).expect("encodes"))
        .expect("write");
    let mut size = [0u8; 4];
    s.read_exact(&mut size).expect("reply size");
    let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
    s.read_exact(&mut body).expect("reply");
    match decode_response(&body, api_key::METADATA, 1).expect("decodes") {
        (_, ResponseBody::Metadata(m)) => m.topics.iter().map(|t| t.error_code).collect(),
        other => panic!("not Metadata: {other:?}"),
    }
}

#[test]
fn serve_auto_creates_topics_unless_told_not_to() {
    // Default (auto.create.topics.enable=true): a 3.8 ZooKeeper broker answers
    // LEADER_NOT_AVAILABLE (5) first, then the topic.
    let served = serve(&["--kafka", "3.8"]);
    let mut s = TcpStream::connect(&served.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    assert_eq!(metadata_v1_errors(&mut s, 1, &["fresh"]), [5]);
    assert_eq!(metadata_v1_errors(&mut s, 2, &["fresh"]), [0]);

    let served = serve(&["--kafka", "3.8", "--auto-create-topics", "false"]);
    let mut s = TcpStream::connect(&served.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    assert_eq!(metadata_v1_errors(&mut s, 1, &["fresh"]), [3]);
    assert_eq!(metadata_v1_errors(&mut s, 2, &["fresh"]), [3]);
}

/// Runs the binary with `args` and asserts it failed with exactly
/// `kafka-matrix: <expected>` on stderr and nothing on stdout.
fn refused(args: &[&str], expected: &str) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("KAFKA_VERSIONS")
        .env_remove("KAFKA_MATRIX_BACKEND")
        .env_remove("KAFKA_MATRIX_BOOTSTRAP")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("kafka-matrix: {expected}\n"),
        "{args:?}"
    );
    assert!(
        out.stdout.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `serve` takes each topic once and advertises only a host a client can
/// use; both refusals are one line naming the bad value.
#[test]
fn serve_refuses_a_repeated_topic_and_a_bad_advertised_host() {
    refused(
        &[
            "serve",
            "--kafka",
            "3.8",
            "--listen",
            "127.0.0.1:0",
            "--topic",
            "a:1",
            "--topic",
            "a:2",
        ],
        "--topic a is given more than once",
    );
    refused(
        &[
            "serve",
            "--kafka",
            "3.8",
            "--listen",
            "127.0.0.1:0",
            "--advertise",
            "bad host:1",
        ],
        "--advertise \"bad host:1\": host \"bad host\" is not a DNS name, an IPv4 address or a bracketed IPv6 address",
    );
    refused(
        &[
            "serve",
            "--kafka",
            "3.8",
            "--listen",
            "127.0.0.1:0",
            "--advertise",
            "kafka:0",
        ],
        "--advertise \"kafka:0\": port \"0\" is not a number 1-65535",
    );
    // A good one is advertised as given.
    let served = serve(&[
        "--kafka",
        "3.8",
        "--advertise",
        "[::1]:19092",
        "--topic",
        "a:1",
        "--topic",
        "b:2",
    ]);
    let out = Command::new(BIN)
        .args(["probe", &served.addr, "--json"])
        .output()
        .expect("probe");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["metadata"]["brokers"][0]["host"], "::1");
    assert_eq!(json["metadata"]["topics"].as_array().map(Vec::len), Some(2));
}

/// An `--out` the report cannot be written to is one line before any cell
/// runs (nothing on stdout: not even "running N cells").
#[test]
fn matrix_checks_out_is_writable_before_running_any_cell() {
    refused(
        &["matrix", "--releases", "3.8", "--out", "/proc/x"],
        "--out /proc/x: cannot write the report there: No such file or directory (os error 2)",
    );
    let file = report_dir("out-is-a-file");
    std::fs::write(&file, "").expect("file");
    let out = file.to_string_lossy().into_owned();
    refused(
        &["matrix", "--releases", "3.8", "--out", &out],
        &format!("--out {out}: cannot write the report there: File exists (os error 17)"),
    );
    let _ = std::fs::remove_file(&file);
}

/// A broker with 1,000 topics: the text is a bounded summary (counts, the
/// first 20 topics, how many more), `--json` has every topic.
#[test]
fn probe_text_summarises_a_big_metadata_reply_and_json_has_it_all() {
    use kafka_matrix::emulator::{Emulator, EmulatorOptions, SeededTopic};
    use kafka_matrix::versions::{Mode, Release};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let topics = (0..1000)
        .map(|i| SeededTopic::new(format!("topic-{i:04}"), 2))
        .collect();
    let emulator = rt
        .block_on(Emulator::start(
            Release::new(4, 3),
            Mode::Kraft,
            EmulatorOptions {
                topics,
                ..EmulatorOptions::default()
            },
        ))
        .expect("emulator");
    let addr = emulator.bootstrap();
    let text = Command::new(BIN).args(["probe", &addr]).output().expect("probe");
    assert!(text.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("\ntopics:      1000\n"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("topic:")).count(), 20, "{text}");
    assert!(text.contains("\n… 980 more (use --json for all)\n"), "{text}");
    assert!(text.contains("\nbrokers:     1\n"), "{text}");
    assert!(
        text.contains("\nAPIs (75):\n"),
        "every API of a real 4.3 is listed: {text}"
    );
    assert!(text.len() < 16 * 1024, "{} bytes of text", text.len());
    let json = Command::new(BIN)
        .args(["probe", &addr, "--json"])
        .output()
        .expect("probe");
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let names = json["metadata"]["topics"].as_array().expect("topics");
    assert_eq!(names.len(), 1000);
    drop(emulator);
}

#[test]
fn serve_behave_close_after_refusal_sends_the_refusal_then_closes() {
    let served = serve(&["--kafka", "3.8", "--behave", "close-after-refusal"]);
    let mut s = TcpStream::connect(&served.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let req: &[u8] = &[
        0, 0, 0, 19, 0, 18, 0, 4, 0, 0, 0, 7, 0, 1, b't', 0, 2, b'k', 4, b'1', b'.', b'0', 0,
    ];
    s.write_all(req).expect("write");
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).expect("reply, then EOF");
    assert_eq!(
        reply,
        [0, 0, 0, 16, 0, 0, 0, 7, 0, 0x23, 0, 0, 0, 1, 0, 0x12, 0, 0, 0, 3],
        "the KIP-511 refusal, then the close"
    );
}

#[test]
fn behaviours_lists_the_catalogue_with_sources() {
    let out = Command::new(BIN)
        .args(["behaviours", "--json"])
        .output()
        .expect("run behaviours");
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let entries = json.as_array().expect("a list");
    assert!(entries.len() >= 8, "{json:#}");
    for e in entries {
        for field in ["name", "wire", "case", "correct", "behave"] {
            assert!(e[field].as_str().is_some_and(|v| !v.is_empty()), "{field} of {e}");
        }
    }
    assert!(entries.iter().any(|e| e["name"] == "close-after-refusal"));
}

/// `diff --list-cases` needs no broker: every pair has at least 150 cases,
/// each named once, each with a reason and frames in hex.
#[test]
fn diff_lists_at_least_150_cases_for_every_pair() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kafka-matrix"))
        .args(["diff", "--list-cases"])
        .env_remove("KAFKA_VERSIONS")
        .output()
        .expect("run diff");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut per_pair: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
    for line in text.lines().filter(|l| !l.starts_with("  > ")) {
        let mut words = line.splitn(3, ' ');
        let pair = format!("{} {}", words.next().unwrap_or(""), words.next().unwrap_or(""));
        let (name, why) = words.next().unwrap_or("").split_once(": ").expect("name: why");
        assert!(!why.is_empty(), "{line}");
        assert!(
            per_pair.entry(pair).or_default().insert(name.to_owned()),
            "case {name} twice: {line}"
        );
    }
    assert_eq!(per_pair.len(), 35, "{:?}", per_pair.keys());
    for (pair, names) in &per_pair {
        assert!(names.len() >= 150, "{pair}: only {} cases", names.len());
    }
    assert!(text
        .lines()
        .filter(|l| l.starts_with("  > "))
        .all(|l| l[4..].bytes().all(|b| b.is_ascii_hexdigit())));
}

#[test]
fn diff_refuses_a_bad_accepted_file_in_one_line() {
    let file = std::env::temp_dir().join(format!("km-accepted-{}.txt", std::process::id()));
    std::fs::write(&file, "accept 3.8 zk metadata-v1-all\n").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kafka-matrix"))
        .args(["diff", "--releases", "3.8", "--accepted"])
        .arg(&file)
        .output()
        .expect("run diff");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":1: no `: ` before the reason") && err.trim().lines().count() == 1,
        "{err}"
    );
    let _ = std::fs::remove_file(&file);
}
