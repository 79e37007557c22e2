//! `kafka-matrix matrix --client NAME|all|list`: ready-made clients from a
//! corpus directory (`clients/<name>/run`), each a command cell, and the
//! client × release grid in the report.
//!
//! These tests use a small corpus made here (shell clients with known
//! behaviour), so they check the mechanism, not any real client; the real
//! corpus runs in `just interop-corpus` (part of `just test`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kafka-matrix");

/// A corpus: `connects` opens a TCP connection to the bootstrap address and
/// passes; `fails` always fails with one line; `absent` is not installed.
fn corpus(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kafka-matrix-corpus-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clients = [
        (
            "connects",
            "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'connects 1.0 (python socket)'; exit 0; }\n\
             exec python3 -c 'import socket,sys; h,p=sys.argv[1].rsplit(\":\",1); socket.create_connection((h,int(p)),5); print(\"ok\")' \"$1\"\n",
        ),
        (
            "fails",
            "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'fails 0.1'; exit 0; }\necho \"cannot list $1\" >&2\nexit 1\n",
        ),
        (
            "absent",
            "#!/bin/sh\necho 'not installed: pip install absent' >&2\nexit 3\n",
        ),
    ];
    for (client, script) in clients {
        std::fs::create_dir_all(dir.join(client)).expect("mkdir");
        let run = dir.join(client).join("run");
        std::fs::write(&run, script).expect("write run");
        assert!(Command::new("chmod")
            .arg("+x")
            .arg(&run)
            .status()
            .expect("chmod")
            .success());
    }
    std::fs::write(dir.join("README.md"), "test corpus\n").expect("readme");
    dir
}

fn matrix(corpus: &Path, out: &Path, args: &[&str]) -> (Output, Value) {
    let output = Command::new(BIN)
        .arg("matrix")
        .args(args)
        .arg("--out")
        .arg(out)
        .env("KAFKA_MATRIX_CLIENTS_DIR", corpus)
        .env_remove("KAFKA_VERSIONS")
        .env_remove("KAFKA_MATRIX_BACKEND")
        .env_remove("CI")
        .env_remove("KAFKA_MATRIX_REQUIRE_CLIENTS")
        .output()
        .expect("run matrix");
    let json = std::fs::read_to_string(out.join("report.json"))
        .map(|s| serde_json::from_str(&s).expect("report.json is JSON"))
        .unwrap_or(Value::Null);
    (output, json)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn list_shows_each_client_and_whether_it_is_installed() {
    let dir = corpus("list");
    let (out, _) = matrix(&dir, &dir.join("unused"), &["--client", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 clients in"), "{stdout}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("absent").contains("MISSING") && line("absent").contains("pip install absent"),
        "{stdout}"
    );
    assert!(
        line("connects").contains("installed") && line("connects").contains("connects 1.0"),
        "{stdout}"
    );
}

#[test]
fn named_clients_make_a_grid_with_each_cell_and_its_transcript() {
    let dir = corpus("grid");
    let out_dir = dir.join("report");
    let (out, json) = matrix(&dir, &out_dir, &["--client", "connects,fails", "--releases", "2.0,3.8"]);
    // `fails` fails every cell, so the run fails.
    assert!(!out.status.success(), "{}", text(&out));
    let cells = json["cells"].as_array().expect("cells");
    // 2.0 zk, 3.8 zk, 3.8 kraft × 2 clients, command only.
    assert_eq!(cells.len(), 6, "{json:#}");
    for c in cells {
        assert_eq!(c["scenario"], "command", "{c:#}");
        let passed = c["passed"].as_bool().expect("passed");
        assert_eq!(passed, c["client"] == "connects", "{c:#}");
    }
    let md = std::fs::read_to_string(out_dir.join("report.md")).expect("report.md");
    assert!(md.contains("## Compatibility grid"), "{md}");
    let row = |name: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        row("connects"),
        "| connects | connects 1.0 (python socket) | 3/3 | ✓ | ✓ | ✓ |",
        "{md}"
    );
    assert!(
        row("fails").starts_with("| fails | fails 0.1 | 0/3 | [✗](transcripts/"),
        "{md}"
    );
    let failing = cells.iter().find(|c| c["client"] == "fails").expect("a fails cell");
    let transcript =
        std::fs::read_to_string(out_dir.join(failing["transcript_file"].as_str().expect("file"))).expect("transcript");
    assert!(transcript.contains("cannot list 127.0.0.1:"), "{transcript}");
    assert_eq!(json["clients"].as_array().map(Vec::len), Some(2), "{json:#}");
}

#[test]
fn a_named_client_that_is_missing_or_unknown_is_one_line_and_runs_nothing() {
    let dir = corpus("missing");
    for (arg, want) in [
        ("absent", "client absent cannot run: not installed: pip install absent"),
        (
            "nope",
            "no client \"nope\" in the corpus; known: absent, connects, fails",
        ),
    ] {
        let out_dir = dir.join(arg);
        let (out, json) = matrix(&dir, &out_dir, &["--client", arg, "--releases", "3.8"]);
        assert!(!out.status.success(), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert_eq!(json, Value::Null, "no report written");
    }
}

#[test]
fn all_skips_a_missing_client_loudly_but_ci_fails_on_it() {
    let dir = corpus("all");
    let out_dir = dir.join("report");
    let (out, json) = matrix(
        &dir,
        &out_dir,
        &["--client", "all", "--releases", "3.8", "--modes", "zk"],
    );
    let all = text(&out);
    assert!(all.contains("SKIPPED client absent cannot run"), "{all}");
    let not_run = json["not_run"].as_array().expect("not_run");
    assert_eq!(not_run.len(), 1, "{json:#}");
    assert_eq!(not_run[0]["what"], "client absent");

    let under_ci = Command::new(BIN)
        .args(["matrix", "--client", "all", "--releases", "3.8", "--out"])
        .arg(dir.join("ci"))
        .env("KAFKA_MATRIX_CLIENTS_DIR", &dir)
        .env("CI", "true")
        .output()
        .expect("run matrix");
    assert!(!under_ci.status.success());
    assert!(
        String::from_utf8_lossy(&under_ci.stderr).contains("client absent cannot run"),
        "{}",
        text(&under_ci)
    );
}

/// A client's `expect` file: where it fails on purpose the cell passes
/// (XFAIL, the client's own error kept), where it passes instead the cell
/// fails (XPASS), and every other cell is judged as usual.
#[test]
fn expect_rules_turn_intended_failures_into_passes_and_unexpected_passes_into_failures() {
    let dir = corpus("expect");
    // `fails` is said to fail on 2.0 (it does); `connects` on 3.8 zk (it does not).
    std::fs::write(
        dir.join("fails").join("expect"),
        "# why\nfail 2.0: it cannot list (#1)\n",
    )
    .expect("expect");
    std::fs::write(dir.join("connects").join("expect"), "fail 3.8 zk: said to fail\n").expect("expect");
    let out_dir = dir.join("report");
    let (out, json) = matrix(&dir, &out_dir, &["--client", "connects,fails", "--releases", "2.0,3.8"]);
    assert!(!out.status.success(), "{}", text(&out));
    let verdict = |client: &str, release: &str, mode: &str| {
        let c = json["cells"]
            .as_array()
            .expect("cells")
            .iter()
            .find(|c| c["client"] == client && c["target"]["release"] == release && c["target"]["mode"] == mode)
            .unwrap_or_else(|| panic!("no cell {client} {release} {mode}: {json:#}"))
            .clone();
        (
            c["passed"].as_bool().expect("passed"),
            c["expected_failure"].clone(),
            c["error"].clone(),
        )
    };
    let (passed, expected, error) = verdict("fails", "2.0", "zk");
    assert!(passed, "an intended failure passes the cell");
    assert_eq!(expected, "it cannot list (#1)");
    assert!(error.as_str().is_some_and(|e| e.contains("cannot list")), "{error}");
    let (passed, expected, error) = verdict("connects", "3.8", "zk");
    assert!(!passed, "an unexpected pass fails the cell");
    assert_eq!(expected, "said to fail");
    assert_eq!(
        error,
        "passed, but clients/connects/expect says it fails here: said to fail"
    );
    assert!(verdict("connects", "3.8", "kraft").0, "the rule names zk only");
    assert!(!verdict("fails", "3.8", "zk").0, "no rule: a failure fails");
    assert_eq!(json["expected_failures"], 1, "{json:#}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("XFAIL 2.0 zk") && stdout.contains("XPASS 3.8 zk"),
        "{stdout}"
    );
    let md = std::fs::read_to_string(out_dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("[xfail](transcripts/") && md.contains("[XPASS](transcripts/"),
        "{md}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_malformed_expect_file_stops_the_run_in_one_line() {
    let dir = corpus("bad-expect");
    std::fs::write(dir.join("fails").join("expect"), "fail 2.0 no colon\n").expect("expect");
    let (out, _) = matrix(&dir, &dir.join("report"), &["--client", "fails", "--releases", "2.0"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fails/expect:1: no `:` before the reason") && stderr.trim().lines().count() == 1,
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
