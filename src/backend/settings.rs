//! A broker's configuration as data: Kafka property names and values, written
//! once and rendered for each consumer — `server.properties` for the JVM
//! backend ([`Settings::properties`]), `KAFKA_*` environment variables for
//! the container images ([`Settings::env`]). Where the two backends overlap
//! ([`Settings::single_node`]) they are the same settings, so running real
//! brokers from jars also checks what the containers are given.

use crate::backend::probe::PROBE_PARTITIONS;
use crate::versions::Release;

/// Broker settings in the order they were set; a key set twice keeps its
/// first place and its last value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings(Vec<(String, String)>);

impl Settings {
    /// What a one-broker test cluster of `release` needs on any backend:
    /// internal topics with one replica (a single broker cannot hold more),
    /// no rebalance delay, and auto-creation with the probe topic's
    /// partition count (the readiness check creates it by asking for it).
    pub fn single_node(release: Release) -> Self {
        let mut s = Self::default()
            .with("offsets.topic.replication.factor", "1")
            .with("transaction.state.log.replication.factor", "1")
            .with("transaction.state.log.min.isr", "1")
            .with("group.initial.rebalance.delay.ms", "0")
            .with("auto.create.topics.enable", "true")
            .with("num.partitions", PROBE_PARTITIONS.to_string());
        if release >= Release::new(4, 1) {
            // The share-group state topic (KIP-932) also defaults to 3 replicas;
            // the 4.x release's own config/server.properties sets these to 1.
            s = s
                .with("share.coordinator.state.topic.replication.factor", "1")
                .with("share.coordinator.state.topic.min.isr", "1");
        }
        s
    }

    /// These settings and `key = value`.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    /// Sets `key` to `value`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every setting, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A Java properties file, one `key=value` a line. Values here are
    /// addresses, paths and numbers; a backslash (the only character a path
    /// could bring that properties syntax reads specially) is escaped.
    pub fn properties(&self) -> String {
        self.iter()
            .map(|(k, v)| format!("{k}={}\n", v.replace('\\', "\\\\")))
            .collect()
    }

    /// The images' environment form: `KAFKA_` and the key upper-cased, dots
    /// as underscores (`num.partitions` → `KAFKA_NUM_PARTITIONS`), as the
    /// Apache and Confluent images read it.
    pub fn env(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(k, v)| {
                (
                    format!("KAFKA_{}", k.replace('.', "_").to_ascii_uppercase()),
                    v.to_owned(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_set_of_settings_renders_as_properties_and_as_environment() {
        let s = Settings::single_node(Release::new(3, 8)).with("log.dirs", "/tmp/a\\b");
        let props = s.properties();
        assert!(props.starts_with("offsets.topic.replication.factor=1\n"), "{props}");
        assert!(props.contains("\nnum.partitions=3\n"));
        assert!(props.ends_with("log.dirs=/tmp/a\\\\b\n"));
        let env = s.env();
        assert_eq!(env[0], ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR".into(), "1".into()));
        assert!(env.contains(&("KAFKA_AUTO_CREATE_TOPICS_ENABLE".into(), "true".into())));
        assert_eq!(env.len(), props.lines().count());
    }

    #[test]
    fn share_coordinator_settings_from_4_1_and_a_key_set_twice_keeps_its_place() {
        assert_eq!(
            Settings::single_node(Release::new(4, 0)).get("share.coordinator.state.topic.min.isr"),
            None
        );
        assert_eq!(
            Settings::single_node(Release::new(4, 1)).get("share.coordinator.state.topic.min.isr"),
            Some("1")
        );
        let s = Settings::default().with("a", "1").with("b", "2").with("a", "3");
        assert_eq!(s.properties(), "a=3\nb=2\n");
    }
}
