//! A small Kafka client that does ApiVersions then Metadata the way a
//! correct client does, or, with `--bug NAME`, with one documented class of
//! client bug, so that `kafka-matrix conform` can be shown to catch each.
//! Written from the bug descriptions (no other project's code).
//!
//! ```text
//! wrong_client [--bug NAME] HOST:PORT
//! ```
//!
//! Bugs:
//! - `misread-refusal`: reads the KIP-511 refusal (error 35, a v0 body
//!   holding only the ApiVersions range) as the broker's whole table and
//!   sends Metadata at its own newest version (franz-go v1.19.0,
//!   twmb/franz-go#1010, fixed by #1011);
//! - `write-after-close`: retries ApiVersions on the same connection after a
//!   refusal without looking for the broker's close (the franz-go 1.19 write
//!   on a dead connection);
//! - `no-v0-fallback`: after a refusal without a hint (Kafka 2.0–2.3) asks
//!   at v3 and never at v0 (clients that assumed every broker has KIP-511);
//! - `no-reset-fallback`: after a connection closed without a reply asks at
//!   the same version again (franz-go 1.19.0–1.19.3 against Azure Event Hubs,
//!   twmb/franz-go#1025);
//! - `ignore-throttle`: sends its next request at once after a throttled
//!   reply (librdkafka#5592, rskafka#182);
//! - `no-timeout`: waits for a reply forever (librdkafka#606, aiokafka#91);
//! - `ignore-correlation-id`: takes any reply as the answer (KAFKA-4669).
//!
//! Exit 0 when it has the metadata, 1 (one line on stderr) otherwise.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use kafka_matrix::protocol::header::ResponseHeader;
use kafka_matrix::protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse};
use kafka_matrix::protocol::primitives::Reader;
use kafka_matrix::protocol::throttle::client_must_wait;
use kafka_matrix::protocol::{api_key, encode_request, RequestBody, DEFAULT_MAX_FRAME_BYTES};

const BUGS: &[&str] = &[
    "misread-refusal",
    "write-after-close",
    "no-v0-fallback",
    "no-reset-fallback",
    "ignore-throttle",
    "no-timeout",
    "ignore-correlation-id",
];

/// The newest versions this client speaks.
const API_VERSIONS_MAX: i16 = 4;
const METADATA_MAX: i16 = 12;

struct Client {
    addr: String,
    bug: Option<&'static str>,
    stream: TcpStream,
    correlation_id: i32,
    quiet_until: Option<Instant>,
}

type Result<T> = std::result::Result<T, String>;

impl Client {
    fn has(&self, bug: &str) -> bool {
        self.bug == Some(bug)
    }

    fn connect(addr: &str, bug: Option<&'static str>) -> Result<Self> {
        let mut c = Self {
            addr: addr.to_owned(),
            bug,
            stream: Self::dial(addr, bug)?,
            correlation_id: 0,
            quiet_until: None,
        };
        c.correlation_id = 1;
        Ok(c)
    }

    fn dial(addr: &str, bug: Option<&str>) -> Result<TcpStream> {
        let s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        let timeout = (bug != Some("no-timeout")).then_some(Duration::from_secs(3));
        s.set_read_timeout(timeout).map_err(|e| e.to_string())?;
        Ok(s)
    }

    fn reconnect(&mut self) -> Result<()> {
        self.stream = Self::dial(&self.addr, self.bug)?;
        Ok(())
    }

    /// Whether the broker has closed: a zero-byte peek (nothing of ours is
    /// pending, since this client never pipelines).
    fn peer_closed(&self) -> bool {
        let _ = self.stream.set_nonblocking(true);
        let mut b = [0u8; 1];
        let closed = matches!(self.stream.peek(&mut b), Ok(0));
        let _ = self.stream.set_nonblocking(false);
        closed
    }

    /// Sends one request; `None` when the broker had closed (nothing sent).
    fn send(&mut self, version: i16, body: &RequestBody) -> Result<Option<i32>> {
        if let Some(t) = self.quiet_until.take() {
            if !self.has("ignore-throttle") {
                std::thread::sleep(t.saturating_duration_since(Instant::now()));
            }
        }
        if !self.has("write-after-close") && self.peer_closed() {
            return Ok(None);
        }
        let id = self.correlation_id;
        self.correlation_id += 1;
        let frame = encode_request(id, Some("wrong-client"), version, body).map_err(|e| e.to_string())?;
        match self.stream.write_all(&frame) {
            Ok(()) => Ok(Some(id)),
            Err(_) => Ok(None),
        }
    }

    /// Reads one reply body (after its size prefix), checked against `id`;
    /// `None` when the broker closed first.
    fn recv(&mut self, id: i32) -> Result<Option<Vec<u8>>> {
        let mut size = [0u8; 4];
        if let Err(e) = self.stream.read_exact(&mut size) {
            return match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Err("timed out".into()),
                _ => Ok(None),
            };
        }
        let size = i32::from_be_bytes(size);
        if size < 4 || size as usize > DEFAULT_MAX_FRAME_BYTES {
            return Err(format!("reply size {size} is out of bounds"));
        }
        let mut body = vec![0u8; size as usize];
        if self.stream.read_exact(&mut body).is_err() {
            return Ok(None);
        }
        let got = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        if got != id && !self.has("ignore-correlation-id") {
            return Err(format!("reply has correlation id {got}, expected {id}"));
        }
        Ok(Some(body))
    }

    fn throttle(&mut self, key: i16, version: i16, ms: i32) {
        if ms > 0 && client_must_wait(key, version) {
            self.quiet_until = Some(Instant::now() + Duration::from_millis(ms.unsigned_abs().into()));
        }
    }

    /// ApiVersions until accepted; returns the broker's Metadata range max.
    fn negotiate(&mut self) -> Result<(i16, i16)> {
        let mut version = API_VERSIONS_MAX;
        let mut fresh = true;
        for _ in 0..6 {
            let body = RequestBody::ApiVersions(ApiVersionsRequest {
                client_software_name: "wrong-client".into(),
                client_software_version: "1.0".into(),
                ..ApiVersionsRequest::default()
            });
            let reply = match self.send(version, &body)? {
                Some(id) => self.recv(id)?,
                None => None,
            };
            let Some(reply) = reply else {
                // Closed: after a refusal, the retry goes on a new connection;
                // closed with no reply at all, a lower version.
                if fresh && !self.has("no-reset-fallback") {
                    version = if version > 3 { 3 } else { 0 };
                }
                self.reconnect()?;
                fresh = true;
                continue;
            };
            fresh = false;
            let mut r = Reader::new(&reply);
            ResponseHeader::decode(&mut r, 0).map_err(|e| e.to_string())?;
            let error = r.clone().i16("error_code").map_err(|e| e.to_string())?;
            if error == 35 {
                let refusal = ApiVersionsResponse::decode(&mut r, 0).map_err(|e| e.to_string())?;
                if self.has("misread-refusal") {
                    // The one entry taken for the whole table: Metadata is
                    // not listed, so the client assumes its own newest.
                    return Ok((0, METADATA_MAX + 1));
                }
                version = match refusal.range_of(api_key::API_VERSIONS) {
                    Some(range) => range.max.min(API_VERSIONS_MAX),
                    None if self.has("no-v0-fallback") => 3,
                    None => 0,
                };
                continue;
            }
            if error != 0 {
                return Err(format!("ApiVersions v{version}: error {error}"));
            }
            let resp = ApiVersionsResponse::decode(&mut r, version).map_err(|e| e.to_string())?;
            self.throttle(api_key::API_VERSIONS, version, resp.throttle_time_ms);
            let metadata = resp
                .range_of(api_key::METADATA)
                .ok_or("the broker has no Metadata API")?;
            return Ok((version, metadata.max.min(METADATA_MAX)));
        }
        Err("gave up after 6 ApiVersions attempts".into())
    }

    fn metadata(&mut self, version: i16) -> Result<MetadataResponse> {
        let id = self
            .send(version, &RequestBody::Metadata(MetadataRequest::default()))?
            .ok_or("the broker closed the connection")?;
        let reply = self
            .recv(id)?
            .ok_or_else(|| format!("the broker closed the connection on Metadata v{version}"))?;
        let mut r = Reader::new(&reply);
        let hv = kafka_matrix::protocol::header::response_header_version(api_key::METADATA, version).unwrap_or(0);
        ResponseHeader::decode(&mut r, hv).map_err(|e| e.to_string())?;
        let resp = MetadataResponse::decode(&mut r, version).map_err(|e| e.to_string())?;
        self.throttle(api_key::METADATA, version, resp.throttle_time_ms);
        Ok(resp)
    }
}

fn run(bug: Option<&'static str>, addr: &str) -> Result<String> {
    let mut c = Client::connect(addr, bug)?;
    let (av, md) = c.negotiate()?;
    let meta = c.metadata(md)?;
    // A second round, as a client refreshing its metadata would.
    let again = c.metadata(md)?;
    Ok(format!(
        "ApiVersions v{av}, Metadata v{md}: {} brokers, {} topics (then {})",
        meta.brokers.len(),
        meta.topics.len(),
        again.topics.len()
    ))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (bug, addr) = match args.as_slice() {
        [flag, name, addr] if flag == "--bug" => match BUGS.iter().find(|b| **b == name.as_str()) {
            Some(b) => (Some(*b), addr.clone()),
            None => {
                eprintln!("unknown bug {name:?}; bugs: {}", BUGS.join(", "));
                std::process::exit(2);
            }
        },
        [addr] => (None, addr.clone()),
        _ => {
            eprintln!("usage: wrong_client [--bug NAME] HOST:PORT (bugs: {})", BUGS.join(", "));
            std::process::exit(2);
        }
    };
    match run(bug, &addr) {
        Ok(summary) => println!("{summary}"),
        Err(e) => {
            eprintln!("wrong_client: {e}");
            std::process::exit(1);
        }
    }
}
