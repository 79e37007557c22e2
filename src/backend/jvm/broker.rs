//! One real broker (and its ZooKeeper) as local JVM processes.
//!
//! [`JvmBroker::start`] makes a directory of its own, picks free ports,
//! writes the configuration of [`recipe`], starts ZooKeeper (ZooKeeper mode)
//! or formats the storage with the release's own storage tool (KRaft), then
//! the broker, and waits for the readiness check every backend uses: a real
//! ApiVersions + Metadata round trip that shows the probe topic complete.
//!
//! Every process runs in one [`GroupWatch`] group, so none outlives the
//! broker's owner, whatever ends it; the directory goes with the group.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::install::Install;
use super::java::Java;
use super::recipe::{self, Layout};
use super::JvmError;
use crate::backend::group::GroupWatch;
use crate::backend::probe::probe_once;
use crate::client::ClientConfig;
use crate::versions::Mode;

/// Set to 1 to leave the processes and the directory behind (for the
/// no-orphan test, which must fail then; never for real use).
pub const NO_CLEANUP_ENV: &str = "KAFKA_MATRIX_UNSAFE_NO_CLEANUP";
/// Extra JVM flags for the broker, whitespace-separated (e.g. a heap size).
pub const JVM_OPTS_ENV: &str = "KAFKA_MATRIX_JVM_OPTS";
/// How much of a log a failure quotes.
const LOG_TAIL_LINES: usize = 20;

/// What to start.
#[derive(Debug, Clone)]
pub struct BrokerSpec {
    /// The jars.
    pub install: Install,
    /// The mode.
    pub mode: Mode,
    /// The JDK.
    pub java: Java,
    /// The client port; `None` picks a free one.
    pub port: Option<u16>,
    /// The address every listener binds and advertises.
    pub host: String,
    /// How long until the readiness check must pass.
    pub startup_timeout: Duration,
}

/// A running real broker.
#[derive(Debug)]
pub struct JvmBroker {
    /// Where clients bootstrap, `host:port`.
    pub bootstrap: String,
    /// From the first process started until the readiness check passed.
    pub startup: Duration,
    /// The broker's log file (stdout and stderr).
    pub log: PathBuf,
    /// The jars and JDK it runs, in words.
    pub description: String,
    dir: PathBuf,
    watch: Option<GroupWatch>,
    children: Vec<tokio::process::Child>,
}

static STARTED: AtomicUsize = AtomicUsize::new(0);

fn cleanup_disabled() -> bool {
    std::env::var(NO_CLEANUP_ENV).is_ok_and(|v| v == "1")
}

impl JvmBroker {
    /// Starts the broker and waits until it is ready. A port taken between
    /// choosing it and the JVM binding it costs one more try.
    pub async fn start(spec: &BrokerSpec) -> Result<Self, JvmError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::start_once(spec).await {
                Err(JvmError::NotReady { ref log, .. })
                    if attempt < 2 && spec.port.is_none() && log.contains("Address already in use") =>
                {
                    tracing::info!("a port was taken before the broker bound it; trying new ports");
                }
                other => return other,
            }
        }
    }

    async fn start_once(spec: &BrokerSpec) -> Result<Self, JvmError> {
        let release = spec.install.release;
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "kafka-matrix-jvm-{}-{n}-{}-{}",
            std::process::id(),
            spec.install.version,
            spec.mode
        ));
        let io = |what: &str, e: std::io::Error| JvmError::Io {
            what: format!("{what} ({})", dir.display()),
            source: e,
        };
        std::fs::create_dir_all(dir.join("data")).map_err(|e| io("creating the broker's directory", e))?;
        let watch = if cleanup_disabled() {
            tracing::warn!(
                "{NO_CLEANUP_ENV}=1: the broker's processes and {} will be left behind",
                dir.display()
            );
            None
        } else {
            Some(
                GroupWatch::with_cleanup(std::slice::from_ref(&dir))
                    .map_err(|e| io("starting the group watcher", e))?,
            )
        };
        let mut broker = Self {
            bootstrap: String::new(),
            startup: Duration::ZERO,
            log: dir.join("broker.log"),
            description: format!("{}, {}", spec.install.describe(), spec.java),
            dir: dir.clone(),
            watch,
            children: Vec::new(),
        };
        let started = Instant::now();
        let result = broker.bring_up(spec, started).await;
        match result {
            Ok(()) => {
                broker.startup = started.elapsed();
                tracing::info!(bootstrap = %broker.bootstrap, startup = ?broker.startup, %release, "real broker ready");
                Ok(broker)
            }
            Err(e) => {
                broker.stop().await;
                Err(e)
            }
        }
    }

    async fn bring_up(&mut self, spec: &BrokerSpec, started: Instant) -> Result<(), JvmError> {
        let release = spec.install.release;
        let port = match spec.port {
            Some(p) => p,
            None => free_port(&spec.host)?,
        };
        let second_port = free_port(&spec.host)?;
        let layout = Layout {
            host: spec.host.clone(),
            port,
            second_port,
            data_dir: self.dir.join("data"),
        };
        self.bootstrap = format!("{}:{port}", bracket(&spec.host));
        let (log_name, log_config) = recipe::logging_config(release);
        let log_path = self.dir.join(log_name);
        self.write(&log_path, &log_config)?;
        let server = self.dir.join("server.properties");
        self.write(
            &server,
            &recipe::server_properties(release, spec.mode, &layout).properties(),
        )?;
        let base = |flags: &[&str]| -> Vec<String> {
            let mut args: Vec<String> = flags.iter().map(|f| (*f).to_owned()).collect();
            args.push(recipe::logging_property(release, &log_path));
            // Marks every JVM of this process, so tests can find survivors.
            args.push(format!("-Dkafka.matrix.owner={}", std::process::id()));
            args.push("-cp".into());
            args.push(spec.install.classpath());
            args
        };
        match spec.mode {
            Mode::Zk => {
                let zk_conf = self.dir.join("zookeeper.properties");
                let zk_data = self.dir.join("zookeeper");
                self.write(
                    &zk_conf,
                    &recipe::zookeeper_properties(&spec.host, second_port, &zk_data).properties(),
                )?;
                let mut args = base(recipe::TOOL_JVM_FLAGS);
                args.push(recipe::ZOOKEEPER_MAIN.into());
                args.push(zk_conf.display().to_string());
                let zk_log = self.dir.join("zookeeper.log");
                let zk = self.spawn(&spec.java, &args, &zk_log)?;
                self.children.push(zk);
                let deadline = started + spec.startup_timeout;
                self.wait_for_port(&spec.host, second_port, deadline, &zk_log, "ZooKeeper")
                    .await?;
            }
            Mode::Kraft => {
                let mut args = base(recipe::TOOL_JVM_FLAGS);
                args.push(recipe::STORAGE_TOOL_MAIN.into());
                args.extend(["format", "-t", recipe::CLUSTER_ID, "-c"].map(str::to_owned));
                args.push(server.display().to_string());
                let format_log = self.dir.join("format.log");
                // Waited for alone: it exits by design (the group kills it on a timeout).
                let mut tool = self.spawn(&spec.java, &args, &format_log)?;
                let status = tokio::time::timeout(spec.startup_timeout, tool.wait())
                    .await
                    .map_err(|_| self.not_ready(spec, started, "the storage tool did not finish", &format_log))?
                    .map_err(|e| JvmError::Io {
                        what: "waiting for the storage tool".into(),
                        source: e,
                    })?;
                if !status.success() {
                    return Err(self.not_ready(
                        spec,
                        started,
                        &format!("the storage tool exited with {status}"),
                        &format_log,
                    ));
                }
            }
        }
        let mut args = base(recipe::BROKER_JVM_FLAGS);
        if let Ok(extra) = std::env::var(JVM_OPTS_ENV) {
            // After ours: the JVM takes the last of a repeated flag.
            let at = recipe::BROKER_JVM_FLAGS.len();
            args.splice(at..at, extra.split_whitespace().map(str::to_owned));
        }
        args.push(recipe::BROKER_MAIN.into());
        args.push(server.display().to_string());
        let log = self.log.clone();
        let broker = self.spawn(&spec.java, &args, &log)?;
        self.children.push(broker);
        self.wait_ready(spec, started).await
    }

    fn write(&self, path: &Path, text: &str) -> Result<(), JvmError> {
        std::fs::write(path, text).map_err(|e| JvmError::Io {
            what: format!("writing {}", path.display()),
            source: e,
        })
    }

    /// Starts `java args…` in the group, its stdout and stderr into `log`.
    fn spawn(&self, java: &Java, args: &[String], log: &Path) -> Result<tokio::process::Child, JvmError> {
        let io = |e: std::io::Error| JvmError::Io {
            what: format!("starting {} for {}", java.bin.display(), log.display()),
            source: e,
        };
        let out = std::fs::File::create(log).map_err(io)?;
        let err = out.try_clone().map_err(io)?;
        let mut cmd = tokio::process::Command::new(&java.bin);
        cmd.args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        match &self.watch {
            Some(w) => cmd.process_group(w.pgid()),
            None => cmd.process_group(0),
        };
        cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => JvmError::NoJava {
                bin: java.bin.display().to_string(),
                why: e.to_string(),
            },
            _ => io(e),
        })
    }

    /// Whether ZooKeeper and the broker are still running; the first that
    /// exited, as `Err(why)`.
    fn alive(&mut self) -> Result<(), String> {
        for child in &mut self.children {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("a JVM exited with {status}"));
            }
        }
        Ok(())
    }

    async fn wait_for_port(
        &mut self,
        host: &str,
        port: u16,
        deadline: Instant,
        log: &Path,
        what: &str,
    ) -> Result<(), JvmError> {
        let addr = format!("{}:{port}", bracket(host));
        while Instant::now() < deadline {
            if let Err(exited) = self.alive() {
                return Err(JvmError::NotReady {
                    what: what.to_owned(),
                    waited: Duration::ZERO,
                    last: exited,
                    log: log_tail(log),
                });
            }
            if tokio::net::TcpStream::connect(&addr).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(JvmError::NotReady {
            what: what.to_owned(),
            waited: Duration::ZERO,
            last: format!("nothing listened on {addr}"),
            log: log_tail(log),
        })
    }

    async fn wait_ready(&mut self, spec: &BrokerSpec, started: Instant) -> Result<(), JvmError> {
        let config = ClientConfig {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            ..ClientConfig::default()
        };
        let deadline = started + spec.startup_timeout;
        let mut last = String::from("no attempt yet");
        while Instant::now() < deadline {
            if let Err(exited) = self.alive() {
                return Err(self.not_ready(spec, started, &exited, &self.log.clone()));
            }
            match probe_once(&self.bootstrap, true, &config).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(not_yet)) => last = format!("{not_yet} (not yet)"),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(self.not_ready(spec, started, &last, &self.log.clone()))
    }

    fn not_ready(&self, spec: &BrokerSpec, started: Instant, last: &str, log: &Path) -> JvmError {
        JvmError::NotReady {
            what: format!("Kafka {} ({})", spec.install.version, spec.mode),
            waited: started.elapsed(),
            last: last.to_owned(),
            log: log_tail(log),
        }
    }

    /// The last lines of the broker's log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// Kills the broker's processes, waits for them, and removes its
    /// directory (unless cleanup is disabled).
    pub async fn stop(mut self) {
        let Some(watch) = self.watch.take() else {
            tracing::warn!(
                "{NO_CLEANUP_ENV}=1: leaving the broker running in {}",
                self.dir.display()
            );
            // Dropping a Child neither kills nor waits for it.
            self.children.clear();
            return;
        };
        watch.kill().await;
        for child in &mut self.children {
            let _ = child.wait().await;
        }
        let _ = tokio::fs::remove_dir_all(&self.dir).await;
    }
}

/// A port free on `host` now (the kernel's choice; a JVM that loses it to
/// another process makes [`JvmBroker::start`] try again).
fn free_port(host: &str) -> Result<u16, JvmError> {
    std::net::TcpListener::bind((host, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| JvmError::Io {
            what: format!("finding a free port on {host}"),
            source: e,
        })
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// The last [`LOG_TAIL_LINES`] lines of `path`, or why there are none.
fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
        }
        Err(e) => format!("(no log at {}: {e})", path.display()),
    }
}
