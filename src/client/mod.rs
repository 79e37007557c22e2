//! The client: a thin tokio shell around [`crate::negotiate`].
//!
//! [`Client::connect`] opens a connection, drives the negotiation session
//! (reconnecting only when the session asks to), and keeps the negotiated
//! versions. [`Client::ping`] and [`Client::metadata`] then run at those
//! versions on the same connection. Once the connection dies every call
//! fails with [`ConnectionError::Dead`] and writes nothing.
//! [`ApiVersionsMemo`] is the reconnect option: a reconnect starts at the
//! ApiVersions version the broker accepted last time.

pub mod connection;
pub mod error;
pub mod memo;
pub mod transcript;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use serde::Serialize;
use tracing::Instrument;

pub use connection::{Connection, InFlight, Reply};
pub use error::{ClientError, ConnectionError};
pub use memo::ApiVersionsMemo;
pub use transcript::{Transcript, WireEvent};

use crate::negotiate::{Action, Input, Negotiated, Session, SessionConfig};
use crate::protocol::header::RequestHeader;
use crate::protocol::messages::{Api, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse};
use crate::protocol::primitives::{Reader, Uuid};
use crate::protocol::{api_key, write_request, EncodeError, ErrorCode, DEFAULT_MAX_FRAME_BYTES};

/// Client settings. `Default` gives 5 s timeouts and Kafka's frame limit.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Limit for each TCP connect.
    pub connect_timeout: Duration,
    /// Limit for each request's reply.
    pub request_timeout: Duration,
    /// Largest response frame accepted.
    pub max_frame_bytes: usize,
    /// Negotiation settings.
    pub session: SessionConfig,
    /// Where to record every frame, if anywhere (shared across reconnects).
    pub transcript: Option<Transcript>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            session: SessionConfig::default(),
            transcript: None,
        }
    }
}

/// The versions the client will use, per API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// ApiVersions version the broker accepted.
    pub api_versions: i16,
    /// Metadata version chosen.
    pub metadata: i16,
}

/// A broker as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broker {
    /// Node id.
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// Rack, if any.
    pub rack: Option<String>,
}

/// A partition as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Partition {
    /// Partition number.
    pub index: i32,
    /// Partition-level error.
    pub error: ErrorCode,
    /// Leader id, -1 if none.
    pub leader: i32,
    /// Replica ids.
    pub replicas: Vec<i32>,
    /// In-sync replica ids.
    pub isr: Vec<i32>,
}

/// A topic as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topic {
    /// Name (absent only when asked for by an unknown id).
    pub name: Option<String>,
    /// Topic id, if the version carries one and it is not zero.
    pub id: Option<TopicId>,
    /// Topic-level error.
    pub error: ErrorCode,
    /// Internal topic (e.g. `__consumer_offsets`).
    pub internal: bool,
    /// Partitions.
    pub partitions: Vec<Partition>,
}

/// What a Metadata request returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterMetadata {
    /// The version it was fetched at.
    pub version: i16,
    /// Cluster id (v2+).
    pub cluster_id: Option<String>,
    /// Controller id (v1+), -1 if unknown.
    pub controller_id: i32,
    /// Brokers.
    pub brokers: Vec<Broker>,
    /// Topics.
    pub topics: Vec<Topic>,
}

/// A topic id (16 bytes). Shown and serialized as 32 lowercase hex digits;
/// kept as bytes, so reading one costs no allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicId(pub Uuid);

impl TopicId {
    /// The id, or `None` for all zeroes (Kafka's "no id").
    pub fn new(id: Uuid) -> Option<Self> {
        (id != [0; 16]).then_some(Self(id))
    }
}

impl std::fmt::Display for TopicId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for TopicId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Serialize for TopicId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl ClusterMetadata {
    fn from_response(version: i16, r: MetadataResponse) -> Self {
        Self {
            version,
            cluster_id: r.cluster_id,
            controller_id: r.controller_id,
            brokers: r
                .brokers
                .into_iter()
                .map(|b| Broker {
                    id: b.node_id,
                    host: b.host,
                    port: b.port,
                    rack: b.rack,
                })
                .collect(),
            topics: r
                .topics
                .into_iter()
                .map(|t| Topic {
                    name: t.name,
                    id: TopicId::new(t.topic_id),
                    error: ErrorCode(t.error_code),
                    internal: t.is_internal,
                    partitions: t
                        .partitions
                        .into_iter()
                        .map(|p| Partition {
                            index: p.partition_index,
                            error: ErrorCode(p.error_code),
                            leader: p.leader_id,
                            replicas: p.replica_nodes,
                            isr: p.isr_nodes,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A negotiated connection to one broker.
#[derive(Debug)]
pub struct Client {
    conn: Connection,
    config: Arc<ClientConfig>,
    negotiated: Negotiated,
    versions: Versions,
    next_correlation_id: i32,
    /// Where each request is encoded (reused: no allocation per request).
    out: BytesMut,
}

impl Client {
    /// Connects to `addr` (`host:port`) and negotiates versions. `config`
    /// is a [`ClientConfig`], or an `Arc` of one shared by many connects.
    pub async fn connect(addr: &str, config: impl Into<Arc<ClientConfig>>) -> Result<Self, ClientError> {
        let config = config.into();
        let start = config.session.start_version;
        Self::connect_starting_at(addr, config, start).await
    }

    /// [`Client::connect`], with the negotiation started at ApiVersions
    /// `version` rather than `config.session.start_version` (what
    /// [`ApiVersionsMemo`] does).
    pub async fn connect_starting_at(
        addr: &str,
        config: impl Into<Arc<ClientConfig>>,
        version: i16,
    ) -> Result<Self, ClientError> {
        let config = config.into();
        let (conn, negotiated) = negotiate(addr, &config, version).await?;
        let apis = &config.session.apis;
        let versions = Versions {
            api_versions: negotiated.api_versions_version,
            metadata: negotiated.version_for(apis, api_key::METADATA)?,
        };
        tracing::debug!(?versions, attempts = negotiated.attempts.len(), "negotiated");
        Ok(Self {
            conn,
            next_correlation_id: negotiated.next_correlation_id,
            config,
            negotiated,
            versions,
            out: BytesMut::with_capacity(64),
        })
    }

    /// What the negotiation found.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// The versions in use.
    pub fn versions(&self) -> Versions {
        self.versions
    }

    /// The connection (for inspecting whether it is dead).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// A cheap round trip: ApiVersions at the negotiated version.
    ///
    /// Why ApiVersions: every broker answers it in any state (even before
    /// SASL authentication, KIP-43/KIP-511), it reads no cluster state, and
    /// it exercises the exact version negotiated. (franz-go's `Ping` sends
    /// Metadata without topics, which needs a working metadata cache;
    /// [`Client::metadata`] covers that separately.) Returns the latency.
    pub async fn ping(&mut self) -> Result<Duration, ClientError> {
        let started = Instant::now();
        let version = self.versions.api_versions;
        let reply = self
            .round_trip(Api::ApiVersions, version, |b, session| {
                ApiVersionsRequest::encode_fields(b, version, &session.software_name, &session.software_version)
            })
            .await?;
        // The reply's feature lists are not looked at: skipped, not read.
        let resp = self.decode(
            "ApiVersions",
            version,
            &reply,
            ApiVersionsResponse::decode_without_features,
        )?;
        self.conn
            .throttle(api_key::API_VERSIONS, version, resp.throttle_time_ms);
        broker_error("ApiVersions", version, resp.error_code)?;
        Ok(started.elapsed())
    }

    /// Metadata at the negotiated version: `None` asks for all topics.
    pub async fn metadata(&mut self, topics: Option<&[&str]>) -> Result<ClusterMetadata, ClientError> {
        let version = self.versions.metadata;
        let request = match topics {
            None => MetadataRequest::default(),
            Some(names) => MetadataRequest::for_topics(names.iter().copied()),
        };
        let reply = self
            .round_trip(Api::Metadata, version, |b, _| request.encode(b, version))
            .await?;
        let resp = self.decode("Metadata", version, &reply, MetadataResponse::decode)?;
        self.conn.throttle(api_key::METADATA, version, resp.throttle_time_ms);
        broker_error("Metadata", version, resp.error_code)?;
        Ok(ClusterMetadata::from_response(version, resp))
    }

    /// Encodes a request of `api` at `version` (its body written by `body`,
    /// from the session settings if it needs them) into the reused buffer,
    /// and sends it.
    async fn round_trip(
        &mut self,
        api: Api,
        version: i16,
        body: impl FnOnce(&mut BytesMut, &SessionConfig) -> Result<(), EncodeError>,
    ) -> Result<Reply, ClientError> {
        let spec = api.spec();
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let session = &self.config.session;
        self.out.clear();
        write_request(
            &mut self.out,
            api,
            version,
            correlation_id,
            session.client_id.as_deref(),
            |b| body(b, session),
        )
        .map_err(|source| ClientError::Encode {
            api: spec.name,
            version,
            source,
        })?;
        let req = InFlight {
            api: spec.name,
            key: spec.key,
            version,
            correlation_id,
            response_header_version: spec.response_header_version(version),
        };
        Ok(self
            .conn
            .round_trip(&self.out, req, self.config.request_timeout)
            .await?)
    }

    fn decode<T>(
        &mut self,
        api: &'static str,
        version: i16,
        reply: &Reply,
        decode: impl FnOnce(&mut Reader<'_>, i16) -> Result<T, crate::protocol::DecodeError>,
    ) -> Result<T, ClientError> {
        decode(&mut Reader::new(reply.body()), version).map_err(|source| {
            let e = ConnectionError::Decode { api, version, source };
            // A body we cannot read means we no longer trust the stream.
            self.conn.kill(&e);
            ClientError::Connection(e)
        })
    }
}

/// A top-level error code as a [`ClientError::Broker`], or `Ok` for 0.
fn broker_error(api: &'static str, version: i16, code: i16) -> Result<(), ClientError> {
    match ErrorCode(code) {
        ErrorCode::NONE => Ok(()),
        code => Err(ClientError::Broker { api, version, code }),
    }
}

/// Drives a [`Session`] started at ApiVersions `start` over real
/// connections. Returns the connection the negotiation finished on.
async fn negotiate(addr: &str, config: &ClientConfig, start: i16) -> Result<(Connection, Negotiated), ClientError> {
    let connect = || async {
        let conn = Connection::connect(addr, config.connect_timeout, config.max_frame_bytes).await?;
        Ok::<_, ConnectionError>(match &config.transcript {
            Some(t) => conn.with_transcript(t),
            None => conn,
        })
    };
    let mut session = Session::starting_at(&config.session, start);
    let mut conn = connect().await?;
    let mut action = session.on_connected();
    loop {
        action = match action {
            Action::Send(frame) => {
                conn.wait_throttle().await;
                // Never write on a connection the broker has closed.
                if conn.peer_closed() {
                    session.on_input(Input::Closed)
                } else {
                    // The session built this frame; its header always parses.
                    let (_, version, correlation_id) = RequestHeader::peek_ids(&frame[4..]).unwrap_or((0, -1, -1));
                    let span = tracing::debug_span!("request", api = "ApiVersions", version, correlation_id);
                    let exchanged = exchange(&mut conn, &frame, version, correlation_id, config.request_timeout)
                        .instrument(span)
                        .await;
                    match exchanged {
                        Ok(input) => session.on_input(input),
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Action::Reconnect => {
                conn.kill("closed by the broker during negotiation");
                conn = connect().await?;
                session.on_connected()
            }
            Action::Done(negotiated) => {
                let version = negotiated.api_versions_version;
                conn.throttle(api_key::API_VERSIONS, version, negotiated.throttle_time_ms);
                return Ok((conn, negotiated));
            }
            Action::Fail(e) => {
                conn.kill(&e);
                tracing::debug!(attempts = ?session.attempts(), "negotiation failed");
                return Err(e.into());
            }
        }
    }
}

/// One ApiVersions request on the wire, turned into a session input. EOF
/// (clean or not) becomes `Input::Closed`; a timeout is an error.
async fn exchange(
    conn: &mut Connection,
    frame: &[u8],
    version: i16,
    correlation_id: i32,
    timeout: Duration,
) -> Result<Input, ConnectionError> {
    // The caller has just checked for a pending close.
    if let Err(e) = conn.write_frame(frame).await {
        return match e {
            ConnectionError::Io { .. } => Ok(Input::Closed),
            e => Err(e),
        };
    }
    match tokio::time::timeout(timeout, conn.recv()).await {
        Err(_) => {
            let e = ConnectionError::Timeout {
                api: "ApiVersions",
                version,
                correlation_id,
                after: timeout,
            };
            conn.kill(&e);
            Err(e)
        }
        Ok(Ok(Some(frame))) => Ok(Input::Frame(frame)),
        // EOF, a reset, or a reply cut short: the broker hung up.
        Ok(Ok(None)) | Ok(Err(ConnectionError::ClosedMidFrame { .. } | ConnectionError::Io { .. })) => {
            Ok(Input::Closed)
        }
        Ok(Err(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::TopicId;

    #[test]
    fn topic_ids_show_as_lowercase_hex_and_zero_is_none() {
        assert_eq!(TopicId::new([0; 16]), None);
        let id: [u8; 16] = [
            0x00, 0x01, 0x0a, 0x10, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff, 2, 3, 4, 5, 6, 0x9c,
        ];
        let expected: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let shown = TopicId::new(id).map(|t| t.to_string());
        assert_eq!(shown, Some(expected.clone()));
        assert_eq!(
            TopicId::new([0xff; 16]).map(|t| t.to_string()).as_deref(),
            Some("ffffffffffffffffffffffffffffffff")
        );
        let json = serde_json::to_string(&TopicId::new(id)).expect("serializes");
        assert_eq!(json, format!("\"{expected}\""));
    }
}
