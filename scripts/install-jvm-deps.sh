#!/usr/bin/env bash
# The JVM backend (real Kafka from Kafka's own jars): a JDK 17+ and Maven where
# they are missing (Debian's packages), then every catalog release's jars from
# Maven Central into the cache (`kafka-matrix fetch`; seconds when warm, a few
# minutes cold). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

if ! command -v java >/dev/null 2>&1; then
    apt_install openjdk-17-jdk-headless
fi
if ! command -v mvn >/dev/null 2>&1; then
    apt_install maven
fi
cargo build --quiet --bin kafka-matrix
"$(cargo_target_dir)/debug/kafka-matrix" fetch
