//! The conformance report card: `report.md` (a behaviour × release grid per
//! client, every failure with its reason and transcript, the catalogue with
//! its sources), `report.json` (every cell) and `report.svg` (the grid as a
//! picture), for a client maintainer to attach to a release.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::emulator::behaviour::{self, Behaviour};
use crate::matrix::conform::{ConformCell, Verdict};
use crate::versions::{Mode, Release};

/// The whole conformance report.
#[derive(Debug, Clone, Serialize)]
pub struct ConformReport {
    /// Report format version.
    pub format: u32,
    /// kafka-matrix version that wrote it.
    pub tool_version: &'static str,
    /// What answered: always the in-process emulator (each release as
    /// emulated, with the behaviour put on).
    pub broker: &'static str,
    /// The clients, each with its command.
    pub clients: Vec<(String, String)>,
    /// Cells per verdict.
    pub passed: usize,
    /// Cells that failed.
    pub failed: usize,
    /// Cells not exercised or not judged.
    pub not_applicable: usize,
    /// Every cell.
    pub cells: Vec<ConformCell>,
}

impl ConformReport {
    /// A report over `cells` for `clients` (name, command template).
    pub fn new(clients: Vec<(String, String)>, cells: Vec<ConformCell>) -> Self {
        let count = |v: Verdict| cells.iter().filter(|c| c.judgement.verdict == v).count();
        Self {
            format: 1,
            tool_version: env!("CARGO_PKG_VERSION"),
            broker: "kafka-matrix emulator, in-process (an emulation of each release, not real Kafka)",
            clients,
            passed: count(Verdict::Pass),
            failed: count(Verdict::Fail),
            not_applicable: count(Verdict::NotApplicable),
            cells,
        }
    }

    /// Writes report.json, report.md and report.svg into `dir`; returns the
    /// Markdown file's path.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let body = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("report.json"), body + "\n")?;
        std::fs::write(dir.join("report.svg"), self.svg())?;
        let md = dir.join("report.md");
        std::fs::write(&md, self.markdown())?;
        Ok(md)
    }

    /// The behaviours that appear, in catalogue order.
    fn behaviours(&self) -> Vec<&'static Behaviour> {
        behaviour::CATALOGUE
            .iter()
            .filter(|b| self.cells.iter().any(|c| c.behaviour == b.name))
            .collect()
    }

    /// The release/mode pairs that appear, in order.
    fn pairs(&self) -> Vec<(Release, Mode)> {
        let mut pairs: Vec<(Release, Mode)> = self.cells.iter().map(|c| (c.release, c.mode)).collect();
        pairs.sort();
        pairs.dedup();
        pairs
    }

    fn grid(&self, client: &str) -> BTreeMap<(&'static str, Release, Mode), &ConformCell> {
        self.cells
            .iter()
            .filter(|c| c.client == client)
            .map(|c| ((c.behaviour, c.release, c.mode), c))
            .collect()
    }

    /// The Markdown report.
    pub fn markdown(&self) -> String {
        let mut s = String::from("# kafka-matrix conformance report\n\n");
        let _ = writeln!(
            s,
            "kafka-matrix {} · broker: {} · **{} PASS, {} FAIL, {} N/A**\n",
            self.tool_version, self.broker, self.passed, self.failed, self.not_applicable
        );
        s.push_str(
            "PASS: the client did what a correct client does. FAIL: it did not (the reason says what, \
            from the broker's records and the exit status). N/A: the run did not exercise the behaviour \
            (e.g. the client never asked above the version a broker resets on), or used an API the emulator \
            does not emulate.\n\n",
        );
        let behaviours = self.behaviours();
        let pairs = self.pairs();
        for (client, template) in &self.clients {
            let grid = self.grid(client);
            let _ = writeln!(s, "## {client}\n\n`{template}`\n");
            let _ = write!(s, "| release |");
            for b in &behaviours {
                let _ = write!(s, " {} |", b.name);
            }
            s.push_str("\n|---|");
            s.push_str(&"---|".repeat(behaviours.len()));
            s.push('\n');
            for &(release, mode) in &pairs {
                let _ = write!(s, "| {release} {mode} |");
                for b in &behaviours {
                    let mark = match grid.get(&(b.name, release, mode)) {
                        Some(c) => match c.judgement.verdict {
                            Verdict::Pass => "✅".to_owned(),
                            Verdict::Fail => format!("[❌]({})", c.transcript),
                            Verdict::NotApplicable => "–".to_owned(),
                        },
                        None => " ".to_owned(),
                    };
                    let _ = write!(s, " {mark} |");
                }
                s.push('\n');
            }
            let failures: Vec<&&ConformCell> = grid.values().filter(|c| c.judgement.verdict == Verdict::Fail).collect();
            if !failures.is_empty() {
                let _ = writeln!(s, "\n### Failures ({})\n", failures.len());
                for c in failures {
                    let _ = writeln!(
                        s,
                        "- **{}** on {} {}: {} ([transcript]({}))",
                        c.behaviour, c.release, c.mode, c.judgement.reason, c.transcript
                    );
                }
            }
            s.push('\n');
        }
        s.push_str("## Behaviours\n\n");
        for b in &behaviours {
            let _ = writeln!(
                s,
                "- **{}**: {}\n  - real case: {}\n  - a correct client: {}",
                b.name, b.wire, b.case, b.correct
            );
        }
        s
    }

    /// The grid as an SVG picture: a block per client, a row per behaviour,
    /// a column per release/mode; green PASS, red FAIL, grey N/A.
    pub fn svg(&self) -> String {
        const CELL: usize = 14;
        const LABEL: usize = 190;
        const HEAD: usize = 60;
        let behaviours = self.behaviours();
        let pairs = self.pairs();
        let block = HEAD + behaviours.len() * CELL + 30;
        let width = LABEL + pairs.len() * CELL + 20;
        let height = block * self.clients.len().max(1) + 30;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"10\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        );
        for (k, (client, _)) in self.clients.iter().enumerate() {
            let top = k * block + 10;
            let grid = self.grid(client);
            let _ = writeln!(
                s,
                "<text x=\"4\" y=\"{}\" font-size=\"13\" font-weight=\"bold\">{}</text>",
                top + 12,
                xml(client)
            );
            for (j, &(release, mode)) in pairs.iter().enumerate() {
                let x = LABEL + j * CELL + CELL / 2;
                let _ = writeln!(
                    s,
                    "<text transform=\"translate({x},{}) rotate(-60)\">{release}{}</text>",
                    top + HEAD - 4,
                    if mode == Mode::Kraft { "k" } else { "" }
                );
            }
            for (i, b) in behaviours.iter().enumerate() {
                let y = top + HEAD + i * CELL;
                let _ = writeln!(s, "<text x=\"4\" y=\"{}\">{}</text>", y + 10, xml(b.name));
                for (j, &(release, mode)) in pairs.iter().enumerate() {
                    let Some(c) = grid.get(&(b.name, release, mode)) else {
                        continue;
                    };
                    let fill = match c.judgement.verdict {
                        Verdict::Pass => "#2e7d32",
                        Verdict::Fail => "#c62828",
                        Verdict::NotApplicable => "#cfcfcf",
                    };
                    let _ = writeln!(
                        s,
                        "<rect x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"><title>{} {release} {mode}: {} {}</title></rect>",
                        LABEL + j * CELL,
                        CELL - 2,
                        CELL - 2,
                        xml(b.name),
                        c.judgement.verdict,
                        xml(&c.judgement.reason)
                    );
                }
            }
        }
        let _ = writeln!(
            s,
            "<text x=\"4\" y=\"{}\">green PASS · red FAIL · grey N/A (not exercised) · columns: release, k = KRaft · broker: emulated</text>\n</svg>",
            height - 8
        );
        s
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One progress line for a finished cell.
pub fn progress_line(c: &ConformCell) -> String {
    format!(
        "{:<4} {:<14} {:<5} {:<5} {:<32} {}",
        c.judgement.verdict.to_string(),
        c.client,
        c.release.to_string(),
        c.mode.to_string(),
        c.behaviour,
        c.judgement.reason
    )
}
