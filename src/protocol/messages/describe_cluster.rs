//! DescribeCluster (key 60), v0–v2 (KIP-700). Flexible at every version.
//!
//! Version notes (Kafka `DescribeClusterRequest.json` /
//! `DescribeClusterResponse.json`):
//! - v0 (2.8): request `include_cluster_authorized_operations`; response
//!   throttle, error code and message, cluster id, controller id, brokers
//!   (id, host, port, rack), cluster authorized operations.
//! - v1 (3.7, KIP-919): request and response add `endpoint_type` (1 broker,
//!   2 controller; default 1).
//! - v2 (4.0, KIP-1073): request adds `include_fenced_brokers`; each broker
//!   adds `is_fenced`.
//!
//! Request encoding is strict, as for Metadata: a field set away from its
//! default that the version cannot carry is an
//! [`EncodeError::FieldNotAvailable`]. Response fields the version lacks are
//! dropped.

use bytes::{BufMut, BytesMut};

use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::messages::ApiSpec;
use crate::protocol::primitives::{put_empty_tagged_fields, put_nullable_string, put_string, put_vec, Reader};
use crate::protocol::version::{api_key, VersionRange};

/// DescribeCluster, declared once: key 60, v0-2, flexible from v0.
pub const SPEC: ApiSpec = ApiSpec {
    key: api_key::DESCRIBE_CLUSTER,
    name: "DescribeCluster",
    versions: VersionRange { min: 0, max: 2 },
    first_flexible: 0,
    flexible_response_header: true,
};

/// The endpoint type of a broker listener (KIP-919).
pub const ENDPOINT_BROKER: i8 = 1;
/// The endpoint type of a controller listener (KIP-919).
pub const ENDPOINT_CONTROLLER: i8 = 2;

fn refuse(field: &'static str, version: i16) -> EncodeError {
    EncodeError::FieldNotAvailable {
        api: SPEC.name,
        field,
        version,
    }
}

/// DescribeCluster request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeClusterRequest {
    /// Whether to return the cluster's authorized operations.
    pub include_cluster_authorized_operations: bool,
    /// v1+: the endpoint type the client means to reach; default 1 (brokers).
    pub endpoint_type: i8,
    /// v2+: whether fenced brokers are listed too.
    pub include_fenced_brokers: bool,
}

impl Default for DescribeClusterRequest {
    fn default() -> Self {
        Self {
            include_cluster_authorized_operations: false,
            endpoint_type: ENDPOINT_BROKER,
            include_fenced_brokers: false,
        }
    }
}

impl DescribeClusterRequest {
    /// Writes the body at `version`.
    pub fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        SPEC.check_encode(version)?;
        buf.put_u8(u8::from(self.include_cluster_authorized_operations));
        if version >= 1 {
            buf.put_i8(self.endpoint_type);
        } else if self.endpoint_type != ENDPOINT_BROKER {
            return Err(refuse("endpoint_type", version));
        }
        if version >= 2 {
            buf.put_u8(u8::from(self.include_fenced_brokers));
        } else if self.include_fenced_brokers {
            return Err(refuse("include_fenced_brokers", version));
        }
        put_empty_tagged_fields(buf);
        Ok(())
    }

    /// Reads the body at `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        SPEC.check_decode(version)?;
        let include_cluster_authorized_operations = r.bool("include_cluster_authorized_operations")?;
        let endpoint_type = if version >= 1 {
            r.i8("endpoint_type")?
        } else {
            ENDPOINT_BROKER
        };
        let include_fenced_brokers = version >= 2 && r.bool("include_fenced_brokers")?;
        r.skip_tagged_fields()?;
        Ok(Self {
            include_cluster_authorized_operations,
            endpoint_type,
            include_fenced_brokers,
        })
    }

    /// This request as `version` carries it.
    pub fn project(&self, version: i16) -> Self {
        Self {
            include_cluster_authorized_operations: self.include_cluster_authorized_operations,
            endpoint_type: if version >= 1 {
                self.endpoint_type
            } else {
                ENDPOINT_BROKER
            },
            include_fenced_brokers: version >= 2 && self.include_fenced_brokers,
        }
    }
}

/// One broker of a DescribeCluster response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeClusterBroker {
    /// Its node id.
    pub broker_id: i32,
    /// Its host.
    pub host: String,
    /// Its port.
    pub port: i32,
    /// Its rack, if any.
    pub rack: Option<String>,
    /// v2+: whether it is fenced.
    pub is_fenced: bool,
}

/// DescribeCluster response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeClusterResponse {
    /// Throttle time, milliseconds.
    pub throttle_time_ms: i32,
    /// Top-level error code.
    pub error_code: i16,
    /// Top-level error message.
    pub error_message: Option<String>,
    /// v1+: the endpoint type that answered; default 1 (brokers).
    pub endpoint_type: i8,
    /// The cluster id.
    pub cluster_id: String,
    /// The controller's id (-1 when unknown).
    pub controller_id: i32,
    /// The brokers.
    pub brokers: Vec<DescribeClusterBroker>,
    /// Bit field of the cluster's authorized operations, or `i32::MIN` when
    /// not requested.
    pub cluster_authorized_operations: i32,
}

impl Default for DescribeClusterResponse {
    fn default() -> Self {
        Self {
            throttle_time_ms: 0,
            error_code: 0,
            error_message: None,
            endpoint_type: ENDPOINT_BROKER,
            cluster_id: String::new(),
            controller_id: -1,
            brokers: Vec::new(),
            cluster_authorized_operations: i32::MIN,
        }
    }
}

impl DescribeClusterResponse {
    /// Writes the body at `version`.
    pub fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        SPEC.check_encode(version)?;
        buf.put_i32(self.throttle_time_ms);
        buf.put_i16(self.error_code);
        put_nullable_string(buf, true, self.error_message.as_deref(), "error_message")?;
        if version >= 1 {
            buf.put_i8(self.endpoint_type);
        }
        put_string(buf, true, &self.cluster_id, "cluster_id")?;
        buf.put_i32(self.controller_id);
        put_vec(buf, true, &self.brokers, "brokers", |b, broker| {
            b.put_i32(broker.broker_id);
            put_string(b, true, &broker.host, "host")?;
            b.put_i32(broker.port);
            put_nullable_string(b, true, broker.rack.as_deref(), "rack")?;
            if version >= 2 {
                b.put_u8(u8::from(broker.is_fenced));
            }
            put_empty_tagged_fields(b);
            Ok(())
        })?;
        buf.put_i32(self.cluster_authorized_operations);
        put_empty_tagged_fields(buf);
        Ok(())
    }

    /// Reads the body at `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        SPEC.check_decode(version)?;
        let throttle_time_ms = r.i32("throttle_time_ms")?;
        let error_code = r.i16("error_code")?;
        let error_message = r.nullable_string(true, "error_message")?;
        let endpoint_type = if version >= 1 {
            r.i8("endpoint_type")?
        } else {
            ENDPOINT_BROKER
        };
        let cluster_id = r.string(true, "cluster_id")?;
        let controller_id = r.i32("controller_id")?;
        let brokers = r.vec(true, 4 + 1 + 4 + 1 + 1, "brokers", |r| {
            let broker_id = r.i32("broker_id")?;
            let host = r.string(true, "host")?;
            let port = r.i32("port")?;
            let rack = r.nullable_string(true, "rack")?;
            let is_fenced = version >= 2 && r.bool("is_fenced")?;
            r.skip_tagged_fields()?;
            Ok(DescribeClusterBroker {
                broker_id,
                host,
                port,
                rack,
                is_fenced,
            })
        })?;
        let cluster_authorized_operations = r.i32("cluster_authorized_operations")?;
        r.skip_tagged_fields()?;
        Ok(Self {
            throttle_time_ms,
            error_code,
            error_message,
            endpoint_type,
            cluster_id,
            controller_id,
            brokers,
            cluster_authorized_operations,
        })
    }

    /// This response as `version` carries it.
    pub fn project(&self, version: i16) -> Self {
        Self {
            endpoint_type: if version >= 1 {
                self.endpoint_type
            } else {
                ENDPOINT_BROKER
            },
            brokers: self
                .brokers
                .iter()
                .map(|b| DescribeClusterBroker {
                    is_fenced: version >= 2 && b.is_fenced,
                    ..b.clone()
                })
                .collect(),
            ..self.clone()
        }
    }
}
