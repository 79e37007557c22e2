//! report.md and the console summary.

use std::fmt::Write as _;

use bench_schema::run::names::{
    FLOOR, FLOOR_PROC, G_CONNECT, G_CONNS, G_METADATA, G_PING, G_PIPE, G_START, OURS, OURS_REMEMBERED, OURS_V3,
    PEER_IPC,
};

use crate::analysis::{FLOOR_BAR, PEERS};
use crate::{RatioKind, RatioRow, Report, SeriesRow};

/// A duration in ns, with a unit that keeps 3–4 significant digits.
pub fn dur(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// A rate with k/M.
pub fn count(n: f64) -> String {
    if n >= 1e6 {
        format!("{:.2}M", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// A ratio with three significant digits at most two decimals: 1.04, 0.0362, 168.
pub fn times(q: f64) -> String {
    if q >= 100.0 {
        format!("{q:.0}")
    } else if q >= 0.1 {
        format!("{q:.2}")
    } else if q >= 0.01 {
        format!("{q:.3}")
    } else {
        format!("{q:.4}")
    }
}

/// "1.04× [1.02–1.06]".
pub fn ratio_cell(r: Option<&RatioRow>) -> String {
    match r {
        Some(r) => format!("{}× [{}–{}]", times(r.median), times(r.ci.0), times(r.ci.1)),
        None => "–".to_owned(),
    }
}

/// "1.04× [1.02–1.06], +1.9 µs" (the median per-round difference, where known).
pub fn ratio_diff_cell(r: Option<&RatioRow>) -> String {
    match r.and_then(|r| r.diff_ns.map(|d| (r, d))) {
        Some((r, d)) => format!(
            "{}, {}{}",
            ratio_cell(Some(r)),
            if d < 0.0 { "−" } else { "+" },
            dur(d.abs())
        ),
        None => ratio_cell(r),
    }
}

fn unix_time(secs: u64) -> String {
    format!("unix {secs}")
}

/// Clients in the order of the run's client list.
fn client_pos(r: &Report, client: &str) -> usize {
    r.run
        .clients
        .iter()
        .position(|c| c.name == client)
        .unwrap_or(usize::MAX)
}

fn rows_of<'a>(r: &'a Report, group: &str) -> Vec<&'a SeriesRow> {
    let mut rows: Vec<&SeriesRow> = r.series.iter().filter(|x| x.group == group).collect();
    let broker_pos = |p: &str| r.run.brokers.iter().position(|b| b.label == p).unwrap_or(usize::MAX);
    rows.sort_by_key(|x| (broker_pos(&x.broker), client_pos(r, &x.client)));
    rows
}

fn header(md: &mut String, r: &Report) {
    let run = &r.run;
    let _ = writeln!(md, "# kafka-matrix benchmarks\n");
    let _ = writeln!(md, "- **Machine:** {}", run.machine.summary());
    let load = |l: Option<bench_schema::LoadAvg>| l.map(|l| l.summary()).unwrap_or_else(|| "?".to_owned());
    let _ = writeln!(
        md,
        "- **Load average (1/5/15 min):** {} at the start, {} at the end",
        load(run.load_start),
        load(run.load_end)
    );
    let _ = writeln!(
        md,
        "- **Commit:** {}; **run:** {} to {} ({} s)",
        run.commit.as_deref().unwrap_or("unknown"),
        unix_time(run.started_unix),
        unix_time(run.finished_unix),
        run.finished_unix.saturating_sub(run.started_unix)
    );
    let _ = writeln!(
        md,
        "- **Sampling:** profile `{}`, {} paired rounds per group and broker (after {} warm-up rounds), {} pings per warm-ping measurement; \
         a round's value: the {} of a contender's measurements in it",
        run.settings.profile,
        run.settings.rounds,
        run.settings.warmup_rounds,
        run.settings.pings_per_measurement,
        if run.settings.per_round == "min" { "fastest" } else { run.settings.per_round.as_str() }
    );
    let _ = writeln!(md, "- **Machine state while measuring:** {}", run.tuning.summary());
    let _ = writeln!(md, "- **Broker backend:** {}", run.backend);
    let _ = writeln!(
        md,
        "\n| client | version | runs in | one measurement |\n|---|---|---|---|"
    );
    for c in &run.clients {
        let _ = writeln!(md, "| {} | {} | {} | {} |", c.name, c.version, c.process, c.what);
    }
    let _ = writeln!(
        md,
        "\n| broker | what | ApiVersions sent: fresh / v3 / remembered | negotiated ApiVersions / Metadata |\n|---|---|---|---|"
    );
    for b in &run.brokers {
        let path = |name: &str| {
            b.paths
                .get(name)
                .map(|p| p.iter().map(|v| format!("v{v}")).collect::<Vec<_>>().join("→"))
                .unwrap_or_else(|| "?".to_owned())
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} / {} / {} | v{} / v{} |",
            b.label,
            b.description,
            path(OURS),
            path(OURS_V3),
            path(OURS_REMEMBERED),
            b.api_versions,
            b.metadata
        );
    }
    for f in run.findings.iter().filter(|f| f.group == "*") {
        let _ = writeln!(md, "\n> **{}: {}**", f.broker, f.what);
    }
}

fn targets(md: &mut String, r: &Report) {
    let _ = writeln!(md, "\n## Targets\n\n| target | this run | result |\n|---|---|---|");
    for t in &r.targets {
        let _ = writeln!(md, "| {} | {} | **{}** |", t.target, t.measured, t.status);
    }
    let short: Vec<_> = r.targets.iter().filter(|t| t.status != "PASS").collect();
    if short.is_empty() {
        let _ = writeln!(md, "\nEvery target is met in this run.");
    } else {
        let _ = writeln!(md, "\nShort of the bar (or not measured):");
        for t in short {
            let _ = writeln!(md, "- {} — {}: {}", t.status, t.target, t.measured);
        }
    }
}

/// Per broker: each of our paths beside its floor, and the peers beside theirs.
fn floor_ratios(md: &mut String, r: &Report, group: &str, title: &str) {
    let peers: Vec<&str> = PEERS
        .iter()
        .copied()
        .filter(|p| r.series.iter().any(|s| s.group == group && s.client == *p))
        .collect();
    let _ = writeln!(
        md,
        "\n## {title}: each client ÷ the floor with as many round trips (median of per-round ratios [95 % bootstrap interval]; for ours, the median per-round difference)\n"
    );
    let mut head = format!("| broker | floor | {OURS} | {OURS_V3} | {OURS_REMEMBERED} |");
    let mut rule = "|---|---:|---:|---:|---:|".to_owned();
    for p in &peers {
        head.push_str(&format!(" {p} |"));
        rule.push_str("---:|");
    }
    let _ = writeln!(md, "{head}\n{rule}");
    for b in &r.run.brokers {
        let Some(floor) = r.series(group, &b.label, FLOOR) else {
            continue;
        };
        let same = |client: &str| {
            r.to_own_floor(group, &b.label, client).map(|x| {
                let cell = if x.numerator.starts_with(OURS) {
                    ratio_diff_cell(Some(x))
                } else {
                    ratio_cell(Some(x))
                };
                format!("{cell} vs {}", x.denominator)
            })
        };
        let mut line = format!(
            "| {} | {} | {} | {} | {} |",
            b.label,
            dur(floor.median_ns),
            ratio_diff_cell(r.ratio(group, &b.label, OURS, FLOOR)),
            same(OURS_V3).unwrap_or_else(|| "–".to_owned()),
            same(OURS_REMEMBERED).unwrap_or_else(|| "–".to_owned()),
        );
        for p in &peers {
            let cell = same(p).unwrap_or_else(|| {
                if r.run.findings.iter().any(|f| f.client == *p && f.broker == b.label) {
                    "failed (finding)".to_owned()
                } else if r.series(group, &b.label, p).is_some() {
                    "no floor with its round trips".to_owned()
                } else {
                    "–".to_owned()
                }
            });
            line.push_str(&format!(" {cell} |"));
        }
        let _ = writeln!(md, "{line}");
    }
}

/// Per broker and peer: the peer's client cost (÷ its own requests sent
/// raw), its protocol cost (its requests raw ÷ ours raw), and ours ÷ the peer
/// at an equal round-trip count and end to end.
fn versus_peers(md: &mut String, r: &Report) {
    let rows: Vec<&SeriesRow> = rows_of(r, G_METADATA)
        .into_iter()
        .filter(|s| PEERS.contains(&s.client.as_str()))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\n## Peers: protocol cost and client cost (connect + ApiVersions + Metadata, per-round ratios [95 % interval])\n\n\
         *Client*: the peer ÷ a floor sending the peer's own requests (from a peer process, as the peer runs): its own work. \
         *Protocol*: that floor ÷ `{FLOOR_PROC}` (our fresh client's requests, also from a peer process): what its choice of \
         requests costs. *Equal round trips*: our path with as many requests ÷ the peer (< 1: we are faster). \
         *End to end*: a fresh `{OURS}` ÷ the peer, each with its own round trips.\n"
    );
    let _ = writeln!(
        md,
        "| broker | peer | its round trips | median | client: ÷ its own floor | protocol: its floor ÷ ours | ours ÷ it, equal round trips | ours ÷ it, end to end |\n\
         |---|---|---|---:|---:|---:|---:|---:|"
    );
    for s in rows {
        let find = |kind: RatioKind| {
            r.ratios.iter().find(|x| {
                x.group == G_METADATA
                    && x.broker == s.broker
                    && x.kind == kind
                    && (x.numerator == s.client
                        || x.denominator == s.client
                        || x.numerator == bench_schema::run::names::floor_as(&s.client))
            })
        };
        let client = find(RatioKind::SameRequests).filter(|x| x.numerator == s.client);
        let protocol = find(RatioKind::Protocol);
        let equal = find(RatioKind::EqualRoundTrips);
        let end = find(RatioKind::OursVsPeer).or(equal.filter(|x| x.numerator == OURS));
        let rt = s
            .round_trips
            .as_ref()
            .map(|t| {
                if t.connections == 1 {
                    format!("{}: {}", t.requests, t.detail)
                } else {
                    format!("{} over {} connections", t.requests, t.connections)
                }
            })
            .unwrap_or_else(|| "?".to_owned());
        let _ = writeln!(
            md,
            "| {} | {} | {rt} | {} | {} | {} | {} | {} |",
            s.broker,
            s.client,
            dur(s.median_ns),
            ratio_cell(client),
            ratio_cell(protocol),
            equal
                .map(|x| format!("{} ({})", ratio_cell(Some(x)), x.numerator))
                .unwrap_or_else(|| "–".to_owned()),
            ratio_cell(end)
        );
    }
}

fn latency_table(md: &mut String, r: &Report, group: &str, title: &str) {
    let rows = rows_of(r, group);
    let what = r
        .run
        .paired
        .iter()
        .find(|g| g.group == group)
        .map(|g| g.what.clone())
        .unwrap_or_default();
    let _ = writeln!(md, "\n## {title}\n\n{what}.\n");
    if rows.is_empty() {
        let _ = writeln!(md, "_No data in this run._");
        return;
    }
    let _ = writeln!(
        md,
        "| broker | client | round trips | median [95 % interval] | p90 | p99 | mean | ÷ its floor | rounds |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|"
    );
    for x in rows {
        let rt = x
            .round_trips
            .as_ref()
            .map(|t| {
                let conns = match t.connections {
                    0 => " on a connection kept open".to_owned(),
                    1 => String::new(),
                    n => format!(" over {n} connections"),
                };
                format!("{}{conns}: {}", t.requests, t.detail)
            })
            .unwrap_or_else(|| "?".to_owned());
        let to_floor = r
            .to_own_floor(group, &x.broker, &x.client)
            .map(|q| format!("{} ÷ {}", ratio_cell(Some(q)), q.denominator))
            .unwrap_or_else(|| "–".to_owned());
        let _ = writeln!(
            md,
            "| {} | {} | {rt} | {} [{}–{}] | {} | {} | {} | {to_floor} | {} |",
            x.broker,
            x.client,
            dur(x.median_ns),
            dur(x.median_ci_ns.0),
            dur(x.median_ci_ns.1),
            dur(x.p90_ns),
            dur(x.p99_ns),
            dur(x.mean_ns),
            x.rounds
        );
    }
    let findings: Vec<_> = r.run.findings.iter().filter(|f| f.group == group).collect();
    if !findings.is_empty() {
        let _ = writeln!(md);
        for f in findings {
            let _ = writeln!(md, "- **{} against {}:** {}", f.client, f.broker, f.what);
        }
    }
}

/// What the measurement itself costs: the IPC to a peer, and the floor sent
/// from a peer process.
fn overheads(md: &mut String, r: &Report) {
    let ipc: Vec<f64> = r
        .series
        .iter()
        .filter(|s| s.group == G_METADATA && s.client == PEER_IPC)
        .map(|s| s.median_ns)
        .collect();
    let proc_ratios: Vec<&RatioRow> = r
        .ratios
        .iter()
        .filter(|x| x.group == G_METADATA && x.numerator == FLOOR_PROC && x.denominator == FLOOR)
        .collect();
    if ipc.is_empty() && proc_ratios.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n## What the peer processes cost the measurement\n");
    if !ipc.is_empty() {
        let (lo, hi) = ipc
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        let _ = writeln!(
            md,
            "- **IPC round trip** (`{PEER_IPC}`: a no-op request to a peer and its answer, timed by the bench): median {}–{} over the brokers. \
             It is in no peer's figure: a peer times itself from just before its connect to its last reply, then cleans up, then answers.",
            dur(lo),
            dur(hi)
        );
    }
    if !proc_ratios.is_empty() {
        let (lo, hi) = proc_ratios
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(x.median), hi.max(x.median)));
        let _ = writeln!(
            md,
            "- **Another process** (`{FLOOR_PROC}`: the floor's very frames, sent from the rskafka peer's process) ÷ `{FLOOR}`: \
             {lo:.2}×–{hi:.2}× over the brokers. A peer's ratio to the in-process floor includes this much for being elsewhere \
             (a process woken from a pipe read, its own runtime); divide by it to compare client work alone."
        );
    }
}

fn emulator_costs(md: &mut String, r: &Report) {
    let _ = writeln!(
        md,
        "\n## Emulator costs (criterion)\n\nOn the emulator of Kafka {}. Absolute figures of one implementation: compare them \
         across commits on the same machine only.\n\n| measure | median [95 % interval] | p99 | rate at the median |\n|---|---:|---:|---:|",
        r.run.emulator_cost_release.as_deref().unwrap_or("?")
    );
    for (group, what) in [
        (
            G_START,
            "start (bind, spawn) to the first ApiVersions answer on a new connection",
        ),
        (
            G_CONNS,
            "4 raw clients at once, 16 new connections each, full negotiation (per batch of 64)",
        ),
        (
            G_PIPE,
            "1000 ApiVersions written at once on one connection, 1000 replies read (per batch)",
        ),
    ] {
        if let Some(x) = r.criterion.iter().find(|x| x.id.group == group) {
            let rate = x
                .per_second
                .map(|n| format!("{}/s", count(n)))
                .unwrap_or_else(|| "–".to_owned());
            let _ = writeln!(
                md,
                "| {what} | {} [{}–{}] | {} | {rate} |",
                dur(x.median_ns),
                dur(x.median_ci_ns.0),
                dur(x.median_ci_ns.1),
                dur(x.p99_ns)
            );
        }
    }
}

/// A warning that two runs were measured differently.
fn method_note(md: &mut String, differs: Option<&str>) {
    if let Some(d) = differs {
        let _ = writeln!(
            md,
            "**Measured differently** ({d}): part of every change below is the method's, not the code's.\n"
        );
    }
}

fn comparison(md: &mut String, r: &Report) {
    let Some(c) = &r.comparison else {
        return;
    };
    let _ = writeln!(
        md,
        "\n## Compared with baseline `{}`\n\nBaseline: commit {}, {}; backend {}. A ratio is a **regression** when it is one of our \
         client's ratios to its floor, worse by more than {} % and its 95 % interval lies wholly above the baseline's. {}\n",
        c.baseline,
        c.baseline_commit.as_deref().unwrap_or("unknown"),
        c.baseline_machine.summary(),
        c.baseline_backend,
        c.threshold_pct,
        if c.same_machine {
            "Same machine: absolute times are compared too (below)."
        } else {
            "**Another machine** (CPU model, cores or kernel differ): absolute times are not compared, only ratios."
        }
    );
    method_note(md, c.method_differs.as_deref());
    let _ = writeln!(
        md,
        "| group | broker | ratio | baseline | now | change | outside noise | verdict |\n|---|---|---|---:|---:|---:|---|---|"
    );
    for x in &c.ratios {
        let verdict = if x.regression {
            "**REGRESSION**"
        } else if x.gated {
            "ok"
        } else {
            "context"
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} ÷ {} | {:.3}× | {:.3}× | {:+.1} % | {} | {verdict} |",
            x.group,
            x.broker,
            x.numerator,
            x.denominator,
            x.baseline,
            x.now,
            x.change_pct,
            if x.outside_noise { "yes" } else { "no" }
        );
    }
    if !c.absolute.is_empty() {
        let _ = writeln!(
            md,
            "\n| id | baseline | now | change | outside noise | verdict |\n|---|---:|---:|---:|---|---|"
        );
        for x in &c.absolute {
            let verdict = if x.regression { "**REGRESSION**" } else { "ok" };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:+.1} % | {} | {verdict} |",
                x.what,
                dur(x.baseline_ns),
                dur(x.now_ns),
                x.change_pct,
                if x.outside_noise { "yes" } else { "no" }
            );
        }
    }
    let _ = writeln!(md, "\n{} regression(s).", c.regressions);
}

fn agreement(md: &mut String, r: &Report) {
    let Some(a) = &r.agreement else {
        let _ = writeln!(
            md,
            "\n## Agreement with the previous run\n\nNo earlier run in `history/`: run the bench again to see how far its ratios move."
        );
        return;
    };
    let load = a
        .previous_load
        .map(|(s, e)| format!("load {} → {}", s.summary(), e.summary()))
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "\n## Agreement with the previous run\n\nPrevious run: {} (commit {}, profile `{}`, {load}){}. \
         **{} of {} ratios within ±{} %.**\n",
        unix_time(a.previous_started_unix),
        a.previous_commit.as_deref().unwrap_or("unknown"),
        a.previous_profile,
        if a.same_machine { "" } else { ", **on another machine**" },
        a.within,
        a.total,
        a.bound_pct
    );
    method_note(md, a.method_differs.as_deref());
    // One line per (whose, kind): how the ratios of that kind moved.
    let _ = writeln!(
        md,
        "| whose | ratios | count | within ±{0} % | largest move |\n|---|---|---:|---:|---:|",
        a.bound_pct
    );
    let kinds = [
        (RatioKind::SameRequests, "client ÷ its floor"),
        (RatioKind::EndToEnd, "client ÷ tcp-floor (end to end)"),
        (RatioKind::EqualRoundTrips, "ours ÷ peer, equal round trips"),
        (RatioKind::OursVsPeer, "ours ÷ peer, end to end"),
        (RatioKind::Option, "remembered ÷ fresh"),
        (RatioKind::Protocol, "a peer's requests raw ÷ ours raw"),
    ];
    let mut whose = vec![crate::compare::OURS_AND_FLOORS, crate::compare::PROCESS];
    whose.extend(PEERS);
    for who in whose {
        for (kind, what) in kinds {
            let rows: Vec<_> = a.rows.iter().filter(|x| x.kind == kind && x.whose == who).collect();
            if rows.is_empty() {
                continue;
            }
            let worst = rows
                .iter()
                .max_by(|x, y| x.change_pct.abs().total_cmp(&y.change_pct.abs()))
                .map(|x| {
                    format!(
                        "{:+.1} % ({} {} ÷ {})",
                        x.change_pct, x.broker, x.numerator, x.denominator
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                md,
                "| {} | {what} | {} | {} | {worst} |",
                who,
                rows.len(),
                rows.iter().filter(|x| x.within).count()
            );
        }
    }
    let _ = writeln!(
        md,
        "\n<details><summary>Every ratio</summary>\n\n| group | broker | ratio | previous | now | change | within |\n|---|---|---|---:|---:|---:|---|"
    );
    for x in &a.rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} ÷ {} | {:.3}× | {:.3}× | {:+.1} % | {} |",
            x.group,
            x.broker,
            x.numerator,
            x.denominator,
            x.previous,
            x.now,
            x.change_pct,
            if x.within { "yes" } else { "**no**" }
        );
    }
    let _ = writeln!(md, "\n</details>");
}

pub fn markdown(r: &Report, pictures: &[(&str, &str)]) -> String {
    let mut md = String::new();
    header(&mut md, r);
    targets(&mut md, r);
    for (what, file) in pictures {
        let _ = writeln!(md, "\n![{what}]({file})");
    }
    floor_ratios(&mut md, r, G_METADATA, "connect + ApiVersions + Metadata");
    versus_peers(&mut md, r);
    floor_ratios(&mut md, r, G_CONNECT, "connect + ApiVersions");
    overheads(&mut md, r);
    latency_table(&mut md, r, G_METADATA, "connect + ApiVersions + Metadata, every client");
    latency_table(&mut md, r, G_CONNECT, "connect + ApiVersions");
    latency_table(&mut md, r, G_PING, "ping on a warm connection");
    emulator_costs(&mut md, r);
    agreement(&mut md, r);
    comparison(&mut md, r);

    let _ = writeln!(md, "\n## Findings\n");
    let findings: Vec<_> = r.run.findings.iter().collect();
    if findings.is_empty() {
        let _ = writeln!(md, "Every client answered correctly against every broker.");
    }
    for f in findings {
        let _ = writeln!(md, "- `{}` / {} against {}: {}", f.group, f.client, f.broker, f.what);
    }
    if !r.missing.is_empty() {
        let _ = writeln!(md, "\n## Missing figures\n");
        for m in &r.missing {
            let _ = writeln!(md, "- {}/{}/{}: {}", m.id.group, m.id.function, m.id.parameter, m.why);
        }
    }
    let _ = writeln!(
        md,
        "\n## How to read this\n\n\
         **Paired rounds.** Per broker, every round runs the floor, our client along each path, and each peer twice (once in each \
         direction of an order that rotates from round to round), back to back; rounds visit every broker in turn. A round's value \
         for a contender is the faster of its two measurements. A ratio is taken *within* each round (so a burst of load from \
         elsewhere hits numerator and denominator alike) and the report gives the median of those per-round ratios with a 95 % \
         bootstrap interval (rounds resampled). Absolute medians, p90 and p99 are over the per-round values, so they depend on the \
         machine and its state (both named above); the ratios are what compares across runs, commits and machines.\n\n\
         **Round trips.** Each series lists the Kafka requests one measurement sends, as the emulator recorded them (`?` where \
         the broker cannot tell, e.g. tansu). Our client starts at ApiVersions v4: Kafka 2.4–3.8 refuse it and name v3 (one \
         extra round trip), 2.0–2.3 refuse it without a hint (retry at v0). `{OURS_V3}` starts where rskafka and librdkafka \
         start; `{OURS_REMEMBERED}` starts at what the broker accepted last time (the reconnect option). \"÷ its floor\" divides \
         by the floor with as many round trips, so it is the client's own cost; the bar is {FLOOR_BAR}×.\n\n\
         **Peers** run in processes of their own and time themselves; the IPC is measured beside them and is in no figure. \
         The emulator costs are criterion's (flat sampling; percentiles over samples of equal iteration counts)."
    );
    md
}

/// A few lines for the console.
pub fn summary(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "machine: {}; load {} → {}",
        r.run.machine.summary(),
        r.run.load_start.map(|l| l.summary()).unwrap_or_default(),
        r.run.load_end.map(|l| l.summary()).unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "connect+ApiVersions+Metadata, our paths ÷ their floors (median [95 %]):"
    );
    for b in &r.run.brokers {
        let cell = |client: &str| {
            r.to_own_floor(G_METADATA, &b.label, client)
                .map(|x| ratio_cell(Some(x)))
                .unwrap_or_else(|| "–".to_owned())
        };
        let _ = writeln!(
            s,
            "  {:<12} fresh {:<22} v3 {:<22} remembered {}",
            b.label,
            cell(OURS),
            cell(OURS_V3),
            cell(OURS_REMEMBERED)
        );
    }
    if let Some(a) = &r.agreement {
        let _ = writeln!(
            s,
            "agreement with the previous run: {} of {} ratios within ±{} %",
            a.within, a.total, a.bound_pct
        );
        let mut out: Vec<_> = a
            .rows
            .iter()
            .filter(|x| !x.within && x.whose == crate::compare::OURS_AND_FLOORS)
            .collect();
        out.sort_by(|x, y| y.change_pct.abs().total_cmp(&x.change_pct.abs()));
        for x in out.iter().take(12) {
            let _ = writeln!(
                s,
                "  moved {:+6.1} %  {} {} {} ÷ {} ({:.3}× → {:.3}×)",
                x.change_pct, x.group, x.broker, x.numerator, x.denominator, x.previous, x.now
            );
        }
    }
    for t in &r.targets {
        let _ = writeln!(s, "{:7} {} — {}", t.status, t.target, t.measured);
    }
    for f in &r.run.findings {
        let _ = writeln!(s, "finding: {} against {}: {}", f.client, f.broker, f.what);
    }
    if !r.missing.is_empty() {
        let _ = writeln!(
            s,
            "{} criterion id(s) without figures from this run (see report.md)",
            r.missing.len()
        );
    }
    s.trim_end().to_owned()
}
