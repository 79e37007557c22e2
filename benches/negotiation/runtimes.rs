//! Threads: the measured clients run on the bench's own thread (a
//! current-thread runtime); the emulators on a two-worker runtime of their
//! own, as a broker is another process; peers are other processes.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

/// The clients' runtime: one thread, the bench's own.
pub fn clients() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime")
}

/// The emulators' runtime: two worker threads of their own. With clients and
/// emulator on one shared multi-thread runtime, each exchange was fast or
/// slow (about 20 vs 70 µs for a warm ping) depending on whether both tasks
/// landed on the same worker.
pub fn server() -> &'static Runtime {
    static SERVER: OnceLock<Runtime> = OnceLock::new();
    SERVER.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("emulator")
            .on_thread_start(crate::tune::pin_broker_thread)
            .enable_all()
            .build()
            .expect("cannot build the emulators' tokio runtime")
    })
}
