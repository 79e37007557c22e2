//! A steady machine while measuring: which CPU runs what, and whether an
//! idle CPU sleeps.
//!
//! Two states of this machine moved our ratios more than any client did
//! (measured on the project's 2-core Firecracker VM, docs/benchmarks.md):
//!
//! - **Where threads run.** With the peer processes in the rounds, the
//!   bench's threads migrated ~5,000 times in a 300-round run instead of ~40,
//!   and our client's Metadata path came out 1.2–1.4× the floor instead of
//!   1.06–1.09×. So every thread is pinned. By default clients and brokers
//!   share **one CPU** (`KAFKA_MATRIX_BENCH_CPUS=one`): a round trip is then
//!   two local context switches, whatever the other CPUs do. On two CPUs
//!   (`two`: clients on one, brokers on another, as two machines would be)
//!   every round trip wakes a thread on the other CPU, which costs an
//!   interrupt that a busy CPU answers later than an idle one: under a
//!   background `cargo build` ratios between paths of unlike round-trip
//!   counts, and peers with threads of their own, moved by 17–47 % (342 of
//!   639 ratios within ±10 %), against 639 of 639 on one CPU. The peer
//!   processes inherit the bench thread's affinity; the emulators' threads
//!   and tansu are pinned to the brokers' CPU.
//! - **Whether an idle CPU halts.** A halted vCPU takes ~35–60 µs to wake, and
//!   the guest's `haltpoll` window decides whether it halts at all within a
//!   round trip: one warm round trip took 77 µs with the window at 0 and
//!   15 µs at 200 µs. The window is set for the run (and shrinking it turned
//!   off), then restored. Elsewhere a PM QoS request of 0 µs
//!   (`/dev/cpu_dma_latency`, held open for the run) keeps CPUs out of deep
//!   idle states, as `tuned`'s latency profiles do.
//! - **Who runs first.** A `cargo build` in the background took the CPU
//!   between a wake-up and our thread, more often for a path with more round
//!   trips or wake-ups, so ratios between unlike paths moved by up to 20–30 %
//!   under load. The bench's thread takes the lowest real-time priority
//!   (SCHED_FIFO 1, with `chrt`) before anything starts; the emulators'
//!   threads and the peer processes inherit it. It still yields whenever it
//!   blocks, and the kernel's real-time throttling (95 % of each second by
//!   default) keeps the rest of the machine alive.
//!
//! On one CPU idle states hardly matter (one of our threads is nearly always
//! runnable); on two they decide how fast the other side wakes.
//!
//! What was done, and what could not be, goes into run.json
//! ([`bench_schema::Tuning`]) and the report's header.
//! `KAFKA_MATRIX_BENCH_TUNE=0` leaves the machine alone.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::process::Command;
use std::sync::OnceLock;

use bench_schema::Tuning;
use core_affinity::CoreId;

use crate::settings::CPUS_ENV;

/// The haltpoll governor's knobs (drivers/cpuidle/governors/haltpoll.c).
const HALTPOLL: &str = "/sys/module/haltpoll/parameters";
/// The idle poll window while measuring, ns: longer than a round trip here.
const HALT_POLL_NS: &str = "200000";
/// The cpuidle driver in use.
const CPUIDLE_DRIVER: &str = "/sys/devices/system/cpu/cpuidle/current_driver";
/// The PM QoS CPU latency request (Documentation/power/pm_qos_interface.rst).
const CPU_DMA_LATENCY: &str = "/dev/cpu_dma_latency";

/// The brokers' CPU, for threads that start later (the emulators' runtime);
/// unset when nothing is pinned.
static BROKER_CPU: OnceLock<CoreId> = OnceLock::new();

/// Pins the calling thread to the brokers' CPU, if one was chosen.
pub fn pin_broker_thread() {
    if let Some(cpu) = BROKER_CPU.get() {
        core_affinity::set_for_current(*cpu);
    }
}

/// Runs `f` on a thread pinned to the brokers' CPU: a process it spawns
/// inherits that affinity (tansu).
pub fn on_broker_cpu<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            pin_broker_thread();
            f()
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// The machine as tuned; restores what it changed when dropped (also when
/// the bench panics; a run killed by a signal leaves the haltpoll knobs as
/// set, and the line printed at the start says how to put them back).
#[derive(Debug)]
pub struct Tuned {
    pub tuning: Tuning,
    /// (file, value before) of every knob written.
    restore: Vec<(String, String)>,
    /// The PM QoS request, in force while open.
    _qos: Option<File>,
}

impl Drop for Tuned {
    fn drop(&mut self) {
        for (path, before) in self.restore.drain(..).rev() {
            if let Err(e) = fs::write(&path, &before) {
                eprintln!("*** bench tuning: cannot restore {path} to {before:?}: {e}");
            }
        }
    }
}

/// Pins the calling thread (the bench's, which runs our client, the floors
/// and spawns the peers) to a CPU, chooses the brokers' (the same one, or
/// another with `KAFKA_MATRIX_BENCH_CPUS=two`), keeps idle CPUs awake and
/// raises the priority, unless `enabled` is false. Call before any runtime
/// or process starts.
pub fn tune(enabled: bool) -> Tuned {
    let mut tuned = Tuned {
        tuning: Tuning {
            enabled,
            ..Tuning::default()
        },
        restore: Vec::new(),
        _qos: None,
    };
    if !enabled {
        tuned
            .tuning
            .notes
            .push("KAFKA_MATRIX_BENCH_TUNE=0: the machine as found".to_owned());
        return tuned;
    }
    tuned.pin();
    tuned.keep_awake();
    tuned.first();
    tuned
}

impl Tuned {
    /// A step left undone, and why (printed with the whole state when the
    /// run starts).
    fn note(&mut self, what: String) {
        self.tuning.notes.push(what);
    }

    fn pin(&mut self) {
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let two = match std::env::var(CPUS_ENV).as_deref() {
            Ok("two") => true,
            Ok("one") | Err(_) => false,
            Ok(other) => {
                self.note(format!("{CPUS_ENV}={other:?} is neither \"one\" nor \"two\": one CPU"));
                false
            }
        };
        let broker = if two { cores.get(1) } else { cores.first() };
        let (Some(client), Some(broker)) = (cores.first().copied(), broker.copied()) else {
            self.note(format!("{} CPU(s) available to this process: not pinned", cores.len()));
            return;
        };
        if !core_affinity::set_for_current(client) {
            self.note(format!(
                "cannot pin the bench's thread to CPU {}: not pinned",
                client.id
            ));
            return;
        }
        let _ = BROKER_CPU.set(broker);
        self.tuning.client_cpu = Some(client.id);
        self.tuning.broker_cpu = Some(broker.id);
    }

    /// SCHED_FIFO 1 for this thread (and what it starts), with `chrt`
    /// (util-linux): this crate has no unsafe code for a `sched_setscheduler`.
    fn first(&mut self) {
        let pid = std::process::id().to_string();
        match Command::new("chrt").args(["--fifo", "--pid", "1", &pid]).output() {
            Ok(out) if out.status.success() => {
                self.tuning.priority =
                    Some("SCHED_FIFO 1 (inherited by the emulators' threads and the peers)".to_owned());
            }
            Ok(out) => self.note(format!(
                "chrt --fifo: {}; normal priority, a background load can delay a wake-up",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => self.note(format!(
                "chrt: {e}; normal priority, a background load can delay a wake-up"
            )),
        }
    }

    fn keep_awake(&mut self) {
        let driver = fs::read_to_string(CPUIDLE_DRIVER).map(|d| d.trim().to_owned()).ok();
        if driver.as_deref() == Some("haltpoll") {
            match self.haltpoll() {
                Ok(what) => self.tuning.idle = Some(what),
                Err(e) => self.note(format!(
                    "haltpoll left as found ({e}); idle vCPUs may halt mid round trip"
                )),
            }
            return;
        }
        let request = OpenOptions::new()
            .write(true)
            .open(CPU_DMA_LATENCY)
            .and_then(|mut f| f.write_all(&0i32.to_ne_bytes()).map(|()| f));
        match request {
            Ok(f) => {
                self._qos = Some(f);
                self.tuning.idle = Some(format!(
                    "PM QoS CPU latency 0 µs ({CPU_DMA_LATENCY}, cpuidle driver {})",
                    driver.as_deref().unwrap_or("none")
                ));
            }
            Err(e) => self.note(format!("{CPU_DMA_LATENCY}: {e}; idle CPUs may sleep deeply")),
        }
    }

    /// Widens the haltpoll window and stops it shrinking; says what it did.
    fn haltpoll(&mut self) -> Result<String, String> {
        let knob = |name: &str| format!("{HALTPOLL}/{name}");
        let read = |path: &str| {
            fs::read_to_string(path)
                .map(|v| v.trim().to_owned())
                .map_err(|e| format!("{path}: {e}"))
        };
        let (window, shrink) = (knob("guest_halt_poll_ns"), knob("guest_halt_poll_allow_shrink"));
        let (window_before, shrink_before) = (read(&window)?, read(&shrink)?);
        for (path, before, value) in [(&window, &window_before, HALT_POLL_NS), (&shrink, &shrink_before, "N")] {
            fs::write(path, value).map_err(|e| format!("{path}: {e}"))?;
            self.restore.push((path.clone(), before.clone()));
        }
        Ok(format!(
            "haltpoll window {window_before} → {HALT_POLL_NS} ns, shrink {shrink_before} → N (restored after the run; \
             after a kill: echo {window_before} > {window}; echo {shrink_before} > {shrink})"
        ))
    }
}
