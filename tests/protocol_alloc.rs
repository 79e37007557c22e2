//! No decoder allocates for a length it has not seen the bytes for: measured, not assumed.
//!
//! This binary installs a counting global allocator (`cap::Cap` over the system
//! allocator, with its `stats` feature for the peak) and then, in one test so that
//! nothing else runs in the process meanwhile:
//!
//! 1. feeds every decoder hostile inputs made from the valid corpus of
//!    `tests/protocol_corpus/`: at *every* byte position of every seed, an `int32` of
//!    `i32::MAX`, an `int16` of `0x7fff` and unsigned varints of `u32::MAX` and
//!    `i32::MAX` (huge array counts and string lengths in a frame of a few hundred
//!    bytes); `split_frame` gets size prefixes of `i32::MAX`, 104857601 and exactly the
//!    limit, 104857600, with no body behind them;
//! 2. runs the client against an emulator that forges a response size prefix above the
//!    limit (and at it), raw connections that send the emulator such prefixes, and a
//!    broker that floods bytes nobody asked for;
//! 3. decodes *legal* frames of about 1 MiB made of the smallest elements each array
//!    can hold, where the heap must stay within [`AMPLIFICATION`] bytes per byte of
//!    frame (measured: about 23, for empty topic names in a Metadata request).
//!
//! After each of steps 1 and 2 the process's **peak** heap use must stay within a
//! budget above where it started (1 MiB for the decoders, 4 MiB with a tokio runtime, an
//! emulator and a client). A decoder that trusted a wire length would ask for gigabytes. On top of
//! that a hard limit is set 64 MiB above the start: an allocation beyond it fails, so
//! the process aborts with "memory allocation of N bytes failed" instead of the machine
//! paying for it. The last step checks that the meter and the limit do bite.

use std::alloc::System;
use std::time::Duration;

use cap::Cap;
use kafka_matrix::client::{Client, ClientConfig, ClientError, ConnectionError};
use kafka_matrix::emulator::{CloseReason, Emulator, EmulatorOptions, Faults};
use kafka_matrix::protocol::codec::{decode_request, decode_response};
use kafka_matrix::protocol::frame::{split_frame, DEFAULT_MAX_FRAME_BYTES};
use kafka_matrix::protocol::header::{RequestHeader, ResponseHeader};
use kafka_matrix::protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse};
use kafka_matrix::protocol::primitives::{put_uvarint, Reader};
use kafka_matrix::protocol::FrameError;
use kafka_matrix::versions::{Mode, Release};

mod protocol_corpus;
use protocol_corpus::{corpus, Seed};

#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

const MIB: usize = 1024 * 1024;
/// Peak heap allowed above the start while decoding hostile inputs.
const DECODE_BUDGET: usize = MIB;
/// Peak heap allowed above the start of the network step.
const NETWORK_BUDGET: usize = 4 * MIB;
/// Allocations beyond this much above the start fail (and abort the process).
const HARD_LIMIT: usize = 64 * MIB;

/// Asserts the peak heap use so far is within `budget` of `start`.
fn assert_peak_within(start: usize, budget: usize, step: &str) {
    let peak = ALLOC.max_allocated();
    assert!(
        peak <= start + budget,
        "{step}: peak heap {peak} bytes is {} above the start, budget {budget}",
        peak.saturating_sub(start)
    );
}

/// Every hostile variant of `bytes`: at each position, huge lengths and counts.
fn hostile_variants(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut varint_max = bytes::BytesMut::new();
    put_uvarint(&mut varint_max, u32::MAX);
    let mut varint_i32 = bytes::BytesMut::new();
    put_uvarint(&mut varint_i32, i32::MAX as u32);
    let (varint_max, varint_i32) = (varint_max.to_vec(), varint_i32.to_vec());
    (0..=bytes.len()).flat_map(move |i| {
        let mut out = Vec::new();
        let overwrite = |with: &[u8]| {
            (i + with.len() <= bytes.len()).then(|| {
                let mut b = bytes.to_vec();
                b[i..i + with.len()].copy_from_slice(with);
                b
            })
        };
        out.extend(overwrite(&i32::MAX.to_be_bytes()));
        out.extend(overwrite(&i16::MAX.to_be_bytes()));
        for v in [&varint_max, &varint_i32] {
            let mut b = bytes.to_vec();
            b.splice(i..i, v.iter().copied());
            out.push(b);
        }
        out
    })
}

fn hostile_decodes(seeds: &[Seed], decode: impl Fn(&[u8], &Seed), what: &str, start: usize) -> usize {
    let mut n = 0;
    for seed in seeds {
        for bytes in hostile_variants(&seed.bytes) {
            decode(&bytes, seed);
            n += 1;
        }
        assert_peak_within(start, DECODE_BUDGET, what);
    }
    n
}

fn decoders_step(start: usize) -> usize {
    let c = corpus();
    let mut n = 0;
    n += hostile_decodes(
        &c.request_headers,
        |b, s| drop(RequestHeader::decode(&mut Reader::new(b), s.version)),
        "request header",
        start,
    );
    n += hostile_decodes(
        &c.response_headers,
        |b, s| drop(ResponseHeader::decode(&mut Reader::new(b), s.version)),
        "response header",
        start,
    );
    n += hostile_decodes(
        &c.api_versions_requests,
        |b, s| drop(ApiVersionsRequest::decode(&mut Reader::new(b), s.version)),
        "ApiVersions request",
        start,
    );
    n += hostile_decodes(
        &c.api_versions_responses,
        |b, s| drop(ApiVersionsResponse::decode(&mut Reader::new(b), s.version)),
        "ApiVersions response",
        start,
    );
    n += hostile_decodes(
        &c.metadata_requests,
        |b, s| drop(MetadataRequest::decode(&mut Reader::new(b), s.version)),
        "Metadata request",
        start,
    );
    n += hostile_decodes(
        &c.metadata_responses,
        |b, s| drop(MetadataResponse::decode(&mut Reader::new(b), s.version)),
        "Metadata response",
        start,
    );
    n += hostile_decodes(
        &c.request_frames,
        |b, _| drop(decode_request(b)),
        "decode_request",
        start,
    );
    n += hostile_decodes(
        &c.response_frames,
        |b, s| drop(decode_response(b, s.key, s.version)),
        "decode_response",
        start,
    );
    assert!(n > 10_000, "only {n} hostile inputs");

    for prefix in [i32::MAX, 104_857_601, 104_857_600, 0x0100_0000] {
        let mut buf = bytes::BytesMut::new();
        buf.extend_from_slice(&prefix.to_be_bytes());
        buf.extend_from_slice(&[0, 18, 0, 4]);
        let got = split_frame(&mut buf, DEFAULT_MAX_FRAME_BYTES);
        if prefix as usize > DEFAULT_MAX_FRAME_BYTES {
            assert!(matches!(got, Err(FrameError::TooLarge { .. })), "{got:?}");
        } else {
            assert_eq!(got, Ok(None), "waits for the body");
        }
        assert!(
            buf.capacity() <= 2 * 64 * 1024,
            "prefix {prefix}: capacity {}",
            buf.capacity()
        );
        assert_peak_within(start, DECODE_BUDGET, "split_frame");
    }
    n
}

/// Most heap a decoder may use per byte of a *legal* frame: elements are decoded into
/// structs larger than their smallest encoding (an empty topic name, 2 bytes, becomes a
/// 40-byte `MetadataRequestTopic`), and a `Vec` may hold up to twice what it needs.
const AMPLIFICATION: usize = 48;

/// Legal frames of about 1 MiB made of the smallest elements each array can hold: the
/// decoder's heap is proportional to the bytes received, by at most [`AMPLIFICATION`].
/// Returns the worst ratio seen.
fn amplification_step() -> f64 {
    use bytes::BytesMut;
    use kafka_matrix::protocol::messages::{
        ApiVersionEntry, MetadataBroker, MetadataPartition, MetadataRequestTopic, MetadataTopic,
    };
    const ELEMENTS: usize = 500_000;
    let request = |v: i16, by_id: bool| {
        let topic = MetadataRequestTopic {
            topic_id: if by_id { [1; 16] } else { [0; 16] },
            name: (!by_id).then(String::new),
        };
        let mut b = BytesMut::new();
        MetadataRequest {
            topics: Some(vec![topic; ELEMENTS / if by_id { 9 } else { 1 }]),
            ..MetadataRequest::default()
        }
        .encode(&mut b, v)
        .expect("encodes");
        b
    };
    let response = |v: i16, what: u8| {
        let broker = MetadataBroker {
            node_id: 1,
            host: String::new(),
            port: 1,
            rack: None,
        };
        let partition = MetadataPartition {
            error_code: 0,
            partition_index: 0,
            leader_id: 0,
            leader_epoch: 0,
            replica_nodes: vec![],
            isr_nodes: vec![],
            offline_replicas: vec![],
        };
        let topic = |partitions| MetadataTopic {
            error_code: 0,
            name: Some(String::new()),
            topic_id: [0; 16],
            is_internal: false,
            partitions,
            topic_authorized_operations: 0,
        };
        let mut r = MetadataResponse::default();
        match what {
            0 => r.brokers = vec![broker; ELEMENTS / 6],
            1 => r.topics = vec![topic(vec![]); ELEMENTS / 4],
            _ => r.topics = vec![topic(vec![partition; ELEMENTS / 9])],
        }
        let mut b = BytesMut::new();
        r.encode(&mut b, v).expect("encodes");
        b
    };
    let api_versions = |v: i16| {
        let entry = ApiVersionEntry {
            api_key: 0,
            min_version: 0,
            max_version: 0,
        };
        let r = ApiVersionsResponse {
            api_keys: vec![entry; ELEMENTS / 3],
            ..ApiVersionsResponse::default()
        };
        let mut b = BytesMut::new();
        r.encode(&mut b, v).expect("encodes");
        b
    };
    let mut worst = 0f64;
    let mut measure = |name: &str, bytes: BytesMut, decode: &dyn Fn(&[u8]) -> bool| {
        let before = ALLOC.allocated();
        let bound = AMPLIFICATION * bytes.len() + 64 * 1024;
        // The global peak only grows, so a smaller frame measured after a larger one
        // would read the larger one's peak; the allocator's limit bounds each decode on
        // its own (exceeding it aborts with "memory allocation of N bytes failed").
        let limit = ALLOC.limit();
        ALLOC.set_limit(before + bound).expect("limit above what is allocated");
        assert!(decode(&bytes), "{name}: decodes");
        ALLOC.set_limit(limit).expect("restore the limit");
        let peak = ALLOC.max_allocated() - before;
        assert!(
            peak <= bound,
            "{name}: {peak} bytes of heap for a {}-byte frame",
            bytes.len()
        );
        worst = worst.max(peak as f64 / bytes.len() as f64);
    };
    for v in [1, 9] {
        measure(
            &format!("Metadata request v{v}, empty names"),
            request(v, false),
            &|b| MetadataRequest::decode(&mut Reader::new(b), v).is_ok(),
        );
    }
    measure("Metadata request v10, by id", request(10, true), &|b| {
        MetadataRequest::decode(&mut Reader::new(b), 10).is_ok()
    });
    for (v, what) in [(1, 0), (1, 1), (1, 2), (9, 0), (9, 1), (9, 2)] {
        measure(&format!("Metadata response v{v} ({what})"), response(v, what), &|b| {
            MetadataResponse::decode(&mut Reader::new(b), v).is_ok()
        });
    }
    for v in [0, 3] {
        measure(&format!("ApiVersions response v{v}"), api_versions(v), &|b| {
            ApiVersionsResponse::decode(&mut Reader::new(b), v).is_ok()
        });
    }
    worst
}

async fn network_step(start: usize) {
    const WAIT: Duration = Duration::from_secs(10);
    let config = ClientConfig {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(500),
        ..ClientConfig::default()
    };
    // The client against a broker that forges its response size.
    for forged in [104_857_601, i32::MAX, 104_857_600] {
        let faults = Faults {
            forge_response_size: Some(forged),
            ..Faults::default()
        };
        let options = EmulatorOptions {
            faults,
            ..EmulatorOptions::default()
        };
        let emu = Emulator::start(Release::new(3, 9), Mode::Zk, options)
            .await
            .expect("emulator");
        let got = tokio::time::timeout(WAIT, Client::connect(&emu.bootstrap(), config.clone()))
            .await
            .expect("in time");
        let err = got.err().unwrap_or_else(|| panic!("forged size {forged}: negotiated"));
        if forged as usize > DEFAULT_MAX_FRAME_BYTES {
            assert!(
                matches!(
                    err,
                    ClientError::Connection(ConnectionError::Frame {
                        source: FrameError::TooLarge { .. },
                        ..
                    })
                ),
                "{err:?}"
            );
        }
        // At the limit the prefix is legal: the client reserves one step toward the
        // frame, then meets the close in the middle of it.
        emu.shutdown().await;
        assert_peak_within(start, NETWORK_BUDGET, &format!("client, forged size {forged}"));
    }

    // The emulator against a client that sends such prefixes.
    let emu = Emulator::start(Release::new(3, 8), Mode::Zk, EmulatorOptions::default())
        .await
        .expect("emulator");
    for prefix in [i32::MAX, 104_857_601, 104_857_600] {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(emu.addr()).await.expect("connect");
        s.write_all(&prefix.to_be_bytes()).await.expect("write");
        s.write_all(&[0, 18, 0, 4, 0, 0, 0, 1]).await.expect("write");
        if prefix as usize > DEFAULT_MAX_FRAME_BYTES {
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut rest))
                .await
                .expect("closed in time");
            assert!(rest.is_empty());
        } else {
            // Legal: the emulator waits for the body; give it time to read what came.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(s);
        assert_peak_within(start, NETWORK_BUDGET, &format!("emulator, prefix {prefix}"));
    }
    let records = tokio::time::timeout(WAIT, async {
        loop {
            let r = emu.records();
            if r.len() >= 3 {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("three records");
    let invalid = records
        .iter()
        .filter(|r| matches!(r.closed, Some(CloseReason::InvalidFrame(_))))
        .count();
    assert_eq!(invalid, 2, "{records:?}");
    emu.shutdown().await;
    assert_peak_within(start, NETWORK_BUDGET, "emulator shut down");

    // A broker that floods unsolicited bytes: the client's check for a pending close
    // before it writes must not buffer them without limit (recv, with its frame
    // limit, is where bytes from the broker are judged).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let flooder = std::thread::spawn(move || {
        use std::io::Write;
        let Ok((mut s, _)) = listener.accept() else {
            return 0usize;
        };
        let chunk = vec![0x55u8; 64 * 1024];
        let mut sent = 0;
        // Bounded: 64 MiB at most, or until the client goes away.
        while sent < 64 * MIB && s.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
        sent
    });
    let mut conn =
        kafka_matrix::client::Connection::connect(&addr.to_string(), Duration::from_secs(5), DEFAULT_MAX_FRAME_BYTES)
            .await
            .expect("connect");
    // Let the flood fill the socket buffers, then look for a close while it goes on.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..20 {
        assert!(!conn.peer_closed(), "the flooding broker is still there");
        assert_peak_within(start, NETWORK_BUDGET, "peer_closed against a flooding broker");
    }
    drop(conn);
    let sent = flooder.join().expect("flooder");
    assert!(sent >= MIB, "the flood was on ({sent} bytes)");
}

#[test]
fn hostile_inputs_stay_within_the_heap_budget() {
    let start = ALLOC.allocated();
    ALLOC
        .set_limit(start + HARD_LIMIT)
        .expect("limit above what is allocated");

    let hostile_inputs = decoders_step(start);
    let decoders_peak = ALLOC.max_allocated() - start;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let network_start = ALLOC.allocated();
    runtime.block_on(network_step(network_start));
    drop(runtime);
    let network_peak = ALLOC.max_allocated().saturating_sub(network_start);
    // Last, after the tight budgets above (the peak is global and only grows): this
    // step's legitimate peak is tens of MiB.
    let worst_ratio = amplification_step();
    eprintln!(
        "{hostile_inputs} hostile decoder inputs; peak heap above the start: decoders {decoders_peak} bytes, \
         network step {network_peak} bytes; legal 1 MiB frames: at most {worst_ratio:.1} bytes of heap per \
         byte"
    );

    // The meter and the limit bite: a refused allocation, and a peak that moves.
    assert!(
        Vec::<u8>::new().try_reserve(HARD_LIMIT + 1).is_err(),
        "the hard limit is in force"
    );
    let before = ALLOC.allocated();
    let big = vec![1u8; 8 * MIB];
    assert!(ALLOC.max_allocated() >= before + 8 * MIB);
    assert_eq!(big.iter().map(|&b| usize::from(b)).sum::<usize>(), 8 * MIB);
}
