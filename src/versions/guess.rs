//! Guessing a broker's release from its ApiVersions reply: the inverse of
//! [`super::table()`].
//!
//! # Design
//!
//! franz-go's `kversion.VersionGuess` walks its release chains and answers
//! "v3.8", "at least v4.2", "between A and B" or "unknown". Our tables are not
//! a chain but a flat set of (release, mode) rows, so we compare the reply
//! with *every* row and count the keys that disagree:
//!
//! - a key counts as differing if it is in one side only, or in both with a
//!   different min or max;
//! - keys whose presence depends on broker configuration are skipped on both
//!   sides ([`IGNORED_KEYS`]: telemetry 71/72, advertised only when a
//!   client-telemetry metrics reporter is configured; README rule 5);
//! - if several keys share a number in the reply, the last one wins.
//!
//! The answer is then:
//!
//! - [`Guess::Exact`]: every row that matches with zero differing keys. It can
//!   hold several rows when releases advertise identical tables; in the
//!   bundled data that happens once, 3.3 and 3.4 KRaft. No ApiVersions-only
//!   probe can tell those apart.
//! - [`Guess::Closest`]: no exact match; the rows with the fewest differing
//!   keys. A broker newer than the catalog (4.5+) lands here as "closest: 4.4",
//!   which plays the part of kversion's "at least"; a patch release whose table
//!   moved, or a non-default configuration (`unstable.api.versions.enable`,
//!   an old `inter.broker.protocol.version`), lands here too.
//! - [`Guess::Unknown`]: the reply is empty (after skipping ignored keys), or
//!   even the closest row disagrees on more than half of the reply's keys.
//!
//! The function is pure: same input, same answer, no I/O, no clock.

use std::collections::BTreeMap;
use std::fmt;

use super::features::features;
use super::release::{Mode, Release};
use super::table::{tables, variants, ApiTable, Patches};
use crate::protocol::messages::ApiVersionsResponse;
use crate::protocol::{DecodeError, VersionRange};

/// Keys left out of every comparison because a default broker may or may not
/// advertise them: GetTelemetrySubscriptions (71) and PushTelemetry (72).
pub const IGNORED_KEYS: [i16; 2] = [71, 72];

/// One candidate of a guess: a (release, mode), and which of its patches
/// when its patches advertise different tables (e.g. 4.0.0 vs 4.0.1–4.0.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Candidate {
    /// The minor release.
    pub release: Release,
    /// Its mode.
    pub mode: Mode,
    /// The patches whose table this is; `None` when every patch of the
    /// release up to the catalog's shares one table.
    pub patches: Option<Patches>,
}

impl Candidate {
    /// A candidate whose patches all share one table.
    pub fn new(release: Release, mode: Mode) -> Self {
        Self {
            release,
            mode,
            patches: None,
        }
    }
}

/// The result of [`guess_release`]. Candidate lists are sorted by
/// (release, mode, patches), oldest first, and never empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Guess {
    /// Every catalogued (release, mode, patches) whose table equals the reply.
    Exact(Vec<Candidate>),
    /// No exact match: the candidates with the fewest differing keys.
    Closest {
        /// The candidates tied for the fewest differences.
        candidates: Vec<Candidate>,
        /// How many keys differ between the reply and each candidate (> 0).
        differing_keys: usize,
    },
    /// Nothing in the catalog resembles the reply.
    Unknown,
}

impl Guess {
    /// The candidates; empty for [`Guess::Unknown`].
    pub fn candidates(&self) -> &[Candidate] {
        match self {
            Guess::Exact(c) | Guess::Closest { candidates: c, .. } => c,
            Guess::Unknown => &[],
        }
    }

    /// Whether the reply matched a catalogued table exactly.
    pub fn is_exact(&self) -> bool {
        matches!(self, Guess::Exact(_))
    }

    /// Whether `(release, mode)` is among the candidates.
    pub fn contains(&self, release: Release, mode: Mode) -> bool {
        self.candidates().iter().any(|c| (c.release, c.mode) == (release, mode))
    }
}

/// Writes `3.0 or 3.1 or 3.2 (zk)`; runs of the same mode share one suffix,
/// e.g. `3.3 (zk) or 3.3 (kraft)`.
fn write_candidates(f: &mut fmt::Formatter<'_>, cands: &[Candidate]) -> fmt::Result {
    let mut by_mode: Vec<(Mode, Vec<String>)> = Vec::new();
    for c in cands {
        let name = c.patches.map_or_else(|| c.release.to_string(), |p| p.to_string());
        match by_mode.iter_mut().find(|(m, _)| *m == c.mode) {
            Some((_, releases)) => releases.push(name),
            None => by_mode.push((c.mode, vec![name])),
        }
    }
    for (i, (mode, releases)) in by_mode.iter().enumerate() {
        if i > 0 {
            f.write_str(" or ")?;
        }
        for (j, release) in releases.iter().enumerate() {
            if j > 0 {
                f.write_str(" or ")?;
            }
            write!(f, "{release}")?;
        }
        write!(f, " ({mode})")?;
    }
    Ok(())
}

impl fmt::Display for Guess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Guess::Exact(cands) => write_candidates(f, cands),
            Guess::Closest {
                candidates,
                differing_keys,
            } => {
                f.write_str("closest: ")?;
                write_candidates(f, candidates)?;
                if *differing_keys == 1 {
                    f.write_str(", 1 key differs")
                } else {
                    write!(f, ", {differing_keys} keys differ")
                }
            }
            Guess::Unknown => f.write_str("unknown Kafka release"),
        }
    }
}

/// How many keys differ between `reply` and `table`, ignoring [`IGNORED_KEYS`].
fn differing_keys(reply: &BTreeMap<i16, VersionRange>, table: &ApiTable) -> usize {
    let changed_or_extra = reply
        .iter()
        .filter(|(&key, &range)| table.get(key) != Some(range))
        .count();
    let missing = table
        .iter()
        .filter(|e| !IGNORED_KEYS.contains(&e.key) && !reply.contains_key(&e.key))
        .count();
    changed_or_extra + missing
}

/// [`guess_release`] on a whole ApiVersions reply received at
/// `api_versions_version`: where tables tie (3.3 and 3.4 KRaft advertise the
/// same APIs), the KIP-584 supported features of a v3+ reply tell them apart
/// (`metadata.version` up to 7 vs 8). Candidates whose features differ from
/// the reply's are dropped, unless that would drop them all (a broker's
/// features can differ from a default one's).
/// [`guess_broker`] as text, for a reply read in full
/// (`Negotiated::response`), or why there is no guess: its feature fields,
/// which the negotiation skips, do not decode.
pub fn describe_broker(reply: &Result<ApiVersionsResponse, DecodeError>, api_versions_version: i16) -> String {
    match reply {
        Ok(reply) => guess_broker(reply, api_versions_version).to_string(),
        Err(e) => format!("unknown (the reply's feature fields do not decode: {e})"),
    }
}

pub fn guess_broker(reply: &ApiVersionsResponse, api_versions_version: i16) -> Guess {
    let entries: Vec<(i16, VersionRange)> = reply
        .api_keys
        .iter()
        .filter_map(|e| VersionRange::new(e.min_version, e.max_version).map(|r| (e.api_key, r)))
        .collect();
    let guess = guess_release(&entries);
    if api_versions_version < 3 || guess.candidates().len() < 2 {
        return guess;
    }
    let mut theirs: Vec<(&str, i16, i16)> = reply
        .supported_features
        .iter()
        .map(|f| (f.name.as_str(), f.min_version, f.max_version))
        .collect();
    theirs.sort_unstable();
    let matches = |c: &Candidate| {
        let mut ours: Vec<(&str, i16, i16)> = features(c.release, c.mode)
            .supported_for(c.release, api_versions_version)
            .map(|f| (f.name, f.min, f.max))
            .collect();
        ours.sort_unstable();
        ours == theirs
    };
    let keep = |cands: &[Candidate]| -> Option<Vec<Candidate>> {
        let kept: Vec<Candidate> = cands.iter().copied().filter(matches).collect();
        (!kept.is_empty()).then_some(kept)
    };
    match guess {
        Guess::Exact(c) => Guess::Exact(keep(&c).unwrap_or(c)),
        Guess::Closest {
            candidates,
            differing_keys,
        } => Guess::Closest {
            candidates: keep(&candidates).unwrap_or(candidates),
            differing_keys,
        },
        Guess::Unknown => Guess::Unknown,
    }
}

/// Guesses which catalogued (release, mode) sent an ApiVersions reply, given
/// as its `(api_key, range)` entries in any order. See the module docs.
pub fn guess_release(entries: &[(i16, VersionRange)]) -> Guess {
    let reply: BTreeMap<i16, VersionRange> = entries
        .iter()
        .copied()
        .filter(|(key, _)| !IGNORED_KEYS.contains(key))
        .collect();
    if reply.is_empty() {
        return Guess::Unknown;
    }
    let mut best = usize::MAX;
    let mut candidates = Vec::new();
    for (release, mode, _) in tables() {
        let runs = variants(release, mode);
        for (patches, table) in runs {
            let d = differing_keys(&reply, table);
            if d < best {
                best = d;
                candidates.clear();
            }
            if d == best {
                candidates.push(Candidate {
                    release,
                    mode,
                    patches: (runs.len() > 1).then_some(*patches),
                });
            }
        }
    }
    candidates.sort_unstable();
    if best == 0 {
        Guess::Exact(candidates)
    } else if best.saturating_mul(2) > reply.len() {
        Guess::Unknown
    } else {
        Guess::Closest {
            candidates,
            differing_keys: best,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::api_key::{API_VERSIONS, METADATA};
    use crate::versions::table::table;
    use proptest::prelude::*;

    fn r(s: &str) -> Release {
        s.parse().expect("known release")
    }

    fn reply(release: &str, mode: Mode) -> Vec<(i16, VersionRange)> {
        table(r(release), mode).expect("table").ranges()
    }

    fn c(release: &str, mode: Mode) -> Candidate {
        Candidate::new(r(release), mode)
    }

    /// 4.0.1 and 4.0.2 advertise JoinGroup v0–9, 4.0.0 v2–9 (KAFKA-19444).
    fn kafka_4_0(first: u8, last: u8) -> Candidate {
        Candidate {
            patches: Some(Patches {
                release: r("4.0"),
                first,
                last,
            }),
            ..c("4.0", Mode::Kraft)
        }
    }

    /// The candidates whose tables are identical, as the data has them.
    /// Everything else is uniquely identified by its ApiVersions reply.
    fn indistinguishable_groups() -> Vec<Vec<Candidate>> {
        // 3.3 and 3.4 KRaft brokers advertise the same 49 APIs at the same
        // versions (franz-go's kversion documents the same collision).
        vec![vec![c("3.3", Mode::Kraft), c("3.4", Mode::Kraft)]]
    }

    /// Every table of every patch run, as the candidate that names it.
    fn all_variants() -> Vec<(Candidate, &'static ApiTable)> {
        tables()
            .flat_map(|(release, mode, _)| {
                let runs = variants(release, mode);
                runs.iter().map(move |(p, t)| {
                    let patches = (runs.len() > 1).then_some(*p);
                    (Candidate { release, mode, patches }, t)
                })
            })
            .collect()
    }

    #[test]
    fn every_patch_run_guesses_back_to_itself() {
        let groups = indistinguishable_groups();
        let all = all_variants();
        assert_eq!(all.len(), 36, "35 release/modes, 4.0 in two patch runs");
        for (me, table) in all {
            let guess = guess_release(&table.ranges());
            let expected = groups
                .iter()
                .find(|g| g.contains(&me))
                .cloned()
                .unwrap_or_else(|| vec![me]);
            assert_eq!(guess, Guess::Exact(expected), "{me:?}");
        }
    }

    #[test]
    fn features_tell_3_3_from_3_4_kraft() {
        use crate::protocol::messages::SupportedFeature;
        let reply = |release: &str, mv_max: i16| ApiVersionsResponse {
            api_keys: table(r(release), Mode::Kraft)
                .expect("table")
                .iter()
                .map(|e| crate::protocol::messages::ApiVersionEntry {
                    api_key: e.key,
                    min_version: e.range.min,
                    max_version: e.range.max,
                })
                .collect(),
            supported_features: vec![SupportedFeature {
                name: "metadata.version".into(),
                min_version: 1,
                max_version: mv_max,
            }],
            ..ApiVersionsResponse::default()
        };
        assert_eq!(
            guess_broker(&reply("3.3", 7), 3),
            Guess::Exact(vec![c("3.3", Mode::Kraft)])
        );
        assert_eq!(
            guess_broker(&reply("3.4", 8), 3),
            Guess::Exact(vec![c("3.4", Mode::Kraft)])
        );
        // Below v3 there are no features: the tie stays.
        assert_eq!(guess_broker(&reply("3.4", 8), 2).candidates().len(), 2);
        // Features no default broker has: the table's answer stands.
        assert_eq!(guess_broker(&reply("3.4", 99), 3).candidates().len(), 2);
        // As text, and without a reply whose features could be read.
        assert_eq!(describe_broker(&Ok(reply("3.3", 7)), 3), "3.3 (kraft)");
        let unreadable = Err(DecodeError::UnexpectedNull { what: "feature name" });
        assert_eq!(
            describe_broker(&unreadable, 3),
            "unknown (the reply's feature fields do not decode: null feature name where this version does not allow null)"
        );
    }

    #[test]
    fn patches_of_4_0_are_told_apart() {
        let (_, t400) = &variants(r("4.0"), Mode::Kraft)[0];
        assert_eq!(guess_release(&t400.ranges()), Guess::Exact(vec![kafka_4_0(0, 0)]));
        assert_eq!(guess_release(&t400.ranges()).to_string(), "4.0.0 (kraft)");
        let newest = guess_release(&reply("4.0", Mode::Kraft));
        assert_eq!(newest, Guess::Exact(vec![kafka_4_0(1, 2)]));
        assert_eq!(newest.to_string(), "4.0.1–4.0.2 (kraft)");
        assert!(newest.contains(r("4.0"), Mode::Kraft));
    }

    /// Recomputes the groups from the data, so a data change that merges or
    /// splits groups fails here with the new grouping.
    #[test]
    fn indistinguishable_groups_are_exactly_these() {
        let mut groups: Vec<Vec<Candidate>> = Vec::new();
        let all = all_variants();
        for (i, &(a, ta)) in all.iter().enumerate() {
            let same: Vec<Candidate> = all[i..].iter().filter(|(_, tb)| *tb == ta).map(|&(b, _)| b).collect();
            let already = groups.iter().any(|g| g.contains(&a));
            if same.len() > 1 && !already {
                groups.push(same);
            }
        }
        assert_eq!(groups, indistinguishable_groups());
    }

    #[test]
    fn display_forms() {
        let one = guess_release(&reply("3.8", Mode::Zk));
        assert_eq!(one.to_string(), "3.8 (zk)");
        let group = guess_release(&reply("3.4", Mode::Kraft));
        assert_eq!(group.to_string(), "3.3 or 3.4 (kraft)");
        let mixed = Guess::Exact(vec![c("3.3", Mode::Zk), c("3.3", Mode::Kraft)]);
        assert_eq!(mixed.to_string(), "3.3 (zk) or 3.3 (kraft)");
        let closest = Guess::Closest {
            candidates: vec![c("3.8", Mode::Zk)],
            differing_keys: 2,
        };
        assert_eq!(closest.to_string(), "closest: 3.8 (zk), 2 keys differ");
        let closest1 = Guess::Closest {
            candidates: vec![c("3.0", Mode::Zk), c("3.1", Mode::Zk), c("3.2", Mode::Zk)],
            differing_keys: 1,
        };
        assert_eq!(closest1.to_string(), "closest: 3.0 or 3.1 or 3.2 (zk), 1 key differs");
        assert_eq!(Guess::Unknown.to_string(), "unknown Kafka release");
    }

    #[test]
    fn perturbed_max_is_closest_not_exact() {
        let mut entries = reply("3.8", Mode::Zk);
        let meta = entries
            .iter_mut()
            .find(|(k, _)| *k == METADATA)
            .expect("Metadata advertised");
        meta.1.max += 1;
        let guess = guess_release(&entries);
        assert_eq!(
            guess,
            Guess::Closest {
                candidates: vec![c("3.8", Mode::Zk)],
                differing_keys: 1,
            }
        );
        assert_eq!(guess.to_string(), "closest: 3.8 (zk), 1 key differs");
    }

    #[test]
    fn missing_and_extra_keys_count() {
        // 4.3 differs from 4.2 only in DescribeLogDirs (35) max 5 vs 4: without
        // 35 and with an unknown extra key, both are 2 keys away.
        let mut entries = reply("4.3", Mode::Kraft);
        entries.retain(|(k, _)| *k != 35);
        entries.push((9000, VersionRange { min: 0, max: 0 }));
        let guess = guess_release(&entries);
        assert_eq!(
            guess,
            Guess::Closest {
                candidates: vec![c("4.2", Mode::Kraft), c("4.3", Mode::Kraft)],
                differing_keys: 2,
            }
        );
        assert_eq!(guess.to_string(), "closest: 4.2 or 4.3 (kraft), 2 keys differ");
    }

    /// An ApiVersions reply as `kafka-matrix probe --json` recorded it from a
    /// real broker (`data/recordings/`, data/SOURCES.md): every key with the
    /// broker's range, and the supported and finalized features.
    fn recorded_reply(json: &str) -> ApiVersionsResponse {
        use crate::protocol::messages::{ApiVersionEntry, FinalizedFeature, SupportedFeature};
        let probe: serde_json::Value = serde_json::from_str(json).expect("probe JSON");
        let int = |v: &serde_json::Value| v.as_i64().and_then(|n| i16::try_from(n).ok()).expect("16-bit number");
        let api_keys = probe["apis"]
            .as_array()
            .expect("apis")
            .iter()
            .map(|a| ApiVersionEntry {
                api_key: int(&a["key"]),
                min_version: int(&a["broker"]["min"]),
                max_version: int(&a["broker"]["max"]),
            })
            .collect();
        let strings = |field: &str| -> Vec<String> {
            probe["features"][field]
                .as_array()
                .expect("feature list")
                .iter()
                .map(|f| f.as_str().expect("feature text").to_owned())
                .collect()
        };
        // "metadata.version 7-33" (supported) and "metadata.version 33" (finalized).
        let supported_features = strings("supported")
            .iter()
            .map(|f| {
                let (name, range) = f.split_once(' ').expect("name range");
                let (min, max) = range.split_once('-').expect("min-max");
                SupportedFeature {
                    name: name.to_owned(),
                    min_version: min.parse().expect("min"),
                    max_version: max.parse().expect("max"),
                }
            })
            .collect();
        let finalized_features = strings("finalized")
            .iter()
            .map(|f| {
                let (name, level) = f.split_once(' ').expect("name level");
                let level = level.parse().expect("level");
                FinalizedFeature {
                    name: name.to_owned(),
                    max_version_level: level,
                    min_version_level: level,
                }
            })
            .collect();
        ApiVersionsResponse {
            api_keys,
            supported_features,
            finalized_features,
            finalized_features_epoch: probe["features"]["epoch"].as_i64().expect("epoch"),
            ..ApiVersionsResponse::default()
        }
    }

    const REAL_4_4_0: &str = include_str!("../../data/recordings/4.4.0-kraft.json");
    const REAL_4_3_2: &str = include_str!("../../data/recordings/4.3.2-kraft.json");

    #[test]
    fn every_recorded_real_broker_is_guessed_as_its_release() {
        let early_access = [
            (include_str!("../../data/recordings/2.8.0-kraft.json"), "2.8"),
            (include_str!("../../data/recordings/3.0.0-kraft.json"), "3.0"),
            (include_str!("../../data/recordings/3.1.0-kraft.json"), "3.1"),
            (include_str!("../../data/recordings/3.2.0-kraft.json"), "3.2"),
        ];
        for (json, release) in [(REAL_4_4_0, "4.4"), (REAL_4_3_2, "4.3")]
            .into_iter()
            .chain(early_access)
        {
            let reply = recorded_reply(json);
            let expected = Guess::Exact(vec![c(release, Mode::Kraft)]);
            assert_eq!(guess_broker(&reply, 4), expected, "{release}");
            let entries: Vec<(i16, VersionRange)> = reply
                .api_keys
                .iter()
                .map(|e| {
                    (
                        e.api_key,
                        VersionRange::new(e.min_version, e.max_version).expect("min <= max"),
                    )
                })
                .collect();
            assert_eq!(guess_release(&entries), expected, "{release}, table alone");
        }
    }

    /// What the real 4.4.0 advertises beyond 4.3: ApiVersions v5 (KIP-1242),
    /// TxnOffsetCommit v6, DeleteGroups v3, StreamsGroupHeartbeat and
    /// StreamsGroupDescribe v1, and keys 93 and 94 (v0).
    #[test]
    fn real_4_4_0_is_seven_keys_from_4_3() {
        let reply = recorded_reply(REAL_4_4_0);
        let entries: Vec<(i16, VersionRange)> = reply
            .api_keys
            .iter()
            .filter(|e| e.api_key != 93 && e.api_key != 94)
            .map(|e| {
                let max = match e.api_key {
                    API_VERSIONS | 28 | 42 | 88 | 89 => e.max_version - 1,
                    _ => e.max_version,
                };
                (e.api_key, VersionRange::new(e.min_version, max).expect("min <= max"))
            })
            .collect();
        assert_eq!(guess_release(&entries), Guess::Exact(vec![c("4.3", Mode::Kraft)]));
        let t43 = table(r("4.3"), Mode::Kraft).expect("4.3");
        let t44 = table(r("4.4"), Mode::Kraft).expect("4.4");
        assert_eq!(differing_keys(&t44.ranges().into_iter().collect(), t43), 7);
    }

    #[test]
    fn telemetry_keys_do_not_matter() {
        let mut entries = reply("3.9", Mode::Kraft);
        entries.push((71, VersionRange { min: 0, max: 0 }));
        entries.push((72, VersionRange { min: 0, max: 0 }));
        assert_eq!(guess_release(&entries), Guess::Exact(vec![c("3.9", Mode::Kraft)]));
    }

    #[test]
    fn order_of_entries_does_not_matter() {
        let mut entries = reply("2.4", Mode::Zk);
        entries.reverse();
        assert_eq!(guess_release(&entries), Guess::Exact(vec![c("2.4", Mode::Zk)]));
    }

    #[test]
    fn unknown_replies() {
        assert_eq!(guess_release(&[]), Guess::Unknown);
        assert_eq!(guess_release(&[(71, VersionRange { min: 0, max: 0 })]), Guess::Unknown);
        // A two-key emulator is far from every real table.
        let tiny = [
            (API_VERSIONS, VersionRange { min: 0, max: 3 }),
            (METADATA, VersionRange { min: 0, max: 12 }),
        ];
        assert_eq!(guess_release(&tiny), Guess::Unknown);
        assert!(Guess::Unknown.candidates().is_empty());
    }

    proptest! {
        /// Pure and total: any reply gets an answer, the same one twice, and
        /// any candidate list is non-empty and sorted.
        #[test]
        fn guess_is_total_and_deterministic(
            raw in prop::collection::vec((0i16..100, 0i16..20, 0i16..20), 0..90)
        ) {
            let entries: Vec<(i16, VersionRange)> = raw
                .into_iter()
                .map(|(k, a, b)| (k, VersionRange { min: a.min(b), max: a.max(b) }))
                .collect();
            let g1 = guess_release(&entries);
            let g2 = guess_release(&entries);
            prop_assert_eq!(&g1, &g2);
            if !matches!(g1, Guess::Unknown) {
                let c = g1.candidates();
                prop_assert!(!c.is_empty());
                prop_assert!(c.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }
}
