//! The reconnect option (`client::ApiVersionsMemo`, issue 14): a reconnect
//! through the memo starts at the ApiVersions version the broker accepted
//! last time, so the refusal round trip of a fresh client is paid once per
//! broker address; the fresh client (no memo) is unchanged.

use std::sync::Arc;
use std::time::Duration;

use kafka_matrix::client::{ApiVersionsMemo, Client, ClientConfig};
use kafka_matrix::emulator::{Emulator, EmulatorOptions, SeededTopic};
use kafka_matrix::versions::{Mode, Release};
use rstest::rstest;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

async fn start(release: Release, mode: Mode) -> Emulator {
    let options = EmulatorOptions {
        topics: vec![SeededTopic::new("orders", 3)],
        ..EmulatorOptions::default()
    };
    Emulator::start(release, mode, options)
        .await
        .unwrap_or_else(|e| panic!("emulator {release} {mode}: {e}"))
}

/// (ApiVersions versions sent, in order) of one connect.
fn path(client: &Client) -> Vec<i16> {
    client.negotiated().attempts.iter().map(|a| a.version).collect()
}

#[rstest]
#[case::blind_refusal(2, 0, Mode::Zk, vec![4, 0], 0)]
#[case::named_refusal(3, 8, Mode::Zk, vec![4, 3], 3)]
#[case::accepted(4, 0, Mode::Kraft, vec![4], 4)]
#[tokio::test]
async fn a_remembered_version_skips_the_refusal(
    #[case] major: u8,
    #[case] minor: u8,
    #[case] mode: Mode,
    #[case] fresh_path: Vec<i16>,
    #[case] accepted: i16,
) {
    let emu = start(Release::new(major, minor), mode).await;
    let addr = emu.bootstrap();
    let base = Arc::new(ClientConfig::default());
    let memo = ApiVersionsMemo::new();
    assert_eq!(memo.accepted(&addr), None);

    let first = timeout(WAIT, memo.connect(&addr, Arc::clone(&base)))
        .await
        .expect("in time")
        .expect("connect");
    assert_eq!(path(&first), fresh_path, "the first connect is a fresh client's");
    assert_eq!(memo.accepted(&addr), Some(accepted));
    let fresh_versions = first.versions();

    let again = timeout(WAIT, memo.connect(&addr, Arc::clone(&base)))
        .await
        .expect("in time")
        .expect("connect");
    assert_eq!(
        path(&again),
        vec![accepted],
        "a reconnect starts where the broker accepted"
    );
    assert_eq!(again.versions(), fresh_versions, "and negotiates the same versions");

    // The default stays a fresh client.
    let fresh = timeout(WAIT, Client::connect(&addr, Arc::clone(&base)))
        .await
        .expect("in time")
        .expect("connect");
    assert_eq!(path(&fresh), fresh_path);

    memo.forget(&addr);
    assert_eq!(
        memo.config_for(&addr, &base).session.start_version,
        base.session.start_version
    );
}

/// A remembered version the broker no longer accepts (it was downgraded) is
/// refused and negotiated like any start version: one more round trip, once.
#[tokio::test]
async fn a_stale_memo_costs_one_round_trip_once() {
    let emu = start(Release::new(2, 0), Mode::Zk).await;
    let addr = emu.bootstrap();
    let base = Arc::new(ClientConfig::default());
    let memo = ApiVersionsMemo::new();
    memo.remember_version(&addr, 3);
    let stale = timeout(WAIT, memo.connect(&addr, Arc::clone(&base)))
        .await
        .expect("in time")
        .expect("connect");
    assert_eq!(path(&stale), vec![3, 0]);
    let again = timeout(WAIT, memo.connect(&addr, Arc::clone(&base)))
        .await
        .expect("in time")
        .expect("connect");
    assert_eq!(path(&again), vec![0]);
}
