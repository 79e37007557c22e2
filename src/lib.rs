//! kafka-matrix: find Kafka client/broker version bugs before users do.
pub mod backend;
pub mod cli;
pub mod client;
pub mod emulator;
pub mod matrix;
pub mod negotiate;
pub mod protocol;
pub mod report;
pub mod versions;
