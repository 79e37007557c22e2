//! Kafka releases and broker modes as values: `3.8`, `zk`, `kraft`.
//!
//! A [`Release`] names a *minor* release (`3.8`). Patch releases are not
//! modelled separately because the ApiVersions data is keyed by the `x.y.0`
//! tag (see `data/SOURCES.md`); parsing `"3.8.1"` therefore yields `3.8`.
//! Only the releases the data covers ([`Release::ALL`], 2.0 … 4.4) parse, so a
//! `Release` obtained from [`str::parse`] always has a table.
//!
//! # References
//! - <https://kafka.apache.org/community/downloads/>

use std::fmt;
use std::str::FromStr;

/// How the broker keeps its metadata. The advertised API set differs between
/// the two (see `data/SOURCES.md`, rule 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// ZooKeeper-backed broker (Kafka 2.0 … 3.9).
    Zk,
    /// KRaft broker role (Kafka 2.8 … 4.4; 2.8–3.2 early access).
    Kraft,
}

impl Mode {
    /// Both modes, `Zk` first.
    pub const ALL: [Mode; 2] = [Mode::Zk, Mode::Kraft];

    /// The canonical lowercase name: `"zk"` or `"kraft"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Zk => "zk",
            Mode::Kraft => "kraft",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is neither `zk`, `zookeeper` nor `kraft`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Kafka broker mode {input:?}; expected zk, zookeeper or kraft")]
pub struct ParseModeError {
    /// The rejected input, as given.
    pub input: String,
}

impl FromStr for Mode {
    type Err = ParseModeError;

    /// Accepts `zk`, `zookeeper` and `kraft`, ignoring ASCII case and
    /// surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("zk") || t.eq_ignore_ascii_case("zookeeper") {
            Ok(Mode::Zk)
        } else if t.eq_ignore_ascii_case("kraft") {
            Ok(Mode::Kraft)
        } else {
            Err(ParseModeError { input: s.to_owned() })
        }
    }
}

impl serde::Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A Kafka minor release, e.g. `3.8`. Ordered by `(major, minor)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    /// Major version (2, 3 or 4 for the releases we know).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl Release {
    /// Every release the bundled data covers, oldest first.
    pub const ALL: [Release; 24] = [
        Release::new(2, 0),
        Release::new(2, 1),
        Release::new(2, 2),
        Release::new(2, 3),
        Release::new(2, 4),
        Release::new(2, 5),
        Release::new(2, 6),
        Release::new(2, 7),
        Release::new(2, 8),
        Release::new(3, 0),
        Release::new(3, 1),
        Release::new(3, 2),
        Release::new(3, 3),
        Release::new(3, 4),
        Release::new(3, 5),
        Release::new(3, 6),
        Release::new(3, 7),
        Release::new(3, 8),
        Release::new(3, 9),
        Release::new(4, 0),
        Release::new(4, 1),
        Release::new(4, 2),
        Release::new(4, 3),
        Release::new(4, 4),
    ];

    /// Builds a release value without checking that it is known; use
    /// [`str::parse`] or [`Release::is_known`] for untrusted input.
    pub const fn new(major: u8, minor: u8) -> Self {
        Self { major, minor }
    }

    /// Whether the bundled data covers this release.
    pub fn is_known(self) -> bool {
        Self::ALL.contains(&self)
    }

    /// The oldest known release (2.0).
    pub const fn oldest() -> Self {
        Self::ALL[0]
    }

    /// The newest known release (4.4).
    pub const fn newest() -> Self {
        Self::ALL[Self::ALL.len() - 1]
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Why a string is not a known Kafka release.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseReleaseError {
    /// Not of the form `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`.
    #[error("malformed Kafka release {input:?}; expected MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 3.8 or 3.8.1")]
    Malformed {
        /// The rejected input, as given.
        input: String,
    },
    /// Well formed, but not one of [`Release::ALL`].
    #[error("unknown Kafka release {input:?}; known releases: {}", KnownList)]
    Unknown {
        /// The rejected input, as given.
        input: String,
    },
}

/// Formats [`Release::ALL`] as `2.0, 2.1, …, 4.4` for error messages.
struct KnownList;

impl fmt::Display for KnownList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in Release::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// Parses one dotted component: ASCII digits only (no sign, no spaces).
fn component(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl FromStr for Release {
    type Err = ParseReleaseError;

    /// Accepts `3.8`, `3.8.0`, `3.8.1` (any patch maps to its minor release)
    /// and an optional leading `v` (`v3.8`, as franz-go's kversion prints it).
    /// Surrounding whitespace is ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || ParseReleaseError::Malformed { input: s.to_owned() };
        let t = s.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let parts: Vec<&str> = t.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(malformed());
        }
        let mut nums = [0u32; 3];
        for (slot, part) in nums.iter_mut().zip(&parts) {
            *slot = component(part).ok_or_else(malformed)?;
        }
        let unknown = || ParseReleaseError::Unknown { input: s.to_owned() };
        let major = u8::try_from(nums[0]).map_err(|_| unknown())?;
        let minor = u8::try_from(nums[1]).map_err(|_| unknown())?;
        let release = Release::new(major, minor);
        if release.is_known() {
            Ok(release)
        } else {
            Err(unknown())
        }
    }
}

impl serde::Serialize for Release {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Release {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses a release selection: `all`, `3.8`, `2.0..3.8` (inclusive), or a
/// comma list of those.
pub fn parse_releases(spec: &str) -> Result<Vec<Release>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part == "all" {
            out.extend(Release::ALL);
        } else if let Some((lo, hi)) = part.split_once("..") {
            let lo: Release = lo.parse().map_err(|e| format!("{e}"))?;
            let hi: Release = hi.parse().map_err(|e| format!("{e}"))?;
            if lo > hi {
                return Err(format!("empty release range {part}: {lo} is after {hi}"));
            }
            out.extend(Release::ALL.into_iter().filter(|r| (lo..=hi).contains(r)));
        } else {
            out.push(part.parse().map_err(|e| format!("{e}"))?);
        }
    }
    if out.is_empty() {
        return Err(format!("no releases selected by {spec:?}"));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_selection_syntax() {
        let r = |s: &str| parse_releases(s).map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "));
        assert_eq!(r("3.8"), Ok("3.8".into()));
        assert_eq!(r("2.0..2.3"), Ok("2.0 2.1 2.2 2.3".into()));
        assert_eq!(r("3.9, 2.0,3.9"), Ok("2.0 3.9".into()));
        assert_eq!(r("all").map(|s| s.split(' ').count()), Ok(Release::ALL.len()));
        assert_eq!(
            parse_releases("3.8..2.0"),
            Err("empty release range 3.8..2.0: 3.8 is after 2.0".into())
        );
        assert!(parse_releases("3.10").is_err());
        assert!(parse_releases("").is_err());
    }

    use rstest::rstest;

    #[rstest]
    #[case("3.8", Release::new(3, 8))]
    #[case("3.8.0", Release::new(3, 8))]
    #[case("3.8.1", Release::new(3, 8))]
    #[case("v3.8", Release::new(3, 8))]
    #[case(" 2.0 ", Release::new(2, 0))]
    #[case("4.3.12", Release::new(4, 3))]
    #[case("4.4.0", Release::new(4, 4))]
    fn parses_known_releases(#[case] input: &str, #[case] expected: Release) {
        assert_eq!(input.parse::<Release>(), Ok(expected));
    }

    const KNOWN: &str = "2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 3.0, 3.1, 3.2, 3.3, \
                         3.4, 3.5, 3.6, 3.7, 3.8, 3.9, 4.0, 4.1, 4.2, 4.3, 4.4";

    #[rstest]
    #[case("3.10")]
    #[case("1.1")]
    #[case("2.9")]
    #[case("4.5.0")]
    #[case("300.0")]
    fn unknown_release_error_text(#[case] input: &str) {
        let err = input.parse::<Release>().expect_err("must be rejected");
        assert_eq!(
            err.to_string(),
            format!("unknown Kafka release \"{input}\"; known releases: {KNOWN}")
        );
    }

    #[test]
    fn unknown_release_exact_display() {
        let err = "3.10".parse::<Release>().expect_err("3.10 is not a release");
        assert_eq!(
            err.to_string(),
            "unknown Kafka release \"3.10\"; known releases: 2.0, 2.1, 2.2, 2.3, 2.4, 2.5, \
             2.6, 2.7, 2.8, 3.0, 3.1, 3.2, 3.3, 3.4, 3.5, 3.6, 3.7, 3.8, 3.9, 4.0, 4.1, 4.2, 4.3, 4.4"
        );
    }

    #[rstest]
    #[case("")]
    #[case("3")]
    #[case("3.")]
    #[case(".8")]
    #[case("3.8.1.2")]
    #[case("three.eight")]
    #[case("3.-8")]
    #[case("+3.8")]
    #[case("3.8-kraft")]
    fn malformed_release_error_text(#[case] input: &str) {
        let err = input.parse::<Release>().expect_err("must be rejected");
        assert_eq!(
            err,
            ParseReleaseError::Malformed {
                input: input.to_owned()
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "malformed Kafka release {input:?}; expected MAJOR.MINOR or MAJOR.MINOR.PATCH, \
                 e.g. 3.8 or 3.8.1"
            )
        );
    }

    #[test]
    fn display_round_trips_for_every_release() {
        for r in Release::ALL {
            assert_eq!(r.to_string().parse::<Release>(), Ok(r));
        }
        assert_eq!(Release::new(3, 8).to_string(), "3.8");
    }

    #[test]
    fn all_is_sorted_and_unique() {
        assert!(Release::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Release::oldest(), Release::new(2, 0));
        assert_eq!(Release::newest(), Release::new(4, 4));
        assert!(Release::new(2, 9) > Release::new(2, 8));
        assert!(Release::new(3, 0) > Release::new(2, 9));
    }

    #[rstest]
    #[case("zk", Mode::Zk)]
    #[case("zookeeper", Mode::Zk)]
    #[case("ZK", Mode::Zk)]
    #[case("kraft", Mode::Kraft)]
    #[case("KRaft", Mode::Kraft)]
    fn parses_modes(#[case] input: &str, #[case] expected: Mode) {
        assert_eq!(input.parse::<Mode>(), Ok(expected));
    }

    #[test]
    fn bad_mode_error_text() {
        let err = "raft".parse::<Mode>().expect_err("raft is not a mode");
        assert_eq!(
            err.to_string(),
            "unknown Kafka broker mode \"raft\"; expected zk, zookeeper or kraft"
        );
    }

    #[test]
    fn mode_display() {
        assert_eq!(Mode::Zk.to_string(), "zk");
        assert_eq!(Mode::Kraft.to_string(), "kraft");
    }

    #[test]
    fn serde_uses_strings() {
        let json = serde_json::to_string(&(Release::new(3, 8), Mode::Kraft)).expect("serialize");
        assert_eq!(json, r#"["3.8","kraft"]"#);
        let back: (Release, Mode) = serde_json::from_str(r#"["3.8.1","zookeeper"]"#).expect("parse");
        assert_eq!(back, (Release::new(3, 8), Mode::Zk));
        let err = serde_json::from_str::<Release>(r#""3.10""#).expect_err("unknown release");
        assert!(err.to_string().starts_with("unknown Kafka release \"3.10\""), "{err}");
    }
}
