//! Whole frames: header + body, for the messages this crate speaks.
//!
//! Sans-io: bytes in, values out. The caller keeps the `(api_key, version)`
//! of each request it sent, because a response cannot be decoded without it.

use bytes::{Bytes, BytesMut};

use super::error::{DecodeError, EncodeError};
use super::frame::{build_frame, put_frame};
use super::header::{RequestHeader, ResponseHeader};
use super::messages::{
    Api, ApiVersionsRequest, ApiVersionsResponse, DescribeClusterRequest, DescribeClusterResponse, MetadataRequest,
    MetadataResponse,
};
use super::primitives::Reader;

/// A body enum over [`Api`]: one variant per API (the `match`es on [`Api`]
/// are exhaustive, so leaving one out does not compile), with encode/decode
/// dispatch and conversions from and to each message type.
macro_rules! body_enum {
    ($(#[$doc:meta])* $body:ident { $($variant:ident($t:ty)),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $body {
            $(
                #[doc = concat!("A ", stringify!($variant), " body.")]
                $variant($t),
            )*
        }

        impl $body {
            /// The API of this body.
            pub fn api(&self) -> Api {
                match self {
                    $(Self::$variant(_) => Api::$variant,)*
                }
            }

            /// The API key of this body.
            pub fn api_key(&self) -> i16 {
                self.api().spec().key
            }

            fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
                match self {
                    $(Self::$variant(b) => b.encode(buf, version),)*
                }
            }

            fn decode(api: Api, r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
                Ok(match api {
                    $(Api::$variant => Self::$variant(<$t>::decode(r, version)?),)*
                })
            }
        }

        $(
            impl From<$t> for $body {
                fn from(b: $t) -> Self {
                    $body::$variant(b)
                }
            }

            impl TryFrom<$body> for $t {
                type Error = $body;

                /// The body, or the body back when it is of another API.
                fn try_from(b: $body) -> Result<Self, $body> {
                    match b {
                        $body::$variant(x) => Ok(x),
                        #[allow(unreachable_patterns)]
                        other => Err(other),
                    }
                }
            }
        )*
    };
}

body_enum! {
    /// A request body of an API this crate speaks.
    RequestBody {
        ApiVersions(ApiVersionsRequest),
        Metadata(MetadataRequest),
        DescribeCluster(DescribeClusterRequest),
    }
}

body_enum! {
    /// A response body of an API this crate speaks.
    ResponseBody {
        ApiVersions(ApiVersionsResponse),
        Metadata(MetadataResponse),
        DescribeCluster(DescribeClusterResponse),
    }
}

fn api_name(key: i16) -> &'static str {
    Api::from_key(key).map_or("an API this crate does not speak", |api| api.spec().name)
}

/// Encodes a size-prefixed request frame.
pub fn encode_request(
    correlation_id: i32,
    client_id: Option<&str>,
    version: i16,
    body: &RequestBody,
) -> Result<Bytes, EncodeError> {
    request_frame(body.api(), version, correlation_id, client_id, |b| {
        body.encode(b, version)
    })
}

/// A size-prefixed request frame of `api` at `version`: the header, then
/// what `body` writes. [`encode_request`] for a body written from borrowed
/// fields (e.g. [`ApiVersionsRequest::encode_fields`]).
pub fn request_frame(
    api: Api,
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<Bytes, EncodeError> {
    build_frame(|buf| put_request(buf, api, version, correlation_id, client_id, body))
}

/// [`request_frame`], appended to `buf` (a buffer the caller reuses: a
/// client encodes every request into one).
pub fn write_request(
    buf: &mut BytesMut,
    api: Api,
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    put_frame(buf, |buf| {
        put_request(buf, api, version, correlation_id, client_id, body)
    })
}

/// A request's header and body, without the size prefix.
fn put_request(
    buf: &mut BytesMut,
    api: Api,
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let spec = api.spec();
    let hv = spec.request_header_version(version);
    RequestHeader::encode_fields(buf, hv, (spec.key, version, correlation_id), client_id)?;
    body(buf)
}

/// Decodes a request frame body (without its length prefix) of an API this
/// crate speaks, at the version its header names. Bytes after the body's
/// last field are left unread, as Kafka leaves them.
pub fn decode_request(frame: &[u8]) -> Result<(RequestHeader, RequestBody), DecodeError> {
    decode_request_with(frame, false)
}

/// [`decode_request`], refusing tagged fields out of order in the body when
/// `strict_body_tag_order` (Kafka 2.4–2.7 read request bodies through the
/// `Struct` schemas, whose `TaggedFields.read` refused them; headers were
/// already read by generated code, which does not check).
pub fn decode_request_with(
    frame: &[u8],
    strict_body_tag_order: bool,
) -> Result<(RequestHeader, RequestBody), DecodeError> {
    let (key, version, _) = RequestHeader::peek_ids(frame)?;
    let unsupported = DecodeError::UnsupportedVersion {
        api: api_name(key),
        version,
    };
    let api = Api::from_key(key).ok_or(unsupported)?;
    let hv = api.spec().request_header_version(version);
    let mut r = Reader::new(frame);
    let header = RequestHeader::decode(&mut r, hv)?;
    r.set_strict_tag_order(strict_body_tag_order);
    let body = RequestBody::decode(api, &mut r, version)?;
    Ok((header, body))
}

/// Encodes a size-prefixed response frame for a request `(key, version)`.
pub fn encode_response(correlation_id: i32, version: i16, body: &ResponseBody) -> Result<Bytes, EncodeError> {
    let hv = body.api().spec().response_header_version(version);
    build_frame(|buf| {
        ResponseHeader { correlation_id }.encode(buf, hv);
        body.encode(buf, version)
    })
}

/// Decodes a response frame body (without its length prefix) for a request
/// that was sent as `(key, version)`.
pub fn decode_response(frame: &[u8], key: i16, version: i16) -> Result<(ResponseHeader, ResponseBody), DecodeError> {
    let api = Api::from_key(key).ok_or(DecodeError::UnsupportedVersion {
        api: api_name(key),
        version,
    })?;
    let hv = api.spec().response_header_version(version);
    let mut r = Reader::new(frame);
    let header = ResponseHeader::decode(&mut r, hv)?;
    let body = ResponseBody::decode(api, &mut r, version)?;
    Ok((header, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn franz_go_119_request_to_38_bytes() {
        // What a v4 ApiVersions request looks like on the wire: header v2.
        let body = RequestBody::ApiVersions(ApiVersionsRequest {
            client_software_name: "kgo".into(),
            client_software_version: "1.19.0".into(),
            ..ApiVersionsRequest::default()
        });
        let frame = encode_request(1, Some("kgo"), 4, &body).expect("encodes");
        #[rustfmt::skip]
        let want: &[u8] = &[
            0, 0, 0, 26,
            0, 18, 0, 4, 0, 0, 0, 1, 0, 3, b'k', b'g', b'o', 0,
            4, b'k', b'g', b'o', 7, b'1', b'.', b'1', b'9', b'.', b'0', 0,
        ];
        assert_eq!(&frame[..], want);
        assert_eq!(decode_request(&frame[4..]).map(|(_, b)| b), Ok(body));
    }

    #[test]
    fn api_versions_response_header_is_v0_even_when_flexible() {
        let frame = encode_response(9, 3, &ResponseBody::ApiVersions(ApiVersionsResponse::default())).expect("encodes");
        // size, correlation id, then the body: no tagged-field byte in between.
        assert_eq!(&frame[4..10], &[0, 0, 0, 9, 0, 0]);
    }

    #[test]
    fn an_api_we_do_not_speak_is_a_decode_error() {
        let produce_v3 = [0, 0, 0, 3, 0, 0, 0, 1];
        assert_eq!(
            decode_request(&produce_v3).map_err(|e| e.to_string()),
            Err("an API this crate does not speak has no version 3".to_string())
        );
    }
}
