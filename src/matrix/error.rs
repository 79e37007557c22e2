//! [`MatrixError`]: why a cell failed, by the phase it failed in. A cell's
//! report row keeps the one-line `Display` text; the phase is the type.

use crate::backend::probe::ProbeTopicError;
use crate::backend::BackendError;
use crate::client::ClientError;
use crate::versions::{Mode, Release};

/// Why a cell failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MatrixError {
    /// Its broker did not start (or could not be found).
    #[error(transparent)]
    Start(#[from] BackendError),
    /// Connecting and negotiating ApiVersions failed.
    #[error(transparent)]
    Negotiate(ClientError),
    /// The broker answered, but not as the cell expects.
    #[error(transparent)]
    Expectation(#[from] ExpectationError),
    /// The scenario itself failed.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

/// What a broker answered that the cell did not expect.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExpectationError {
    /// The negotiated versions are not what the release's table implies.
    #[error(
        "negotiated ApiVersions v{api_versions} / Metadata v{metadata}, but Kafka {release} ({mode}) implies \
         v{want_api_versions} / v{want_metadata}"
    )]
    Versions {
        /// Negotiated ApiVersions version.
        api_versions: i16,
        /// Chosen Metadata version.
        metadata: i16,
        /// The release.
        release: Release,
        /// Its mode.
        mode: Mode,
        /// What the table implies for ApiVersions.
        want_api_versions: i16,
        /// What the table implies for Metadata.
        want_metadata: i16,
    },
    /// Metadata does not advertise the address the client bootstrapped on.
    #[error("Metadata brokers {advertised:?} do not include {bootstrap}")]
    BootstrapNotAdvertised {
        /// The advertised `host:port`s.
        advertised: Vec<String>,
        /// The bootstrap address.
        bootstrap: String,
    },
    /// The probe topic is missing or incomplete.
    #[error(transparent)]
    ProbeTopic(#[from] ProbeTopicError),
    /// An external broker's Metadata lists no brokers.
    #[error("Metadata v{version} lists no brokers")]
    NoBrokers {
        /// The Metadata version that answered.
        version: i16,
    },
}

/// Why a scenario failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The scenario's request failed.
    #[error(transparent)]
    Request(ClientError),
    /// A corpus client cell whose client the run did not set up.
    #[error("client {0} is not set up for this run")]
    ClientNotSetUp(String),
    /// A command cell without a command.
    #[error("the command scenario needs --client-cmd")]
    NoClientCommand,
    /// The command scenario was given to this crate's client.
    #[error("the command scenario does not use this crate's client")]
    NotAClientScenario,
    /// The command could not be run.
    #[error(transparent)]
    CommandNotRun(#[from] super::command::CommandError),
    /// A corpus client passed where its `expect` file says it fails.
    #[error("passed, but clients/{client}/expect says it fails here: {reason}")]
    UnexpectedPass {
        /// The client.
        client: String,
        /// The rule's reason.
        reason: String,
    },
    /// The command ran and failed (its own one-line summary).
    #[error("{0}")]
    CommandFailed(String),
}
