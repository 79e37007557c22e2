//! Interop probe: the `rskafka` crate lists topics.
//!
//! rskafka negotiates every request's version through ApiVersions when it connects (that is
//! its broker-version detection; it exposes no summary of it), then `list_topics` sends Metadata.
//! `rskafka-list BOOTSTRAP` prints the topic count; exit 0 on success, 1 with one stderr line.

use std::process::exit;
use std::time::Duration;

use rskafka::client::ClientBuilder;

const CRATE_VERSION: &str = "0.6.0";

fn fail(msg: &str) -> ! {
    eprintln!("rskafka: {}", msg.replace('\n', " "));
    exit(1)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--version") {
        println!("rskafka {CRATE_VERSION} (pure Rust)");
        return;
    }
    let Some(bootstrap) = args.first().cloned() else {
        fail("usage: rskafka-list BOOTSTRAP | --version");
    };
    let work = async {
        let client = ClientBuilder::new(vec![bootstrap.clone()])
            .client_id("kafka-matrix-interop-rskafka")
            .build()
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let topics = client.list_topics().await.map_err(|e| format!("list_topics: {e}"))?;
        // The controller lookup is a second Metadata round trip.
        let controller = client.controller_client().map(|_| "ok").unwrap_or("n/a");
        Ok::<_, String>((topics, controller))
    };
    match tokio::time::timeout(Duration::from_secs(20), work).await {
        Err(_) => fail("gave up after 20 s"),
        Ok(Err(e)) => fail(&e),
        Ok(Ok((topics, controller))) => {
            println!("rskafka {CRATE_VERSION}: connected to {bootstrap}");
            let mut names: Vec<String> = topics
                .iter()
                .map(|t| format!("{}({}p)", t.name, t.partitions.len()))
                .collect();
            names.sort();
            println!("topics: {} [{}]", names.len(), names.join(", "));
            println!("controller client: {controller}");
            println!("detected: per-request versions from ApiVersions (rskafka does not report them)");
        }
    }
}
