//! `kafka-matrix diff [--releases …] [--modes …] [--cases …] [--out DIR]`:
//! every case of `matrix::diff_cases` to the real broker of each pair (the
//! JVM backend) and to its emulated twin; `diff.json`, `diff.md` and one
//! transcript per pair in DIR; one summary line; exit 0 only when no
//! difference is unexplained.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::CliError;
use crate::backend::jvm::{JvmRun, JvmSetup};
use crate::backend::probe::{PROBE_PARTITIONS, PROBE_TOPIC};
use crate::client::{Client, ClientConfig};
use crate::emulator::{Emulator, EmulatorOptions, SeededTopic};
use crate::matrix::diff::{self, apply_accepted, parse_accepted, to_hex, PairResult};
use crate::versions::{parse_releases, releases, Mode};

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Releases: `all`, `3.8`, `2.0..3.8`, or a comma list of those.
    #[arg(long, default_value = "all", env = "KAFKA_VERSIONS")]
    releases: String,
    /// Modes to include.
    #[arg(long, value_delimiter = ',', default_value = "zk,kraft")]
    modes: Vec<Mode>,
    /// Only the cases whose name contains one of these: NAME[,NAME...].
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
    /// The accepted differences (`accept RELEASES MODE CASE FIELD: REASON` per line).
    #[arg(long, default_value = "data/diff/accepted.txt")]
    accepted: PathBuf,
    /// Print the cases of each pair (name, why, frames in hex) and exit.
    #[arg(long)]
    list_cases: bool,
    /// Report directory.
    #[arg(long, default_value = "target/kafka-matrix/diff")]
    out: PathBuf,
}

pub(super) async fn run(args: DiffArgs) -> Result<(), CliError> {
    let selected = parse_releases(&args.releases)?;
    let pairs: Vec<_> = releases()
        .iter()
        .filter(|i| selected.contains(&i.release))
        .flat_map(|i| {
            i.modes
                .iter()
                .filter(|m| args.modes.contains(m))
                .map(move |m| (i.release, *m))
        })
        .collect();
    if pairs.is_empty() {
        return Err(CliError::Message(format!(
            "no release/mode pair in {} {:?}",
            args.releases, args.modes
        )));
    }
    let pick = |r, m| {
        diff::cases(r, m)
            .into_iter()
            .filter(|c| args.cases.is_empty() || args.cases.iter().any(|n| c.name.contains(n.as_str())))
            .collect::<Vec<_>>()
    };
    if args.list_cases {
        for &(r, m) in &pairs {
            for c in pick(r, m) {
                say!("{r} {m} {}: {}", c.name, c.why);
                for f in &c.frames {
                    say!("  > {}", to_hex(&f.bytes));
                }
            }
        }
        return Ok(());
    }
    let accepted = match std::fs::read_to_string(&args.accepted) {
        Ok(text) => parse_accepted(&text, &args.accepted.display().to_string()).map_err(CliError::Message)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(CliError::Message(format!(
                "cannot read {}: {e}",
                args.accepted.display()
            )))
        }
    };
    super::check_out(&args.out)?;
    let setup = JvmSetup::detect(Default::default())
        .await
        .map_err(|e| CliError::Message(e.to_string()))?;
    for &(r, _) in &pairs {
        setup.install(r).await.map_err(|e| CliError::Message(e.to_string()))?;
    }
    let run = JvmRun::new(setup, pairs.iter().copied());
    let started = Instant::now();
    let mut results = Vec::new();
    for &(release, mode) in &pairs {
        let pair = format!("{release} {mode}");
        let cases = pick(release, mode);
        let mut result = PairResult {
            pair: pair.clone(),
            real: String::new(),
            cases: cases.len(),
            differences: Vec::new(),
            error: None,
            transcript: String::new(),
        };
        match run_one(&run, release, mode, &cases).await {
            Ok((real, mut diffs, transcript)) => {
                apply_accepted(&mut diffs, release, mode, &accepted);
                result.real = real;
                result.differences = diffs;
                result.transcript = transcript;
            }
            Err(e) => result.error = Some(e),
        }
        say!(
            "{pair}: {} cases, {} differences, {} unexplained{}",
            result.cases,
            result.differences.len(),
            result.unexplained(),
            result
                .error
                .as_deref()
                .map(|e| format!(" — ERROR {e}"))
                .unwrap_or_default()
        );
        results.push(result);
    }
    let total: usize = results.iter().map(|r| r.differences.len()).sum();
    let unexplained: usize = results.iter().map(PairResult::unexplained).sum();
    let errors = results.iter().filter(|r| r.error.is_some()).count();
    let min_cases = results.iter().map(|r| r.cases).min().unwrap_or(0);
    write(&args.out, &results).map_err(|e| CliError::Message(format!("cannot write {}: {e}", args.out.display())))?;
    say!(
        "{} cases × {} pairs: {total} differences, {unexplained} unexplained{} ({:.0} s; at least {min_cases} cases a pair); report: {}",
        results.iter().map(|r| r.cases).sum::<usize>(),
        results.len(),
        if errors > 0 { format!(", {errors} pairs did not run") } else { String::new() },
        started.elapsed().as_secs_f64(),
        args.out.join("diff.md").display()
    );
    if unexplained > 0 || errors > 0 {
        return Err(CliError::Message(format!(
            "{unexplained} unexplained differences, {errors} pairs not run"
        )));
    }
    Ok(())
}

/// Starts the pair's real broker, its twin set up alike, and runs `cases`.
async fn run_one(
    run: &JvmRun,
    release: crate::versions::Release,
    mode: Mode,
    cases: &[diff::Case],
) -> Result<(String, Vec<diff::Difference>, String), String> {
    let lease = run.lease(release, mode).await.map_err(|e| e.to_string())?;
    let real = lease.broker.bootstrap.clone();
    let described = lease.broker.description.clone();
    // What the twin must copy: the cluster id and the probe topic's id.
    let mut client = Client::connect(&real, ClientConfig::default())
        .await
        .map_err(|e| format!("cannot reach the real broker: {e}"))?;
    let md = client
        .metadata(Some(&[PROBE_TOPIC]))
        .await
        .map_err(|e| format!("Metadata from the real broker: {e}"))?;
    drop(client);
    let mut topic = SeededTopic::new(PROBE_TOPIC, PROBE_PARTITIONS);
    if let Some(id) = md.topics.iter().find_map(|t| t.id) {
        topic.id = id.0;
    }
    let (host, port) = real.rsplit_once(':').ok_or("no port in the bootstrap")?;
    let options = EmulatorOptions {
        topics: vec![topic],
        advertise: Some((host.to_owned(), port.parse().map_err(|_| "bad port")?)),
        cluster_id: md.cluster_id.clone().unwrap_or_default(),
        // The JVM broker's num.partitions (backend::settings).
        auto_create_partitions: PROBE_PARTITIONS,
        ..EmulatorOptions::default()
    };
    let emulator = Emulator::start(release, mode, options)
        .await
        .map_err(|e| e.to_string())?;
    let (diffs, transcript) = diff::run_pair(&format!("{release} {mode}"), &real, &emulator.bootstrap(), cases).await;
    emulator.shutdown().await;
    lease.finish().await;
    Ok((described, diffs, transcript))
}

fn write(dir: &std::path::Path, results: &[PairResult]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("transcripts"))?;
    let mut md = String::from("# kafka-matrix diff: real Kafka vs the emulator\n\n| pair | real broker | cases | differences | unexplained |\n|---|---|---|---|---|\n");
    for r in results {
        std::fs::write(dir.join(r.transcript_file()), &r.transcript)?;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            r.pair,
            r.error.as_deref().map_or(r.real.clone(), |e| format!("ERROR {e}")),
            r.cases,
            r.differences.len(),
            r.unexplained()
        );
    }
    md.push_str("\n## Differences\n\n| pair | case | frame | field | real | emulated | accepted |\n|---|---|---|---|---|---|---|\n");
    for r in results {
        for d in &r.differences {
            let _ = writeln!(
                md,
                "| {} | [{}]({}) | {} | {} | {} | {} | {} |",
                d.pair,
                d.case,
                r.transcript_file(),
                d.frame,
                d.field,
                cell(&d.real),
                cell(&d.emulated),
                d.accepted.as_deref().unwrap_or("")
            );
        }
    }
    std::fs::write(dir.join("diff.md"), md)?;
    let json = serde_json::to_string_pretty(results).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("diff.json"), json + "\n")
}

/// A value as a Markdown table cell: `|` escaped, cut to 120 characters.
fn cell(value: &str) -> String {
    let s = value.replace('|', "\\|");
    match s.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s,
    }
}
