//! The one description of a benchmark run, shared by everything that
//! writes or reads one:
//!
//! - [`run`]: `run.json`, what `benches/negotiation.rs` measured (brokers,
//!   clients, every paired round, the criterion ids, findings) and
//!   `tools/bench-report` reads;
//! - [`machine`]: the machine and its load, so that a comparison across runs
//!   can tell whether absolute times are comparable at all;
//! - [`peer`]: the line protocol between the bench and the peer processes
//!   (`tools/bench-peer`, `tools/peer-librdkafka`), which time other clients
//!   outside the bench's process.
//!
//! serde only: the bench, the report and the peers each bring their own
//! heavier dependencies, and none of them needs the others'.

pub mod machine;
pub mod peer;
pub mod run;

pub use machine::{LoadAvg, Machine};
pub use run::{
    BrokerInfo, ClientInfo, CriterionId, Finding, PairedGroup, Role, RoundTrips, RunLog, Series, Settings, Tuning,
};
