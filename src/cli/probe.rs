//! `kafka-matrix probe HOST:PORT [--json]`: negotiate, guess the release,
//! fetch metadata, and say what was found.

use clap::Args;
use serde::Serialize;

use super::CliError;
use crate::client::{Client, ClientConfig, ClusterMetadata};
use crate::negotiate::{Attempt, ClientApis};
use crate::protocol::VersionRange;
use crate::report;
use crate::versions::{api_name, guess_broker};

/// Arguments of `probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The broker, HOST:PORT.
    bootstrap: String,
    /// Print JSON instead of text.
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
}

impl Features {
    fn of(reply: &crate::protocol::messages::ApiVersionsResponse) -> Self {
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
        }
    }

    fn text(&self) -> String {
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
        .map_err(|e| CliError(format!("probe {} failed: {e}", args.bootstrap)))?;
    let negotiated = client.negotiated().clone();
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
        .map_err(|e| CliError(format!("probe {} failed: metadata: {e}", args.bootstrap)))?;
    let probe = Probe {
        bootstrap: args.bootstrap,
        api_versions_version: negotiated.api_versions_version,
        attempts: negotiated.attempts.clone(),
        guessed: guess_broker(&negotiated.response, negotiated.api_versions_version).to_string(),
        features: Features::of(&negotiated.response),
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
        md.cluster_id.as_deref().unwrap_or("-"),
        md.controller_id
    );
    for b in &md.brokers {
        let _ = writeln!(s, "broker {}:    {}:{}", b.id, b.host, b.port);
    }
    for t in &md.topics {
        let _ = writeln!(
            s,
            "topic:       {} ({} partitions, {})",
            t.name.as_deref().unwrap_or("<null>"),
            t.partitions.len(),
            t.error
        );
    }
    let _ = writeln!(s, "APIs ({}):", p.apis.len());
    for a in &p.apis {
        let used = a.negotiated.map(|v| format!("  → using v{v}")).unwrap_or_default();
        let _ = writeln!(s, "  {:>3} {:<32} {}{used}", a.key, a.name, a.broker);
    }
    s
}
