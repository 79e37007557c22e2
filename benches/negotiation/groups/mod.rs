//! The groups. Client comparisons are paired ([`crate::paired`]): every
//! contender of a broker in every round. The emulator's own costs have no
//! contender to pair with; criterion measures them ([`emulator`]).
//!
//! - `connect_api_versions_metadata`: new connection, the whole ApiVersions
//!   negotiation, one Metadata (all topics). Our client three ways (fresh
//!   from v4; from v3, where rskafka and librdkafka start; and remembered,
//!   the reconnect option), each beside a floor sending its very frames; the
//!   floor again from a peer process; rskafka and both librdkafka builds,
//!   each beside a floor replaying its own requests (from a peer process);
//!   and the IPC round trip to a peer.
//! - `connect_api_versions`: the same without Metadata, ours and floors only.
//! - `ping_warm`: ApiVersions on a connection kept open, ours and the floor.

pub mod emulator;

use bench_schema::run::names::{
    floor_as, FLOOR, FLOOR_PROC, FLOOR_REMEMBERED, FLOOR_V3, G_CONNECT, G_METADATA, G_PING, OURS, OURS_REMEMBERED,
    OURS_V3, PEER_IPC, RSKAFKA,
};
use bench_schema::{ClientInfo, Role, RoundTrips, RunLog, Settings};
use bytes::Bytes;
use kafka_matrix::emulator::ConnRecord;
use kafka_matrix::protocol::messages::MetadataRequest;
use kafka_matrix::protocol::{api_key, encode_request, RequestBody};
use tokio::runtime::Runtime;

use crate::brokers::{frames_of, round_trips_of, settled_records_after, RecordsMark, Target};
use crate::floor::{api_versions_frame, Raw};
use crate::ours;
use crate::paired::{self, Contender, Lineup, Op, Warm};
use crate::peers::Peer;

/// A peer that passed its check on one broker, and what it sends there.
struct Checked {
    peer: usize,
    round_trips: Option<RoundTrips>,
    /// Its own requests, encoded for the floor (one connection only).
    own_frames: Option<Vec<Vec<u8>>>,
    /// Our series with as many round trips.
    equal: Option<&'static str>,
}

/// Checks every peer against every broker before anything is timed: the
/// topics it sees must be ours, and one run must succeed. On an emulator the
/// run's connections are recorded: its round trips, the frames of a floor
/// that sends the same requests, and our path with as many.
fn check_peers(targets: &[Target], peers: &mut [Peer], log: &mut RunLog) -> Vec<Vec<Checked>> {
    let mut all = Vec::new();
    for t in targets {
        let mut ok = Vec::new();
        for (i, p) in peers.iter_mut().enumerate() {
            let before_check = t.emulator().map(|(e, _, _)| RecordsMark::now(e));
            let seen = p.check(&t.addr);
            let problem = match seen {
                Ok(topics) if topics == t.topics => None,
                Ok(topics) => Some(format!("{} listed {topics:?}, kafka-matrix saw {:?}", p.name, t.topics)),
                Err(e) => Some(format!("{} failed: {e}", p.name)),
            };
            if let Some(what) = problem {
                log.finding(G_METADATA, p.name, &t.label, what);
                continue;
            }
            // The check's own connections (it lists topics too) must be
            // recorded before the run's are counted.
            if let (Some((e, _, _)), Some(mark)) = (t.emulator(), before_check) {
                settled_records_after(e, mark);
            }
            let mark = t.emulator().map(|(e, _, _)| RecordsMark::now(e));
            if let Err(e) = p.timed(&bench_schema::peer::Request::Run {
                round: 0,
                addr: t.addr.clone(),
            }) {
                log.finding(G_METADATA, p.name, &t.label, format!("{} failed: {e}", p.name));
                continue;
            }
            let records = t
                .emulator()
                .zip(mark)
                .map(|((e, _, _), mark)| settled_records_after(e, mark));
            let round_trips = records.as_deref().map(round_trips_of);
            let own_frames = records.as_deref().and_then(|r| own_frames(t, r));
            let equal = records.as_deref().and_then(|r| equal_path(t, r));
            ok.push(Checked {
                peer: i,
                round_trips,
                own_frames,
                equal,
            });
        }
        all.push(ok);
    }
    all
}

/// A peer's requests on its one connection, encoded as our client encodes
/// them (ApiVersions and Metadata for all topics, at the peer's versions and
/// correlation ids); `None` for several connections or another API.
fn own_frames(t: &Target, records: &[ConnRecord]) -> Option<Vec<Vec<u8>>> {
    let [record] = records else {
        return None;
    };
    let session = &t.fresh.config.session;
    record
        .requests
        .iter()
        .map(|&(key, version, correlation_id)| match key {
            api_key::API_VERSIONS => Some(api_versions_frame(session, correlation_id, version).to_vec()),
            api_key::METADATA => encode_request(
                correlation_id,
                session.client_id.as_deref(),
                version,
                &RequestBody::Metadata(MetadataRequest::default()),
            )
            .ok()
            .map(|f| f.to_vec()),
            _ => None,
        })
        .collect()
}

/// Our path with as many round trips as the peer (one connection, as many
/// requests): the one sending the very same ApiVersions versions if there is
/// one, else v3's (where the peers start), else the fresh one, else the
/// remembered one.
fn equal_path(t: &Target, records: &[ConnRecord]) -> Option<&'static str> {
    let [record] = records else {
        return None;
    };
    let api_versions: Vec<i16> = record
        .requests
        .iter()
        .filter(|r| r.0 == api_key::API_VERSIONS)
        .map(|r| r.1)
        .collect();
    let requests = record.requests.len();
    let paths = [(OURS_V3, &t.v3), (OURS, &t.fresh), (OURS_REMEMBERED, &t.remembered)];
    let same_count = |p: &crate::brokers::Path| p.wire.negotiation.len() + 1 == requests;
    paths
        .iter()
        .find(|(_, p)| same_count(p) && p.wire.api_versions_path() == api_versions)
        .or_else(|| paths.iter().find(|(_, p)| same_count(p)))
        .map(|(name, _)| *name)
}

/// Ours and the floor along each of the three paths.
fn ours_and_floors(t: &Target, with_metadata: bool) -> Vec<Contender<'_>> {
    let frames = |w: &crate::floor::Wire| -> Vec<Bytes> {
        if with_metadata {
            w.with_metadata()
        } else {
            w.negotiation.clone()
        }
    };
    let floor = |client: &str, p: &crate::brokers::Path| Contender {
        client: client.to_owned(),
        floor: None,
        equal_round_trips: None,
        round_trips: Some(p.round_trips(with_metadata)),
        op: Op::Floor {
            sock: t.sock,
            frames: frames(&p.wire),
        },
    };
    vec![
        floor(FLOOR, &t.fresh),
        Contender {
            client: OURS.to_owned(),
            floor: Some(FLOOR.to_owned()),
            equal_round_trips: None,
            round_trips: Some(t.fresh.round_trips(with_metadata)),
            op: Op::Ours {
                addr: &t.addr,
                config: &t.fresh.config,
                metadata: with_metadata,
            },
        },
        floor(FLOOR_V3, &t.v3),
        Contender {
            client: OURS_V3.to_owned(),
            floor: Some(FLOOR_V3.to_owned()),
            equal_round_trips: None,
            round_trips: Some(t.v3.round_trips(with_metadata)),
            op: Op::Ours {
                addr: &t.addr,
                config: &t.v3.config,
                metadata: with_metadata,
            },
        },
        floor(FLOOR_REMEMBERED, &t.remembered),
        Contender {
            client: OURS_REMEMBERED.to_owned(),
            floor: Some(FLOOR_REMEMBERED.to_owned()),
            equal_round_trips: None,
            round_trips: Some(t.remembered.round_trips(with_metadata)),
            op: Op::OursRemembered {
                addr: &t.addr,
                config: &t.remembered.config,
                memo: &t.memo,
                metadata: with_metadata,
            },
        },
    ]
}

/// A connection to `t`, negotiated, with the ping that keeps it warm.
fn warm(rt: &Runtime, t: &Target) -> Warm {
    let raw = rt.block_on(async {
        let mut raw = Raw::connect(t.sock).await;
        for frame in &t.fresh.wire.negotiation {
            raw.exchange(frame).await;
        }
        raw
    });
    Warm {
        raw,
        ping: t.fresh.wire.ping.clone(),
    }
}

/// Every paired group, in order.
pub fn paired(rt: &Runtime, targets: &[Target], peers: &mut [Peer], settings: &Settings, log: &mut RunLog) {
    let checked = check_peers(targets, peers, log);
    // The floor replays run in bench-peer's process, beside the peers.
    let floor_peer = peers.iter().position(|p| p.name == RSKAFKA);
    let mut own_floors = Vec::new();

    let lineups = targets
        .iter()
        .zip(&checked)
        .map(|(t, checked)| {
            let mut contenders = ours_and_floors(t, true);
            if let Some(i) = floor_peer {
                contenders.push(Contender {
                    client: FLOOR_PROC.to_owned(),
                    floor: Some(FLOOR.to_owned()),
                    equal_round_trips: None,
                    round_trips: Some(t.fresh.round_trips(true)),
                    op: Op::PeerFloor {
                        peer: i,
                        addr: &t.addr,
                        frames: frames_of(&t.fresh.wire),
                    },
                });
                contenders.push(Contender {
                    client: PEER_IPC.to_owned(),
                    floor: None,
                    equal_round_trips: None,
                    round_trips: None,
                    op: Op::PeerIpc { peer: i },
                });
            }
            for c in checked {
                let name = peers[c.peer].name;
                let own = floor_peer.zip(c.own_frames.clone()).map(|(i, frames)| {
                    let floor = floor_as(name);
                    if !own_floors.contains(&name) {
                        own_floors.push(name);
                    }
                    Contender {
                        client: floor.clone(),
                        floor: None,
                        equal_round_trips: None,
                        round_trips: c.round_trips.clone(),
                        op: Op::PeerFloor {
                            peer: i,
                            addr: &t.addr,
                            frames,
                        },
                    }
                });
                let floor = own.as_ref().map(|f| f.client.clone());
                contenders.extend(own);
                contenders.push(Contender {
                    client: name.to_owned(),
                    floor,
                    equal_round_trips: c.equal.map(str::to_owned),
                    round_trips: c.round_trips.clone(),
                    op: Op::Peer {
                        peer: c.peer,
                        addr: &t.addr,
                    },
                });
            }
            Lineup {
                broker: t.label.clone(),
                warm: warm(rt, t),
                contenders,
            }
        })
        .collect();
    if let Some(p) = floor_peer.map(|i| &peers[i]) {
        let process = p.info().process;
        for name in own_floors {
            log.clients.push(ClientInfo {
                name: floor_as(name),
                role: Role::Floor,
                version: p.version.clone(),
                process: process.clone(),
                what: format!("{name}'s own requests, as the emulator recorded them, sent raw from a peer process"),
            });
        }
    }
    let g = paired::run(
        rt,
        peers,
        G_METADATA,
        "new TCP connection, the whole ApiVersions negotiation, one Metadata (all topics); \
         timed from before the connect to the last reply",
        lineups,
        settings,
        &mut log.findings,
    );
    log.paired.push(g);

    let lineups = targets
        .iter()
        .map(|t| Lineup {
            broker: t.label.clone(),
            warm: warm(rt, t),
            contenders: ours_and_floors(t, false),
        })
        .collect();
    let g = paired::run(
        rt,
        peers,
        G_CONNECT,
        "new TCP connection and the whole ApiVersions negotiation; timed from before the connect to the last reply",
        lineups,
        settings,
        &mut log.findings,
    );
    log.paired.push(g);

    let n = settings.pings_per_measurement;
    let lineups = targets
        .iter()
        .map(|t| {
            let client = rt.block_on(ours::connect(&t.addr, &t.fresh.config));
            let raw = warm(rt, t).raw;
            let ping = RoundTrips {
                connections: 0,
                requests: 1,
                detail: format!("ApiVersions v{}", t.fresh.api_versions),
            };
            Lineup {
                broker: t.label.clone(),
                warm: warm(rt, t),
                contenders: vec![
                    Contender {
                        client: FLOOR.to_owned(),
                        floor: None,
                        equal_round_trips: None,
                        round_trips: Some(ping.clone()),
                        op: Op::PingFloor {
                            raw,
                            frame: t.fresh.wire.ping.clone(),
                            n,
                        },
                    },
                    Contender {
                        client: OURS.to_owned(),
                        floor: Some(FLOOR.to_owned()),
                        equal_round_trips: None,
                        round_trips: Some(ping),
                        op: Op::PingOurs {
                            client: Box::new(client),
                            n,
                        },
                    },
                ],
            }
        })
        .collect();
    let g = paired::run(
        rt,
        peers,
        G_PING,
        &format!("{n} ApiVersions round trips on a connection kept open; per round trip"),
        lineups,
        settings,
        &mut log.findings,
    );
    log.paired.push(g);
}
