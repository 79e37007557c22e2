//! Request and response headers, and which header version each message uses.
//!
//! | header           | fields                                              |
//! |------------------|-----------------------------------------------------|
//! | request v0       | api_key, api_version, correlation_id                |
//! | request v1       | + client_id (`nullable_string`, never compact)      |
//! | request v2       | + tagged fields                                     |
//! | response v0      | correlation_id                                      |
//! | response v1      | + tagged fields                                     |
//!
//! A flexible request version uses request header v2 and response header v1,
//! with one exception: **an ApiVersions response always uses header v0**, so
//! that a client that sent a version the broker does not know can still read
//! the reply (KIP-511; `ApiVersionsResponse.json`: "Tagged fields are only
//! supported in the body but not in the header"). Request header v0 was only
//! used by ControlledShutdown v0 and is decoded here for completeness.
//!
//! # References
//! - <https://kafka.apache.org/protocol#protocol_messages>
//! - Kafka `clients/src/main/resources/common/message/RequestHeader.json`, `ResponseHeader.json`

use bytes::{BufMut, BytesMut};

use super::error::{DecodeError, EncodeError};
use super::messages::Api;
use super::primitives::{put_empty_tagged_fields, put_nullable_string, Reader};

/// The request header version for `(key, version)`, or `None` for an API this
/// crate does not model. Read from each API's [`crate::protocol::messages::ApiSpec`].
pub fn request_header_version(key: i16, version: i16) -> Option<i16> {
    Api::from_key(key).map(|api| api.spec().request_header_version(version))
}

/// The response header version for `(key, version)`, or `None` for an API
/// this crate does not model. ApiVersions is always 0.
pub fn response_header_version(key: i16, version: i16) -> Option<i16> {
    Api::from_key(key).map(|api| api.spec().response_header_version(version))
}

/// A request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// The API key of the request body.
    pub api_key: i16,
    /// The version of the request body.
    pub api_version: i16,
    /// Echoed by the broker in the response header.
    pub correlation_id: i32,
    /// Client id (header v1+).
    pub client_id: Option<String>,
}

impl RequestHeader {
    /// The three fields every header version starts with, read without
    /// consuming anything: enough to route a request (or refuse it) before
    /// knowing which header version applies.
    pub fn peek_ids(frame: &[u8]) -> Result<(i16, i16, i32), DecodeError> {
        let mut r = Reader::new(frame);
        Ok((r.i16("api_key")?, r.i16("api_version")?, r.i32("correlation_id")?))
    }

    /// Writes the header at `header_version` (0–2).
    pub fn encode(&self, buf: &mut BytesMut, header_version: i16) -> Result<(), EncodeError> {
        Self::encode_fields(
            buf,
            header_version,
            (self.api_key, self.api_version, self.correlation_id),
            self.client_id.as_deref(),
        )
    }

    /// [`RequestHeader::encode`] from borrowed fields: `ids` is `(api_key,
    /// api_version, correlation_id)`.
    pub fn encode_fields(
        buf: &mut BytesMut,
        header_version: i16,
        ids: (i16, i16, i32),
        client_id: Option<&str>,
    ) -> Result<(), EncodeError> {
        let (api_key, api_version, correlation_id) = ids;
        buf.put_i16(api_key);
        buf.put_i16(api_version);
        buf.put_i32(correlation_id);
        if header_version >= 1 {
            put_nullable_string(buf, false, client_id, "client_id")?;
        }
        if header_version >= 2 {
            put_empty_tagged_fields(buf);
        }
        Ok(())
    }

    /// Reads a header at `header_version` (0–2); unknown tagged fields are skipped.
    pub fn decode(r: &mut Reader<'_>, header_version: i16) -> Result<Self, DecodeError> {
        let api_key = r.i16("api_key")?;
        let api_version = r.i16("api_version")?;
        let correlation_id = r.i32("correlation_id")?;
        let client_id = if header_version >= 1 {
            r.nullable_string(false, "client_id")?
        } else {
            None
        };
        if header_version >= 2 {
            r.skip_tagged_fields()?;
        }
        Ok(Self {
            api_key,
            api_version,
            correlation_id,
            client_id,
        })
    }
}

/// A response header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHeader {
    /// The correlation id of the request this answers.
    pub correlation_id: i32,
}

impl ResponseHeader {
    /// Writes the header at `header_version` (0–1).
    pub fn encode(&self, buf: &mut BytesMut, header_version: i16) {
        buf.put_i32(self.correlation_id);
        if header_version >= 1 {
            put_empty_tagged_fields(buf);
        }
    }

    /// Reads a header at `header_version` (0–1).
    pub fn decode(r: &mut Reader<'_>, header_version: i16) -> Result<Self, DecodeError> {
        let correlation_id = r.i32("correlation_id")?;
        if header_version >= 1 {
            r.skip_tagged_fields()?;
        }
        Ok(Self { correlation_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_versions_follow_flexibility_with_the_api_versions_exception() {
        assert_eq!(request_header_version(18, 2), Some(1));
        assert_eq!(request_header_version(18, 3), Some(2));
        assert_eq!(request_header_version(18, 4), Some(2));
        assert_eq!(response_header_version(18, 4), Some(0));
        assert_eq!(request_header_version(3, 8), Some(1));
        assert_eq!(request_header_version(3, 9), Some(2));
        assert_eq!(response_header_version(3, 8), Some(0));
        assert_eq!(response_header_version(3, 9), Some(1));
        assert_eq!(request_header_version(0, 3), None);
    }

    #[test]
    fn request_header_bytes_per_version() {
        let h = RequestHeader {
            api_key: 18,
            api_version: 4,
            correlation_id: 7,
            client_id: Some("km".into()),
        };
        let mut b = BytesMut::new();
        h.encode(&mut b, 2).ok();
        assert_eq!(&b[..], &[0, 18, 0, 4, 0, 0, 0, 7, 0, 2, b'k', b'm', 0]);
        for v in 0..=2 {
            let mut b = BytesMut::new();
            h.encode(&mut b, v).ok();
            let back = RequestHeader::decode(&mut Reader::new(&b), v);
            let want = RequestHeader {
                client_id: if v == 0 { None } else { h.client_id.clone() },
                ..h.clone()
            };
            assert_eq!(back, Ok(want));
        }
        assert_eq!(RequestHeader::peek_ids(&b), Ok((18, 4, 7)));
        assert!(RequestHeader::peek_ids(&b[..5]).is_err());
    }
}
