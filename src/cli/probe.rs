//! `kafka-matrix probe HOST:PORT [--json]`: negotiate, guess the release,
//! fetch metadata, and say what was found.
//!
//! The text is a summary whatever the broker sends: counts, the first
//! [`TEXT_ROWS`] brokers and topics (and [`TEXT_API_ROWS`] APIs, more than
//! any Kafka release has), then `… N more (use --json for all)`; names from
//! the broker are cut at [`TEXT_NAME_CHARS`] and their control characters
//! escaped. `--json` prints everything.

use clap::Args;
use serde::Serialize;

use super::CliError;
use crate::client::{Client, ClientConfig, ClusterMetadata};
use crate::negotiate::{Attempt, ClientApis};
use crate::protocol::VersionRange;
use crate::report;
use crate::versions::{api_name, describe_broker};

/// Brokers and topics listed in the text output; the rest are counted.
pub const TEXT_ROWS: usize = 20;
/// APIs listed in the text output: more than any Kafka release has (77 in
/// 4.4), far fewer than a hostile reply can claim (one per i16 key).
pub const TEXT_API_ROWS: usize = 100;
/// Characters of a broker-sent name (host, topic, cluster id) shown in text.
pub const TEXT_NAME_CHARS: usize = 120;

/// Arguments of `probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The broker, HOST:PORT.
    bootstrap: String,
    /// Print JSON instead of text: every broker, topic and API (the text lists the first 20 brokers and topics).
    #[arg(long)]
    json: bool,
}

/// One API as both sides see it.
#[derive(Debug, Serialize)]
struct ApiRow {
    key: i16,
    name: &'static str,
    broker: VersionRange,
    /// The version this client uses, for the APIs it speaks.
    negotiated: Option<i16>,
}

/// The KIP-584 part of the broker's ApiVersions reply (v3+).
#[derive(Debug, Serialize)]
struct Features {
    /// `name min-max`, as the broker listed them.
    supported: Vec<String>,
    /// `name level`.
    finalized: Vec<String>,
    /// -1 when the broker sent none.
    epoch: i64,
    /// Why the feature fields could not be read, if they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    unreadable: Option<String>,
}

impl Features {
    fn of(reply: &Result<crate::protocol::messages::ApiVersionsResponse, crate::protocol::DecodeError>) -> Self {
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) => {
                return Self {
                    supported: Vec::new(),
                    finalized: Vec::new(),
                    epoch: -1,
                    unreadable: Some(e.to_string()),
                }
            }
        };
        Self {
            supported: reply
                .supported_features
                .iter()
                .map(|f| format!("{} {}-{}", f.name, f.min_version, f.max_version))
                .collect(),
            finalized: reply
                .finalized_features
                .iter()
                .map(|f| format!("{} {}", f.name, f.max_version_level))
                .collect(),
            epoch: reply.finalized_features_epoch,
            unreadable: None,
        }
    }

    fn text(&self) -> String {
        if let Some(e) = &self.unreadable {
            return format!("unreadable ({e})");
        }
        if self.supported.is_empty() && self.finalized.is_empty() && self.epoch == -1 {
            return "none".into();
        }
        let list = |v: &[String]| if v.is_empty() { "-".to_owned() } else { v.join(", ") };
        format!(
            "supported {}; finalized {} (epoch {})",
            list(&self.supported),
            list(&self.finalized),
            self.epoch
        )
    }
}

#[derive(Debug, Serialize)]
struct Probe {
    bootstrap: String,
    api_versions_version: i16,
    attempts: Vec<Attempt>,
    guessed: String,
    features: Features,
    apis: Vec<ApiRow>,
    metadata: ClusterMetadata,
}

pub(super) async fn run(args: ProbeArgs) -> Result<(), CliError> {
    let mut client = Client::connect(&args.bootstrap, ClientConfig::default())
        .await
        .map_err(|e| CliError::Message(format!("probe {} failed: {e}", args.bootstrap)))?;
    let negotiated = client.negotiated().clone();
    // The negotiation skipped the feature lists; the probe shows them.
    let reply = negotiated.response();
    let ranges: Vec<_> = negotiated.broker_ranges().into_iter().collect();
    let apis = ClientApis::kafka_matrix();
    let rows = ranges
        .iter()
        .map(|&(key, broker)| ApiRow {
            key,
            name: api_name(key).unwrap_or("?"),
            broker,
            negotiated: apis.range(key).and_then(|_| negotiated.version_for(&apis, key).ok()),
        })
        .collect();
    let metadata = client
        .metadata(None)
        .await
        .map_err(|e| CliError::Message(format!("probe {} failed: metadata: {e}", args.bootstrap)))?;
    let probe = Probe {
        bootstrap: args.bootstrap,
        api_versions_version: negotiated.api_versions_version,
        attempts: negotiated.attempts.to_vec(),
        guessed: describe_broker(&reply, negotiated.api_versions_version),
        features: Features::of(&reply),
        apis: rows,
        metadata,
    };
    if args.json {
        say!("{}", serde_json::to_string_pretty(&probe)?);
    } else {
        say_raw!("{}", text(&probe));
    }
    Ok(())
}

fn text(p: &Probe) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let path = p
        .attempts
        .iter()
        .map(report::attempt_text)
        .collect::<Vec<_>>()
        .join(" → ");
    let _ = writeln!(s, "broker:      {}", p.bootstrap);
    let _ = writeln!(s, "ApiVersions: v{} ({path})", p.api_versions_version);
    let _ = writeln!(s, "Metadata:    v{}", p.metadata.version);
    let _ = writeln!(s, "guessed:     {}", p.guessed);
    let _ = writeln!(s, "features:    {}", p.features.text());
    let md = &p.metadata;
    let _ = writeln!(
        s,
        "cluster:     {} (controller {})",
        md.cluster_id.as_deref().map_or("-".into(), shown),
        md.controller_id
    );
    let _ = writeln!(s, "brokers:     {}", md.brokers.len());
    for b in md.brokers.iter().take(TEXT_ROWS) {
        let _ = writeln!(s, "broker {}:    {}:{}", b.id, shown(&b.host), b.port);
    }
    more(&mut s, md.brokers.len(), TEXT_ROWS);
    let _ = writeln!(s, "topics:      {}", md.topics.len());
    for t in md.topics.iter().take(TEXT_ROWS) {
        let _ = writeln!(
            s,
            "topic:       {} ({} partitions, {})",
            t.name.as_deref().map_or("<null>".into(), shown),
            t.partitions.len(),
            t.error
        );
    }
    more(&mut s, md.topics.len(), TEXT_ROWS);
    let _ = writeln!(s, "APIs ({}):", p.apis.len());
    for a in p.apis.iter().take(TEXT_API_ROWS) {
        let used = a.negotiated.map(|v| format!("  → using v{v}")).unwrap_or_default();
        let _ = writeln!(s, "  {:>3} {:<32} {}{used}", a.key, a.name, a.broker);
    }
    more(&mut s, p.apis.len(), TEXT_API_ROWS);
    s
}

/// `… N more (use --json for all)` when `total` rows did not all fit in `shown`.
fn more(s: &mut String, total: usize, shown: usize) {
    if total > shown {
        s.push_str(&format!("… {} more (use --json for all)\n", total - shown));
    }
}

/// A name the broker sent, safe to print: control characters escaped, cut
/// at [`TEXT_NAME_CHARS`] characters.
fn shown(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if i == TEXT_NAME_CHARS {
            out.push_str(&format!("… ({} bytes)", name.len()));
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_names_are_shown_escaped_and_cut() {
        assert_eq!(shown("orders"), "orders");
        assert_eq!(shown("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
        let long = "x".repeat(5000);
        assert_eq!(shown(&long), format!("{}… (5000 bytes)", "x".repeat(TEXT_NAME_CHARS)));
    }
}
