//! The probe topic: every broker a backend starts has it (seeded, created,
//! or auto-created), and one check, [`check_probe_topic`], says whether a
//! Metadata answer shows it complete. The container backend's readiness
//! check and the matrix's Metadata expectation both use it.

use crate::client::{Client, ClientConfig, ClientError, ClusterMetadata};

/// The topic every cell's broker has (seeded, created, or auto-created)
/// and Metadata is then expected to list.
pub const PROBE_TOPIC: &str = "kafka-matrix-probe";
/// Its partition count.
pub const PROBE_PARTITIONS: i32 = 3;

/// How a Metadata answer falls short of the probe topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeTopicError {
    /// The topic is not listed.
    #[error("Metadata v{version} lacks topic {PROBE_TOPIC}")]
    Missing {
        /// The Metadata version that answered.
        version: i16,
    },
    /// Listed, but with the wrong partition count or a topic error.
    #[error("topic {PROBE_TOPIC}: {partitions} partitions, error {error} (expected {PROBE_PARTITIONS}, none)")]
    Incomplete {
        /// Partitions listed.
        partitions: usize,
        /// The topic's error code, in words.
        error: String,
    },
    /// Listed, but some partition has an error or no leader yet.
    #[error("topic {PROBE_TOPIC}: a partition has an error or no leader yet")]
    Leaderless,
}

/// Whether `md` lists the probe topic with all its partitions, each with a
/// leader and no error.
pub fn check_probe_topic(md: &ClusterMetadata) -> Result<(), ProbeTopicError> {
    let topic = md
        .topics
        .iter()
        .find(|t| t.name.as_deref() == Some(PROBE_TOPIC))
        .ok_or(ProbeTopicError::Missing { version: md.version })?;
    if topic.partitions.len() != PROBE_PARTITIONS as usize || !topic.error.is_ok() {
        return Err(ProbeTopicError::Incomplete {
            partitions: topic.partitions.len(),
            error: topic.error.to_string(),
        });
    }
    if !topic.partitions.iter().all(|p| p.error.is_ok() && p.leader >= 0) {
        return Err(ProbeTopicError::Leaderless);
    }
    Ok(())
}

/// One readiness attempt against `bootstrap`: ApiVersions, then Metadata
/// (for the probe topic by name when the broker `auto_creates` it, so that
/// asking creates it; for all topics otherwise). `Ok(Ok(()))` when the
/// probe topic is fully there, `Ok(Err(why))` when the broker answers but
/// the topic is not complete yet.
pub async fn probe_once(
    bootstrap: &str,
    auto_creates: bool,
    config: &ClientConfig,
) -> Result<Result<(), ProbeTopicError>, ClientError> {
    let mut client = Client::connect(bootstrap, config.clone()).await?;
    let md = if auto_creates {
        client.metadata(Some(&[PROBE_TOPIC])).await
    } else {
        client.metadata(None).await
    }?;
    Ok(check_probe_topic(&md))
}
