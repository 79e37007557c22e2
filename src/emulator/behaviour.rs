//! Named broker behaviours that have broken real clients, as data, and the
//! `--behave` language that switches them on.
//!
//! A behaviour is either a **catalogue entry** (a name with what the broker
//! does on the wire, the real case and its public source, and what a correct
//! client does; `kafka-matrix behaviours` lists them, `docs/behaviours.md`
//! has the longer story and `docs/research/behaviours.md` the research) or a
//! **knob** of [`Faults`] written `name` or `name=value` (`close-after=3`,
//! `delay=50ms`). `serve --behave A,B` applies them in order.
//!
//! Only behaviours the emulator can produce today are here; the others of
//! the research (a reset instead of the refusal, advertise-then-refuse,
//! throttling, leaderless partitions, tansu's reply) need emulator support
//! first.

use std::time::Duration;

use super::{EmulatorOptions, Faults};

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
}

/// The catalogue.
pub const CATALOGUE: &[Behaviour] = &[
    Behaviour {
        name: "kip511-refusal-hint",
        wire: "ApiVersions above the broker's max → error 35 in a v0 body holding only {18, 0, max}; the connection stays open (Kafka 2.4–3.8 for v4)",
        case: "franz-go v1.19.0 read it as the whole table and sent Metadata v13 to 3.8, which closed (twmb/franz-go#1010, fix #1011)",
        correct: "re-ask ApiVersions at min(hint, own max) on the same connection; never treat the one entry as the table",
        knobs: &[],
    },
    Behaviour {
        name: "empty-refusal",
        wire: "ApiVersions above the broker's max → error 35, empty api_keys (Kafka 2.0–2.3)",
        case: "KIP-511 (the hint arrived in 2.4); librdkafka#3090 logs",
        correct: "retry ApiVersions at v0",
        knobs: &[],
    },
    Behaviour {
        name: "close-after-refusal",
        wire: "the KIP-511 refusal is sent, then the connection is closed",
        case: "franz-go before 1.21.6 saw a bare EOF (commit 582e0f21)",
        correct: "read the error code, reconnect, ask at the hinted version; never write on the closed connection",
        knobs: &["close-after-refusal"],
    },
    Behaviour {
        name: "slow-broker",
        wire: "every reply is delayed by 30 s",
        case: "librdkafka#606, aiokafka#91, KAFKA-13388 (clients that hung on a silent ApiVersions)",
        correct: "time the request out, close the connection, reconnect with backoff",
        knobs: &["delay=30s"],
    },
    Behaviour {
        name: "cut-mid-frame",
        wire: "after a normal first reply, each reply is cut after 6 bytes and the connection closed",
        case: "franz-go commit c706d79a; kafka-python#1746/#1748",
        correct: "fail the in-flight request as retriable, reconnect",
        knobs: &["spare=1", "truncate=6"],
    },
    Behaviour {
        name: "wrong-correlation-id",
        wire: "after a normal first reply, each reply carries the request's correlation id + 1",
        case: "KAFKA-4669 (a Java producer < 0.11.0.1 mismatched and got stuck), KoP#199",
        correct: "close the connection, fail in-flight requests, reconnect",
        knobs: &["spare=1", "wrong-correlation-id"],
    },
    Behaviour {
        name: "oversized-frame-prefix",
        wire: "after a normal first reply, each reply's size prefix says 2 GiB",
        case: "KAFKA-4090; logstash-input-kafka#153 (out of memory on a TLS port)",
        correct: "refuse the frame before allocating for it",
        knobs: &["spare=1", "forge-size=2147483647"],
    },
    Behaviour {
        name: "unreachable-advertised-listener",
        wire: "Metadata advertises 127.0.0.1:1, where nothing listens (bootstrap works, the advertised address does not)",
        case: "confluentinc/cp-all-in-one#164, wurstmeister/kafka-docker#211, librdkafka#2389",
        correct: "bounded retries, then an error naming the advertised address",
        knobs: &["advertise=127.0.0.1:1"],
    },
];

/// The catalogue entry named `name`.
pub fn find(name: &str) -> Option<&'static Behaviour> {
    CATALOGUE.iter().find(|b| b.name == name)
}

/// The knobs `--behave` takes besides catalogue names.
pub const KNOBS: &str = "close-after=N, close-after-refusal, delay=DURATION (e.g. 50ms, 2s), spare=N, \
     truncate=BYTES, shorten=BYTES, forge-size=N, wrong-correlation-id, advertise=HOST:PORT";

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
        "delay" => f.response_delay = Some(duration(value.ok_or("delay needs a value: delay=50ms")?)?),
        "spare" => f.spare_responses = small(value)?,
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

/// `50ms`, `2s`, `1m`, or a plain number of milliseconds.
fn duration(v: &str) -> Result<Duration, String> {
    let bad = || format!("delay={v}: not a duration like 50ms, 2s or 1m");
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
        assert_eq!((o.faults.spare_responses, o.faults.truncate_response_to), (1, Some(6)));
        let o = applied(&["unreachable-advertised-listener"]).expect("parses");
        assert_eq!(o.advertise, Some(("127.0.0.1".into(), 1)));
        assert_eq!(duration("2s"), Ok(Duration::from_secs(2)));
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
