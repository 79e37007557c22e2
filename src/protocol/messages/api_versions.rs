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
    put_empty_tagged_fields, put_string, put_tagged_fields, put_vec, Reader, PREALLOCATED,
};
use crate::protocol::version::{api_key, VersionRange};

/// ApiVersions, declared once: key 18, v0-4, flexible from v3. Its
/// response header stays v0 even when flexible (KIP-511): a broker must be
/// able to answer a client whose version it does not know, and librdkafka
/// and the Java client read it that way.
pub const SPEC: ApiSpec = ApiSpec {
    key: api_key::API_VERSIONS,
    name: "ApiVersions",
    versions: VersionRange { min: 0, max: 4 },
    first_flexible: 3,
    flexible_response_header: false,
};

/// Versions of ApiVersions this codec handles.
pub const VERSIONS: VersionRange = SPEC.versions;

fn check(version: i16) -> Result<bool, EncodeError> {
    SPEC.check_encode(version)
}

fn check_decode(version: i16) -> Result<bool, DecodeError> {
    SPEC.check_decode(version)
}

/// ApiVersions request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiVersionsRequest {
    /// v3+: the client's name (Kafka validates it against
    /// `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`).
    pub client_software_name: String,
    /// v3+: the client's version, same rule.
    pub client_software_version: String,
}

impl ApiVersionsRequest {
    /// Writes the body at `version`. Below v3 the software fields are not sent.
    pub fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        Self::encode_fields(buf, version, &self.client_software_name, &self.client_software_version)
    }

    /// [`ApiVersionsRequest::encode`] from borrowed fields (a client writes
    /// its name and version without copying them into a request first).
    pub fn encode_fields(
        buf: &mut BytesMut,
        version: i16,
        client_software_name: &str,
        client_software_version: &str,
    ) -> Result<(), EncodeError> {
        if check(version)? {
            put_string(buf, true, client_software_name, "client_software_name")?;
            put_string(buf, true, client_software_version, "client_software_version")?;
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

/// The api_keys array. An entry is 6 bytes, then (flexible versions) a tag
/// section that is all but always empty: that shape is read straight off the
/// bytes, one bounds check an entry (a 4.x table has 90); an entry with tags,
/// or one cut short, is read field by field, with the same errors.
fn read_entries(r: &mut Reader<'_>, flexible: bool) -> Result<Vec<ApiVersionEntry>, DecodeError> {
    let size = if flexible { 7 } else { 6 };
    let n = r
        .array_len(flexible, size, "api_keys")?
        .ok_or(DecodeError::UnexpectedNull { what: "api_keys" })?;
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

/// The range `entries` advertise for `api_key`, if any (a flipped range
/// counts as none; the first entry for a key wins).
pub fn range_in(entries: &[ApiVersionEntry], api_key: i16) -> Option<VersionRange> {
    entries
        .iter()
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
        range_in(&self.api_keys, api_key)
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
        Self::decode_with(r, version, true)
    }

    /// [`ApiVersionsResponse::decode`] without the feature lists (tags 0 and
    /// 2, left empty): they are skipped by their size, as unknown tags are.
    /// What negotiating needs, the table and the throttle time, without a
    /// `String` per feature name (a 4.x broker lists a dozen).
    pub fn decode_without_features(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        Self::decode_with(r, version, false)
    }

    fn decode_with(r: &mut Reader<'_>, version: i16, features: bool) -> Result<Self, DecodeError> {
        let flexible = check_decode(version)?;
        let mut out = Self {
            error_code: r.i16("error_code")?,
            ..Self::default()
        };
        out.api_keys = read_entries(r, flexible)?;
        if version >= 1 {
            out.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        if flexible {
            r.tagged_fields(|tag, t| {
                match tag {
                    0 if features => {
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
                    2 if features => {
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
        let req = ApiVersionsRequest {
            client_software_name: "km".into(),
            client_software_version: "1".into(),
        };
        let mut b = BytesMut::new();
        req.encode(&mut b, 3).ok();
        assert_eq!(&b[..], &[3, b'k', b'm', 2, b'1', 0]);
        let mut b0 = BytesMut::new();
        req.encode(&mut b0, 2).ok();
        assert!(b0.is_empty());
        assert_eq!(
            req.encode(&mut b0, 5).map_err(|e| e.to_string()),
            Err("ApiVersions has no version 5".to_string())
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
}
