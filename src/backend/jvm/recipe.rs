//! How each release runs from Maven Central's jars, as data: the artifact
//! and what the release tarball adds to it (the logging binding), the
//! ZooKeeper client swap of 2.0–2.3, the configuration files per mode, and
//! the JVM flags. Every rule was run on real brokers; `docs/jvm.md` has the
//! table of what each release needed and why.

use std::fmt::Write as _;

use crate::backend::settings::Settings;
use crate::versions::{Mode, Release};

/// The KRaft cluster id every JVM broker is formatted with (22 characters
/// of URL-safe base64, as `kafka-storage random-uuid` prints; the container
/// backend's id).
pub const CLUSTER_ID: &str = crate::backend::container::spec::KRAFT_CLUSTER_ID;
/// The broker's id (ZooKeeper mode) and node id (KRaft), as the container
/// images are given.
pub const NODE_ID: i32 = 1;

/// The broker's Maven coordinates for a patch release, e.g.
/// `org.apache.kafka:kafka_2.13:3.8.1`. Scala 2.12 for 2.0–2.3 (2.13 builds
/// start at 2.4), 2.13 from 2.4 (the only one from 4.0).
pub fn artifact(release: Release, version: &str) -> String {
    format!("org.apache.kafka:kafka_{}:{version}", scala(release))
}

fn scala(release: Release) -> &'static str {
    if release < Release::new(2, 4) {
        "2.12"
    } else {
        "2.13"
    }
}

/// The logging a release's broker uses: log4j 1 (2.0–3.0), reload4j
/// (3.1–3.9; Kafka moved to it in 3.1.1), log4j 2 (4.0 on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logging {
    /// log4j 1.2 through slf4j-log4j12.
    Log4j,
    /// reload4j, log4j 1.2's maintained fork, through slf4j-reload4j.
    Reload4j,
    /// log4j 2 through log4j-slf4j-impl, at this log4j version.
    Log4j2(&'static str),
}

/// How `release` logs. The binding is not in the broker's POM (Kafka
/// declares log4j `compileOnly`): the release tarball brings it through its
/// other modules, so the fetch adds it.
pub fn logging(release: Release) -> Logging {
    match (release.major, release.minor) {
        (2, _) | (3, 0) => Logging::Log4j,
        (3, _) => Logging::Reload4j,
        // The log4j 2 version each 4.x line's build pins (gradle/dependencies.gradle).
        (4, 0) => Logging::Log4j2("2.25.3"),
        (4, 1) => Logging::Log4j2("2.24.3"),
        (4, 2) => Logging::Log4j2("2.25.3"),
        (4, 3) => Logging::Log4j2("2.25.4"),
        _ => Logging::Log4j2("2.25.5"),
    }
}

/// Whether the release's own ZooKeeper (3.4) is swapped for 3.5.7: the 3.4
/// client cannot connect on JDK 14+ (ZOOKEEPER-3779), and Kafka's own JDK 17
/// system-test image makes the same swap for 2.1–2.3 (KAFKA-17888).
pub fn swaps_zookeeper(release: Release) -> bool {
    release < Release::new(2, 4)
}

/// The ZooKeeper put in by [`swaps_zookeeper`].
pub const SWAPPED_ZOOKEEPER: &str = "3.5.7";

struct Dep<'a> {
    group: &'a str,
    artifact: &'a str,
    version: &'a str,
    exclusions: &'a [(&'a str, &'a str)],
}

/// The Maven project whose runtime dependencies are the broker's classpath.
pub fn pom(release: Release, version: &str) -> String {
    let kafka_artifact = format!("kafka_{}", scala(release));
    let zk_out: &[(&str, &str)] = &[("org.apache.zookeeper", "zookeeper")];
    let mut deps = vec![Dep {
        group: "org.apache.kafka",
        artifact: &kafka_artifact,
        version,
        exclusions: if swaps_zookeeper(release) { zk_out } else { &[] },
    }];
    if swaps_zookeeper(release) {
        deps.push(Dep {
            group: "org.apache.zookeeper",
            artifact: "zookeeper",
            version: SWAPPED_ZOOKEEPER,
            exclusions: &[],
        });
    }
    match logging(release) {
        Logging::Log4j => {
            deps.push(Dep {
                group: "org.slf4j",
                artifact: "slf4j-log4j12",
                version: "1.7.30",
                exclusions: &[],
            });
            deps.push(Dep {
                group: "log4j",
                artifact: "log4j",
                version: "1.2.17",
                exclusions: &[],
            });
        }
        Logging::Reload4j => deps.push(Dep {
            group: "org.slf4j",
            artifact: "slf4j-reload4j",
            version: "1.7.36",
            exclusions: &[],
        }),
        Logging::Log4j2(v) => {
            for artifact in ["log4j-slf4j-impl", "log4j-core", "log4j-api"] {
                deps.push(Dep {
                    group: "org.apache.logging.log4j",
                    artifact,
                    version: v,
                    exclusions: &[],
                });
            }
        }
    }
    let mut out = String::from(
        "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n  \
         <groupId>org.kafka-matrix.fetch</groupId>\n",
    );
    let _ = writeln!(
        out,
        "  <artifactId>kafka-{version}</artifactId>\n  <version>1</version>\n  <dependencies>"
    );
    for d in deps {
        let _ = write!(
            out,
            "    <dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version>",
            d.group, d.artifact, d.version
        );
        if !d.exclusions.is_empty() {
            out.push_str("<exclusions>");
            for (g, a) in d.exclusions {
                let _ = write!(
                    out,
                    "<exclusion><groupId>{g}</groupId><artifactId>{a}</artifactId></exclusion>"
                );
            }
            out.push_str("</exclusions>");
        }
        out.push_str("</dependency>\n");
    }
    out.push_str("  </dependencies>\n</project>\n");
    out
}

/// The logging configuration file for `release`: INFO to stdout, which the
/// backend sends to the broker's log file.
pub fn logging_config(release: Release) -> (&'static str, String) {
    const PATTERN: &str = "[%d] %p %m (%c)%n";
    match logging(release) {
        Logging::Log4j | Logging::Reload4j => (
            "log4j.properties",
            format!(
                "log4j.rootLogger=INFO, stdout\n\
                 log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n\
                 log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n\
                 log4j.appender.stdout.layout.ConversionPattern={PATTERN}\n"
            ),
        ),
        Logging::Log4j2(_) => (
            "log4j2.properties",
            format!(
                "status = warn\n\
                 appender.stdout.type = Console\n\
                 appender.stdout.name = STDOUT\n\
                 appender.stdout.layout.type = PatternLayout\n\
                 appender.stdout.layout.pattern = {PATTERN}\n\
                 rootLogger.level = info\n\
                 rootLogger.appenderRef.stdout.ref = STDOUT\n"
            ),
        ),
    }
}

/// The system property that points the release's logging at a file.
pub fn logging_property(release: Release, path: &std::path::Path) -> String {
    match logging(release) {
        Logging::Log4j | Logging::Reload4j => format!("-Dlog4j.configuration=file:{}", path.display()),
        Logging::Log4j2(_) => format!("-Dlog4j2.configurationFile={}", path.display()),
    }
}

/// The ports and directory one broker gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The host every listener binds and advertises.
    pub host: String,
    /// The client listener (`PLAINTEXT`).
    pub port: u16,
    /// ZooKeeper's client port (ZooKeeper mode) or the controller listener (KRaft).
    pub second_port: u16,
    /// The broker's log directory.
    pub data_dir: std::path::PathBuf,
}

/// The broker's `server.properties` for `release` in `mode`: the
/// single-node settings every backend shares, its listeners, and two that
/// only a local test broker wants (one offsets partition instead of 50,
/// which the first group coordinator lookup would create; a 2 MiB log
/// cleaner buffer instead of 128 MiB on a small heap, as Kafka's own test
/// kit sets it).
pub fn server_properties(release: Release, mode: Mode, layout: &Layout) -> Settings {
    let Layout {
        host,
        port,
        second_port,
        data_dir,
    } = layout;
    let plaintext = format!("PLAINTEXT://{host}:{port}");
    let mut s = match mode {
        Mode::Zk => Settings::default()
            .with("broker.id", NODE_ID.to_string())
            .with("listeners", plaintext.clone())
            .with("advertised.listeners", plaintext)
            .with("zookeeper.connect", format!("{host}:{second_port}"))
            .with("zookeeper.connection.timeout.ms", "30000"),
        Mode::Kraft => Settings::default()
            .with("process.roles", "broker,controller")
            .with("node.id", NODE_ID.to_string())
            .with("controller.quorum.voters", format!("{NODE_ID}@{host}:{second_port}"))
            .with("listeners", format!("{plaintext},CONTROLLER://{host}:{second_port}"))
            // 3.3-3.8 refuse a controller listener among the advertised ones.
            .with("advertised.listeners", plaintext)
            .with("controller.listener.names", "CONTROLLER")
            .with("inter.broker.listener.name", "PLAINTEXT")
            .with(
                "listener.security.protocol.map",
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            ),
    };
    s = s.with("log.dirs", data_dir.display().to_string());
    for (k, v) in Settings::single_node(release).iter() {
        s.set(k, v);
    }
    s.with("offsets.topic.num.partitions", "1")
        .with("log.cleaner.dedupe.buffer.size", "2097152")
}

/// ZooKeeper's configuration: standalone, on `host:port` only, no admin
/// server (ZooKeeper 3.5+ would bind :8080 for it).
pub fn zookeeper_properties(host: &str, port: u16, data_dir: &std::path::Path) -> Settings {
    Settings::default()
        .with("dataDir", data_dir.display().to_string())
        .with("clientPort", port.to_string())
        .with("clientPortAddress", host)
        .with("maxClientCnxns", "0")
        .with("admin.enableServer", "false")
}

/// Main classes.
pub const BROKER_MAIN: &str = "kafka.Kafka";
/// The KRaft storage tool (2.8–4.4, still in core).
pub const STORAGE_TOOL_MAIN: &str = "kafka.tools.StorageTool";
/// ZooKeeper, standalone when the config names no quorum.
pub const ZOOKEEPER_MAIN: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";

/// JVM flags for a test broker: a heap sized for one broker with the small
/// cleaner buffer, and flags that shorten start-up (see `docs/jvm.md` for
/// what each was measured to save).
pub const BROKER_JVM_FLAGS: &[&str] = &[
    "-Xms64m",
    "-Xmx512m",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
];
/// JVM flags for ZooKeeper and the storage tool.
pub const TOOL_JVM_FLAGS: &[&str] = &["-Xms16m", "-Xmx128m", "-XX:TieredStopAtLevel=1"];

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Release {
        s.parse().expect("release")
    }

    #[test]
    fn artifacts_poms_and_logging_follow_the_release() {
        assert_eq!(artifact(r("2.0"), "2.0.1"), "org.apache.kafka:kafka_2.12:2.0.1");
        assert_eq!(artifact(r("2.4"), "2.4.1"), "org.apache.kafka:kafka_2.13:2.4.1");
        let old = pom(r("2.3"), "2.3.1");
        assert!(old.contains("<artifactId>kafka_2.12</artifactId><version>2.3.1</version><exclusions><exclusion><groupId>org.apache.zookeeper</groupId>"));
        assert!(old.contains("<artifactId>zookeeper</artifactId><version>3.5.7</version>"));
        assert!(old.contains("slf4j-log4j12"));
        let mid = pom(r("3.8"), "3.8.1");
        assert!(!mid.contains("<exclusions>") && mid.contains("slf4j-reload4j"));
        let new = pom(r("4.4"), "4.4.0");
        assert!(new.contains("<artifactId>log4j-core</artifactId><version>2.25.5</version>"));
        assert_eq!(logging_config(r("4.0")).0, "log4j2.properties");
        assert_eq!(logging_config(r("3.9")).0, "log4j.properties");
    }

    #[test]
    fn server_properties_per_mode() {
        let layout = Layout {
            host: "127.0.0.1".into(),
            port: 19092,
            second_port: 19093,
            data_dir: "/tmp/d".into(),
        };
        let zk = server_properties(r("2.0"), Mode::Zk, &layout);
        assert_eq!(zk.get("zookeeper.connect"), Some("127.0.0.1:19093"));
        assert_eq!(zk.get("advertised.listeners"), Some("PLAINTEXT://127.0.0.1:19092"));
        assert_eq!(zk.get("num.partitions"), Some("3"));
        assert_eq!(zk.get("process.roles"), None);
        let kraft = server_properties(r("4.4"), Mode::Kraft, &layout);
        assert_eq!(kraft.get("controller.quorum.voters"), Some("1@127.0.0.1:19093"));
        assert_eq!(kraft.get("advertised.listeners"), Some("PLAINTEXT://127.0.0.1:19092"));
        assert_eq!(kraft.get("share.coordinator.state.topic.replication.factor"), Some("1"));
        assert_eq!(kraft.get("log.dirs"), Some("/tmp/d"));
    }
}
