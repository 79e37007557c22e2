//! What to start for a container cell, as plain data (no Docker here).
//!
//! A [`BrokerPlan`] says which image(s) to run with which environment,
//! command, names and port mapping, and which host address the broker must
//! advertise. Keeping this pure lets unit tests check every release's
//! configuration without a Docker engine; `docker.rs` only executes it.
//!
//! The classic container-Kafka failure is the advertised listener: a client
//! bootstraps on the mapped host port, then Metadata tells it to reconnect to
//! the container's own hostname and port, which it cannot reach. We choose the
//! host port before the container starts and advertise exactly that address
//! on the listener the host client uses (`PLAINTEXT`), while brokers and
//! controllers talk over a second listener (`BROKER`) on the container
//! network. Sources for every variable: `docs/containers.md`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::backend::probe::{PROBE_PARTITIONS, PROBE_TOPIC};
use crate::backend::settings::Settings;
use crate::versions::images::{ImageFlavor, ImageRef};
use crate::versions::{Mode, Release};

/// The port every broker listens on for host clients, inside its container.
pub const CLIENT_PORT: u16 = 9092;
/// The inter-broker listener, reachable only on the container network.
pub const BROKER_PORT: u16 = 9093;
/// The KRaft controller listener.
pub const CONTROLLER_PORT: u16 = 9094;
/// ZooKeeper's client port.
pub const ZOOKEEPER_PORT: u16 = 2181;
/// Locally built emulator images: `kafka-matrix/emulated-kafka:<release>`.
pub const EMULATED_IMAGE: &str = "kafka-matrix/emulated-kafka";
/// Locally built tansu images: `kafka-matrix/tansu:<tansu version>`.
pub const TANSU_IMAGE: &str = "kafka-matrix/tansu";
/// Label put on every container and network we start, valued with the run id,
/// so a run (or a test) can count and sweep exactly its own.
pub const RUN_LABEL: &str = "org.kafka-matrix.run";
/// The KRaft cluster id given to real images that require one (22 characters
/// of URL-safe base64, the format `kafka-storage random-uuid` prints).
pub const KRAFT_CLUSTER_ID: &str = "a2Fma2EtbWF0cml4LXJlYQ";

/// The names a broker's containers get: unique per cell of a run, or fixed
/// per release in the compose files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The run id (the [`RUN_LABEL`] value).
    pub run: String,
    /// The broker container's name, also its hostname on the network.
    pub broker: String,
    /// The ZooKeeper container's name.
    pub zookeeper: String,
    /// A private network for the cell; `None` uses the default one.
    pub network: Option<String>,
}

impl Names {
    /// Cell number `cell` of run `run`: `kafka-matrix-<run>-<cell>-kafka`,
    /// `...-zk`, on network `kafka-matrix-<run>-<cell>`.
    pub fn for_cell(run: &str, cell: usize) -> Self {
        let base = format!("kafka-matrix-{run}-{cell}");
        Self {
            run: run.to_owned(),
            broker: format!("{base}-kafka"),
            zookeeper: format!("{base}-zk"),
            network: Some(base),
        }
    }

    /// Compose services for `release`: `kafka-3-8`, `zk-3-8`.
    pub fn for_compose(release: Release) -> Self {
        let id = format!("{}-{}", release.major, release.minor);
        Self {
            run: "compose".to_owned(),
            broker: format!("kafka-{id}"),
            zookeeper: format!("zk-{id}"),
            network: None,
        }
    }
}

/// One container to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Image repository, e.g. `apache/kafka`.
    pub image: String,
    /// Image tag, e.g. `3.8.1`.
    pub tag: String,
    /// Container name, also its DNS name on `network`.
    pub name: String,
    /// Environment, sorted for stable output.
    pub env: BTreeMap<String, String>,
    /// Command (arguments after the image's entrypoint); empty keeps the image's.
    pub cmd: Vec<String>,
    /// Host port mapped to [`CLIENT_PORT`], if the host must reach it.
    pub host_port: Option<u16>,
    /// Network to join.
    pub network: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

impl ContainerSpec {
    fn new(image: &str, tag: &str, name: String, names: &Names) -> Self {
        Self {
            image: image.to_owned(),
            tag: tag.to_owned(),
            name,
            env: BTreeMap::new(),
            cmd: Vec::new(),
            host_port: None,
            network: None,
            labels: BTreeMap::from([(RUN_LABEL.to_owned(), names.run.clone())]),
        }
    }

    /// `image:tag`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.image, self.tag)
    }

    fn env(mut self, pairs: &[(&str, String)]) -> Self {
        for (k, v) in pairs {
            self.env.insert((*k).to_owned(), v.clone());
        }
        self
    }
}

/// Everything needed to bring up one cell's broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerPlan {
    /// Containers to start first, in order (ZooKeeper).
    pub dependencies: Vec<ContainerSpec>,
    /// The broker container.
    pub broker: ContainerSpec,
    /// Where host clients bootstrap: the advertised `host:port`.
    pub bootstrap: String,
    /// Commands to exec in the broker container once it answers, each an
    /// argv (no shell: some images are `FROM scratch`).
    pub setup: Vec<Vec<String>>,
    /// How long start-up may take until the readiness check passes.
    pub startup_timeout: Duration,
    /// Whether the probe topic exists only after a Metadata request asks
    /// for it (auto-creation); the readiness check then requests it.
    pub auto_creates_probe_topic: bool,
}

impl BrokerPlan {
    /// The image a report names for this cell.
    pub fn image(&self) -> String {
        self.broker.reference()
    }

    /// Every image the plan needs.
    pub fn images(&self) -> Vec<String> {
        self.dependencies
            .iter()
            .chain(std::iter::once(&self.broker))
            .map(ContainerSpec::reference)
            .collect()
    }
}

/// Where the host client reaches the broker: `advertised_host:host_port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddr {
    /// Host name or address clients use (127.0.0.1 for a local engine).
    pub host: String,
    /// Host port mapped to [`CLIENT_PORT`].
    pub port: u16,
}

impl std::fmt::Display for HostAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// The plan for a real Kafka image of `release` (`image` from
/// [`crate::versions::images()`]).
pub fn real_kafka(release: Release, image: ImageRef, addr: &HostAddr, names: &Names) -> BrokerPlan {
    let broker_host = names.broker.clone();
    let mut broker = ContainerSpec::new(image.name, image.tag, broker_host.clone(), names);
    broker.host_port = Some(addr.port);
    broker.network.clone_from(&names.network);
    let listeners_common = [
        (
            "KAFKA_ADVERTISED_LISTENERS",
            format!("PLAINTEXT://{addr},BROKER://{broker_host}:{BROKER_PORT}"),
        ),
        ("KAFKA_INTER_BROKER_LISTENER_NAME", "BROKER".to_owned()),
    ];
    let mut dependencies = Vec::new();
    broker = broker.env(&listeners_common);
    // What every one-broker cluster needs, the same settings the JVM backend
    // writes into server.properties.
    for (key, value) in Settings::single_node(release).env() {
        broker.env.insert(key, value);
    }
    match image.flavor {
        ImageFlavor::ConfluentZk => {
            let zk_name = names.zookeeper.clone();
            let mut zk = ContainerSpec::new(ZOOKEEPER_IMAGE, image.tag, zk_name.clone(), names).env(&[
                ("ZOOKEEPER_CLIENT_PORT", ZOOKEEPER_PORT.to_string()),
                ("ZOOKEEPER_TICK_TIME", "2000".to_owned()),
            ]);
            zk.network.clone_from(&names.network);
            dependencies.push(zk);
            broker = broker.env(&[
                ("KAFKA_BROKER_ID", "1".to_owned()),
                ("KAFKA_ZOOKEEPER_CONNECT", format!("{zk_name}:{ZOOKEEPER_PORT}")),
                (
                    "KAFKA_LISTENERS",
                    format!("PLAINTEXT://0.0.0.0:{CLIENT_PORT},BROKER://0.0.0.0:{BROKER_PORT}"),
                ),
                (
                    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                    "PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT".to_owned(),
                ),
            ]);
            if release < Release::new(2, 6) {
                // CP 5.x ships a support-metrics reporter that phones home;
                // Confluent's own 5.x test fixtures switch it off this way.
                broker = broker.env(&[("CONFLUENT_SUPPORT_METRICS_ENABLE", "false".to_owned())]);
            }
        }
        ImageFlavor::ApacheJvm | ImageFlavor::ApacheNative | ImageFlavor::ConfluentKraft => {
            broker = broker.env(&[
                ("KAFKA_NODE_ID", "1".to_owned()),
                ("KAFKA_PROCESS_ROLES", "broker,controller".to_owned()),
                (
                    "KAFKA_CONTROLLER_QUORUM_VOTERS",
                    format!("1@{broker_host}:{CONTROLLER_PORT}"),
                ),
                ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER".to_owned()),
                (
                    "KAFKA_LISTENERS",
                    format!(
                        "PLAINTEXT://0.0.0.0:{CLIENT_PORT},BROKER://0.0.0.0:{BROKER_PORT},CONTROLLER://0.0.0.0:{CONTROLLER_PORT}"
                    ),
                ),
                (
                    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                    "PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT".to_owned(),
                ),
                ("KAFKA_LOG_DIRS", "/tmp/kraft-combined-logs".to_owned()),
                ("CLUSTER_ID", KRAFT_CLUSTER_ID.to_owned()),
            ]);
        }
    }
    BrokerPlan {
        dependencies,
        broker,
        bootstrap: addr.to_string(),
        setup: Vec::new(),
        startup_timeout: Duration::from_secs(180),
        auto_creates_probe_topic: true,
    }
}

/// `confluentinc/cp-zookeeper`, run at the same tag as its `cp-kafka`.
pub const ZOOKEEPER_IMAGE: &str = "confluentinc/cp-zookeeper";

/// The tag of the locally built emulator image for `release`.
pub fn emulated_tag(release: Release) -> String {
    release.to_string()
}

/// The plan for the locally built emulator image of `release`/`mode`. The
/// image's entrypoint is `kafka-matrix serve --listen 0.0.0.0:9092 --kafka
/// <release>` (see `local.rs`); the command adds the mode, the advertised
/// address and the probe topic.
pub fn emulated(release: Release, mode: Mode, addr: &HostAddr, names: &Names) -> BrokerPlan {
    let mut broker = ContainerSpec::new(EMULATED_IMAGE, &emulated_tag(release), names.broker.clone(), names);
    broker.host_port = Some(addr.port);
    broker.cmd = vec![
        "--mode".into(),
        mode.to_string(),
        "--advertise".into(),
        addr.to_string(),
        "--topic".into(),
        format!("{PROBE_TOPIC}:{PROBE_PARTITIONS}"),
    ];
    BrokerPlan {
        dependencies: Vec::new(),
        broker,
        bootstrap: addr.to_string(),
        setup: Vec::new(),
        startup_timeout: Duration::from_secs(30),
        auto_creates_probe_topic: false,
    }
}

/// The plan for a locally built tansu image (`version` as `tansu --version`
/// prints it, e.g. `0.6.0`): in-memory storage, advertising the mapped
/// address, then the probe topic created with tansu's own CLI inside the
/// container (tansu does not auto-create topics).
pub fn tansu(version: &str, addr: &HostAddr, names: &Names) -> BrokerPlan {
    let mut broker = ContainerSpec::new(TANSU_IMAGE, version, names.broker.clone(), names);
    broker.host_port = Some(addr.port);
    broker.cmd = [
        "broker",
        "--listener-url",
        &format!("tcp://0.0.0.0:{CLIENT_PORT}"),
        "--advertised-listener-url",
        &format!("tcp://{addr}"),
        "--storage-engine",
        "memory://tansu/",
    ]
    .map(str::to_owned)
    .to_vec();
    let create = [
        "/tansu",
        "topic",
        "create",
        "--broker",
        &format!("tcp://127.0.0.1:{CLIENT_PORT}"),
        "--partitions",
        &PROBE_PARTITIONS.to_string(),
        PROBE_TOPIC,
    ]
    .map(str::to_owned)
    .to_vec();
    BrokerPlan {
        dependencies: Vec::new(),
        broker,
        bootstrap: addr.to_string(),
        setup: vec![create],
        startup_timeout: Duration::from_secs(30),
        auto_creates_probe_topic: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::{images, releases};

    fn names() -> Names {
        Names::for_cell("t1", 7)
    }

    fn addr() -> HostAddr {
        HostAddr {
            host: "127.0.0.1".into(),
            port: 40123,
        }
    }

    /// Every catalog release × mode × published image gets a complete,
    /// self-consistent configuration.
    #[test]
    fn every_release_and_image_has_a_complete_real_kafka_plan() {
        let mut checked = 0;
        for info in releases() {
            for &mode in info.modes {
                for image in images(info.release, mode) {
                    let plan = real_kafka(info.release, image, &addr(), &names());
                    let ctx = format!("{} {mode} {image}", info.release);
                    check_real_plan(&plan, image, &ctx);
                    checked += 1;
                }
            }
        }
        assert!(checked >= 40, "only {checked} release/image pairs in the catalog");
    }

    fn check_real_plan(plan: &BrokerPlan, image: ImageRef, ctx: &str) {
        let env = &plan.broker.env;
        let get = |k: &str| {
            env.get(k)
                .map(String::as_str)
                .unwrap_or_else(|| panic!("{ctx}: no {k}"))
        };
        assert_eq!(plan.image(), image.to_string(), "{ctx}");
        assert_eq!(plan.bootstrap, "127.0.0.1:40123", "{ctx}");
        assert_eq!(plan.broker.host_port, Some(40123), "{ctx}");
        assert!(plan.auto_creates_probe_topic, "{ctx}");
        // The host listener advertises exactly the mapped host address.
        let advertised = get("KAFKA_ADVERTISED_LISTENERS");
        assert!(
            advertised.starts_with("PLAINTEXT://127.0.0.1:40123,"),
            "{ctx}: {advertised}"
        );
        assert!(
            advertised.contains(&format!("BROKER://{}:{BROKER_PORT}", plan.broker.name)),
            "{ctx}: {advertised}"
        );
        // Every listener has a security protocol, and the client one listens on 9092.
        let listeners = get("KAFKA_LISTENERS");
        let map = get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP");
        for l in listeners.split(',') {
            let name = l.split("://").next().unwrap_or_default();
            assert!(map.contains(&format!("{name}:PLAINTEXT")), "{ctx}: {name} not in {map}");
        }
        assert!(
            listeners.contains(&format!("PLAINTEXT://0.0.0.0:{CLIENT_PORT}")),
            "{ctx}"
        );
        assert_eq!(get("KAFKA_INTER_BROKER_LISTENER_NAME"), "BROKER", "{ctx}");
        for k in [
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
        ] {
            assert_eq!(get(k), "1", "{ctx}: {k}");
        }
        assert_eq!(get("KAFKA_NUM_PARTITIONS"), PROBE_PARTITIONS.to_string(), "{ctx}");
        match image.flavor {
            ImageFlavor::ConfluentZk => {
                assert_eq!(plan.dependencies.len(), 1, "{ctx}");
                let zk = &plan.dependencies[0];
                assert_eq!(zk.reference(), format!("{ZOOKEEPER_IMAGE}:{}", image.tag), "{ctx}");
                assert_eq!(zk.network, plan.broker.network, "{ctx}");
                assert_eq!(zk.host_port, None, "{ctx}: ZooKeeper is not exposed to the host");
                assert_eq!(get("KAFKA_ZOOKEEPER_CONNECT"), format!("{}:2181", zk.name), "{ctx}");
                assert!(!env.contains_key("KAFKA_PROCESS_ROLES"), "{ctx}");
            }
            _ => {
                assert!(plan.dependencies.is_empty(), "{ctx}");
                assert_eq!(get("KAFKA_PROCESS_ROLES"), "broker,controller", "{ctx}");
                assert_eq!(
                    get("KAFKA_CONTROLLER_QUORUM_VOTERS"),
                    format!("1@{}:{CONTROLLER_PORT}", plan.broker.name),
                    "{ctx}"
                );
                assert!(listeners.contains("CONTROLLER://"), "{ctx}");
                assert_eq!(get("CLUSTER_ID").len(), 22, "{ctx}");
                assert!(!env.contains_key("KAFKA_ZOOKEEPER_CONNECT"), "{ctx}");
            }
        }
        for spec in plan.dependencies.iter().chain([&plan.broker]) {
            assert_eq!(spec.labels.get(RUN_LABEL).map(String::as_str), Some("t1"), "{ctx}");
            assert_ne!(spec.tag, "latest", "{ctx}");
        }
    }

    #[test]
    fn kafka_3_8_prefers_the_apache_jvm_image_and_2_0_runs_cp_kafka_with_zookeeper() {
        let r38 = Release::new(3, 8);
        let img = images(r38, Mode::Kraft)[0];
        let plan = real_kafka(r38, img, &addr(), &names());
        assert_eq!(plan.image(), "apache/kafka:3.8.1");
        assert_eq!(plan.images(), vec!["apache/kafka:3.8.1".to_string()]);

        let r20 = Release::new(2, 0);
        let img = images(r20, Mode::Zk)[0];
        let plan = real_kafka(r20, img, &addr(), &names());
        assert_eq!(
            plan.images(),
            vec![
                "confluentinc/cp-zookeeper:5.0.4".to_string(),
                "confluentinc/cp-kafka:5.0.4".to_string()
            ]
        );
        assert_eq!(
            plan.broker
                .env
                .get("CONFLUENT_SUPPORT_METRICS_ENABLE")
                .map(String::as_str),
            Some("false")
        );
        assert_eq!(plan.broker.name, "kafka-matrix-t1-7-kafka");
        assert_eq!(plan.dependencies[0].name, "kafka-matrix-t1-7-zk");
    }

    #[test]
    fn emulated_plan_advertises_the_mapped_port_and_seeds_the_probe_topic() {
        let plan = emulated(Release::new(3, 8), Mode::Kraft, &addr(), &names());
        assert_eq!(plan.image(), "kafka-matrix/emulated-kafka:3.8");
        assert_eq!(
            plan.broker.cmd,
            [
                "--mode",
                "kraft",
                "--advertise",
                "127.0.0.1:40123",
                "--topic",
                "kafka-matrix-probe:3"
            ]
        );
        assert_eq!(plan.broker.host_port, Some(40123));
    }

    #[test]
    fn tansu_plan_creates_the_probe_topic_with_tansus_own_cli() {
        let plan = tansu("0.6.0", &addr(), &names());
        assert_eq!(plan.image(), "kafka-matrix/tansu:0.6.0");
        assert!(plan
            .broker
            .cmd
            .windows(2)
            .any(|w| w == ["--advertised-listener-url", "tcp://127.0.0.1:40123"]));
        assert_eq!(plan.setup.len(), 1);
        assert_eq!(plan.setup[0].last().map(String::as_str), Some(PROBE_TOPIC));
    }
}
