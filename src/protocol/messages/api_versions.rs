//! ApiVersions (key 18), v0–v4.
//!
//! Version notes (Kafka `ApiVersionsRequest.json` / `ApiVersionsResponse.json`):
//! - v0: request is empty; response is error_code + api_keys.
//! - v1: response adds throttle_time_ms.
//! - v2: no format change.
//! - v3: first flexible version (KIP-511, Kafka 2.4): the request carries
//!   client_software_name/version; the response adds tagged fields
//!   SupportedFeatures (0), FinalizedFeaturesEpoch (1), FinalizedFeatures (2)
//!   and later ZkMigrationReady (3). The response *header* stays v0.
//! - v4: no format change (KAFKA-17011: SupportedFeatures.min_version may be 0;
//!   first advertised by Kafka 3.9).
//!
//! A broker that gets an ApiVersions version it does not know answers with a
//! v0 body and error 35; since 2.4 that body lists the broker's own
//! ApiVersions range, so the client can retry at the right version.

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::messages::ApiSpec;
use crate::protocol::primitives::{
    put_empty_tagged_fields, put_nullable_string, put_string, put_tagged_fields, put_vec, Reader, PREALLOCATED,
};
use crate::protocol::version::{api_key, VersionRange};

/// ApiVersions, declared once: key 18, v0-5, flexible from v3 (v5, Kafka
/// 4.4, KIP-1242: the request adds ClusterId and NodeId). Its
/// response header stays v0 even when flexible (KIP-511): a broker must be
/// able to answer a client whose version it does not know, and librdkafka
/// and the Java client read it that way.
pub const SPEC: ApiSpec = ApiSpec {
    key: api_key::API_VERSIONS,
    name: "ApiVersions",
    versions: VersionRange { min: 0, max: 5 },
    first_flexible: 3,
    flexible_response_header: false,
};

/// Versions of ApiVersions this codec handles.
pub const VERSIONS: VersionRange = SPEC.versions;

/// Versions of ApiVersions this crate's client speaks, and so starts at: v0–4.
/// v5 only adds the client's claim of the cluster and node it meant to reach
/// (KIP-1242), which a bootstrap connection cannot know; v4 is what every
/// release from 3.9 answers, 4.4 included.
pub const CLIENT_VERSIONS: VersionRange = VersionRange { min: 0, max: 4 };

fn check(version: i16) -> Result<bool, EncodeError> {
    SPEC.check_encode(version)
}

fn check_decode(version: i16) -> Result<bool, DecodeError> {
    SPEC.check_decode(version)
}

/// ApiVersions request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersionsRequest {
    /// v3+: the client's name (Kafka validates it against
    /// `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`).
    pub client_software_name: String,
    /// v3+: the client's version, same rule.
    pub client_software_version: String,
    /// v5+: the cluster the client means to reach; `None` when it does not know.
    pub cluster_id: Option<String>,
    /// v5+: the node the client means to reach; -1 when it does not know.
    pub node_id: i32,
}

impl Default for ApiVersionsRequest {
    fn default() -> Self {
        Self {
            client_software_name: String::new(),
            client_software_version: String::new(),
            cluster_id: None,
            node_id: -1,
        }
    }
}

impl ApiVersionsRequest {
    /// Writes the body at `version`. Below v3 the software fields are not sent.
    pub fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        Self::write(
            buf,
            version,
            &self.client_software_name,
            &self.client_software_version,
            self.cluster_id.as_deref(),
            self.node_id,
        )
    }

    /// [`ApiVersionsRequest::encode`] from borrowed fields (a client writes
    /// its name and version without copying them into a request first); at
    /// v5 it claims no cluster and no node.
    pub fn encode_fields(
        buf: &mut BytesMut,
        version: i16,
        client_software_name: &str,
        client_software_version: &str,
    ) -> Result<(), EncodeError> {
        Self::write(buf, version, client_software_name, client_software_version, None, -1)
    }

    fn write(
        buf: &mut BytesMut,
        version: i16,
        client_software_name: &str,
        client_software_version: &str,
        cluster_id: Option<&str>,
        node_id: i32,
    ) -> Result<(), EncodeError> {
        if check(version)? {
            put_string(buf, true, client_software_name, "client_software_name")?;
            put_string(buf, true, client_software_version, "client_software_version")?;
            if version >= 5 {
                put_nullable_string(buf, true, cluster_id, "cluster_id")?;
                buf.put_i32(node_id);
            }
            put_empty_tagged_fields(buf);
        }
        Ok(())
    }

    /// Reads the body at `version`. Bytes after the last field the version
    /// defines are not read, as Kafka's generated readers leave them (see
    /// docs/fidelity.md, "Parsing").
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let mut out = Self::default();
        if check_decode(version)? {
            out.client_software_name = r.string(true, "client_software_name")?;
            out.client_software_version = r.string(true, "client_software_version")?;
            if version >= 5 {
                out.cluster_id = r.nullable_string(true, "cluster_id")?;
                out.node_id = r.i32("node_id")?;
            }
            r.skip_tagged_fields()?;
        }
        Ok(out)
    }
}

/// One entry of the response's api_keys array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersionEntry {
    /// The API key.
    pub api_key: i16,
    /// Lowest supported version.
    pub min_version: i16,
    /// Highest supported version.
    pub max_version: i16,
}

/// Bytes of an api_keys entry in its common shape: 6, plus the empty tag
/// section in flexible versions. Also the fewest an entry can take.
fn entry_size(flexible: bool) -> usize {
    if flexible {
        7
    } else {
        6
    }
}

/// The api_keys array. An entry is 6 bytes, then (flexible versions) a tag
/// section that is all but always empty: that shape is read straight off the
/// bytes, one bounds check an entry (a 4.x table has 90); an entry with tags,
/// or one cut short, is read field by field, with the same errors.
fn read_entries(r: &mut Reader<'_>, flexible: bool, n: usize) -> Result<Vec<ApiVersionEntry>, DecodeError> {
    let size = entry_size(flexible);
    let mut out = Vec::with_capacity(n.min(PREALLOCATED));
    let whole = r.rest().chunks_exact(size).take(n);
    // How many entries, from the first, have that shape: counted first, so
    // that the copy below runs over a known length.
    let fast = if flexible {
        whole.take_while(|e| e[6] == 0).count()
    } else {
        whole.len()
    };
    out.extend(r.rest().chunks_exact(size).take(fast).map(|e| ApiVersionEntry {
        api_key: i16::from_be_bytes([e[0], e[1]]),
        min_version: i16::from_be_bytes([e[2], e[3]]),
        max_version: i16::from_be_bytes([e[4], e[5]]),
    }));
    r.skip(out.len() * size);
    for _ in out.len()..n {
        out.push(ApiVersionEntry {
            api_key: r.i16("api_key")?,
            min_version: r.i16("min_version")?,
            max_version: r.i16("max_version")?,
        });
        if flexible {
            r.skip_tagged_fields()?;
        }
    }
    Ok(out)
}

/// The api_keys array of an ApiVersions reply as [`ApiVersionsReply`] keeps
/// it: the reply's own bytes when every entry has the common shape (6 bytes,
/// then in flexible versions an empty tag section), else the entries as
/// read. Either way, entries come out in the order the broker sent them.
#[derive(Debug, Clone)]
pub struct ApiKeys(Keys);

#[derive(Debug, Clone)]
enum Keys {
    /// The entries back to back, `stride` bytes each (6, or 7 with the empty
    /// tag section).
    InPlace {
        bytes: Bytes,
        stride: usize,
    },
    Read(Vec<ApiVersionEntry>),
}

impl ApiKeys {
    /// How many entries.
    pub fn len(&self) -> usize {
        match &self.0 {
            Keys::InPlace { bytes, stride } => bytes.len() / stride,
            Keys::Read(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entry `i`, in the order sent.
    pub fn get(&self, i: usize) -> Option<ApiVersionEntry> {
        match &self.0 {
            Keys::InPlace { bytes, stride } => bytes.get(i * stride..i * stride + 6).map(|e| ApiVersionEntry {
                api_key: i16::from_be_bytes([e[0], e[1]]),
                min_version: i16::from_be_bytes([e[2], e[3]]),
                max_version: i16::from_be_bytes([e[4], e[5]]),
            }),
            Keys::Read(v) => v.get(i).copied(),
        }
    }

    /// The entries, in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = ApiVersionEntry> + '_ {
        (0..self.len()).map_while(|i| self.get(i))
    }

    /// The range advertised for `api_key`, if any (a flipped range counts as
    /// none; the first entry for a key wins).
    pub fn range_of(&self, api_key: i16) -> Option<VersionRange> {
        range_in(self.iter(), api_key)
    }

    /// The entries, copied out.
    pub fn to_vec(&self) -> Vec<ApiVersionEntry> {
        self.iter().collect()
    }
}

impl PartialEq for ApiKeys {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ApiKeys {}

impl From<Vec<ApiVersionEntry>> for ApiKeys {
    fn from(entries: Vec<ApiVersionEntry>) -> Self {
        Self(Keys::Read(entries))
    }
}

/// What negotiating and pinging read of an ApiVersions reply: the error, the
/// table (kept in place, [`ApiKeys`]) and the throttle time. The tagged
/// fields (the KIP-584 feature lists, a `String` per name on 4.x) are skipped
/// by their size, as librdkafka skips them; [`ApiVersionsResponse::decode`]
/// reads them. What is read fails as that decode fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersionsReply {
    /// The top-level error (35 UNSUPPORTED_VERSION for a refusal, in a v0 body).
    pub error_code: i16,
    /// The broker's API table.
    pub api_keys: ApiKeys,
    /// v1+; 0 below.
    pub throttle_time_ms: i32,
}

impl ApiVersionsReply {
    /// Reads `body` (the reply after its header) at `version`.
    pub fn decode(body: &Bytes, version: i16) -> Result<Self, DecodeError> {
        let flexible = check_decode(version)?;
        let mut r = Reader::new(body);
        let error_code = r.i16("error_code")?;
        let stride = entry_size(flexible);
        let n = r
            .array_len(flexible, stride, "api_keys")?
            .ok_or(DecodeError::UnexpectedNull { what: "api_keys" })?;
        // `array_len` has checked that `n` entries of `stride` bytes are there.
        let table = &r.rest()[..n * stride];
        let api_keys = if !flexible || tag_sections_empty(table) {
            let start = r.position();
            r.skip(table.len());
            ApiKeys(Keys::InPlace {
                bytes: body.slice(start..start + table.len()),
                stride,
            })
        } else {
            ApiKeys(Keys::Read(read_entries(&mut r, flexible, n)?))
        };
        let throttle_time_ms = if version >= 1 { r.i32("throttle_time_ms")? } else { 0 };
        if flexible {
            r.skip_tagged_fields()?;
        }
        Ok(Self {
            error_code,
            api_keys,
            throttle_time_ms,
        })
    }
}

/// Whether every entry of a flexible table (7 bytes each) ends in an empty
/// tag section. A whole-table OR, with no early exit: on the 60–90 entries
/// of a real table it compiles to a short loop with no branch per entry
/// (callgrind: ~1.1 k instructions less per Kafka 4.x reply than stopping at
/// the first entry with tags).
fn tag_sections_empty(table: &[u8]) -> bool {
    table.chunks_exact(7).fold(0u8, |tags, e| tags | e[6]) == 0
}

/// The range `entries` advertise for `api_key`, if any (a flipped range
/// counts as none; the first entry for a key wins).
fn range_in(entries: impl IntoIterator<Item = ApiVersionEntry>, api_key: i16) -> Option<VersionRange> {
    entries
        .into_iter()
        .find(|e| e.api_key == api_key)
        .and_then(|e| VersionRange::new(e.min_version, e.max_version))
}

/// A feature range the broker supports (tagged field 0, v3+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportedFeature {
    /// Feature name, e.g. `metadata.version`.
    pub name: String,
    /// Lowest supported level.
    pub min_version: i16,
    /// Highest supported level.
    pub max_version: i16,
}

/// A finalized feature level (tagged field 2, v3+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizedFeature {
    /// Feature name.
    pub name: String,
    /// Highest finalized level.
    pub max_version_level: i16,
    /// Lowest finalized level.
    pub min_version_level: i16,
}

/// ApiVersions response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersionsResponse {
    /// 0, or e.g. 35 UNSUPPORTED_VERSION.
    pub error_code: i16,
    /// What the broker supports, one entry per API key.
    pub api_keys: Vec<ApiVersionEntry>,
    /// v1+.
    pub throttle_time_ms: i32,
    /// Tag 0, v3+.
    pub supported_features: Vec<SupportedFeature>,
    /// Tag 1, v3+; -1 when absent.
    pub finalized_features_epoch: i64,
    /// Tag 2, v3+.
    pub finalized_features: Vec<FinalizedFeature>,
    /// Tag 3, v3+; false when absent.
    pub zk_migration_ready: bool,
}

impl Default for ApiVersionsResponse {
    fn default() -> Self {
        Self {
            error_code: 0,
            api_keys: Vec::new(),
            throttle_time_ms: 0,
            supported_features: Vec::new(),
            finalized_features_epoch: -1,
            finalized_features: Vec::new(),
            zk_migration_ready: false,
        }
    }
}

impl ApiVersionsResponse {
    /// The range advertised for `api_key`, if any (a flipped range counts as none).
    pub fn range_of(&self, api_key: i16) -> Option<VersionRange> {
        range_in(self.api_keys.iter().copied(), api_key)
    }

    /// Writes the body at `version`. Fields the version lacks are left out.
    pub fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        let flexible = check(version)?;
        buf.put_i16(self.error_code);
        put_vec(buf, flexible, &self.api_keys, "api_keys", |b, e| {
            b.put_i16(e.api_key);
            b.put_i16(e.min_version);
            b.put_i16(e.max_version);
            if flexible {
                put_empty_tagged_fields(b);
            }
            Ok(())
        })?;
        if version >= 1 {
            buf.put_i32(self.throttle_time_ms);
        }
        if flexible {
            let mut tags: Vec<(u32, Bytes)> = Vec::new();
            if !self.supported_features.is_empty() {
                let mut t = BytesMut::new();
                put_vec(&mut t, true, &self.supported_features, "supported_features", |b, f| {
                    put_string(b, true, &f.name, "feature name")?;
                    b.put_i16(f.min_version);
                    b.put_i16(f.max_version);
                    put_empty_tagged_fields(b);
                    Ok(())
                })?;
                tags.push((0, t.freeze()));
            }
            if self.finalized_features_epoch != -1 {
                tags.push((1, Bytes::copy_from_slice(&self.finalized_features_epoch.to_be_bytes())));
            }
            if !self.finalized_features.is_empty() {
                let mut t = BytesMut::new();
                put_vec(&mut t, true, &self.finalized_features, "finalized_features", |b, f| {
                    put_string(b, true, &f.name, "feature name")?;
                    b.put_i16(f.max_version_level);
                    b.put_i16(f.min_version_level);
                    put_empty_tagged_fields(b);
                    Ok(())
                })?;
                tags.push((2, t.freeze()));
            }
            if self.zk_migration_ready {
                tags.push((3, Bytes::from_static(&[1])));
            }
            put_tagged_fields(buf, &tags);
        }
        Ok(())
    }

    /// Reads the body at `version`. Bytes after the last field the version
    /// defines are not read, as Kafka's generated readers leave them (see
    /// docs/fidelity.md, "Parsing").
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let flexible = check_decode(version)?;
        let mut out = Self {
            error_code: r.i16("error_code")?,
            ..Self::default()
        };
        let n = r
            .array_len(flexible, entry_size(flexible), "api_keys")?
            .ok_or(DecodeError::UnexpectedNull { what: "api_keys" })?;
        out.api_keys = read_entries(r, flexible, n)?;
        if version >= 1 {
            out.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        if flexible {
            r.tagged_fields(|tag, t| {
                match tag {
                    0 => {
                        out.supported_features = t.vec(true, 6, "supported_features", |r| {
                            let f = SupportedFeature {
                                name: r.string(true, "feature name")?,
                                min_version: r.i16("min_version")?,
                                max_version: r.i16("max_version")?,
                            };
                            r.skip_tagged_fields()?;
                            Ok(f)
                        })?
                    }
                    1 => out.finalized_features_epoch = t.i64("finalized_features_epoch")?,
                    2 => {
                        out.finalized_features = t.vec(true, 6, "finalized_features", |r| {
                            let f = FinalizedFeature {
                                name: r.string(true, "feature name")?,
                                max_version_level: r.i16("max_version_level")?,
                                min_version_level: r.i16("min_version_level")?,
                            };
                            r.skip_tagged_fields()?;
                            Ok(f)
                        })?
                    }
                    3 => out.zk_migration_ready = t.bool("zk_migration_ready")?,
                    _ => {}
                }
                Ok(())
            })?;
        }
        Ok(out)
    }
}

impl ApiVersionsRequest {
    /// This request as `version` carries it (see [`super::Message::project`]):
    /// below v3 it carries nothing.
    pub fn project(&self, version: i16) -> Self {
        if version < 3 {
            Self::default()
        } else {
            self.clone()
        }
    }
}

impl ApiVersionsResponse {
    /// This response as `version` carries it (see [`super::Message::project`]):
    /// throttle time from v1, the tagged feature fields from v3.
    pub fn project(&self, version: i16) -> Self {
        let mut x = self.clone();
        let absent = Self::default();
        if version < 1 {
            x.throttle_time_ms = absent.throttle_time_ms;
        }
        if version < 3 {
            x.supported_features = absent.supported_features;
            x.finalized_features_epoch = absent.finalized_features_epoch;
            x.finalized_features = absent.finalized_features;
            x.zk_migration_ready = absent.zk_migration_ready;
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body Kafka 3.8 sends for an ApiVersions request it cannot parse:
    /// v0, error 35, one entry {18, 0, 3}.
    const KAFKA_38_UNSUPPORTED_V0_BODY: &[u8] = &[0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 3];

    #[test]
    fn decodes_the_kip_511_error_body() {
        let resp = ApiVersionsResponse::decode(&mut Reader::new(KAFKA_38_UNSUPPORTED_V0_BODY), 0);
        let resp = resp.expect("valid v0 body");
        assert_eq!(resp.error_code, 35);
        assert_eq!(resp.range_of(18), VersionRange::new(0, 3));
    }

    #[test]
    fn request_v3_bytes() {
        let mut req = ApiVersionsRequest {
            client_software_name: "km".into(),
            client_software_version: "1".into(),
            ..ApiVersionsRequest::default()
        };
        let mut b = BytesMut::new();
        req.encode(&mut b, 3).ok();
        assert_eq!(&b[..], &[3, b'k', b'm', 2, b'1', 0]);
        let mut b0 = BytesMut::new();
        req.encode(&mut b0, 2).ok();
        assert!(b0.is_empty());
        // v5 (KIP-1242): ClusterId (null) and NodeId (-1) before the tags.
        let mut b5 = BytesMut::new();
        req.encode(&mut b5, 5).ok();
        assert_eq!(&b5[..], &[3, b'k', b'm', 2, b'1', 0, 0xff, 0xff, 0xff, 0xff, 0]);
        req.cluster_id = Some("c".into());
        req.node_id = 1;
        let mut b5 = BytesMut::new();
        req.encode(&mut b5, 5).ok();
        assert_eq!(&b5[..], &[3, b'k', b'm', 2, b'1', 2, b'c', 0, 0, 0, 1, 0]);
        let back = ApiVersionsRequest::decode(&mut Reader::new(&b5.freeze()), 5).expect("decodes");
        assert_eq!(back, req);
        assert_eq!(
            req.encode(&mut b0, 6).map_err(|e| e.to_string()),
            Err("ApiVersions has no version 6".to_string())
        );
    }

    #[test]
    fn response_round_trips_with_tagged_fields() {
        let resp = ApiVersionsResponse {
            error_code: 0,
            api_keys: vec![ApiVersionEntry {
                api_key: 18,
                min_version: 0,
                max_version: 4,
            }],
            throttle_time_ms: 5,
            supported_features: vec![SupportedFeature {
                name: "metadata.version".into(),
                min_version: 1,
                max_version: 21,
            }],
            finalized_features_epoch: 9,
            finalized_features: vec![FinalizedFeature {
                name: "metadata.version".into(),
                max_version_level: 21,
                min_version_level: 21,
            }],
            zk_migration_ready: true,
        };
        for v in 3..=4 {
            let mut b = BytesMut::new();
            resp.encode(&mut b, v).expect("encodes");
            assert_eq!(ApiVersionsResponse::decode(&mut Reader::new(&b), v), Ok(resp.clone()));
        }
    }

    #[test]
    fn trailing_bytes_are_left_unread() {
        let mut body = KAFKA_38_UNSUPPORTED_V0_BODY.to_vec();
        body.extend_from_slice(&[1, 0, 0]);
        let mut r = Reader::new(&body);
        let exact = ApiVersionsResponse::decode(&mut Reader::new(KAFKA_38_UNSUPPORTED_V0_BODY), 0);
        assert_eq!(ApiVersionsResponse::decode(&mut r, 0), exact);
        assert_eq!(r.rest(), &[1, 0, 0]);
    }

    /// What [`ApiVersionsReply`] must agree on with the full decode.
    fn read_by_both(
        body: &[u8],
        version: i16,
    ) -> (
        Result<ApiVersionsReply, DecodeError>,
        Result<ApiVersionsResponse, DecodeError>,
    ) {
        let reply = ApiVersionsReply::decode(&Bytes::copy_from_slice(body), version);
        (reply, ApiVersionsResponse::decode(&mut Reader::new(body), version))
    }

    #[test]
    fn the_reply_keeps_the_table_in_place_or_reads_it_as_the_full_decode_does() {
        let entry = |api_key, max_version| ApiVersionEntry {
            api_key,
            min_version: 0,
            max_version,
        };
        let resp = ApiVersionsResponse {
            api_keys: vec![entry(0, 11), entry(3, 13), entry(18, 4), entry(68, 0)],
            throttle_time_ms: 5,
            finalized_features_epoch: 9,
            ..ApiVersionsResponse::default()
        };
        for v in 0..=4 {
            let mut b = BytesMut::new();
            resp.encode(&mut b, v).expect("encodes");
            let (reply, full) = read_by_both(&b, v);
            let (reply, full) = (reply.expect("reply decodes"), full.expect("decodes"));
            assert!(
                matches!(reply.api_keys.0, Keys::InPlace { .. }),
                "v{v}: the common shape stays in place"
            );
            assert_eq!(reply.api_keys.to_vec(), full.api_keys, "v{v}");
            assert_eq!(
                (reply.error_code, reply.throttle_time_ms),
                (full.error_code, full.throttle_time_ms)
            );
            assert_eq!(reply.api_keys.range_of(3), VersionRange::new(0, 13));
            assert_eq!(reply.api_keys.range_of(99), None);
        }
        // v3, the second entry carrying a tag (tag 5, one byte): read entry by entry.
        #[rustfmt::skip]
        let tagged: &[u8] = &[
            0, 0, 3,
            0, 3, 0, 0, 0, 13, 0,
            0, 18, 0, 0, 0, 4, 1, 5, 1, 0xaa,
            0, 0, 0, 5, 0,
        ];
        let (reply, full) = read_by_both(tagged, 3);
        let (reply, full) = (reply.expect("reply decodes"), full.expect("decodes"));
        assert!(matches!(reply.api_keys.0, Keys::Read(_)));
        assert_eq!(reply.api_keys.to_vec(), full.api_keys);
        assert_eq!(
            reply.api_keys,
            ApiKeys::from(full.api_keys.clone()),
            "equal whichever way it is kept"
        );
        assert_eq!(reply.throttle_time_ms, 5);
    }

    proptest::proptest! {
        /// On any bytes: where the full decode succeeds, the reply agrees with it;
        /// where the reply fails, so does the full decode (it reads a superset).
        #[test]
        fn the_reply_agrees_with_the_full_decode_on_random_bytes(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48),
            version in 0i16..=5,
        ) {
            match read_by_both(&body, version) {
                (Ok(reply), Ok(full)) => {
                    proptest::prop_assert_eq!(reply.api_keys.to_vec(), full.api_keys);
                    proptest::prop_assert_eq!((reply.error_code, reply.throttle_time_ms), (full.error_code, full.throttle_time_ms));
                }
                (Err(_), full) => proptest::prop_assert!(full.is_err()),
                (Ok(_), Err(_)) => {}
            }
        }
    }
}
