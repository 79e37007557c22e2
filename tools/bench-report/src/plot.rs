//! One picture per question.
//!
//! - `latency.svg` (across Kafka releases): per broker, each client's median
//!   latency with its 95 % interval as an error bar; one panel per connect
//!   group.
//! - `baseline.svg` (across commits): per id (one of our client's ratios to
//!   its floor that the baseline has too), this run's ratio ÷ the baseline's, with an error bar
//!   from the two intervals and the threshold band around 1.

use std::path::Path;

use bench_schema::run::names::{
    FLOOR, G_CONNECT, G_METADATA, LIBRDKAFKA_BUNDLED, LIBRDKAFKA_SYSTEM, OURS, OURS_REMEMBERED, OURS_V3, RSKAFKA,
};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{Comparison, Report};

/// Clients drawn in `latency.svg`, in legend order.
const DRAWN: [&str; 7] = [
    FLOOR,
    OURS,
    OURS_V3,
    OURS_REMEMBERED,
    RSKAFKA,
    LIBRDKAFKA_SYSTEM,
    LIBRDKAFKA_BUNDLED,
];

fn color(client: &str) -> RGBColor {
    match client {
        FLOOR => RGBColor(0x55, 0x55, 0x55),
        OURS => RGBColor(0x1f, 0x77, 0xb4),
        OURS_V3 => RGBColor(0x17, 0xbe, 0xcf),
        OURS_REMEMBERED => RGBColor(0x2c, 0xa0, 0x2c),
        RSKAFKA => RGBColor(0xff, 0x7f, 0x0e),
        LIBRDKAFKA_SYSTEM => RGBColor(0xd6, 0x27, 0x28),
        LIBRDKAFKA_BUNDLED => RGBColor(0x94, 0x67, 0xbd),
        _ => RGBColor(0x8c, 0x56, 0x4b),
    }
}

fn err(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

/// Median latency by broker, one series per client, error bars = the
/// median's 95 % interval.
pub fn latency(r: &Report, path: &Path) -> Result<(), String> {
    let labels: Vec<String> = r.run.brokers.iter().map(|b| b.label.clone()).collect();
    // Three empty slots on the right hold the legend.
    let width = (260 + 56 * (labels.len() as u32 + 3)).max(900);
    let root = SVGBackend::new(path, (width, 1000)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let panels = root.split_evenly((2, 1));
    for (area, (group, title)) in panels.iter().zip([
        (
            G_METADATA,
            "connect + ApiVersions + Metadata: median per broker, bars = 95 % interval (log scale)",
        ),
        (
            G_CONNECT,
            "connect + ApiVersions: median per broker, bars = 95 % interval (log scale)",
        ),
    ]) {
        latency_panel(r, area, group, title, &labels).map_err(|e| err(path, e))?;
    }
    root.present().map_err(|e| err(path, e))
}

fn latency_panel(
    r: &Report,
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    group: &str,
    title: &str,
    labels: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    let rows: Vec<_> = r
        .series
        .iter()
        .filter(|x| x.group == group && DRAWN.contains(&x.client.as_str()))
        .collect();
    if rows.is_empty() || labels.is_empty() {
        return Ok(());
    }
    let us = |ns: f64| ns / 1e3;
    let lo = rows
        .iter()
        .map(|x| us(x.median_ci_ns.0))
        .fold(f64::MAX, f64::min)
        .max(1.0);
    let hi = rows.iter().map(|x| us(x.median_ci_ns.1)).fold(0.0, f64::max);
    // A log axis: librdkafka takes milliseconds where the others take
    // tenths of one. Bounds on powers of ten so that the axis has labels.
    let (lo, hi) = (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil()).max(lo * 10.0),
    );
    let n = labels.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.6f64..n + 2.6, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_labels((labels.len() + 3) * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            labels.get(i as usize).cloned().unwrap_or_default()
        })
        .x_desc("broker (Kafka release of the emulator, or another broker)")
        .y_desc("µs")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    let drawn: Vec<&str> = DRAWN
        .iter()
        .copied()
        .filter(|c| rows.iter().any(|x| x.client == *c))
        .collect();
    let k = drawn.len() as f64;
    for (j, client) in drawn.iter().enumerate() {
        let c = color(client);
        // Side by side within a broker's slot.
        let offset = (j as f64 - (k - 1.0) / 2.0) * (0.7 / k.max(1.0));
        let points: Vec<(f64, f64, f64, f64)> = labels
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                rows.iter().find(|x| x.client == *client && &x.broker == l).map(|x| {
                    (
                        i as f64 + offset,
                        us(x.median_ci_ns.0),
                        us(x.median_ns),
                        us(x.median_ci_ns.1),
                    )
                })
            })
            .collect();
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| ErrorBar::new_vertical(p.0, p.1, p.2, p.3, c.filled().stroke_width(1), 6)),
            )?
            .label(*client)
            .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 14, y + 4)], c.filled()));
        chart.draw_series(points.iter().map(|p| Circle::new((p.0, p.2), 3, c.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// This run's ratios ÷ the baseline's, one row per id.
pub fn baseline(r: &Report, c: &Comparison, path: &Path) -> Result<(), String> {
    // Our client's ratios to its floors: the ones a commit can regress
    // (peers and floors are in report.md's comparison table).
    let rows: Vec<_> = c.ratios.iter().filter(|x| x.gated).collect();
    let height = (140 + 14 * rows.len() as u32).max(300);
    let root = SVGBackend::new(path, (1100, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    if rows.is_empty() {
        return root.present().map_err(|e| err(path, e));
    }
    let rel: Vec<(f64, f64, f64)> = rows
        .iter()
        .map(|x| {
            (
                x.now_ci.0 / x.baseline_ci.1,
                x.now / x.baseline,
                x.now_ci.1 / x.baseline_ci.0,
            )
        })
        .collect();
    let t = c.threshold_pct / 100.0;
    let lo = rel.iter().map(|x| x.0).fold(1.0 - 2.0 * t, f64::min) - 0.02;
    let hi = rel.iter().map(|x| x.2).fold(1.0 + 2.0 * t, f64::max) + 0.02;
    let labels: Vec<String> = rows
        .iter()
        .map(|x| {
            format!(
                "{} {} {} ÷ {}",
                x.group.replace("connect_api_versions", "connect"),
                x.broker,
                x.numerator,
                x.denominator
            )
        })
        .collect();
    let n = rows.len() as f64;
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "each ratio now ÷ in baseline {:?} (commit {}); bars from both 95 % intervals; band ±{} %",
                    c.baseline,
                    c.baseline_commit.as_deref().unwrap_or("?"),
                    c.threshold_pct
                ),
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(420)
            .build_cartesian_2d(lo..hi, -0.6f64..n - 0.4)?;
        chart
            .configure_mesh()
            .y_labels(rows.len() * 2 + 1)
            .y_label_formatter(&|y| {
                let i = y.round();
                if (y - i).abs() > 0.01 || i < 0.0 {
                    return String::new();
                }
                labels.get(i as usize).cloned().unwrap_or_default()
            })
            .x_desc(format!(
                "now ÷ baseline (commit {})",
                r.run.commit.as_deref().unwrap_or("?")
            ))
            .x_label_formatter(&|v| format!("{v:.2}"))
            .draw()?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(1.0 - t, -0.6), (1.0 + t, n - 0.4)],
            RGBColor(0xdd, 0xee, 0xdd).filled(),
        )))?;
        chart.draw_series(LineSeries::new([(1.0, -0.6), (1.0, n - 0.4)], BLACK.stroke_width(1)))?;
        for (i, (x, q)) in rows.iter().zip(&rel).enumerate() {
            let col = if x.regression {
                RGBColor(0xd6, 0x27, 0x28)
            } else {
                color(&x.numerator)
            };
            chart.draw_series(std::iter::once(ErrorBar::new_horizontal(
                i as f64,
                q.0,
                q.1,
                q.2,
                col.filled().stroke_width(1),
                6,
            )))?;
            chart.draw_series(std::iter::once(Circle::new((q.1, i as f64), 3, col.filled())))?;
        }
        Ok(())
    };
    draw().map_err(|e| err(path, e))?;
    root.present().map_err(|e| err(path, e))
}
