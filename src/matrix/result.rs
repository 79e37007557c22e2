//! [`CellResult`]: how a cell ended, in four groups — the broker it ran
//! against, what was negotiated, how long it took, and the outcome. Each
//! group is flattened into the cell's JSON object, so report.json keeps one
//! flat object per cell with the same keys in the same order.

use serde::Serialize;

use super::{Cell, CommandOutcome};
use crate::backend::BrokerKind;
use crate::negotiate::Attempt;

/// How a cell ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellResult {
    /// The cell.
    #[serde(flatten)]
    pub cell: Cell,
    /// The broker it ran against.
    #[serde(flatten)]
    pub broker: BrokerFacts,
    /// What was negotiated with it.
    #[serde(flatten)]
    pub negotiation: NegotiationFacts,
    /// How long the client's steps took.
    #[serde(flatten)]
    pub timings: Timings,
    /// Pass or fail, and what shows why.
    #[serde(flatten)]
    pub outcome: CellOutcome,
}

/// The broker a cell ran against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokerFacts {
    /// What kind of broker answered.
    #[serde(rename = "broker")]
    pub kind: BrokerKind,
    /// Whether the broker was real Kafka (`kind == real_kafka`).
    pub real_kafka: bool,
    /// The broker in words, with its image for containers.
    pub backend_detail: String,
    /// The container image (`name:tag`), for container cells.
    pub image: Option<String>,
    /// The address the client bootstrapped on.
    pub bootstrap: Option<String>,
    /// Time to start the broker until it answered (containers, JVM brokers), milliseconds.
    pub startup_ms: Option<u64>,
    /// The broker's own log, kept beside the transcript (JVM brokers), relative to the report directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file: Option<String>,
}

/// What this crate's client negotiated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NegotiationFacts {
    /// ApiVersions version negotiated.
    pub api_versions_version: Option<i16>,
    /// Metadata version chosen.
    pub metadata_version: Option<i16>,
    /// ApiVersions attempts (fallbacks show here).
    pub attempts: Vec<Attempt>,
    /// The release(s) the broker's ApiVersions reply looks like.
    pub guessed: Option<String>,
}

/// How long the client's steps took.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Timings {
    /// Connect + negotiate, microseconds.
    pub connect_us: Option<u64>,
    /// The scenario's request, microseconds.
    pub request_us: Option<u64>,
}

/// Pass or fail, and what shows why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellOutcome {
    /// Pass or fail.
    pub passed: bool,
    /// Why it failed; for a corpus client that failed as expected, the
    /// client's own error (and `passed` is true).
    pub error: Option<String>,
    /// The reason of the corpus client's `expect` rule covering this cell:
    /// it passes when the client fails, and fails when the client passes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_failure: Option<String>,
    /// The `command` scenario's outcome.
    pub command: Option<CommandOutcome>,
    /// The cell's transcript file, relative to the report directory: every
    /// frame this crate's client exchanged, or the command's output.
    pub transcript_file: String,
    /// That transcript's text (written by the report, not part of the JSON).
    #[serde(skip)]
    pub transcript: String,
}

/// The transcript file name of cell number `index`.
pub fn transcript_file(index: usize, cell: &Cell) -> String {
    let slug: String = cell
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' })
        .collect();
    let mut slug = slug.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
    slug.truncate(100);
    format!("transcripts/{index:03}-{slug}.txt")
}

impl CellOutcome {
    /// Whether the client itself succeeded: the cell's verdict with an
    /// expected failure taken back out (what real and emulated brokers are
    /// compared on).
    pub fn client_succeeded(&self) -> bool {
        self.passed != self.expected_failure.is_some()
    }

    /// A file beside the transcript, relative to the report directory:
    /// `transcripts/NNN-<cell>.<ext>` for `transcripts/NNN-<cell>.txt`.
    pub fn beside_transcript(&self, ext: &str) -> String {
        let stem = self
            .transcript_file
            .strip_suffix(".txt")
            .unwrap_or(&self.transcript_file);
        format!("{stem}.{ext}")
    }
}

impl CellResult {
    pub(super) fn new(cell: Cell, index: usize, broker: BrokerKind) -> Self {
        Self {
            outcome: CellOutcome {
                passed: false,
                error: None,
                expected_failure: None,
                command: None,
                transcript_file: transcript_file(index, &cell),
                transcript: String::new(),
            },
            cell,
            broker: BrokerFacts {
                kind: broker,
                real_kafka: broker.is_real_kafka(),
                backend_detail: broker.describe().to_owned(),
                image: None,
                bootstrap: None,
                startup_ms: None,
                log_file: None,
            },
            negotiation: NegotiationFacts::default(),
            timings: Timings::default(),
        }
    }

    pub(super) fn set_broker(&mut self, broker: BrokerKind, image: Option<String>) {
        self.broker.kind = broker;
        self.broker.real_kafka = broker.is_real_kafka();
        self.broker.backend_detail = match &image {
            Some(i) => format!("{} ({i})", broker.describe()),
            None => broker.describe().to_owned(),
        };
        self.broker.image = image;
    }
}
