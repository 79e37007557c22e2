//! The release matrix on the embedded backend: every catalog release × mode
//! × {ping, metadata}, one test per cell with the release in its name
//! (`cargo test --test matrix_embedded kafka_3_8` runs 3.8's cells), all
//! from one list that a test holds to the catalog.
//!
//! Each cell starts the emulator for that release, connects this crate's
//! client, and checks the negotiated versions against the catalog and the
//! answer against what the emulator was seeded with (see `matrix::run_cell`).

use kafka_matrix::client::{Client, ClientConfig};
use kafka_matrix::emulator::{Emulator, EmulatorOptions, SeededTopic};
use kafka_matrix::matrix::{expected_versions, run_cell, Backend, Cell, RunContext, Scenario};
use kafka_matrix::negotiate::Outcome;
use kafka_matrix::protocol::VersionRange;
use kafka_matrix::versions::{releases, Mode, Release};
use rstest::rstest;

/// One list of (release, mode) cells: it makes the `CASES` const that a test
/// checks against the catalog, and one test module per cell named by its
/// release (`cargo test --test matrix_embedded kafka_3_8` runs 3.8's cells),
/// each with a ping and a metadata test.
macro_rules! cells {
    ($($name:ident: $release:literal $mode:ident,)*) => {
        const CASES: &[(&str, Mode)] = &[$(($release, Mode::$mode)),*];
        $(
            mod $name {
                use super::*;

                #[tokio::test]
                async fn ping() {
                    check_cell($release, Mode::$mode, Scenario::Ping).await;
                }

                #[tokio::test]
                async fn metadata() {
                    check_cell($release, Mode::$mode, Scenario::Metadata).await;
                }
            }
        )*
    };
}

cells! {
    kafka_2_0_zk: "2.0" Zk,
    kafka_2_1_zk: "2.1" Zk,
    kafka_2_2_zk: "2.2" Zk,
    kafka_2_3_zk: "2.3" Zk,
    kafka_2_4_zk: "2.4" Zk,
    kafka_2_5_zk: "2.5" Zk,
    kafka_2_6_zk: "2.6" Zk,
    kafka_2_7_zk: "2.7" Zk,
    kafka_2_8_zk: "2.8" Zk,
    kafka_2_8_kraft: "2.8" Kraft,
    kafka_3_0_zk: "3.0" Zk,
    kafka_3_0_kraft: "3.0" Kraft,
    kafka_3_1_zk: "3.1" Zk,
    kafka_3_1_kraft: "3.1" Kraft,
    kafka_3_2_zk: "3.2" Zk,
    kafka_3_2_kraft: "3.2" Kraft,
    kafka_3_3_zk: "3.3" Zk,
    kafka_3_3_kraft: "3.3" Kraft,
    kafka_3_4_zk: "3.4" Zk,
    kafka_3_4_kraft: "3.4" Kraft,
    kafka_3_5_zk: "3.5" Zk,
    kafka_3_5_kraft: "3.5" Kraft,
    kafka_3_6_zk: "3.6" Zk,
    kafka_3_6_kraft: "3.6" Kraft,
    kafka_3_7_zk: "3.7" Zk,
    kafka_3_7_kraft: "3.7" Kraft,
    kafka_3_8_zk: "3.8" Zk,
    kafka_3_8_kraft: "3.8" Kraft,
    kafka_3_9_zk: "3.9" Zk,
    kafka_3_9_kraft: "3.9" Kraft,
    kafka_4_0_kraft: "4.0" Kraft,
    kafka_4_1_kraft: "4.1" Kraft,
    kafka_4_2_kraft: "4.2" Kraft,
    kafka_4_3_kraft: "4.3" Kraft,
    kafka_4_4_kraft: "4.4" Kraft,
}

#[test]
fn the_cases_cover_every_catalog_release_and_mode() {
    let mut catalog: Vec<(Release, Mode)> = releases()
        .iter()
        .flat_map(|info| info.modes.iter().map(move |m| (info.release, *m)))
        .collect();
    let mut cases: Vec<(Release, Mode)> = CASES
        .iter()
        .map(|(r, m)| (r.parse().expect("a catalog release"), *m))
        .collect();
    catalog.sort();
    cases.sort();
    assert_eq!(cases, catalog);
}

async fn check_cell(release: &str, mode: Mode, scenario: Scenario) {
    let release: Release = release.parse().expect("a catalog release");
    let result = run_cell(
        Cell::kafka(release, mode, Backend::Embedded, scenario),
        &RunContext::default(),
    )
    .await;
    assert!(
        result.outcome.passed,
        "{release} {mode} {scenario}: {:?}",
        result.outcome.error
    );
    assert!(
        !result.broker.real_kafka,
        "the embedded backend is never reported as real Kafka"
    );
    let (api_versions, metadata) = expected_versions(release, mode).expect("catalog entry");
    assert_eq!(result.negotiation.api_versions_version, Some(api_versions));
    assert_eq!(result.negotiation.metadata_version, Some(metadata));
    let guessed = result.negotiation.guessed.expect("a guess");
    assert!(
        guessed.contains(&release.to_string()),
        "guessed {guessed} for {release}"
    );
}

/// The ApiVersions attempts as (version, outcome).
fn path(client: &Client) -> Vec<(i16, Outcome)> {
    client
        .negotiated()
        .attempts
        .iter()
        .map(|a| (a.version, a.outcome))
        .collect()
}

async fn negotiate_with(release: Release, mode: Mode) -> (Client, Emulator) {
    let options = EmulatorOptions {
        topics: vec![SeededTopic::new("orders", 2)],
        ..EmulatorOptions::default()
    };
    let emulator = Emulator::start(release, mode, options).await.expect("emulator starts");
    let client = Client::connect(&emulator.bootstrap(), ClientConfig::default())
        .await
        .expect("negotiates");
    (client, emulator)
}

/// The seed case: franz-go 1.19 sent ApiVersions v4 to Kafka 3.8. We must
/// fall back to v3 on the broker's hint and then fetch Metadata at 3.8's
/// v12 — not the client's own v13, which 3.8 closes the connection on.
#[tokio::test]
async fn seed_kafka_38_v4_then_v3_then_metadata() {
    let (mut client, emulator) = negotiate_with(Release::new(3, 8), Mode::Zk).await;
    let attempts = path(&client);
    assert_eq!(
        attempts,
        vec![
            (
                4,
                Outcome::Unsupported {
                    hint: VersionRange::new(0, 3)
                }
            ),
            (3, Outcome::Accepted)
        ]
    );
    assert_eq!(client.versions().metadata, 12);
    let md = client.metadata(None).await.expect("metadata after fallback");
    assert_eq!(md.version, 12);
    assert_eq!(md.topics.iter().map(|t| t.partitions.len()).sum::<usize>(), 2);
    client.ping().await.expect("ping after metadata");
    drop(client);
    emulator.shutdown().await;
}

/// Before KIP-511 (2.0–2.3) the refusal carries no range: retry at v0.
#[tokio::test]
async fn pre_kip_511_release_falls_back_to_v0() {
    let (mut client, _emulator) = negotiate_with(Release::new(2, 3), Mode::Zk).await;
    let attempts = path(&client);
    assert_eq!(
        attempts,
        vec![(4, Outcome::Unsupported { hint: None }), (0, Outcome::Accepted)]
    );
    assert_eq!(client.versions().metadata, 8);
    client.metadata(None).await.expect("metadata v8");
}

/// 3.9 and later know ApiVersions v4: one attempt, no fallback.
#[rstest]
#[case::kafka_3_9_zk(Release::new(3, 9), Mode::Zk)]
#[case::kafka_4_0_kraft(Release::new(4, 0), Mode::Kraft)]
#[case::kafka_4_3_kraft(Release::new(4, 3), Mode::Kraft)]
#[tokio::test]
async fn kafka_39_and_later_stay_on_v4(#[case] release: Release, #[case] mode: Mode) {
    let (mut client, _emulator) = negotiate_with(release, mode).await;
    let attempts = path(&client);
    assert_eq!(attempts, vec![(4, Outcome::Accepted)]);
    client.metadata(None).await.expect("metadata");
}
