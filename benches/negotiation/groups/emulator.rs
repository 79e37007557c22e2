//! The emulator's own costs, with criterion: absolute figures of one
//! implementation, with no contender to pair with; criterion's statistics,
//! its baselines and critcmp fit them. On one release (3.8 if selected,
//! else the newest emulated one).
//!
//! - `emulator_start`: start (bind, spawn) to the first ApiVersions answer on
//!   a new connection;
//! - `emulator_new_connections`: negotiations on new connections from
//!   [`CONN_TASKS`] concurrent raw clients;
//! - `emulator_pipelined`: ApiVersions written [`PIPELINE_DEPTH`] at a time on
//!   one connection, then the replies read.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_schema::run::names::{G_CONNS, G_PIPE, G_START};
use bench_schema::{CriterionId, RunLog};
use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use kafka_matrix::emulator::{Emulator, EmulatorOptions, SeededTopic};
use kafka_matrix::versions::{Mode, Release};
use tokio::runtime::Runtime;
use tokio::sync::Mutex;

use crate::brokers::{self, selected, Target, PARTITIONS, TOPIC};
use crate::floor::{api_versions_frame, Raw};

/// Concurrent raw clients in `emulator_new_connections`.
const CONN_TASKS: usize = 4;
/// Negotiations per client per iteration of `emulator_new_connections`.
const CONNS_PER_TASK: usize = 16;
/// Requests written before reading in `emulator_pipelined`.
const PIPELINE_DEPTH: usize = 1000;
/// The function name of every id here.
const FUNCTION: &str = "emulator";

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    // Every sample has the same number of iterations, so percentiles over
    // samples weigh them alike.
    g.sampling_mode(SamplingMode::Flat);
    g
}

fn measured(log: &mut RunLog, group: &str, parameter: &str) {
    log.criterion.push(CriterionId {
        group: group.to_owned(),
        function: FUNCTION.to_owned(),
        parameter: parameter.to_owned(),
    });
}

/// Picks the release and runs the three groups.
pub fn costs(c: &mut Criterion, rt: &Runtime, targets: &[Target], log: &mut RunLog) {
    let emulated: Vec<_> = targets.iter().filter(|t| t.emulator().is_some()).collect();
    let chosen = emulated
        .iter()
        .find(|t| t.label == "3.8")
        .or_else(|| emulated.last())
        .copied();
    // External mode: the emulator is still here to be measured.
    let own;
    let t = match chosen {
        Some(t) => t,
        None => {
            let (release, mode) = *selected().last().expect("no release selected");
            own = brokers::emulated(rt, release, mode);
            &own
        }
    };
    let (_, release, mode) = t.emulator().expect("an emulated target");
    costs_on(c, rt, t, release, mode, log);
}

fn costs_on(c: &mut Criterion, rt: &Runtime, t: &Target, release: Release, mode: Mode, log: &mut RunLog) {
    let label = t.label.clone();
    log.emulator_cost_release = Some(format!("{release} ({mode})"));
    let wire = &t.fresh.wire;
    let ready = wire.negotiation.last().expect("a negotiation has a frame").clone();

    // Start to first answer. The emulator runs on the caller's runtime here,
    // as in a test that starts one. Shutting down is not timed.
    let mut g = group(c, G_START);
    measured(log, G_START, &label);
    g.bench_function(BenchmarkId::new(FUNCTION, &label), |b| {
        b.to_async(rt).iter_custom(|iters| {
            let ready = ready.clone();
            async move {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let options = EmulatorOptions {
                        topics: vec![SeededTopic::new(TOPIC, PARTITIONS)],
                        ..Default::default()
                    };
                    let emulator = Emulator::start(release, mode, options)
                        .await
                        .expect("cannot start the emulator");
                    let mut conn = Raw::connect(emulator.addr()).await;
                    black_box(conn.exchange(&ready).await);
                    timed += started.elapsed();
                    drop(conn);
                    emulator.shutdown().await;
                }
                timed
            }
        })
    });
    g.finish();

    // New-connection negotiations: CONN_TASKS raw clients at once, each
    // connecting CONNS_PER_TASK times and replaying the negotiation.
    let per_iter = (CONN_TASKS * CONNS_PER_TASK) as u64;
    log.elements.insert(G_CONNS.to_owned(), per_iter);
    let mut g = group(c, G_CONNS);
    g.throughput(Throughput::Elements(per_iter));
    let negotiation = Arc::new(wire.negotiation.clone());
    measured(log, G_CONNS, &label);
    g.bench_function(BenchmarkId::new(FUNCTION, &label), |b| {
        b.to_async(rt).iter(|| {
            let negotiation = Arc::clone(&negotiation);
            let sock = t.sock;
            async move {
                let tasks: Vec<_> = (0..CONN_TASKS)
                    .map(|_| {
                        let negotiation = Arc::clone(&negotiation);
                        tokio::spawn(async move {
                            for _ in 0..CONNS_PER_TASK {
                                let mut conn = Raw::connect(sock).await;
                                for frame in negotiation.iter() {
                                    black_box(conn.exchange(frame).await);
                                }
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("a negotiation task panicked");
                }
            }
        })
    });
    g.finish();

    // Pipelined ApiVersions on one negotiated connection.
    log.elements.insert(G_PIPE.to_owned(), PIPELINE_DEPTH as u64);
    let session = &t.fresh.config.session;
    let mut frames = BytesMut::new();
    for i in 0..PIPELINE_DEPTH {
        let id = 1000 + i32::try_from(i).expect("pipeline depth fits i32");
        frames.extend_from_slice(&api_versions_frame(session, id, t.fresh.api_versions));
    }
    let frames = frames.freeze();
    let conn = rt.block_on(async {
        let mut conn = Raw::connect(t.sock).await;
        for frame in &wire.negotiation {
            conn.exchange(frame).await;
        }
        let got = conn.pipeline(&frames, PIPELINE_DEPTH).await;
        let want: Vec<i32> = (1000..1000 + PIPELINE_DEPTH as i32).collect();
        assert_eq!(got, want, "pipelined replies out of order or missing");
        conn
    });
    let conn = Arc::new(Mutex::new(conn));
    let mut g = group(c, G_PIPE);
    g.throughput(Throughput::Elements(PIPELINE_DEPTH as u64));
    measured(log, G_PIPE, &label);
    g.bench_function(BenchmarkId::new(FUNCTION, &label), |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (conn, frames) = (Arc::clone(&conn), frames.clone());
            async move {
                let mut conn = conn.lock().await;
                let started = Instant::now();
                for _ in 0..iters {
                    black_box(conn.pipeline(&frames, PIPELINE_DEPTH).await);
                }
                started.elapsed()
            }
        })
    });
    g.finish();
}
