//! The ApiVersions negotiation as a pure state machine.
//!
//! The session never touches a socket or a clock. The shell (see
//! `client::connection`) opens connections, writes what the session asks it
//! to write, and feeds back what came in:
//!
//! ```text
//!   new connection ──► on_connected() ──► Action::Send(frame)
//!   reply frame    ──► on_input(Input::Frame(body)) ──► Send | Done | Fail
//!   EOF            ──► on_input(Input::Closed)      ──► Reconnect | Fail
//! ```
//!
//! The rules it follows:
//! - start at the configured ApiVersions version (4, the newest, by default);
//! - on UNSUPPORTED_VERSION (35) read the body as v0, whatever version was
//!   sent (the broker could not know how to write a newer one). If it holds
//!   the broker's ApiVersions range (KIP-511, Kafka ≥ 2.4), retry at
//!   `min(client max, broker max)`; if not (Kafka < 2.4), retry at v0;
//! - the retry goes on the same connection if the broker kept it open. The
//!   shell must never write on a connection it has seen close: when it has,
//!   it answers a `Send` with `Input::Closed`, and the session asks for a
//!   new connection (`Reconnect`) and sends the retry there;
//! - a connection closed (or reset) before any reply to ApiVersions vN is a
//!   broker that drops what it does not know instead of refusing it (Azure
//!   Event Hubs on v4): reconnect and ask at v3 from above it, then at v0,
//!   then give up;
//! - attempts and reconnects are bounded.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

use super::error::{Hint, NegotiateError};
use super::select::{select, ClientApis};
use crate::protocol::header::ResponseHeader;
use crate::protocol::messages::{Api, ApiKeys, ApiVersionsReply, ApiVersionsRequest, ApiVersionsResponse};
use crate::protocol::primitives::Reader;
use crate::protocol::{api_key, write_request, DecodeError, ErrorCode, VersionRange};

/// How the session behaves. `Default` is this crate's client.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The ApiVersions version to try first.
    pub start_version: i16,
    /// The client id in every request header.
    pub client_id: Option<String>,
    /// ClientSoftwareName (ApiVersions v3+).
    pub software_name: String,
    /// ClientSoftwareVersion (ApiVersions v3+).
    pub software_version: String,
    /// The APIs and versions the client speaks.
    pub apis: ClientApis,
    /// Most ApiVersions requests to send, retries included.
    pub max_attempts: u32,
    /// Most new connections to open after the first.
    pub max_reconnects: u32,
    /// Correlation id of the first request.
    pub first_correlation_id: i32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            start_version: crate::protocol::messages::api_versions::CLIENT_VERSIONS.max,
            client_id: Some("kafka-matrix".into()),
            software_name: "kafka-matrix".into(),
            software_version: env!("CARGO_PKG_VERSION").into(),
            apis: ClientApis::kafka_matrix(),
            max_attempts: 4,
            max_reconnects: 2,
            first_correlation_id: 1,
        }
    }
}

/// Something that happened on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A whole response frame, without its 4-byte size prefix.
    Frame(Bytes),
    /// The peer closed the connection (or the shell saw it closed before it
    /// could send what was asked).
    Closed,
}

/// What the shell must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write this frame (size prefix included) on the current connection, if
    /// it is still open; otherwise report `Input::Closed` instead. The
    /// session keeps no copy: once written, the buffer is the shell's to
    /// reuse (the client encodes its next requests into the last one).
    Send(BytesMut),
    /// Drop the current connection, open a new one, call `on_connected`.
    Reconnect,
    /// Negotiation finished.
    Done(Negotiated),
    /// Negotiation failed; the connection must not be used again.
    Fail(NegotiateError),
}

/// How one ApiVersions attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// The broker answered without error.
    Accepted,
    /// The broker answered UNSUPPORTED_VERSION, with or without a KIP-511 hint.
    Unsupported {
        /// The broker's ApiVersions range from the v0 error body, if any.
        hint: Option<VersionRange>,
    },
    /// The connection closed before a reply.
    Closed,
}

/// The attempts of one negotiation, in order. The default allows four
/// ([`SessionConfig::max_attempts`]); that many are kept inline, so
/// recording them allocates nothing.
pub type Attempts = smallvec::SmallVec<[Attempt; 4]>;

/// One ApiVersions request and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Attempt {
    /// The version sent.
    pub version: i16,
    /// Its correlation id.
    pub correlation_id: i32,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The result of a successful negotiation.
///
/// The negotiation reads what it needs of the broker's reply
/// ([`ApiVersionsReply`]): the API table, kept in place in the reply's bytes,
/// and the throttle time. The KIP-584 feature lists (a `String` per name, a
/// dozen on 4.x) are skipped by their size, as librdkafka skips them;
/// [`Negotiated::response`] reads the whole reply when they are wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The ApiVersions version the broker finally answered.
    pub api_versions_version: i16,
    /// The broker's API table, in the order it sent it (read in place).
    pub api_keys: ApiKeys,
    /// The reply's throttle time (v1+; 0 below).
    pub throttle_time_ms: i32,
    /// Every attempt in order, the successful one last.
    pub attempts: Attempts,
    /// New connections opened after the first.
    pub reconnects: u32,
    /// The correlation id the connection should use next.
    pub next_correlation_id: i32,
    /// The accepted reply's body (after its header), for [`Negotiated::response`].
    reply: Bytes,
}

impl Negotiated {
    /// The broker's whole ApiVersions reply, feature lists included, read
    /// from the kept body. An error means the feature fields, which the
    /// negotiation skipped, do not decode.
    pub fn response(&self) -> Result<ApiVersionsResponse, DecodeError> {
        ApiVersionsResponse::decode(&mut Reader::new(&self.reply), self.api_versions_version)
    }

    /// The range the broker advertised for `key`, if any (a flipped range counts as none).
    pub fn range_of(&self, key: i16) -> Option<VersionRange> {
        self.api_keys.range_of(key)
    }

    /// The broker's ranges by API key (flipped ranges are left out).
    pub fn broker_ranges(&self) -> BTreeMap<i16, VersionRange> {
        self.api_keys
            .iter()
            .filter_map(|e| VersionRange::new(e.min_version, e.max_version).map(|r| (e.api_key, r)))
            .collect()
    }

    /// The version to use for `key`, given what the client speaks.
    pub fn version_for(&self, apis: &ClientApis, key: i16) -> Result<i16, NegotiateError> {
        let (name, client) = apis
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, n, r)| (n, r))
            .ok_or(NegotiateError::Misuse("the client does not speak this API"))?;
        select(name, key, client, self.range_of(key))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a (new) connection to send `version` on.
    Connect { version: i16 },
    /// A request is out (or was handed to the shell).
    Awaiting {
        version: i16,
        correlation_id: i32,
        /// This is a retry on the connection that just carried a refusal;
        /// an EOF here means "the broker closed after refusing", not failure.
        retry_on_same_connection: bool,
    },
    /// Done or failed; nothing more will happen.
    Finished,
}

/// One negotiation, over the configuration it borrows. See the module docs
/// for how to drive it.
#[derive(Debug, Clone)]
pub struct Session<'a> {
    config: &'a SessionConfig,
    state: State,
    next_correlation_id: i32,
    attempts: Attempts,
    reconnects: u32,
}

impl<'a> Session<'a> {
    /// A session that will start at `config.start_version`.
    pub fn new(config: &'a SessionConfig) -> Self {
        Self::starting_at(config, config.start_version)
    }

    /// A session that will start at ApiVersions `version` instead (a version
    /// the broker accepted before, which a client may remember).
    pub fn starting_at(config: &'a SessionConfig, version: i16) -> Self {
        let next_correlation_id = config.first_correlation_id;
        Self {
            config,
            state: State::Connect { version },
            next_correlation_id,
            attempts: Attempts::new(),
            reconnects: 0,
        }
    }

    /// Attempts recorded so far (also after a failure; once done, they are
    /// in [`Negotiated::attempts`] and no longer here).
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// A connection is open: returns the request to send on it.
    pub fn on_connected(&mut self) -> Action {
        match self.state {
            State::Connect { version } => self.send(version, false),
            _ => self.fail(NegotiateError::Misuse(
                "on_connected while not waiting for a connection",
            )),
        }
    }

    /// Feeds what happened on the connection.
    pub fn on_input(&mut self, input: Input) -> Action {
        let State::Awaiting {
            version,
            correlation_id,
            retry_on_same_connection,
        } = self.state
        else {
            return self.fail(NegotiateError::Misuse("input while no request is out"));
        };
        match input {
            Input::Closed => {
                self.record(version, correlation_id, Outcome::Closed);
                let next = if retry_on_same_connection {
                    // The retry the broker's refusal asked for, on a new connection.
                    version
                } else {
                    // Closed (or reset) before any reply: a broker that drops
                    // versions it does not know instead of refusing them.
                    match Self::after_silent_close(version) {
                        Some(lower) if self.reconnects < self.config.max_reconnects => lower,
                        _ => return self.fail(NegotiateError::ClosedWithoutReply { version }),
                    }
                };
                if self.reconnects >= self.config.max_reconnects {
                    return self.exhausted();
                }
                self.reconnects += 1;
                self.state = State::Connect { version: next };
                Action::Reconnect
            }
            Input::Frame(frame) => self.on_frame(frame, version, correlation_id),
        }
    }

    fn on_frame(&mut self, frame: Bytes, version: i16, expected: i32) -> Action {
        let mut r = Reader::new(&frame);
        // ApiVersions responses always use response header v0.
        let header = match ResponseHeader::decode(&mut r, 0) {
            Ok(h) => h,
            Err(source) => return self.fail(NegotiateError::Decode { version, source }),
        };
        if header.correlation_id != expected {
            return self.fail(NegotiateError::CorrelationMismatch {
                version,
                expected,
                got: header.correlation_id,
            });
        }
        // Every ApiVersions version starts with error_code; a refusal is
        // written as v0 whatever version was asked for.
        let error = match r.clone().i16("error_code") {
            Ok(code) => ErrorCode(code),
            Err(source) => return self.fail(NegotiateError::Decode { version, source }),
        };
        let body_version = if error == ErrorCode::UNSUPPORTED_VERSION {
            0
        } else {
            version
        };
        let body = frame.slice(r.position()..);
        let response = match ApiVersionsReply::decode(&body, body_version) {
            Ok(resp) => resp,
            Err(source) => {
                return self.fail(NegotiateError::Decode {
                    version: body_version,
                    source,
                })
            }
        };
        match error {
            ErrorCode::NONE => {
                self.record(version, expected, Outcome::Accepted);
                self.state = State::Finished;
                Action::Done(Negotiated {
                    api_versions_version: version,
                    api_keys: response.api_keys,
                    throttle_time_ms: response.throttle_time_ms,
                    reply: body,
                    // The session is finished: its record moves, uncopied.
                    attempts: std::mem::take(&mut self.attempts),
                    reconnects: self.reconnects,
                    next_correlation_id: self.next_correlation_id,
                })
            }
            ErrorCode::UNSUPPORTED_VERSION => {
                let hint = response.api_keys.range_of(api_key::API_VERSIONS);
                self.record(version, expected, Outcome::Unsupported { hint });
                match self.fallback(version, hint) {
                    Ok(next) => self.send(next, true),
                    Err(e) => self.fail(e),
                }
            }
            code => self.fail(NegotiateError::Broker { version, code }),
        }
    }

    /// The version to retry at after `refused` was refused.
    /// The version to try on a new connection after the broker closed one
    /// without answering ApiVersions `version`: v3 (the newest before KIP-511's
    /// v4, which brokers built on the 3.x protocol, like Azure Event Hubs,
    /// reset on: franz-go#1025) from above it, then v0 (what every broker
    /// since 0.10 answers; kafka-python's fix, dpkp/kafka-python#2603), then
    /// nothing.
    fn after_silent_close(version: i16) -> Option<i16> {
        match version {
            v if v > 3 => Some(3),
            v if v > 0 => Some(0),
            _ => None,
        }
    }

    fn fallback(&self, refused: i16, hint: Option<VersionRange>) -> Result<i16, NegotiateError> {
        let client = self
            .config
            .apis
            .range(api_key::API_VERSIONS)
            .unwrap_or(crate::protocol::messages::api_versions::CLIENT_VERSIONS);
        let next = match hint {
            Some(broker) => select("ApiVersions", api_key::API_VERSIONS, client, Some(broker))?,
            None => 0,
        };
        if next >= refused {
            return Err(NegotiateError::NoFallback {
                version: refused,
                hint: hint.map_or(Hint::None, Hint::Range),
            });
        }
        Ok(next)
    }

    fn send(&mut self, version: i16, retry_on_same_connection: bool) -> Action {
        if self.attempts.len() as u32 >= self.config.max_attempts {
            return self.exhausted();
        }
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let config = self.config;
        let mut frame = BytesMut::with_capacity(64);
        let written = write_request(
            &mut frame,
            Api::ApiVersions,
            version,
            correlation_id,
            config.client_id.as_deref(),
            |b| ApiVersionsRequest::encode_fields(b, version, &config.software_name, &config.software_version),
        );
        match written {
            Ok(()) => {
                self.state = State::Awaiting {
                    version,
                    correlation_id,
                    retry_on_same_connection,
                };
                Action::Send(frame)
            }
            Err(source) => self.fail(NegotiateError::Encode { version, source }),
        }
    }

    fn record(&mut self, version: i16, correlation_id: i32, outcome: Outcome) {
        self.attempts.push(Attempt {
            version,
            correlation_id,
            outcome,
        });
    }

    fn exhausted(&mut self) -> Action {
        self.fail(NegotiateError::RetriesExhausted {
            attempts: self.attempts.len() as u32,
            reconnects: self.reconnects,
        })
    }

    fn fail(&mut self, e: NegotiateError) -> Action {
        self.state = State::Finished;
        Action::Fail(e)
    }
}
