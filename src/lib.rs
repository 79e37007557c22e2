//! kafka-matrix: find Kafka client/broker version bugs before users do.
pub mod negotiate;
pub mod protocol;
pub mod versions;
