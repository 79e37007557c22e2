//! A Kafka broker emulator that answers as a given release did.
//!
//! - [`handlers`]: one file per API key (ApiVersions, Metadata).
//! - `conn`: the per-connection loop, where Kafka's closes are mirrored.
//! - `versions::Quirks`: per-release behaviour beyond the ApiVersions table.
//! - [`fault`]: faults to inject, as data.
//! - [`record`]: what happened on each connection.
//! - [`pool`]: the request memory pool (Kafka's `queued.max.request.bytes`).
//!
//! Robustness (docs/robustness.md): request memory comes from a [`MemoryPool`]
//! (a connection whose frame does not fit stops being read until it does);
//! large Metadata work runs off the async workers and its reply is streamed
//! in chunks; connections idle for [`EmulatorOptions::idle_timeout`] are
//! closed (Kafka's `connections.max.idle.ms`); [`EmulatorOptions::max_connections`]
//! is Kafka's `max.connections` (unlimited by default); running out of file
//! descriptors pauses accepting until a connection closes.
//!
//! [`Emulator::start`] binds (by default `127.0.0.1:0`, with [`bind`]'s long
//! accept queue) and serves in the background until [`Emulator::shutdown`] or
//! drop. [`serve`] runs on a listener the caller bound, for the `serve` command.
//!
//! Which release behaves how, and the Kafka source for each behaviour, is in
//! docs/fidelity.md.

pub mod address;
pub mod behaviour;
mod conn;
pub mod fault;
pub mod handlers;
pub mod pool;
pub mod record;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;

pub use crate::versions::Quirks;
pub use fault::Faults;
pub use handlers::metadata::{AutoCreate, ClusterView, SeededTopic};
pub use pool::{MemoryPool, DEFAULT_MEMORY_BUDGET};
pub use record::{CloseReason, ConnRecord, Recorder, ThrottleViolation};

use crate::protocol::DEFAULT_MAX_FRAME_BYTES;
use crate::versions::{features, table, ApiTable, Features, Mode, Release};

/// Kafka's `connections.max.idle.ms` default: 10 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// How long the accept loop waits for a connection to close when the
/// process is out of file descriptors before it tries again anyway.
const FD_EXHAUSTED_WAIT: Duration = Duration::from_secs(1);

/// Accept queue length asked of the kernel by [`bind`] (Linux caps it at
/// `net.core.somaxconn`, 4096 by default since 5.4). Kafka's
/// `socket.listen.backlog.size` defaults to 50 (KIP-764); this is larger
/// because the emulator meets connection storms in tests (a thousand clients
/// at once): with tokio's default of 1024 the overflow drops SYNs, and the
/// unlucky clients wait out TCP's retransmission backoff (1, 2, 4… s).
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds a listener on `addr` with a [`LISTEN_BACKLOG`]-long accept queue
/// (and `SO_REUSEADDR`, as `TcpListener::bind` sets it). Call it within a
/// tokio runtime.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// A cluster id in Kafka's format (22 characters of URL-safe base64).
pub const DEFAULT_CLUSTER_ID: &str = "a2Fma2EtbWF0cml4LWVtdQ";

/// Emulator failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The catalog has no table for this release and mode.
    #[error("Kafka {release} has no {mode} mode in the catalog")]
    NoSuchMode {
        /// The release.
        release: Release,
        /// The mode.
        mode: Mode,
    },
    /// Binding the listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// How to run the emulator.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Host and port to advertise in Metadata; the bound address if `None`.
    pub advertise: Option<(String, u16)>,
    /// Topics to serve.
    pub topics: Vec<SeededTopic>,
    /// Faults to inject.
    pub faults: Faults,
    /// Cluster id to report.
    pub cluster_id: String,
    /// Largest request frame accepted (Kafka's `socket.request.max.bytes`).
    pub max_frame_bytes: usize,
    /// Kafka's `auto.create.topics.enable` (default true): Metadata naming
    /// an unknown topic creates it, as a default-configured broker does.
    pub auto_create_topics: bool,
    /// Kafka's `num.partitions` (default 1): partitions of an auto-created topic.
    pub auto_create_partitions: i32,
    /// Bytes of request memory (Kafka's `queued.max.request.bytes`, see
    /// [`pool`]); default [`DEFAULT_MEMORY_BUDGET`] (1 GiB).
    pub memory_budget: usize,
    /// Kafka's `connections.max.idle.ms`: a connection on which no read or
    /// write made progress for this long is closed. Default 10 minutes;
    /// `None` never closes (Kafka: -1).
    pub idle_timeout: Option<Duration>,
    /// Kafka's `max.connections`: at most this many connections at once;
    /// while there are as many, new ones wait in the accept queue (Kafka's
    /// acceptor blocks). Default `None`, unlimited (Kafka: `Int.MaxValue`).
    pub max_connections: Option<usize>,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            topics: Vec::new(),
            faults: Faults::default(),
            cluster_id: DEFAULT_CLUSTER_ID.to_owned(),
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            auto_create_topics: true,
            auto_create_partitions: 1,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_connections: None,
        }
    }
}

/// Everything a connection needs to answer as the emulated broker.
#[derive(Debug)]
pub struct Broker {
    /// The release emulated.
    pub release: Release,
    /// Its mode.
    pub mode: Mode,
    /// Its ApiVersions table.
    pub table: &'static ApiTable,
    /// The KIP-584 fields of its ApiVersions v3+ reply.
    pub features: &'static Features,
    /// Its quirks.
    pub quirks: Quirks,
    /// What Metadata describes.
    pub view: ClusterView,
    /// Faults to inject.
    pub faults: Faults,
    /// Largest request frame accepted.
    pub max_frame_bytes: usize,
    /// Request memory.
    pub pool: MemoryPool,
    /// Idle connections are closed after this long (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// Most connections at once (`None`: unlimited).
    pub max_connections: Option<usize>,
    /// Metadata replies still to answer leaderless (the `leaderless` fault).
    leaderless_left: AtomicU32,
    /// Metadata replies still to answer as topics being created.
    creating_left: AtomicU32,
}

impl Broker {
    /// The broker for `release`/`mode`, advertising `advertise`.
    pub fn new(
        release: Release,
        mode: Mode,
        options: &EmulatorOptions,
        advertise: (String, u16),
    ) -> Result<Self, EmulatorError> {
        let table = table(release, mode).ok_or(EmulatorError::NoSuchMode { release, mode })?;
        let quirks = Quirks::of(release, mode);
        let auto_create = AutoCreate {
            enabled: options.auto_create_topics,
            first_answer: quirks.auto_create_answer,
            partitions: options.auto_create_partitions.max(1),
            validates_names: quirks.validates_unknown_topic_names,
            internal_unasked: quirks.creates_internal_topics_unasked,
            internal_answer: quirks.internal_topic_answer,
        };
        Ok(Self {
            release,
            mode,
            table,
            features: features(release, mode),
            quirks,
            view: ClusterView::new(
                advertise.0,
                i32::from(advertise.1),
                options.cluster_id.clone(),
                &options.topics,
                auto_create,
            )
            .omitting_operations_as(quirks.authorized_operations_omitted),
            faults: options.faults.clone(),
            max_frame_bytes: options.max_frame_bytes,
            pool: MemoryPool::new(options.memory_budget),
            idle_timeout: options.idle_timeout,
            max_connections: options.max_connections,
            leaderless_left: AtomicU32::new(options.faults.leaderless_metadata_replies),
            creating_left: AtomicU32::new(options.faults.creating_metadata_replies),
        })
    }

    /// Whether this Metadata reply is one of the first
    /// [`Faults::leaderless_metadata_replies`] (counted over all connections).
    pub fn take_leaderless(&self) -> bool {
        take(&self.leaderless_left)
    }

    /// Whether this Metadata reply is one of the first
    /// [`Faults::creating_metadata_replies`] (counted over all connections).
    pub fn take_creating(&self) -> bool {
        take(&self.creating_left)
    }
}

/// Takes one from a countdown; false once it is at zero.
fn take(left: &AtomicU32) -> bool {
    left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

/// Accepts connections on `listener` and serves each in its own task until
/// `shutdown` turns true. Connection tasks end at shutdown too.
///
/// With [`Broker::max_connections`], accepting pauses while that many are
/// open (Kafka 3.8.0 `ConnectionQuotas.waitForConnectionSlot`: "New
/// connections are blocked if either the listener or broker limit is
/// reached"). When the process runs out of file descriptors (EMFILE,
/// ENFILE) or memory for sockets, accepting pauses until a connection
/// closes (or a second passes), instead of retrying in a loop.
pub async fn serve(
    listener: TcpListener,
    broker: Arc<Broker>,
    recorder: Recorder,
    mut shutdown: watch::Receiver<bool>,
) {
    let limit = broker.max_connections.map(|n| Arc::new(Semaphore::new(n.max(1))));
    let closed = Arc::new(Notify::new());
    loop {
        let permit = match &limit {
            Some(limit) => tokio::select! {
                p = Arc::clone(limit).acquire_owned() => match p {
                    Ok(p) => Some(p),
                    Err(_) => return,
                },
                _ = shutdown.changed() => return,
            },
            None => None,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let (broker, recorder, shutdown) = (Arc::clone(&broker), recorder.clone(), shutdown.clone());
                let closed = Arc::clone(&closed);
                tokio::spawn(async move {
                    conn::serve(stream, broker, recorder, shutdown).await;
                    drop(permit);
                    closed.notify_one();
                });
            }
            Err(e) if out_of_descriptors(&e) => {
                tracing::warn!(error = %e, "accept failed; waiting for a connection to close");
                tokio::select! {
                    _ = closed.notified() => {}
                    _ = tokio::time::sleep(FD_EXHAUSTED_WAIT) => {}
                    _ = shutdown.changed() => return,
                }
            }
            Err(e) => {
                // A connection that failed between SYN and accept: try the next.
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

/// EMFILE (24), ENFILE (23), ENOBUFS (105), ENOMEM (12) on Linux: the
/// process or the system is out of something only a close gives back.
fn out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(12 | 23 | 24 | 105))
}

/// A running in-process emulator. Dropping it stops it.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    broker: Arc<Broker>,
    recorder: Recorder,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Binds `options.listen` and starts serving as `release` in `mode`.
    pub async fn start(release: Release, mode: Mode, options: EmulatorOptions) -> Result<Self, EmulatorError> {
        let listener = bind(options.listen).map_err(|source| EmulatorError::Bind {
            addr: options.listen,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| EmulatorError::Bind {
            addr: options.listen,
            source,
        })?;
        let advertise = options
            .advertise
            .clone()
            .unwrap_or_else(|| (addr.ip().to_string(), addr.port()));
        let broker = Arc::new(Broker::new(release, mode, &options, advertise)?);
        let recorder = Recorder::default();
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, Arc::clone(&broker), recorder.clone(), rx));
        Ok(Self {
            addr,
            broker,
            recorder,
            shutdown: tx,
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port` for clients.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// The emulated broker.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Records of the connections that have ended so far.
    pub fn records(&self) -> Vec<ConnRecord> {
        self.recorder.snapshot()
    }

    /// Waits until no connection is open (every record is in), at most
    /// `limit`; returns whether that happened. A connection the emulator
    /// closed is held for a short linger (to catch a client writing after
    /// the close) before its record is in.
    pub async fn settle(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.recorder.open_connections() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Stops accepting, ends every connection, and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
