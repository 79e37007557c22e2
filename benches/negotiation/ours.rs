//! Our client as measured: how it is configured, how it connects, and the
//! reconnect option (the library's [`ApiVersionsMemo`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use kafka_matrix::client::{ApiVersionsMemo, Client, ClientConfig, ClientError, ConnectionError};
use kafka_matrix::negotiate::SessionConfig;

use crate::floor::{CONNECT_ATTEMPTS, CONNECT_TIMEOUT, STALLS_OURS};

/// Our client's defaults, but started at ApiVersions `start_version` and
/// with the floor's connect timeout (see `floor::CONNECT_TIMEOUT`). Shared
/// by every connect, as a program that connects often would share it.
pub fn config(start_version: i16) -> Arc<ClientConfig> {
    Arc::new(ClientConfig {
        session: SessionConfig {
            start_version,
            ..Default::default()
        },
        connect_timeout: CONNECT_TIMEOUT,
        ..Default::default()
    })
}

/// Where a fresh client starts: the newest ApiVersions version it speaks.
pub fn default_start() -> i16 {
    SessionConfig::default().start_version
}

/// `Client::connect`, retrying a connect timeout (counted in `STALLS_OURS`).
pub async fn connect(addr: &str, config: &Arc<ClientConfig>) -> Client {
    connect_at(addr, config, config.session.start_version).await
}

/// [`connect`], started at ApiVersions `start`.
async fn connect_at(addr: &str, config: &Arc<ClientConfig>, start: i16) -> Client {
    for _ in 1..CONNECT_ATTEMPTS {
        match Client::connect_starting_at(addr, Arc::clone(config), start).await {
            Err(ClientError::Connection(ConnectionError::ConnectTimeout { .. })) => {
                STALLS_OURS.fetch_add(1, Ordering::Relaxed);
            }
            other => return other.expect("Client::connect failed"),
        }
    }
    Client::connect_starting_at(addr, Arc::clone(config), start)
        .await
        .expect("Client::connect failed, the last of several attempts")
}

/// The reconnect option ([`ApiVersionsMemo`], in the library): connects
/// with the version `addr` accepted last time, retrying a connect timeout as
/// [`connect`] does, and remembers the answer (what `ApiVersionsMemo::connect`
/// does, with the retry).
pub async fn connect_remembered(memo: &ApiVersionsMemo, addr: &str, base: &Arc<ClientConfig>) -> Client {
    let remembered = memo.accepted(addr);
    let client = connect_at(addr, base, remembered.unwrap_or(base.session.start_version)).await;
    let accepted = client.negotiated().api_versions_version;
    if remembered != Some(accepted) {
        memo.remember_version(addr, accepted);
    }
    client
}
