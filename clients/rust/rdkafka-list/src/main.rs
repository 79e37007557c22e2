//! Interop probe: the `rdkafka` crate (bundled librdkafka) fetches cluster metadata.
//!
//! `rdkafka-list BOOTSTRAP` prints brokers, topic count and the protocol features that
//! librdkafka enabled or disabled after its own ApiVersions negotiation (its broker-version
//! detection, read from its `feature` debug log). Exit 0 on success, 1 with one stderr line on failure.
//! `rdkafka-list --version` prints the crate and librdkafka versions.

use std::process::exit;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::util::get_rdkafka_version;

const CRATE_VERSION: &str = "0.39.0";

/// Keeps what librdkafka tells through its log and error callbacks.
#[derive(Default)]
struct Probe {
    /// Feature name -> enabled, in the order librdkafka first mentioned it.
    features: Mutex<Vec<(String, bool)>>,
    last_error: Mutex<Option<String>>,
}

impl ClientContext for Probe {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        if std::env::var_os("CLIENT_DEBUG").is_some() {
            eprintln!("librdkafka {level:?} {fac}: {msg}");
        }
        // After each ApiVersions exchange librdkafka logs "Enabling feature X" / "Disabling
        // feature X" (debug context `feature`); the final set is its verdict on the broker.
        for (verb, on) in [("Enabling feature ", true), ("Disabling feature ", false)] {
            if let Some((_, rest)) = msg.rsplit_once(verb) {
                let name = rest.split_whitespace().next().unwrap_or("").to_string();
                let mut f = self.features.lock().unwrap_or_else(|e| e.into_inner());
                match f.iter_mut().find(|(n, _)| *n == name) {
                    Some(entry) => entry.1 = on,
                    None => f.push((name, on)),
                }
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{error}: {reason}"));
    }
}

impl ConsumerContext for Probe {}

fn fail(msg: &str) -> ! {
    eprintln!("rdkafka: {}", msg.replace('\n', " "));
    exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (_, lib_version) = get_rdkafka_version();
    if args.first().map(String::as_str) == Some("--version") {
        println!("rdkafka {CRATE_VERSION} (bundled librdkafka {lib_version})");
        return;
    }
    let Some(bootstrap) = args.first() else {
        fail("usage: rdkafka-list BOOTSTRAP | --version");
    };

    // Hard deadline, whatever librdkafka does.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(20));
        fail("gave up after 20 s");
    });

    let consumer: BaseConsumer<Probe> = match ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("client.id", "kafka-matrix-interop-rdkafka")
        .set("api.version.request", "true")
        .set("debug", "feature")
        .set("socket.timeout.ms", "10000")
        .set("log_level", "7")
        .set_log_level(RDKafkaLogLevel::Debug)
        .create_with_context(Probe::default())
    {
        Ok(c) => c,
        Err(e) => fail(&format!("client config: {e}")),
    };

    let result = consumer.fetch_metadata(None, Duration::from_secs(15));
    // Log lines and errors arrive on the main queue (rdkafka sets log.queue): serve them.
    for _ in 0..4 {
        let _ = consumer.poll(Duration::from_millis(50));
    }
    let metadata = match result {
        Ok(m) => m,
        Err(e) => {
            let ctx = consumer.context();
            let last = ctx.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
            match last {
                Some(last) => fail(&format!("metadata: {e}; last broker error: {last}")),
                None => fail(&format!("metadata: {e}")),
            }
        }
    };

    println!(
        "rdkafka {CRATE_VERSION} (librdkafka {lib_version}): metadata from broker {} ({})",
        metadata.orig_broker_id(),
        metadata.orig_broker_name()
    );
    let brokers: Vec<String> = metadata
        .brokers()
        .iter()
        .map(|b| format!("{}@{}:{}", b.id(), b.host(), b.port()))
        .collect();
    println!("brokers: {} [{}]", brokers.len(), brokers.join(", "));
    let mut topics: Vec<String> = metadata
        .topics()
        .iter()
        .map(|t| format!("{}({}p)", t.name(), t.partitions().len()))
        .collect();
    topics.sort();
    println!("topics: {} [{}]", topics.len(), topics.join(", "));
    let features = consumer
        .context()
        .features
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let on: Vec<&str> = features.iter().filter(|f| f.1).map(|f| f.0.as_str()).collect();
    let off: Vec<&str> = features.iter().filter(|f| !f.1).map(|f| f.0.as_str()).collect();
    if features.is_empty() {
        println!("detected: librdkafka ApiVersions negotiation; enabled features: (none logged)");
    } else {
        println!(
            "detected: librdkafka ApiVersions negotiation; enabled features: {}; not supported: {}",
            on.join(","),
            if off.is_empty() { "-".to_string() } else { off.join(",") }
        );
    }
}
