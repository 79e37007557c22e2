"""Interop probe: kafka-python (or its fork kafka-python-ng; both install the `kafka` package).

usage: kafka_python_probe.py NAME BOOTSTRAP | NAME --version

KafkaConsumer with api_version=None detects the broker version while it is constructed
(ApiVersions, and on old brokers probe requests); consumer.topics() then sends Metadata for
all topics. Prints brokers, topic count and the detected version. Exit 0 on success; on
failure exit 1 with one line on stderr.
"""

import logging
import sys


def fail(name, msg):
    print("%s: %s" % (name, " ".join(str(msg).split())), file=sys.stderr)
    sys.exit(1)


def broker_id(b):
    # kafka-python 2.x: BrokerMetadata.nodeId; 3.x: MetadataResponseBroker.node_id
    return getattr(b, "nodeId", None) if hasattr(b, "nodeId") else getattr(b, "node_id", "?")


def main():
    if len(sys.argv) < 3:
        print("usage: kafka_python_probe.py NAME BOOTSTRAP | NAME --version", file=sys.stderr)
        sys.exit(1)
    name, arg = sys.argv[1], sys.argv[2]
    import kafka

    if arg == "--version":
        print("%s %s (pure Python, package `kafka`)" % (name, kafka.__version__))
        return
    if "--debug" in sys.argv:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    else:
        logging.basicConfig(level=logging.CRITICAL)

    major = int(kafka.__version__.split(".")[0])
    config = dict(
        bootstrap_servers=[arg],
        client_id="kafka-matrix-interop-" + name,
        request_timeout_ms=15000,
        enable_auto_commit=False,
    )
    if major >= 3:
        config["bootstrap_timeout_ms"] = 15000  # kafka-python 3.x: bounds the eager version check
    else:
        config["api_version_auto_timeout_ms"] = 15000  # kafka-python 2.x line (kafka-python-ng)
    consumer = None
    try:
        consumer = kafka.KafkaConsumer(**config)
        detected = consumer.config.get("api_version")
        topics = consumer.topics()
        cluster = getattr(consumer, "_cluster", None) or consumer._client.cluster
        brokers = sorted("%s@%s:%s" % (broker_id(b), b.host, b.port) for b in cluster.brokers())
    except Exception as e:
        fail(name, "%s: %s" % (type(e).__name__, e))
    finally:
        if consumer is not None:
            try:
                consumer.close()
            except Exception:
                pass
    print("%s %s: metadata from %s" % (name, kafka.__version__, arg))
    print("brokers: %d [%s]" % (len(brokers), ", ".join(brokers)))
    print("topics: %d [%s]" % (len(topics), ", ".join(sorted(topics))))
    print("detected: broker version %s" % (".".join(str(x) for x in detected) if detected else "none"))


if __name__ == "__main__":
    main()
