//! `kafka-matrix images [--releases SPEC] [--no-tansu]`: build the local
//! images the container backend and `compose/emulated.yml`/`tansu.yml` use,
//! from the static emulator binary and the static tansu binary.

use clap::Args;

use super::CliError;
use crate::backend::container::compose::LOCAL_TAG;
use crate::backend::container::docker::{build, engine};
use crate::backend::container::local::{emulated_image, find_static_emulator, find_tansu, tansu_image};
use crate::versions::parse_releases;

/// Arguments of `images`.
#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Releases to build `kafka-matrix/emulated-kafka:<release>` for.
    #[arg(long, default_value = "all")]
    releases: String,
    /// Skip the tansu image.
    #[arg(long)]
    no_tansu: bool,
}

pub(super) async fn run(args: ImagesArgs) -> Result<(), CliError> {
    let releases = parse_releases(&args.releases)?;
    engine().await?;
    let root = std::env::current_dir()?;
    let bin = find_static_emulator(&root)?;
    for release in releases {
        let image = emulated_image(release, &bin);
        build(&image).await?;
        say!(
            "built {} (the kafka-matrix emulator, not real Kafka)",
            image.reference()
        );
    }
    if !args.no_tansu {
        let (tansu, version) = find_tansu()?;
        for tag in [version.as_str(), LOCAL_TAG] {
            let image = tansu_image(tag, &tansu);
            build(&image).await?;
            say!("built {} (tansu {version}, not Apache Kafka)", image.reference());
        }
    }
    Ok(())
}
