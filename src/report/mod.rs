//! The report card: one row per cell, as Markdown for people and JSON for
//! tools. Every row says which backend ran it and whether that was real
//! Kafka, so an emulated pass is never mistaken for a real one.

pub mod conform;
pub mod grid;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::matrix::corpus::CorpusClient;
use crate::matrix::CellResult;
pub use crate::matrix::NotRun;
use crate::negotiate::{Attempt, Outcome};

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Report format version.
    pub format: u32,
    /// kafka-matrix version that wrote it.
    pub tool_version: &'static str,
    /// Cells that passed.
    pub passed: usize,
    /// Cells that failed.
    pub failed: usize,
    /// Of the passed cells, those whose corpus client failed where its
    /// `expect` file says it does.
    pub expected_failures: usize,
    /// Corpus clients that backends judged differently on one target.
    pub disagreements: Vec<grid::Disagreement>,
    /// Cells that were planned but could not run, and why.
    pub not_run: Vec<NotRun>,
    /// How the run was set up (backends, image source and why).
    pub notes: Vec<String>,
    /// The corpus clients that ran (`matrix --client`), with their versions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<CorpusClient>,
    /// Every cell.
    pub cells: Vec<CellResult>,
}

impl Report {
    /// A report over `cells`.
    pub fn new(cells: Vec<CellResult>) -> Self {
        let passed = cells.iter().filter(|c| c.outcome.passed).count();
        let expected_failures = cells
            .iter()
            .filter(|c| c.outcome.passed && c.outcome.expected_failure.is_some())
            .count();
        Self {
            format: 3,
            tool_version: env!("CARGO_PKG_VERSION"),
            passed,
            failed: cells.len() - passed,
            expected_failures,
            disagreements: grid::disagreements(&cells),
            not_run: Vec::new(),
            notes: Vec::new(),
            clients: Vec::new(),
            cells,
        }
    }

    /// Writes `report.json` and `report.md` into `dir` (created if needed)
    /// and returns their paths.
    pub fn write(&self, dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let transcripts = dir.join("transcripts");
        if transcripts.is_dir() {
            // Transcripts of an earlier run would be mistaken for this one's;
            // the output files this run's command cells streamed, and the
            // broker logs its cells kept, stay.
            let keep: std::collections::HashSet<PathBuf> = self
                .cells
                .iter()
                .flat_map(|c| {
                    let output = c.outcome.command.as_ref().and_then(|o| o.output_file.as_ref());
                    output.into_iter().chain(c.broker.log_file.as_ref())
                })
                .map(|f| dir.join(f))
                .collect();
            for entry in std::fs::read_dir(&transcripts)? {
                let path = entry?.path();
                if keep.contains(&path) {
                    continue;
                }
                if path.is_dir() {
                    std::fs::remove_dir_all(&path)?;
                } else {
                    std::fs::remove_file(&path)?;
                }
            }
        }
        std::fs::create_dir_all(&transcripts)?;
        for c in &self.cells {
            let header = format!(
                "# {} — {}\n# broker: {}{}\n\n",
                c.cell,
                verdict(c),
                c.broker.backend_detail,
                c.broker
                    .bootstrap
                    .as_deref()
                    .map(|b| format!(" at {b}"))
                    .unwrap_or_default()
            );
            std::fs::write(dir.join(&c.outcome.transcript_file), header + &c.outcome.transcript)?;
        }
        let json = dir.join("report.json");
        let md = dir.join("report.md");
        let body = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&json, body + "\n")?;
        std::fs::write(&md, self.markdown())?;
        Ok((json, md))
    }

    /// ` (N of them failed as expected)`, or nothing.
    pub fn expected_failures_text(&self) -> String {
        match self.expected_failures {
            0 => String::new(),
            n => format!(" ({n} of them corpus clients failing where their `expect` file says)"),
        }
    }

    /// The Markdown report.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# kafka-matrix report\n");
        let _ = writeln!(
            s,
            "{} cells: {} passed{}, {} failed, {} not run. The \"broker\" column says what answered: \
             only \"real Kafka\" rows ran an Apache Kafka build; \"emulated\" rows ran the kafka-matrix emulator.\n",
            self.cells.len(),
            self.passed,
            self.expected_failures_text(),
            self.failed,
            self.not_run.len()
        );
        for n in &self.notes {
            let _ = writeln!(s, "- {n}");
        }
        if !self.notes.is_empty() {
            s.push('\n');
        }
        s.push_str(&self.grid());
        s.push_str(&self.table());
        if !self.not_run.is_empty() {
            s.push_str("\n## Not run\n\n");
            for n in &self.not_run {
                let _ = writeln!(s, "- {}: {}", n.what, n.reason);
            }
        }
        s
    }

    /// The compatibility grid of the corpus clients (see [`grid`]), or
    /// nothing when no corpus client ran.
    pub fn grid(&self) -> String {
        grid::markdown(&self.cells, &self.clients, &self.disagreements)
    }

    /// The summary table (Markdown, also printed by the CLI).
    pub fn table(&self) -> String {
        let mut s = String::from(
            "| target | backend | broker | image | scenario | ApiVersions | Metadata | attempts | guessed | broker start s | connect µs | request µs | result | error |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for c in &self.cells {
            let v = |x: Option<i16>| x.map_or("-".to_string(), |v| format!("v{v}"));
            let n = |x: Option<u64>| x.map_or("-".to_string(), |v| v.to_string());
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                c.cell.target,
                c.cell.backend,
                c.broker.kind.label(),
                c.broker.image.as_deref().unwrap_or("-"),
                scenario(c),
                v(c.negotiation.api_versions_version),
                v(c.negotiation.metadata_version),
                attempts(c),
                c.negotiation.guessed.as_deref().unwrap_or("-"),
                c.broker
                    .startup_ms
                    .map_or("-".to_string(), |ms| format!("{:.1}", ms as f64 / 1000.0)),
                n(c.timings.connect_us),
                n(c.timings.request_us),
                verdict(c),
                error_text(c).replace('|', "\\|"),
            );
        }
        s
    }
}

/// The scenario, with the corpus client a command cell runs.
fn scenario(c: &CellResult) -> String {
    match &c.cell.client {
        Some(name) => format!("{} {name}", c.cell.scenario),
        None => c.cell.scenario.to_string(),
    }
}

/// A failing cell's error with a pointer to its transcript.
fn error_text(c: &CellResult) -> String {
    match &c.outcome.error {
        Some(e) => format!("{e} (transcript: {})", c.outcome.transcript_file),
        None => String::new(),
    }
}

/// The ApiVersions path, e.g. `v4✗(0-3) → v3✓`.
pub fn attempts(c: &CellResult) -> String {
    if c.negotiation.attempts.is_empty() {
        return "-".into();
    }
    c.negotiation
        .attempts
        .iter()
        .map(attempt_text)
        .collect::<Vec<_>>()
        .join(" → ")
}

/// One ApiVersions attempt in words, e.g. `v4 refused (hint v0-v3)`.
pub fn attempt_text(a: &Attempt) -> String {
    match a.outcome {
        Outcome::Accepted => format!("v{} ok", a.version),
        Outcome::Unsupported { hint: Some(h) } => format!("v{} refused (hint {h})", a.version),
        Outcome::Unsupported { hint: None } => format!("v{} refused (no hint)", a.version),
        Outcome::Closed => format!("v{} closed", a.version),
    }
}

/// The cell's verdict in a word: `PASS`, `FAIL`, or for a corpus client
/// covered by its `expect` file, `XFAIL` (failed as expected, the cell
/// passes) or `XPASS` (passed unexpectedly, the cell fails).
pub fn verdict(c: &CellResult) -> &'static str {
    match (c.outcome.passed, c.outcome.expected_failure.is_some()) {
        (true, false) => "PASS",
        (false, false) => "FAIL",
        (true, true) => "XFAIL",
        (false, true) => "XPASS",
    }
}

/// One progress line for a finished cell.
pub fn progress_line(c: &CellResult) -> String {
    let status = verdict(c);
    let mut line = format!(
        "{status} {:<10} {:<9} {:<8} {:<22} {}",
        c.cell.target.to_string(),
        c.cell.backend.to_string(),
        scenario(c),
        c.broker.image.as_deref().unwrap_or(c.broker.kind.label()),
        attempts(c)
    );
    if let Some(md) = c.negotiation.metadata_version {
        let _ = write!(line, ", Metadata v{md}");
    }
    if let Some(ms) = c.broker.startup_ms {
        let _ = write!(line, " (broker ready in {:.1} s)", ms as f64 / 1000.0);
    }
    if c.outcome.error.is_some() {
        let _ = write!(line, " — {}", error_text(c));
    }
    if let (true, Some(reason)) = (c.outcome.passed, &c.outcome.expected_failure) {
        let _ = write!(line, " (expected: {reason})");
    }
    line
}
