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

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::command::ClientCommand;

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
/// its status from `run --version`.
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
        let status = status(&run).await;
        clients.push(CorpusClient { name, run, status });
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
        }
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
