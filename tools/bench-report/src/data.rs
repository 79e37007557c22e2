//! Reading what `benches/negotiation` left behind: its `run.json`
//! (`bench_schema::RunLog`) and, for the criterion ids it lists, criterion's
//! `<group>/<function>/<parameter>/new/{sample,estimates}.json`; and the
//! reports of earlier runs (`history/`).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bench_schema::{CriterionId, RunLog};
use serde::Deserialize;

use crate::stats::percentile;
use crate::{CriterionRow, Report};

pub fn read_run(path: &Path) -> Result<RunLog, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e} (run `just bench-quick` or `just bench` first)", path.display()))?;
    let run: RunLog = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: {e} (written by an older bench? expected schema {})",
            path.display(),
            bench_schema::run::SCHEMA
        )
    })?;
    if run.schema != bench_schema::run::SCHEMA {
        return Err(format!(
            "{}: schema {:?}, this report reads {:?}",
            path.display(),
            run.schema,
            bench_schema::run::SCHEMA
        ));
    }
    Ok(run)
}

/// A saved report (a baseline, or a run in the history).
pub fn read_report(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let report: Report = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: {e} (a report of an older layout? this one reads {})",
            path.display(),
            crate::SCHEMA
        )
    })?;
    Ok(report)
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
    median: Estimate,
}

fn id_dir(criterion: &Path, id: &CriterionId) -> PathBuf {
    criterion
        .join(&id.group)
        .join(&id.function)
        .join(&id.parameter)
        .join("new")
}

/// Loads one criterion id's figures. `Err` says what is missing or stale.
pub fn load_criterion(criterion: &Path, id: &CriterionId, run_started_unix: u64) -> Result<CriterionRow, String> {
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
    Ok(CriterionRow {
        id: id.clone(),
        median_ns: percentile(&per_iter, 50.0),
        median_ci_ns: (
            estimates.median.confidence_interval.lower_bound,
            estimates.median.confidence_interval.upper_bound,
        ),
        p90_ns: percentile(&per_iter, 90.0),
        p99_ns: percentile(&per_iter, 99.0),
        mean_ns: mean,
        samples: per_iter.len(),
        per_second: None,
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

/// `<out>/history/<started_unix>.json`: every run's report, so the next run
/// can be compared with it.
pub fn history_path(out: &Path, started_unix: u64) -> PathBuf {
    out.join("history").join(format!("{started_unix}.json"))
}

/// The newest report in the history of a run that started before
/// `started_unix`, preferring one of the same profile (a smoke run is
/// compared with the last smoke run, a quick one with the last quick one).
pub fn previous_report(out: &Path, started_unix: u64, profile: &str) -> Option<(PathBuf, Report)> {
    let dir = out.join("history");
    let mut earlier: Vec<(u64, PathBuf)> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let stem: u64 = path.file_stem()?.to_str()?.parse().ok()?;
            (path.extension()? == "json" && stem < started_unix).then_some((stem, path))
        })
        .collect();
    earlier.sort();
    // Newest first; a report of an older layout is skipped.
    let readable: Vec<(PathBuf, Report)> = earlier
        .into_iter()
        .rev()
        .filter_map(|(_, p)| read_report(&p).ok().map(|r| (p, r)))
        .collect();
    let same = readable.iter().position(|(_, r)| r.run.settings.profile == profile);
    let mut readable = readable;
    match same {
        Some(i) => Some(readable.swap_remove(i)),
        None => readable.into_iter().next(),
    }
}
