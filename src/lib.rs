//! kafka-matrix: find Kafka client/broker version bugs before users do.
//!
//! Layers, each with one job; every arrow points down (docs/design.md;
//! `scripts/module-graph.sh` checks it):
//!
//! ```text
//! protocol   bytes <-> values: frames, headers, ApiVersions, Metadata (sans-io)
//! negotiate  the ApiVersions exchange as a pure state machine (sans-io)
//! versions   the release catalog: tables, features, patches, images, guessing
//! client     tokio shell around negotiate: connect, ping, metadata
//! emulator   a broker that answers as each release 2.0-4.4 did
//! backend    where a cell's broker comes from (in-process, containers, addresses):
//!            backend::start owns start, readiness and what kind of broker it is
//! matrix     cells = target x backend x scenario: plan them, run them, check them
//! report     report.json, report.md, transcripts
//! cli        clap commands; main.rs maps errors to exit codes
//! ```
#[macro_use]
mod value_enum;

pub mod backend;
pub mod cli;
pub mod client;
pub mod emulator;
pub mod matrix;
pub mod negotiate;
pub mod protocol;
pub mod report;
pub mod versions;
