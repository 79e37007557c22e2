"""Interop probe: aiokafka (asyncio, pure Python).

usage: aiokafka_probe.py BOOTSTRAP | --version

AIOKafkaClient.bootstrap() connects, negotiates per-request versions with ApiVersions (since
aiokafka 0.13 that replaces the old broker-version guess, and `api_version` is a no-op) and
sends Metadata; fetch_all_metadata() then asks for every topic. Prints brokers, topic count
and how many APIs the broker advertised. Exit 0 on success, 1 with one stderr line.
"""

import asyncio
import logging
import sys


def fail(msg):
    print("aiokafka: " + " ".join(str(msg).split()), file=sys.stderr)
    sys.exit(1)


async def probe(bootstrap):
    from aiokafka import AIOKafkaClient

    client = AIOKafkaClient(
        bootstrap_servers=bootstrap,
        client_id="kafka-matrix-interop-aiokafka",
        request_timeout_ms=15000,
    )
    try:
        await client.bootstrap()
        cluster = await client.fetch_all_metadata()
        node = next(iter(cluster.brokers()), None)
        advertised = None
        if node is not None:
            conn = await client._get_conn(node.nodeId)  # the negotiated table lives on the connection
            advertised = len(getattr(conn, "_versions", {}) or {}) if conn else None
        return cluster, advertised
    finally:
        await client.close()


def main():
    import aiokafka

    if sys.argv[1:2] == ["--version"]:
        print("aiokafka %s (pure Python, asyncio)" % aiokafka.__version__)
        return
    if len(sys.argv) < 2:
        fail("usage: run BOOTSTRAP | --version")
    bootstrap = sys.argv[1]
    logging.basicConfig(level=logging.DEBUG if "--debug" in sys.argv else logging.CRITICAL,
                        stream=sys.stderr)
    try:
        cluster, advertised = asyncio.run(asyncio.wait_for(probe(bootstrap), 20))
    except asyncio.TimeoutError:
        fail("gave up after 20 s")
    except Exception as e:
        fail("%s: %s" % (type(e).__name__, e))
    brokers = sorted("%s@%s:%s" % (b.nodeId, b.host, b.port) for b in cluster.brokers())
    topics = sorted(cluster.topics(exclude_internal_topics=False))
    print("aiokafka %s: metadata from %s" % (aiokafka.__version__, bootstrap))
    print("brokers: %d [%s]" % (len(brokers), ", ".join(brokers)))
    print("topics: %d [%s]" % (len(topics), ", ".join(topics)))
    print("detected: per-request versions from ApiVersions (%s APIs advertised)"
          % (advertised if advertised is not None else "?"))


if __name__ == "__main__":
    main()
