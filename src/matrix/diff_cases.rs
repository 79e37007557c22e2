//! The differential runner's cases (see [`super::diff`]): byte-exact request
//! frames, each with a name and the reason it is sent, made for one release
//! and mode from its ApiVersions table. `kafka-matrix diff --list-cases`
//! prints them (name, why, and every frame in hex).
//!
//! A case is one connection: its frames are written one at a time, each
//! waiting for its answer (or the close, or the timeout), with an optional
//! pause before a frame. A frame marked `until_settled` is sent again, after
//! its pause each time, until the answer names every topic without an error
//! (an auto-created topic asked for until it is there, as a client does).

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::codec::request_frame;
use crate::protocol::frame::build_frame;
use crate::protocol::header::RequestHeader;
use crate::protocol::messages::describe_cluster::ENDPOINT_CONTROLLER;
use crate::protocol::messages::{
    Api, ApiVersionsRequest, DescribeClusterRequest, MetadataRequest, MetadataRequestTopic,
};
use crate::protocol::primitives::put_uvarint;
use crate::protocol::{api_key, EncodeError};
use crate::versions::{table, Mode, Release};

use crate::backend::probe::PROBE_TOPIC;

/// One request frame of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The API key and version the frame claims (what its answer is decoded as).
    pub key: i16,
    /// The version.
    pub version: i16,
    /// The bytes, size prefix included.
    pub bytes: Bytes,
    /// Wait this long before writing it.
    pub pause: Duration,
    /// Send it again (after `pause`) until its Metadata answer has no topic
    /// error, at most [`SETTLE_TRIES`] times; the last answer is compared.
    pub until_settled: bool,
}

/// Most sends of an `until_settled` frame (with a 250 ms pause: 10 s).
pub const SETTLE_TRIES: usize = 40;

impl Frame {
    /// A frame written at once, with no pause before it.
    fn new(key: i16, version: i16, bytes: Bytes) -> Self {
        Self {
            key,
            version,
            bytes,
            pause: Duration::ZERO,
            until_settled: false,
        }
    }
}

/// One case: what is sent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// A name unique within the pair, e.g. `metadata-v9-missing-auto`.
    pub name: String,
    /// Why it is sent (what Kafka behaviour it pins down).
    pub why: String,
    /// The frames, in order, on one connection.
    pub frames: Vec<Frame>,
}

/// The client id every case sends.
pub const CLIENT_ID: &str = "kafka-matrix-diff";

/// Builds the cases of one pair.
struct Builder {
    cases: Vec<Case>,
    correlation: i32,
}

impl Builder {
    fn next_id(&mut self) -> i32 {
        self.correlation += 1;
        self.correlation
    }

    /// A well-formed frame of `api` at `version` with `body`, from [`CLIENT_ID`].
    fn frame(&mut self, api: Api, version: i16, body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>) -> Frame {
        self.frame_from(Some(CLIENT_ID), api, version, body)
    }

    /// [`Builder::frame`] with another client id in the header (`None`: null).
    fn frame_from(
        &mut self,
        client_id: Option<&str>,
        api: Api,
        version: i16,
        body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    ) -> Frame {
        let id = self.next_id();
        let bytes = request_frame(api, version, id, client_id, body)
            .unwrap_or_else(|e| panic!("case frame {} v{version}: {e}", api.spec().name));
        Frame::new(api.spec().key, version, bytes)
    }

    /// A frame whose body is written byte by byte: `key`/`version` behind a
    /// request header v`header`, then `body` as it is.
    fn raw(&mut self, key: i16, version: i16, header: i16, body: &[u8]) -> Frame {
        let id = self.next_id();
        let bytes = build_frame(|buf| {
            RequestHeader::encode_fields(buf, header, (key, version, id), Some(CLIENT_ID))?;
            buf.put_slice(body);
            Ok::<_, EncodeError>(())
        })
        .unwrap_or_else(|e| panic!("raw case frame key {key} v{version}: {e}"));
        Frame::new(key, version, bytes)
    }

    fn add(&mut self, name: String, why: &str, frames: Vec<Frame>) {
        self.cases.push(Case {
            name,
            why: why.to_owned(),
            frames,
        });
    }

    /// A one-frame DescribeCluster case.
    fn describe_cluster(&mut self, version: i16, name: String, why: &str, req: &DescribeClusterRequest) {
        let f = self.frame(Api::DescribeCluster, version, |buf| req.encode(buf, version));
        self.add(name, why, vec![f]);
    }

    fn metadata(&mut self, version: i16, req: &MetadataRequest) -> Frame {
        self.frame(Api::Metadata, version, |b| req.encode(b, version))
    }
}

fn named(names: &[&str]) -> Option<Vec<MetadataRequestTopic>> {
    Some(
        names
            .iter()
            .map(|n| MetadataRequestTopic {
                topic_id: [0; 16],
                name: Some((*n).to_owned()),
            })
            .collect(),
    )
}

/// Every case for `release` in `mode`; empty when the catalog has no table for it.
pub fn cases(release: Release, mode: Mode) -> Vec<Case> {
    let Some(t) = table(release, mode) else {
        return Vec::new();
    };
    let mut b = Builder {
        cases: Vec::new(),
        correlation: 0,
    };
    let av = t.get(api_key::API_VERSIONS).map_or(0, |r| r.max);
    let md = t.get(api_key::METADATA).map_or(0, |r| r.max);
    let tag = format!("{release}-{mode}").replace('.', "");

    // ---- ApiVersions ----
    for v in 0..=av.min(crate::protocol::messages::api_versions::SPEC.versions.max) {
        let req = ApiVersionsRequest {
            client_software_name: "kafka-matrix".into(),
            client_software_version: "0.1.0".into(),
            ..ApiVersionsRequest::default()
        }
        .project(v);
        let f = b.frame(Api::ApiVersions, v, |buf| req.encode(buf, v));
        b.add(
            format!("api-versions-v{v}"),
            "every ApiVersions version the release takes, with a client name (v3+)",
            vec![f],
        );
        if v < 3 {
            let f = b.raw(api_key::API_VERSIONS, v, 1, &[0xde, 0xad]);
            b.add(
                format!("api-versions-v{v}-trailing-bytes"),
                "bytes after an empty body",
                vec![f],
            );
            let f = b.frame_from(None, Api::ApiVersions, v, |_| Ok(()));
            b.add(
                format!("api-versions-v{v}-null-client-id"),
                "a null client id in the header",
                vec![f],
            );
        }
        if v >= 3 {
            let empty = ApiVersionsRequest::default();
            let f = b.frame(Api::ApiVersions, v, |buf| empty.encode(buf, v));
            b.add(
                format!("api-versions-v{v}-no-software"),
                "v3+ with empty client software name and version (Kafka's validation refuses empty)",
                vec![f],
            );
            for (i, name) in ["bad name!", "-leading", "trailing.", "ok.name-1"].iter().enumerate() {
                let req = ApiVersionsRequest {
                    client_software_name: (*name).into(),
                    client_software_version: "1.0".into(),
                    ..ApiVersionsRequest::default()
                };
                let f = b.frame(Api::ApiVersions, v, |buf| req.encode(buf, v));
                b.add(
                    format!("api-versions-v{v}-name-{i}"),
                    "a client software name against ApiVersionsRequest.isValid's pattern",
                    vec![f],
                );
            }
            // An unknown tagged field in the body: names, then tag 7 (2 bytes), then none.
            let mut body = BytesMut::new();
            body.put_u8(3);
            body.put_slice(b"km");
            body.put_u8(2);
            body.put_slice(b"1");
            body.put_u8(1);
            put_uvarint(&mut body, 7);
            put_uvarint(&mut body, 2);
            body.put_slice(&[0xab, 0xcd]);
            let f = b.raw(api_key::API_VERSIONS, v, 2, &body);
            b.add(
                format!("api-versions-v{v}-unknown-body-tag"),
                "unknown tagged fields are skipped (KIP-482)",
                vec![f],
            );
            // Trailing bytes after the body.
            let mut body = BytesMut::new();
            body.put_slice(&[3, b'k', b'm', 2, b'1', 0, 0xde, 0xad]);
            let f = b.raw(api_key::API_VERSIONS, v, 2, &body);
            b.add(
                format!("api-versions-v{v}-trailing-bytes"),
                "bytes after the last field: Kafka's readers leave them",
                vec![f],
            );
        }
    }
    for v in [av + 1, av + 5, 127] {
        let f = b.raw(api_key::API_VERSIONS, v, 2, &[3, b'k', b'm', 2, b'1', 0]);
        b.add(
            format!("api-versions-v{v}-above-max"),
            "a version above the maximum: the KIP-511 refusal in a v0 body",
            vec![f],
        );
    }
    {
        let refusal = b.raw(api_key::API_VERSIONS, av + 1, 2, &[3, b'k', b'm', 2, b'1', 0]);
        let after = b.metadata(0, &MetadataRequest::default());
        b.add(
            "after-refusal-metadata-v0".into(),
            "a request sent after the refusal, on the same connection",
            vec![refusal, after],
        );
    }

    // ---- Metadata, at every version ----
    for v in 0..=md.min(crate::protocol::messages::metadata::SPEC.versions.max) {
        let base = MetadataRequest::default();
        let add_md = |b: &mut Builder, what: &str, why: &str, req: MetadataRequest| {
            let f = b.metadata(v, &req);
            b.add(format!("metadata-v{v}-{what}"), why, vec![f]);
        };
        add_md(&mut b, "all", "all topics (v0: an empty list; v1+: null)", base.clone());
        if v >= 1 {
            add_md(
                &mut b,
                "none",
                "an empty list: no topics (v1+)",
                MetadataRequest {
                    topics: Some(vec![]),
                    ..base.clone()
                },
            );
        }
        add_md(
            &mut b,
            "probe",
            "an existing topic by name",
            MetadataRequest {
                topics: named(&[PROBE_TOPIC]),
                ..base.clone()
            },
        );
        add_md(
            &mut b,
            "probe-twice",
            "the same name twice: one entry (a Set in KafkaApis)",
            MetadataRequest {
                topics: named(&[PROBE_TOPIC, PROBE_TOPIC]),
                ..base.clone()
            },
        );
        add_md(
            &mut b,
            "invalid",
            "an invalid name (Topic.validate)",
            MetadataRequest {
                topics: named(&["bad name!"]),
                ..base.clone()
            },
        );
        let long = "l".repeat(249);
        let too_long = "l".repeat(250);
        if v >= 4 {
            let no = MetadataRequest {
                allow_auto_topic_creation: false,
                ..base.clone()
            };
            add_md(
                &mut b,
                "missing-no-auto",
                "a missing topic, auto-creation not allowed",
                MetadataRequest {
                    topics: named(&[&format!("km-missing-{tag}-{v}")]),
                    ..no.clone()
                },
            );
            add_md(
                &mut b,
                "len-249-no-auto",
                "a missing topic at the name-length limit (249)",
                MetadataRequest {
                    topics: named(&[&long]),
                    ..no.clone()
                },
            );
            add_md(
                &mut b,
                "len-250-no-auto",
                "a name one past the limit (250): invalid",
                MetadataRequest {
                    topics: named(&[&too_long]),
                    ..no.clone()
                },
            );
            add_md(
                &mut b,
                "invalid-no-auto",
                "an invalid name with auto-creation off",
                MetadataRequest {
                    topics: named(&["bad name!"]),
                    ..no.clone()
                },
            );
        }
        if v >= 8 {
            add_md(
                &mut b,
                "ops",
                "authorized operations asked for (v8+)",
                MetadataRequest {
                    topics: named(&[PROBE_TOPIC]),
                    include_cluster_authorized_operations: v <= 10,
                    include_topic_authorized_operations: true,
                    ..base.clone()
                },
            );
        }
        if v >= 10 {
            add_md(
                &mut b,
                "unknown-id",
                "an unknown topic id (v10+)",
                MetadataRequest {
                    topics: Some(vec![MetadataRequestTopic {
                        topic_id: [7; 16],
                        name: None,
                    }]),
                    ..base.clone()
                },
            );
        }
        let missing = format!("km-mixed-{tag}-{v}");
        add_md(
            &mut b,
            "probe-and-missing",
            "an existing and a missing topic in one request",
            MetadataRequest {
                topics: named(&[PROBE_TOPIC, &missing]),
                ..base.clone()
            },
        );
        add_md(
            &mut b,
            "consumer-offsets",
            "the internal __consumer_offsets, missing on a fresh broker",
            MetadataRequest {
                topics: named(&["__consumer_offsets"]),
                ..base.clone()
            },
        );
        add_md(
            &mut b,
            "transaction-state",
            "the internal __transaction_state, missing on a fresh broker",
            MetadataRequest {
                topics: named(&["__transaction_state"]),
                ..base.clone()
            },
        );
        add_md(
            &mut b,
            "probe-and-invalid",
            "an existing topic and an invalid name in one request",
            MetadataRequest {
                topics: named(&[PROBE_TOPIC, "bad name!"]),
                ..base.clone()
            },
        );
        add_md(
            &mut b,
            "probe-and-internal",
            "an existing topic and __consumer_offsets in one request",
            MetadataRequest {
                topics: named(&[PROBE_TOPIC, "__consumer_offsets"]),
                ..base.clone()
            },
        );
        add_md(
            &mut b,
            "dot",
            "`.` is not a legal topic name",
            MetadataRequest {
                topics: named(&["."]),
                ..base.clone()
            },
        );
        add_md(
            &mut b,
            "dotdot",
            "`..` is not a legal topic name",
            MetadataRequest {
                topics: named(&[".."]),
                ..base.clone()
            },
        );
        add_md(
            &mut b,
            "empty-name",
            "an empty topic name",
            MetadataRequest {
                topics: named(&[""]),
                ..base.clone()
            },
        );
        add_md(
            &mut b,
            "len-250",
            "a name past the length limit, auto-creation allowed",
            MetadataRequest {
                topics: named(&[&too_long]),
                ..base.clone()
            },
        );
        {
            let req = MetadataRequest {
                topics: named(&[PROBE_TOPIC]),
                ..base.clone()
            };
            let f = b.frame_from(None, Api::Metadata, v, |buf| req.encode(buf, v));
            b.add(
                format!("metadata-v{v}-null-client-id"),
                "a null client id in the header",
                vec![f],
            );
        }
        if v < 9 {
            // The body of a probe request, written by hand so it can be cut or extended.
            let mut body = BytesMut::new();
            MetadataRequest {
                topics: named(&[PROBE_TOPIC]),
                ..base.clone()
            }
            .encode(&mut body, v)
            .unwrap_or_else(|e| panic!("v{v}: {e}"));
            let mut longer = body.clone();
            longer.put_slice(&[0xde, 0xad, 0xbe, 0xef]);
            let f = b.raw(api_key::METADATA, v, 1, &longer);
            b.add(
                format!("metadata-v{v}-trailing-bytes"),
                "bytes after the body: Kafka's readers leave them",
                vec![f],
            );
            let f = b.raw(api_key::METADATA, v, 1, &body[..body.len() - 1]);
            b.add(format!("metadata-v{v}-truncated"), "the body one byte short", vec![f]);
        }
        // Auto-creation as a client does it: ask, then ask again until the topic is there.
        let name = format!("km-auto-{tag}-{v}");
        let req = MetadataRequest {
            topics: named(&[&name]),
            ..base.clone()
        };
        let first = b.metadata(v, &req);
        let mut again = b.metadata(v, &req);
        again.pause = Duration::from_millis(250);
        again.until_settled = true;
        b.add(
            format!("metadata-v{v}-auto-create"),
            "a missing topic with auto-creation allowed, then asked again until it is there",
            vec![first, again],
        );
    }
    for v in [md + 1, 100] {
        let f = b.raw(api_key::METADATA, v, 2, &[0, 1, 0, 0, 0]);
        b.add(
            format!("metadata-v{v}-above-max"),
            "a Metadata version above the maximum: Kafka closes",
            vec![f],
        );
    }
    // ---- parsing ----
    if md >= 9 {
        // Metadata v9 body: topics compact array [name], allow, cluster ops, topic ops, tags.
        let body = |name: &[u8]| {
            let mut x = BytesMut::new();
            x.put_u8(2);
            put_uvarint(&mut x, name.len() as u32 + 1);
            x.put_slice(name);
            x.put_u8(0);
            x.put_slice(&[1, 0, 0, 0]);
            x
        };
        let f = b.raw(api_key::METADATA, 9, 2, &body(b"bad\xff\xfe"));
        b.add(
            "metadata-v9-invalid-utf8".into(),
            "invalid UTF-8 in a topic name",
            vec![f],
        );
        let mut x = BytesMut::new();
        x.put_u8(2);
        put_uvarint(&mut x, 1_000_000);
        x.put_slice(b"short");
        let f = b.raw(api_key::METADATA, 9, 2, &x);
        b.add(
            "metadata-v9-oversized-string".into(),
            "a compact string longer than the frame",
            vec![f],
        );
        let mut t = body(PROBE_TOPIC.as_bytes());
        t.put_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let f = b.raw(api_key::METADATA, 9, 2, &t);
        b.add(
            "metadata-v9-trailing-bytes".into(),
            "bytes after a Metadata body",
            vec![f],
        );
        let f = b.raw(api_key::METADATA, 9, 1, &body(PROBE_TOPIC.as_bytes()));
        b.add(
            "metadata-v9-header-v1".into(),
            "a flexible version behind a v1 header (no header tags)",
            vec![f],
        );
    }
    {
        // v1 (non-flexible): a topic array with one string of negative length -2.
        let f = b.raw(api_key::METADATA, 1, 1, &[0, 0, 0, 1, 0xff, 0xfe]);
        b.add("metadata-v1-negative-length".into(), "a string length of -2", vec![f]);
    }
    // ---- what Kafka closes on ----
    let f = b.raw(1000, 0, 1, &[]);
    b.add("unknown-api-key".into(), "an API key no Kafka has", vec![f]);
    if let Some(missing) = (0..=75).find(|k| t.get(*k).is_none()) {
        let f = b.raw(missing, 0, 1, &[0; 8]);
        b.add(
            format!("missing-api-{missing}"),
            "the first API key the release lacks",
            vec![f],
        );
    }
    let mut tiny = BytesMut::new();
    tiny.put_i32(2);
    tiny.put_i16(3);
    b.add(
        "frame-too-short".into(),
        "a frame of 2 bytes: no room for a header",
        vec![Frame::new(api_key::METADATA, 0, tiny.freeze())],
    );
    let mut huge = BytesMut::new();
    huge.put_i32(200 * 1024 * 1024);
    huge.put_i16(3);
    b.add(
        "frame-oversized".into(),
        "a frame size above socket.request.max.bytes (100 MiB)",
        vec![Frame::new(api_key::METADATA, 0, huge.freeze())],
    );

    // ---- DescribeCluster ----
    if let Some(dc) = t.get(api_key::DESCRIBE_CLUSTER) {
        for v in dc.min
            ..=dc
                .max
                .min(crate::protocol::messages::describe_cluster::SPEC.versions.max)
        {
            let base = DescribeClusterRequest::default();
            for ops in [false, true] {
                let req = DescribeClusterRequest {
                    include_cluster_authorized_operations: ops,
                    ..base.clone()
                };
                let name = format!("describe-cluster-v{v}{}", if ops { "-ops" } else { "" });
                b.describe_cluster(v, name, "what Admin.describeCluster() sends", &req);
            }
            if v >= 1 {
                for et in [ENDPOINT_CONTROLLER, 3] {
                    let req = DescribeClusterRequest {
                        endpoint_type: et,
                        ..base.clone()
                    };
                    let name = format!("describe-cluster-v{v}-endpoint-{et}");
                    b.describe_cluster(v, name, "the endpoint-type check of v1 (KIP-919)", &req);
                }
            }
            if v >= 2 {
                let req = DescribeClusterRequest {
                    include_fenced_brokers: true,
                    ..base.clone()
                };
                b.describe_cluster(
                    v,
                    format!("describe-cluster-v{v}-fenced"),
                    "include_fenced_brokers (v2)",
                    &req,
                );
            }
        }
        let f = b.raw(api_key::DESCRIBE_CLUSTER, dc.max + 1, 2, &[0, 1, 0, 0]);
        b.add(
            format!("describe-cluster-v{}-above-max", dc.max + 1),
            "a DescribeCluster version above the maximum",
            vec![f],
        );
    }
    b.cases
}
