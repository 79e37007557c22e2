//! report.md, the console summary, and the SVG plot.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::{Report, Row, G_CONNECT, G_CONNS, G_FALLBACK, G_METADATA, G_PING, G_PIPE, G_START};

/// Client order in tables and the plot.
const FUNCTIONS: [&str; 4] = ["kafka-matrix", "tcp-floor", "rskafka", "librdkafka"];

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

fn rows_of<'a>(r: &'a Report, group: &str) -> Vec<&'a Row> {
    let mut rows: Vec<&Row> = r.results.iter().filter(|x| x.id.group == group).collect();
    // Brokers in run order, clients in FUNCTIONS order.
    let broker_pos = |p: &str| r.run.brokers.iter().position(|b| b.label == p).unwrap_or(usize::MAX);
    let fn_pos = |f: &str| FUNCTIONS.iter().position(|x| *x == f).unwrap_or(usize::MAX);
    rows.sort_by_key(|x| (broker_pos(&x.id.parameter), fn_pos(&x.id.function)));
    rows
}

fn latency_table(md: &mut String, r: &Report, group: &str, title: &str, what: &str) {
    let rows = rows_of(r, group);
    let _ = writeln!(md, "\n## {title}\n\n{what}\n");
    if rows.is_empty() {
        let _ = writeln!(md, "_No data in this run._");
        return;
    }
    let _ = writeln!(
        md,
        "| broker | client | median | p90 | p99 | mean | × floor (median) |\n|---|---|---:|---:|---:|---:|---:|"
    );
    for x in rows {
        let ratio = x
            .ratio_to_floor
            .map(|q| format!("{q:.2}×"))
            .unwrap_or_else(|| "–".to_owned());
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {ratio} |",
            x.id.parameter,
            x.id.function,
            dur(x.stats.median_ns),
            dur(x.stats.p90_ns),
            dur(x.stats.p99_ns),
            dur(x.stats.mean_ns)
        );
    }
    let findings: Vec<_> = r.findings().iter().filter(|f| f.group == group).collect();
    if !findings.is_empty() {
        let _ = writeln!(md);
        for f in findings {
            let _ = writeln!(
                md,
                "- **{} against {} was not measured:** {}",
                f.function, f.parameter, f.what
            );
        }
    }
}

/// One line per broker: every client of the Metadata group as a multiple of the floor.
fn ratio_summary(md: &mut String, r: &Report) {
    let _ = writeln!(
        md,
        "\n## Ratios to the floor (connect + ApiVersions + Metadata, medians)\n\n\
         | broker | floor | kafka-matrix | rskafka | librdkafka |\n|---|---:|---:|---:|---:|"
    );
    for b in &r.run.brokers {
        let Some(floor) = r.row(G_METADATA, "tcp-floor", &b.label) else {
            continue;
        };
        let cell = |f: &str| match r.row(G_METADATA, f, &b.label).and_then(|x| x.ratio_to_floor) {
            Some(q) => format!("{q:.2}×"),
            None if r.findings().iter().any(|x| x.function == f && x.parameter == b.label) => {
                "failed (finding)".to_owned()
            }
            None => "–".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            b.label,
            dur(floor.stats.median_ns),
            cell("kafka-matrix"),
            cell("rskafka"),
            cell("librdkafka")
        );
    }
}

pub fn markdown(r: &Report, plot: &str) -> String {
    let mut md = String::new();
    let run = &r.run;
    let _ = writeln!(md, "# kafka-matrix benchmarks\n");
    let _ = writeln!(md, "- **Broker backend:** {}", run.backend);
    let _ = writeln!(
        md,
        "- **Peers:** {}",
        run.peers
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let _ = writeln!(
        md,
        "- **Run started:** unix {} — every figure below is from that run (older criterion files are listed as missing)",
        run.started_unix
    );
    let _ = writeln!(
        md,
        "\n| broker | what | ApiVersions path | negotiated ApiVersions / Metadata |\n|---|---|---|---|"
    );
    for b in &run.brokers {
        let path: Vec<String> = b.api_versions_path.iter().map(|v| format!("v{v}")).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | v{} / v{} |",
            b.label,
            b.description,
            path.join(" → "),
            b.api_versions,
            b.metadata
        );
    }
    let global: Vec<_> = r.findings().iter().filter(|f| f.group == "*").collect();
    for f in &global {
        let _ = writeln!(md, "\n> **{}: {}**", f.parameter, f.what);
    }

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

    let _ = writeln!(md, "\n![latency by broker]({plot})");

    ratio_summary(&mut md, r);
    latency_table(
        &mut md,
        r,
        G_METADATA,
        "connect + ApiVersions + Metadata",
        "A new TCP connection, the whole ApiVersions negotiation, one Metadata for all topics. \
         rskafka: `ClientBuilder::build()` (ApiVersions 3→0, then Metadata ≤ v4). \
         librdkafka: a new `BaseConsumer` and `fetch_metadata(None)` (its handle's destruction is not timed; \
         its reconnect backoff can make it bimodal).",
    );
    latency_table(
        &mut md,
        r,
        G_CONNECT,
        "connect + ApiVersions",
        "A new TCP connection and the ApiVersions negotiation, then close.",
    );
    latency_table(
        &mut md,
        r,
        G_PING,
        "ping on a warm connection",
        "One ApiVersions round trip on a connection kept open.",
    );
    latency_table(
        &mut md,
        r,
        G_FALLBACK,
        "KIP-511 fallback vs direct (emulated 3.8)",
        "`fallback-v4-v3`: ApiVersions v4 refused, retried at v3 on the same connection; `direct-v3`: started at v3.",
    );
    if let (Some(f), Some(d)) = (
        r.row(G_FALLBACK, "kafka-matrix", "fallback-v4-v3"),
        r.row(G_FALLBACK, "kafka-matrix", "direct-v3"),
    ) {
        let _ = writeln!(
            md,
            "\nThe fallback costs {} more than the direct path at the median ({:.2}×).",
            dur(f.stats.median_ns - d.stats.median_ns),
            f.stats.median_ns / d.stats.median_ns
        );
    }

    let _ = writeln!(
        md,
        "\n## Emulator costs\n\nOn the emulator of Kafka {}.\n\n| measure | median | p99 | rate at the median |\n|---|---:|---:|---:|",
        run.emulator_cost_release.as_deref().unwrap_or("?")
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
        if let Some(x) = r.results.iter().find(|x| x.id.group == group) {
            let rate = x
                .per_second
                .map(|n| format!("{}/s", count(n)))
                .unwrap_or_else(|| "–".to_owned());
            let _ = writeln!(
                md,
                "| {what} | {} | {} | {rate} |",
                dur(x.stats.median_ns),
                dur(x.stats.p99_ns)
            );
        }
    }

    if let Some(c) = &r.comparison {
        let _ = writeln!(
            md,
            "\n## Compared with baseline `{}`\n\nBaseline backend: {}. A row is a **regression** when one of our ids (kafka-matrix, emulator) \
             is slower by more than {} % and its median's 95 % confidence interval lies wholly above the baseline's. \
             The floor and the peers are shown to tell a slower machine from a slower client.\n",
            c.baseline, c.baseline_backend, c.threshold_pct
        );
        let _ = writeln!(
            md,
            "| group | client | broker | baseline | now | change | outside noise | verdict |\n|---|---|---|---:|---:|---:|---|---|"
        );
        for x in &c.rows {
            let verdict = if x.regression { "**REGRESSION**" } else { "ok" };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {:+.1} % | {} | {verdict} |",
                x.id.group,
                x.id.function,
                x.id.parameter,
                dur(x.baseline_median_ns),
                dur(x.median_ns),
                x.change_pct,
                if x.outside_noise { "yes" } else { "no" }
            );
        }
        let _ = writeln!(md, "\n{} regression(s).", c.regressions);
    }

    let findings: Vec<_> = r.findings().iter().collect();
    let _ = writeln!(md, "\n## Findings\n");
    if findings.is_empty() {
        let _ = writeln!(md, "Every client answered correctly against every broker.");
    }
    for f in findings {
        let _ = writeln!(
            md,
            "- `{}` / {} against {}: {}",
            f.group, f.function, f.parameter, f.what
        );
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
         Figures are per iteration, from criterion's `sample.json` (flat sampling: every sample is the mean of the same \
         number of iterations, `times[i] / iters[i]`), so p90/p99 are over samples, not single requests: tails are damped \
         and a short run has few samples. Ratios are of medians, within one group and one broker, measured in the same \
         run. Every client's answer was checked (negotiated versions, topics) before it was timed. The emulator and \
         the clients share the machine's cores (clients on the bench's thread, emulators on a two-worker runtime \
         of their own). Ids are measured one after another, so a burst of load from elsewhere hits one id and not its \
         neighbour: on a shared machine a quick run's ratios can swing by 2× either way. Read the targets off \
         `just bench` (longer samples) or several runs. The floor replays *our* client's exchange; a peer may do less or \
         more on the wire (rskafka starts at ApiVersions v3, so it needs one round trip fewer than us on 2.4–3.8 and one \
         more on 2.0–2.3, and asks Metadata ≤ v4), so a peer's ratio to the floor is not a like-for-like byte count."
    );
    md
}

/// A few lines for the console.
pub fn summary(r: &Report) -> String {
    let mut s = String::new();
    for t in &r.targets {
        let _ = writeln!(s, "{:7} {} — {}", t.status, t.target, t.measured);
    }
    for f in r.findings() {
        let _ = writeln!(s, "finding: {} against {}: {}", f.function, f.parameter, f.what);
    }
    if !r.missing.is_empty() {
        let _ = writeln!(
            s,
            "{} id(s) without figures from this run (see report.md)",
            r.missing.len()
        );
    }
    s.trim_end().to_owned()
}

fn color(function: &str) -> RGBColor {
    match function {
        "kafka-matrix" => RGBColor(0x1f, 0x77, 0xb4),
        "tcp-floor" => RGBColor(0x55, 0x55, 0x55),
        "rskafka" => RGBColor(0xff, 0x7f, 0x0e),
        "librdkafka" => RGBColor(0xd6, 0x27, 0x28),
        _ => RGBColor(0x2c, 0xa0, 0x2c),
    }
}

/// Median latency by broker, one line per client, for the two connect groups.
pub fn plot(r: &Report, path: &Path) -> Result<(), String> {
    let labels: Vec<String> = r.run.brokers.iter().map(|b| b.label.clone()).collect();
    let width = (240 + 48 * labels.len() as u32).max(900);
    let root = SVGBackend::new(path, (width, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((2, 1));
    for (area, (group, title)) in panels.iter().zip([
        (G_METADATA, "connect + ApiVersions + Metadata (median)"),
        (G_CONNECT, "connect + ApiVersions (median)"),
    ]) {
        panel(r, area, group, title, &labels).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    root.present().map_err(|e| format!("{}: {e}", path.display()))
}

fn panel(
    r: &Report,
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    group: &str,
    title: &str,
    labels: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    let rows: Vec<&Row> = r.results.iter().filter(|x| x.id.group == group).collect();
    if rows.is_empty() || labels.is_empty() {
        return Ok(());
    }
    let us = |x: &Row| x.stats.median_ns / 1e3;
    // A linear axis from 0: the figures span about one decade, and plotters'
    // log axis drew no labels at all for some of these ranges.
    let hi = rows.iter().map(|x| us(x)).fold(0.0, f64::max) * 1.15;
    let n = labels.len() as i32;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-1..n, 0f64..hi)?;
    chart
        .configure_mesh()
        .x_labels(labels.len() + 2)
        .x_label_formatter(&|i| {
            usize::try_from(*i)
                .ok()
                .and_then(|i| labels.get(i))
                .cloned()
                .unwrap_or_default()
        })
        .x_desc("broker (Kafka release of the emulator, or another broker)")
        .y_desc("µs")
        .y_labels(12)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    // Emulated releases are joined by a line; other brokers (tansu, external) stand alone.
    let emulated = |l: &str| r.run.brokers.iter().any(|b| b.label == l && b.kind == "emulator");
    for function in FUNCTIONS {
        let points: Vec<(i32, f64, bool)> = labels
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                rows.iter()
                    .find(|x| x.id.function == function && &x.id.parameter == l)
                    .map(|x| (i as i32, us(x), emulated(l)))
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let c = color(function);
        let line: Vec<(i32, f64)> = points.iter().filter(|p| p.2).map(|p| (p.0, p.1)).collect();
        chart
            .draw_series(LineSeries::new(line, c.stroke_width(2)))?
            .label(function)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart.draw_series(
            points
                .iter()
                .map(|p| Circle::new((p.0, p.1), if p.2 { 3 } else { 5 }, c.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
