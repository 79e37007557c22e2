//! The release matrix: cells = release × mode × backend × scenario.
//!
//! Each cell starts (or is given) a broker, connects this crate's client,
//! runs its scenario, and checks what came back against the catalog: the
//! negotiated ApiVersions and Metadata versions must be what the release's
//! table implies, and Metadata must describe the broker the cell started.
//! A cell's [`CellResult`] says which backend it ran on and whether that
//! was real Kafka or the emulator.

pub mod scenario;

use std::time::{Duration, Instant};

use serde::Serialize;

pub use scenario::Scenario;

use crate::client::{Client, ClientConfig};
use crate::emulator::{Emulator, EmulatorOptions, Quirks, SeededTopic};
use crate::negotiate::Attempt;
use crate::protocol::{api_key, VersionRange};
use crate::versions::{guess_release, releases, table, Mode, Release};

/// The topic every emulated cell seeds and then expects to see.
pub const PROBE_TOPIC: &str = "kafka-matrix-probe";
/// Its partition count.
pub const PROBE_PARTITIONS: i32 = 3;

/// Where a cell's broker comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The in-process emulator (not real Kafka).
    Embedded,
}

impl Backend {
    /// Whether the broker is a real Kafka build.
    pub fn is_real_kafka(self) -> bool {
        match self {
            Backend::Embedded => false,
        }
    }

    /// How a report names it.
    pub fn describe(self) -> &'static str {
        match self {
            Backend::Embedded => "emulated (in-process kafka-matrix emulator)",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Embedded => "embedded",
        })
    }
}

/// One cell to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// Kafka release.
    pub release: Release,
    /// Broker mode.
    pub mode: Mode,
    /// Broker source.
    pub backend: Backend,
    /// What to do.
    pub scenario: Scenario,
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {} {}", self.release, self.mode, self.backend, self.scenario)
    }
}

/// How a cell ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellResult {
    /// The cell.
    #[serde(flatten)]
    pub cell: Cell,
    /// Whether the broker was real Kafka.
    pub real_kafka: bool,
    /// Backend in words.
    pub backend_detail: &'static str,
    /// ApiVersions version negotiated.
    pub api_versions_version: Option<i16>,
    /// Metadata version chosen.
    pub metadata_version: Option<i16>,
    /// ApiVersions attempts (fallbacks show here).
    pub attempts: Vec<Attempt>,
    /// The release(s) the broker's ApiVersions reply looks like.
    pub guessed: Option<String>,
    /// Connect + negotiate, microseconds.
    pub connect_us: Option<u64>,
    /// The scenario's request, microseconds.
    pub request_us: Option<u64>,
    /// Pass or fail.
    pub passed: bool,
    /// Why it failed.
    pub error: Option<String>,
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

/// Every cell for `releases` × their catalog modes (filtered by `modes`) ×
/// `backend` × both scenarios, in catalog order.
pub fn plan(selected: &[Release], modes: &[Mode], backend: Backend) -> Vec<Cell> {
    releases()
        .iter()
        .filter(|info| selected.contains(&info.release))
        .flat_map(|info| {
            info.modes.iter().filter(|m| modes.contains(m)).flat_map(move |&mode| {
                Scenario::ALL.into_iter().map(move |scenario| Cell {
                    release: info.release,
                    mode,
                    backend,
                    scenario,
                })
            })
        })
        .collect()
}

/// What the catalog says this client must negotiate with `release`/`mode`:
/// `(ApiVersions, Metadata)`. ApiVersions starts at v4; a release that
/// refuses it with a KIP-511 hint (2.4+) lands on `min(4, its max)`, one
/// without a hint (2.0–2.3) on v0.
pub fn expected_versions(release: Release, mode: Mode) -> Option<(i16, i16)> {
    let t = table(release, mode)?;
    let ours = |key, codec: VersionRange| t.get(key).and_then(|b| b.intersect(&codec)).map(|r| r.max);
    let api_versions = ours(api_key::API_VERSIONS, crate::protocol::messages::api_versions::VERSIONS)?;
    let start = crate::protocol::messages::api_versions::VERSIONS.max;
    let api_versions = if api_versions == start || Quirks::of(release, mode).kip511_hint {
        api_versions
    } else {
        0
    };
    Some((
        api_versions,
        ours(api_key::METADATA, crate::protocol::messages::metadata::VERSIONS)?,
    ))
}

/// Runs one cell on the embedded backend.
pub async fn run_cell(cell: Cell, config: &ClientConfig) -> CellResult {
    let mut result = CellResult {
        cell,
        real_kafka: cell.backend.is_real_kafka(),
        backend_detail: cell.backend.describe(),
        api_versions_version: None,
        metadata_version: None,
        attempts: Vec::new(),
        guessed: None,
        connect_us: None,
        request_us: None,
        passed: false,
        error: None,
    };
    let options = EmulatorOptions {
        topics: vec![SeededTopic::new(PROBE_TOPIC, PROBE_PARTITIONS)],
        ..EmulatorOptions::default()
    };
    let emulator = match Emulator::start(cell.release, cell.mode, options).await {
        Ok(e) => e,
        Err(e) => {
            result.error = Some(format!("cannot start the emulator: {e}"));
            return result;
        }
    };
    let outcome = drive(&emulator.bootstrap(), cell, config, &mut result).await;
    emulator.shutdown().await;
    match outcome {
        Ok(()) => result.passed = true,
        Err(e) => result.error = Some(e),
    }
    result
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

async fn drive(bootstrap: &str, cell: Cell, config: &ClientConfig, out: &mut CellResult) -> Result<(), String> {
    let started = Instant::now();
    let mut client = Client::connect(bootstrap, config.clone())
        .await
        .map_err(|e| e.to_string())?;
    out.connect_us = Some(micros(started.elapsed()));
    let negotiated = client.negotiated();
    out.attempts = negotiated.attempts.clone();
    let ranges: Vec<_> = negotiated.broker_ranges().into_iter().collect();
    out.guessed = Some(guess_release(&ranges).to_string());
    let versions = client.versions();
    out.api_versions_version = Some(versions.api_versions);
    out.metadata_version = Some(versions.metadata);
    if let Some((av, md)) = expected_versions(cell.release, cell.mode) {
        if (versions.api_versions, versions.metadata) != (av, md) {
            return Err(format!(
                "negotiated ApiVersions v{} / Metadata v{}, but Kafka {} ({}) implies v{av} / v{md}",
                versions.api_versions, versions.metadata, cell.release, cell.mode
            ));
        }
    }
    let started = Instant::now();
    match cell.scenario {
        Scenario::Ping => {
            client.ping().await.map_err(|e| e.to_string())?;
        }
        Scenario::Metadata => {
            let md = client.metadata(None).await.map_err(|e| e.to_string())?;
            check_metadata(&md, bootstrap)?;
        }
    }
    out.request_us = Some(micros(started.elapsed()));
    Ok(())
}

/// Metadata must name the broker we talked to and the seeded topic.
fn check_metadata(md: &crate::client::ClusterMetadata, bootstrap: &str) -> Result<(), String> {
    let advertised: Vec<String> = md.brokers.iter().map(|b| format!("{}:{}", b.host, b.port)).collect();
    if !advertised.iter().any(|a| a == bootstrap) {
        return Err(format!("Metadata brokers {advertised:?} do not include {bootstrap}"));
    }
    let topic = md
        .topics
        .iter()
        .find(|t| t.name.as_deref() == Some(PROBE_TOPIC))
        .ok_or_else(|| format!("Metadata v{} lacks topic {PROBE_TOPIC}", md.version))?;
    if topic.partitions.len() != PROBE_PARTITIONS as usize || !topic.error.is_ok() {
        return Err(format!(
            "topic {PROBE_TOPIC}: {} partitions, error {} (expected {PROBE_PARTITIONS}, none)",
            topic.partitions.len(),
            topic.error
        ));
    }
    Ok(())
}

/// Runs `cells` one after another, calling `progress` after each.
pub async fn run(cells: &[Cell], config: &ClientConfig, mut progress: impl FnMut(&CellResult)) -> Vec<CellResult> {
    let mut results = Vec::with_capacity(cells.len());
    for &cell in cells {
        let r = run_cell(cell, config).await;
        progress(&r);
        results.push(r);
    }
    results
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

    #[test]
    fn expected_versions_follow_the_catalog() {
        assert_eq!(expected_versions(Release::new(3, 8), Mode::Zk), Some((3, 12)));
        assert_eq!(expected_versions(Release::new(2, 3), Mode::Zk), Some((0, 8)));
        assert_eq!(expected_versions(Release::new(3, 9), Mode::Kraft), Some((4, 12)));
        assert_eq!(expected_versions(Release::new(4, 0), Mode::Zk), None);
    }
}
