//! `run.json`: what one run of `benches/negotiation.rs` measured.
//!
//! The bench writes it at the end of a run (`$CARGO_TARGET_DIR/kafka-matrix/bench/run.json`);
//! `tools/bench-report` reads it, together with criterion's files for the
//! ids in [`RunLog::criterion`].
//!
//! Paired groups hold raw values: for every (broker, client) one value per
//! round, in ns per operation. Within a round the clients of one broker ran
//! back to back, so the ratio of two series *at the same round index* is taken
//! under the same machine load; that is what the report's ratios are made of.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::machine::{LoadAvg, Machine};

/// `RunLog::schema` of this layout.
pub const SCHEMA: &str = "kafka-matrix-bench-run/2";

/// Names shared by the bench and the report: groups and clients.
pub mod names {
    /// New connection, whole ApiVersions negotiation, one Metadata (all topics).
    pub const G_METADATA: &str = "connect_api_versions_metadata";
    /// New connection and the ApiVersions negotiation.
    pub const G_CONNECT: &str = "connect_api_versions";
    /// ApiVersions on a connection kept open.
    pub const G_PING: &str = "ping_warm";
    /// Criterion: emulator start to first answer.
    pub const G_START: &str = "emulator_start";
    /// Criterion: new-connection negotiations from concurrent raw clients.
    pub const G_CONNS: &str = "emulator_new_connections";
    /// Criterion: pipelined ApiVersions on one connection.
    pub const G_PIPE: &str = "emulator_pipelined";

    /// Our client as a fresh process has it: ApiVersions from v4 (the newest).
    pub const OURS: &str = "kafka-matrix";
    /// Our client started at ApiVersions v3 (where rskafka and librdkafka start).
    pub const OURS_V3: &str = "kafka-matrix-v3";
    /// Our client with a per-address memory of the ApiVersions version the
    /// broker accepted last time (the reconnect option).
    pub const OURS_REMEMBERED: &str = "kafka-matrix-remembered";
    /// The raw TCP floor replaying [`OURS`]'s frames, in the bench's process.
    pub const FLOOR: &str = "tcp-floor";
    /// The floor replaying [`OURS_V3`]'s frames.
    pub const FLOOR_V3: &str = "tcp-floor-v3";
    /// The floor replaying [`OURS_REMEMBERED`]'s frames.
    pub const FLOOR_REMEMBERED: &str = "tcp-floor-remembered";
    /// [`FLOOR`]'s frames sent from a peer process: what running in another
    /// process costs a client that does nothing else.
    pub const FLOOR_PROC: &str = "tcp-floor-proc";
    /// rskafka in a peer process.
    pub const RSKAFKA: &str = "rskafka";
    /// librdkafka as the system has it (Debian: 2.0.2), in a peer process.
    pub const LIBRDKAFKA_SYSTEM: &str = "librdkafka-system";
    /// librdkafka as the rdkafka crate bundles it today, in a peer process.
    pub const LIBRDKAFKA_BUNDLED: &str = "librdkafka-bundled";
    /// A no-op request to a peer process, timed by the bench: the IPC cost,
    /// which no peer's figure contains (peers time themselves).
    pub const PEER_IPC: &str = "peer-ipc";

    /// The floor replaying a peer's own requests (as the emulator recorded
    /// them), sent from a peer process: what the peer's round trips cost
    /// without the peer.
    pub fn floor_as(peer: &str) -> String {
        format!("tcp-floor-as-{peer}")
    }
}

/// What this run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunLog {
    /// [`SCHEMA`].
    pub schema: String,
    /// Seconds since the epoch when the run started; criterion files older
    /// than this were not measured by this run.
    pub started_unix: u64,
    /// When it finished.
    pub finished_unix: u64,
    /// `git rev-parse --short HEAD`, with `-dirty` when the tree had changes.
    pub commit: Option<String>,
    /// Where it ran.
    pub machine: Machine,
    /// Load averages when the run started and when it ended.
    pub load_start: Option<LoadAvg>,
    pub load_end: Option<LoadAvg>,
    /// How the paired groups were sampled.
    pub settings: Settings,
    /// The machine's state while measuring (absent in runs before it was kept).
    #[serde(default)]
    pub tuning: Tuning,
    /// "embedded emulator" or "external broker host:port".
    pub backend: String,
    /// Every broker, in order.
    pub brokers: Vec<BrokerInfo>,
    /// Every client that appears in a series.
    pub clients: Vec<ClientInfo>,
    /// The paired, interleaved groups.
    pub paired: Vec<PairedGroup>,
    /// Every criterion id this run measured.
    pub criterion: Vec<CriterionId>,
    /// Peers that failed against a broker, brokers or peers that are missing.
    pub findings: Vec<Finding>,
    /// Which release the emulator-cost groups used.
    pub emulator_cost_release: Option<String>,
    /// Elements per iteration of the criterion throughput groups.
    pub elements: BTreeMap<String, u64>,
}

/// How the paired groups were sampled.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Settings {
    /// "full", "quick", "smoke" or "test" (one round, nothing written).
    pub profile: String,
    /// Rounds kept per (group, broker).
    pub rounds: u32,
    /// Rounds run first and thrown away.
    pub warmup_rounds: u32,
    /// Pings per measurement in the warm-ping group.
    pub pings_per_measurement: u32,
    /// How a round's measurements of one contender make its value in
    /// [`Series::ns`] ([`PER_ROUND`] now; runs before it took the mean).
    #[serde(default = "per_round_before")]
    pub per_round: String,
}

/// What the bench did to keep the machine steady while measuring
/// (`benches/negotiation/tune.rs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tuning {
    /// Whether tuning was asked for (`KAFKA_MATRIX_BENCH_TUNE`, default on).
    pub enabled: bool,
    /// The CPU of the measured clients (the bench's thread, the peer
    /// processes), if pinned.
    pub client_cpu: Option<usize>,
    /// The CPU of the brokers (the emulators' threads, tansu), if pinned.
    pub broker_cpu: Option<usize>,
    /// How idle CPUs were kept from sleeping deeply, if they were.
    pub idle: Option<String>,
    /// The scheduling priority of the measured threads and processes, if
    /// raised.
    #[serde(default)]
    pub priority: Option<String>,
    /// What was left as found, and why; one line each.
    pub notes: Vec<String>,
}

impl Tuning {
    /// One line for a report's header.
    pub fn summary(&self) -> String {
        let pinned = match (self.client_cpu, self.broker_cpu) {
            (Some(c), Some(b)) if c == b => format!("clients and brokers pinned to CPU {c}"),
            (Some(c), Some(b)) => format!("clients pinned to CPU {c}, brokers to CPU {b}"),
            _ => "threads not pinned".to_owned(),
        };
        let idle = self.idle.as_deref().unwrap_or("idle CPUs as found");
        let priority = self.priority.as_deref().unwrap_or("normal priority");
        let mut line = format!("{pinned}; {idle}; {priority}");
        for n in &self.notes {
            line.push_str("; ");
            line.push_str(n);
        }
        line
    }
}

/// How a round's value is made from its measurements of one contender: the
/// fastest. See [`round_value`].
pub const PER_ROUND: &str = "min";

fn per_round_before() -> String {
    "mean".to_owned()
}

/// A contender's value in one round: the fastest of its measurements
/// ([`PER_ROUND`]); `None` without any.
///
/// Interference only ever adds time (a preempted thread, a vCPU woken from
/// halt, a cache another process emptied), so of a round's measurements the
/// fastest is the one least disturbed, and of two contenders measured in the
/// same round, both fastest values were taken under the same conditions.
/// The mean mixed into each round whatever share of disturbed measurements
/// that minute had, which is what moved ratios between runs.
pub fn round_value(samples: &[u64]) -> Option<u64> {
    samples.iter().copied().min()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerInfo {
    /// The broker's label (the emulated release, `tansu-…`, `external`).
    pub label: String,
    /// "emulator", "tansu" or "external".
    pub kind: String,
    /// One line: what it is and where.
    pub description: String,
    /// What our (fresh) client negotiated with it.
    pub api_versions: i16,
    pub metadata: i16,
    /// The ApiVersions versions our client sends, per path ([`OURS`](names::OURS),
    /// [`OURS_V3`](names::OURS_V3), [`OURS_REMEMBERED`](names::OURS_REMEMBERED)).
    pub paths: BTreeMap<String, Vec<i16>>,
}

/// Who a client is in the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// This project's client: what baselines gate on.
    Ours,
    /// A raw TCP replay of some client's frames.
    Floor,
    /// Another client.
    Peer,
    /// Not a client: a cost of the measurement itself.
    Overhead,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub name: String,
    pub role: Role,
    /// Its version ("0.6.0", "2.12.1", this crate's version for ours).
    pub version: String,
    /// "bench process" or the peer binary it runs in.
    pub process: String,
    /// One line: what one measurement of it is.
    pub what: String,
}

/// One paired group: every (broker, client) series, rounds aligned.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PairedGroup {
    pub group: String,
    /// What one measurement is.
    pub what: String,
    pub series: Vec<Series>,
}

impl PairedGroup {
    pub fn series(&self, broker: &str, client: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.broker == broker && s.client == client)
    }
}

/// Kafka requests (round trips) on the wire for one measurement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundTrips {
    /// TCP connections opened.
    pub connections: u32,
    /// Requests sent (each one a round trip: nobody here pipelines).
    pub requests: u32,
    /// E.g. "ApiVersions v4 (refused), ApiVersions v3, Metadata v12".
    pub detail: String,
}

/// One (broker, client) in a paired group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub broker: String,
    pub client: String,
    /// The floor series with as many round trips (the very same requests
    /// where there is one), if any: the like-for-like ratio. For our client
    /// and the floors, the same frames; for a peer, as the bench chose it
    /// from the requests the emulator recorded.
    pub floor: Option<String>,
    /// For a peer: our series with as many round trips (one connection, as
    /// many requests), if any: the like-for-like comparison of the clients.
    #[serde(default)]
    pub equal_round_trips: Option<String>,
    /// What it sent, as the emulator recorded it (`None` where the broker
    /// cannot tell, e.g. tansu for a peer).
    pub round_trips: Option<RoundTrips>,
    /// ns per operation, one per round ([`round_value`] of that round's
    /// `samples`); `None` where that round has no value.
    pub ns: Vec<Option<u64>>,
    /// Every measurement, per round, in the order taken (empty where the
    /// round has none; absent in runs before it was kept).
    #[serde(default)]
    pub samples: Vec<Vec<u64>>,
}

/// One criterion benchmark id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionId {
    pub group: String,
    pub function: String,
    pub parameter: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The group, or "*" for the whole run.
    pub group: String,
    /// The client, or "*".
    pub client: String,
    /// The broker, or what the note is about ("tansu", "host TCP").
    pub broker: String,
    pub what: String,
}

impl RunLog {
    /// An empty log of this schema, started now.
    pub fn new(started_unix: u64) -> Self {
        Self {
            schema: SCHEMA.to_owned(),
            started_unix,
            ..Default::default()
        }
    }

    /// Notes a finding (and prints it).
    pub fn finding(&mut self, group: &str, client: &str, broker: &str, what: String) {
        if group == "*" {
            eprintln!("\n*** {broker}: {what}\n");
        } else {
            eprintln!("\n*** FINDING: {client} against {broker} ({group}): {what}; not measured\n");
        }
        self.findings.push(Finding {
            group: group.to_owned(),
            client: client.to_owned(),
            broker: broker.to_owned(),
            what,
        });
    }

    pub fn group(&self, group: &str) -> Option<&PairedGroup> {
        self.paired.iter().find(|g| g.group == group)
    }

    pub fn client(&self, name: &str) -> Option<&ClientInfo> {
        self.clients.iter().find(|c| c.name == name)
    }
}

/// The order of `n` contenders in round `round`: rotated by the round, and
/// reversed every other cycle, so that over `2n` rounds each contender takes
/// every position and follows two different contenders.
pub fn round_order(n: usize, round: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut o: Vec<usize> = (0..n).map(|i| (i + round) % n).collect();
    if !(round / n).is_multiple_of(2) {
        o.reverse();
    }
    o
}

/// One block of `n` contenders in round `round`: [`round_order`], then the
/// same order reversed. Every contender runs twice, and of any two
/// neighbours each runs first once, so an effect of running second cancels
/// within the round.
pub fn round_sequence(n: usize, round: usize) -> Vec<usize> {
    let forward = round_order(n, round);
    let mut all = forward.clone();
    all.extend(forward.iter().rev());
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_runs_everyone_twice_in_both_directions() {
        assert_eq!(round_sequence(3, 1), vec![1, 2, 0, 0, 2, 1]);
        for n in 0..6 {
            for r in 0..2 * n {
                let s = round_sequence(n, r);
                assert_eq!(s.len(), 2 * n);
                for c in 0..n {
                    assert_eq!(s.iter().filter(|x| **x == c).count(), 2);
                }
            }
        }
    }

    #[test]
    fn every_contender_takes_every_position() {
        let n = 4;
        let orders: Vec<Vec<usize>> = (0..2 * n).map(|r| round_order(n, r)).collect();
        for c in 0..n {
            let positions: std::collections::BTreeSet<usize> = orders
                .iter()
                .map(|o| o.iter().position(|x| *x == c).expect("present"))
                .collect();
            assert_eq!(positions.len(), n, "contender {c} takes every position");
            let predecessors: std::collections::BTreeSet<usize> = orders
                .iter()
                .filter_map(|o| o.iter().position(|x| *x == c).filter(|p| *p > 0).map(|p| o[p - 1]))
                .collect();
            assert!(predecessors.len() >= 2, "contender {c} follows {predecessors:?}");
        }
        assert_eq!(round_order(3, 0), vec![0, 1, 2]);
        assert_eq!(round_order(3, 1), vec![1, 2, 0]);
        assert_eq!(round_order(3, 3), vec![2, 1, 0]);
        assert!(round_order(0, 5).is_empty());
    }

    #[test]
    fn a_rounds_value_is_its_fastest_measurement() {
        assert_eq!(round_value(&[30, 10, 20]), Some(10));
        assert_eq!(round_value(&[]), None);
    }

    #[test]
    fn a_run_before_the_fastest_was_kept_says_it_took_the_mean() {
        let old = r#"{"profile":"quick","rounds":1,"warmup_rounds":0,"pings_per_measurement":16}"#;
        let s: Settings = serde_json::from_str(old).expect("old settings parse");
        assert_eq!(s.per_round, "mean");
    }

    #[test]
    fn the_machine_state_reads_as_one_line() {
        let mut t = Tuning {
            enabled: true,
            client_cpu: Some(0),
            broker_cpu: Some(0),
            idle: Some("haltpoll window 0 → 200000 ns".to_owned()),
            priority: None,
            notes: vec!["chrt: not permitted".to_owned()],
        };
        assert_eq!(
            t.summary(),
            "clients and brokers pinned to CPU 0; haltpoll window 0 → 200000 ns; normal priority; chrt: not permitted"
        );
        t.broker_cpu = Some(1);
        assert!(t.summary().starts_with("clients pinned to CPU 0, brokers to CPU 1;"));
        assert!(Tuning::default()
            .summary()
            .starts_with("threads not pinned; idle CPUs as found"));
    }

    #[test]
    fn a_run_log_round_trips_through_json() {
        let mut log = RunLog::new(7);
        log.paired.push(PairedGroup {
            group: names::G_METADATA.to_owned(),
            what: "w".to_owned(),
            series: vec![Series {
                broker: "3.8".to_owned(),
                client: names::OURS.to_owned(),
                floor: Some(names::FLOOR.to_owned()),
                equal_round_trips: None,
                round_trips: Some(RoundTrips {
                    connections: 1,
                    requests: 3,
                    detail: "ApiVersions v4 (refused), ApiVersions v3, Metadata v12".to_owned(),
                }),
                ns: vec![Some(1), None, Some(3)],
                samples: vec![vec![1, 2], vec![], vec![4, 3]],
            }],
        });
        log.finding("*", "*", "tansu", "left out".to_owned());
        let text = serde_json::to_string(&log).expect("serializes");
        let back: RunLog = serde_json::from_str(&text).expect("deserializes");
        assert_eq!(back.schema, SCHEMA);
        assert_eq!(back.paired[0].series, log.paired[0].series);
        assert_eq!(back.findings, log.findings);
        let g = back.group(names::G_METADATA).expect("group");
        assert_eq!(g.series("3.8", names::OURS).map(|s| s.ns.len()), Some(3));
    }
}
