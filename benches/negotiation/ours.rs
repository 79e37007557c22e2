//! Our client as measured: how it is configured, how it connects, and the
//! reconnect option ([`ApiVersionsMemo`]).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use kafka_matrix::client::{Client, ClientConfig, ClientError, ConnectionError};
use kafka_matrix::negotiate::SessionConfig;

use crate::floor::{CONNECT_ATTEMPTS, CONNECT_TIMEOUT, STALLS_OURS};

/// Our client's defaults, but started at ApiVersions `start_version` and
/// with the floor's connect timeout (see `floor::CONNECT_TIMEOUT`).
pub fn config(start_version: i16) -> ClientConfig {
    ClientConfig {
        session: SessionConfig {
            start_version,
            ..Default::default()
        },
        connect_timeout: CONNECT_TIMEOUT,
        ..Default::default()
    }
}

/// Where a fresh client starts: the newest ApiVersions version it speaks.
pub fn default_start() -> i16 {
    SessionConfig::default().start_version
}

/// `Client::connect`, retrying a connect timeout (counted in `STALLS_OURS`).
pub async fn connect(addr: &str, config: &ClientConfig) -> Client {
    for _ in 1..CONNECT_ATTEMPTS {
        match Client::connect(addr, config.clone()).await {
            Err(ClientError::Connection(ConnectionError::ConnectTimeout { .. })) => {
                STALLS_OURS.fetch_add(1, Ordering::Relaxed);
            }
            other => return other.expect("Client::connect failed"),
        }
    }
    Client::connect(addr, config.clone())
        .await
        .expect("Client::connect failed, the last of several attempts")
}

/// The reconnect option: per broker address, the ApiVersions version that
/// broker accepted last time, so that the next connect starts there and does
/// not pay for a refusal again (on Kafka 2.4–3.8 a fresh client's v4 is
/// refused and retried at v3; on 2.0–2.3 v4 is refused and retried at v0).
///
/// This is what a long-lived client effectively does: it negotiates once per
/// broker and keeps the answer across reconnects. It needs nothing from the
/// library but [`SessionConfig::start_version`]: the session still handles a
/// refusal if the broker changed (an upgrade or downgrade costs one round
/// trip, once). A fresh client (`ClientConfig::default()`) remembers nothing;
/// that stays the default, because a fresh process is what the matrix tests.
#[derive(Debug, Clone, Default)]
pub struct ApiVersionsMemo {
    accepted: Arc<Mutex<HashMap<String, i16>>>,
}

impl ApiVersionsMemo {
    /// `base`, started at what `addr` accepted last time (if anything).
    pub fn config_for(&self, addr: &str, base: &ClientConfig) -> ClientConfig {
        let mut config = base.clone();
        if let Some(v) = self.accepted.lock().ok().and_then(|m| m.get(addr).copied()) {
            config.session.start_version = v;
        }
        config
    }

    /// Notes what `addr` accepted.
    pub fn remember(&self, addr: &str, client: &Client) {
        self.remember_version(addr, client.negotiated().api_versions_version);
    }

    /// Notes that `addr` accepted ApiVersions `version`.
    pub fn remember_version(&self, addr: &str, version: i16) {
        if let Ok(mut m) = self.accepted.lock() {
            m.insert(addr.to_owned(), version);
        }
    }

    /// Connects with the remembered start version, and remembers the answer.
    pub async fn connect(&self, addr: &str, base: &ClientConfig) -> Client {
        let client = connect(addr, &self.config_for(addr, base)).await;
        self.remember(addr, &client);
        client
    }
}
