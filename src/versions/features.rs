//! What a default broker of each release puts in the KIP-584 part of its
//! ApiVersions v3+ reply, loaded once from `data/features.csv`.
//!
//! Columns `release,mode,kind,name,min_version,max_version`, where `kind` is
//! `supported` (a range the broker supports), `finalized` (a level the
//! cluster finalized: min = max = level) or `epoch` (the finalized-features
//! epoch, in min and max). Rows are in wire order: Kafka writes each array in
//! its `HashMap`'s iteration order, which `docs/research/features-autocreate.md`
//! computes per release. A (release, mode) without rows sends none of these
//! tagged fields (ZooKeeper 2.0–2.6, KRaft 2.8–3.2).
//!
//! - ZooKeeper 2.7–3.9: no features, epoch 0 (the controller creates the
//!   feature znode at epoch 0; 2.7.0 `KafkaController.enableFeatureVersioning`).
//! - KRaft 3.3+: `metadata.version` supported and finalized at the release's
//!   latest production level; 3.9 adds `kraft.version`; 4.x the group,
//!   transaction, eligible-leader-replicas, share and streams features
//!   (`BrokerFeatures.defaultSupportedFeatures`, `Feature.PRODUCTION_FEATURES`,
//!   the storage tool's format defaults). The epoch of a KRaft broker is the
//!   metadata log offset of the last feature change: a young single-node
//!   cluster reports a small number; the data holds 10.
//!
//! Two rules depend on the request, not the release, and live with the
//! reply: from 3.9 a request below v4 gets no supported feature whose min is
//! 0 (KAFKA-17492, 3.9.0 `ApiVersionsResponse` "at versions less than 4, we
//! must omit these features"), and a finalized level 0 is never sent.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::release::{Mode, Release};

const CSV: &str = include_str!("../../data/features.csv");
const HEADER: &str = "release,mode,kind,name,min_version,max_version";

static FEATURES: LazyLock<BTreeMap<(Release, Mode), Features>> =
    LazyLock::new(|| parse(CSV).unwrap_or_else(|e| panic!("data/features.csv is invalid: {e}")));

/// A feature range (supported) or level (finalized: `min == max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    /// E.g. `metadata.version`.
    pub name: &'static str,
    /// Lowest version (the level, for a finalized feature).
    pub min: i16,
    /// Highest version (the level, for a finalized feature).
    pub max: i16,
}

/// The KIP-584 fields of one (release, mode), in wire order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// Tag 0.
    pub supported: Vec<Feature>,
    /// Tag 2.
    pub finalized: Vec<Feature>,
    /// Tag 1; `None` is Kafka's default, -1, which is not sent.
    pub epoch: Option<i64>,
}

impl Features {
    /// The supported features a request at `api_versions_version` gets from
    /// `release` (3.9+ drop those with min 0 below v4).
    pub fn supported_for(&self, release: Release, api_versions_version: i16) -> impl Iterator<Item = &Feature> + '_ {
        let omit_min_0 = release >= Release::new(3, 9) && api_versions_version < 4;
        self.supported.iter().filter(move |f| !(omit_min_0 && f.min == 0))
    }
}

/// The KIP-584 fields a default broker of `release` in `mode` sends (empty
/// for combinations that send none).
pub fn features(release: Release, mode: Mode) -> &'static Features {
    static NONE: Features = Features {
        supported: Vec::new(),
        finalized: Vec::new(),
        epoch: None,
    };
    FEATURES.get(&(release, mode)).unwrap_or(&NONE)
}

fn parse(text: &'static str) -> Result<BTreeMap<(Release, Mode), Features>, String> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    match lines.next() {
        Some((_, h)) if h.trim_end() == HEADER => {}
        other => return Err(format!("line 1: expected header {HEADER:?}, found {other:?}")),
    }
    let mut out: BTreeMap<(Release, Mode), Features> = BTreeMap::new();
    for (line, raw) in lines {
        let raw = raw.trim_end_matches('\r');
        if raw.is_empty() {
            continue;
        }
        let fields: Vec<&'static str> = raw.split(',').collect();
        let [release, mode, kind, name, min, max] = fields[..] else {
            return Err(format!("line {line}: expected 6 fields, found {}", fields.len()));
        };
        let release: Release = release.parse().map_err(|e| format!("line {line}: {e}"))?;
        let mode: Mode = mode.parse().map_err(|e| format!("line {line}: {e}"))?;
        let number = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| format!("line {line}: {v:?} is not a number"))
        };
        let (min, max) = (number(min)?, number(max)?);
        let entry = out.entry((release, mode)).or_default();
        let feature = || -> Result<Feature, String> {
            let small = |v: i64| i16::try_from(v).map_err(|_| format!("line {line}: {v} is not a 16-bit version"));
            if name.is_empty() || min > max {
                return Err(format!("line {line}: a feature needs a name and min <= max"));
            }
            Ok(Feature {
                name,
                min: small(min)?,
                max: small(max)?,
            })
        };
        match kind {
            "supported" => entry.supported.push(feature()?),
            "finalized" if min == max => entry.finalized.push(feature()?),
            "epoch" if min == max && entry.epoch.is_none() => entry.epoch = Some(min),
            _ => return Err(format!("line {line}: bad {kind:?} row")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Release {
        s.parse().expect("known release")
    }

    fn names(fs: &[Feature]) -> Vec<&str> {
        fs.iter().map(|f| f.name).collect()
    }

    #[test]
    fn bundled_data_loads_and_covers_what_the_research_says() {
        assert!(features(r("2.6"), Mode::Zk).epoch.is_none(), "no KIP-584 before 2.7");
        assert!(
            features(r("3.2"), Mode::Kraft) == &Features::default(),
            "KRaft 2.8-3.2 send nothing"
        );
        for release in ["2.7", "3.0", "3.9"] {
            let zk = features(r(release), Mode::Zk);
            assert_eq!(
                (zk.supported.len(), zk.finalized.len(), zk.epoch),
                (0, 0, Some(0)),
                "{release} zk"
            );
        }
        let k38 = features(r("3.8"), Mode::Kraft);
        assert_eq!(
            k38.supported,
            [Feature {
                name: "metadata.version",
                min: 1,
                max: 20
            }]
        );
        assert_eq!(
            k38.finalized,
            [Feature {
                name: "metadata.version",
                min: 20,
                max: 20
            }]
        );
        let k43 = features(r("4.3"), Mode::Kraft);
        assert_eq!(
            names(&k43.supported),
            [
                "group.version",
                "kraft.version",
                "metadata.version",
                "share.version",
                "streams.version",
                "transaction.version",
                "eligible.leader.replicas.version"
            ],
            "HashMap order, as on the wire"
        );
    }

    /// The supported and finalized features, in wire order, as real 4.3.2 and
    /// 4.4.0 brokers sent them (`data/recordings/`). The epoch is the data's
    /// 10, not the recordings' 15 (module docs).
    #[test]
    fn features_match_the_real_4_3_2_and_4_4_0() {
        for (json, release) in [
            (include_str!("../../data/recordings/4.3.2-kraft.json"), "4.3"),
            (include_str!("../../data/recordings/4.4.0-kraft.json"), "4.4"),
        ] {
            let probe: serde_json::Value = serde_json::from_str(json).expect("probe JSON");
            let listed = |field: &str| -> Vec<String> {
                probe["features"][field]
                    .as_array()
                    .expect("feature list")
                    .iter()
                    .map(|f| f.as_str().expect("text").to_owned())
                    .collect()
            };
            let f = features(r(release), Mode::Kraft);
            let supported: Vec<String> = f
                .supported
                .iter()
                .map(|f| format!("{} {}-{}", f.name, f.min, f.max))
                .collect();
            let finalized: Vec<String> = f.finalized.iter().map(|f| format!("{} {}", f.name, f.max)).collect();
            assert_eq!(supported, listed("supported"), "{release}");
            assert_eq!(finalized, listed("finalized"), "{release}");
            assert_eq!(f.epoch, Some(10), "{release}");
        }
        let share = |release: &str| {
            features(r(release), Mode::Kraft)
                .finalized
                .iter()
                .find(|f| f.name == "share.version")
                .map(|f| f.max)
        };
        assert_eq!((share("4.3"), share("4.4")), (Some(1), Some(2)));
    }

    #[test]
    fn every_kraft_release_from_3_3_finalizes_metadata_version() {
        for release in Release::ALL.into_iter().filter(|r| *r >= Release::new(3, 3)) {
            let f = features(release, Mode::Kraft);
            let mv = f.finalized.iter().find(|f| f.name == "metadata.version");
            let supported = f.supported.iter().find(|f| f.name == "metadata.version");
            assert!(mv.is_some() && supported.is_some(), "{release}");
            assert_eq!(
                mv.map(|f| f.max),
                supported.map(|f| f.max),
                "{release}: finalized at the top level"
            );
        }
    }

    #[test]
    fn from_3_9_requests_below_v4_get_no_min_0_features() {
        let f = features(r("4.0"), Mode::Kraft);
        let v3: Vec<_> = f.supported_for(r("4.0"), 3).map(|f| f.name).collect();
        assert_eq!(v3, ["metadata.version"]);
        assert_eq!(f.supported_for(r("4.0"), 4).count(), 5);
    }
}
