//! `kafka-matrix catalog [--check-published VERSION...] [--check-upstream]`:
//! print the release catalog, or check published Apache Kafka versions
//! against it — given ones, or every version Maven Central publishes of the
//! broker (`kafka_2.13`, `kafka_2.12`), read from its `maven-metadata.xml`
//! with curl (the scheduled workflow runs this).

use clap::Args;

use super::CliError;
use crate::versions::{check_published, images, releases};

/// Arguments of `catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Published versions (e.g. 4.1.1) that must all be covered; whitespace or comma separated.
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    check_published: Vec<String>,
    /// Check every broker version Maven Central publishes (needs curl and the network); one line per gap.
    #[arg(long, conflicts_with = "check_published")]
    check_upstream: bool,
}

/// Where Maven Central lists the broker's versions, per Scala build.
const UPSTREAM: [&str; 2] = [
    "https://repo1.maven.org/maven2/org/apache/kafka/kafka_2.13/maven-metadata.xml",
    "https://repo1.maven.org/maven2/org/apache/kafka/kafka_2.12/maven-metadata.xml",
];

/// The `<version>`s of a `maven-metadata.xml`, final releases only
/// (`X.Y.Z`; no `-rc`, no `0.10.2.1`-style four-part versions).
fn metadata_versions(xml: &str) -> Vec<String> {
    xml.split("<version>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</version>"))
        .map(|(v, _)| v.trim())
        .filter(|v| {
            let parts: Vec<&str> = v.split('.').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_owned)
        .collect()
}

fn upstream_versions() -> Result<Vec<String>, CliError> {
    let mut all = Vec::new();
    for url in UPSTREAM {
        let out = std::process::Command::new("curl")
            .args(["-fsSL", "--max-time", "30", url])
            .output()
            .map_err(|e| CliError::Message(format!("--check-upstream needs curl: {e}")))?;
        if !out.status.success() {
            return Err(CliError::Message(format!(
                "--check-upstream: cannot read {url}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        all.extend(metadata_versions(&String::from_utf8_lossy(&out.stdout)));
    }
    all.sort();
    all.dedup();
    if all.is_empty() {
        return Err(CliError::Message(
            "--check-upstream: Maven Central listed no Kafka versions".into(),
        ));
    }
    Ok(all)
}

pub(super) fn run(args: CatalogArgs) -> Result<(), CliError> {
    let upstream = if args.check_upstream {
        upstream_versions()?
    } else {
        Vec::new()
    };
    let given = if args.check_upstream {
        &upstream
    } else {
        &args.check_published
    };
    if !given.is_empty() {
        let versions: Vec<&str> = given.iter().flat_map(|v| v.split_whitespace()).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_versions_are_read_off_maven_metadata() {
        let xml = "<metadata><versioning><versions><version>0.10.2.1</version><version>2.0.1</version>\n\
                   <version>4.4.0</version><version>4.4.0-rc1</version></versions></versioning></metadata>";
        assert_eq!(metadata_versions(xml), ["2.0.1", "4.4.0"]);
    }
}
