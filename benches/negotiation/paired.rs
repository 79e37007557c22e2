//! Paired, interleaved sampling.
//!
//! Per broker, each round runs every contender once, back to back, in an
//! order that rotates from round to round (and reverses every other cycle,
//! so that each contender also follows different ones). A measurement is one
//! operation, timed by whoever performs it. Because the contenders of a round
//! run within a few milliseconds of each other, a change of machine load hits
//! them alike, and the ratio of two contenders *within a round* cancels it;
//! the report takes its ratios that way. Rounds visit every broker in turn,
//! so a slow minute is spread over all brokers rather than landing on one.
//!
//! Neighbours matter, so the order is built to cancel them (see [`run`]).
//! Measured on this 2-core machine: a measurement right after a peer
//! process's (milliseconds in which the emulator's threads went idle and
//! another process had the caches) came out 1.4× slower than the very same
//! frames sent a moment later, even after a warm-up ping; and of two
//! in-process neighbours the second was about 10 % faster. Hence: one
//! unmeasured ping on a kept-open connection before every measurement, an
//! unmeasured measurement at the start of every broker's round, the bench's
//! own contenders in one block and the peer processes' in another, and every
//! contender twice per round, once in each direction.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bench_schema::peer::Request;
use bench_schema::run::{round_sequence, round_value};
use bench_schema::{Finding, PairedGroup, RoundTrips, Series, Settings};
use bytes::Bytes;
use kafka_matrix::client::{ApiVersionsMemo, Client, ClientConfig};
use tokio::runtime::Runtime;

use crate::floor::Raw;
use crate::ours;
use crate::peers::Peer;

/// How one contender is measured.
pub enum Op<'a> {
    /// Our client: connect (negotiate), and Metadata if asked.
    Ours {
        addr: &'a str,
        config: &'a Arc<ClientConfig>,
        metadata: bool,
    },
    /// Our client through the memo (the reconnect option).
    OursRemembered {
        addr: &'a str,
        config: &'a Arc<ClientConfig>,
        memo: &'a ApiVersionsMemo,
        metadata: bool,
    },
    /// The floor: these frames on a new connection, one reply each.
    Floor { sock: SocketAddr, frames: Vec<Bytes> },
    /// Our client's pings on a connection kept open (time per ping).
    PingOurs { client: Box<Client>, n: u32 },
    /// The floor's pings on a connection kept open (time per ping).
    PingFloor { raw: Raw, frame: Bytes, n: u32 },
    /// A peer process's client (index into the peers).
    Peer { peer: usize, addr: &'a str },
    /// The floor's frames, sent from a peer process.
    PeerFloor {
        peer: usize,
        addr: &'a str,
        frames: Vec<Vec<u8>>,
    },
    /// A no-op request to a peer process, timed here.
    PeerIpc { peer: usize },
}

/// One series of a broker's round.
pub struct Contender<'a> {
    pub client: String,
    /// The floor series with as many round trips (the same requests where
    /// it can), if any.
    pub floor: Option<String>,
    /// For a peer: our series with as many round trips, if any.
    pub equal_round_trips: Option<String>,
    pub round_trips: Option<RoundTrips>,
    pub op: Op<'a>,
}

/// A connection kept open to a broker, and the ping that wakes it.
pub struct Warm {
    pub raw: Raw,
    pub ping: Bytes,
}

/// The contenders of one broker.
pub struct Lineup<'a> {
    pub broker: String,
    pub warm: Warm,
    pub contenders: Vec<Contender<'a>>,
}

fn ns_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// One measurement. Our client and the floor panic on failure (their paths
/// were checked before); a peer's failure is returned.
fn measure(op: &mut Op<'_>, rt: &Runtime, peers: &mut [Peer], round: u64) -> Result<u64, String> {
    match op {
        Op::Ours { addr, config, metadata } => Ok(rt.block_on(async {
            let started = Instant::now();
            let mut client = ours::connect(addr, config).await;
            if *metadata {
                std::hint::black_box(client.metadata(None).await.expect("Metadata failed"));
            }
            let ns = ns_since(started);
            drop(client);
            ns
        })),
        Op::OursRemembered {
            addr,
            config,
            memo,
            metadata,
        } => Ok(rt.block_on(async {
            let started = Instant::now();
            let mut client = ours::connect_remembered(memo, addr, config).await;
            if *metadata {
                std::hint::black_box(client.metadata(None).await.expect("Metadata failed"));
            }
            let ns = ns_since(started);
            drop(client);
            ns
        })),
        Op::Floor { sock, frames } => Ok(rt.block_on(async {
            let started = Instant::now();
            let mut conn = Raw::connect(*sock).await;
            for frame in frames.iter() {
                std::hint::black_box(conn.exchange(frame).await);
            }
            let ns = ns_since(started);
            drop(conn);
            ns
        })),
        Op::PingOurs { client, n } => Ok(rt.block_on(async {
            let started = Instant::now();
            for _ in 0..*n {
                std::hint::black_box(client.ping().await.expect("ping failed"));
            }
            ns_since(started) / u64::from(*n)
        })),
        Op::PingFloor { raw, frame, n } => Ok(rt.block_on(async {
            let started = Instant::now();
            for _ in 0..*n {
                std::hint::black_box(raw.exchange(frame).await);
            }
            ns_since(started) / u64::from(*n)
        })),
        Op::Peer { peer, addr } => peers[*peer].timed(&Request::Run {
            round,
            addr: (*addr).to_owned(),
        }),
        Op::PeerFloor { peer, addr, frames } => peers[*peer].timed(&Request::Floor {
            round,
            addr: (*addr).to_owned(),
            frames: frames.clone(),
        }),
        Op::PeerIpc { peer } => peers[*peer].noop(round),
    }
}

impl Op<'_> {
    /// Whether it runs in a peer process.
    fn in_peer(&self) -> bool {
        matches!(self, Op::Peer { .. } | Op::PeerFloor { .. } | Op::PeerIpc { .. })
    }
}

/// Runs `settings.warmup_rounds + settings.rounds` rounds over every lineup
/// and keeps the last `settings.rounds`.
///
/// One broker's round: an unmeasured measurement first (whatever ran before,
/// a peer's milliseconds or another broker's round, is paid for there), then
/// the bench's own contenders, then the peer processes', each block in the
/// order `bench_schema::run::round_sequence` gives (rotated, then mirrored:
/// every contender twice, once in each direction, so that which of two
/// neighbours runs first averages out within the round). A round's value is
/// the fastest of a contender's two (`bench_schema::run::round_value`), and
/// both are kept in the run log. A peer that fails is dropped from that
/// broker for the rest of the group, with a finding.
pub fn run(
    rt: &Runtime,
    peers: &mut [Peer],
    group: &str,
    what: &str,
    mut lineups: Vec<Lineup<'_>>,
    settings: &Settings,
    findings: &mut Vec<Finding>,
) -> PairedGroup {
    let (warmup, kept) = (settings.warmup_rounds as usize, settings.rounds as usize);
    // Per lineup, per contender, per kept round: the measurements taken.
    let mut samples: Vec<Vec<Vec<Vec<u64>>>> = lineups
        .iter()
        .map(|l| vec![Vec::with_capacity(kept); l.contenders.len()])
        .collect();
    let mut dead: Vec<Vec<bool>> = lineups.iter().map(|l| vec![false; l.contenders.len()]).collect();
    let total = warmup + kept;
    let started = Instant::now();
    let mut reported = 0;
    for round in 0..total {
        for (b, lineup) in lineups.iter_mut().enumerate() {
            let (own, elsewhere): (Vec<usize>, Vec<usize>) =
                (0..lineup.contenders.len()).partition(|i| !lineup.contenders[*i].op.in_peer());
            let mut taken: Vec<Vec<u64>> = vec![Vec::with_capacity(2); lineup.contenders.len()];
            let mut sequence: Vec<usize> = round_sequence(own.len(), round).into_iter().map(|k| own[k]).collect();
            sequence.extend(round_sequence(elsewhere.len(), round).into_iter().map(|k| elsewhere[k]));
            if let Some(&first) = sequence.first() {
                warm_up(rt, &mut lineup.warm);
                // Unmeasured: it pays for whatever ran before this round.
                let _ = measure(&mut lineup.contenders[first].op, rt, peers, round as u64);
            }
            for i in sequence {
                if dead[b][i] {
                    continue;
                }
                warm_up(rt, &mut lineup.warm);
                let c = &mut lineup.contenders[i];
                match measure(&mut c.op, rt, peers, round as u64) {
                    Ok(ns) => taken[i].push(ns),
                    Err(e) => {
                        let what = format!("failed in round {round}: {e}; left out for the rest of the group");
                        eprintln!(
                            "\n*** FINDING: {} against {} ({group}): {what}\n",
                            c.client, lineup.broker
                        );
                        findings.push(Finding {
                            group: group.to_owned(),
                            client: c.client.clone(),
                            broker: lineup.broker.clone(),
                            what,
                        });
                        dead[b][i] = true;
                    }
                }
            }
            if round >= warmup {
                for (i, t) in taken.into_iter().enumerate() {
                    // A round a contender failed in has no value at all.
                    samples[b][i].push(if dead[b][i] { Vec::new() } else { t });
                }
            }
        }
        let tenth = (round + 1) * 10 / total;
        if tenth > reported {
            reported = tenth;
            eprintln!(
                "{group}: round {}/{total} ({} brokers) after {:.1} s",
                round + 1,
                lineups.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let mut series = Vec::new();
    for (lineup, samples) in lineups.into_iter().zip(samples) {
        for (c, samples) in lineup.contenders.into_iter().zip(samples) {
            series.push(Series {
                ns: samples.iter().map(|t| round_value(t)).collect(),
                samples,
                broker: lineup.broker.clone(),
                client: c.client,
                floor: c.floor,
                equal_round_trips: c.equal_round_trips,
                round_trips: c.round_trips,
            });
        }
    }
    PairedGroup {
        group: group.to_owned(),
        what: what.to_owned(),
        series,
    }
}

/// One unmeasured ping on the broker's kept-open connection.
fn warm_up(rt: &Runtime, warm: &mut Warm) {
    rt.block_on(async {
        std::hint::black_box(warm.raw.exchange(&warm.ping).await);
    });
}
