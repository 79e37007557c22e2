//! Conformance: a client against release × behaviour, judged from the
//! emulator's own records as well as the client's exit status.
//!
//! Each run starts an in-process emulator of one release with one
//! catalogue behaviour on (`emulator::behaviour`), runs the client command
//! against it, waits for every connection's record, and [`judge`]s each
//! behaviour that run stands for. Behaviours with the same knobs share a
//! run: `as-released`, `kip511-refusal-hint` and `empty-refusal` are all the
//! release as it is, judged three ways.
//!
//! Every run is held to the same general rules (in time; nothing written on
//! a connection the broker closed; no API or version the release lacks;
//! after a refused ApiVersions, a lower version if the client asks again on
//! that connection), then to the
//! behaviour's own [`Expect`](behaviour::Expect): whether it was exercised at all ([`Fired`]),
//! how the run must end ([`Ending`]), and its [`Check`].

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::command::{fill, run_to, CommandOutcome};
use super::{PROBE_PARTITIONS, PROBE_TOPIC};
use crate::emulator::behaviour::{self, Behaviour, Check, Ending, Fired};
use crate::emulator::{CloseReason, ConnRecord, Emulator, EmulatorOptions, SeededTopic};
use crate::protocol::api_key;
use crate::versions::table::{api_name, table, ApiTable};
use crate::versions::{Mode, Quirks, Release};

/// How long to wait, after the client exits, for its connections' records
/// (a connection the emulator closed lingers 200 ms to catch late writes).
const SETTLE: Duration = Duration::from_secs(2);

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// The client did what a correct client does.
    #[serde(rename = "PASS")]
    Pass,
    /// It did not; the reason says what.
    #[serde(rename = "FAIL")]
    Fail,
    /// The run did not exercise the behaviour, or went where the emulator
    /// cannot judge (an API it does not emulate).
    #[serde(rename = "N/A")]
    NotApplicable,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::NotApplicable => "N/A",
        })
    }
}

/// A verdict with its one-line reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in one line.
    pub reason: String,
}

fn judged(verdict: Verdict, reason: impl Into<String>) -> Judgement {
    Judgement {
        verdict,
        reason: reason.into(),
    }
}

/// One request as the broker saw it, in the order the client sent them.
#[derive(Debug, Clone, Copy)]
struct Seen {
    /// Connection number, 1-based, in accept order.
    conn: usize,
    key: i16,
    version: i16,
    /// The last request of a connection the broker then reset.
    reset: bool,
}

fn api(key: i16) -> String {
    api_name(key).map_or_else(|| format!("API key {key}"), str::to_owned)
}

/// The requests of `records` (sorted by accept time) in order.
fn requests(records: &[ConnRecord]) -> Vec<Seen> {
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let reset = matches!(r.closed, Some(CloseReason::Reset(_)));
        let last = r.requests.len().saturating_sub(1);
        for (j, &(key, version, _)) in r.requests.iter().enumerate() {
            out.push(Seen {
                conn: i + 1,
                key,
                version,
                reset: reset && j == last,
            });
        }
    }
    out
}

/// The requests as a short story: `ApiVersions v4 ✗, v3 | Metadata v12`
/// (`|` between connections, `✗` refused, `↯` reset), at most 12 requests.
fn story(seen: &[Seen], table: &ApiTable) -> String {
    let mut s = String::new();
    let mut conn = 0;
    let mut last_key = None;
    for (n, r) in seen.iter().enumerate() {
        if n == 12 {
            let _ = write!(s, " … {} more", seen.len() - 12);
            break;
        }
        if r.conn != conn {
            if conn != 0 {
                s.push_str(" | ");
            }
            conn = r.conn;
            last_key = None;
        } else {
            s.push_str(", ");
        }
        if last_key != Some(r.key) {
            let _ = write!(s, "{} ", api(r.key));
        }
        last_key = Some(r.key);
        let _ = write!(s, "v{}", r.version);
        if r.reset {
            s.push_str(" ↯");
        } else if refused(r, table) {
            s.push_str(" ✗");
        }
    }
    if s.is_empty() {
        s.push_str("no request");
    }
    s
}

/// An ApiVersions request answered with UNSUPPORTED_VERSION.
fn refused(r: &Seen, table: &ApiTable) -> bool {
    r.key == api_key::API_VERSIONS && !r.reset && table.get(r.key).is_some_and(|range| !range.contains(r.version))
}

/// Why `fired` did not happen on this run, if it did not.
fn not_exercised(
    fired: Fired,
    release: Release,
    mode: Mode,
    table: &ApiTable,
    records: &[ConnRecord],
    seen: &[Seen],
) -> Option<String> {
    match fired {
        Fired::Always => None,
        Fired::Refusal { hint } => {
            let with_hint = Quirks::of(release, mode).kip511_hint;
            if !seen.iter().any(|r| refused(r, table)) {
                Some(format!(
                    "the client never asked for an ApiVersions version Kafka {release} lacks"
                ))
            } else {
                (with_hint != hint).then(|| {
                    format!(
                        "Kafka {release} refuses {} a KIP-511 hint",
                        if with_hint { "with" } else { "without" }
                    )
                })
            }
        }
        Fired::Closed(what) => (!records.iter().any(|r| r.closed == Some(CloseReason::Fault(what))))
            .then(|| format!("the broker never closed a connection this way ({what})")),
        Fired::Reset => (!seen.iter().any(|r| r.reset))
            .then(|| "the broker never reset a connection (nothing asked above the version it resets on)".into()),
        Fired::Throttled => (records.iter().all(|r| r.throttled == 0))
            .then(|| "no reply at ApiVersions v2+ or Metadata v6+ obliged the client to wait".into()),
        Fired::Request(key) => {
            (!seen.iter().any(|r| r.key == key)).then(|| format!("the client sent no {} request", api(key)))
        }
        Fired::ApiVersionsFrom(v) => (!seen
            .iter()
            .any(|r| r.key == api_key::API_VERSIONS && r.version >= v && !r.reset && !refused(r, table)))
        .then(|| format!("no ApiVersions v{v}+ request was answered")),
    }
}

/// The general rules every run is held to, then the behaviour's own.
/// `records` in any order; `timeout` is the harness's. A run that did not
/// exercise the behaviour is N/A for it (its general failures, if any, are
/// named, and judged under `as-released`).
pub fn judge(
    b: &Behaviour,
    release: Release,
    mode: Mode,
    table: &ApiTable,
    outcome: &CommandOutcome,
    records: &[ConnRecord],
    timeout: Duration,
) -> Judgement {
    let mut records = records.to_vec();
    records.sort_by_key(|r| r.opened_at);
    let seen = requests(&records);
    let story = story(&seen, table);
    let exit = match (outcome.timed_out, outcome.exit_code) {
        (true, _) => "killed".to_owned(),
        (false, Some(c)) => format!("exit {c}"),
        (false, None) => "killed by a signal".to_owned(),
    };
    let took = match outcome.duration_ms {
        ms @ 0..1000 => format!("{ms} ms"),
        ms => format!("{:.1} s", ms as f64 / 1000.0),
    };
    let fail = |why: String| judged(Verdict::Fail, format!("{why} [{story}]"));

    // Where the emulator cannot say what Kafka would have done, it judges nothing.
    for r in &records {
        if let Some(CloseReason::NotEmulated { key, version }) = r.closed {
            return judged(
                Verdict::NotApplicable,
                format!(
                    "not judged: the client sent {} v{version}, which the emulator does not emulate (it closed) [{story}]",
                    api(key)
                ),
            );
        }
    }
    let general = || -> Option<String> {
        if outcome.timed_out {
            return Some(format!("did not finish within {} s: killed", timeout.as_secs()));
        }
        for (i, r) in records.iter().enumerate() {
            let Some(reason) = &r.closed else { continue };
            if r.bytes_after_close > 0 {
                return Some(format!(
                    "wrote {} bytes on connection {} after the broker closed it ({reason})",
                    r.bytes_after_close,
                    i + 1
                ));
            }
            let bad = match reason {
                CloseReason::UnsupportedVersion { key, version } => Some(format!(
                    "sent {} v{version}, which Kafka {release} does not support (the broker closed the connection)",
                    api(*key)
                )),
                CloseReason::UnknownApi { key } => {
                    Some(format!("sent API key {key}, which Kafka {release} does not have"))
                }
                CloseReason::InvalidRequest(e) => Some(format!("sent a request Kafka cannot read: {e}")),
                CloseReason::UnparsableHeader => Some("sent a request header Kafka cannot read".to_owned()),
                CloseReason::InvalidFrame(e) => Some(format!("sent a bad frame: {e}")),
                _ => None,
            };
            if bad.is_some() {
                return bad;
            }
        }
        for (i, r) in seen.iter().enumerate() {
            if !refused(r, table) {
                continue;
            }
            // The broker keeps the connection open: a retry on it must go lower.
            let next = seen
                .get(i + 1)
                .filter(|n| n.conn == r.conn && n.key == api_key::API_VERSIONS);
            if let Some(n) = next.filter(|n| n.version >= r.version) {
                return Some(format!(
                    "after ApiVersions v{} was refused, asked again at v{} on the same connection",
                    r.version, n.version
                ));
            }
        }
        None
    };
    let general = general();

    let exercised = not_exercised(b.expect.fired, release, mode, table, &records, &seen);
    if let Some(why) = exercised {
        // The general rules are the `as-released` verdict's to give.
        let also = general
            .map(|g| format!("; the run failed otherwise: {g}"))
            .unwrap_or_default();
        return judged(
            Verdict::NotApplicable,
            format!("not exercised: {why} ({exit} in {took}){also} [{story}]"),
        );
    }
    if let Some(g) = general {
        return fail(g);
    }

    match b.expect.check {
        Check::None => {}
        Check::FallbackAfterReset(max) => {
            if let Some(first) = seen.iter().position(|r| r.reset) {
                let resets = seen.iter().filter(|r| r.reset).count();
                let lower = seen[first + 1..]
                    .iter()
                    .any(|r| r.key == api_key::API_VERSIONS && r.version <= max);
                if !lower {
                    return fail(format!(
                        "the broker reset ApiVersions v{} {resets} time(s); the client never asked at v{max} or lower",
                        seen[first].version
                    ));
                }
            }
        }
        Check::HintedAfterClose => {
            let closed_after = |conn: usize| {
                records[conn - 1].closed == Some(CloseReason::Fault(crate::emulator::fault::closed::AFTER_REFUSAL))
            };
            let mut again = 0;
            let mut refused_version = 0;
            for (i, r) in seen.iter().enumerate() {
                if !(refused(r, table) && closed_after(r.conn)) {
                    continue;
                }
                let next = seen[i + 1..]
                    .iter()
                    .find(|n| n.conn != r.conn && n.key == api_key::API_VERSIONS);
                if next.is_some_and(|n| refused(n, table)) {
                    again += 1;
                    refused_version = r.version;
                }
            }
            if again > 0 {
                return fail(format!(
                    "after the broker refused ApiVersions v{refused_version} and closed, the client asked for an \
                     unsupported version again on the next connection ({again} time(s)) instead of the hinted one"
                ));
            }
        }
        Check::HonoursThrottle => {
            if let Some(v) = records.iter().flat_map(|r| r.throttle_violations.iter()).next() {
                return fail(format!(
                    "sent {} v{} {} ms into the {} ms throttle of its {} v{} reply (KIP-219: wait it out)",
                    api(v.early.0),
                    v.early.1,
                    u128::from(v.throttle_ms).saturating_sub(v.early_by.as_millis()),
                    v.throttle_ms,
                    api(v.throttled.0),
                    v.throttled.1
                ));
            }
        }
    }

    let last_line = outcome.failure();
    match (b.expect.ending, outcome.exit_code) {
        (Ending::Succeeds, Some(0)) | (Ending::Fails, Some(1..)) | (Ending::Either, _) => {}
        (Ending::Succeeds, _) => return fail(format!("did not succeed: {last_line}")),
        (Ending::Fails, _) => {
            return fail(format!(
                "{exit}: reported success, though the broker answered nothing usable ({})",
                b.wire
            ))
        }
    }
    judged(Verdict::Pass, format!("{exit} in {took} [{story}]"))
}

/// One cell: a client against a release with a behaviour.
#[derive(Debug, Clone, Serialize)]
pub struct ConformCell {
    /// The client's name (`custom` for `--client-cmd`).
    pub client: String,
    /// Release.
    pub release: Release,
    /// Mode.
    pub mode: Mode,
    /// The behaviour's name.
    pub behaviour: &'static str,
    /// The verdict and why.
    #[serde(flatten)]
    pub judgement: Judgement,
    /// What the command did.
    pub outcome: CommandOutcome,
    /// Connections the client opened.
    pub connections: usize,
    /// The run's transcript (relative to the report directory).
    pub transcript: String,
}

/// One run of a client: a release and a set of behaviours sharing knobs.
#[derive(Debug, Clone)]
pub struct ConformRun {
    /// The client's name.
    pub client: String,
    /// Its command template (`{bootstrap}` … placeholders).
    pub template: String,
    /// Release.
    pub release: Release,
    /// Mode.
    pub mode: Mode,
    /// The behaviours judged on this run (all with the same knobs).
    pub behaviours: Vec<&'static Behaviour>,
}

/// The runs for `clients` (name, template) × `pairs` × `behaviours`, with
/// behaviours that share knobs sharing a run.
pub fn plan(
    clients: &[(String, String)],
    pairs: &[(Release, Mode)],
    behaviours: &[&'static Behaviour],
) -> Vec<ConformRun> {
    let mut groups: Vec<Vec<&'static Behaviour>> = Vec::new();
    for b in behaviours {
        match groups.iter_mut().find(|g| g[0].knobs == b.knobs) {
            Some(g) => g.push(b),
            None => groups.push(vec![b]),
        }
    }
    let mut runs = Vec::new();
    for (client, template) in clients {
        for &(release, mode) in pairs {
            for g in &groups {
                runs.push(ConformRun {
                    client: client.clone(),
                    template: template.clone(),
                    release,
                    mode,
                    behaviours: g.clone(),
                });
            }
        }
    }
    runs
}

/// Conformance failures that stop a run (not verdicts).
#[derive(Debug, thiserror::Error)]
pub enum ConformError {
    /// The release has no table in this mode.
    #[error("Kafka {release} has no {mode} mode in the catalog")]
    NoSuchMode {
        /// Release.
        release: Release,
        /// Mode.
        mode: Mode,
    },
    /// A behaviour's knobs did not apply (a catalogue bug).
    #[error("behaviour {name}: {why}")]
    Behaviour {
        /// The behaviour.
        name: &'static str,
        /// Why.
        why: String,
    },
    /// The emulator did not start.
    #[error(transparent)]
    Emulator(#[from] crate::emulator::EmulatorError),
    /// The command could not be run.
    #[error(transparent)]
    Command(#[from] super::command::CommandError),
    /// The transcript could not be written.
    #[error("cannot write the transcript {}: {source}", path.display())]
    Transcript {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A run's task failed (a bug: it panicked).
    #[error("a run failed: {0}")]
    Join(String),
}

/// The transcript file name of run `index`.
pub fn transcript_file(index: usize, run: &ConformRun) -> String {
    let names: Vec<&str> = run.behaviours.iter().map(|b| b.name).collect();
    format!(
        "{index:03}-{}-{}-{}-{}",
        run.client,
        run.release,
        run.mode,
        names.first().copied().unwrap_or("none")
    )
}

/// Runs `run` (number `index`), writing its transcript under `out`.
pub async fn run_one(
    run: &ConformRun,
    index: usize,
    timeout: Duration,
    out: &Path,
) -> Result<Vec<ConformCell>, ConformError> {
    let (release, mode) = (run.release, run.mode);
    let table = table(release, mode).ok_or(ConformError::NoSuchMode { release, mode })?;
    let mut options = EmulatorOptions {
        topics: vec![SeededTopic::new(PROBE_TOPIC, PROBE_PARTITIONS)],
        ..EmulatorOptions::default()
    };
    let b = run.behaviours[0];
    let knobs: Vec<String> = b.knobs.iter().map(|k| (*k).to_owned()).collect();
    behaviour::apply(&knobs, &mut options).map_err(|why| ConformError::Behaviour { name: b.name, why })?;
    let emulator = Emulator::start(release, mode, options).await?;
    let command = fill(
        &run.template,
        &emulator.bootstrap(),
        &release.to_string(),
        &mode.to_string(),
    );
    let base = transcript_file(index, run);
    let output = out.join("transcripts").join(format!("{base}.out"));
    let mut outcome = run_to(command, timeout, Some(&output)).await?;
    outcome.output_file = Some(format!("transcripts/{base}.out"));
    let settled = emulator.settle(SETTLE).await;
    let mut records = emulator.records();
    records.sort_by_key(|r| r.opened_at);
    emulator.shutdown().await;

    let cells: Vec<ConformCell> = run
        .behaviours
        .iter()
        .map(|b| ConformCell {
            client: run.client.clone(),
            release,
            mode,
            behaviour: b.name,
            judgement: judge(b, release, mode, table, &outcome, &records, timeout),
            outcome: outcome.clone(),
            connections: records.len(),
            transcript: format!("transcripts/{base}.txt"),
        })
        .collect();
    let text = render(run, &cells, &records, &outcome, settled);
    let path = out.join("transcripts").join(format!("{base}.txt"));
    std::fs::write(&path, text).map_err(|source| ConformError::Transcript { path, source })?;
    Ok(cells)
}

/// A run's transcript: verdicts, what the broker saw per connection, the
/// command's record.
fn render(
    run: &ConformRun,
    cells: &[ConformCell],
    records: &[ConnRecord],
    outcome: &CommandOutcome,
    settled: bool,
) -> String {
    let mut s = format!(
        "client: {}\nbroker: Kafka {} {} (emulated in-process)\n",
        run.client, run.release, run.mode
    );
    let knobs = run.behaviours[0].knobs;
    let _ = writeln!(
        s,
        "behaviour knobs: {}",
        if knobs.is_empty() {
            "none (the release as it is)".to_owned()
        } else {
            knobs.join(",")
        }
    );
    for c in cells {
        let _ = writeln!(s, "{} {}: {}", c.judgement.verdict, c.behaviour, c.judgement.reason);
    }
    let _ = writeln!(s, "\n--- what the broker saw ({} connections) ---", records.len());
    if !settled {
        s.push_str("(some connections were still open 2 s after the client exited; their records are missing)\n");
    }
    let start = records.first().map(|r| r.opened_at);
    for (i, r) in records.iter().enumerate() {
        let at = start.map_or(0, |t| r.opened_at.duration_since(t).as_millis());
        let reqs: Vec<String> = r
            .requests
            .iter()
            .map(|&(k, v, c)| format!("{} v{v} #{c}", api(k)))
            .collect();
        let _ = writeln!(
            s,
            "#{} +{at} ms: {} | {} replies | {}",
            i + 1,
            if reqs.is_empty() {
                "no request".to_owned()
            } else {
                reqs.join(", ")
            },
            r.responses,
            r.closed.as_ref().map_or_else(|| "open".to_owned(), ToString::to_string)
        );
        if r.bytes_after_close > 0 {
            let _ = writeln!(s, "    {} bytes written after the broker closed", r.bytes_after_close);
        }
        if r.throttled > 0 {
            let _ = writeln!(s, "    {} throttled replies obliged the client to wait", r.throttled);
        }
        for v in &r.throttle_violations {
            let _ = writeln!(
                s,
                "    {} v{} came {} ms early into the {} ms throttle of {} v{}",
                api(v.early.0),
                v.early.1,
                v.early_by.as_millis(),
                v.throttle_ms,
                api(v.throttled.0),
                v.throttled.1
            );
        }
    }
    s.push_str("\n--- the client ---\n");
    s.push_str(&outcome.render());
    s
}

/// Runs every run, `jobs` at a time, calling `progress` with each run's
/// cells as they finish. Results are in run order.
pub async fn run_all(
    runs: &[ConformRun],
    timeout: Duration,
    jobs: usize,
    out: &Path,
    mut progress: impl FnMut(&[ConformCell]),
) -> Result<Vec<ConformCell>, ConformError> {
    let limit = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, run) in runs.iter().enumerate() {
        let (run, limit, out) = (run.clone(), Arc::clone(&limit), out.to_owned());
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (i, run_one(&run, i + 1, timeout, &out).await)
        });
    }
    let mut done: Vec<(usize, Vec<ConformCell>)> = Vec::with_capacity(runs.len());
    while let Some(joined) = set.join_next().await {
        let (i, cells) = joined.map_err(|e| ConformError::Join(e.to_string()))?;
        let cells = cells?;
        progress(&cells);
        done.push((i, cells));
    }
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().flat_map(|(_, c)| c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::behaviour::find;
    use crate::emulator::ThrottleViolation;

    fn outcome(exit: Option<i32>, timed_out: bool) -> CommandOutcome {
        CommandOutcome {
            command: "client".into(),
            exit_code: exit,
            timed_out,
            duration_ms: 120,
            stdout: String::new(),
            stderr: "boom".into(),
            stdout_bytes: 0,
            stderr_bytes: 4,
            output_file: None,
            output_error: None,
        }
    }

    fn conn(requests: &[(i16, i16)], closed: CloseReason) -> ConnRecord {
        let mut r = ConnRecord::new(String::new());
        r.requests = requests.iter().map(|&(k, v)| (k, v, 1)).collect();
        r.responses = requests.len() as u32;
        r.closed = Some(closed);
        r
    }

    fn verdict(name: &str, exit: Option<i32>, records: &[ConnRecord]) -> Judgement {
        let b = find(name).expect("in the catalogue");
        let release = Release::new(3, 8);
        let t = table(release, Mode::Zk).expect("3.8 zk");
        judge(
            b,
            release,
            Mode::Zk,
            t,
            &outcome(exit, false),
            records,
            Duration::from_secs(30),
        )
    }

    const AV: i16 = api_key::API_VERSIONS;
    const MD: i16 = api_key::METADATA;

    #[test]
    fn kip511_fallback_passes_and_misreading_the_refusal_fails() {
        let good = [conn(&[(AV, 4), (AV, 3), (MD, 12)], CloseReason::ClientClosed)];
        let j = verdict("kip511-refusal-hint", Some(0), &good);
        assert_eq!(j.verdict, Verdict::Pass, "{j:?}");
        assert!(j.reason.contains("ApiVersions v4 ✗, v3, Metadata v12"), "{}", j.reason);
        // franz-go 1.19.0: the refusal read as the table, Metadata v13 sent.
        let bad = [conn(
            &[(AV, 4), (MD, 13)],
            CloseReason::UnsupportedVersion { key: MD, version: 13 },
        )];
        let j = verdict("kip511-refusal-hint", Some(1), &bad);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(
            j.reason
                .starts_with("sent Metadata v13, which Kafka 3.8 does not support"),
            "{}",
            j.reason
        );
        // A client that never asks above v3 does not exercise the refusal.
        let v3 = [conn(&[(AV, 3), (MD, 12)], CloseReason::ClientClosed)];
        assert_eq!(
            verdict("kip511-refusal-hint", Some(0), &v3).verdict,
            Verdict::NotApplicable
        );
        assert_eq!(verdict("as-released", Some(0), &v3).verdict, Verdict::Pass);
        assert_eq!(verdict("as-released", Some(2), &v3).verdict, Verdict::Fail);
    }

    #[test]
    fn writing_after_the_close_fails() {
        let mut closed = conn(
            &[(AV, 4)],
            CloseReason::Fault(crate::emulator::fault::closed::AFTER_REFUSAL),
        );
        closed.bytes_after_close = 31;
        let j = verdict("close-after-refusal", Some(0), &[closed]);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(
            j.reason
                .starts_with("wrote 31 bytes on connection 1 after the broker closed it"),
            "{}",
            j.reason
        );
    }

    #[test]
    fn reset_needs_a_lower_version_and_throttle_needs_the_wait() {
        let reset = || {
            conn(
                &[(AV, 4)],
                CloseReason::Reset(crate::emulator::fault::closed::RESET_API_VERSIONS),
            )
        };
        let mut later = conn(&[(AV, 3), (MD, 12)], CloseReason::ClientClosed);
        later.opened_at += Duration::from_millis(5);
        let j = verdict("reset-on-new-apiversions", Some(0), &[reset(), later]);
        assert_eq!(j.verdict, Verdict::Pass, "{j:?}");
        assert!(j.reason.contains("ApiVersions v4 ↯ | ApiVersions v3"), "{}", j.reason);
        let j = verdict("reset-on-new-apiversions", Some(1), &[reset()]);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.reason.contains("never asked at v3 or lower"), "{}", j.reason);

        let mut throttled = conn(&[(AV, 3), (MD, 12)], CloseReason::ClientClosed);
        throttled.throttled = 2;
        assert_eq!(
            verdict("throttle", Some(0), &[throttled.clone()]).verdict,
            Verdict::Pass
        );
        throttled.throttle_violations.push(ThrottleViolation {
            throttled: (AV, 3),
            throttle_ms: 500,
            early: (MD, 12),
            early_by: Duration::from_millis(499),
        });
        let j = verdict("throttle", Some(0), &[throttled]);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(
            j.reason
                .starts_with("sent Metadata v12 1 ms into the 500 ms throttle of its ApiVersions v3 reply"),
            "{}",
            j.reason
        );
    }

    #[test]
    fn endings_and_timeouts() {
        let cut = [conn(
            &[(AV, 3), (MD, 12)],
            CloseReason::Fault(crate::emulator::fault::closed::TRUNCATED),
        )];
        assert_eq!(verdict("cut-mid-frame", Some(1), &cut).verdict, Verdict::Pass);
        let j = verdict("cut-mid-frame", Some(0), &cut);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.reason.starts_with("exit 0: reported success"), "{}", j.reason);
        let b = find("as-released").expect("catalogued");
        let t = table(Release::new(3, 8), Mode::Zk).expect("3.8");
        let j = judge(
            b,
            Release::new(3, 8),
            Mode::Zk,
            t,
            &outcome(None, true),
            &cut,
            Duration::from_secs(30),
        );
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.reason.starts_with("did not finish within 30 s"), "{}", j.reason);
        let other = [conn(
            &[(AV, 3), (10, 4)],
            CloseReason::NotEmulated { key: 10, version: 4 },
        )];
        assert_eq!(verdict("as-released", Some(1), &other).verdict, Verdict::NotApplicable);
    }

    #[test]
    fn behaviours_with_the_same_knobs_share_a_run() {
        let all: Vec<&'static Behaviour> = behaviour::CATALOGUE.iter().collect();
        let runs = plan(
            &[("c".into(), "x {bootstrap}".into())],
            &[(Release::new(3, 8), Mode::Zk)],
            &all,
        );
        assert_eq!(
            runs.len(),
            all.len() - 2,
            "as-released, kip511-refusal-hint and empty-refusal share one"
        );
        assert_eq!(runs[0].behaviours.len(), 3);
    }
}
