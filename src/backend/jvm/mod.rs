//! The JVM backend: real Apache Kafka of every catalog release, run from
//! Kafka's own jars as local JVM processes — no Docker.
//!
//! - [`install`]: the jars, fetched from Maven Central with Maven into a
//!   checksummed cache shared by runs (`kafka-matrix fetch` fills it ahead),
//!   or a user's installation in the tarball's layout (`--kafka-home`);
//! - [`java`]: the JDK;
//! - [`recipe`]: what each release needs, as data (artifact, logging,
//!   configuration per mode, JVM flags);
//! - [`broker`]: one broker (with ZooKeeper, or formatted KRaft storage),
//!   ready when a real ApiVersions + Metadata round trip shows the probe topic;
//! - [`JvmRun`]: a matrix run's brokers, one per release/mode pair, shared by
//!   every cell of that pair and stopped after its last.
//!
//! Nothing outlives a run: every process of a broker is in one process group
//! that dies with kafka-matrix ([`crate::backend::group`]), and its directory
//! goes with it.

pub mod broker;
pub mod install;
pub mod java;
pub mod recipe;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use broker::{BrokerSpec, JvmBroker};
pub use install::{parse_kafka_homes, Cache, Fetched, Install};
pub use java::Java;

use crate::versions::{release_info, Mode, Release};

/// How long a broker may take to get ready.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a real broker could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JvmError {
    /// No usable JDK.
    #[error("no usable Java at {bin}: {why}; install a JDK 17 (apt-get install openjdk-17-jdk-headless) or set KAFKA_MATRIX_JAVA_HOME")]
    NoJava {
        /// The `java` tried.
        bin: String,
        /// Why it cannot be used.
        why: String,
    },
    /// Maven is needed to fetch and is not installed.
    #[error("Maven (mvn) is not installed, and the jars are not cached; install it (apt-get install maven) or fill the cache with `kafka-matrix fetch` where it is")]
    NoMaven,
    /// The fetch failed.
    #[error("cannot fetch Kafka {version}: {why}")]
    Fetch {
        /// The version.
        version: String,
        /// Why, in one line.
        why: String,
    },
    /// A cache entry does not match its checksums.
    #[error("the cached jars of Kafka {version} in {} are corrupt ({why}); remove that directory and run `kafka-matrix fetch --releases {version}`", entry.display())]
    Corrupt {
        /// The entry.
        entry: PathBuf,
        /// The version.
        version: String,
        /// What failed.
        why: String,
    },
    /// A `--kafka-home` that cannot serve.
    #[error("--kafka-home {release}={}: {why}", home.display())]
    BadHome {
        /// The release it was given for.
        release: Release,
        /// The directory.
        home: PathBuf,
        /// Why.
        why: String,
    },
    /// Not a catalog release.
    #[error("Kafka {0} is not in the catalog")]
    UnknownRelease(Release),
    /// A mode the release does not have.
    #[error("Kafka {release} has no {mode} mode")]
    NoMode {
        /// The release.
        release: Release,
        /// The mode.
        mode: Mode,
    },
    /// The broker (or its ZooKeeper) did not get ready.
    #[error("{what} was not ready after {:.1} s: {last}; its log ends: {}", waited.as_secs_f64(), last_line(log))]
    NotReady {
        /// What did not get ready.
        what: String,
        /// For how long it was waited for.
        waited: Duration,
        /// The last thing seen.
        last: String,
        /// The tail of its log.
        log: String,
    },
    /// The broker of this release/mode failed to start for an earlier cell.
    #[error("the broker failed to start for an earlier cell: {0}")]
    Earlier(String),
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl JvmError {
    /// The log tail a failed start carries, for the cell's transcript.
    pub fn log(&self) -> Option<&str> {
        match self {
            JvmError::NotReady { log, .. } => Some(log),
            _ => None,
        }
    }
}

/// The last line of a log that says something (an ERROR or exception line
/// first), for a one-line error.
fn last_line(log: &str) -> &str {
    let lines = || log.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .rfind(|l| l.contains("ERROR") || l.contains("Exception") || l.contains("Error:"))
        .or_else(|| lines().next_back())
        .unwrap_or("(empty)")
}

/// What every real broker of a run shares: the cache, the JDK, and any
/// installations given with `--kafka-home`.
#[derive(Debug)]
pub struct JvmSetup {
    /// The jar cache.
    pub cache: Cache,
    /// The JDK.
    pub java: Java,
    /// `--kafka-home` installations by release.
    pub homes: BTreeMap<Release, PathBuf>,
    /// How long a broker may take to get ready.
    pub startup_timeout: Duration,
}

impl JvmSetup {
    /// Finds the JDK; the cache is the default one.
    pub async fn detect(homes: BTreeMap<Release, PathBuf>) -> Result<Self, JvmError> {
        Ok(Self {
            cache: Cache::from_env(),
            java: Java::find().await?,
            homes,
            startup_timeout: STARTUP_TIMEOUT,
        })
    }

    /// The jars of `release`: its `--kafka-home`, else the cache (fetched
    /// if missing).
    pub async fn install(&self, release: Release) -> Result<(Install, Fetched), JvmError> {
        match self.homes.get(&release) {
            Some(home) => Ok((Install::from_home(release, home)?, Fetched::Cached)),
            None => self.cache.install(release).await,
        }
    }

    /// What a report names for `release` before it starts.
    pub fn describe(&self, release: Release) -> String {
        let what = match (self.homes.get(&release), release_info(release)) {
            (Some(home), _) => format!("Kafka {release} ({})", home.display()),
            (None, Some(info)) => {
                install::from_maven_central(info.latest_patch, &recipe::artifact(release, info.latest_patch))
            }
            (None, None) => format!("Kafka {release}"),
        };
        format!("{what}, {}", self.java)
    }

    /// Starts a real broker of `release` in `mode` on `host` (`port`, or a
    /// free one) and waits until it is ready.
    pub async fn start(
        &self,
        release: Release,
        mode: Mode,
        host: &str,
        port: Option<u16>,
    ) -> Result<JvmBroker, JvmError> {
        let info = release_info(release).ok_or(JvmError::UnknownRelease(release))?;
        if !info.modes.contains(&mode) {
            return Err(JvmError::NoMode { release, mode });
        }
        let (install, _) = self.install(release).await?;
        JvmBroker::start(&BrokerSpec {
            install,
            mode,
            java: self.java.clone(),
            port,
            host: host.to_owned(),
            startup_timeout: self.startup_timeout,
        })
        .await
    }
}

/// A matrix run's real brokers: one per release/mode pair, started by the
/// pair's first cell, shared by all its cells, and stopped after the last
/// (or when the run is dropped).
#[derive(Debug)]
pub struct JvmRun {
    setup: JvmSetup,
    pairs: Mutex<HashMap<(Release, Mode), Arc<Pair>>>,
}

#[derive(Debug)]
struct Pair {
    /// Cells of the pair not yet finished.
    remaining: AtomicUsize,
    slot: tokio::sync::Mutex<Slot>,
}

#[derive(Debug)]
enum Slot {
    NotStarted,
    Running(Arc<JvmBroker>),
    Failed(String),
    Stopped,
}

/// A cell's hold on its pair's broker; [`Lease::finish`] gives it back.
#[derive(Debug)]
pub struct Lease {
    pair: Arc<Pair>,
    /// The broker.
    pub broker: Arc<JvmBroker>,
    /// Whether this cell started it (and so waited for its start-up).
    pub started_here: bool,
}

impl JvmRun {
    /// A run whose cells are `cells` (one entry per cell, by pair).
    pub fn new(setup: JvmSetup, cells: impl IntoIterator<Item = (Release, Mode)>) -> Self {
        let mut pairs: HashMap<(Release, Mode), Arc<Pair>> = HashMap::new();
        for key in cells {
            pairs
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(Pair {
                        remaining: AtomicUsize::new(0),
                        slot: tokio::sync::Mutex::new(Slot::NotStarted),
                    })
                })
                .remaining
                .fetch_add(1, Ordering::Relaxed);
        }
        Self {
            setup,
            pairs: Mutex::new(pairs),
        }
    }

    /// The setup.
    pub fn setup(&self) -> &JvmSetup {
        &self.setup
    }

    /// The broker of `release`/`mode`, started if this is the pair's first cell.
    pub async fn lease(&self, release: Release, mode: Mode) -> Result<Lease, JvmError> {
        let pair = self
            .pairs
            .lock()
            .ok()
            .and_then(|p| p.get(&(release, mode)).cloned())
            .ok_or(JvmError::NoMode { release, mode })?;
        let mut slot = pair.slot.lock().await;
        let (broker, started_here) = match &*slot {
            Slot::Running(b) => (Arc::clone(b), false),
            Slot::Failed(why) => return Err(JvmError::Earlier(why.clone())),
            Slot::NotStarted | Slot::Stopped => match self.setup.start(release, mode, "127.0.0.1", None).await {
                Ok(b) => {
                    let b = Arc::new(b);
                    *slot = Slot::Running(Arc::clone(&b));
                    (b, true)
                }
                Err(e) => {
                    *slot = Slot::Failed(e.to_string());
                    pair.remaining.fetch_sub(1, Ordering::AcqRel);
                    return Err(e);
                }
            },
        };
        drop(slot);
        Ok(Lease {
            pair,
            broker,
            started_here,
        })
    }
}

impl Lease {
    /// The cell is done with the broker; after the pair's last cell it stops.
    pub async fn finish(self) {
        let Lease { pair, broker, .. } = self;
        drop(broker);
        if pair.remaining.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let taken = std::mem::replace(&mut *pair.slot.lock().await, Slot::Stopped);
        if let Slot::Running(b) = taken {
            // A cell that panicked may still hold a clone; dropping the last
            // one kills the group all the same.
            if let Some(b) = Arc::into_inner(b) {
                b.stop().await;
            }
        }
    }
}
