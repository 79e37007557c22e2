//! The reconnect option: remember, per broker address, the ApiVersions
//! version the broker accepted, and start the next negotiation there.
//!
//! A fresh [`Client`] starts at the newest ApiVersions version it speaks
//! (v4). Kafka 2.4–3.8 refuse v4 and name v3 in the refusal (one more round
//! trip); 2.0–2.3 refuse it without naming anything (a retry at v0). A
//! long-lived client effectively negotiates once per broker and keeps the
//! answer across reconnects; [`ApiVersionsMemo`] does that for [`Client`],
//! so a reconnect pays the refusal at most once per broker address. The
//! negotiation itself is unchanged: if the broker changed (an upgrade or a
//! downgrade), the remembered version is refused or answered like any start
//! version, at the cost of one round trip, once.
//!
//! Not the default: a fresh client (`ClientConfig::default()`, no memo) is
//! what the matrix tests, because a fresh process is what users start.

use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use super::{Client, ClientConfig, ClientError};

/// Per broker address, the ApiVersions version it accepted last. Cheap to
/// clone (clones share the memory); see the module docs.
///
/// Keyed with FxHash, not SipHash: the keys are the addresses this process
/// chooses to connect to, not input an attacker can flood, and the lookup
/// runs on every reconnect.
#[derive(Debug, Clone, Default)]
pub struct ApiVersionsMemo {
    accepted: Arc<Mutex<FxHashMap<String, i16>>>,
}

impl ApiVersionsMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// The ApiVersions version `addr` accepted last, if any.
    pub fn accepted(&self, addr: &str) -> Option<i16> {
        self.accepted.lock().ok().and_then(|m| m.get(addr).copied())
    }

    /// Where a negotiation with `addr` starts: the version it accepted
    /// last time, else `base`'s start version.
    pub fn start_version(&self, addr: &str, base: &ClientConfig) -> i16 {
        self.accepted(addr).unwrap_or(base.session.start_version)
    }

    /// `base`, started at what `addr` accepted last time (unchanged if
    /// nothing is remembered). [`ApiVersionsMemo::connect`] does not copy
    /// the configuration; this is for a caller that wants one.
    pub fn config_for(&self, addr: &str, base: &ClientConfig) -> ClientConfig {
        let mut config = base.clone();
        config.session.start_version = self.start_version(addr, base);
        config
    }

    /// Notes the version `client` negotiated with `addr`.
    pub fn remember(&self, addr: &str, client: &Client) {
        self.remember_version(addr, client.negotiated().api_versions_version);
    }

    /// Notes that `addr` accepted ApiVersions `version`.
    pub fn remember_version(&self, addr: &str, version: i16) {
        if let Ok(mut m) = self.accepted.lock() {
            match m.get_mut(addr) {
                Some(v) => *v = version,
                None => {
                    m.insert(addr.to_owned(), version);
                }
            }
        }
    }

    /// Forgets `addr` (its next connect starts where `base` says).
    pub fn forget(&self, addr: &str) {
        if let Ok(mut m) = self.accepted.lock() {
            m.remove(addr);
        }
    }

    /// [`Client::connect`] started at the remembered version, remembering
    /// what the broker accepted this time. `base` is a [`ClientConfig`] or
    /// an `Arc` of one.
    pub async fn connect(&self, addr: &str, base: impl Into<Arc<ClientConfig>>) -> Result<Client, ClientError> {
        let base = base.into();
        let remembered = self.accepted(addr);
        let start = remembered.unwrap_or(base.session.start_version);
        let client = Client::connect_starting_at(addr, base, start).await?;
        // Written only when it changed: a reconnect to the same broker is
        // then one look into the memo, not two.
        let accepted = client.negotiated().api_versions_version;
        if remembered != Some(accepted) {
            self.remember_version(addr, accepted);
        }
        Ok(client)
    }
}
