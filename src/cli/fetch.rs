//! `kafka-matrix fetch [--releases SPEC]`: fill the JVM backend's jar cache
//! ahead of time, so that runs need no network.

use std::time::Instant;

use clap::Args;

use super::CliError;
use crate::backend::jvm::install::size_of;
use crate::backend::jvm::{Cache, Fetched};
use crate::versions::parse_releases;

/// Arguments of `fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Releases: `all`, `3.8`, `2.0..3.8`, or a comma list of those (each at the catalog's newest patch).
    #[arg(long, default_value = "all", env = "KAFKA_VERSIONS")]
    releases: String,
}

pub(super) async fn run(args: FetchArgs) -> Result<(), CliError> {
    let releases = parse_releases(&args.releases)?;
    let cache = Cache::from_env();
    let started = Instant::now();
    let mut total = 0;
    for release in &releases {
        let (install, fetched) = cache
            .install(*release)
            .await
            .map_err(|e| CliError::Message(e.to_string()))?;
        let bytes = size_of(&install.libs);
        total += bytes;
        let jars = std::fs::read_dir(&install.libs).map(Iterator::count).unwrap_or(0);
        let how = match fetched {
            Fetched::Cached => "cached, checksums match".to_owned(),
            Fetched::Now(took) => format!("fetched in {:.1} s", took.as_secs_f64()),
        };
        say!(
            "{}: {} jars, {:.1} MB, {how}",
            install.artifact,
            jars,
            bytes as f64 / 1e6
        );
    }
    say!(
        "{} releases, {:.1} MB in {} ({:.1} s)",
        releases.len(),
        total as f64 / 1e6,
        cache.root().join("jvm").display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
