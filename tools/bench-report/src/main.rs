//! `bench-report`: turns a run of `benches/negotiation.rs` into
//! `report.md`, `report.json` and `latency.svg`, and compares it with a
//! saved baseline.
//!
//! ```text
//! bench-report [--criterion DIR] [--out DIR] [--baseline NAME] [--threshold PCT] [--save-baseline NAME]
//! ```
//!
//! - `--criterion`: criterion's output (default `$CRITERION_HOME`, else
//!   `$CARGO_TARGET_DIR/criterion`, else `target/criterion`);
//! - `--out`: where `run.json` is and the report goes (default
//!   `$CARGO_TARGET_DIR/kafka-matrix/bench`, else `target/kafka-matrix/bench`);
//! - `--baseline NAME` (or `$KAFKA_MATRIX_BENCH_BASELINE`): compare with
//!   `<out>/baselines/NAME.json`; exit status 1 when one of our ids
//!   (`kafka-matrix`, `emulator`) is slower than the baseline by more than
//!   the threshold *and* its median's confidence interval lies wholly above
//!   the baseline's;
//! - `--threshold PCT` (or `$KAFKA_MATRIX_BENCH_THRESHOLD`, default 10);
//! - `--save-baseline NAME`: also save this report as that baseline.
//!
//! Exit status: 0, 1 for a regression, 2 for a usage or input error.

mod data;
mod render;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use data::{Finding, Id, Run, Stats};
use serde::{Deserialize, Serialize};

const SCHEMA: &str = "kafka-matrix-bench-report/1";
const FLOOR: &str = "tcp-floor";
const OURS: &str = "kafka-matrix";
/// Functions a baseline comparison can fail on: the ones this project owns.
const GATED: [&str; 2] = [OURS, "emulator"];

pub const G_CONNECT: &str = "connect_api_versions";
pub const G_METADATA: &str = "connect_api_versions_metadata";
pub const G_PING: &str = "ping_warm";
pub const G_FALLBACK: &str = "fallback_vs_direct";
pub const G_START: &str = "emulator_start";
pub const G_CONNS: &str = "emulator_new_connections";
pub const G_PIPE: &str = "emulator_pipelined";

/// One measured id with its figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    #[serde(flatten)]
    pub id: Id,
    #[serde(flatten)]
    pub stats: Stats,
    /// Median ÷ the floor's median on the same broker in the same group.
    pub ratio_to_floor: Option<f64>,
    /// Operations per second at the median, for the throughput groups.
    pub per_second: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Missing {
    #[serde(flatten)]
    pub id: Id,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetResult {
    pub target: String,
    pub measured: String,
    /// "PASS", "SHORT" or "NO DATA".
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompareRow {
    #[serde(flatten)]
    pub id: Id,
    pub baseline_median_ns: f64,
    pub median_ns: f64,
    pub change_pct: f64,
    /// The two medians' confidence intervals do not overlap.
    pub outside_noise: bool,
    /// Slower by more than the threshold and outside the noise, on an id we own.
    pub regression: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub baseline: String,
    pub baseline_backend: String,
    pub threshold_pct: f64,
    pub rows: Vec<CompareRow>,
    pub regressions: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub generated_unix: u64,
    pub run: Run,
    pub results: Vec<Row>,
    pub missing: Vec<Missing>,
    pub targets: Vec<TargetResult>,
    pub comparison: Option<Comparison>,
}

impl Report {
    pub fn row(&self, group: &str, function: &str, parameter: &str) -> Option<&Row> {
        self.results
            .iter()
            .find(|r| r.id.group == group && r.id.function == function && r.id.parameter == parameter)
    }

    pub fn findings(&self) -> &[Finding] {
        &self.run.findings
    }
}

#[derive(Debug)]
struct Args {
    criterion: PathBuf,
    out: PathBuf,
    baseline: Option<String>,
    threshold_pct: f64,
    save_baseline: Option<String>,
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn parse_args() -> Result<Args, String> {
    let non_empty = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let mut args = Args {
        criterion: std::env::var_os("CRITERION_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("criterion")),
        out: target_dir().join("kafka-matrix").join("bench"),
        baseline: non_empty("KAFKA_MATRIX_BENCH_BASELINE"),
        threshold_pct: 10.0,
        save_baseline: None,
    };
    if let Some(t) = non_empty("KAFKA_MATRIX_BENCH_THRESHOLD") {
        args.threshold_pct = parse_threshold(&t)?;
    }
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--criterion" => args.criterion = PathBuf::from(value()?),
            "--out" => args.out = PathBuf::from(value()?),
            "--baseline" => args.baseline = Some(value()?),
            "--threshold" => args.threshold_pct = parse_threshold(&value()?)?,
            "--save-baseline" => args.save_baseline = Some(value()?),
            "-h" | "--help" => {
                return Err(
                    "usage: bench-report [--criterion DIR] [--out DIR] [--baseline NAME] [--threshold PCT] [--save-baseline NAME]"
                        .to_owned(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    for name in args.baseline.iter().chain(&args.save_baseline) {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(format!("baseline name {name:?}: use letters, digits, '-', '_', '.'"));
        }
    }
    Ok(args)
}

fn parse_threshold(s: &str) -> Result<f64, String> {
    let t: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|e| format!("threshold {s:?}: {e}"))?;
    if !(t.is_finite() && t >= 0.0) {
        return Err(format!("threshold {s:?}: must be a percentage ≥ 0"));
    }
    Ok(t)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench-report: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let args = parse_args()?;
    let run = data::read_run(&args.out.join("run.json"))?;
    let mut report = build(run, &args.criterion);
    if let Some(name) = &args.baseline {
        let path = baseline_path(&args.out, name);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e} (save one with `just bench-baseline {name}`)", path.display()))?;
        let base: Report = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        report.comparison = Some(compare(&base, name, &report, args.threshold_pct));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    let json_path = args.out.join("report.json");
    write(&json_path, &json)?;
    let svg_path = args.out.join("latency.svg");
    render::plot(&report, &svg_path)?;
    let md_path = args.out.join("report.md");
    write(&md_path, &render::markdown(&report, "latency.svg"))?;
    if let Some(name) = &args.save_baseline {
        let path = baseline_path(&args.out, name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        write(&path, &json)?;
        println!("baseline {name:?} saved: {}", path.display());
    }
    println!("{}", render::summary(&report));
    println!(
        "wrote {}, {}, {}",
        md_path.display(),
        json_path.display(),
        svg_path.display()
    );
    match &report.comparison {
        Some(c) if c.regressions > 0 => {
            eprintln!(
                "bench-report: {} id(s) slower than baseline {:?} by more than {} % and outside the noise band",
                c.regressions, c.baseline, c.threshold_pct
            );
            Ok(ExitCode::from(1))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn baseline_path(out: &Path, name: &str) -> PathBuf {
    out.join("baselines").join(format!("{name}.json"))
}

/// Loads every id the run measured and derives ratios, rates and targets.
fn build(run: Run, criterion: &Path) -> Report {
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for id in &run.measured {
        match data::load(criterion, id, run.started_unix) {
            Ok(stats) => results.push(Row {
                id: id.clone(),
                stats,
                ratio_to_floor: None,
                per_second: None,
            }),
            Err(why) => missing.push(Missing { id: id.clone(), why }),
        }
    }
    let floors: Vec<(Id, f64)> = results
        .iter()
        .filter(|r| r.id.function == FLOOR)
        .map(|r| (r.id.clone(), r.stats.median_ns))
        .collect();
    for row in &mut results {
        row.ratio_to_floor = floors
            .iter()
            .find(|(f, _)| f.group == row.id.group && f.parameter == row.id.parameter)
            .map(|(_, floor)| row.stats.median_ns / floor);
        row.per_second = run
            .elements
            .get(&row.id.group)
            .map(|n| *n as f64 / (row.stats.median_ns / 1e9));
    }
    let mut report = Report {
        schema: SCHEMA.to_owned(),
        generated_unix: data::now_unix(),
        run,
        results,
        missing,
        targets: Vec::new(),
        comparison: None,
    };
    report.targets = targets(&report);
    report
}

fn status(pass: bool) -> String {
    if pass { "PASS" } else { "SHORT" }.to_owned()
}

fn no_data(target: &str) -> TargetResult {
    TargetResult {
        target: target.to_owned(),
        measured: "not measured in this run".to_owned(),
        status: "NO DATA".to_owned(),
    }
}

/// The bars from issue 5, each read against this run's figures.
fn targets(r: &Report) -> Vec<TargetResult> {
    let mut out = Vec::new();
    let ours: Vec<&Row> = r
        .results
        .iter()
        .filter(|x| x.id.group == G_METADATA && x.id.function == OURS)
        .collect();

    let t = "connect+ApiVersions+Metadata ≤ 1.5× the floor (median, every broker)";
    let ratios: Vec<(String, f64)> = ours
        .iter()
        .filter_map(|x| x.ratio_to_floor.map(|q| (x.id.parameter.clone(), q)))
        .collect();
    if ratios.is_empty() {
        out.push(no_data(t));
    } else {
        let over: Vec<String> = ratios
            .iter()
            .filter(|(_, q)| *q > 1.5)
            .map(|(p, q)| format!("{p} {q:.2}×"))
            .collect();
        let worst = ratios
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(p, q)| format!("worst {q:.2}× ({p})"))
            .unwrap_or_default();
        let measured = if over.is_empty() {
            worst
        } else {
            format!("{worst}; over the bar: {}", over.join(", "))
        };
        out.push(TargetResult {
            target: t.to_owned(),
            measured,
            status: status(over.is_empty()),
        });
    }

    for peer in ["rskafka", "librdkafka"] {
        let t = format!("connect+ApiVersions+Metadata faster than {peer} (median, every broker both ran on)");
        let pairs: Vec<(String, f64)> = ours
            .iter()
            .filter_map(|x| {
                r.row(G_METADATA, peer, &x.id.parameter)
                    .map(|p| (x.id.parameter.clone(), x.stats.median_ns / p.stats.median_ns))
            })
            .collect();
        if pairs.is_empty() {
            out.push(no_data(&t));
            continue;
        }
        let slower: Vec<String> = pairs
            .iter()
            .filter(|(_, q)| *q >= 1.0)
            .map(|(p, q)| format!("{p} {q:.2}×"))
            .collect();
        let (lo, hi) = pairs
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), (_, q)| (lo.min(*q), hi.max(*q)));
        let mut measured = format!("ours ÷ {peer}: {lo:.2}×–{hi:.2}× over {} broker(s)", pairs.len());
        if !slower.is_empty() {
            measured.push_str(&format!("; not faster on: {}", slower.join(", ")));
        }
        out.push(TargetResult {
            target: t,
            measured,
            status: status(slower.is_empty()),
        });
    }

    let first = |group: &str| r.results.iter().find(|x| x.id.group == group);
    let t = "emulator start to first answer ≤ 5 ms (median)";
    match first(G_START) {
        Some(x) => out.push(TargetResult {
            target: t.to_owned(),
            measured: format!(
                "{} (p99 {})",
                render::dur(x.stats.median_ns),
                render::dur(x.stats.p99_ns)
            ),
            status: status(x.stats.median_ns <= 5e6),
        }),
        None => out.push(no_data(t)),
    }
    for (group, bar, t) in [
        (
            G_CONNS,
            10_000.0,
            "≥ 10k new-connection negotiations/s (emulator, at the median)",
        ),
        (
            G_PIPE,
            100_000.0,
            "≥ 100k pipelined ApiVersions/s on one connection (at the median)",
        ),
    ] {
        match first(group).and_then(|x| x.per_second) {
            Some(rate) => out.push(TargetResult {
                target: t.to_owned(),
                measured: format!("{}/s", render::count(rate)),
                status: status(rate >= bar),
            }),
            None => out.push(no_data(t)),
        }
    }
    out
}

/// Compares `new` with `base`, id by id; only ids we own can regress.
fn compare(base: &Report, name: &str, new: &Report, threshold_pct: f64) -> Comparison {
    let mut rows = Vec::new();
    for n in &new.results {
        let Some(b) = base.row(&n.id.group, &n.id.function, &n.id.parameter) else {
            continue;
        };
        let change_pct = (n.stats.median_ns / b.stats.median_ns - 1.0) * 100.0;
        let slower_outside = n.stats.median_ci_ns.0 > b.stats.median_ci_ns.1;
        let faster_outside = n.stats.median_ci_ns.1 < b.stats.median_ci_ns.0;
        rows.push(CompareRow {
            id: n.id.clone(),
            baseline_median_ns: b.stats.median_ns,
            median_ns: n.stats.median_ns,
            change_pct,
            outside_noise: slower_outside || faster_outside,
            regression: GATED.contains(&n.id.function.as_str()) && change_pct > threshold_pct && slower_outside,
        });
    }
    let regressions = rows.iter().filter(|r| r.regression).count();
    Comparison {
        baseline: name.to_owned(),
        baseline_backend: base.run.backend.clone(),
        threshold_pct,
        rows,
        regressions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(function: &str, median: f64, ci: (f64, f64)) -> Row {
        Row {
            id: Id {
                group: G_METADATA.to_owned(),
                function: function.to_owned(),
                parameter: "3.8".to_owned(),
            },
            stats: Stats {
                median_ns: median,
                p90_ns: median,
                p99_ns: median,
                mean_ns: median,
                samples: 10,
                median_ci_ns: ci,
                mean_ci_ns: ci,
            },
            ratio_to_floor: None,
            per_second: None,
        }
    }

    fn report(results: Vec<Row>) -> Report {
        Report {
            schema: SCHEMA.to_owned(),
            generated_unix: 0,
            run: Run {
                started_unix: 0,
                backend: "test".to_owned(),
                brokers: Vec::new(),
                measured: Vec::new(),
                findings: Vec::new(),
                peers: Default::default(),
                emulator_cost_release: None,
                elements: Default::default(),
            },
            results,
            missing: Vec::new(),
            targets: Vec::new(),
            comparison: None,
        }
    }

    #[test]
    fn a_regression_needs_the_threshold_and_the_noise_band() {
        let base = report(vec![row(OURS, 100.0, (95.0, 105.0))]);
        // 20 % slower, intervals apart: regression.
        let c = compare(&base, "b", &report(vec![row(OURS, 120.0, (110.0, 130.0))]), 10.0);
        assert_eq!(c.regressions, 1);
        // 20 % slower but the intervals overlap: noise.
        let c = compare(&base, "b", &report(vec![row(OURS, 120.0, (100.0, 140.0))]), 10.0);
        assert_eq!(c.regressions, 0);
        // 8 % slower, intervals apart: under the threshold.
        let c = compare(&base, "b", &report(vec![row(OURS, 108.0, (106.0, 110.0))]), 10.0);
        assert_eq!(c.regressions, 0);
        // A peer getting slower is not ours to fail on.
        let base = report(vec![row("rskafka", 100.0, (95.0, 105.0))]);
        let c = compare(&base, "b", &report(vec![row("rskafka", 200.0, (190.0, 210.0))]), 10.0);
        assert_eq!((c.rows.len(), c.regressions), (1, 0));
    }

    #[test]
    fn thresholds_parse_with_or_without_percent() {
        assert_eq!(parse_threshold("10"), Ok(10.0));
        assert_eq!(parse_threshold("2.5%"), Ok(2.5));
        assert!(parse_threshold("-1").is_err());
        assert!(parse_threshold("x").is_err());
    }
}
