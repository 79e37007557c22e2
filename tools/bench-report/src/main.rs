//! `bench-report`: turns a run of `benches/negotiation` into `report.md`,
//! `report.json` and pictures, compares it with the previous run (do two
//! runs agree?) and with a saved baseline (did a commit make us slower?).
//!
//! ```text
//! bench-report [--criterion DIR] [--out DIR] [--baseline NAME] [--threshold PCT]
//!              [--save-baseline NAME] [--agree PCT] [--require-agreement]
//! ```
//!
//! - `--criterion`: criterion's output (default `$CRITERION_HOME`, else
//!   `$CARGO_TARGET_DIR/criterion`, else `target/criterion`);
//! - `--out`: where `run.json` is and the report goes (default
//!   `$CARGO_TARGET_DIR/kafka-matrix/bench`, else `target/kafka-matrix/bench`);
//! - `--baseline NAME` (or `$KAFKA_MATRIX_BENCH_BASELINE`): compare with
//!   `<out>/baselines/NAME.json`: every ratio, and absolute times when the
//!   machine is the same; exit status 1 when one of our client's ratios to
//!   its floor (or, same machine only, an emulator id) is worse by more than
//!   the threshold *and* its 95 % interval lies wholly above the baseline's;
//!   also draws `baseline.svg`;
//! - `--threshold PCT` (or `$KAFKA_MATRIX_BENCH_THRESHOLD`, default 10);
//! - `--save-baseline NAME`: also save this report as that baseline;
//! - `--agree PCT` (default 10): the bound for the agreement with the
//!   previous run (the newest report in `<out>/history/` of an earlier run);
//!   `--require-agreement`: exit status 1 when a ratio moved by more.
//!
//! Exit status: 0, 1 for a regression (or a disagreement when required), 2
//! for a usage or input error.

mod analysis;
mod compare;
mod data;
mod plot;
mod render;
mod stats;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bench_schema::{CriterionId, LoadAvg, Machine, Role, RoundTrips, RunLog};
use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "kafka-matrix-bench-report/2";

/// One paired series, summarized.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesRow {
    pub group: String,
    pub broker: String,
    pub client: String,
    pub role: Role,
    pub round_trips: Option<RoundTrips>,
    pub rounds: usize,
    pub median_ns: f64,
    /// 95 % bootstrap interval of the median.
    pub median_ci_ns: (f64, f64),
    pub p90_ns: f64,
    pub p99_ns: f64,
    pub mean_ns: f64,
}

/// What a ratio compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatioKind {
    /// A client ÷ the floor with as many round trips (the same requests for
    /// ours): the client's own cost.
    SameRequests,
    /// A client ÷ `tcp-floor` (a fresh kafka-matrix's exchange), whatever it
    /// sends: the cost end to end.
    EndToEnd,
    /// Ours (the path with the peer's round trips) ÷ a peer.
    EqualRoundTrips,
    /// A fresh kafka-matrix ÷ a peer, each with its own round trips.
    OursVsPeer,
    /// The reconnect option ÷ a fresh client.
    Option,
    /// A peer's requests sent raw ÷ a fresh kafka-matrix's sent raw (both
    /// from a peer process): what the peer's round trips cost, client aside.
    Protocol,
}

/// `numerator / denominator`, per round, summarized.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RatioRow {
    pub group: String,
    pub broker: String,
    pub numerator: String,
    pub denominator: String,
    pub kind: RatioKind,
    /// Rounds with both values.
    pub rounds: usize,
    /// Median of the per-round ratios.
    pub median: f64,
    /// Its 95 % bootstrap interval.
    pub ci: (f64, f64),
    /// Median of the per-round differences `numerator − denominator`, in ns:
    /// what the numerator costs over the denominator in absolute terms. A
    /// constant that both contenders pay in one machine state and not in
    /// another (a sleeping thread's wake-up) moves the ratio, not this.
    /// Absent in reports written before it existed.
    #[serde(default)]
    pub diff_ns: Option<f64>,
}

/// One criterion id with its figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CriterionRow {
    #[serde(flatten)]
    pub id: CriterionId,
    pub median_ns: f64,
    /// Criterion's 95 % interval of the median (estimates.json).
    pub median_ci_ns: (f64, f64),
    pub p90_ns: f64,
    pub p99_ns: f64,
    pub mean_ns: f64,
    /// Criterion samples the percentiles are taken over.
    pub samples: usize,
    /// Operations per second at the median, for the throughput groups.
    pub per_second: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Missing {
    #[serde(flatten)]
    pub id: CriterionId,
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
pub struct RatioCompare {
    pub group: String,
    pub broker: String,
    pub numerator: String,
    pub denominator: String,
    pub kind: RatioKind,
    pub baseline: f64,
    pub baseline_ci: (f64, f64),
    pub now: f64,
    pub now_ci: (f64, f64),
    pub change_pct: f64,
    /// The two intervals do not overlap.
    pub outside_noise: bool,
    /// Our client beside its floor: can fail the comparison.
    pub gated: bool,
    /// Worse by more than the threshold and outside the noise, on a gated ratio.
    pub regression: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AbsoluteCompare {
    /// group/client/broker, or a criterion id.
    pub what: String,
    pub baseline_ns: f64,
    pub now_ns: f64,
    pub change_pct: f64,
    pub outside_noise: bool,
    /// Slower by more than the threshold and outside the noise, on an emulator id.
    pub regression: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub baseline: String,
    pub baseline_commit: Option<String>,
    pub baseline_machine: Machine,
    pub baseline_backend: String,
    /// Whether absolute times were compared.
    pub same_machine: bool,
    /// How the two runs were measured differently, if they were
    /// (`compare::method_differs`).
    #[serde(default)]
    pub method_differs: Option<String>,
    pub threshold_pct: f64,
    pub ratios: Vec<RatioCompare>,
    /// Empty unless the machine is the same.
    pub absolute: Vec<AbsoluteCompare>,
    pub regressions: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgreeRow {
    /// Whose ratio: `kafka-matrix`, `peer process` (the floor sent from a
    /// peer process) or the peer it involves (`compare::whose`).
    pub whose: String,
    pub group: String,
    pub broker: String,
    pub numerator: String,
    pub denominator: String,
    pub kind: RatioKind,
    pub previous: f64,
    pub now: f64,
    pub change_pct: f64,
    /// |change| ≤ the bound.
    pub within: bool,
}

/// This run's ratios beside the previous run's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Agreement {
    pub previous_started_unix: u64,
    pub previous_commit: Option<String>,
    pub previous_profile: String,
    /// Its load averages at start and end.
    pub previous_load: Option<(LoadAvg, LoadAvg)>,
    pub same_machine: bool,
    /// How the two runs were measured differently, if they were.
    #[serde(default)]
    pub method_differs: Option<String>,
    pub bound_pct: f64,
    pub within: usize,
    pub total: usize,
    pub rows: Vec<AgreeRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub generated_unix: u64,
    /// The run, without its raw rounds (they stay in run.json).
    pub run: RunLog,
    pub series: Vec<SeriesRow>,
    pub ratios: Vec<RatioRow>,
    pub criterion: Vec<CriterionRow>,
    pub missing: Vec<Missing>,
    pub targets: Vec<TargetResult>,
    pub comparison: Option<Comparison>,
    pub agreement: Option<Agreement>,
}

impl Report {
    pub fn series(&self, group: &str, broker: &str, client: &str) -> Option<&SeriesRow> {
        self.series
            .iter()
            .find(|r| r.group == group && r.broker == broker && r.client == client)
    }

    /// `client` ÷ the floor sending its very requests, in `group` on `broker`.
    pub fn to_own_floor(&self, group: &str, broker: &str, client: &str) -> Option<&RatioRow> {
        self.ratios.iter().find(|r| {
            r.group == group && r.broker == broker && r.numerator == client && r.kind == RatioKind::SameRequests
        })
    }

    pub fn ratio(&self, group: &str, broker: &str, numerator: &str, denominator: &str) -> Option<&RatioRow> {
        self.ratios.iter().find(|r| {
            r.group == group && r.broker == broker && r.numerator == numerator && r.denominator == denominator
        })
    }
}

#[derive(Debug)]
struct Args {
    criterion: PathBuf,
    out: PathBuf,
    baseline: Option<String>,
    threshold_pct: f64,
    save_baseline: Option<String>,
    agree_pct: f64,
    require_agreement: bool,
}

const USAGE: &str = "usage: bench-report [--criterion DIR] [--out DIR] [--baseline NAME] [--threshold PCT] \
                     [--save-baseline NAME] [--agree PCT] [--require-agreement]";

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
        agree_pct: 10.0,
        require_agreement: false,
    };
    if let Some(t) = non_empty("KAFKA_MATRIX_BENCH_THRESHOLD") {
        args.threshold_pct = parse_pct(&t)?;
    }
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--criterion" => args.criterion = PathBuf::from(value()?),
            "--out" => args.out = PathBuf::from(value()?),
            "--baseline" => args.baseline = Some(value()?),
            "--threshold" => args.threshold_pct = parse_pct(&value()?)?,
            "--save-baseline" => args.save_baseline = Some(value()?),
            "--agree" => args.agree_pct = parse_pct(&value()?)?,
            "--require-agreement" => args.require_agreement = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
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

fn parse_pct(s: &str) -> Result<f64, String> {
    let t: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|e| format!("percentage {s:?}: {e}"))?;
    if !(t.is_finite() && t >= 0.0) {
        return Err(format!("percentage {s:?}: must be ≥ 0"));
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

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn baseline_path(out: &Path, name: &str) -> PathBuf {
    out.join("baselines").join(format!("{name}.json"))
}

fn run() -> Result<ExitCode, String> {
    let args = parse_args()?;
    let run = data::read_run(&args.out.join("run.json"))?;
    let mut report = analysis::build(run, &args.criterion);
    // The history keeps this run's report without comparisons, for the next run.
    let history = data::history_path(&args.out, report.run.started_unix);
    write(&history, &serde_json::to_string(&report).map_err(|e| e.to_string())?)?;
    if let Some((path, prev)) = data::previous_report(&args.out, report.run.started_unix, &report.run.settings.profile)
    {
        eprintln!("previous run: {}", path.display());
        report.agreement = Some(compare::agreement(&prev, &report, args.agree_pct));
    }
    if let Some(name) = &args.baseline {
        let path = baseline_path(&args.out, name);
        let base = data::read_report(&path).map_err(|e| format!("{e} (save one with `just bench-baseline {name}`)"))?;
        report.comparison = Some(compare::baseline(&base, name, &report, args.threshold_pct));
    }
    if let Some(a) = &report.agreement {
        let mut targets = Vec::new();
        let mut whose = vec![compare::OURS_AND_FLOORS, compare::PROCESS];
        whose.extend(analysis::PEERS);
        for who in whose {
            let rows: Vec<&AgreeRow> = a.rows.iter().filter(|x| x.whose == who).collect();
            if rows.is_empty() {
                continue;
            }
            let within = rows.iter().filter(|x| x.within).count();
            let worst = rows
                .iter()
                .max_by(|x, y| x.change_pct.abs().total_cmp(&y.change_pct.abs()))
                .map(|r| {
                    format!(
                        "; worst {:+.1} % ({} {} ÷ {})",
                        r.change_pct, r.broker, r.numerator, r.denominator
                    )
                })
                .unwrap_or_default();
            let what = match who {
                compare::OURS_AND_FLOORS => {
                    "our client's per-broker ratios (to its floors, between its paths)".to_owned()
                }
                compare::PROCESS => "the floor from a peer process ÷ the floor, per broker".to_owned(),
                p => format!("per-broker ratios involving {p}"),
            };
            targets.push(analysis_target(
                &format!("{what} within ±{} % of the previous run", a.bound_pct),
                format!("{within} of {}{worst}", rows.len()),
                within == rows.len(),
            ));
        }
        report.targets.extend(targets);
    }

    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    let json_path = args.out.join("report.json");
    write(&json_path, &json)?;
    let latency_svg = args.out.join("latency.svg");
    plot::latency(&report, &latency_svg)?;
    let baseline_svg = args.out.join("baseline.svg");
    let mut pictures = vec![("latency by release", "latency.svg")];
    if let Some(c) = &report.comparison {
        plot::baseline(&report, c, &baseline_svg)?;
        pictures.push(("ratio to the baseline, by id", "baseline.svg"));
    }
    let md_path = args.out.join("report.md");
    write(&md_path, &render::markdown(&report, &pictures))?;
    if let Some(name) = &args.save_baseline {
        let path = baseline_path(&args.out, name);
        write(&path, &json)?;
        println!("baseline {name:?} saved: {}", path.display());
    }
    println!("{}", render::summary(&report));
    println!(
        "wrote {}, {}, {}",
        md_path.display(),
        json_path.display(),
        latency_svg.display()
    );
    let mut code = ExitCode::SUCCESS;
    if let Some(c) = report.comparison.as_ref().filter(|c| c.regressions > 0) {
        eprintln!(
            "bench-report: {} ratio(s) or id(s) worse than baseline {:?} by more than {} % and outside the noise band",
            c.regressions, c.baseline, c.threshold_pct
        );
        code = ExitCode::from(1);
    }
    if let Some(a) = report
        .agreement
        .as_ref()
        .filter(|a| args.require_agreement && a.within < a.total)
    {
        eprintln!(
            "bench-report: {} of {} ratios moved by more than ±{} % since the previous run",
            a.total - a.within,
            a.total,
            a.bound_pct
        );
        code = ExitCode::from(1);
    }
    Ok(code)
}

fn analysis_target(target: &str, measured: String, pass: bool) -> TargetResult {
    TargetResult {
        target: target.to_owned(),
        measured,
        status: if pass { "PASS" } else { "SHORT" }.to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn ratio_row(numerator: &str, denominator: &str, median: f64, ci: (f64, f64)) -> RatioRow {
        RatioRow {
            group: bench_schema::run::names::G_METADATA.to_owned(),
            broker: "3.8".to_owned(),
            numerator: numerator.to_owned(),
            denominator: denominator.to_owned(),
            kind: RatioKind::SameRequests,
            rounds: 100,
            median,
            ci,
            diff_ns: None,
        }
    }

    pub fn report(ratios: Vec<RatioRow>) -> Report {
        let mut run = RunLog::new(0);
        run.machine = Machine {
            cpu_model: "X".into(),
            cores: 2,
            kernel: "6.1".into(),
            os: "Debian".into(),
            hostname: "h".into(),
        };
        for (name, role) in [
            ("kafka-matrix", Role::Ours),
            ("kafka-matrix-v3", Role::Ours),
            ("tcp-floor", Role::Floor),
            ("tcp-floor-v3", Role::Floor),
            ("rskafka", Role::Peer),
        ] {
            run.clients.push(bench_schema::ClientInfo {
                name: name.into(),
                role,
                version: "1".into(),
                process: "p".into(),
                what: "w".into(),
            });
        }
        Report {
            schema: SCHEMA.to_owned(),
            generated_unix: 0,
            run,
            series: Vec::new(),
            ratios,
            criterion: Vec::new(),
            missing: Vec::new(),
            targets: Vec::new(),
            comparison: None,
            agreement: None,
        }
    }

    #[test]
    fn percentages_parse_with_or_without_percent() {
        assert_eq!(parse_pct("10"), Ok(10.0));
        assert_eq!(parse_pct("2.5%"), Ok(2.5));
        assert!(parse_pct("-1").is_err());
        assert!(parse_pct("x").is_err());
    }

    #[test]
    fn a_report_of_a_run_carries_every_ratio_kind() {
        use bench_schema::run::names::*;
        use bench_schema::{PairedGroup, Series};
        let mut run = report(Vec::new()).run;
        run.clients.push(bench_schema::ClientInfo {
            name: OURS_REMEMBERED.into(),
            role: Role::Ours,
            version: "1".into(),
            process: "p".into(),
            what: "w".into(),
        });
        run.brokers.push(bench_schema::BrokerInfo {
            label: "3.8".into(),
            kind: "emulator".into(),
            description: "d".into(),
            api_versions: 3,
            metadata: 12,
            paths: Default::default(),
        });
        let s = |client: &str, floor: Option<&str>, v: u64| Series {
            broker: "3.8".into(),
            client: client.into(),
            floor: floor.map(str::to_owned),
            equal_round_trips: (client == RSKAFKA).then(|| OURS_V3.to_owned()),
            round_trips: None,
            ns: (0..50).map(|i| Some(v + i % 7)).collect(),
            samples: Vec::new(),
        };
        run.paired.push(PairedGroup {
            group: G_METADATA.into(),
            what: "w".into(),
            series: vec![
                s(FLOOR, None, 100),
                s(OURS, Some(FLOOR), 105),
                s(FLOOR_V3, None, 80),
                s(OURS_V3, Some(FLOOR_V3), 84),
                s(OURS_REMEMBERED, None, 84),
                s(RSKAFKA, Some(FLOOR_V3), 120),
                s(FLOOR_PROC, Some(FLOOR), 110),
            ],
        });
        let r = analysis::build(run, Path::new("/nonexistent"));
        let kind = |n: &str, d: &str| r.ratio(G_METADATA, "3.8", n, d).map(|x| x.kind);
        assert_eq!(kind(OURS, FLOOR), Some(RatioKind::SameRequests));
        assert_eq!(kind(RSKAFKA, FLOOR_V3), Some(RatioKind::SameRequests));
        assert_eq!(kind(RSKAFKA, FLOOR), Some(RatioKind::EndToEnd));
        assert_eq!(kind(OURS_V3, RSKAFKA), Some(RatioKind::EqualRoundTrips));
        assert_eq!(kind(OURS, RSKAFKA), Some(RatioKind::OursVsPeer));
        assert_eq!(kind(OURS_REMEMBERED, OURS), Some(RatioKind::Option));
        assert_eq!(kind(FLOOR_V3, FLOOR_PROC), Some(RatioKind::Protocol));
        let x = r.ratio(G_METADATA, "3.8", OURS_V3, RSKAFKA).expect("ratio");
        assert!((x.median - 0.7).abs() < 0.05, "{x:?}");
        assert!(x.ci.0 <= x.median && x.median <= x.ci.1);
        // Raw rounds are not copied into the report.
        assert!(r.run.paired[0].series.iter().all(|s| s.ns.is_empty()));
    }
}
