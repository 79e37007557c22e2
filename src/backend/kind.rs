//! What kind of broker a cell talked to, decided in one place
//! ([`BrokerKind::of`]) for every backend.

use super::{Backend, ImageSource, Target};

/// What kind of broker a cell talked to. A report never shows an emulated
/// or independent broker as real Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokerKind {
    /// The kafka-matrix emulator, in this process.
    EmulatedInProcess,
    /// The kafka-matrix emulator, in a locally built container image.
    EmulatedImage,
    /// An Apache Kafka build (Apache or Confluent image, or Kafka's own jars).
    RealKafka,
    /// A Kafka-compatible broker that is not Apache Kafka (tansu).
    Independent,
    /// A broker given by address: we cannot tell what it is.
    Unknown,
}

impl BrokerKind {
    /// Whether this is an Apache Kafka build.
    pub fn is_real_kafka(self) -> bool {
        self == BrokerKind::RealKafka
    }

    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            BrokerKind::EmulatedInProcess => "emulated (in-process)",
            BrokerKind::EmulatedImage => "emulated image",
            BrokerKind::RealKafka => "real Kafka",
            BrokerKind::Independent => "independent (not Kafka)",
            BrokerKind::Unknown => "external (unverified)",
        }
    }

    /// In words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            BrokerKind::EmulatedInProcess => "emulated (in-process kafka-matrix emulator, not real Kafka)",
            BrokerKind::EmulatedImage => "emulated image (kafka-matrix emulator in a container, not real Kafka)",
            BrokerKind::RealKafka => "real Kafka",
            BrokerKind::Independent => "independent Kafka-compatible broker (not Apache Kafka)",
            BrokerKind::Unknown => "external broker (not verified)",
        }
    }
}

impl BrokerKind {
    /// What `target` runs as on `backend`, `source` being the container
    /// run's resolved image source (ignored by the other backends): the only
    /// place a broker's kind is decided.
    pub fn of(backend: Backend, target: &Target, source: ImageSource) -> Self {
        match (backend, target) {
            (Backend::Embedded, _) => BrokerKind::EmulatedInProcess,
            (Backend::Jvm, Target::Kafka { .. }) => BrokerKind::RealKafka,
            (Backend::Jvm, _) => BrokerKind::Unknown,
            (Backend::External, _) | (Backend::Container, Target::External(_)) => BrokerKind::Unknown,
            (Backend::Container, Target::Tansu) => BrokerKind::Independent,
            (Backend::Container, Target::Kafka { .. }) => match source {
                ImageSource::Registry => BrokerKind::RealKafka,
                ImageSource::Local | ImageSource::Auto => BrokerKind::EmulatedImage,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::{Mode, Release};

    #[test]
    fn only_a_registry_image_of_a_kafka_release_is_real_kafka() {
        let kafka = Target::Kafka {
            release: Release::new(3, 8),
            mode: Mode::Kraft,
        };
        let of = |b, t: &Target, s| BrokerKind::of(b, t, s);
        assert_eq!(
            of(Backend::Container, &kafka, ImageSource::Registry),
            BrokerKind::RealKafka
        );
        assert_eq!(
            of(Backend::Container, &kafka, ImageSource::Local),
            BrokerKind::EmulatedImage
        );
        assert_eq!(
            of(Backend::Container, &kafka, ImageSource::Auto),
            BrokerKind::EmulatedImage
        );
        assert_eq!(
            of(Backend::Container, &Target::Tansu, ImageSource::Registry),
            BrokerKind::Independent
        );
        assert_eq!(
            of(Backend::Embedded, &kafka, ImageSource::Registry),
            BrokerKind::EmulatedInProcess
        );
        for b in Backend::ALL {
            for s in [ImageSource::Auto, ImageSource::Registry, ImageSource::Local] {
                assert_eq!(
                    of(b, &kafka, s).is_real_kafka(),
                    b == Backend::Jvm || (b, s) == (Backend::Container, ImageSource::Registry)
                );
            }
        }
    }
}
