#!/usr/bin/env python3
"""Fetch cluster metadata from a Kafka broker (or the kafka-matrix emulator) with kafka-python.

Usage: kafka_python_metadata.py BOOTSTRAP TOPIC PARTITIONS

kafka-python is left to auto-detect the broker version (api_version=None): it sends ApiVersions
(starting at the highest version it knows, falling back on UNSUPPORTED_VERSION) and infers the
release from the API table. Then it asks for all topics' metadata (Metadata request).

Prints one JSON line on stdout:
  {"ok": true, "kafka_python": "3.0.12", "broker_version": [3, 8], "topics": [...],
   "topic": "interop", "partitions": [0, 1, 2], "brokers": [{"node_id": 1, "host": ..., "port": ...}]}
Exits 0 if TOPIC is seen with exactly PARTITIONS partitions, 1 if not (with the reason in "error"
and on stderr), 2 on bad usage. Never hangs: every step has a short timeout and a SIGALRM watchdog
ends the process after WATCHDOG_S seconds.

Set KAFKA_PYTHON_DEBUG=1 to log kafka-python at DEBUG on stderr (wire-level requests/responses).
"""
import json
import logging
import os
import signal
import sys

WATCHDOG_S = 15


def emit(result, code):
    print(json.dumps(result, sort_keys=True), flush=True)
    if code != 0:
        print("kafka_python_metadata: FAILED: %s" % result.get("error"), file=sys.stderr, flush=True)
    # os._exit: kafka-python runs an IO thread; do not wait for it on the way out.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main():
    if len(sys.argv) != 4:
        print("usage: %s BOOTSTRAP TOPIC PARTITIONS" % sys.argv[0], file=sys.stderr)
        sys.exit(2)
    bootstrap, topic, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
    result = {"ok": False, "bootstrap": bootstrap, "topic": topic, "want_partitions": want}

    def on_alarm(_sig, _frame):
        result["error"] = "watchdog: no answer within %d s" % WATCHDOG_S
        emit(result, 1)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(WATCHDOG_S)

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if os.environ.get("KAFKA_PYTHON_DEBUG") == "1" else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        import kafka
        from kafka import KafkaConsumer
    except ImportError as e:
        result["error"] = "kafka-python is not installed (%s); run: bash scripts/install-interop-deps.sh" % e
        emit(result, 1)
    result["kafka_python"] = kafka.__version__

    consumer = None
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=[bootstrap],
            api_version=None,  # auto-detect from ApiVersions
            client_id="kafka-matrix-interop",
            request_timeout_ms=5000,
            bootstrap_timeout_ms=8000,
            connections_max_idle_ms=20000,
            fetch_max_wait_ms=100,
            reconnect_backoff_ms=100,
            reconnect_backoff_max_ms=1000,
            metadata_max_age_ms=60000,
            enable_auto_commit=False,
        )
        bv = consumer.config.get("api_version")
        result["broker_version"] = list(bv) if bv is not None else None
        topics = sorted(consumer.topics())
        result["topics"] = topics
        partitions = consumer.partitions_for_topic(topic)
        result["partitions"] = sorted(partitions) if partitions else []
        cluster = consumer._client.cluster
        result["brokers"] = sorted(
            ({"node_id": b.node_id, "host": b.host, "port": b.port} for b in cluster.brokers()),
            key=lambda b: b["node_id"],
        )
    except Exception as e:  # report any client failure as data, not a traceback
        result["error"] = "%s: %s" % (type(e).__name__, e)
        emit(result, 1)

    if topic not in result["topics"]:
        result["error"] = "topic %r not in metadata (saw %r)" % (topic, result["topics"])
        emit(result, 1)
    if result["partitions"] != list(range(want)):
        result["error"] = "topic %r has partitions %r, want %r" % (topic, result["partitions"], list(range(want)))
        emit(result, 1)
    result["ok"] = True
    try:
        consumer.close(timeout_ms=1000) if consumer is not None else None
    except Exception:
        pass
    emit(result, 0)


if __name__ == "__main__":
    main()
