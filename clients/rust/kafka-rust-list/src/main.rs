//! Interop probe: the `kafka` crate (kafka-rust) loads all topic metadata.
//!
//! kafka-rust has no broker-version detection: it always sends fixed, old request versions
//! (Metadata v0). `kafka-rust-list BOOTSTRAP` prints topics and partition leaders; exit 0 on
//! success, 1 with one stderr line on failure.

use std::collections::BTreeSet;
use std::process::exit;
use std::sync::mpsc;
use std::time::Duration;

use kafka::client::KafkaClient;

const CRATE_VERSION: &str = "0.10.0";

fn fail(msg: &str) -> ! {
    eprintln!("kafka-rust: {}", msg.replace('\n', " "));
    exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--version") {
        println!("kafka-rust {CRATE_VERSION} (pure Rust, fixed protocol versions)");
        return;
    }
    let Some(bootstrap) = args.first().cloned() else {
        fail("usage: kafka-rust-list BOOTSTRAP | --version");
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut client = KafkaClient::new(vec![bootstrap.clone()]);
        client.set_client_id("kafka-matrix-interop-kafka-rust".into());
        client.set_retry_max_attempts(2);
        let result = client
            .load_metadata_all()
            .map_err(|e| format!("load_metadata_all: {e}"))
            .map(|()| {
                let mut topics = Vec::new();
                let mut leaders = BTreeSet::new();
                for t in client.topics() {
                    topics.push(format!("{}({}p)", t.name(), t.partitions().len()));
                    for p in t.partitions() {
                        if let Some(b) = p.leader() {
                            leaders.insert(format!("{}@{}", b.id(), b.host()));
                        }
                    }
                }
                topics.sort();
                (bootstrap, topics, leaders)
            });
        let _ = tx.send(result);
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Err(_) => fail("gave up after 20 s"),
        Ok(Err(e)) => fail(&e),
        Ok(Ok((bootstrap, topics, leaders))) => {
            println!("kafka-rust {CRATE_VERSION}: metadata from {bootstrap}");
            println!(
                "partition leaders: {} [{}]",
                leaders.len(),
                leaders.into_iter().collect::<Vec<_>>().join(", ")
            );
            println!("topics: {} [{}]", topics.len(), topics.join(", "));
            println!("detected: none (kafka-rust sends fixed request versions, Metadata v0)");
        }
    }
}
