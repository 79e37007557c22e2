"""Interop probe: confluent-kafka (librdkafka inside) fetches cluster metadata.

usage: confluent_kafka_probe.py BOOTSTRAP | --version

librdkafka detects the broker's protocol support with ApiVersions on every connection and
logs each feature it enables or disables under its "feature" debug context; the resulting
feature set is the detected-version summary printed here. Exit 0 on success; on failure
exit 1 with one line on stderr.
"""

import logging
import sys


def fail(msg):
    print("confluent-kafka: " + " ".join(str(msg).split()), file=sys.stderr)
    sys.exit(1)


class Capture(logging.Handler):
    """Follows librdkafka's "Enabling feature X" / "Disabling feature X" log lines (context
    `feature`, logged after each ApiVersions exchange): the final set is librdkafka's own
    verdict on what the broker supports (e.g. ZSTD only from Kafka 2.1 on)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.enabled = {}

    def emit(self, record):
        msg = record.getMessage()
        if "--debug" in sys.argv:
            print("log: " + msg, file=sys.stderr)
        for verb, on in (("Enabling feature ", True), ("Disabling feature ", False)):
            if verb in msg:
                self.enabled[msg.rsplit(verb, 1)[1].split()[0]] = on

    def summary(self):
        if not self.enabled:
            return "(none logged)"
        on = [f for f, v in self.enabled.items() if v]
        off = [f for f, v in self.enabled.items() if not v]
        return "%s; not supported: %s" % (",".join(on), ",".join(off) or "-")


def main():
    import confluent_kafka
    from confluent_kafka.admin import AdminClient

    if sys.argv[1:2] == ["--version"]:
        print("confluent-kafka %s (librdkafka %s, bundled in the wheel)"
              % (confluent_kafka.__version__, confluent_kafka.libversion()[0]))
        return
    if len(sys.argv) < 2:
        fail("usage: run BOOTSTRAP | --version")
    bootstrap = sys.argv[1]

    capture = Capture()
    logger = logging.getLogger("librdkafka")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(capture)
    errors = []

    admin = AdminClient({
        "bootstrap.servers": bootstrap,
        "client.id": "kafka-matrix-interop-confluent-kafka",
        "api.version.request": True,
        "debug": "feature",
        "socket.timeout.ms": 10000,
        "logger": logger,
        "error_cb": lambda err: errors.append(str(err)),
    })
    try:
        md = admin.list_topics(timeout=15)
    except Exception as e:  # KafkaException: the reason is in its first arg
        admin.poll(0.5)
        last = ("; last broker error: " + errors[-1]) if errors else ""
        fail("list_topics: %s%s" % (e, last))
    admin.poll(0.2)  # serve queued log lines

    brokers = sorted("%d@%s:%d" % (b.id, b.host, b.port) for b in md.brokers.values())
    topics = sorted("%s(%dp)" % (t.topic, len(t.partitions)) for t in md.topics.values())
    print("confluent-kafka %s (librdkafka %s): metadata from broker %s, cluster id %s, controller %s"
          % (confluent_kafka.__version__, confluent_kafka.libversion()[0],
             md.orig_broker_name, md.cluster_id, md.controller_id))
    print("brokers: %d [%s]" % (len(brokers), ", ".join(brokers)))
    print("topics: %d [%s]" % (len(topics), ", ".join(topics)))
    print("detected: librdkafka ApiVersions negotiation; enabled features: %s"
          % capture.summary())


if __name__ == "__main__":
    main()
