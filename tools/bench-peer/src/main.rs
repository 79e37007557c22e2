//! `bench-peer`: a peer process of `benches/negotiation.rs` (protocol:
//! `bench_schema::peer`).
//!
//! - `run`: rskafka's `ClientBuilder::build()`, which connects, negotiates
//!   ApiVersions (3 down to 0) and fetches Metadata for all topics once;
//! - `floor`: the bench's raw TCP floor (write a frame, read one reply),
//!   from this process: beside the in-process floor it shows what being
//!   another process costs by itself;
//! - `check`: the topics rskafka sees.
//!
//! Everything runs on one current-thread tokio runtime, as the bench's own
//! clients do.

use std::time::{Duration, Instant};

use bench_schema::peer::{serve, topic_set, Reply, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

/// The `=` pin in Cargo.toml.
const RSKAFKA_VERSION: &str = "0.6.0";
/// Longest a measured run or a check may take.
const TIMEOUT: Duration = Duration::from_secs(10);

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    let served = serve("rskafka", RSKAFKA_VERSION, |req| match req {
        Request::Check { addr } => {
            let seen = within(&rt, topics(&addr));
            settle(&rt);
            match seen {
                Ok(topics) => Reply::Topics(topics),
                Err(e) => Reply::Error(e),
            }
        }
        Request::Run { addr, .. } => {
            let started = Instant::now();
            let built = within(&rt, build(&addr));
            let ns = elapsed_ns(started);
            // Dropping the client aborts its reader task; let the runtime
            // finish that (and close the socket) before answering, so that
            // none of it runs while the bench times the next client.
            let outcome = built.map(drop);
            settle(&rt);
            match outcome {
                Ok(()) => Reply::Elapsed { ns },
                Err(e) => Reply::Error(e),
            }
        }
        Request::Floor { addr, frames, .. } => match within(&rt, floor(&addr, &frames)) {
            Ok(ns) => Reply::Elapsed { ns },
            Err(e) => Reply::Error(e),
        },
        Request::Noop { .. } => Reply::Elapsed { ns: 0 },
        Request::Hello => unreachable!("serve answers hello"),
    });
    if let Err(e) = served {
        eprintln!("bench-peer: stdout: {e}");
        std::process::exit(1);
    }
}

fn elapsed_ns(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn within<T>(rt: &Runtime, f: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    rt.block_on(async {
        tokio::time::timeout(TIMEOUT, f)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {TIMEOUT:?}")))
    })
}

fn settle(rt: &Runtime) {
    rt.block_on(async {
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    });
}

async fn build(addr: &str) -> Result<rskafka::client::Client, String> {
    rskafka::client::ClientBuilder::new(vec![addr.to_owned()])
        .build()
        .await
        .map_err(|e| format!("rskafka build: {e}"))
}

async fn topics(addr: &str) -> Result<Vec<(String, usize)>, String> {
    let client = build(addr).await?;
    let topics = client
        .list_topics()
        .await
        .map_err(|e| format!("rskafka list_topics: {e}"))?;
    Ok(topic_set(
        topics.iter().map(|t| (Some(t.name.as_str()), t.partitions.len())),
    ))
}

/// Connects, writes each frame and reads one size-prefixed reply; the time
/// from before the connect to the last reply.
async fn floor(addr: &str, frames: &[Vec<u8>]) -> Result<u64, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("floor connect {addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| format!("set_nodelay: {e}"))?;
    // Read as the in-process floor reads: into one buffer, as much as the
    // socket has, until the size prefix says the reply is complete.
    let mut buf = Vec::with_capacity(8 * 1024);
    for frame in frames {
        stream.write_all(frame).await.map_err(|e| format!("floor write: {e}"))?;
        buf.clear();
        loop {
            if let Some(size) = buf.get(..4) {
                let size = i32::from_be_bytes([size[0], size[1], size[2], size[3]]);
                let size = usize::try_from(size).map_err(|_| "negative frame size".to_owned())?;
                if buf.len() >= 4 + size {
                    break;
                }
            }
            let n = stream
                .read_buf(&mut buf)
                .await
                .map_err(|e| format!("floor read: {e}"))?;
            if n == 0 {
                return Err("floor: the broker closed the connection".to_owned());
            }
        }
    }
    Ok(elapsed_ns(started))
}
