//! Named broker behaviours that have broken real clients, as data, and the
//! `--behave` language that switches them on.
//!
//! A behaviour is either a **catalogue entry** (a name with what the broker
//! does on the wire, the real case and its public source, what a correct
//! client does, and the same in machine form, [`Expect`], which `conform`
//! judges a client by; `kafka-matrix behaviours` lists them,
//! `docs/behaviours.md` has the longer story and `docs/research/behaviours.md`
//! the research) or a **knob** of [`Faults`] written `name` or `name=value`
//! (`close-after=3`, `delay=50ms`). `serve --behave A,B` applies them in order.

use std::time::Duration;

use super::fault::closed;
use super::{EmulatorOptions, Faults};
use crate::protocol::api_key;

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behaviour {
    /// Kebab-case name, e.g. `close-after-refusal`.
    pub name: &'static str,
    /// What the broker does on the wire.
    pub wire: &'static str,
    /// The real case, with its public source.
    pub case: &'static str,
    /// What a correct client does.
    pub correct: &'static str,
    /// The knobs it sets (`--behave` syntax); empty when the release itself
    /// behaves so (choose the release).
    pub knobs: &'static [&'static str],
    /// What a correct client's run shows, for `conform`.
    pub expect: Expect,
}

/// How a correct client's run ends under a behaviour (a run always has to
/// end before the harness's timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ending {
    /// Exit 0: the behaviour is one a client must get through.
    Succeeds,
    /// A non-zero exit: no usable answer can be had, and the client must say
    /// so rather than report success.
    Fails,
    /// Either exit, in time.
    Either,
}

/// What shows, in the emulator's records, that a behaviour acted on a run
/// (else the run did not exercise it: e.g. a client that never asks above
/// ApiVersions v3 never meets a broker that resets above v3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// Every run.
    Always,
    /// An ApiVersions version the release does not support was refused,
    /// with a KIP-511 hint (Kafka 2.4+) or without (2.0–2.3).
    Refusal {
        /// Whether the refusal carries the hint.
        hint: bool,
    },
    /// A connection was closed by this fault ([`fault::closed`](super::fault::closed)).
    Closed(&'static str),
    /// A connection was reset by the fault.
    Reset,
    /// A reply obliged the client to wait (KIP-219).
    Throttled,
    /// The client sent a request of this API key.
    Request(i16),
    /// An ApiVersions request at this version or above was answered.
    ApiVersionsFrom(i16),
}

/// A check beyond the ones every run gets (in time; nothing written after
/// the broker closed; no API or version the release lacks; after a refusal,
/// a lower version if the client asks again on that connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Nothing more.
    None,
    /// After a reset, ApiVersions again at this version or lower.
    FallbackAfterReset(i16),
    /// After a refusal and the close that follows it, the next connection
    /// asks at a version the broker takes (the hint; v0 without one).
    HintedAfterClose,
    /// No request before a throttle has passed.
    HonoursThrottle,
}

/// A correct client's run, in machine form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    /// How it ends.
    pub ending: Ending,
    /// When the behaviour counts as exercised.
    pub fired: Fired,
    /// What else it must show.
    pub check: Check,
}

const fn expect(ending: Ending, fired: Fired, check: Check) -> Expect {
    Expect { ending, fired, check }
}

/// The name of the catalogue entry that is each release as it is.
pub const AS_RELEASED: &str = "as-released";

/// The catalogue.
pub const CATALOGUE: &[Behaviour] = &[
    Behaviour {
        name: AS_RELEASED,
        wire: "the release as it is: its ApiVersions table, its refusals, its Metadata",
        case: "every release from 2.0 to 4.4 (docs/fidelity.md cites each behaviour at its tag)",
        correct: "negotiate and fetch metadata",
        knobs: &[],
        expect: expect(Ending::Succeeds, Fired::Always, Check::None),
    },
    Behaviour {
        name: "kip511-refusal-hint",
        wire: "ApiVersions above the broker's max → error 35 in a v0 body holding only {18, 0, max}; the connection stays open (Kafka 2.4–3.8 for v4)",
        case: "franz-go v1.19.0 read it as the whole table and sent Metadata v13 to 3.8, which closed (twmb/franz-go#1010, fix #1011)",
        correct: "re-ask ApiVersions at min(hint, own max) on the same connection; never treat the one entry as the table",
        knobs: &[],
        expect: expect(Ending::Succeeds, Fired::Refusal { hint: true }, Check::None),
    },
    Behaviour {
        name: "empty-refusal",
        wire: "ApiVersions above the broker's max → error 35, empty api_keys (Kafka 2.0–2.3)",
        case: "KIP-511 (the hint arrived in 2.4); librdkafka#3090 logs",
        correct: "retry ApiVersions at v0",
        knobs: &[],
        expect: expect(Ending::Succeeds, Fired::Refusal { hint: false }, Check::None),
    },
    Behaviour {
        name: "reset-on-new-apiversions",
        wire: "ApiVersions above v3 → the connection is reset (RST), no reply",
        case: "Azure Event Hubs reset on ApiVersions v4: franz-go v1.19.x (twmb/franz-go#1022, #1025; fix #1026 retries, then falls back), kafka-python 2.1.3–2.2.0 (dpkp/kafka-python#2602, fix #2603)",
        correct: "reconnect with backoff and ask ApiVersions at a lower version (v3 or v0); a bounded number of tries",
        knobs: &["reset-api-versions-above=3"],
        expect: expect(Ending::Succeeds, Fired::Reset, Check::FallbackAfterReset(3)),
    },
    Behaviour {
        name: "close-after-refusal",
        wire: "the KIP-511 refusal is sent, then the connection is closed",
        case: "franz-go before 1.21.6 saw a bare EOF (commit 582e0f21)",
        correct: "read the error code, reconnect, ask at the hinted version; never write on the closed connection",
        knobs: &["close-after-refusal"],
        expect: expect(Ending::Succeeds, Fired::Closed(closed::AFTER_REFUSAL), Check::HintedAfterClose),
    },
    Behaviour {
        name: "advertise-then-close",
        wire: "ApiVersions advertises the release's Metadata range, but a Metadata request at its newest version is closed without a reply",
        case: "Kafka 4.0 advertises Produce v0–2 and closes on them (KAFKA-18659, apache/kafka#18727); franz-go#1017 (Produce v12 advertised, then refused)",
        correct: "no write on the closed connection; give up with an error naming the API and version (or use a lower version), in bounded time",
        knobs: &["close-on-newest-metadata"],
        expect: expect(Ending::Either, Fired::Closed(closed::NEWEST_METADATA), Check::None),
    },
    Behaviour {
        name: "throttle",
        wire: "a client over its request quota (Kafka 2.0+): the first ApiVersions (v1+) or Metadata (v3+) reply of each connection carries throttle_time_ms = 500, and so does every reply to a request sent before the last throttle had passed; each is sent at once, then the connection is muted for 500 ms",
        case: "KIP-219; rskafka ignored it and broke on a throttled Fetch (influxdata/rskafka#182); librdkafka does not honour it (confluentinc/librdkafka#5592)",
        correct: "after a reply at ApiVersions v2+ or Metadata v6+ with throttle T, send nothing on that connection for T",
        knobs: &["throttle=500ms"],
        expect: expect(Ending::Succeeds, Fired::Throttled, Check::HonoursThrottle),
    },
    Behaviour {
        name: "leaderless-partition",
        wire: "the first two Metadata replies show every partition with LEADER_NOT_AVAILABLE (5) and leader -1",
        case: "kaf panicked on a nil leader (birdayz/kaf#114), kminion SIGSEGV (redpanda-data/kminion#29), franz-go#1327 (fixed v1.21.3), kafka-python#150",
        correct: "treat it as retriable: refresh Metadata with backoff; never crash on leader -1",
        knobs: &["leaderless=2"],
        expect: expect(Ending::Succeeds, Fired::Request(api_key::METADATA), Check::None),
    },
    Behaviour {
        name: "topic-mid-creation",
        wire: "the first two Metadata replies answer each existing topic as still being created: LEADER_NOT_AVAILABLE (5) with no partitions when named, absent from an all-topics reply (ZooKeeper brokers before the leaders are elected)",
        case: "kafka-python#488 (LeaderNotAvailableError: TopicMetadata(error=5, partitions=[])), ruby-kafka#155, kafka-node#34",
        correct: "retriable: refresh Metadata with backoff until the topic has partitions; a topic missing from a listing is not an error",
        knobs: &["creating=2"],
        expect: expect(Ending::Succeeds, Fired::Request(api_key::METADATA), Check::None),
    },
    Behaviour {
        name: "unreachable-advertised-listener",
        wire: "Metadata advertises 127.0.0.1:1, where nothing listens (bootstrap works, the advertised address does not)",
        case: "confluentinc/cp-all-in-one#164, wurstmeister/kafka-docker#211, librdkafka#2389",
        correct: "bounded retries, then an error naming the advertised address",
        knobs: &["advertise=127.0.0.1:1"],
        expect: expect(Ending::Either, Fired::Request(api_key::METADATA), Check::None),
    },
    Behaviour {
        name: "slow-broker",
        wire: "every reply is delayed by 60 s",
        case: "librdkafka#606, aiokafka#91, KAFKA-13388 (clients that hung on a silent ApiVersions)",
        correct: "time the request out, close the connection; give up with an error in bounded time",
        knobs: &["delay=60s"],
        expect: expect(Ending::Fails, Fired::Always, Check::None),
    },
    Behaviour {
        name: "cut-mid-frame",
        wire: "every reply but ApiVersions is cut after 6 bytes and the connection closed",
        case: "franz-go commit c706d79a; kafka-python#1746/#1748",
        correct: "fail the in-flight request as retriable, reconnect; never write on the closed connection",
        knobs: &["spare-api-versions", "truncate=6"],
        expect: expect(Ending::Fails, Fired::Closed(closed::TRUNCATED), Check::None),
    },
    Behaviour {
        name: "wrong-correlation-id",
        wire: "every reply but ApiVersions carries the request's correlation id + 1",
        case: "KAFKA-4669 (a Java producer < 0.11.0.1 mismatched and got stuck), KoP#199",
        correct: "Kafka answers in order: a reply whose correlation id is not the oldest outstanding request's is an error; close the connection, fail in-flight requests, reconnect",
        knobs: &["spare-api-versions", "wrong-correlation-id"],
        expect: expect(Ending::Fails, Fired::Request(api_key::METADATA), Check::None),
    },
    Behaviour {
        name: "oversized-frame-prefix",
        wire: "every reply but ApiVersions has a size prefix of 2 GiB",
        case: "KAFKA-4090; logstash-input-kafka#153 (out of memory on a TLS port)",
        correct: "refuse the frame before allocating for it",
        knobs: &["spare-api-versions", "forge-size=2147483647"],
        expect: expect(Ending::Fails, Fired::Closed(closed::FORGED_SIZE), Check::None),
    },
    Behaviour {
        name: "tansu-tagged-fields",
        wire: "ApiVersions v3+ replies carry all four tagged fields at their default values, as tansu 0.6.0 writes them (Kafka omits defaults)",
        case: "librdkafka < 2.2.0 (kcat 1.7.1 on 2.0.2) fails with \"Read underflow\" against tansu 0.6.0 (tests/interop/FINDINGS.md; librdkafka#4253, fix #4278)",
        correct: "skip each tagged field by its declared length",
        knobs: &["tansu-tagged-fields"],
        expect: expect(Ending::Succeeds, Fired::ApiVersionsFrom(3), Check::None),
    },
];

/// The catalogue entry named `name`.
pub fn find(name: &str) -> Option<&'static Behaviour> {
    CATALOGUE.iter().find(|b| b.name == name)
}

/// The knobs `--behave` takes besides catalogue names.
pub const KNOBS: &str = "close-after=N, close-after-refusal, delay=DURATION (e.g. 50ms, 2s), spare=N, \
     spare-api-versions, truncate=BYTES, shorten=BYTES, forge-size=N, wrong-correlation-id, advertise=HOST:PORT, \
     reset-api-versions-above=V, close-on-newest-metadata, throttle=DURATION, leaderless=N, creating=N, tansu-tagged-fields";

/// Applies `--behave` items (catalogue names or knobs) to `options`, in order.
pub fn apply(items: &[String], options: &mut EmulatorOptions) -> Result<(), String> {
    for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        match find(item) {
            Some(b) => {
                for knob in b.knobs {
                    apply_knob(knob, options)?;
                }
            }
            None => apply_knob(item, options)?,
        }
    }
    Ok(())
}

fn apply_knob(knob: &str, options: &mut EmulatorOptions) -> Result<(), String> {
    let (name, value) = match knob.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (knob, None),
    };
    let f: &mut Faults = &mut options.faults;
    let number = |v: Option<&str>| -> Result<u64, String> {
        let v = v.ok_or_else(|| format!("{name} needs a value: {name}=N"))?;
        v.parse().map_err(|_| format!("{name}={v}: not a non-negative number"))
    };
    let small = |v: Option<&str>| -> Result<u32, String> {
        u32::try_from(number(v)?).map_err(|_| format!("{name}: value too large"))
    };
    let flag = |v: Option<&str>| match v {
        None => Ok(()),
        Some(v) => Err(format!("{name} takes no value (got {name}={v})")),
    };
    match name {
        "close-after" => f.close_after_responses = Some(small(value)?),
        "close-after-refusal" => {
            flag(value)?;
            f.close_after_unsupported_api_versions = true;
        }
        "delay" => f.response_delay = Some(duration(name, value)?),
        "throttle" => {
            let t = duration(name, value)?;
            if t.as_millis() > i32::MAX as u128 {
                return Err(format!(
                    "throttle: at most {} ms (throttle_time_ms is an INT32)",
                    i32::MAX
                ));
            }
            f.throttle = Some(t);
        }
        "reset-api-versions-above" => {
            let v = small(value)?;
            f.reset_api_versions_above = Some(i16::try_from(v).map_err(|_| format!("{name}={v}: not a version"))?);
        }
        "close-on-newest-metadata" => {
            flag(value)?;
            f.close_on_newest_metadata = true;
        }
        "leaderless" => f.leaderless_metadata_replies = small(value)?,
        "creating" => f.creating_metadata_replies = small(value)?,
        "tansu-tagged-fields" => {
            flag(value)?;
            f.tansu_tagged_fields = true;
        }
        "spare" => f.spare_responses = small(value)?,
        "spare-api-versions" => {
            flag(value)?;
            f.spare_api_versions = true;
        }
        "truncate" => f.truncate_response_to = Some(small(value)? as usize),
        "shorten" => f.shorten_response_to = Some(small(value)? as usize),
        "forge-size" => {
            let v = value.ok_or("forge-size needs a value: forge-size=N")?;
            f.forge_response_size = Some(v.parse().map_err(|_| format!("forge-size={v}: not a 32-bit integer"))?);
        }
        "wrong-correlation-id" => {
            flag(value)?;
            f.wrong_correlation_id = true;
        }
        "advertise" => {
            let v = value.ok_or("advertise needs HOST:PORT")?;
            let (host, port) = super::address::parse_host_port(v).map_err(|e| format!("advertise={e}"))?;
            options.advertise = Some((host.trim_matches(['[', ']']).to_owned(), port));
        }
        _ => {
            let names: Vec<&str> = CATALOGUE.iter().map(|b| b.name).collect();
            return Err(format!(
                "unknown behaviour {knob:?}; behaviours: {}; knobs: {KNOBS}",
                names.join(", ")
            ));
        }
    }
    Ok(())
}

/// `50ms`, `2s`, `1m`, or a plain number of milliseconds, for knob `name`.
fn duration(name: &str, v: Option<&str>) -> Result<Duration, String> {
    let v = v.ok_or_else(|| format!("{name} needs a value: {name}=50ms"))?;
    let bad = || format!("{name}={v}: not a duration like 50ms, 2s or 1m");
    let (digits, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let n: u64 = digits.parse().map_err(|_| bad())?;
    Ok(match unit {
        "" | "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(items: &[&str]) -> Result<EmulatorOptions, String> {
        let mut o = EmulatorOptions::default();
        apply(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &mut o)?;
        Ok(o)
    }

    #[test]
    fn every_catalogue_knob_parses_and_names_are_unique() {
        for b in CATALOGUE {
            applied(&[b.name]).unwrap_or_else(|e| panic!("{}: {e}", b.name));
            assert_eq!(CATALOGUE.iter().filter(|o| o.name == b.name).count(), 1, "{}", b.name);
        }
    }

    #[test]
    fn knobs_set_the_faults() {
        let o = applied(&["close-after=3", "delay=50ms", "wrong-correlation-id"]).expect("parses");
        assert_eq!(o.faults.close_after_responses, Some(3));
        assert_eq!(o.faults.response_delay, Some(Duration::from_millis(50)));
        assert!(o.faults.wrong_correlation_id);
        let o = applied(&["cut-mid-frame"]).expect("parses");
        assert_eq!(
            (o.faults.spare_api_versions, o.faults.truncate_response_to),
            (true, Some(6))
        );
        let o = applied(&[
            "throttle=1s",
            "reset-api-versions-above=3",
            "leaderless=2",
            "creating=1",
        ])
        .expect("parses");
        assert_eq!(o.faults.throttle, Some(Duration::from_secs(1)));
        assert_eq!(o.faults.reset_api_versions_above, Some(3));
        assert_eq!(
            (o.faults.leaderless_metadata_replies, o.faults.creating_metadata_replies),
            (2, 1)
        );
        let o = applied(&["unreachable-advertised-listener"]).expect("parses");
        assert_eq!(o.advertise, Some(("127.0.0.1".into(), 1)));
        assert_eq!(duration("delay", Some("2s")), Ok(Duration::from_secs(2)));
    }

    #[test]
    fn bad_items_are_one_line_errors() {
        for (item, want) in [
            ("nope", "unknown behaviour \"nope\""),
            ("close-after", "close-after needs a value"),
            ("close-after=x", "close-after=x: not a non-negative number"),
            ("delay=5h", "delay=5h: not a duration"),
            ("wrong-correlation-id=1", "wrong-correlation-id takes no value"),
            ("advertise=:1", "advertise=\":1\" is not HOST:PORT: the host is empty"),
        ] {
            let e = applied(&[item]).expect_err(item);
            assert!(e.starts_with(want), "{item}: {e}");
            assert!(!e.contains('\n'), "{item}: one line");
        }
    }
}
