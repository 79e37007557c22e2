//! Per-release knowledge, as data: which APIs a Kafka broker of each release
//! advertises, which images carry that release, and the inverse, guessing a
//! release from a broker's ApiVersions reply.
//!
//! # Layout
//!
//! - [`release`]: the value types [`Release`] (`3.8`, a minor release; `"3.8.1"`
//!   parses to it) and [`Mode`] (`zk` / `kraft`), with a named parse error
//!   that lists the valid releases.
//! - [`mod@table`]: `data/api_versions.csv`, compiled in and loaded once, validated row
//!   by row, and `data/api_versions_patches.csv`, each later patch's
//!   differences; [`table()`] gives the [`ApiTable`] a default broker of a
//!   (release, mode) advertises at the catalog's patch, [`variants()`] the
//!   distinct tables across its patches.
//! - [`mod@features`]: `data/features.csv`, what a default broker puts in the
//!   KIP-584 fields of its ApiVersions v3+ reply ([`features()`]).
//! - [`catalog`]: one [`ReleaseInfo`] per minor 2.0 … 4.4: newest patch, modes,
//!   [`KraftStatus`], images.
//! - [`mod@images`]: [`ImageRef`] / [`ImageFlavor`] and [`images()`], the
//!   published container images for a (release, mode), preferred first.
//! - [`quirks`]: [`Quirks`], per-release behaviour beyond the table (with its
//!   Kafka source), and [`expected_versions`], what this crate's client
//!   negotiates with each release.
//! - [`guess`]: [`guess_release`], the inverse of the table:
//!   [`Guess::Exact`] / [`Guess::Closest`] / [`Guess::Unknown`].
//!
//! Callers look values up here instead of writing `if release >= 3.8`.
//! Where every value comes from is recorded in `data/SOURCES.md` (the API
//! tables) and `docs/catalog.md` (patches and images).
//!
//! ```
//! use kafka_matrix::versions::{guess_release, table, Mode, Release};
//!
//! let release: Release = "3.8.1".parse().unwrap();
//! let t = table(release, Mode::Zk).unwrap();
//! assert_eq!(t.get(18).map(|r| r.max), Some(3)); // ApiVersions v0-v3
//! assert_eq!(guess_release(&t.ranges()).to_string(), "3.8 (zk)");
//! ```

pub mod catalog;
pub mod features;
pub mod guess;
pub mod images;
pub mod quirks;
pub mod release;
pub mod table;

pub use catalog::{check_published, images, release_info, releases, CatalogGap, KraftStatus, ReleaseInfo};
pub use features::{features, Feature, Features};
pub use guess::{describe_broker, guess_broker, guess_release, Candidate, Guess, IGNORED_KEYS};
pub use images::{ImageFlavor, ImageRef};
pub use quirks::{expected_versions, Quirks};
pub use release::{parse_releases, Mode, ParseModeError, ParseReleaseError, Release};
pub use table::{api_name, table, tables, variants, ApiEntry, ApiTable, Patches};
