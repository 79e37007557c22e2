//! `kafka-matrix conform`: the verdicts are right, on clients whose
//! behaviour is known.
//!
//! - Our own client (`kafka-matrix probe`) passes the whole catalogue on
//!   every release: no FAIL, and every behaviour exercised somewhere.
//! - `examples/wrong_client.rs`, correct, passes everything; with each
//!   `--bug` it fails exactly the cells its bug shows in, with the reason,
//!   and passes or is N/A on the rest.
//! - kcat (librdkafka 2.0.2, Debian) gets a report card over release ×
//!   behaviour with its known failures (KIP-219 not honoured; tansu's tagged
//!   fields misread). Without kcat the test says SKIPPED loudly; under `CI`
//!   or `KAFKA_MATRIX_REQUIRE_INTEROP=1` it fails instead
//!   (`bash scripts/install-interop-deps.sh` installs it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kafka-matrix");

fn out_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kafka-matrix-conform-{name}-{}", std::process::id()))
}

/// Runs `conform` and returns (exit code, report.json).
fn conform(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(BIN)
        .arg("conform")
        .args(args)
        .arg("--out")
        .arg(dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("KAFKA_VERSIONS")
        .output()
        .expect("run conform");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json = std::fs::read_to_string(dir.join("report.json"))
        .map(|s| serde_json::from_str(&s).expect("report.json is JSON"))
        .unwrap_or_else(|e| panic!("no report.json ({e}); stderr: {stderr}"));
    (out.status.code().unwrap_or(-1), json)
}

/// `(release mode, behaviour) -> (verdict, reason)`.
fn verdicts(json: &Value) -> BTreeMap<(String, String), (String, String)> {
    json["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (
                (format!("{} {}", s("release"), s("mode")), s("behaviour")),
                (s("verdict"), s("reason")),
            )
        })
        .collect()
}

fn failing(json: &Value) -> BTreeSet<(String, String)> {
    verdicts(json)
        .into_iter()
        .filter(|(_, (v, _))| v == "FAIL")
        .map(|(k, _)| k)
        .collect()
}

/// The example client, built if it is not there yet.
fn wrong_client() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", "wrong_client"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo build --example wrong_client");
    assert!(status.success(), "building examples/wrong_client.rs failed");
    Path::new(BIN)
        .parent()
        .expect("target/debug")
        .join("examples")
        .join("wrong_client")
}

#[test]
fn our_client_passes_the_whole_catalogue_on_every_release() {
    let dir = out_dir("ours");
    let cmd = format!("{BIN} probe {{bootstrap}}");
    let (code, json) = conform(
        &dir,
        &[
            "--client-cmd",
            &cmd,
            "--name",
            "kafka-matrix",
            "--jobs",
            "8",
            "--client-timeout",
            "20",
        ],
    );
    let v = verdicts(&json);
    let fails: Vec<_> = v.iter().filter(|(_, (verdict, _))| verdict == "FAIL").collect();
    assert!(fails.is_empty(), "our client failed: {fails:#?}");
    assert_eq!(code, 0);
    assert_eq!(v.len(), 35 * 15, "35 release/mode pairs × 15 behaviours");
    // Every behaviour was exercised (PASS) on some release.
    let passed: BTreeSet<&str> = v
        .iter()
        .filter(|(_, (verdict, _))| verdict == "PASS")
        .map(|((_, b), _)| b.as_str())
        .collect();
    let all: BTreeSet<&str> = v.keys().map(|(_, b)| b.as_str()).collect();
    assert_eq!(passed, all, "behaviours never exercised by our client");
    for f in ["report.md", "report.svg"] {
        let text = std::fs::read_to_string(dir.join(f)).expect(f);
        assert!(text.contains("as-released") && text.contains("kafka-matrix"), "{f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The cells each bug must fail on 2.3 zk, 3.8 zk and 4.0 kraft, and a
/// piece of each reason. Everything else passes or is N/A.
fn expected(bug: &str) -> Vec<(&'static str, &'static str, &'static str)> {
    // On 2.3 the refusal has no hint, on 3.8 it has one; 4.0 takes v4.
    let refusal = |release: &'static str, own: &'static str| {
        vec![
            (release, "as-released", "does not support"),
            (release, own, "does not support"),
            (release, "leaderless-partition", "does not support"),
            (release, "topic-mid-creation", "does not support"),
            (release, "wrong-correlation-id", "does not support"),
            (release, "unreachable-advertised-listener", "does not support"),
            (release, "close-after-refusal", "did not succeed"),
        ]
    };
    match bug {
        // Metadata v13 after reading the refusal as the table.
        "misread-refusal" => [
            refusal("2.3 zk", "empty-refusal"),
            refusal("3.8 zk", "kip511-refusal-hint"),
            // On 2.3 the v3 retry after the reset is refused too.
            vec![("2.3 zk", "reset-on-new-apiversions", "does not support")],
        ]
        .concat(),
        "write-after-close" => vec![
            ("2.3 zk", "close-after-refusal", "after the broker closed it"),
            ("3.8 zk", "close-after-refusal", "after the broker closed it"),
        ],
        // Refused without a hint, then v3 again and again.
        "no-v0-fallback" => vec![
            ("2.3 zk", "as-released", "asked again at v3 on the same connection"),
            ("2.3 zk", "empty-refusal", "asked again at v3 on the same connection"),
            ("2.3 zk", "close-after-refusal", "instead of the hinted one"),
            (
                "2.3 zk",
                "reset-on-new-apiversions",
                "asked again at v3 on the same connection",
            ),
        ],
        "no-reset-fallback" => ["2.3 zk", "3.8 zk", "4.0 kraft"]
            .map(|r| (r, "reset-on-new-apiversions", "never asked at v3 or lower"))
            .to_vec(),
        "ignore-throttle" => ["2.3 zk", "3.8 zk", "4.0 kraft"]
            .map(|r| (r, "throttle", "into the 500 ms throttle"))
            .to_vec(),
        "no-timeout" => ["2.3 zk", "3.8 zk", "4.0 kraft"]
            .map(|r| (r, "slow-broker", "did not finish within 8 s"))
            .to_vec(),
        "ignore-correlation-id" => ["2.3 zk", "3.8 zk", "4.0 kraft"]
            .map(|r| (r, "wrong-correlation-id", "reported success"))
            .to_vec(),
        _ => Vec::new(),
    }
}

#[test]
fn each_deliberately_wrong_client_fails_exactly_where_its_bug_shows() {
    let client = wrong_client();
    let bugs = [
        "",
        "misread-refusal",
        "write-after-close",
        "no-v0-fallback",
        "no-reset-fallback",
        "ignore-throttle",
        "no-timeout",
        "ignore-correlation-id",
    ];
    for bug in bugs {
        let name = if bug.is_empty() { "correct" } else { bug };
        let dir = out_dir(name);
        let flag = if bug.is_empty() {
            String::new()
        } else {
            format!("--bug {bug} ")
        };
        let cmd = format!("{} {flag}{{bootstrap}}", client.display());
        let (code, json) = conform(
            &dir,
            &[
                "--client-cmd",
                &cmd,
                "--name",
                name,
                "--releases",
                "2.3,3.8,4.0",
                "--modes",
                "zk,kraft",
                "--client-timeout",
                "8",
                "--jobs",
                "8",
            ],
        );
        let want = expected(bug);
        let v = verdicts(&json);
        // 3.8 kraft fails as 3.8 zk does: same tables, same rules.
        let mut want_keys: BTreeSet<(String, String)> =
            want.iter().map(|(r, b, _)| (r.to_string(), b.to_string())).collect();
        want_keys.extend(
            want.iter()
                .filter(|(r, _, _)| *r == "3.8 zk")
                .map(|(_, b, _)| ("3.8 kraft".to_owned(), b.to_string())),
        );
        assert_eq!(failing(&json), want_keys, "{name}: the FAIL cells");
        for (release, behaviour, why) in &want {
            let (_, reason) = &v[&(release.to_string(), behaviour.to_string())];
            assert!(
                reason.contains(why),
                "{name} {release} {behaviour}: {reason:?} lacks {why:?}"
            );
        }
        assert_eq!(code, if want.is_empty() { 0 } else { 1 }, "{name}: exit status");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn kcat_or_skip() -> bool {
    if Command::new("kcat")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    let required = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
        || std::env::var("KAFKA_MATRIX_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let hint = "install it with `bash scripts/install-interop-deps.sh`";
    assert!(!required, "kcat is required here (CI) but missing; {hint}");
    let bar = "!".repeat(100);
    eprintln!("\n{bar}\n!!! SKIPPED: kcat not found; {hint}.\n!!! This test checked NOTHING.\n{bar}\n");
    false
}

#[test]
fn kcat_gets_a_report_card_with_its_known_failures() {
    if !kcat_or_skip() {
        return;
    }
    let dir = out_dir("kcat");
    let (code, json) = conform(
        &dir,
        &[
            "--client-cmd",
            "kcat -b {bootstrap} -L",
            "--name",
            "kcat",
            "--releases",
            "2.3,3.8",
            "--modes",
            "zk",
            "--jobs",
            "8",
        ],
    );
    assert_eq!(code, 1, "kcat fails some cells");
    let v = verdicts(&json);
    assert_eq!(v.len(), 2 * 15);
    // librdkafka does not honour KIP-219 (confluentinc/librdkafka#5592).
    let (verdict, reason) = &v[&("3.8 zk".to_owned(), "throttle".to_owned())];
    assert_eq!(
        (
            verdict.as_str(),
            reason.contains("throttle of its ApiVersions v3 reply")
        ),
        ("FAIL", true),
        "{reason}"
    );
    // librdkafka 2.0.2 misreads default-valued tagged fields (librdkafka#4253).
    let (verdict, reason) = &v[&("3.8 zk".to_owned(), "tansu-tagged-fields".to_owned())];
    assert_eq!(verdict, "FAIL", "{reason}");
    // It starts at ApiVersions v3, which 3.8 takes: no refusal to exercise.
    assert_eq!(v[&("3.8 zk".to_owned(), "kip511-refusal-hint".to_owned())].0, "N/A");
    // 2.3 refuses v3 without a hint and kcat falls back to v0.
    let (verdict, reason) = &v[&("2.3 zk".to_owned(), "empty-refusal".to_owned())];
    assert_eq!(verdict, "PASS", "{reason}");
    assert!(reason.contains("ApiVersions v3 ✗, v0"), "{reason}");
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(md.contains("## kcat") && md.contains("### Failures"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}
