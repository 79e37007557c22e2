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

use std::borrow::Cow;
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
use crate::protocol::messages::{
    Api, ApiVersionsReply, ApiVersionsRequest, BrokerEntry, MetadataRequest, MetadataResponse, MetadataSink,
    PartitionEntry, TopicEntry,
};
use crate::protocol::primitives::{Int32s, Reader, Uuid};
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
    pub replicas: NodeIds,
    /// In-sync replica ids.
    pub isr: NodeIds,
}

/// Broker ids of a partition's replicas or ISR: up to four are kept inline
/// (replication factors are mostly 3), so reading them allocates nothing.
pub type NodeIds = smallvec::SmallVec<[i32; 4]>;

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

fn node_ids(ids: Int32s<'_>) -> NodeIds {
    let mut out = NodeIds::new();
    if ids.len() > out.inline_size() {
        out.reserve_exact(ids.len());
    }
    for id in ids.iter() {
        out.push(id);
    }
    out
}

/// Builds the client's types straight off a Metadata reply
/// ([`MetadataResponse::decode_into`]): what the client does not keep
/// (leader epochs, offline replicas, authorized operations) is read past,
/// never built.
struct Build;

impl MetadataSink for Build {
    type Broker = Broker;
    type Partition = Partition;
    type Topic = Topic;

    fn broker(&mut self, b: BrokerEntry<'_>) -> Broker {
        Broker {
            id: b.node_id,
            host: b.host.into_owned(),
            port: b.port,
            rack: b.rack.map(Cow::into_owned),
        }
    }

    fn partition(&mut self, p: PartitionEntry<'_>) -> Partition {
        Partition {
            index: p.partition_index,
            error: ErrorCode(p.error_code),
            leader: p.leader_id,
            replicas: node_ids(p.replica_nodes),
            isr: node_ids(p.isr_nodes),
        }
    }

    fn topic(&mut self, t: TopicEntry<'_>, partitions: Vec<Partition>) -> Topic {
        Topic {
            name: t.name.map(Cow::into_owned),
            id: TopicId::new(t.topic_id),
            error: ErrorCode(t.error_code),
            internal: t.is_internal,
            partitions,
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
        let (conn, negotiated, spent) = negotiate(addr, &config, version).await?;
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
            // The negotiation's last request buffer: one allocation less per
            // connect.
            out: spent
                .map(|mut b| {
                    b.clear();
                    b
                })
                .unwrap_or_else(|| BytesMut::with_capacity(64)),
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
        // Its table stays in place and its feature lists are skipped, not read.
        let resp = self.decoded(
            "ApiVersions",
            version,
            ApiVersionsReply::decode(&reply.body_bytes(), version),
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
        let read = MetadataResponse::decode_into(&mut Reader::new(reply.body()), version, &mut Build);
        let resp = self.decoded("Metadata", version, read)?;
        self.conn.throttle(api_key::METADATA, version, resp.throttle_time_ms);
        broker_error("Metadata", version, resp.error_code)?;
        Ok(ClusterMetadata {
            version,
            cluster_id: resp.cluster_id,
            controller_id: resp.controller_id,
            brokers: resp.brokers,
            topics: resp.topics,
        })
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

    /// A reply's body as decoded; a decode error kills the connection.
    fn decoded<T>(
        &mut self,
        api: &'static str,
        version: i16,
        read: Result<T, crate::protocol::DecodeError>,
    ) -> Result<T, ClientError> {
        read.map_err(|source| {
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
/// connections. Returns the connection the negotiation finished on, and the
/// last request frame it sent (its buffer can be reused).
async fn negotiate(
    addr: &str,
    config: &ClientConfig,
    start: i16,
) -> Result<(Connection, Negotiated, Option<BytesMut>), ClientError> {
    let connect = || async {
        let conn = Connection::connect(addr, config.connect_timeout, config.max_frame_bytes).await?;
        Ok::<_, ConnectionError>(match &config.transcript {
            Some(t) => conn.with_transcript(t),
            None => conn,
        })
    };
    let mut session = Session::starting_at(&config.session, start);
    let mut conn = connect().await?;
    let mut spent = None;
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
                    spent = Some(frame);
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
                return Ok((conn, negotiated, spent));
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
    match conn.recv_within(timeout).await {
        None => {
            let e = ConnectionError::Timeout {
                api: "ApiVersions",
                version,
                correlation_id,
                after: timeout,
            };
            conn.kill(&e);
            Err(e)
        }
        Some(Ok(Some(frame))) => Ok(Input::Frame(frame)),
        // EOF, a reset, or a reply cut short: the broker hung up.
        Some(Ok(None)) | Some(Err(ConnectionError::ClosedMidFrame { .. } | ConnectionError::Io { .. })) => {
            Ok(Input::Closed)
        }
        Some(Err(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::{Broker, Build, ClusterMetadata, Partition, Topic, TopicId};
    use crate::protocol::messages::{MetadataBroker, MetadataPartition, MetadataResponse, MetadataTopic};
    use crate::protocol::primitives::Reader;
    use crate::protocol::{DecodeError, ErrorCode};

    /// The client's types from the protocol's full decode, field by field:
    /// what [`Build`] must produce in one pass.
    fn from_full(version: i16, r: MetadataResponse) -> ClusterMetadata {
        ClusterMetadata {
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
                            replicas: p.replica_nodes.into_iter().collect(),
                            isr: p.isr_nodes.into_iter().collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn one_pass(bytes: &[u8], version: i16) -> Result<ClusterMetadata, DecodeError> {
        let r = MetadataResponse::decode_into(&mut Reader::new(bytes), version, &mut Build)?;
        Ok(ClusterMetadata {
            version,
            cluster_id: r.cluster_id,
            controller_id: r.controller_id,
            brokers: r.brokers,
            topics: r.topics,
        })
    }

    fn full(bytes: &[u8], version: i16) -> Result<ClusterMetadata, DecodeError> {
        MetadataResponse::decode(&mut Reader::new(bytes), version).map(|r| from_full(version, r))
    }

    #[test]
    fn one_pass_metadata_matches_the_full_decode_at_every_version() {
        let partition = |index: i32, replicas: Vec<i32>| MetadataPartition {
            error_code: if index == 1 { 9 } else { 0 },
            partition_index: index,
            leader_id: replicas.first().copied().unwrap_or(-1),
            leader_epoch: 7,
            isr_nodes: replicas.iter().copied().rev().collect(),
            replica_nodes: replicas,
            offline_replicas: vec![5],
        };
        let resp = MetadataResponse {
            throttle_time_ms: 3,
            brokers: vec![
                MetadataBroker {
                    node_id: 1,
                    host: "broker-1".into(),
                    port: 9092,
                    rack: Some("r1".into()),
                },
                MetadataBroker {
                    node_id: 2,
                    host: "h\u{e9}te".into(),
                    port: 9093,
                    rack: None,
                },
            ],
            cluster_id: Some("cluster".into()),
            controller_id: 2,
            topics: vec![
                MetadataTopic {
                    error_code: 0,
                    name: Some("orders".into()),
                    topic_id: [7; 16],
                    is_internal: true,
                    // None inline, three, and six (past the four kept inline).
                    partitions: vec![
                        partition(0, vec![]),
                        partition(1, vec![1, 2, 3]),
                        partition(2, (1..=6).collect()),
                    ],
                    topic_authorized_operations: 8,
                },
                MetadataTopic {
                    error_code: 3,
                    name: Some("missing".into()),
                    topic_id: [0; 16],
                    is_internal: false,
                    partitions: vec![],
                    topic_authorized_operations: 8,
                },
            ],
            ..MetadataResponse::default()
        };
        for version in 0..=13 {
            let mut b = BytesMut::new();
            resp.encode(&mut b, version).expect("encodes");
            let got = one_pass(&b, version).expect("decodes");
            assert_eq!(Ok(&got), full(&b, version).as_ref(), "v{version}");
            let six = &got.topics[0].partitions[2];
            assert_eq!(&six.replicas[..], &[1, 2, 3, 4, 5, 6], "v{version}");
            assert!(six.replicas.spilled() && !got.topics[0].partitions[1].replicas.spilled());
        }
    }

    proptest::proptest! {
        #[test]
        fn one_pass_metadata_matches_the_full_decode_on_random_bytes(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..96),
            version in 0i16..=14,
        ) {
            proptest::prop_assert_eq!(one_pass(&bytes, version), full(&bytes, version));
        }
    }

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
