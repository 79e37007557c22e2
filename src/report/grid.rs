//! The compatibility grid of the corpus clients: client × target, one mark
//! per backend in each square, so the real broker's verdict and the
//! emulator's stand side by side. Where two backends' brokers gave one
//! client different verdicts on one target, that is a [`Disagreement`]: an
//! emulator bug, or a finding to explain (`tests/interop/FINDINGS.md`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::backend::{Backend, Target};
use crate::matrix::corpus::{ClientStatus, CorpusClient};
use crate::matrix::CellResult;

/// One client on one target, judged differently by two backends' brokers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// The corpus client.
    pub client: String,
    /// The release/mode (or other target).
    pub target: Target,
    /// Each backend's verdict on the client, with its transcript.
    pub verdicts: Vec<Verdict>,
}

/// What one backend's broker made of a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The backend.
    pub backend: Backend,
    /// Whether real Kafka answered.
    pub real_kafka: bool,
    /// Whether the client itself succeeded (an expected failure counts as a
    /// failure here: it is the client's verdict that is compared).
    pub client_succeeded: bool,
    /// The cell's transcript.
    pub transcript_file: String,
}

/// The corpus cells whose client ran (a cell whose broker never started has
/// no verdict on the client).
fn client_cells(cells: &[CellResult]) -> Vec<&CellResult> {
    cells
        .iter()
        .filter(|c| c.cell.client.is_some() && c.outcome.command.is_some())
        .collect()
}

/// Every client × target where the backends' verdicts differ.
pub fn disagreements(cells: &[CellResult]) -> Vec<Disagreement> {
    let ran = client_cells(cells);
    let mut out: Vec<Disagreement> = Vec::new();
    for c in &ran {
        let client = c.cell.client.clone().unwrap_or_default();
        if out.iter().any(|d| d.client == client && d.target == c.cell.target) {
            continue;
        }
        let verdicts: Vec<Verdict> = ran
            .iter()
            .filter(|o| o.cell.client.as_deref() == Some(client.as_str()) && o.cell.target == c.cell.target)
            .map(|o| Verdict {
                backend: o.cell.backend,
                real_kafka: o.broker.real_kafka,
                client_succeeded: o.outcome.client_succeeded(),
                transcript_file: o.outcome.transcript_file.clone(),
            })
            .collect();
        if verdicts
            .iter()
            .any(|v| v.client_succeeded != verdicts[0].client_succeeded)
        {
            out.push(Disagreement {
                client,
                target: c.cell.target.clone(),
                verdicts,
            });
        }
    }
    out
}

/// One square's mark for one cell, from its [`super::verdict`]: `✓`, `✗`,
/// `xfail` (failed where its `expect` file says), `XPASS` (passed where it
/// says it fails); all but `✓` link to the transcript.
fn mark(c: &CellResult) -> String {
    let text = match super::verdict(c) {
        "PASS" => return "✓".to_owned(),
        "FAIL" => "✗",
        "XFAIL" => "xfail",
        other => other,
    };
    format!("[{text}]({})", c.outcome.transcript_file)
}

/// The grid in Markdown, or nothing when no corpus client ran.
pub fn markdown(cells: &[CellResult], clients: &[CorpusClient], disagreements: &[Disagreement]) -> String {
    let cells: Vec<&CellResult> = cells.iter().filter(|c| c.cell.client.is_some()).collect();
    if cells.is_empty() {
        return String::new();
    }
    let mut targets: Vec<&Target> = Vec::new();
    let mut backends: Vec<Backend> = Vec::new();
    for c in &cells {
        if !targets.contains(&&c.cell.target) {
            targets.push(&c.cell.target);
        }
        if !backends.contains(&c.cell.backend) {
            backends.push(c.cell.backend);
        }
    }
    backends.sort_by_key(|b| Backend::ALL.iter().position(|x| x == b));
    let several = backends.len() > 1;
    let names: Vec<String> = backends.iter().map(ToString::to_string).collect();
    let mut s = String::from("## Compatibility grid\n\n");
    let _ = writeln!(
        s,
        "Each square: {} (`xfail`: failed where the client's `expect` file says it does; `XPASS`: passed there){}.\n",
        names.join(" · "),
        if several {
            "; `≠` marks backends that disagree on the client"
        } else {
            ""
        }
    );
    s.push_str("| client | version | passed |");
    if several {
        s.push_str(" agree |");
    }
    for t in &targets {
        let _ = write!(s, " {t} |");
    }
    s.push_str("\n|---|---|---|");
    if several {
        s.push_str("---|");
    }
    s.push_str(&"---|".repeat(targets.len()));
    s.push('\n');
    for client in clients {
        let mine: Vec<&&CellResult> = cells
            .iter()
            .filter(|c| c.cell.client.as_deref() == Some(client.name.as_str()))
            .collect();
        let version = match &client.status {
            ClientStatus::Installed { version } => version.as_str(),
            _ => "-",
        };
        let passed = mine.iter().filter(|c| c.outcome.passed).count();
        let _ = write!(s, "| {} | {version} | {passed}/{} |", client.name, mine.len());
        let split = |t: &Target| disagreements.iter().any(|d| d.client == client.name && &d.target == t);
        if several {
            let compared = targets
                .iter()
                .filter(|t| {
                    mine.iter()
                        .filter(|c| &&c.cell.target == *t && c.outcome.command.is_some())
                        .count()
                        > 1
                })
                .count();
            let split_count = targets.iter().filter(|t| split(t)).count();
            let _ = write!(s, " {}/{compared} |", compared - split_count);
        }
        for t in &targets {
            let marks: Vec<String> = backends
                .iter()
                .map(|b| {
                    mine.iter()
                        .find(|c| &&c.cell.target == t && c.cell.backend == *b)
                        .map_or("-".to_owned(), |c| mark(c))
                })
                .collect();
            let _ = write!(s, " {}{} |", marks.join(" · "), if split(t) { " ≠" } else { "" });
        }
        s.push('\n');
    }
    s.push('\n');
    if several {
        if disagreements.is_empty() {
            s.push_str("The backends agree on every client and target that both ran.\n\n");
        } else {
            let _ = writeln!(s, "### Disagreements ({})\n", disagreements.len());
            for d in disagreements {
                let verdicts: Vec<String> = d
                    .verdicts
                    .iter()
                    .map(|v| {
                        format!(
                            "{} ({}) [{}]({})",
                            v.backend,
                            if v.real_kafka { "real Kafka" } else { "not real Kafka" },
                            if v.client_succeeded { "succeeded" } else { "failed" },
                            v.transcript_file
                        )
                    })
                    .collect();
                let _ = writeln!(s, "- {} on {}: {}", d.client, d.target, verdicts.join(", "));
            }
            s.push('\n');
        }
    }
    s
}
