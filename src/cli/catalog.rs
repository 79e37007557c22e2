//! `kafka-matrix catalog [--check-published VERSION...]`: print the release
//! catalog, or check published Apache Kafka versions against it (CI runs this
//! with every version downloads.apache.org lists).

use clap::Args;

use super::CliError;
use crate::versions::{check_published, images, releases};

/// Arguments of `catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Published versions (e.g. 4.1.1) that must all be covered; whitespace or comma separated.
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    check_published: Vec<String>,
}

pub(super) fn run(args: CatalogArgs) -> Result<(), CliError> {
    if !args.check_published.is_empty() {
        let versions: Vec<&str> = args.check_published.iter().flat_map(|v| v.split_whitespace()).collect();
        let gaps: Vec<String> = versions
            .iter()
            .filter_map(|v| check_published(v).err())
            .map(|e| e.to_string())
            .collect();
        if gaps.is_empty() {
            say!("the catalog covers all {} published versions", versions.len());
            return Ok(());
        }
        return Err(CliError::Message(gaps.join("\n")));
    }
    say!("| release | newest patch | modes | KRaft | images (preferred first) |");
    say!("|---|---|---|---|---|");
    for info in releases() {
        let modes: Vec<String> = info.modes.iter().map(ToString::to_string).collect();
        let imgs: Vec<String> = info
            .modes
            .iter()
            .flat_map(|&m| images(info.release, m))
            .map(|i| i.to_string())
            .collect();
        say!(
            "| {} | {} | {} | {} | {} |",
            info.release,
            info.latest_patch,
            modes.join(", "),
            info.kraft_status,
            if imgs.is_empty() {
                "-".to_owned()
            } else {
                imgs.join(", ")
            }
        );
    }
    Ok(())
}
