//! Bring your own client: `kafka-matrix matrix --client-cmd '...'` runs a
//! real client that this project did not write against each release's
//! broker and reports exit status, duration and output per cell.
//!
//! Peers: `kcat` (Debian) and kafka-python (`tests/interop/kafka_python_metadata.py`),
//! installed by `bash scripts/install-interop-deps.sh`. A missing peer fails
//! the test when `CI` is set or `KAFKA_MATRIX_REQUIRE_INTEROP=1`; otherwise it
//! prints a SKIPPED banner and checks nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kafka-matrix");

fn peer_or_skip(what: &str, probe: &mut Command) -> bool {
    if probe.output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    let required = std::env::var("CI").is_ok_and(|v| !v.is_empty())
        || std::env::var("KAFKA_MATRIX_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let hint = "install with `bash scripts/install-interop-deps.sh`";
    assert!(!required, "{what} is required here (CI) but missing; {hint}");
    let bar = "!".repeat(100);
    eprintln!("\n{bar}\n!!! SKIPPED: {what} not found; {hint}.\n!!! This test checked NOTHING.\n{bar}\n");
    false
}

fn out_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kafka-matrix-client-cmd-{name}-{}", std::process::id()))
}

fn matrix(dir: &Path, args: &[&str]) -> (Output, Value) {
    let out = Command::new(BIN)
        .arg("matrix")
        .args(args)
        .arg("--out")
        .arg(dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("KAFKA_VERSIONS")
        .env_remove("KAFKA_MATRIX_BACKEND")
        .output()
        .expect("run matrix");
    let json = std::fs::read_to_string(dir.join("report.json"))
        .map(|s| serde_json::from_str(&s).expect("report.json is JSON"))
        .unwrap_or(Value::Null);
    (out, json)
}

fn assert_succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cells_of(json: &Value) -> &Vec<Value> {
    json["cells"].as_array().expect("cells")
}

#[test]
fn kcat_reads_metadata_from_every_release_as_a_client_command() {
    if !peer_or_skip("kcat", Command::new("kcat").arg("-V")) {
        return;
    }
    let dir = out_dir("kcat");
    let (out, json) = matrix(
        &dir,
        &["--scenarios", "command", "--client-cmd", "kcat -b {bootstrap} -L -m 5"],
    );
    assert_succeeded(&out);
    let cells = cells_of(&json);
    assert_eq!(cells.len(), 35, "every release × mode, one command cell each");
    for c in cells {
        let cmd = &c["command"];
        assert_eq!(cmd["exit_code"], 0, "{c}");
        assert!(
            cmd["command"]
                .as_str()
                .is_some_and(|s| s.starts_with("kcat -b 127.0.0.1:")),
            "{c}"
        );
        // kcat lists the broker and the probe topic the emulator seeds.
        let listed = cmd["stdout"].as_str().unwrap_or("");
        assert!(
            listed.contains("topic \"kafka-matrix-probe\" with 3 partitions"),
            "{listed}"
        );
        let file = dir.join(c["transcript_file"].as_str().expect("transcript file"));
        let text = std::fs::read_to_string(&file).expect("transcript written");
        assert!(text.contains("command: kcat -b ") && text.contains("exit: 0"), "{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kafka_python_as_a_client_command() {
    if !peer_or_skip(
        "python3 with kafka-python",
        Command::new("python3").args(["-c", "import kafka"]),
    ) {
        return;
    }
    let dir = out_dir("kafka-python");
    let (out, json) = matrix(
        &dir,
        &[
            "--releases",
            "2.0,2.4,3.8,4.0",
            "--scenarios",
            "command",
            "--client-cmd",
            "python3 tests/interop/kafka_python_metadata.py {bootstrap} kafka-matrix-probe 3",
        ],
    );
    assert_succeeded(&out);
    let cells = cells_of(&json);
    assert_eq!(cells.len(), 5, "2.0 zk, 2.4 zk, 3.8 zk/kraft, 4.0 kraft");
    for c in cells {
        let line = c["command"]["stdout"].as_str().unwrap_or("").trim().to_owned();
        let reply: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert_eq!(reply["ok"], true, "{reply}");
        assert_eq!(reply["partitions"], serde_json::json!([0, 1, 2]), "{reply}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_or_hanging_client_command_is_reported_as_failing() {
    if !peer_or_skip("kcat", Command::new("kcat").arg("-V")) {
        return;
    }
    let dir = out_dir("failing");
    // kcat pointed at a port nothing listens on: a real client failing.
    let (out, json) = matrix(
        &dir,
        &[
            "--releases",
            "3.8",
            "--modes",
            "zk",
            "--client-cmd",
            "kcat -b {host}:1 -L -m 2",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let cells = cells_of(&json);
    assert_eq!(cells.len(), 3, "ping, metadata, command");
    assert_eq!(cells[0]["passed"], true);
    assert_eq!(cells[1]["passed"], true);
    let failed = &cells[2];
    assert_eq!(failed["passed"], false);
    assert_ne!(failed["command"]["exit_code"], 0);
    let error = failed["error"].as_str().expect("error");
    assert!(
        error.starts_with("`kcat -b 127.0.0.1:1 -L -m 2` exited with status"),
        "{error}"
    );
    assert!(stdout.contains("FAIL 3.8 zk"), "{stdout}");
    assert!(
        stdout.contains("(transcript: transcripts/002-3.8-zk-embedded-command.txt)"),
        "{stdout}"
    );

    // A client that hangs is killed at --client-timeout.
    let (out, json) = matrix(
        &dir,
        &[
            "--releases",
            "4.0",
            "--scenarios",
            "command",
            "--client-cmd",
            "sleep 30",
            "--client-timeout",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let c = &cells_of(&json)[0];
    assert_eq!(c["command"]["timed_out"], true);
    assert!(
        c["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("`sleep 30` was killed after")),
        "{c}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_client_command_arguments_get_one_line() {
    for (args, expected) in [
        (
            vec!["--scenarios", "command"],
            "the command scenario needs --client-cmd",
        ),
        (
            vec!["--scenarios", "ping", "--client-cmd", "true"],
            "--client-cmd is given but --scenarios leaves out `command`",
        ),
        (vec!["--client-cmd", " "], "--client-cmd is empty"),
    ] {
        let out = Command::new(BIN)
            .arg("matrix")
            .args(&args)
            .env_remove("KAFKA_MATRIX_BACKEND")
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// A `--bootstrap` (or `KAFKA_MATRIX_BOOTSTRAP`) entry carrying shell code
/// is refused in one line before any cell runs, and the code never runs.
#[test]
fn an_injected_bootstrap_runs_nothing_and_is_refused_in_one_line() {
    let dir = out_dir("injection");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let evil = "x$(touch INJECTED):9092";
    let from_arg = Command::new(BIN)
        .args(["matrix", "--backend", "external", "--bootstrap", evil])
        .args(["--scenarios", "command", "--client-cmd", "echo {bootstrap} {host}"])
        .arg("--out")
        .arg(dir.join("report"))
        .current_dir(&dir)
        .env_remove("KAFKA_MATRIX_BACKEND")
        .env_remove("KAFKA_MATRIX_BOOTSTRAP")
        .output()
        .expect("run");
    let from_env = Command::new(BIN)
        .args(["matrix", "--backend", "external"])
        .args(["--scenarios", "command", "--client-cmd", "echo {bootstrap} {host}"])
        .arg("--out")
        .arg(dir.join("report"))
        .current_dir(&dir)
        .env_remove("KAFKA_MATRIX_BACKEND")
        .env("KAFKA_MATRIX_BOOTSTRAP", format!("3.8=127.0.0.1:9092,{evil}"))
        .output()
        .expect("run");
    for out in [from_arg, from_env] {
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr,
            "kafka-matrix: --bootstrap (or KAFKA_MATRIX_BOOTSTRAP): \"x$(touch INJECTED):9092\": host \
             \"x$(touch INJECTED)\" is not a DNS name, an IPv4 address or a bracketed IPv6 address\n"
        );
        assert!(
            out.stdout.is_empty(),
            "no cell ran: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert!(!dir.join("INJECTED").exists(), "the injected command ran");
    assert!(!dir.join("report").exists(), "nothing was set up");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Placeholder values are shell-quoted: a value with a quote, spaces and
/// `$(...)` arrives as one argument, and nothing in it runs.
#[test]
fn a_placeholder_value_with_a_quote_is_one_argument() {
    use kafka_matrix::matrix::command::{fill, run};
    let marker = out_dir("quoted-marker");
    let _ = std::fs::remove_file(&marker);
    let host = format!("it's a $(touch {})", marker.display());
    let line = fill(
        "printf '<%s>\\n' {host} {port} {release} {mode}",
        &format!("{host}:9092"),
        "3.8",
        "",
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let got = rt
        .block_on(run(line, std::time::Duration::from_secs(30)))
        .expect("runs");
    assert!(got.passed(), "{got:?}");
    assert_eq!(got.stdout, format!("<{host}>\n<9092>\n<3.8>\n<>\n"));
    assert!(!marker.exists(), "the value ran as shell code");
}

/// `VmHWM` (peak resident memory) of this process, bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib * 1024
}

/// A command printing 200 MB: every byte reaches the output file, the
/// process's peak memory hardly moves (only tails are kept in memory).
#[test]
fn output_is_streamed_to_a_file_and_memory_stays_bounded() {
    const BYTES: u64 = 200_000_000;
    let dir = out_dir("streamed");
    let file = dir.join("transcripts/000-big.out");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let before = peak_rss();
    let got = rt
        .block_on(kafka_matrix::matrix::command::run_to(
            format!("yes | head -c {BYTES}; echo done >&2"),
            std::time::Duration::from_secs(300),
            Some(&file),
        ))
        .expect("runs");
    let grown = peak_rss().saturating_sub(before);
    eprintln!(
        "{BYTES} bytes of output: peak RSS {} MiB before, grew by {} KiB",
        before >> 20,
        grown >> 10
    );
    assert!(got.passed(), "{got:?}");
    assert_eq!((got.stdout_bytes, got.stderr_bytes), (BYTES, 5));
    assert_eq!(std::fs::metadata(&file).map(|m| m.len()).ok(), Some(BYTES + 5));
    assert_eq!(got.stdout.len(), kafka_matrix::matrix::command::OUTPUT_TAIL_BYTES);
    assert!(got.stdout.ends_with("y\ny\n") && got.stderr == "done\n", "{got:?}");
    assert!(
        grown < 32 << 20,
        "peak RSS grew by {} MiB for {} MB of output",
        grown >> 20,
        BYTES / 1_000_000
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Live processes whose command line is exactly `sleep <arg>` (a zombie has
/// an empty command line and does not count).
fn sleeps(arg: &str) -> Vec<u32> {
    let wanted = format!("sleep\0{arg}\0");
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted.as_bytes()))
        .collect()
}

/// Waits up to 30 s for `sleeps(arg)` to number `n`; returns what it found last.
fn wait_for_sleeps(arg: &str, n: usize) -> Vec<u32> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let found = sleeps(arg);
        if found.len() == n || std::time::Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A marker `sleep` argument no other test or process uses.
fn marker(n: u32) -> String {
    format!("300.{}{n:02}", std::process::id())
}

/// At the timeout the command's whole process group is killed (a
/// background `sleep` too), and what it printed before is kept.
#[test]
fn a_timed_out_command_leaves_no_process_and_keeps_its_output() {
    let m = marker(0);
    let dir = out_dir("timeout");
    let file = dir.join("out");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let got = rt
        .block_on(kafka_matrix::matrix::command::run_to(
            format!("echo started; echo on stderr >&2; sh -c 'sleep {m} & sleep {m}'"),
            std::time::Duration::from_secs(1),
            Some(&file),
        ))
        .expect("runs");
    assert!(got.timed_out && !got.passed(), "{got:?}");
    assert_eq!((got.stdout.as_str(), got.stderr.as_str()), ("started\n", "on stderr\n"));
    let kept = std::fs::read_to_string(&file).expect("output file");
    assert!(kept.contains("started\n") && kept.contains("on stderr\n"), "{kept:?}");
    let left = wait_for_sleeps(&m, 0);
    assert!(left.is_empty(), "`sleep {m}` outlived its command: pids {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether this process ignores SIGINT (as a background job of a
/// non-interactive shell does, and its children with it).
fn sigint_ignored() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (2 - 1)) != 0)
}

/// A matrix run that is stopped (SIGTERM, Ctrl-C's SIGINT, even SIGKILL)
/// takes its running client commands' process groups with it.
#[test]
fn stopping_the_matrix_run_kills_its_client_commands() {
    let mut signals = vec!["TERM", "KILL"];
    if sigint_ignored() {
        eprintln!("NOTE: this test process ignores SIGINT (a background job?), so the SIGINT case is left out");
    } else {
        signals.push("INT");
    }
    for (n, signal) in signals.into_iter().enumerate() {
        let m = marker(10 + u32::try_from(n).unwrap_or(0));
        let dir = out_dir(&format!("stopped-{signal}"));
        let mut child = Command::new(BIN)
            .args(["matrix", "--releases", "3.8", "--modes", "zk", "--scenarios", "command"])
            .args(["--client-cmd", &format!("sleep {m} & sleep {m}")])
            .arg("--out")
            .arg(&dir)
            .env_remove("KAFKA_VERSIONS")
            .env_remove("KAFKA_MATRIX_BACKEND")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn matrix");
        let running = wait_for_sleeps(&m, 2);
        assert_eq!(running.len(), 2, "the client command started: {running:?}");
        let sent = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = child.wait().expect("matrix ended");
        assert!(!status.success(), "SIG{signal}: {status:?}");
        let left = wait_for_sleeps(&m, 0);
        assert!(
            left.is_empty(),
            "SIG{signal}: `sleep {m}` outlived the run: pids {left:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The matrix keeps a command cell's whole output next to its transcript,
/// which points to it.
#[test]
fn a_command_cell_streams_its_output_next_to_its_transcript() {
    let dir = out_dir("output-file");
    let (out, json) = matrix(
        &dir,
        &[
            "--releases",
            "3.8",
            "--modes",
            "zk",
            "--scenarios",
            "command",
            "--client-cmd",
            "seq 1 100000; echo to stderr >&2",
        ],
    );
    assert_succeeded(&out);
    let c = &cells_of(&json)[0];
    let name = "transcripts/000-3.8-zk-embedded-command.out";
    assert_eq!(c["command"]["output_file"], name, "{c}");
    assert_eq!(c["command"]["stdout_bytes"], 588_895, "{c}");
    let all = std::fs::read_to_string(dir.join(name)).expect("output file");
    assert_eq!(all.len(), 588_895 + 10);
    assert!(all.starts_with("1\n2\n3\n") && all.contains("100000\n"));
    let text = std::fs::read_to_string(dir.join(c["transcript_file"].as_str().expect("file"))).expect("transcript");
    assert!(
        text.contains(&format!(
            "output: {name} (all of it: 588895 bytes of stdout and 10 of stderr, in arrival order)"
        )),
        "{text}"
    );
    assert!(
        text.contains("--- stdout (the last 16384 of 588895 bytes) ---"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
