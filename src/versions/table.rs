//! The per-release ApiVersions tables, loaded once from `data/api_versions.csv`.
//!
//! The CSV is compiled into the binary with `include_str!` and parsed on first
//! use into a catalog held in a [`LazyLock`]. Every row is validated while
//! loading: the header, the `x.y.0` release (which must be one of
//! [`Release::ALL`]), the mode, numeric fields, `min <= max`, and no duplicate
//! key within one (release, mode). A bad row is a bug in the bundled data, not
//! an input error, so loading panics with the line number; the unit tests load
//! the data, so such a bug fails `cargo test` before it ships.
//!
//! Rows are keyed by the `x.y.0` tag. `data/api_versions_patches.csv` (same
//! columns, full patch versions, `-` for a key a patch no longer advertises)
//! holds each later patch's differences from its `.0`: only KAFKA-19444 so far
//! (4.0.1 put JoinGroup v0–1 back; `docs/research/patch-tables.md`).
//! [`table()`] is the table of the patch the catalog names (4.0.2 for 4.0),
//! and [`variants()`] lists the distinct tables across a minor's patches, so
//! that a guess can tell 4.0.0 from 4.0.1–4.0.2.
//!
//! # References
//! - `data/SOURCES.md` (where each row comes from and the rules applied)
//! - <https://kafka.apache.org/protocol#The_Messages_ApiVersions>

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::release::{Mode, Release};
use crate::protocol::VersionRange;

/// The bundled CSV, verbatim.
const CSV: &str = include_str!("../../data/api_versions.csv");

/// The bundled patch differences, verbatim.
const PATCHES_CSV: &str = include_str!("../../data/api_versions_patches.csv");

/// The exact header the loader expects.
const HEADER: &str = "release,mode,api_key,api_name,min_version,max_version";

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    let mut catalog = parse_catalog(CSV).unwrap_or_else(|e| panic!("data/api_versions.csv is invalid: {e}"));
    let patches =
        parse_patches(PATCHES_CSV).unwrap_or_else(|e| panic!("data/api_versions_patches.csv is invalid: {e}"));
    catalog.apply_patches(&patches, |release| {
        super::catalog::release_info(release).and_then(|i| patch_number(i.latest_patch))
    });
    catalog
});

/// The patch number of `x.y.z`.
fn patch_number(version: &str) -> Option<u8> {
    version.rsplit('.').next()?.parse().ok()
}

/// A run of patches of one minor release that advertise the same table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Patches {
    /// The minor release.
    pub release: Release,
    /// First patch of the run (0 for `x.y.0`).
    pub first: u8,
    /// Last patch of the run.
    pub last: u8,
}

impl std::fmt::Display for Patches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.release, self.first)?;
        if self.last != self.first {
            write!(f, "–{}.{}", self.release, self.last)?;
        }
        Ok(())
    }
}

/// One patch's difference from its `x.y.0` row set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PatchRow {
    release: Release,
    patch: u8,
    mode: Mode,
    key: i16,
    /// `None`: the patch does not advertise the key.
    entry: Option<ApiEntry>,
}

/// One advertised API: key, name and supported version range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ApiEntry {
    /// The API key (e.g. 18 for ApiVersions).
    pub key: i16,
    /// The API's name as the data gives it for this release.
    pub name: &'static str,
    /// The versions a default broker of this release advertises.
    pub range: VersionRange,
}

/// The ApiVersions answer of one (release, mode): key → entry, ascending.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiTable {
    entries: BTreeMap<i16, ApiEntry>,
}

impl ApiTable {
    /// The advertised range for `key`, if the API is advertised.
    pub fn get(&self, key: i16) -> Option<VersionRange> {
        self.entries.get(&key).map(|e| e.range)
    }

    /// The full entry for `key`.
    pub fn entry(&self, key: i16) -> Option<&ApiEntry> {
        self.entries.get(&key)
    }

    /// Whether `key` is advertised.
    pub fn contains_key(&self, key: i16) -> bool {
        self.entries.contains_key(&key)
    }

    /// Entries in ascending key order, as a broker lists them.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &ApiEntry> + '_ {
        self.entries.values()
    }

    /// `(key, range)` pairs in ascending key order: the shape of an
    /// ApiVersions reply, and the input of [`super::guess_release`].
    pub fn ranges(&self) -> Vec<(i16, VersionRange)> {
        self.iter().map(|e| (e.key, e.range)).collect()
    }

    /// Number of advertised APIs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no API is advertised (never true for a bundled table).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<'a> IntoIterator for &'a ApiTable {
    type Item = &'a ApiEntry;
    type IntoIter = std::collections::btree_map::Values<'a, i16, ApiEntry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.values()
    }
}

/// Every table in the data, plus the newest name of each key.
#[derive(Debug)]
struct Catalog {
    /// The table of each (release, mode) at the patch the catalog names.
    tables: BTreeMap<(Release, Mode), ApiTable>,
    /// The distinct tables across each (release, mode)'s patches, oldest first.
    variants: BTreeMap<(Release, Mode), Vec<(Patches, ApiTable)>>,
    /// key → (release of the newest row naming it, that name).
    names: BTreeMap<i16, (Release, &'static str)>,
}

impl Catalog {
    /// Applies the patch rows up to each release's newest patch (`latest`),
    /// recording where the table changes as [`Catalog::variants`].
    fn apply_patches(&mut self, rows: &[PatchRow], latest: impl Fn(Release) -> Option<u8>) {
        for (&(release, mode), base) in &mut self.tables {
            let last = latest(release).unwrap_or(0);
            let mut runs = vec![(
                Patches {
                    release,
                    first: 0,
                    last,
                },
                base.clone(),
            )];
            for patch in 1..=last {
                let mut next = runs.last().map(|(_, t)| t.clone()).unwrap_or_default();
                for row in rows
                    .iter()
                    .filter(|r| (r.release, r.patch, r.mode) == (release, patch, mode))
                {
                    match row.entry {
                        Some(e) => next.entries.insert(row.key, e),
                        None => next.entries.remove(&row.key),
                    };
                }
                let Some((run, table)) = runs.last_mut() else { continue };
                if next == *table {
                    continue;
                }
                run.last = patch - 1;
                runs.push((
                    Patches {
                        release,
                        first: patch,
                        last,
                    },
                    next,
                ));
            }
            if let Some((_, newest)) = runs.last() {
                *base = newest.clone();
            }
            self.variants.insert((release, mode), runs);
        }
    }
}

/// A defect in the bundled CSV, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum CatalogError {
    #[error("line 1: expected header {HEADER:?}, found {found:?}")]
    Header { found: String },
    #[error("line {line}: expected 6 comma-separated fields, found {found}")]
    FieldCount { line: usize, found: usize },
    #[error("line {line}: release {value:?} is not an x.y.0 tag of a known release")]
    Release { line: usize, value: String },
    #[error("line {line}: {source}")]
    Mode {
        line: usize,
        source: super::release::ParseModeError,
    },
    #[error("line {line}: {field} {value:?} is not a non-negative 16-bit integer")]
    Number {
        line: usize,
        field: &'static str,
        value: String,
    },
    #[error("line {line}: empty api_name")]
    EmptyName { line: usize },
    #[error("line {line}: min_version {min} > max_version {max}")]
    Flipped { line: usize, min: i16, max: i16 },
    #[error("line {line}: key {key} appears twice for {release} ({mode}); first on line {first}")]
    Duplicate {
        line: usize,
        first: usize,
        key: i16,
        release: Release,
        mode: Mode,
    },
    #[error("no data rows")]
    Empty,
}

/// Parses `x.y.0` into a known release; patch releases are not keyed in the data.
fn parse_release_tag(s: &str) -> Option<Release> {
    let minor_part = s.strip_suffix(".0")?;
    let release: Release = minor_part.parse().ok()?;
    (minor_part == release.to_string()).then_some(release)
}

fn parse_i16(line: usize, field: &'static str, value: &str) -> Result<i16, CatalogError> {
    match value.parse::<i16>() {
        Ok(n) if n >= 0 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(CatalogError::Number {
            line,
            field,
            value: value.to_owned(),
        }),
    }
}

/// The data rows of one of the bundled CSVs, with their 1-based line numbers:
/// the header checked, blank lines skipped, six fields each.
fn csv_rows(text: &'static str) -> Result<Vec<(usize, [&'static str; 6])>, CatalogError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    match lines.next() {
        Some((_, h)) if h.trim_end() == HEADER => {}
        other => {
            return Err(CatalogError::Header {
                found: other.map(|(_, h)| h.to_owned()).unwrap_or_default(),
            })
        }
    }
    let mut rows = Vec::new();
    for (line, raw) in lines {
        let raw = raw.trim_end_matches('\r');
        if raw.is_empty() {
            continue;
        }
        let fields: Vec<&'static str> = raw.split(',').collect();
        let fields: [&'static str; 6] = fields
            .try_into()
            .map_err(|f: Vec<_>| CatalogError::FieldCount { line, found: f.len() })?;
        rows.push((line, fields));
    }
    Ok(rows)
}

/// `min_version`/`max_version` as a range (`min <= max`).
fn parse_range(line: usize, min: &str, max: &str) -> Result<VersionRange, CatalogError> {
    let min = parse_i16(line, "min_version", min)?;
    let max = parse_i16(line, "max_version", max)?;
    VersionRange::new(min, max).ok_or(CatalogError::Flipped { line, min, max })
}

/// Parses and validates the whole CSV. Pure, so the tests can feed it defects.
fn parse_catalog(text: &'static str) -> Result<Catalog, CatalogError> {
    let mut tables: BTreeMap<(Release, Mode), ApiTable> = BTreeMap::new();
    let mut first_line: BTreeMap<(Release, Mode, i16), usize> = BTreeMap::new();
    let mut names: BTreeMap<i16, (Release, &'static str)> = BTreeMap::new();
    for (line, [release, mode, key, name, min, max]) in csv_rows(text)? {
        let release = parse_release_tag(release).ok_or_else(|| CatalogError::Release {
            line,
            value: release.to_owned(),
        })?;
        let mode: Mode = mode.parse().map_err(|source| CatalogError::Mode { line, source })?;
        let key = parse_i16(line, "api_key", key)?;
        if name.is_empty() {
            return Err(CatalogError::EmptyName { line });
        }
        let range = parse_range(line, min, max)?;
        first_row(&mut first_line, (release, mode, key), line, (release, mode, key))?;
        tables
            .entry((release, mode))
            .or_default()
            .entries
            .insert(key, ApiEntry { key, name, range });
        let newest = names.entry(key).or_insert((release, name));
        if release >= newest.0 {
            *newest = (release, name);
        }
    }
    if tables.is_empty() {
        return Err(CatalogError::Empty);
    }
    Ok(Catalog {
        tables,
        variants: BTreeMap::new(),
        names,
    })
}

/// Records that row `id` is on `line`; a second row with the same `id` is
/// [`CatalogError::Duplicate`] naming the first.
fn first_row<K: Ord>(
    first_line: &mut BTreeMap<K, usize>,
    id: K,
    line: usize,
    (release, mode, key): (Release, Mode, i16),
) -> Result<(), CatalogError> {
    if let Some(&first) = first_line.get(&id) {
        return Err(CatalogError::Duplicate {
            line,
            first,
            key,
            release,
            mode,
        });
    }
    first_line.insert(id, line);
    Ok(())
}

/// Parses `data/api_versions_patches.csv`: the same header; releases are
/// `x.y.z` with `z >= 1` of a known minor; `-` in both version columns means
/// the key is not advertised in that patch.
fn parse_patches(text: &'static str) -> Result<Vec<PatchRow>, CatalogError> {
    let mut rows: Vec<PatchRow> = Vec::new();
    let mut first_line: BTreeMap<(Release, u8, Mode, i16), usize> = BTreeMap::new();
    for (line, [version, mode, key, name, min, max]) in csv_rows(text)? {
        let bad_release = || CatalogError::Release {
            line,
            value: version.to_owned(),
        };
        let (minor, patch) = version.rsplit_once('.').ok_or_else(bad_release)?;
        let release: Release = minor.parse().map_err(|_| bad_release())?;
        let patch: u8 = patch.parse().ok().filter(|p| *p >= 1).ok_or_else(bad_release)?;
        if minor != release.to_string() {
            return Err(bad_release());
        }
        let mode: Mode = mode.parse().map_err(|source| CatalogError::Mode { line, source })?;
        let key = parse_i16(line, "api_key", key)?;
        if name.is_empty() {
            return Err(CatalogError::EmptyName { line });
        }
        let entry = if (min, max) == ("-", "-") {
            None
        } else {
            Some(ApiEntry {
                key,
                name,
                range: parse_range(line, min, max)?,
            })
        };
        first_row(&mut first_line, (release, patch, mode, key), line, (release, mode, key))?;
        rows.push(PatchRow {
            release,
            patch,
            mode,
            key,
            entry,
        });
    }
    Ok(rows)
}

/// The ApiVersions table of a default broker of `release` in `mode`, at the
/// patch the catalog names (e.g. 4.0.2), or `None` when that combination does
/// not exist (e.g. 2.0 KRaft, 4.0 ZooKeeper).
pub fn table(release: Release, mode: Mode) -> Option<&'static ApiTable> {
    CATALOG.tables.get(&(release, mode))
}

/// The distinct tables of `release` in `mode` across its patches up to the
/// catalog's, oldest first: one entry when no patch changed the table
/// (`[(4.0.0–4.0.2, t)]` would read `[(4.0.0, t0), (4.0.1–4.0.2, t1)]`).
pub fn variants(release: Release, mode: Mode) -> &'static [(Patches, ApiTable)] {
    CATALOG.variants.get(&(release, mode)).map_or(&[], Vec::as_slice)
}

/// Every (release, mode) in the data with its table, in (release, mode) order.
pub fn tables() -> impl Iterator<Item = (Release, Mode, &'static ApiTable)> {
    CATALOG.tables.iter().map(|(&(r, m), t)| (r, m, t))
}

/// The name of API `key` in the newest release whose data lists it
/// (e.g. 74 is `ListConfigResources`, its name since 4.1).
pub fn api_name(key: i16) -> Option<&'static str> {
    CATALOG.names.get(&key).map(|&(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::api_key::{API_VERSIONS, METADATA};
    use rstest::rstest;

    fn r(s: &str) -> Release {
        s.parse().expect("known release")
    }

    #[test]
    fn bundled_csv_loads() {
        let catalog = parse_catalog(CSV).expect("bundled data is valid");
        let rows: usize = catalog.tables.values().map(ApiTable::len).sum();
        assert_eq!(rows, 1949);
        assert_eq!(CSV.lines().count(), 1950, "header + rows");
    }

    /// Row counts from `/work/shared/kafka-versions/README.md` (2.0 … 4.1),
    /// plus 4.2 and 4.3 as the data carries them, 4.4 as a real 4.4.0
    /// broker advertised it, and early-access KRaft 2.8–3.2 as their real
    /// brokers advertised them (`data/SOURCES.md`: 2.8 one key fewer, 3.2 one
    /// fewer, 3.0 and 3.1 one key swapped for another).
    #[rstest]
    #[case("2.0", Mode::Zk, 43)]
    #[case("2.1", Mode::Zk, 43)]
    #[case("2.2", Mode::Zk, 44)]
    #[case("2.3", Mode::Zk, 45)]
    #[case("2.4", Mode::Zk, 48)]
    #[case("2.5", Mode::Zk, 48)]
    #[case("2.6", Mode::Zk, 50)]
    #[case("2.7", Mode::Zk, 54)]
    #[case("2.8", Mode::Zk, 56)]
    #[case("2.8", Mode::Kraft, 32)]
    #[case("3.0", Mode::Zk, 59)]
    #[case("3.0", Mode::Kraft, 48)]
    #[case("3.1", Mode::Zk, 59)]
    #[case("3.1", Mode::Kraft, 48)]
    #[case("3.2", Mode::Zk, 59)]
    #[case("3.2", Mode::Kraft, 47)]
    #[case("3.3", Mode::Zk, 59)]
    #[case("3.3", Mode::Kraft, 49)]
    #[case("3.4", Mode::Zk, 60)]
    #[case("3.4", Mode::Kraft, 49)]
    #[case("3.5", Mode::Zk, 60)]
    #[case("3.5", Mode::Kraft, 51)]
    #[case("3.6", Mode::Zk, 60)]
    #[case("3.6", Mode::Kraft, 55)]
    #[case("3.7", Mode::Zk, 61)]
    #[case("3.7", Mode::Kraft, 57)]
    #[case("3.8", Mode::Zk, 62)]
    #[case("3.8", Mode::Kraft, 59)]
    #[case("3.9", Mode::Zk, 62)]
    #[case("3.9", Mode::Kraft, 61)]
    #[case("4.0", Mode::Kraft, 61)]
    #[case("4.1", Mode::Kraft, 73)]
    #[case("4.2", Mode::Kraft, 75)]
    #[case("4.3", Mode::Kraft, 75)]
    #[case("4.4", Mode::Kraft, 77)]
    fn row_counts_match_readme(#[case] release: &str, #[case] mode: Mode, #[case] rows: usize) {
        let t = table(r(release), mode).expect("table exists");
        assert_eq!(t.len(), rows);
        assert_eq!(t.iter().len(), rows);
        assert_eq!(t.ranges().len(), rows);
    }

    #[test]
    fn exactly_the_documented_combinations_exist() {
        let got: Vec<(Release, Mode)> = tables().map(|(r, m, _)| (r, m)).collect();
        assert_eq!(got.len(), 35);
        for release in Release::ALL {
            let zk = release <= Release::new(3, 9);
            let kraft = release >= Release::new(2, 8);
            assert_eq!(table(release, Mode::Zk).is_some(), zk, "{release} zk");
            assert_eq!(table(release, Mode::Kraft).is_some(), kraft, "{release} kraft");
        }
        assert!(table(r("2.0"), Mode::Kraft).is_none());
        assert!(table(r("4.0"), Mode::Zk).is_none());
    }

    /// README "Protocol facts": ApiVersions (18) v3 from 2.4 (KIP-511), v4 from
    /// 3.9, v5 from 4.4 (KIP-1242).
    #[rstest]
    fn api_versions_max(#[values(Mode::Zk, Mode::Kraft)] mode: Mode) {
        for release in Release::ALL {
            let Some(t) = table(release, mode) else {
                continue;
            };
            let expected = if release <= r("2.3") {
                2
            } else if release <= r("3.8") {
                3
            } else if release <= r("4.3") {
                4
            } else {
                5
            };
            let range = t.get(API_VERSIONS).expect("ApiVersions is always advertised");
            assert_eq!(range, VersionRange { min: 0, max: expected }, "{release} {mode}");
        }
    }

    /// README "Protocol facts": Metadata (3) max per release; min is always 0.
    #[rstest]
    fn metadata_max(#[values(Mode::Zk, Mode::Kraft)] mode: Mode) {
        for release in Release::ALL {
            let Some(t) = table(release, mode) else {
                continue;
            };
            let expected = match (release.major, release.minor) {
                (2, 0) => 6,
                (2, 1) | (2, 2) => 7,
                (2, 3) => 8,
                (2, 4..=7) => 9,
                (2, 8) | (3, 0) => 11,
                (3, 1..=9) => 12,
                (4, _) => 13,
                _ => unreachable!("no table for {release}"),
            };
            let range = t.get(METADATA).expect("Metadata is always advertised");
            assert_eq!(range, VersionRange { min: 0, max: expected }, "{release} {mode}");
        }
    }

    #[test]
    fn telemetry_keys_are_never_in_the_tables() {
        for (release, mode, t) in tables() {
            assert!(!t.contains_key(71) && !t.contains_key(72), "{release} {mode}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(api_name(18), Some("ApiVersions"));
        assert_eq!(api_name(3), Some("Metadata"));
        assert_eq!(api_name(74), Some("ListConfigResources"));
        assert_eq!(
            table(r("4.0"), Mode::Kraft).and_then(|t| t.entry(74)).map(|e| e.name),
            Some("ListClientMetricsResources")
        );
        assert_eq!(api_name(-1), None);
        assert_eq!(api_name(9999), None);
    }

    #[test]
    fn entries_are_sorted_and_consistent() {
        for (_, _, t) in tables() {
            let keys: Vec<i16> = t.iter().map(|e| e.key).collect();
            assert!(keys.windows(2).all(|w| w[0] < w[1]));
            for e in t {
                assert_eq!(t.get(e.key), Some(e.range));
                assert!(e.range.min <= e.range.max);
            }
        }
    }

    const H: &str = "release,mode,api_key,api_name,min_version,max_version\n";

    fn defect(body: &'static str) -> CatalogError {
        let text: &'static str = Box::leak(format!("{H}{body}").into_boxed_str());
        parse_catalog(text).expect_err("defect must be reported")
    }

    #[rstest]
    #[case(
        "3.8.0,zk,18,ApiVersions,0,3\n3.8.0,zk,18,ApiVersions,0,3\n",
        "line 3: key 18 appears twice for 3.8 (zk); first on line 2"
    )]
    #[case("3.8.0,zk,18,ApiVersions,4,3\n", "line 2: min_version 4 > max_version 3")]
    #[case(
        "3.8.0,zk,18,ApiVersions,0,x\n",
        "line 2: max_version \"x\" is not a non-negative 16-bit integer"
    )]
    #[case(
        "3.8.0,zk,-1,Bad,0,0\n",
        "line 2: api_key \"-1\" is not a non-negative 16-bit integer"
    )]
    #[case(
        "3.8.0,zk,40000,Bad,0,0\n",
        "line 2: api_key \"40000\" is not a non-negative 16-bit integer"
    )]
    #[case(
        "3.8.1,zk,18,ApiVersions,0,3\n",
        "line 2: release \"3.8.1\" is not an x.y.0 tag of a known release"
    )]
    #[case(
        "3.10.0,zk,18,ApiVersions,0,3\n",
        "line 2: release \"3.10.0\" is not an x.y.0 tag of a known release"
    )]
    #[case(
        "3.8.0,raft,18,ApiVersions,0,3\n",
        "line 2: unknown Kafka broker mode \"raft\"; expected zk, zookeeper or kraft"
    )]
    #[case("3.8.0,zk,18,ApiVersions,0\n", "line 2: expected 6 comma-separated fields, found 5")]
    #[case("3.8.0,zk,18,,0,3\n", "line 2: empty api_name")]
    #[case("", "no data rows")]
    fn defects_are_reported_with_line_numbers(#[case] body: &'static str, #[case] message: &str) {
        assert_eq!(defect(body).to_string(), message);
    }

    #[test]
    fn a_row_given_twice_names_its_first_line() {
        let twice = "release,mode,api_key,api_name,min_version,max_version\n\
                     3.8.0,zk,18,ApiVersions,0,3\n3.8.0,zk,3,Metadata,0,12\n3.8.0,zk,18,ApiVersions,0,3\n";
        assert_eq!(
            parse_catalog(twice).map(|_| ()).map_err(|e| e.to_string()),
            Err("line 4: key 18 appears twice for 3.8 (zk); first on line 2".into())
        );
        let patches = "release,mode,api_key,api_name,min_version,max_version\n\
                       3.8.1,zk,18,ApiVersions,0,3\n3.8.1,zk,18,ApiVersions,-,-\n";
        assert_eq!(
            parse_patches(patches).map(|_| ()).map_err(|e| e.to_string()),
            Err("line 3: key 18 appears twice for 3.8 (zk); first on line 2".into())
        );
    }

    #[test]
    fn wrong_header_is_reported() {
        let err = parse_catalog("release,mode,key\n").expect_err("bad header");
        assert!(err.to_string().starts_with("line 1: expected header"), "{err}");
    }
}
