//! Reading what `benches/negotiation.rs` left behind: its `run.json` and
//! criterion's `<group>/<function>/<parameter>/new/{sample,estimates}.json`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// `run.json`, as the bench writes it (only the fields the report reads are typed).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Run {
    pub started_unix: u64,
    pub backend: String,
    pub brokers: Vec<BrokerInfo>,
    pub measured: Vec<Id>,
    pub findings: Vec<Finding>,
    pub peers: std::collections::BTreeMap<String, String>,
    pub emulator_cost_release: Option<String>,
    pub elements: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BrokerInfo {
    pub label: String,
    pub kind: String,
    pub description: String,
    pub api_versions: i16,
    pub metadata: i16,
    pub api_versions_path: Vec<i16>,
}

/// One criterion benchmark id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Id {
    pub group: String,
    pub function: String,
    pub parameter: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Finding {
    pub group: String,
    pub function: String,
    pub parameter: String,
    pub what: String,
}

/// Per-iteration figures of one id, in nanoseconds.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Stats {
    pub median_ns: f64,
    pub p90_ns: f64,
    pub p99_ns: f64,
    pub mean_ns: f64,
    /// Criterion samples the percentiles are taken over.
    pub samples: usize,
    /// Criterion's 95 % confidence interval of the median (bootstrap), from estimates.json.
    pub median_ci_ns: (f64, f64),
    /// The same for the mean.
    pub mean_ci_ns: (f64, f64),
}

#[derive(Debug, Deserialize)]
struct Sample {
    iters: Vec<f64>,
    times: Vec<f64>,
}

#[derive(Debug, Deserialize)]
struct Estimate {
    confidence_interval: Interval,
}

#[derive(Debug, Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Debug, Deserialize)]
struct Estimates {
    mean: Estimate,
    median: Estimate,
}

pub fn read_run(path: &Path) -> Result<Run, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e} (run `just bench-quick` or `just bench` first)", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn id_dir(criterion: &Path, id: &Id) -> PathBuf {
    criterion
        .join(&id.group)
        .join(&id.function)
        .join(&id.parameter)
        .join("new")
}

/// Linear interpolation between closest ranks; `sorted` is not empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// Loads one id's figures. `Err` says what is missing or stale.
pub fn load(criterion: &Path, id: &Id, run_started_unix: u64) -> Result<Stats, String> {
    let dir = id_dir(criterion, id);
    let sample_path = dir.join("sample.json");
    let modified = std::fs::metadata(&sample_path)
        .and_then(|m| m.modified())
        .map_err(|e| format!("{}: {e}", sample_path.display()))?;
    let modified_unix = modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    if modified_unix + 1 < run_started_unix {
        return Err(format!(
            "{} is older than the run (not measured by it; filtered out?)",
            sample_path.display()
        ));
    }
    let sample: Sample = read_json(&sample_path)?;
    let estimates: Estimates = read_json(&dir.join("estimates.json"))?;
    if sample.iters.is_empty() || sample.iters.len() != sample.times.len() {
        return Err(format!("{}: no samples", sample_path.display()));
    }
    let mut per_iter: Vec<f64> = sample.times.iter().zip(&sample.iters).map(|(t, i)| t / i).collect();
    per_iter.sort_by(f64::total_cmp);
    let mean = per_iter.iter().sum::<f64>() / per_iter.len() as f64;
    Ok(Stats {
        median_ns: percentile(&per_iter, 50.0),
        p90_ns: percentile(&per_iter, 90.0),
        p99_ns: percentile(&per_iter, 99.0),
        mean_ns: mean,
        samples: per_iter.len(),
        median_ci_ns: (
            estimates.median.confidence_interval.lower_bound,
            estimates.median.confidence_interval.upper_bound,
        ),
        mean_ci_ns: (
            estimates.mean.confidence_interval.lower_bound,
            estimates.mean.confidence_interval.upper_bound,
        ),
    })
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 50.0), 3.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 100.0), 5.0);
        assert!((percentile(&v, 90.0) - 4.6).abs() < 1e-9);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }
}
