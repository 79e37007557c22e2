//! From a run to figures: every series summarized, every ratio taken per
//! round and summarized, the criterion ids loaded, the targets read.

use std::path::Path;

use bench_schema::run::names::{
    FLOOR, FLOOR_PROC, G_CONNECT, G_CONNS, G_METADATA, G_PIPE, G_START, LIBRDKAFKA_BUNDLED, LIBRDKAFKA_SYSTEM, OURS,
    OURS_REMEMBERED, RSKAFKA,
};
use bench_schema::{PairedGroup, Role, RunLog, Series};

use crate::stats::{seed, summarize};
use crate::{data, render, Missing, RatioKind, RatioRow, Report, SeriesRow, TargetResult, SCHEMA};

/// Peers, in report order.
pub const PEERS: [&str; 3] = [RSKAFKA, LIBRDKAFKA_SYSTEM, LIBRDKAFKA_BUNDLED];
/// The bar for our client against the floor at an equal round-trip count.
pub const FLOOR_BAR: f64 = 1.1;

fn role(run: &RunLog, client: &str) -> Role {
    run.client(client).map(|c| c.role).unwrap_or(Role::Peer)
}

fn series_row(run: &RunLog, group: &str, s: &Series) -> Option<SeriesRow> {
    let values: Vec<f64> = s.ns.iter().flatten().map(|v| *v as f64).collect();
    let sum = summarize(&values, seed(&format!("{group}/{}/{}", s.broker, s.client)))?;
    Some(SeriesRow {
        group: group.to_owned(),
        broker: s.broker.clone(),
        client: s.client.clone(),
        role: role(run, &s.client),
        round_trips: s.round_trips.clone(),
        rounds: sum.n,
        median_ns: sum.median,
        median_ci_ns: sum.ci,
        p90_ns: sum.p90,
        p99_ns: sum.p99,
        mean_ns: sum.mean,
    })
}

/// `a / b` per round where both have a value, summarized.
fn ratio(group: &str, a: &Series, b: &Series, kind: RatioKind) -> Option<RatioRow> {
    let per_round: Vec<f64> =
        a.ns.iter()
            .zip(&b.ns)
            .filter_map(|(x, y)| match (x, y) {
                (Some(x), Some(y)) if *y > 0 => Some(*x as f64 / *y as f64),
                _ => None,
            })
            .collect();
    let sum = summarize(
        &per_round,
        seed(&format!("{group}/{}/{}/{}", a.broker, a.client, b.client)),
    )?;
    let mut diffs: Vec<f64> =
        a.ns.iter()
            .zip(&b.ns)
            .filter_map(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => Some(*x as f64 - *y as f64),
                _ => None,
            })
            .collect();
    diffs.sort_by(f64::total_cmp);
    let diff_ns = diffs.get(diffs.len() / 2).copied();
    Some(RatioRow {
        group: group.to_owned(),
        broker: a.broker.clone(),
        numerator: a.client.clone(),
        denominator: b.client.clone(),
        kind,
        rounds: sum.n,
        median: sum.median,
        ci: sum.ci,
        diff_ns,
    })
}

/// The ratios of one broker in one group.
fn ratios_of(run: &RunLog, g: &PairedGroup, broker: &str) -> Vec<RatioRow> {
    let mut out = Vec::new();
    let of = |client: &str| g.series(broker, client);
    let series: Vec<&Series> = g.series.iter().filter(|s| s.broker == broker).collect();
    // Everything beside the floor sending the same requests.
    for s in &series {
        if let Some(f) = s.floor.as_deref().and_then(of) {
            out.extend(ratio(&g.group, s, f, RatioKind::SameRequests));
        }
    }
    // End to end: beside what a fresh kafka-matrix's exchange costs on the wire.
    if let Some(floor) = of(FLOOR) {
        for s in &series {
            let r = role(run, &s.client);
            if (r == Role::Ours || r == Role::Peer) && s.floor.as_deref() != Some(FLOOR) {
                out.extend(ratio(&g.group, s, floor, RatioKind::EndToEnd));
            }
        }
    }
    // Ours against each peer: at an equal round-trip count (our path with as
    // many requests), and a fresh client end to end.
    for peer in PEERS.iter().filter_map(|p| of(p)) {
        if let Some(ours) = peer.equal_round_trips.as_deref().and_then(of) {
            out.extend(ratio(&g.group, ours, peer, RatioKind::EqualRoundTrips));
        }
        if let Some(ours) = of(OURS).filter(|_| peer.equal_round_trips.as_deref() != Some(OURS)) {
            out.extend(ratio(&g.group, ours, peer, RatioKind::OursVsPeer));
        }
        // The protocol part: the peer's requests sent raw, beside ours sent
        // raw, both from a peer process.
        if let (Some(own), Some(proc_floor)) = (peer.floor.as_deref().and_then(of), of(FLOOR_PROC)) {
            out.extend(ratio(&g.group, own, proc_floor, RatioKind::Protocol));
        }
    }
    // What the reconnect option saves.
    if let (Some(r), Some(o)) = (of(OURS_REMEMBERED), of(OURS)) {
        out.extend(ratio(&g.group, r, o, RatioKind::Option));
    }
    out
}

/// Everything the report shows, from the run and criterion's files.
pub fn build(mut run: RunLog, criterion: &Path) -> Report {
    let mut series = Vec::new();
    let mut ratios = Vec::new();
    for g in &run.paired {
        for s in &g.series {
            series.extend(series_row(&run, &g.group, s));
        }
        for b in &run.brokers {
            ratios.extend(ratios_of(&run, g, &b.label));
        }
    }
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for id in &run.criterion {
        match data::load_criterion(criterion, id, run.started_unix) {
            Ok(mut row) => {
                row.per_second = run
                    .elements
                    .get(&row.id.group)
                    .map(|n| *n as f64 / (row.median_ns / 1e9));
                rows.push(row);
            }
            Err(why) => missing.push(Missing { id: id.clone(), why }),
        }
    }
    // The raw rounds stay in run.json; the report keeps the figures.
    for g in &mut run.paired {
        for s in &mut g.series {
            s.ns.clear();
        }
    }
    let mut report = Report {
        schema: SCHEMA.to_owned(),
        generated_unix: data::now_unix(),
        run,
        series,
        ratios,
        criterion: rows,
        missing,
        targets: Vec::new(),
        comparison: None,
        agreement: None,
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

fn fmt_ratio(r: &RatioRow) -> String {
    render::ratio_cell(Some(r))
}

/// A bar over ratio rows: `pass(median)` on each; lists the worst and the failures.
fn bar(
    target: &str,
    rows: &[&RatioRow],
    label: impl Fn(&RatioRow) -> String,
    pass: impl Fn(f64) -> bool,
) -> TargetResult {
    if rows.is_empty() {
        return no_data(target);
    }
    let failing: Vec<String> = rows
        .iter()
        .filter(|r| !pass(r.median))
        .map(|r| format!("{} {}", label(r), fmt_ratio(r)))
        .collect();
    let worst = rows
        .iter()
        .max_by(|a, b| a.median.total_cmp(&b.median))
        .map(|r| format!("worst {} ({})", fmt_ratio(r), label(r)))
        .unwrap_or_default();
    let measured = if failing.is_empty() {
        format!("{worst}; {} ratio(s)", rows.len())
    } else {
        // The first few; report.md's tables have every one.
        const SHOWN: usize = 6;
        let more = failing.len().saturating_sub(SHOWN);
        let mut listed = failing.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
        if more > 0 {
            listed.push_str(&format!(" and {more} more"));
        }
        format!("{worst}; {} of {} over the bar: {listed}", failing.len(), rows.len())
    };
    TargetResult {
        target: target.to_owned(),
        measured,
        status: status(failing.is_empty()),
    }
}

/// The bars, each read against this run's figures.
pub fn targets(r: &Report) -> Vec<TargetResult> {
    let mut out = Vec::new();
    let ours_to_floor = |group: &str| -> Vec<&RatioRow> {
        r.ratios
            .iter()
            .filter(|x| {
                x.group == group && x.kind == RatioKind::SameRequests && role(&r.run, &x.numerator) == Role::Ours
            })
            .collect()
    };
    for (group, what) in [
        (G_METADATA, "connect+ApiVersions+Metadata"),
        (G_CONNECT, "connect+ApiVersions"),
    ] {
        out.push(bar(
            &format!(
                "{what}: our client ≤ {FLOOR_BAR}× the floor at an equal round-trip count \
                 (median of per-round ratios; every broker; fresh, v3 and remembered paths)"
            ),
            &ours_to_floor(group),
            |x| format!("{} {}", x.broker, x.numerator),
            |m| m <= FLOOR_BAR,
        ));
    }
    for peer in PEERS {
        for (kind, how) in [
            (RatioKind::EqualRoundTrips, "at an equal round-trip count"),
            (RatioKind::OursVsPeer, "end to end (a fresh kafka-matrix)"),
        ] {
            let rows: Vec<&RatioRow> = r
                .ratios
                .iter()
                .filter(|x| x.group == G_METADATA && x.kind == kind && x.denominator == peer)
                .collect();
            out.push(bar(
                &format!("connect+ApiVersions+Metadata faster than {peer}, {how} (ours ÷ {peer} < 1)"),
                &rows,
                |x| format!("{} {}", x.broker, x.numerator),
                |m| m < 1.0,
            ));
        }
    }

    let first = |group: &str| r.criterion.iter().find(|x| x.id.group == group);
    let t = "emulator start to first answer ≤ 5 ms (median)";
    match first(G_START) {
        Some(x) => out.push(TargetResult {
            target: t.to_owned(),
            measured: format!("{} (p99 {})", render::dur(x.median_ns), render::dur(x.p99_ns)),
            status: status(x.median_ns <= 5e6),
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
