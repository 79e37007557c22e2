//! This run against another: a saved baseline (`--baseline`, across
//! commits) and the previous run (agreement, across repetitions).
//!
//! Ratios are compared always: each was taken within rounds, under the
//! load of its moment, on whatever machine. Absolute times are compared only
//! when both runs name the same machine (`Machine::same_as`); otherwise the
//! comparison says so and leaves them out.

use bench_schema::{Role, RunLog};

use crate::{AbsoluteCompare, AgreeRow, Agreement, Comparison, RatioCompare, RatioKind, RatioRow, Report};

/// Which ratios a baseline comparison can fail on: our client beside the
/// floor sending the same requests. Peers and the floor are context.
pub fn gated(r: &Report, row: &RatioRow) -> bool {
    row.kind == RatioKind::SameRequests && r.run.client(&row.numerator).map(|c| c.role) == Some(Role::Ours)
}

fn same_row<'a>(rows: &'a [RatioRow], x: &RatioRow) -> Option<&'a RatioRow> {
    rows.iter().find(|b| {
        b.group == x.group && b.broker == x.broker && b.numerator == x.numerator && b.denominator == x.denominator
    })
}

/// Compares `new` with the baseline `base`.
pub fn baseline(base: &Report, name: &str, new: &Report, threshold_pct: f64) -> Comparison {
    let same_machine = new.run.machine.same_as(&base.run.machine);
    let mut ratios = Vec::new();
    for n in &new.ratios {
        let Some(b) = same_row(&base.ratios, n) else {
            continue;
        };
        let change_pct = (n.median / b.median - 1.0) * 100.0;
        let worse_outside = n.ci.0 > b.ci.1;
        let better_outside = n.ci.1 < b.ci.0;
        let gated = gated(new, n);
        ratios.push(RatioCompare {
            group: n.group.clone(),
            broker: n.broker.clone(),
            numerator: n.numerator.clone(),
            denominator: n.denominator.clone(),
            kind: n.kind,
            baseline: b.median,
            baseline_ci: b.ci,
            now: n.median,
            now_ci: n.ci,
            change_pct,
            outside_noise: worse_outside || better_outside,
            gated,
            regression: gated && change_pct > threshold_pct && worse_outside,
        });
    }
    let mut absolute = Vec::new();
    if same_machine {
        for n in &new.series {
            let Some(b) = base
                .series
                .iter()
                .find(|b| b.group == n.group && b.broker == n.broker && b.client == n.client)
            else {
                continue;
            };
            absolute.push(absolute_row(
                format!("{}/{}/{}", n.group, n.client, n.broker),
                (b.median_ns, b.median_ci_ns),
                (n.median_ns, n.median_ci_ns),
                false,
                threshold_pct,
            ));
        }
        for n in &new.criterion {
            let Some(b) = base.criterion.iter().find(|b| b.id == n.id) else {
                continue;
            };
            absolute.push(absolute_row(
                format!("{}/{}/{}", n.id.group, n.id.function, n.id.parameter),
                (b.median_ns, b.median_ci_ns),
                (n.median_ns, n.median_ci_ns),
                true,
                threshold_pct,
            ));
        }
    }
    let regressions = ratios.iter().filter(|r| r.regression).count() + absolute.iter().filter(|r| r.regression).count();
    Comparison {
        baseline: name.to_owned(),
        baseline_commit: base.run.commit.clone(),
        baseline_machine: base.run.machine.clone(),
        baseline_backend: base.run.backend.clone(),
        same_machine,
        method_differs: method_differs(&base.run, &new.run),
        threshold_pct,
        ratios,
        absolute,
        regressions,
    }
}

fn absolute_row(
    what: String,
    base: (f64, (f64, f64)),
    now: (f64, (f64, f64)),
    gated: bool,
    threshold_pct: f64,
) -> AbsoluteCompare {
    let change_pct = (now.0 / base.0 - 1.0) * 100.0;
    let worse_outside = now.1 .0 > base.1 .1;
    let better_outside = now.1 .1 < base.1 .0;
    AbsoluteCompare {
        what,
        baseline_ns: base.0,
        now_ns: now.0,
        change_pct,
        outside_noise: worse_outside || better_outside,
        regression: gated && change_pct > threshold_pct && worse_outside,
    }
}

/// Whose ratio it is: a peer's (as numerator, denominator, or through the
/// floor replaying its requests), [`PROCESS`] for the floor sent from a peer
/// process beside the in-process one, else [`OURS_AND_FLOORS`].
pub fn whose(x: &RatioRow) -> String {
    use bench_schema::run::names::{floor_as, FLOOR_PROC};
    if let Some(p) = crate::analysis::PEERS.iter().find(|p| {
        x.numerator == **p || x.denominator == **p || x.numerator == floor_as(p) || x.denominator == floor_as(p)
    }) {
        return (*p).to_owned();
    }
    if x.numerator == FLOOR_PROC || x.denominator == FLOOR_PROC {
        return PROCESS.to_owned();
    }
    OURS_AND_FLOORS.to_owned()
}

/// [`whose`] for our client's ratios (to floors, and between its paths).
pub const OURS_AND_FLOORS: &str = "kafka-matrix";
/// [`whose`] for `tcp-floor-proc ÷ tcp-floor`.
pub const PROCESS: &str = "peer process";

/// How `before` and `now` were measured differently, in one line, if they
/// were: a round's value (the mean of a round's measurements before the
/// fastest), and the machine's state (pinned threads, idle CPUs kept awake).
/// Either moves ratios by itself (docs/benchmarks.md), so a comparison
/// across them says so.
pub fn method_differs(before: &RunLog, now: &RunLog) -> Option<String> {
    let mut what = Vec::new();
    if before.settings.per_round != now.settings.per_round {
        what.push(format!(
            "a round's value: {} then, {} now",
            before.settings.per_round, now.settings.per_round
        ));
    }
    let (b, n) = (&before.tuning, &now.tuning);
    let state = |t: &bench_schema::Tuning| (t.client_cpu.is_some(), t.idle.is_some(), t.priority.is_some());
    if state(b) != state(n) {
        what.push(format!(
            "machine state: \"{}\" then, \"{}\" now",
            b.summary(),
            n.summary()
        ));
    }
    (!what.is_empty()).then(|| what.join("; "))
}

/// How far each ratio moved since `prev` (the previous run).
pub fn agreement(prev: &Report, new: &Report, bound_pct: f64) -> Agreement {
    let mut rows = Vec::new();
    for n in &new.ratios {
        let Some(p) = same_row(&prev.ratios, n) else {
            continue;
        };
        let change_pct = (n.median / p.median - 1.0) * 100.0;
        rows.push(AgreeRow {
            whose: whose(n),
            group: n.group.clone(),
            broker: n.broker.clone(),
            numerator: n.numerator.clone(),
            denominator: n.denominator.clone(),
            kind: n.kind,
            previous: p.median,
            now: n.median,
            change_pct,
            within: change_pct.abs() <= bound_pct,
        });
    }
    Agreement {
        previous_started_unix: prev.run.started_unix,
        previous_commit: prev.run.commit.clone(),
        previous_profile: prev.run.settings.profile.clone(),
        previous_load: prev.run.load_start.zip(prev.run.load_end),
        same_machine: new.run.machine.same_as(&prev.run.machine),
        method_differs: method_differs(&prev.run, &new.run),
        bound_pct,
        within: rows.iter().filter(|r| r.within).count(),
        total: rows.len(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{ratio_row, report};

    #[test]
    fn a_regression_needs_the_threshold_the_noise_band_and_our_client() {
        let base = report(vec![ratio_row("kafka-matrix", "tcp-floor", 1.00, (0.98, 1.02))]);
        // 20 % worse, intervals apart: regression.
        let c = baseline(
            &base,
            "b",
            &report(vec![ratio_row("kafka-matrix", "tcp-floor", 1.20, (1.15, 1.25))]),
            10.0,
        );
        assert_eq!(c.regressions, 1);
        // 20 % worse but the intervals overlap: noise.
        let c = baseline(
            &base,
            "b",
            &report(vec![ratio_row("kafka-matrix", "tcp-floor", 1.20, (1.00, 1.40))]),
            10.0,
        );
        assert_eq!(c.regressions, 0);
        // 8 % worse, intervals apart: under the threshold.
        let c = baseline(
            &base,
            "b",
            &report(vec![ratio_row("kafka-matrix", "tcp-floor", 1.08, (1.06, 1.10))]),
            10.0,
        );
        assert_eq!(c.regressions, 0);
        // A peer getting slower is not ours to fail on.
        let base = report(vec![ratio_row("rskafka", "tcp-floor", 1.0, (0.95, 1.05))]);
        let c = baseline(
            &base,
            "b",
            &report(vec![ratio_row("rskafka", "tcp-floor", 2.0, (1.9, 2.1))]),
            10.0,
        );
        assert_eq!((c.ratios.len(), c.regressions), (1, 0));
    }

    #[test]
    fn absolute_times_are_compared_only_on_the_same_machine() {
        let base = report(vec![ratio_row("kafka-matrix", "tcp-floor", 1.0, (0.98, 1.02))]);
        let mut other = base.clone();
        other.run.machine.cores = 64;
        let c = baseline(&base, "b", &other, 10.0);
        assert!(!c.same_machine);
        assert!(c.absolute.is_empty());
        assert_eq!(c.ratios.len(), 1);
    }

    #[test]
    fn agreement_counts_ratios_within_the_bound() {
        let prev = report(vec![
            ratio_row("kafka-matrix", "tcp-floor", 1.00, (0.98, 1.02)),
            ratio_row("kafka-matrix-v3", "tcp-floor-v3", 1.00, (0.98, 1.02)),
        ]);
        let now = report(vec![
            ratio_row("kafka-matrix", "tcp-floor", 1.09, (1.0, 1.2)),
            ratio_row("kafka-matrix-v3", "tcp-floor-v3", 1.12, (1.0, 1.2)),
        ]);
        let a = agreement(&prev, &now, 10.0);
        assert_eq!((a.within, a.total), (1, 2));
        assert!(!a.rows[1].within);
        assert_eq!(a.method_differs, None);
    }

    #[test]
    fn runs_measured_differently_say_how() {
        let mut prev = report(vec![ratio_row("kafka-matrix", "tcp-floor", 1.00, (0.98, 1.02))]);
        prev.run.settings.per_round = "mean".into();
        let mut now = prev.clone();
        assert_eq!(method_differs(&prev.run, &now.run), None);
        now.run.settings.per_round = "min".into();
        now.run.tuning.client_cpu = Some(0);
        now.run.tuning.broker_cpu = Some(0);
        let said = method_differs(&prev.run, &now.run).expect("differs");
        assert!(
            said.starts_with("a round's value: mean then, min now; machine state: "),
            "{said}"
        );
        assert!(agreement(&prev, &now, 10.0).method_differs.is_some());
        assert!(baseline(&prev, "b", &now, 10.0).method_differs.is_some());
    }
}
