//! The differential runner (`kafka-matrix diff`): the same bytes to the real
//! broker of a release (the JVM backend) and to its emulated twin, and every
//! way the answers differ.
//!
//! Both are set up alike. The emulator advertises the real broker's
//! host:port, takes its cluster id (KRaft: the one `storage format` was
//! given; ZooKeeper: the random one the broker made, read with one Metadata
//! v2 request first) and the probe topic's id (read with Metadata v10+), so
//! a Metadata or DescribeCluster answer can be equal byte for byte.
//!
//! One normalisation remains (docs/fidelity.md, "Differential runner"): the
//! ids of topics auto-created during the run are random on the real broker;
//! each real id is replaced, in its bytes, by the emulated id of the same
//! topic (matched by name) before the answers are compared.
//!
//! Per frame of a case, the outcome is compared first (an answer, a close,
//! or nothing within [`ANSWER_TIMEOUT`]), then the answer decoded field by
//! field (the decoded values' paths), then its bytes.

use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

pub use super::diff_cases::{cases, Case, Frame};
use crate::protocol::codec::{decode_response, ResponseBody};
use crate::protocol::messages::MetadataResponse;
use crate::versions::{Mode, Release};

/// How long a broker may take to answer one frame before it counts as no answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// Largest answer read (an answer claiming more counts as a difference of its own).
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// What a broker did with one frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Answer {
    /// An answer frame (size prefix removed).
    Reply {
        /// Its bytes, hex.
        #[serde(serialize_with = "hex")]
        bytes: Bytes,
    },
    /// The connection closed.
    Closed,
    /// Nothing within the timeout.
    Silent,
}

fn hex<S: serde::Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&to_hex(b))
}

/// `b` in lowercase hex.
pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Answer {
    fn kind(&self) -> &'static str {
        match self {
            Answer::Reply { .. } => "an answer",
            Answer::Closed => "a close",
            Answer::Silent => "no answer",
        }
    }
}

/// Sends `case` on a new connection to `addr`: one answer per frame (after a
/// close or silence, the remaining frames are not sent and count as closed).
pub async fn send(addr: &str, case: &Case) -> Vec<Answer> {
    let mut out = Vec::with_capacity(case.frames.len());
    let Ok(Ok(mut conn)) = tokio::time::timeout(ANSWER_TIMEOUT, TcpStream::connect(addr)).await else {
        return vec![Answer::Closed; case.frames.len()];
    };
    let _ = conn.set_nodelay(true);
    for frame in &case.frames {
        // After a close or a silence the connection is done with.
        if matches!(out.last(), Some(Answer::Closed | Answer::Silent)) {
            out.push(Answer::Closed);
            continue;
        }
        let mut tries = 0;
        let answer = loop {
            if !frame.pause.is_zero() {
                tokio::time::sleep(frame.pause).await;
            }
            if conn.write_all(&frame.bytes).await.is_err() {
                break Answer::Closed;
            }
            let answer = read_answer(&mut conn).await;
            tries += 1;
            if !frame.until_settled || tries >= super::diff_cases::SETTLE_TRIES || settled(frame, &answer) {
                break answer;
            }
        };
        out.push(answer);
    }
    out
}

/// Whether `answer` is a Metadata answer naming every topic without an error
/// (or is no answer at all: nothing more will come).
fn settled(frame: &Frame, answer: &Answer) -> bool {
    let Answer::Reply { bytes } = answer else {
        return true;
    };
    match decode_response(bytes, frame.key, frame.version) {
        Ok((_, ResponseBody::Metadata(m))) => m.topics.iter().all(|t| t.error_code == 0),
        _ => true,
    }
}

async fn read_answer(conn: &mut TcpStream) -> Answer {
    let read = async {
        let mut size = [0u8; 4];
        conn.read_exact(&mut size).await?;
        let n = usize::try_from(i32::from_be_bytes(size).max(0))
            .unwrap_or(0)
            .min(MAX_ANSWER);
        let mut body = vec![0u8; n];
        conn.read_exact(&mut body).await?;
        Ok::<_, std::io::Error>(Bytes::from(body))
    };
    match tokio::time::timeout(ANSWER_TIMEOUT, read).await {
        Ok(Ok(bytes)) => Answer::Reply { bytes },
        Ok(Err(_)) => Answer::Closed,
        Err(_) => Answer::Silent,
    }
}

/// One way two answers differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The case.
    pub case: String,
    /// The release and mode.
    pub pair: String,
    /// The frame's index in the case.
    pub frame: usize,
    /// Where: `outcome`, a decoded field path, or `bytes`.
    pub field: String,
    /// The real broker's value.
    pub real: String,
    /// The emulator's value.
    pub emulated: String,
    /// The reason, when an entry of the accepted-differences file covers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
}

/// The decoded answer as `(path, value)` leaves of its Debug tree, list
/// elements numbered (`topics[0].partitions[2].leader_id`).
fn leaves(key: i16, version: i16, bytes: &[u8]) -> Option<Vec<(String, String)>> {
    let (header, body) = decode_response(bytes, key, version).ok()?;
    let text = format!("{header:#?}\n{body:#?}");
    // Per open container: its path, whether it is a list, and its next element index.
    let mut stack: Vec<(String, bool, usize)> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let depth = (line.len() - line.trim_start().len()) / 4;
        let l = line.trim().trim_end_matches(',');
        stack.truncate(depth);
        if matches!(l, "}" | "]" | ")" | "") {
            continue;
        }
        let (name, value) = match l.split_once(": ") {
            Some((n, v)) if !n.contains(' ') && !n.contains('"') => (n, v),
            _ => ("", l),
        };
        let mut path = stack.last().map(|s| s.0.clone()).unwrap_or_default();
        if let Some((_, true, next)) = stack.last_mut() {
            path.push_str(&format!("[{next}]"));
            *next += 1;
        } else if !name.is_empty() {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(name);
        }
        let opens = |v: &str| v.ends_with('{') || v.ends_with('[') || v.ends_with('(');
        if opens(value) {
            let list = value.ends_with('[');
            let label = value.trim_end_matches(['{', '[', '(']).trim();
            // A top-level struct names its path; a field keeps its name.
            if path.is_empty() {
                path = label.to_owned();
            }
            stack.push((path, list, 0));
            continue;
        }
        out.push((path, value.to_owned()));
    }
    Some(out)
}

/// The topic ids of a Metadata answer, by topic name.
fn topic_ids(key: i16, version: i16, bytes: &[u8]) -> Vec<(String, [u8; 16])> {
    let Ok((_, ResponseBody::Metadata(MetadataResponse { topics, .. }))) = decode_response(bytes, key, version) else {
        return Vec::new();
    };
    topics
        .into_iter()
        .filter(|t| t.topic_id != [0; 16])
        .filter_map(|t| Some((t.name?, t.topic_id)))
        .collect()
}

/// `real` with each topic id replaced by the emulated id of the same topic.
fn normalise(key: i16, version: i16, real: &Bytes, emulated: &Bytes) -> Bytes {
    let ours = topic_ids(key, version, emulated);
    let mut bytes = real.to_vec();
    for (name, id) in topic_ids(key, version, real) {
        let Some((_, twin)) = ours.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        let mut i = 0;
        while i + 16 <= bytes.len() {
            if bytes[i..i + 16] == id {
                bytes[i..i + 16].copy_from_slice(twin);
                i += 16;
            } else {
                i += 1;
            }
        }
    }
    Bytes::from(bytes)
}

/// Both answers with what two honest brokers legitimately differ in made
/// equal (docs/fidelity.md, "Differential runner"): Metadata's topics and
/// partitions in name and index order (Kafka builds them from hash maps,
/// whose order no client may rely on), and ApiVersions'
/// `finalized_features_epoch`, the offset in the KRaft metadata log of the
/// features the broker last read, which depends on the log's history
/// (which records a run wrote before). Answers that do not decode stay as
/// they are, and so does an answer the codec does not write back byte for
/// byte.
fn canonical(key: i16, version: i16, real: &Bytes, emulated: &Bytes) -> (Bytes, Bytes) {
    let (Ok((rh, mut r)), Ok((eh, mut e))) = (
        decode_response(real, key, version),
        decode_response(emulated, key, version),
    ) else {
        return (real.clone(), emulated.clone());
    };
    let encode = |h: &crate::protocol::header::ResponseHeader, b: &ResponseBody, raw: &Bytes| {
        crate::protocol::codec::encode_response(h.correlation_id, version, b)
            .map(|f| f.slice(4..))
            .unwrap_or_else(|_| raw.clone())
    };
    // Only an answer the codec writes back as it came may be compared in
    // its normalised form: anything the decoder does not keep (an unknown
    // tagged field, say) would otherwise vanish from both sides.
    if encode(&rh, &r, real) != *real || encode(&eh, &e, emulated) != *emulated {
        return (real.clone(), emulated.clone());
    }
    match (&mut r, &mut e) {
        (ResponseBody::Metadata(r), ResponseBody::Metadata(e)) => {
            for m in [r, e] {
                m.topics.sort_by(|a, b| a.name.cmp(&b.name));
                for t in &mut m.topics {
                    t.partitions.sort_by_key(|p| p.partition_index);
                }
            }
        }
        (ResponseBody::ApiVersions(r), ResponseBody::ApiVersions(e)) => {
            r.finalized_features_epoch = e.finalized_features_epoch;
        }
        _ => {}
    }
    (encode(&rh, &r, real), encode(&eh, &e, emulated))
}

/// Every difference between the real and the emulated answers of `case`.
pub fn compare(case: &Case, pair: &str, real: &[Answer], emulated: &[Answer]) -> Vec<Difference> {
    let mut out = Vec::new();
    for (i, frame) in case.frames.iter().enumerate() {
        for (field, real, emulated) in compare_frame(frame, &real[i], &emulated[i]) {
            out.push(Difference {
                case: case.name.clone(),
                pair: pair.to_owned(),
                frame: i,
                field,
                real,
                emulated,
                accepted: None,
            });
        }
    }
    out
}

/// How the two answers to `frame` differ, as `(field, real, emulated)`:
/// the outcome, else the decoded fields, else the bytes.
fn compare_frame(frame: &Frame, real: &Answer, emulated: &Answer) -> Vec<(String, String, String)> {
    let (Answer::Reply { bytes: rb }, Answer::Reply { bytes: eb }) = (real, emulated) else {
        return if real.kind() == emulated.kind() {
            Vec::new()
        } else {
            vec![("outcome".into(), real.kind().into(), emulated.kind().into())]
        };
    };
    let rb = normalise(frame.key, frame.version, rb, eb);
    if rb == *eb {
        return Vec::new();
    }
    let (rb, eb) = canonical(frame.key, frame.version, &rb, eb);
    if rb == eb {
        return Vec::new();
    }
    let bytes = |field: &str| vec![(field.to_owned(), to_hex(&rb), to_hex(&eb))];
    let (Some(rl), Some(el)) = (
        leaves(frame.key, frame.version, &rb),
        leaves(frame.key, frame.version, &eb),
    ) else {
        return bytes("bytes (undecodable)");
    };
    let mut out = Vec::new();
    for j in 0..rl.len().max(el.len()) {
        let (a, b) = (rl.get(j), el.get(j));
        if a.is_some() && a == b {
            continue;
        }
        let path = a.or(b).map(|x| x.0.clone()).unwrap_or_default();
        let path = path.replace("MetadataBody.", "").replace("ApiVersionsResponse.", "");
        let value = |x: Option<&(String, String)>| x.map_or("(absent)".into(), |x| x.1.clone());
        out.push((path, value(a), value(b)));
        // After a length change the rest is shifted: one entry says it.
        if rl.len() != el.len() {
            break;
        }
    }
    if out.is_empty() {
        // Equal fields, different bytes: something the decoder does not keep.
        return bytes("bytes");
    }
    out
}

/// An entry of the accepted-differences file (`data/diff/accepted.txt`):
/// `accept RELEASES MODE CASES FIELD: REASON`, CASES a comma list of exact
/// case names, FIELD an exact field path: an entry never covers a class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    releases: Vec<Release>,
    mode: Mode,
    cases: Vec<String>,
    field: String,
    reason: String,
}

/// Parses the accepted-differences file; `Err` is one line naming the line.
pub fn parse_accepted(text: &str, file: &str) -> Result<Vec<Accepted>, String> {
    let mut out = Vec::new();
    for (number, line) in super::rule_lines(text) {
        let bad =
            |why: &str| format!("{file}:{number}: {why} (an entry is `accept RELEASES MODE CASES FIELD: REASON`)");
        let rest = line
            .strip_prefix("accept ")
            .ok_or_else(|| bad("does not start with `accept `"))?;
        let (scope, reason) = rest.split_once(": ").ok_or_else(|| bad("no `: ` before the reason"))?;
        let words: Vec<&str> = scope.split_whitespace().collect();
        let [releases, mode, case, field] = words[..] else {
            return Err(bad("want RELEASES MODE CASES FIELD"));
        };
        out.push(Accepted {
            releases: crate::versions::parse_releases(releases).map_err(|e| bad(&e))?,
            mode: mode
                .parse()
                .map_err(|e: crate::versions::ParseModeError| bad(&e.to_string()))?,
            cases: case.split(',').map(str::to_owned).collect(),
            field: field.to_owned(),
            reason: reason.trim().to_owned(),
        });
    }
    Ok(out)
}

/// Marks the differences an entry of `accepted` covers.
pub fn apply_accepted(diffs: &mut [Difference], release: Release, mode: Mode, accepted: &[Accepted]) {
    for d in diffs {
        if let Some(a) = accepted.iter().find(|a| {
            a.mode == mode && a.releases.contains(&release) && a.cases.contains(&d.case) && a.field == d.field
        }) {
            d.accepted = Some(a.reason.clone());
        }
    }
}

/// One pair's run.
#[derive(Debug, Clone, Serialize)]
pub struct PairResult {
    /// `3.8 zk`.
    pub pair: String,
    /// The real broker, in words.
    pub real: String,
    /// Cases sent.
    pub cases: usize,
    /// Every difference.
    pub differences: Vec<Difference>,
    /// What went wrong before any case could run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Each case's transcript: the frames and both answers, in hex.
    #[serde(skip)]
    pub transcript: String,
}

impl PairResult {
    /// The differences no accepted entry covers.
    pub fn unexplained(&self) -> usize {
        self.differences.iter().filter(|d| d.accepted.is_none()).count()
    }

    /// Its transcript's file, relative to the report directory.
    pub fn transcript_file(&self) -> String {
        format!("transcripts/{}.txt", self.pair.replace(' ', "-"))
    }
}

/// Runs `cases` against both brokers, in order, and compares.
pub async fn run_pair(pair: &str, real: &str, emulated: &str, cases: &[Case]) -> (Vec<Difference>, String) {
    let mut diffs = Vec::new();
    let mut transcript = String::new();
    for case in cases {
        let r = send(real, case).await;
        let e = send(emulated, case).await;
        transcript.push_str(&format!("## {}\n# {}\n", case.name, case.why));
        for (i, f) in case.frames.iter().enumerate() {
            transcript.push_str(&format!("> {}\n", to_hex(&f.bytes)));
            for (who, a) in [("real", &r[i]), ("emulated", &e[i])] {
                match a {
                    Answer::Reply { bytes } => transcript.push_str(&format!("< {who} {}\n", to_hex(bytes))),
                    other => transcript.push_str(&format!("< {who} {}\n", other.kind())),
                }
            }
        }
        transcript.push('\n');
        diffs.extend(compare(case, pair, &r, &e));
    }
    (diffs, transcript)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::api_key;
    use crate::protocol::codec::encode_response;
    use crate::protocol::messages::{MetadataPartition, MetadataTopic};

    const V: i16 = 12;

    fn frame() -> Frame {
        Frame {
            key: api_key::METADATA,
            version: V,
            bytes: Bytes::new(),
            pause: Duration::ZERO,
            until_settled: false,
        }
    }

    fn topic(name: &str, id: u8, partitions: &[i32]) -> MetadataTopic {
        MetadataTopic {
            name: Some(name.into()),
            topic_id: [id; 16],
            partitions: partitions
                .iter()
                .map(|&p| MetadataPartition {
                    error_code: 0,
                    partition_index: p,
                    leader_id: 1,
                    leader_epoch: 0,
                    replica_nodes: vec![1],
                    isr_nodes: vec![1],
                    offline_replicas: vec![],
                })
                .collect(),
            error_code: 0,
            is_internal: false,
            topic_authorized_operations: i32::MIN,
        }
    }

    fn reply(topics: Vec<MetadataTopic>, cluster: &str) -> Answer {
        let body = MetadataResponse {
            topics,
            cluster_id: Some(cluster.into()),
            ..MetadataResponse::default()
        };
        let bytes = encode_response(7, V, &body.into()).expect("encodes");
        Answer::Reply {
            bytes: bytes.slice(4..),
        }
    }

    #[test]
    fn topic_ids_and_hash_map_order_are_normalised_and_nothing_else() {
        // The real broker: its own random id and partitions in hash-map order.
        let real = reply(vec![topic("t", 9, &[1, 2, 0])], "c");
        let twin = reply(vec![topic("t", 3, &[0, 1, 2])], "c");
        assert_eq!(compare_frame(&frame(), &real, &twin), Vec::new());
        let other = reply(vec![topic("t", 3, &[0, 1, 2])], "d");
        assert_eq!(
            compare_frame(&frame(), &real, &other),
            vec![("Metadata.cluster_id".into(), "\"c\"".into(), "\"d\"".into())]
        );
    }

    #[test]
    fn an_unknown_tag_is_not_normalised_away_with_the_order() {
        let Answer::Reply { bytes } = reply(vec![topic("t", 9, &[1, 0])], "c") else {
            unreachable!("reply() answers")
        };
        // The body's last byte is its empty tagged-field count: give it one unknown tag.
        let mut tagged = bytes[..bytes.len() - 1].to_vec();
        tagged.extend_from_slice(&[1, 5, 1, 0xaa]);
        let real = Answer::Reply { bytes: tagged.into() };
        let twin = reply(vec![topic("t", 9, &[0, 1])], "c");
        let diffs = compare_frame(&frame(), &real, &twin);
        assert!(!diffs.is_empty(), "the tag must show");
        // Without the tag, the order alone is normalised.
        assert_eq!(
            compare_frame(&frame(), &reply(vec![topic("t", 9, &[1, 0])], "c"), &twin),
            Vec::new()
        );
    }

    #[test]
    fn an_outcome_differs_before_any_field_and_a_missing_entry_is_absent() {
        let real = reply(vec![topic("t", 9, &[0])], "c");
        assert_eq!(
            compare_frame(&frame(), &real, &Answer::Closed),
            vec![("outcome".into(), "an answer".into(), "a close".into())]
        );
        assert_eq!(compare_frame(&frame(), &Answer::Silent, &Answer::Silent), Vec::new());
        let fewer = reply(vec![], "c");
        let diffs = compare_frame(&frame(), &real, &fewer);
        assert_eq!(diffs.len(), 1, "one entry after a length change: {diffs:?}");
        assert!(diffs[0].0.starts_with("Metadata.topics"), "{diffs:?}");
    }

    #[test]
    fn an_accepted_entry_covers_its_named_cases_and_field_only() {
        let accepted = parse_accepted("# why\naccept 3.8 zk a,b Metadata.x: timing\n", "f").expect("parses");
        let d = |case: &str, field: &str| Difference {
            case: case.into(),
            pair: "3.8 zk".into(),
            frame: 0,
            field: field.into(),
            real: String::new(),
            emulated: String::new(),
            accepted: None,
        };
        let mut diffs = [
            d("a", "Metadata.x"),
            d("b", "Metadata.x"),
            d("c", "Metadata.x"),
            d("a", "Metadata.y"),
        ];
        let release: Release = "3.8".parse().expect("release");
        apply_accepted(&mut diffs, release, Mode::Zk, &accepted);
        let covered: Vec<bool> = diffs.iter().map(|d| d.accepted.is_some()).collect();
        assert_eq!(covered, [true, true, false, false]);
        let mut kraft = [d("a", "Metadata.x")];
        apply_accepted(&mut kraft, release, Mode::Kraft, &accepted);
        assert!(kraft[0].accepted.is_none(), "the entry names zk only");
        assert_eq!(
            parse_accepted("accept 3.8 zk a x", "f").map(|_| ()),
            Err("f:1: no `: ` before the reason (an entry is `accept RELEASES MODE CASES FIELD: REASON`)".into())
        );
    }
}
