//! Corpus-and-mutation fuzzing of every decoder in `kafka_matrix::protocol`, one property
//! per decoder, so a case count can be given *per decoder*:
//!
//! | property | decoder |
//! |---|---|
//! | `fuzz_split_frame` | `frame::split_frame` (size prefix), bytes fed in random chunks |
//! | `fuzz_request_header` | `RequestHeader::decode` v0–2 and `RequestHeader::peek_ids` |
//! | `fuzz_response_header` | `ResponseHeader::decode` v0–1 |
//! | `fuzz_api_versions_request` | `ApiVersionsRequest::decode`, every version |
//! | `fuzz_api_versions_response` | `ApiVersionsResponse::decode`, every version |
//! | `fuzz_metadata_request` | `MetadataRequest::decode`, every version |
//! | `fuzz_metadata_response` | `MetadataResponse::decode`, every version |
//! | `fuzz_decode_request` | `codec::decode_request` (header + body, as the emulator reads) |
//! | `fuzz_decode_response` | `codec::decode_response` (header + body, as the client reads) |
//! | `fuzz_negotiation` | `negotiate::Session` fed a run of mutated ApiVersions replies and closes |
//!
//! Each case is either uniform noise or a valid encoding from a corpus (every version of
//! every message, built by the crate's encoders below) with 1–6 mutations: bit flips,
//! byte sets, inserts, removals, truncation, a splice of the input into itself, and
//! hostile lengths written over any position (`i32::MAX`/`-2`/… as `int32`, `0x7fff` as
//! `int16`, `u32::MAX` as an unsigned varint). The version decoded at is the seed's, or
//! now and then any version from -2 to 16. What must hold:
//!
//! - no panic (a panic fails the case);
//! - whatever decodes is at a supported version, re-encodes, and decodes back to the same
//!   value (so the decoder accepts nothing the encoder cannot write);
//! - the negotiation session, whatever the broker answers (hostile KIP-511 hints
//!   included), only ever sends ApiVersions requests at versions 0–4 that decode, stays
//!   within its attempt and reconnect budgets, and ends (`Done` or `Fail`);
//! - `split_frame` never yields a frame above its limit and never reserves more than one
//!   64 KiB step beyond the bytes it holds (the allocation bound itself is measured with
//!   a counting allocator in `tests/protocol_alloc.rs`).
//!
//! Every corpus entry round-trips byte for byte (`corpus_round_trips_every_version`); the
//! arbitrary-value round trips are in `tests/protocol_roundtrip.rs`.
//!
//! Case count: proptest's default (256 per property) in `cargo test`; `just fuzz` sets
//! `PROPTEST_CASES=1000000` and runs this file in release mode. Failures are persisted
//! under `tests/proptest-regressions/`.

use bytes::BytesMut;
use kafka_matrix::negotiate::{Action, Input, NegotiateError, Outcome, Session, SessionConfig};
use kafka_matrix::protocol::codec::{decode_request, decode_response, encode_request, encode_response};
use kafka_matrix::protocol::frame::{split_frame, DEFAULT_MAX_FRAME_BYTES};
use kafka_matrix::protocol::header::{RequestHeader, ResponseHeader};
use kafka_matrix::protocol::messages::{
    ApiVersionEntry, ApiVersionsRequest, ApiVersionsResponse, Message, MetadataRequest, MetadataResponse,
};
use kafka_matrix::protocol::primitives::Reader;
use kafka_matrix::protocol::{api_key, EncodeError, ResponseBody};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;

mod protocol_corpus;
use protocol_corpus::{corpus, encoded, Seed};

#[test]
fn corpus_round_trips_every_version() {
    let c = corpus();
    // Every version of each message is in the corpus.
    for (seeds, versions) in [
        (&c.api_versions_requests, ApiVersionsRequest::versions()),
        (&c.api_versions_responses, ApiVersionsResponse::versions()),
        (&c.metadata_requests, MetadataRequest::versions()),
        (&c.metadata_responses, MetadataResponse::versions()),
    ] {
        for v in versions.min..=versions.max {
            assert!(seeds.iter().any(|s| s.version == v), "no seed at v{v}");
        }
    }
    let again =
        |write: &dyn Fn(&mut BytesMut) -> Result<(), EncodeError>| encoded(write).expect("a decoded value re-encodes");
    for s in &c.api_versions_requests {
        let x = ApiVersionsRequest::decode(&mut Reader::new(&s.bytes), s.version).expect("decodes");
        assert_eq!(again(&|b| x.encode(b, s.version)), s.bytes, "v{}", s.version);
    }
    for s in &c.api_versions_responses {
        let x = ApiVersionsResponse::decode(&mut Reader::new(&s.bytes), s.version).expect("decodes");
        assert_eq!(again(&|b| x.encode(b, s.version)), s.bytes, "v{}", s.version);
    }
    for s in &c.metadata_requests {
        let x = MetadataRequest::decode(&mut Reader::new(&s.bytes), s.version).expect("decodes");
        assert_eq!(again(&|b| x.encode(b, s.version)), s.bytes, "v{}", s.version);
    }
    for s in &c.metadata_responses {
        let x = MetadataResponse::decode(&mut Reader::new(&s.bytes), s.version).expect("decodes");
        assert_eq!(again(&|b| x.encode(b, s.version)), s.bytes, "v{}", s.version);
    }
    for s in &c.request_frames {
        let (h, body) = decode_request(&s.bytes).expect("decodes");
        let f = encode_request(h.correlation_id, h.client_id.as_deref(), h.api_version, &body).expect("encodes");
        assert_eq!(&f[4..], &s.bytes[..]);
    }
    for s in &c.response_frames {
        let (h, body) = decode_response(&s.bytes, s.key, s.version).expect("decodes");
        let f = encode_response(h.correlation_id, s.version, &body).expect("encodes");
        assert_eq!(&f[4..], &s.bytes[..]);
    }
}

// ---------------------------------------------------------------------------------------
// Mutations.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: Index,
        mask: u8,
    },
    Set {
        at: Index,
        byte: u8,
    },
    Insert {
        at: Index,
        byte: u8,
    },
    Remove {
        at: Index,
    },
    Truncate {
        at: Index,
    },
    /// Copy `len` bytes from one position over another (repeats structure).
    Splice {
        from: Index,
        to: Index,
        len: u8,
    },
    /// Overwrite with a big-endian `int32` (a hostile array count or string length).
    Int32 {
        at: Index,
        value: i32,
    },
    /// Overwrite with a big-endian `int16` (a hostile classic string length).
    Int16 {
        at: Index,
        value: i16,
    },
    /// Insert an unsigned varint (a hostile compact length or tag count).
    Varint {
        at: Index,
        value: u32,
    },
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let i32s = prop_oneof![
        Just(i32::MAX),
        Just(i32::MIN),
        Just(-1),
        Just(-2),
        Just(0x0640_0001),
        0..64i32,
        any::<i32>()
    ];
    let i16s = prop_oneof![Just(i16::MAX), Just(-1i16), Just(-2i16), 0..64i16, any::<i16>()];
    let varints = prop_oneof![Just(u32::MAX), Just(0u32), Just(1u32), 0..64u32, any::<u32>()];
    prop_oneof![
        (any::<Index>(), 1..=u8::MAX).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<Index>().prop_map(|at| Mutation::Remove { at }),
        any::<Index>().prop_map(|at| Mutation::Truncate { at }),
        (any::<Index>(), any::<Index>(), 1..32u8).prop_map(|(from, to, len)| Mutation::Splice { from, to, len }),
        (any::<Index>(), i32s).prop_map(|(at, value)| Mutation::Int32 { at, value }),
        (any::<Index>(), i16s).prop_map(|(at, value)| Mutation::Int16 { at, value }),
        (any::<Index>(), varints).prop_map(|(at, value)| Mutation::Varint { at, value }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    let overwrite = |bytes: &mut Vec<u8>, at: &Index, with: &[u8]| {
        if bytes.len() >= with.len() {
            let i = at.index(bytes.len() - with.len() + 1);
            bytes[i..i + with.len()].copy_from_slice(with);
        }
    };
    match m {
        Mutation::Flip { at, mask } if n > 0 => bytes[at.index(n)] ^= mask,
        Mutation::Set { at, byte } if n > 0 => bytes[at.index(n)] = *byte,
        Mutation::Insert { at, byte } => bytes.insert(at.index(n + 1), *byte),
        Mutation::Remove { at } if n > 0 => {
            bytes.remove(at.index(n));
        }
        Mutation::Truncate { at } => bytes.truncate(at.index(n + 1)),
        Mutation::Splice { from, to, len } if n > 0 => {
            let from = from.index(n);
            let piece: Vec<u8> = bytes[from..(from + usize::from(*len)).min(n)].to_vec();
            overwrite(bytes, to, &piece);
        }
        Mutation::Int32 { at, value } => overwrite(bytes, at, &value.to_be_bytes()),
        Mutation::Int16 { at, value } => overwrite(bytes, at, &value.to_be_bytes()),
        Mutation::Varint { at, value } => {
            let mut v = BytesMut::new();
            kafka_matrix::protocol::primitives::put_uvarint(&mut v, *value);
            let i = at.index(n + 1);
            bytes.splice(i..i, v.iter().copied());
        }
        _ => {}
    }
}

/// One fuzz input: noise, or a corpus seed with mutations; and the version to decode at.
#[derive(Debug, Clone)]
enum Case {
    Noise {
        bytes: Vec<u8>,
        version: i16,
    },
    Mutated {
        seed: Index,
        mutations: Vec<Mutation>,
        version: Option<i16>,
    },
}

fn arb_case() -> impl Strategy<Value = Case> {
    prop_oneof![
        1 => (vec(any::<u8>(), 0..256), -2i16..=16).prop_map(|(bytes, version)| Case::Noise { bytes, version }),
        6 => (any::<Index>(), vec(arb_mutation(), 1..=6), proptest::option::weighted(0.1, -2i16..=16))
            .prop_map(|(seed, mutations, version)| Case::Mutated { seed, mutations, version }),
    ]
}

/// The bytes, version and key a case stands for over `seeds`.
fn realise(case: &Case, seeds: &[Seed]) -> (Vec<u8>, i16, i16) {
    match case {
        Case::Noise { bytes, version } => {
            let key = if version % 2 == 0 {
                api_key::METADATA
            } else {
                api_key::API_VERSIONS
            };
            (bytes.clone(), *version, key)
        }
        Case::Mutated {
            seed,
            mutations,
            version,
        } => {
            let s = seed.get(seeds);
            let mut bytes = s.bytes.clone();
            for m in mutations {
                apply(&mut bytes, m);
            }
            (bytes, version.unwrap_or(s.version), s.key)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Checks, one per decoder.
// ---------------------------------------------------------------------------------------

/// Decodes with `decode`; if that succeeds the version must be supported, and the value
/// must re-encode and decode to itself.
/// Whatever decodes as `T` at `v` is a version `T` declares, and re-encodes and decodes to itself.
fn body_check<T: Message>(bytes: &[u8], v: i16) -> Result<(), TestCaseError> {
    if let Ok(x) = <T as Message>::decode(&mut Reader::new(bytes), v) {
        prop_assert!(T::versions().contains(v), "decoded at unsupported v{}", v);
        let again = encoded(|b| Message::encode(&x, b, v))
            .ok_or_else(|| TestCaseError::fail(format!("v{v}: decoded value does not re-encode: {x:?}")))?;
        let back = <T as Message>::decode(&mut Reader::new(&again), v);
        prop_assert_eq!(back.as_ref(), Ok(&x), "v{} re-decode", v);
    }
    Ok(())
}

fn check_split_frame(wire: &[u8], max: usize, chunks: &[usize]) -> Result<(), TestCaseError> {
    let mut buf = BytesMut::new();
    let mut fed = 0usize;
    let mut chunk = chunks.iter().cycle();
    'feed: while fed < wire.len() {
        let n = (*chunk.next().unwrap_or(&1)).max(1).min(wire.len() - fed);
        buf.extend_from_slice(&wire[fed..fed + n]);
        fed += n;
        loop {
            match split_frame(&mut buf, max) {
                Ok(Some(frame)) => prop_assert!(frame.len() <= max, "{} > {}", frame.len(), max),
                Ok(None) => {
                    // About one 64 KiB step reserved beyond what is held, never the
                    // announced size: `BytesMut` may double, or reuse the original
                    // capacity as a hint, hence the factor 2 and the small slack.
                    let bound = 2 * (buf.len() + 64 * 1024) + 1024;
                    prop_assert!(
                        buf.capacity() <= bound,
                        "capacity {} for {} bytes",
                        buf.capacity(),
                        buf.len()
                    );
                    break;
                }
                Err(_) => break 'feed,
            }
        }
    }
    Ok(())
}

fn check_request_header(bytes: &[u8], hv: i16) -> Result<(), TestCaseError> {
    let peeked = RequestHeader::peek_ids(bytes);
    prop_assert_eq!(peeked.is_ok(), bytes.len() >= 8);
    if let Ok(h) = RequestHeader::decode(&mut Reader::new(bytes), hv) {
        prop_assert_eq!(peeked, Ok((h.api_key, h.api_version, h.correlation_id)));
        let again = encoded(|b| h.encode(b, hv)).ok_or_else(|| TestCaseError::fail("header does not re-encode"))?;
        prop_assert_eq!(RequestHeader::decode(&mut Reader::new(&again), hv), Ok(h));
    }
    Ok(())
}

fn check_response_header(bytes: &[u8], hv: i16) -> Result<(), TestCaseError> {
    if let Ok(h) = ResponseHeader::decode(&mut Reader::new(bytes), hv) {
        prop_assert_eq!(
            h.correlation_id,
            i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
        );
        let mut again = BytesMut::new();
        h.encode(&mut again, hv);
        prop_assert_eq!(ResponseHeader::decode(&mut Reader::new(&again), hv), Ok(h));
    }
    Ok(())
}

fn check_decode_request(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok((h, body)) = decode_request(bytes) {
        prop_assert_eq!(body.api_key(), h.api_key);
        let f = encode_request(h.correlation_id, h.client_id.as_deref(), h.api_version, &body)
            .map_err(|e| TestCaseError::fail(format!("decoded request does not re-encode: {e}")))?;
        prop_assert_eq!(decode_request(&f[4..]), Ok((h, body)));
    }
    Ok(())
}

fn check_decode_response(bytes: &[u8], key: i16, v: i16) -> Result<(), TestCaseError> {
    for key in [key, api_key::API_VERSIONS, api_key::METADATA] {
        if let Ok((h, body)) = decode_response(bytes, key, v) {
            let f = encode_response(h.correlation_id, v, &body)
                .map_err(|e| TestCaseError::fail(format!("decoded response does not re-encode: {e}")))?;
            prop_assert_eq!(decode_response(&f[4..], key, v), Ok((h, body)));
        }
    }
    Ok(())
}

/// One step of a broker's side of a negotiation.
#[derive(Debug, Clone)]
enum Reply {
    Closed,
    /// UNSUPPORTED_VERSION as a v0 body, with this ApiVersions range as the KIP-511 hint.
    Refuse {
        hint: Option<(i16, i16)>,
    },
    /// A normal answer at the version asked for.
    Accept,
    /// Another error code at the version asked for.
    Error(i16),
    /// A mutated ApiVersions reply; `fix_id` writes the expected correlation id over it.
    Mutated {
        case: Case,
        fix_id: bool,
    },
}

fn arb_reply() -> impl Strategy<Value = Reply> {
    let range = prop_oneof![3 => (0i16..=5, 0i16..=5), 1 => (any::<i16>(), any::<i16>())];
    prop_oneof![
        1 => Just(Reply::Closed),
        3 => proptest::option::weighted(0.8, range).prop_map(|hint| Reply::Refuse { hint }),
        2 => Just(Reply::Accept),
        1 => any::<i16>().prop_map(Reply::Error),
        3 => (arb_case(), proptest::bool::weighted(0.8)).prop_map(|(case, fix_id)| Reply::Mutated { case, fix_id }),
    ]
}

/// The frame (without size prefix) `reply` stands for, answering `(version, id)`.
fn reply_frame(reply: &Reply, version: i16, id: i32, seeds: &[Seed]) -> Option<Vec<u8>> {
    let entry = |min_version, max_version| ApiVersionEntry {
        api_key: api_key::API_VERSIONS,
        min_version,
        max_version,
    };
    let (body, at) = match reply {
        Reply::Closed => return None,
        Reply::Refuse { hint } => (
            ApiVersionsResponse {
                error_code: 35,
                api_keys: hint.map(|(a, b)| vec![entry(a, b)]).unwrap_or_default(),
                ..ApiVersionsResponse::default()
            },
            0,
        ),
        Reply::Accept | Reply::Error(_) => (
            ApiVersionsResponse {
                error_code: if let Reply::Error(code) = reply { *code } else { 0 },
                api_keys: vec![
                    entry(0, 4),
                    ApiVersionEntry {
                        api_key: api_key::METADATA,
                        min_version: 0,
                        max_version: 12,
                    },
                ],
                ..ApiVersionsResponse::default()
            },
            version,
        ),
        Reply::Mutated { case, fix_id } => {
            let (mut bytes, _, _) = realise(case, seeds);
            if *fix_id && bytes.len() >= 4 {
                bytes[..4].copy_from_slice(&id.to_be_bytes());
            }
            return Some(bytes);
        }
    };
    encode_response(id, at, &ResponseBody::ApiVersions(body))
        .ok()
        .map(|f| f[4..].to_vec())
}

fn check_negotiation(replies: &[Reply]) -> Result<(), TestCaseError> {
    let config = SessionConfig::default();
    let (max_attempts, max_reconnects) = (config.max_attempts, config.max_reconnects);
    let seeds: Vec<Seed> = corpus()
        .response_frames
        .iter()
        .filter(|s| s.key == api_key::API_VERSIONS)
        .cloned()
        .collect();
    let mut session = Session::new(&config);
    let mut action = session.on_connected();
    let (mut sends, mut reconnects) = (0u32, 0u32);
    let mut expected_id = 0i32;
    let mut replies = replies.iter();
    loop {
        let input = match &action {
            Action::Send(frame) => {
                sends += 1;
                prop_assert!(sends <= max_attempts, "{} sends", sends);
                let (h, body) = decode_request(&frame[4..])
                    .map_err(|e| TestCaseError::fail(format!("the session sent a frame that does not decode: {e}")))?;
                prop_assert_eq!(body.api_key(), api_key::API_VERSIONS);
                prop_assert!((0..=4).contains(&h.api_version), "sent ApiVersions v{}", h.api_version);
                expected_id = h.correlation_id;
                match replies
                    .next()
                    .and_then(|r| reply_frame(r, h.api_version, expected_id, &seeds))
                {
                    None => Input::Closed,
                    Some(bytes) => Input::Frame(bytes.into()),
                }
            }
            Action::Reconnect => {
                reconnects += 1;
                prop_assert!(reconnects <= max_reconnects, "{} reconnects", reconnects);
                action = session.on_connected();
                continue;
            }
            Action::Done(n) => {
                prop_assert!((0..=4).contains(&n.api_versions_version));
                prop_assert_eq!(n.attempts.last().map(|a| a.outcome), Some(Outcome::Accepted));
                prop_assert_eq!(n.attempts.last().map(|a| a.correlation_id), Some(expected_id));
                // Choosing the other APIs' versions from whatever the broker listed never panics.
                let _ = n.version_for(&SessionConfig::default().apis, api_key::METADATA);
                break;
            }
            Action::Fail(_) => break,
        };
        action = session.on_input(input);
    }
    // Once ended, the session refuses to go on.
    prop_assert!(matches!(
        session.on_input(Input::Closed),
        Action::Fail(NegotiateError::Misuse(_))
    ));
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/protocol_fuzz.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_split_frame(
        case in arb_case(),
        extra in vec(arb_case(), 0..3),
        small_max in 0usize..600,
        use_default_max in any::<bool>(),
        chunks in vec(1usize..64, 1..8),
    ) {
        let seeds = &corpus().frames;
        let mut wire = realise(&case, seeds).0;
        for c in &extra {
            wire.extend(realise(c, seeds).0);
        }
        let max = if use_default_max { DEFAULT_MAX_FRAME_BYTES } else { small_max };
        check_split_frame(&wire, max, &chunks)?;
    }

    #[test]
    fn fuzz_request_header(case in arb_case(), hv in 0i16..=2) {
        let (bytes, _, _) = realise(&case, &corpus().request_headers);
        check_request_header(&bytes, hv)?;
    }

    #[test]
    fn fuzz_response_header(case in arb_case(), hv in 0i16..=1) {
        let (bytes, _, _) = realise(&case, &corpus().response_headers);
        check_response_header(&bytes, hv)?;
    }

    #[test]
    fn fuzz_api_versions_request(case in arb_case()) {
        let (bytes, v, _) = realise(&case, &corpus().api_versions_requests);
        body_check::<ApiVersionsRequest>(&bytes, v)?;
    }

    #[test]
    fn fuzz_api_versions_response(case in arb_case()) {
        let (bytes, v, _) = realise(&case, &corpus().api_versions_responses);
        body_check::<ApiVersionsResponse>(&bytes, v)?;
    }

    #[test]
    fn fuzz_metadata_request(case in arb_case()) {
        let (bytes, v, _) = realise(&case, &corpus().metadata_requests);
        body_check::<MetadataRequest>(&bytes, v)?;
    }

    #[test]
    fn fuzz_metadata_response(case in arb_case()) {
        let (bytes, v, _) = realise(&case, &corpus().metadata_responses);
        body_check::<MetadataResponse>(&bytes, v)?;
    }

    #[test]
    fn fuzz_decode_request(case in arb_case()) {
        let (bytes, _, _) = realise(&case, &corpus().request_frames);
        check_decode_request(&bytes)?;
    }

    #[test]
    fn fuzz_negotiation(replies in vec(arb_reply(), 0..8)) {
        check_negotiation(&replies)?;
    }

    #[test]
    fn fuzz_decode_response(case in arb_case()) {
        let (bytes, v, key) = realise(&case, &corpus().response_frames);
        check_decode_response(&bytes, key, v)?;
    }
}
