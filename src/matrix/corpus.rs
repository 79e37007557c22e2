//! The interop corpus: ready-made real Kafka clients for `matrix --client`.
//!
//! Each client is a directory `clients/<name>/` holding an executable `run`
//! with a two-call contract (clients/README.md):
//!
//! - `run BOOTSTRAP` lists the cluster's metadata the way that client does
//!   (and runs its broker-version detection where it has one); exit 0 on
//!   success, else non-zero with one line on stderr;
//! - `run --version` prints `<name> <version> (<library>)` and exits 0, or
//!   prints `not installed: <how>` and exits 3, or — when the installer found
//!   it cannot be installed on this machine (its registry unreachable) —
//!   `unavailable here: <why>` and exits 4.
//!
//! A corpus client runs as a `command` cell: its command line is
//! `'<dir>/<name>/run' {bootstrap}`, with the same timeout, output capture
//! and report as `--client-cmd`.
//!
//! A client kept in the corpus *because* it fails somewhere (franz-go
//! v1.19.0, the project's founding case) says where in `clients/<name>/expect`,
//! one rule per line (a line starting with `#` is a comment; a reason may
//! hold `#`, as in issue numbers):
//!
//! ```text
//! fail 2.4..3.8: franz-go #1009: misreads the KIP-511 refusal, sends Metadata v13
//! fail 3.0 kraft: the reason
//! ```
//!
//! A cell a rule covers passes when the client fails there ("failed as
//! expected", with the client's own error kept), and fails when the client
//! passes ("passed, but expected to fail"): the corpus keeps such clients
//! honest both ways, and `--client all` still exits 0 on a correct run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::command::ClientCommand;
use crate::versions::{parse_releases, Mode, Release};

/// The file, in a client's directory, naming where it fails on purpose.
pub const EXPECT_FILE: &str = "expect";

/// Environment variable naming the corpus directory.
pub const CLIENTS_DIR_ENV: &str = "KAFKA_MATRIX_CLIENTS_DIR";

/// Exit status of `run --version` for a client that is not installed.
pub const NOT_INSTALLED_STATUS: i32 = 3;

/// Exit status of `run --version` for a client that cannot be installed here.
pub const UNAVAILABLE_STATUS: i32 = 4;

/// How long `run --version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// Why the corpus cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CorpusError {
    /// No corpus directory.
    #[error("no client corpus at {0} (set {CLIENTS_DIR_ENV} to the repository's clients/ directory)")]
    NoDirectory(PathBuf),
    /// Reading the directory failed.
    #[error("cannot read the client corpus at {dir}: {source}")]
    Read {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of a client's `expect` file that is not a rule.
    #[error("{file}:{line}: {why} (a rule is `fail RELEASES [zk|kraft]: REASON`)")]
    Expect {
        /// The file.
        file: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
    /// A client name that the corpus does not have.
    #[error("no client {name:?} in the corpus; known: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
}

/// Whether a client can run here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum ClientStatus {
    /// Installed; `run --version` said this.
    Installed {
        /// E.g. `confluent-kafka 2.16.1 (librdkafka 2.16.0)`.
        version: String,
    },
    /// Not installed; how to install it.
    Missing {
        /// The client's own one line.
        how: String,
    },
    /// Cannot be installed on this machine (the installer said why).
    Unavailable {
        /// The client's own one line.
        why: String,
    },
    /// `run --version` failed in another way.
    Broken {
        /// What it said.
        why: String,
    },
}

/// One client of the corpus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorpusClient {
    /// Its directory name, e.g. `confluent-kafka`.
    pub name: String,
    /// Its `run` script.
    pub run: PathBuf,
    /// Whether it can run.
    #[serde(flatten)]
    pub status: ClientStatus,
    /// Where it fails on purpose (its `expect` file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected_failures: Vec<ExpectedFailure>,
}

/// A rule of a client's `expect` file: it fails on these releases (in these
/// modes), for this reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedFailure {
    /// The releases the rule covers.
    pub releases: Vec<Release>,
    /// The modes it covers (both when the rule names none).
    pub modes: Vec<Mode>,
    /// Why the client fails there.
    pub reason: String,
}

impl ExpectedFailure {
    /// Whether the rule covers `release` in `mode`.
    pub fn covers(&self, release: Release, mode: Mode) -> bool {
        self.releases.contains(&release) && self.modes.contains(&mode)
    }
}

/// Parses an `expect` file's text; `file` names it in errors.
pub fn parse_expect(text: &str, file: &Path) -> Result<Vec<ExpectedFailure>, CorpusError> {
    let mut rules = Vec::new();
    for (number, line) in super::rule_lines(text) {
        let bad = |why: String| CorpusError::Expect {
            file: file.to_path_buf(),
            line: number,
            why,
        };
        let Some(rest) = line.strip_prefix("fail ") else {
            return Err(bad(format!("{line:?} does not start with `fail `")));
        };
        let Some((scope, reason)) = rest.split_once(':') else {
            return Err(bad("no `:` before the reason".into()));
        };
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(bad("the reason is empty".into()));
        }
        let mut words = scope.split_whitespace();
        let releases = parse_releases(words.next().unwrap_or("")).map_err(bad)?;
        let modes = match words.next() {
            None => Mode::ALL.to_vec(),
            Some(m) => vec![m.parse::<Mode>().map_err(|e| bad(e.to_string()))?],
        };
        if let Some(extra) = words.next() {
            return Err(bad(format!("unexpected {extra:?} before the `:`")));
        }
        rules.push(ExpectedFailure {
            releases,
            modes,
            reason: reason.to_owned(),
        });
    }
    Ok(rules)
}

/// The corpus client a run uses: its command, and where it fails on purpose.
#[derive(Debug, Clone)]
pub struct CorpusRun {
    /// What a cell runs.
    pub command: ClientCommand,
    /// Its `expect` rules.
    pub expected_failures: Vec<ExpectedFailure>,
}

impl CorpusRun {
    /// The reason `release` in `mode` is expected to fail, if a rule says so.
    pub fn expected_failure(&self, release: Release, mode: Mode) -> Option<&str> {
        self.expected_failures
            .iter()
            .find(|r| r.covers(release, mode))
            .map(|r| r.reason.as_str())
    }
}

impl CorpusClient {
    /// The command a `command` cell runs for this client.
    pub fn command(&self, timeout: Duration) -> ClientCommand {
        ClientCommand {
            template: format!(
                "{} {{bootstrap}}",
                super::command::shell_word(&self.run.to_string_lossy())
            ),
            timeout,
        }
    }

    /// What a run of this client needs.
    pub fn for_run(&self, timeout: Duration) -> CorpusRun {
        CorpusRun {
            command: self.command(timeout),
            expected_failures: self.expected_failures.clone(),
        }
    }

    /// `installed` / `missing` / `broken`, and the detail.
    pub fn line(&self) -> String {
        match &self.status {
            ClientStatus::Installed { version } => format!("{:<18} installed  {version}", self.name),
            ClientStatus::Missing { how } => format!("{:<18} MISSING    {how}", self.name),
            ClientStatus::Unavailable { why } => format!("{:<18} UNAVAILABLE {why}", self.name),
            ClientStatus::Broken { why } => format!("{:<18} BROKEN     {why}", self.name),
        }
    }
}

/// The corpus directory: `$KAFKA_MATRIX_CLIENTS_DIR`, else `./clients`, else
/// the `clients/` of the source tree this binary was built from.
pub fn clients_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CLIENTS_DIR_ENV) {
        return PathBuf::from(dir);
    }
    let here = PathBuf::from("clients");
    if here.join("README.md").is_file() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// Every client in `dir` (a subdirectory with a `run` file), by name, with
/// its status from `run --version` and its `expect` rules. A malformed
/// `expect` file is an error: a rule silently dropped would turn an intended
/// failure into a failed run, or hide an unexpected pass.
pub async fn discover(dir: &Path) -> Result<Vec<CorpusClient>, CorpusError> {
    if !dir.is_dir() {
        return Err(CorpusError::NoDirectory(dir.to_path_buf()));
    }
    let read = |source| CorpusError::Read {
        dir: dir.to_path_buf(),
        source,
    };
    let mut runs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        let run = path.join("run");
        if run.is_file() {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            runs.push((name, std::path::absolute(&run).unwrap_or(run)));
        }
    }
    runs.sort();
    let mut clients = Vec::new();
    for (name, run) in runs {
        let expect = run.with_file_name(EXPECT_FILE);
        let expected_failures = match std::fs::read_to_string(&expect) {
            Ok(text) => parse_expect(&text, &expect)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(CorpusError::Read { dir: expect, source }),
        };
        let status = status(&run).await;
        clients.push(CorpusClient {
            name,
            run,
            status,
            expected_failures,
        });
    }
    Ok(clients)
}

/// Picks `names` (or every client for `all`) from `corpus`.
pub fn select(corpus: &[CorpusClient], names: &[String]) -> Result<Vec<CorpusClient>, CorpusError> {
    if names.iter().any(|n| n == "all") {
        return Ok(corpus.to_vec());
    }
    names
        .iter()
        .map(|name| {
            corpus
                .iter()
                .find(|c| &c.name == name)
                .cloned()
                .ok_or_else(|| CorpusError::Unknown {
                    name: name.clone(),
                    known: corpus.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
                })
        })
        .collect()
}

async fn status(run: &Path) -> ClientStatus {
    let out = tokio::time::timeout(
        VERSION_TIMEOUT,
        tokio::process::Command::new(run)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await;
    let first_line = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    match out {
        Err(_) => ClientStatus::Broken {
            why: format!(
                "`{} --version` took over {} s",
                run.display(),
                VERSION_TIMEOUT.as_secs()
            ),
        },
        Ok(Err(e)) => ClientStatus::Broken {
            why: format!("cannot run {}: {e}", run.display()),
        },
        Ok(Ok(o)) if o.status.success() => ClientStatus::Installed {
            version: first_line(&o.stdout),
        },
        Ok(Ok(o)) if o.status.code() == Some(NOT_INSTALLED_STATUS) => ClientStatus::Missing {
            how: first_line(&o.stderr),
        },
        Ok(Ok(o)) if o.status.code() == Some(UNAVAILABLE_STATUS) => ClientStatus::Unavailable {
            why: first_line(&o.stderr),
        },
        Ok(Ok(o)) => ClientStatus::Broken {
            why: format!("`run --version` exited with {}: {}", o.status, first_line(&o.stderr)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str, status: ClientStatus) -> CorpusClient {
        CorpusClient {
            name: name.into(),
            run: PathBuf::from(format!("/c/{name}/run")),
            status,
            expected_failures: Vec::new(),
        }
    }

    #[test]
    fn expect_rules_name_releases_modes_and_a_reason() {
        let f = Path::new("clients/x/expect");
        let rules = parse_expect(
            "# where x fails\nfail 2.4..2.6: misreads the refusal (#1009)\n\n  # indented comment\nfail 3.0 kraft: no KRaft yet\n",
            f,
        )
        .expect("parses");
        assert_eq!(rules.len(), 2);
        let run = CorpusRun {
            command: ClientCommand {
                template: String::new(),
                timeout: Duration::from_secs(1),
            },
            expected_failures: rules,
        };
        let r = |s: &str| s.parse::<Release>().expect("release");
        assert_eq!(
            run.expected_failure(r("2.5"), Mode::Zk),
            Some("misreads the refusal (#1009)")
        );
        assert_eq!(
            run.expected_failure(r("2.5"), Mode::Kraft),
            Some("misreads the refusal (#1009)")
        );
        assert_eq!(run.expected_failure(r("3.0"), Mode::Kraft), Some("no KRaft yet"));
        assert_eq!(run.expected_failure(r("3.0"), Mode::Zk), None);
        assert_eq!(run.expected_failure(r("2.7"), Mode::Zk), None);
    }

    #[test]
    fn a_bad_expect_line_is_one_error_naming_file_and_line() {
        let f = Path::new("clients/x/expect");
        let err = |text: &str| parse_expect(text, f).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(
            err("fail 2.4..3.8 misreads"),
            Err("clients/x/expect:1: no `:` before the reason (a rule is `fail RELEASES [zk|kraft]: REASON`)".into())
        );
        assert_eq!(
            err("\npass 2.4: x"),
            Err("clients/x/expect:2: \"pass 2.4: x\" does not start with `fail ` (a rule is `fail RELEASES [zk|kraft]: REASON`)".into())
        );
        assert!(err("fail 9.9: x")
            .expect_err("unknown release")
            .starts_with("clients/x/expect:1: "));
        assert!(err("fail 3.8 zookeeper-ish: x")
            .expect_err("bad mode")
            .contains(":1: unknown Kafka broker mode"));
        assert!(err("fail 3.8:   ")
            .expect_err("no reason")
            .ends_with("the reason is empty (a rule is `fail RELEASES [zk|kraft]: REASON`)"));
        assert!(err("fail 3.8 zk extra: x")
            .expect_err("extra")
            .contains("unexpected \"extra\""));
    }

    #[tokio::test]
    async fn discover_reads_each_clients_version_contract() {
        let dir = std::env::temp_dir().join(format!("km-corpus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (name, script) in [
            ("ok", "#!/bin/sh\necho 'ok 1.2.3 (lib 4.5)'\n"),
            (
                "gone",
                "#!/bin/sh\necho 'not installed: pip install gone' >&2\nexit 3\n",
            ),
            ("bad", "#!/bin/sh\necho 'boom' >&2\nexit 1\n"),
            ("far", "#!/bin/sh\necho 'unavailable here: no registry' >&2\nexit 4\n"),
        ] {
            std::fs::create_dir_all(dir.join(name)).expect("mkdir");
            let run = dir.join(name).join("run");
            std::fs::write(&run, script).expect("write");
            std::process::Command::new("chmod")
                .arg("+x")
                .arg(&run)
                .status()
                .expect("chmod");
        }
        std::fs::create_dir_all(dir.join("not-a-client")).expect("mkdir");
        let found = discover(&dir).await.expect("reads");
        let statuses: Vec<_> = found.iter().map(|c| (c.name.as_str(), c.status.clone())).collect();
        assert_eq!(
            statuses,
            [
                (
                    "bad",
                    ClientStatus::Broken {
                        why: "`run --version` exited with exit status: 1: boom".into()
                    }
                ),
                (
                    "far",
                    ClientStatus::Unavailable {
                        why: "unavailable here: no registry".into()
                    }
                ),
                (
                    "gone",
                    ClientStatus::Missing {
                        how: "not installed: pip install gone".into()
                    }
                ),
                (
                    "ok",
                    ClientStatus::Installed {
                        version: "ok 1.2.3 (lib 4.5)".into()
                    }
                ),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn select_all_or_by_name_and_unknown_names_are_refused() {
        let corpus = [
            client("a", ClientStatus::Missing { how: "x".into() }),
            client("b", ClientStatus::Installed { version: "b 1".into() }),
        ];
        assert_eq!(select(&corpus, &["all".into()]).expect("all").len(), 2);
        assert_eq!(select(&corpus, &["b".into()]).expect("b")[0].name, "b");
        assert_eq!(
            select(&corpus, &["c".into()]).map_err(|e| e.to_string()),
            Err("no client \"c\" in the corpus; known: a, b".into())
        );
    }

    #[test]
    fn the_command_quotes_the_script_path() {
        let c = CorpusClient {
            run: PathBuf::from("/it's here/run"),
            ..client("a", ClientStatus::Installed { version: "a".into() })
        };
        assert_eq!(
            c.command(Duration::from_secs(1)).template,
            r"'/it'\''s here/run' {bootstrap}"
        );
    }
}
